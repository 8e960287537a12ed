//! The public entry page `/c/{slug}`, its framable twin `/embed/{slug}`, and `/widget.js`.
//!
//! These are what a viral campaign sends thousands of people to, so they are plain
//! server-rendered HTML with the shared stylesheet and a few lines of inline script (countdown,
//! live entry status, iframe height): no wasm bundle. Everything works with JavaScript off. The
//! content security policy lets that one script run by its hash ([`inline_script_hashes`]) and
//! nothing else.
//!
//! An entry's own page (`/c/{slug}/e/{entry id}`) is addressed by the entry's random 128-bit id,
//! so it works inside a third-party iframe where cookies do not; on the full page a first-party
//! cookie also remembers it, so coming back to `/c/{slug}` shows the existing entry.

// Early answers of the handlers are full Responses; boxing them buys nothing on these paths.
#![allow(clippy::result_large_err)]

use super::{refs, store};
use crate::{
    admins::auth::{login_client, LoginState, ENTRANT_LOGIN},
    campaigns::{store::Published, Lifecycle},
    client::ClientAddr,
    db::now_ms,
    html::esc,
    state::AppState,
};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Json, Router,
};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{slug}", get(campaign_page))
        .route("/c/{slug}/enter", post(enter))
        .route("/c/{slug}/e/{entry}", get(entry_page))
        .route("/c/{slug}/e/{entry}/status", get(entry_status))
        .route("/c/{slug}/login", get(login_start))
        .route("/auth/facebook/entrant", get(login_callback))
        .route("/embed/{slug}", get(embed_page))
        .route("/embed/{slug}/enter", post(embed_enter))
        .route("/embed/{slug}/e/{entry}", get(embed_entry_page))
        .route("/widget.js", get(widget_js))
}

/// Full page or inside the widget's iframe.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Page,
    Embed,
}

impl Frame {
    fn base(self, slug: &str) -> String {
        match self {
            Frame::Page => format!("/c/{slug}"),
            Frame::Embed => format!("/embed/{slug}"),
        }
    }
}

fn cookie_name(campaign_id: &str) -> String {
    format!("gw_entry_{campaign_id}")
}

// --- Handlers -------------------------------------------------------------------------------

async fn campaign_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let campaign = match load(&state, &slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    // Coming back: show the entry this browser already has.
    let remembered = cookie(&headers, &cookie_name(&campaign.id));
    let entry = match remembered {
        Some(id) => store::find(&state.db, &id).await.ok().flatten(),
        None => None,
    };
    let entry = entry.filter(|e| e.campaign_id == campaign.id);
    render(&state, &campaign, entry.as_ref(), Frame::Page).await
}

async fn embed_page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    match load(&state, &slug).await {
        Ok(campaign) => render(&state, &campaign, None, Frame::Embed).await,
        Err(response) => response,
    }
}

async fn entry_page(
    State(state): State<AppState>,
    Path((slug, entry)): Path<(String, String)>,
) -> Response {
    show_entry(&state, &slug, &entry, Frame::Page).await
}

async fn embed_entry_page(
    State(state): State<AppState>,
    Path((slug, entry)): Path<(String, String)>,
) -> Response {
    show_entry(&state, &slug, &entry, Frame::Embed).await
}

