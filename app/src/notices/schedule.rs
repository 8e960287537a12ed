//! When notices go: the end notice follows its campaign (published: due at the end; end moved:
//! moved too; unpublished, archived or deleted before it went: cancelled; end moved later after
//! it went: due again at the new end, for those not yet told), always in the same transaction as
//! the change to the campaign. An update notice is due at once.

use super::jobs::{self, JobKind};
use super::{NoticeKind, NoticeStatus};
use crate::db::{new_id, now_ms};
use sqlx::{Any, Transaction};

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

/// Brings the end notice in line with the campaign as it now stands in `tx`, by the lifecycle
/// rules (`campaigns::lifecycle::end_notice_step`): scheduled or moved while it has not gone,
/// cancelled when the campaign is no longer published, and reopened when the end moves later
/// after it went (the campaign takes entries again; at the new end it goes to those not yet
/// told, and its messages not yet sent are taken back to go then, with the campaign's text as it
/// is at that time).
pub async fn sync_end_notice(
    tx: &mut Transaction<'_, Any>,
    campaign_id: &str,
) -> Result<(), sqlx::Error> {
    use crate::campaigns::lifecycle::{end_notice_step, EndNoticeStep};
    // Write first: on SQLite a transaction that reads, then writes after another connection
    // wrote, fails (SQLITE_BUSY_SNAPSHOT); taking the write lock at once makes it wait instead.
    touch_campaign(tx, campaign_id).await?;
    let notice_id = end_notice_id(campaign_id);
    // On PostgreSQL, the notice's row is locked before its status is read: a fan-out under way
    // (it locks the row first) commits before this decides, so "it went" is never read stale.
    sqlx::query("UPDATE notices SET updated_at = updated_at WHERE id = $1")
        .bind(&notice_id)
        .execute(&mut **tx)
        .await?;
    let campaign = crate::campaigns::store::ending(tx, campaign_id).await?;
    let status: Option<NoticeStatus> =
        sqlx::query_scalar("SELECT status FROM notices WHERE id = $1")
            .bind(&notice_id)
            .fetch_optional(&mut **tx)
            .await?;
    let key = job_key(&notice_id);
    let now = now_ms();
    // A deleted campaign has no state: its notice is cancelled.
    let (state, ends_at) = campaign.map_or((None, 0), |c| (Some(c.publish_state), c.ends_at));
    match end_notice_step(state, ends_at, status, now) {
        EndNoticeStep::Schedule { at } => {
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
            .bind(NoticeKind::End.as_str())
            .bind(at)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            jobs::schedule(&mut **tx, JobKind::Notice, &key, &payload(&notice_id), at).await
        }
        EndNoticeStep::Reopen { at } => {
            // Those told (or being told: a send under way) stay told; the others are listed
            // again at the new end. Their messages not yet sent would say "ended" while the
            // campaign is open: taken back, they are queued again then.
            crate::messenger::outbox::withdraw_unsent(&mut **tx, &notice_id).await?;
            sqlx::query(&format!(
                "UPDATE notices SET status = 'scheduled', send_at = $1, updated_at = $2,
                        recipients = {}
                 WHERE id = $3",
                crate::messenger::outbox::notice_message_count("notices.id")
            ))
            .bind(at)
            .bind(now)
            .bind(&notice_id)
            .execute(&mut **tx)
            .await?;
            // Its job ran (done), or is running now: either way it comes back for the new end
            // (a running one goes round once more and finds the notice not yet due).
            jobs::arm(&mut **tx, JobKind::Notice, &key, &payload(&notice_id), at).await
        }
        EndNoticeStep::Keep => Ok(()),
        EndNoticeStep::Cancel => {
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
    .bind(NoticeKind::Update.as_str())
    .bind(text)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    jobs::schedule(
        &mut **tx,
        JobKind::Notice,
        &job_key(&id),
        &payload(&id),
        now,
    )
    .await?;
    Ok(id)
}

/// Takes the write lock of the transaction (see `sync_end_notice`) without changing anything.
pub async fn touch_campaign(
    tx: &mut Transaction<'_, Any>,
    campaign_id: &str,
) -> Result<(), sqlx::Error> {
    crate::campaigns::store::lock(tx, campaign_id).await
}

/// A subquery for the status of a campaign's end notice (for the campaign list, in its one
/// query); `campaign` is the caller's SQL for the campaign's id.
pub(crate) fn end_notice_status_of(campaign: &str) -> String {
    format!(
        "(SELECT n.status FROM notices n WHERE n.campaign_id = {campaign} AND n.kind = 'end_notice')"
    )
}
