//! The server binary's library: startup, the HTTP router, sessions, health checks, and (with the
//! `sandbox` feature, on by default) the Meta sandbox mounted under `/sandbox`. `main.rs` only
//! parses the command line, reads settings and calls [`startup::Server::build`]; integration
//! tests call the same function to boot the real server on port 0.

pub mod assets;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod health;
pub mod origin_check;
/// The sandbox crate, for tests and tools that drive it (`server::sandbox::...`).
#[cfg(feature = "sandbox")]
pub use sandbox;
pub mod sandbox_mount;
pub mod security_headers;
pub mod sessions;
pub mod startup;
