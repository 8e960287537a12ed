//! The public entry page `/c/{slug}`, its framable twin `/embed/{slug}`, an entry's own page,
//! and `/widget.js`: the routes, and what each page shows. The HTML is [`super::views`]; the
//! Facebook login of campaigns that require one is [`super::entrant_login`].
//!
//! These are what a viral campaign sends thousands of people to, so they are plain
//! server-rendered HTML with the shared stylesheet and one small inline script (countdown, live
//! entry status, iframe height): no wasm bundle. Everything works with JavaScript off. The
//! content security policy lets that one script run by its hash
//! ([`super::views::inline_script_hashes`]) and nothing else.
//!
//! An entry's own page (`/c/{slug}/e/{entry id}`) is addressed by the entry's random 128-bit id,
//! so it works inside a third-party iframe where cookies do not; on the full page a first-party
//! cookie also remembers it, so coming back to `/c/{slug}` shows the existing entry.

use super::{
    refs, store,
    views::{self, Action},
    EntrySource,
};
use crate::insight::Stage;
use crate::{
    campaigns::{store::Published, Lifecycle},
    client::ClientAddr,
    db::now_ms,
    error::AppError,
    state::AppState,
};
use axum::{
    extract::{Path, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{slug}", get(campaign_page))
        .route("/c/{slug}/enter", post(enter))
        .route("/c/{slug}/rules", get(rules_page))
        .route("/c/{slug}/e/{entry}", get(entry_page))
        .route("/c/{slug}/e/{entry}/status", get(entry_status))
        .route("/embed/{slug}", get(embed_page))
        .route("/embed/{slug}/enter", post(embed_enter))
        .route("/embed/{slug}/e/{entry}", get(embed_entry_page))
        .route("/widget.js", get(widget_js))
        .merge(super::entrant_login::routes())
}

/// Full page or inside the widget's iframe.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Frame {
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
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let from = crate::insight::attribution::of_view(EntrySource::Page, query.as_deref(), &headers);
    state.tally.add(&campaign.id, &from, Stage::View);
    // Coming back: show the entry this browser already has.
    let remembered = crate::client::cookie(&headers, &cookie_name(&campaign.id));
    let entry = match remembered {
        Some(id) => store::find(&state.db, &id).await.ok().flatten(),
        None => None,
    };
    let entry = entry.filter(|e| e.campaign_id == campaign.id);
    Ok(render(&state, &campaign, entry.as_ref(), Frame::Page).await)
}

async fn embed_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let from =
        crate::insight::attribution::of_view(EntrySource::Widget, query.as_deref(), &headers);
    state.tally.add(&campaign.id, &from, Stage::View);
    Ok(render(&state, &campaign, None, Frame::Embed).await)
}

async fn entry_page(
    State(state): State<AppState>,
    Path((slug, entry)): Path<(String, String)>,
) -> Result<Response, AppError> {
    show_entry(&state, &slug, &entry, Frame::Page).await
}

async fn embed_entry_page(
    State(state): State<AppState>,
    Path((slug, entry)): Path<(String, String)>,
) -> Result<Response, AppError> {
    show_entry(&state, &slug, &entry, Frame::Embed).await
}

async fn show_entry(
    state: &AppState,
    slug: &str,
    entry_id: &str,
    frame: Frame,
) -> Result<Response, AppError> {
    let campaign = load(state, slug).await?;
    let entry = find_entry(state, &campaign, entry_id).await?;
    Ok(render(state, &campaign, Some(&entry), frame).await)
}

