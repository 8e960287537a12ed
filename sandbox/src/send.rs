//! The Send API (`POST /{page-id}/messages`, `/me/messages`), validated as Meta does, in this
//! order: permission and task, forced throttling and the per-Page rate limit (613), the Page's
//! `send_error` fault, Page restriction (10 / 1893063), the request's shape (code 100 with Meta's wording for every limit),
//! the recipient (100 / 2018001), block (551 / 1545041), then the messaging window:
//!
//! | path | allowed when |
//! |---|---|
//! | `RESPONSE`, `UPDATE`, `sender_action` | last interaction of the person with the Page < 24 h ago (else 10 / 2018278) |
//! | `MESSAGE_TAG` + `HUMAN_AGENT` / `CUSTOMER_FEEDBACK` | last interaction < 7 days ago (else 10 / 2018278) |
//! | `MESSAGE_TAG` + a retired tag | era `2026`: never (code 100); era `legacy`: any time after a first interaction |
//! | `UTILITY` | an APPROVED, FLAGGED or REINSTATED template of this Page, `pages_utility_messaging` granted, any time |
//!
//! Interactions come only from the sandbox itself (the chat page and the control API), and a
//! person who never interacted with the Page has no PSID there yet (100 / 2018001).

use super::{
    errors::GraphError,
    graph::{has_utility_permission, Ctx, GraphResult, Req},
    state::{Bucket, ChatMessage, From, SendFault, TagEra},
    webhooks::{event, Item, Job},
};
use serde_json::{json, Value};
use std::time::Instant;

const DAY_MS: i64 = 24 * 3600 * 1000;
const RETIRED_TAGS: [&str; 3] = [
    "CONFIRMED_EVENT_UPDATE",
    "ACCOUNT_UPDATE",
    "POST_PURCHASE_UPDATE",
];
const LIVE_TAGS: [&str; 2] = ["HUMAN_AGENT", "CUSTOMER_FEEDBACK"];

fn len(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn too_long(param: &str, max: usize) -> GraphError {
    GraphError::param(format!(
        "Length of param {param} must be less than or equal to {max}"
    ))
}

fn required(param: &str) -> GraphError {
    GraphError::param(format!("param {param} must be non-empty."))
}

/// Checks a string field: present (when `needed`), at most `max` characters.
fn check_str(
    obj: &Value,
    key: &str,
    param: &str,
    max: usize,
    needed: bool,
) -> Result<(), GraphError> {
    match obj.get(key) {
        None | Some(Value::Null) if needed => Err(required(param)),
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.is_empty() && needed => Err(required(param)),
        Some(v @ Value::String(_)) if len(v) > max => Err(too_long(param, max)),
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(GraphError::param(format!("param {param} must be a string"))),
    }
}

fn check_buttons(
    buttons: Option<&Value>,
    param: &str,
    min: usize,
    max: usize,
) -> Result<(), GraphError> {
    let list = match buttons {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(GraphError::param(format!("param {param} must be an array"))),
    };
    if list.len() < min || list.len() > max {
        return Err(GraphError::param(format!(
            "param {param} must have between {min} and {max} elements"
        )));
    }
    for (i, b) in list.iter().enumerate() {
        let p = format!("{param}[{i}]");
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "web_url" => {
                check_str(b, "title", &format!("{p}[title]"), 20, true)?;
                check_str(b, "url", &format!("{p}[url]"), 2000, true)?;
            }
            "postback" => {
                check_str(b, "title", &format!("{p}[title]"), 20, true)?;
                check_str(b, "payload", &format!("{p}[payload]"), 1000, true)?;
            }
            "phone_number" => {
                check_str(b, "title", &format!("{p}[title]"), 20, true)?;
                check_str(b, "payload", &format!("{p}[payload]"), 1000, true)?;
            }
            other => {
                return Err(GraphError::param(format!(
                    "param {p}[type] must be one of {{web_url, postback, phone_number}} - got \"{other}\""
                )))
            }
        }
    }
    Ok(())
}

