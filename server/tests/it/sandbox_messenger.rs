//! The sandbox's Messenger chat page driven as a browser without JavaScript would: pick a user,
//! Get Started from an m.me link (postback with referral), a link into an existing thread
//! (referral event, then a redirect), typing, quick replies, postback buttons, block/unblock,
//! and the polled `thread.json` showing what the app sent.

use crate::sandbox_common;
use crate::support;

use sandbox_common::{assert_error, of_kind, Receiver, Sbx, SUNNY};
use serde_json::{json, Value};

async fn page(sbx: &Sbx, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = sbx.http.get(sbx.server.url(path)).send().await.unwrap();
    let headers = r.headers().clone();
    (r.status().as_u16(), r.text().await.unwrap(), headers)
}

async fn tap(sbx: &Sbx, fields: &[(&str, &str)]) -> reqwest::Response {
    let r = sbx
        .http
        .post(sbx.server.url("/sandbox/m.me/sunnybakery/act"))
        .form(fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r
}

#[tokio::test]
async fn a_newcomer_picks_a_user_gets_started_from_a_link_and_chats() {
    let sbx = Sbx::start().await;
    let receiver = Receiver::start().await;
    sbx.point_webhooks_at(&receiver).await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;

    // Index pages, then the picker (no cookie yet); the ref is carried along.
    let (s, html, _) = page(&sbx, "/sandbox").await;
    assert_eq!(s, 200);
    assert!(html.contains("/sandbox/m.me/sunnybakery"));
    let (s, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery?ref=camp-1").await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"data-testid="user-choice""#));
    assert!(html.contains("ref=camp-1"));

    // Choosing a user remembers them; a new thread offers Get Started with the ref.
    let (s, html, headers) = page(&sbx, "/sandbox/m.me/sunnybakery?as=alice&ref=camp-1").await;
    assert_eq!(s, 200);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("sandbox_as=alice"));
    for id in ["thread", "get-started", "block", "chat-user"] {
        assert!(
            html.contains(&format!(r#"data-testid="{id}""#)),
            "{id} in the page"
        );
    }
    assert!(html.contains(r#"name="ref" value="camp-1""#));
    assert!(
        !html.contains(r#"data-testid="message-input""#),
        "a new thread starts with Get Started"
    );

    tap(&sbx, &[("action", "get_started"), ("ref", "camp-1")]).await;
    let events = receiver
        .wait_for("get started", |e| !of_kind(e, "postback").is_empty())
        .await;
    assert_eq!(
        of_kind(&events, "postback")[0]["postback"]["referral"]["ref"],
        "camp-1"
    );

    // Now a chat: the composer shows, and typing sends a message event.
    let (_, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery").await;
    assert!(
        html.contains(r#"data-testid="message-input""#) && html.contains(r#"data-testid="send""#)
    );
    assert!(html.contains(r#"aria-label="Message Sunny Bakery""#));
    tap(&sbx, &[("action", "message"), ("text", "count me in")]).await;
    receiver
        .wait_for("typed message", |e| {
            e.iter().any(|x| x["message"]["text"] == "count me in")
        })
        .await;

    // What the app sends shows up, with tappable quick replies and buttons.
    let psid = sbx.psid("alice", SUNNY).await;
    sbx.send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": {
        "attachment": { "type": "template", "payload": { "template_type": "button", "text": "Read the rules?",
            "buttons": [{ "type": "postback", "title": "Rules", "payload": "RULES" }, { "type": "web_url", "title": "Site", "url": "https://example.org" }] } } } }))
        .await;
    let (s, b) = sbx
        .send(&token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE",
            "message": { "text": "Are you 18+?", "quick_replies": [{ "content_type": "text", "title": "Yes", "payload": "ADULT" }] } }))
        .await;
    assert_eq!(s, 200, "{b}");
    let r = sbx
        .http
        .get(sbx.server.url("/sandbox/m.me/sunnybakery/thread.json"))
        .send()
        .await
        .unwrap();
    let polled: Value = r.json().await.unwrap();
    let fragment = polled["html"].as_str().unwrap();
    assert!(polled["version"].as_u64().unwrap() > 0);
    assert!(fragment.contains("Read the rules?") && fragment.contains("Are you 18+?"));
    assert!(
        fragment.contains(r#"data-testid="quick-reply""#)
            && fragment.contains(r#"data-testid="postback-button""#)
    );
    assert!(fragment.matches(r#"data-testid="bubble""#).count() >= 4);
    let order: Vec<usize> = [
        "Get Started",
        "count me in",
        "Read the rules?",
        "Are you 18+?",
    ]
    .iter()
    .map(|t| fragment.find(t).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "messages in order");

    tap(
        &sbx,
        &[
            ("action", "quick_reply"),
            ("title", "Yes"),
            ("payload", "ADULT"),
        ],
    )
    .await;
    tap(
        &sbx,
        &[
            ("action", "postback"),
            ("title", "Rules"),
            ("payload", "RULES"),
        ],
    )
    .await;
    let events = receiver
        .wait_for("quick reply and postback", |e| {
            e.iter()
                .any(|x| x["message"]["quick_reply"]["payload"] == "ADULT")
                && e.iter().any(|x| x["postback"]["payload"] == "RULES")
        })
        .await;
    assert!(
        !of_kind(&events, "read").is_empty(),
        "replying marks the Page's messages read"
    );

    // An m.me link into the existing thread: referral event, then back to the plain address.
    let (s, _, headers) = page(&sbx, "/sandbox/m.me/SunnyBakery?ref=camp-2").await;
    assert_eq!(s, 303);
    assert_eq!(headers["location"], "/sandbox/m.me/sunnybakery");
    receiver
        .wait_for("referral", |e| {
            e.iter().any(|x| x["referral"]["ref"] == "camp-2")
        })
        .await;
}

#[tokio::test]
async fn block_and_unblock_from_the_chat_page() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    page(&sbx, "/sandbox/m.me/sunnybakery?as=bob").await;
    tap(&sbx, &[("action", "get_started")]).await;
    let psid = sbx.psid("bob", SUNNY).await;
    assert_eq!(sbx.reply(&token, &psid, "hi").await.0, 200);

    tap(&sbx, &[("action", "block")]).await;
    let (_, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery").await;
    assert!(
        html.contains(r#"data-testid="unblock""#) && html.contains(r#"data-testid="blocked-note""#)
    );
    let (s, b) = sbx.reply(&token, &psid, "hello?").await;
    assert_error(s, &b, 551, Some(1545041));
    // A blocked person cannot write either, until they unblock.
    let r = tap(&sbx, &[("action", "message"), ("text", "x")]).await;
    assert!(r.headers()["location"].to_str().unwrap().contains("error="));

    tap(&sbx, &[("action", "unblock")]).await;
    assert_eq!(sbx.reply(&token, &psid, "welcome back").await.0, 200);
}

#[tokio::test]
async fn pages_without_get_started_unknown_pages_and_switching_users() {
    let sbx = Sbx::start().await;
    let (s, html, _) = page(&sbx, "/sandbox/m.me/nosuchpage").await;
    assert_eq!(s, 404);
    assert!(html.contains("isn't available"));

    // No Get Started button: the composer shows at once and the ref is lost, as on Messenger.
    let (s, html, _) = page(&sbx, &format!("/sandbox/m.me/{SUNNY}?as=carol&ref=lost")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(r#"data-testid="message-input""#)
            && !html.contains(r#"data-testid="get-started""#)
    );
    assert!(html.contains("ref is lost"));

    // `?as=` (empty) shows the picker again despite the cookie.
    let (_, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery?as=").await;
    assert!(html.contains(r#"data-testid="user-choice""#));
    // Without a chosen user, thread.json says so.
    let fresh = support::client();
    let r = fresh
        .get(sbx.server.url("/sandbox/m.me/sunnybakery/thread.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// `POST /me/messenger_profile` with the Page token.
async fn set_profile(sbx: &Sbx, token: &str, body: Value) -> (u16, Value) {
    sbx.post_as(token, "/me/messenger_profile", body).await
}

#[tokio::test]
async fn ice_breakers_replace_get_started_in_a_new_thread_and_the_ref_is_lost() {
    let sbx = Sbx::start().await;
    let receiver = Receiver::start().await;
    sbx.point_webhooks_at(&receiver).await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    let questions = json!([
        { "question": "When does the giveaway end?", "payload": "WHEN" },
        { "question": "What can I win?", "payload": "PRIZE" },
    ]);
    let (s, v) = set_profile(&sbx, &token, json!({ "ice_breakers": questions })).await;
    assert_eq!((s, v), (200, json!({ "result": "success" })));

    // Get Started in a new thread: refused, nothing sent, the thread still new.
    let (s, v) = sbx
        .post(
            &sbx.control("/interactions"),
            json!({ "user": "alice", "page": SUNNY, "kind": "get_started", "ref": "camp-1" }),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("ice breakers"), "{v}");
    let (_, thread) = sbx
        .get(&sbx.control(&format!("/threads/{SUNNY}/alice")))
        .await;
    assert_eq!(thread["started"], false, "{thread}");
    assert_eq!(thread["messages"], json!([]));

    // The chat page of a new thread from an m.me link: the questions, no Get Started button.
    let (s, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery?as=bob&ref=camp-1").await;
    assert_eq!(s, 200);
    assert!(!html.contains(r#"data-testid="get-started""#), "{html}");
    assert_eq!(html.matches(r#"data-testid="ice-breaker""#).count(), 2);
    assert!(html.contains("What can I win?"));
    assert!(html.contains(r#"data-testid="get-started-hidden""#));
    // A form post of the hidden button is refused too.
    let r = tap(&sbx, &[("action", "get_started"), ("ref", "camp-1")]).await;
    assert!(r.headers()["location"].to_str().unwrap().contains("error="));

    // Tapping a question: a postback with its payload and title, and no referral.
    sbx.act("alice", SUNNY, "ice_breaker", json!({ "index": 1 }))
        .await;
    tap(&sbx, &[("action", "ice_breaker"), ("payload", "WHEN")]).await;
    let events = receiver
        .wait_for("two ice breaker postbacks", |e| {
            of_kind(e, "postback").len() >= 2
        })
        .await;
    let postbacks = of_kind(&events, "postback");
    let alice = sbx.psid("alice", SUNNY).await;
    let bob = sbx.psid("bob", SUNNY).await;
    let of = |psid: &str| {
        postbacks
            .iter()
            .find(|e| e["sender"]["id"] == psid)
            .map(|e| e["postback"].clone())
            .unwrap()
    };
    let (a, b) = (of(&alice), of(&bob));
    assert_eq!(
        (&a["payload"], &a["title"]),
        (&json!("PRIZE"), &json!("What can I win?"))
    );
    assert_eq!(b["payload"], "WHEN");
    for p in [&a, &b] {
        assert!(p.get("referral").is_none(), "no referral: {p}");
    }
    assert!(
        postbacks
            .iter()
            .all(|e| e["postback"]["title"] != "Get Started"),
        "the refused Get Started sent nothing"
    );
    // The sandbox's own log of what it POSTed says the same.
    let (_, log) = sbx.get(&sbx.control("/webhooks")).await;
    let logged: Vec<&Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["body"]["entry"].as_array().unwrap())
        .flat_map(|e| e["messaging"].as_array().unwrap())
        .filter(|e| e.get("postback").is_some())
        .collect();
    assert_eq!(logged.len(), 2);
    assert!(logged
        .iter()
        .all(|e| e["postback"].get("referral").is_none()));

    // The thread exists now: no more ice breakers, and a link into it sends its referral.
    let (_, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery").await;
    assert!(!html.contains(r#"data-testid="ice-breaker""#));
    let (s, v) = sbx
        .post(
            &sbx.control("/interactions"),
            json!({ "user": "alice", "page": SUNNY, "kind": "ice_breaker", "index": 0 }),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    sbx.act("alice", SUNNY, "open_link", json!({ "ref": "camp-2" }))
        .await;
    receiver
        .wait_for("referral into the existing thread", |e| {
            e.iter().any(|x| x["referral"]["ref"] == "camp-2")
        })
        .await;

    // Meta's localized shape works the same; removing the ice breakers brings Get Started back.
    let (s, _) = set_profile(
        &sbx,
        &token,
        json!({ "ice_breakers": [{ "call_to_actions": [{ "question": "Opening hours?", "payload": "HOURS" }], "locale": "default" }] }),
    )
    .await;
    assert_eq!(s, 200);
    let (_, html, _) = page(&sbx, "/sandbox/m.me/sunnybakery?as=carol").await;
    assert!(html.contains("Opening hours?") && !html.contains(r#"data-testid="get-started""#));
    let v = sbx
        .act("carol", SUNNY, "ice_breaker", json!({ "payload": "HOURS" }))
        .await;
    assert_eq!(v["event"]["postback"]["title"], "Opening hours?");
    let r = sbx
        .http
        .delete(sbx.graph("/me/messenger_profile"))
        .bearer_auth(&token)
        .json(&json!({ "fields": ["ice_breakers"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = sbx
        .act("dave", SUNNY, "get_started", json!({ "ref": "camp-3" }))
        .await;
    assert_eq!(v["event"]["postback"]["referral"]["ref"], "camp-3");
}

#[tokio::test]
async fn ice_breakers_are_checked_as_meta_checks_them() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    sbx.set_up_page(&token).await;
    let five: Vec<Value> = (0..5)
        .map(|i| json!({ "question": format!("Q{i}?"), "payload": format!("P{i}") }))
        .collect();
    let cases = [
        (
            json!(five),
            "param ice_breakers must have at most 4 elements.",
        ),
        (
            json!([{ "question": "Q?" }]),
            "param ice_breakers[0][payload] must be non-empty.",
        ),
        (
            json!([{ "question": "Q?", "payload": "P" }, { "question": " ", "payload": "P2" }]),
            "param ice_breakers[1][question] must be non-empty.",
        ),
        (
            json!({ "question": "Q?" }),
            "param ice_breakers must be an array.",
        ),
        (
            json!([{ "call_to_actions": five, "locale": "default" }]),
            "param ice_breakers[0][call_to_actions] must have at most 4 elements.",
        ),
        (
            json!([{ "call_to_actions": [{ "question": "Q?", "payload": "P" }] }]),
            "param ice_breakers[0][locale] must be non-empty.",
        ),
        (
            json!([{ "call_to_actions": [{ "payload": "P" }], "locale": "default" }]),
            "param ice_breakers[0][call_to_actions][0][question] must be non-empty.",
        ),
    ];
    for (ice_breakers, message) in cases {
        let (s, v) = set_profile(&sbx, &token, json!({ "ice_breakers": ice_breakers })).await;
        assert_error(s, &v, 100, None);
        assert_eq!(v["error"]["message"], format!("(#100) {message}"));
    }
    // Nothing of it was kept: a new thread still gets Get Started.
    let r = sbx
        .http
        .get(sbx.graph("/me/messenger_profile?fields=ice_breakers"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "data": [] }));
    let v = sbx.act("alice", SUNNY, "get_started", json!({})).await;
    assert_eq!(v["event"]["postback"]["payload"], "GET_STARTED");
}

#[tokio::test]
async fn the_profile_read_fails_without_profile_access_as_on_meta() {
    let sbx = Sbx::start().await;
    let token = sbx.page_token(SUNNY).await;
    let psid = sbx.psid("alice", SUNNY).await;
    let read = || async {
        let r = sbx
            .http
            .get(sbx.graph(&format!("/{psid}?fields=first_name,last_name")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (_, settings) = sbx.get(&sbx.control("/settings")).await;
    assert_eq!(settings["profile_access"], false, "strict by default");
    let (s, v) = read().await;
    assert_eq!(s, 400, "{v}");
    let e = &v["error"];
    assert_eq!((&e["code"], &e["error_subcode"]), (&json!(100), &json!(33)));
    assert_eq!(e["type"], "GraphMethodException");
    assert_eq!(
        e["message"],
        format!(
            "Unsupported get request. Object with ID '{psid}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        )
    );

    let (s, _) = sbx
        .patch("/settings", json!({ "profile_access": true }))
        .await;
    assert_eq!(s, 200);
    let (s, v) = read().await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({ "first_name": "Alice", "last_name": "Entrant" })
        )
    );
}
