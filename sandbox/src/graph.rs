//! The Graph API at `/sandbox/graph/{version}/...` (the version segment is optional, as on Meta).
//! One handler reads every call (query, JSON or form body, `Authorization: Bearer|OAuth`
//! header), checks the token, routes on the path, logs the call for the control API, and answers
//! with Meta's bodies and error envelope.
//!
//! Nodes and edges served: `/oauth/access_token`, `/debug_token`, `/me`, `/me/permissions`,
//! `/me/accounts`, `/{page}` (`/me` with a Page token), `/{page}/messages`,
//! `/{page}/subscribed_apps`, `/{page}/messenger_profile`, `/{page}/message_templates`,
//! `/{app-id}`, `/{app-id}/accounts/test-users`. Utility templates (`message_templates`) are
//! checked and reviewed in [`super::templates`].
//!
//! `POST /{page}/subscribed_apps` checks each field's permission on the Page token's user
//! (`message_template_status_update` needs `pages_utility_messaging`, the Messenger fields
//! `pages_messaging`) and refuses the whole call when one is missing: code 1, subcode 1929002,
//! nothing stored, as Graph does.

use super::{
    errors::GraphError,
    login,
    state::{LoggedRequest, State, TokenKind, REQUEST_LOG_CAP},
    Sandbox, Shared,
};
use axum::{
    body::Bytes,
    extract::State as AxState,
    http::{HeaderMap, Method, Uri},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::{collections::BTreeMap, time::Instant};

/// Parameters merged from the query string and the body (query first, like Meta).
pub struct Params {
    pub query: Vec<(String, String)>,
    pub body: Value,
}

impl Params {
    fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, GraphError> {
        let query: Vec<(String, String)> = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
        let body = if trimmed.is_none() {
            Value::Null
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let map: Map<String, Value> = url::form_urlencoded::parse(body)
                .into_owned()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            Value::Object(map)
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Value::Object(map),
                Ok(_) | Err(_) => {
                    return Err(GraphError::param("Invalid JSON for postData")
                        .user("Invalid request", "The body is not a JSON object."))
                }
            }
        };
        Ok(Params { query, body })
    }

    /// A parameter as text (JSON values other than strings are given in their JSON form).
    pub fn str(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.query.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        match self.body.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    }

    /// A parameter as JSON: objects in a JSON body, or JSON text in a query or form field.
    pub fn json(&self, key: &str) -> Option<Value> {
        let from_query = self
            .query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| Value::String(v.clone()));
        match from_query.or_else(|| self.body.get(key).cloned()) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(serde_json::from_str(&s).unwrap_or(Value::String(s))),
            Some(other) => Some(other),
        }
    }

    /// A comma-separated list, or a JSON array of strings.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        match self.json(key)? {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            Value::String(s) => Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            ),
            other => Some(vec![other.to_string()]),
        }
    }
}

/// One Graph call, parsed.
pub struct Req {
    pub method: Method,
    pub segs: Vec<String>,
    pub version: String,
    pub params: Params,
    pub token: Option<String>,
    /// The path after the version, e.g. `/me/accounts` (for paging links).
    pub path: String,
}

/// What a route works with: the sandbox, its locked state, and the latency to add.
pub struct Ctx<'a> {
    pub sb: &'a Sandbox,
    pub st: &'a mut State,
    pub latency_ms: u64,
    /// Send API calls report how full their Page's rate bucket is: (Page id, percent used).
    pub usage: Option<(String, f64)>,
    /// When the call came in, before it waited for the lock: what a Page's send figures count.
    pub arrived: Instant,
}

/// Who is calling, once the token is checked.
/// No `Debug`: it carries the caller's token.
#[derive(Clone)]
pub enum Auth {
    User {
        user: String,
        token: String,
    },
    Page {
        page: String,
        user: String,
        token: String,
    },
    App,
}

pub type GraphResult = Result<Value, GraphError>;

