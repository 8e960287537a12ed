//! Each winner's own message (issue #16), through the same queue, Page sender, send policy and
//! statistics as the notices: it waits for the template, keeps Meta's pace, survives a crash
//! with the same in-flight bound, and the admin sees what was sent, delivered and failed.
//!
//! All of a campaign's winner messages belong to one notice (`winners-{campaign}`), created by
//! the first; each message carries its own text (`outgoing_messages.body`). A person is told
//! once per campaign: the message's key is (kind, notice, subscriber), so the winners' round
//! can queue the same holders again and again (after a crash, or every few seconds) and nobody
//! hears twice.

use super::NoticeKind;
use crate::db::now_ms;
use crate::state::AppState;

pub fn notice_id(campaign_id: &str) -> String {
    format!("winners-{campaign_id}")
}

/// One winner to tell: who, and the words (with `{first_name}` still to fill).
pub struct WinnerMessage {
    pub subscriber_id: String,
    pub body: String,
}

/// Queues the messages not queued before for the campaign's winners, on its Page's sender.
/// Answers how many were new.
pub async fn queue(
    state: &AppState,
    campaign_id: &str,
    page_row_id: &str,
    messages: &[WinnerMessage],
) -> Result<u64, sqlx::Error> {
    let id = notice_id(campaign_id);
    // Read first: the winners' round asks every few seconds, and most rounds have nobody new,
    // which must not cost a write.
    let told = crate::messenger::outbox::recipients_of_notice(&state.db, &id).await?;
    let messages: Vec<&WinnerMessage> = messages
        .iter()
        .filter(|m| !told.contains(&m.subscriber_id))
        .collect();
    if messages.is_empty() {
        return Ok(0);
    }
    let kind = NoticeKind::Winner;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO notices (id, campaign_id, kind, text, send_at, status, recipients,
                              started_at, created_at, updated_at)
         VALUES ($1, $2, $3, '', $4, 'sending', 0, $4, $4, $4)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(campaign_id)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut queued = 0;
    for message in messages {
        let key = format!("{kind}:{id}:{}", message.subscriber_id);
        queued += crate::messenger::outbox::queue_notice_message(
            &mut *tx,
            crate::messenger::outbox::NoticeMessage {
                key: &key,
                page_row_id,
                subscriber_id: &message.subscriber_id,
                campaign_id,
                kind: kind.as_str(),
                notice_id: &id,
                body: &message.body,
            },
            now,
        )
        .await?;
    }
    if queued == 0 {
        return Ok(0);
    }
    sqlx::query(&format!(
        "UPDATE notices SET recipients = {}, updated_at = $2 WHERE id = $1",
        crate::messenger::outbox::notice_message_count("notices.id")
    ))
    .bind(&id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    super::sender::arm(&mut *tx, page_row_id).await?;
    tx.commit().await?;
    tracing::info!(campaign = %campaign_id, queued, "winners' messages queued");
    state.jobs.notify_one();
    Ok(queued)
}

/// Where each winner's message of the campaign stands, by subscriber, in the admin's words.
pub async fn outcomes(
    db: &crate::db::Db,
    campaign_id: &str,
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let rows = crate::messenger::outbox::outcomes_of_notice(db, &notice_id(campaign_id)).await?;
    Ok(rows
        .into_iter()
        .map(|(subscriber, status, reason)| {
            let words = match reason {
                Some(why) if matches!(status.as_str(), "failed" | "not_sent" | "queued") => {
                    format!("{} ({why})", status.replace('_', " "))
                }
                _ => status.replace('_', " "),
            };
            (subscriber, words)
        })
        .collect())
}
