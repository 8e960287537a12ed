//! Entrants end to end over HTTP against the in-process sandbox: the entry page, the m.me ref
//! through a Get Started postback, the fallback code, the confirmation message and keyword, and
//! the webhook endpoint's guarantees (signature, duplicates, reordering), on both databases.

use crate::support::{self, client, eventually, m_me_ref, until_some, Demo};
use app::messenger::{inbox, webhook::sign};
use app::secrets::Secret;
use app::settings::{SANDBOX_APP_SECRET, SANDBOX_VERIFY_TOKEN};
use serde_json::{json, Value};

const SUNNY: &str = "101000000000001";

/// What only the entrant tests need of the demo.
impl Demo {
    /// The text of the confirmation in `user`'s chat, once it was sent.
    async fn confirmation_text(&self, user: &str) -> String {
        self.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status IN ('sent', 'delivered', 'read')",
            1,
        )
        .await;
        let thread = self.messages(user).await;
        thread
            .iter()
            .filter_map(|m| m["body"]["text"].as_str())
            .find(|t| t.contains("in the draw"))
            .unwrap_or_else(|| panic!("confirmation in the chat: {thread:?}"))
            .to_string()
    }

    /// Taps "Subscribe on Messenger"; returns the entry page path.
    async fn enter(&self, slug: &str) -> String {
        let r = self
            .http
            .post(self.server.url(&format!("/c/{slug}/enter")))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        r.headers()["location"].to_str().unwrap().to_string()
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.server.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn status_of(&self, entry_path: &str) -> String {
        let (status, body) = self.page(&format!("{entry_path}/status")).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The `ref` of the m.me link on an entry page.
    async fn reference(&self, entry_path: &str) -> String {
        let (_, html) = self.page(entry_path).await;
        m_me_ref(&html)
    }

    async fn code(&self, entry_path: &str) -> String {
        let (_, html) = self.page(entry_path).await;
        let needle = "data-testid=\"fallback-code\">";
        let start = html.find(needle).unwrap() + needle.len();
        html[start..].split('<').next().unwrap().to_string()
    }

    /// Acts as a person in Messenger through the sandbox.
    async fn interact(&self, user: &str, kind: &str, extra: Value) -> Value {
        let mut body = json!({ "user": user, "page": "sunnybakery", "kind": kind });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.control(reqwest::Method::POST, "interactions", body)
            .await
    }

    /// Processes what is stored until the kinds of the processed webhooks satisfy `until`.
    async fn processed_until(&self, until: impl Fn(&[String]) -> bool) -> Vec<String> {
        let until = &until;
        until_some("the webhooks to land and be processed", || async move {
            inbox::process_pending(self.state()).await.unwrap();
            let kinds: Vec<String> = sqlx::query_scalar(
                "SELECT kind FROM webhook_events WHERE processed_at IS NOT NULL",
            )
            .fetch_all(self.db())
            .await
            .unwrap();
            until(&kinds).then_some(kinds)
        })
        .await
    }

    /// The messages of `user`'s chat with the Sunny Bakery.
    async fn messages(&self, user: &str) -> Vec<Value> {
        self.thread(user).await["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) async fn post_webhook(&self, body: &Value, signature: Option<String>) -> u16 {
        let bytes = serde_json::to_vec(body).unwrap();
        let signature = signature.unwrap_or_else(|| sign(&Secret::new(SANDBOX_APP_SECRET), &bytes));
        self.http
            .post(self.server.url("/webhooks/messenger"))
            .header("x-hub-signature-256", signature)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

pub(crate) fn envelope(events: Vec<Value>) -> Value {
    json!({ "object": "page", "entry": [{ "id": SUNNY, "time": 1, "messaging": events }] })
}

pub(crate) fn event(psid: &str, timestamp: i64, body: Value) -> Value {
    let mut e =
        json!({ "sender": { "id": psid }, "recipient": { "id": SUNNY }, "timestamp": timestamp });
    for (k, v) in body.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

both_databases!(
    a_person_enters_through_messenger_and_taps_the_keyword,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // The app has the profile-access feature: the confirmation greets them by name.
        ctx.sandbox_settings(json!({ "profile_access": true }))
            .await;
        let (status, html) = ctx.page("/c/demo").await;
        assert_eq!(status, 200);
        assert!(html.contains("Subscribe on Messenger"));
        assert!(!html.contains(".wasm"), "the entry page loads no wasm");

        let entry = ctx.enter("demo").await;
        assert_eq!(ctx.status_of(&entry).await, "pending");
        let reference = ctx.reference(&entry).await;
        assert!(reference.len() < 60, "{reference}");
        assert!(reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c)));
        // Coming back to the campaign shows the same entry (the browser remembers it).
        let (_, again) = ctx.page("/c/demo").await;
        assert!(
            again.contains(&reference),
            "the pending entry is shown again"
        );

        ctx.interact("alice", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        let (_, html) = ctx.page(&entry).await;
        assert!(html.contains("You're entered"), "{html}");

        let confirmation = ctx.confirmation_text("alice").await;
        assert!(
            confirmation.starts_with("Thanks Alice,"),
            "first name filled: {confirmation}"
        );

        ctx.interact(
            "alice",
            "quick_reply",
            json!({ "text": "TIPS", "payload": "KEYWORD:TIPS" }),
        )
        .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "quick_reply"))
            .await;
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM subscriber_keywords WHERE keyword = 'TIPS'")
                .await,
            1
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM entries WHERE keyword = 'TIPS'")
                .await,
            1
        );
        ctx.stop().await;
    }
);

