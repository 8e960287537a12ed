//! The product's one Graph client against the sandbox: every documented answer shape and every
//! error class in the facts file (§4) comes back classified as a sender needs it.

use crate::support;

use app::{
    messenger::graph::{ErrorClass, GraphClient, SendRequest},
    secrets::Secret,
};
use serde_json::{json, Value};
use support::{fresh_database, App};

const BAKERY: &str = "101000000000001";

/// The harness's `App` and the product's Graph client, pointed at its sandbox.
struct World {
    app: App,
    graph: GraphClient,
}

impl World {
    async fn start() -> World {
        let app = App::start(&fresh_database("sqlite").await, &[]).await;
        let graph = GraphClient::new(&app.state().settings.facebook);
        app.sandbox_settings(json!({"template_approval_delay_ms": 10, "delivery_delay_ms": 5}))
            .await;
        World { app, graph }
    }

    async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.app
            .control(method, path.trim_start_matches('/'), body)
            .await
    }

    /// A long-lived user token for `user` and, with `page`, that Page's token.
    async fn tokens(&self, user: &str, page: Option<&str>) -> (Secret, Option<Secret>) {
        let scopes = [
            "pages_show_list",
            "pages_manage_metadata",
            "pages_messaging",
            "pages_utility_messaging",
        ];
        let mut body = json!({"user": user, "scopes": scopes, "long_lived": true});
        if let Some(page) = page {
            body["page"] = json!(page);
        }
        let minted = self.control("POST", "/tokens", body).await;
        (
            Secret::new(minted["access_token"].as_str().unwrap()),
            minted["page_access_token"].as_str().map(Secret::new),
        )
    }

    /// Meta stops accepting `token` (as when its user revoked it).
    async fn revoke(&self, token: &Secret) {
        self.control(
            "POST",
            "/tokens/revoke",
            json!({"access_token": token.expose()}),
        )
        .await;
    }

    /// `user` writes to the Page (opening the 24-hour window); answers their PSID.
    async fn message_from(&self, user: &str, ago_ms: i64) -> String {
        let acted = self
            .control("POST", "/interactions", json!({"user": user, "page": BAKERY, "kind": "message", "text": "hi", "ago_ms": ago_ms}))
            .await;
        acted["psid"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn login_and_page_calls_answer_meta_shapes() {
    let w = World::start().await;
    let (user, _) = w.tokens("admin", None).await;
    let me = w.graph.me(&user).await.unwrap();
    assert_eq!(me.name, "Ada Admin");
    let permissions = w.graph.permissions(&user).await.unwrap();
    assert!(permissions
        .iter()
        .any(|p| p.permission == "pages_messaging" && p.status == "granted"));

    let info = w.graph.debug_token(&user).await.unwrap();
    assert!(info.is_valid);
    assert_eq!(info.kind.as_deref(), Some("USER"));
    assert_eq!(info.user_id.as_deref(), Some(me.id.as_str()));
    assert!(info.data_access_expires_at.unwrap_or_default() > 0);

    let accounts = w.graph.accounts(&user).await.unwrap();
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Sunny Bakery", "River Books"]);
    assert!(accounts[0].tasks.contains(&"MANAGE".to_string()));
    let page_token = accounts[0].access_token().expect("a Page token");

    let mut fields = app::pages::WEBHOOK_FIELDS.to_vec();
    fields.push(app::pages::reach::TEMPLATE_FIELD);
    w.graph
        .subscribe_app(BAKERY, &page_token, &fields)
        .await
        .unwrap();
    w.graph
        .set_get_started(&page_token, "GET_STARTED")
        .await
        .unwrap();

    use app::notices::templates;
    let created = w
        .graph
        .create_utility_template(
            BAKERY,
            &page_token,
            templates::NAME,
            templates::LANGUAGE,
            templates::components(),
        )
        .await
        .unwrap();
    assert_eq!(created.category.as_deref(), Some("UTILITY"));
    // Meta often approves at once; otherwise the review follows.
    if created.status != "APPROVED" {
        let (w, page_token) = (&w, &page_token);
        crate::support::eventually("the utility template to be approved", || async move {
            let listed = w
                .graph
                .templates(BAKERY, page_token, templates::NAME)
                .await
                .unwrap();
            listed[0].status.as_deref().expect("asked for with fields=") == "APPROVED"
        })
        .await;
    }

    // The app token, and an invalid token classified as a reconnect.
    let app_token = w.graph.app_token().await.unwrap();
    assert!(app_token
        .expose()
        .starts_with(&format!("{}|", w.app.state().settings.facebook.app_id)));
    let bad = w.graph.me(&Secret::new("EAAnotatoken")).await.unwrap_err();
    assert_eq!(bad.class(), ErrorClass::TokenInvalid, "{bad}");
}

#[tokio::test]
async fn sends_succeed_inside_the_window_and_each_failure_is_classified() {
    let w = World::start().await;
    let (_, page) = w.tokens("admin", Some(BAKERY)).await;
    let page = page.unwrap();
    w.graph
        .subscribe_app(BAKERY, &page, app::pages::WEBHOOK_FIELDS)
        .await
        .unwrap();
    let alice = w.message_from("alice", 0).await;

    let (sent, usage) = w
        .graph
        .send(
            BAKERY,
            &page,
            &SendRequest::text(&alice, "You are in!").with_quick_reply("JOIN", "JOIN"),
        )
        .await
        .unwrap();
    assert_eq!(sent.recipient_id, alice);
    assert!(sent.message_id.starts_with("m_"));
    // Meta's usage headers come back with every send, so a sender can slow down in time.
    let first = usage.max_percent.expect("usage headers");
    w.control("PATCH", "/settings", json!({"rate_limit_per_second": 20}))
        .await;
    let mut last = first;
    for _ in 0..10 {
        last = w
            .graph
            .send(BAKERY, &page, &SendRequest::text(&alice, "again"))
            .await
            .unwrap()
            .1
            .max_percent
            .unwrap();
    }
    assert!(
        last > first,
        "a burst fills the Page's quota: {first}% then {last}%"
    );
    w.control("PATCH", "/settings", json!({"rate_limit_per_second": 300}))
        .await;

    // Outside the 24-hour window: normal messages are refused, the retired tag too (era 2026).
    let bob = w.message_from("bob", 25 * 3600 * 1000).await;
    let class =
        |r: Result<_, app::messenger::graph::GraphError>| r.map(|_| ()).unwrap_err().class();
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text(&bob, "late"))
                .await
        ),
        ErrorClass::OutsideWindow
    );
    let tagged = SendRequest::tagged(&bob, "The giveaway ended", "CONFIRMED_EVENT_UPDATE");
    assert_eq!(
        class(w.graph.send(BAKERY, &page, &tagged).await),
        ErrorClass::InvalidParameter
    );

    // A text longer than Meta's 2000 characters.
    let long = SendRequest::text(&alice, &"x".repeat(2001));
    assert_eq!(
        class(w.graph.send(BAKERY, &page, &long).await),
        ErrorClass::InvalidParameter
    );

    // Nobody by that id on this Page.
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text("123", "hi"))
                .await
        ),
        ErrorClass::NoMatchingUser
    );

    // A person who blocked the Page.
    let carol = w.message_from("carol", 0).await;
    w.control(
        "POST",
        "/interactions",
        json!({"user": "carol", "page": BAKERY, "kind": "block"}),
    )
    .await;
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text(&carol, "hi"))
                .await
        ),
        ErrorClass::Unreachable
    );

    // Injected faults: throttling, a restricted Page, transient errors.
    w.control(
        "PATCH",
        &format!("/pages/{BAKERY}"),
        json!({"throttled": true}),
    )
    .await;
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text(&alice, "hi"))
                .await
        ),
        ErrorClass::Throttled
    );
    w.control(
        "PATCH",
        &format!("/pages/{BAKERY}"),
        json!({"throttled": false, "restricted": true}),
    )
    .await;
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text(&alice, "hi"))
                .await
        ),
        ErrorClass::PageRestricted
    );
    w.control(
        "PATCH",
        &format!("/pages/{BAKERY}"),
        json!({"restricted": false, "transient_error_rate": 1.0}),
    )
    .await;
    assert_eq!(
        class(
            w.graph
                .send(BAKERY, &page, &SendRequest::text(&alice, "hi"))
                .await
        ),
        ErrorClass::Transient
    );
    w.control(
        "PATCH",
        &format!("/pages/{BAKERY}"),
        json!({"transient_error_rate": 0.0}),
    )
    .await;

    // A revoked Page token asks for reconnection.
    w.revoke(&page).await;
    let revoked = w
        .graph
        .send(BAKERY, &page, &SendRequest::text(&alice, "hi"))
        .await
        .unwrap_err();
    assert_eq!(revoked.class(), ErrorClass::TokenInvalid);
    assert_eq!(revoked.api().unwrap().error_subcode, Some(460));
}

