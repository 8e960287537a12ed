//! Admin login through the sandbox's Facebook dialog, on both databases: success, declined
//! permissions and recovery, cancel, state mismatch, reused code, logout, token encryption.

use crate::support::{
    cake, call, campaign_action, client, connect, location, log_in, query_param, save,
    save_campaign, session_cookie, through_dialog, App, TestServer, BAKERY, BOOKS,
};
use serde_json::json;

/// A page's HTML as this browser (its session) gets it, whatever the status: the admin's pages
/// answer a visitor who is not logged in with a page too. A new visitor's view is
/// `App::page_text`.
async fn text_in(http: &reqwest::Client, server: &TestServer, path: &str) -> String {
    http.get(server.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

both_databases!(an_admin_logs_in_and_out, |url: String| async move {
    let server = TestServer::start(&url).await;
    let http = client();
    let callback = through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
    let done = http.get(&callback).send().await.unwrap();
    let cookie_after_login = session_cookie(&done);
    assert_eq!(location(done).await, (303, "/admin".into()));
    assert!(
        cookie_after_login.is_some(),
        "a new session id is issued at login"
    );

    let page = text_in(&http, &server, "/admin").await;
    assert!(page.contains("Hello, Ada Admin"), "{page}");

    // Token encryption at rest: what is stored is not a token, and it decrypts only for its row.
    let (id, stored): (String, String) = sqlx::query_as("SELECT id, user_token_enc FROM admins")
        .fetch_one(&server.state.db)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1.") && !stored.contains("EAA"),
        "{stored}"
    );
    let token = server
        .state
        .token_cipher
        .decrypt(&stored, &format!("admin:{id}"))
        .unwrap();
    assert!(server
        .state
        .token_cipher
        .decrypt(&stored, "admin:someone-else")
        .is_err());
    let graph = app::messenger::graph::GraphClient::new(&server.state.settings.facebook);
    assert_eq!(
        graph.me(&token).await.unwrap().name,
        "Ada Admin",
        "the stored token is the real one"
    );

    // Reusing the callback fails: the state was consumed.
    let (status, _) = location(http.get(&callback).send().await.unwrap()).await;
    assert_eq!(status, 400);

    let out = http.post(server.url("/auth/logout")).send().await.unwrap();
    assert_eq!(location(out).await, (303, "/".into()));
    let page = text_in(&http, &server, "/admin").await;
    assert!(page.contains("You are not logged in"), "{page}");
    server.stop().await;
});

both_databases!(
    declined_permissions_are_named_and_can_be_asked_again,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = client();
        let callback = through_dialog(
            &http,
            &server,
            "/auth/facebook",
            "admin",
            &["pages_messaging"],
            "continue",
        )
        .await;
        let (status, to) = location(http.get(&callback).send().await.unwrap()).await;
        assert_eq!(
            (status, to.as_str()),
            (303, "/login?missing=pages_messaging")
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(n, 0, "nobody is logged in without the permissions");
        let page = text_in(&http, &server, &to).await;
        assert!(
            page.contains("pages_messaging") && page.contains("Ask again"),
            "{page}"
        );

        // Asking again uses auth_type=rerequest, and this time the person grants it.
        let callback = through_dialog(
            &http,
            &server,
            "/auth/facebook?rerequest=1",
            "admin",
            &[],
            "continue",
        )
        .await;
        assert!(callback.contains("code="));
        assert_eq!(
            location(http.get(&callback).send().await.unwrap()).await,
            (303, "/admin".into())
        );
        server.stop().await;
    }
);

both_databases!(
    a_cancelled_dialog_changes_nothing,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = client();
        let callback =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "cancel").await;
        assert!(callback.contains("error=access_denied"), "{callback}");
        assert_eq!(
            location(http.get(&callback).send().await.unwrap()).await,
            (303, "/login?cancelled=1".into())
        );
        let page = text_in(&http, &server, "/login?cancelled=1").await;
        assert!(page.contains("You cancelled the Facebook login"));
        server.stop().await;
    }
);