both_databases!(
    without_profile_access_the_entry_is_confirmed_and_reads_without_a_name,
    |url: String| async move {
        // The sandbox's default, as for most Business apps: the profile read fails.
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let reference = ctx.reference(&entry).await;
        ctx.interact("bob", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        let text = ctx.confirmation_text("bob").await;
        assert!(
            text.starts_with("Thanks, you're in the draw for A croissant a day"),
            "{text}"
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM subscribers WHERE first_name IS NOT NULL")
                .await,
            0
        );
        ctx.stop().await;
    }
);

both_databases!(
    metas_test_payloads_with_string_timestamps_still_enter_a_person,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // Every value a string, as the dashboard's "Test" button sends.
        ctx.sandbox_settings(json!({ "webhook_test_payloads": true, "profile_access": true }))
            .await;
        let entry = ctx.enter("demo").await;
        let reference = ctx.reference(&entry).await;
        let before = app::db::now_ms();
        ctx.interact("carol", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        // The window runs from the event's own time, read from the string.
        let at = ctx
            .scalar("SELECT last_interaction_at FROM subscribers")
            .await;
        assert!(
            (before - 5_000..before + 60_000).contains(&at),
            "{at} vs {before}"
        );
        let text = ctx.confirmation_text("carol").await;
        assert!(
            text.starts_with("Thanks Carol, you're in the draw"),
            "{text}"
        );
        // Receipts as strings are read too: the confirmation is marked delivered.
        ctx.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status IN ('delivered', 'read')",
            1,
        )
        .await;
        ctx.stop().await;
    }
);

both_databases!(
    the_fallback_code_confirms_an_entry,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let code = ctx.code(&entry).await;
        assert_eq!(code.len(), 6);
        // The m.me link lost its ref (some Android clients): the person sends the code instead.
        ctx.interact("bob", "get_started", json!({})).await;
        ctx.interact(
            "bob",
            "message",
            json!({ "text": format!(" {} ", code.to_lowercase()) }),
        )
        .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "message"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        ctx.stop().await;
    }
);

