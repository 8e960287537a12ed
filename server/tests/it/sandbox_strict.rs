//! The sandbox refuses what Meta refuses (facts file §1, §2, §3a), with Meta's codes and words:
//! the singular utility scope, Standard Access permissions for people without a role on the app,
//! `subscribed_apps` fields without their permission, utility templates that break a creation
//! rule or read as promotional, and every template status with its webhook. Also the welcome
//! screen: no Get Started for people without a role while `pages_messaging` has Standard Access.

use crate::sandbox_common;
use crate::sandbox_login::{consent, dialog_url, exchange, get_with, html, query, SCOPES};

use sandbox_common::{assert_error, Receiver, Sbx, SUNNY};
use serde_json::{json, Value};

const UTILITY: &str = "pages_utility_messaging";
const DAY_MS: i64 = 24 * 3600 * 1000;
const SUBSCRIBED_FIELDS: &str =
    "messages,messaging_postbacks,messaging_referrals,message_deliveries,message_reads,messaging_optins";

/// The informational shape the facts file recommends, with its samples.
fn ended_template(name: &str) -> Value {
    json!({
        "name": name, "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED",
        "components": [{
            "type": "BODY",
            "text": "The giveaway {{campaign}} has ended. {{details}} Thank you for taking part.",
            "example": { "body_text_named_params": [
                { "param_name": "campaign", "example": "Summer draw" },
                { "param_name": "details", "example": "The winner has been told." }
            ] }
        }]
    })
}

/// A positional template with `text` as its body and one sample per parameter.
fn positional(name: &str, text: &str, samples: &[&str]) -> Value {
    json!({
        "name": name, "language": "en_US", "category": "UTILITY",
        "components": [{ "type": "BODY", "text": text, "example": { "body_text": [samples] } }]
    })
}

