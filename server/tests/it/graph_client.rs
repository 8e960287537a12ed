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
    w.control(
        "POST",
        "/tokens/revoke",
        json!({"access_token": page.expose()}),
    )
    .await;
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
