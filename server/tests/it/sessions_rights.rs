//! Issue #14: rights re-checked against Facebook, session lifetimes, the OAuth state kept out of
//! the sessions table, cookie flags on an https address, and logout racing a request. Time is
//! driven by backdating rows, never by sleeping.

use crate::support::{
    call, client, connect, location, log_in, save_campaign, through_dialog, App, TestServer, BAKERY,
};
use app::db::now_ms;
use serde_json::json;
use server::sessions::DbSessionStore;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

const DAY_MS: i64 = 86_400_000;

async fn scalar(server: &TestServer, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&server.state.db)
        .await
        .unwrap()
}

async fn exec(server: &TestServer, sql: &str, value: i64) {
    sqlx::query(sql)
        .bind(value)
        .execute(&server.state.db)
        .await
        .unwrap();
}

async fn set_tasks(http: &reqwest::Client, server: &TestServer, user: &str, tasks: &[&str]) {
    let r = http
        .put(server.url(&format!("/sandbox/control/pages/{BAKERY}/roles/{user}")))
        .json(&json!({ "tasks": tasks }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

const EDITOR_RIGHTS: &str =
    "SELECT COUNT(*) FROM page_admins pa JOIN admins a ON a.id = pa.admin_id
     WHERE a.name = 'Ed Editor'";

const EDITOR_TASKS: &[&str] = &[
    "CREATE_CONTENT",
    "MODERATE",
    "MESSAGING",
    "ADVERTISE",
    "ANALYZE",
];

/// The admin connects the Bakery and saves a campaign on it; the editor, who moderates the
/// Bakery too, logs in. Answers (admin's client, editor's client, campaign id).
async fn bakery_with_two_admins(server: &TestServer) -> (reqwest::Client, reqwest::Client, String) {
    let admin = client();
    log_in(&admin, server, "admin").await;
    connect(&admin, server, BAKERY).await;
    let id = save_campaign(&admin, server, &crate::support::cake()).await;
    let editor = client();
    log_in(&editor, server, "editor").await;
    let (status, body) = call(&editor, server, "get_campaign", &[("id", &id)]).await;
    assert_eq!(
        status, 200,
        "the editor manages the Bakery's campaigns: {body}"
    );
    (admin, editor, id)
}

both_databases!(
    a_removed_moderator_is_refused_within_minutes,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let (admin, editor, id) = bakery_with_two_admins(&server).await;

        // Removed from the Page on Facebook. Within the re-check age, the stored check stands
        // for plain reads...
        set_tasks(&admin, &server, "editor", &[]).await;
        let (status, _) = call(&editor, &server, "get_campaign", &[("id", &id)]).await;
        assert_eq!(status, 200, "checked less than RIGHTS_RECHECK_SECONDS ago");

        // ...and once the stored check is older than that, the next call asks Facebook again.
        exec(
            &server,
            "UPDATE admins SET rights_checked_at = rights_checked_at - $1",
            301_000,
        )
        .await;
        let (status, body) = call(&editor, &server, "get_campaign", &[("id", &id)]).await;
        assert_eq!(status, 403, "{body}");
        let (status, body) = call(&editor, &server, "list_campaigns", &[]).await;
        assert_eq!((status, body.as_str()), (200, "[]"));
        assert_eq!(
            scalar(&server, EDITOR_RIGHTS).await,
            0,
            "the editor's stored right is gone"
        );

        // The campaign stays, owned by the Page, for whoever still manages it.
        let (status, body) = call(&admin, &server, "get_campaign", &[("id", &id)]).await;
        assert_eq!(status, 200, "{body}");
        server.stop().await;
    }
);

both_databases!(
    a_removed_moderator_is_refused_at_once_for_privileged_actions,
    |url: String| async move {
        let app = App::start(&url, &[("BACKGROUND_JOBS", "off")]).await;
        let server = &app.server;
        let (admin, editor, id) = bakery_with_two_admins(server).await;
        let campaign_scope = json!({ "Campaign": id }).to_string();
        let page_scope = json!({ "Page": BAKERY }).to_string();
        // Each privileged call, made just after the editor lost the Page (the stored check is
        // seconds old): refused at once, by name.
        type Attempt<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<String>);
        let attempts: Vec<Attempt> = vec![
            (
                "campaign_action",
                vec![("id", &id), ("action", "publish")],
                None,
            ),
            (
                "campaign_action",
                vec![("id", &id), ("action", "end_now")],
                None,
            ),
            ("campaign_entries", vec![("id", &id)], None),
            (
                "notify_subscribers",
                vec![("campaign_id", &id), ("text", "News")],
                None,
            ),
            ("resend_not_sent", vec![("campaign_id", &id)], None),
            ("notice_reach", vec![("campaign_id", &id)], None),
            (
                "notice_statistics",
                vec![],
                Some(format!(r#"{{"scope":{campaign_scope},"filter":{{}}}}"#)),
            ),
            (
                "notice_statistics",
                vec![],
                Some(format!(r#"{{"scope":{page_scope},"filter":{{}}}}"#)),
            ),
            // What acts in the Page's name: sending again, asking Meta for the template.
            (
                "page_action",
                vec![("facebook_page_id", BAKERY), ("action", "enable")],
                None,
            ),
            ("resume_page", vec![("facebook_page_id", BAKERY)], None),
            ("retry_template", vec![("facebook_page_id", BAKERY)], None),
        ];
        for (function, form, json_body) in attempts {
            // Back on the Page, and the product knows it again (a fresh login).
            set_tasks(&admin, server, "editor", EDITOR_TASKS).await;
            log_in(&editor, server, "editor").await;
            set_tasks(&admin, server, "editor", &[]).await;
            let request = editor.post(server.url(&format!("/api/{function}")));
            let request = match &json_body {
                Some(body) => request
                    .header("content-type", "application/json")
                    .body(body.clone()),
                None => request.form(&form),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, 403, "{function}: {body}");
            assert!(
                body.contains("You no longer manage Sunny Bakery on Facebook."),
                "{function}: {body}"
            );
            assert_eq!(
                scalar(server, EDITOR_RIGHTS).await,
                0,
                "{function}: the stored right is gone at once"
            );
        }
        // Nothing was published by the refused calls; the campaign is still the admin's.
        let (status, body) = call(&admin, server, "get_campaign", &[("id", &id)]).await;
        assert_eq!(status, 200, "{body}");
        let state: String = sqlx::query_scalar("SELECT publish_state FROM campaigns")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(state, "draft");
        app.stop().await;
    }
);

both_databases!(
    facebook_unreachable_or_a_dead_token_refuses_privileged_actions,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("BACKGROUND_JOBS", "off")]).await;
        let (admin, editor, id) = bakery_with_two_admins(&server).await;
        // The editor's user token is revoked at Facebook: privileged actions ask to log in again,
        // plain reads of the campaign go on with the stored rights.
        let r = admin
            .post(server.url("/sandbox/control/tokens/revoke"))
            .json(&json!({ "user": "editor" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (status, body) = call(
            &editor,
            &server,
            "campaign_action",
            &[("id", &id), ("action", "publish")],
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("log in again"), "{body}");
        let (status, body) = call(&editor, &server, "get_campaign", &[("id", &id)]).await;
        assert_eq!(status, 200, "{body}");
        server.stop().await;
    }
);

async fn session_rows(server: &TestServer) -> i64 {
    scalar(server, "SELECT COUNT(*) FROM sessions").await
}

both_databases!(
    a_session_ends_after_its_absolute_lifetime_even_when_used,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        let (status, _) = call(&http, server, "list_campaigns", &[]).await;
        assert_eq!(status, 200);
        // Logged in 15 days ago and used every day since: still over (default 14 days).
        exec(
            server,
            "UPDATE sessions SET created_at = created_at - $1",
            15 * DAY_MS,
        )
        .await;
        let (status, body) = call(&http, server, "list_campaigns", &[]).await;
        assert_eq!(status, 401, "{body}");
        let (_, who) = call(&http, server, "whoami", &[]).await;
        assert_eq!(who, "null");
        app.stop().await;
    }
);

/// Backdates the session as if it was last used `days` ago (7 days of inactivity allowed).
async fn last_used_days_ago(server: &TestServer, days: i64) {
    let now = now_ms();
    sqlx::query("UPDATE sessions SET expires_at = $1, last_used_at = $2")
        .bind(now + (7 - days) * DAY_MS)
        .bind(now - days * DAY_MS)
        .execute(&server.state.db)
        .await
        .unwrap();
}

both_databases!(
    a_session_expires_after_inactivity_and_real_use_extends_it,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        // Last used six days ago: one day of inactivity left.
        last_used_days_ago(server, 6).await;
        let (status, _) = call(&http, server, "list_campaigns", &[]).await;
        assert_eq!(status, 200);
        let expires = scalar(server, "SELECT MAX(expires_at) FROM sessions").await;
        assert!(
            expires > now_ms() + 6 * DAY_MS,
            "using the session pushes its inactivity expiry to 7 days from now"
        );

        // Opening the login start does not extend a logged-in session, nor re-save it.
        let before: (String, i64) = sqlx::query_as("SELECT data, expires_at FROM sessions")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        last_used_days_ago(server, 6).await;
        let started = http.get(server.url("/auth/facebook")).send().await.unwrap();
        assert_eq!(started.status(), 303);
        let after: (String, i64) = sqlx::query_as("SELECT data, expires_at FROM sessions")
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(after.0, before.0, "the session's data is untouched");
        assert!(
            after.1 <= now_ms() + DAY_MS,
            "not extended by the login start"
        );

        // Seven days without use: over.
        exec(server, "UPDATE sessions SET expires_at = $1", now_ms() - 1).await;
        let (status, _) = call(&http, server, "list_campaigns", &[]).await;
        assert_eq!(status, 401);
        app.stop().await;
    }
);

both_databases!(
    anonymous_login_starts_write_no_session_and_are_limited,
    |url: String| async move {
        let app = App::start(&url, &[("LOGIN_RATE_LIMIT", "5")]).await;
        let server = &app.server;
        // A login still completes through the dialog (one start).
        app.login_as("admin").await;
        assert_eq!(session_rows(server).await, 1, "the logged-in session only");
        // Four more anonymous starts from the same address: no session row.
        for _ in 0..4 {
            let r = client()
                .get(server.url("/auth/facebook"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            assert!(
                !r.headers()
                    .get_all("set-cookie")
                    .iter()
                    .any(|c| c.to_str().unwrap().starts_with("giveaway_session=")),
                "no session cookie for a login start"
            );
        }
        assert_eq!(session_rows(server).await, 1, "login starts store nothing");
        // The sixth start within the minute is refused, with words.
        let r = client()
            .get(server.url("/auth/facebook"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let body = r.text().await.unwrap();
        assert!(body.contains("Too many login attempts"), "{body}");
        assert_eq!(session_rows(server).await, 1);
        app.stop().await;
    }
);

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .collect()
}

fn name_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Logs in by hand, carrying cookies ourselves (an https address's Secure cookies are not sent
/// back over the tests' plain http). Answers (Set-Cookie of the start, of the callback).
async fn login_by_hand(server: &TestServer) -> (Vec<String>, Vec<String>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = http.get(server.url("/auth/facebook")).send().await.unwrap();
    assert_eq!(started.status(), 303);
    let start_cookies = set_cookies(&started);
    let dialog = started.headers()["location"].to_str().unwrap().to_string();
    let query: std::collections::HashMap<String, String> = url::Url::parse(&dialog)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let mut form: Vec<(String, String)> = [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
    ]
    .iter()
    .filter_map(|k| query.get(*k).map(|v| (k.to_string(), v.clone())))
    .collect();
    form.push(("as".into(), "admin".into()));
    for scope in query["scope"].split([',', ' ']).filter(|s| !s.is_empty()) {
        form.push(("grant".into(), scope.into()));
    }
    form.push(("action".into(), "continue".into()));
    let confirmed = http
        .post(server.url("/sandbox/www/v25.0/dialog/oauth/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 302);
    let back = url::Url::parse(confirmed.headers()["location"].to_str().unwrap()).unwrap();
    let callback = server.url(&format!("{}?{}", back.path(), back.query().unwrap()));
    let cookie = start_cookies
        .iter()
        .map(|c| name_value(c))
        .collect::<Vec<_>>()
        .join("; ");
    let done = http
        .get(callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let done_cookies = set_cookies(&done);
    assert_eq!(location(done).await, (303, "/admin".into()));
    (start_cookies, done_cookies)
}

/// A published demo campaign open for entries; answers the Set-Cookie of an entry.
async fn enter_demo(server: &TestServer) -> Vec<String> {
    let now = now_ms();
    sqlx::query("UPDATE campaigns SET starts_at = $1, ends_at = $2 WHERE slug = 'demo'")
        .bind(now - DAY_MS)
        .bind(now + DAY_MS)
        .execute(&server.state.db)
        .await
        .unwrap();
    let r = client()
        .post(server.url("/c/demo/enter"))
        .form(&[("website", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    set_cookies(&r)
}

both_databases!(
    cookies_are_secure_on_an_https_address,
    |url: String| async move {
        // The server speaks plain http here (a TLS proxy would be in front); Meta's addresses
        // stay on the in-process sandbox.
        let server = TestServer::start_with(
            &url,
            &[
                ("PUBLIC_BASE_URL", "https://{addr}"),
                ("FACEBOOK_GRAPH_URL", "http://{addr}/sandbox/graph"),
                ("FACEBOOK_WWW_URL", "http://{addr}/sandbox/www"),
                ("FACEBOOK_MME_URL", "http://{addr}/sandbox/m.me"),
                ("DEMO_CAMPAIGN", "on"),
            ],
        )
        .await;
        let (start, done) = login_by_hand(&server).await;
        let state_cookie = start
            .iter()
            .find(|c| c.contains("login"))
            .expect("state cookie");
        assert!(state_cookie.contains("; Secure"), "{state_cookie}");
        assert!(state_cookie.starts_with("__Host-"), "{state_cookie}");
        let session = done
            .iter()
            .find(|c| c.contains("giveaway_session="))
            .expect("session cookie");
        assert!(session.starts_with("__Host-giveaway_session="), "{session}");
        assert!(
            session.contains("Secure") && session.contains("Path=/"),
            "{session}"
        );
        assert!(!session.contains("Domain"), "{session}");
        let entry = enter_demo(&server).await;
        assert!(!entry.is_empty());
        assert!(entry.iter().all(|c| c.contains("; Secure")), "{entry:?}");
        server.stop().await;
    }
);

both_databases!(
    cookies_stay_plain_on_an_http_address,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let (start, done) = login_by_hand(&server).await;
        assert!(!start.is_empty());
        assert!(
            start
                .iter()
                .all(|c| !c.contains("Secure") && !c.starts_with("__Host-")),
            "{start:?}"
        );
        let session = done
            .iter()
            .find(|c| c.contains("giveaway_session="))
            .expect("session cookie");
        assert!(session.starts_with("giveaway_session="), "{session}");
        assert!(!session.contains("Secure"), "{session}");
        let entry = enter_demo(&server).await;
        assert!(entry.iter().all(|c| !c.contains("Secure")), "{entry:?}");
        server.stop().await;
    }
);

both_databases!(
    a_request_that_started_before_logout_cannot_undo_it,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let store = DbSessionStore::new(server.state.db.clone());
        let mut record = Record {
            id: Id::default(),
            data: [("admin.id".to_string(), json!("someone"))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(7),
        };
        store.create(&mut record).await.unwrap();
        // Request A loaded the session...
        let mut loaded = store.load(&record.id).await.unwrap().expect("logged in");
        // ...logout (request B) ends it...
        store.delete(&record.id).await.unwrap();
        // ...then A, finishing, saves what it loaded.
        loaded.data.insert("late".into(), json!(true));
        store.save(&loaded).await.unwrap();
        assert!(
            store.load(&record.id).await.unwrap().is_none(),
            "still logged out"
        );
        assert_eq!(session_rows(server).await, 0);

        // Over HTTP: a logged-in client logs out; its old cookie, replayed, gets nothing back.
        let http = app.login_as("admin").await;
        let out = http.post(server.url("/auth/logout")).send().await.unwrap();
        assert_eq!(out.status(), 303);
        assert_eq!(session_rows(server).await, 0);
        app.stop().await;
    }
);

// The login start and the callback agree through the state cookie: a callback without it is
// refused, and a login-start's cookie is good once.
both_databases!(
    the_state_cookie_is_checked_and_good_once,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = client();
        let callback =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        assert_eq!(client().get(&callback).send().await.unwrap().status(), 400);
        assert_eq!(
            location(http.get(&callback).send().await.unwrap()).await,
            (303, "/admin".into())
        );
        assert_eq!(http.get(&callback).send().await.unwrap().status(), 400);
        server.stop().await;
    }
);

both_databases!(
    a_login_state_older_than_ten_minutes_is_refused,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let callback =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        let state = crate::support::query_param(&callback, "state");
        // The same state, sealed as the server seals it, but started eleven minutes ago.
        let stale = json!({ "state": state, "verifier": "v".repeat(43), "started_at": now_ms() - 11 * 60_000 });
        let sealed = server.state.token_cipher.encrypt(
            &app::secrets::Secret::new(stale.to_string()),
            "oauth:admin-login",
        );
        let response = http
            .get(&callback)
            .header("cookie", format!("giveaway_login={sealed}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let cleared = set_cookies(&response);
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with("giveaway_login=;") && c.contains("Max-Age=0")),
            "{cleared:?}"
        );
        server.stop().await;
    }
);
