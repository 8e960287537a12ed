//! Meta's limit as Meta counts it: calls arrive when the way there lets them, not as they left.
//! The real `server` binary sends an end notice through a sandbox that holds each call back a
//! random 0 to 300 ms before it counts it, and refuses (613) any call past the limit in the one
//! second before it came in. Calls spaced evenly as they leave crowd together on arrival; the
//! product must still never have one refused.

use crate::crowd;
use serde_json::json;
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 100;
/// The Page's limit, in the product and in the sandbox: 100 people take some five seconds.
const LIMIT: u64 = 20;

both_databases!(
    no_call_is_refused_however_unevenly_calls_arrive,
    |url: String| async move {
        let key = "k".repeat(40);
        let (port, sandbox, stop_sandbox, db, crowd) =
            crate::notices_crash::world(&url, &key, SUBSCRIBERS, "pacing").await;
        sandbox
            .control(
                reqwest::Method::PATCH,
                "/settings",
                json!({ "rate_limit_per_second": LIMIT, "arrival_jitter_ms": 300 }),
            )
            .await;
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_server"));
        let log = std::env::temp_dir().join(format!("giveaway-pacing-{}.log", app::db::new_id()));
        let limit = LIMIT.to_string();
        let settings = [("SEND_RATE_PER_PAGE", limit.as_str())];
        let mut product =
            crowd::spawn_product(binary, &url, &sandbox.base, port, &key, &settings, &log);
        crowd::wait_product(&sandbox.http, port, Duration::from_secs(60), &log).await;
        crowd::end_now(&db, &crowd.campaign).await;

        let deadline = Instant::now() + Duration::from_secs(90);
        let mut stats = json!({});
        while Instant::now() < deadline {
            stats = sandbox.sends(&crowd.facebook_page_id).await;
            if stats["accepted"].as_u64() >= Some(SUBSCRIBERS as u64) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        product.kill().unwrap();
        product.wait().unwrap();
        let logs = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            stats["accepted"].as_u64(),
            Some(SUBSCRIBERS as u64),
            "{stats}; {logs}"
        );
        assert_eq!(stats["throttled"].as_u64(), Some(0), "{stats}");
        let busiest = stats["max_in_one_second"].as_u64().unwrap();
        assert!(busiest <= LIMIT, "{busiest} calls in one second: {stats}");
        // Not so careful that it crawls: the answers are quick, the pace near the limit.
        let rate = stats["calls_per_second"].as_f64().unwrap();
        assert!(rate >= LIMIT as f64 * 0.6, "{rate} calls a second: {stats}");
        let _ = std::fs::remove_file(&log);
        db.close().await;
        let _ = stop_sandbox.send(());
    }
);
