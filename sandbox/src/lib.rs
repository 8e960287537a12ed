//! The sandbox: a local stand-in of the parts of Meta this product uses (Facebook Login, the
//! Graph API, Messenger and its webhooks). The server mounts it under `/sandbox` when no real
//! Facebook app is configured, and it can run as its own process (`server sandbox --port 3100`).
//!
//! A crate of its own, knowing nothing of the product: everything it needs arrives in a
//! [`SandboxConfig`], and a server built without its `sandbox` feature carries none of it.
//!
//! Addresses (relative to the serving host):
//! - `/sandbox` — an index page linking everything below
//! - `/sandbox/graph/{version}/...` — the Graph API ([`graph`], [`send`])
//! - `/sandbox/www/{version}/dialog/oauth` — the Login dialog ([`login`])
//! - `/sandbox/m.me/{page username or id}?ref=...` — the Messenger chat page ([`messenger`])
//! - `/sandbox/control/...` — faults, clock, inspection ([`control`], documented there)
//! - `/sandbox/beacon/...` — a stand-in of a drand randomness beacon, for the draw ([`beacon`])
//!
//! Everything lives in memory ([`state`]) and is lost on restart, like a test fixture: it is a
//! stand-in for Meta, not product data. Webhooks go out from background tasks ([`webhooks`]).

pub mod beacon;
pub mod control;
pub mod deletion;
pub mod errors;
pub mod graph;
pub mod login;
pub mod messenger;
pub mod send;
pub mod state;
pub mod templates;
pub mod webhooks;
pub mod world;

use axum::{
    response::Html,
    routing::{any, get, patch, post},
    Router,
};
use rand::{distributions::Alphanumeric, Rng};
use state::{State, TagEra};
use std::sync::{Arc, Mutex, MutexGuard};
use url::Url;

/// The Graph API version the stand-in serves to calls that name none, and links from its index:
/// Meta's current one (the product's default, `GRAPH_VERSION`, is the same;
/// the server's tests check it).
pub const GRAPH_VERSION: &str = "v25.0";

/// The app secret. Its `Debug` shows no value, so a logged configuration never carries it.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What the sandbox needs to know about the app it stands in for. The server fills it from its
/// settings (`server::sandbox_mount::config`); `server sandbox` and tests write it out.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub app_id: String,
    pub app_secret: Secret,
    /// Where the sandbox itself is reached (login URLs and m.me links point here).
    pub base_url: Url,
    /// Where it delivers webhooks (the product's `/webhooks/messenger` by default).
    pub webhook_url: Url,
    /// Optional JSON file describing the seeded world instead of the built-in one.
    pub world_file: Option<std::path::PathBuf>,
    /// Starting values of the knobs the control API can change later.
    pub tuning: SandboxTuning,
}

/// Defaults of the behaviour knobs (each can be changed at run time through the control API).
#[derive(Clone, Debug)]
pub struct SandboxTuning {
    pub tag_era: TagEra,
    pub rate_limit_per_second: u32,
    pub delivery_delay_ms: u64,
    /// `None`: read receipts only when the chat page is viewed.
    pub read_delay_ms: Option<u64>,
    pub template_approval_delay_ms: u64,
    pub webhook_retry_initial_ms: u64,
    pub webhook_retry_for_ms: u64,
    /// Whether the control API (which can act as anyone and forge what Meta sends) answers
    /// clients that are not on this machine (`SANDBOX_CONTROL_REMOTE=on`).
    pub control_remote: bool,
    /// Seconds between the stand-in beacon's rounds ([`beacon`]).
    pub beacon_period_s: u64,
}

impl Default for SandboxTuning {
    fn default() -> Self {
        SandboxTuning {
            tag_era: TagEra::Y2026,
            rate_limit_per_second: 300,
            delivery_delay_ms: 200,
            read_delay_ms: None,
            // Meta often approves a utility template at once: creation answers APPROVED.
            template_approval_delay_ms: 0,
            webhook_retry_initial_ms: 1000,
            webhook_retry_for_ms: 3_600_000,
            control_remote: false,
            beacon_period_s: 1,
        }
    }
}

impl SandboxConfig {
    /// The sandbox's own address for `path` (which starts with `/sandbox`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.as_str().trim_end_matches('/'))
    }
}

/// The sandbox's shared state: configuration, the in-memory world and the webhook machinery.
pub struct Sandbox {
    pub config: SandboxConfig,
    state: Mutex<State>,
    pub hooks: webhooks::Hooks,
    /// Pages connected by the server itself at start-up (the demo campaign): they survive a reset.
    pinned: Mutex<Vec<Pinned>>,
}

