//! The inbox worker: webhook events stored by `receive` (through `intake`) are processed
//! afterwards by this instance's worker, in event-time order. Processing is idempotent and an
//! event is marked done only once it took effect, so a crash, a duplicate delivery or a second
//! instance changes nothing.

use super::webhook::{EventKind, MessagingEvent};
use crate::entries::store::Subscriber;
use crate::pages::{FacebookPageId, PageRowId};
use crate::{db::now_ms, state::AppState};
use serde_json::Value;
use std::{collections::HashMap, time::Duration};

/// Processes stored events until none is left, then waits to be woken (or sweeps every 30 s, for
/// events another instance stored or a failure left behind). Runs until the server stops.
///
/// While events keep coming (delivery receipts of a notice going out: one webhook per message),
/// a wake-up waits [`GATHER`] for the ones right behind it, so that they are processed together:
/// a round costs the same handful of statements and commits for one event as for fifty, and
/// woken per event the worker spent more on rounds than on events. A lone event after a quiet
/// spell (a person entering) is processed at once.
pub async fn worker(state: AppState) {
    let mut busy = false;
    loop {
        match process_pending(&state).await {
            Ok(done) => busy = done > 0,
            Err(e) => tracing::warn!(error = %e, "webhook processing paused"),
        }
        tokio::select! {
            _ = state.inbox.notified() => {
                if busy {
                    tokio::time::sleep(GATHER).await;
                }
            },
            _ = tokio::time::sleep(Duration::from_secs(30)) => {},
        }
    }
}

/// How long a wake-up waits for the events behind it while events keep coming: the fewer rounds,
/// the less each receipt costs (see the sends' recorder, `notices::sender`, for the figures).
const GATHER: Duration = Duration::from_millis(100);

#[derive(sqlx::FromRow)]
struct Pending {
    id: String,
    page_id: FacebookPageId,
    sender_id: Option<String>,
    kind: EventKind,
    payload: String,
    /// The payload read once, for messaging events.
    #[sqlx(skip)]
    event: Option<MessagingEvent>,
}

/// How many people's events are processed at once. Each person's events stay in order; people
/// are independent of each other, and most of an event's time is spent waiting on the database or
/// on Graph, so a serial loop would leave both idle.
const PROCESS_CONCURRENCY: usize = 16;
const BATCH: i64 = 500;

/// Processes every stored, unprocessed event, each person's in event-time order; returns how many
/// took effect. Tests call it directly instead of waiting for the worker.
pub async fn process_pending(state: &AppState) -> Result<usize, sqlx::Error> {
    use futures::stream::{self, StreamExt};
    let mut done = 0;
    loop {
        let batch: Vec<Pending> = sqlx::query_as(
            "SELECT id, page_id, sender_id, kind, payload FROM webhook_events
             WHERE processed_at IS NULL ORDER BY event_timestamp, received_at LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&state.db)
        .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let mut batch = batch;
        for pending in &mut batch {
            if pending.kind != EventKind::Change {
                pending.event = serde_json::from_str(&pending.payload).ok();
            }
        }
        // Each Page looked up once per batch, not once per event.
        let mut pages = HashMap::new();
        for event in &batch {
            if !pages.contains_key(&event.page_id) {
                let row = page_row(state, &event.page_id).await?;
                pages.insert(event.page_id.clone(), row);
            }
        }
        // Delivery and read receipts only move messages on (sent, delivered, read), and no other
        // event waits on them: a batch's receipts go in one round, ahead of the people's other
        // events.
        // A commit per receipt was most of the database's work while notices went out.
        let (receipts, batch): (Vec<Pending>, Vec<Pending>) = batch
            .into_iter()
            .partition(|p| receipt_of(p, &pages).is_some());
        let receipts_applied = apply_receipts(state, &pages, &receipts).await?;
        let queues = by_person(batch);
        let people = people_of(&queues, &pages);
        let found = crate::entries::store::upsert_subscribers(&state.db, &people).await?;
        let mut subscribers: HashMap<(PageRowId, String), Subscriber> = found
            .into_iter()
            .map(|s| ((s.page_id.clone(), s.psid.clone()), s))
            .collect();
        let outcomes: Vec<Outcome> = stream::iter(queues)
            .map(|events| {
                let page_row_id = pages.get(&events[0].page_id).cloned().flatten();
                let subscriber = match (&page_row_id, &events[0].sender_id) {
                    (Some(page), Some(psid)) => subscribers.remove(&(page.clone(), psid.clone())),
                    _ => None,
                };
                process_in_order(state, page_row_id, subscriber, events)
            })
            .buffer_unordered(PROCESS_CONCURRENCY)
            .collect()
            .await;
        let mut failure = None;
        let mut processed = Vec::new();
        for (ids, failed) in outcomes {
            processed.extend(ids);
            if failure.is_none() {
                failure = failed;
            }
        }
        mark_processed(state, &processed).await?;
        done += receipts_applied + processed.len();
        if let Some((id, e)) = failure {
            // Left unprocessed for the next sweep (with the rest of that person's events).
            sqlx::query("UPDATE webhook_events SET error = $1 WHERE id = $2")
                .bind(e.to_string())
                .bind(&id)
                .execute(&state.db)
                .await?;
            return Err(e);
        }
    }
}

