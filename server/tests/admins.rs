//! Admin login through the sandbox's Facebook dialog, on both databases: success, declined
//! permissions and recovery, cancel, state mismatch, reused code, logout, token encryption.

mod support;

use support::{client, TestServer};

/// Follows the product's login start to the sandbox dialog and submits its consent form as
/// `user`, granting every permission but `decline`. Returns the product callback URL the dialog
/// redirects to (without Meta's `#_=_` fragment).
async fn through_dialog(
    http: &reqwest::Client,
    server: &TestServer,
    start: &str,
    user: &str,
    decline: &[&str],
    action: &str,
) -> String {
    let started = http.get(server.url(start)).send().await.unwrap();
    assert_eq!(started.status(), 303, "login start redirects to the dialog");
    let dialog = url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        dialog.path().ends_with("/sandbox/www/v25.0/dialog/oauth"),
        "{dialog}"
    );
    let query: std::collections::HashMap<String, String> =
        dialog.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256", "PKCE is used");
    assert!(query["state"].len() >= 16, "CSRF state is present");

    let mut form: Vec<(String, String)> = [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
        "auth_type",
    ]
    .iter()
    .filter_map(|k| query.get(*k).map(|v| (k.to_string(), v.clone())))
    .collect();
    form.push(("as".into(), user.into()));
    // Meta takes scopes separated by commas or spaces.
    for scope in query["scope"].split([',', ' ']).filter(|s| !s.is_empty()) {
        if !decline.contains(&scope) {
            form.push(("grant".into(), scope.into()));
        }
    }
    form.push(("action".into(), action.into()));
    let confirmed = http
        .post(format!(
            "{}://{}/sandbox/www/v25.0/dialog/oauth/confirm",
            dialog.scheme(),
            dialog.authority()
        ))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 302);
    let mut back = url::Url::parse(confirmed.headers()["location"].to_str().unwrap()).unwrap();
    back.set_fragment(None);
    assert_eq!(back.path(), "/auth/facebook/callback");
    back.to_string()
}

async fn location(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location)
}

fn session_cookie(http_jar: &reqwest::Response) -> Option<String> {
    http_jar
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("giveaway_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
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

    let page = http
        .get(server.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let page = http
        .get(server.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
        let page = http
            .get(server.url(&to))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
        let page = http
            .get(server.url("/login?cancelled=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
        let code = url::Url::parse(&callback)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();

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
        let code = url::Url::parse(&used)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let again =
            through_dialog(&http, &server, "/auth/facebook", "admin", &[], "continue").await;
        let state = url::Url::parse(&again)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
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
