//! Hand-off to the organiser's other tools (issue #17): what happens on a Page (an entry
//! confirmed, a keyword tapped, a person opting out, a winner claiming) is POSTed as JSON to the
//! addresses its admins set ("hooks"), so their own chatbot or CRM can carry on.
//!
//! - `target`: which addresses a hook may have (https, at most 2,000 characters).
//! - `store`: the hooks and their deliveries (`page_hooks`, `hook_deliveries`: this module's
//!   tables).
//! - `events`: the events and their JSON; `emit…` functions that the entries and winners call
//!   where things happen. An event becomes one queued delivery per hook that wants it; a failing
//!   emit is logged and never fails the interaction that caused it.
//! - `courier`: the worker that POSTs due deliveries, signed with the hook's secret
//!   (HMAC-SHA256 over the timestamp and the body), and retries with backoff; its `run_once`
//!   is what tests drive.
//! - `panel`: the admin's section of each connected Page on the admin home.
//!
//! The widget's side of the hand-off (the embed telling the host page that its visitor entered)
//! lives with the widget: `public/entry.js` and `public/widget.js`.

#[cfg(feature = "ssr")]
pub mod courier;
#[cfg(feature = "ssr")]
pub mod events;
mod panel;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod target;

#[cfg(feature = "ssr")]
pub use courier::{run_once, worker};
#[cfg(feature = "ssr")]
pub use events::{entry_confirmed, keyword_tapped, opted_out, winner_claimed};
pub use panel::HandoffPanel;
#[cfg(feature = "ssr")]
pub use store::forget_subscriber;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

crate::word_enum! {
    /// What an event says happened (`type` in its JSON, `hook_deliveries.event_type`).
    pub enum EventType("hand-off event type") {
        /// Messenger confirmed a person's entry.
        EntryConfirmed = "entry.confirmed",
        /// A person tapped the campaign's automation keyword under its confirmation.
        KeywordTapped = "keyword.tapped",
        /// A person sent STOP (`OPT_OUT_WORDS`) to the Page.
        OptedOut = "subscriber.opted_out",
        /// A winner claimed their prize.
        WinnerClaimed = "winner.claimed",
        /// The admin's "Send a test event".
        Ping = "ping",
    }
}

impl EventType {
    /// The events a hook can ask for (a test event goes to one hook, when its admin asks).
    pub const CHOOSABLE: [EventType; 4] = [
        EventType::EntryConfirmed,
        EventType::KeywordTapped,
        EventType::OptedOut,
        EventType::WinnerClaimed,
    ];

    /// What the admin reads next to its box.
    pub fn label(self) -> &'static str {
        match self {
            EventType::EntryConfirmed => "Entry confirmed",
            EventType::KeywordTapped => "Keyword tapped",
            EventType::OptedOut => "Opted out (STOP)",
            EventType::WinnerClaimed => "Prize claimed",
            EventType::Ping => "Test",
        }
    }
}

crate::word_enum! {
    /// Where a delivery stands (`hook_deliveries.status`).
    pub enum DeliveryStatus("hook delivery status") {
        /// To be sent at its next attempt (or being sent).
        Queued = "queued",
        /// The hook answered 2xx.
        Delivered = "delivered",
        /// The hook refused it (4xx other than 408/429), or every try failed.
        Failed = "failed",
    }
}

/// A hook as its admins see it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookView {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub created_at: i64,
}

/// One line of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub event_id: String,
    pub hook_url: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// The next try, while queued.
    pub next_attempt_at: Option<i64>,
}

/// A Page's hooks and its latest deliveries (newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub hooks: Vec<HookView>,
    pub deliveries: Vec<DeliveryView>,
}

/// A hook's signing secret, shown once: when the hook is made or its secret replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecret {
    pub hook_id: String,
    pub url: String,
    pub secret: String,
}

/// How many hooks one Page may have.
pub const HOOKS_PER_PAGE: usize = 5;
/// How many deliveries the log shows.
pub const LOG_LENGTH: i64 = 20;

