//! Everything that speaks Messenger: the limits Meta sets (shared by browser and server, so the
//! editor shows the same error the server would return), the one Graph API client, and webhook
//! verification and parsing.

pub mod limits;

#[cfg(feature = "ssr")]
pub mod graph;
#[cfg(feature = "ssr")]
pub mod inbox;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod policy;
#[cfg(feature = "ssr")]
pub mod webhook;
