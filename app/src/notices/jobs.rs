//! Durable jobs (`jobs` table): what must happen later, or again, whatever restarts in between.
//!
//! A job is claimed with a lease: the instance that claims it owns it until `lease_until`, renews
//! the lease while it works, and gives it back as done, or pending again at a later time. An
//! instance that dies simply stops renewing; once its lease runs out, any instance claims the job
//! again. The claim is one conditional `UPDATE`, so two instances on one PostgreSQL never hold
//! the same job at once (the loser's `UPDATE` re-reads the row and no longer matches).
//!
//! `unique_key` names the work (`notice:<id>`, `send:<page>`): there is at most one job per key,
//! so a Page has one sender in the whole cluster, which is what keeps Meta's per-Page rate.

use crate::db::{new_id, now_ms, Db};
use sqlx::{Any, Executor};

/// How long a claim lasts without renewal. A crashed instance's work resumes after this.
pub const LEASE_MS: i64 = 10_000;

crate::word_enum! {
    /// What a job does (`jobs.kind`).
    pub enum JobKind("job kind") {
        /// Fans a notice out when it is due (payload: its `notice_id`).
        Notice = "notice",
        /// Sends a Page's queue of notice messages.
        Send = "send",
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    /// A `JobKind`, read as text: a kind this build does not know fails that job (with the
    /// word in its `last_error`) instead of every claim.
    pub kind: String,
    pub unique_key: String,
    pub payload: String,
    pub attempts: i64,
}

/// Both `schedule` and `arm` insert the same row; they differ in what an existing job becomes.
const INSERT: &str =
    "INSERT INTO jobs (id, kind, unique_key, payload, run_at, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
     ON CONFLICT (unique_key) DO UPDATE SET ";

async fn upsert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    on_conflict: &str,
    kind: JobKind,
    unique_key: &str,
    payload: &str,
    run_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("{INSERT}{on_conflict}"))
        .bind(new_id())
        .bind(kind.as_str())
        .bind(unique_key)
        .bind(payload)
        .bind(run_at)
        .bind(now_ms())
        .execute(ex)
        .await?;
    Ok(())
}

/// Schedules the job at `run_at`, or moves it there if it has not run yet. A cancelled job comes
/// back; one that ran (done, or running now) is left alone: rescheduling an end notice that went
/// out must not send it twice.
pub async fn schedule<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    kind: JobKind,
    unique_key: &str,
    payload: &str,
    run_at: i64,
) -> Result<(), sqlx::Error> {
    upsert(
        ex,
        "run_at = CASE WHEN jobs.status IN ('pending', 'cancelled') THEN excluded.run_at ELSE jobs.run_at END,
         status = CASE WHEN jobs.status = 'cancelled' THEN 'pending' ELSE jobs.status END,
         payload = excluded.payload, updated_at = excluded.updated_at",
        kind,
        unique_key,
        payload,
        run_at,
    )
    .await
}

/// Makes sure the job runs (again) no later than `run_at`, whatever state it is in. A running job
/// is asked to go round once more when it finishes (`wake`), so work queued while it was
/// finishing is never stranded.
pub async fn arm<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    kind: JobKind,
    unique_key: &str,
    payload: &str,
    run_at: i64,
) -> Result<(), sqlx::Error> {
    upsert(
        ex,
        "wake = CASE WHEN jobs.status = 'running' THEN 1 ELSE jobs.wake END,
         run_at = CASE WHEN jobs.status = 'running' THEN jobs.run_at
                       WHEN jobs.status = 'pending' AND jobs.run_at < excluded.run_at THEN jobs.run_at
                       ELSE excluded.run_at END,
         attempts = CASE WHEN jobs.status = 'running' THEN jobs.attempts ELSE 0 END,
         status = CASE WHEN jobs.status = 'running' THEN 'running' ELSE 'pending' END,
         updated_at = excluded.updated_at",
        kind,
        unique_key,
        payload,
        run_at,
    )
    .await
}

/// Cancels the job if it has not started. Returns whether it did.
pub async fn cancel<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    unique_key: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'cancelled', updated_at = $1
         WHERE unique_key = $2 AND status = 'pending'",
    )
    .bind(now_ms())
    .bind(unique_key)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Claims the most overdue job: a pending one whose time has come, or a running one whose
/// holder stopped renewing its lease.
pub async fn claim(db: &Db, owner: &str) -> Result<Option<Job>, sqlx::Error> {
    let now = now_ms();
    sqlx::query_as(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2,
                attempts = attempts + 1, updated_at = $3
         WHERE id = (SELECT id FROM jobs
                     WHERE (status = 'pending' AND run_at <= $3)
                        OR (status = 'running' AND lease_until < $3)
                     ORDER BY run_at LIMIT 1)
           AND ((status = 'pending' AND run_at <= $3) OR (status = 'running' AND lease_until < $3))
         RETURNING id, kind, unique_key, payload, attempts",
    )
    .bind(owner)
    .bind(now + LEASE_MS)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Extends the lease; `false` when another instance took the job over (stop working on it).
pub async fn renew(db: &Db, job: &Job, owner: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = $1, updated_at = $2
         WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
    )
    .bind(now + LEASE_MS)
    .bind(now)
    .bind(&job.id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The job did its work. If it was woken meanwhile, it is due again at once.
pub async fn finish(db: &Db, job: &Job, owner: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET status = CASE WHEN wake = 1 THEN 'pending' ELSE 'done' END,
                run_at = $1, wake = 0, attempts = 0, lease_owner = NULL, lease_until = NULL,
                last_error = NULL, updated_at = $1
         WHERE id = $2 AND lease_owner = $3",
    )
    .bind(now)
    .bind(&job.id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the job back, due again at `run_at` (sooner if it was woken meanwhile).
pub async fn later(
    db: &Db,
    job: &Job,
    owner: &str,
    run_at: i64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET status = 'pending', run_at = CASE WHEN wake = 1 THEN $1 ELSE $2 END,
                wake = 0, lease_owner = NULL, lease_until = NULL, last_error = $3, updated_at = $1
         WHERE id = $4 AND lease_owner = $5",
    )
    .bind(now)
    .bind(run_at)
    .bind(error)
    .bind(&job.id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// A job nobody knows how to run: kept, with the reason, instead of retried forever.
pub async fn fail(db: &Db, job: &Job, owner: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_until = NULL, last_error = $1,
                updated_at = $2
         WHERE id = $3 AND lease_owner = $4",
    )
    .bind(error)
    .bind(now_ms())
    .bind(&job.id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}
