//! Whether a Page may send at all, and pausing it when Meta refuses every send of it.

use super::*;

/// Why a run stops the Page's sends until someone acts.
pub(super) enum Pause {
    /// The token stopped working (190): reconnecting resumes it.
    Token { reason: String, status: TokenStatus },
    /// A Page-level problem at Meta (policy block, permission or configuration): the admin
    /// resumes it once fixed.
    Page { reason: String },
}

impl Pause {
    pub(super) fn reason(&self) -> &str {
        match self {
            Pause::Token { reason, .. } | Pause::Page { reason } => reason,
        }
    }
}

pub(super) struct Page {
    pub(super) row_id: PageRowId,
    pub(super) facebook_page_id: FacebookPageId,
    pub(super) token: Secret,
}

/// 463 means expired; the other 190 subcodes mean the token was invalidated.
pub(super) fn token_status(error: &GraphError) -> TokenStatus {
    match error.api().and_then(|e| e.error_subcode) {
        Some(463) => TokenStatus::Expired,
        _ => TokenStatus::Revoked,
    }
}

pub(super) async fn sendable_page(
    state: &AppState,
    page_row_id: &str,
) -> Result<Option<Page>, sqlx::Error> {
    let page = crate::pages::store::switches(&state.db, page_row_id).await?;
    let Some(crate::pages::store::Switches {
        facebook_page_id,
        enabled,
        paused_reason,
    }) = page
    else {
        return Ok(None);
    };
    if !enabled || paused_reason.is_some() {
        return Ok(None);
    }
    let token =
        crate::pages::store::page_token(&state.db, &state.token_cipher, &facebook_page_id).await?;
    Ok(token.map(|token| Page {
        row_id: PageRowId::from(page_row_id),
        facebook_page_id,
        token,
    }))
}

pub(super) async fn pause_page(
    db: &Db,
    page_row_id: &PageRowId,
    pause: &Pause,
) -> Result<(), sqlx::Error> {
    match pause {
        Pause::Token { reason, status } => {
            crate::pages::store::pause_for_token(db, page_row_id, reason, *status).await
        }
        // The token works: its status stays, and a health check does not end this pause.
        Pause::Page { reason } => crate::pages::paused::pause(db, page_row_id, reason).await,
    }
}
