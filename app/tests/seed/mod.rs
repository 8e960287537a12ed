//! Test and benchmark data shared by `tests/export_memory.rs`, `examples/export.rs` and the
//! server's benchmarks (which include `database.rs` by path).

pub mod database;
pub mod entrants;
