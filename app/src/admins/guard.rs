//! The check every admin server function makes first: who is calling, and may they touch this
//! Page. Failures are errors with a 401/403 status, never redirects, so nothing after the check
//! can run for an outsider.

use super::{auth, store, Admin};
use crate::state::AppState;
use leptos::prelude::*;

/// The signed-in admin, or an error (HTTP 401).
pub async fn require_admin() -> Result<(AppState, Admin), ServerFnError> {
    let state = expect_context::<AppState>();
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    let admin = session_admin(&state, &session).await.map_err(internal)?;
    match admin {
        Some(admin) => Ok((state, admin)),
        None => Err(refuse(
            http::StatusCode::UNAUTHORIZED,
            "You are not logged in.",
        )),
    }
}

/// An error response with a status; the message is safe to show.
pub fn refuse(status: http::StatusCode, message: &str) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    ServerFnError::new(message)
}

/// Logs the detail, tells the browser only that something failed.
pub fn internal(e: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %e, "server function failed");
    refuse(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "The server could not complete this request.",
    )
}

/// The admin a session belongs to, if any, with their rights read from Facebook again first
/// when the stored reading is older than `RIGHTS_RECHECK_SECONDS` ([`super::rights`]). Plain
/// axum routes (image uploads) call this themselves; server functions go through
/// `require_admin`, which calls it too.
pub async fn session_admin(
    state: &AppState,
    session: &tower_sessions::Session,
) -> Result<Option<Admin>, sqlx::Error> {
    let Some(id) = auth::admin_id(session).await else {
        return Ok(None);
    };
    let admin = store::find(&state.db, &id).await?;
    if let Some(admin) = &admin {
        super::rights::recheck_if_due(state, &admin.id).await?;
    }
    Ok(admin)
}
