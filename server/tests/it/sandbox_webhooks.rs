//! The sandbox's webhooks and Page settings through raw HTTP, received by a tiny axum endpoint
//! on port 0: Meta's envelope, signatures over the exact bytes, each event kind, subscriptions,
//! batching, retries, duplication and reordering, delivery and read receipts, and message
//! templates with a delayed review (PENDING, then APPROVED announced by webhook), `messenger_profile`.

use crate::sandbox_common;

use hmac::{Hmac, Mac};
use sandbox_common::{assert_error, of_kind, Receiver, Sbx, APP_SECRET, SUNNY};
use serde_json::{json, Value};

async fn wired() -> (Sbx, Receiver, String) {
    let sbx = Sbx::start().await;
    let receiver = Receiver::start().await;
    sbx.point_webhooks_at(&receiver).await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    (sbx, receiver, token)
}

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(body: &[u8]) -> String {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn events_arrive_in_metas_envelope_signed_over_the_exact_bytes() {
    let (sbx, receiver, _) = wired().await;
    let acted = sbx
        .act(
            "alice",
            SUNNY,
            "message",
            json!({ "text": "I want to win" }),
        )
        .await;
    let deliveries = receiver.wait_deliveries(1).await;
    let d = &deliveries[0];
    let sig = d.headers["x-hub-signature-256"].to_str().unwrap();
    assert_eq!(
        sig,
        format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>(&d.body))
    );
    let sig1 = d.headers["x-hub-signature"].to_str().unwrap();
    assert_eq!(
        sig1,
        format!("sha1={}", hmac_hex::<Hmac<sha1::Sha1>>(&d.body))
    );
    assert_eq!(d.headers["content-type"], "application/json");

    let body = d.json();
    assert_eq!(body["object"], "page");
    let entry = &body["entry"][0];
    assert_eq!(entry["id"], SUNNY);
    assert!(entry["time"].as_i64().unwrap() > 0);
    let event = &entry["messaging"][0];
    let psid = sbx.psid("alice", SUNNY).await;
    assert_eq!(event["sender"]["id"], psid.as_str());
    assert_eq!(event["recipient"]["id"], SUNNY);
    assert!(event["timestamp"].as_i64().unwrap() > 0);
    assert_eq!(event["message"]["text"], "I want to win");
    assert_eq!(event["message"]["mid"], acted["mid"]);
    assert!(event["message"]["mid"].as_str().unwrap().starts_with("m_"));

    // One changed byte and the signature no longer matches.
    let mut tampered = d.body.to_vec();
    tampered[10] ^= 1;
    assert_ne!(
        sig,
        format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>(&tampered))
    );
}

#[tokio::test]
async fn get_started_referral_quick_reply_and_postback_events() {
    let (sbx, receiver, token) = wired().await;
    sbx.act("bob", SUNNY, "get_started", json!({ "ref": "giveaway-7" }))
        .await;
    let events = receiver
        .wait_for("get started", |e| !of_kind(e, "postback").is_empty())
        .await;
    let postback = &of_kind(&events, "postback")[0]["postback"];
    assert_eq!(postback["title"], "Get Started");
    assert_eq!(postback["payload"], "GET_STARTED");
    assert_eq!(
        postback["referral"],
        json!({ "ref": "giveaway-7", "source": "SHORTLINK", "type": "OPEN_THREAD" })
    );
    assert!(postback["mid"].is_string());

    // The thread now exists: an m.me link sends a referral event instead.
    sbx.act("bob", SUNNY, "open_link", json!({ "ref": "giveaway-8" }))
        .await;
    let events = receiver
        .wait_for("referral", |e| !of_kind(e, "referral").is_empty())
        .await;
    assert_eq!(
        of_kind(&events, "referral")[0]["referral"],
        json!({ "ref": "giveaway-8", "source": "SHORTLINK", "type": "OPEN_THREAD" })
    );

    let psid = sbx.psid("bob", SUNNY).await;
    let (s, _) = sbx
        .send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE",
            "message": { "text": "Confirm?", "quick_replies": [{ "content_type": "text", "title": "Yes", "payload": "CONFIRM" }] } }))
        .await;
    assert_eq!(s, 200);
    sbx.act(
        "bob",
        SUNNY,
        "quick_reply",
        json!({ "title": "Yes", "payload": "CONFIRM" }),
    )
    .await;
    sbx.act(
        "bob",
        SUNNY,
        "postback",
        json!({ "title": "Rules", "payload": "RULES" }),
    )
    .await;
    let events = receiver
        .wait_for("quick reply and postback", |e| {
            e.iter()
                .any(|x| x["message"]["quick_reply"]["payload"] == "CONFIRM")
                && of_kind(e, "postback").len() == 2
        })
        .await;
    let qr = events
        .iter()
        .find(|x| x["message"]["quick_reply"].is_object())
        .unwrap();
    assert_eq!(qr["message"]["text"], "Yes");
    assert_eq!(
        of_kind(&events, "postback")[1]["postback"]["payload"],
        "RULES"
    );

    // A new thread opened from a link sends nothing until Get Started.
    let opened = sbx
        .act("carol", SUNNY, "open_link", json!({ "ref": "x" }))
        .await;
    assert_eq!(opened["new_thread"], true);
}

