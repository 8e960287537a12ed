//! Facebook Pages: which ones an admin moderates, connecting one (token encrypted, app subscribed
//! to its webhooks, Get Started button set), and its health.

#[cfg(feature = "ssr")]
mod access;
mod connect;
mod health;
mod panel;
pub mod paused;
pub mod reach;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub(crate) use access::{managed_page, privileged_page};
pub use connect::*;
pub use health::*;
pub use panel::PagesPanel;

pub use reach::OutsideWindow;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares an id newtype: transparent on the wire (serde) and in the database (sqlx), and read
/// as its text (`Deref<Target = str>`) for binds, logs and URLs. The type is what keeps two ids
/// of one Page apart in structs and signatures; the text is the same as before.
macro_rules! page_id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }
    };
}

page_id_type!(
    /// Meta's id of a Facebook Page (`pages.facebook_page_id`, `webhook_events.page_id`, the
    /// webhook's `entry[].id`, Graph paths, the editor's Page field).
    FacebookPageId
);
page_id_type!(
    /// Our row id of a connected Page (`pages.id`, and `page_id` in every other table but
    /// `webhook_events`).
    PageRowId
);

/// Webhook fields the product needs (facts file §2); template reviews
/// ([`reach::TEMPLATE_FIELD`]) are added only with `pages_utility_messaging`.
pub const WEBHOOK_FIELDS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_referrals",
    "message_deliveries",
    "message_reads",
    "messaging_optins",
];
/// The Get Started payload; the m.me `ref` rides along with it.
pub const GET_STARTED_PAYLOAD: &str = "GET_STARTED";

/// "Pages you moderate" are the Pages where the person has the `MODERATE` task.
pub fn moderates(tasks: &[String]) -> bool {
    tasks.iter().any(|t| t == "MODERATE")
}

/// The classic role name for a set of tasks (facts file §2: inferred, Meta publishes no table).
pub fn role(tasks: &[String]) -> &'static str {
    let has = |t: &str| tasks.iter().any(|x| x == t);
    if has("MANAGE") {
        "Admin"
    } else if has("CREATE_CONTENT") {
        "Editor"
    } else if has("MODERATE") {
        "Moderator"
    } else {
        "Other"
    }
}

crate::word_enum! {
    /// What the last look at a connected Page's token found (`pages.token_status`).
    pub enum TokenStatus("page token status") {
        /// Not checked since it was stored.
        Unknown = "unknown",
        Valid = "valid",
        Expired = "expired",
        Revoked = "revoked",
        Restricted = "restricted",
        /// The token works but the app's data access to the Page lapsed (90 days).
        DataAccessExpired = "data_access_expired",
    }
}

impl TokenStatus {
    /// Whether sends may count on the token (an unchecked one is trusted until Meta says no).
    pub fn works(self) -> bool {
        matches!(self, TokenStatus::Valid | TokenStatus::Unknown)
    }
}

crate::word_enum! {
    /// Why a Page's sends are paused (`pages.paused_kind`; migration 20261127000001).
    pub enum PausedKind("page pause kind") {
        /// The token stopped working (190): reconnecting the Page ends it.
        Token = "token",
        /// Meta refuses every send for a reason of the Page or the app: the admin resumes it.
        Page = "page",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Health {
    /// Not connected to the product.
    NotConnected,
    /// Connected and the token works.
    Healthy,
    /// The token expired, was revoked, or data access lapsed: sends would fail.
    Reconnect(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPage {
    pub facebook_page_id: String,
    pub name: String,
    pub category: Option<String>,
    pub role: String,
    pub health: Health,
    pub enabled: bool,
    /// Connected Pages: how notices reach people outside the 24-hour window.
    pub outside_window: Option<OutsideWindow>,
    /// Connected Pages: what keeps people from seeing Get Started, if anything.
    pub get_started_warning: Option<String>,
    /// Connected Pages whose sends Meta stopped for a reason of the Page or the app: why.
    pub paused: Option<String>,
}

/// What connecting a Page gave, beyond "connected": things the admin should know.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectOutcome {
    pub notes: Vec<String>,
}