/// A Page's hooks and its last deliveries, for an admin who manages it.
#[server(endpoint = "page_handoff")]
pub async fn page_handoff(facebook_page_id: String) -> Result<Handoff, AppError> {
    let (state, page) = crate::pages::managed_page(&facebook_page_id).await?;
    Ok(Handoff {
        hooks: store::hooks_of(&state.db, &page.id).await?,
        deliveries: store::recent_deliveries(&state.db, &page.id, LOG_LENGTH).await?,
    })
}

/// Adds a hook to a Page: its address and the events it wants (each box a field, "on" when
/// ticked, so the form works as a plain post). Its secret is answered once. The admin's rights
/// are read from Facebook first: a hook sends the Page's people's ids elsewhere.
#[server(endpoint = "add_page_hook")]
pub async fn add_page_hook(
    facebook_page_id: String,
    url: String,
    entry_confirmed: Option<String>,
    keyword_tapped: Option<String>,
    opted_out: Option<String>,
    winner_claimed: Option<String>,
) -> Result<NewSecret, AppError> {
    use http::StatusCode;
    let (state, page) = crate::pages::privileged_page(&facebook_page_id).await?;
    let development = state.settings.mode == crate::settings::AppMode::Development;
    let url = target::check(&url, development)
        .map_err(|problem| AppError::refused(StatusCode::BAD_REQUEST, problem))?;
    let ticked = [entry_confirmed, keyword_tapped, opted_out, winner_claimed];
    let events: Vec<EventType> = EventType::CHOOSABLE
        .into_iter()
        .zip(ticked)
        .filter(|(_, box_)| box_.as_deref().is_some_and(|v| !v.is_empty() && v != "off"))
        .map(|(event, _)| event)
        .collect();
    if events.is_empty() {
        return Err(AppError::refused(
            StatusCode::BAD_REQUEST,
            "Choose at least one event to send to this address.",
        ));
    }
    if store::hooks_of(&state.db, &page.id).await?.len() >= HOOKS_PER_PAGE {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            format!(
                "A Page can have at most {HOOKS_PER_PAGE} webhook addresses: remove one first."
            ),
        ));
    }
    let (hook_id, secret) = store::add_hook(
        &state.db,
        &state.token_cipher,
        &page.id,
        url.as_str(),
        &events,
    )
    .await?;
    tracing::info!(page = %page.id, hook = %hook_id, "hand-off webhook added");
    Ok(NewSecret {
        hook_id,
        url: url.to_string(),
        secret: secret.expose().to_string(),
    })
}

/// Replaces a hook's secret (the old one stops working at once); the new one is answered once.
#[server(endpoint = "rotate_hook_secret")]
pub async fn rotate_hook_secret(
    facebook_page_id: String,
    hook_id: String,
) -> Result<NewSecret, AppError> {
    let (state, page) = crate::pages::privileged_page(&facebook_page_id).await?;
    match store::rotate_secret(&state.db, &state.token_cipher, &page.id, &hook_id).await? {
        Some((url, secret)) => Ok(NewSecret {
            hook_id,
            url,
            secret: secret.expose().to_string(),
        }),
        None => Err(no_such_hook()),
    }
}

/// Removes a hook, its log and what it had still to send.
#[server(endpoint = "remove_page_hook")]
pub async fn remove_page_hook(facebook_page_id: String, hook_id: String) -> Result<(), AppError> {
    let (state, page) = crate::pages::managed_page(&facebook_page_id).await?;
    if !store::remove_hook(&state.db, &page.id, &hook_id).await? {
        return Err(no_such_hook());
    }
    tracing::info!(page = %page.id, hook = %hook_id, "hand-off webhook removed");
    Ok(())
}

/// Queues a `ping` event for one hook, sent like any other (its outcome shows in the log).
#[server(endpoint = "ping_page_hook")]
pub async fn ping_page_hook(facebook_page_id: String, hook_id: String) -> Result<(), AppError> {
    let (state, page) = crate::pages::managed_page(&facebook_page_id).await?;
    if !events::ping(&state, &page.id, &page.facebook_page_id, &hook_id).await? {
        return Err(no_such_hook());
    }
    Ok(())
}

#[cfg(feature = "ssr")]
fn no_such_hook() -> AppError {
    AppError::refused(
        http::StatusCode::NOT_FOUND,
        "This Page has no such webhook (it may have been removed).",
    )
}
