//! Shared by the integration tests: fresh databases on both backends and a real server on port 0.

use app::settings::Settings;
use server::startup::Server;
use std::collections::HashMap;
use tokio::net::TcpListener;

/// Where the tests reach PostgreSQL; `scripts/test` creates this role.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://giveaway:giveaway@127.0.0.1:5432/postgres".into())
}

/// A database URL for one test: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(backend: &str) -> String {
    let id = app::db::new_id();
    match backend {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("giveaway-test-{id}"));
            format!("sqlite://{}/test.db", dir.display())
        }
        "postgres" => {
            use sqlx::{Connection, Executor, PgConnection};
            let admin = postgres_admin_url();
            let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {admin} ({e}); run the tests through scripts/test, \
                     which starts it, or set TEST_POSTGRES_URL"
                )
            });
            let name = format!("giveaway_test_{}", &id[..16]);
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&name);
            url.to_string()
        }
        other => panic!("unknown backend {other}"),
    }
}

/// Generates one test per backend from one async body taking the database URL:
/// `both_databases!(name, |url| async move { ... });` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_databases {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let url = $crate::support::fresh_database("sqlite").await;
                ($body)(url).await;
            }
            #[tokio::test]
            async fn postgres() {
                let url = $crate::support::fresh_database("postgres").await;
                ($body)(url).await;
            }
        }
    };
}

/// A real server, booted the way `main` boots it, on a free port.
pub struct TestServer {
    pub base: String,
    pub state: app::state::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(database_url: &str) -> TestServer {
        Self::start_with(database_url, &[]).await
    }

    pub async fn start_with(database_url: &str, extra: &[(&str, &str)]) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let data_dir = std::env::temp_dir().join(format!("giveaway-data-{}", app::db::new_id()));
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url.to_string()),
            ("LEPTOS_SITE_ADDR".into(), addr.to_string()),
            ("PUBLIC_BASE_URL".into(), base.clone()),
            ("DATA_DIR".into(), data_dir.display().to_string()),
            // Tests that want the demo campaign turn it on; the others start from nothing.
            ("DEMO_CAMPAIGN".into(), "off".into()),
        ]);
        // `{addr}` in a value is the address the server listens on (an https base address in
        // front of this plain-http server, say).
        for (k, v) in extra {
            vars.insert(k.to_string(), v.replace("{addr}", &addr.to_string()));
        }
        let settings =
            Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings are valid");
        let server = Server::build(settings, listener)
            .await
            .expect("server starts");
        let state = server.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        TestServer {
            base,
            state,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            // Bounded: a test must never hang the whole run. Graceful shutdown itself is tested on
            // the real binary (server.rs, SIGTERM); a rare in-process stall seen once here is
            // reported, not waited for forever.
            match tokio::time::timeout(std::time::Duration::from_secs(10), handle).await {
                Ok(result) => result.unwrap().unwrap(),
                Err(_) => eprintln!("warning: test server did not stop within 10 s; abandoned"),
            }
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        // A stalled request fails its test instead of hanging the run.
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

mod admin;
mod harness;
mod tool;
pub use admin::*;
pub use harness::*;
pub use tool::*;
