//! The sandbox's Send API through raw HTTP: success shape, every limit, recipient forms,
//! `sender_action`, messaging types and tags in both eras, the 24-hour window and the 7-day
//! `HUMAN_AGENT` rule, utility templates, blocks, page-scoped PSIDs, and the faults (rate limit,
//! forced throttling, restriction, transient errors, latency).

use crate::sandbox_common;

use sandbox_common::{assert_error, Sbx, RIVER, SUNNY};
use serde_json::{json, Value};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A Page token for Sunny Bakery and Alice's PSID there, with Alice having just written.
async fn ready(sbx: &Sbx) -> (String, String) {
    let token = sbx.page_token(SUNNY).await;
    sbx.act("alice", SUNNY, "message", json!({ "text": "hello" }))
        .await;
    let psid = sbx.psid("alice", SUNNY).await;
    (token, psid)
}

fn text_to(psid: &str, text: Value) -> Value {
    json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": text } })
}

#[tokio::test]
async fn a_reply_in_the_window_succeeds_with_metas_body_and_lands_in_the_thread() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let (status, body) = sbx.reply(&token, &psid, "Thanks for entering!").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipient_id"], psid.as_str());
    assert!(body["message_id"].as_str().unwrap().starts_with("m_"));
    assert_eq!(body.as_object().unwrap().len(), 2);

    // Also with the Page id in the path and the token as a query parameter.
    let r = sbx
        .http
        .post(sbx.graph(&format!("/{SUNNY}/messages")))
        .query(&[("access_token", &token)])
        .json(&text_to(&psid, json!("second")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/alice")))
        .await;
    let texts: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "page")
        .map(|m| m["body"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Thanks for entering!", "second"]);
    assert_eq!(thread["window_open"], true);
}

#[tokio::test]
async fn form_encoded_sends_are_accepted_like_on_meta() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let recipient = json!({ "id": psid }).to_string();
    let message = json!({ "text": "form" }).to_string();
    let r = sbx
        .http
        .post(sbx.graph("/me/messages"))
        .form(&[
            ("access_token", token.as_str()),
            ("recipient", recipient.as_str()),
            ("messaging_type", "RESPONSE"),
            ("message", message.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn text_and_quick_reply_limits() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let ok = |v: (u16, Value)| assert_eq!(v.0, 200, "{}", v.1);
    let bad = |v: (u16, Value)| assert_error(v.0, &v.1, 100, None);

    ok(sbx
        .send(&token, text_to(&psid, json!("é".repeat(2000))))
        .await);
    bad(sbx
        .send(&token, text_to(&psid, json!("a".repeat(2001))))
        .await);
    bad(sbx.send(&token, text_to(&psid, json!(""))).await);

    let with_qr = |qrs: Vec<Value>| json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": "Pick", "quick_replies": qrs } });
    let qr = |title: &str, payload: &str| json!({ "content_type": "text", "title": title, "payload": payload });
    ok(sbx
        .send(
            &token,
            with_qr((0..13).map(|i| qr(&format!("opt {i}"), "P")).collect()),
        )
        .await);
    bad(sbx
        .send(
            &token,
            with_qr((0..14).map(|i| qr(&format!("opt {i}"), "P")).collect()),
        )
        .await);
    ok(sbx
        .send(&token, with_qr(vec![qr(&"t".repeat(20), "P")]))
        .await);
    bad(sbx
        .send(&token, with_qr(vec![qr(&"t".repeat(21), "P")]))
        .await);
    ok(sbx
        .send(&token, with_qr(vec![qr("Yes", &"p".repeat(1000))]))
        .await);
    bad(sbx
        .send(&token, with_qr(vec![qr("Yes", &"p".repeat(1001))]))
        .await);
    ok(sbx
        .send(
            &token,
            with_qr(vec![json!({ "content_type": "user_email" })]),
        )
        .await);
    bad(sbx
        .send(&token, with_qr(vec![json!({ "content_type": "location" })]))
        .await);

    let with_meta = |m: String| json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": "x", "metadata": m } });
    ok(sbx.send(&token, with_meta("m".repeat(1000))).await);
    bad(sbx.send(&token, with_meta("m".repeat(1001))).await);

    let (status, body) = sbx
        .send(&token, text_to(&psid, json!("a".repeat(2001))))
        .await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("2000"),
        "{status} {body}"
    );
}

#[tokio::test]
async fn template_limits() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let send = |payload: Value| {
        json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE",
                "message": { "attachment": { "type": "template", "payload": payload } } })
    };
    let postback = |title: &str| json!({ "type": "postback", "title": title, "payload": "P" });
    let button = |text: String, n: usize| json!({ "template_type": "button", "text": text, "buttons": (0..n).map(|_| postback("Go")).collect::<Vec<_>>() });
    let ok = |v: (u16, Value)| assert_eq!(v.0, 200, "{}", v.1);
    let bad = |v: (u16, Value)| assert_error(v.0, &v.1, 100, None);

    ok(sbx.send(&token, send(button("t".repeat(640), 3))).await);
    bad(sbx.send(&token, send(button("t".repeat(641), 1))).await);
    bad(sbx.send(&token, send(button("t".into(), 0))).await);
    bad(sbx.send(&token, send(button("t".into(), 4))).await);
    bad(sbx.send(&token, send(json!({ "template_type": "button", "text": "t", "buttons": [postback(&"b".repeat(21))] }))).await);
    let long_payload = json!({ "type": "postback", "title": "Go", "payload": "p".repeat(1001) });
    bad(sbx
        .send(
            &token,
            send(json!({ "template_type": "button", "text": "t", "buttons": [long_payload] })),
        )
        .await);

    let element = |title: String, subtitle: String| {
        json!({ "title": title, "subtitle": subtitle, "image_url": "https://example.org/a.png",
        "default_action": { "type": "web_url", "url": "https://example.org" }, "buttons": [postback("Enter")] })
    };
    let generic =
        |elements: Vec<Value>| json!({ "template_type": "generic", "elements": elements });
    ok(sbx
        .send(
            &token,
            send(generic(
                (0..10)
                    .map(|_| element("t".repeat(80), "s".repeat(80)))
                    .collect(),
            )),
        )
        .await);
    bad(sbx
        .send(
            &token,
            send(generic(
                (0..11).map(|_| element("t".into(), "s".into())).collect(),
            )),
        )
        .await);
    bad(sbx
        .send(
            &token,
            send(generic(vec![element("t".repeat(81), "s".into())])),
        )
        .await);
    bad(sbx
        .send(
            &token,
            send(generic(vec![element("t".into(), "s".repeat(81))])),
        )
        .await);
    let four_buttons = json!({ "title": "t", "buttons": [postback("a"), postback("b"), postback("c"), postback("d")] });
    bad(sbx.send(&token, send(generic(vec![four_buttons]))).await);

    ok(sbx.send(&token, send(json!({ "template_type": "media", "elements": [{ "media_type": "image", "url": "https://example.org/a.png" }] }))).await);
    bad(sbx.send(&token, send(json!({ "template_type": "media", "elements": [{ "media_type": "gif", "url": "https://x" }] }))).await);
    bad(sbx
        .send(&token, send(json!({ "template_type": "receipt_v9" })))
        .await);

    let image = json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE",
        "message": { "attachment": { "type": "image", "payload": { "url": "https://example.org/a.png" } } } });
    ok(sbx.send(&token, image).await);
    let both = json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE",
        "message": { "text": "x", "attachment": { "type": "image", "payload": { "url": "https://x" } } } });
    bad(sbx.send(&token, both).await);
}

