//! The check every admin server function makes first: who is calling, and may they touch this
//! Page. Failures are errors with a 401/403 status, never redirects, so nothing after the check
//! can run for an outsider.

use super::{auth, store, Admin};
use crate::{error::AppError, state::AppState};
use leptos::prelude::*;

/// The signed-in admin, or an error (HTTP 401).
pub async fn require_admin() -> Result<(AppState, Admin), AppError> {
    let state = expect_context::<AppState>();
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    match session_admin(&state, &session).await? {
        Some(admin) => Ok((state, admin)),
        None => Err(AppError::not_logged_in()),
    }
}

/// The signed-in admin's campaign `id`, once they are confirmed to manage its Page
/// (`rights::managed_campaign`).
pub async fn require_campaign(
    id: &str,
) -> Result<(AppState, crate::campaigns::Campaign), AppError> {
    let (state, admin) = require_admin().await?;
    let campaign = super::rights::managed_campaign(&state, &admin, id).await?;
    Ok((state, campaign))
}

/// The signed-in admin's campaign `id` by their stored rights (read again from Facebook every
/// `RIGHTS_RECHECK_SECONDS` on the way in, `session_admin`), without asking Facebook now: for
/// what a page shows and polls every few seconds (the campaign itself, its counts, its alerts),
/// which would otherwise call Graph on every poll and fail whenever Facebook is slow. Actions
/// and people's data go through [`require_campaign`].
pub async fn require_listed_campaign(
    id: &str,
) -> Result<(AppState, crate::campaigns::Campaign), AppError> {
    let (state, admin) = require_admin().await?;
    let campaign = crate::campaigns::store::find_for_admin(&state.db, &admin.id, id)
        .await?
        .ok_or_else(|| {
            AppError::refused(
                http::StatusCode::FORBIDDEN,
                "You do not manage this campaign.",
            )
        })?;
    Ok((state, campaign))
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
