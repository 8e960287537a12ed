//! The hooks and their deliveries: the only SQL that names `page_hooks` and `hook_deliveries`.
//! Every function an admin reaches takes the Page's row id and keeps to its hooks, so a hook id
//! from another Page finds nothing.

use super::{DeliveryStatus, DeliveryView, EventType, HookView};
use crate::db::{new_id, now_ms, Db};
use crate::pages::PageRowId;
use crate::secrets::{Secret, TokenCipher};

/// Associated data of a hook's sealed secret: a ciphertext copied onto another hook does not open.
fn aad(hook_id: &str) -> String {
    format!("hook:{hook_id}")
}

/// A fresh signing secret: 32 random bytes, hex, after a prefix that secret scanners can spot.
fn new_secret() -> Secret {
    Secret::new(format!(
        "gwhook_{}",
        hex::encode(rand::random::<[u8; 32]>())
    ))
}

fn events_text(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Adds a hook to the Page: its id and its secret (to show once).
pub async fn add_hook(
    db: &Db,
    cipher: &TokenCipher,
    page_row_id: &PageRowId,
    url: &str,
    events: &[EventType],
) -> Result<(String, Secret), sqlx::Error> {
    let id = new_id();
    let secret = new_secret();
    sqlx::query(
        "INSERT INTO page_hooks (id, page_id, url, secret_sealed, events, enabled, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6)",
    )
    .bind(&id)
    .bind(page_row_id)
    .bind(url)
    .bind(cipher.encrypt(&secret, &aad(&id)))
    .bind(events_text(events))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok((id, secret))
}

/// Gives one of the Page's hooks a new secret: its address and the secret, or `None` when the
/// Page has no such hook.
pub async fn rotate_secret(
    db: &Db,
    cipher: &TokenCipher,
    page_row_id: &PageRowId,
    hook_id: &str,
) -> Result<Option<(String, Secret)>, sqlx::Error> {
    let secret = new_secret();
    let url: Option<String> = sqlx::query_scalar(
        "UPDATE page_hooks SET secret_sealed = $1 WHERE id = $2 AND page_id = $3 RETURNING url",
    )
    .bind(cipher.encrypt(&secret, &aad(hook_id)))
    .bind(hook_id)
    .bind(page_row_id)
    .fetch_optional(db)
    .await?;
    Ok(url.map(|url| (url, secret)))
}

/// Removes one of the Page's hooks (its deliveries go with it). Whether there was one.
pub async fn remove_hook(
    db: &Db,
    page_row_id: &PageRowId,
    hook_id: &str,
) -> Result<bool, sqlx::Error> {
    // Its deliveries go with it (ON DELETE CASCADE; SQLite's foreign keys are on, `db`).
    let done = sqlx::query("DELETE FROM page_hooks WHERE id = $1 AND page_id = $2")
        .bind(hook_id)
        .bind(page_row_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

#[derive(sqlx::FromRow)]
struct HookRow {
    id: String,
    url: String,
    events: String,
    created_at: i64,
}

/// The Page's hooks, oldest first.
pub async fn hooks_of(db: &Db, page_row_id: &PageRowId) -> Result<Vec<HookView>, sqlx::Error> {
    let rows: Vec<HookRow> = sqlx::query_as(
        "SELECT id, url, events, created_at FROM page_hooks WHERE page_id = $1
         ORDER BY created_at, id",
    )
    .bind(page_row_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HookView {
            events: r.events.split(',').filter_map(|e| e.parse().ok()).collect(),
            id: r.id,
            url: r.url,
            created_at: r.created_at,
        })
        .collect())
}

/// Whether the Page has a hook that is on: most Pages have none, and then an event costs no write.
pub async fn has_hooks(db: &Db, page_row_id: &PageRowId) -> Result<bool, sqlx::Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM page_hooks WHERE page_id = $1 AND enabled = 1 LIMIT 1")
            .bind(page_row_id)
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    event_id: String,
    hook_url: String,
    event_type: EventType,
    status: DeliveryStatus,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    next_attempt_at: i64,
}

/// The Page's latest deliveries, newest first.
pub async fn recent_deliveries(
    db: &Db,
    page_row_id: &PageRowId,
    limit: i64,
) -> Result<Vec<DeliveryView>, sqlx::Error> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT d.event_id, h.url AS hook_url, d.event_type, d.status, d.attempts,
                d.last_status_code, d.last_error, d.created_at, d.next_attempt_at
         FROM hook_deliveries d JOIN page_hooks h ON h.id = d.hook_id
         WHERE h.page_id = $1
         ORDER BY d.created_at DESC, d.id DESC LIMIT $2",
    )
    .bind(page_row_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryView {
            next_attempt_at: (r.status == DeliveryStatus::Queued).then_some(r.next_attempt_at),
            event_id: r.event_id,
            hook_url: r.hook_url,
            event_type: r.event_type,
            status: r.status,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            created_at: r.created_at,
        })
        .collect())
}

/// One event, ready to queue: the same body for every hook it goes to.
pub struct NewEvent<'a> {
    pub event_id: &'a str,
    pub event_type: EventType,
    /// Once per hook: an event processed twice is queued once.
    pub dedupe_key: &'a str,
    pub payload: &'a str,
    /// The person it is about, for erasure.
    pub psid: Option<&'a str>,
}