both_databases!(
    a_second_entry_by_the_same_person_shows_the_first,
    |url: String| async move {
        let mut ctx = Demo::start(&url, &[]).await;
        let first = ctx.enter("demo").await;
        let reference = ctx.reference(&first).await;
        ctx.interact("carol", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;

        // Another browser, same person: a new pending entry until Messenger says who it is.
        ctx.app.http = client();
        let other = ctx;
        let second = other.enter("demo").await;
        assert_ne!(first, second);
        let reference = other.reference(&second).await;
        other
            .interact("carol", "referral", json!({ "ref": reference }))
            .await;
        other
            .processed_until(|k| k.iter().any(|k| k == "referral"))
            .await;
        assert_eq!(other.status_of(&second).await, "duplicate");
        let (_, html) = other.page(&second).await;
        assert!(html.contains("You're entered"), "shows the first entry");
        assert_eq!(
            other
                .scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            1
        );
        other
            .counts(
                "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status IN ('sent', 'delivered', 'read')",
                1,
            )
            .await;
        other.stop().await;
    }
);

both_databases!(
    entries_outside_the_campaign_dates_are_refused,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let reference = ctx.reference(&entry).await;
        let now = app::db::now_ms();
        let day = 86_400_000i64;

        sqlx::query("UPDATE campaigns SET starts_at = $1, ends_at = $2 WHERE slug = 'demo'")
            .bind(now + day)
            .bind(now + 2 * day)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        let r = ctx
            .http
            .post(ctx.server.url("/c/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("has not started yet"));

        sqlx::query("UPDATE campaigns SET starts_at = $1, ends_at = $2 WHERE slug = 'demo'")
            .bind(now - 2 * day)
            .bind(now - day)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        let r = ctx
            .http
            .post(ctx.server.url("/c/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("has ended"));
        // The dates were changed behind the app's back: its copies for the public pages go.
        ctx.server.state.showcase.forget_all();
        let (_, html) = ctx.page("/c/demo").await;
        assert!(html.contains("data-state=\"ended\""));

        // A link handed out before the end, answered after it: not an entry.
        ctx.interact("dave", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "pending");
        ctx.stop().await;
    }
);

both_databases!(
    bad_signatures_are_refused_and_nothing_is_stored,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let body = envelope(vec![event(
            "999",
            1000,
            json!({ "message": { "mid": "m_1", "text": "hi" } }),
        )]);
        let wrong = sign(&Secret::new("not-the-app-secret"), b"{}");
        assert_eq!(ctx.post_webhook(&body, Some(wrong)).await, 403);
        assert_eq!(ctx.post_webhook(&body, Some("sha256=zz".into())).await, 403);
        let unsigned = ctx
            .http
            .post(ctx.server.url("/webhooks/messenger"))
            .body(serde_json::to_vec(&body).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 403);
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM webhook_events").await, 0);

        // Signed but not JSON: a clear 400, never a 500.
        let junk = b"not json".to_vec();
        let r = ctx
            .http
            .post(ctx.server.url("/webhooks/messenger"))
            .header(
                "x-hub-signature-256",
                sign(&Secret::new(SANDBOX_APP_SECRET), &junk),
            )
            .body(junk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        // The verification handshake.
        let (status, body) = ctx
            .page(&format!(
                "/webhooks/messenger?hub.mode=subscribe&hub.verify_token={SANDBOX_VERIFY_TOKEN}&hub.challenge=12345"
            ))
            .await;
        assert_eq!((status, body.as_str()), (200, "12345"));
        let (status, _) = ctx
            .page("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
            .await;
        assert_eq!(status, 403);
        ctx.stop().await;
    }
);

both_databases!(
    duplicated_and_reordered_webhooks_change_nothing,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let reference = ctx.reference(&entry).await;
        let psid = "2000000000000042";
        let t = app::db::now_ms() - 60_000;
        let postback = event(
            psid,
            t,
            json!({ "postback": { "mid": "m_pb", "title": "Get Started", "payload": "GET_STARTED",
                    "referral": { "ref": reference, "source": "SHORTLINK", "type": "OPEN_THREAD" } } }),
        );
        let message = event(
            psid,
            t + 1000,
            json!({ "message": { "mid": "m_msg", "text": "hello" } }),
        );
        let tap = event(
            psid,
            t + 2000,
            json!({ "message": { "mid": "m_qr", "text": "TIPS", "quick_reply": { "payload": "KEYWORD:TIPS" } } }),
        );
        // Newest first, then everything again, then one by one.
        assert_eq!(
            ctx.post_webhook(
                &envelope(vec![tap.clone(), message.clone(), postback.clone()]),
                None
            )
            .await,
            200
        );
        assert_eq!(
            ctx.post_webhook(
                &envelope(vec![postback.clone(), message.clone(), tap.clone()]),
                None
            )
            .await,
            200
        );
        for e in [message, postback, tap] {
            assert_eq!(ctx.post_webhook(&envelope(vec![e]), None).await, 200);
        }
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM webhook_events").await, 3);
        inbox::process_pending(&ctx.server.state).await.unwrap();
        inbox::process_pending(&ctx.server.state).await.unwrap();

        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM subscribers").await, 1);
        assert_eq!(
            ctx.scalar("SELECT last_interaction_at FROM subscribers")
                .await,
            t + 2000,
            "the window runs from the newest interaction"
        );
        // One confirmation, however often the event came (its send fails: the PSID is made up).
        ctx.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE status IN ('failed', 'sent')",
            1,
        )
        .await;
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM subscriber_keywords").await,
            1
        );
        // Processing again changes nothing.
        sqlx::query("UPDATE webhook_events SET processed_at = NULL")
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        inbox::process_pending(&ctx.server.state).await.unwrap();
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM outgoing_messages").await,
            1
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            1
        );
        ctx.stop().await;
    }
);

both_databases!(
    what_the_product_does_not_know_is_ignored_and_the_rest_of_the_post_kept,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let psid = "2000000000000077";
        let t = app::db::now_ms() - 60_000;
        let body = json!({ "object": "page", "entry": [
            { "id": SUNNY, "time": t.to_string(),
              "messaging": [
                event(psid, t, json!({ "reaction": { "reaction": "love", "mid": "m_x", "action": "react" } })),
                event(psid, t + 1, json!({ "pass_thread_control": { "new_owner_app_id": "1" } })),
                { "sender": { "id": psid }, "recipient": { "id": SUNNY }, "timestamp": (t + 2).to_string(),
                  "message": { "mid": "m_kept", "text": "hello" } },
              ],
              "standby": [event(psid, t + 3, json!({ "message": { "mid": "m_standby", "text": "x" } }))],
              "changes": [{ "field": "feed", "value": { "item": "status" } }] },
            { "id": SUNNY, "time": t, "hop_context": [{ "app_id": 1 }] },
        ] });
        assert_eq!(ctx.post_webhook(&body, None).await, 200);
        let stored: Vec<(String, i64)> =
            sqlx::query_as("SELECT dedupe_key, event_timestamp FROM webhook_events")
                .fetch_all(&ctx.server.state.db)
                .await
                .unwrap();
        assert_eq!(stored, [("mid:m_kept".to_string(), t + 2)]);
        inbox::process_pending(&ctx.server.state).await.unwrap();
        assert_eq!(
            ctx.scalar("SELECT last_interaction_at FROM subscribers")
                .await,
            t + 2
        );
        ctx.stop().await;
    }
);

