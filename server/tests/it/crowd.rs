//! A crowd of subscribers, for fan-outs too large to enter one by one: people who tapped Get
//! Started on a Page of a sandbox (`POST /sandbox/control/people`), and the same people as
//! confirmed entrants of a campaign in the product's database, written in bulk as the inbox would
//! have left them. Also starts the real `server` binary against that sandbox, as its own process.
//!
//! Shared by the crash test (`notices_crash.rs`) and the fan-out benchmark
//! (`examples/fanout.rs`, which includes this file by path): both drive a product process from
//! outside, so neither can use the in-process `TestServer`.

use app::{
    db::{new_id, now_ms, Db},
    secrets::{Secret, TokenCipher},
};
use serde_json::{json, Value};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The scopes the product asks for at login, granted here without the dialog.
const SCOPES: [&str; 4] = [
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "pages_utility_messaging",
];

/// What the end notice says (the demo campaign's wording): tests look for "has ended".
pub const NOTICE_TEXT: &str = "The {campaign_title} giveaway has ended. Thanks for taking part!";

/// A sandbox reached over HTTP, wherever it runs.
#[derive(Clone)]
pub struct Sandbox {
    /// `http://127.0.0.1:<port>`, without `/sandbox`.
    pub base: String,
    pub http: reqwest::Client,
}