/// Lengths and counts of a `message` object (not utility templates).
fn check_message(msg: &Value, tag: Option<&str>) -> Result<(), GraphError> {
    if !msg.is_object() {
        return Err(GraphError::param("param message must be a JSON object"));
    }
    let text = msg.get("text").filter(|v| !v.is_null());
    let attachment = msg.get("attachment").filter(|v| !v.is_null());
    match (text, attachment) {
        (None, None) => {
            return Err(GraphError::param(
                "param message must contain either text or attachment",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(GraphError::param(
                "Only one of text or attachment can be specified in message",
            ))
        }
        (Some(_), None) => check_str(msg, "text", "message[text]", 2000, true)?,
        (None, Some(a)) => check_attachment(a, tag)?,
    }
    if let Some(qrs) = msg.get("quick_replies").filter(|v| !v.is_null()) {
        let Some(list) = qrs.as_array() else {
            return Err(GraphError::param(
                "param message[quick_replies] must be an array",
            ));
        };
        if list.is_empty() || list.len() > 13 {
            return Err(GraphError::param(
                "param message[quick_replies] must have between 1 and 13 elements",
            ));
        }
        for (i, qr) in list.iter().enumerate() {
            let p = format!("message[quick_replies][{i}]");
            match qr.get("content_type").and_then(Value::as_str).unwrap_or("") {
                "text" => {
                    check_str(qr, "title", &format!("{p}[title]"), 20, true)?;
                    check_str(qr, "payload", &format!("{p}[payload]"), 1000, true)?;
                }
                "user_phone_number" | "user_email" => {}
                other => {
                    return Err(GraphError::param(format!(
                        "param {p}[content_type] must be one of {{text, user_phone_number, user_email}} - got \"{other}\""
                    )))
                }
            }
        }
    }
    check_str(msg, "metadata", "message[metadata]", 1000, false)?;
    Ok(())
}

fn check_attachment(a: &Value, tag: Option<&str>) -> Result<(), GraphError> {
    let payload = a.get("payload").cloned().unwrap_or(Value::Null);
    match a.get("type").and_then(Value::as_str).unwrap_or("") {
        "image" | "audio" | "video" | "file" => {
            let has_source = payload.get("url").is_some_and(|u| len(u) > 0)
                || payload.get("attachment_id").is_some_and(|v| !v.is_null());
            if !has_source {
                return Err(required("message[attachment][payload][url]"));
            }
            Ok(())
        }
        "template" => {
            let p = "message[attachment][payload]";
            match payload.get("template_type").and_then(Value::as_str).unwrap_or("") {
                "button" => {
                    check_str(&payload, "text", &format!("{p}[text]"), 640, true)?;
                    check_buttons(payload.get("buttons"), &format!("{p}[buttons]"), 1, 3)
                }
                "generic" => {
                    let elements = payload.get("elements").and_then(Value::as_array).cloned().unwrap_or_default();
                    if elements.is_empty() || elements.len() > 10 {
                        return Err(GraphError::param(format!("param {p}[elements] must have between 1 and 10 elements")));
                    }
                    for (i, e) in elements.iter().enumerate() {
                        let ep = format!("{p}[elements][{i}]");
                        check_str(e, "title", &format!("{ep}[title]"), 80, true)?;
                        check_str(e, "subtitle", &format!("{ep}[subtitle]"), 80, false)?;
                        check_buttons(e.get("buttons"), &format!("{ep}[buttons]"), 0, 3)?;
                        if let Some(action) = e.get("default_action").filter(|v| !v.is_null()) {
                            check_str(action, "url", &format!("{ep}[default_action][url]"), 2000, true)?;
                        }
                    }
                    Ok(())
                }
                "media" => {
                    let elements = payload.get("elements").and_then(Value::as_array).cloned().unwrap_or_default();
                    if elements.len() != 1 {
                        return Err(GraphError::param(format!("param {p}[elements] must have exactly 1 element")));
                    }
                    let e = &elements[0];
                    let kind = e.get("media_type").and_then(Value::as_str).unwrap_or("");
                    if kind != "image" && kind != "video" {
                        return Err(GraphError::param(format!("param {p}[elements][0][media_type] must be one of {{image, video}}")));
                    }
                    if e.get("url").is_none_or(|u| len(u) == 0) && e.get("attachment_id").is_none_or(Value::is_null) {
                        return Err(required(&format!("{p}[elements][0][url]")));
                    }
                    check_buttons(e.get("buttons"), &format!("{p}[elements][0][buttons]"), 0, 3)
                }
                "customer_feedback" if tag == Some("CUSTOMER_FEEDBACK") => Ok(()),
                "customer_feedback" => Err(GraphError::param("customer_feedback templates need the CUSTOMER_FEEDBACK tag")),
                other => Err(GraphError::param(format!(
                    "param {p}[template_type] must be one of {{button, generic, media, customer_feedback}} - got \"{other}\""
                ))),
            }
        }
        other => Err(GraphError::param(format!(
            "param message[attachment][type] must be one of {{image, audio, video, file, template}} - got \"{other}\""
        ))),
    }
}

/// A utility send, checked against the Page's templates and rendered as the person will see it
/// (a text, or a button template when the template has buttons).
fn utility_message(ctx: &Ctx, page: &str, msg: &Value) -> Result<Value, GraphError> {
    let Some(t) = msg.get("template").filter(|v| v.is_object()) else {
        return Err(GraphError::param("UTILITY messages must be an approved template: param message[template] must be non-empty."));
    };
    let name = t.get("name").and_then(Value::as_str).unwrap_or("");
    let language = t
        .get("language")
        .and_then(|l| l.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        return Err(required("message[template][name]"));
    }
    if language.is_empty() {
        return Err(required("message[template][language][code]"));
    }
    let template = ctx
        .st
        .templates
        .get(page)
        .and_then(|list| {
            list.iter()
                .find(|x| x.name == name && x.language == language)
        })
        .ok_or_else(|| {
            GraphError::param(format!(
                "Template name \"{name}\" does not exist in {language} for this Page"
            ))
            .user(
                "Template not found",
                "Create the template and wait for its approval first.",
            )
        })?;
    // FLAGGED (a quality warning) and REINSTATED templates still go, as on Meta.
    if !super::templates::SENDABLE.contains(&template.status.as_str()) {
        return Err(GraphError::param(format!(
            "Template \"{name}\" is not approved (status {})",
            template.status
        ))
        .user(
            "Template not approved",
            "Only APPROVED, FLAGGED or REINSTATED utility templates can be sent.",
        ));
    }
    let component = |kind: &str, list: &Value| -> Option<Value> {
        list.as_array()?
            .iter()
            .find(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.eq_ignore_ascii_case(kind))
            })
            .cloned()
    };
    let body_text = component("BODY", &template.components)
        .and_then(|c| c.get("text").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let sent = t.get("components").cloned().unwrap_or(json!([]));
    let params: Vec<Value> = component("body", &sent)
        .and_then(|c| c.get("parameters").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let placeholders = super::templates::placeholders(&body_text);
    if placeholders.len() != params.len() {
        return Err(GraphError::param(format!(
            "Number of parameters ({}) does not match the expected number of params ({})",
            params.len(),
            placeholders.len()
        )));
    }
    let mut text = body_text.clone();
    for (i, ph) in placeholders.iter().enumerate() {
        let named = params
            .iter()
            .find(|p| p.get("parameter_name").and_then(Value::as_str) == Some(ph.as_str()));
        let param = named
            .or_else(|| params.get(i))
            .cloned()
            .unwrap_or(Value::Null);
        let value = param.get("text").and_then(Value::as_str).unwrap_or("");
        text = text.replacen(&format!("{{{{{ph}}}}}"), value, 1);
    }
    let template_buttons = component("BUTTONS", &template.components)
        .and_then(|c| c.get("buttons").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let sent_buttons = component("buttons", &sent)
        .and_then(|c| c.get("parameters").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let mut buttons = Vec::new();
    for (i, b) in template_buttons.iter().enumerate() {
        let title = b.get("text").and_then(Value::as_str).unwrap_or("Open");
        let given = sent_buttons.get(i).cloned().unwrap_or(Value::Null);
        match b
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase()
            .as_str()
        {
            "URL" => {
                let url = given
                    .get("url")
                    .or_else(|| b.get("url"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                buttons.push(json!({"type": "web_url", "title": title, "url": url}));
            }
            _ => {
                let payload = given
                    .get("payload")
                    .or_else(|| b.get("payload"))
                    .and_then(Value::as_str)
                    .unwrap_or(title);
                buttons.push(json!({"type": "postback", "title": title, "payload": payload}));
            }
        }
    }
    let mut shown = if buttons.is_empty() {
        json!({ "text": text })
    } else {
        json!({ "attachment": { "type": "template", "payload": { "template_type": "button", "text": text, "buttons": buttons } } })
    };
    shown["utility_template"] = json!({ "name": name, "language": language, "id": template.id });
    Ok(shown)
}

/// Whether the Page may make this call: Meta documents "300 calls per second per Page" and not
/// how it counts them, so the sandbox takes the strictest reading: a call is refused (613) when
/// the Page already made the limit's number of calls in the one second before it came in, any
/// second, not only whole ones, and refused calls count too. The usage headers come from a
/// bucket refilled continuously at the limit, so they rise with a burst and fall back after it.
fn take_rate_token(ctx: &mut Ctx, page: &str) -> bool {
    let limit = ctx.st.knobs.rate_limit_per_second.max(1);
    let rate = f64::from(limit);
    let now = Instant::now();
    let bucket = ctx.st.buckets.entry(page.to_string()).or_insert(Bucket {
        tokens: rate,
        last: now,
    });
    bucket.tokens =
        (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(rate);
    bucket.last = now;
    bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    ctx.usage = Some((page.to_string(), (rate - bucket.tokens) / rate * 100.0));
    let now_ms = ctx.st.now_ms();
    let arrived = ctx.arrived;
    let stats = ctx.st.send_stats.entry(page.to_string()).or_default();
    let allowed = stats.calls_in_the_second_before(arrived) < limit as usize;
    stats.record_call(arrived, now_ms, !allowed);
    allowed
}

/// A Page's `send_error`, in Meta's words. Meta documents no HTTP status per code: 400, as for
/// its other refusals, except 1200, whose "try again later" comes as a server error.
fn send_fault(fault: SendFault) -> GraphError {
    match fault {
        SendFault::TemporaryFailure => GraphError::new(
            1200,
            "(#1200) Temporary send message failure. Please try again later",
        )
        .status(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        SendFault::PolicyBlock => GraphError::new(
            368,
            "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
        ),
        SendFault::Unknown => GraphError::new(1, "An unknown error occurred"),
        SendFault::Unknown99 => GraphError::new(99, "An unknown error occurred."),
        SendFault::NoPermission => GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        ),
        SendFault::PermissionsError => GraphError::new(200, "(#200) Permissions error"),
        SendFault::NoPagesMessaging => GraphError::new(
            230,
            "(#230) Requires pages_messaging permission to manage the object",
        ),
    }
}

fn outside_window(what: &str) -> GraphError {
    GraphError::new(10, "(#10) This message is sent outside of allowed window.").with_subcode(2018278).user(
        "Message not sent",
        &format!("{what}. Reach this person with an approved utility template, or wait until they write again."),
    )
}

pub fn send(ctx: &mut Ctx, req: &Req, page: &str, user: &str) -> GraphResult {
    if !ctx.st.granted(user, "pages_messaging") {
        return Err(GraphError::new(
            230,
            "(#230) Requires pages_messaging permission to manage the object",
        ));
    }
    if !ctx
        .st
        .world
        .tasks(user, page)
        .iter()
        .any(|t| t == "MESSAGING")
    {
        return Err(GraphError::new(
            200,
            "(#200) The user does not have the MESSAGING task on this Page",
        )
        .user(
            "Permission missing",
            "Only people who can message as the Page can send.",
        ));
    }
    let knobs = ctx.st.page_knobs(page);
    if knobs.throttled {
        return Err(GraphError::throttled(knobs.throttle_code.unwrap_or(613)));
    }
    if !take_rate_token(ctx, page) {
        return Err(GraphError::throttled(613));
    }
    if let Some(fault) = knobs.send_error {
        return Err(send_fault(fault));
    }
    if knobs.restricted {
        return Err(GraphError::new(
            10,
            "(#10) This Page is temporarily restricted from sending messages.",
        )
        .with_subcode(1893063)
        .user(
            "Page restricted",
            "This Page can't send messages right now because it is restricted.",
        ));
    }

    // The request's shape.
    let p = &req.params;
    let Some(recipient) = p.json("recipient").filter(Value::is_object) else {
        return Err(required("recipient"));
    };
    let forms: Vec<&str> = [
        "id",
        "user_ref",
        "notification_messages_token",
        "post_id",
        "comment_id",
    ]
    .into_iter()
    .filter(|k| recipient.get(*k).is_some())
    .collect();
    if forms.len() != 1 {
        return Err(GraphError::param(
            "param recipient must have exactly one of id, user_ref, notification_messages_token",
        ));
    }
    let message = p.json("message");
    let sender_action = p.str("sender_action");
    let messaging_type = p.str("messaging_type");
    let tag = p.str("tag");
    if let Some(n) = p.str("notification_type") {
        if !["REGULAR", "SILENT_PUSH", "NO_PUSH"].contains(&n.as_str()) {
            return Err(GraphError::param(
                "param notification_type must be one of {REGULAR, SILENT_PUSH, NO_PUSH}",
            ));
        }
    }
    if let Some(action) = &sender_action {
        if message.is_some() {
            return Err(GraphError::param(
                "param sender_action cannot be sent with message: send it alone",
            ));
        }
        if !["typing_on", "typing_off", "mark_seen"].contains(&action.as_str()) {
            return Err(GraphError::param(
                "param sender_action must be one of {typing_on, typing_off, mark_seen}",
            ));
        }
    } else {
        let Some(message) = &message else {
            return Err(required("message"));
        };
        let Some(kind) = &messaging_type else {
            return Err(GraphError::param(
                "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}",
            ));
        };
        match kind.as_str() {
            "RESPONSE" | "UPDATE" | "UTILITY" if tag.is_some() => {
                return Err(GraphError::param(
                    "param tag can only be used with messaging_type MESSAGE_TAG",
                ))
            }
            "RESPONSE" | "UPDATE" => {}
            "MESSAGE_TAG" => {
                let Some(tag) = &tag else {
                    return Err(required("tag"));
                };
                if RETIRED_TAGS.contains(&tag.as_str()) {
                    if ctx.st.tag_era(page) == TagEra::Y2026 {
                        return Err(GraphError::param(format!(
                            "The message tag {tag} was retired on 2026-04-27 and can no longer be used"
                        ))
                        .user("Message tag retired", "Use an approved utility template to reach people outside the 24-hour window."));
                    }
                } else if !LIVE_TAGS.contains(&tag.as_str()) {
                    return Err(GraphError::param(format!(
                        "param tag must be one of {{HUMAN_AGENT, CUSTOMER_FEEDBACK, CONFIRMED_EVENT_UPDATE, ACCOUNT_UPDATE, POST_PURCHASE_UPDATE}} - got \"{tag}\""
                    )));
                }
            }
            "UTILITY" => {}
            _ => {
                return Err(GraphError::param(
                    "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}",
                ))
            }
        }
        if kind == "UTILITY" {
            if !has_utility_permission(ctx.st, user) {
                return Err(GraphError::new(
                    10,
                    "(#10) Application does not have permission for this action",
                )
                .user(
                    "Permission missing",
                    "Utility messages need the pages_utility_messaging permission.",
                ));
            }
        } else if message.get("template").is_some() {
            return Err(GraphError::param(
                "Templates (message[template]) can only be sent with messaging_type UTILITY",
            ));
        } else {
            check_message(message, tag.as_deref())?;
        }
    }

    // The recipient.
    let Some(psid) = recipient.get("id").map(|v| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    }) else {
        if recipient.get("notification_messages_token").is_some() {
            return Err(GraphError::param(
                "Recurring notifications were switched off on 2026-02-10: notification_messages_token is no longer accepted",
            ));
        }
        return Err(GraphError::param("No matching user found").with_subcode(2018001));
    };
    let no_user = || {
        GraphError::param("No matching user found")
            .with_subcode(2018001)
            .user(
                "No matching user",
                "This person has never messaged this Page (PSIDs are per Page).",
            )
    };
    let person = match ctx.st.world.by_psid(&psid) {
        Some((p, u)) if p == page => u.clone(),
        _ => return Err(no_user()),
    };
    let now = ctx.st.now_ms();
    let utility = match (&messaging_type, &message) {
        (Some(kind), Some(m)) if kind == "UTILITY" && sender_action.is_none() => {
            Some(utility_message(ctx, page, m)?)
        }
        _ => None,
    };
    let thread = match ctx.st.threads.get_mut(&(page.to_string(), person.clone())) {
        Some(t) if t.started => t,
        _ => return Err(no_user()),
    };
    if thread.blocked {
        if knobs.blocked_as_code_2 {
            return Err(GraphError::transient());
        }
        return Err(
            GraphError::new(551, "(#551) This person isn't available right now.")
                .with_subcode(1545041)
                .user("Message Not Sent", "This person isn't available right now."),
        );
    }
    let age = now - thread.last_interaction_ms.unwrap_or(i64::MIN / 2);
    match (
        sender_action.as_deref(),
        messaging_type.as_deref(),
        tag.as_deref(),
    ) {
        (Some(_), _, _) | (None, Some("RESPONSE" | "UPDATE"), _) if age > DAY_MS => {
            return Err(outside_window(
                "The person last interacted with the Page more than 24 hours ago",
            ))
        }
        (None, Some("MESSAGE_TAG"), Some("HUMAN_AGENT" | "CUSTOMER_FEEDBACK"))
            if age > 7 * DAY_MS =>
        {
            return Err(outside_window(
                "Tagged replies are allowed for 7 days after the person's last message",
            ))
        }
        _ => {}
    }

    if let Some(action) = sender_action {
        thread.typing = action == "typing_on";
        thread.version += 1;
        return Ok(json!({ "recipient_id": psid }));
    }

    let mid = format!("m_{}", super::random_alnum(43));
    let body = utility.unwrap_or_else(|| message.clone().unwrap_or(Value::Null));
    thread.messages.push(ChatMessage {
        mid: mid.clone(),
        from: From::Page,
        timestamp: now,
        body,
        messaging_type: messaging_type.clone(),
        tag,
    });
    thread.typing = false;
    thread.version += 1;
    ctx.st
        .send_stats
        .entry(page.to_string())
        .or_default()
        .accepted += 1;

    let delivery_delay = ctx.st.knobs.delivery_delay_ms;
    if ctx.st.subscribed(page, "message_deliveries") {
        let e = event(
            &psid,
            page,
            now + delivery_delay as i64,
            "delivery",
            json!({ "mids": [mid], "watermark": now }),
        );
        ctx.sb.hooks.schedule(
            delivery_delay,
            Job::Deliver(Item::Messaging {
                page: page.to_string(),
                event: e,
            }),
        );
    }
    if let Some(read_delay) = ctx.st.knobs.read_delay_ms {
        ctx.sb.hooks.schedule(
            delivery_delay + read_delay,
            Job::Read {
                page: page.to_string(),
                user: person,
            },
        );
    }
    Ok(json!({ "recipient_id": psid, "message_id": mid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order() {
        use super::super::templates::placeholders;
        assert_eq!(placeholders("Hi {{1}}, {{ name }} won"), vec!["1", "name"]);
        assert!(placeholders("no params").is_empty());
    }

    #[test]
    fn limits_are_checked() {
        assert!(check_message(&json!({"text": "a".repeat(2000)}), None).is_ok());
        assert!(check_message(&json!({"text": "a".repeat(2001)}), None).is_err());
        let qr = |n: usize| json!({"text": "x", "quick_replies": (0..n).map(|i| json!({"content_type": "text", "title": format!("t{i}"), "payload": "p"})).collect::<Vec<_>>()});
        assert!(check_message(&qr(13), None).is_ok());
        assert!(check_message(&qr(14), None).is_err());
    }
}