/// A Page connected without the dialog: its tokens, webhook subscription and Get Started.
#[derive(Clone)]
pub struct Pinned {
    pub page_id: String,
    pub user: String,
    pub user_token: String,
    pub page_token: String,
    setup: PinnedSetup,
}

/// What the product would have set on a Page it connected: the webhook fields it subscribes and
/// its Get Started payload. The caller names them (the sandbox does not know the product's).
#[derive(Clone, Debug)]
pub struct PinnedSetup {
    pub subscribed_fields: Vec<String>,
    pub get_started_payload: String,
}

pub type Shared = Arc<Sandbox>;

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Shared {
        let world = load_world(&config);
        let state = State::new(&config, world);
        Arc::new_cyclic(|weak| Sandbox {
            hooks: webhooks::Hooks::new(weak.clone()),
            state: Mutex::new(state),
            config,
            pinned: Mutex::new(Vec::new()),
        })
    }

    /// Connects a Page to the app as if `user` had granted everything and the product had
    /// subscribed it and set Get Started: what start-up uses for the demo campaign. The tokens
    /// never expire and survive `reset`. `None` when the Page or user does not exist.
    pub fn pin_connected_page(&self, page: &str, user: &str, setup: PinnedSetup) -> Option<Pinned> {
        let mut st = self.lock();
        let page_id = st.world.page(page)?.id.clone();
        st.world.user(user)?;
        let user_token = st.issue_token(
            state::TokenKind::User {
                user: user.to_string(),
                long_lived: true,
            },
            None,
        );
        let page_token = st.issue_token(
            state::TokenKind::Page {
                page: page_id.clone(),
                user: user.to_string(),
                parent: None,
            },
            None,
        );
        let pinned = Pinned {
            page_id,
            user: user.to_string(),
            user_token,
            page_token,
            setup,
        };
        apply_pin(&mut st, &pinned);
        drop(st);
        self.pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(pinned.clone());
        Some(pinned)
    }

    /// Locks the state. A panic while locked (a bug) must not wedge every later request, so a
    /// poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Back to the seeded world and the configured knobs; pending webhooks are dropped.
    pub fn reset(&self) {
        let world = load_world(&self.config);
        let mut st = State::new(&self.config, world);
        for pinned in self.pinned.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            apply_pin(&mut st, pinned);
        }
        *self.lock() = st;
        self.hooks.clear();
    }
}

fn apply_pin(st: &mut State, pinned: &Pinned) {
    use serde_json::json;
    let now = st.now_ms();
    for (token, kind) in [
        (
            &pinned.user_token,
            state::TokenKind::User {
                user: pinned.user.clone(),
                long_lived: true,
            },
        ),
        (
            &pinned.page_token,
            state::TokenKind::Page {
                page: pinned.page_id.clone(),
                user: pinned.user.clone(),
                parent: None,
            },
        ),
    ] {
        st.tokens.insert(
            token.clone(),
            state::Token {
                kind,
                issued_ms: now,
                expires_ms: None,
                revoked: None,
            },
        );
    }
    for permission in [
        "pages_show_list",
        "pages_manage_metadata",
        "pages_messaging",
        "business_management",
        "pages_utility_messaging",
    ] {
        st.pinned_grants
            .insert((pinned.user.clone(), permission.to_string()));
    }
    st.subscriptions.insert(
        pinned.page_id.clone(),
        pinned.setup.subscribed_fields.clone(),
    );
    st.profiles
        .entry(pinned.page_id.clone())
        .or_default()
        .insert(
            "get_started".into(),
            json!({ "payload": pinned.setup.get_started_payload }),
        );
}

fn load_world(config: &SandboxConfig) -> world::World {
    let mut world = match &config.world_file {
        Some(path) => world::World::from_file(path).unwrap_or_else(|problem| {
            // The built-in world keeps the sandbox usable; the log says why the file was ignored.
            tracing::error!(%problem, "sandbox world file ignored, using the built-in world");
            world::World::builtin()
        }),
        None => world::World::builtin(),
    };
    world.index(&config.app_id);
    world
}

/// All sandbox routes, with their full `/sandbox/...` paths, ready to merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>(config: SandboxConfig) -> Router<S> {
    router_for(Sandbox::new(config))
}