both_databases!(
    a_flood_of_concurrent_webhooks_is_stored_once_and_processed_per_person,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // 40 people write twice each; every POST is sent twice, all at once, so that concurrent
        // POSTs share commits and duplicates meet within one statement.
        let t = app::db::now_ms() - 60_000;
        let mut posts = tokio::task::JoinSet::new();
        for i in 0..40i64 {
            let psid = format!("30000000000{i:05}");
            let first = event(
                &psid,
                t + i,
                json!({ "message": { "mid": format!("m_a{i}"), "text": "hi" } }),
            );
            let second = event(
                &psid,
                t + 10_000 + i,
                json!({ "message": { "mid": format!("m_b{i}"), "text": "hi again" } }),
            );
            for body in [
                envelope(vec![second.clone(), first.clone()]),
                envelope(vec![first, second]),
            ] {
                let (http, url) = (ctx.http.clone(), ctx.server.url("/webhooks/messenger"));
                posts.spawn(async move {
                    let bytes = serde_json::to_vec(&body).unwrap();
                    let signature = sign(&Secret::new(SANDBOX_APP_SECRET), &bytes);
                    http.post(url)
                        .header("x-hub-signature-256", signature)
                        .body(bytes)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                });
            }
        }
        while let Some(status) = posts.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM webhook_events").await, 80);
        inbox::process_pending(&ctx.server.state).await.unwrap();
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL")
                .await,
            0
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM subscribers WHERE psid LIKE '30000000000%'")
                .await,
            40
        );
        // Each window runs from that person's newest message, whatever order things came in.
        assert_eq!(
            ctx.scalar(&format!(
                "SELECT COUNT(*) FROM subscribers WHERE psid LIKE '30000000000%'
                 AND last_interaction_at = {t} + 10000 + CAST(SUBSTR(psid, 12) AS INTEGER)"
            ))
            .await,
            40
        );
        ctx.stop().await;
    }
);

