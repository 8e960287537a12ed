//! Hand-off webhooks (issue #17): events of a Page POSTed to its admins' addresses, signed,
//! retried with backoff, logged; erased with the person; and the widget telling its host page
//! that its visitor entered. A small axum server on port 0 plays the organiser's tool.

use crate::support::{client, Demo, Got, Tool, BAKERY, BOOKS};
use app::db::now_ms;
use app::handoff::{courier, DeliveryStatus, EventType, Handoff, NewSecret};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Adds a hook to the Bakery for `events` (their form fields), which must succeed.
async fn add_hook(admin: &crate::support::Admin<'_>, url: &str, events: &[&str]) -> NewSecret {
    let mut form = vec![("facebook_page_id", BAKERY), ("url", url)];
    form.extend(events.iter().map(|e| (*e, "on")));
    let (status, body) = admin.call("add_page_hook", &form).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

const ALL_EVENTS: [&str; 4] = [
    "entry_confirmed",
    "keyword_tapped",
    "opted_out",
    "winner_claimed",
];

/// The Bakery's hooks and log, as its admin sees them.
async fn handoff(admin: &crate::support::Admin<'_>) -> Handoff {
    let (status, body) = admin
        .call("page_handoff", &[("facebook_page_id", BAKERY)])
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// As a receiver checks a request: HMAC-SHA256 of "{timestamp}.{body}" with the secret.
fn signature_holds(got: &Got, secret: &str) -> bool {
    let timestamp = got.header("x-giveaway-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", got.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    got.header("x-giveaway-signature") == expected
}

async fn say(ctx: &Demo, user: &str, kind: &str, extra: Value) {
    let mut body = json!({ "user": user, "page": "sunnybakery", "kind": kind });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    ctx.control(reqwest::Method::POST, "interactions", body)
        .await;
    ctx.settle().await;
}

both_databases!(
    an_entry_a_keyword_and_an_opt_out_reach_the_hooks_signed,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let tool = Tool::start().await;
        let admin = ctx.login_as("admin").await;
        let all = add_hook(&admin, &tool.url("/all"), &ALL_EVENTS).await;
        assert!(all.secret.starts_with("gwhook_") && all.secret.len() > 40);
        // A second address that only wants to know who opted out.
        add_hook(&admin, &tool.url("/stops"), &["opted_out"]).await;
        // The secret is never stored in clear.
        let sealed: i64 = ctx
            .scalar(&format!(
                "SELECT COUNT(*) FROM page_hooks WHERE secret_sealed LIKE '%{}%'",
                &all.secret[7..]
            ))
            .await;
        assert_eq!(sealed, 0);

        ctx.subscribe("alice", 0).await;
        ctx.settle().await;
        let round = app::handoff::run_once(ctx.state()).await.unwrap();
        assert_eq!(round.delivered, 1);
        let got = tool.received();
        assert_eq!(got.len(), 1, "{got:?}");
        let confirmed = &got[0];
        assert_eq!(confirmed.path, "/all");
        assert!(signature_holds(confirmed, &all.secret), "{confirmed:?}");
        assert!(!signature_holds(confirmed, "gwhook_another"));
        assert_eq!(confirmed.header("content-type"), "application/json");
        assert_eq!(confirmed.header("x-giveaway-event"), "entry.confirmed");
        let body = confirmed.json();
        assert_eq!(confirmed.header("x-giveaway-delivery"), body["id"]);
        assert_eq!(body["type"], "entry.confirmed");
        assert_eq!(body["page_id"], BAKERY);
        let data = &body["data"];
        assert_eq!(data["campaign"]["slug"], "demo");
        assert_eq!(data["campaign"]["id"], ctx.campaign.as_str());
        assert_eq!(data["confirmed_by"], "link");
        assert_eq!(data["source"], "page");
        assert_eq!(data["psid"], ctx.psid("alice").await.as_str());
        let ticket = data["ticket"].as_str().expect("a ticket").to_string();
        let stored: String = sqlx::query_scalar("SELECT ticket FROM tickets WHERE entry_id = $1")
            .bind(data["entry_id"].as_str().unwrap())
            .fetch_one(ctx.db())
            .await
            .unwrap();
        assert_eq!(ticket, stored);

        // The keyword under the confirmation.
        say(
            &ctx,
            "alice",
            "quick_reply",
            json!({ "text": "TIPS", "payload": "KEYWORD:TIPS" }),
        )
        .await;
        app::handoff::run_once(ctx.state()).await.unwrap();
        let got = tool.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].json()["type"], "keyword.tapped");
        assert_eq!(got[1].json()["data"]["keyword"], "TIPS");
        assert!(signature_holds(&got[1], &all.secret));

        // STOP: both addresses hear of it, each with its own delivery of the one event.
        say(&ctx, "alice", "message", json!({ "text": "STOP" })).await;
        app::handoff::run_once(ctx.state()).await.unwrap();
        let got = tool.received();
        assert_eq!(got.len(), 4, "{got:?}");
        let stops: Vec<&Got> = got[2..].iter().collect();
        let mut paths: Vec<&str> = stops.iter().map(|g| g.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["/all", "/stops"]);
        for stop in &stops {
            assert_eq!(stop.json()["type"], "subscriber.opted_out");
            assert_eq!(
                stop.json()["data"]["psid"],
                ctx.psid("alice").await.as_str()
            );
        }
        assert_eq!(stops[0].json()["id"], stops[1].json()["id"], "one event");
        // Nothing else is due.
        assert_eq!(
            app::handoff::run_once(ctx.state()).await.unwrap(),
            courier::Round::default()
        );

        // The admin's log: newest first, each delivered at the first try.
        let log = handoff(&admin).await;
        assert_eq!(log.hooks.len(), 2);
        assert_eq!(log.hooks[0].events.len(), 4);
        assert_eq!(log.hooks[1].events, [EventType::OptedOut]);
        assert_eq!(log.deliveries.len(), 4);
        assert_eq!(log.deliveries[3].event_type, EventType::EntryConfirmed);
        for d in &log.deliveries {
            assert_eq!(
                (d.status, d.attempts, d.last_status_code),
                (DeliveryStatus::Delivered, 1, Some(200))
            );
        }
        ctx.stop().await;
    }
);