#[tokio::test]
async fn sender_action_goes_alone_and_recipient_forms_are_checked() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let (status, body) = sbx
        .send(
            &token,
            json!({ "recipient": { "id": psid }, "sender_action": "typing_on" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "recipient_id": psid }));
    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/alice")))
        .await;
    assert_eq!(
        thread["messages"].as_array().unwrap().len(),
        1,
        "a sender action is not a message"
    );

    let (s, b) = sbx
        .send(&token, json!({ "recipient": { "id": psid }, "sender_action": "typing_on", "messaging_type": "RESPONSE", "message": { "text": "x" } }))
        .await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx
        .send(
            &token,
            json!({ "recipient": { "id": psid }, "sender_action": "dance" }),
        )
        .await;
    assert_error(s, &b, 100, None);

    // Recipient forms.
    let (s, b) = sbx
        .send(
            &token,
            json!({ "messaging_type": "RESPONSE", "message": { "text": "x" } }),
        )
        .await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid, "user_ref": "r" }, "messaging_type": "RESPONSE", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "user_ref": "unknown-ref" }, "messaging_type": "RESPONSE", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, Some(2018001));
    let (s, b) = sbx.send(&token, json!({ "recipient": { "notification_messages_token": "t" }, "messaging_type": "UPDATE", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.reply(&token, "9999999999999999", "who?").await;
    assert_error(s, &b, 100, Some(2018001));

    // notification_type and messaging_type values.
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "notification_type": "LOUD", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "notification_type": "SILENT_PUSH", "message": { "text": "x" } })).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = sbx
        .send(
            &token,
            json!({ "recipient": { "id": psid }, "message": { "text": "x" } }),
        )
        .await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "PROMO", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);
}

