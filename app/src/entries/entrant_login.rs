//! The Facebook login of campaigns that require one (`/c/{slug}/login` and its callback): who
//! the person is, nothing more, then the entry. Like the admin's login it keeps its state and
//! PKCE verifier in a short-lived sealed cookie (`admins::auth::LoginFlow`), not a session: a
//! visitor who never comes back leaves nothing on the server.

use super::{
    page::{entry_redirect, load_now, open_for_entries, Frame},
    store,
};
use crate::{
    admins::auth::{login_client, LoginState, ENTRANT_LOGIN},
    error::AppError,
    state::AppState,
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde::Deserialize;

const ENTRANT_CALLBACK: &str = "/auth/facebook/entrant";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{slug}/login", get(login_start))
        .route(ENTRANT_CALLBACK, get(login_callback))
}

/// Starts an entrant's Facebook login.
async fn login_start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let campaign = load_now(&state, &slug).await?;
    open_for_entries(&campaign)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = login_client(&state, ENTRANT_CALLBACK)
        .authorize_url(CsrfToken::new_random)
        // Who the person is, nothing more.
        .add_scope(Scope::new("public_profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut response = Redirect::to(url.as_str()).into_response();
    let login = LoginState {
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        started_at: crate::db::now_ms(),
        campaign: Some(slug),
    };
    ENTRANT_LOGIN.start(&state, &mut response, &login);
    Ok(response)
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn login_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let login = ENTRANT_LOGIN.returned(&state, &headers, query.state.as_deref());
    let mut response = login_outcome(&state, login, query)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    ENTRANT_LOGIN.finish(&state, &mut response);
    response
}

async fn login_outcome(
    state: &AppState,
    login: Option<LoginState>,
    query: Callback,
) -> Result<Response, AppError> {
    let Some(LoginState {
        verifier,
        campaign: Some(slug),
        ..
    }) = login
    else {
        return Err(AppError::page(
            StatusCode::BAD_REQUEST,
            "This login attempt is not valid",
            "It was already used, has expired, or did not start here. Please open the giveaway again.",
        ));
    };
    if query.error.is_some() {
        return Ok(Redirect::to(&format!("/c/{slug}?login=cancelled")).into_response());
    }
    let Some(code) = query.code else {
        return Err(AppError::page(
            StatusCode::BAD_REQUEST,
            "Facebook sent no login code",
            "Please open the giveaway again.",
        ));
    };
    let campaign = load_now(state, &slug).await?;
    open_for_entries(&campaign)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(AppError::internal)?;
    let token = match login_client(state, ENTRANT_CALLBACK)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
    {
        Ok(token) => crate::secrets::Secret::new(token.access_token().secret().clone()),
        Err(e) => {
            tracing::info!(error = %e, "entrant login code refused");
            return Err(AppError::page(
                StatusCode::BAD_REQUEST,
                "Facebook did not accept this login",
                "Please open the giveaway again.",
            ));
        }
    };
    // The app-scoped id is all we keep: one entry per person per campaign.
    let asid = match state.graph.me(&token).await {
        Ok(me) => me.id,
        Err(e) => {
            tracing::warn!(error = %e.reason(), "entrant identity not available");
            return Err(AppError::page(
                StatusCode::BAD_GATEWAY,
                "Facebook could not be reached",
                "Please try again in a moment.",
            ));
        }
    };
    // The tap was counted when the form was sent; Facebook's dialog in between leaves no
    // trace of the link's tags, so a logged-in entry counts as the entry page's, untagged.
    let from = super::Attribution::only(store::EntrySource::Page);
    let (entry, new) = store::create_pending(&state.db, &campaign.id, Some(&asid), &from).await?;
    if new {
        state
            .tally
            .add(&campaign.id, &from, crate::insight::Stage::Started);
    }
    Ok(entry_redirect(state, &campaign, &entry, Frame::Page))
}
