//! Notices: what every subscriber of a campaign hears when it ends, or when an admin tells them
//! about a change. `schedule` decides when (in the campaign's own transactions), `jobs` keeps the
//! promise across restarts and instances, `fanout` queues one message per subscriber, `sender`
//! sends a Page's queue at Meta's pace through the send policy, `templates` keeps each Page's
//! utility template, and `stats` shows the admin what happened.

#[cfg(feature = "ssr")]
pub mod fanout;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod pacing;
pub mod panel;
#[cfg(feature = "ssr")]
pub mod schedule;
#[cfg(feature = "ssr")]
pub mod sender;
#[cfg(feature = "ssr")]
pub mod stats;
#[cfg(feature = "ssr")]
pub mod templates;
#[cfg(feature = "ssr")]
pub mod winner_messages;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

crate::word_enum! {
    /// `notices.kind`: also the kind of the messages it queues (`outgoing_messages.kind`).
    pub enum NoticeKind("notice kind") {
        /// When the campaign ends.
        End = "end_notice",
        /// An admin's "notify subscribers of this change".
        Update = "update_notice",
        /// Each winner's own message (`winner_messages`): their prize, with a way to claim it.
        Winner = "winner_notice",
    }
}

crate::word_enum! {
    /// `notices.status`.
    pub enum NoticeStatus("notice status") {
        /// Due at `send_at`.
        Scheduled = "scheduled",
        /// Fanned out: its messages are queued (it "went").
        Sending = "sending",
        /// Its campaign stopped being published before it went.
        Cancelled = "cancelled",
    }
}

/// Where messages stand. `sent` counts everything Meta accepted (delivered and read included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub not_sent: i64,
}

impl Counts {
    pub fn total(&self) -> i64 {
        self.queued + self.sent + self.failed + self.not_sent
    }

    /// Share of messages settled (sent, failed or not sent), in percent.
    pub fn percent_done(&self) -> i64 {
        let total = self.total();
        if total == 0 {
            100
        } else {
            (total - self.queued) * 100 / total
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeReport {
    pub id: String,
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub text: String,
    pub send_at: i64,
    pub started_at: Option<i64>,
    pub recipients: i64,
    pub counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReasonCount {
    pub status: crate::messenger::MessageStatus,
    pub reason: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Recipient {
    pub first_name: Option<String>,
    pub psid: String,
    pub kind: String,
    pub status: crate::messenger::MessageStatus,
    pub path: Option<String>,
    pub reason: Option<String>,
    pub updated_at: i64,
}

/// Whose messages a figure counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Campaign(String),
    /// A Page's row id.
    Page(String),
}

/// Narrows the figures: one notice, one figure (`queued`, `sent`, `delivered`, `read`,
/// `failed`, `not_sent`), one failure reason, one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub notice_id: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub day: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    pub notices: Vec<NoticeReport>,
    pub days: Vec<DayCounts>,
    pub reasons: Vec<ReasonCount>,
}

/// Checks that the admin may see this scope; answers it with Page ids resolved to rows.
#[cfg(feature = "ssr")]
async fn authorize(scope: Scope) -> Result<(crate::state::AppState, Scope), AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    // Every function here reads entrants or messages them: rights are asked of Facebook now.
    match &scope {
        Scope::Campaign(id) => crate::admins::rights::confirm_campaign(&state, &admin, id).await?,
        Scope::Page(id) => crate::admins::rights::confirm_page(&state, &admin, id).await?,
    }
    let allowed = match &scope {
        Scope::Campaign(id) => crate::campaigns::store::find_for_admin(&state.db, &admin.id, id)
            .await?
            .map(|_| scope.clone()),
        Scope::Page(facebook_page_id) => {
            crate::pages::store::find_for_admin(&state.db, &admin.id, facebook_page_id)
                .await?
                .map(|p| Scope::Page(p.id.0))
        }
    };
    match allowed {
        Some(scope) => Ok((state, scope)),
        None => Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not manage this campaign or Page.",
        )),
    }
}

/// Notices (for a campaign), figures per day for the last 7 days, and failure reasons. A Page
/// scope names the Page by its Facebook id.
#[server(endpoint = "notice_statistics", input = leptos::server_fn::codec::Json)]
pub async fn notice_statistics(scope: Scope, filter: Filter) -> Result<Statistics, AppError> {
    let (state, scope) = authorize(scope).await?;
    let notices = match &scope {
        Scope::Campaign(id) => stats::notices(&state.db, id).await?,
        Scope::Page(_) => Vec::new(),
    };
    let days = stats::days(&state.db, &scope, &filter).await?;
    let reasons = stats::reasons(&state.db, &scope, &filter).await?;
    Ok(Statistics {
        notices,
        days,
        reasons,
    })
}

/// The people behind a figure (the 200 most recent).
#[server(endpoint = "notice_recipients", input = leptos::server_fn::codec::Json)]
pub async fn notice_recipients(scope: Scope, filter: Filter) -> Result<Vec<Recipient>, AppError> {
    let (state, scope) = authorize(scope).await?;
    stats::recipients(&state.db, &scope, &filter)
        .await
        .map_err(AppError::internal)
}

