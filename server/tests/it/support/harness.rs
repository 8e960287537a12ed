//! One harness for the tests that play a whole flow: `App` (a real server on a fresh database,
//! the sandbox's control API, the background work driven by the test), `Admin` (a browser logged
//! in through the sandbox's dialog) and `Demo` (an `App` around the seeded demo campaign, its
//! webhooks fast).
//!
//! Nothing here sleeps to show that something did not happen: `settle` asks the sandbox that no
//! webhook is on its way and the database that a pass of the workers changed nothing;
//! `eventually` polls a condition that must come true, with a deadline and a message naming it.

use super::{call, campaign_action, client, log_in, page_action, save, TestServer};
use app::campaigns::rules::CampaignForm;
use app::db::{now_ms, Db};
use app::messenger::inbox;
use app::notices;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `eventually` and `settle` wait before failing the test.
const PATIENCE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(10);

/// Polls `check` until it holds; fails naming `what` after a generous deadline. For things that
/// must happen (a webhook landing, a message sent), never for proving that nothing happens.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_some(what, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Polls `find` until it answers something, and returns it; fails naming `what` after a generous
/// deadline.
pub async fn until_some<T, F, Fut>(what: &str, find: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    until_some_within(PATIENCE, what, find).await
}

/// `until_some` with its own deadline (a process starting, a long fan-out).
pub async fn until_some_within<T, F, Fut>(patience: Duration, what: &str, mut find: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + patience;
    loop {
        if let Some(found) = find().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {} s waiting for {what}",
            patience.as_secs()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A real server on a fresh database, and a browser with no session (a visitor; also the client
/// of the sandbox's control API).
pub struct App {
    pub server: TestServer,
    pub http: reqwest::Client,
}

impl App {
    /// Boots the server the way `main` does, with the settings `extra` on top of the tests'
    /// defaults (no demo campaign, background workers on).
    pub async fn start(url: &str, extra: &[(&str, &str)]) -> App {
        App {
            server: TestServer::start_with(url, extra).await,
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A page's HTML as a new visitor gets it (asserting a 200).
    pub async fn page_text(&self, path: &str) -> String {
        let r = client().get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    pub fn db(&self) -> &Db {
        &self.server.state.db
    }

    pub fn state(&self) -> &app::state::AppState {
        &self.server.state
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// A new browser, logged in as the sandbox user `name` with every permission.
    pub async fn login_as(&self, name: &str) -> Admin<'_> {
        let http = client();
        log_in(&http, &self.server, name).await;
        Admin { app: self, http }
    }

    /// A single number read from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.db())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Waits until `sql` counts `expected`, processing stored webhooks meanwhile.
    pub async fn counts(&self, sql: &str, expected: i64) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            inbox::process_pending(self.state()).await.unwrap();
            let now = self.scalar(sql).await;
            if now == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {} s waiting for {sql} to count {expected}: still {now}",
                PATIENCE.as_secs()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// A call to the sandbox's control API, which must succeed; its answer.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, self.url(&format!("/sandbox/control/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }

    /// Changes the sandbox's global settings.
    pub async fn sandbox_settings(&self, settings: Value) {
        self.control(reqwest::Method::PATCH, "settings", settings)
            .await;
    }

    /// Webhooks the sandbox has still to post (queued, being posted, or waiting on a timer).
    pub async fn webhooks_on_their_way(&self) -> u64 {
        self.control(reqwest::Method::GET, "webhooks/pending", json!({}))
            .await["pending"]
            .as_u64()
            .unwrap()
    }

    /// Drives the background work to completion: the sandbox's webhooks posted, the stored ones
    /// processed (inbox), due jobs run (notices, Page senders, their retries and receipts).
    /// Settled means nothing is on its way from the sandbox, nothing stored is unprocessed,
    /// nothing is due within the next second, and one more pass of the workers changed nothing.
    /// Work that cannot go on (a paused Page, a retry an hour away) does not hold it up.
    pub async fn settle(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut before: Option<String> = None;
        loop {
            let on_their_way = self.webhooks_on_their_way().await;
            inbox::process_pending(self.state()).await.unwrap();
            notices::run_once(self.state()).await.unwrap();
            let unprocessed = self
                .scalar("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL")
                .await;
            let soon = now_ms() + 1_000;
            let due_soon = self
                .scalar(&format!(
                    "SELECT (SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND run_at <= {soon})
                          + (SELECT COUNT(*) FROM outgoing_messages WHERE status = 'queued'
                               AND next_attempt_at > {now} AND next_attempt_at <= {soon})",
                    now = now_ms(),
                ))
                .await;
            let after = self.fingerprint().await;
            if on_their_way == 0
                && unprocessed == 0
                && due_soon == 0
                && before.as_ref() == Some(&after)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the app did not settle within {} s: {on_their_way} webhook(s) on their way, \
                 {unprocessed} stored but unprocessed, {due_soon} job(s) or retries due; {after}",
                PATIENCE.as_secs()
            );
            before = Some(after);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Processes stored webhooks in the background, as another worker would, until the guard is
    /// dropped (the server's own worker is off in a `Demo`).
    pub fn inbox_worker(&self) -> InboxWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let (state, flag) = (self.state().clone(), stop.clone());
        tokio::spawn(async move {
            while !flag.load(Ordering::Relaxed) {
                let _ = inbox::process_pending(&state).await;
                tokio::time::sleep(POLL).await;
            }
        });
        InboxWorker(stop)
    }

    /// What a pass of the workers would change: the webhooks stored, the messages and the jobs.
    async fn fingerprint(&self) -> String {
        let (events, messages, attempts, messages_at): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM webhook_events),
                    (SELECT COUNT(*) FROM outgoing_messages),
                    (SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM outgoing_messages),
                    (SELECT COALESCE(MAX(updated_at), 0) FROM outgoing_messages)",
        )
        .fetch_one(self.db())
        .await
        .unwrap();
        let (jobs, jobs_at): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM jobs")
                .fetch_one(self.db())
                .await
                .unwrap();
        format!(
            "{events} webhook events, {messages} messages ({attempts} attempts, last change at \
             {messages_at}), {jobs} jobs (last change at {jobs_at})"
        )
    }
}

/// Stops the inbox worker of `App::inbox_worker` when dropped.
pub struct InboxWorker(Arc<AtomicBool>);

impl Drop for InboxWorker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A browser logged in as an admin (`App::login_as`). It is the browser's HTTP client too (its
/// cookies hold the session), so the free helpers (`call`, `save`...) take it as they are.
pub struct Admin<'a> {
    pub app: &'a App,
    pub http: reqwest::Client,
}

impl std::ops::Deref for Admin<'_> {
    type Target = reqwest::Client;
    fn deref(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Admin<'_> {
    /// The HTML of `path` as this admin sees it (their session), which must answer 200.
    pub async fn page_text(&self, path: &str) -> String {
        let r = self.http.get(self.app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    /// Calls the server function `function` with a form: the status and the answer.
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> (u16, String) {
        call(&self.http, &self.app.server, function, form).await
    }

    /// Connects a Page, which must succeed; what it answered (the notes for the admin).
    pub async fn connect_page(&self, page: &str) -> String {
        super::connect(&self.http, &self.app.server, page).await
    }

    /// Saves the form as a new campaign, which must succeed; its id.
    pub async fn save_campaign(&self, form: &CampaignForm) -> String {
        super::save_campaign(&self.http, &self.app.server, form).await
    }

    /// Saves the form (a new campaign without `id`): the status and the answer, whatever it is.
    pub async fn save(&self, id: Option<&str>, form: &CampaignForm) -> (u16, String) {
        save(&self.http, &self.app.server, id, form).await
    }

    /// A campaign action (`publish`, `archive`, `duplicate`, `delete`, `end_now`...).
    pub async fn act(&self, campaign: &str, action: &str) -> (u16, String) {
        campaign_action(&self.http, &self.app.server, campaign, action).await
    }

    /// A Page action (`enable`, `disable`, `disconnect`) on the Bakery.
    pub async fn page_action(&self, action: &str) -> (u16, String) {
        page_action(&self.http, &self.app.server, action).await
    }
}

/// An `App` around the seeded demo campaign of the Sunny Bakery, started three days ago (so
/// entries can be backdated past a 24-hour window), with the sandbox's webhooks and template
/// reviews within a millisecond and send retries a millisecond apart. Its background workers are
/// off unless `extra` turns them on (`BACKGROUND_JOBS=on`): `settle` drives them.
pub struct Demo {
    pub app: App,
    pub campaign: String,
    pub page_row: String,
}

impl std::ops::Deref for Demo {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

const HOUR_MS: i64 = 3_600_000;

impl Demo {
    pub async fn start(url: &str, extra: &[(&str, &str)]) -> Demo {
        let mut vars = vec![
            ("DEMO_CAMPAIGN", "on"),
            ("BACKGROUND_JOBS", "off"),
            ("SEND_RETRY_BASE_MS", "1"),
        ];
        vars.extend_from_slice(extra);
        let app = App::start(url, &vars).await;
        app.sandbox_settings(json!({
            "delivery_delay_ms": 1, "reorder_window_ms": 0, "template_approval_delay_ms": 1,
        }))
        .await;
        let (campaign, page_row): (String, String) =
            sqlx::query_as("SELECT id, page_id FROM campaigns WHERE slug = 'demo'")
                .fetch_one(app.db())
                .await
                .unwrap();
        // Drawn by hand: the end notice goes to every subscriber at the end, as the notice
        // tests expect; the tests of the draw at the end ask for it (`draw_at_end`).
        sqlx::query("UPDATE campaigns SET starts_at = $1, draw_mode = 'manual' WHERE id = $2")
            .bind(now_ms() - 72 * HOUR_MS)
            .bind(&campaign)
            .execute(app.db())
            .await
            .unwrap();
        Demo {
            app,
            campaign,
            page_row,
        }
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }

    /// The demo campaign is drawn by itself at its end, for `winners` prizes: the end notice
    /// waits for the draw and goes to everyone but the winners, who get their own message.
    pub async fn draw_at_end(&self, winners: i64) {
        sqlx::query("UPDATE campaigns SET draw_mode = 'auto', winners_count = $1 WHERE id = $2")
            .bind(winners)
            .bind(&self.campaign)
            .execute(self.db())
            .await
            .unwrap();
    }

    /// Opens the campaign `slug` as a new visitor (its own browser) and taps "Subscribe on
    /// Messenger": the `ref` of the m.me link of the pending entry.
    pub async fn entry_ref(&self, slug: &str) -> String {
        self.open_entry(slug).await.1
    }

    /// As [`Demo::entry_ref`]: the pending entry's own page (its address), and its `ref`.
    pub async fn open_entry(&self, slug: &str) -> (String, String) {
        self.send_entry_form(&format!("/c/{slug}/enter"), None)
            .await
    }

    /// A new visitor's browser sends the Subscribe form at `form`, from the page at `page` if
    /// given (as its `Referer`): the pending entry's own page (its address), and its `ref`.
    pub async fn send_entry_form(&self, form: &str, page: Option<&str>) -> (String, String) {
        let visitor = client();
        let mut request = visitor.post(self.url(form)).form(&[("website", "")]);
        if let Some(page) = page {
            request = request.header("referer", self.url(page));
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 303);
        let entry = r.headers()["location"].to_str().unwrap().to_string();
        let html = visitor
            .get(self.url(&entry))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let reference = m_me_ref(&html);
        (entry, reference)
    }

    /// Enters the demo campaign as `user` through Messenger, `ago_ms` in the past: the entry
    /// page, then Get Started with its ref, until the entry is confirmed.
    pub async fn subscribe(&self, user: &str, ago_ms: i64) {
        let reference = self.entry_ref("demo").await;
        let confirmed = "SELECT COUNT(*) FROM entries WHERE status = 'confirmed'";
        let before = self.scalar(confirmed).await;
        self.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": user, "page": "sunnybakery", "kind": "get_started", "ref": reference, "ago_ms": ago_ms }),
        )
        .await;
        eventually(&format!("{user}'s entry to be confirmed"), || async move {
            inbox::process_pending(self.state()).await.unwrap();
            self.scalar(confirmed).await > before
        })
        .await;
    }

    /// `user`'s PSID on the Sunny Bakery.
    pub async fn psid(&self, user: &str) -> String {
        let thread = self.thread(user).await;
        thread["psid"].as_str().unwrap().to_string()
    }

    /// `user`'s chat with the Sunny Bakery, as the sandbox holds it.
    pub async fn thread(&self, user: &str) -> Value {
        self.control(
            reqwest::Method::GET,
            &format!("threads/sunnybakery/{user}"),
            json!({}),
        )
        .await
    }

    /// Messages the Page sent `user` that contain `needle`.
    pub async fn received(&self, user: &str, needle: &str) -> Vec<Value> {
        self.thread(user).await["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"] == "page" && m["body"].to_string().contains(needle))
            .cloned()
            .collect()
    }

    /// Sets faults of the Sunny Bakery in the sandbox (`latency_ms`, `send_error`...).
    pub async fn page_knobs(&self, knobs: Value) {
        self.control(reqwest::Method::PATCH, "pages/sunnybakery", knobs)
            .await;
    }

    /// Ends the campaign now, the way saving an earlier end date does.
    pub async fn end_now(&self) {
        let mut tx = self.db().begin().await.unwrap();
        sqlx::query("UPDATE campaigns SET ends_at = $1 WHERE id = $2")
            .bind(now_ms() - 1)
            .bind(&self.campaign)
            .execute(&mut *tx)
            .await
            .unwrap();
        notices::schedule::sync_end_notice(&mut tx, &self.campaign)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// (status, path, reason, error code) of `user`'s message of this notice; delivered and
    /// read count as sent (delivery receipts arrive whenever the sandbox sends them).
    pub async fn outcome(
        &self,
        notice: &str,
        user: &str,
    ) -> (String, Option<String>, Option<String>, Option<i64>) {
        let psid = self.psid(user).await;
        let (status, path, reason, code): (String, Option<String>, Option<String>, Option<i64>) =
            sqlx::query_as(
                "SELECT o.status, o.path, o.error_reason, o.error_code FROM outgoing_messages o
             JOIN subscribers s ON s.id = o.subscriber_id WHERE o.notice_id = $1 AND s.psid = $2",
            )
            .bind(notice)
            .bind(&psid)
            .fetch_one(self.db())
            .await
            .unwrap();
        let status = match status.as_str() {
            "delivered" | "read" => "sent".to_string(),
            _ => status,
        };
        (status, path, reason, code)
    }
}

/// The `ref` of the m.me link on an entry page.
pub fn m_me_ref(html: &str) -> String {
    let start = html.find("?ref=").expect("an m.me link with a ref") + 5;
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}
