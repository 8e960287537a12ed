//! What every server-side request handler can reach: handed to axum as state and to Leptos pages
//! and server functions as context (`expect_context::<AppState>()`).

use crate::{
    db::Db, messenger::graph::GraphClient, notices::pacing::Pacers, secrets::TokenCipher,
    settings::Settings,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::{num::NonZeroU32, sync::Arc};
use tokio::sync::Notify;

/// Cheap to clone: axum hands every request its own copy, and cloning the fields one by one (a
/// reference count each, the instance id's string) showed in the profile of a webhook flood.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub token_cipher: TokenCipher,
    /// Woken when webhook events were stored, so this instance's inbox worker processes them.
    pub inbox: Arc<Notify>,
    /// Webhook events waiting to be committed together (see `messenger::intake`).
    pub webhook_intake: Arc<crate::messenger::intake::WebhookIntake>,
    /// Entries started per client (`ENTRY_RATE_LIMIT` a minute; see `client`).
    pub entry_limiter: Arc<crate::client::ClientLimiter>,
    /// Admin login starts per client (`LOGIN_RATE_LIMIT`).
    pub login_limiter: Arc<crate::client::ClientLimiter>,
    /// The one Graph API client (its connection pool is shared by every call).
    pub graph: GraphClient,
    /// Woken when jobs became due (a notice queued, a template approved), so this instance's
    /// scheduler claims them at once instead of at its next look.
    pub jobs: Arc<Notify>,
    /// Meta's pace per Page, for the notices this instance sends.
    pub pacers: Pacers,
    /// Published campaigns the public pages showed in the last second.
    pub showcase: Arc<crate::campaigns::showcase::Showcase>,
    /// Names this process as the holder of job leases.
    pub instance_id: String,
    /// The funnel's counts since the last flush (`insight::tally`).
    pub tally: Arc<crate::insight::tally::Tally>,
    /// Woken when something the health checks look at was fixed (a Page reconnected, its
    /// sends resumed), so this instance checks again at once (`alerts`).
    pub health: Arc<Notify>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, settings: Settings) -> AppState {
        let per_minute = NonZeroU32::new(settings.entry_rate_limit).unwrap_or(NonZeroU32::MIN);
        let logins_per_minute =
            NonZeroU32::new(settings.auth.login_rate_limit).unwrap_or(NonZeroU32::MIN);
        let graph = GraphClient::new(&settings.facebook);
        let pacers = Pacers::new(
            settings.sending.rate_per_page,
            settings.sending.batch_max,
            std::time::Duration::from_millis(settings.sending.retry_base_ms),
        );
        AppState(Arc::new(Shared {
            leptos_options,
            token_cipher: settings.secret_key.token_cipher(),
            db,
            settings: Arc::new(settings),
            inbox: Arc::new(Notify::new()),
            webhook_intake: Arc::default(),
            entry_limiter: Arc::new(crate::client::ClientLimiter::per_minute(per_minute)),
            login_limiter: Arc::new(crate::client::ClientLimiter::per_minute(logins_per_minute)),
            graph,
            jobs: Arc::new(Notify::new()),
            pacers,
            showcase: Arc::default(),
            instance_id: crate::db::new_id(),
            tally: Arc::default(),
            health: Arc::new(Notify::new()),
        }))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
