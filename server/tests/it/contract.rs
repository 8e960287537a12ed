//! The contract with Meta: every request the product sends in a whole run (login dialog, token
//! exchanges, subscribed_apps, messenger_profile, template creation and reads, each kind of send)
//! is checked against the rules of ../shared/docs/messenger-platform.md by the code below, which
//! shares nothing with the sandbox. A sandbox and a product that agree on a mistake (as they did
//! on `page_utility_messaging` and a template without samples) fail here.

use crate::support::{connect, location, Demo, BAKERY};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

const HOUR_MS: i64 = 3_600_000;

/// Facts file §1: the permissions this product may ask for, and the ones it needs.
const KNOWN_SCOPES: [&str; 7] = [
    "public_profile",
    "email",
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "business_management",
    "pages_utility_messaging",
];
const REQUIRED_SCOPES: [&str; 4] = [
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "business_management",
];
/// Facts file §2 and §6: webhook fields, and which permission each needs.
const MESSAGING_FIELDS: [&str; 6] = [
    "messages",
    "messaging_postbacks",
    "messaging_referrals",
    "message_deliveries",
    "message_reads",
    "messaging_optins",
];
const TEMPLATE_FIELD: &str = "message_template_status_update";
/// Facts file §3.
const MESSAGING_TYPES: [&str; 4] = ["RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"];
const TAGS: [&str; 5] = [
    "HUMAN_AGENT",
    "CUSTOMER_FEEDBACK",
    "CONFIRMED_EVENT_UPDATE",
    "ACCOUNT_UPDATE",
    "POST_PURCHASE_UPDATE",
];

fn check_login_url(url: &url::Url, version: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !url.path().ends_with(&format!("/{version}/dialog/oauth")) {
        problems.push(format!("dialog path {}", url.path()));
    }
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    for key in [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
    ] {
        if q.get(key).is_none_or(|v| v.is_empty()) {
            problems.push(format!("login URL lacks {key}"));
        }
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        problems.push("response_type must be code".into());
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        problems.push("PKCE must use S256".into());
    }
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split([',', ' ']).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    for s in &scopes {
        if !KNOWN_SCOPES.contains(s) {
            problems.push(format!("unknown scope {s} (Meta answers Invalid Scopes)"));
        }
    }
    for s in REQUIRED_SCOPES {
        if !scopes.contains(&s) {
            problems.push(format!("scope {s} not asked for"));
        }
    }
    problems
}

/// `{{name}}` or `{{1}}` placeholders of a template text, in order.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let Some(j) = rest[i..].find("}}") else { break };
        out.push(rest[i + 2..i + j].trim().to_string());
        rest = &rest[i + j + 2..];
    }
    out
}

/// Facts file §3a, on a creation request's body.
fn check_template_creation(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if body["category"] != "UTILITY" {
        problems.push("Messenger templates are UTILITY".into());
    }
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        problems.push(format!("template name {name:?}"));
    }
    let named = body["parameter_format"] == "NAMED";
    for component in body["components"].as_array().into_iter().flatten() {
        let kind = component["type"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase();
        if kind == "BUTTONS" {
            for b in component["buttons"].as_array().into_iter().flatten() {
                let t = b["type"].as_str().unwrap_or_default();
                if !["POSTBACK", "URL", "PHONE_NUMBER"].contains(&t) {
                    problems.push(format!("button type {t} is refused"));
                }
            }
        }
        if kind != "BODY" {
            continue;
        }
        let text = component["text"].as_str().unwrap_or_default();
        if text.chars().count() > 1024 {
            problems.push("body over 1024 characters".into());
        }
        let params = placeholders(text);
        // Punctuation next to a parameter does not keep it from being at the end (stricter).
        let trimmed = text.trim_matches(|c: char| {
            c.is_whitespace() || (c.is_ascii_punctuation() && c != '{' && c != '}')
        });
        if !params.is_empty() && (trimmed.starts_with("{{") || trimmed.ends_with("}}")) {
            problems.push("the body starts or ends with a parameter".into());
        }
        let mut fixed = text.to_string();
        for p in &params {
            fixed = fixed.replace(&format!("{{{{{p}}}}}"), " ");
        }
        let words = fixed.split_whitespace().count();
        if words < 2 * params.len() {
            problems.push(format!(
                "{} parameters for {words} fixed words",
                params.len()
            ));
        }
        let example = &component["example"];
        for p in &params {
            let has_sample = if named {
                example["body_text_named_params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| {
                        e["param_name"] == p.as_str()
                            && e["example"].as_str().is_some_and(|v| !v.is_empty())
                    })
            } else {
                example["body_text"][0]
                    .as_array()
                    .is_some_and(|v| v.len() >= params.len())
            };
            if !has_sample {
                problems.push(format!("no sample value for {{{{{p}}}}}"));
            }
        }
    }
    problems
}

