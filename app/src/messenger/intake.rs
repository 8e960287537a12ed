//! Webhook events on their way in: each POST's events are committed before Meta gets its 200,
//! and concurrent POSTs share commits. What people do is stored in `webhook_events` for the inbox
//! to process; delivery and read receipts are applied there and then and not kept. Knows the
//! database only, not the app state (which holds the one `WebhookIntake`).

use super::outbox::Receipts;
use super::webhook::{EventKind, MessagingEvent};
use crate::db::{new_id, now_ms, Db};
use crate::pages::FacebookPageId;
use std::collections::HashMap;

/// One event as stored.
pub struct Stored {
    pub(super) dedupe_key: String,
    pub(super) page_id: FacebookPageId,
    pub(super) sender_id: Option<String>,
    pub(super) kind: EventKind,
    pub(super) timestamp: i64,
    pub(super) payload: String,
}

/// A delivery or read receipt of a Page.
pub struct Receipt {
    pub(super) page_id: FacebookPageId,
    pub(super) event: MessagingEvent,
}

/// What one POST brought.
#[derive(Default)]
pub struct Arrived {
    pub(super) events: Vec<Stored>,
    pub(super) receipts: Vec<Receipt>,
}

impl Arrived {
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.receipts.is_empty()
    }
}

impl WebhookIntake {
    /// Stores a POST's events and applies its receipts; answers once they are committed.
    /// Concurrent POSTs share commits (group commit): each adds what it brought to a queue, and
    /// whoever takes the write turn writes everything queued and answers the owners. Under a flood
    /// this turns one commit per webhook into one per turn, and a lone webhook still commits at
    /// once (unless it holds only receipts, which wait [`RECEIPTS_GATHER`] for company).
    pub async fn store(&self, db: &Db, arrived: Arrived) -> Result<(), String> {
        if arrived.is_empty() {
            return Ok(());
        }
        let (done, mut outcome) = tokio::sync::oneshot::channel();
        let intake = self;
        // Receipts wait for company: Meta sends one webhook per message delivered or read,
        // a few milliseconds apart while a notice goes out, and nobody waits on them. Written
        // alone, each cost a commit (a third of the database's time per message sent).
        let receipts_only = arrived.events.is_empty();
        take(&intake.queue).push((arrived, done));
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
            intake
                .turns
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let events: Vec<&Stored> = waiting.iter().flat_map(|(a, _)| &a.events).collect();
            let receipts: Vec<&Receipt> = waiting.iter().flat_map(|(a, _)| &a.receipts).collect();
            let stored = if events.is_empty() {
                Ok(())
            } else {
                write_events(db, events).await.map_err(|e| e.to_string())
            };
            let applied = if receipts.is_empty() {
                Ok(())
            } else {
                apply_receipts(db, &receipts)
                    .await
                    .map_err(|e| e.to_string())
            };
            for (arrived, done) in waiting {
                // Each owner hears of the part it brought: a failure makes Meta send it again,
                // and both parts can be done twice without harm.
                let mut result = Ok(());
                if !arrived.events.is_empty() {
                    result = result.and(stored.clone());
                }
                if !arrived.receipts.is_empty() {
                    result = result.and(applied.clone());
                }
                let _ = done.send(result);
            }
        }
        drop(turn);
        outcome.await.unwrap_or_else(|_| Err(INTERRUPTED.into()))
    }

    /// How many write turns the intake has taken: each is one group of commits.
    pub fn turns(&self) -> u64 {
        self.turns.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Applies receipts of connected Pages in one round (`outbox::Receipts`), and notes the time
/// on their Pages. Receipts of Pages not connected, or without a sender, change nothing and are
/// dropped; those of people a Page no longer knows (erased) match no one and leave no trace.
async fn apply_receipts(db: &Db, receipts: &[&Receipt]) -> Result<(), sqlx::Error> {
    let mut named: Vec<&str> = receipts.iter().map(|r| r.page_id.as_str()).collect();
    named.sort_unstable();
    named.dedup();
    let pages: HashMap<FacebookPageId, crate::pages::PageRowId> =
        crate::pages::store::row_ids(db, &named)
            .await?
            .into_iter()
            .collect();
    let mut round = Receipts::default();
    for receipt in receipts {
        if let (Some(page_row_id), Some(psid)) = (
            pages.get(&receipt.page_id),
            receipt.event.sender.id.as_deref(),
        ) {
            round.add(page_row_id, psid, &receipt.event);
        }
    }
    if pages.is_empty() {
        return Ok(());
    }
    let mut writer = crate::db::writer(db).await?;
    let mut tx = round.apply(&mut writer).await?;
    let page_rows: Vec<&str> = pages.values().map(|p| p.as_str()).collect();
    crate::pages::store::stamp_receipts(&mut tx, &page_rows, now_ms()).await?;
    tx.commit().await
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
    turns: std::sync::atomic::AtomicU64,
}

type Waiting = (Arrived, tokio::sync::oneshot::Sender<Result<(), String>>);

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
