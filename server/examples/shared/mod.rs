// A fresh database per benchmark run, the same helper the app's export benchmark and tests use.
#[path = "../../../app/tests/seed/database.rs"]
pub mod database;
