//! Facebook Login: the dialog (pick a test user, then grant or decline each permission, or
//! cancel), the redirects back to the app exactly as Meta makes them, the code and token
//! exchanges, `/debug_token`, token validity (expiry and revocation, code 190), and Meta's
//! test-user API.
//!
//! Scopes: the dialog knows the permissions of [`PERMISSIONS`] and answers any other name with
//! Meta's "Invalid Scopes" page; `page_utility_messaging` (singular, as some of Meta's own pages
//! print it) is one of those unknown names, the permission is `pages_utility_messaging`.
//! A permission at Standard Access (`permission_access`) requested by someone without a role on
//! the app is neither shown on the consent screen nor granted: it is missing from
//! `/me/permissions` and from `debug_token` scopes, without an error, as on Meta. Test users
//! created through the test-user API are testers of the app.
//!
//! Token lifetimes: code-exchange tokens live `short_lived_token_seconds` (5400 s by default);
//! long-lived ones 5183944 s (about 60 days); Page tokens read with a long-lived user token never
//! expire; authorization codes live 10 minutes and work once.

use super::{
    errors::GraphError,
    esc,
    graph::{authenticate, paginate, Auth, Ctx, GraphResult, Req},
    messenger::AS_COOKIE,
    page_shell,
    state::{AuthCode, State, TokenKind},
    Shared,
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub const LONG_LIVED_SECONDS: i64 = 5_183_944;
const CODE_TTL_MS: i64 = 10 * 60 * 1000;
const DATA_ACCESS_MS: i64 = 90 * 24 * 3600 * 1000;

/// The permissions the dialog knows, with the line the consent screen shows.
pub const PERMISSIONS: [(&str, &str); 9] = [
    ("public_profile", "Your name and profile picture"),
    ("email", "Your email address"),
    ("pages_show_list", "Show a list of the Pages you manage"),
    (
        "pages_manage_metadata",
        "Manage accounts, settings and webhooks for a Page",
    ),
    (
        "pages_messaging",
        "Manage and access Page conversations in Messenger",
    ),
    (
        "pages_utility_messaging",
        "Send utility messages (updates about things you asked for) as the Page",
    ),
    ("business_management", "Manage your business"),
    ("pages_read_engagement", "Read content posted on the Page"),
    (
        "pages_manage_posts",
        "Create and manage content on your Page",
    ),
];

/// The names of every permission the dialog knows.
pub fn known_permissions() -> impl Iterator<Item = &'static str> {
    PERMISSIONS.iter().map(|(p, _)| *p)
}

fn describe(permission: &str) -> &'static str {
    PERMISSIONS
        .iter()
        .find(|(p, _)| *p == permission)
        .map(|(_, d)| *d)
        .unwrap_or("")
}

fn requested_scopes(scope: &str) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for s in scope
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !list.iter().any(|x| x == s) {
            list.push(s.to_string());
        }
    }
    list
}

fn error_page(title: &str, detail: &str) -> Response {
    let body = format!(
        r#"<h1 data-testid="dialog-error">{}</h1><p>{}</p>"#,
        esc(title),
        esc(detail)
    );
    (StatusCode::BAD_REQUEST, Html(page_shell(title, &body))).into_response()
}

/// Checks what both the dialog and its form post need; the error page's title and text otherwise.
fn check_request(
    sb: &Shared,
    q: &HashMap<String, String>,
) -> Result<(url::Url, Vec<String>), (&'static str, String)> {
    let client_id = q.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != sb.config.app_id {
        return Err((
            "Invalid App ID",
            "The provided app ID does not look like a valid app ID.".into(),
        ));
    }
    let redirect = q
        .get("redirect_uri")
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let Some(redirect) = redirect else {
        return Err((
            "URL blocked",
            "This redirect failed because the redirect URI is missing or is not an absolute http(s) URL.".into(),
        ));
    };
    if let Some(rt) = q.get("response_type").filter(|r| r.as_str() != "code") {
        return Err((
            "Unsupported response_type",
            format!("The sandbox supports response_type=code only, not `{rt}`."),
        ));
    }
    let scopes = requested_scopes(q.get("scope").map(String::as_str).unwrap_or(""));
    let unknown: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| describe(s).is_empty())
        .collect();
    if !unknown.is_empty() {
        return Err((
            "Invalid Scopes",
            format!(
                "Invalid Scopes: {}. This message is only shown to developers.",
                unknown.join(", ")
            ),
        ));
    }
    Ok((redirect, scopes))
}

