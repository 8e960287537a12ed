//! The sandbox control API: faults, clock, tokens, simulated people, and inspection. JSON in,
//! JSON out; errors are `{"error": "..."}` with HTTP 400 or 404. Not part of Meta: only tests,
//! benchmarks and curious developers call it.
//!
//! ## Control API (`/sandbox/control/...`)
//!
//! Users are named by their key (`admin`, `alice`, ...) or their app-scoped id; Pages by id or
//! username. `GET /sandbox/control/world` lists both, with every PSID.
//!
//! | call | body / query | what it does |
//! |---|---|---|
//! | `POST /reset` | | back to the seeded world: tokens, threads, grants, templates, logs and settings reset, queued webhooks dropped |
//! | `POST /users/{user}/deletion` | | sends the app Meta's data deletion callback for that person (`signed_request` with their app-scoped id); answers `{status, answer}` (the app's JSON) |
//! | `GET /world` | | app id, users (key, id, name, tasks, `app_role`, `psids` per Page), Pages |
//! | `GET /settings` | | the global settings below |
//! | `PATCH /settings` | any of: `tag_era` (`"2026"`\|`"legacy"`), `rate_limit_per_second` (300: more calls in any one second, counted as they come in, refused ones too, get 613), `arrival_jitter_ms` (0: each Graph call is seen a random 0 to this many ms after it came), `webhook_url`, `webhook_duplicate` (false), `webhook_reorder` (false), `reorder_window_ms` (100), `delivery_delay_ms` (200), `read_delay_ms` (null: only when the chat is viewed), `template_approval_delay_ms` (0: creation answers the review's outcome at once), `template_outcome` (`"APPROVED"`\|`"REJECTED"`), `template_rejection_reason` (`"INCORRECT_CATEGORY"`), `webhook_retry_initial_ms` (1000), `webhook_retry_for_ms` (3600000), `require_subscription` (true), `require_appsecret_proof` (false), `short_lived_token_seconds` (5400), `permission_access` (`{"<permission>": "advanced"\|"standard"}`, merged over the current levels; default every permission `advanced` except `pages_utility_messaging`: `standard`) | changes them; answers the new settings. Unknown setting, permission or level: 400 naming it |
//! | `PATCH /settings` (Messenger fidelity) | `webhook_test_payloads` (false: when true every webhook body carries every number and boolean as a string, as the dashboard's "Test" button sends), `profile_access` (false: `GET /{psid}` fails with 100 / 33 `GraphMethodException`, as without "Business Asset User Profile Access"; true: it answers) | as above |
//! | `GET /pages/{page}` | | that Page's faults |
//! | `PATCH /pages/{page}` | any of: `latency_ms` (0), `transient_error_rate` (0.0–1.0: share of calls with that Page's token answered with code 2, HTTP 500), `throttled` (false: every send gets `throttle_code`), `throttle_code` (613; or 4, 17, 32, 80001, 80006), `restricted` (false: sends get 10 / 1893063), `tag_era` (null: the global one), `send_error` (null; or `"1200"`: HTTP 500 "(#1200) Temporary send message failure. Please try again later", `"368"` policy block, `"1"` / `"99"` unknown error, `"10"`, `"200"`, `"230"` permission errors: every Send API call for the Page fails so, in Meta's words, and counts in `/sends`), `blocked_as_code_2` (false: a send to someone who blocked the Page answers code 2 `is_transient`, HTTP 500, instead of 551 / 1545041) | changes them |
//! | `GET /clock` | | `{"now_ms","offset_ms"}`: the sandbox clock (windows, expiries, timestamps) |
//! | `POST /clock` | `{"advance_ms": n}` or `{"offset_ms": n}` | moves the clock forward (past a 24-hour window, a token's expiry...) without sleeping |
//! | `POST /tokens` | `{"user", "scopes": [...]?, "long_lived": true?, "page"?}` | grants `scopes` to the user and mints a user token (and that Page's token when `page` is given) without the dialog: `{"access_token","user_id","page_access_token"?}`. A `standard` permission is left out, silently, for a user without `app_role` (as the dialog does) |
//! | `POST /tokens/revoke` | `{"access_token"}` or `{"user"}`, `"subcode"` (460; or 458, 459, 464, 467, 492) | the token (with the Page tokens read from it), or every token of the user, fails with 190 / subcode from now on |
//! | `POST /tokens/expire` | `{"access_token"}` | the token fails with 190 / 463 from now on |
//! | `POST /interactions` | `{"user", "page", "kind", "text"?, "payload"?, "title"?, "ref"?, "ago_ms"?}`; `kind`: `message`, `quick_reply` (text = title, with `payload`), `get_started` (with `ref` as from an m.me link), `postback`, `referral`, `open_link` (m.me link: `referral` if the thread exists, nothing yet if new), `block`, `unblock` | acts as the person in Messenger: thread, 24-hour window and webhook exactly as the chat page does; `ago_ms` backdates it. Answers `{"psid","mid","event","delivered"}`; 409 `{"error"}` when the person cannot do it (blocked, no thread yet, no Get Started button, or Get Started hidden: `pages_messaging` at `standard` and no `app_role`) |
//! | `POST /interactions` `kind: ice_breaker` | `{"user", "page", "payload"?, "index"?}` | taps one of the Page's ice breaker questions (by payload, or by position from 0) in a new thread: a postback with its question and payload, no referral. With ice breakers set, `get_started` in a new thread answers 409 (`error` names the ice breakers) and sends nothing |
//! | `POST /people` | `{"page", "count", "prefix"?, "ago_ms"?}` | `count` people (`{prefix}1`..., default prefix `person`; existing ones reused) who tapped Get Started on the Page `ago_ms` ago (default now): threads open, no webhook. Answers `{"page_id","people":[{"user","psid"}]}` |
//! | `POST /pages` | `{"username", "name"?, "id"?, "category"?, "admin"?}` | a new Page, with `admin` (default `admin`) holding every task; gone at reset. Answers `{"id","username","name","admin"}` |
//! | `GET /pages/{page}/sends` | | the Page's Send API calls as its rate limit saw them: `{"limit_per_second","calls","accepted","throttled","in_batches","batches","first_ms","last_ms","span_s","calls_per_second","max_in_one_second","per_second"}`; `calls_per_second` is (calls - 1) / span, `max_in_one_second` the busiest sliding one-second window, `in_batches` the calls that came within batch requests (`POST /` with `batch`) and `batches` those requests, `per_second` the calls in each whole second since the first |
//! | `DELETE /pages/{page}/sends` | | starts those figures again |
//! | `GET /threads/{page}/{user}` | | `{"psid","started","blocked","window_open","last_interaction_ms","messages":[{"mid","from","timestamp","body","messaging_type"?,"tag"?}]}` |
//! | `GET /requests` | `?path=<substring>&method=POST&since=<seq>` | every Graph call received, oldest first: `{"data":[{"seq","time","method","path","query","body","status","error_code"?,"error_subcode"?}]}`; tokens and secrets shown as `***` |
//! | `DELETE /requests` | | empties that log |
//! | `GET /webhooks` | | webhook POSTs attempted: `{"data":[{"time","url","attempt","duplicate","events","result","ok","body"}]}` |
//! | `DELETE /webhooks` | | empties that log |
//! | `PATCH /templates/{page}/{id or name}` | `{"status", "reason"?}`; status: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, `FLAGGED`, `REINSTATED`, `IN_APPEAL`, `PENDING_DELETION` | sets the status (and `rejected_reason` for `REJECTED`: `reason`, default `template_rejection_reason`); sends `message_template_status_update` with `event` = status and `reason` when the Page subscribed to it. Answers the template with `"webhook": true\|false` |
//! | `PATCH /users/{user}` | `{"app_role": "administrator"\|"developer"\|"tester"\|null}` | gives or takes the person's role on the app (Standard Access permissions and the welcome screen depend on it) |
//! | `PUT /pages/{page}/roles/{user}` | `{"tasks": [...]}` (any of `MANAGE`, `CREATE_CONTENT`, `MODERATE`, `MESSAGING`, `ADVERTISE`, `ANALYZE`; `[]` removes the person from the Page) | sets the person's tasks on the Page, as a Page admin does in Meta's settings; `/me/accounts` answers accordingly from now on. Answers `{"page_id","user","tasks"}` |