async fn entry_status(
    State(state): State<AppState>,
    Path((slug, entry_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let entry = find_entry(&state, &campaign, &entry_id).await?;
    let mut response = Json(serde_json::json!({ "status": entry.status })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
struct EnterForm {
    /// The honeypot: hidden from people, filled by form-filling robots.
    #[serde(default)]
    website: String,
    /// "yes" when the entrant ticked "I accept the rules" (campaigns that ask for it).
    #[serde(default)]
    accept: String,
}

async fn rules_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let runs = format!(
        "Entries open on {} and close on {}.",
        campaign.local_time(campaign.starts_at),
        campaign.local_time(campaign.ends_at)
    );
    let html = views::rules_page(views::RulesPage {
        title: campaign.title.clone(),
        page_name: campaign.page_name.clone(),
        prize: campaign.prize.clone(),
        runs,
        eligibility: views::eligibility(campaign.min_age, &campaign.countries),
        rules: campaign.rules.clone(),
        draw_commitment: campaign.draw_commitment.clone(),
        entry_url: format!("/c/{}", campaign.slug),
        results_url: format!("/c/{}/results", campaign.slug),
    });
    Ok(Html(html).into_response())
}

async fn enter(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EnterForm>,
) -> Result<Response, AppError> {
    start_entry(&state, client, &slug, &headers, &form, Frame::Page).await
}

async fn embed_enter(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EnterForm>,
) -> Result<Response, AppError> {
    start_entry(&state, client, &slug, &headers, &form, Frame::Embed).await
}

async fn start_entry(
    state: &AppState,
    ClientAddr(client): ClientAddr,
    slug: &str,
    headers: &HeaderMap,
    form: &EnterForm,
    frame: Frame,
) -> Result<Response, AppError> {
    if !form.website.is_empty() {
        return Err(AppError::page(
            StatusCode::BAD_REQUEST,
            "This entry was not accepted",
            "The form came back with a field people never fill in. If you are a person, reload the page and try again.",
        ));
    }
    // Before the database is read: a flood must cost as little as possible.
    if !state.entry_limiter.check(client) {
        return Ok(crate::client::refused_for_now(
            AppError::page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many entries from your network",
                "Please wait a minute and try again.",
            )
            .into_response(),
        ));
    }
    let campaign = load_now(state, slug).await?;
    open_for_entries(&campaign)?;
    let source = match frame {
        Frame::Page => store::EntrySource::Page,
        Frame::Embed => store::EntrySource::Widget,
    };
    let from = crate::insight::attribution::of_form(source, headers);
    state.tally.add(&campaign.id, &from, Stage::Tap);
    if campaign.consent_checkbox && form.accept != "yes" {
        return Err(AppError::page(
            StatusCode::BAD_REQUEST,
            "Accept the rules to enter",
            "This giveaway asks you to tick \"I accept the official rules\" before entering. Go back, tick the box and tap Subscribe on Messenger again.",
        ));
    }
    if campaign.require_login {
        // Facebook's dialog cannot be framed: the widget sends people to the full page for it.
        return Ok(Redirect::to(&format!("/c/{slug}/login")).into_response());
    }
    let (entry, _) = store::create_pending(&state.db, &campaign.id, None, &from).await?;
    state.tally.add(&campaign.id, &from, Stage::Started);
    Ok(entry_redirect(state, &campaign, &entry, frame))
}

/// After creating an entry: to its page, remembered by this browser on the full page.
pub(super) fn entry_redirect(
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

// --- Loading and checks ---------------------------------------------------------------------

/// The campaign at `slug` for showing: a copy up to a second old will do (`campaigns::showcase`).
pub(crate) async fn load(state: &AppState, slug: &str) -> Result<Arc<Published>, AppError> {
    lookup(state, slug, true).await
}

/// The campaign at `slug` as the database has it now: entering is judged on nothing older.
pub(super) async fn load_now(state: &AppState, slug: &str) -> Result<Arc<Published>, AppError> {
    lookup(state, slug, false).await
}

async fn lookup(
    state: &AppState,
    slug: &str,
    copy_will_do: bool,
) -> Result<Arc<Published>, AppError> {
    let valid = !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let found = match (valid, copy_will_do) {
        (false, _) => None,
        (true, true) => state.showcase.find(&state.db, slug).await?,
        (true, false) => crate::campaigns::store::find_published(&state.db, slug)
            .await?
            .map(Arc::new),
    };
    found.ok_or_else(|| {
        AppError::page(
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
) -> Result<store::Entry, AppError> {
    let well_formed = entry_id.len() == 32 && entry_id.bytes().all(|b| b.is_ascii_hexdigit());
    let entry = if well_formed {
        store::find(&state.db, entry_id).await?
    } else {
        None
    };
    entry
        .filter(|e| e.campaign_id == campaign.id)
        .ok_or_else(|| {
            AppError::page(
                StatusCode::NOT_FOUND,
                "No such entry",
                "This entry link is not valid for this giveaway. Open the giveaway and enter again.",
            )
        })
}

pub(super) fn open_for_entries(campaign: &Published) -> Result<(), AppError> {
    let now = now_ms();
    match campaign.lifecycle(now) {
        Lifecycle::Live => Ok(()),
        Lifecycle::Scheduled | Lifecycle::Draft => Err(AppError::page(
            StatusCode::CONFLICT,
            "This giveaway has not started yet",
            &format!(
                "It opens on {}. Come back then!",
                campaign.local_time(campaign.starts_at)
            ),
        )),
        Lifecycle::Ended | Lifecycle::Archived => Err(AppError::page(
            StatusCode::CONFLICT,
            "This giveaway has ended",
            "Entries are closed.",
        )),
    }
}

// --- What the page shows --------------------------------------------------------------------

/// The m.me link of an entry: the Page, and the entry's signed ref.
pub fn messenger_link(state: &AppState, campaign: &Published, entry: &store::Entry) -> String {
    link_with_ref(state, campaign, entry, "")
}

/// The same link for the QR code: its ref marked as scanned (`refs::SCANNED_PREFIX`).
fn scanned_link(state: &AppState, campaign: &Published, entry: &store::Entry) -> String {
    link_with_ref(state, campaign, entry, refs::SCANNED_PREFIX)
}

fn link_with_ref(
    state: &AppState,
    campaign: &Published,
    entry: &store::Entry,
    mark: &str,
) -> String {
    let key = refs::RefKey::new(&state.settings.secret_key);
    let expires = entry.created_at / 1000 + refs::LIFETIME_S;
    let reference = format!(
        "{mark}{}",
        key.make(&campaign.id, &entry.ref_nonce, expires)
    );
    let page = campaign
        .page_username
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| campaign.facebook_page_id.to_string());
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
    campaign: &Arc<Published>,
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
    let lifecycle = campaign.lifecycle(now_ms());
    let base = frame.base(&campaign.slug);
    let embed = frame == Frame::Embed;
    let login_first = campaign.require_login;

    let action = match (&entry, lifecycle) {
        (Some(e), _) if e.status == store::EntryStatus::Confirmed => Action::Entered {
            ticket: crate::winners::store::ticket_of(&state.db, &e.id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read an entry's ticket");
                    None
                }),
        },
        (Some(e), Lifecycle::Live) => {
            let link = messenger_link(state, campaign, e);
            Action::Pending {
                status_url: format!("/c/{}/e/{}/status", campaign.slug, e.id),
                qr_svg: qr_svg(&scanned_link(state, campaign, e)),
                messenger_link: link,
                fallback_code: e.fallback_code.clone(),
                code_ms_left: e.created_at + state.settings.abuse.code_lifetime_ms - now_ms(),
                check_again: format!("{base}/e/{}", e.id),
            }
        }
        (_, Lifecycle::Live) => Action::Enter {
            // The login needs the full page: from the widget, the form opens it in a new tab.
            action: if login_first && embed {
                format!("/c/{}/enter", campaign.slug)
            } else {
                format!("{base}/enter")
            },
            new_tab: login_first && embed,
            login_first,
            consent_checkbox: campaign.consent_checkbox,
        },
        (_, Lifecycle::Scheduled | Lifecycle::Draft) => {
            Action::NotStarted(campaign.local_time(campaign.starts_at))
        }
        (_, Lifecycle::Ended | Lifecycle::Archived) => Action::Ended,
    };
    let shown = views::Campaign {
        title: campaign.title.clone(),
        page_name: campaign.page_name.clone(),
        image_url: campaign.image_url.clone().filter(|u| {
            u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')
        }),
        prize: campaign.prize.clone(),
        description: campaign.description.clone(),
        ends: (lifecycle == Lifecycle::Live)
            .then(|| (campaign.local_time(campaign.ends_at), campaign.ends_at)),
        rules: campaign.rules.clone(),
        eligibility: views::eligibility(campaign.min_age, &campaign.countries),
        rules_url: format!("/c/{}/rules", campaign.slug),
        draw_commitment: campaign.draw_commitment.clone(),
        results_url: format!("/c/{}/results", campaign.slug),
        embed,
    };
    // Without an entry the page is everyone's: rendered once per copy of the campaign.
    let html: Arc<str> = if entry.is_none() {
        let variant = format!("{}:{lifecycle:?}", base);
        state
            .showcase
            .page(campaign, variant, || views::entry_page(shown, action))
    } else {
        views::entry_page(shown, action).into()
    };
    let mut response = Html(html.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
