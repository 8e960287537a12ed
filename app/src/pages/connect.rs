//! Connecting Pages: the list of Pages an admin moderates, connecting one (Meta first, then the
//! database), and turning a connected Page on or off or forgetting it.

#[cfg(feature = "ssr")]
use super::access::{admin_accounts, privileged_page};
use super::*;

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
pub(super) async fn check_get_started(
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
    // What the health checks said of this Page is looked at again at once.
    state.health.notify_one();
    Ok(ConnectOutcome { notes })
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