#[tokio::test]
async fn psids_are_page_scoped() {
    let sbx = Sbx::start().await;
    let sunny = sbx.page_token(SUNNY).await;
    let river = sbx.page_token(RIVER).await;
    sbx.act("bob", SUNNY, "message", json!({ "text": "hi sunny" }))
        .await;
    sbx.act("bob", RIVER, "message", json!({ "text": "hi river" }))
        .await;
    let bob_sunny = sbx.psid("bob", SUNNY).await;
    let bob_river = sbx.psid("bob", RIVER).await;
    assert_ne!(bob_sunny, bob_river);
    assert_eq!(sbx.reply(&sunny, &bob_sunny, "ok").await.0, 200);
    assert_eq!(sbx.reply(&river, &bob_river, "ok").await.0, 200);
    // Another Page's PSID does not name anyone here.
    let (s, b) = sbx.reply(&sunny, &bob_river, "wrong page").await;
    assert_error(s, &b, 100, Some(2018001));
    // A person who never wrote to the Page has no PSID there yet.
    let carol = sbx.psid("carol", SUNNY).await;
    let (s, b) = sbx.reply(&sunny, &carol, "hello?").await;
    assert_error(s, &b, 100, Some(2018001));
    // A Page token only acts for its own Page.
    let r = sbx
        .http
        .post(sbx.graph(&format!("/{RIVER}/messages")))
        .bearer_auth(&sunny)
        .json(&text_to(&bob_river, json!("x")))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 200, None);
}

#[tokio::test]
async fn the_24_hour_window_is_enforced_and_renewed_by_interactions() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let psid = sbx.psid("dave", SUNNY).await;
    sbx.act(
        "dave",
        SUNNY,
        "message",
        json!({ "text": "old", "ago_ms": DAY_MS + 60_000 }),
    )
    .await;
    let (s, b) = sbx.reply(&token, &psid, "late").await;
    assert_error(s, &b, 10, Some(2018278));
    assert!(
        b["error"]["error_user_title"].is_string() && b["error"]["error_user_msg"].is_string(),
        "{b}"
    );
    let update = json!({ "recipient": { "id": psid }, "messaging_type": "UPDATE", "message": { "text": "news" } });
    let (s, b) = sbx.send(&token, update.clone()).await;
    assert_error(s, &b, 10, Some(2018278));
    let (s, b) = sbx
        .send(
            &token,
            json!({ "recipient": { "id": psid }, "sender_action": "typing_on" }),
        )
        .await;
    assert_error(s, &b, 10, Some(2018278));

    // A quick reply, a postback or an m.me link into the thread each reopen it.
    for (kind, extra) in [
        ("quick_reply", json!({ "text": "Yes", "payload": "YES" })),
        ("postback", json!({ "title": "Enter", "payload": "ENTER" })),
        ("referral", json!({ "ref": "campaign-42" })),
    ] {
        sbx.control_post("/clock", json!({ "advance_ms": DAY_MS + 1000 }))
            .await;
        let (s, b) = sbx.send(&token, update.clone()).await;
        assert_error(s, &b, 10, Some(2018278));
        sbx.act("dave", SUNNY, kind, extra).await;
        let (s, b) = sbx.send(&token, update.clone()).await;
        assert_eq!(s, 200, "{kind} reopens the window: {b}");
    }

    // Just inside the window.
    sbx.control_post("/clock", json!({ "advance_ms": DAY_MS - 5000 }))
        .await;
    assert_eq!(sbx.send(&token, update).await.0, 200);
}

