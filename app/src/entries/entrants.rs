//! The entrants of a campaign as its admins see them: one page of the list at a time, by keyset
//! (each page starts where the last one stopped, `(created_at, id)` of its last row, so a page
//! deep in a million entries costs what the first one does), or the whole filtered list as CSV,
//! streamed row by row; and the admin's disqualification and reinstatement of an entry.

use super::list::{Entrant, ListQuery, Reach, PAGE_SIZE};
use super::{EntrySource, EntryStatus};
use crate::db::Db;
use crate::{error::AppError, state::AppState};
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use futures::StreamExt;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/campaigns/{id}/entrants.csv", get(export))
}

/// The CSV of the list as filtered (the list page's parameters), streamed. Admins of the
/// campaign's Page only, like the list.
async fn export(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let Some(admin) = crate::admins::guard::session_admin(&state, &session).await? else {
        return Err(AppError::not_logged_in());
    };
    let campaign = crate::admins::rights::managed_campaign(&state, &admin, &id).await?;
    let query = ListQuery::from_params(
        params.get("state").map(String::as_str),
        params.get("q").map(String::as_str),
        params.get("order").map(String::as_str),
    );
    // Two chunks in flight at most: memory stays flat whatever the size of the list.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let slug = campaign.form.slug.clone();
    tokio::spawn(write_csv(
        state.db.clone(),
        id,
        slug.clone(),
        query,
        crate::db::now_ms(),
        tx,
    ));
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{slug}-entrants.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A row of the list as the database gives it.
struct Listed {
    id: String,
    status: EntryStatus,
    source: EntrySource,
    keyword: Option<String>,
    created_at: i64,
    confirmed_at: Option<i64>,
    disqualified_reason: Option<String>,
    first_name: Option<String>,
    last_initial: Option<String>,
    last_interaction_at: Option<i64>,
    unreachable_at: Option<i64>,
    unreachable_reason: Option<String>,
    opted_out_at: Option<i64>,
    ticket: Option<String>,
    messages: i64,
    failed_messages: i64,
}

/// Between the fields of a listed row: a control character that ids, states, numbers and tickets
/// never hold, and that the SQL replaces by a space in the texts people wrote.
const SEPARATOR: &str = "\u{1f}";
/// [`SEPARATOR`] as the reader splits on it (a `char` is found with `memchr`, a `&str` is not).
const SEPARATOR_CHAR: char = '\u{1f}';

/// A row comes as one text, its fields joined by [`SEPARATOR`] in `list_sql`'s order: the
/// export reads a million rows, and the drivers' cost is per column (on SQLite, a copy and an
/// allocation of every value; on PostgreSQL, the `Any` conversion of each), so one column per row
/// reads about twice as fast as sixteen. A missing time or text is empty.
impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Listed {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let packed: &str = row.try_get(0)?;
        let bad = |what: &str| sqlx::Error::Decode(format!("entrants row: {what}").into());
        let mut fields = packed.split(SEPARATOR_CHAR);
        let mut next = || fields.next().ok_or_else(|| bad("too few fields"));
        let text = |f: &str| (!f.is_empty()).then(|| f.to_string());
        let time = |f: &str| -> Result<Option<i64>, sqlx::Error> {
            if f.is_empty() {
                Ok(None)
            } else {
                f.parse().map(Some).map_err(|_| bad("a time"))
            }
        };
        let number = |f: &str| f.parse::<i64>().map_err(|_| bad("a count"));
        Ok(Listed {
            id: next()?.to_string(),
            status: next()?.parse().map_err(|_| bad("a state"))?,
            source: next()?.parse().map_err(|_| bad("a source"))?,
            created_at: time(next()?)?.ok_or_else(|| bad("the entry time"))?,
            confirmed_at: time(next()?)?,
            last_interaction_at: time(next()?)?,
            unreachable_at: time(next()?)?,
            opted_out_at: time(next()?)?,
            ticket: text(next()?),
            messages: number(next()?)?,
            failed_messages: number(next()?)?,
            keyword: text(next()?),
            disqualified_reason: text(next()?),
            first_name: text(next()?),
            last_initial: text(next()?),
            unreachable_reason: text(next()?),
        })
    }
}