/// `GET /sandbox/www/{version}/dialog/oauth`: the user picker, then the consent screen (`as=`).
pub async fn dialog(
    AxState(sb): AxState<Shared>,
    Path(version): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (_, scopes) = match check_request(&sb, &q) {
        Ok(ok) => ok,
        Err((title, detail)) => return error_page(title, &detail),
    };
    let st = sb.lock();
    let app_name = st.world.app_name.clone();
    let chosen = q.get("as").and_then(|key| st.world.user(key)).cloned();
    let Some(user) = chosen else {
        let mut items = String::new();
        for u in &st.world.users {
            let mut pairs: Vec<(String, String)> = q
                .iter()
                .filter(|(k, _)| k.as_str() != "as")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pairs.sort();
            pairs.push(("as".into(), u.key.clone()));
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            let pages = u.tasks.len();
            let role = if pages == 0 {
                "no Pages".to_string()
            } else {
                format!("manages {pages} Page(s)")
            };
            items.push_str(&format!(
                r#"<li><a data-testid="user-choice" data-user="{key}" href="/sandbox/www/{ver}/dialog/oauth?{query}"><span>{name}</span><span class="muted">{role}</span></a></li>"#,
                key = esc(&u.key),
                ver = esc(&version),
                query = esc(&query),
                name = esc(&u.name),
                role = esc(&role),
            ));
        }
        let body = format!(
            r#"<h1>Log in to {app}</h1><p class="muted">Choose a sandbox test user to continue.</p><ul class="choices" aria-label="Test users">{items}</ul>"#,
            app = esc(&app_name)
        );
        return Html(page_shell("Log in with Facebook", &body)).into_response();
    };

    let rerequest = q.get("auth_type").is_some_and(|a| a == "rerequest");
    let grants = st.grants.get(&user.key).cloned().unwrap_or_default();
    let mut rows = String::new();
    for perm in scopes.iter().filter(|p| !st.withheld(&user.key, p)) {
        let line = esc(describe(perm));
        let row = match grants.get(perm) {
            _ if perm == "public_profile" => {
                format!(
                    r#"<div class="perm"><span aria-hidden="true">✓</span><span><b>{perm}</b> — {line} <span class="muted">(always shared)</span></span></div>"#
                )
            }
            Some(true) => format!(
                r#"<div class="perm"><span aria-hidden="true">✓</span><span><b>{perm}</b> — {line} <span class="muted">(already granted)</span></span></div>"#
            ),
            Some(false) if !rerequest => format!(
                r#"<div class="perm"><span aria-hidden="true">✗</span><span><b>{perm}</b> — {line} <span class="muted">(declined earlier; apps ask again with auth_type=rerequest)</span></span></div>"#
            ),
            _ => format!(
                r#"<label class="perm"><input type="checkbox" name="grant" value="{perm}" checked data-testid="permission" data-permission="{perm}"><span><b>{perm}</b> — {line}</span></label>"#
            ),
        };
        rows.push_str(&row);
    }
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "auth_type",
        "response_type",
    ]
    .iter()
    .filter_map(|k| {
        q.get(*k)
            .map(|v| format!(r#"<input type="hidden" name="{k}" value="{}">"#, esc(v)))
    })
    .collect();
    let body = format!(
        r#"<h1>{app} is requesting access</h1>
<p>Continue as <b data-testid="dialog-user">{name}</b>. <a href="?{back}">Not you?</a></p>
<form method="post" action="/sandbox/www/{ver}/dialog/oauth/confirm" aria-label="Permissions requested">
{hidden}<input type="hidden" name="as" value="{key}">
<p class="muted">Untick what you do not want to share.</p>
{rows}
<div class="actions"><button type="submit" name="action" value="cancel" class="secondary" data-testid="cancel">Cancel</button>
<button type="submit" name="action" value="continue" data-testid="continue">Continue as {first}</button></div>
</form>"#,
        app = esc(&app_name),
        name = esc(&user.name),
        first = esc(user.name.split(' ').next().unwrap_or(&user.name)),
        key = esc(&user.key),
        ver = esc(&version),
        back = esc(&url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q.iter().filter(|(k, _)| k.as_str() != "as"))
            .finish()),
    );
    Html(page_shell("Log in with Facebook", &body)).into_response()
}