both_databases!(
    a_server_error_is_tried_again_and_a_refusal_fails_at_once,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let tool = Tool::start().await;
        let admin = ctx.login_as("admin").await;
        let hook = add_hook(&admin, &tool.url("/hook"), &["entry_confirmed"]).await;
        let ping = || async {
            let form = [
                ("facebook_page_id", BAKERY),
                ("hook_id", hook.hook_id.as_str()),
            ];
            let (status, body) = admin.call("ping_page_hook", &form).await;
            assert_eq!(status, 200, "{body}");
        };

        // A 500, then a 200 at the retry a minute later.
        tool.answer(&[500]);
        ping().await;
        let round = app::handoff::run_once(ctx.state()).await.unwrap();
        assert_eq!(round.retrying, 1);
        let log = handoff(&admin).await;
        let first = &log.deliveries[0];
        assert_eq!(first.event_type, EventType::Ping);
        assert_eq!(
            (first.status, first.attempts, first.last_status_code),
            (DeliveryStatus::Queued, 1, Some(500))
        );
        assert_eq!(first.last_error.as_deref(), Some("HTTP 500"));
        let next = first.next_attempt_at.unwrap();
        assert!(
            (55_000..=65_000).contains(&(next - now_ms())),
            "retried a minute later: {}",
            next - now_ms()
        );
        // Not due yet: nothing is sent.
        assert_eq!(
            app::handoff::run_once(ctx.state()).await.unwrap(),
            courier::Round::default()
        );
        assert_eq!(tool.received().len(), 1);
        let http = courier::http_client();
        let round = courier::deliver_due(ctx.state(), &http, now_ms() + 61_000)
            .await
            .unwrap();
        assert_eq!(round.delivered, 1);
        let got = tool.received();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].header("x-giveaway-delivery"),
            got[1].header("x-giveaway-delivery"),
            "a retry is the same event"
        );
        assert!(signature_holds(&got[1], &hook.secret));
        let d = &handoff(&admin).await.deliveries[0];
        assert_eq!(
            (
                d.status,
                d.attempts,
                d.last_status_code,
                d.last_error.clone()
            ),
            (DeliveryStatus::Delivered, 2, Some(200), None)
        );

        // A 400 fails at once: never tried again, however late.
        tool.answer(&[400]);
        ping().await;
        let round = app::handoff::run_once(ctx.state()).await.unwrap();
        assert_eq!(round.failed, 1);
        let later = now_ms() + 24 * 3_600_000;
        assert_eq!(
            courier::deliver_due(ctx.state(), &http, later)
                .await
                .unwrap(),
            courier::Round::default()
        );
        assert_eq!(tool.received().len(), 3);
        let d = &handoff(&admin).await.deliveries[0];
        assert_eq!(
            (d.status, d.attempts, d.last_status_code),
            (DeliveryStatus::Failed, 1, Some(400))
        );

        // Nobody listening: tried again, then failed once every wait has passed.
        let (status, body) = admin
            .call(
                "remove_page_hook",
                &[
                    ("facebook_page_id", BAKERY),
                    ("hook_id", hook.hook_id.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let dead = add_hook(&admin, &format!("http://{closed}/x"), &["opted_out"]).await;
        let form = [
            ("facebook_page_id", BAKERY),
            ("hook_id", dead.hook_id.as_str()),
        ];
        assert_eq!(admin.call("ping_page_hook", &form).await.0, 200);
        let mut at = now_ms();
        for wait in courier::BACKOFF_MS {
            let round = courier::deliver_due(ctx.state(), &http, at).await.unwrap();
            assert_eq!(round.retrying, 1, "{round:?}");
            at += wait + 1;
        }
        let round = courier::deliver_due(ctx.state(), &http, at).await.unwrap();
        assert_eq!(round.failed, 1);
        let log = handoff(&admin).await;
        assert_eq!(
            log.deliveries.len(),
            1,
            "the removed hook's log went with it"
        );
        let d = &log.deliveries[0];
        assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 6));
        assert!(
            d.last_error
                .as_deref()
                .unwrap()
                .starts_with("could not connect"),
            "{d:?}"
        );
        ctx.stop().await;
    }
);

