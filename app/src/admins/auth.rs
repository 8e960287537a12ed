//! "Continue with Facebook" for admins: the OAuth code flow with CSRF state and PKCE, both kept in
//! the server-side session under named keys and removed once used; then the long-lived token
//! exchange, the admin row, and a fresh session id.

use super::store;
use crate::{messenger::graph::GraphClient, state::AppState};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use oauth2::{
    basic::BasicClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// Session keys.
pub const ADMIN_ID: &str = "admin.id";
const OAUTH_STATE: &str = "oauth.admin.state";
const OAUTH_PKCE_VERIFIER: &str = "oauth.admin.pkce_verifier";

/// What the product needs of admins (facts file §1). `pages_messaging` needs the first two;
/// `business_management` finds Pages held through a business portfolio.
pub const REQUIRED_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "business_management",
];
/// Asked for too, but optional: it has Standard Access only until App Review, which Meta grants
/// only after one template was created with it. Without it notices reach people inside the
/// 24-hour window only; nothing else depends on it.
pub use crate::pages::reach::UTILITY_SCOPE;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/facebook", get(start))
        .route("/auth/facebook/callback", get(callback))
        .route("/auth/logout", post(logout))
}

pub(crate) type Client =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn oauth_client(state: &AppState) -> Client {
    login_client(state, "/auth/facebook/callback")
}

/// An OAuth client for Facebook Login returning to `callback_path` (admins and entrants each
/// have their own; both must be registered as redirect URIs of the Facebook app).
pub(crate) fn login_client(state: &AppState, callback_path: &str) -> Client {
    let fb = &state.settings.facebook;
    let graph = &state.graph;
    let redirect = state
        .settings
        .public_base_url
        .join(callback_path)
        .expect("valid path");
    BasicClient::new(ClientId::new(fb.app_id.clone()))
        .set_client_secret(ClientSecret::new(fb.app_secret.expose().to_string()))
        .set_auth_uri(AuthUrl::from_url(GraphClient::dialog_url(
            &fb.www_url,
            &fb.graph_version,
        )))
        .set_token_uri(TokenUrl::from_url(graph.token_url()))
        .set_redirect_uri(RedirectUrl::from_url(redirect))
        // Meta takes client_id and client_secret as parameters, not HTTP Basic.
        .set_auth_type(AuthType::RequestBody)
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    rerequest: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<StartQuery>,
) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = oauth_client(&state);
    let mut request = client.authorize_url(CsrfToken::new_random);
    for scope in REQUIRED_SCOPES.iter().chain([&UTILITY_SCOPE]) {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    if query.rerequest.is_some() {
        // Without it, Meta does not show permissions the person declined before.
        request = request.add_extra_param("auth_type", "rerequest");
    }
    let (url, csrf) = request.set_pkce_challenge(challenge).url();
    let saved = async {
        session.insert(OAUTH_STATE, csrf.secret()).await?;
        session.insert(OAUTH_PKCE_VERIFIER, verifier.secret()).await
    };
    if let Err(e) = saved.await {
        tracing::error!(error = %e, "cannot save the login state in the session");
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Login is unavailable",
            "Please try again in a moment.",
        );
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_reason: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // Taken out of the session whatever happens next: a state or verifier is good for one try.
    let expected: Option<String> = session.remove(OAUTH_STATE).await.ok().flatten();
    let verifier: Option<String> = session.remove(OAUTH_PKCE_VERIFIER).await.ok().flatten();
    // tower-sessions drops the cookie of a session left empty but keeps its stored record, which
    // would keep the state alive for anyone replaying the old cookie: delete it now.
    if session.is_empty().await {
        if let Err(e) = session.flush().await {
            tracing::warn!(error = %e, "could not delete the used login session");
        }
    }
    let state_matches = match (&expected, &query.state) {
        (Some(expected), Some(got)) => bool::from(expected.as_bytes().ct_eq(got.as_bytes())),
        _ => false,
    };
    if !state_matches {
        return problem(
            StatusCode::BAD_REQUEST,
            "This login attempt is not valid",
            "It was already used, has expired, or did not start on this site. Please start again.",
        );
    }
    if let Some(error) = &query.error {
        tracing::info!(
            error,
            reason = query.error_reason.as_deref().unwrap_or(""),
            "login dialog refused"
        );
        return Redirect::to("/login?cancelled=1").into_response();
    }
    let (Some(code), Some(verifier)) = (query.code, verifier) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Facebook sent no login code",
            "Please start again.",
        );
    };

    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(_) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login is unavailable",
                "Please try again.",
            )
        }
    };
    let exchanged = oauth_client(&state)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await;
    let short_token = match exchanged {
        Ok(token) => crate::secrets::Secret::new(token.access_token().secret().clone()),
        Err(e) => {
            tracing::warn!(error = %e, "login code exchange refused");
            return problem(
                StatusCode::BAD_REQUEST,
                "Facebook did not accept this login",
                "The login code was already used or has expired. Please start again.",
            );
        }
    };

    match finish_login(&state, &session, &short_token).await {
        Ok(Outcome::LoggedIn) => Redirect::to("/admin").into_response(),
        Ok(Outcome::Missing(missing)) => {
            Redirect::to(&format!("/login?missing={}", missing.join(","))).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "login could not be completed");
            problem(
                StatusCode::BAD_GATEWAY,
                "Facebook could not be reached",
                "Please try again in a moment.",
            )
        }
    }
}

