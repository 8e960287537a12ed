//! Browser sessions kept in our own database, so logins survive a restart and are shared by every
//! instance. tower-sessions' published stores each need one concrete sqlx backend; ours works on
//! the `Any` pool that serves SQLite and PostgreSQL alike.
//!
//! Lifetimes ([`Lifetimes`]): a session ends `SESSION_INACTIVITY_DAYS` after its last use (a
//! request that reads it) and `SESSION_MAX_AGE_DAYS` after login, whichever comes first.

use app::db::{now_ms, Db};
use async_trait::async_trait;
use std::collections::HashMap;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};

/// How long a session lives: never longer than `max_age_ms` after login, and not past
/// `inactivity_ms` without use. Both are enforced here, where sessions are loaded, whatever the
/// cookie says.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub max_age_ms: i64,
    pub inactivity_ms: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        let auth = app::settings::AuthSettings::default();
        Lifetimes {
            max_age_ms: auth.session_max_age_ms,
            inactivity_ms: auth.session_inactivity_ms,
        }
    }
}

impl Lifetimes {
    pub fn from_settings(settings: &app::settings::Settings) -> Self {
        Lifetimes {
            max_age_ms: settings.auth.session_max_age_ms,
            inactivity_ms: settings.auth.session_inactivity_ms,
        }
    }

    /// A loaded session is written back (its inactivity expiry pushed on) at most this often:
    /// using it counts, without a database write per request.
    fn touch_every_ms(&self) -> i64 {
        (self.inactivity_ms / 10).min(3_600_000)
    }
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
    lifetimes: Lifetimes,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            lifetimes: Lifetimes::default(),
        }
    }

    pub fn with_lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn expiry_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A row's expiry: what tower-sessions asked (the layer asks for the absolute lifetime, so the
/// cookie lasts as long as a session can), cut to the inactivity window and the absolute end.
/// The row remembers its last use (`last_used_at`); its inactivity window is `expires_at -
/// last_used_at`.
///
/// Logout deletes the row, and `save` only ever updates a row that still exists and has not
/// expired: a request that loaded the session before a logout and saves it after cannot bring
/// the session back. Only `create` (a login, or a new anonymous session) inserts.
#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = now_ms();
        let Lifetimes {
            max_age_ms,
            inactivity_ms,
        } = self.lifetimes;
        let expires_at = expiry_ms(record)
            .min(now + inactivity_ms)
            .min(now + max_age_ms);
        // Session ids are random 128-bit numbers; on the rare collision, draw again rather than
        // overwrite someone else's session.
        loop {
            let data = serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, data, expires_at, created_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(data)
            .bind(expires_at)
            .bind(now)
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let now = now_ms();
        let asked = expiry_ms(record).min(now + self.lifetimes.inactivity_ms);
        let updated = sqlx::query(
            "UPDATE sessions SET data = $1, last_used_at = $5,
                    expires_at = CASE WHEN created_at + $2 < $3 THEN created_at + $2 ELSE $3 END
             WHERE id = $4 AND expires_at > $5 AND created_at > $5 - $2",
        )
        .bind(data)
        .bind(self.lifetimes.max_age_ms)
        .bind(asked)
        .bind(record.id.to_string())
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        if updated.rows_affected() == 0 {
            tracing::info!("a session ended (logout or expiry) while a request used it: not saved");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = now_ms();
        let Lifetimes {
            max_age_ms,
            inactivity_ms,
        } = self.lifetimes;
        let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT data, expires_at, created_at, last_used_at FROM sessions
             WHERE id = $1 AND expires_at > $2 AND created_at > $2 - $3",
        )
        .bind(id.to_string())
        .bind(now)
        .bind(max_age_ms)
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        let Some((data, mut expires_at, created_at, last_used_at)) = row else {
            return Ok(None);
        };
        // Loaded by a request: the session is in use, so its inactivity expiry moves on by as
        // long as it has been idle (written at most once per `touch_every_ms`, never past the
        // absolute end).
        if now - last_used_at >= self.lifetimes.touch_every_ms() {
            let window = (expires_at - last_used_at).min(inactivity_ms);
            let pushed = (now + window).min(created_at + max_age_ms);
            sqlx::query(
                "UPDATE sessions SET expires_at = $1, last_used_at = $2
                 WHERE id = $3 AND last_used_at = $4",
            )
            .bind(pushed)
            .bind(now)
            .bind(id.to_string())
            .bind(last_used_at)
            .execute(&self.db)
            .await
            .map_err(backend)?;
            expires_at = pushed;
        }
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(expires_at as i128 * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $1 - $2")
            .bind(now_ms())
            .bind(self.lifetimes.max_age_ms)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