#[tokio::test]
async fn the_legacy_era_accepts_the_tag_and_utility_templates_reach_people_outside_the_window() {
    let w = World::start().await;
    let (_, page) = w.tokens("admin", Some(BAKERY)).await;
    let page = page.unwrap();
    w.graph
        .subscribe_app(BAKERY, &page, app::pages::WEBHOOK_FIELDS)
        .await
        .unwrap();
    let bob = w.message_from("bob", 30 * 3600 * 1000).await;

    w.control("PATCH", "/settings", json!({"tag_era": "legacy"}))
        .await;
    let tagged = SendRequest::tagged(&bob, "The giveaway ended", "CONFIRMED_EVENT_UPDATE");
    w.graph
        .send(BAKERY, &page, &tagged)
        .await
        .expect("accepted before 2026-04-27");
    w.control("PATCH", "/settings", json!({"tag_era": "2026"}))
        .await;

    use app::notices::templates;
    let created = w
        .graph
        .create_utility_template(
            BAKERY,
            &page,
            templates::NAME,
            templates::LANGUAGE,
            templates::components(),
        )
        .await
        .unwrap();
    w.control(
        "PATCH",
        &format!("/templates/{BAKERY}/{}", created.id),
        json!({"status": "APPROVED"}),
    )
    .await;
    let utility = templates::request(&bob, "Croissants", "Bob won.");
    let (sent, _) = w.graph.send(BAKERY, &page, &utility).await.unwrap();
    assert_eq!(sent.recipient_id, bob);
    let thread = w
        .control("GET", &format!("/threads/{BAKERY}/bob"), json!({}))
        .await;
    let last = thread["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last.to_string().contains(
            "There is news about the giveaway Croissants you entered: Bob won. Thank you"
        ),
        "{last}"
    );
}

