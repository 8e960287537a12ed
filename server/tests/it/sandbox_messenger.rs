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
