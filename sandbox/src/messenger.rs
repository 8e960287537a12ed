//! Messenger, as a person sees it: `/sandbox/m.me/{page username or id}?ref=...`.
//!
//! First the visitor picks a test user (or passes `?as={key or id}`; remembered in the
//! `sandbox_as` cookie), then gets a chat page for (user, Page): the thread, a Get Started
//! button in a new thread (its postback carries the link's `referral`; none where
//! [`get_started_hidden`] says so), a `referral` event when the link opens an existing thread, a
//! text box, quick replies and postback buttons, Block / Unblock. Plain HTML forms (works without JavaScript); a few lines of script poll
//! `thread.json` every second to show what the app sends, live. Opening the page (or polling)
//! marks the Page's messages read, which sends the `read` webhook.
//!
//! [`interact`] is the one place where a person's action becomes thread state, a renewed
//! 24-hour window and a webhook; the control API calls it too.
//!
//! Ice breakers (`messenger_profile` `ice_breakers`) take precedence over Get Started, as on
//! Messenger: a new thread shows their questions instead of the button, and a tapped question
//! sends a postback with its payload and **no referral**, so an m.me link's ref is lost. An
//! existing thread is unaffected (a link into it still sends a `referral`). Meta documents the
//! precedence but not every detail; where it is silent the sandbox takes the stricter reading:
//! Get Started cannot be tapped at all in a new thread of a Page with ice breakers.