async fn show_entry(state: &AppState, slug: &str, entry_id: &str, frame: Frame) -> Response {
    let campaign = match load(state, slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match find_entry(state, &campaign, entry_id).await {
        Ok(entry) => render(state, &campaign, Some(&entry), frame).await,
        Err(response) => response,
    }
}

async fn entry_status(
    State(state): State<AppState>,
    Path((slug, entry_id)): Path<(String, String)>,
) -> Response {
    let campaign = match load(&state, &slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match find_entry(&state, &campaign, &entry_id).await {
        Ok(entry) => {
            let mut response = Json(serde_json::json!({ "status": entry.status })).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct EnterForm {
    /// The honeypot: hidden from people, filled by form-filling robots.
    #[serde(default)]
    website: String,
}

async fn enter(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(slug): Path<String>,
    Form(form): Form<EnterForm>,
) -> Response {
    start_entry(&state, client, &slug, &form, Frame::Page).await
}

async fn embed_enter(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(slug): Path<String>,
    Form(form): Form<EnterForm>,
) -> Response {
    start_entry(&state, client, &slug, &form, Frame::Embed).await
}

async fn start_entry(
    state: &AppState,
    ClientAddr(client): ClientAddr,
    slug: &str,
    form: &EnterForm,
    frame: Frame,
) -> Response {
    if !form.website.is_empty() {
        return problem(
            StatusCode::BAD_REQUEST,
            "This entry was not accepted",
            "The form came back with a field people never fill in. If you are a person, reload the page and try again.",
        );
    }
    // Before the database is read: a flood must cost as little as possible.
    if !state.entry_limiter.check(client) {
        return crate::client::refused_for_now(problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many entries from your network",
            "Please wait a minute and try again.",
        ));
    }
    let campaign = match load_now(state, slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    if let Err(response) = open_for_entries(&campaign) {
        return response;
    }
    if campaign.require_login != 0 {
        // Facebook's dialog cannot be framed: the widget sends people to the full page for it.
        return Redirect::to(&format!("/c/{slug}/login")).into_response();
    }
    match store::create_pending(&state.db, &campaign.id, None).await {
        Ok(entry) => entry_redirect(state, &campaign, &entry, frame),
        Err(e) => internal(e),
    }
}

/// After creating an entry: to its page, remembered by this browser on the full page.
fn entry_redirect(
    state: &AppState,
    campaign: &Published,
    entry: &store::Entry,
    frame: Frame,
) -> Response {
    let mut response =
        Redirect::to(&format!("{}/e/{}", frame.base(&campaign.slug), entry.id)).into_response();
    if frame == Frame::Page {
        let cookie = format!(
            "{}={}; Path=/c/{}; Max-Age=5184000; HttpOnly; SameSite=Lax{}",
            cookie_name(&campaign.id),
            entry.id,
            campaign.slug,
            // Secure whenever people reach the site over https (issue #14).
            if state.settings.secure_cookies() {
                "; Secure"
            } else {
                ""
            }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

// --- Entrant login (campaigns that require it) ------------------------------------------------

const ENTRANT_CALLBACK: &str = "/auth/facebook/entrant";

/// Starts an entrant's Facebook login. Like the admin's, it keeps its state in a short-lived
/// cookie, not a session: a visitor who never comes back leaves nothing on the server.
async fn login_start(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let campaign = match load_now(&state, &slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    if let Err(response) = open_for_entries(&campaign) {
        return response;
    }
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
    response
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
    let mut response = login_outcome(&state, login, query).await;
    ENTRANT_LOGIN.finish(&state, &mut response);
    response
}

async fn login_outcome(state: &AppState, login: Option<LoginState>, query: Callback) -> Response {
    let Some(LoginState {
        verifier,
        campaign: Some(slug),
        ..
    }) = login
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "This login attempt is not valid",
            "It was already used, has expired, or did not start here. Please open the giveaway again.",
        );
    };
    if query.error.is_some() {
        return Redirect::to(&format!("/c/{slug}?login=cancelled")).into_response();
    }
    let Some(code) = query.code else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Facebook sent no login code",
            "Please open the giveaway again.",
        );
    };
    let campaign = match load_now(state, &slug).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    if let Err(response) = open_for_entries(&campaign) {
        return response;
    }
    let Ok(http) = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return internal("no HTTP client");
    };
    let token = match login_client(state, ENTRANT_CALLBACK)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
    {
        Ok(token) => crate::secrets::Secret::new(token.access_token().secret().clone()),
        Err(e) => {
            tracing::info!(error = %e, "entrant login code refused");
            return problem(
                StatusCode::BAD_REQUEST,
                "Facebook did not accept this login",
                "Please open the giveaway again.",
            );
        }
    };
    // The app-scoped id is all we keep: one entry per person per campaign.
    let asid = match state.graph.me(&token).await {
        Ok(me) => me.id,
        Err(e) => {
            tracing::warn!(error = %e.reason(), "entrant identity not available");
            return problem(
                StatusCode::BAD_GATEWAY,
                "Facebook could not be reached",
                "Please try again in a moment.",
            );
        }
    };
    match store::create_pending(&state.db, &campaign.id, Some(&asid)).await {
        Ok(entry) => entry_redirect(state, &campaign, &entry, Frame::Page),
        Err(e) => internal(e),
    }
}

// --- Loading and checks ---------------------------------------------------------------------

/// The campaign at `slug` for showing: a copy up to a second old will do (`campaigns::showcase`).
async fn load(state: &AppState, slug: &str) -> Result<Arc<Published>, Response> {
    lookup(state, slug, true).await
}

/// The campaign at `slug` as the database has it now: entering is judged on nothing older.
async fn load_now(state: &AppState, slug: &str) -> Result<Arc<Published>, Response> {
    lookup(state, slug, false).await
}

async fn lookup(
    state: &AppState,
    slug: &str,
    copy_will_do: bool,
) -> Result<Arc<Published>, Response> {
    let valid = !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let found = match (valid, copy_will_do) {
        (false, _) => None,
        (true, true) => state
            .showcase
            .find(&state.db, slug)
            .await
            .map_err(internal)?,
        (true, false) => crate::campaigns::store::find_published(&state.db, slug)
            .await
            .map_err(internal)?
            .map(Arc::new),
    };
    found.ok_or_else(|| {
        problem(
            StatusCode::NOT_FOUND,
            "No such giveaway",
            "The link may be mistyped, or the giveaway is not published.",
        )
    })
}

async fn find_entry(
    state: &AppState,
    campaign: &Published,
    entry_id: &str,
) -> Result<store::Entry, Response> {
    let well_formed = entry_id.len() == 32 && entry_id.bytes().all(|b| b.is_ascii_hexdigit());
    let entry = if well_formed {
        store::find(&state.db, entry_id).await.map_err(internal)?
    } else {
        None
    };
    entry
        .filter(|e| e.campaign_id == campaign.id)
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "No such entry",
                "This entry link is not valid for this giveaway. Open the giveaway and enter again.",
            )
        })
}

fn open_for_entries(campaign: &Published) -> Result<(), Response> {
    let now = now_ms();
    match campaign.lifecycle(now) {
        Lifecycle::Live => Ok(()),
        Lifecycle::Scheduled | Lifecycle::Draft => Err(problem(
            StatusCode::CONFLICT,
            "This giveaway has not started yet",
            &format!(
                "It opens on {}. Come back then!",
                when(campaign.starts_at, &campaign.time_zone)
            ),
        )),
        Lifecycle::Ended | Lifecycle::Archived => Err(problem(
            StatusCode::CONFLICT,
            "This giveaway has ended",
            "Entries are closed.",
        )),
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "entry page failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

// --- Rendering ------------------------------------------------------------------------------

/// A time as the campaign's people read it: in the campaign's time zone.
fn when(ms: i64, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz)
                .strftime("%B %-d, %Y at %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The m.me link of an entry: the Page, and the entry's signed ref.
pub fn messenger_link(state: &AppState, campaign: &Published, entry: &store::Entry) -> String {
    let key = refs::RefKey::new(&state.settings.secret_key);
    let expires = entry.created_at / 1000 + refs::LIFETIME_S;
    let reference = key.make(&campaign.id, &entry.ref_nonce, expires);
    let page = campaign
        .page_username
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| campaign.facebook_page_id.clone());
    format!(
        "{}/{}?ref={reference}",
        state
            .settings
            .facebook
            .mme_url
            .as_str()
            .trim_end_matches('/'),
        page
    )
}

fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(168, 168)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

async fn render(
    state: &AppState,
    campaign: &Published,
    entry: Option<&store::Entry>,
    frame: Frame,
) -> Response {
    // A duplicate shows the entry it duplicates.
    let mut entry = entry.cloned();
    if let Some(first) = entry.as_ref().and_then(|e| e.duplicate_of.clone()) {
        if let Ok(Some(original)) = store::find(&state.db, &first).await {
            entry = Some(original);
        }
    }
    let now = now_ms();
    let lifecycle = campaign.lifecycle(now);
    let base = frame.base(&campaign.slug);
    let new_tab = if frame == Frame::Embed {
        r#" target="_blank" rel="noopener""#
    } else {
        ""
    };

    let action = match (&entry, lifecycle) {
        (Some(e), _) if e.status == "confirmed" => format!(
            r#"<section class="entry-state entered" data-testid="entry-state" data-state="entered">
<h2>You're entered! ✓</h2>
<p>{page} will message you on Messenger when the giveaway ends. Good luck!</p></section>"#,
            page = esc(&campaign.page_name)
        ),
        (Some(e), Lifecycle::Live) => {
            let link = messenger_link(state, campaign, e);
            format!(
                r#"<section class="entry-state" data-testid="entry-state" data-state="pending" data-status-url="/c/{slug}/e/{id}/status">
<h2>One more step</h2>
<p>Open Messenger and tap <strong>Get Started</strong> to finish your entry.</p>
<p><a class="button messenger" data-testid="open-messenger" href="{link}"{new_tab}>Open Messenger</a></p>
<details class="qr"><summary>On a computer? Scan with your phone</summary>{qr}</details>
<p class="muted">Messenger didn't pick it up? Send this code to {page} in Messenger: <code class="code" data-testid="fallback-code">{code}</code></p>
<p><a href="{base}/e/{id}" data-testid="check-again">Check again</a></p></section>"#,
                slug = esc(&campaign.slug),
                id = esc(&e.id),
                link = esc(&link),
                qr = qr_svg(&link),
                page = esc(&campaign.page_name),
                code = esc(&e.fallback_code),
            )
        }
        (_, Lifecycle::Live) => {
            let (target, note) = if campaign.require_login != 0 && frame == Frame::Embed {
                (
                    format!(r#"action="/c/{}/enter" target="_blank""#, esc(&campaign.slug)),
                    "<p class=\"muted\">You'll log in with Facebook first, in a new tab.</p>",
                )
            } else if campaign.require_login != 0 {
                (
                    format!(r#"action="{base}/enter""#),
                    "<p class=\"muted\">You'll log in with Facebook first.</p>",
                )
            } else {
                (format!(r#"action="{base}/enter""#), "")
            };
            format!(
                r#"<form method="post" {target} class="enter-form">
<label class="hp" aria-hidden="true">Leave this empty <input name="website" tabindex="-1" autocomplete="off"></label>
<button type="submit" class="messenger" data-testid="subscribe">Subscribe on Messenger</button>{note}</form>"#
            )
        }
        (_, Lifecycle::Scheduled | Lifecycle::Draft) => format!(
            r#"<p class="notice" data-testid="entry-state" data-state="not-started">This giveaway opens on {}.</p>"#,
            esc(&when(campaign.starts_at, &campaign.time_zone))
        ),
        (_, Lifecycle::Ended | Lifecycle::Archived) => {
            r#"<p class="notice" data-testid="entry-state" data-state="ended">This giveaway has ended. Entries are closed.</p>"#.to_string()
        }
    };

    let image = campaign
        .image_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/'))
        .map(|u| format!(r#"<img class="campaign-image" src="{}" alt="">"#, esc(u)))
        .unwrap_or_default();
    let countdown = match lifecycle {
        Lifecycle::Live => format!(
            r#"<p class="countdown">Ends {} · <span data-ends="{}"></span></p>"#,
            esc(&when(campaign.ends_at, &campaign.time_zone)),
            campaign.ends_at
        ),
        _ => String::new(),
    };
    let rules = if campaign.rules.trim().is_empty() {
        String::new()
    } else {
        format!(
            "<details class=\"rules\"><summary>Rules</summary><p>{}</p></details>",
            esc(&campaign.rules).replace('\n', "<br>")
        )
    };
    let prize = if campaign.prize.trim().is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="prize">Prize: <strong>{}</strong></p>"#,
            esc(&campaign.prize)
        )
    };
    let body_class = if frame == Frame::Embed {
        "entry embed"
    } else {
        "entry"
    };
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><link rel="stylesheet" href="/pkg/giveaway.css"></head><body class="{body_class}"><main><article class="card campaign">
<p class="muted">{page}</p><h1>{title}</h1>{image}{prize}<p class="lead">{description}</p>{countdown}{action}{rules}</article></main>
<script>{SCRIPT}</script></body></html>"#,
        title = esc(&campaign.title),
        page = esc(&campaign.page_name),
        description = esc(&campaign.description).replace('\n', "<br>"),
    );
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Countdown, live entry status (reload when Messenger confirmed it) and, inside the widget's
/// iframe, the page height for the embedding page (the body's, not the document's: a document is
/// never shorter than its iframe, so it could only ever grow). Nothing else runs on these pages.
const SCRIPT: &str = r#"(function(){var d=document,c=d.querySelector('[data-ends]');function t(){if(!c)return;var s=Math.floor((+c.dataset.ends-Date.now())/1000);if(s<=0){c.textContent='ended';return}var D=Math.floor(s/86400),h=Math.floor(s%86400/3600),m=Math.floor(s%3600/60);c.textContent=(D?D+'d ':'')+h+'h '+m+'m '+(s%60)+'s left'}t();setInterval(t,1000);var p=d.querySelector('[data-status-url]');if(p&&window.fetch)setInterval(function(){fetch(p.dataset.statusUrl,{cache:'no-store'}).then(function(r){return r.json()}).then(function(j){if(j.status!=='pending')location.reload()}).catch(function(){})},2000);if(window.parent!==window){var l=0;function z(){var h=Math.ceil(d.body.getBoundingClientRect().height)+16;if(h!==l){l=h;parent.postMessage({giveaway:'resize',height:h},'*')}}if(window.ResizeObserver)new ResizeObserver(z).observe(d.body);z()}})();"#;

/// The CSP sources (`sha256-...`) of the inline scripts these pages carry: the only scripts the
/// public pages' content security policy lets run. Worked out from the text served, once.
pub fn inline_script_hashes() -> &'static [String] {
    use base64::Engine as _;
    use sha2::Digest as _;
    static HASHES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
        vec![format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )]
    });
    &HASHES
}

/// A small error page in the same look.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title><link rel="stylesheet" href="/pkg/giveaway.css"></head><body class="entry"><main><section class="card" data-testid="problem"><h1>{t}</h1><p>{d}</p></section></main></body></html>"#,
        t = esc(title),
        d = esc(detail)
    );
    (status, Html(html)).into_response()
}

/// The embed loader, from `public/widget.js`, served by the app itself so it always matches.
async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        include_str!("../../../public/widget.js"),
    )
        .into_response()
}
