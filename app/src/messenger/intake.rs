//! Webhook events on their way into `webhook_events`: each POST's rows are committed before Meta
//! gets its 200, and concurrent POSTs share commits. Knows the database only, not the app state
//! (which holds the one `WebhookIntake`).

use super::webhook::EventKind;
use crate::db::{new_id, now_ms, Db};
use crate::pages::FacebookPageId;

/// One event as stored.
pub struct Stored {
    pub(super) dedupe_key: String,
    pub(super) page_id: FacebookPageId,
    pub(super) sender_id: Option<String>,
    pub(super) kind: EventKind,
    pub(super) timestamp: i64,
    pub(super) payload: String,
}

impl WebhookIntake {
    /// Stores a POST's events; answers once they are committed. Concurrent POSTs share commits
    /// (group commit): each adds its rows to a queue, and whoever takes the write turn writes every
    /// queued row in one transaction and answers their owners. Under a flood this turns one commit per
    /// webhook into one per turn, and a lone webhook still commits at once (unless it holds only
    /// receipts, which wait [`RECEIPTS_GATHER`] for company).
    pub async fn store(&self, db: &Db, rows: Vec<Stored>) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        let (done, mut outcome) = tokio::sync::oneshot::channel();
        let intake = self;
        // Receipts wait for company: Meta sends one webhook per message delivered or read,
        // a few milliseconds apart while a notice goes out, and nobody waits on them. Written
        // alone, each cost a commit (a third of the database's time per message sent).
        let receipts_only = rows.iter().all(|r| r.kind.is_receipt());
        take(&intake.queue).push((rows, done));
        if receipts_only {
            tokio::select! {
                biased;
                written = &mut outcome => return written.unwrap_or_else(|_| Err(INTERRUPTED.into())),
                _ = tokio::time::sleep(RECEIPTS_GATHER) => {}
            }
        }
        // Either someone else's turn writes our rows, or we get the turn and write every queued row.
        // Waiting for the turn alone would make a request whose rows are already committed sit
        // through the next group's commit too.
        let turn = tokio::select! {
            biased;
            written = &mut outcome => return written.unwrap_or_else(|_| Err(INTERRUPTED.into())),
            turn = intake.turn.lock() => turn,
        };
        let waiting = std::mem::take(&mut *take(&intake.queue));
        if !waiting.is_empty() {
            let rows = waiting.iter().flat_map(|(rows, _)| rows).collect();
            let result = write_events(db, rows).await;
            for (_, done) in waiting {
                let _ = done.send(result.as_ref().map(|_| ()).map_err(ToString::to_string));
            }
        }
        drop(turn);
        outcome.await.unwrap_or_else(|_| Err(INTERRUPTED.into()))
    }
}

const INTERRUPTED: &str = "webhook store interrupted";

/// How long a POST holding only delivery and read receipts waits for others to share its commit.
/// Well inside the 5 s Meta gives a webhook's answer (facts file, webhooks); what a person
/// wrote never waits. Each commit is a fixed cost on both databases: 90 ms gathers some 25
/// receipts a commit at 300 a second (40 ms, a dozen).
const RECEIPTS_GATHER: std::time::Duration = std::time::Duration::from_millis(90);

/// The std lock is only held to push or drain, never across an await.
fn take<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Rows waiting for a commit, and the turn to write them.
#[derive(Default)]
pub struct WebhookIntake {
    queue: std::sync::Mutex<Vec<Waiting>>,
    turn: tokio::sync::Mutex<()>,
}

type Waiting = (
    Vec<Stored>,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// Rows per statement: under SQLite's limit of bound values, at 8 a row.
const ROWS_PER_INSERT: usize = 500;

/// One multi-row statement per chunk. On SQLite a single statement holds the write lock for the
/// shortest time (a transaction would hold it across round trips while the inbox processor's
/// writes wait), and a statement is atomic on its own; only a group larger than one chunk needs a
/// transaction.
async fn write_events(db: &Db, rows: Vec<&Stored>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut writer = crate::db::writer(db).await?;
    let chunks: Vec<&[&Stored]> = rows.chunks(ROWS_PER_INSERT).collect();
    if let [chunk] = chunks.as_slice() {
        return bind_events(sqlx::query(insert_sql(chunk.len())), chunk, now)
            .execute(&mut *writer)
            .await
            .map(drop);
    }
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    for chunk in chunks {
        bind_events(sqlx::query(insert_sql(chunk.len())), chunk, now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The statement for `rows` rows (1 to [`ROWS_PER_INSERT`]), written once per size: writing its
/// placeholders anew for every group was a hundredth of the product's time under a flood.
fn insert_sql(rows: usize) -> &'static str {
    static WRITTEN: [std::sync::OnceLock<String>; ROWS_PER_INSERT] =
        [const { std::sync::OnceLock::new() }; ROWS_PER_INSERT];
    WRITTEN[rows - 1].get_or_init(|| {
        format!(
            "INSERT INTO webhook_events (id, dedupe_key, page_id, sender_id, kind, event_timestamp,
                                         payload, received_at)
             VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
            crate::db::value_rows(rows, 8)
        )
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_events<'q>(mut query: AnyQuery<'q>, rows: &[&'q Stored], now: i64) -> AnyQuery<'q> {
    for row in rows {
        query = query
            .bind(new_id())
            .bind(&row.dedupe_key)
            .bind(&row.page_id)
            .bind(&row.sender_id)
            .bind(row.kind.as_str())
            .bind(row.timestamp)
            .bind(&row.payload)
            .bind(now);
    }
    query
}