#[tokio::test]
async fn a_batch_is_one_request_whose_calls_meta_counts_one_by_one() {
    let w = World::start().await;
    let (_, page) = w.tokens("admin", Some(BAKERY)).await;
    let page = page.unwrap();
    let alice = w.message_from("alice", 0).await;
    let bob = w.message_from("bob", 25 * 3600 * 1000).await;
    w.control("DELETE", &format!("/pages/{BAKERY}/sends"), json!({}))
        .await;

    // Each request answered in its place: sent, outside the window, too long, sent.
    let requests = [
        SendRequest::text(&alice, "first").with_quick_reply("JOIN", "JOIN"),
        SendRequest::text(&bob, "late"),
        SendRequest::text(&alice, &"x".repeat(2001)),
        SendRequest::update(&alice, "second"),
    ];
    let (answers, usage) = w.graph.send_batch(BAKERY, &page, &requests).await.unwrap();
    assert_eq!(answers.len(), 4);
    let first = answers[0].as_ref().unwrap();
    assert_eq!(first.recipient_id, alice);
    assert!(first.message_id.starts_with("m_"));
    let class = |i: usize| answers[i].as_ref().unwrap_err().class();
    assert_eq!(class(1), ErrorClass::OutsideWindow);
    assert_eq!(class(2), ErrorClass::InvalidParameter);
    assert!(answers[3].as_ref().unwrap().message_id.starts_with("m_"));
    assert!(usage.max_percent.is_some(), "the batch's usage headers");
    // What reached Alice's thread is what was asked, quick reply included.
    let thread = w
        .control("GET", &format!("/threads/{BAKERY}/alice"), json!({}))
        .await;
    let from_page: Vec<&Value> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "page")
        .collect();
    assert_eq!(from_page.len(), 2, "{thread}");
    assert_eq!(from_page[0]["body"]["text"], "first");
    assert_eq!(from_page[0]["body"]["quick_replies"][0]["title"], "JOIN");
    assert_eq!(from_page[0]["messaging_type"], "RESPONSE");
    assert_eq!(from_page[1]["messaging_type"], "UPDATE");
    // Four calls against the Page's limit, in one HTTP request.
    let sends = w
        .control("GET", &format!("/pages/{BAKERY}/sends"), json!({}))
        .await;
    assert_eq!(sends["calls"], 4, "{sends}");
    assert_eq!(sends["accepted"], 2, "{sends}");
    assert_eq!(sends["in_batches"], 4, "{sends}");
    assert_eq!(sends["batches"], 1, "{sends}");

    // The limit holds call by call: three a second leaves the last two of five refused.
    w.control("PATCH", "/settings", json!({"rate_limit_per_second": 3}))
        .await;
    w.control("DELETE", &format!("/pages/{BAKERY}/sends"), json!({}))
        .await;
    let five: Vec<SendRequest> = (0..5)
        .map(|i| SendRequest::update(&alice, &format!("burst {i}")))
        .collect();
    let (answers, _) = w.graph.send_batch(BAKERY, &page, &five).await.unwrap();
    let throttled = answers
        .iter()
        .filter(|a| {
            a.as_ref()
                .is_err_and(|e| e.class() == ErrorClass::Throttled)
        })
        .count();
    assert_eq!(throttled, 2, "{answers:?}");
    w.control("PATCH", "/settings", json!({"rate_limit_per_second": 300}))
        .await;

    // A token Meta refuses fails every request of the batch.
    w.revoke(&page).await;
    let (answers, _) = w
        .graph
        .send_batch(BAKERY, &page, &requests[..2])
        .await
        .unwrap();
    for answer in &answers {
        assert_eq!(
            answer.as_ref().unwrap_err().class(),
            ErrorClass::TokenInvalid
        );
    }
}

