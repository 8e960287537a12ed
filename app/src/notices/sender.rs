//! The sender of one Page: takes that Page's queued notice messages a batch at a time, asks the
//! send policy how each may go, sends it at Meta's pace, and records what happened. Errors are
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

use super::{jobs, pacing::Pacer, templates, NoticeKind};
use crate::campaigns::rules::fill;
use crate::db::{now_ms, Db};
use crate::messenger::{
    graph::{ErrorClass, GraphError, SendRequest},
    outbox,
    policy::{self, Decision, NoticePath, Path, Purpose, Situation, TemplateState, NOTICE_TAG},
};
use crate::pages::{FacebookPageId, PageRowId, PausedKind, TokenStatus};
use crate::secrets::Secret;
use crate::state::AppState;
use crate::stored::Flag;
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
/// go twice after a crash (only a message whose call was under way can).
const BATCH: i64 = 64;
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

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: NoticeKind,
    attempts: i64,
    created_at: i64,
    subscriber_id: String,
    psid: String,
    first_name: Option<String>,
    last_interaction_at: i64,
    unreachable_at: Option<i64>,
    text: String,
    title: String,
    prize: String,
    notice_path: crate::campaigns::NoticePath,
    #[sqlx(try_from = "Flag")]
    tag_fallback: bool,
}

/// Why a run stops the Page's sends until someone acts.
enum Pause {
    /// The token stopped working (190): reconnecting resumes it.
    Token { reason: String, status: TokenStatus },
    /// A Page-level problem at Meta (policy block, permission or configuration): the admin
    /// resumes it once fixed.
    Page { reason: String },
}

impl Pause {
    fn reason(&self) -> &str {
        match self {
            Pause::Token { reason, .. } | Pause::Page { reason } => reason,
        }
    }
}

struct Page {
    row_id: PageRowId,
    facebook_page_id: FacebookPageId,
    token: Secret,
}

/// One run of a Page's sender, shared by the sends in flight.
struct Run {
    state: AppState,
    page: Page,
    pacer: Arc<Pacer>,
    template: Mutex<templates::Standing>,
    /// Meta refused the tag once in this run: the others skip it instead of asking again.
    tag_refused: AtomicBool,
    /// The template states notices were told to wait on in this run. A review webhook only frees
    /// queued messages, so one that changed the state while a message was claimed would leave
    /// that message waiting on a stale reason: the run looks again before it ends.
    waited_on: Mutex<Vec<(TemplateState, Option<String>)>>,
    /// Meta refuses every send of the Page: the run stops and the Page is paused.
    paused: Mutex<Option<Pause>>,
    recorder: Recorder,
}