impl Listed {
    /// `now`: where the 24-hour window is judged from.
    fn into_entrant(self, now: i64) -> Entrant {
        let reach = if self.status == EntryStatus::Erased {
            Reach::Erased
        } else if self.last_interaction_at.is_none() {
            Reach::NotYet
        } else if let Some(_at) = self.unreachable_at {
            Reach::Unreachable(self.unreachable_reason.unwrap_or_default())
        } else if self.opted_out_at.is_some() {
            Reach::OptedOut
        } else {
            Reach::Reachable
        };
        let window_open = matches!(reach, Reach::Reachable | Reach::OptedOut)
            && self
                .last_interaction_at
                .is_some_and(|at| crate::messenger::policy::inside_window(at, now));
        let name = self.first_name.map(|first| match self.last_initial {
            Some(initial) => format!("{first} {initial}."),
            None => first,
        });
        Entrant {
            id: self.id,
            state: self.status,
            name,
            ticket: self.ticket,
            entered_at: self.created_at,
            confirmed_at: self.confirmed_at,
            source: self.source,
            keyword: self.keyword,
            window_open,
            reach,
            messages: self.messages,
            failed_messages: self.failed_messages,
            reason: self.disqualified_reason,
        }
    }
}

/// Where a page of the list starts: after the row `(created_at, id)` in the list's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    /// The cursor as the browser carries it.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            id: id.to_string(),
        })
    }

    /// Before every row (the first page).
    fn start(oldest_first: bool) -> Cursor {
        Cursor {
            created_at: if oldest_first { i64::MIN } else { i64::MAX },
            id: String::new(),
        }
    }
}

/// The search as the query binds it: a ticket (as tickets are written) and a name prefix.
fn search_terms(search: &str) -> Option<(String, String)> {
    let search = search.trim();
    if search.is_empty() {
        return None;
    }
    let ticket = search.to_ascii_uppercase().replace([' ', '-'], "");
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Some((ticket, format!("{escaped}%")))
}

/// The list's statement: `$1` the campaign, `$2`/`$3` the cursor, `$4`/`$5` the search terms
/// (empty: no search), `$6` the state when the query has one; `limited`: one page (and one row
/// more, to know if another page follows), else every row (the CSV); `postgres`: the database
/// is PostgreSQL, where the whole list counts messages by a join (see
/// `messenger::outbox::campaign_messages_join`).
fn list_sql(query: &ListQuery, limited: bool, postgres: bool) -> String {
    let ticket = crate::winners::store::JOINED_TICKET;
    // One state only: its own index range (`entries_state_list`), so a rare state is found at
    // once; the search, when there is none, is `$4 = ''` and costs nothing.
    let state = if query.state.is_some() {
        " AND e.status = $6"
    } else {
        ""
    };
    let after = if query.oldest_first { ">" } else { "<" };
    let order = if query.oldest_first { "ASC" } else { "DESC" };
    let limit = if limited { " LIMIT 51" } else { "" };
    let tickets = crate::winners::store::ticket_join("e.id");
    let s = SEPARATOR;
    // The row's fields before the message counts, and after them (see `Listed::from_row`).
    let entry_fields = format!(
        "e.id || '{s}' || e.status || '{s}' || e.source
         || '{s}' || CAST(e.created_at AS TEXT)
         || '{s}' || COALESCE(CAST(e.confirmed_at AS TEXT), '')
         || '{s}' || COALESCE(CAST(s.last_interaction_at AS TEXT), '')
         || '{s}' || COALESCE(CAST(s.unreachable_at AS TEXT), '')
         || '{s}' || COALESCE(CAST(s.opted_out_at AS TEXT), '')
         || '{s}' || COALESCE({ticket}, '') || '{s}' || "
    );
    let texts = format!(
        "|| '{s}' || REPLACE(COALESCE(e.keyword, ''), '{s}', ' ')
         || '{s}' || REPLACE(COALESCE(e.disqualified_reason, ''), '{s}', ' ')
         || '{s}' || REPLACE(COALESCE(s.first_name, ''), '{s}', ' ')
         || '{s}' || REPLACE(COALESCE(s.last_initial, ''), '{s}', ' ')
         || '{s}' || REPLACE(COALESCE(s.unreachable_reason, ''), '{s}', ' ')
         FROM entries e
         LEFT JOIN subscribers s ON s.id = e.subscriber_id
         {tickets}"
    );
    let rest = format!(
        "WHERE e.campaign_id = $1 AND (e.created_at, e.id) {after} ($2, $3){state}
           AND ($4 = '' OR {ticket} = $4 OR LOWER(s.first_name) LIKE $5 ESCAPE '\\')
         ORDER BY e.created_at {order}, e.id {order}{limit}"
    );
    if postgres && !limited {
        let joined_counts = crate::messenger::outbox::campaign_messages(SEPARATOR);
        let join = crate::messenger::outbox::campaign_messages_join("e.subscriber_id", "$1");
        format!("SELECT {entry_fields}{joined_counts} {texts} {join} {rest}")
    } else {
        let row_counts = crate::messenger::outbox::person_messages(
            "e.subscriber_id",
            "e.campaign_id",
            SEPARATOR,
        );
        format!("SELECT {entry_fields}{row_counts} {texts} {rest}")
    }
}