fn redirect_with(mut target: url::Url, pairs: &[(&str, &str)]) -> Response {
    {
        let mut q = target.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    // Meta appends this empty fragment to every Login redirect.
    target.set_fragment(Some("_=_"));
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// `POST .../dialog/oauth/confirm`: Continue (with the ticked permissions) or Cancel.
pub async fn confirm(AxState(sb): AxState<Shared>, body: Bytes) -> Response {
    let mut q: HashMap<String, String> = HashMap::new();
    let mut ticked: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body).into_owned() {
        if k == "grant" {
            ticked.push(v);
        } else {
            q.insert(k, v);
        }
    }
    let (redirect, scopes) = match check_request(&sb, &q) {
        Ok(ok) => ok,
        Err((title, detail)) => return error_page(title, &detail),
    };
    let state = q.get("state").cloned();
    if q.get("action").map(String::as_str) != Some("continue") {
        let mut pairs = vec![
            ("error_reason", "user_denied"),
            ("error", "access_denied"),
            ("error_description", "Permissions error"),
        ];
        if let Some(s) = &state {
            pairs.push(("state", s));
        }
        return redirect_with(redirect, &pairs);
    }
    let mut st = sb.lock();
    let Some(user) = q
        .get("as")
        .and_then(|k| st.world.user(k))
        .map(|u| u.key.clone())
    else {
        return error_page("Unknown test user", "Pick a test user from the list.");
    };
    let rerequest = q.get("auth_type").is_some_and(|a| a == "rerequest");
    let withheld: Vec<&String> = scopes.iter().filter(|p| st.withheld(&user, p)).collect();
    let grants = st.grants.entry(user.clone()).or_default();
    grants.insert("public_profile".into(), true);
    for perm in scopes
        .iter()
        .filter(|p| p.as_str() != "public_profile" && !withheld.contains(p))
    {
        let asked = match grants.get(perm) {
            Some(true) => false,
            Some(false) => rerequest,
            None => true,
        };
        if asked {
            grants.insert(perm.clone(), ticked.contains(perm));
        }
    }
    let code = format!("AQ{}", super::random_alnum(180));
    let now = st.now_ms();
    st.codes.insert(
        code.clone(),
        AuthCode {
            user,
            redirect_uri: redirect.to_string(),
            created_ms: now,
            used: false,
            code_challenge: q.get("code_challenge").map(|c| {
                let method = q
                    .get("code_challenge_method")
                    .cloned()
                    .unwrap_or_else(|| "plain".into());
                (c.clone(), method)
            }),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &state {
        pairs.push(("state", s));
    }
    redirect_with(redirect, &pairs)
}

/// Login URL of a test user: remembers them as the Messenger user of this browser.
pub async fn test_user_login(AxState(sb): AxState<Shared>, Path(id): Path<String>) -> Response {
    let st = sb.lock();
    let Some(user) = st.world.user(&id).cloned() else {
        return error_page(
            "Unknown test user",
            "This test user does not exist (any more).",
        );
    };
    let links: String = st
        .world
        .pages
        .iter()
        .map(|p| {
            format!(
                r#"<li><a href="/sandbox/m.me/{u}">Message {n}</a></li>"#,
                u = esc(&p.username),
                n = esc(&p.name)
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Logged in as {}</h1><ul>{links}</ul>"#,
        esc(&user.name)
    );
    let cookie = format!(
        "{AS_COOKIE}={}; Path=/sandbox; SameSite=Lax; HttpOnly",
        user.key
    );
    (
        [(header::SET_COOKIE, cookie)],
        Html(page_shell("Test user", &body)),
    )
        .into_response()
}

fn format_time(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms / 1000) else {
        return ms.to_string();
    };
    format!(
        "{}, {:02}-{}-{:02} {:02}:{:02}:{:02} UTC",
        t.weekday(),
        t.day(),
        &format!("{}", t.month())[..3],
        t.year() % 100,
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Error 190 with the subcode Meta uses for each way a token stops working.
pub fn invalid_token(subcode: u32, app_id: &str, expired_at: Option<i64>, now: i64) -> GraphError {
    let reason = match subcode {
        458 => format!("The user has not authorized application {app_id}."),
        459 => "The user is enrolled in a blocking, logged-in checkpoint".into(),
        460 => "The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.".into(),
        463 => format!(
            "Session has expired on {}. The current time is {}.",
            format_time(expired_at.unwrap_or(now)),
            format_time(now)
        ),
        464 => "Sessions for the user are not allowed because the user is not a confirmed user.".into(),
        492 => "The user does not have a role on this Page any more.".into(),
        _ => "The session is invalid because the user logged out.".into(),
    };
    GraphError::new(190, format!("Error validating access token: {reason}")).with_subcode(subcode)
}

/// Why a stored token no longer works, if it does not.
pub fn token_error(st: &State, app_id: &str, token: &str) -> Option<GraphError> {
    let now = st.now_ms();
    let Some(t) = st.tokens.get(token) else {
        return Some(GraphError::new(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        ));
    };
    if let Some(sub) = t.revoked {
        return Some(invalid_token(sub, app_id, None, now));
    }
    if let TokenKind::Page {
        parent: Some(parent),
        ..
    } = &t.kind
    {
        if let Some(sub) = st.tokens.get(parent).and_then(|p| p.revoked) {
            return Some(invalid_token(sub, app_id, None, now));
        }
    }
    match t.expires_ms {
        Some(exp) if exp <= now => Some(invalid_token(463, app_id, Some(exp), now)),
        _ => None,
    }
}

fn check_client(ctx: &Ctx, req: &Req, need_secret: bool) -> Result<(), GraphError> {
    match req.params.str("client_id") {
        None => return Err(GraphError::new(101, "Missing client_id parameter.")),
        Some(id) if id != ctx.sb.config.app_id => {
            return Err(GraphError::new(
                101,
                "Error validating application. Invalid application ID.",
            ))
        }
        _ => {}
    }
    if need_secret {
        match req.params.str("client_secret") {
            None => return Err(GraphError::new(101, "Missing client_secret parameter.")),
            Some(s) if s != ctx.sb.config.app_secret.expose() => {
                return Err(GraphError::new(1, "Error validating client secret."))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `/oauth/access_token`: code exchange, long-lived exchange, app token.
pub fn exchange(ctx: &mut Ctx, req: &Req) -> GraphResult {
    check_client(ctx, req, true)?;
    match req.params.str("grant_type").as_deref() {
        Some("client_credentials") => {
            let token = format!("{}|{}", ctx.sb.config.app_id, super::random_alnum(27));
            let now = ctx.st.now_ms();
            ctx.st.tokens.insert(
                token.clone(),
                super::state::Token {
                    kind: TokenKind::App,
                    issued_ms: now,
                    expires_ms: None,
                    revoked: None,
                },
            );
            Ok(json!({ "access_token": token, "token_type": "bearer" }))
        }
        Some("fb_exchange_token") => {
            let Some(short) = req.params.str("fb_exchange_token") else {
                return Err(GraphError::param("Missing fb_exchange_token parameter"));
            };
            if let Some(e) = token_error(ctx.st, &ctx.sb.config.app_id, &short) {
                return Err(e);
            }
            let TokenKind::User { user, .. } = ctx.st.tokens[&short].kind.clone() else {
                return Err(GraphError::param(
                    "fb_exchange_token must be a user access token",
                ));
            };
            let token = ctx.st.issue_token(
                TokenKind::User {
                    user,
                    long_lived: true,
                },
                Some(LONG_LIVED_SECONDS),
            );
            Ok(
                json!({ "access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS }),
            )
        }
        None | Some("authorization_code") => {
            let Some(redirect_uri) = req.params.str("redirect_uri") else {
                return Err(GraphError::param("Missing redirect_uri parameter."));
            };
            let Some(code) = req.params.str("code") else {
                return Err(GraphError::param("Missing code parameter."));
            };
            let now = ctx.st.now_ms();
            let Some(entry) = ctx.st.codes.get_mut(&code) else {
                return Err(
                    GraphError::param("Invalid verification code format.").with_subcode(36007)
                );
            };
            if entry.used {
                return Err(
                    GraphError::param("This authorization code has been used.").with_subcode(36009)
                );
            }
            if now - entry.created_ms > CODE_TTL_MS {
                return Err(
                    GraphError::param("This authorization code has expired.").with_subcode(36007)
                );
            }
            let same_uri = url::Url::parse(&redirect_uri)
                .map(|u| u.to_string())
                .unwrap_or(redirect_uri)
                == entry.redirect_uri;
            if !same_uri {
                return Err(GraphError::param(
                    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
                )
                .with_subcode(36008));
            }
            if let Some((challenge, method)) = &entry.code_challenge {
                // PKCE: only the holder of the verifier behind the dialog's challenge may redeem
                // the code. Meta answers a mismatch with a plain invalid-parameter error.
                let verifier = req.params.str("code_verifier").unwrap_or_default();
                if !pkce_matches(challenge, method, &verifier) {
                    return Err(GraphError::param("Invalid code_verifier."));
                }
            }
            entry.used = true;
            let user = entry.user.clone();
            let lifetime = ctx.st.knobs.short_lived_token_seconds;
            let token = ctx.st.issue_token(
                TokenKind::User {
                    user,
                    long_lived: false,
                },
                Some(lifetime),
            );
            Ok(json!({ "access_token": token, "token_type": "bearer", "expires_in": lifetime }))
        }
        Some(other) => Err(GraphError::param(format!(
            "Unsupported grant_type: {other}"
        ))),
    }
}

/// `/debug_token?input_token=...` with an app token.
pub fn debug_token(ctx: &mut Ctx, req: &Req) -> GraphResult {
    if !matches!(authenticate(ctx, req)?, Auth::App) {
        return Err(GraphError::param(
            "You must provide an app access token, or a user access token that is an owner or developer of the app",
        ));
    }
    let Some(input) = req.params.str("input_token") else {
        return Err(GraphError::param("The parameter input_token is required"));
    };
    let app_id = ctx.sb.config.app_id.clone();
    let app_name = ctx.st.world.app_name.clone();
    if input.starts_with(&format!("{app_id}|")) {
        let valid = ctx.st.tokens.contains_key(&input)
            || input.ends_with(&format!("|{}", ctx.sb.config.app_secret.expose()));
        return Ok(
            json!({ "data": { "app_id": app_id, "type": "APP", "application": app_name, "is_valid": valid } }),
        );
    }
    let Some(t) = ctx.st.tokens.get(&input).cloned() else {
        return Ok(json!({ "data": {
            "error": { "code": 190, "message": "Invalid OAuth access token - Cannot parse access token" },
            "is_valid": false, "scopes": [],
        }}));
    };
    let (kind, user, page) = match &t.kind {
        TokenKind::User { user, .. } => ("USER", user.clone(), None),
        TokenKind::Page { page, user, .. } => ("PAGE", user.clone(), Some(page.clone())),
        TokenKind::App => ("APP", String::new(), None),
    };
    let scopes = ctx.st.granted_list(&user);
    let targets: Vec<String> = ctx
        .st
        .world
        .pages
        .iter()
        .filter(|p| !ctx.st.world.tasks(&user, &p.id).is_empty())
        .map(|p| p.id.clone())
        .collect();
    let granular: Vec<Value> = scopes
        .iter()
        .filter(|s| s.starts_with("pages_") || s.starts_with("page_"))
        .map(|s| json!({ "scope": s, "target_ids": targets }))
        .collect();
    let mut data = json!({
        "app_id": app_id,
        "type": kind,
        "application": app_name,
        "data_access_expires_at": (t.issued_ms + DATA_ACCESS_MS) / 1000,
        "expires_at": t.expires_ms.map_or(0, |e| e / 1000),
        "is_valid": true,
        "issued_at": t.issued_ms / 1000,
        "scopes": scopes,
        "granular_scopes": granular,
        "user_id": ctx.st.world.asid(&user),
    });
    if let Some(page) = page {
        data["profile_id"] = json!(page);
    }
    if let Some(e) = token_error(ctx.st, &app_id, &input) {
        data["is_valid"] = json!(false);
        let mut error = json!({ "code": e.code, "message": e.message });
        if let Some(sub) = e.subcode {
            error["subcode"] = json!(sub);
        }
        data["error"] = error;
    }
    Ok(json!({ "data": data }))
}

fn test_user_json(ctx: &mut Ctx, key: &str, with_token: bool) -> Value {
    let asid = ctx.st.world.asid(key);
    let mut out = json!({
        "id": asid,
        "login_url": ctx.sb.config.url(&format!("/sandbox/www/checkpoint/test-user-login/{asid}")),
    });
    if with_token {
        let cached = ctx
            .st
            .test_user_tokens
            .get(key)
            .filter(|t| token_error(ctx.st, &ctx.sb.config.app_id, t).is_none())
            .cloned();
        let token = match cached {
            Some(t) => t,
            None => {
                let t = ctx.st.issue_token(
                    TokenKind::User {
                        user: key.to_string(),
                        long_lived: true,
                    },
                    Some(LONG_LIVED_SECONDS),
                );
                ctx.st.test_user_tokens.insert(key.to_string(), t.clone());
                t
            }
        };
        out["access_token"] = json!(token);
    }
    out
}

/// `GET|POST /{app-id}/accounts/test-users`.
pub fn test_users(ctx: &mut Ctx, req: &Req, method: &str) -> GraphResult {
    match method {
        "GET" => {
            let keys: Vec<String> = ctx.st.world.users.iter().map(|u| u.key.clone()).collect();
            let items: Vec<Value> = keys.iter().map(|k| test_user_json(ctx, k, true)).collect();
            Ok(paginate(ctx, req, items))
        }
        "POST" => {
            let installed = req.params.str("installed").is_none_or(|v| v != "false");
            let permissions = req.params.list("permissions").unwrap_or_default();
            if let Some(bad) = permissions.iter().find(|p| describe(p).is_empty()) {
                return Err(GraphError::param(format!("Invalid permission: {bad}")));
            }
            let n = ctx.st.numeric_id(0);
            let key = format!("testuser{}", n.trim_start_matches('0'));
            let name = req
                .params
                .str("name")
                .unwrap_or_else(|| format!("Test User {}", n.trim_start_matches('0')));
            let email = format!("{key}@sandbox.test");
            ctx.st.world.add_user(super::world::User {
                key: key.clone(),
                name,
                email: Some(email.clone()),
                tasks: BTreeMap::new(),
                // Meta's test users belong to the app: Standard Access is enough for them.
                app_role: Some("tester".into()),
            });
            if installed {
                let grants = ctx.st.grants.entry(key.clone()).or_default();
                grants.insert("public_profile".into(), true);
                for p in permissions {
                    grants.insert(p, true);
                }
            }
            let mut out = test_user_json(ctx, &key, installed);
            out["email"] = json!(email);
            out["password"] = json!(super::random_alnum(12));
            Ok(out)
        }
        _ => Err(super::graph::unsupported(req, "test-users")),
    }
}

/// RFC 7636: `S256` compares base64url(sha256(verifier)) with the challenge; `plain` compares them
/// as they are.
fn pkce_matches(challenge: &str, method: &str, verifier: &str) -> bool {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};
    if verifier.is_empty() {
        return false;
    }
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        "plain" => verifier == challenge,
        _ => false,
    }
}