use super::{
    messenger::{interact as person_acts, Interaction},
    state::{AccessLevel, ChatMessage, From, Knobs, State, TokenKind},
    templates,
    world::{Page, User, ALL_TASKS, APP_ROLES},
    Shared,
};
use axum::{
    extract::{Path, Query, State as AxState},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Applies a partial JSON object onto a settings struct; unknown keys and wrong types are errors.
fn merge<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<T, String> {
    let Value::Object(patch) = patch else {
        return Err("the body must be a JSON object".into());
    };
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    let fields = value
        .as_object_mut()
        .expect("settings serialize as objects");
    for (k, v) in patch {
        if !fields.contains_key(k) {
            return Err(format!("unknown setting `{k}`"));
        }
        fields.insert(k.clone(), v.clone());
    }
    serde_json::from_value(value).map_err(|e| format!("invalid value: {e}"))
}

pub async fn reset(AxState(sb): AxState<Shared>) -> Json<Value> {
    sb.reset();
    Json(json!({ "ok": true }))
}

pub async fn world(AxState(sb): AxState<Shared>) -> Json<Value> {
    let st = sb.lock();
    let mut out = st.world.describe();
    out["app_id"] = json!(sb.config.app_id);
    Json(out)
}

pub async fn get_settings(AxState(sb): AxState<Shared>) -> Json<Knobs> {
    Json(sb.lock().knobs.clone())
}

/// `permission_access` in a settings patch: each named permission's level, merged over the
/// current ones (a patch names only what it changes).
fn merge_access(st: &State, patch: &mut Value) -> Result<(), String> {
    let Some(levels) = patch.get("permission_access") else {
        return Ok(());
    };
    let Value::Object(levels) = levels else {
        return Err(
            "permission_access is an object: {\"<permission>\": \"advanced\"|\"standard\"}".into(),
        );
    };
    let mut merged = st.knobs.permission_access.clone();
    for (permission, level) in levels {
        if !super::login::known_permissions().any(|p| p == permission) {
            return Err(format!(
                "permission_access: unknown permission `{permission}`"
            ));
        }
        let Some(level) = level.as_str().and_then(AccessLevel::parse) else {
            return Err(format!(
                "permission_access: `{permission}` must be \"advanced\" or \"standard\", not {level}"
            ));
        };
        merged.insert(permission.clone(), level);
    }
    patch["permission_access"] = serde_json::to_value(merged).map_err(|e| e.to_string())?;
    Ok(())
}

pub async fn patch_settings(
    AxState(sb): AxState<Shared>,
    Json(mut patch): Json<Value>,
) -> Response {
    let mut st = sb.lock();
    if let Err(e) = merge_access(&st, &mut patch) {
        return fail(StatusCode::BAD_REQUEST, e);
    }
    match merge(&st.knobs, &patch) {
        Ok(knobs) => {
            if knobs.template_outcome != "APPROVED" && knobs.template_outcome != "REJECTED" {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "template_outcome must be APPROVED or REJECTED",
                );
            }
            if knobs.template_rejection_reason.trim().is_empty() {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "template_rejection_reason must not be empty",
                );
            }
            if !url::Url::parse(&knobs.webhook_url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "webhook_url must be an absolute http(s) URL",
                );
            }
            st.knobs = knobs;
            Json(st.knobs.clone()).into_response()
        }
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn get_page(AxState(sb): AxState<Shared>, Path(page): Path<String>) -> Response {
    let st = sb.lock();
    match st.world.page(&page) {
        Some(p) => Json(st.page_knobs(&p.id)).into_response(),
        None => fail(StatusCode::NOT_FOUND, format!("no Page `{page}`")),
    }
}

