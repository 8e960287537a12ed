//! A connected Page's health: whether its token still works (asked of Meta, and recorded), and
//! what the campaign editor says when it must be reconnected.

#[cfg(feature = "ssr")]
use super::access::managed_page;
#[cfg(feature = "ssr")]
use super::connect::check_get_started;
use super::*;

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
pub(crate) async fn health_now(
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

/// Whether Facebook still sends this app the Page's webhooks (every field the product
/// subscribes to, `WEBHOOK_FIELDS`), asked of Graph now. `None` when it cannot be told: no
/// token, or Graph did not answer (the caller keeps what it knew).
#[cfg(feature = "ssr")]
pub(crate) async fn webhooks_subscribed(
    state: &crate::state::AppState,
    facebook_page_id: &str,
) -> Result<Option<bool>, sqlx::Error> {
    let Some(token) = store::page_token(&state.db, &state.token_cipher, facebook_page_id).await?
    else {
        return Ok(None);
    };
    match state
        .graph
        .subscribed_fields(facebook_page_id, &token)
        .await
    {
        Ok(fields) => Ok(Some(
            super::WEBHOOK_FIELDS
                .iter()
                .all(|f| fields.iter().any(|got| got == f)),
        )),
        Err(e) => {
            tracing::warn!(page = %facebook_page_id, error = %e, "the Page's webhook subscription could not be read");
            Ok(None)
        }
    }
}