#[tokio::test]
async fn delivery_and_read_receipts_follow_sends() {
    let (sbx, receiver, token) = wired().await;
    sbx.act("alice", SUNNY, "message", json!({ "text": "hi" }))
        .await;
    let psid = sbx.psid("alice", SUNNY).await;
    let (_, sent) = sbx.reply(&token, &psid, "Welcome!").await;
    let mid = sent["message_id"].clone();
    let events = receiver
        .wait_for("delivery", |e| !of_kind(e, "delivery").is_empty())
        .await;
    let delivery = &of_kind(&events, "delivery")[0];
    assert_eq!(delivery["delivery"]["mids"], json!([mid]));
    assert!(delivery["delivery"]["watermark"].as_i64().unwrap() > 0);
    assert_eq!(delivery["sender"]["id"], psid.as_str());

    // Viewing the chat page marks it read.
    let r = sbx
        .http
        .get(sbx.server.url("/sandbox/m.me/sunnybakery?as=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = receiver
        .wait_for("read", |e| !of_kind(e, "read").is_empty())
        .await;
    let read = &of_kind(&events, "read")[0];
    assert_eq!(read["read"]["watermark"], delivery["delivery"]["watermark"]);

    // Or after a delay, when set.
    sbx.patch("/settings", json!({ "read_delay_ms": 10 })).await;
    sbx.reply(&token, &psid, "Another").await;
    receiver
        .wait_for("second read", |e| of_kind(e, "read").len() == 2)
        .await;
}

#[tokio::test]
async fn only_subscribed_fields_are_delivered() {
    let sbx = Sbx::start().await;
    let receiver = Receiver::start().await;
    sbx.point_webhooks_at(&receiver).await;
    let token = sbx.page_token(SUNNY).await;
    let r = sbx
        .http
        .get(sbx.graph(&format!("/{SUNNY}/subscribed_apps")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "data": [] }));
    let acted = sbx
        .act("alice", SUNNY, "message", json!({ "text": "unheard" }))
        .await;
    assert_eq!(acted["delivered"], false);

    let subscribe = |fields: &str| {
        sbx.http
            .post(sbx.graph(&format!("/{SUNNY}/subscribed_apps")))
            .bearer_auth(&token)
            .query(&[("subscribed_fields", fields)])
            .send()
    };
    let r = subscribe("messages,bogus_field").await.unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 100, None);
    let r = subscribe("messages").await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "success": true }));
    let r = sbx
        .http
        .get(sbx.graph(&format!("/{SUNNY}/subscribed_apps")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed["data"][0]["subscribed_fields"], json!(["messages"]));
    assert_eq!(listed["data"][0]["id"], sandbox_common::APP_ID);

    sbx.act("alice", SUNNY, "message", json!({ "text": "heard" }))
        .await;
    sbx.act(
        "alice",
        SUNNY,
        "postback",
        json!({ "title": "t", "payload": "not subscribed" }),
    )
    .await;
    receiver
        .wait_for("message", |e| {
            e.iter().any(|x| x["message"]["text"] == "heard")
        })
        .await;
    sbx.idle().await;
    assert!(of_kind(&receiver.events(), "postback").is_empty());

    // Subscribing needs pages_manage_metadata.
    let weak = sbx
        .page_token_with("editor", SUNNY, &["pages_messaging"])
        .await;
    let r = sbx
        .http
        .post(sbx.graph("/me/subscribed_apps"))
        .bearer_auth(&weak)
        .query(&[("subscribed_fields", "messages")])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 200, None);
    let r = sbx
        .http
        .delete(sbx.graph("/me/subscribed_apps"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "success": true }));
}

