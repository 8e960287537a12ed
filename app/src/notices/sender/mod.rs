//! The sender of one Page: takes that Page's queued notice messages a batch at a time, asks the
//! send policy how each may go, sends it at Meta's pace (gathered into Graph batch requests,
//! `batches`), and records what happened. Errors are
//! handled by class (facts file §4):
//!
//! | class | outcome |
//! |---|---|
//! | temporary (code 2, 1200, `is_transient`, HTTP 5xx, network) | retried with exponential backoff and jitter, up to `SEND_MAX_ATTEMPTS`, then failed with Meta's words |
//! | throttled (4, 17, 32, 613, 80001, 80006) | back in the queue; the Page pauses, longer each time |
//! | outside the window (10 / 2018278) on a normal message | decided again as outside the window |
//! | retired tag (100 on the tag path) | "tag retired by Meta"; the utility template if the campaign allows it |
//! | unreachable (551, 1545041) | failed; the subscriber is skipped from then on |
//! | token invalid (190) | back in the queue; the Page is paused as "reconnect", and resumes when reconnected |
//! | Page-level: policy block (368), permission or configuration (1, 99 without subcode; 10, 200, 230 without a known subcode; 200 / 2018028), tag abuse (613 / 2018338) | back in the queue; the sends under way end, the Page is paused with Meta's words (`pages::paused`), and nothing more goes until an admin resumes it or reconnects the Page |
//! | Page restricted (10 / 1893063) | back in the queue; the Page waits 10 minutes (300 retry steps) |
//! | anything else | failed with Meta's reason |
//!
//! A message is claimed (`queued` -> `sending`) before its call and settled after it. After a
//! crash, the next holder of the Page's job puts `sending` messages back in the queue: those, and
//! only those, can go twice.

mod batches;
mod deliver;
mod page;
mod queue;
mod recorder;
mod sends;

use super::{jobs, pacing::Pacer, templates, NoticeKind};
use crate::campaigns::rules::fill;
use crate::db::{now_ms, Db};
use crate::messenger::{
    graph::{ErrorClass, GraphError, SendRequest},
    outbox,
    policy::{self, Decision, NoticePath, Path, Purpose, Situation, TemplateState, NOTICE_TAG},
};
use crate::pages::{FacebookPageId, PageRowId, TokenStatus};
use crate::secrets::Secret;
use crate::state::AppState;
use crate::stored::Flag;
use batches::*;
use page::*;
use queue::*;
use recorder::*;
use sends::*;
use sqlx::{Any, Executor};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex,
};
use std::time::{Duration, Instant};
use tokio::{sync::Semaphore, task::JoinSet};

/// Messages claimed at once. Sends in flight never outnumber it either, so it bounds what can
/// go twice after a crash (only a message whose call was under way can; `SEND_CONCURRENCY`, 64 by
/// default, bounds it first). Twice the sends in flight: each batch costs the pump a round of
/// statements (the template's standing, the claim, the batch's rows); with the rounds of 100 ms
/// (`recorder`) it cut the fan-out's CPU a message by about a tenth (README, 2026-11-29).
const BATCH: i64 = 128;

/// Pauses up to this long are waited out holding the job; longer ones give it back.
const SHORT_PAUSE: Duration = Duration::from_secs(3);

pub const TAG_RETIRED: &str = "tag retired by Meta";

pub fn job_key(page_row_id: &str) -> String {
    format!("send:{page_row_id}")
}

/// Makes sure the Page's sender runs soon (new notice, template approved, Page reconnected).
pub async fn arm<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    page_row_id: &str,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::json!({ "page_id": page_row_id }).to_string();
    jobs::arm(
        ex,
        jobs::JobKind::Send,
        &job_key(page_row_id),
        &payload,
        now_ms(),
    )
    .await
}