pub async fn patch_page(
    AxState(sb): AxState<Shared>,
    Path(page): Path<String>,
    Json(patch): Json<Value>,
) -> Response {
    let mut st = sb.lock();
    let Some(id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    match merge(&st.page_knobs(&id), &patch) {
        Ok(knobs) if !(0.0..=1.0).contains(&knobs.transient_error_rate) => {
            let _ = knobs;
            fail(
                StatusCode::BAD_REQUEST,
                "transient_error_rate is a share between 0.0 and 1.0",
            )
        }
        Ok(knobs) => {
            st.page_knobs.insert(id, knobs.clone());
            Json(knobs).into_response()
        }
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn get_clock(AxState(sb): AxState<Shared>) -> Json<Value> {
    let st = sb.lock();
    Json(json!({ "now_ms": st.now_ms(), "offset_ms": st.clock_offset_ms }))
}

#[derive(Deserialize)]
pub struct ClockMove {
    advance_ms: Option<i64>,
    offset_ms: Option<i64>,
}

pub async fn move_clock(AxState(sb): AxState<Shared>, Json(m): Json<ClockMove>) -> Response {
    let mut st = sb.lock();
    match (m.advance_ms, m.offset_ms) {
        (Some(a), None) if a >= 0 => st.clock_offset_ms += a,
        (None, Some(o)) if o >= 0 => st.clock_offset_ms = o,
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "give one of advance_ms or offset_ms, not negative",
            )
        }
    }
    Json(json!({ "now_ms": st.now_ms(), "offset_ms": st.clock_offset_ms })).into_response()
}

#[derive(Deserialize)]
pub struct Mint {
    user: String,
    scopes: Option<Vec<String>>,
    long_lived: Option<bool>,
    page: Option<String>,
}

pub async fn mint_token(AxState(sb): AxState<Shared>, Json(m): Json<Mint>) -> Response {
    let mut st = sb.lock();
    let Some(user) = st.world.user(&m.user).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{}`", m.user));
    };
    // As in the dialog: a Standard Access permission is silently left out for someone without
    // a role on the app.
    let scopes: Vec<String> = m
        .scopes
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !st.withheld(&user, s))
        .collect();
    let grants = st.grants.entry(user.clone()).or_default();
    grants.insert("public_profile".into(), true);
    for s in scopes {
        grants.insert(s, true);
    }
    let long_lived = m.long_lived.unwrap_or(true);
    let lifetime = if long_lived {
        super::login::LONG_LIVED_SECONDS
    } else {
        st.knobs.short_lived_token_seconds
    };
    let token = st.issue_token(
        TokenKind::User {
            user: user.clone(),
            long_lived,
        },
        Some(lifetime),
    );
    let mut out = json!({ "access_token": token, "user_id": st.world.asid(&user) });
    if let Some(page) = m.page {
        let Some(page_id) = st.world.page(&page).map(|p| p.id.clone()) else {
            return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
        };
        if st.world.tasks(&user, &page_id).is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("`{user}` has no task on Page {page_id}"),
            );
        }
        let page_lifetime = if long_lived { None } else { Some(lifetime) };
        let kind = TokenKind::Page {
            page: page_id.clone(),
            user: user.clone(),
            parent: Some(token.clone()),
        };
        let page_token = st.issue_token(kind, page_lifetime);
        st.page_tokens.insert((token, page_id), page_token.clone());
        out["page_access_token"] = json!(page_token);
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
pub struct Revoke {
    access_token: Option<String>,
    user: Option<String>,
    subcode: Option<u32>,
}

pub async fn revoke_token(AxState(sb): AxState<Shared>, Json(r): Json<Revoke>) -> Response {
    let subcode = r.subcode.unwrap_or(460);
    if ![458, 459, 460, 464, 467, 492].contains(&subcode) {
        return fail(
            StatusCode::BAD_REQUEST,
            "subcode must be one of 458, 459, 460, 464, 467, 492",
        );
    }
    let mut st = sb.lock();
    let mut count = 0;
    match (r.access_token, r.user) {
        (Some(token), None) => {
            let Some(t) = st.tokens.get_mut(&token) else {
                return fail(StatusCode::NOT_FOUND, "no such token");
            };
            t.revoked = Some(subcode);
            count += 1;
        }
        (None, Some(user)) => {
            let Some(key) = st.world.user(&user).map(|u| u.key.clone()) else {
                return fail(StatusCode::NOT_FOUND, format!("no user `{user}`"));
            };
            for t in st.tokens.values_mut() {
                if matches!(&t.kind, TokenKind::User { user, .. } | TokenKind::Page { user, .. } if *user == key)
                {
                    t.revoked = Some(subcode);
                    count += 1;
                }
            }
        }
        _ => return fail(StatusCode::BAD_REQUEST, "give one of access_token or user"),
    }
    Json(json!({ "revoked": count, "subcode": subcode })).into_response()
}

#[derive(Deserialize)]
pub struct Expire {
    access_token: String,
}

pub async fn expire_token(AxState(sb): AxState<Shared>, Json(e): Json<Expire>) -> Response {
    let mut st = sb.lock();
    let now = st.now_ms();
    let Some(t) = st.tokens.get_mut(&e.access_token) else {
        return fail(StatusCode::NOT_FOUND, "no such token");
    };
    t.expires_ms = Some(now - 1);
    Json(json!({ "expired": true })).into_response()
}

#[derive(Deserialize)]
pub struct Act {
    user: String,
    page: String,
    kind: String,
    text: Option<String>,
    payload: Option<String>,
    title: Option<String>,
    #[serde(rename = "ref")]
    referral: Option<String>,
    ago_ms: Option<i64>,
    /// Which ice breaker (`kind: ice_breaker`), from 0, when no `payload` names it.
    index: Option<usize>,
}

pub async fn interact(AxState(sb): AxState<Shared>, Json(a): Json<Act>) -> Response {
    let mut st = sb.lock();
    let Some(user) = st.world.user(&a.user).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{}`", a.user));
    };
    let Some(page) = st.world.page(&a.page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{}`", a.page));
    };
    let what = match a.kind.as_str() {
        "message" => Interaction::Message {
            text: a.text.unwrap_or_default(),
            quick_reply: None,
        },
        "quick_reply" => Interaction::Message {
            text: a.text.or(a.title).unwrap_or_default(),
            quick_reply: Some(a.payload.unwrap_or_default()),
        },
        "get_started" => Interaction::GetStarted {
            referral: a.referral,
        },
        "postback" => Interaction::Postback {
            title: a.title.unwrap_or_else(|| "Button".into()),
            payload: a.payload.unwrap_or_default(),
        },
        "referral" => Interaction::Referral {
            referral: a.referral.unwrap_or_default(),
        },
        "ice_breaker" => Interaction::IceBreaker {
            payload: a.payload,
            index: a.index,
        },
        "open_link" => {
            let started = st
                .threads
                .get(&(page.clone(), user.clone()))
                .is_some_and(|t| t.started);
            match (started, a.referral) {
                (true, Some(r)) => Interaction::Referral { referral: r },
                _ => {
                    return Json(
                        json!({ "psid": st.world.psid(&page, &user), "new_thread": !started }),
                    )
                    .into_response()
                }
            }
        }
        "block" => Interaction::Block,
        "unblock" => Interaction::Unblock,
        other => return fail(StatusCode::BAD_REQUEST, format!("unknown kind `{other}`")),
    };
    let at = a.ago_ms.map(|ago| st.now_ms() - ago.max(0));
    match person_acts(&sb, &mut st, &page, &user, what, at) {
        Ok(v) => Json(v).into_response(),
        Err(problem) => fail(StatusCode::CONFLICT, problem),
    }
}

/// Most people one `POST /people` adds: a benchmark's crowd, not a typo's worth of memory.
const CROWD_MAX: usize = 1_000_000;

fn valid_handle(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[derive(Deserialize)]
pub struct Crowd {
    page: String,
    count: usize,
    prefix: Option<String>,
    ago_ms: Option<i64>,
}

/// Many people who tapped Get Started on a Page, at once: what a benchmark needs by the hundred
/// thousand and `POST /interactions` does one webhook at a time. No webhook goes out: whoever
/// asks seeds the product's side itself. People `{prefix}1`..`{prefix}{count}` are created if
/// new (an existing one is reused, so one crowd can open threads on several Pages).
pub async fn add_people(AxState(sb): AxState<Shared>, Json(c): Json<Crowd>) -> Response {
    if c.count == 0 || c.count > CROWD_MAX {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("count is between 1 and {CROWD_MAX}"),
        );
    }
    let prefix = c.prefix.unwrap_or_else(|| "person".into());
    if !valid_handle(&prefix) {
        return fail(
            StatusCode::BAD_REQUEST,
            "prefix: up to 64 letters, digits, `_`, `-` or `.`",
        );
    }
    let mut st = sb.lock();
    let Some(page) = st.world.page(&c.page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{}`", c.page));
    };
    let at = st.now_ms() - c.ago_ms.unwrap_or(0).max(0);
    let payload = st
        .profiles
        .get(&page)
        .and_then(|p| p.get("get_started"))
        .and_then(|g| g.get("payload"))
        .and_then(Value::as_str)
        .unwrap_or("GET_STARTED")
        .to_string();
    let mut people = Vec::with_capacity(c.count);
    for i in 1..=c.count {
        let key = format!("{prefix}{i}");
        st.world.add_user(User {
            key: key.clone(),
            name: format!("{prefix} {i}"),
            email: None,
            tasks: Default::default(),
            app_role: None,
        });
        let psid = st.world.psid(&page, &key);
        let thread = st.thread(&page, &key);
        thread.messages.push(ChatMessage {
            mid: format!("m_{}", super::random_alnum(43)),
            from: From::User,
            timestamp: at,
            body: json!({ "postback": { "title": "Get Started", "payload": payload } }),
            messaging_type: None,
            tag: None,
        });
        thread.started = true;
        thread.last_interaction_ms = Some(at);
        thread.version += 1;
        people.push(json!({ "user": key, "psid": psid }));
    }
    Json(json!({ "page_id": page, "people": people })).into_response()
}

