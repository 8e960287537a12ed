//! The database: SQLite by default, PostgreSQL when `DATABASE_URL` says so.
//!
//! One set of data-access code serves both through sqlx's `Any` driver. The SQL is kept portable:
//! `$1` placeholders (SQLite accepts them), `TEXT` ids made by the application, `BIGINT` unix
//! milliseconds for times, `BIGINT` 0/1 for flags, `ON CONFLICT` and `RETURNING` (both support
//! them). Migrations live in `migrations/` and are applied at startup.
//!
//! Each table has one owning module, the only one whose SQL names the table and its columns
//! (README "Where to change what" lists them; `server/tests/it/table_owners.rs` checks it):
//! admins → `admins`; campaigns, uploads → `campaigns`; entries, subscribers,
//! subscriber_keywords, code_misses → `entries`; pages, page_admins → `pages`; notices, jobs,
//! page_templates → `notices`; outgoing_messages, webhook_events → `messenger`; tickets,
//! draw_seeds, draws, draw_tickets, winners → `winners`; page_hooks, hook_deliveries →
//! `handoff`; deletion_requests → `privacy`; sessions → `server/src/sessions.rs`.

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, Executor,
};
use std::time::Duration;

pub type Db = AnyPool;

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A transaction of the pool that reads before it writes. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`): a transaction that has read cannot wait for the lock, and if
/// another connection committed since its read, SQLite refuses its first write at once
/// ("database is locked"), busy timeout or not. While notices go out, the receipts and the
/// sends' records commit several times a second, so a read-then-write transaction (an erasure,
/// a draw) could fail for no fault of its own. PostgreSQL: a plain `BEGIN`.
pub async fn begin_write(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if Backend::of_url(db.connect_options().database_url.as_str()) == Some(Backend::Sqlite) {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    }
}

/// A connection to write with, for the busiest writers: the notice sender's records, the
/// receipts' processing and the webhook intake.
///
/// On SQLite it is the one connection of the process that these writers share for that file,
/// taken in turns. SQLite lets one connection write at a time, and a connection finding the lock
/// taken sleeps in SQLite's busy handler, 1, 2, 5, 10 … up to 100 ms at a time, long after the
/// lock is free: with three Pages sending, their writers slept some 15 s of every 12 (strace).
/// Queued here, the next writer goes the moment the last one commits. And one connection keeps
/// its page cache: SQLite empties a connection's cache whenever another connection has written
/// since, and the pool's connections took turns writing, each reading back the pages the last
/// one changed. PostgreSQL writes concurrently: any connection of the pool, no turn.
///
/// Never taken while holding it: a writer takes it around one transaction, and nothing inside
/// waits for another.
pub async fn writer(db: &Db) -> Result<Writer, sqlx::Error> {
    use sqlx::ConnectOptions;
    let options = db.connect_options();
    let url = options.database_url.as_str();
    if Backend::of_url(url) != Some(Backend::Sqlite) {
        return Ok(Writer::Pooled(db.acquire().await?));
    }
    type Shared = std::sync::Arc<tokio::sync::Mutex<Option<sqlx::AnyConnection>>>;
    static WRITERS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Shared>>,
    > = std::sync::LazyLock::new(Default::default);
    let shared = WRITERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(url.to_string())
        .or_default()
        .clone();
    let mut turn = shared.lock_owned().await;
    if turn.is_none() {
        let mut conn = options.connect().await?;
        sqlite_pragmas(&mut conn).await?;
        *turn = Some(conn);
    }
    match tokio::sync::OwnedMutexGuard::try_map(turn, Option::as_mut) {
        Ok(conn) => Ok(Writer::Sqlite(conn)),
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// See [`writer`]: derefs to the connection.
pub enum Writer {
    Sqlite(tokio::sync::OwnedMappedMutexGuard<Option<sqlx::AnyConnection>, sqlx::AnyConnection>),
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
}

impl std::ops::Deref for Writer {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match self {
            Writer::Sqlite(conn) => conn,
            Writer::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            Writer::Sqlite(conn) => conn,
            Writer::Pooled(conn) => conn,
        }
    }
}

/// Every SQLite connection's settings: the pool's and the writer's.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    // WAL lets readers work while one writer commits; the busy timeout turns writer contention
    // into a short wait instead of an error.
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    // Pages go back from the write-ahead log to the file every 10,000 pages written rather than
    // every 1,000: while notices go out the same index pages change again and again, and each
    // checkpoint copied them anew (7% of the product's time with the default).
    conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
    Ok(())
}

/// Checks the shape of a `DATABASE_URL` before anything connects, so a typo is reported as a bad
/// setting rather than as a connection failure deep inside startup.
pub fn check_url(url: &str) -> Result<Backend, String> {
    let backend = Backend::of_url(url).ok_or_else(|| {
        "must start with `sqlite:` or `postgres://` (for example sqlite://data/giveaway.db)"
            .to_string()
    })?;
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(
                    "names no database file (for example sqlite://data/giveaway.db)".into(),
                );
            }
        }
        Backend::Postgres => {
            let parsed = url::Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
            if parsed.host_str().unwrap_or_default().is_empty() {
                return Err(
                    "names no host (for example postgres://user:password@localhost/giveaway)"
                        .into(),
                );
            }
            if parsed.path().trim_start_matches('/').is_empty() {
                return Err(
                    "names no database (for example postgres://user:password@localhost/giveaway)"
                        .into(),
                );
            }
        }
    }
    Ok(backend)
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the folder for the SQLite file {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot apply the migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pooled connection idle longer than this is pinged before it is used.
const PING_IDLE_AFTER: Duration = Duration::from_secs(10);

/// Connects and applies pending migrations. The pool is always handed around explicitly (axum
/// state, Leptos context) so tests can run many databases side by side.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
    install_default_drivers();
    let backend =
        check_url(url).map_err(|p| DbError::Connect(sqlx::Error::Configuration(p.into())))?;
    let url = match backend {
        Backend::Sqlite => prepare_sqlite(url)?,
        Backend::Postgres => url.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings a connection when it goes back to the pool, and by default again when it is
        // taken: a round trip to PostgreSQL (a hop to SQLite's worker thread) around every
        // statement. The ping on return already finds a broken one; taking it, only one that sat
        // idle (PostgreSQL restarted meanwhile, a proxy dropped it) is checked again.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    sqlite_pragmas(conn).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(DbError::Connect)?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Makes sure the SQLite file's folder exists and that the file is created on first use.
fn prepare_sqlite(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" {
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: path.to_string(),
                source,
            })?;
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

/// Readiness: the database answers and every migration this build knows has been applied.
pub async fn readiness(db: &Db) -> Result<(), String> {
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(db)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            "database unreachable".to_string()
        })?;
    let expected = MIGRATOR.iter().map(|m| m.version).max();
    if applied < expected {
        return Err("migrations not applied".into());
    }
    Ok(())
}