#[tokio::test]
async fn events_that_coincide_share_one_post() {
    let (sbx, receiver, token) = wired().await;
    sbx.act("alice", SUNNY, "message", json!({ "text": "hi" }))
        .await;
    receiver.wait_deliveries(1).await;
    let psid = sbx.psid("alice", SUNNY).await;
    sbx.patch("/settings", json!({ "delivery_delay_ms": 300 }))
        .await;
    for i in 0..5 {
        assert_eq!(sbx.reply(&token, &psid, &format!("n{i}")).await.0, 200);
    }
    let events = receiver
        .wait_for("5 deliveries", |e| of_kind(e, "delivery").len() == 5)
        .await;
    assert_eq!(of_kind(&events, "delivery").len(), 5);
    let last = receiver.deliveries().last().unwrap().json();
    assert_eq!(
        last["entry"][0]["messaging"].as_array().unwrap().len(),
        5,
        "{last}"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_the_same_signed_bytes() {
    let (sbx, receiver, token) = wired().await;
    receiver.fail_next(2);
    sbx.act("alice", SUNNY, "message", json!({ "text": "retry me" }))
        .await;
    let deliveries = receiver.wait_deliveries(3).await;
    assert_eq!(deliveries[0].body, deliveries[2].body);
    assert_eq!(
        deliveries[0].headers["x-hub-signature-256"],
        deliveries[2].headers["x-hub-signature-256"]
    );
    let (_, log) = sbx.get(&sbx.control("/webhooks")).await;
    let attempts: Vec<(i64, bool)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["attempt"].as_i64().unwrap(), d["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(attempts, [(1, false), (2, false), (3, true)]);

    // Retries stop after the configured time.
    sbx.patch("/settings", json!({ "webhook_retry_for_ms": 0 }))
        .await;
    receiver.fail_next(1);
    sbx.act("alice", SUNNY, "message", json!({ "text": "given up" }))
        .await;
    receiver.wait_deliveries(4).await;
    sbx.idle().await;
    assert_eq!(receiver.deliveries().len(), 4, "no retry after giving up");

    // Giving up unsubscribes the app from the Page, as Meta does: nothing more arrives until
    // it subscribes again.
    let subscriptions = format!(
        "{}?access_token={token}",
        sbx.graph(&format!("/{SUNNY}/subscribed_apps"))
    );
    let (_, subscribed) = sbx.get(&subscriptions).await;
    assert_eq!(subscribed["data"], json!([]), "{subscribed}");
    sbx.act("alice", SUNNY, "message", json!({ "text": "unheard" }))
        .await;
    sbx.idle().await;
    assert_eq!(receiver.deliveries().len(), 4);
    sbx.set_up_page(&token).await;
    sbx.act("alice", SUNNY, "message", json!({ "text": "heard again" }))
        .await;
    receiver.wait_deliveries(5).await;
}

#[tokio::test]
async fn duplication_and_reordering_when_switched_on() {
    let (sbx, receiver, _) = wired().await;
    sbx.patch("/settings", json!({ "webhook_duplicate": true }))
        .await;
    sbx.act("alice", SUNNY, "message", json!({ "text": "twice" }))
        .await;
    let events = receiver.wait_for("duplicate", |e| e.len() == 2).await;
    assert_eq!(events[0], events[1]);
    let d = receiver.deliveries();
    assert_eq!(d[0].body, d[1].body);

    sbx.patch(
        "/settings",
        json!({ "webhook_duplicate": false, "webhook_reorder": true }),
    )
    .await;
    for text in ["one", "two", "three"] {
        sbx.act("alice", SUNNY, "message", json!({ "text": text }))
            .await;
    }
    let events = receiver.wait_for("reordered", |e| e.len() == 5).await;
    let texts: Vec<&str> = events[2..]
        .iter()
        .map(|e| e["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["three", "two", "one"]);
    let stamps: Vec<i64> = events[2..]
        .iter()
        .map(|e| e["timestamp"].as_i64().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");
}

#[tokio::test]
async fn templates_go_from_pending_to_approved_with_a_webhook() {
    let (sbx, receiver, token) = wired().await;
    // A review that takes a while (the default decides at creation), announced to a Page
    // subscribed to template status.
    sbx.patch("/settings", json!({ "template_approval_delay_ms": 30 }))
        .await;
    let (s, v) = sbx
        .subscribe(&token, "messages,message_template_status_update")
        .await;
    assert_eq!(s, 200, "{v}");
    let create = |name: &str, category: &str| {
        json!({ "name": name, "language": "en_US", "category": category,
                "components": [{ "type": "BODY", "text": "Your entry for {{1}} is confirmed.",
                                 "example": { "body_text": [["the summer draw"]] } }] })
    };
    let post = |body: Value| {
        sbx.http
            .post(sbx.graph(&format!("/{SUNNY}/message_templates")))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = post(create("entry_confirmed", "UTILITY")).await.unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["category"], "UTILITY");
    let id = created["id"].as_str().unwrap().to_string();

    let r = post(create("entry_confirmed", "UTILITY")).await.unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 100, Some(2388024));
    let r = post(create("promo_blast", "MARKETING")).await.unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 100, None);
    let r = post(create("Bad Name", "UTILITY")).await.unwrap();
    assert_eq!(r.status(), 400);

    // The review webhook (shape documented in the sandbox's webhooks module).
    let change = {
        let receiver = &receiver;
        crate::support::until_some("the template's review webhook", || async move {
            receiver
                .deliveries()
                .iter()
                .flat_map(|d| d.json()["entry"].as_array().cloned().unwrap_or_default())
                .find_map(|e| e.get("changes").map(|c| (e["id"].clone(), c[0].clone())))
        })
        .await
    };
    assert_eq!(change.0, SUNNY);
    let change = change.1;
    assert_eq!(
        change["field"], "message_template_status_update",
        "{change}"
    );
    assert_eq!(change["value"]["event"], "APPROVED");
    assert_eq!(change["value"]["message_template_id"], id.as_str());
    assert_eq!(change["value"]["message_template_name"], "entry_confirmed");
    assert_eq!(change["value"]["message_template_language"], "en_US");

    let r = sbx
        .http
        .get(sbx.graph(&format!("/{SUNNY}/message_templates?fields=name,status")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["data"][0]["status"], "APPROVED");
    assert_eq!(list["data"][0]["name"], "entry_confirmed");

    // Review can also reject; creating needs the utility permission.
    sbx.patch("/settings", json!({ "template_outcome": "REJECTED" }))
        .await;
    let r = post(create("second_one", "UTILITY")).await.unwrap();
    assert_eq!(r.status(), 200);
    receiver.wait_deliveries(2).await;
    {
        let (sbx, token) = (&sbx, &token);
        crate::support::eventually("the second template to be rejected", || async move {
            let r = sbx
                .http
                .get(sbx.graph(&format!(
                    "/{SUNNY}/message_templates?name=second_one&fields=status"
                )))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["data"][0]["status"] == "REJECTED"
        })
        .await;
    }
    let plain = sbx
        .page_token_with("editor", SUNNY, &["pages_messaging"])
        .await;
    let r = sbx
        .http
        .post(sbx.graph(&format!("/{SUNNY}/message_templates")))
        .bearer_auth(&plain)
        .json(&create("x_y", "UTILITY"))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 10, None);
}

#[tokio::test]
async fn messenger_profile_sets_and_reads_get_started() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let profile = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = sbx
            .http
            .request(method, sbx.graph(&path))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = profile(
        reqwest::Method::POST,
        "/me/messenger_profile".into(),
        Some(json!({ "get_started": { "payload": "START" } })),
    )
    .await;
    assert_eq!((s, v), (200, json!({ "result": "success" })));
    let (s, v) = profile(
        reqwest::Method::GET,
        format!("/{SUNNY}/messenger_profile?fields=get_started"),
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({ "data": [{ "get_started": { "payload": "START" } }] })
        )
    );
    let (s, v) = profile(
        reqwest::Method::POST,
        format!("/{SUNNY}/messenger_profile"),
        Some(json!({ "get_started": { "payload": "p".repeat(1001) } })),
    )
    .await;
    assert_error(s, &v, 100, None);
    let (s, v) = profile(
        reqwest::Method::POST,
        "/me/messenger_profile".into(),
        Some(json!({ "colour": "red" })),
    )
    .await;
    assert_error(s, &v, 100, None);
    let (s, v) = profile(reqwest::Method::GET, "/me/messenger_profile".into(), None).await;
    assert_error(s, &v, 100, None);
    let (s, _) = profile(
        reqwest::Method::DELETE,
        "/me/messenger_profile".into(),
        Some(json!({ "fields": ["get_started"] })),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = profile(
        reqwest::Method::GET,
        "/me/messenger_profile?fields=get_started".into(),
        None,
    )
    .await;
    assert_eq!(v, json!({ "data": [] }));
    // Without Get Started, the chat cannot send a Get Started postback.
    let (s, _) = sbx
        .post(
            &sbx.control("/interactions"),
            json!({ "user": "alice", "page": SUNNY, "kind": "get_started" }),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn test_payloads_carry_every_value_as_a_string_and_are_still_signed() {
    let (sbx, receiver, token) = wired().await;
    let (_, settings) = sbx.get(&sbx.control("/settings")).await;
    assert_eq!(settings["webhook_test_payloads"], false, "off by default");
    sbx.act("alice", SUNNY, "message", json!({ "text": "numbers" }))
        .await;
    let first = receiver.wait_deliveries(1).await[0].json();
    assert!(first["entry"][0]["time"].is_i64());
    assert!(first["entry"][0]["messaging"][0]["timestamp"].is_i64());

    let (s, v) = sbx
        .patch("/settings", json!({ "webhook_test_payloads": true }))
        .await;
    assert_eq!((s, &v["webhook_test_payloads"]), (200, &json!(true)), "{v}");
    let psid = sbx.psid("alice", SUNNY).await;
    assert_eq!(sbx.reply(&token, &psid, "hello").await.0, 200);
    sbx.act("alice", SUNNY, "message", json!({ "text": "strings" }))
        .await;
    receiver
        .wait_for("message, delivery and read as strings", |e| {
            e.iter().any(|x| x["message"]["text"] == "strings")
                && !of_kind(e, "delivery").is_empty()
                && !of_kind(e, "read").is_empty()
        })
        .await;
    let deliveries = receiver.deliveries();
    for d in &deliveries[1..] {
        assert_eq!(
            d.headers["x-hub-signature-256"].to_str().unwrap(),
            format!("sha256={}", hmac_hex::<Hmac<sha2::Sha256>>(&d.body)),
            "signed over the bytes sent"
        );
        let body = d.json();
        for entry in body["entry"].as_array().unwrap() {
            assert!(entry["time"].as_str().unwrap().parse::<i64>().is_ok());
            for e in entry["messaging"].as_array().unwrap() {
                assert!(
                    e["timestamp"].as_str().unwrap().parse::<i64>().is_ok(),
                    "{e}"
                );
                for receipt in ["delivery", "read"] {
                    if let Some(r) = e.get(receipt) {
                        assert!(r["watermark"].as_str().unwrap().parse::<i64>().is_ok());
                    }
                }
            }
        }
    }
}
