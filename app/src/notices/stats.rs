//! The figures the admin sees of the messages (`messenger::figures` counts them): per notice, per
//! day (UTC) for the last 7 days, by failure reason, and the people behind any figure.

use super::{
    Counts, DayCounts, Filter, NoticeKind, NoticeReport, NoticeStatus, ReasonCount, Recipient,
    Scope,
};
use crate::db::{now_ms, Db};
use crate::messenger::figures::{self, Selection, DAY_MS};
use crate::messenger::MessageStatus;

/// Adds one (status, count) row to the figures (the admin's charts count them so too).
pub(crate) fn add(counts: &mut Counts, status: MessageStatus, n: i64) {
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

/// The messages a scope and filter select, for `messenger::figures` to count.
fn selection<'a>(scope: &'a Scope, filter: &'a Filter) -> Selection<'a> {
    let (from, until) = match filter.day {
        Some(day) => (day * DAY_MS, Some((day + 1) * DAY_MS)),
        // The last 7 days.
        None => ((now_ms() / DAY_MS - 6) * DAY_MS, None),
    };
    Selection {
        campaign_id: match scope {
            Scope::Campaign(id) => Some(id),
            Scope::Page(_) => None,
        },
        page_row_id: match scope {
            Scope::Page(id) => Some(id),
            Scope::Campaign(_) => None,
        },
        notice_id: filter.notice_id.as_deref(),
        statuses: filter.status.as_deref().map_or(&[], statuses),
        reason: filter.reason.as_deref(),
        from,
        until,
    }
}

pub async fn days(db: &Db, scope: &Scope, filter: &Filter) -> Result<Vec<DayCounts>, sqlx::Error> {
    let rows = figures::days(db, &selection(scope, filter)).await?;
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
    figures::reasons(db, &selection(scope, filter)).await
}

pub async fn recipients(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
) -> Result<Vec<Recipient>, sqlx::Error> {
    figures::recipients(db, &selection(scope, filter)).await
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
        let by_status = figures::of_notice(db, &row.id).await?;
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
