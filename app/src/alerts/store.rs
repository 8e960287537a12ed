//! `alerts` (what is wrong now, or was) and `alert_lease` (which instance runs the checks).

use super::{AlertKind, Raised};
use crate::db::Db;

/// An alert as stored.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Stored {
    pub key: String,
    pub kind: AlertKind,
    pub page_id: Option<String>,
    pub campaign_id: Option<String>,
    pub message: String,
    pub raised_at: i64,
    /// Tries of the alert webhook so far.
    pub notify_attempts: i64,
}

const STORED: &str =
    "SELECT key, kind, page_id, campaign_id, message, raised_at, notify_attempts FROM alerts";

/// Takes (or keeps) the checks for `holder` until `until`; false while another instance holds
/// them.
pub async fn take_lease(db: &Db, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE alert_lease SET holder = $1, until_ms = $2
         WHERE id = 1 AND (until_ms < $3 OR holder = $1)",
    )
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Raises an alert, or words an open one anew. A new one (or one raised again after it was
/// cleared) is due to be told to the alert webhook when `notify`. True when it is new.
pub async fn raise(db: &Db, alert: &Raised, now: i64, notify: bool) -> Result<bool, sqlx::Error> {
    let open: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT cleared_at FROM alerts WHERE key = $1")
            .bind(&alert.key)
            .fetch_optional(db)
            .await?;
    let notify_state = if notify { "due" } else { "none" };
    match open {
        None => {
            sqlx::query(
                "INSERT INTO alerts (key, kind, page_id, campaign_id, message, raised_at,
                                     notify_state, notify_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
            )
            .bind(&alert.key)
            .bind(alert.kind.as_str())
            .bind(&alert.page_id)
            .bind(&alert.campaign_id)
            .bind(&alert.message)
            .bind(now)
            .bind(notify_state)
            .execute(db)
            .await?;
            Ok(true)
        }
        Some((Some(_cleared),)) => {
            sqlx::query(
                "UPDATE alerts SET message = $2, raised_at = $3, cleared_at = NULL,
                                   notify_state = $4, notify_at = $3, notify_attempts = 0
                 WHERE key = $1",
            )
            .bind(&alert.key)
            .bind(&alert.message)
            .bind(now)
            .bind(notify_state)
            .execute(db)
            .await?;
            Ok(true)
        }
        Some((None,)) => {
            sqlx::query("UPDATE alerts SET message = $2 WHERE key = $1")
                .bind(&alert.key)
                .bind(&alert.message)
                .execute(db)
                .await?;
            Ok(false)
        }
    }
}

/// Clears the open alerts `keys`, in one statement.
pub async fn clear(db: &Db, keys: &[String], now: i64) -> Result<u64, sqlx::Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE alerts SET cleared_at = $1 WHERE cleared_at IS NULL AND key IN ({})",
        crate::db::placeholders(2, keys.len())
    );
    let mut query = sqlx::query(&sql).bind(now);
    for key in keys {
        query = query.bind(key);
    }
    Ok(query.execute(db).await?.rows_affected())
}

pub async fn open_keys(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT key FROM alerts WHERE cleared_at IS NULL")
        .fetch_all(db)
        .await
}

/// Every open alert, oldest first.
pub async fn open(db: &Db) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{STORED} WHERE cleared_at IS NULL ORDER BY raised_at, key"
    ))
    .fetch_all(db)
    .await
}

/// Alerts due to be told to the alert webhook now.
pub async fn due(db: &Db, now: i64) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{STORED} WHERE notify_state = 'due' AND notify_at <= $1 ORDER BY raised_at"
    ))
    .bind(now)
    .fetch_all(db)
    .await
}

/// The alert webhook took it (`next` None), or failed: tried again at `next`, or given up
/// (`gave_up`).
pub async fn notified(
    db: &Db,
    key: &str,
    next: Option<i64>,
    gave_up: bool,
) -> Result<(), sqlx::Error> {
    let state = match (next, gave_up) {
        (None, false) => "sent",
        (_, true) => "failed",
        (Some(_), false) => "due",
    };
    sqlx::query(
        "UPDATE alerts SET notify_state = $2, notify_at = $3,
                           notify_attempts = notify_attempts + 1
         WHERE key = $1",
    )
    .bind(key)
    .bind(state)
    .bind(next)
    .execute(db)
    .await?;
    Ok(())
}