/// One run of a Page's sender, shared by the sends in flight.
struct Run {
    state: AppState,
    page: Page,
    pacer: Arc<Pacer>,
    template: Mutex<templates::Standing>,
    /// The results template (winners' messages outside the window), read when a batch holds one.
    results_template: Mutex<templates::Standing>,
    /// Meta refused the tag once in this run: the others skip it instead of asking again.
    tag_refused: AtomicBool,
    /// The template states notices were told to wait on in this run. A review webhook only frees
    /// queued messages, so one that changed the state while a message was claimed would leave
    /// that message waiting on a stale reason: the run looks again before it ends.
    waited_on: Mutex<Vec<(templates::Template, TemplateState, Option<String>)>>,
    /// Meta refuses every send of the Page: the run stops and the Page is paused.
    paused: Mutex<Option<Pause>>,
    recorder: Recorder,
    batches: Batches,
}

pub async fn run(state: &AppState, job: &jobs::Job, owner: &str) -> Result<(), sqlx::Error> {
    let db = &state.db;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let Some(page_row_id) = payload["page_id"].as_str() else {
        return jobs::fail(db, job, owner, "no page_id in the payload").await;
    };
    // Whatever a previous holder had in flight when it died goes again.
    outbox::requeue_in_flight_notices(db, page_row_id).await?;
    let Some(page) = sendable_page(state, page_row_id).await? else {
        // Paused, disabled or disconnected: its notices wait, and the sender is woken when the
        // Page is reconnected or enabled.
        return jobs::finish(db, job, owner).await;
    };
    let (batches, queue) = Batches::channel();
    let run = Arc::new(Run {
        state: state.clone(),
        pacer: state.pacers.for_page(page_row_id),
        template: Mutex::new(templates::standing(db, page_row_id).await?),
        results_template: Mutex::new(
            templates::standing_of(db, page_row_id, &templates::RESULTS).await?,
        ),
        tag_refused: AtomicBool::new(false),
        waited_on: Mutex::new(Vec::new()),
        paused: Mutex::new(None),
        recorder: Recorder::start(db.clone()),
        page,
        batches,
    });
    Batches::start(&run, queue);
    let mut sends = Sends::default();
    let outcome = pump(state, job, owner, page_row_id, &run, &mut sends).await;
    if outcome.is_err() {
        // The sends under way still end and record what Meta accepted: dropped half-way, they
        // would go again with the next run.
        if let Err(e) = sends.drain(db).await {
            tracing::warn!(error = %e, page = %run.page.facebook_page_id, "sends not recorded");
        }
    }
    outcome
}