/// Milliseconds since the Unix epoch: the one time format stored in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Whether an insert or update broke a UNIQUE constraint (the same on both databases).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// A fresh id for a row: a UUIDv7 as 32 hex digits, its milliseconds first, then a counter and
/// random bits. Ids made one after another sort one after another (the counter keeps that within
/// a millisecond), so a primary key's index, and every index led by an id (a person's messages),
/// takes new rows at its end, and rows made together share pages: with fully random ids every
/// row a notice's message touched, and every webhook event stored, dirtied a page of its own
/// (issue #19; fan-out CPU a message about a fifth less on SQLite). Random bits alone within a
/// millisecond gave back some 0.04 ms of the 0.12 gained: a bulk insert makes hundreds of rows
/// in one millisecond. Such an id
/// reveals when its row was made and, beside another id, much of its neighbours': where knowing
/// an id grants something, use [`new_unguessable_id`].
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// An id that is also a capability (an entry's link, an uploaded image's public name, a
/// deletion request's status page): 128
/// random bits, hex, the same form as [`new_id`].
pub fn new_unguessable_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// `$from, $from+1, …`: `n` numbered placeholders for a list (`IN (…)`), from `$from`.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $width), ($width+1, …), …`: the placeholders of a multi-row `VALUES`.
pub fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_sort_as_made_and_capabilities_share_nothing() {
        let made: Vec<String> = (0..2000).map(|_| new_id()).collect();
        assert!(
            made.windows(2).all(|w| w[0] < w[1]),
            "ids made in order sort in order"
        );
        assert!(made
            .iter()
            .all(|id| id.len() == 32 && hex::decode(id).is_ok()));
        // Two capabilities made one after the other: no common time prefix to guess from.
        let (a, b) = (new_unguessable_id(), new_unguessable_id());
        assert_eq!((a.len(), b.len()), (32, 32));
        assert_ne!(a[..8], b[..8]);
    }

    #[test]
    fn placeholders_are_numbered_for_lists_and_rows() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn urls_are_checked_before_connecting() {
        assert_eq!(check_url("sqlite://data/x.db"), Ok(Backend::Sqlite));
        assert_eq!(check_url("sqlite::memory:"), Ok(Backend::Sqlite));
        assert_eq!(
            check_url("postgres://u:p@localhost/db"),
            Ok(Backend::Postgres)
        );
        assert!(check_url("postgres://").is_err());
        assert!(check_url("postgres://localhost")
            .unwrap_err()
            .contains("no database"));
        assert!(check_url("sqlite://").is_err());
        assert!(check_url("mysql://x/y")
            .unwrap_err()
            .contains("must start with"));
        assert!(check_url("data/x.db").is_err());
    }

    #[tokio::test]
    async fn sqlite_writers_share_one_connection_in_turns() {
        let dir = std::env::temp_dir().join(format!("giveaway-writer-{}", new_id()));
        let db = connect(&format!("sqlite://{}/w.db", dir.display()), 4)
            .await
            .unwrap();
        // A temporary table lives on the connection that made it: the next writer sees it.
        let mut first = writer(&db).await.unwrap();
        first
            .execute("CREATE TEMP TABLE mine (x INTEGER)")
            .await
            .unwrap();
        // A second writer waits for the first to finish.
        let db2 = db.clone();
        let second = tokio::spawn(async move {
            let mut w = writer(&db2).await.unwrap();
            w.execute("INSERT INTO mine (x) VALUES (1)").await.map(drop)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second writer waited its turn");
        drop(first);
        second
            .await
            .unwrap()
            .expect("the same connection, with its table");
        // The pool's connections are others: they never saw the table.
        assert!(sqlx::query("SELECT x FROM mine")
            .fetch_one(&db)
            .await
            .is_err());
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            prepare_sqlite("sqlite::memory:").unwrap(),
            "sqlite://:memory:?mode=rwc"
        );
        let dir = std::env::temp_dir().join(format!("giveaway-db-{}", new_id()));
        let url = format!("sqlite://{}/sub/x.db", dir.display());
        assert!(prepare_sqlite(&url).unwrap().ends_with("x.db?mode=rwc"));
        assert!(dir.join("sub").is_dir());
    }
}
