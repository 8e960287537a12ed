//! Facebook Pages: which ones an admin moderates, connecting one (token encrypted, app subscribed
//! to its webhooks, Get Started button set), and its health.

pub mod paused;
pub mod reach;
#[cfg(feature = "ssr")]
pub mod store;

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

/// The admin's Pages as Facebook lists them now, read with their stored user token.
#[cfg(feature = "ssr")]
async fn admin_accounts(
    state: &crate::state::AppState,
    admin: &crate::admins::Admin,
) -> Result<Vec<crate::messenger::graph::PageAccount>, AppError> {
    let token = crate::admins::store::user_token(&state.db, &state.token_cipher, &admin.id)
        .await?
        .ok_or_else(|| AppError::refused(http::StatusCode::UNAUTHORIZED, "Please log in again."))?;
    state.graph.accounts(&token).await.map_err(|e| {
        tracing::warn!(error = %e, "cannot list the admin's Pages");
        AppError::refused(
            http::StatusCode::BAD_GATEWAY,
            "Facebook did not list your Pages; log in again.",
        )
    })
}

/// The signed-in admin and a connected Page they manage, or the refusal every Page function
/// gives (401 without a session, 403 for someone else's Page).
#[cfg(feature = "ssr")]
pub(crate) async fn managed_page(
    facebook_page_id: &str,
) -> Result<(crate::state::AppState, store::Connected), AppError> {
    page_for_admin(facebook_page_id, false).await
}

/// `managed_page` for what acts in the Page's name (sending again, asking Meta for a template):
/// the admin's rights are read from Facebook first, however recently they were.
#[cfg(feature = "ssr")]
pub(crate) async fn privileged_page(
    facebook_page_id: &str,
) -> Result<(crate::state::AppState, store::Connected), AppError> {
    page_for_admin(facebook_page_id, true).await
}

#[cfg(feature = "ssr")]
async fn page_for_admin(
    facebook_page_id: &str,
    recheck: bool,
) -> Result<(crate::state::AppState, store::Connected), AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    if recheck {
        crate::admins::rights::confirm_page(&state, &admin, facebook_page_id).await?;
    }
    match store::find_for_admin(&state.db, &admin.id, facebook_page_id).await? {
        Some(page) => Ok((state, page)),
        None => Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not manage this Page.",
        )),
    }
}

/// The Pages the signed-in admin moderates, as Facebook says now, with their connection state.
#[server(endpoint = "my_pages")]
pub async fn my_pages() -> Result<Vec<ManagedPage>, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    let accounts = admin_accounts(&state, &admin).await?;
    let connected = store::connected_for_admin(&state.db, &admin.id).await?;
    let mut pages = Vec::new();
    for a in accounts.into_iter().filter(|a| moderates(&a.tasks)) {
        let link = connected
            .iter()
            .find(|c| c.facebook_page_id.as_str() == a.id);
        let health = match link {
            None => Health::NotConnected,
            Some(c) if c.token_status.works() => Health::Healthy,
            Some(c) => Health::Reconnect(c.token_status.to_string()),
        };
        let (outside_window, paused) = match link {
            Some(c) => (
                Some(reach::outside_window(&state.db, &c.id).await?),
                paused::reason(&state.db, &c.id).await?,
            ),
            None => (None, None),
        };
        pages.push(ManagedPage {
            role: role(&a.tasks).to_string(),
            enabled: link.is_none_or(|c| c.enabled),
            get_started_warning: link.and_then(|c| c.get_started_warning.clone()),
            outside_window,
            paused,
            facebook_page_id: a.id,
            name: a.name,
            category: a.category,
            health,
        });
    }
    Ok(pages)
}

