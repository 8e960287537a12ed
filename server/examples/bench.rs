//! Benchmarks of the entrant side (figures, not tests): `scripts/bench entry-page|ingest`.
//!
//! - `entry-page`: requests/s of `/c/demo` against the same HTML served as a static file by the
//!   same process, with the same concurrency. Target: ratio >= 0.8.
//! - `ingest`: signed webhooks (one message event from a new person each) -> stored and processed
//!   subscribers per second, against a bare loop inserting the same subscriber rows. Target: ratio
//!   >= 0.5.
//!
//! `cargo run --release -p server --example bench -- <entry-page|ingest> <sqlite|postgres> [seconds|events]`
//! PostgreSQL comes from `TEST_POSTGRES_URL` (a server database the role may create databases in).

#[path = "shared/mod.rs"]
mod shared;

use app::{messenger::webhook::sign, secrets::Secret, settings::Settings};
use serde_json::json;
use server::startup::Server;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::net::TcpListener;

/// The product's allocator (server/src/main.rs): the product runs in this process here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 32;
/// The connections of the latency run (issue #19: p99 under 25 ms at 256).
const CROWD: usize = 256;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "entry-page".into());
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let amount: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let db_url = database(&backend).await;
    match what.as_str() {
        "entry-page" => entry_page(&db_url, &backend, if amount == 0 { 10 } else { amount }).await,
        "ingest" => ingest(&db_url, &backend, if amount == 0 { 20000 } else { amount }).await,
        other => {
            eprintln!("unknown benchmark `{other}`: entry-page or ingest");
            std::process::exit(2);
        }
    }
}

async fn database(backend: &str) -> String {
    shared::database::fresh(backend, "giveaway_bench").await
}

async fn boot(
    db_url: &str,
    site_root: &std::path::Path,
) -> (
    String,
    app::state::AppState,
    tokio::sync::oneshot::Sender<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let data_dir = site_root.join("data");
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", db_url.to_string()),
        ("LEPTOS_SITE_ADDR", addr.to_string()),
        ("PUBLIC_BASE_URL", base.clone()),
        ("DATA_DIR", data_dir.display().to_string()),
        ("ENTRY_RATE_LIMIT", "1000000".into()),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
    // The static copy is served from the site root by the same process.
    std::env::set_var("LEPTOS_SITE_ROOT", site_root);
    let server = Server::build(settings, listener).await.unwrap();
    let state = server.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    (base, state, tx)
}

/// What one load run measured.
struct Load {
    rps: f64,
    /// Latency of a request, from sending to the last byte: median and 99th percentile.
    p50_ms: f64,
    p99_ms: f64,
}

/// `clients` clients asking `url` one request after another for `seconds`.
async fn load(url: &str, seconds: u64, clients: usize) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, stop) = (client.clone(), url.to_string(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await.unwrap();
                took.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            took
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)));
    Load {
        rps: all.len() as f64 / elapsed,
        p50_ms: at(0.50).copied().unwrap_or(0.0),
        p99_ms: at(0.99).copied().unwrap_or(0.0),
    }
}

