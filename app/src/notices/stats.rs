//! The figures the admin sees, straight from `outgoing_messages`: per notice, per day (UTC) for
//! the last 7 days, by failure reason, and the people behind any figure.

use super::{
    Counts, DayCounts, Filter, NoticeKind, NoticeReport, NoticeStatus, ReasonCount, Recipient,
    Scope,
};
use crate::db::{now_ms, Db};
use crate::messenger::MessageStatus;

const DAY_MS: i64 = 86_400_000;

/// Adds one (status, count) row to the figures.
fn add(counts: &mut Counts, status: MessageStatus, n: i64) {
    use MessageStatus::*;
    match status {
        Queued | Sending => counts.queued += n,
        Sent => counts.sent += n,
        Delivered => {
            counts.sent += n;
            counts.delivered += n
        }
        Read => {
            counts.sent += n;
            counts.delivered += n;
            counts.read += n
        }
        Failed => counts.failed += n,
        NotSent => counts.not_sent += n,
    }
}

/// The statuses behind a figure's name (the panel's filter: a figure is named like the status
/// it starts from; any other word filters nothing out).
fn statuses(figure: &str) -> &'static [MessageStatus] {
    use MessageStatus::*;
    match figure.parse::<MessageStatus>() {
        Ok(Queued) => &[Queued, Sending],
        Ok(Sent) => &[Sent, Delivered, Read],
        Ok(Delivered) => &[Delivered, Read],
        Ok(Read) => &[Read],
        Ok(Failed) => &[Failed],
        Ok(NotSent) => &[NotSent],
        Ok(Sending) | Err(_) => &[],
    }
}

/// `WHERE` conditions and their values for a scope and filter, numbered from `$1`.
fn conditions(scope: &Scope, filter: &Filter) -> (String, Vec<String>, Vec<i64>) {
    let mut text = Vec::new();
    let mut texts = Vec::new();
    match scope {
        Scope::Campaign(id) => {
            texts.push(id.clone());
            text.push(format!("o.campaign_id = ${}", texts.len()));
        }
        Scope::Page(id) => {
            texts.push(id.clone());
            text.push(format!("o.page_id = ${}", texts.len()));
        }
    }
    if let Some(notice) = &filter.notice_id {
        texts.push(notice.clone());
        text.push(format!("o.notice_id = ${}", texts.len()));
    }
    if let Some(figure) = &filter.status {
        let list = statuses(figure);
        if !list.is_empty() {
            let quoted: Vec<String> = list.iter().map(|s| format!("'{}'", s.as_str())).collect();
            text.push(format!("o.status IN ({})", quoted.join(", ")));
        }
    }
    if let Some(reason) = &filter.reason {
        texts.push(reason.clone());
        text.push(format!("o.error_reason = ${}", texts.len()));
    }
    let mut numbers = Vec::new();
    let base = texts.len();
    match filter.day {
        Some(day) => {
            numbers.push(day * DAY_MS);
            numbers.push((day + 1) * DAY_MS);
            text.push(format!(
                "COALESCE(o.sent_at, o.updated_at) >= ${} AND COALESCE(o.sent_at, o.updated_at) < ${}",
                base + 1,
                base + 2
            ));
        }
        None => {
            numbers.push((now_ms() / DAY_MS - 6) * DAY_MS);
            text.push(format!(
                "COALESCE(o.sent_at, o.updated_at) >= ${}",
                base + 1
            ));
        }
    }
    (text.join(" AND "), texts, numbers)
}

/// Binds the values `conditions` numbered: its texts first, then its numbers.
fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    texts: &'q [String],
    numbers: &'q [i64],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for t in texts {
        query = query.bind(t);
    }
    for n in numbers {
        query = query.bind(n);
    }
    query
}

/// Messages of one status on one day.
#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    status: MessageStatus,
    n: i64,
}

pub async fn days(db: &Db, scope: &Scope, filter: &Filter) -> Result<Vec<DayCounts>, sqlx::Error> {
    let (conditions, texts, numbers) = conditions(scope, filter);
    let sql = format!(
        "SELECT COALESCE(o.sent_at, o.updated_at) / {DAY_MS} AS day, o.status, COUNT(*) AS n
         FROM outgoing_messages o WHERE {conditions} GROUP BY 1, 2"
    );
    let query = bind_all(sqlx::query_as::<_, DayRow>(&sql), &texts, &numbers);
    let rows = query.fetch_all(db).await?;
    let today = now_ms() / DAY_MS;
    let mut days: Vec<DayCounts> = (0..7)
        .rev()
        .map(|back| DayCounts {
            day: today - back,
            counts: Counts::default(),
        })
        .filter(|d| filter.day.is_none_or(|only| only == d.day))
        .collect();
    for row in rows {
        if let Some(d) = days.iter_mut().find(|d| d.day == row.day) {
            add(&mut d.counts, row.status, row.n);
        }
    }
    Ok(days)
}

pub async fn reasons(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
) -> Result<Vec<ReasonCount>, sqlx::Error> {
    let (conditions, texts, numbers) = conditions(scope, filter);
    let sql = format!(
        "SELECT o.status, o.error_reason AS reason, COUNT(*) AS count FROM outgoing_messages o
         WHERE {conditions} AND o.status IN ('failed', 'not_sent', 'queued') AND o.error_reason IS NOT NULL
         GROUP BY o.status, o.error_reason ORDER BY count DESC LIMIT 20"
    );
    let query = bind_all(sqlx::query_as::<_, ReasonCount>(&sql), &texts, &numbers);
    query.fetch_all(db).await
}

pub async fn recipients(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let (conditions, texts, numbers) = conditions(scope, filter);
    let sql = format!(
        "SELECT {names}, o.kind, o.status, o.path, o.error_reason AS reason, o.updated_at
         FROM outgoing_messages o {join}
         WHERE {conditions} ORDER BY o.updated_at DESC LIMIT 200",
        names = crate::entries::store::SUBSCRIBER_NAME_COLUMNS,
        join = crate::entries::store::subscriber_join("o.subscriber_id"),
    );
    let query = bind_all(sqlx::query_as::<_, Recipient>(&sql), &texts, &numbers);
    query.fetch_all(db).await
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    kind: NoticeKind,
    status: NoticeStatus,
    text: String,
    send_at: i64,
    started_at: Option<i64>,
    recipients: Option<i64>,
}

/// Messages of a notice in one status.
#[derive(sqlx::FromRow)]
struct StatusCount {
    status: MessageStatus,
    n: i64,
}

/// A campaign's notices, each with its progress.
pub async fn notices(db: &Db, campaign_id: &str) -> Result<Vec<NoticeReport>, sqlx::Error> {
    let rows: Vec<NoticeRow> = sqlx::query_as(
        "SELECT id, kind, status, text, send_at, started_at, recipients FROM notices
             WHERE campaign_id = $1 ORDER BY send_at DESC",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let mut counts = Counts::default();
        let by_status: Vec<StatusCount> = sqlx::query_as(
            "SELECT status, COUNT(*) AS n FROM outgoing_messages WHERE notice_id = $1 GROUP BY status",
        )
        .bind(&row.id)
        .fetch_all(db)
        .await?;
        for s in by_status {
            add(&mut counts, s.status, s.n);
        }
        out.push(NoticeReport {
            id: row.id,
            kind: row.kind,
            status: row.status,
            text: row.text,
            send_at: row.send_at,
            started_at: row.started_at,
            recipients: row.recipients.unwrap_or(0),
            counts,
        });
    }
    Ok(out)
}
