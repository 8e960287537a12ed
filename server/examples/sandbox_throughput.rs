//! How many Send API calls per second the sandbox sustains on loopback: boots the sandbox alone
//! on port 0 with a webhook receiver (so delivery receipts really go out), then sends 20,000
//! messages from 64 concurrent clients and prints calls/s.
//!
//! `cargo run -p server --example sandbox_throughput [-- SENDS CONCURRENCY]`

use axum::{routing::post, Router};
use serde_json::{json, Value};
use server::sandbox::{SandboxConfig, SandboxTuning};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let sends: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);

    // A webhook receiver that counts events.
    let events = Arc::new(AtomicUsize::new(0));
    let counted = events.clone();
    let hook = Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let counted = counted.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n: usize = v["entry"].as_array().map_or(0, |e| {
                    e.iter()
                        .map(|x| x["messaging"].as_array().map_or(0, Vec::len))
                        .sum()
                });
                counted.fetch_add(n, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let hook_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hook_listener, hook).await.unwrap() });

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = SandboxConfig {
        app_id: app::settings::SANDBOX_APP_ID.into(),
        app_secret: server::sandbox::Secret::new(app::settings::SANDBOX_APP_SECRET),
        base_url: url::Url::parse(&base).unwrap(),
        webhook_url: url::Url::parse(&hook_url).unwrap(),
        world_file: None,
        tuning: SandboxTuning::default(),
    };
    tokio::spawn(server::sandbox::serve(
        config,
        listener,
        std::future::pending(),
    ));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let control = |path: &str| format!("{base}/sandbox/control{path}");
    http.patch(control("/settings"))
        .json(&json!({ "rate_limit_per_second": 1_000_000 }))
        .send()
        .await
        .unwrap();
    let minted: Value = http
        .post(control("/tokens"))
        .json(&json!({ "user": "admin", "page": "sunnybakery", "scopes": ["pages_show_list", "pages_manage_metadata", "pages_messaging"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["page_access_token"].as_str().unwrap().to_string();
    let graph = format!("{base}/sandbox/graph/v25.0");
    http.post(format!("{graph}/me/subscribed_apps"))
        .query(&[
            ("access_token", token.as_str()),
            ("subscribed_fields", "messages,message_deliveries"),
        ])
        .send()
        .await
        .unwrap();
    let world: Value = http
        .get(control("/world"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut psids = Vec::new();
    for user in world["users"].as_array().unwrap() {
        let key = user["key"].as_str().unwrap();
        http.post(control("/interactions"))
            .json(&json!({ "user": key, "page": "sunnybakery", "kind": "message", "text": "hi" }))
            .send()
            .await
            .unwrap();
        psids.push(
            user["psids"]["101000000000001"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }

    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, next, failures, psids) =
            (http.clone(), next.clone(), failures.clone(), psids.clone());
        let url = format!("{graph}/me/messages");
        let token = token.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sends {
                    break;
                }
                let body = json!({ "recipient": { "id": psids[i % psids.len()] }, "messaging_type": "RESPONSE", "message": { "text": format!("message {i}") } });
                let ok = http.post(&url).bearer_auth(&token).json(&body).send().await.is_ok_and(|r| r.status().is_success());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{sends} sends, concurrency {concurrency}: {:.2} s, {:.0} calls/s, {} failures",
        elapsed.as_secs_f64(),
        sends as f64 / elapsed.as_secs_f64(),
        failures.load(Ordering::Relaxed)
    );
    // Delivery receipts follow 200 ms later, batched.
    for _ in 0..100 {
        if events.load(Ordering::Relaxed) >= sends + psids.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "webhook events received: {}",
        events.load(Ordering::Relaxed)
    );
}