#[derive(Deserialize)]
pub struct NewPage {
    username: String,
    name: Option<String>,
    id: Option<String>,
    category: Option<String>,
    admin: Option<String>,
}

/// Another Page, run by `admin` (default `admin`) with every task; gone at the next reset.
pub async fn add_page(AxState(sb): AxState<Shared>, Json(p): Json<NewPage>) -> Response {
    if !valid_handle(&p.username) || p.id.as_ref().is_some_and(|id| !valid_handle(id)) {
        return fail(
            StatusCode::BAD_REQUEST,
            "username and id: up to 64 letters, digits, `_`, `-` or `.`",
        );
    }
    let mut st = sb.lock();
    let admin = p.admin.unwrap_or_else(|| "admin".into());
    let Some(admin) = st.world.user(&admin).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{admin}`"));
    };
    let id = p.id.unwrap_or_else(|| st.numeric_id(103));
    let category = p.category.unwrap_or_else(|| "Shopping & Retail".into());
    let page = Page {
        id: id.clone(),
        name: p.name.unwrap_or_else(|| p.username.clone()),
        username: p.username,
        category,
        category_list: Vec::new(),
    };
    let out =
        json!({ "id": page.id, "username": page.username, "name": page.name, "admin": admin });
    if !st.world.add_page(page) {
        return fail(StatusCode::BAD_REQUEST, "that Page id or username is taken");
    }
    if let Some(user) = st.world.user_mut(&admin) {
        let tasks = ALL_TASKS.iter().map(|t| t.to_string()).collect();
        user.tasks.insert(id, tasks);
    }
    Json(out).into_response()
}

/// What the Page's rate limit saw: calls, calls per second between the first and the last, and
/// the busiest one-second window.
pub async fn sends(AxState(sb): AxState<Shared>, Path(page): Path<String>) -> Response {
    let st = sb.lock();
    let Some(id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    let stats = st.send_stats.get(&id).cloned().unwrap_or_default();
    let span_s = match (stats.first, stats.last) {
        (Some((first, _)), Some((last, _))) => last.duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    // n calls evenly spaced at r a second span (n - 1) / r seconds.
    let per_second = (stats.calls > 1 && span_s > 0.0).then(|| (stats.calls - 1) as f64 / span_s);
    Json(json!({
        "page_id": id,
        "limit_per_second": st.knobs.rate_limit_per_second,
        "calls": stats.calls,
        "accepted": stats.accepted,
        "throttled": stats.throttled,
        "in_batches": stats.in_batches,
        "batches": stats.batches,
        "first_ms": stats.first.map(|f| f.1),
        "last_ms": stats.last.map(|l| l.1),
        "span_s": span_s,
        "calls_per_second": per_second,
        "max_in_one_second": stats.max_in_one_second,
        "per_second": stats.per_second,
    }))
    .into_response()
}

pub async fn clear_sends(AxState(sb): AxState<Shared>, Path(page): Path<String>) -> Response {
    let mut st = sb.lock();
    let Some(id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    st.send_stats.remove(&id);
    Json(json!({ "ok": true })).into_response()
}

pub async fn thread(
    AxState(sb): AxState<Shared>,
    Path((page, user)): Path<(String, String)>,
) -> Response {
    let st = sb.lock();
    let Some(page_id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    let Some(key) = st.world.user(&user).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{user}`"));
    };
    let now = st.now_ms();
    let psid = st.world.psid(&page_id, &key);
    let t = st
        .threads
        .get(&(page_id.clone(), key.clone()))
        .cloned()
        .unwrap_or_default();
    let window_open = t.started
        && t.last_interaction_ms
            .is_some_and(|l| now - l <= 24 * 3600 * 1000);
    Json(json!({
        "page_id": page_id, "user": key, "psid": psid, "started": t.started, "blocked": t.blocked,
        "window_open": window_open, "last_interaction_ms": t.last_interaction_ms, "messages": t.messages,
    }))
    .into_response()
}

