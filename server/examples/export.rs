//! Benchmark of the entrants CSV export (issue #17; figures, not a test): `scripts/bench export`.
//!
//! Seeds one campaign with N confirmed entries (default 1,000,000), each with its subscriber, its
//! ticket and one delivered message, then streams the whole list as CSV through the product's own
//! `entries::entrants::write_csv` (the code behind `/admin/campaigns/{id}/entrants.csv`) into a
//! reader that counts bytes, and reads one list page deep in the list by its keyset cursor.
//! Prints rows/s, the peak resident memory the export added, and the deep page's time.
//! Targets: at least 200,000 rows/s and under 100 MB.
//!
//! `cargo run --release -p server --example export -- <sqlite|postgres> [entries]`

#[path = "shared/mod.rs"]
mod shared;

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
    let url = database(&backend).await;
    let db = app::db::connect(&url, 4).await.expect("database");
    let seeded = Instant::now();
    let campaign = seed(&db, n).await;
    println!(
        "seeded {n} entries in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

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

async fn database(backend: &str) -> String {
    shared::database::fresh(backend, "giveaway_export").await
}

/// One Page, one campaign, and `n` entrants, each entered with a ticket and one delivered message.
async fn seed(db: &app::db::Db, n: usize) -> String {
    let now = app::db::now_ms();
    sqlx::query(
        "INSERT INTO pages (id, facebook_page_id, name, connected_at, updated_at)
         VALUES ('page', '1', 'Bench Page', $1, $1)",
    )
    .bind(now)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, starts_at, ends_at, created_at, updated_at)
         VALUES ('campaign', 'page', 'bench', 'Bench', 0, $1, $1, $1)",
    )
    .bind(now)
    .execute(db)
    .await
    .unwrap();
    const CHUNK: usize = 1000;
    let rows = |width: usize, count: usize| {
        (0..count)
            .map(|r| {
                let cells: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for start in (0..n).step_by(CHUNK) {
        let count = CHUNK.min(n - start);
        let mut tx = db.begin().await.unwrap();
        let sql = format!(
            "INSERT INTO subscribers (id, page_id, psid, first_name, last_interaction_at, created_at) VALUES {}",
            rows(6, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("s{i:08}"))
                .bind("page")
                .bind(format!("psid{i:08}"))
                .bind(if i % 7 == 0 { "=Eve" } else { "Alice" })
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, subscriber_id, created_at, confirmed_at) VALUES {}",
            rows(8, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("e{i:08}"))
                .bind("campaign")
                .bind("confirmed")
                .bind(format!("n{i:08}"))
                .bind(format!("c{i:08}"))
                .bind(format!("s{i:08}"))
                .bind(now - (n - i) as i64)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO tickets (entry_id, campaign_id, ticket, created_at) VALUES {}",
            rows(4, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("e{i:08}"))
                .bind("campaign")
                .bind(format!("T{i:09}"))
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id, kind, status, created_at, updated_at) VALUES {}",
            rows(9, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("m{i:08}"))
                .bind(format!("k{i:08}"))
                .bind("page")
                .bind(format!("s{i:08}"))
                .bind("campaign")
                .bind("confirmation")
                .bind("delivered")
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    "campaign".into()
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