#[tokio::test]
async fn tags_in_the_2026_era_and_the_legacy_era() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let psid = sbx.psid("erin", SUNNY).await;
    sbx.act(
        "erin",
        SUNNY,
        "message",
        json!({ "text": "hi", "ago_ms": 3 * DAY_MS }),
    )
    .await;
    let tagged = |tag: &str| json!({ "recipient": { "id": psid }, "messaging_type": "MESSAGE_TAG", "tag": tag, "message": { "text": "update" } });

    for retired in [
        "CONFIRMED_EVENT_UPDATE",
        "ACCOUNT_UPDATE",
        "POST_PURCHASE_UPDATE",
    ] {
        let (s, b) = sbx.send(&token, tagged(retired)).await;
        assert_error(s, &b, 100, None);
        assert!(
            b["error"]["message"].as_str().unwrap().contains("retired"),
            "{b}"
        );
    }
    // HUMAN_AGENT: 7 days after the person's last message.
    assert_eq!(sbx.send(&token, tagged("HUMAN_AGENT")).await.0, 200);
    let (s, b) = sbx
        .send(&token, tagged("NON_PROMOTIONAL_SUBSCRIPTION"))
        .await;
    assert_error(s, &b, 100, None);
    // Tag combinations.
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "MESSAGE_TAG", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "tag": "HUMAN_AGENT", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);

    sbx.control_post("/clock", json!({ "advance_ms": 4 * DAY_MS + 60_000 }))
        .await;
    let (s, b) = sbx.send(&token, tagged("HUMAN_AGENT")).await;
    assert_error(s, &b, 10, Some(2018278));

    // Legacy era (global, then per Page): the retired tags work outside the window again.
    let (status, _) = sbx.patch("/settings", json!({ "tag_era": "legacy" })).await;
    assert_eq!(status, 200);
    for retired in [
        "CONFIRMED_EVENT_UPDATE",
        "ACCOUNT_UPDATE",
        "POST_PURCHASE_UPDATE",
    ] {
        let (s, b) = sbx.send(&token, tagged(retired)).await;
        assert_eq!(s, 200, "{retired} in the legacy era: {b}");
    }
    sbx.patch("/settings", json!({ "tag_era": "2026" })).await;
    assert_eq!(
        sbx.send(&token, tagged("CONFIRMED_EVENT_UPDATE")).await.0,
        400
    );
    sbx.patch(&format!("/pages/{SUNNY}"), json!({ "tag_era": "legacy" }))
        .await;
    assert_eq!(
        sbx.send(&token, tagged("CONFIRMED_EVENT_UPDATE")).await.0,
        200
    );
}

#[tokio::test]
async fn blocking_the_page_gives_551_and_unblocking_restores_sending() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    sbx.act("alice", SUNNY, "block", json!({})).await;
    let (s, b) = sbx.reply(&token, &psid, "still there?").await;
    assert_error(s, &b, 551, Some(1545041));
    sbx.act("alice", SUNNY, "unblock", json!({})).await;
    assert_eq!(sbx.reply(&token, &psid, "welcome back").await.0, 200);
}