fn bind_list<'q>(
    sql: &'q str,
    campaign_id: &'q str,
    query: &'q ListQuery,
    cursor: Cursor,
) -> sqlx::query::QueryAs<'q, sqlx::Any, Listed, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query_as::<_, Listed>(sql)
        .bind(campaign_id)
        .bind(cursor.created_at)
        .bind(cursor.id);
    let (ticket, name) = search_terms(&query.search).unwrap_or_default();
    q = q.bind(ticket).bind(name);
    if let Some(state) = query.state {
        q = q.bind(state.as_str());
    }
    q
}

/// One page of the list, after `cursor` (the first page without one), and the cursor of the
/// next page when there is one.
pub async fn page(
    db: &Db,
    campaign_id: &str,
    query: &ListQuery,
    cursor: Option<Cursor>,
    now: i64,
) -> Result<(Vec<Entrant>, Option<Cursor>), sqlx::Error> {
    let sql = list_sql(query, true, false);
    let cursor = cursor.unwrap_or_else(|| Cursor::start(query.oldest_first));
    let mut rows = bind_list(&sql, campaign_id, query, cursor)
        .fetch_all(db)
        .await?;
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    let next = more.then(|| {
        let last = rows.last().expect("a full page");
        Cursor {
            created_at: last.created_at,
            id: last.id.clone(),
        }
    });
    Ok((
        rows.into_iter().map(|r| r.into_entrant(now)).collect(),
        next,
    ))
}