/// Reads what a person opening a new thread sees, and says what hides Get Started (ice
/// breakers take precedence over it); `None` when it shows. Recorded for the Pages panel.
#[cfg(feature = "ssr")]
async fn check_get_started(
    state: &crate::state::AppState,
    facebook_page_id: &str,
    token: &crate::secrets::Secret,
) -> Option<String> {
    let warning = match state.graph.messenger_profile(token).await {
        Ok(p) if p.ice_breakers => Some(
            "Ice breakers are set on this Page's Messenger profile, and Messenger shows them instead of Get Started: people who open the entry link in a new conversation cannot be entered automatically. Remove the ice breakers (Meta Business Suite, or another app using the Page) or entrants must send their code."
                .to_string(),
        ),
        Ok(p) if !p.get_started => Some(
            "The Page's Get Started button is missing: people who open the entry link in a new conversation must send their code.".to_string(),
        ),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e.reason(), page = %facebook_page_id, "messenger profile not read");
            return None;
        }
    };
    if let Err(e) = store::record_get_started(&state.db, facebook_page_id, warning.as_deref()).await
    {
        tracing::warn!(error = %e, "Get Started check not recorded");
    }
    warning
}

/// Connects a Page the admin moderates: Meta first (subscribe, Get Started), then the database,
/// so a failure at Meta stores nothing.
#[server(endpoint = "connect_page")]
pub async fn connect_page(facebook_page_id: String) -> Result<ConnectOutcome, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    let graph = &state.graph;
    let accounts = admin_accounts(&state, &admin).await?;
    let Some(account) = accounts
        .into_iter()
        .find(|a| a.id == facebook_page_id && moderates(&a.tasks))
    else {
        return Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not moderate this Page.",
        ));
    };
    let Some(page_token) = account.access_token() else {
        return Err(AppError::refused(
            http::StatusCode::BAD_GATEWAY,
            "Facebook gave no token for this Page.",
        ));
    };
    // The template field needs pages_utility_messaging, which is optional: never let it stop
    // the connection.
    let utility =
        crate::admins::store::has_scope(&state.db, &admin.id, reach::UTILITY_SCOPE).await?;
    let at_meta = async {
        let subscribed = reach::subscribe(&state, &account.id, &page_token, utility).await?;
        graph
            .set_get_started(&page_token, GET_STARTED_PAYLOAD)
            .await?;
        Ok::<_, crate::messenger::graph::GraphError>(subscribed)
    };
    let subscribed = match at_meta.await {
        Ok(subscribed) => subscribed,
        Err(e) => {
            tracing::warn!(error = %e, page = %account.id, "connecting the Page failed at Meta");
            return Err(AppError::refused(
                http::StatusCode::BAD_GATEWAY,
                format!("Facebook refused: {}", e.meta_words()),
            ));
        }
    };
    let page_row_id = store::connect(
        &state.db,
        &state.token_cipher,
        &admin.id,
        &account,
        &page_token,
    )
    .await?;
    let mut notes = Vec::new();
    if subscribed.template_updates {
        crate::notices::templates::set_permission(&state.db, &page_row_id, true).await?;
    } else {
        crate::notices::templates::set_permission(&state.db, &page_row_id, false).await?;
        notes.push(match subscribed.refused {
            Some(words) => format!(
                "Connected, but Meta refused the template updates ({words}): notices reach only people inside the 24-hour window until pages_utility_messaging is granted."
            ),
            None => "Connected without pages_utility_messaging: notices reach only people inside the 24-hour window until you grant it.".to_string(),
        });
    }
    if let Some(warning) = check_get_started(&state, &account.id, &page_token).await {
        notes.push(warning);
    }
    // The public pages show the Page's name as Meta now gives it.
    state.showcase.forget_all();
    // Notices paused by an invalid token resume; the utility template is asked for now.
    if let Err(e) = crate::notices::sender::page_resumed(&state, &page_row_id).await {
        tracing::warn!(error = %e, "resuming the Page's notices failed");
    }
    Ok(ConnectOutcome { notes })
}

/// Asks Meta whether the Page token still works, and records the answer.
#[server(endpoint = "check_page")]
pub async fn check_page(facebook_page_id: String) -> Result<Health, AppError> {
    let (state, _) = managed_page(&facebook_page_id).await?;
    // The admin's own check also looks at what hides Get Started (not every editor view: that
    // asks Meta about the token only).
    let token = store::page_token(&state.db, &state.token_cipher, &facebook_page_id).await?;
    if let Some(token) = &token {
        check_get_started(&state, &facebook_page_id, token).await;
    }
    health_now(&state, &facebook_page_id).await?.ok_or_else(|| {
        AppError::refused(
            http::StatusCode::BAD_GATEWAY,
            "Facebook could not be asked; try again.",
        )
    })
}