/// Facts file §3, on a send's body.
fn check_send(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if body["recipient"]["id"].as_str().is_none_or(str::is_empty) {
        problems.push("no recipient id".into());
    }
    let has_message = body.get("message").is_some();
    let has_action = body.get("sender_action").is_some();
    if has_message == has_action {
        problems.push("exactly one of message and sender_action".into());
    }
    if has_action {
        return problems;
    }
    let kind = body["messaging_type"].as_str().unwrap_or_default();
    if !MESSAGING_TYPES.contains(&kind) {
        problems.push(format!("messaging_type {kind:?}"));
    }
    let tag = body.get("tag").and_then(Value::as_str);
    match (kind, tag) {
        ("MESSAGE_TAG", Some(t)) if TAGS.contains(&t) => {}
        ("MESSAGE_TAG", _) => problems.push("MESSAGE_TAG needs a known tag".into()),
        (_, Some(_)) => problems.push(format!("a tag on a {kind} message")),
        _ => {}
    }
    let message = &body["message"];
    if kind == "UTILITY" {
        let t = &message["template"];
        if t["name"].as_str().is_none_or(str::is_empty)
            || t["language"]["code"].as_str().is_none_or(str::is_empty)
            || !t["components"].is_array()
        {
            problems
                .push("UTILITY needs message.template {name, language.code, components}".into());
        }
        if message.get("attachment").is_some() || message.get("text").is_some() {
            problems.push("UTILITY carries the template only".into());
        }
    } else {
        if message.get("template").is_some() {
            problems.push("message.template only with UTILITY".into());
        }
        if let Some(text) = message["text"].as_str() {
            if text.chars().count() > 2000 {
                problems.push("text over 2000 characters".into());
            }
        }
        let replies = message["quick_replies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if replies.len() > 13 {
            problems.push("more than 13 quick replies".into());
        }
        for r in replies {
            if r["content_type"] == "text"
                && (r["title"]
                    .as_str()
                    .is_none_or(|t| t.is_empty() || t.chars().count() > 20)
                    || r["payload"]
                        .as_str()
                        .is_none_or(|p| p.chars().count() > 1000))
            {
                problems.push(format!("quick reply {r}"));
            }
        }
    }
    problems
}

