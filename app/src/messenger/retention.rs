//! Retention (issue #17): what people wrote to a Page is kept only as long as it serves. A
//! processed webhook's payload (the person's message, their name in a referral…) is emptied
//! `RETENTION_DAYS` after it was processed (with the sender's id), and a settled message we sent keeps no text of its
//! own after the same time. The rows stay, without their content: the dedupe keys still refuse a
//! late duplicate from Meta, and the admin's counts and outcomes do not change.

use crate::db::{now_ms, Db};
use crate::state::AppState;

/// What one purge emptied: webhook payloads, message texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub payloads: u64,
    pub texts: u64,
}

/// Empties what is older than `before` (milliseconds since the epoch).
pub async fn purge(db: &Db, before: i64) -> Result<Purged, sqlx::Error> {
    let payloads = sqlx::query(
        "UPDATE webhook_events SET payload = '', sender_id = NULL
         WHERE processed_at IS NOT NULL AND processed_at < $1 AND payload <> ''",
    )
    .bind(before)
    .execute(db)
    .await?
    .rows_affected();
    // Only settled messages: one still queued (or under way) needs its text to go.
    let texts = sqlx::query(
        "UPDATE outgoing_messages SET body = NULL
         WHERE body IS NOT NULL AND updated_at < $1 AND status NOT IN ('queued', 'sending')",
    )
    .bind(before)
    .execute(db)
    .await?
    .rows_affected();
    Ok(Purged { payloads, texts })
}

/// Empties what a person wrote to a Page (their erasure, issue #17): the payloads of their
/// webhook events, which then name nobody, and the texts of the messages sent to them. The rows
/// stay for the same reasons as in `purge`. Answers how many payloads were emptied.
pub async fn forget_person(
    db: &Db,
    facebook_page_id: &str,
    psid: &str,
    subscriber_id: &str,
) -> Result<u64, sqlx::Error> {
    let payloads = sqlx::query(
        "UPDATE webhook_events SET payload = '', sender_id = NULL
         WHERE page_id = $1 AND sender_id = $2",
    )
    .bind(facebook_page_id)
    .bind(psid)
    .execute(db)
    .await?
    .rows_affected();
    sqlx::query("UPDATE outgoing_messages SET body = NULL WHERE subscriber_id = $1")
        .bind(subscriber_id)
        .execute(db)
        .await?;
    Ok(payloads)
}

/// Empties the receipts (of `ids`, all of the Page `page_row_id`) whose sender is nobody the
/// Page knows: someone erased (their PSID is gone from `subscribers`) or never known. A delivery
/// or read receipt can still come after an erasure, and it changes nothing then; kept whole, it
/// would hold the PSID the erasure removed until the purge. The rows stay, as in `purge`.
pub async fn forget_unknown_senders(
    conn: &mut sqlx::AnyConnection,
    page_row_id: &str,
    ids: &[&str],
) -> Result<u64, sqlx::Error> {
    let mut emptied = 0;
    for chunk in ids.chunks(400) {
        let sql = format!(
            "UPDATE webhook_events SET payload = '', sender_id = NULL
              WHERE id IN ({}) AND NOT {}",
            crate::db::placeholders(2, chunk.len()),
            crate::entries::store::known_on_page("$1", "webhook_events.sender_id"),
        );
        let mut query = sqlx::query(&sql).bind(page_row_id);
        for id in chunk {
            query = query.bind(*id);
        }
        emptied += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(emptied)
}

/// `purge` every hour (and at start), for what is older than the setting's days.
pub async fn worker(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let before = now_ms() - state.settings.retention_ms;
        match purge(&state.db, before).await {
            Ok(purged) if purged != Purged::default() => {
                tracing::info!(
                    payloads = purged.payloads,
                    texts = purged.texts,
                    "old content purged"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the retention purge failed"),
        }
    }
}
