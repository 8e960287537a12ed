//! The Page's queue in `outgoing_messages`: claiming a batch, reading it, putting back what
//! did not go.

use super::*;

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) kind: NoticeKind,
    pub(super) attempts: i64,
    pub(super) created_at: i64,
    pub(super) subscriber_id: String,
    pub(super) psid: String,
    pub(super) first_name: Option<String>,
    pub(super) last_interaction_at: i64,
    pub(super) unreachable_at: Option<i64>,
    pub(super) text: String,
    pub(super) title: String,
    pub(super) prize: String,
    pub(super) notice_path: crate::campaigns::NoticePath,
    #[sqlx(try_from = "Flag")]
    pub(super) tag_fallback: bool,
}

pub(super) async fn claim_batch(db: &Db, page_row_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE outgoing_messages SET status = 'sending', updated_at = $1
         WHERE id IN (SELECT id FROM outgoing_messages
                      WHERE page_id = $2 AND status = 'queued' AND notice_id IS NOT NULL
                        AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                      ORDER BY created_at, id LIMIT $3)
           AND status = 'queued'
         RETURNING id",
    )
    .bind(now_ms())
    .bind(page_row_id)
    .bind(BATCH)
    .fetch_all(db)
    .await
}

pub(super) async fn load(db: &Db, ids: &[String]) -> Result<Vec<Row>, sqlx::Error> {
    // One query for the batch: the person's and the campaign's columns come from their owners.
    let sql = format!(
        "SELECT o.id, o.kind, o.attempts, o.created_at, {}, n.text, {}
         FROM outgoing_messages o
         {}
         JOIN notices n ON n.id = o.notice_id
         {}
         WHERE o.id IN ({}) ORDER BY o.id",
        crate::entries::store::SUBSCRIBER_SEND_COLUMNS,
        crate::campaigns::store::CAMPAIGN_NOTICE_COLUMNS,
        crate::entries::store::subscriber_join("o.subscriber_id"),
        crate::campaigns::store::campaign_join("n.campaign_id"),
        crate::db::placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(db).await
}

pub(super) async fn requeue_unsent(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE outgoing_messages SET status = 'queued' WHERE status = 'sending' AND id IN ({})",
        crate::db::placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.execute(db).await?;
    Ok(())
}