/// The routes over an existing sandbox (the standalone runner and benchmarks keep a handle).
pub fn router_for<S: Clone + Send + Sync + 'static>(sandbox: Shared) -> Router<S> {
    Router::new()
        .route("/sandbox", get(index))
        .route("/sandbox/", get(index))
        .route("/sandbox/graph/{*rest}", any(graph::handle))
        .route("/sandbox/www/{version}/dialog/oauth", get(login::dialog))
        .route(
            "/sandbox/www/{version}/dialog/oauth/confirm",
            post(login::confirm),
        )
        .route(
            "/sandbox/www/checkpoint/test-user-login/{id}",
            get(login::test_user_login),
        )
        .route("/sandbox/m.me", get(messenger::pages_index))
        .route("/sandbox/m.me/{page}", get(messenger::chat))
        .route("/sandbox/m.me/{page}/act", post(messenger::act))
        .route(
            "/sandbox/m.me/{page}/thread.json",
            get(messenger::thread_json),
        )
        .route("/sandbox/control/reset", post(control::reset))
        .route("/sandbox/control/world", get(control::world))
        .route(
            "/sandbox/control/settings",
            get(control::get_settings).patch(control::patch_settings),
        )
        .route("/sandbox/control/pages", post(control::add_page))
        .route(
            "/sandbox/control/pages/{page}",
            get(control::get_page).patch(control::patch_page),
        )
        .route(
            "/sandbox/control/pages/{page}/sends",
            get(control::sends).delete(control::clear_sends),
        )
        .route("/sandbox/control/people", post(control::add_people))
        .route(
            "/sandbox/control/clock",
            get(control::get_clock).post(control::move_clock),
        )
        .route("/sandbox/control/tokens", post(control::mint_token))
        .route(
            "/sandbox/control/tokens/revoke",
            post(control::revoke_token),
        )
        .route(
            "/sandbox/control/tokens/expire",
            post(control::expire_token),
        )
        .route("/sandbox/control/interactions", post(control::interact))
        .route(
            "/sandbox/control/threads/{page}/{user}",
            get(control::thread),
        )
        .route(
            "/sandbox/control/requests",
            get(control::requests).delete(control::clear_requests),
        )
        .route(
            "/sandbox/control/webhooks",
            get(control::webhook_log).delete(control::clear_webhook_log),
        )
        .route(
            "/sandbox/control/webhooks/pending",
            get(control::pending_webhooks),
        )
        .route(
            "/sandbox/control/templates/{page}/{id}",
            patch(control::set_template_status),
        )
        .route("/sandbox/control/users/{user}", patch(control::patch_user))
        .route(
            "/sandbox/control/users/{user}/deletion",
            post(deletion::control),
        )
        .route("/sandbox/deletion", get(deletion::page))
        .route("/sandbox/deletion/{user}", post(deletion::request))
        .route("/sandbox/beacon/info", get(beacon::info))
        .route("/sandbox/beacon/public/{round}", get(beacon::round))
        .route(
            "/sandbox/control/pages/{page}/roles/{user}",
            axum::routing::put(control::set_role),
        )
        .layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            control_only_from_here,
        ))
        .with_state(sandbox)
}

/// The control API acts as anyone and makes Meta's signed webhooks on request: it answers only
/// clients on this machine, unless `SANDBOX_CONTROL_REMOTE=on`. A server run without peer
/// addresses (the standalone sandbox listens on loopback only) has nothing to check.
async fn control_only_from_here(
    axum::extract::State(sb): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if request.uri().path().starts_with("/sandbox/control")
        && !control_allowed(peer, sb.config.tuning.control_remote)
    {
        return (
            axum::http::StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": "the sandbox's control API answers only on this machine (SANDBOX_CONTROL_REMOTE=on opens it)"
            })),
        )
            .into_response();
    }
    next.run(request).await
}

fn control_allowed(peer: Option<std::net::IpAddr>, remote: bool) -> bool {
    remote || peer.is_none_or(|ip| ip.is_loopback())
}