impl Sandbox {
    pub fn new(base: &str) -> Sandbox {
        Sandbox {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// A control API call; anything but a 2xx is a bug in the caller, so it panics with the answer.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/sandbox/control{path}", self.base);
        let answer = self
            .http
            .request(method, &url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{url}: {status} {value}");
        value
    }

    /// The Page's Send API calls as the sandbox's rate limit saw them.
    pub async fn sends(&self, page: &str) -> Value {
        self.control(
            reqwest::Method::GET,
            &format!("/pages/{page}/sends"),
            json!({}),
        )
        .await
    }

    /// Waits until the control API answers (a sandbox process just started).
    pub async fn wait_ready(&self, deadline: Duration) {
        let started = Instant::now();
        let url = format!("{}/sandbox/control/settings", self.base);
        while started.elapsed() < deadline {
            if self.http.get(&url).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the sandbox at {} never answered", self.base);
    }
}

/// One seeded campaign: its rows and its people's PSIDs, in order.
pub struct Crowd {
    pub campaign: String,
    pub page_row: String,
    pub facebook_page_id: String,
    /// (sandbox user key, PSID on the Page).
    pub people: Vec<(String, String)>,
}

/// The page token cipher the product will use with this `SECRET_KEY`.
pub fn cipher(secret_key: &str) -> TokenCipher {
    app::secrets::SecretKey::from_setting(secret_key)
        .expect("a valid SECRET_KEY")
        .token_cipher()
}

/// Seeds a live campaign on sandbox Page `page` with `count` subscribers (`{prefix}1`...), all
/// inside their 24-hour window. The Page is connected as the sandbox's `admin` connects it: a
/// Page token that never expires, the app subscribed to the Page's webhooks (so delivery
/// receipts come back), then the admin and Page rows written by the product's own data layer.
pub async fn seed(
    db: &Db,
    cipher: &TokenCipher,
    sandbox: &Sandbox,
    page: &str,
    count: usize,
    prefix: &str,
) -> Crowd {
    let people = sandbox
        .control(
            reqwest::Method::POST,
            "/people",
            json!({ "page": page, "count": count, "prefix": prefix }),
        )
        .await;
    let facebook_page_id = people["page_id"].as_str().unwrap().to_string();
    let people: Vec<(String, String)> = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let field = |k: &str| p[k].as_str().unwrap().to_string();
            (field("user"), field("psid"))
        })
        .collect();
    let minted = sandbox
        .control(
            reqwest::Method::POST,
            "/tokens",
            json!({ "user": "admin", "page": facebook_page_id, "long_lived": true, "scopes": SCOPES }),
        )
        .await;
    let page_token = minted["page_access_token"].as_str().unwrap().to_string();
    let subscribed = sandbox
        .http
        .post(format!(
            "{}/sandbox/graph/{}/{facebook_page_id}/subscribed_apps",
            sandbox.base,
            app::settings::DEFAULT_GRAPH_VERSION
        ))
        .query(&[
            ("subscribed_fields", app::pages::WEBHOOK_FIELDS.join(",")),
            ("access_token", page_token.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert!(subscribed.status().is_success(), "subscribing the app");

    let admin = app::admins::store::upsert_at_login(
        db,
        cipher,
        minted["user_id"].as_str().unwrap(),
        "Ada Admin",
        &Secret::new(minted["access_token"].as_str().unwrap()),
        None,
        &SCOPES.map(String::from),
    )
    .await
    .unwrap();
    let account: app::messenger::graph::PageAccount = serde_json::from_value(json!({
        "id": facebook_page_id, "name": page, "username": page,
        "tasks": ["MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"],
        "access_token": page_token,
    }))
    .unwrap();
    let page_token = Secret::new(page_token);
    let page_row = app::pages::store::connect(db, cipher, &admin.id, &account, &page_token)
        .await
        .unwrap();

    let now = now_ms();
    let day = 24 * 3600 * 1000;
    let campaign = new_id();
    let mut tx = db.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, prize, starts_at, ends_at, notice_text,
                                publish_state, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'A prize', $5, $6, $7, 'published', $8, $9, $9)",
    )
    .bind(&campaign)
    .bind(&page_row)
    .bind(format!("crowd-{}", &campaign[..12]))
    .bind(format!("Crowd on {page}"))
    .bind(now - 2 * day)
    .bind(now + 30 * day)
    .bind(NOTICE_TEXT)
    .bind(&admin.id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    app::notices::schedule::sync_end_notice(&mut tx, &campaign)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A few hundred rows per statement: far below SQLite's and PostgreSQL's parameter limits.
    for chunk in people.chunks(500) {
        let mut tx = db.begin().await.unwrap();
        let rows = |width: usize| {
            (0..chunk.len())
                .map(|r| {
                    let cols: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ids: Vec<String> = chunk.iter().map(|_| new_id()).collect();
        let sql = format!(
            "INSERT INTO subscribers (id, page_id, psid, first_name, last_interaction_at, created_at)
             VALUES {}",
            rows(6)
        );
        let mut insert = sqlx::query(&sql);
        for (id, (user, psid)) in ids.iter().zip(chunk) {
            insert = insert
                .bind(id)
                .bind(&page_row)
                .bind(psid)
                .bind(user)
                .bind(now)
                .bind(now);
        }
        insert.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, subscriber_id,
                                  created_at, confirmed_at)
             VALUES {}",
            rows(8)
        );
        let mut insert = sqlx::query(&sql);
        for id in &ids {
            insert = insert
                .bind(new_id())
                .bind(&campaign)
                .bind("confirmed")
                .bind(new_id())
                .bind(new_id())
                .bind(id)
                .bind(now)
                .bind(now);
        }
        insert.execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    Crowd {
        campaign,
        page_row,
        facebook_page_id,
        people,
    }
}

/// Ends the campaign now, as saving an earlier end date does: its end notice falls due, and the
/// product's scheduler picks it up at its next look (within a second).
pub async fn end_now(db: &Db, campaign: &str) {
    let mut tx = db.begin().await.unwrap();
    sqlx::query("UPDATE campaigns SET ends_at = $1 WHERE id = $2")
        .bind(now_ms() - 1)
        .bind(campaign)
        .execute(&mut *tx)
        .await
        .unwrap();
    app::notices::schedule::sync_end_notice(&mut tx, campaign)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A free port on loopback. The product process binds it itself, so it is chosen here first:
/// the sandbox must know where to send webhooks before the product starts, and a restarted
/// product must come back on the same address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The real `server` binary as the product, on `port`, against the sandbox at `sandbox`, with
/// `extra` settings; its logs go to `log`. Killed, it leaves its database as a crash would.
pub fn spawn_product(
    binary: &Path,
    database_url: &str,
    sandbox: &str,
    port: u16,
    secret_key: &str,
    extra: &[(&str, &str)],
    log: &Path,
) -> Child {
    let data = std::env::temp_dir().join(format!("giveaway-crowd-{}", new_id()));
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", &data)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("PUBLIC_BASE_URL", &base)
        .env("SECRET_KEY", secret_key)
        .env("DEMO_CAMPAIGN", "off")
        .env("FACEBOOK_APP_ID", app::settings::SANDBOX_APP_ID)
        .env("FACEBOOK_APP_SECRET", app::settings::SANDBOX_APP_SECRET)
        .env("FACEBOOK_SANDBOX", "off")
        .env("FACEBOOK_GRAPH_URL", format!("{sandbox}/sandbox/graph"))
        .env("FACEBOOK_WWW_URL", format!("{sandbox}/sandbox/www"))
        .env("FACEBOOK_MME_URL", format!("{sandbox}/sandbox/m.me"))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("a log file"));
    for (k, v) in extra {
        command.env(k, v);
    }
    command.spawn().expect("the server binary starts")
}

/// Waits until the product on `port` is ready (its migrations applied).
pub async fn wait_product(http: &reqwest::Client, port: u16, deadline: Duration, log: &Path) {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/readyz");
    while started.elapsed() < deadline {
        if http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the product on port {port} never became ready: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}