pub async fn run(state: &AppState, job: &jobs::Job, owner: &str) -> Result<(), sqlx::Error> {
    let db = &state.db;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let Some(page_row_id) = payload["page_id"].as_str() else {
        return jobs::fail(db, job, owner, "no page_id in the payload").await;
    };
    // Whatever a previous holder had in flight when it died goes again.
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'queued'
         WHERE page_id = $1 AND status = 'sending' AND notice_id IS NOT NULL",
    )
    .bind(page_row_id)
    .execute(db)
    .await?;
    let Some(page) = sendable_page(state, page_row_id).await? else {
        // Paused, disabled or disconnected: its notices wait, and the sender is woken when the
        // Page is reconnected or enabled.
        return jobs::finish(db, job, owner).await;
    };
    let run = Arc::new(Run {
        state: state.clone(),
        pacer: state.pacers.for_page(page_row_id),
        template: Mutex::new(templates::standing(db, page_row_id).await?),
        tag_refused: AtomicBool::new(false),
        waited_on: Mutex::new(Vec::new()),
        paused: Mutex::new(None),
        recorder: Recorder::start(db.clone()),
        page,
    });
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
        // A template that cannot carry notices yet is made, or looked at again, when its time
        // comes (a backoff after Meta refused it), not at every batch.
        // Read again per batch: a review webhook or the admin may have changed it meanwhile.
        let mut standing = templates::standing(db, page_row_id).await?;
        let template_due = standing.state != TemplateState::Approved
            && standing.state != TemplateState::NoPermission
            && standing.next_try_at.is_none_or(|at| at <= now_ms());
        if template_due {
            standing = templates::ensure(
                state,
                page_row_id,
                &run.page.facebook_page_id,
                &run.page.token,
            )
            .await?;
        }
        *run.template.lock().expect("lock") = standing;
        let ids = claim_batch(db, page_row_id).await?;
        if ids.is_empty() {
            if !sends.is_empty() {
                // The last sends may put messages back (throttling): look again once they end.
                sends.drain(db).await?;
                continue;
            }
            let waited_on = std::mem::take(&mut *run.waited_on.lock().expect("lock"));
            if !waited_on.is_empty() {
                let now = templates::standing(db, page_row_id).await?;
                if waited_on
                    .iter()
                    .any(|(s, r)| (*s, r) != (now.state, &now.reason))
                {
                    // Decided on a state that changed meanwhile: decide them again.
                    templates::wake_waiting(db, page_row_id).await?;
                    continue;
                }
            }
            let next: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM outgoing_messages
                 WHERE page_id = $1 AND status = 'queued' AND notice_id IS NOT NULL",
            )
            .bind(page_row_id)
            .fetch_one(db)
            .await?;
            // Notices waiting for the template wake the Page when it is due to be tried again.
            let template_next = {
                let t = run.template.lock().expect("lock");
                (t.state != TemplateState::Approved)
                    .then_some(t.next_try_at)
                    .flatten()
            };
            return match (next, template_next) {
                (Some(at), Some(retry)) => jobs::later(db, job, owner, at.min(retry), None).await,
                (Some(at), None) => jobs::later(db, job, owner, at, None).await,
                (None, _) => jobs::finish(db, job, owner).await,
            };
        }
        let rows = load(db, &ids).await?;
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

/// The sends under way, each with its message. Each send settles its own message (sent,
/// failed, back in the queue); one that panicked or failed on the database left it claimed, and
/// it is put back here.
#[derive(Default)]
struct Sends {
    tasks: JoinSet<Result<(), sqlx::Error>>,
    messages: HashMap<tokio::task::Id, String>,
}

type Finished = Result<(tokio::task::Id, Result<(), sqlx::Error>), tokio::task::JoinError>;

impl Sends {
    fn spawn(
        &mut self,
        message_id: String,
        send: impl Future<Output = Result<(), sqlx::Error>> + Send + 'static,
    ) {
        let task = self.tasks.spawn(send);
        self.messages.insert(task.id(), message_id);
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn abort_all(&mut self) {
        self.tasks.abort_all();
        self.messages.clear();
    }

    /// Collects the sends that ended; the first database error among them.
    async fn settle_finished(&mut self, db: &Db) -> Result<(), sqlx::Error> {
        let mut failure = None;
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.settle(db, done, &mut failure).await?;
        }
        failure.map_or(Ok(()), Err)
    }

    /// Waits for every send under way; the first database error among them.
    async fn drain(&mut self, db: &Db) -> Result<(), sqlx::Error> {
        let mut failure = None;
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.settle(db, done, &mut failure).await?;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn settle(
        &mut self,
        db: &Db,
        done: Finished,
        failure: &mut Option<sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        let (task, settled) = match done {
            Ok((task, Ok(()))) => (task, true),
            Ok((task, Err(e))) => {
                failure.get_or_insert(e);
                (task, false)
            }
            Err(e) => {
                tracing::error!(error = %e, "a send panicked; its message goes back in the queue");
                (e.id(), false)
            }
        };
        match self.messages.remove(&task) {
            Some(message) if !settled => requeue_unsent(db, &[message]).await,
            _ => Ok(()),
        }
    }
}

impl Run {
    fn must_stop(&self) -> bool {
        self.paused.lock().expect("lock").is_some()
            || self.pacer.held_for().is_some_and(|d| d > SHORT_PAUSE)
    }