/// Asks Meta whether a connected Page's token still works, records the answer and returns it;
/// `None` when Meta could not be asked (logged). Callers check the admin's rights first.
#[cfg(feature = "ssr")]
async fn health_now(
    state: &crate::state::AppState,
    facebook_page_id: &str,
) -> Result<Option<Health>, sqlx::Error> {
    let token = store::page_token(&state.db, &state.token_cipher, facebook_page_id).await?;
    let graph = &state.graph;
    let (status, data_access) = match token {
        None => (TokenStatus::Revoked, None),
        Some(token) => match graph.debug_token(&token).await {
            Ok(info) if info.is_valid => {
                let lapsed = info
                    .data_access_expires_at
                    .is_some_and(|t| t > 0 && t * 1000 < crate::db::now_ms());
                (
                    if lapsed {
                        TokenStatus::DataAccessExpired
                    } else {
                        TokenStatus::Valid
                    },
                    info.data_access_expires_at,
                )
            }
            Ok(info) => {
                let expired = info
                    .expires_at
                    .is_some_and(|t| t > 0 && t * 1000 < crate::db::now_ms());
                (
                    if expired {
                        TokenStatus::Expired
                    } else {
                        TokenStatus::Revoked
                    },
                    info.data_access_expires_at,
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "debug_token failed");
                return Ok(None);
            }
        },
    };
    store::record_health(&state.db, facebook_page_id, status, data_access).await?;
    Ok(Some(if status == TokenStatus::Valid {
        Health::Healthy
    } else {
        Health::Reconnect(status.to_string())
    }))
}

/// A connected Page that must be reconnected before anything can be sent for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsReconnect {
    pub name: String,
    /// `expired`, `revoked`, `data_access_expired`...
    pub why: String,
}

/// For the campaign editor: whether this Page needs reconnecting, asked of Meta now so the admin
/// hears it before a send fails. When Meta cannot be asked, the last recorded health answers.
/// `None` also for a Page the admin does not manage: the editor has nothing to offer then.
#[server(endpoint = "page_needs_reconnect")]
pub async fn page_needs_reconnect(
    facebook_page_id: String,
) -> Result<Option<NeedsReconnect>, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    let Some(page) = store::find_for_admin(&state.db, &admin.id, &facebook_page_id).await? else {
        return Ok(None);
    };
    let health = match health_now(&state, &facebook_page_id).await? {
        Some(health) => health,
        None if page.token_status.works() => Health::Healthy,
        None => Health::Reconnect(page.token_status.to_string()),
    };
    Ok(match health {
        Health::Reconnect(why) => Some(NeedsReconnect {
            name: page.name,
            why,
        }),
        _ => None,
    })
}