async fn entry_page(db_url: &str, backend: &str, seconds: u64) {
    let site = std::env::temp_dir().join(format!("giveaway-bench-{}", app::db::new_id()));
    std::fs::create_dir_all(&site).unwrap();
    let (base, _state, stop) = boot(db_url, &site).await;
    let page = format!("{base}/c/demo");
    let html = reqwest::get(&page).await.unwrap().text().await.unwrap();
    std::fs::write(site.join("static-copy.html"), &html).unwrap();
    let static_url = format!("{base}/static-copy.html");
    let check = reqwest::get(&static_url).await.unwrap();
    assert!(check.status().is_success(), "static copy served");
    load(&page, 1, CONCURRENCY).await; // warm-up
    let dynamic = load(&page, seconds, CONCURRENCY).await;
    let fixed = load(&static_url, seconds, CONCURRENCY).await;
    // Latency with many more connections than cores: what a burst of visitors sees.
    let crowd = load(&page, seconds, CROWD).await;
    println!(
        "entry page ({backend}): {:.0} requests/s for /c/demo, {} bytes; p50 {:.2} ms, p99 {:.2} ms at {CONCURRENCY} connections",
        dynamic.rps,
        html.len(),
        dynamic.p50_ms,
        dynamic.p99_ms
    );
    println!(
        "entry page ({backend}) at {CROWD} connections: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
        crowd.rps, crowd.p50_ms, crowd.p99_ms
    );
    println!("static copy ({backend}): {:.0} requests/s", fixed.rps);
    println!(
        "RESULT entry-page-{backend} ratio={:.3} page_rps={:.0} static_rps={:.0} concurrency={CONCURRENCY} seconds={seconds} p50_ms={:.2} p99_ms={:.2} p50_ms_{CROWD}={:.2} p99_ms_{CROWD}={:.2}",
        dynamic.rps / fixed.rps,
        dynamic.rps,
        fixed.rps,
        dynamic.p50_ms,
        dynamic.p99_ms,
        crowd.p50_ms,
        crowd.p99_ms
    );
    let _ = stop.send(());
}

async fn ingest(db_url: &str, backend: &str, events: u64) {
    let site = std::env::temp_dir().join(format!("giveaway-bench-{}", app::db::new_id()));
    std::fs::create_dir_all(&site).unwrap();
    let (base, state, stop) = boot(db_url, &site).await;
    let page_id = "101000000000001";
    let page_row: String = sqlx::query_scalar("SELECT id FROM pages WHERE facebook_page_id = $1")
        .bind(page_id)
        .fetch_one(&state.db)
        .await
        .unwrap();
    let secret = Secret::new(app::settings::SANDBOX_APP_SECRET);
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next, secret, url) = (
            client.clone(),
            next.clone(),
            secret.clone(),
            format!("{base}/webhooks/messenger"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                if i >= events {
                    break;
                }
                let body = json!({ "object": "page", "entry": [{ "id": page_id, "time": 1, "messaging": [{
                    "sender": { "id": format!("9{i:015}") }, "recipient": { "id": page_id },
                    "timestamp": 1_800_000_000_000u64 + i, "message": { "mid": format!("m_bench_{i}"), "text": "hello" } }] }] });
                let bytes = serde_json::to_vec(&body).unwrap();
                let r = client
                    .post(&url)
                    .header("x-hub-signature-256", sign(&secret, &bytes))
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = start.elapsed();
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers")
            .fetch_one(&state.db)
            .await
            .unwrap();
        if n as u64 >= events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ingest_s = start.elapsed().as_secs_f64();
    let ingest_rate = events as f64 / ingest_s;

    // The floor: the same subscriber rows inserted by a bare loop, same concurrency.
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (db, next, page_row) = (state.db.clone(), next.clone(), page_row.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                if i >= events {
                    break;
                }
                sqlx::query("INSERT INTO subscribers (id, page_id, psid, last_interaction_at, created_at) VALUES ($1, $2, $3, $4, $4)")
                    .bind(app::db::new_id())
                    .bind(&page_row)
                    .bind(format!("8{i:015}"))
                    .bind(1_800_000_000_000i64)
                    .execute(&db)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let bare_rate = events as f64 / start.elapsed().as_secs_f64();
    println!(
        "ingest ({backend}): {events} signed webhooks acknowledged in {:.2} s, all stored and processed in {ingest_s:.2} s: {ingest_rate:.0} subscriptions/s",
        acknowledged.as_secs_f64()
    );
    println!("bare insert loop ({backend}): {bare_rate:.0} rows/s");
    println!(
        "RESULT ingest-{backend} ratio={:.3} ingest_per_s={ingest_rate:.0} bare_insert_per_s={bare_rate:.0} events={events} concurrency={CONCURRENCY}",
        ingest_rate / bare_rate
    );
    let _ = stop.send(());
}