use super::{
    esc, page_shell,
    state::{ChatMessage, From, State},
    urlencode,
    webhooks::{event, read_event, Item},
    Sandbox, Shared,
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use std::collections::HashMap;

pub const AS_COOKIE: &str = "sandbox_as";
/// How many messages the chat page shows (the thread itself keeps everything).
const SHOWN: usize = 200;

/// Something a person does in Messenger.
#[derive(Clone, Debug)]
pub enum Interaction {
    Message {
        text: String,
        quick_reply: Option<String>,
    },
    GetStarted {
        referral: Option<String>,
    },
    Postback {
        title: String,
        payload: String,
    },
    /// An m.me link opened into an existing thread.
    Referral {
        referral: String,
    },
    /// A tapped ice breaker question of a new thread, chosen by payload or by position.
    IceBreaker {
        payload: Option<String>,
        index: Option<usize>,
    },
    Block,
    Unblock,
}

/// `ref` may hold only letters, digits, `-`, `_` and `=` (and stays short).
pub fn valid_ref(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 250
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='))
}

/// Most ice breaker questions a Page may have (per locale).
pub const ICE_BREAKERS_MAX: usize = 4;

/// Checks `ice_breakers` as `messenger_profile` receives it, in either of Meta's shapes:
/// `[{"question","payload"}]` or `[{"call_to_actions":[{"question","payload"}],"locale"}]`.
/// Answers the questions shown (the `default` locale's, else the first), or what is wrong, worded
/// as Meta's `(#100)` parameter errors.
pub fn ice_breakers_of(value: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(list) = value.as_array() else {
        return Err("param ice_breakers must be an array.".into());
    };
    let questions = |items: &Value, at: &str| -> Result<Vec<(String, String)>, String> {
        let Some(items) = items.as_array() else {
            return Err(format!("param {at} must be an array."));
        };
        if items.len() > ICE_BREAKERS_MAX {
            return Err(format!(
                "param {at} must have at most {ICE_BREAKERS_MAX} elements."
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = |name: &str| {
                    item.get(name)
                        .and_then(Value::as_str)
                        .filter(|v| !v.trim().is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| format!("param {at}[{i}][{name}] must be non-empty."))
                };
                Ok((field("question")?, field("payload")?))
            })
            .collect()
    };
    let localized = list.iter().any(|i| i.get("call_to_actions").is_some());
    if !localized {
        return questions(value, "ice_breakers");
    }
    let mut shown = None;
    for (i, item) in list.iter().enumerate() {
        let Some(locale) = item
            .get("locale")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
        else {
            return Err(format!(
                "param ice_breakers[{i}][locale] must be non-empty."
            ));
        };
        let Some(actions) = item.get("call_to_actions") else {
            return Err(format!(
                "param ice_breakers[{i}][call_to_actions] must be non-empty."
            ));
        };
        let found = questions(actions, &format!("ice_breakers[{i}][call_to_actions]"))?;
        if locale == "default" || shown.is_none() {
            shown = Some(found);
        }
    }
    Ok(shown.unwrap_or_default())
}

/// The ice breaker questions a new thread of `page` shows: (question, payload).
fn page_ice_breakers(st: &State, page: &str) -> Vec<(String, String)> {
    st.profiles
        .get(page)
        .and_then(|p| p.get("ice_breakers"))
        .and_then(|v| ice_breakers_of(v).ok())
        .unwrap_or_default()
}

/// Why `user` sees no Get Started button on `page`, if they do not: a new thread of a Page with
/// ice breakers shows the questions instead.
///
/// With Standard Access to `pages_messaging` the welcome screen shows only to people with a role
/// on the app (facts file §2), whatever the thread.
pub fn get_started_hidden(st: &State, page: &str, user: &str) -> Option<&'static str> {
    if st.withheld(user, "pages_messaging") {
        return Some(
            "the app has Standard Access to pages_messaging and this person has no role on the app",
        );
    }
    let started = st
        .threads
        .get(&(page.to_string(), user.to_string()))
        .is_some_and(|t| t.started);
    if !started && !page_ice_breakers(st, page).is_empty() {
        return Some(
            "this Page has ice breakers: a new thread shows their questions instead of Get Started, and the link's ref is lost",
        );
    }
    None
}

/// Applies what the person did: thread, window, webhook. `at` backdates it (control API).
pub fn interact(
    sb: &Sandbox,
    st: &mut State,
    page: &str,
    user: &str,
    what: Interaction,
    at: Option<i64>,
) -> Result<Value, String> {
    let now = st.now_ms();
    let ts = at.unwrap_or(now);
    let psid = st.world.psid(page, user);
    let get_started = st
        .profiles
        .get(page)
        .and_then(|p| p.get("get_started"))
        .and_then(|g| g.get("payload"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let hidden = get_started_hidden(st, page, user);
    let ice_breakers = page_ice_breakers(st, page);
    let thread = st.thread(page, user);
    if thread.blocked && !matches!(what, Interaction::Block | Interaction::Unblock) {
        return Err("this person has blocked the Page: unblock first".into());
    }
    let mid = format!("m_{}", super::random_alnum(43));
    let note = |text: String| ChatMessage {
        mid: String::new(),
        from: From::System,
        timestamp: ts,
        body: json!({ "text": text }),
        messaging_type: None,
        tag: None,
    };
    let (field, kind, value) = match what {
        Interaction::Message { text, quick_reply } => {
            if text.is_empty() || text.chars().count() > 2000 {
                return Err("a message has 1 to 2000 characters".into());
            }
            let mut message = json!({ "mid": mid, "text": text });
            if let Some(payload) = &quick_reply {
                message["quick_reply"] = json!({ "payload": payload });
            }
            thread.messages.push(ChatMessage {
                mid: mid.clone(),
                from: From::User,
                timestamp: ts,
                body: json!({ "text": text }),
                messaging_type: None,
                tag: None,
            });
            ("messages", "message", message)
        }
        Interaction::GetStarted { referral } => {
            if let Some(why) = hidden {
                return Err(why.into());
            }
            let Some(payload) = get_started else {
                return Err(
                    "this Page has no Get Started button (POST /me/messenger_profile)".into(),
                );
            };
            let mut postback = json!({ "mid": mid, "title": "Get Started", "payload": payload });
            if let Some(r) = referral.filter(|r| valid_ref(r)) {
                postback["referral"] =
                    json!({ "ref": r, "source": "SHORTLINK", "type": "OPEN_THREAD" });
            }
            thread.messages.push(ChatMessage {
                mid: mid.clone(),
                from: From::User,
                timestamp: ts,
                body: json!({ "postback": { "title": "Get Started", "payload": payload } }),
                messaging_type: None,
                tag: None,
            });
            ("messaging_postbacks", "postback", postback)
        }
        Interaction::IceBreaker { payload, index } => {
            if thread.started {
                return Err("ice breakers show only in a new thread".into());
            }
            if ice_breakers.is_empty() {
                return Err("this Page has no ice breakers (POST /me/messenger_profile)".into());
            }
            let tapped = match (&payload, index) {
                (Some(p), _) => ice_breakers.iter().find(|(_, payload)| payload == p),
                (None, Some(i)) => ice_breakers.get(i),
                (None, None) => None,
            };
            let Some((question, payload)) = tapped.cloned() else {
                return Err(format!(
                    "give the payload or index of one of the Page's {} ice breakers",
                    ice_breakers.len()
                ));
            };
            thread.messages.push(ChatMessage {
                mid: mid.clone(),
                from: From::User,
                timestamp: ts,
                body: json!({ "postback": { "title": question, "payload": payload } }),
                messaging_type: None,
                tag: None,
            });
            // No referral: the question replaced Get Started, and the link's ref went with it.
            (
                "messaging_postbacks",
                "postback",
                json!({ "mid": mid, "title": question, "payload": payload }),
            )
        }
        Interaction::Postback { title, payload } => {
            if !thread.started {
                return Err("the thread does not exist yet".into());
            }
            thread.messages.push(ChatMessage {
                mid: mid.clone(),
                from: From::User,
                timestamp: ts,
                body: json!({ "postback": { "title": title, "payload": payload } }),
                messaging_type: None,
                tag: None,
            });
            (
                "messaging_postbacks",
                "postback",
                json!({ "mid": mid, "title": title, "payload": payload }),
            )
        }
        Interaction::Referral { referral } => {
            if !thread.started {
                return Err(
                    "the thread does not exist yet: a new thread gets its ref through Get Started"
                        .into(),
                );
            }
            if !valid_ref(&referral) {
                return Err("ref may hold only letters, digits, '-', '_' and '='".into());
            }
            thread
                .messages
                .push(note(format!("Opened an m.me link (ref={referral})")));
            (
                "messaging_referrals",
                "referral",
                json!({ "ref": referral, "source": "SHORTLINK", "type": "OPEN_THREAD" }),
            )
        }
        Interaction::Block | Interaction::Unblock => {
            let block = matches!(what, Interaction::Block);
            thread.blocked = block;
            thread.messages.push(note(if block {
                "You blocked this Page".into()
            } else {
                "You unblocked this Page".into()
            }));
            thread.version += 1;
            return Ok(json!({ "psid": psid, "blocked": block }));
        }
    };
    thread.started = true;
    thread.last_interaction_ms = Some(thread.last_interaction_ms.map_or(ts, |t| t.max(ts)));
    thread.version += 1;
    thread.typing = false;
    let e = event(&psid, page, ts, kind, value);
    // Replying means the person saw what the Page sent.
    let read = read_event(st, page, user);
    let delivered = st.subscribed(page, field);
    if let Some(r) = read {
        sb.hooks.deliver(Item::Messaging {
            page: page.to_string(),
            event: r,
        });
    }
    if delivered {
        sb.hooks.deliver(Item::Messaging {
            page: page.to_string(),
            event: e.clone(),
        });
    }
    let mid = e
        .get(kind)
        .and_then(|v| v.get("mid"))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(json!({ "psid": psid, "mid": mid, "event": e, "delivered": delivered }))
}

fn cookie_user(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').find_map(|c| {
        c.trim()
            .strip_prefix(&format!("{AS_COOKIE}="))
            .map(str::to_string)
    })
}

fn not_found(what: &str) -> Response {
    let body = format!(
        r#"<h1>This content isn't available</h1><p>{}</p><p><a href="/sandbox/m.me">All Pages</a></p>"#,
        esc(what)
    );
    (
        StatusCode::NOT_FOUND,
        Html(page_shell("Not available", &body)),
    )
        .into_response()
}

/// `GET /sandbox/m.me`: the Pages one can message.
pub async fn pages_index(AxState(sb): AxState<Shared>) -> Html<String> {
    let st = sb.lock();
    let items: String = st
        .world
        .pages
        .iter()
        .map(|p| {
            format!(
                r#"<li><a href="/sandbox/m.me/{u}"><span>{n}</span><span class="muted">m.me/{u}</span></a></li>"#,
                u = esc(&p.username),
                n = esc(&p.name)
            )
        })
        .collect();
    Html(page_shell(
        "Messenger",
        &format!(r#"<h1>Messenger</h1><ul class="choices">{items}</ul>"#),
    ))
}

/// `GET /sandbox/m.me/{page}`: pick a user, or the chat (a link into an existing thread sends
/// the `referral` event, then redirects to the plain address so a reload does not send it again).
pub async fn chat(
    AxState(sb): AxState<Shared>,
    Path(page_ref): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut st = sb.lock();
    let Some(page) = st.world.page(&page_ref).cloned() else {
        return not_found(
            "The link you followed may be broken, or the Page may have been removed.",
        );
    };
    let from_query = q
        .get("as")
        .and_then(|k| st.world.user(k))
        .map(|u| u.key.clone());
    // `?as=` (empty) is the "switch user" link: show the picker even with a cookie.
    let switching = q.get("as").is_some_and(|a| a.is_empty());
    let user = from_query
        .clone()
        .or_else(|| cookie_user(&headers).filter(|k| !switching && st.world.user(k).is_some()));
    let referral = q.get("ref").cloned();
    let Some(user) = user else {
        let items: String = st
            .world
            .users
            .iter()
            .map(|u| {
                let mut query = format!("as={}", urlencode(&u.key));
                if let Some(r) = &referral {
                    query.push_str(&format!("&ref={}", urlencode(r)));
                }
                format!(
                    r#"<li><a data-testid="user-choice" data-user="{k}" href="/sandbox/m.me/{p}?{query}"><span>{n}</span><span class="muted">{k}</span></a></li>"#,
                    k = esc(&u.key),
                    p = esc(&page.username),
                    query = esc(&query),
                    n = esc(&u.name)
                )
            })
            .collect();
        let body = format!(
            r#"<h1>Message {}</h1><p class="muted">Who are you? Pick a sandbox test user.</p><ul class="choices" aria-label="Test users">{items}</ul>"#,
            esc(&page.name)
        );
        return Html(page_shell("Messenger", &body)).into_response();
    };
    let cookie =
        from_query.map(|k| format!("{AS_COOKIE}={k}; Path=/sandbox; SameSite=Lax; HttpOnly"));
    let started = st
        .threads
        .get(&(page.id.clone(), user.clone()))
        .is_some_and(|t| t.started);
    let mut response = if let (true, Some(r)) = (started, referral.as_ref()) {
        let _ = interact(
            &sb,
            &mut st,
            &page.id,
            &user,
            Interaction::Referral {
                referral: r.clone(),
            },
            None,
        );
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/sandbox/m.me/{}", page.username))],
        )
            .into_response()
    } else {
        if let Some(e) = read_event(&mut st, &page.id, &user) {
            sb.hooks.deliver(Item::Messaging {
                page: page.id.clone(),
                event: e,
            });
        }
        let pending_ref = referral.filter(|r| valid_ref(r));
        Html(render_chat(
            &st,
            &page,
            &user,
            pending_ref.as_deref(),
            q.get("error").map(String::as_str),
        ))
        .into_response()
    };
    if let Some(c) = cookie.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

/// `POST /sandbox/m.me/{page}/act`: a tap or a typed message, then back to the chat.
pub async fn act(
    AxState(sb): AxState<Shared>,
    Path(page_ref): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut st = sb.lock();
    let Some(page) = st.world.page(&page_ref).cloned() else {
        return not_found("This Page does not exist.");
    };
    let back = format!("/sandbox/m.me/{}", page.username);
    let Some(user) = cookie_user(&headers).filter(|k| st.world.user(k).is_some()) else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
    };
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let what = match field("action").as_str() {
        "get_started" => Interaction::GetStarted {
            referral: form.get("ref").cloned(),
        },
        "message" => Interaction::Message {
            text: field("text").trim().to_string(),
            quick_reply: None,
        },
        "quick_reply" => Interaction::Message {
            text: field("title"),
            quick_reply: Some(field("payload")),
        },
        "postback" => Interaction::Postback {
            title: field("title"),
            payload: field("payload"),
        },
        "ice_breaker" => Interaction::IceBreaker {
            payload: Some(field("payload")),
            index: None,
        },
        "block" => Interaction::Block,
        "unblock" => Interaction::Unblock,
        _ => return (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response(),
    };
    let location = match interact(&sb, &mut st, &page.id, &user, what, None) {
        Ok(_) => back,
        Err(problem) => format!("{back}?error={}", urlencode(&problem)),
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `GET /sandbox/m.me/{page}/thread.json`: `{version, html}` for the polling script.
pub async fn thread_json(
    AxState(sb): AxState<Shared>,
    Path(page_ref): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut st = sb.lock();
    let Some(page) = st.world.page(&page_ref).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such Page" })),
        )
            .into_response();
    };
    let Some(user) = cookie_user(&headers).filter(|k| st.world.user(k).is_some()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "pick a test user first" })),
        )
            .into_response();
    };
    if let Some(e) = read_event(&mut st, &page.id, &user) {
        sb.hooks.deliver(Item::Messaging {
            page: page.id.clone(),
            event: e,
        });
    }
    let version = st
        .threads
        .get(&(page.id.clone(), user.clone()))
        .map_or(0, |t| t.version);
    Json(json!({ "version": version, "html": render_thread(&st, &page, &user) })).into_response()
}