pub async fn handle(
    AxState(sb): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The calls' uneven way to Meta, when a test asks for it: a call may come in after one that
    // left later, and calls sent evenly may crowd into one second.
    let jitter = sb.lock().knobs.arrival_jitter_ms;
    if jitter > 0 {
        let delay = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=jitter);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let arrived = Instant::now();
    let rest = uri.path().strip_prefix("/sandbox/graph").unwrap_or("");
    let (segs, version) = segments(rest, crate::GRAPH_VERSION);
    let path = format!("/{}", segs.join("/"));
    if method == Method::GET && segs.len() == 2 && segs[1] == "picture" {
        if let Some(response) = page_picture(&sb, &segs[0]) {
            return response;
        }
    }
    let parsed = Params::parse(uri.query(), &headers, &body);
    if method == Method::POST && segs.is_empty() {
        if let Ok(params) = &parsed {
            if params.str("batch").is_some() {
                return batch(&sb, &version, params, &headers, arrived).await;
            }
        }
    }
    let log_body = match &parsed {
        Ok(p) => redact_value(&p.body),
        Err(_) => Value::String(String::from_utf8_lossy(&body).chars().take(2000).collect()),
    };
    let log_query = redacted_query(uri.query().unwrap_or(""));

    let (result, latency_ms, usage) = process(
        &sb, &method, segs, version, path, parsed, &headers, log_query, log_body, arrived,
    );
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let mut response = match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => e.into_response(),
    };
    if let Some((page, percent)) = usage {
        add_usage_headers(response.headers_mut(), &page, percent);
    }
    response
}