#[tokio::test]
async fn utility_templates_need_approval_and_reach_people_outside_the_window() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let psid = sbx.psid("frank", SUNNY).await;
    sbx.act(
        "frank",
        SUNNY,
        "message",
        json!({ "text": "hi", "ago_ms": 30 * DAY_MS }),
    )
    .await;
    sbx.patch("/settings", json!({ "template_approval_delay_ms": 60_000 }))
        .await;

    let create = json!({
        "name": "draw_result", "language": "en_US", "category": "UTILITY",
        "components": [
            { "type": "BODY", "text": "Hi {{1}}, the draw for {{2}} is done.",
              "example": { "body_text": [["Frank", "the cake"]] } },
            { "type": "BUTTONS", "buttons": [{ "type": "POSTBACK", "text": "See result" }] }
        ]
    });
    let r = sbx
        .http
        .post(sbx.graph(&format!("/{SUNNY}/message_templates")))
        .bearer_auth(&token)
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["category"], "UTILITY");
    let id = created["id"].as_str().unwrap().to_string();

    let utility = |params: Value| {
        json!({
            "recipient": { "id": psid }, "messaging_type": "UTILITY",
            "message": { "template": { "name": "draw_result", "language": { "code": "en_US" }, "components": [
                { "type": "body", "parameters": params },
                { "type": "buttons", "parameters": [{ "type": "POSTBACK", "payload": "RESULT_1" }] }
            ] } }
        })
    };
    let two = json!([{ "type": "text", "text": "Frank" }, { "type": "text", "text": "the cake" }]);
    let (s, b) = sbx.send(&token, utility(two.clone())).await;
    assert_error(s, &b, 100, None);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("PENDING"),
        "{b}"
    );

    let r = sbx
        .http
        .patch(sbx.control(&format!("/templates/{SUNNY}/{id}")))
        .json(&json!({ "status": "APPROVED" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = sbx.send(&token, utility(two)).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = sbx
        .send(
            &token,
            utility(json!([{ "type": "text", "text": "Frank" }])),
        )
        .await;
    assert_error(s, &b, 100, None);

    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/frank")))
        .await;
    let last = thread["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["messaging_type"], "UTILITY");
    assert_eq!(
        last["body"]["attachment"]["payload"]["text"],
        "Hi Frank, the draw for the cake is done."
    );

    // Unknown template; a template with another messaging type; text as UTILITY.
    let mut unknown = utility(json!([]));
    unknown["message"]["template"]["name"] = json!("nope");
    let (s, b) = sbx.send(&token, unknown).await;
    assert_error(s, &b, 100, None);
    let mut wrong_type = utility(json!([]));
    wrong_type["messaging_type"] = json!("UPDATE");
    let (s, b) = sbx.send(&token, wrong_type).await;
    assert_error(s, &b, 100, None);
    let (s, b) = sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "UTILITY", "message": { "text": "x" } })).await;
    assert_error(s, &b, 100, None);

    // Another Page's template does not count; neither does a token without the permission.
    let river = sbx.page_token(RIVER).await;
    sbx.act("frank", RIVER, "message", json!({ "text": "hi" }))
        .await;
    let mut elsewhere =
        utility(json!([{ "type": "text", "text": "a" }, { "type": "text", "text": "b" }]));
    elsewhere["recipient"]["id"] = json!(sbx.psid("frank", RIVER).await);
    let (s, b) = sbx.send(&river, elsewhere).await;
    assert_error(s, &b, 100, None);
    let plain = sbx
        .page_token_with("editor", SUNNY, &["pages_show_list", "pages_messaging"])
        .await;
    let (s, b) = sbx.send(&plain, utility(json!([]))).await;
    assert_error(s, &b, 10, None);
}

