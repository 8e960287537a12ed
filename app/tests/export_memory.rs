//! The entrants CSV streams with flat memory (issue #17): the bytes the process holds while a
//! campaign's list is exported grow with the chunk size, not with the number of entries. Every
//! allocation of this test process is counted (`peak_alloc`; its own binary, so nothing else
//! runs beside it),
//! around `entries::entrants::write_csv`, the code behind `/admin/campaigns/{id}/entrants.csv`,
//! on SQLite and on PostgreSQL. `scripts/bench export` measures the same at a million entries.

#[path = "seed/mod.rs"]
mod seed;

use app::entries::{entrants, list::ListQuery};
use peak_alloc::PeakAlloc;

/// The system allocator, counting the bytes held now and the most held since the last reset.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The two databases' tests measure one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Exports the campaign; answers (CSV bytes, most bytes held above the start while exporting).
async fn export(db: &app::db::Db, campaign: &str) -> (usize, usize) {
    let start = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let writer = tokio::spawn(entrants::write_csv(
        db.clone(),
        campaign.to_string(),
        "bench".into(),
        ListQuery::default(),
        app::db::now_ms(),
        tx,
    ));
    let mut bytes = 0;
    while let Some(chunk) = rx.recv().await {
        bytes += chunk.expect("a chunk").len();
    }
    writer.await.unwrap();
    (bytes, ALLOCATOR.peak_usage().saturating_sub(start))
}

async fn memory_stays_flat(backend: &str) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut measured = Vec::new();
    for entries in [2_000, 20_000] {
        let url = seed::database::fresh(backend, "giveaway_test_export").await;
        let db = app::db::connect(&url, 4).await.expect("database");
        let campaign = seed::entrants::seed(&db, entries).await;
        let (bytes, held) = export(&db, &campaign).await;
        println!("{backend}: {entries} entries, {bytes} bytes of CSV, {held} bytes held at most");
        measured.push((bytes, held));
        db.close().await;
    }
    let [(small_csv, small_held), (big_csv, big_held)] = measured[..] else {
        unreachable!()
    };
    // Ten times the rows, ten times the CSV…
    assert!(big_csv > 8 * small_csv, "{small_csv} then {big_csv} bytes");
    // …and about the same memory: a few chunks and the driver's buffers, well under the CSV.
    assert!(
        big_held < 8 << 20,
        "{big_held} bytes held for {big_csv} bytes of CSV"
    );
    assert!(
        big_held < small_held + (2 << 20),
        "held {small_held} bytes for 2,000 entries but {big_held} for 20,000"
    );
    assert!(
        big_held * 4 < big_csv,
        "{big_held} bytes held for {big_csv} bytes of CSV"
    );
}

mod csv_export_memory {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::memory_stays_flat("sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::memory_stays_flat("postgres").await;
    }
}