pub async fn requests(
    AxState(sb): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let st = sb.lock();
    let since: u64 = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let data: Vec<_> = st
        .requests
        .iter()
        .filter(|r| r.seq > since)
        .filter(|r| q.get("path").is_none_or(|p| r.path.contains(p.as_str())))
        .filter(|r| {
            q.get("method")
                .is_none_or(|m| r.method.eq_ignore_ascii_case(m))
        })
        .collect();
    Json(json!({ "data": data }))
}

pub async fn clear_requests(AxState(sb): AxState<Shared>) -> Json<Value> {
    sb.lock().requests.clear();
    Json(json!({ "ok": true }))
}

pub async fn webhook_log(AxState(sb): AxState<Shared>) -> Json<Value> {
    let st = sb.lock();
    Json(json!({ "data": st.webhook_log }))
}

/// What is still to be posted: `{"unsent", "scheduled", "pending"}` (`pending` is the sum; 0
/// means nothing is on its way, now or later). Lets a test prove that no webhook will come by
/// asking, not by waiting.
pub async fn pending_webhooks(AxState(sb): AxState<Shared>) -> Json<Value> {
    let (unsent, scheduled) = sb.hooks.pending();
    Json(json!({
        "unsent": unsent,
        "scheduled": scheduled,
        "pending": unsent + scheduled as u64,
    }))
}

