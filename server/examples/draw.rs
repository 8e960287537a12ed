//! The draw over a million tickets (figures, not a test): `scripts/bench draw`.
//!
//! Times what the product does at the end of a campaign once the eligible tickets are read:
//! freezing the list (sorting and checking it), hashing it, ordering every ticket and writing the
//! results. Peak memory is the process's high-water mark (`VmHWM`), tickets included.
//! Target: under 2 s and 200 MB for 1,000,000 tickets (release build).
//!
//! `cargo run --release -p server --example draw -- [tickets]`

use app::draws::{self, DrawInputs, FrozenList, Seed};
use rand::seq::SliceRandom;
use std::time::Instant;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    // Tickets as the store hands them over: distinct, in no particular order.
    let mut tickets: Vec<String> = (0..count).map(|_| draws::new_ticket()).collect();
    loop {
        tickets.sort_unstable();
        tickets.dedup();
        if tickets.len() == count {
            break;
        }
        tickets.extend((tickets.len()..count).map(|_| draws::new_ticket()));
    }
    tickets.shuffle(&mut rand::thread_rng());
    let seed = Seed::generate();

    let started = Instant::now();
    let list = FrozenList::freeze(tickets).expect("distinct, well-formed tickets");
    let results = draws::run_draw(DrawInputs {
        seed: &seed,
        list,
        frozen_at_ms: None,
        beacon: None,
        winners: 1_000,
        alternates: 1_000,
    })
    .expect("no beacon, nothing to refuse");
    let seconds = started.elapsed().as_secs_f64();

    assert_eq!(results.tickets.len(), count);
    println!(
        "draw: {count} tickets frozen, hashed and ordered in {seconds:.3} s; first winner {}",
        results
            .winners
            .first()
            .cloned()
            .flatten()
            .unwrap_or_default()
    );
    println!(
        "RESULT draw tickets={count} seconds={seconds:.3} peak_mb={}",
        peak_mb().map_or("unknown".into(), |mb| mb.to_string())
    );
}

/// The process's peak resident memory in MB, from `/proc/self/status` (Linux).
fn peak_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.div_ceil(1024))
}