/// "Notify subscribers of this change": an update notice to everyone entered in a live campaign.
#[server(endpoint = "notify_subscribers")]
pub async fn notify_subscribers(campaign_id: String, text: String) -> Result<String, AppError> {
    use crate::campaigns::Lifecycle;
    let (state, _) = authorize(Scope::Campaign(campaign_id.clone())).await?;
    let text = text.trim().to_string();
    if let Err(problem) = check_text(&text) {
        return Err(AppError::refused(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            &problem,
        ));
    }
    let campaign = crate::campaigns::store::find_published_by_id(&state.db, &campaign_id).await?;
    if campaign.is_none_or(|c| c.lifecycle(crate::db::now_ms()) != Lifecycle::Live) {
        return Err(AppError::refused(
            http::StatusCode::CONFLICT,
            "Only a live campaign's subscribers can be notified of a change.",
        ));
    }
    let mut tx = state.db.begin().await?;
    let id = schedule::update_notice(&mut tx, &campaign_id, &text).await?;
    tx.commit().await?;
    state.jobs.notify_one();
    Ok(id)
}

/// "Send the not-sent ones again": once the admin fixed what kept notices from going (granted
/// the permission, got the template approved, reconnected the Page), every notice message of the
/// campaign that ended as not sent goes back in the queue, with a fresh wait limit. People who
/// blocked the Page stay out. Answers how many were queued again.
#[server(endpoint = "resend_not_sent")]
pub async fn resend_not_sent(campaign_id: String) -> Result<i64, AppError> {
    let (state, _) = authorize(Scope::Campaign(campaign_id.clone())).await?;
    let now = crate::db::now_ms();
    let mut tx = state.db.begin().await?;
    let pages =
        crate::messenger::outbox::requeue_not_sent_notices(&mut *tx, &campaign_id, now).await?;
    let mut distinct = pages.clone();
    distinct.sort();
    distinct.dedup();
    for page in &distinct {
        sender::arm(&mut *tx, page).await?;
    }
    tx.commit().await?;
    state.jobs.notify_one();
    Ok(pages.len() as i64)
}

/// The text of an update notice: what Messenger accepts in one message.
pub fn check_text(text: &str) -> Result<(), String> {
    let max = crate::messenger::limits::TEXT_MAX;
    if text.trim().is_empty() {
        Err("Write what changed.".into())
    } else if text.chars().count() > max {
        Err(format!("At most {max} characters (Messenger's limit)."))
    } else {
        Ok(())
    }
}

/// Runs every job that is due now, one after the other, until none is left; returns how many
/// ran. Tests call this instead of waiting for the background worker.
#[cfg(feature = "ssr")]
pub async fn run_once(state: &crate::state::AppState) -> Result<usize, sqlx::Error> {
    let mut ran = 0;
    while let Some(job) = jobs::claim(&state.db, &state.instance_id).await? {
        run_job(state, job).await;
        ran += 1;
    }
    Ok(ran)
}

/// This instance's share of the jobs: claims whatever is due (a campaign that ended while the
/// server was down is due at once), runs each in its own task (Pages in parallel), and looks
/// again every second or when woken.
#[cfg(feature = "ssr")]
pub async fn worker(state: crate::state::AppState) {
    use std::time::Duration;
    // Dropped with the worker at shutdown: running jobs stop, and their leases lapse.
    let mut running = tokio::task::JoinSet::new();
    loop {
        loop {
            match jobs::claim(&state.db, &state.instance_id).await {
                Ok(Some(job)) => {
                    let state = state.clone();
                    running.spawn(async move { run_job(&state, job).await });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "jobs could not be claimed");
                    break;
                }
            }
        }
        while running.try_join_next().is_some() {}
        tokio::select! {
            _ = state.jobs.notified() => {},
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
        }
    }
}

#[cfg(feature = "ssr")]
async fn run_job(state: &crate::state::AppState, job: jobs::Job) {
    let owner = &state.instance_id;
    let done = match job.kind.parse::<jobs::JobKind>() {
        Ok(jobs::JobKind::Notice) => {
            let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
            match payload["notice_id"].as_str() {
                Some(id) => match fanout::start(state, id).await {
                    Ok(None) => jobs::finish(&state.db, &job, owner).await,
                    // Not due yet (its campaign was extended meanwhile): back at its time.
                    Ok(Some(at)) => jobs::later(&state.db, &job, owner, at, None).await,
                    Err(e) => Err(e),
                },
                None => jobs::fail(&state.db, &job, owner, "no notice_id in the payload").await,
            }
        }
        Ok(jobs::JobKind::Send) => sender::run(state, &job, owner).await,
        Err(unknown) => {
            let why = unknown.to_string();
            jobs::fail(&state.db, &job, owner, &why).await
        }
    };
    if let Err(e) = done {
        // The database failed under us: try again shortly, with the reason kept on the job.
        tracing::warn!(error = %e, job = %job.unique_key, "job failed; retrying in 5 s");
        let at = crate::db::now_ms() + 5_000;
        let why = e.to_string();
        if let Err(e) = jobs::later(&state.db, &job, owner, at, Some(&why)).await {
            tracing::warn!(error = %e, job = %job.unique_key, "job left to its lease");
        }
    }
}