pub async fn clear_webhook_log(AxState(sb): AxState<Shared>) -> Json<Value> {
    sb.lock().webhook_log.clear();
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
pub struct TemplateStatus {
    status: String,
    reason: Option<String>,
}

/// A template's status changes as Meta's review or quality rating would change it; the Page
/// hears of it by webhook (when subscribed to `message_template_status_update`).
pub async fn set_template_status(
    AxState(sb): AxState<Shared>,
    Path((page, id)): Path<(String, String)>,
    Json(body): Json<TemplateStatus>,
) -> Response {
    if !templates::STATUSES.contains(&body.status.as_str()) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("status must be one of {}", templates::STATUSES.join(", ")),
        );
    }
    let mut st = sb.lock();
    let Some(page_id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    let reason = match body.reason {
        Some(r) => Some(r),
        None if body.status == "REJECTED" => Some(st.knobs.template_rejection_reason.clone()),
        None => None,
    };
    let Some((mut out, item)) = templates::set_status(&mut st, &page_id, &id, &body.status, reason)
    else {
        return fail(StatusCode::NOT_FOUND, "no such template");
    };
    drop(st);
    out["webhook"] = json!(item.is_some());
    if let Some(item) = item {
        sb.hooks.deliver(item);
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
pub struct UserPatch {
    app_role: Option<String>,
}

/// Gives a person a role on the app, or takes it away (`null`): with Standard Access, only
/// people with one get the permission (asked again with `auth_type=rerequest`).
pub async fn patch_user(
    AxState(sb): AxState<Shared>,
    Path(user): Path<String>,
    Json(body): Json<UserPatch>,
) -> Response {
    if let Some(role) = body.app_role.as_deref().filter(|r| !APP_ROLES.contains(r)) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "app_role `{role}` must be one of {} (or null)",
                APP_ROLES.join(", ")
            ),
        );
    }
    let mut st = sb.lock();
    let Some(key) = st.world.user(&user).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{user}`"));
    };
    let u = st.world.user_mut(&key).expect("found above");
    u.app_role = body.app_role;
    Json(json!({ "key": key, "app_role": u.app_role })).into_response()
}

#[derive(Deserialize)]
pub struct RolePatch {
    tasks: Vec<String>,
}

/// Sets a person's tasks on a Page (`[]`: removed from it), as a Page admin does in Meta's
/// settings: tests take someone's rights away while they are logged in to the product.
pub async fn set_role(
    AxState(sb): AxState<Shared>,
    Path((page, user)): Path<(String, String)>,
    Json(body): Json<RolePatch>,
) -> Response {
    if let Some(task) = body.tasks.iter().find(|t| !ALL_TASKS.contains(&t.as_str())) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("task `{task}` must be one of {}", ALL_TASKS.join(", ")),
        );
    }
    let mut st = sb.lock();
    let Some(page_id) = st.world.page(&page).map(|p| p.id.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no Page `{page}`"));
    };
    let Some(key) = st.world.user(&user).map(|u| u.key.clone()) else {
        return fail(StatusCode::NOT_FOUND, format!("no user `{user}`"));
    };
    let u = st.world.user_mut(&key).expect("found above");
    if body.tasks.is_empty() {
        u.tasks.remove(&page_id);
    } else {
        u.tasks.insert(page_id.clone(), body.tasks.clone());
    }
    Json(json!({ "page_id": page_id, "user": key, "tasks": body.tasks })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::PageKnobs;

    #[test]
    fn merge_rejects_unknown_keys_and_bad_types() {
        let knobs = PageKnobs::default();
        assert!(merge(&knobs, &json!({"latency_ms": 5})).is_ok());
        assert!(merge(&knobs, &json!({"latncy_ms": 5})).is_err());
        assert!(merge(&knobs, &json!({"latency_ms": "x"})).is_err());
    }
}
