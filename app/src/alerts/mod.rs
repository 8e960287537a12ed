//! Alerts before things go wrong (issue #18): a health job (one instance of a cluster at a time,
//! every `HEALTH_CHECK_SECONDS`) looks at each connected Page and its live campaigns — the
//! token, paused sends, the utility template, the permission the notice needs outside the
//! window, the app's webhook subscription, webhooks that stopped while entries wait, an end
//! notice that would reach too few — and raises an alert for each problem, cleared by the first
//! round that finds it fixed. The admin sees them at the top of /admin and on the campaign, each
//! with what to do and a button that does it where one can; each new one is POSTed to
//! `ALERT_WEBHOOK_URL` as `{"text": ...}`, with retries.

#[cfg(feature = "ssr")]
pub mod checks;
#[cfg(feature = "ssr")]
pub mod notify;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub use checks::{check_now, worker};

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

crate::word_enum! {
    /// What is wrong (`alerts.kind`).
    pub enum AlertKind("alert kind") {
        /// Meta no longer accepts the Page's token.
        Token = "token",
        /// The Page's data access ends within a week.
        TokenExpiring = "token_expiring",
        /// The Page's sends are paused.
        Paused = "paused",
        /// Meta refused the Page's utility template, or to create it.
        Template = "template",
        /// The app is no longer subscribed to the Page's webhooks, or none came for a long time
        /// while entries wait to be confirmed.
        Webhooks = "webhooks",
        /// A live campaign's end notice would reach too few of its entrants.
        Reach = "reach",
        /// A live campaign has entrants outside the 24-hour window, and the Page lacks
        /// `pages_utility_messaging`, the only way left to reach them.
        Permission = "permission",
    }
}

/// What the alert's button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertAction {
    /// Connect the Page again (a new token).
    Reconnect,
    /// Send again (the Page's sends were paused).
    Resume,
    /// Ask Meta for the template again.
    RetryTemplate,
    /// Facebook's dialog again, asking for the missing permission.
    Grant,
}

impl AlertKind {
    /// The button that fixes it, where one can.
    pub fn action(self) -> Option<AlertAction> {
        match self {
            AlertKind::Token | AlertKind::TokenExpiring | AlertKind::Webhooks => {
                Some(AlertAction::Reconnect)
            }
            AlertKind::Paused => Some(AlertAction::Resume),
            AlertKind::Template => Some(AlertAction::RetryTemplate),
            AlertKind::Permission => Some(AlertAction::Grant),
            AlertKind::Reach => None,
        }
    }
}

/// An alert as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub key: String,
    pub kind: AlertKind,
    /// What is wrong and what to do, in words.
    pub message: String,
    pub raised_at: i64,
    /// The Page it is about (its Facebook id), for the button.
    pub facebook_page_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// An alert the checks found, as stored.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Raised {
    pub key: String,
    pub kind: AlertKind,
    pub page_id: Option<String>,
    pub campaign_id: Option<String>,
    pub message: String,
}

/// The open alerts of the Pages the admin manages; for one campaign, those of the campaign and
/// of its Page (but the token's, which the campaign's own banner asks Meta about live).
#[server(endpoint = "my_alerts")]
pub async fn my_alerts(campaign_id: Option<String>) -> Result<Vec<Alert>, AppError> {
    let (state, admin) = crate::admins::guard::require_admin().await?;
    let pages = crate::pages::store::connected_for_admin(&state.db, &admin.id).await?;
    let campaign_page = match &campaign_id {
        // Polled every 15 seconds: only the alerts of Pages the admin manages (by their stored
        // rights) are shown, so Facebook is not asked on every poll.
        Some(id) => crate::campaigns::store::page_of(&state.db, id).await?,
        None => None,
    };
    let open = store::open(&state.db).await?;
    Ok(open
        .into_iter()
        .filter_map(|a| {
            let page = pages
                .iter()
                .find(|p| a.page_id.as_deref() == Some(p.id.as_str()))?;
            if let Some(campaign) = &campaign_id {
                let ours = a.campaign_id.as_ref() == Some(campaign)
                    || (a.campaign_id.is_none()
                        && campaign_page
                            .as_ref()
                            .is_some_and(|p| p.as_str() == page.id.as_str())
                        && a.kind != AlertKind::Token);
                if !ours {
                    return None;
                }
            }
            Some(Alert {
                key: a.key,
                kind: a.kind,
                message: a.message,
                raised_at: a.raised_at,
                facebook_page_id: Some(page.facebook_page_id.to_string()),
                campaign_id: a.campaign_id,
            })
        })
        .collect())
}

/// The open alerts, looked at again every 15 seconds: a fixed problem goes away by itself (the
/// next round of checks clears it), a new one shows without a reload.
#[component]
pub fn AlertsPanel(#[prop(optional)] campaign_id: Option<String>) -> impl IntoView {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(15),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let reconnect = ServerAction::<crate::pages::ConnectPage>::new();
    let resume = ServerAction::<crate::pages::paused::ResumePage>::new();
    let retry = ServerAction::<crate::pages::reach::RetryTemplate>::new();
    let alerts = crate::loading::load(
        move || {
            (
                campaign_id.clone(),
                tick.get(),
                reconnect.version().get(),
                resume.version().get(),
                retry.version().get(),
            )
        },
        |(id, ..)| my_alerts(id),
    );
    let button = move |alert: &Alert| {
        let page = alert.facebook_page_id.clone().unwrap_or_default();
        match alert.kind.action() {
            Some(AlertAction::Reconnect) => view! {
                <ActionForm action=reconnect>
                    <input type="hidden" name="facebook_page_id" value=page/>
                    <button type="submit" data-testid="alert-action">"Reconnect"</button>
                </ActionForm>
            }
            .into_any(),
            Some(AlertAction::Resume) => view! {
                <ActionForm action=resume>
                    <input type="hidden" name="facebook_page_id" value=page/>
                    <button type="submit" data-testid="alert-action">"Send again"</button>
                </ActionForm>
            }
            .into_any(),
            Some(AlertAction::RetryTemplate) => view! {
                <ActionForm action=retry>
                    <input type="hidden" name="facebook_page_id" value=page/>
                    <button type="submit" data-testid="alert-action">"Ask Meta again"</button>
                </ActionForm>
            }
            .into_any(),
            // The same dialog as the Page panel's "Grant": Facebook asks for what was declined.
            Some(AlertAction::Grant) => view! {
                <a class="button" href="/auth/facebook?rerequest=1" rel="external" data-testid="alert-action">
                    "Grant the permission"
                </a>
            }
            .into_any(),
            None => ().into_any(),
        }
    };
    view! {
        <Transition>
            {move || alerts.get().and_then(Result::ok).filter(|a| !a.is_empty()).map(|list| view! {
                <section class="alerts" data-testid="alerts" aria-label="Alerts">
                    {list.into_iter().map(|a| {
                        let action = button(&a);
                        view! {
                            <div class="notice banner" role="alert" data-testid="alert" data-kind=a.kind.as_str()>
                                <p>{a.message.clone()}</p>
                                {action}
                            </div>
                        }
                    }).collect_view()}
                </section>
            })}
        </Transition>
    }
}
