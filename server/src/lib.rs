//! The server binary's library: startup, the HTTP router, sessions, health checks, and the
//! Meta sandbox. `main.rs` only reads settings and calls [`startup::Server::build`]; integration
//! tests call the same function to boot the real server on port 0.

pub mod demo;
pub mod health;
pub mod origin_check;
pub mod sandbox;
pub mod security_headers;
pub mod sessions;
pub mod startup;
