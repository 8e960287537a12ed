//! The Page's queue in `outgoing_messages`: claiming a batch, reading it, putting back what
//! did not go.

use super::*;

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) kind: NoticeKind,
    pub(super) campaign_id: String,
    pub(super) attempts: i64,
    pub(super) created_at: i64,
    pub(super) subscriber_id: String,
    pub(super) psid: String,
    pub(super) first_name: Option<String>,
    pub(super) last_interaction_at: i64,
    pub(super) unreachable_at: Option<i64>,
    pub(super) opted_out_at: Option<i64>,
    pub(super) text: String,
    pub(super) title: String,
    pub(super) prize: String,
    pub(super) notice_path: crate::campaigns::NoticePath,
    #[sqlx(try_from = "Flag")]
    pub(super) tag_fallback: bool,
}

pub(super) async fn claim_batch(db: &Db, page_row_id: &str) -> Result<Vec<String>, sqlx::Error> {
    outbox::claim_notice_batch(db, page_row_id, BATCH).await
}

pub(super) async fn load(db: &Db, ids: &[String]) -> Result<Vec<Row>, sqlx::Error> {
    use outbox::{BATCH_COLUMNS, BATCH_FROM, MESSAGE_BODY, MESSAGE_NOTICE};
    // One query for the batch: the message's, the person's and the campaign's parts come from
    // their owners.
    let sql = format!(
        "SELECT {BATCH_COLUMNS}, n.campaign_id, {}, COALESCE({MESSAGE_BODY}, n.text) AS text, {}
         FROM {BATCH_FROM}
         {}
         JOIN notices n ON n.id = {MESSAGE_NOTICE}
         {}
         WHERE {}",
        crate::entries::store::SUBSCRIBER_SEND_COLUMNS,
        crate::campaigns::store::CAMPAIGN_NOTICE_COLUMNS,
        crate::entries::store::subscriber_join(outbox::MESSAGE_SUBSCRIBER),
        crate::campaigns::store::campaign_join("n.campaign_id"),
        outbox::batch_ids(ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(db).await
}

pub(super) async fn requeue_unsent(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    outbox::release_claimed(db, ids).await
}