/// How many entries the campaign has in each state.
pub async fn state_counts(
    db: &Db,
    campaign_id: &str,
) -> Result<Vec<(EntryStatus, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, COUNT(*) FROM entries WHERE campaign_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

/// The CSV's header row.
pub const CSV_HEADER: [&str; 14] = [
    "entry",
    "state",
    "name",
    "ticket",
    "entered_at",
    "confirmed_at",
    "source",
    "keyword",
    "window",
    "reachability",
    "messages",
    "failed_messages",
    "disqualified_reason",
    "campaign",
];

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage return
/// that some read as one) gets a leading apostrophe, which spreadsheets show as text.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// A time as RFC 3339 in UTC to the second (`2026-11-28T09:30:00Z`): jiff's own printing of a
/// whole-second timestamp, several times faster than a `strftime` pattern.
fn time_cell(ms: Option<i64>) -> String {
    ms.and_then(|ms| jiff::Timestamp::from_second(ms.div_euclid(1000)).ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Bytes gathered before a chunk goes to the client.
const CHUNK: usize = 64 * 1024;

/// The whole filtered list as CSV (UTF-8, header row first), written in chunks into `out` as the
/// rows come from the database: at most a few chunks are ever held, whatever the list's size
/// (`out` is bounded; a slow client slows the query down instead). Ends early, without error,
/// when the receiver is gone.
pub async fn write_csv(
    db: Db,
    campaign_id: String,
    campaign_slug: String,
    query: ListQuery,
    now: i64,
    out: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) {
    let mut conn = match db.acquire().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, campaign = %campaign_id, "entrants CSV not started");
            let _ = out.send(Err(std::io::Error::other("database error"))).await;
            return;
        }
    };
    let sql = list_sql(&query, false, conn.backend_name() == "PostgreSQL");
    let new_writer = || csv::Writer::from_writer(Vec::with_capacity(CHUNK + 4096));
    let mut writer = new_writer();
    let mut failed = writer.write_record(CSV_HEADER).err();
    let mut rows = bind_list(
        &sql,
        &campaign_id,
        &query,
        Cursor::start(query.oldest_first),
    )
    .fetch(&mut *conn);
    while failed.is_none() {
        let row = match rows.next().await {
            None => break,
            Some(Ok(row)) => row.into_entrant(now),
            Some(Err(e)) => {
                tracing::error!(error = %e, campaign = %campaign_id, "entrants CSV stopped");
                let _ = out.send(Err(std::io::Error::other("database error"))).await;
                return;
            }
        };
        let reach = row.reach.to_string();
        let (mut messages, mut failed_messages) = (itoa::Buffer::new(), itoa::Buffer::new());
        let record = [
            row.id.as_str(),
            row.state.as_str(),
            &safe_cell(row.name.as_deref().unwrap_or("")),
            row.ticket.as_deref().unwrap_or(""),
            &time_cell(Some(row.entered_at)),
            &time_cell(row.confirmed_at),
            row.source.as_str(),
            &safe_cell(row.keyword.as_deref().unwrap_or("")),
            if row.window_open { "open" } else { "closed" },
            &safe_cell(&reach),
            messages.format(row.messages),
            failed_messages.format(row.failed_messages),
            &safe_cell(row.reason.as_deref().unwrap_or("")),
            campaign_slug.as_str(),
        ];
        failed = writer.write_record(record).err();
        if writer.get_ref().len() >= CHUNK {
            let full = std::mem::replace(&mut writer, new_writer());
            match full.into_inner() {
                Ok(chunk) => {
                    if out.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    failed = Some(e.into_error().into());
                    break;
                }
            }
        }
    }
    if let Some(e) = failed {
        tracing::error!(error = %e, "entrants CSV could not be written");
        let _ = out.send(Err(std::io::Error::other("csv error"))).await;
        return;
    }
    match writer.into_inner() {
        Ok(rest) if !rest.is_empty() => {
            let _ = out.send(Ok(rest)).await;
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "entrants CSV could not be finished"),
    }
}

/// Takes a confirmed entry out of the draw with the admin's reason. False when the entry is not
/// a confirmed one of this campaign.
pub async fn disqualify(
    db: &Db,
    campaign_id: &str,
    entry_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE entries SET status = 'disqualified', disqualified_reason = $3, disqualified_at = $4
         WHERE id = $1 AND campaign_id = $2 AND status = 'confirmed'",
    )
    .bind(entry_id)
    .bind(campaign_id)
    .bind(reason)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a disqualified entry back. False when it is not a disqualified entry of this campaign.
pub async fn reinstate(db: &Db, campaign_id: &str, entry_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE entries SET status = 'confirmed', disqualified_reason = NULL, disqualified_at = NULL
         WHERE id = $1 AND campaign_id = $2 AND status = 'disqualified'",
    )
    .bind(entry_id)
    .bind(campaign_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_splits_on_the_separator_the_sql_writes() {
        assert_eq!(SEPARATOR, SEPARATOR_CHAR.to_string());
    }

    #[test]
    fn formula_cells_are_escaped_and_others_kept() {
        for risky in ["=1+1", "+33", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(safe_cell(risky), format!("'{risky}"));
        }
        for plain in ["Alice", "", "a=b", "1-2", "Zoë"] {
            assert_eq!(safe_cell(plain), plain);
        }
    }

    #[test]
    fn cursors_survive_the_round_trip_and_junk_is_refused() {
        let c = Cursor {
            created_at: 1_764_000_000_123,
            id: "abc-DEF".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("junk"), None);
        assert_eq!(Cursor::decode("x.y"), None);
    }

    #[test]
    fn a_search_is_a_ticket_and_a_literal_name_prefix() {
        assert_eq!(search_terms("  "), None);
        assert_eq!(
            search_terms("ab-cd 12"),
            Some(("ABCD12".into(), "ab-cd 12%".into()))
        );
        assert_eq!(
            search_terms("50%_a"),
            Some(("50%_A".into(), "50\\%\\_a%".into()))
        );
    }
}
