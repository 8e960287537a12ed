//! A notice's time has come: one queued message per subscriber of the campaign, in a single
//! set-based statement (memory stays flat whatever the campaign's size), then the Page's sender
//! is woken. Running this twice queues nothing twice: each message's `dedupe_key` is
//! (notice kind, notice, subscriber).

use super::schedule::END;
use crate::db::now_ms;
use crate::state::AppState;

pub async fn start(state: &AppState, notice_id: &str) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    // Write first, so SQLite makes this transaction wait for others instead of failing it.
    sqlx::query("UPDATE notices SET updated_at = updated_at WHERE id = $1")
        .bind(notice_id)
        .execute(&mut *tx)
        .await?;
    let notice: Option<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT n.campaign_id, n.kind, n.status, n.text, c.notice_text, c.page_id
         FROM notices n JOIN campaigns c ON c.id = n.campaign_id WHERE n.id = $1",
    )
    .bind(notice_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((campaign_id, kind, status, text, campaign_text, page_row_id)) = notice else {
        return Ok(());
    };
    if status == "cancelled" {
        return Ok(());
    }
    // The end notice says what the campaign says when it ends, edits until then included.
    let text = if kind == END { campaign_text } else { text };
    let now = now_ms();
    let prefix = format!("{kind}:{notice_id}:");
    sqlx::query(
        "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id, kind,
                                        status, created_at, updated_at, notice_id)
         SELECT $1 || e.subscriber_id, $1 || e.subscriber_id, $2, e.subscriber_id, e.campaign_id, $3,
                'queued', $4, $4, $5
         FROM entries e
         WHERE e.campaign_id = $6 AND e.status = 'confirmed' AND e.subscriber_id IS NOT NULL
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&prefix)
    .bind(&page_row_id)
    .bind(&kind)
    .bind(now)
    .bind(notice_id)
    .bind(&campaign_id)
    .execute(&mut *tx)
    .await?;
    let recipients: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = $1")
            .bind(notice_id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "UPDATE notices SET status = 'sending', text = $1, recipients = $2,
                started_at = COALESCE(started_at, $3), updated_at = $3
         WHERE id = $4",
    )
    .bind(&text)
    .bind(recipients)
    .bind(now)
    .bind(notice_id)
    .execute(&mut *tx)
    .await?;
    super::sender::arm(&mut *tx, &page_row_id).await?;
    tx.commit().await?;
    tracing::info!(notice = %notice_id, recipients, "notice queued");
    state.jobs.notify_one();
    Ok(())
}