/// (Page row, PSID, event) of a delivery or read receipt from someone on a connected Page.
fn receipt_of<'a>(
    stored: &'a Pending,
    pages: &'a HashMap<FacebookPageId, Option<PageRowId>>,
) -> Option<(&'a str, &'a str, &'a MessagingEvent)> {
    let event = stored.event.as_ref()?;
    if stored.kind == EventKind::Change || !event.kind().is_receipt() {
        return None;
    }
    let page_row_id = pages.get(&stored.page_id)?.as_deref()?;
    Some((page_row_id, event.sender.id.as_deref()?, event))
}

/// Applies a batch's receipts and marks them processed; returns how many. Receipts are applied
/// on arrival and not stored (`intake`): these are the ones an earlier version stored, still
/// applied after an upgrade, or while an older instance runs beside this one.
async fn apply_receipts(
    state: &AppState,
    pages: &HashMap<FacebookPageId, Option<PageRowId>>,
    receipts: &[Pending],
) -> Result<usize, sqlx::Error> {
    if receipts.is_empty() {
        return Ok(0);
    }
    let mut round = super::outbox::Receipts::default();
    // Each Page's receipts by id, for emptying those of people it no longer knows (below).
    let mut ids_by_page: HashMap<&str, Vec<&str>> = HashMap::new();
    for receipt in receipts {
        if let Some((page_row_id, psid, event)) = receipt_of(receipt, pages) {
            round.add(page_row_id, psid, event);
            ids_by_page
                .entry(page_row_id)
                .or_default()
                .push(&receipt.id);
        }
    }
    let mut writer = crate::db::writer(&state.db).await?;
    let mut tx = round.apply(&mut writer).await?;
    // Receipts from people the Page no longer knows (erased since) keep no PSID: same commit.
    for (page_row_id, ids) in ids_by_page {
        super::retention::forget_unknown_senders(&mut tx, page_row_id, &ids).await?;
    }
    // Done in the same commit as their effect, one commit fewer a round (no CPU change measured,
    // README). Applying them again after a crash changes nothing.
    let ids: Vec<String> = receipts.iter().map(|r| r.id.clone()).collect();
    mark_processed_on(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// Splits a batch into one queue per (Page, sender), each in the batch's order. Page-level
/// changes have no sender and form their own queue per Page.
fn by_person(batch: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut index = std::collections::HashMap::new();
    let mut queues: Vec<Vec<Pending>> = Vec::new();
    for event in batch {
        let key = (event.page_id.clone(), event.sender_id.clone());
        let at = *index.entry(key).or_insert_with(|| {
            queues.push(Vec::new());
            queues.len() - 1
        });
        queues[at].push(event);
    }
    queues
}

/// The events of one queue that took effect, and the one that failed (with why), if any.
type Outcome = (Vec<String>, Option<(String, sqlx::Error)>);

/// The people of a batch who interacted with a connected Page, each once, with the latest time
/// they renewed their window (0 if none did): found or created together before processing.
fn people_of(
    queues: &[Vec<Pending>],
    pages: &HashMap<FacebookPageId, Option<PageRowId>>,
) -> Vec<(PageRowId, String, i64)> {
    let mut people = Vec::new();
    for queue in queues {
        let (Some(Some(page_row_id)), Some(psid)) =
            (pages.get(&queue[0].page_id), &queue[0].sender_id)
        else {
            continue;
        };
        let renewed = queue
            .iter()
            .filter_map(|p| p.event.as_ref().and_then(crate::entries::interaction_at))
            .max();
        if let Some(at) = renewed {
            people.push((page_row_id.clone(), psid.clone(), at));
        }
    }
    people
}

/// One person's events, in order, stopping at the first failure so that none overtakes it.
async fn process_in_order(
    state: &AppState,
    page_row_id: Option<PageRowId>,
    mut subscriber: Option<Subscriber>,
    events: Vec<Pending>,
) -> Outcome {
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        match process(state, page_row_id.as_ref(), subscriber.as_mut(), &event).await {
            Ok(()) => ids.push(event.id),
            Err(e) => return (ids, Some((event.id, e))),
        }
    }
    (ids, None)
}

/// One statement per chunk rather than per event: on SQLite every statement outside a
/// transaction is a commit, the costliest part of processing.
async fn mark_processed(state: &AppState, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut writer = crate::db::writer(&state.db).await?;
    mark_processed_on(&mut writer, ids).await
}

async fn mark_processed_on(
    conn: &mut sqlx::AnyConnection,
    ids: &[String],
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    for chunk in ids.chunks(200) {
        let sql = format!(
            "UPDATE webhook_events SET processed_at = $1, error = NULL WHERE id IN ({})",
            crate::db::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn process(
    state: &AppState,
    page_row_id: Option<&PageRowId>,
    subscriber: Option<&mut Subscriber>,
    stored: &Pending,
) -> Result<(), sqlx::Error> {
    let Some(page_row_id) = page_row_id else {
        tracing::debug!(page = %stored.page_id, "event for a Page that is not connected");
        return Ok(());
    };
    if stored.kind == EventKind::Change {
        // Page-level: the review of the Page's utility template.
        let change: Value = serde_json::from_str(&stored.payload).unwrap_or_default();
        return crate::notices::templates::on_change(state, page_row_id, &change).await;
    }
    let Some(event) = &stored.event else {
        return Ok(());
    };
    if event.sender.id.is_none() {
        return Ok(());
    }
    match event.kind() {
        // Receipts (delivery, read) were applied with the batch's, in `apply_receipts`.
        EventKind::Echo
        | EventKind::Unknown
        | EventKind::Change
        | EventKind::Delivery
        | EventKind::Read => Ok(()),
        _ => match subscriber {
            Some(subscriber) => {
                crate::entries::on_interaction(
                    state,
                    page_row_id,
                    &stored.page_id,
                    subscriber,
                    event,
                )
                .await
            }
            None => Ok(()),
        },
    }
}

async fn page_row(
    state: &AppState,
    facebook_page_id: &FacebookPageId,
) -> Result<Option<PageRowId>, sqlx::Error> {
    crate::pages::store::row_id(&state.db, facebook_page_id).await
}

/// When the last webhook event of the Page (its Facebook id) was received, if one is kept.
pub async fn last_received(
    db: &crate::db::Db,
    facebook_page_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(received_at) FROM webhook_events WHERE page_id = $1")
        .bind(facebook_page_id)
        .fetch_one(db)
        .await
}