/// `GET /{page-id}/picture`: a Page's picture, public (no token), as Meta serves it (there by a
/// redirect to its image server; here the image itself). The sandbox draws the Page's initial on
/// a colour of its own. `None` for anything but a Page: the call goes on to the Graph router,
/// which answers as Graph does.
fn page_picture(sb: &Shared, node: &str) -> Option<Response> {
    let name = sb.lock().world.page(node)?.name.clone();
    // A letter or digit (never markup), else "?".
    let initial = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .unwrap_or('?')
        .to_uppercase()
        .collect::<String>();
    let hue = name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % 360;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100"><rect width="100" height="100" fill="hsl({hue},55%,45%)"/><text x="50" y="66" font-family="sans-serif" font-size="48" fill="#fff" text-anchor="middle">{initial}</text></svg>"##
    );
    Some(
        (
            [
                (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
                (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            svg,
        )
            .into_response(),
    )
}

/// Meta's limit on the calls of one batch request.
const BATCH_MAX: usize = 50;

/// `POST /` with `batch=[{"method","relative_url","body"?},...]` (Graph's batch requests): each
/// operation is a call of its own, routed, checked, logged and counted against its Page's
/// limit as if it had come alone, at the moment the batch arrived (Meta: "each call within the
/// batch is counted separately"). Operations without a token of their own use the batch's
/// `access_token` and `appsecret_proof`. The answer is an array in the operations' order of
/// `{"code","headers"?,"body"}`, the body as JSON text; `include_headers=false` leaves the
/// headers out. More than 50 operations, or a `batch` that is not an array of operations, is
/// refused whole with code 100 (Meta's limit; its exact words are not documented, these are
/// the sandbox's).
async fn batch(
    sb: &Shared,
    version: &str,
    outer: &Params,
    headers: &HeaderMap,
    arrived: Instant,
) -> Response {
    let ops = match outer.json("batch") {
        Some(Value::Array(ops)) if ops.iter().all(Value::is_object) => ops,
        _ => {
            return GraphError::param("The parameter batch must be a JSON array of requests")
                .into_response()
        }
    };
    if ops.len() > BATCH_MAX {
        return GraphError::param(format!(
            "Too many requests in batch message. Maximum batch size is {BATCH_MAX}"
        ))
        .into_response();
    }
    let include_headers = outer.str("include_headers").as_deref() != Some("false");
    let inherited: Vec<(String, String)> = ["access_token", "appsecret_proof"]
        .into_iter()
        .filter_map(|k| outer.str(k).map(|v| (k.to_string(), v)))
        .collect();
    let mut answers = Vec::with_capacity(ops.len());
    let mut latency_ms = 0;
    let mut busiest: Option<(String, f64)> = None;
    // The Pages whose calls this batch carried.
    let mut pages: Vec<String> = Vec::new();
    for op in &ops {
        let method = op["method"]
            .as_str()
            .unwrap_or("GET")
            .to_ascii_uppercase()
            .parse::<Method>()
            .unwrap_or(Method::GET);
        let relative = op["relative_url"].as_str().unwrap_or("");
        let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
        let (segs, op_version) = segments(path, version);
        let body = op["body"].as_str().unwrap_or("");
        let parsed = Params::parse(Some(query), &form_headers(), body.as_bytes()).map(|mut p| {
            if p.str("access_token").is_none() {
                p.query.extend(inherited.iter().cloned());
            }
            p
        });
        let log_body = match &parsed {
            Ok(p) => redact_value(&with_json_text_read(&p.body)),
            Err(_) => Value::String(body.chars().take(2000).collect()),
        };
        let log_query = redacted_query(query);
        let path = format!("/{}", segs.join("/"));
        let (result, op_latency, usage) = process(
            sb, &method, segs, op_version, path, parsed, headers, log_query, log_body, arrived,
        );
        latency_ms = latency_ms.max(op_latency);
        let (code, body) = match result {
            Ok(value) => (200, value),
            Err(e) => (e.status.as_u16(), e.body()),
        };
        let mut answer = json!({ "code": code, "body": body.to_string() });
        if include_headers {
            let mut op_headers = HeaderMap::new();
            if let Some((page, percent)) = &usage {
                add_usage_headers(&mut op_headers, page, *percent);
            }
            let mut listed = vec![json!({
                "name": "Content-Type",
                "value": "application/json; charset=UTF-8",
            })];
            for (name, value) in &op_headers {
                listed
                    .push(json!({ "name": name.as_str(), "value": value.to_str().unwrap_or("") }));
            }
            answer["headers"] = Value::Array(listed);
        }
        answers.push(answer);
        if let Some((page, percent)) = usage {
            let mut st = sb.lock();
            let stats = st.send_stats.entry(page.clone()).or_default();
            stats.in_batches += 1;
            if !pages.contains(&page) {
                stats.batches += 1;
                pages.push(page.clone());
            }
            drop(st);
            if busiest.as_ref().is_none_or(|(_, p)| percent > *p) {
                busiest = Some((page, percent));
            }
        }
    }
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let mut response = Json(Value::Array(answers)).into_response();
    // The batch's own answer carries the usage too: the fullest of its Pages' buckets.
    if let Some((page, percent)) = busiest {
        add_usage_headers(response.headers_mut(), &page, percent);
    }
    response
}

/// A query string as the request log shows it: secrets as `***`.
fn redacted_query(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .map(|(k, v)| {
            let v = if is_secret_param(&k) {
                "***".to_string()
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

/// The headers a batch operation's form body is read with.
fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers
}

/// A form body's JSON-text fields (`recipient`, `message`) as the JSON they hold, for the
/// request log: a call in a batch reads there as it would have come alone.
fn with_json_text_read(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let read = v
                        .as_str()
                        .filter(|s| s.starts_with('{') || s.starts_with('['))
                        .and_then(|s| serde_json::from_str(s).ok());
                    (k.clone(), read.unwrap_or_else(|| v.clone()))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Meta's throttling headers (facts file §8): percentages of the quota, so a careful sender slows
/// down before it is throttled. Here the Page's rate bucket is the quota.
fn add_usage_headers(headers: &mut HeaderMap, page: &str, percent: f64) {
    let percent = percent.round().clamp(0.0, 100.0) as u64;
    let regain = if percent >= 100 { 1 } else { 0 };
    let app = json!({ "call_count": percent, "total_cputime": 0, "total_time": 0 });
    let business = json!({ page: [{
        "type": "messenger",
        "call_count": percent,
        "total_cputime": 0,
        "total_time": 0,
        "estimated_time_to_regain_access": regain,
    }]});
    for (name, value) in [
        ("x-app-usage", app),
        ("x-business-use-case-usage", business),
    ] {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, value);
        }
    }
}

/// The synchronous part of a call: route it under the lock and log it.
#[allow(clippy::too_many_arguments)]
fn process(
    sb: &Shared,
    method: &Method,
    segs: Vec<String>,
    version: String,
    path: String,
    parsed: Result<Params, GraphError>,
    headers: &HeaderMap,
    log_query: BTreeMap<String, String>,
    log_body: Value,
    arrived: Instant,
) -> (GraphResult, u64, Option<(String, f64)>) {
    let mut st = sb.lock();
    let mut latency_ms = 0;
    let mut usage = None;
    let result = match parsed {
        Err(e) => Err(e),
        Ok(params) => {
            let token = params.str("access_token").or_else(|| header_token(headers));
            let req = Req {
                method: method.clone(),
                segs,
                version,
                params,
                token,
                path: path.clone(),
            };
            let mut ctx = Ctx {
                sb,
                st: &mut st,
                latency_ms: 0,
                usage: None,
                arrived,
            };
            let result = route(&mut ctx, &req);
            latency_ms = ctx.latency_ms;
            usage = ctx.usage.take();
            result
        }
    };
    let (status, code, subcode) = match &result {
        Ok(_) => (200, None, None),
        Err(e) => (e.status.as_u16(), Some(e.code), e.subcode),
    };
    if st.requests.len() >= REQUEST_LOG_CAP {
        st.requests.pop_front();
    }
    st.request_seq += 1;
    let entry = LoggedRequest {
        seq: st.request_seq,
        time: st.now_ms(),
        method: method.to_string(),
        path,
        query: log_query,
        body: log_body,
        status,
        error_code: code,
        error_subcode: subcode,
    };
    st.requests.push_back(entry);
    (result, latency_ms, usage)
}

/// A Graph path's segments and its version (the leading `vX.Y`, else `default_version`).
fn segments(path: &str, default_version: &str) -> (Vec<String>, String) {
    let mut segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let version = match segs.first() {
        Some(first) if is_version(first) => segs.remove(0),
        _ => default_version.to_string(),
    };
    (segs, version)
}

fn is_version(seg: &str) -> bool {
    seg.strip_prefix('v').is_some_and(|rest| {
        let mut parts = rest.split('.');
        matches!((parts.next(), parts.next(), parts.next()),
            (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit()))
    })
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim().to_string())
}

/// Parameters whose values never reach the request log.
pub fn is_secret_param(key: &str) -> bool {
    matches!(
        key,
        "access_token"
            | "client_secret"
            | "fb_exchange_token"
            | "input_token"
            | "appsecret_proof"
            | "code"
    )
}

fn redact_value(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if is_secret_param(k) {
                            json!("***")
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn route(ctx: &mut Ctx, req: &Req) -> GraphResult {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["oauth", "access_token"]) | ("POST", ["oauth", "access_token"]) => {
            return login::exchange(ctx, req)
        }
        ("GET", ["debug_token"]) => return login::debug_token(ctx, req),
        (_, []) => return Err(GraphError::new(2500, "Unknown path components: /")),
        _ => {}
    }
    let auth = authenticate(ctx, req)?;
    let node = segs[0];
    let edge = &segs[1..];
    let app_id = ctx.sb.config.app_id.clone();

    if node == "me" {
        return match &auth {
            Auth::User { user, token } => user_node(ctx, req, user, token, edge),
            Auth::Page { page, .. } => page_node(ctx, req, &auth, &page.clone(), edge),
            Auth::App => Err(GraphError::new(
                2500,
                "An active access token must be used to query information about the current user.",
            )),
        };
    }
    if node == app_id {
        return app_node(ctx, req, &auth, edge);
    }
    if let Some(page) = ctx.st.world.page(node).map(|p| p.id.clone()) {
        return page_node(ctx, req, &auth, &page, edge);
    }
    if let Some(user) = ctx.st.world.user_by_asid(node).map(|u| u.key.clone()) {
        if edge.is_empty() && req.method == Method::GET {
            return user_fields(ctx, req, &user);
        }
    }
    // The User Profile API: a PSID read with a token of its own Page (PSIDs are page-scoped).
    if let Some((page, user)) = ctx.st.world.by_psid(node).cloned() {
        let own_page = matches!(&auth, Auth::Page { page: p, .. } if *p == page);
        if own_page && edge.is_empty() && req.method == Method::GET {
            return psid_profile(ctx, req, &user);
        }
    }
    Err(unsupported(req, node))
}

pub fn unsupported(req: &Req, node: &str) -> GraphError {
    GraphError::param(format!(
        "Unsupported {} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        req.method.as_str().to_lowercase()
    ))
    .with_subcode(33)
}

pub(super) fn nonexisting(edge: &str, node_type: &str) -> GraphError {
    GraphError::param(format!(
        "Tried accessing nonexisting field ({edge}) on node type ({node_type})"
    ))
}

/// Checks the token (and `appsecret_proof`), then applies the Page's latency and transient faults.
pub fn authenticate(ctx: &mut Ctx, req: &Req) -> Result<Auth, GraphError> {
    let Some(token) = req.token.as_deref() else {
        return Err(GraphError::new(
            104,
            "An access token is required to request this resource.",
        ));
    };
    let secret = ctx.sb.config.app_secret.expose();
    match req.params.str("appsecret_proof") {
        Some(proof) if !proof_matches(secret, token, &proof) => {
            return Err(GraphError::param(
                "Invalid appsecret_proof provided in the API argument",
            ))
        }
        None if ctx.st.knobs.require_appsecret_proof => {
            return Err(GraphError::param(
                "API calls from the server require an appsecret_proof argument",
            ))
        }
        _ => {}
    }
    if let Some((id, rest)) = token.split_once('|') {
        let known = ctx
            .st
            .tokens
            .get(token)
            .is_some_and(|t| t.kind == TokenKind::App);
        if id == ctx.sb.config.app_id && (known || subtle_eq(rest, secret)) {
            return Ok(Auth::App);
        }
        return Err(GraphError::new(
            190,
            "Invalid OAuth access token signature.",
        ));
    }
    if let Some(error) = login::token_error(ctx.st, &ctx.sb.config.app_id, token) {
        return Err(error);
    }
    let record = ctx.st.tokens.get(token).expect("checked by token_error");
    match record.kind.clone() {
        TokenKind::User { user, .. } => Ok(Auth::User {
            user,
            token: token.to_string(),
        }),
        TokenKind::App => Ok(Auth::App),
        TokenKind::Page { page, user, .. } => {
            let knobs = ctx.st.page_knobs(&page);
            ctx.latency_ms = knobs.latency_ms;
            if knobs.transient_error_rate > 0.0
                && rand::thread_rng().gen::<f64>() < knobs.transient_error_rate
            {
                return Err(GraphError::transient());
            }
            Ok(Auth::Page {
                page,
                user,
                token: token.to_string(),
            })
        }
    }
}

fn subtle_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `appsecret_proof` = hex HMAC-SHA256(key = app secret, message = token), compared in constant time.
pub fn proof_matches(secret: &str, token: &str, proof: &str) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(token.as_bytes());
    let Ok(raw) = hex::decode(proof) else {
        return false;
    };
    mac.verify_slice(&raw).is_ok()
}

fn user_node(ctx: &mut Ctx, req: &Req, user: &str, token: &str, edge: &[&str]) -> GraphResult {
    match (req.method.as_str(), edge) {
        ("GET", []) => user_fields(ctx, req, user),
        ("GET", ["permissions"]) => {
            let mut data: Vec<Value> =
                vec![json!({"permission": "public_profile", "status": "granted"})];
            if let Some(grants) = ctx.st.grants.get(user) {
                for (perm, granted) in grants {
                    if perm != "public_profile" {
                        data.push(json!({"permission": perm, "status": if *granted { "granted" } else { "declined" }}));
                    }
                }
            }
            Ok(json!({ "data": data }))
        }
        ("DELETE", ["permissions"]) => {
            // The person removes the app: every token they gave it stops working (458).
            ctx.st.grants.remove(user);
            for t in ctx.st.tokens.values_mut() {
                if matches!(&t.kind, TokenKind::User { user: u, .. } | TokenKind::Page { user: u, .. } if u == user)
                {
                    t.revoked = Some(458);
                }
            }
            Ok(json!({ "success": true }))
        }
        ("GET", ["accounts"]) => accounts(ctx, req, user, token),
        (_, ["messages" | "subscribed_apps" | "messenger_profile" | "message_templates", ..]) => {
            Err(GraphError::new(
                210,
                "(#210) A page access token is required to request this resource.",
            ))
        }
        (_, [edge, ..]) => Err(nonexisting(edge, "User")),
        _ => Err(unsupported(req, "me")),
    }
}

/// Without "Business Asset User Profile Access" (the `profile_access` setting, off by default as
/// for most Business apps), Graph cannot load the person and says so as for any object it cannot
/// load: 100 / 33, `GraphMethodException`.
fn psid_profile(ctx: &mut Ctx, req: &Req, user: &str) -> GraphResult {
    if !ctx.st.knobs.profile_access {
        // Meta's words for this one carry no `(#100)` prefix.
        let psid = req.segs.first().map_or(user, String::as_str);
        return Err(GraphError::new(
            100,
            format!(
                "Unsupported get request. Object with ID '{psid}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .with_subcode(33)
        .of_type("GraphMethodException"));
    }
    let Some(person) = ctx.st.world.user(user) else {
        return Err(unsupported(req, user));
    };
    let mut out = Map::new();
    for field in req.params.list("fields").unwrap_or_default() {
        let value = match field.as_str() {
            "first_name" => json!(person.name.split(' ').next().unwrap_or("")),
            "last_name" => json!(person.name.split(' ').skip(1).collect::<Vec<_>>().join(" ")),
            "name" => json!(person.name),
            "id" => continue,
            other => return Err(nonexisting(other, "User")),
        };
        out.insert(field, value);
    }
    Ok(Value::Object(out))
}

fn user_fields(ctx: &mut Ctx, req: &Req, user: &str) -> GraphResult {
    let world = &ctx.st.world;
    let Some(person) = world.user(user) else {
        return Err(unsupported(req, user));
    };
    let fields = req
        .params
        .list("fields")
        .unwrap_or_else(|| vec!["name".into(), "id".into()]);
    let mut out = Map::new();
    for field in fields {
        let value = match field.as_str() {
            "id" => json!(world.asid(&person.key)),
            "name" => json!(person.name),
            "first_name" => json!(person.name.split(' ').next().unwrap_or("")),
            "last_name" => json!(person.name.split(' ').skip(1).collect::<Vec<_>>().join(" ")),
            // Without the permission Meta leaves the field out rather than failing.
            "email" if ctx.st.granted(&person.key, "email") => json!(person.email),
            "email" => continue,
            other => return Err(nonexisting(other, "User")),
        };
        out.insert(field, value);
    }
    out.entry("id")
        .or_insert_with(|| json!(world.asid(&person.key)));
    Ok(Value::Object(out))
}

fn accounts(ctx: &mut Ctx, req: &Req, user: &str, token: &str) -> GraphResult {
    if !ctx.st.granted(user, "pages_show_list") {
        return Ok(json!({ "data": [] }));
    }
    let parent = ctx
        .st
        .tokens
        .get(token)
        .cloned()
        .expect("authenticated token");
    let long_lived = matches!(
        parent.kind,
        TokenKind::User {
            long_lived: true,
            ..
        }
    );
    let pages: Vec<(super::world::Page, Vec<String>)> = ctx
        .st
        .world
        .pages
        .iter()
        .filter_map(|p| {
            let tasks = ctx.st.world.tasks(user, &p.id);
            (!tasks.is_empty()).then(|| (p.clone(), tasks.to_vec()))
        })
        .collect();
    let mut items = Vec::new();
    for (page, tasks) in pages {
        let key = (token.to_string(), page.id.clone());
        let page_token = match ctx.st.page_tokens.get(&key) {
            Some(t) => t.clone(),
            None => {
                // A Page token read with a long-lived user token does not expire; otherwise it
                // lives as long as the user token.
                let lifetime = if long_lived {
                    None
                } else {
                    parent
                        .expires_ms
                        .map(|e| ((e - ctx.st.now_ms()) / 1000).max(1))
                };
                let kind = TokenKind::Page {
                    page: page.id.clone(),
                    user: user.to_string(),
                    parent: Some(token.to_string()),
                };
                let t = ctx.st.issue_token(kind, lifetime);
                ctx.st.page_tokens.insert(key, t.clone());
                t
            }
        };
        items.push(json!({
            "access_token": page_token,
            "category": page.category,
            "category_list": page.category_list,
            "name": page.name,
            "id": page.id,
            "tasks": tasks,
        }));
    }
    Ok(paginate(ctx, req, items))
}

/// Cursor paging: `limit` (default 25), `after`/`before` cursors, `paging.next`/`previous` only
/// when there is more in that direction.
pub fn paginate(ctx: &Ctx, req: &Req, items: Vec<Value>) -> Value {
    let limit = req
        .params
        .str("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let decode = |c: String| -> Option<usize> {
        let raw = B64.decode(c.as_bytes()).ok()?;
        String::from_utf8(raw)
            .ok()?
            .strip_prefix("idx:")?
            .parse()
            .ok()
    };
    let (start, end) = if let Some(after) = req.params.str("after").and_then(decode) {
        let start = (after + 1).min(items.len());
        (start, (start + limit).min(items.len()))
    } else if let Some(before) = req.params.str("before").and_then(decode) {
        let end = before.min(items.len());
        (end.saturating_sub(limit), end)
    } else {
        (0, limit.min(items.len()))
    };
    let page: Vec<Value> = items[start..end].to_vec();
    if page.is_empty() {
        return json!({ "data": [] });
    }
    let cursor = |i: usize| B64.encode(format!("idx:{i}"));
    let link = |key: &str, cur: &str| -> String {
        let mut url = url::Url::parse(
            &ctx.sb
                .config
                .url(&format!("/sandbox/graph/{}{}", req.version, req.path)),
        )
        .expect("the sandbox base URL is valid");
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &req.params.query {
                if k != "after" && k != "before" && k != "limit" {
                    q.append_pair(k, v);
                }
            }
            q.append_pair("limit", &limit.to_string());
            q.append_pair(key, cur);
        }
        url.to_string()
    };
    let mut paging = json!({ "cursors": { "before": cursor(start), "after": cursor(end - 1) } });
    if end < items.len() {
        paging["next"] = json!(link("after", &cursor(end - 1)));
    }
    if start > 0 {
        paging["previous"] = json!(link("before", &cursor(start)));
    }
    json!({ "data": page, "paging": paging })
}

fn page_node(ctx: &mut Ctx, req: &Req, auth: &Auth, page: &str, edge: &[&str]) -> GraphResult {
    if edge.is_empty() && req.method == Method::GET {
        let p = ctx.st.world.page(page).cloned().expect("known page");
        let fields = req
            .params
            .list("fields")
            .unwrap_or_else(|| vec!["name".into(), "id".into()]);
        let mut out = Map::new();
        for field in fields {
            let value = match field.as_str() {
                "id" => json!(p.id),
                "name" => json!(p.name),
                "username" => json!(p.username),
                "category" => json!(p.category),
                "category_list" => json!(p.category_list),
                "link" => json!(format!("https://www.facebook.com/{}", p.username)),
                other => return Err(nonexisting(other, "Page")),
            };
            out.insert(field, value);
        }
        return Ok(Value::Object(out));
    }
    // Everything below acts as the Page: it needs that Page's token.
    let user = match auth {
        Auth::Page { page: p, user, .. } if p == page => user.clone(),
        Auth::Page { .. } => {
            return Err(GraphError::new(
                200,
                format!("(#200) The Page access token does not belong to Page {page}"),
            ))
        }
        _ => {
            return Err(GraphError::new(
                210,
                "(#210) A page access token is required to request this resource.",
            ))
        }
    };
    match (req.method.as_str(), edge) {
        ("POST", ["messages"]) => super::send::send(ctx, req, page, &user),
        (method, ["subscribed_apps"]) => subscribed_apps(ctx, method, req, page, &user),
        (method, ["messenger_profile"]) => messenger_profile(ctx, method, req, page, &user),
        ("POST", ["message_templates"]) => super::templates::create(ctx, req, page, &user),
        ("GET", ["message_templates"]) => super::templates::list(ctx, req, page),
        ("DELETE", ["message_templates"]) => super::templates::delete(ctx, req, page),
        (_, [edge, ..]) => Err(nonexisting(edge, "Page")),
        _ => Err(unsupported(req, page)),
    }
}

const WEBHOOK_FIELDS: [&str; 14] = [
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
    "messaging_referrals",
    "message_echoes",
    "messaging_handovers",
    "messaging_policy_enforcement",
    "message_reactions",
    "messaging_account_linking",
    "standby",
    "feed",
    "message_template_status_update",
];

/// The permission a webhook field needs on the Page token's user, if any.
fn field_permission(field: &str) -> Option<&'static str> {
    match field {
        "message_template_status_update" => Some("pages_utility_messaging"),
        "messages"
        | "messaging_postbacks"
        | "messaging_optins"
        | "message_deliveries"
        | "message_reads"
        | "messaging_referrals"
        | "message_echoes"
        | "messaging_handovers"
        | "messaging_policy_enforcement"
        | "message_reactions"
        | "messaging_account_linking"
        | "standby" => Some("pages_messaging"),
        _ => None,
    }
}

/// Graph refuses the whole `subscribed_apps` call when one field's permission is missing
/// (facts file §2): nothing is stored, and the other fields are not subscribed either.
fn check_field_permissions(st: &State, user: &str, fields: &[String]) -> Result<(), GraphError> {
    let mut missing: Vec<&str> = fields
        .iter()
        .filter_map(|f| field_permission(f))
        .filter(|p| !st.granted(user, p))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let fields_hit: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| field_permission(f).is_some_and(|p| missing.contains(&p)))
        .collect();
    Err(GraphError::new(
        1,
        "You could not subscribe to some of the fields requested due to a permissions error",
    )
    .with_subcode(1929002)
    .user(
        "Missing permission",
        &format!(
            "Subscribing to {} needs the {} permission.",
            fields_hit.join(", "),
            missing.join(" and ")
        ),
    ))
}

fn subscribed_apps(ctx: &mut Ctx, method: &str, req: &Req, page: &str, user: &str) -> GraphResult {
    if !ctx.st.granted(user, "pages_manage_metadata") {
        return Err(GraphError::new(
            200,
            "(#200) Requires pages_manage_metadata permission to manage the object",
        ));
    }
    match method {
        "POST" => {
            let Some(fields) = req
                .params
                .list("subscribed_fields")
                .filter(|f| !f.is_empty())
            else {
                return Err(GraphError::param(
                    "The parameter subscribed_fields is required.",
                ));
            };
            if let Some(bad) = fields
                .iter()
                .find(|f| !WEBHOOK_FIELDS.contains(&f.as_str()))
            {
                return Err(GraphError::param(format!(
                    "Param subscribed_fields must be one of {{{}}} - got \"{bad}\"",
                    WEBHOOK_FIELDS.join(", ")
                )));
            }
            check_field_permissions(ctx.st, user, &fields)?;
            ctx.st.subscriptions.insert(page.to_string(), fields);
            Ok(json!({ "success": true }))
        }
        "GET" => {
            let data = match ctx.st.subscriptions.get(page) {
                Some(fields) => vec![json!({
                    "category": "Business",
                    "link": ctx.sb.config.url("/sandbox"),
                    "name": ctx.st.world.app_name,
                    "id": ctx.sb.config.app_id,
                    "subscribed_fields": fields,
                })],
                None => vec![],
            };
            Ok(json!({ "data": data }))
        }
        "DELETE" => {
            ctx.st.subscriptions.remove(page);
            Ok(json!({ "success": true }))
        }
        _ => Err(unsupported(req, page)),
    }
}

const PROFILE_FIELDS: [&str; 6] = [
    "get_started",
    "greeting",
    "persistent_menu",
    "ice_breakers",
    "whitelisted_domains",
    "account_linking_url",
];

fn messenger_profile(
    ctx: &mut Ctx,
    method: &str,
    req: &Req,
    page: &str,
    _user: &str,
) -> GraphResult {
    match method {
        "POST" => {
            let body = match &req.params.body {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            let mut update = Map::new();
            for (key, value) in body {
                if key == "access_token" || key == "appsecret_proof" {
                    continue;
                }
                if !PROFILE_FIELDS.contains(&key.as_str()) {
                    return Err(GraphError::param(format!(
                        "Invalid keys \"{key}\" were found in param \"name_placeholder\"."
                    )));
                }
                // Form bodies carry JSON text.
                let value = match value {
                    Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                    other => other,
                };
                update.insert(key, value);
            }
            if update.is_empty() {
                return Err(GraphError::param(
                    "You must specify at least one messenger profile field",
                ));
            }
            if let Some(get_started) = update.get("get_started") {
                let payload = get_started
                    .get("payload")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if payload.is_empty() {
                    return Err(GraphError::param(
                        "param get_started[payload] must be non-empty.",
                    ));
                }
                if payload.chars().count() > 1000 {
                    return Err(GraphError::param(
                        "Length of param get_started[payload] must be less than or equal to 1000",
                    ));
                }
            }
            if let Some(ice_breakers) = update.get("ice_breakers") {
                super::messenger::ice_breakers_of(ice_breakers).map_err(GraphError::param)?;
            }
            let profile = ctx.st.profiles.entry(page.to_string()).or_default();
            if update.contains_key("persistent_menu")
                && !update.contains_key("get_started")
                && !profile.contains_key("get_started")
            {
                return Err(GraphError::param(
                    "You must set a Get Started button if you also wish to use persistent menu.",
                ));
            }
            profile.extend(update);
            Ok(json!({ "result": "success" }))
        }
        "GET" => {
            let Some(fields) = req.params.list("fields").filter(|f| !f.is_empty()) else {
                return Err(GraphError::param("param fields must be non-empty."));
            };
            let profile = ctx.st.profiles.get(page).cloned().unwrap_or_default();
            let found: Map<String, Value> = fields
                .iter()
                .filter_map(|f| profile.get(f).map(|v| (f.clone(), v.clone())))
                .collect();
            let data = if found.is_empty() {
                vec![]
            } else {
                vec![Value::Object(found)]
            };
            Ok(json!({ "data": data }))
        }
        "DELETE" => {
            let Some(fields) = req.params.list("fields").filter(|f| !f.is_empty()) else {
                return Err(GraphError::param("param fields must be non-empty."));
            };
            if let Some(profile) = ctx.st.profiles.get_mut(page) {
                for f in &fields {
                    profile.remove(f);
                }
            }
            Ok(json!({ "result": "success" }))
        }
        _ => Err(unsupported(req, page)),
    }
}

/// Utility templates and messages need `pages_utility_messaging` (plural: the singular spelling
/// some of Meta's pages print is not a permission, and the dialog refuses it).
pub fn has_utility_permission(st: &State, user: &str) -> bool {
    st.granted(user, "pages_utility_messaging")
}

fn app_node(ctx: &mut Ctx, req: &Req, auth: &Auth, edge: &[&str]) -> GraphResult {
    match (req.method.as_str(), edge) {
        ("GET", []) => Ok(json!({ "id": ctx.sb.config.app_id, "name": ctx.st.world.app_name })),
        (method, ["accounts", "test-users"]) => {
            if !matches!(auth, Auth::App) {
                return Err(GraphError::param("You must provide an app access token"));
            }
            login::test_users(ctx, req, method)
        }
        (_, [edge, ..]) => Err(nonexisting(edge, "Application")),
        _ => Err(unsupported(req, &ctx.sb.config.app_id)),
    }
}
