//! An admin's rights on Pages are Facebook's to give and take: they are read from `/me/accounts`
//! (with the admin's own token; a Page's `tasks` tell the rights) at login, again at the first
//! request once the stored reading is older than `RIGHTS_RECHECK_SECONDS`, and always right
//! before publishing, ending, notifying or reading entrants.
//!
//! A right lost on Facebook takes effect at once: the admin's stored right on the Page is removed
//! (so every function refuses them), and the privileged action asked is refused with "You no
//! longer manage <Page> on Facebook." Campaigns belong to their Page, not to an admin: they stay,
//! for whoever still manages the Page.
//!
//! When Facebook cannot be asked, the stricter choice: privileged actions are refused (401 with
//! "log in again" when the admin's token is dead, 503 when Facebook is unreachable), while the
//! rest (editing and reading the campaigns of Pages they managed at the last reading) goes on
//! with the stored rights, and the reading is tried again at the next request.

use super::{store, Admin};
use crate::error::AppError;
use crate::{messenger::graph::GraphError, state::AppState};

/// Why Facebook did not say what the admin's rights are.
enum Unconfirmed {
    /// No token, or Facebook refused it (expired, revoked, password changed: code 190).
    TokenDead,
    /// Facebook did not answer usefully.
    Unreachable,
}

/// Reads the admin's Pages from Facebook now and stores the rights they give.
async fn read_now(
    state: &AppState,
    admin_id: &str,
) -> Result<Result<(), Unconfirmed>, sqlx::Error> {
    let Some(token) = store::user_token(&state.db, &state.token_cipher, admin_id).await? else {
        return Ok(Err(Unconfirmed::TokenDead));
    };
    match state.graph.accounts(&token).await {
        Ok(accounts) => {
            record(state, admin_id, &accounts).await?;
            Ok(Ok(()))
        }
        Err(GraphError::Api { error, .. }) if error.code == 190 => {
            tracing::info!(admin = %admin_id, "the admin's Facebook token was refused");
            Ok(Err(Unconfirmed::TokenDead))
        }
        Err(e) => {
            tracing::warn!(admin = %admin_id, error = %e.reason(), "the admin's Pages could not be read");
            Ok(Err(Unconfirmed::Unreachable))
        }
    }
}

/// Stores the rights a fresh `/me/accounts` gives, and when they were read.
pub async fn record(
    state: &AppState,
    admin_id: &str,
    accounts: &[crate::messenger::graph::PageAccount],
) -> Result<(), sqlx::Error> {
    crate::pages::store::refresh_rights(&state.db, admin_id, accounts).await?;
    sqlx::query("UPDATE admins SET rights_checked_at = $1 WHERE id = $2")
        .bind(crate::db::now_ms())
        .bind(admin_id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// Reads the admin's rights again when the stored reading is older than the setting. One
/// request claims the reading, so concurrent ones do not all ask Facebook; if Facebook cannot
/// be asked the claim is given back and the next request tries again.
pub async fn recheck_if_due(state: &AppState, admin_id: &str) -> Result<(), sqlx::Error> {
    let now = crate::db::now_ms();
    let checked_at: Option<i64> =
        sqlx::query_scalar("SELECT rights_checked_at FROM admins WHERE id = $1")
            .bind(admin_id)
            .fetch_optional(&state.db)
            .await?;
    let Some(checked_at) = checked_at else {
        return Ok(());
    };
    if now - checked_at < state.settings.auth.rights_recheck_ms.max(1) {
        return Ok(());
    }
    let claimed = sqlx::query(
        "UPDATE admins SET rights_checked_at = $1 WHERE id = $2 AND rights_checked_at = $3",
    )
    .bind(now)
    .bind(admin_id)
    .bind(checked_at)
    .execute(&state.db)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(());
    }
    if read_now(state, admin_id).await?.is_err() {
        sqlx::query(
            "UPDATE admins SET rights_checked_at = $1 WHERE id = $2 AND rights_checked_at = $3",
        )
        .bind(checked_at)
        .bind(admin_id)
        .bind(now)
        .execute(&state.db)
        .await?;
    }
    Ok(())
}

/// Before a privileged action on a campaign (publish, end, notify, read its entrants): asks
/// Facebook now whether the admin still manages the campaign's Page. A campaign the admin did
/// not manage is left to the caller's own refusal (it does not learn the Page's name here).
pub async fn confirm_campaign(
    state: &AppState,
    admin: &Admin,
    campaign_id: &str,
) -> Result<(), AppError> {
    let page = match crate::campaigns::store::page_of(&state.db, campaign_id).await? {
        Some(page_row_id) => {
            crate::pages::store::managed(&state.db, &admin.id, &page_row_id).await?
        }
        None => None,
    };
    confirm(state, admin, page).await
}

/// [`confirm_campaign`], then the campaign as its editor shows it; refused (403) when the admin
/// does not manage it. What every action on one campaign (its entrants, its draw) starts with.
pub async fn managed_campaign(
    state: &AppState,
    admin: &Admin,
    campaign_id: &str,
) -> Result<crate::campaigns::Campaign, AppError> {
    confirm_campaign(state, admin, campaign_id).await?;
    crate::campaigns::store::find_for_admin(&state.db, &admin.id, campaign_id)
        .await?
        .ok_or_else(|| {
            AppError::refused(
                http::StatusCode::FORBIDDEN,
                "You do not manage this campaign.",
            )
        })
}

/// As [`confirm_campaign`], for a Page named by its Facebook id (its message statistics).
pub async fn confirm_page(
    state: &AppState,
    admin: &Admin,
    facebook_page_id: &str,
) -> Result<(), AppError> {
    let page =
        crate::pages::store::managed_by_facebook_id(&state.db, &admin.id, facebook_page_id).await?;
    confirm(state, admin, page).await
}

async fn confirm(
    state: &AppState,
    admin: &Admin,
    // The Page the action touches, as the admin's stored rights found it.
    page: Option<crate::pages::store::Named>,
) -> Result<(), AppError> {
    let Some(crate::pages::store::Named { id: page_id, name }) = page else {
        return Ok(());
    };
    match read_now(state, &admin.id).await? {
        Ok(()) => {}
        Err(Unconfirmed::TokenDead) => {
            return Err(AppError::refused(
                http::StatusCode::UNAUTHORIZED,
                format!(
                "Your Facebook login has ended: log in again to confirm you still manage {name}."
            ),
            ))
        }
        Err(Unconfirmed::Unreachable) => {
            return Err(AppError::refused(
                http::StatusCode::SERVICE_UNAVAILABLE,
                format!(
                "Facebook could not confirm that you still manage {name}; try again in a moment."
            ),
            ))
        }
    }
    if !crate::pages::store::manages(&state.db, &admin.id, &page_id).await? {
        tracing::info!(admin = %admin.id, page = %page_id, "right on the Page lost on Facebook");
        return Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            format!("You no longer manage {name} on Facebook."),
        ));
    }
    Ok(())
}
