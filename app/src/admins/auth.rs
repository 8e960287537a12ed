//! "Continue with Facebook" for admins: the OAuth code flow with CSRF state and PKCE; then the
//! long-lived token exchange, the admin row, and a fresh session id.
//!
//! Until the login completes, nothing is stored on the server: the state and the PKCE verifier
//! travel in a short-lived cookie, encrypted and authenticated with a key derived from
//! `SECRET_KEY` (10 minutes, good for one callback: the callback always clears it). Login
//! starts are limited per client address (`LOGIN_RATE_LIMIT` a minute), and opening the start
//! never reads or extends a session.

use super::store;
use crate::{client::ClientAddr, messenger::graph::GraphClient, state::AppState};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use oauth2::{
    basic::BasicClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// Session keys.
pub const ADMIN_ID: &str = "admin.id";

/// How long a login started may take to come back from Facebook's dialog.
const LOGIN_STATE_MS: i64 = 10 * 60 * 1000;

/// The session cookie's name: `__Host-` prefixed when cookies are Secure (https).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-giveaway_session"
    } else {
        "giveaway_session"
    }
}

/// A Facebook login under way: its state, PKCE verifier and start time travel in a short-lived
/// cookie of their own, encrypted and bound to the flow, so that starting a login writes nothing
/// on the server (an anonymous visitor costs no session row) and never touches a live session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoginFlow {
    /// The cookie's name (`__Host-` prefixed on https).
    cookie: &'static str,
    /// Associated data of the sealed value: one flow's cookie does not open in another.
    purpose: &'static str,
}

/// The admin's login.
pub(crate) const ADMIN_LOGIN: LoginFlow = LoginFlow {
    cookie: "giveaway_login",
    purpose: "oauth:admin-login",
};
/// An entrant's login on a campaign that requires it.
pub(crate) const ENTRANT_LOGIN: LoginFlow = LoginFlow {
    cookie: "giveaway_entrant_login",
    purpose: "oauth:entrant-login",
};

/// What a login start hands to its callback, inside the cookie.
#[derive(Serialize, Deserialize)]
pub(crate) struct LoginState {
    pub state: String,
    pub verifier: String,
    pub started_at: i64,
    /// The campaign an entrant logs in for.
    #[serde(default)]
    pub campaign: Option<String>,
}

impl LoginFlow {
    fn cookie_name(self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.cookie)
        } else {
            self.cookie.to_string()
        }
    }

    /// Puts a started login in the response's cookie.
    pub(crate) fn start(self, state: &AppState, response: &mut Response, login: &LoginState) {
        let sealed = state.token_cipher.encrypt(
            &crate::secrets::Secret::new(serde_json::to_string(login).expect("plain strings")),
            self.purpose,
        );
        self.set_cookie(state, response, &sealed, LOGIN_STATE_MS / 1000);
    }

    /// Clears the cookie: a state and verifier are good for one try, whatever happened.
    pub(crate) fn finish(self, state: &AppState, response: &mut Response) {
        self.set_cookie(state, response, "", 0);
    }

    fn set_cookie(self, state: &AppState, response: &mut Response, value: &str, max_age: i64) {
        let secure = state.settings.secure_cookies();
        let cookie = format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            self.cookie_name(secure),
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// The login this browser's cookie carries, if it is ours, intact, recent, and the one
    /// Facebook's callback names (`returned_state`, compared in constant time).
    pub(crate) fn returned(
        self,
        state: &AppState,
        headers: &HeaderMap,
        returned_state: Option<&str>,
    ) -> Option<LoginState> {
        let name = self.cookie_name(state.settings.secure_cookies());
        let sealed = crate::client::cookie(headers, &name)?;
        let opened = state.token_cipher.decrypt(&sealed, self.purpose).ok()?;
        let login: LoginState = serde_json::from_str(opened.expose()).ok()?;
        let age = crate::db::now_ms() - login.started_at;
        let fresh = (0..=LOGIN_STATE_MS).contains(&age);
        let matches = returned_state
            .is_some_and(|got| bool::from(login.state.as_bytes().ct_eq(got.as_bytes())));
        (fresh && matches).then_some(login)
    }
}

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
    ClientAddr(client): ClientAddr,
    Query(query): Query<StartQuery>,
) -> Response {
    if !state.login_limiter.check(client) {
        return crate::client::refused_for_now(problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many login attempts",
            "Too many login attempts came from your network. Please wait a minute and try again.",
        ));
    }
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
    let mut response = Redirect::to(url.as_str()).into_response();
    let login = LoginState {
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        started_at: crate::db::now_ms(),
        campaign: None,
    };
    ADMIN_LOGIN.start(&state, &mut response, &login);
    response
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
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let mut response = callback_outcome(&state, &session, &headers, query).await;
    ADMIN_LOGIN.finish(&state, &mut response);
    response
}

async fn callback_outcome(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Response {
    let login = ADMIN_LOGIN.returned(state, headers, query.state.as_deref());
    let Some(verifier) = login.map(|l| l.verifier) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "This login attempt is not valid",
            "It was already used, has expired, or did not start on this site. Please start again.",
        );
    };
    if let Some(error) = &query.error {
        tracing::info!(
            error,
            reason = query.error_reason.as_deref().unwrap_or(""),
            "login dialog refused"
        );
        return Redirect::to("/login?cancelled=1").into_response();
    }
    let Some(code) = query.code else {
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
    let exchanged = oauth_client(state)
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

    match finish_login(state, session, &short_token).await {
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
    super::rights::record(state, &admin.id, &accounts).await?;
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

/// The error page of the OAuth redirects (they are not Leptos routes): the public pages' own,
/// with the way back to the login.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    crate::html::problem_page(
        status,
        title,
        detail,
        Some(crate::html::Back {
            href: "/login",
            label: "Back to login",
        }),
    )
}
