//! Who may act on which Page: the admin's Pages as Facebook lists them, and the connected Page
//! a Page function works on, refused for anyone who does not manage it.

use super::*;

/// The admin's Pages as Facebook lists them now, read with their stored user token.
pub(super) async fn admin_accounts(
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
pub(crate) async fn managed_page(
    facebook_page_id: &str,
) -> Result<(crate::state::AppState, store::Connected), AppError> {
    page_for_admin(facebook_page_id, false).await
}

/// `managed_page` for what acts in the Page's name (sending again, asking Meta for a template):
/// the admin's rights are read from Facebook first, however recently they were.
pub(crate) async fn privileged_page(
    facebook_page_id: &str,
) -> Result<(crate::state::AppState, store::Connected), AppError> {
    page_for_admin(facebook_page_id, true).await
}

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