    async fn deliver(&self, row: Row) -> Result<(), sqlx::Error> {
        let db = &self.state.db;
        if self.must_stop() {
            return outbox::requeue(db, &row.id, None, None).await;
        }
        let purpose = match row.kind {
            NoticeKind::End => Purpose::EndNotice,
            NoticeKind::Update => Purpose::UpdateNotice,
        };
        let notice_path = match row.notice_path {
            crate::campaigns::NoticePath::Tag => NoticePath::Tag {
                fallback_to_utility: row.tag_fallback,
            },
            crate::campaigns::NoticePath::Automatic => NoticePath::Automatic,
        };
        let text = fill(
            &row.text,
            row.first_name.as_deref().unwrap_or(""),
            &row.title,
            &row.prize,
        );
        let mut window_refused = false;
        loop {
            let tag_refused = self.tag_refused.load(Ordering::Relaxed)
                && matches!(notice_path, NoticePath::Tag { .. });
            let note = tag_refused.then_some(TAG_RETIRED);
            let standing = self.template.lock().expect("lock").clone();
            let template = standing.state;
            let decision = policy::decide(&Situation {
                purpose,
                now: now_ms(),
                // Meta said the window is closed: believe it over our own record.
                last_interaction_at: if window_refused {
                    0
                } else {
                    row.last_interaction_at
                },
                unreachable: row.unreachable_at.is_some(),
                notice_path,
                template,
                tag_refused,
            });
            let path = match decision {
                Decision::Send(path) => path,
                Decision::Hold(reason) if tag_refused => {
                    return outbox::mark_failed_as(db, &row.id, Some(100), None, &reason).await
                }
                Decision::Hold(reason) => return outbox::mark_not_sent(db, &row.id, &reason).await,
                Decision::Wait(_) => {
                    // Meta's words, when it refused something, are part of the reason.
                    let reason = standing.waiting_reason();
                    let reason = note.map_or(reason.clone(), |n| format!("{n}; {reason}"));
                    // No message waits forever: past the limit it ends with the reason, and the
                    // admin can send the not-sent ones again once it is fixed.
                    let expires = row.created_at + self.state.settings.sending.wait_limit_ms;
                    if now_ms() >= expires {
                        return outbox::mark_not_sent(db, &row.id, &reason).await;
                    }
                    // It waits until the template becomes usable (which frees it at once) or
                    // until it expires.
                    outbox::requeue(db, &row.id, Some(&reason), Some(expires)).await?;
                    // Which state it waited on: a change while it was claimed is caught when
                    // the run ends (see `pump`).
                    let waited_on = (standing.state, standing.reason);
                    let mut seen = self.waited_on.lock().expect("lock");
                    if !seen.contains(&waited_on) {
                        seen.push(waited_on);
                    }
                    return Ok(());
                }
            };
            let request = match path {
                Path::Response => SendRequest::text(&row.psid, &text),
                Path::Update => SendRequest::update(&row.psid, &text),
                Path::Tag => SendRequest::tagged(&row.psid, &text, NOTICE_TAG),
                Path::Utility => templates::request(&row.psid, &row.title, &text),
            };
            self.pacer.ready().await;
            if self.paused.lock().expect("lock").is_some() {
                // The Page was paused while this send waited its turn: it would only fail the
                // same way, one more call per message in flight.
                return outbox::requeue(db, &row.id, None, None).await;
            }
            let started = now_ms();
            let answer = self
                .state
                .graph
                .send(&self.page.facebook_page_id, &self.page.token, &request)
                .await;
            let error = match answer {
                Ok((sent, usage)) => {
                    self.pacer.succeeded();
                    self.pacer.observe(&usage);
                    let sent = Sent {
                        id: row.id.clone(),
                        message_id: sent.message_id,
                        sent_at: started,
                        path: path.as_str(),
                        note,
                    };
                    return self.recorder.record(sent).await;
                }
                Err(e) => e,
            };
            if let Some(usage) = error.usage() {
                self.pacer.observe(usage);
            }
            match error.class() {
                ErrorClass::Transient => return self.retry_or_fail(&row, &error).await,
                ErrorClass::Throttled => {
                    self.pacer.throttled(error.usage());
                    let reason = error.reason();
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::OutsideWindow
                    if matches!(path, Path::Response | Path::Update) && !window_refused =>
                {
                    window_refused = true;
                }
                ErrorClass::InvalidParameter if path == Path::Tag => {
                    tracing::info!(page = %self.page.facebook_page_id, "Meta refused the notice tag");
                    self.tag_refused.store(true, Ordering::Relaxed);
                }
                ErrorClass::TokenInvalid => {
                    let status = token_status(&error);
                    let reason = error.reason();
                    self.pause(Pause::Token {
                        reason: reason.clone(),
                        status,
                    });
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                class if class.pauses_page() => {
                    // Not this message's fault: it goes again once the Page is resumed.
                    let reason = error.reason();
                    self.pause(Pause::Page {
                        reason: reason.clone(),
                    });
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::PageRestricted => {
                    self.pacer.restricted();
                    let reason = error.reason();
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::Unreachable => {
                    crate::entries::store::mark_unreachable(
                        db,
                        &row.subscriber_id,
                        &error.reason(),
                    )
                    .await?;
                    return outbox::mark_failed(db, &row.id, &error).await;
                }
                _ => return outbox::mark_failed(db, &row.id, &error).await,
            }
        }
    }

    /// The first reason to pause stays: the sends under way that fail the same way add nothing.
    fn pause(&self, pause: Pause) {
        self.paused.lock().expect("lock").get_or_insert(pause);
    }

    async fn retry_or_fail(&self, row: &Row, error: &GraphError) -> Result<(), sqlx::Error> {
        let db = &self.state.db;
        let sending = &self.state.settings.sending;
        let tries = row.attempts + 1;
        if tries >= sending.max_attempts {
            let reason = format!("{} (gave up after {tries} tries)", error.reason());
            let api = error.api();
            let (code, sub) = (api.map(|e| e.code), api.and_then(|e| e.error_subcode));
            return outbox::mark_failed_as(db, &row.id, code, sub, &reason).await;
        }
        // Exponential backoff with full jitter between half and all of the step.
        let step = sending.retry_base_ms.saturating_mul(1 << tries.min(16)) as f64;
        let delay = step * (0.5 + rand::random::<f64>() * 0.5);
        outbox::retry(db, &row.id, error, now_ms() + delay as i64).await
    }
}

/// A message Meta accepted, to record as sent.
struct Sent {
    id: String,
    message_id: String,
    sent_at: i64,
    path: &'static str,
    note: Option<&'static str>,
}

type Ack = tokio::sync::oneshot::Sender<Result<(), sqlx::Error>>;

/// Records sent messages together: one transaction for every send that finished while the last
/// one committed, instead of a commit per message (at 300 a second per Page, commits were what
/// the database spent its time on). A send waits for its record to be committed and keeps its
/// place among the sends in flight meanwhile, so what can go twice after a crash stays bounded by
/// the sends in flight.
struct Recorder {
    queue: tokio::sync::mpsc::UnboundedSender<(Sent, Ack)>,
}

impl Recorder {
    /// The recording task ends with the run (when the last send lets go of it).
    fn start(db: Db) -> Recorder {
        let (queue, mut waiting) = tokio::sync::mpsc::unbounded_channel::<(Sent, Ack)>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH as usize {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let result = Self::commit(&db, &batch).await;
                for (_, ack) in batch {
                    let _ = ack.send(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(sqlx::Error::Protocol(format!("recording sends: {e}"))),
                    });
                }
            }
        });
        Recorder { queue }
    }

    async fn commit(db: &Db, batch: &[(Sent, Ack)]) -> Result<(), sqlx::Error> {
        // Every statement writes: SQLite takes the write lock at the first one, no read before.
        let mut tx = db.begin().await?;
        for (sent, _) in batch {
            let (id, mid) = (&sent.id, &sent.message_id);
            outbox::mark_sent(&mut *tx, id, mid, sent.sent_at, sent.path, sent.note).await?;
        }
        tx.commit().await?;
        // Meta's receipts may have come in while the answers were on their way.
        let ids: Vec<&str> = batch.iter().map(|(sent, _)| sent.id.as_str()).collect();
        // The sends are recorded either way; a receipt missed here is applied by the next
        // receipt for that person.
        if let Err(e) = outbox::catch_up(db, &ids).await {
            tracing::warn!(error = %e, "receipts not caught up after recording sends");
        }
        Ok(())
    }

    async fn record(&self, sent: Sent) -> Result<(), sqlx::Error> {
        let (ack, committed) = tokio::sync::oneshot::channel();
        if self.queue.send((sent, ack)).is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        committed.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

/// 463 means expired; the other 190 subcodes mean the token was invalidated.
fn token_status(error: &GraphError) -> TokenStatus {
    match error.api().and_then(|e| e.error_subcode) {
        Some(463) => TokenStatus::Expired,
        _ => TokenStatus::Revoked,
    }
}

/// Whether a Page may send at all.
#[derive(sqlx::FromRow)]
struct PageSwitches {
    facebook_page_id: FacebookPageId,
    #[sqlx(try_from = "Flag")]
    enabled: bool,
    paused_reason: Option<String>,
}

async fn sendable_page(state: &AppState, page_row_id: &str) -> Result<Option<Page>, sqlx::Error> {
    let page: Option<PageSwitches> =
        sqlx::query_as("SELECT facebook_page_id, enabled, paused_reason FROM pages WHERE id = $1")
            .bind(page_row_id)
            .fetch_optional(&state.db)
            .await?;
    let Some(PageSwitches {
        facebook_page_id,
        enabled,
        paused_reason,
    }) = page
    else {
        return Ok(None);
    };
    if !enabled || paused_reason.is_some() {
        return Ok(None);
    }
    let token =
        crate::pages::store::page_token(&state.db, &state.token_cipher, &facebook_page_id).await?;
    Ok(token.map(|token| Page {
        row_id: PageRowId::from(page_row_id),
        facebook_page_id,
        token,
    }))
}

async fn pause_page(db: &Db, page_row_id: &PageRowId, pause: &Pause) -> Result<(), sqlx::Error> {
    match pause {
        Pause::Token { reason, status } => {
            sqlx::query(
                "UPDATE pages SET paused_reason = $1, paused_kind = $5, token_status = $2,
                        token_checked_at = $3, updated_at = $3
                 WHERE id = $4",
            )
            .bind(reason)
            .bind(status.as_str())
            .bind(now_ms())
            .bind(page_row_id)
            .bind(PausedKind::Token.as_str())
            .execute(db)
            .await?;
            Ok(())
        }
        // The token works: its status stays, and a health check does not end this pause.
        Pause::Page { reason } => crate::pages::paused::pause(db, page_row_id, reason).await,
    }
}

async fn claim_batch(db: &Db, page_row_id: &str) -> Result<Vec<String>, sqlx::Error> {
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

async fn load(db: &Db, ids: &[String]) -> Result<Vec<Row>, sqlx::Error> {
    let sql = format!(
        "SELECT o.id, o.kind, o.attempts, o.created_at, s.id AS subscriber_id, s.psid, s.first_name,
                s.last_interaction_at, s.unreachable_at, n.text, c.title, c.prize, c.notice_path,
                c.tag_fallback
         FROM outgoing_messages o
         JOIN subscribers s ON s.id = o.subscriber_id
         JOIN notices n ON n.id = o.notice_id
         JOIN campaigns c ON c.id = n.campaign_id
         WHERE o.id IN ({}) ORDER BY o.id",
        crate::db::placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(db).await
}

async fn requeue_unsent(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
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