both_databases!(
    abuse_gets_clear_answers_and_never_a_500,
    |url: String| async move {
        let ctx = Demo::start(&url, &[("ENTRY_RATE_LIMIT", "2")]).await;
        let honeypot = ctx
            .http
            .post(ctx.server.url("/c/demo/enter"))
            .form(&[("website", "https://spam.example")])
            .send()
            .await
            .unwrap();
        assert_eq!(honeypot.status(), 400);
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM entries").await, 0);

        ctx.enter("demo").await;
        ctx.enter("demo").await;
        let limited = ctx
            .http
            .post(ctx.server.url("/c/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "60");

        for (path, expected) in [
            ("/c/no-such-campaign", 404),
            ("/c/DROP%20TABLE", 404),
            ("/c/demo/e/not-an-entry", 404),
            ("/c/demo/e/00000000000000000000000000000000", 404),
            ("/c/demo/e/zz/status", 404),
            ("/embed/nothing-here", 404),
        ] {
            let (status, _) = ctx.page(path).await;
            assert_eq!(status, expected, "{path}");
        }
        // A ref from nowhere, or for another campaign, confirms nothing.
        ctx.interact(
            "erin",
            "get_started",
            json!({ "ref": "AAAAAAAAAAAA-zzzz-AAAAAAAAAAAAAAAA" }),
        )
        .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            0
        );
        ctx.stop().await;
    }
);

both_databases!(
    the_widget_and_embed_are_framable_and_light,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let embed = ctx
            .http
            .get(ctx.server.url("/embed/demo"))
            .send()
            .await
            .unwrap();
        assert_eq!(embed.status(), 200);
        assert!(embed.headers().get("x-frame-options").is_none());
        let page = ctx
            .http
            .get(ctx.server.url("/c/demo"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        let html = page.text().await.unwrap();
        assert!(html.len() < 20_000, "entry page is {} bytes", html.len());
        let (status, js) = ctx.page("/widget.js").await;
        assert_eq!(status, 200);
        assert!(js.contains("/embed/"));
        assert!(
            !js.contains("http://") && !js.contains("https://"),
            "nothing from third parties"
        );
        ctx.stop().await;
    }
);

#[tokio::test]
async fn the_demo_campaign_is_seeded_once() {
    let url = support::fresh_database("sqlite").await;
    let ctx = Demo::start(&url, &[]).await;
    assert_eq!(
        ctx.scalar("SELECT COUNT(*) FROM campaigns WHERE slug = 'demo'")
            .await,
        1
    );
    ctx.stop().await;
    let ctx = Demo::start(&url, &[]).await;
    assert_eq!(ctx.scalar("SELECT COUNT(*) FROM campaigns").await, 1);
    let (status, _) = ctx.page("/c/demo").await;
    assert_eq!(status, 200);
    ctx.stop().await;
}

// Issue #14, findings 5 and 9: fallback codes can be guessed, and links can be forwarded.

impl Demo {
    /// Texts the Page sent `user` that contain `needle`.
    async fn told(&self, user: &str, needle: &str) -> usize {
        self.messages(user)
            .await
            .iter()
            .filter(|m| m["from"] == "page")
            .filter_map(|m| m["body"]["text"].as_str())
            .filter(|t| t.contains(needle))
            .count()
    }

    /// `user` types `text` in the Page's chat; waits until it was processed.
    async fn types(&self, user: &str, text: &str) {
        let before = self
            .scalar("SELECT COUNT(*) FROM webhook_events WHERE kind = 'message' AND processed_at IS NOT NULL")
            .await;
        self.interact(user, "message", json!({ "text": text }))
            .await;
        self.processed_until(|k| k.iter().filter(|k| *k == "message").count() as i64 > before)
            .await;
    }

    /// Waits until the Page has sent `user` `count` messages containing `needle`.
    async fn until_told(&self, user: &str, needle: &str, count: usize) {
        eventually(
            &format!("{user} to be told {needle:?} {count} time(s)"),
            || async move { self.told(user, needle).await == count },
        )
        .await
    }
}

const NOT_YOURS: &str = "This code isn't yours or has expired.";

both_databases!(
    an_expired_code_enters_nobody_and_its_sender_is_told,
    |url: String| async move {
        let ctx = Demo::start(&url, &[("FALLBACK_CODE_HOURS", "1")]).await;
        let entry = ctx.enter("demo").await;
        let code = ctx.code(&entry).await;
        ctx.interact("bob", "get_started", json!({})).await;
        sqlx::query("UPDATE entries SET created_at = created_at - 3600001")
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        ctx.types("bob", &code).await;
        assert_eq!(ctx.status_of(&entry).await, "pending");
        ctx.until_told("bob", NOT_YOURS, 1).await;
        ctx.stop().await;
    }
);

both_databases!(
    after_five_wrong_codes_in_an_hour_codes_are_not_checked,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let code = ctx.code(&entry).await;
        ctx.interact("frank", "get_started", json!({})).await;
        // Five guesses that name no entry: no answer (a word may look like a code).
        for guess in ["AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD", "EEEEEE"] {
            assert_ne!(guess, code);
            ctx.types("frank", guess).await;
        }
        assert_eq!(
            ctx.told("frank", "code").await,
            0,
            "{:?}",
            ctx.messages("frank").await
        );
        // The sixth is right, but no longer looked up; the sender is told why, once.
        ctx.types("frank", &code).await;
        assert_eq!(ctx.status_of(&entry).await, "pending");
        ctx.until_told("frank", "Too many wrong codes in the last hour", 1)
            .await;
        ctx.types("frank", &code).await;
        assert_eq!(ctx.status_of(&entry).await, "pending");
        assert_eq!(ctx.told("frank", "Too many wrong codes").await, 1);
        // An hour later, codes count again.
        sqlx::query("UPDATE code_misses SET at = at - 3600001")
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        ctx.types("frank", &code).await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        ctx.stop().await;
    }
);

both_databases!(
    a_code_never_marks_someone_elses_entry_as_a_duplicate,
    |url: String| async move {
        let mut ctx = Demo::start(&url, &[]).await;
        // Carol entered through her link.
        let carols = ctx.enter("demo").await;
        let reference = ctx.reference(&carols).await;
        ctx.interact("carol", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&carols).await, "confirmed");
        // A stranger's entry, still waiting; Carol types its code.
        ctx.app.http = client();
        let strangers = ctx.enter("demo").await;
        let code = ctx.code(&strangers).await;
        ctx.types("carol", &code).await;
        // The stranger's page still waits for them, and Carol is told the code is not hers.
        assert_eq!(ctx.status_of(&strangers).await, "pending");
        let (_, html) = ctx.page(&strangers).await;
        assert!(!html.contains("You're entered"), "{html}");
        ctx.until_told("carol", NOT_YOURS, 1).await;
        // The stranger can still enter with their own code.
        ctx.interact("dave", "get_started", json!({})).await;
        ctx.types("dave", &code).await;
        assert_eq!(ctx.status_of(&strangers).await, "confirmed");
        ctx.stop().await;
    }
);

