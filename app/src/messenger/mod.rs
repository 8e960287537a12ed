//! Everything that speaks Messenger: the limits Meta sets (shared by browser and server, so the
//! editor shows the same error the server would return), the one Graph API client, and webhook
//! verification and parsing.

pub mod limits;

crate::word_enum! {
    /// Where a message we send stands (`outgoing_messages.status`, written by `outbox`).
    pub enum MessageStatus("message status") {
        Queued = "queued",
        /// Claimed by a sender, the call to Meta under way.
        Sending = "sending",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
        /// Held back by the send policy, with its reason.
        NotSent = "not_sent",
    }
}

#[cfg(feature = "ssr")]
pub mod figures;
#[cfg(feature = "ssr")]
pub mod graph;
#[cfg(feature = "ssr")]
pub mod inbox;
#[cfg(feature = "ssr")]
pub mod intake;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod policy;
#[cfg(feature = "ssr")]
pub mod receive;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod webhook;