fn permissions(perms: &Value) -> Vec<String> {
    perms["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "granted")
        .map(|p| p["permission"].as_str().unwrap().to_string())
        .collect()
}

async fn debug_scopes(sbx: &Sbx, token: &str) -> Vec<String> {
    let app = crate::sandbox_login::app_token(sbx).await;
    let r = sbx
        .http
        .get(sbx.graph("/debug_token"))
        .query(&[("input_token", token), ("access_token", app.as_str())])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["data"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Logs `user` in through the dialog, ticking every scope: their user token.
async fn dialog_login(sbx: &Sbx, user: &str, scope: &str, auth_type: Option<&str>) -> String {
    let grant: Vec<&str> = scope.split(',').collect();
    let redirect = consent(sbx, user, scope, auth_type, "continue", &grant).await;
    let (s, token) = exchange(sbx, &query(&redirect)["code"]).await;
    assert_eq!(s, 200, "{token}");
    token["access_token"].as_str().unwrap().to_string()
}

async fn list_templates(sbx: &Sbx, token: &str, query: &str) -> Value {
    let r = sbx
        .http
        .get(sbx.graph(&format!("/{SUNNY}/message_templates{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn template_status(sbx: &Sbx, token: &str, name: &str) -> (String, String) {
    let list = list_templates(
        sbx,
        token,
        &format!("?name={name}&fields=status,rejected_reason"),
    )
    .await;
    let t = &list["data"][0];
    (
        t["status"].as_str().unwrap().to_string(),
        t["rejected_reason"].as_str().unwrap().to_string(),
    )
}

/// Every `changes` entry the receiver got: (Page id, change).
fn changes(receiver: &Receiver) -> Vec<(String, Value)> {
    receiver
        .deliveries()
        .iter()
        .flat_map(|d| d.json()["entry"].as_array().cloned().unwrap_or_default())
        .flat_map(|e| {
            let page = e["id"].as_str().unwrap_or("").to_string();
            e["changes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |c| (page.clone(), c))
        })
        .collect()
}

async fn wait_for_change(receiver: &Receiver, event: &str) -> Value {
    let (page, change) =
        crate::support::until_some(&format!("a {event} template webhook"), || async move {
            changes(receiver)
                .into_iter()
                .find(|(_, c)| c["value"]["event"] == event)
        })
        .await;
    assert_eq!(page, SUNNY);
    change
}

/// A sandbox whose webhooks reach `receiver`, with the admin's Page token subscribed to the
/// Messenger fields and to template status.
async fn wired_for_templates() -> (Sbx, Receiver, String) {
    let sbx = Sbx::start().await;
    let receiver = Receiver::start().await;
    sbx.point_webhooks_at(&receiver).await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    let (s, v) = sbx
        .subscribe(
            &token,
            &format!("{SUBSCRIBED_FIELDS},message_template_status_update"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    (sbx, receiver, token)
}

#[tokio::test]
async fn the_singular_utility_scope_is_an_invalid_scope() {
    let sbx = Sbx::start().await;
    let singular = format!("{SCOPES},page_utility_messaging");
    let (status, page) = html(&sbx, &dialog_url(&sbx, &singular, &[("as", "admin")])).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("Invalid Scopes: page_utility_messaging"),
        "{page}"
    );
    let plural = format!("{SCOPES},{UTILITY}");
    let (status, page) = html(&sbx, &dialog_url(&sbx, &plural, &[("as", "admin")])).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-permission="pages_utility_messaging""#));
}

#[tokio::test]
async fn a_standard_permission_is_left_out_for_people_without_an_app_role() {
    let sbx = Sbx::start().await;
    let scope = format!("{SCOPES},{UTILITY}");
    let (_, world) = sbx.get(&sbx.control("/world")).await;
    let role = |key: &str| {
        world["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["key"] == key)
            .unwrap()["app_role"]
            .clone()
    };
    assert_eq!(role("admin"), "administrator");
    assert_eq!(role("editor"), "developer");
    assert_eq!(role("moderator"), Value::Null);

    // The moderator (a Page role, no app role) is not asked, and not granted, even if the form
    // claims the box was ticked.
    let (_, screen) = html(&sbx, &dialog_url(&sbx, &scope, &[("as", "moderator")])).await;
    assert!(screen.contains(r#"data-permission="pages_messaging""#));
    assert!(
        !screen.contains(r#"data-permission="pages_utility_messaging""#)
            && !screen.contains("<b>pages_utility_messaging</b>"),
        "{screen}"
    );
    let token = dialog_login(&sbx, "moderator", &scope, None).await;
    let (_, perms) = get_with(&sbx, "/me/permissions", &token).await;
    let granted = permissions(&perms);
    assert!(granted.contains(&"pages_messaging".to_string()));
    assert!(!perms.to_string().contains(UTILITY), "{perms}");
    assert!(!debug_scopes(&sbx, &token).await.contains(&UTILITY.into()));

    // Ada (administrator) is asked and gets it.
    let (_, screen) = html(&sbx, &dialog_url(&sbx, &scope, &[("as", "admin")])).await;
    assert!(screen.contains(r#"data-permission="pages_utility_messaging""#));
    let ada = dialog_login(&sbx, "admin", &scope, None).await;
    let (_, perms) = get_with(&sbx, "/me/permissions", &ada).await;
    assert!(permissions(&perms).contains(&UTILITY.into()));
    assert!(debug_scopes(&sbx, &ada).await.contains(&UTILITY.into()));

    // The control API applies the same rule, silently.
    let minted = sbx
        .control_post(
            "/tokens",
            json!({ "user": "carol", "scopes": ["pages_show_list", UTILITY] }),
        )
        .await;
    let (_, perms) = get_with(
        &sbx,
        "/me/permissions",
        minted["access_token"].as_str().unwrap(),
    )
    .await;
    assert!(permissions(&perms).contains(&"pages_show_list".to_string()));
    assert!(!permissions(&perms).contains(&UTILITY.into()), "{perms}");

    // Once the moderator is made a tester, asking again grants it.
    let (s, v) = sbx
        .patch("/users/moderator", json!({ "app_role": "tester" }))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, screen) = html(
        &sbx,
        &dialog_url(
            &sbx,
            &scope,
            &[("as", "moderator"), ("auth_type", "rerequest")],
        ),
    )
    .await;
    assert!(screen.contains(r#"data-permission="pages_utility_messaging""#));
    dialog_login(&sbx, "moderator", &scope, Some("rerequest")).await;
    let (_, perms) = get_with(&sbx, "/me/permissions", &token).await;
    assert!(permissions(&perms).contains(&UTILITY.into()), "{perms}");
}

#[tokio::test]
async fn permission_access_levels_are_a_setting_merged_over_the_defaults() {
    let sbx = Sbx::start().await;
    let (_, settings) = sbx.get(&sbx.control("/settings")).await;
    assert_eq!(settings["permission_access"][UTILITY], "standard");
    assert_eq!(settings["permission_access"]["pages_messaging"], "advanced");
    assert_eq!(settings["template_approval_delay_ms"], 0);
    assert_eq!(settings["template_rejection_reason"], "INCORRECT_CATEGORY");

    let (s, v) = sbx
        .patch(
            "/settings",
            json!({ "permission_access": { "pages_messaging": "standard" } }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["permission_access"]["pages_messaging"], "standard");
    assert_eq!(v["permission_access"][UTILITY], "standard", "merged: {v}");
    assert_eq!(v["permission_access"]["pages_show_list"], "advanced");

    let (s, v) = sbx
        .patch(
            "/settings",
            json!({ "permission_access": { "page_utility_messaging": "advanced" } }),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("page_utility_messaging"),
        "{v}"
    );
    let (s, v) = sbx
        .patch(
            "/settings",
            json!({ "permission_access": { UTILITY: "basic" } }),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("basic"), "{v}");

    // Advanced Access: anyone gets it.
    sbx.patch(
        "/settings",
        json!({ "permission_access": { UTILITY: "advanced" } }),
    )
    .await;
    let token = dialog_login(&sbx, "moderator", &format!("{SCOPES},{UTILITY}"), None).await;
    let (_, perms) = get_with(&sbx, "/me/permissions", &token).await;
    assert!(permissions(&perms).contains(&UTILITY.into()), "{perms}");
}

#[tokio::test]
async fn subscribed_apps_refuses_the_whole_call_when_a_field_lacks_its_permission() {
    let sbx = Sbx::start().await;
    let without = sbx
        .page_token_with(
            "admin",
            SUNNY,
            &[
                "pages_show_list",
                "pages_manage_metadata",
                "pages_messaging",
            ],
        )
        .await;
    assert_eq!(sbx.subscribe(&without, "messages").await.0, 200);
    let (s, v) = sbx
        .subscribe(
            &without,
            &format!("{SUBSCRIBED_FIELDS},message_template_status_update"),
        )
        .await;
    assert_error(s, &v, 1, Some(1929002));
    assert_eq!(
        v["error"]["message"],
        "You could not subscribe to some of the fields requested due to a permissions error"
    );
    assert!(
        v["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains(UTILITY),
        "{v}"
    );
    // Nothing stored: the earlier subscription stands as it was.
    let (_, got) = get_with(&sbx, "/me/subscribed_apps", &without).await;
    assert_eq!(got["data"][0]["subscribed_fields"], json!(["messages"]));

    // The Messenger fields need pages_messaging (grants are per person: the editor's are fresh).
    let no_messaging = sbx
        .page_token_with("editor", SUNNY, &["pages_manage_metadata"])
        .await;
    let (s, v) = sbx.subscribe(&no_messaging, "messages").await;
    assert_error(s, &v, 1, Some(1929002));
    assert!(v["error"]["error_user_msg"]
        .as_str()
        .unwrap()
        .contains("pages_messaging"));

    // With the permission the same call succeeds.
    let with = sbx.page_token(SUNNY).await;
    let (s, v) = sbx
        .subscribe(
            &with,
            &format!("{SUBSCRIBED_FIELDS},message_template_status_update"),
        )
        .await;
    assert_eq!((s, v), (200, json!({ "success": true })));
    let (_, got) = get_with(&sbx, "/me/subscribed_apps", &with).await;
    assert!(got["data"][0]["subscribed_fields"]
        .as_array()
        .unwrap()
        .contains(&json!("message_template_status_update")));
}

#[tokio::test]
async fn creating_a_template_needs_the_plural_permission() {
    let sbx = Sbx::start().await;
    let token = sbx
        .page_token_with("admin", SUNNY, &["pages_show_list", "pages_messaging"])
        .await;
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_error(s, &v, 10, None);
    assert_eq!(
        v["error"]["message"],
        "(#10) Application does not have permission for this action"
    );
    assert!(v["error"]["error_user_msg"]
        .as_str()
        .unwrap()
        .contains(UTILITY));
}

#[tokio::test]
async fn every_body_parameter_needs_a_sample_value() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let mut named = ended_template("giveaway_ended");
    named["components"][0]["example"]["body_text_named_params"]
        .as_array_mut()
        .unwrap()
        .pop();
    let (s, v) = sbx.create_template(&token, SUNNY, &named).await;
    assert_error(s, &v, 100, Some(2388043));
    assert_eq!(
        v["error"]["error_user_title"],
        "TEMPLATE_VARIABLES_MISSING_SAMPLE_VALUES"
    );
    let msg = v["error"]["error_user_msg"].as_str().unwrap();
    assert!(
        msg.contains("{{details}}") && !msg.contains("{{campaign}}"),
        "{v}"
    );

    let mut bare = positional(
        "draw_done",
        "Hello, the draw for {{1}} is done and {{2}} was told about it.",
        &[],
    );
    bare["components"][0]
        .as_object_mut()
        .unwrap()
        .remove("example");
    let (s, v) = sbx.create_template(&token, SUNNY, &bare).await;
    assert_error(s, &v, 100, Some(2388043));
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("{{1}}, {{2}}"));

    let one_short = positional(
        "draw_done",
        "Hello, the draw for {{1}} is done and {{2}} was told about it.",
        &["the cake"],
    );
    let (s, v) = sbx.create_template(&token, SUNNY, &one_short).await;
    assert_error(s, &v, 100, Some(2388043));
    let full = positional(
        "draw_done",
        "Hello, the draw for {{1}} is done and {{2}} was told about it.",
        &["the cake", "Frank"],
    );
    let (s, v) = sbx.create_template(&token, SUNNY, &full).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn the_body_may_not_start_or_end_with_a_parameter() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    for text in [
        "{{1}} has ended, thank you all for taking part in it.",
        "Thank you all for taking part in the giveaway {{1}}",
        // Stricter reading: punctuation after the last parameter still ends with it.
        "Thank you all for taking part in the giveaway {{1}}.",
    ] {
        let (s, v) = sbx
            .create_template(&token, SUNNY, &positional("edges", text, &["x"]))
            .await;
        assert_error(s, &v, 100, Some(2388299));
        assert_eq!(
            v["error"]["error_user_title"],
            "Variables can't be at the start or end of the template",
            "{text}"
        );
    }
}

#[tokio::test]
async fn too_many_parameters_for_the_length_are_refused() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    // Two parameters, three fixed words: at least six are needed.
    let (s, v) = sbx
        .create_template(
            &token,
            SUNNY,
            &positional("crowded", "Hello {{1}} and {{2}} done", &["a", "b"]),
        )
        .await;
    assert_error(s, &v, 100, Some(2388293));
    assert_eq!(
        v["error"]["error_user_title"],
        "PARAMS_TO_WORD_RATIO_EXCEED_LIMIT"
    );
}

#[tokio::test]
async fn quick_reply_buttons_and_postback_examples_are_refused() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let with_buttons = |buttons: Value| {
        let mut t = ended_template("with_buttons");
        t["components"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "BUTTONS", "buttons": buttons }));
        t
    };
    let (s, v) = sbx
        .create_template(
            &token,
            SUNNY,
            &with_buttons(json!([{ "type": "QUICK_REPLY", "text": "OK" }])),
        )
        .await;
    assert_error(s, &v, 100, Some(2018416));
    let (s, v) = sbx
        .create_template(
            &token,
            SUNNY,
            &with_buttons(json!([{ "type": "POSTBACK", "text": "See", "example": ["RESULT"] }])),
        )
        .await;
    assert_error(s, &v, 100, None);
    let (s, v) = sbx
        .create_template(
            &token,
            SUNNY,
            &with_buttons(json!([
                { "type": "POSTBACK", "text": "See" },
                { "type": "URL", "text": "Rules", "url": "https://example.com/rules" },
                { "type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550100" }
            ])),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn promotional_content_is_created_then_rejected_as_marketing() {
    let (sbx, receiver, token) = wired_for_templates().await;
    let promo = positional(
        "spring_promo",
        "Get 20% off your next order, {{1}}, with our thanks.",
        &["Frank"],
    );
    let (s, v) = sbx.create_template(&token, SUNNY, &promo).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "REJECTED");
    assert_eq!(
        template_status(&sbx, &token, "spring_promo").await,
        ("REJECTED".into(), "TAG_SHOULD_BE_MARKETING".into())
    );
    let change = wait_for_change(&receiver, "REJECTED").await;
    assert_eq!(change["value"]["reason"], "TAG_SHOULD_BE_MARKETING");
    assert_eq!(change["value"]["message_template_name"], "spring_promo");

    // "giveaway", "winner", "ended" are informational.
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("APPROVED")), "{v}");
}

#[tokio::test]
async fn a_template_is_approved_at_creation_by_default_and_can_be_sent_at_once() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "APPROVED");
    assert_eq!(v["category"], "UTILITY");
    assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()));
    // The same name and language again.
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_error(s, &v, 100, Some(2388024));

    sbx.act(
        "frank",
        SUNNY,
        "message",
        json!({ "text": "hi", "ago_ms": 30 * DAY_MS }),
    )
    .await;
    let (s, b) = sbx
        .send(&token, utility_send(&sbx, "giveaway_ended").await)
        .await;
    assert_eq!(s, 200, "{b}");
}

async fn utility_send(sbx: &Sbx, name: &str) -> Value {
    json!({
        "recipient": { "id": sbx.psid("frank", SUNNY).await }, "messaging_type": "UTILITY",
        "message": { "template": { "name": name, "language": { "code": "en_US" }, "components": [
            { "type": "body", "parameters": [
                { "type": "text", "parameter_name": "campaign", "text": "Summer draw" },
                { "type": "text", "parameter_name": "details", "text": "Alice won." }
            ] }
        ] } }
    })
}

#[tokio::test]
async fn a_delayed_review_answers_pending_then_announces_the_outcome() {
    let (sbx, receiver, token) = wired_for_templates().await;
    sbx.patch("/settings", json!({ "template_approval_delay_ms": 30 }))
        .await;
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "PENDING");
    let change = wait_for_change(&receiver, "APPROVED").await;
    assert_eq!(change["field"], "message_template_status_update");
    assert_eq!(change["value"]["message_template_id"], v["id"]);
    assert_eq!(change["value"]["reason"], Value::Null);
    assert_eq!(
        template_status(&sbx, &token, "giveaway_ended").await.0,
        "APPROVED"
    );

    // A rejection decided at creation carries the configured reason, by answer and by webhook.
    sbx.patch(
        "/settings",
        json!({ "template_approval_delay_ms": 0, "template_outcome": "REJECTED",
                "template_rejection_reason": "INVALID_FORMAT" }),
    )
    .await;
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("second_try"))
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("REJECTED")), "{v}");
    let change = wait_for_change(&receiver, "REJECTED").await;
    assert_eq!(change["value"]["reason"], "INVALID_FORMAT");
    assert_eq!(
        template_status(&sbx, &token, "second_try").await,
        ("REJECTED".into(), "INVALID_FORMAT".into())
    );
}

#[tokio::test]
async fn later_status_changes_are_announced_and_flagged_templates_still_go() {
    let (sbx, receiver, token) = wired_for_templates().await;
    let (_, created) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    sbx.act(
        "frank",
        SUNNY,
        "message",
        json!({ "text": "hi", "ago_ms": 30 * DAY_MS }),
    )
    .await;
    let set = |target: String, body: Value| {
        let req = sbx
            .http
            .patch(sbx.control(&format!("/templates/{SUNNY}/{target}")))
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let (s, v) = set(id.clone(), json!({ "status": "FLAGGED" })).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["webhook"], true);
    wait_for_change(&receiver, "FLAGGED").await;
    let (s, b) = sbx
        .send(&token, utility_send(&sbx, "giveaway_ended").await)
        .await;
    assert_eq!(s, 200, "FLAGGED still goes: {b}");

    // By name, with a reason.
    let (s, _) = set(
        "giveaway_ended".into(),
        json!({ "status": "PAUSED", "reason": "LOW_QUALITY" }),
    )
    .await;
    assert_eq!(s, 200);
    let change = wait_for_change(&receiver, "PAUSED").await;
    assert_eq!(change["value"]["reason"], "LOW_QUALITY");
    let (s, b) = sbx
        .send(&token, utility_send(&sbx, "giveaway_ended").await)
        .await;
    assert_error(s, &b, 100, None);
    assert!(b["error"]["message"].as_str().unwrap().contains("PAUSED"));

    set(id.clone(), json!({ "status": "REINSTATED" })).await;
    wait_for_change(&receiver, "REINSTATED").await;
    let (s, b) = sbx
        .send(&token, utility_send(&sbx, "giveaway_ended").await)
        .await;
    assert_eq!(s, 200, "REINSTATED goes again: {b}");

    for status in ["DISABLED", "IN_APPEAL", "PENDING_DELETION", "PENDING"] {
        let (s, v) = set(id.clone(), json!({ "status": status })).await;
        assert_eq!(s, 200, "{status}: {v}");
    }
    let (s, v) = set(id.clone(), json!({ "status": "ARCHIVED" })).await;
    assert_eq!(s, 400, "{v}");
}

#[tokio::test]
async fn listing_templates_shows_status_only_when_asked_and_delete_removes_them() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let (_, first) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    sbx.create_template(&token, SUNNY, &ended_template("other_one"))
        .await;

    let list = list_templates(&sbx, &token, "").await;
    let item = list["data"][0].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "language", "name"], "{list}");
    let list = list_templates(&sbx, &token, "?fields=name,status,category&name=other_one").await;
    assert_eq!(
        list["data"],
        json!([{ "name": "other_one", "status": "APPROVED", "category": "UTILITY" }])
    );

    let delete = |query: String| {
        let req = sbx
            .http
            .delete(sbx.graph(&format!("/{SUNNY}/message_templates?{query}")))
            .bearer_auth(&token);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = delete(format!("hsm_id={}", first["id"].as_str().unwrap())).await;
    assert_eq!((s, v), (200, json!({ "success": true })));
    let (s, v) = delete("name=other_one".into()).await;
    assert_eq!((s, v), (200, json!({ "success": true })));
    assert_eq!(list_templates(&sbx, &token, "").await["data"], json!([]));
    let (s, v) = delete("name=other_one".into()).await;
    assert_error(s, &v, 100, None);
    // Deleted, it can be created again under the same name.
    let (s, v) = sbx
        .create_template(&token, SUNNY, &ended_template("giveaway_ended"))
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn no_get_started_for_people_without_a_role_while_pages_messaging_is_standard() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    let chat = |user: &str| {
        let req = sbx.http.get(
            sbx.server
                .url(&format!("/sandbox/m.me/sunnybakery?as={user}&ref=camp-1")),
        );
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // Advanced Access (the default): everyone sees the welcome screen.
    assert!(chat("alice").await.contains(r#"data-testid="get-started""#));

    sbx.patch(
        "/settings",
        json!({ "permission_access": { "pages_messaging": "standard" } }),
    )
    .await;
    let html = chat("alice").await;
    assert!(!html.contains(r#"data-testid="get-started""#), "{html}");
    assert!(html.contains(r#"data-testid="get-started-hidden""#));
    assert!(
        html.contains(r#"data-testid="message-input""#),
        "she can type"
    );
    let (s, v) = sbx
        .post(
            &sbx.control("/interactions"),
            json!({ "user": "alice", "page": SUNNY, "kind": "get_started", "ref": "camp-1" }),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("pages_messaging"),
        "{v}"
    );
    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/alice")))
        .await;
    assert_eq!(thread["started"], false);

    // People with a role on the app still get it.
    assert!(chat("editor")
        .await
        .contains(r#"data-testid="get-started""#));
    let v = sbx
        .act("editor", SUNNY, "get_started", json!({ "ref": "camp-1" }))
        .await;
    assert_eq!(v["event"]["postback"]["referral"]["ref"], "camp-1");
}
