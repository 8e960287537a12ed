//! Benchmark of the entrants CSV export (issue #17; figures, not a test): `scripts/bench export`.
//!
//! Seeds one campaign with N confirmed entries (default 1,000,000), each with its subscriber, its
//! ticket and one delivered message, then streams the whole list as CSV through the product's own
//! `entries::entrants::write_csv` (the code behind `/admin/campaigns/{id}/entrants.csv`) into a
//! reader that counts bytes, and reads one list page deep in the list by its keyset cursor.
//! Prints rows/s, the peak resident memory the export added, and the deep page's time.
//! Targets: at least 200,000 rows/s and under 100 MB.
//!
//! `cargo run --release -p app --features ssr --example export -- <sqlite|postgres> [entries]`

#[path = "../tests/seed/mod.rs"]
mod seed;

use app::entries::{entrants, list::ListQuery};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // `EXPORT_DATABASE_URL`: a database an earlier run seeded (its path is printed), to measure
    // again without seeding again.
    let (url, seeded_already) = match std::env::var("EXPORT_DATABASE_URL") {
        Ok(url) => (url, true),
        Err(_) => (
            seed::database::fresh(&backend, "giveaway_export").await,
            false,
        ),
    };
    let db = app::db::connect(&url, 4).await.expect("database");
    let campaign = if seeded_already {
        seed::entrants::CAMPAIGN.to_string()
    } else {
        let seeded = Instant::now();
        let campaign = seed::entrants::seed(&db, n).await;
        println!(
            "seeded {n} entries in {:.1} s into {url}",
            seeded.elapsed().as_secs_f64()
        );
        campaign
    };
    // The peak resident set from here on is the export's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss_kb("VmRSS");
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let writer = tokio::spawn(entrants::write_csv(
        db.clone(),
        campaign.clone(),
        "bench".into(),
        ListQuery::default(),
        0,
        tx,
    ));
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk.expect("a chunk");
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    writer.await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let peak = rss_kb("VmHWM");
    assert_eq!(lines, n + 1, "every row and the header");
    let rows_per_s = n as f64 / seconds;
    let added_mb = peak.saturating_sub(before) as f64 / 1024.0;

    // A page near the end of the list, by the cursor of the row before it.
    let cursor: (i64, String) = sqlx::query_as(
        "SELECT created_at, id FROM entries WHERE campaign_id = $1
         ORDER BY created_at ASC, id ASC LIMIT 1 OFFSET 60",
    )
    .bind(&campaign)
    .fetch_one(&db)
    .await
    .unwrap();
    let page_started = Instant::now();
    let (rows, _) = entrants::page(
        &db,
        &campaign,
        &ListQuery::default(),
        Some(entrants::Cursor {
            created_at: cursor.0,
            id: cursor.1,
        }),
        0,
    )
    .await
    .unwrap();
    let page_ms = page_started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(rows.len(), 50);
    println!(
        "RESULT export-{backend} rows={n} rows_per_s={rows_per_s:.0} seconds={seconds:.2} mb={:.1} peak_added_mb={added_mb:.1} deep_page_ms={page_ms:.1}",
        bytes as f64 / 1_048_576.0
    );
}

/// A line of /proc/self/status, in kB.
fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