both_databases!(
    what_the_product_sends_follows_metas_rules,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let version = app::settings::DEFAULT_GRAPH_VERSION;
        let mut problems: Vec<String> = Vec::new();

        // Login, with every permission granted, through the dialog the product links to.
        let started = ctx
            .http
            .get(ctx.server.url("/auth/facebook"))
            .send()
            .await
            .unwrap();
        let dialog = url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
        problems.extend(check_login_url(&dialog, version));
        let callback = crate::support::through_dialog(
            &ctx.http,
            &ctx.server,
            "/auth/facebook",
            "admin",
            &[],
            "continue",
        )
        .await;
        assert_eq!(
            location(ctx.http.get(&callback).send().await.unwrap()).await,
            (303, "/admin".into())
        );
        connect(&ctx.http, &ctx.server, BAKERY).await;

        // A confirmation, a notice inside and one outside the window, and the tag path.
        ctx.subscribe("alice", 0).await;
        ctx.subscribe("bob", 30 * HOUR_MS).await;
        sqlx::query("UPDATE campaigns SET notice_path = 'tag', tag_fallback = 1 WHERE id = $1")
            .bind(&ctx.campaign)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        ctx.end_now().await;
        ctx.settle().await;

        let log = ctx.control(Method::GET, "requests", json!({})).await;
        let log = log["data"].as_array().unwrap().clone();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let dialog_redirect = dialog
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        for r in &log {
            let path = r["path"].as_str().unwrap_or_default();
            let method = r["method"].as_str().unwrap_or_default();
            let query = &r["query"];
            let body = &r["body"];
            let here = |what: &str| format!("{method} {path}: {what}");
            // The oauth2 crate posts the code exchange as a form: its parameters are the body's.
            let mut params = query.as_object().cloned().unwrap_or_default();
            if let Some(form) = body.as_object() {
                params.extend(form.clone());
            }
            let query = &Value::Object(params);
            let mut saw = |k: &str| *seen.entry(k.to_string()).or_default() += 1;
            if path.ends_with("/oauth/access_token") {
                match query["grant_type"].as_str() {
                    None | Some("authorization_code") => {
                        saw("code exchange");
                        for key in [
                            "client_id",
                            "client_secret",
                            "redirect_uri",
                            "code",
                            "code_verifier",
                        ] {
                            if query.get(key).is_none() {
                                problems.push(here(&format!("code exchange lacks {key}")));
                            }
                        }
                        if query["redirect_uri"].as_str() != Some(dialog_redirect.as_str()) {
                            problems.push(here("redirect_uri differs from the dialog's"));
                        }
                    }
                    Some("fb_exchange_token") => {
                        saw("long-lived exchange");
                        for key in ["client_id", "client_secret", "fb_exchange_token"] {
                            if query.get(key).is_none() {
                                problems.push(here(&format!("long-lived exchange lacks {key}")));
                            }
                        }
                    }
                    Some(_) => {}
                }
            } else if path.ends_with("/subscribed_apps") && method == "POST" {
                saw("subscribed_apps");
                let fields: Vec<&str> = query["subscribed_fields"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .collect();
                for f in MESSAGING_FIELDS {
                    if !fields.contains(&f) {
                        problems.push(here(&format!("field {f} not subscribed")));
                    }
                }
                for f in &fields {
                    if !MESSAGING_FIELDS.contains(f) && *f != TEMPLATE_FIELD {
                        problems.push(here(&format!("unexpected field {f}")));
                    }
                }
            } else if path.ends_with("/messenger_profile") && method == "POST" {
                saw("messenger_profile");
                let payload = body["get_started"]["payload"].as_str().unwrap_or_default();
                if payload.is_empty() || payload.chars().count() > 1000 {
                    problems.push(here("get_started.payload must be 1 to 1000 characters"));
                }
            } else if path.ends_with("/messenger_profile") && method == "GET" {
                saw("messenger_profile read");
            } else if path.ends_with("/message_templates") && method == "POST" {
                saw("template creation");
                problems.extend(check_template_creation(body).into_iter().map(|p| here(&p)));
            } else if path.ends_with("/message_templates") && method == "GET" {
                saw("template read");
                if !query["fields"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("status")
                {
                    problems.push(here("status is only listed when asked for with fields="));
                }
            } else if path.ends_with("/messages") && method == "POST" {
                let kind = body["messaging_type"].as_str().unwrap_or("?").to_string();
                saw(&format!("send {kind}"));
                problems.extend(check_send(body).into_iter().map(|p| here(&p)));
                let text = body["message"]["text"].as_str().unwrap_or_default();
                if text.contains("has ended") && kind == "RESPONSE" {
                    problems.push(here("a notice is not a reply: UPDATE, not RESPONSE"));
                }
            }
        }
        for kind in [
            "code exchange",
            "long-lived exchange",
            "subscribed_apps",
            "messenger_profile",
            "messenger_profile read",
            "template creation",
            "send RESPONSE",
            "send UPDATE",
            "send MESSAGE_TAG",
            "send UTILITY",
        ] {
            if !seen.contains_key(kind) {
                problems.push(format!("the run never made a {kind} call: {seen:?}"));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        ctx.stop().await;
    }
);

#[test]
fn the_rules_catch_the_mistakes_we_once_made() {
    let old_template = json!({"name": "giveaway_update", "language": "en_US", "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Update on {{campaign}}: {{details}}"}]});
    let problems = check_template_creation(&old_template);
    assert!(
        problems.iter().any(|p| p.contains("sample")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("ends with")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("fixed words")),
        "{problems:?}"
    );
    let url = url::Url::parse("https://www.facebook.com/v25.0/dialog/oauth?client_id=1&redirect_uri=x&state=s&response_type=code&code_challenge=c&code_challenge_method=S256&scope=pages_show_list,pages_manage_metadata,pages_messaging,page_utility_messaging").unwrap();
    let problems = check_login_url(&url, "v25.0");
    assert!(problems
        .iter()
        .any(|p| p.contains("page_utility_messaging")));
    assert!(problems.iter().any(|p| p.contains("business_management")));
    let response_notice = json!({"recipient": {"id": "1"}, "messaging_type": "UTILITY",
        "message": {"attachment": {"type": "template", "payload": {"template_type": "x"}}}});
    assert!(!check_send(&response_notice).is_empty());
}