both_databases!(
    a_forwarded_link_of_a_login_required_campaign_makes_no_entry,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let entry = ctx.enter("demo").await;
        let reference = ctx.reference(&entry).await;
        // The campaign requires a Facebook login on its page from now on.
        sqlx::query("UPDATE campaigns SET require_login = 1 WHERE slug = 'demo'")
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        ctx.interact("alice", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().any(|k| k == "postback"))
            .await;
        assert_eq!(ctx.status_of(&entry).await, "confirmed");
        // Alice forwards her link; Bob's tap is answered with the campaign's own link.
        ctx.interact("bob", "get_started", json!({ "ref": reference }))
            .await;
        ctx.processed_until(|k| k.iter().filter(|k| *k == "postback").count() == 2)
            .await;
        ctx.until_told("bob", "This link was made for someone else.", 1)
            .await;
        let link = format!("{}/c/demo", ctx.server.url("").trim_end_matches('/'));
        assert_eq!(
            ctx.told("bob", &link).await,
            1,
            "{:?}",
            ctx.messages("bob").await
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            1
        );
        ctx.stop().await;
    }
);

both_databases!(
    an_entrants_login_start_stores_nothing_and_its_state_is_good_once,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        sqlx::query("UPDATE campaigns SET require_login = 1 WHERE slug = 'demo'")
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        let sessions = || ctx.scalar("SELECT COUNT(*) FROM sessions");
        // Visitors who start the login and never come back leave nothing on the server.
        for _ in 0..3 {
            let r = client()
                .get(ctx.server.url("/c/demo/login"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
        }
        assert_eq!(sessions().await, 0);
        // A login through the dialog makes the person's entry, once.
        let callback = crate::support::through_dialog(
            &ctx.http,
            &ctx.server,
            "/c/demo/login",
            "alice",
            &[],
            "continue",
        )
        .await;
        let r = ctx.http.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let entry = r.headers()["location"].to_str().unwrap().to_string();
        assert!(entry.starts_with("/c/demo/e/"), "{entry}");
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM entries WHERE asid IS NOT NULL")
                .await,
            1
        );
        assert_eq!(sessions().await, 0);
        // The same callback again: its state was good for one try.
        let again = ctx.http.get(&callback).send().await.unwrap();
        assert_eq!(again.status(), 400);
        assert!(again
            .text()
            .await
            .unwrap()
            .contains("This login attempt is not valid"));
        ctx.stop().await;
    }
);