/// The admin's Pages, with Connect and Check buttons.
#[component]
pub fn PagesPanel() -> impl IntoView {
    let connect = ServerAction::<ConnectPage>::new();
    let check = ServerAction::<CheckPage>::new();
    let pages = Resource::new(
        move || (connect.version().get(), check.version().get()),
        |_| my_pages(),
    );
    view! {
        <section class="card" aria-labelledby="pages-heading">
            <h2 id="pages-heading">"Your Pages"</h2>
            {move || connect.value().get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(outcome) => view! {
                    <ul class="notes" data-testid="connect-notes">
                        {outcome.notes.into_iter().map(|n| view! { <li class="notice" data-testid="connect-note">{n}</li> }).collect_view()}
                    </ul>
                }.into_any(),
            })}
            <Suspense fallback=|| view! { <p>"Loading your Pages…"</p> }>
                {move || pages.get().map(|result| match result {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p data-testid="no-pages">"You do not moderate any Facebook Page."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="pages">
                            {list.into_iter().map(|p| {
                                let row_id = p.facebook_page_id.clone();
                                let id = p.facebook_page_id.clone();
                                let id2 = id.clone();
                                let status = match &p.health {
                                    Health::NotConnected => view! { <span class="muted">"Not connected"</span> }.into_any(),
                                    Health::Healthy => view! { <span class="ok" data-testid="page-connected">"Connected"</span> }.into_any(),
                                    Health::Reconnect(why) => view! { <span class="error" data-testid="page-reconnect">{format!("Reconnect needed ({why})")}</span> }.into_any(),
                                };
                                let connected = p.health != Health::NotConnected;
                                let outside = p.outside_window.clone().map(|state| {
                                    let fb_id = p.facebook_page_id.clone();
                                    view! { <reach::OutsideWindowLine facebook_page_id=fb_id state=state/> }
                                });
                                let paused = p.paused.clone().map(|reason| {
                                    let fb_id = p.facebook_page_id.clone();
                                    view! { <paused::PausedNotice facebook_page_id=fb_id reason=reason/> }
                                });
                                let get_started = p.get_started_warning.clone().map(|w| view! {
                                    <p class="warning" role="status" data-testid="get-started-warning">{w}</p>
                                });
                                // Mounted on demand: each open panel polls its figures.
                                let stats_open = RwSignal::new(false);
                                let stats_id = id.clone();
                                view! {
                                    <li class="page-row" data-testid="page" data-page-id=row_id>
                                        <div>
                                            <strong>{p.name}</strong>
                                            <span class="muted">{format!(" · {} · {}", p.role, p.category.unwrap_or_default())}</span>
                                        </div>
                                        <div class="page-actions">
                                            {status}
                                            <ActionForm action=connect>
                                                <input type="hidden" name="facebook_page_id" value=id/>
                                                <button type="submit" data-testid="connect-page">
                                                    {if connected { "Reconnect" } else { "Connect" }}
                                                </button>
                                            </ActionForm>
                                            {connected.then(|| view! {
                                                <ActionForm action=check>
                                                    <input type="hidden" name="facebook_page_id" value=id2/>
                                                    <button type="submit" class="secondary">"Check"</button>
                                                </ActionForm>
                                                <button type="button" class="secondary" data-testid="page-stats-toggle"
                                                    aria-expanded=move || stats_open.get().to_string()
                                                    on:click=move |_| stats_open.update(|o| *o = !*o)>
                                                    "Messages"
                                                </button>
                                            })}
                                        </div>
                                        {paused}
                                        {outside}
                                        {get_started}
                                        {move || stats_open.get().then(|| view! {
                                            <div class="page-stats" data-testid="page-stats">
                                                <h3>"Messages sent from this Page"</h3>
                                                <crate::notices::panel::NoticeStatistics
                                                    scope=crate::notices::Scope::Page(stats_id.clone())/>
                                            </div>
                                        }.into_any())}
                                    </li>
                                }.into_any()
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

crate::word_enum! {
    /// What an admin can do to a connected Page (`page_action`).
    pub enum PageCommand("page action") {
        Enable = "enable",
        Disable = "disable",
        Disconnect = "disconnect",
    }
}

/// `enable`, `disable` or `disconnect` a connected Page the admin manages.
#[server(endpoint = "page_action")]
pub async fn page_action(facebook_page_id: String, action: String) -> Result<(), AppError> {
    let (state, page) = privileged_page(&facebook_page_id).await?;
    // The word stays a string on the wire: an unknown one gets this answer.
    let Ok(action) = action.parse::<PageCommand>() else {
        return Err(AppError::refused(
            http::StatusCode::BAD_REQUEST,
            "Unknown action.",
        ));
    };
    // Turning off or forgetting a Page is refused while a live or scheduled campaign uses it;
    // the answer names it.
    if action != PageCommand::Enable {
        if let Some(title) = crate::campaigns::store::active_on_page(&state.db, &page.id).await? {
            return Err(AppError::refused(
                http::StatusCode::CONFLICT,
                format!("The campaign “{title}” uses this Page; end or archive it first."),
            ));
        }
    }
    match action {
        PageCommand::Enable => {
            store::set_enabled(&state.db, &page.id, true).await?;
            crate::notices::sender::page_resumed(&state, &page.id).await?;
        }
        PageCommand::Disable => store::set_enabled(&state.db, &page.id, false).await?,
        PageCommand::Disconnect => store::disconnect(&state.db, &page.id).await?,
    }
    Ok(())
}
