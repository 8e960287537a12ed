//! Counts of the outbox's messages (`outgoing_messages`) for the notices' statistics: what a
//! figure means (a scope, a filter) is `notices::stats`'s to say; how the messages are counted,
//! one query a figure, is here, with the table.

use super::MessageStatus;
use crate::db::Db;
use sqlx::any::AnyRow;

/// One day in milliseconds: the figures are per day (UTC).
pub const DAY_MS: i64 = 86_400_000;

/// Which messages a figure counts.
#[derive(Default)]
pub struct Selection<'a> {
    /// A campaign's messages, or a Page's (its row id), or both if both are given.
    pub campaign_id: Option<&'a str>,
    pub page_row_id: Option<&'a str>,
    pub notice_id: Option<&'a str>,
    /// Any status when empty.
    pub statuses: &'a [MessageStatus],
    pub reason: Option<&'a str>,
    /// Sent (or last changed, if never sent) at or after `from`, and before `until` if given.
    pub from: i64,
    pub until: Option<i64>,
}

/// `WHERE` conditions and their values for a selection, numbered from `$1`: its texts first,
/// then its numbers.
fn conditions(selection: &Selection) -> (String, Vec<String>, Vec<i64>) {
    let mut text = Vec::new();
    let mut texts = Vec::new();
    if let Some(id) = selection.campaign_id {
        texts.push(id.to_string());
        text.push(format!("o.campaign_id = ${}", texts.len()));
    }
    if let Some(id) = selection.page_row_id {
        texts.push(id.to_string());
        text.push(format!("o.page_id = ${}", texts.len()));
    }
    if let Some(notice) = selection.notice_id {
        texts.push(notice.to_string());
        text.push(format!("o.notice_id = ${}", texts.len()));
    }
    if !selection.statuses.is_empty() {
        let quoted: Vec<String> = selection
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        text.push(format!("o.status IN ({})", quoted.join(", ")));
    }
    if let Some(reason) = selection.reason {
        texts.push(reason.to_string());
        text.push(format!("o.error_reason = ${}", texts.len()));
    }
    let mut numbers = vec![selection.from];
    let base = texts.len();
    match selection.until {
        Some(until) => {
            numbers.push(until);
            text.push(format!(
                "COALESCE(o.sent_at, o.updated_at) >= ${} AND COALESCE(o.sent_at, o.updated_at) < ${}",
                base + 1,
                base + 2
            ));
        }
        None => {
            text.push(format!(
                "COALESCE(o.sent_at, o.updated_at) >= ${}",
                base + 1
            ));
        }
    }
    (text.join(" AND "), texts, numbers)
}

/// Runs `sql` with the values `conditions` numbered.
async fn fetch<O>(
    db: &Db,
    sql: &str,
    texts: &[String],
    numbers: &[i64],
) -> Result<Vec<O>, sqlx::Error>
where
    O: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
{
    let mut query = sqlx::query_as::<_, O>(sql);
    for t in texts {
        query = query.bind(t);
    }
    for n in numbers {
        query = query.bind(n);
    }
    query.fetch_all(db).await
}

/// Messages of one status on one day (days since the epoch, UTC).
#[derive(sqlx::FromRow)]
pub struct DayRow {
    pub day: i64,
    pub status: MessageStatus,
    pub n: i64,
}

pub async fn days(db: &Db, selection: &Selection<'_>) -> Result<Vec<DayRow>, sqlx::Error> {
    let (conditions, texts, numbers) = conditions(selection);
    let sql = format!(
        "SELECT COALESCE(o.sent_at, o.updated_at) / {DAY_MS} AS day, o.status, COUNT(*) AS n
         FROM outgoing_messages o WHERE {conditions} GROUP BY 1, 2"
    );
    fetch(db, &sql, &texts, &numbers).await
}

/// A campaign's messages per quarter of an hour (since the epoch, UTC) and status, for the
/// admin's charts to put into their own days (`insight`).
pub async fn quarters(
    db: &Db,
    campaign_id: &str,
) -> Result<Vec<(i64, MessageStatus, i64)>, sqlx::Error> {
    let quarter = crate::insight::QUARTER_MS;
    sqlx::query_as(&format!(
        "SELECT COALESCE(o.sent_at, o.updated_at) / {quarter} AS quarter, o.status, COUNT(*) AS n
         FROM outgoing_messages o WHERE o.campaign_id = $1 GROUP BY 1, 2"
    ))
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

/// The 20 commonest reasons messages failed, were held back or wait, as rows of `status`,
/// `reason` and `count`.
pub async fn reasons<O>(db: &Db, selection: &Selection<'_>) -> Result<Vec<O>, sqlx::Error>
where
    O: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
{
    let (conditions, texts, numbers) = conditions(selection);
    let sql = format!(
        "SELECT o.status, o.error_reason AS reason, COUNT(*) AS count FROM outgoing_messages o
         WHERE {conditions} AND o.status IN ('failed', 'not_sent', 'queued') AND o.error_reason IS NOT NULL
         GROUP BY o.status, o.error_reason ORDER BY count DESC LIMIT 20"
    );
    fetch(db, &sql, &texts, &numbers).await
}

/// The 200 most recent messages with their person, as rows of `first_name`, `psid`, `kind`,
/// `status`, `path`, `reason` and `updated_at`.
pub async fn recipients<O>(db: &Db, selection: &Selection<'_>) -> Result<Vec<O>, sqlx::Error>
where
    O: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
{
    let (conditions, texts, numbers) = conditions(selection);
    let sql = format!(
        "SELECT {names}, o.kind, o.status, o.path, o.error_reason AS reason, o.updated_at
         FROM outgoing_messages o {join}
         WHERE {conditions} ORDER BY o.updated_at DESC LIMIT 200",
        names = crate::entries::store::SUBSCRIBER_NAME_COLUMNS,
        join = crate::entries::store::subscriber_join("o.subscriber_id"),
    );
    fetch(db, &sql, &texts, &numbers).await
}

/// A notice's messages in each status.
#[derive(sqlx::FromRow)]
pub struct StatusCount {
    pub status: MessageStatus,
    pub n: i64,
}

pub async fn of_notice(db: &Db, notice_id: &str) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, COUNT(*) AS n FROM outgoing_messages WHERE notice_id = $1 GROUP BY status",
    )
    .bind(notice_id)
    .fetch_all(db)
    .await
}
