//! A crash in the middle of a fan-out, at a size where many sends are under way: the real
//! `server` binary sends an end notice to a few hundred subscribers through a sandbox that runs
//! apart from it, is killed with SIGKILL half-way (no shutdown: its job lease is left held, its
//! claimed messages left `sending`), and is started again on the same database. Everyone must get
//! the notice, and only sends in flight at the kill may repeat. Waits poll with deadlines; no
//! sleep is an assertion.

use crate::crowd::{self, Sandbox};
use serde_json::json;
use server::sandbox::{SandboxConfig, SandboxTuning};
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 300;
/// Slow enough that the fan-out lasts seconds (300 at 50/s: 6 s), so the kill lands mid-way.
const RATE: &str = "50";
/// Calls in flight at once for the Page. A message goes twice only if its call reached Meta and
/// the process died before its `sent` row was committed; a send holds one of these permits from
/// before its call until after that commit, so at most this many can repeat (fewer than a batch,
/// 64, which bounds the rows claimed as `sending`).
const CONCURRENCY: usize = 8;

/// The sandbox alone on a port of its own, as `server sandbox` runs it, sending webhooks to the
/// product's port.
async fn sandbox(webhooks_to: u16) -> (Sandbox, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = SandboxConfig {
        app_id: app::settings::SANDBOX_APP_ID.into(),
        app_secret: server::sandbox::Secret::new(app::settings::SANDBOX_APP_SECRET),
        base_url: url::Url::parse(&base).unwrap(),
        webhook_url: url::Url::parse(&format!(
            "http://127.0.0.1:{webhooks_to}/webhooks/messenger"
        ))
        .unwrap(),
        world_file: None,
        tuning: SandboxTuning {
            delivery_delay_ms: 20,
            template_approval_delay_ms: 20,
            webhook_retry_initial_ms: 100,
            ..SandboxTuning::default()
        },
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::sandbox::serve(config, listener, async move {
        let _ = stopped.await;
    }));
    (Sandbox::new(&base), stop)
}

/// A fan-out's world: the product's port to come, a sandbox of its own sending webhooks there
/// (and its stop), the database, and `people` subscribers of Sunny Bakery seeded with key `key`.
pub(crate) async fn world(
    url: &str,
    key: &str,
    people: usize,
    label: &str,
) -> (
    u16,
    Sandbox,
    tokio::sync::oneshot::Sender<()>,
    app::db::Db,
    crowd::Crowd,
) {
    let port = crowd::free_port();
    let (sandbox, stop) = sandbox(port).await;
    sandbox.wait_ready(Duration::from_secs(10)).await;
    let db = app::db::connect(url, 4).await.unwrap();
    let cipher = crowd::cipher(key);
    let crowd = crowd::seed(&db, &cipher, &sandbox, "sunnybakery", people, label).await;
    (port, sandbox, stop, db, crowd)
}

/// (messages still queued or sending, messages settled as sent, delivered or read).
async fn progress(db: &app::db::Db, notice: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN status IN ('queued', 'sending') THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN status IN ('sent', 'delivered', 'read') THEN 1 ELSE 0 END), 0)
         FROM outgoing_messages WHERE notice_id = $1",
    )
    .bind(notice)
    .fetch_one(db)
    .await
    .unwrap()
}

both_databases!(
    killed_mid_fan_out_then_restarted_everyone_gets_the_notice,
    |url: String| async move {
        let key = "k".repeat(40);
        let (port, sandbox, stop_sandbox, db, crowd) =
            world(&url, &key, SUBSCRIBERS, "crash").await;
        let notice = app::notices::schedule::end_notice_id(&crowd.campaign);
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server"));
        let log = std::env::temp_dir().join(format!("giveaway-crash-{}.log", app::db::new_id()));
        let concurrency = CONCURRENCY.to_string();
        let settings = [
            ("SEND_RATE_PER_PAGE", RATE),
            ("SEND_CONCURRENCY", concurrency.as_str()),
        ];
        let start =
            || crowd::spawn_product(binary, &url, &sandbox.base, port, &key, &settings, &log);
        let logs = || std::fs::read_to_string(&log).unwrap_or_default();

        let mut first = start();
        crowd::wait_product(&sandbox.http, port, Duration::from_secs(60), &log).await;
        crowd::end_now(&db, &crowd.campaign).await;

        // Killed once about a third of the crowd has the notice.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut before = 0;
        while Instant::now() < deadline {
            before = sandbox.sends(&crowd.facebook_page_id).await["accepted"]
                .as_u64()
                .unwrap();
            if before >= SUBSCRIBERS as u64 / 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.kill().unwrap(); // SIGKILL
        first.wait().unwrap();
        let at_kill = sandbox.sends(&crowd.facebook_page_id).await["accepted"]
            .as_u64()
            .unwrap();
        assert!(
            before >= SUBSCRIBERS as u64 / 3,
            "the fan-out never got going: {before} sent; {}",
            logs()
        );
        assert!(
            at_kill < SUBSCRIBERS as u64,
            "the kill came after the end: {at_kill} sent"
        );
        let (waiting, _) = progress(&db, &notice).await;
        assert!(waiting > 0, "nothing left to send after the kill");
        let claimed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = $1 AND status = 'sending'",
        )
        .bind(&notice)
        .fetch_one(&db)
        .await
        .unwrap();

        // The same database, a new process: it takes the Page's sender over once the dead one's
        // lease lapses (10 s), puts the messages left `sending` back in the queue, and finishes.
        let mut second = start();
        let job_key = app::notices::sender::job_key(&crowd.page_row);
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut state = ((waiting, 0), String::new());
        let finished = ((0, SUBSCRIBERS as i64), "done".to_string());
        while Instant::now() < deadline {
            let job: String = sqlx::query_scalar("SELECT status FROM jobs WHERE unique_key = $1")
                .bind(&job_key)
                .fetch_one(&db)
                .await
                .unwrap();
            state = (progress(&db, &notice).await, job);
            if state == finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        second.kill().unwrap();
        second.wait().unwrap();
        // Every message settled as sent (or delivered, read), and the Page's sender finished its
        // job: nothing is left for a later run to send again.
        assert_eq!(state, finished, "((waiting, sent), sender job); {}", logs());

        // Every person's chat shows the notice; repeats are the in-flight sends at most.
        let mut received = 0;
        for (user, _) in &crowd.people {
            let thread = sandbox
                .control(
                    reqwest::Method::GET,
                    &format!("/threads/sunnybakery/{user}"),
                    json!({}),
                )
                .await;
            let notices = thread["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| {
                    m["from"] == "page" && m["body"]["text"].to_string().contains("has ended")
                })
                .count();
            assert!(notices >= 1, "{user} never got the notice");
            received += notices;
        }
        let repeats = received - SUBSCRIBERS;
        assert!(
            repeats <= CONCURRENCY,
            "{repeats} notices went twice; at most {CONCURRENCY} sends were in flight"
        );
        let stats = sandbox.sends(&crowd.facebook_page_id).await;
        assert_eq!(stats["accepted"].as_u64(), Some(received as u64));
        assert_eq!(stats["throttled"].as_u64(), Some(0), "{stats}");
        let recipients: Option<i64> =
            sqlx::query_scalar("SELECT recipients FROM notices WHERE id = $1")
                .bind(&notice)
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(recipients, Some(SUBSCRIBERS as i64));
        eprintln!(
            "killed after {at_kill} of {SUBSCRIBERS} notices, {claimed} claimed as sending; \
             {repeats} sent twice after the restart"
        );
        let _ = std::fs::remove_file(&log);
        db.close().await;
        let _ = stop_sandbox.send(());
    }
);