both_databases!(
    hook_addresses_are_checked_and_other_pages_admins_see_nothing,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let admin = ctx.login_as("admin").await;
        let refused = |url: String, events: &'static [&'static str]| {
            let admin = &admin;
            async move {
                let mut form = vec![("facebook_page_id", BAKERY), ("url", url.as_str())];
                form.extend(events.iter().map(|e| (*e, "on")));
                let (status, body) = admin.call("add_page_hook", &form).await;
                assert_eq!(status, 400, "{body}");
                serde_json::from_str::<Value>(&body).unwrap()["message"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let events: &[&str] = &["entry_confirmed"];
        assert!(refused("http://tools.example.com/hook".into(), events)
            .await
            .contains("must start with https://"));
        assert!(refused("ftp://tools.example.com/hook".into(), events)
            .await
            .contains("not ftp://"));
        let long = format!("https://tools.example.com/{}", "a".repeat(2000));
        assert!(refused(long, events).await.contains("at most 2000"));
        assert!(refused("https://tools.example.com/hook".into(), &[])
            .await
            .contains("Choose at least one event"));
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM page_hooks").await, 0);
        let hook = add_hook(&admin, "https://tools.example.com/hook", events).await;

        // The admin home offers the section on the connected Page.
        let (status, home) = (
            200,
            admin
                .get(ctx.url("/admin"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert!(home.contains("handoff-toggle"), "{home}");

        // Nobody logged in: 401. An admin of another Page only: 403 for every function.
        let visitor = client();
        let r = visitor
            .post(ctx.url("/api/page_handoff"))
            .form(&[("facebook_page_id", BAKERY)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let stranger = ctx.login_as("moderator").await;
        let hook_id = hook.hook_id.as_str();
        for (function, form) in [
            ("page_handoff", vec![("facebook_page_id", BAKERY)]),
            (
                "add_page_hook",
                vec![
                    ("facebook_page_id", BAKERY),
                    ("url", "https://evil.example/steal"),
                    ("entry_confirmed", "on"),
                ],
            ),
            (
                "remove_page_hook",
                vec![("facebook_page_id", BAKERY), ("hook_id", hook_id)],
            ),
            (
                "ping_page_hook",
                vec![("facebook_page_id", BAKERY), ("hook_id", hook_id)],
            ),
            (
                "rotate_hook_secret",
                vec![("facebook_page_id", BAKERY), ("hook_id", hook_id)],
            ),
        ] {
            let (status, body) = stranger.call(function, &form).await;
            assert_eq!(status, 403, "{function}: {body}");
            assert!(!body.contains("tools.example.com"), "{body}");
        }
        // Through a Page they do manage, a hook of another Page is not found.
        admin.connect_page(BOOKS).await;
        for function in ["remove_page_hook", "ping_page_hook", "rotate_hook_secret"] {
            let form = [("facebook_page_id", BOOKS), ("hook_id", hook_id)];
            let (status, body) = admin.call(function, &form).await;
            assert_eq!(status, 404, "{function}: {body}");
        }
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM page_hooks").await, 1);
        assert_eq!(ctx.scalar("SELECT COUNT(*) FROM hook_deliveries").await, 0);

        // A new secret replaces the old one, shown once.
        let form = [("facebook_page_id", BAKERY), ("hook_id", hook_id)];
        let (status, body) = admin.call("rotate_hook_secret", &form).await;
        assert_eq!(status, 200, "{body}");
        let rotated: NewSecret = serde_json::from_str(&body).unwrap();
        assert_ne!(rotated.secret, hook.secret);
        assert_eq!(handoff(&admin).await.hooks.len(), 1);
        ctx.stop().await;
    }
);

both_databases!(
    forgetting_a_person_empties_what_named_them_and_old_payloads_are_purged,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let tool = Tool::start().await;
        let admin = ctx.login_as("admin").await;
        add_hook(&admin, &tool.url("/hook"), &ALL_EVENTS).await;
        ctx.subscribe("alice", 0).await;
        ctx.subscribe("bob", 0).await;
        ctx.settle().await;
        app::handoff::run_once(ctx.state()).await.unwrap();
        assert_eq!(tool.received().len(), 2);
        // Alice's STOP is queued, not sent yet.
        say(&ctx, "alice", "message", json!({ "text": "STOP" })).await;
        let alice = ctx.psid("alice").await;
        let bob = ctx.psid("bob").await;
        let naming = |psid: String| {
            let ctx = &ctx;
            async move {
                ctx.scalar(&format!(
                    "SELECT COUNT(*) FROM hook_deliveries WHERE payload LIKE '%{psid}%' OR psid = '{psid}'"
                ))
                .await
            }
        };
        assert_eq!(naming(alice.clone()).await, 2);

        let page = app::pages::PageRowId::from(ctx.page_row.as_str());
        let forgotten = app::handoff::forget_subscriber(ctx.db(), &page, &alice)
            .await
            .unwrap();
        assert_eq!(forgotten, 2);
        assert_eq!(naming(alice.clone()).await, 0);
        assert_eq!(naming(bob.clone()).await, 1, "others are kept");
        // What was still to go is not sent, and says why.
        assert_eq!(
            app::handoff::run_once(ctx.state()).await.unwrap(),
            courier::Round::default()
        );
        assert_eq!(tool.received().len(), 2);
        let log = handoff(&admin).await;
        assert_eq!(log.deliveries.len(), 3, "the log keeps its lines");
        let stop = &log.deliveries[0];
        assert_eq!(stop.event_type, EventType::OptedOut);
        assert_eq!(stop.status, DeliveryStatus::Failed);
        assert!(stop.last_error.as_deref().unwrap().contains("erased"));

        // Retention: settled deliveries keep no payload after RETENTION_DAYS; a queued one
        // keeps its own until it goes.
        say(&ctx, "bob", "message", json!({ "text": "STOP" })).await;
        let purged = app::handoff::store::purge(ctx.db(), now_ms() + 1)
            .await
            .unwrap();
        assert_eq!(purged, 1, "bob's delivered confirmation");
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM hook_deliveries WHERE payload <> ''")
                .await,
            1
        );
        app::handoff::run_once(ctx.state()).await.unwrap();
        let got = tool.received();
        assert_eq!(got.last().unwrap().json()["data"]["psid"], bob.as_str());
        ctx.stop().await;
    }
);

both_databases!(
    the_embed_tells_its_host_page_that_its_visitor_entered,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let visitor = client();
        let r = visitor
            .post(ctx.url("/embed/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let entry = r.headers()["location"].to_str().unwrap().to_string();
        assert!(entry.starts_with("/embed/demo/e/"), "{entry}");
        let pending = ctx.page_text(&entry).await;
        let reference = crate::support::m_me_ref(&pending);
        ctx.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": "carol", "page": "sunnybakery", "kind": "get_started", "ref": reference }),
        )
        .await;
        ctx.settle().await;
        let entered = ctx.page_text(&entry).await;
        assert!(entered.contains(r#"data-state="entered""#), "{entered}");
        // The page's one inline script posts the news to its parent frame, with the ticket.
        assert!(
            entered.contains("giveaway: 'entered'") && entered.contains("parent.postMessage"),
            "{entered}"
        );
        assert!(entered.contains(r#"data-testid="ticket""#));
        // The loader turns it into a DOM event on the element, from our own frames only.
        let widget = ctx.page_text("/widget.js").await;
        assert!(widget.contains("new CustomEvent('giveaway:entered'"));
        assert!(widget.contains("event.origin !== origin"));
        assert!(widget.contains("contentWindow !== event.source"));
        ctx.stop().await;
    }
);

both_databases!(
    a_winner_claiming_reaches_the_hooks_that_want_it,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let tool = Tool::start().await;
        let admin = ctx.login_as("admin").await;
        let hook = add_hook(&admin, &tool.url("/claims"), &["winner_claimed"]).await;
        ctx.draw_at_end(1).await;
        ctx.subscribe("alice", 0).await;
        ctx.end_now().await;
        ctx.settle().await;
        // Alice, the only entrant, won: she claims with the word, twice.
        say(&ctx, "alice", "message", json!({ "text": "CLAIM" })).await;
        say(&ctx, "alice", "message", json!({ "text": "claim" })).await;
        app::handoff::run_once(ctx.state()).await.unwrap();
        let got = tool.received();
        assert_eq!(got.len(), 1, "only the claim, once: {got:?}");
        assert!(signature_holds(&got[0], &hook.secret));
        let body = got[0].json();
        assert_eq!(body["type"], "winner.claimed");
        let data = &body["data"];
        assert_eq!(data["campaign"]["slug"], "demo");
        assert_eq!(data["prize_rank"], 1);
        assert_eq!(data["prize"], "A croissant a day for a year");
        assert_eq!(data["psid"], ctx.psid("alice").await.as_str());
        let ticket: String =
            sqlx::query_scalar("SELECT ticket FROM winners WHERE campaign_id = $1")
                .bind(&ctx.campaign)
                .fetch_one(ctx.db())
                .await
                .unwrap();
        assert_eq!(data["ticket"], ticket.as_str());
        ctx.stop().await;
    }
);