#[tokio::test]
async fn the_sandbox_refuses_a_batch_meta_would_refuse() {
    let w = World::start().await;
    let (_, page) = w.tokens("admin", Some(BAKERY)).await;
    let page = page.unwrap();
    let alice = w.message_from("alice", 0).await;
    let graph = w.app.state().settings.facebook.graph_url.clone();
    let url = format!(
        "{}/{}/",
        graph.as_str().trim_end_matches('/'),
        w.app.state().settings.facebook.graph_version
    );
    let post = |batch: String, include_headers: Option<&'static str>| {
        let mut form = vec![
            ("access_token", page.expose().to_string()),
            ("appsecret_proof", w.graph.appsecret_proof(&page)),
            ("batch", batch),
        ];
        if let Some(include) = include_headers {
            form.push(("include_headers", include.to_string()));
        }
        let url = url.clone();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let op = json!({
        "method": "POST",
        "relative_url": format!("{BAKERY}/messages"),
        "body": format!("recipient=%7B%22id%22%3A%22{alice}%22%7D&messaging_type=RESPONSE&message=%7B%22text%22%3A%22hi%22%7D"),
    });

    // Fifty-one operations: refused whole, nothing sent.
    let (status, body) = post(json!(vec![op.clone(); 51]).to_string(), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], 100, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Maximum batch size is 50"));
    // Not an array of operations.
    let (status, body) = post("{\"method\":\"GET\"}".into(), None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(100)),
        "{body}"
    );

    // Fifty: each answered with its code, headers unless left out, and its body as JSON text.
    let (status, body) = post(json!(vec![op.clone(); 2]).to_string(), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["code"], 200);
    assert!(body[0]["headers"].is_array(), "{body}");
    let sent: Value = serde_json::from_str(body[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["recipient_id"], alice.as_str());
    let (_, body) = post(json!([op]).to_string(), Some("false")).await;
    assert!(body[0].get("headers").is_none(), "{body}");

    // With a wrong proof of the token, each operation is refused as a call of its own would be.
    let (status, body) = {
        let form = [
            ("access_token", page.expose().to_string()),
            ("appsecret_proof", "0".repeat(64)),
            ("batch", json!([op]).to_string()),
        ];
        let response = reqwest::Client::new()
            .post(&url)
            .form(&form)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{body}");
    let refused: Value = serde_json::from_str(body[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body[0]["code"], 400, "{body}");
    assert_eq!(refused["error"]["code"], 100, "{refused}");
}