/// Sends the Page's queue until it is empty, or the Page must stop; every way out but an error
/// leaves no send under way.
async fn pump(
    state: &AppState,
    job: &jobs::Job,
    owner: &str,
    page_row_id: &str,
    run: &Arc<Run>,
    sends: &mut Sends,
) -> Result<(), sqlx::Error> {
    let db = &state.db;
    // Capped at a batch, as when each batch ended before the next: the crash bound holds.
    let in_flight = state.settings.sending.concurrency.min(BATCH as usize);
    let limit = Arc::new(Semaphore::new(in_flight));
    let mut renewed = Instant::now();
    // The next batch is claimed while the last one's sends are still in flight: the pace never
    // waits for the database between batches (waiting there cost a tenth of Meta's rate).
    loop {
        sends.settle_finished(db).await?;
        if renewed.elapsed() > Duration::from_millis(jobs::LEASE_MS as u64 / 3) {
            if !jobs::renew(db, job, owner).await? {
                // Another instance holds the Page now: stop at once rather than send beside it.
                sends.abort_all();
                return Ok(());
            }
            renewed = Instant::now();
        }
        let stopping = run.paused.lock().expect("lock").is_some() || run.pacer.held_for().is_some();
        if stopping {
            // What is under way ends first: sends not yet made put their message back.
            sends.drain(db).await?;
            let paused = run.paused.lock().expect("lock").take();
            if let Some(pause) = paused {
                pause_page(db, &run.page.row_id, &pause).await?;
                let reason = pause.reason();
                tracing::warn!(page = %run.page.facebook_page_id, %reason, "Page paused");
                return jobs::finish(db, job, owner).await;
            }
            if let Some(pause) = run.pacer.held_for() {
                // Throttled: the job goes back until Meta lets the Page send again, so a Page
                // that stays throttled never holds a scheduler (nor a test's `run_once`).
                if pause > SHORT_PAUSE || run.pacer.is_throttled() {
                    let at = now_ms() + pause.as_millis() as i64;
                    return jobs::later(
                        db,
                        job,
                        owner,
                        at,
                        Some("Meta asked this Page to slow down"),
                    )
                    .await;
                }
                tokio::time::sleep(pause).await;
                continue;
            }
        }
        // Read again per batch: a review webhook or the admin may have changed it meanwhile.
        let standing = run.template_now(&templates::NOTICE).await?;
        *run.template.lock().expect("lock") = standing;
        let ids = claim_batch(db, page_row_id).await?;
        if ids.is_empty() {
            if !sends.is_empty() {
                // The last sends may put messages back (throttling): look again once they end.
                sends.drain(db).await?;
                continue;
            }
            let waited_on = std::mem::take(&mut *run.waited_on.lock().expect("lock"));
            let mut changed = false;
            for (template, state, reason) in &waited_on {
                let now = templates::standing_of(db, page_row_id, template).await?;
                changed |= (*state, reason) != (now.state, &now.reason);
            }
            if changed {
                // Decided on a state that changed meanwhile: decide them again.
                templates::wake_waiting(db, page_row_id).await?;
                continue;
            }
            let next = outbox::next_notice_attempt(db, page_row_id).await?;
            // Notices waiting for the template wake the Page when it is due to be tried again.
            let template_next = [&run.template, &run.results_template]
                .into_iter()
                .filter_map(|t| {
                    let t = t.lock().expect("lock");
                    (t.state != TemplateState::Approved)
                        .then_some(t.next_try_at)
                        .flatten()
                })
                .min();
            return match (next, template_next) {
                (Some(at), Some(retry)) => jobs::later(db, job, owner, at.min(retry), None).await,
                (Some(at), None) => jobs::later(db, job, owner, at, None).await,
                (None, _) => jobs::finish(db, job, owner).await,
            };
        }
        let rows = load(db, &ids).await?;
        if rows.iter().any(|r| r.kind == NoticeKind::Winner) {
            // The results template, made (or looked at again) only once a winner needs it.
            let results = run.template_now(&templates::RESULTS).await?;
            *run.results_template.lock().expect("lock") = results;
        }
        if rows.len() < ids.len() {
            // Claimed but without a notice or campaign any more (deleted meanwhile).
            let loaded: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            for id in ids.iter().filter(|id| !loaded.contains(&id.as_str())) {
                outbox::mark_not_sent(db, id, "the campaign no longer exists").await?;
            }
        }
        let mut unsent = Vec::new();
        for row in rows {
            if run.must_stop() {
                unsent.push(row.id);
                continue;
            }
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let run = run.clone();
            let id = row.id.clone();
            sends.spawn(id, async move {
                let _permit = permit;
                run.deliver(row).await
            });
        }
        // Claimed but not sent (the Page stopped): back in the queue.
        if !unsent.is_empty() {
            requeue_unsent(db, &unsent).await?;
        }
    }
}

impl Run {
    /// Where template `t` stands now. One that cannot carry messages yet is made, or looked at
    /// again, when its time comes (a backoff after Meta refused it), not at every batch.
    async fn template_now(
        &self,
        t: &templates::Template,
    ) -> Result<templates::Standing, sqlx::Error> {
        let (state, page) = (&self.state, &self.page);
        let standing = templates::standing_of(&state.db, &page.row_id, t).await?;
        let due = standing.state != TemplateState::Approved
            && standing.state != TemplateState::NoPermission
            && standing.next_try_at.is_none_or(|at| at <= now_ms());
        if !due {
            return Ok(standing);
        }
        templates::ensure_of(state, &page.row_id, &page.facebook_page_id, &page.token, t).await
    }
}

/// A Page was reconnected, enabled or resumed by its admin: its paused notices resume, and its
/// template is made sure of (creating it now saves the first notice the wait for Meta's review).
pub async fn page_resumed(state: &AppState, page_row_id: &str) -> Result<(), sqlx::Error> {
    if let Some(page) = sendable_page(state, page_row_id).await? {
        templates::try_now(&state.db, &page.row_id).await?;
        templates::ensure(state, &page.row_id, &page.facebook_page_id, &page.token).await?;
    }
    arm(&state.db, page_row_id).await?;
    state.jobs.notify_one();
    Ok(())
}