enum Outcome {
    LoggedIn,
    Missing(Vec<String>),
}

async fn finish_login(
    state: &AppState,
    session: &Session,
    short_token: &crate::secrets::Secret,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let graph = &state.graph;
    let long = graph.long_lived_token(short_token).await?;
    let token = crate::secrets::Secret::new(long.access_token.clone());
    let me = graph.me(&token).await?;
    let permissions = graph.permissions(&token).await?;
    let granted: Vec<String> = permissions
        .iter()
        .filter(|p| p.status == "granted")
        .map(|p| p.permission.clone())
        .collect();
    let missing: Vec<String> = REQUIRED_SCOPES
        .iter()
        .filter(|s| !granted.iter().any(|g| g == *s))
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Ok(Outcome::Missing(missing));
    }
    let expires_at = long.expires_in.map(|s| crate::db::now_ms() + s * 1000);
    let admin = store::upsert_at_login(
        &state.db,
        &state.token_cipher,
        &me.id,
        &me.name,
        &token,
        expires_at,
        &granted,
    )
    .await?;
    // Rights are Facebook's to give: recompute them from the Pages this person moderates now.
    let accounts = graph.accounts(&token).await?;
    crate::pages::store::refresh_rights(&state.db, &admin.id, &accounts).await?;
    if granted.iter().any(|g| g == UTILITY_SCOPE) {
        // Granted now (perhaps asked again from the Pages panel): the Pages this admin connected
        // without it get their template, and the notices waiting for it go.
        crate::pages::reach::utility_granted(state, &admin.id).await?;
    }
    // A new session id at the moment of login defeats session fixation.
    session.cycle_id().await?;
    session.insert(ADMIN_ID, &admin.id).await?;
    tracing::info!(admin = %admin.id, "admin logged in");
    Ok(Outcome::LoggedIn)
}

async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "could not end the session");
    }
    Redirect::to("/").into_response()
}

/// The signed-in admin's id, if any.
pub async fn admin_id(session: &Session) -> Option<String> {
    session.get::<String>(ADMIN_ID).await.ok().flatten()
}

/// A small, self-contained error page for the OAuth redirects (they are not Leptos routes).
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t}</title><link rel=\"stylesheet\" \
         href=\"/pkg/giveaway.css\"></head><body><main><section class=\"not-found\"><h1>{t}</h1><p>{d}</p>\
         <p><a class=\"button\" href=\"/login\">Back to login</a></p></section></main></body></html>",
        t = crate::html::esc(title),
        d = crate::html::esc(detail)
    );
    (status, Html(html)).into_response()
}