fn render_chat(
    st: &State,
    page: &super::world::Page,
    user: &str,
    pending_ref: Option<&str>,
    error: Option<&str>,
) -> String {
    let person = st
        .world
        .user(user)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let thread = st.threads.get(&(page.id.clone(), user.to_string()));
    let started = thread.is_some_and(|t| t.started);
    let blocked = thread.is_some_and(|t| t.blocked);
    let version = thread.map_or(0, |t| t.version);
    let has_get_started = st
        .profiles
        .get(&page.id)
        .is_some_and(|p| p.contains_key("get_started"));
    let hidden = get_started_hidden(st, &page.id, user);
    let action = format!("/sandbox/m.me/{}/act", esc(&page.username));
    let block_button = if blocked {
        format!(
            r#"<form method="post" action="{action}"><input type="hidden" name="action" value="unblock"><button class="secondary" data-testid="unblock">Unblock</button></form>"#
        )
    } else {
        format!(
            r#"<form method="post" action="{action}"><input type="hidden" name="action" value="block"><button class="secondary" data-testid="block">Block</button></form>"#
        )
    };
    let error = error
        .map(|e| {
            format!(
                r#"<p role="alert" class="muted" data-testid="chat-error">{}</p>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    let bottom = if blocked {
        format!(
            r#"<p class="muted" data-testid="blocked-note">You blocked {}. Unblock to message again.</p>"#,
            esc(&page.name)
        )
    } else if !started && has_get_started && hidden.is_none() {
        let hidden_ref = pending_ref
            .map(|r| format!(r#"<input type="hidden" name="ref" value="{}">"#, esc(r)))
            .unwrap_or_default();
        format!(
            r#"<div class="get-started"><p>{name} will see your public profile when you start.</p>
<form method="post" action="{action}"><input type="hidden" name="action" value="get_started">{hidden_ref}<button data-testid="get-started">Get Started</button></form></div>"#,
            name = esc(&page.name)
        )
    } else {
        let hint = match (started, pending_ref, hidden) {
            (false, _, Some(why)) => format!(
                r#"<p class="muted" data-testid="get-started-hidden">No Get Started here: {}.</p>"#,
                esc(why)
            ),
            (false, Some(_), None) => r#"<p class="muted">This Page has no Get Started button: the link's ref is lost, as on Messenger.</p>"#.to_string(),
            _ => String::new(),
        };
        let questions: String = if started {
            String::new()
        } else {
            page_ice_breakers(st, &page.id)
                .iter()
                .map(|(question, payload)| {
                    format!(
                        r#"<form method="post" action="{action}"><input type="hidden" name="action" value="ice_breaker"><input type="hidden" name="payload" value="{p}"><button class="secondary" data-testid="ice-breaker">{q}</button></form>"#,
                        p = esc(payload),
                        q = esc(question)
                    )
                })
                .collect()
        };
        let questions = if questions.is_empty() {
            questions
        } else {
            format!(r#"<div class="quick" aria-label="Ice breakers">{questions}</div>"#)
        };
        format!(
            r#"{hint}{questions}<form class="composer" method="post" action="{action}"><input type="hidden" name="action" value="message">
<label for="message-input" class="muted" style="position:absolute;left:-9999px">Message</label>
<input id="message-input" name="text" autocomplete="off" maxlength="2000" placeholder="Aa" aria-label="Message {name}" data-testid="message-input" required>
<button data-testid="send">Send</button></form>"#,
            name = esc(&page.name)
        )
    };
    let body = format!(
        r#"<div class="chat-head"><div><h1 style="margin:0">{name}</h1><span class="muted">m.me/{username} · you are <b data-testid="chat-user">{person}</b> · <a href="/sandbox/m.me/{username}?as=">switch</a></span></div>{block_button}</div>
{error}<div class="thread" data-testid="thread" data-version="{version}" aria-live="polite" aria-label="Conversation with {name}">{thread}</div>
{bottom}
<script>(function(){{var t=document.querySelector('[data-testid=thread]');var v=t.dataset.version;t.scrollTop=t.scrollHeight;
setInterval(function(){{fetch(location.pathname.replace(/\/$/,'')+'/thread.json',{{cache:'no-store',credentials:'same-origin'}}).then(function(r){{return r.ok?r.json():null}}).then(function(j){{if(j&&String(j.version)!==v){{v=String(j.version);t.dataset.version=v;t.innerHTML=j.html;t.scrollTop=t.scrollHeight;}}}}).catch(function(){{}});}},1000);}})();</script>"#,
        name = esc(&page.name),
        username = esc(&page.username),
        person = esc(&person),
        thread = render_thread(st, page, user),
    );
    page_shell(&format!("Messenger · {}", page.name), &body)
}

/// The bubbles (and the quick replies of the Page's last message).
fn render_thread(st: &State, page: &super::world::Page, user: &str) -> String {
    let Some(thread) = st.threads.get(&(page.id.clone(), user.to_string())) else {
        return format!(
            r#"<p class="muted" data-testid="empty-thread">Start a conversation with {}.</p>"#,
            esc(&page.name)
        );
    };
    let action = format!("/sandbox/m.me/{}/act", esc(&page.username));
    let skip = thread.messages.len().saturating_sub(SHOWN);
    let mut out = String::new();
    for m in &thread.messages[skip..] {
        let (class, inner) = match m.from {
            From::User => {
                let text = m
                    .body
                    .get("text")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        m.body
                            .get("postback")
                            .and_then(|p| p.get("title"))
                            .and_then(Value::as_str)
                    })
                    .unwrap_or("");
                ("user", esc(text))
            }
            From::System => (
                "system",
                esc(m.body.get("text").and_then(Value::as_str).unwrap_or("")),
            ),
            From::Page => ("page", render_page_message(m, &action)),
        };
        out.push_str(&format!(
            r#"<div class="bubble {class}" data-testid="bubble" data-from="{class}" data-mid="{mid}">{inner}</div>"#,
            mid = esc(&m.mid)
        ));
    }
    let last = thread
        .messages
        .iter()
        .rev()
        .find(|m| m.from != From::System);
    if let Some(m) = last.filter(|m| m.from == From::Page && !thread.blocked) {
        if let Some(list) = m.body.get("quick_replies").and_then(Value::as_array) {
            let person = st.world.user(user);
            out.push_str(r#"<div class="quick" aria-label="Quick replies">"#);
            for qr in list {
                let (title, payload) = match qr.get("content_type").and_then(Value::as_str) {
                    Some("user_email") => {
                        let email = person.and_then(|p| p.email.clone()).unwrap_or_default();
                        (email.clone(), email)
                    }
                    Some("user_phone_number") => {
                        ("+15555550100".to_string(), "+15555550100".to_string())
                    }
                    _ => (
                        qr.get("title")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        qr.get("payload")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    ),
                };
                out.push_str(&format!(
                    r#"<form method="post" action="{action}"><input type="hidden" name="action" value="quick_reply"><input type="hidden" name="title" value="{t}"><input type="hidden" name="payload" value="{p}"><button data-testid="quick-reply">{t}</button></form>"#,
                    t = esc(&title),
                    p = esc(&payload)
                ));
            }
            out.push_str("</div>");
        }
    }
    if thread.typing {
        out.push_str(&format!(
            r#"<p class="typing" data-testid="typing">{} is typing…</p>"#,
            esc(&page.name)
        ));
    }
    out
}

fn buttons_html(buttons: Option<&Value>, action: &str) -> String {
    let mut out = String::new();
    for b in buttons.and_then(Value::as_array).into_iter().flatten() {
        let title = esc(b.get("title").and_then(Value::as_str).unwrap_or(""));
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "postback" => out.push_str(&format!(
                r#"<form method="post" action="{action}"><input type="hidden" name="action" value="postback"><input type="hidden" name="title" value="{title}"><input type="hidden" name="payload" value="{p}"><button data-testid="postback-button">{title}</button></form>"#,
                p = esc(b.get("payload").and_then(Value::as_str).unwrap_or(""))
            )),
            "web_url" => out.push_str(&format!(
                r#"<a class="btn secondary" data-testid="url-button" target="_blank" rel="noopener noreferrer" href="{u}">{title}</a> "#,
                u = esc(b.get("url").and_then(Value::as_str).unwrap_or("#"))
            )),
            _ => out.push_str(&format!(r#"<button disabled>{title}</button>"#)),
        }
    }
    out
}

/// What the app sent, plainly: text, templates as text plus buttons, media as links.
fn render_page_message(m: &ChatMessage, action: &str) -> String {
    let b = &m.body;
    let mut label = match (m.messaging_type.as_deref(), m.tag.as_deref()) {
        (Some("MESSAGE_TAG"), Some(tag)) => format!("tag {tag}"),
        (Some("UTILITY"), _) => format!(
            "utility template {}",
            b.get("utility_template")
                .and_then(|t| t.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
        _ => String::new(),
    };
    if !label.is_empty() {
        label = format!(r#"<span class="tag">{}</span>"#, esc(&label));
    }
    if let Some(text) = b.get("text").and_then(Value::as_str) {
        return format!("{label}{}", esc(text));
    }
    let a = b.get("attachment").cloned().unwrap_or(Value::Null);
    let payload = a.get("payload").cloned().unwrap_or(Value::Null);
    let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "template" {
        let url = payload
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("(uploaded attachment)");
        return format!(
            r#"{label}[{}] <a href="{u}" target="_blank" rel="noopener noreferrer">{u}</a>"#,
            esc(kind),
            u = esc(url)
        );
    }
    match payload
        .get("template_type")
        .and_then(Value::as_str)
        .unwrap_or("")
    {
        "button" => format!(
            "{label}{}<div>{}</div>",
            esc(payload.get("text").and_then(Value::as_str).unwrap_or("")),
            buttons_html(payload.get("buttons"), action)
        ),
        "generic" | "media" => {
            let mut out = label;
            for e in payload
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let title = e.get("title").and_then(Value::as_str).unwrap_or("");
                let subtitle = e.get("subtitle").and_then(Value::as_str).unwrap_or("");
                let media = e
                    .get("image_url")
                    .or_else(|| e.get("url"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push_str(&format!(
                    r#"<div class="card"><b>{}</b><br>{}{}<div>{}</div></div>"#,
                    esc(title),
                    esc(subtitle),
                    if media.is_empty() {
                        String::new()
                    } else {
                        format!(r#"<br><span class="muted">[media] {}</span>"#, esc(media))
                    },
                    buttons_html(e.get("buttons"), action)
                ));
            }
            out
        }
        other => format!("{label}[{} template]", esc(other)),
    }
}