#[tokio::test]
async fn permission_and_task_are_needed_to_send() {
    let sbx = Sbx::start().await;
    sbx.act("alice", RIVER, "message", json!({ "text": "hi" }))
        .await;
    let psid = sbx.psid("alice", RIVER).await;
    // The moderator holds MODERATE, ADVERTISE, ANALYZE: no MESSAGING task.
    let moderator = sbx
        .page_token_with("moderator", RIVER, &["pages_show_list", "pages_messaging"])
        .await;
    let (s, b) = sbx.reply(&moderator, &psid, "x").await;
    assert_error(s, &b, 200, None);
    // Nobody can get a Page token for a Page they hold no task on.
    let (s, _) = sbx
        .post(
            &sbx.control("/tokens"),
            json!({ "user": "nopages", "page": SUNNY }),
        )
        .await;
    assert_eq!(s, 400);
    let admin_no_perm = sbx
        .control_post(
            "/tokens",
            json!({ "user": "editor", "page": SUNNY, "scopes": ["pages_show_list"] }),
        )
        .await["page_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    sbx.act("alice", SUNNY, "message", json!({ "text": "hi" }))
        .await;
    let (s, b) = sbx
        .reply(&admin_no_perm, &sbx.psid("alice", SUNNY).await, "x")
        .await;
    assert_error(s, &b, 230, None);
    // A user token is not a Page token.
    let user = sbx
        .control_post(
            "/tokens",
            json!({ "user": "admin", "scopes": ["pages_messaging"] }),
        )
        .await;
    let (s, b) = sbx
        .reply(user["access_token"].as_str().unwrap(), &psid, "x")
        .await;
    assert_error(s, &b, 210, None);
}

#[tokio::test]
async fn rate_limit_forced_throttling_restriction_transients_and_latency() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    sbx.patch("/settings", json!({ "rate_limit_per_second": 5 }))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (s, b) = sbx.reply(&token, &psid, "burst").await;
        if s != 200 {
            assert_error(s, &b, 613, None);
        }
        statuses.push(s);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    sbx.patch("/settings", json!({ "rate_limit_per_second": 300 }))
        .await;
    // The Page's bucket refills at the new rate: sends go through again (asked, not slept for).
    {
        let (sbx, token, psid) = (&sbx, &token, &psid);
        crate::support::eventually(
            "a send to be accepted under the raised limit",
            || async move { sbx.reply(token, psid, "after the burst").await.0 == 200 },
        )
        .await;
    }

    sbx.patch(
        &format!("/pages/{SUNNY}"),
        json!({ "throttled": true, "throttle_code": 80006 }),
    )
    .await;
    let (s, b) = sbx.reply(&token, &psid, "x").await;
    assert_error(s, &b, 80006, None);
    sbx.patch(
        &format!("/pages/{SUNNY}"),
        json!({ "throttled": false, "restricted": true }),
    )
    .await;
    let (s, b) = sbx.reply(&token, &psid, "x").await;
    assert_error(s, &b, 10, Some(1893063));
    sbx.patch(
        &format!("/pages/{SUNNY}"),
        json!({ "restricted": false, "transient_error_rate": 1.0 }),
    )
    .await;
    let (s, b) = sbx.reply(&token, &psid, "x").await;
    assert_error(s, &b, 2, None);
    assert_eq!(b["error"]["is_transient"], true);
    sbx.patch(
        &format!("/pages/{SUNNY}"),
        json!({ "transient_error_rate": 0.0, "latency_ms": 150 }),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(sbx.reply(&token, &psid, "slow").await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));

    let (s, _) = sbx
        .patch(
            &format!("/pages/{SUNNY}"),
            json!({ "transient_error_rate": 2.0 }),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = sbx
        .patch(&format!("/pages/{SUNNY}"), json!({ "no_such_knob": 1 }))
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_request_log_records_graph_calls_without_tokens() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    sbx.reply(&token, &psid, "logged").await;
    let r = sbx
        .http
        .post(sbx.graph("/me/messages"))
        .query(&[("access_token", &token)])
        .json(&text_to(&psid, json!("")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, log) = sbx.get(&sbx.control("/requests?path=/messages")).await;
    let data = log["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{log}");
    assert_eq!(data[0]["method"], "POST");
    assert_eq!(data[0]["path"], "/me/messages");
    assert_eq!(data[0]["status"], 200);
    assert_eq!(data[0]["body"]["message"]["text"], "logged");
    assert_eq!(data[1]["status"], 400);
    assert_eq!(data[1]["error_code"], 100);
    assert_eq!(data[1]["query"]["access_token"], "***");
    assert!(
        !log.to_string().contains(&token),
        "tokens never reach the log"
    );

    let since = data[1]["seq"].as_u64().unwrap();
    sbx.reply(&token, &psid, "later").await;
    let (_, newer) = sbx
        .get(&sbx.control(&format!("/requests?since={since}")))
        .await;
    assert_eq!(newer["data"].as_array().unwrap().len(), 1);
    let r = sbx
        .http
        .delete(sbx.control("/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, empty) = sbx.get(&sbx.control("/requests")).await;
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn reset_returns_to_the_seeded_world() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    sbx.patch("/settings", json!({ "tag_era": "legacy" })).await;
    sbx.control_post("/reset", json!({})).await;
    let (s, b) = sbx.reply(&token, &psid, "x").await;
    assert_error(s, &b, 190, None);
    let (_, settings) = sbx.get(&sbx.control("/settings")).await;
    assert_eq!(settings["tag_era"], "2026");
    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/alice")))
        .await;
    assert_eq!(thread["started"], false);
    assert_eq!(
        psid,
        sbx.psid("alice", SUNNY).await,
        "PSIDs survive a reset"
    );
}

// ---------------------------------------------------------------------------------------------
// Send faults per Page: `send_error` and `blocked_as_code_2` (facts file §4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pages_send_error_answers_every_send_in_metas_words() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let page = format!("/pages/{SUNNY}");
    let (_, knobs) = sbx.get(&sbx.control(&page)).await;
    assert_eq!(knobs["send_error"], Value::Null, "no fault by default");
    assert_eq!(knobs["blocked_as_code_2"], false);
    let cases = [
        (
            "368",
            368,
            "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
        ),
        ("1", 1, "An unknown error occurred"),
        ("99", 99, "An unknown error occurred."),
        (
            "10",
            10,
            "(#10) Application does not have permission for this action",
        ),
        ("200", 200, "(#200) Permissions error"),
        (
            "230",
            230,
            "(#230) Requires pages_messaging permission to manage the object",
        ),
    ];
    for (knob, code, words) in cases {
        let (s, _) = sbx.patch(&page, json!({ "send_error": knob })).await;
        assert_eq!(s, 200);
        let (s, b) = sbx.reply(&token, &psid, "x").await;
        assert_error(s, &b, code, None);
        assert_eq!(b["error"]["message"], words);
        assert!(b["error"].get("is_transient").is_none(), "{b}");
    }
    // 1200: a server error, and Meta leaves `is_transient` out.
    sbx.patch(&page, json!({ "send_error": "1200" })).await;
    let (s, b) = sbx.reply(&token, &psid, "x").await;
    assert_eq!(s, 500, "{b}");
    assert_eq!(b["error"]["code"], 1200);
    assert_eq!(
        b["error"]["message"],
        "(#1200) Temporary send message failure. Please try again later"
    );
    assert!(b["error"].get("is_transient").is_none(), "{b}");
    // Every refused call counts as a call of the Page.
    let (_, sends) = sbx
        .get(&sbx.control(&format!("/pages/{SUNNY}/sends")))
        .await;
    assert_eq!(sends["calls"], 7, "{sends}");
    assert_eq!(sends["accepted"], 0, "{sends}");
    // Only this Page, and only until cleared; unknown codes are refused.
    let river = sbx.page_token(RIVER).await;
    sbx.act("alice", RIVER, "message", json!({ "text": "hi" }))
        .await;
    let river_psid = sbx.psid("alice", RIVER).await;
    assert_eq!(sbx.reply(&river, &river_psid, "fine").await.0, 200);
    let (s, _) = sbx.patch(&page, json!({ "send_error": "190" })).await;
    assert_eq!(s, 400);
    sbx.patch(&page, json!({ "send_error": null })).await;
    assert_eq!(sbx.reply(&token, &psid, "back").await.0, 200);
}

#[tokio::test]
async fn a_block_can_answer_code_2_instead_of_551() {
    let sbx = Sbx::start().await;
    let (token, psid) = ready(&sbx).await;
    let page = format!("/pages/{SUNNY}");
    let (s, _) = sbx.patch(&page, json!({ "blocked_as_code_2": true })).await;
    assert_eq!(s, 200);
    // Nobody blocked the Page yet: the knob changes nothing.
    assert_eq!(sbx.reply(&token, &psid, "hello").await.0, 200);
    sbx.act("alice", SUNNY, "block", json!({})).await;
    let (s, b) = sbx.reply(&token, &psid, "still there?").await;
    assert_error(s, &b, 2, None);
    assert_eq!(
        b["error"]["message"],
        "An unexpected error has occurred. Please retry your request later."
    );
    assert_eq!(b["error"]["is_transient"], true);
    sbx.patch(&page, json!({ "blocked_as_code_2": false }))
        .await;
    let (s, b) = sbx.reply(&token, &psid, "still there?").await;
    assert_error(s, &b, 551, Some(1545041));
}