both_databases!(
    a_forged_state_or_reused_code_is_refused,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = client();
        let callback =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        let code = query_param(&callback, "code");

        // A state that is not the one in this browser's session.
        let forged = server.url(&format!("/auth/facebook/callback?code={code}&state=forged"));
        let response = http.get(&forged).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("This login attempt is not valid"));

        // A stranger's browser (no session) holding the right URL gets nothing either.
        assert_eq!(client().get(&callback).send().await.unwrap().status(), 400);

        // The forged attempt used up this browser's state: the genuine callback is refused too.
        assert_eq!(
            location(http.get(&callback).send().await.unwrap()).await.0,
            400,
            "state already consumed"
        );

        // A code is good once: log in with it, then replay it with a fresh, valid state.
        let used = through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        assert_eq!(
            location(http.get(&used).send().await.unwrap()).await,
            (303, "/admin".into())
        );
        let code = query_param(&used, "code");
        let again =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        let state = query_param(&again, "state");
        let replay = server.url(&format!(
            "/auth/facebook/callback?code={code}&state={state}"
        ));
        let response = http.get(&replay).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Facebook did not accept this login"));
        server.stop().await;
    }
);

both_databases!(
    whoami_answers_none_without_a_session,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let response = client()
            .post(server.url("/api/whoami"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "null");
        server.stop().await;
    }
);

both_databases!(
    admins_see_the_pages_they_moderate_with_their_role,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        for (user, expected) in [
            ("admin", vec![(BAKERY, "Admin"), (BOOKS, "Admin")]),
            ("editor", vec![(BAKERY, "Editor")]),
            ("moderator", vec![(BOOKS, "Moderator")]),
            ("nopages", vec![]),
        ] {
            let http = client();
            log_in(&http, server, user).await;
            let (status, body) = call(&http, server, "my_pages", &[]).await;
            assert_eq!(status, 200, "{body}");
            let pages: Vec<app::pages::ManagedPage> = serde_json::from_str(&body).unwrap();
            let got: Vec<(&str, &str)> = pages
                .iter()
                .map(|p| (p.facebook_page_id.as_str(), p.role.as_str()))
                .collect();
            assert_eq!(got, expected, "{user}");
            assert!(pages
                .iter()
                .all(|p| p.health == app::pages::Health::NotConnected));
        }
        app.stop().await;
    }
);