/// Runs the sandbox alone on `listener` until `shutdown` resolves (`server sandbox`).
pub async fn serve(
    config: SandboxConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app: Router = router(config);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn index(axum::extract::State(sb): axum::extract::State<Shared>) -> Html<String> {
    let st = sb.lock();
    let version = GRAPH_VERSION;
    let pages: String = st
        .world
        .pages
        .iter()
        .map(|p| {
            format!(
                r#"<li><a href="/sandbox/m.me/{u}">m.me/{u}</a> — {n} (id {id})</li>"#,
                u = esc(&p.username),
                n = esc(&p.name),
                id = esc(&p.id)
            )
        })
        .collect();
    let dialog = format!(
        "/sandbox/www/{version}/dialog/oauth?client_id={}&redirect_uri={}&state=try&scope=pages_show_list,pages_manage_metadata,pages_messaging",
        sb.config.app_id,
        urlencode(&sb.config.url("/sandbox")),
    );
    Html(page_shell(
        "Facebook sandbox",
        &format!(
            r#"<h1>Facebook sandbox</h1>
<p>A local stand-in of Facebook Login, the Graph API and Messenger. App id <code>{app}</code>.</p>
<ul>
<li><a href="{dialog}">Try the Login dialog</a></li>
<li>Graph API: <code>{graph}</code></li>
<li>Control API: <code>{control}</code> (see <a href="/sandbox/control/world">the world</a>)</li>
<li><a href="/sandbox/deletion">Apps and websites</a>: remove the app and ask for deletion (the data deletion callback)</li>
</ul>
<h2>Messenger</h2><ul>{pages}</ul>"#,
            app = esc(&sb.config.app_id),
            dialog = esc(&dialog),
            graph = esc(&sb.config.url(&format!("/sandbox/graph/{version}"))),
            control = esc(&sb.config.url("/sandbox/control")),
        ),
    ))
}

/// Milliseconds since the epoch on the real clock.
pub fn real_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn random_alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The HTML page around the dialog, chat and index bodies: one small stylesheet, no assets.
pub fn page_shell(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style></head><body><div class="sbx-banner">Sandbox — not Facebook</div><main>{body}</main></body></html>"#,
        title = esc(title),
        css = CSS,
    )
}

const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f0f2f5;color:#1c1e21}
main{max-width:560px;margin:24px auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:20px 24px}
.sbx-banner{background:#1877f2;color:#fff;text-align:center;font-size:12px;padding:4px;letter-spacing:.05em;text-transform:uppercase}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:18px 0 8px}a{color:#1877f2}
code{background:#f0f2f5;padding:1px 5px;border-radius:4px}
button,.btn{font:inherit;border:0;border-radius:8px;padding:8px 14px;background:#1877f2;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.btn.secondary{background:#e4e6eb;color:#1c1e21}button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #8ab4f8;outline-offset:2px}
.choices{list-style:none;padding:0;margin:0}.choices li{margin:6px 0}.choices a{display:flex;justify-content:space-between;padding:10px 12px;border:1px solid #dddfe2;border-radius:8px;text-decoration:none;color:inherit}
.choices a:hover{background:#f5f6f7}.muted{color:#65676b;font-size:13px}
.perm{display:flex;gap:10px;align-items:center;padding:8px 0;border-bottom:1px solid #eee}
.actions{display:flex;gap:10px;justify-content:flex-end;margin-top:16px}
.chat-head{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #eee;padding-bottom:10px;gap:8px}
.thread{display:flex;flex-direction:column;gap:6px;min-height:260px;max-height:60vh;overflow-y:auto;padding:12px 0}
.bubble{max-width:78%;padding:8px 12px;border-radius:18px;white-space:pre-wrap;word-wrap:break-word}
.bubble.user{align-self:flex-end;background:#0084ff;color:#fff}.bubble.page{align-self:flex-start;background:#e4e6eb}
.bubble.system{align-self:center;background:none;color:#65676b;font-size:12px}
.bubble .card{border-top:1px solid #ccc;margin-top:6px;padding-top:6px}.bubble .tag{font-size:11px;color:#65676b;display:block}
.bubble form{display:inline}.bubble button{margin:4px 4px 0 0;background:#fff;color:#1877f2;border:1px solid #ccd0d5;padding:5px 10px}
.quick{display:flex;gap:6px;flex-wrap:wrap;justify-content:flex-end;margin:6px 0}.quick button{background:#fff;color:#0084ff;border:1px solid #0084ff;border-radius:16px;padding:5px 12px}
.composer{display:flex;gap:8px;border-top:1px solid #eee;padding-top:10px}.composer input{flex:1;font:inherit;padding:8px 12px;border:1px solid #ccd0d5;border-radius:18px}
.get-started{text-align:center;padding:16px}.typing{color:#65676b;font-size:12px;font-style:italic}
"#;

#[cfg(test)]
mod control_access_tests {
    use super::control_allowed;

    #[test]
    fn the_control_api_answers_only_this_machine_unless_opened() {
        let here: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let here6: std::net::IpAddr = "::1".parse().unwrap();
        let elsewhere: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        assert!(control_allowed(Some(here), false));
        assert!(control_allowed(Some(here6), false));
        assert!(control_allowed(None, false));
        assert!(!control_allowed(Some(elsewhere), false));
        assert!(control_allowed(Some(elsewhere), true));
    }
}
