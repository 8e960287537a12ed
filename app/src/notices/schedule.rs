//! When notices go: the end notice follows its campaign (published: due at the end; end moved:
//! moved too; unpublished, archived or deleted before it went: cancelled), always in the same
//! transaction as the change to the campaign. An update notice is due at once.

use super::jobs;
use crate::db::{new_id, now_ms};
use sqlx::{Any, Transaction};

pub const END: &str = "end_notice";
pub const UPDATE: &str = "update_notice";

/// The end notice of a campaign has a fixed id, so scheduling it twice is scheduling it once.
pub fn end_notice_id(campaign_id: &str) -> String {
    format!("end-{campaign_id}")
}

pub fn job_key(notice_id: &str) -> String {
    format!("notice:{notice_id}")
}

fn payload(notice_id: &str) -> String {
    serde_json::json!({ "notice_id": notice_id }).to_string()
}

/// Brings the end notice in line with the campaign as it now stands in `tx`.
pub async fn sync_end_notice(
    tx: &mut Transaction<'_, Any>,
    campaign_id: &str,
) -> Result<(), sqlx::Error> {
    // Write first: on SQLite a transaction that reads, then writes after another connection
    // wrote, fails (SQLITE_BUSY_SNAPSHOT); taking the write lock at once makes it wait instead.
    touch_campaign(tx, campaign_id).await?;
    let campaign: Option<(String, i64)> =
        sqlx::query_as("SELECT publish_state, ends_at FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_optional(&mut **tx)
            .await?;
    let notice_id = end_notice_id(campaign_id);
    let key = job_key(&notice_id);
    let now = now_ms();
    match campaign {
        Some((state, ends_at)) if state == "published" => {
            sqlx::query(
                "INSERT INTO notices (id, campaign_id, kind, send_at, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'scheduled', $5, $5)
                 ON CONFLICT (id) DO UPDATE SET
                   send_at = CASE WHEN notices.status IN ('scheduled', 'cancelled') THEN excluded.send_at ELSE notices.send_at END,
                   status = CASE WHEN notices.status = 'cancelled' THEN 'scheduled' ELSE notices.status END,
                   updated_at = excluded.updated_at",
            )
            .bind(&notice_id)
            .bind(campaign_id)
            .bind(END)
            .bind(ends_at)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            jobs::schedule(&mut **tx, "notice", &key, &payload(&notice_id), ends_at).await
        }
        _ => {
            // Only a notice that has not started is cancelled: one under way finishes.
            sqlx::query(
                "UPDATE notices SET status = 'cancelled', updated_at = $1
                 WHERE id = $2 AND status = 'scheduled'",
            )
            .bind(now)
            .bind(&notice_id)
            .execute(&mut **tx)
            .await?;
            jobs::cancel(&mut **tx, &key).await.map(|_| ())
        }
    }
}

/// "Notify subscribers of this change": an update notice, due now. Returns its id.
pub async fn update_notice(
    tx: &mut Transaction<'_, Any>,
    campaign_id: &str,
    text: &str,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO notices (id, campaign_id, kind, text, send_at, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'scheduled', $5, $5)",
    )
    .bind(&id)
    .bind(campaign_id)
    .bind(UPDATE)
    .bind(text)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    jobs::schedule(&mut **tx, "notice", &job_key(&id), &payload(&id), now).await?;
    Ok(id)
}

/// Takes the write lock of the transaction (see `sync_end_notice`) without changing anything.
pub async fn touch_campaign(
    tx: &mut Transaction<'_, Any>,
    campaign_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaigns SET updated_at = updated_at WHERE id = $1")
        .bind(campaign_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