both_databases!(
    connecting_a_page_stores_its_token_encrypted_and_subscribes_the_app,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        let (status, body) = call(
            &http,
            server,
            "connect_page",
            &[("facebook_page_id", BAKERY)],
        )
        .await;
        assert_eq!(status, 200, "{body}");

        let (stored, token_status): (String, String) = sqlx::query_as(
            "SELECT access_token_enc, token_status FROM pages WHERE facebook_page_id = $1",
        )
        .bind(BAKERY)
        .fetch_one(&server.state.db)
        .await
        .unwrap();
        assert_eq!(token_status, "valid");
        let token =
            app::pages::store::page_token(&server.state.db, &server.state.token_cipher, BAKERY)
                .await
                .unwrap()
                .expect("decrypts");
        assert!(
            !stored.contains(token.expose()),
            "the stored bytes are not the token"
        );

        // What the sandbox (Meta) received: the webhook subscription and the Get Started button.
        let log: serde_json::Value = http
            .get(server.url("/sandbox/control/requests?method=POST"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let paths: Vec<&str> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&format!("/{BAKERY}/subscribed_apps").as_str()),
            "{paths:?}"
        );
        assert!(paths.contains(&"/me/messenger_profile"), "{paths:?}");

        let (_, body) = call(&http, server, "my_pages", &[]).await;
        let pages: Vec<app::pages::ManagedPage> = serde_json::from_str(&body).unwrap();
        assert_eq!(pages[0].health, app::pages::Health::Healthy);

        // Page health follows the token: revoked at Facebook, the Page asks to be reconnected.
        let (_, health) = call(&http, server, "check_page", &[("facebook_page_id", BAKERY)]).await;
        assert_eq!(
            serde_json::from_str::<app::pages::Health>(&health).unwrap(),
            app::pages::Health::Healthy
        );
        let revoked = http
            .post(server.url("/sandbox/control/tokens/revoke"))
            .json(&serde_json::json!({"user": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let (_, health) = call(&http, server, "check_page", &[("facebook_page_id", BAKERY)]).await;
        assert_eq!(
            serde_json::from_str::<app::pages::Health>(&health).unwrap(),
            app::pages::Health::Reconnect("revoked".into())
        );
        app.stop().await;
    }
);

both_databases!(page_functions_refuse_outsiders, |url: String| async move {
    let app = App::start(&url, &[]).await;
    let server = &app.server;
    // Nobody logged in: 401 for every function, nothing stored.
    let anonymous = client();
    for (function, form) in [
        ("my_pages", vec![]),
        ("connect_page", vec![("facebook_page_id", BAKERY)]),
        ("check_page", vec![("facebook_page_id", BAKERY)]),
    ] {
        let (status, body) = call(&anonymous, server, function, &form).await;
        assert_eq!(status, 401, "{function}: {body}");
    }

    // The moderator of River Books cannot connect or inspect Sunny Bakery.
    let moderator = app.login_as("moderator").await;
    let (status, body) = call(
        &moderator,
        server,
        "connect_page",
        &[("facebook_page_id", BAKERY)],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("You do not moderate this Page"), "{body}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
        .fetch_one(&server.state.db)
        .await
        .unwrap();
    assert_eq!(n, 0);

    let admin = app.login_as("admin").await;
    connect(&admin, server, BAKERY).await;
    let (status, _) = call(
        &moderator,
        server,
        "check_page",
        &[("facebook_page_id", BAKERY)],
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
});

both_databases!(
    rights_are_recomputed_at_each_login,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let admin = app.login_as("admin").await;
        connect(&admin, server, BAKERY).await;
        // The editor moderates Sunny Bakery too: at login, they get the right to manage it.
        let editor = app.login_as("editor").await;
        let rights: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.name, pa.tasks FROM page_admins pa JOIN admins a ON a.id = pa.admin_id ORDER BY a.name",
    )
    .fetch_all(&server.state.db)
    .await
    .unwrap();
        assert_eq!(rights.len(), 2, "{rights:?}");
        assert_eq!(rights[1].0, "Ed Editor");
        assert!(
            !rights[1].1.contains("MANAGE,"),
            "editors lack MANAGE: {}",
            rights[1].1
        );
        assert_eq!(
            call(
                &editor,
                server,
                "check_page",
                &[("facebook_page_id", BAKERY)]
            )
            .await
            .0,
            200
        );
        app.stop().await;
    }
);

both_databases!(
    campaigns_are_validated_saved_and_read_back,
    |url: String| async move {
        use app::campaigns::{Campaign, SaveOutcome};
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;

        // Not connected yet: the Page field says so.
        let (status, body) = save(&http, server, None, &cake()).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("page_id"), "{body}");
        connect(&http, server, BAKERY).await;

        // Every error at once, by field; nothing stored.
        let mut bad = cake();
        bad.title.clear();
        bad.ends_at = "2026-11-01T09:00".into();
        bad.time_zone = "Mars/Olympus".into();
        let (status, body) = save(&http, server, None, &bad).await;
        assert_eq!(status, 200);
        let SaveOutcome::Invalid(errors) = serde_json::from_str(&body).unwrap() else {
            panic!("{body}")
        };
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["ends_at", "time_zone", "title"],
            "{errors:?}"
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaigns")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(n, 0);

        let id = save_campaign(&http, server, &cake()).await;

        // Stored in UTC (Paris is UTC+1 in December), shown back in the campaign's zone.
        let starts: i64 = sqlx::query_scalar("SELECT starts_at FROM campaigns")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(starts, 1_796_112_000_000, "2026-12-01T08:00Z");
        let (_, body) = call(&http, server, "get_campaign", &[("id", &id)]).await;
        let campaign: Campaign = serde_json::from_str(&body).unwrap();
        assert_eq!(campaign.form, cake());
        assert_eq!(campaign.lifecycle(0), app::campaigns::Lifecycle::Draft);

        // The link is unique; an edit keeps its own.
        let mut copy = cake();
        copy.title = "Another".into();
        let (status, body) = save(&http, server, None, &copy).await;
        assert_eq!(status, 200);
        assert!(body.contains("This link is taken"), "{body}");
        let (status, _) = save(&http, server, Some(&id), &copy).await;
        assert_eq!(status, 200);
        let (_, body) = call(&http, server, "list_campaigns", &[]).await;
        let list: Vec<Campaign> = serde_json::from_str(&body).unwrap();
        assert_eq!(
            list.iter()
                .map(|c| c.form.title.as_str())
                .collect::<Vec<_>>(),
            ["Another"]
        );
        app.stop().await;
    }
);

both_databases!(
    campaign_functions_refuse_outsiders,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let admin = app.login_as("admin").await;
        connect(&admin, server, BAKERY).await;
        let id = save_campaign(&admin, server, &cake()).await;

        // Nobody: 401 everywhere.
        let nobody = client();
        assert_eq!(save(&nobody, server, None, &cake()).await.0, 401);
        assert_eq!(save(&nobody, server, Some(&id), &cake()).await.0, 401);
        assert_eq!(
            call(&nobody, server, "get_campaign", &[("id", &id)])
                .await
                .0,
            401
        );
        assert_eq!(call(&nobody, server, "list_campaigns", &[]).await.0, 401);

        // Another admin, without rights to Sunny Bakery: cannot see, change or move it.
        let other = app.login_as("moderator").await;
        assert_eq!(
            call(&other, server, "get_campaign", &[("id", &id)]).await.0,
            403
        );
        let (_, body) = call(&other, server, "list_campaigns", &[]).await;
        assert_eq!(body, "[]");
        let mut hijack = cake();
        hijack.title = "Hijacked".into();
        let (status, body) = save(&other, server, Some(&id), &hijack).await;
        // Refused: 403, or field errors (the Page is not theirs); never saved.
        let saved = status == 200
            && matches!(
                serde_json::from_str(&body),
                Ok(app::campaigns::SaveOutcome::Saved { .. })
            );
        assert!(!saved, "{status}: {body}");
        let title: String = sqlx::query_scalar("SELECT title FROM campaigns")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(title, "Win a cake", "nothing changed");

        // The notice functions: statistics, the people behind them, notifying, ending now.
        let stats = json!({ "scope": { "Campaign": id }, "filter": {} });
        let page_stats = json!({ "scope": { "Page": BAKERY }, "filter": {} });
        for (who, expected) in [(&nobody, 401), (&other, 403)] {
            for (function, body) in [
                ("notice_statistics", &stats),
                ("notice_recipients", &stats),
                ("notice_statistics", &page_stats),
            ] {
                let r = who
                    .post(server.url(&format!("/api/{function}")))
                    .json(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), expected, "{function}");
            }
            let form = [("campaign_id", id.as_str()), ("text", "Changed!")];
            assert_eq!(
                call(who, server, "notify_subscribers", &form).await.0,
                expected
            );
            assert_eq!(
                campaign_action(who, server, &id, "end_now").await.0,
                expected
            );
        }
        let r = admin
            .post(server.url("/api/notice_statistics"))
            .json(&stats)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let seen: app::notices::Statistics = r.json().await.unwrap();
        assert_eq!(seen.days.len(), 7);
        // A draft is not live: nobody to notify, nothing to end.
        let form = [("campaign_id", id.as_str()), ("text", "Changed!")];
        assert_eq!(
            call(&admin, server, "notify_subscribers", &form).await.0,
            409
        );
        assert_eq!(campaign_action(&admin, server, &id, "end_now").await.0, 409);
        let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(notices, 0);
        app.stop().await;
    }
);