/// Queues the event for every hook of the Page that is on and wants its type, in one statement.
/// How many deliveries were queued.
pub async fn enqueue(
    db: &Db,
    page_row_id: &PageRowId,
    event: &NewEvent<'_>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO hook_deliveries (id, hook_id, event_id, event_type, dedupe_key, payload, psid,
                                      status, attempts, next_attempt_at, created_at, updated_at)
         SELECT $1 || h.id, h.id, $1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6
         FROM page_hooks h
         WHERE h.page_id = $7 AND h.enabled = 1 AND (',' || h.events || ',') LIKE $8
         ON CONFLICT (hook_id, dedupe_key) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(event.event_type.as_str())
    .bind(event.dedupe_key)
    .bind(event.payload)
    .bind(event.psid)
    .bind(now_ms())
    .bind(page_row_id)
    .bind(format!("%,{},%", event.event_type.as_str()))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Queues the event for one hook of the Page, whatever it asked for (the admin's test event).
/// Whether the Page has that hook.
pub async fn enqueue_for_hook(
    db: &Db,
    page_row_id: &PageRowId,
    hook_id: &str,
    event: &NewEvent<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO hook_deliveries (id, hook_id, event_id, event_type, dedupe_key, payload, psid,
                                      status, attempts, next_attempt_at, created_at, updated_at)
         SELECT $1 || h.id, h.id, $1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6
         FROM page_hooks h WHERE h.id = $7 AND h.page_id = $8
         ON CONFLICT (hook_id, dedupe_key) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(event.event_type.as_str())
    .bind(event.dedupe_key)
    .bind(event.payload)
    .bind(event.psid)
    .bind(now_ms())
    .bind(hook_id)
    .bind(page_row_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A delivery this instance claimed, with its hook's address and sealed secret.
#[derive(sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub hook_id: String,
    pub event_id: String,
    pub event_type: EventType,
    pub payload: String,
    /// This try's number (from 1).
    pub attempts: i64,
}

/// Claims up to `limit` deliveries due at `now` for one try each: their next attempt moves to
/// `lease_until`, so another instance (or this one, after a crash) takes them only once the
/// lease is over. The guard is in the UPDATE itself: of two instances picking the same rows, the
/// second finds them no longer due and gets none of them.
pub async fn claim_due(
    db: &Db,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE hook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
         WHERE id IN (SELECT id FROM hook_deliveries
                      WHERE status = 'queued' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at LIMIT $3)
           AND status = 'queued' AND next_attempt_at <= $2
         RETURNING id, hook_id, event_id, event_type, payload, attempts",
    )
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Where a hook sends, and its secret (`None` when the hook was removed meanwhile).
pub async fn target(
    db: &Db,
    cipher: &TokenCipher,
    hook_id: &str,
) -> Result<Option<(String, Option<Secret>)>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT url, secret_sealed FROM page_hooks WHERE id = $1")
            .bind(hook_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(url, sealed)| {
        let secret = cipher.decrypt(&sealed, &aad(hook_id)).ok();
        (url, secret)
    }))
}

/// What became of one try.
pub struct Outcome<'a> {
    pub status: DeliveryStatus,
    /// The next try, while still queued.
    pub next_attempt_at: i64,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
}

/// Records a try's outcome, if the delivery is still the one this instance claimed (the same try,
/// still queued: a try whose lease ran out and was taken again is the later one's to record).
pub async fn record(
    db: &Db,
    claimed: &Claimed,
    outcome: &Outcome<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let delivered_at = (outcome.status == DeliveryStatus::Delivered).then_some(now);
    let done = sqlx::query(
        "UPDATE hook_deliveries
         SET status = $1, next_attempt_at = $2, last_status_code = $3, last_error = $4,
             delivered_at = $5, updated_at = $6
         WHERE id = $7 AND attempts = $8 AND status = 'queued'",
    )
    .bind(outcome.status.as_str())
    .bind(outcome.next_attempt_at)
    .bind(outcome.status_code)
    .bind(outcome.error)
    .bind(delivered_at)
    .bind(now)
    .bind(&claimed.id)
    .bind(claimed.attempts)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Erasure (issue #17, for the deletion of a person's data): the deliveries about the person
/// `psid` of the Page keep no payload (what they named: the PSID, a first name, a keyword) and
/// no PSID; those not sent yet are not sent. The rows stay, so the log's counts do not change.
/// How many deliveries were emptied.
pub async fn forget_subscriber(
    db: &Db,
    page_row_id: &PageRowId,
    psid: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE hook_deliveries
         SET payload = '', psid = NULL, updated_at = $1,
             status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END,
             last_error = CASE WHEN status = 'queued'
                               THEN 'not sent: the person asked for their data to be erased'
                               ELSE last_error END
         WHERE psid = $2 AND hook_id IN (SELECT id FROM page_hooks WHERE page_id = $3)",
    )
    .bind(now_ms())
    .bind(psid)
    .bind(page_row_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Retention: settled deliveries older than `before` keep no payload nor PSID (the log's lines
/// stay).
pub async fn purge(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE hook_deliveries SET payload = '', psid = NULL
         WHERE status <> 'queued' AND updated_at < $1 AND (payload <> '' OR psid IS NOT NULL)",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