both_databases!(
    campaign_lifecycle_and_page_guards,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let admin = app.login_as("admin").await;
        admin.connect_page(BAKERY).await;
        let id = admin.save_campaign(&cake()).await;
        let act = |action: &'static str| admin.act(&id, action);

        // Duplicate: a new draft with a free link.
        let (status, body) = act("duplicate").await;
        assert_eq!(status, 200, "{body}");
        let copy: Option<String> = serde_json::from_str(&body).unwrap();
        let (_, body) = admin
            .call("get_campaign", &[("id", copy.as_deref().unwrap())])
            .await;
        let copied: app::campaigns::Campaign = serde_json::from_str(&body).unwrap();
        assert_eq!(copied.form.slug, "win-a-cake-copy");
        assert_eq!(copied.publish_state.as_str(), "draft");

        // Published: scheduled (it starts in December), and the Page must stay on.
        assert_eq!(act("publish").await.0, 200);
        let (status, body) = admin.page_action("disable").await;
        assert_eq!(status, 409);
        assert!(
            body.contains("Win a cake"),
            "the refusal names the campaign: {body}"
        );
        let (status, body) = admin.page_action("disconnect").await;
        assert_eq!(status, 409, "{body}");

        // Only drafts are deleted; an archived campaign frees its Page.
        let (status, body) = act("delete").await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("Only drafts can be deleted"));
        assert_eq!(act("archive").await.0, 200);
        assert_eq!(act("publish").await.0, 409, "archived is final");
        let (status, _) = admin.act(copy.as_deref().unwrap(), "delete").await;
        assert_eq!(status, 200);
        let (status, body) = admin.page_action("disable").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(admin.page_action("enable").await.0, 200);

        // Another admin can do none of it.
        let other = app.login_as("moderator").await;
        assert_eq!(other.act(&id, "publish").await.0, 403);
        assert_eq!(other.page_action("disable").await.0, 403);
        assert_eq!(
            campaign_action(&client(), server, &id, "archive").await.0,
            401
        );

        // Disconnecting forgets the token and every right to the Page.
        assert_eq!(admin.page_action("disconnect").await.0, 200);
        let stored: Option<String> = sqlx::query_scalar("SELECT access_token_enc FROM pages")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert!(stored.is_none());
        assert_eq!(admin.call("get_campaign", &[("id", &id)]).await.0, 403);
        app.stop().await;
    }
);
