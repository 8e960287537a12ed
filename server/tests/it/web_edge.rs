//! What the server does at its edge, before any page logic: who the client is behind a proxy (the
//! entry limit's key), the security headers (HSTS, content security policy) and the Origin check
//! on state-changing requests (issue #14, findings 1, 7 and 10).

use crate::support::{client, TestServer};

/// Taps "Subscribe on Messenger" on `/c/demo` as the proxy would forward it for `forwarded_for`.
async fn enter_as(http: &reqwest::Client, server: &TestServer, forwarded_for: &str) -> u16 {
    http.post(server.url("/c/demo/enter"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("website", "")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_databases!(
    two_clients_behind_one_trusted_proxy_each_get_their_own_quota,
    |url: String| async move {
        let server = TestServer::start_with(
            &url,
            &[
                ("DEMO_CAMPAIGN", "on"),
                ("ENTRY_RATE_LIMIT", "2"),
                ("TRUSTED_PROXIES", "10.9.0.0/16, 127.0.0.1"),
            ],
        )
        .await;
        let http = client();
        // Alice (behind a second, trusted proxy hop) uses up her quota...
        let alice = "198.51.100.7, 10.9.0.4";
        assert_eq!(enter_as(&http, &server, alice).await, 303);
        assert_eq!(enter_as(&http, &server, alice).await, 303);
        assert_eq!(enter_as(&http, &server, alice).await, 429);
        // ...and a made-up hop in front of her real address does not give her a new one.
        assert_eq!(
            enter_as(&http, &server, "192.0.2.1, 198.51.100.7, 10.9.0.4").await,
            429
        );
        // Bob, behind the same proxy, still has his.
        assert_eq!(enter_as(&http, &server, "198.51.100.8").await, 303);
        // An IPv6 network is one client: another address in the same /64 shares its quota.
        assert_eq!(enter_as(&http, &server, "2001:db8:1:2::1").await, 303);
        assert_eq!(enter_as(&http, &server, "2001:db8:1:2::ffff").await, 303);
        assert_eq!(enter_as(&http, &server, "2001:db8:1:2:aaaa::9").await, 429);
        assert_eq!(enter_as(&http, &server, "2001:db8:1:3::1").await, 303);
        server.stop().await;
    }
);

both_databases!(
    a_forwarded_address_from_an_untrusted_peer_does_not_escape_the_limit,
    |url: String| async move {
        let server = TestServer::start_with(
            &url,
            &[
                ("DEMO_CAMPAIGN", "on"),
                ("ENTRY_RATE_LIMIT", "2"),
                ("TRUSTED_PROXIES", "10.0.0.1"),
            ],
        )
        .await;
        let http = client();
        assert_eq!(enter_as(&http, &server, "198.51.100.1").await, 303);
        assert_eq!(enter_as(&http, &server, "198.51.100.2").await, 303);
        assert_eq!(enter_as(&http, &server, "198.51.100.3").await, 429);
        assert_eq!(enter_as(&http, &server, "10.0.0.1").await, 429);
        server.stop().await;
    }
);

both_databases!(
    the_entry_limit_answers_before_the_database_is_read,
    |url: String| async move {
        let server =
            TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on"), ("ENTRY_RATE_LIMIT", "1")])
                .await;
        let http = client();
        assert_eq!(enter_as(&http, &server, "").await, 303);
        // With the database gone, a limited client is still told to wait (not a 500): nothing was
        // read for it.
        server.state.db.close().await;
        assert_eq!(enter_as(&http, &server, "").await, 429);
        server.stop().await;
    }
);

/// The value of `directive` in a content security policy, e.g. `script-src`.
fn directive<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy.split(';').map(str::trim).find_map(|d| {
        let (key, value) = d.split_once(' ').unwrap_or((d, ""));
        (key == name).then_some(value)
    })
}

async fn get(
    http: &reqwest::Client,
    server: &TestServer,
    path: &str,
) -> (reqwest::header::HeaderMap, String) {
    let response = http.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

fn csp(headers: &reqwest::header::HeaderMap) -> String {
    headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Fetches a hydrated page; checks that its policy allows scripts by a fresh nonce only and that
/// every script tag on it carries that nonce.
async fn scripts_carry_the_nonce(
    http: &reqwest::Client,
    server: &TestServer,
    path: &str,
) -> reqwest::header::HeaderMap {
    let (headers, html) = get(http, server, path).await;
    let policy = csp(&headers);
    assert_eq!(directive(&policy, "default-src"), Some("'self'"), "{path}");
    assert_eq!(
        directive(&policy, "frame-ancestors"),
        Some("'none'"),
        "{path}"
    );
    assert_eq!(directive(&policy, "base-uri"), Some("'none'"), "{path}");
    assert_eq!(directive(&policy, "object-src"), Some("'none'"), "{path}");
    assert!(directive(&policy, "form-action")
        .unwrap()
        .starts_with("'self'"));
    let scripts = directive(&policy, "script-src").unwrap();
    let nonce = scripts
        .split(' ')
        .find_map(|s| s.strip_prefix("'nonce-"))
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(!scripts.contains("'unsafe-inline'"), "{policy}");
    let tags: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!tags.is_empty(), "{path} has scripts");
    for tag in tags {
        let open = tag.split('>').next().unwrap();
        assert!(
            open.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: a script without the nonce: <script{open}>"
        );
    }
    // A new nonce on every response.
    let (again, _) = get(http, server, path).await;
    assert!(!csp(&again).contains(nonce), "{path}");
    headers
}

both_databases!(
    an_https_address_gets_hsts_and_every_page_a_content_security_policy,
    |url: String| async move {
        // Browsers reach it at https (the proxy terminates TLS); Meta's stand-in stays local.
        let server = TestServer::start_with(
            &url,
            &[
                ("DEMO_CAMPAIGN", "on"),
                ("PUBLIC_BASE_URL", "https://giveaways.example.org"),
            ],
        )
        .await;
        let http = client();

        // The public entry page: strict, its one inline script allowed by hash only.
        let (headers, html) = get(&http, &server, "/c/demo").await;
        assert_eq!(headers["strict-transport-security"], "max-age=31536000");
        let policy = csp(&headers);
        assert_eq!(
            directive(&policy, "default-src"),
            Some("'self'"),
            "{policy}"
        );
        assert_eq!(directive(&policy, "base-uri"), Some("'none'"), "{policy}");
        assert_eq!(directive(&policy, "object-src"), Some("'none'"), "{policy}");
        assert_eq!(
            directive(&policy, "frame-ancestors"),
            Some("'none'"),
            "{policy}"
        );
        let form_action = directive(&policy, "form-action").unwrap();
        assert!(form_action.starts_with("'self'"), "{policy}");
        let scripts = directive(&policy, "script-src").unwrap();
        assert!(scripts.starts_with("'sha256-"), "{policy}");
        assert!(!scripts.contains("unsafe"), "{policy}");
        // The hash is the served script's own.
        use base64::Engine as _;
        use sha2::Digest as _;
        let script = html
            .split("<script>")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("the page has its inline script");
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(script.as_bytes()));
        // The one inline script by its hash, and one file by its full address: the draw's
        // verifier, for the results page (never `'self'`, which would allow any of ours).
        let verifier = "https://giveaways.example.org/verify-draw.js";
        assert_eq!(scripts, format!("'sha256-{hash}' {verifier}"), "{policy}");

        // The widget: the same, but framable by any site.
        let (headers, _) = get(&http, &server, "/embed/demo").await;
        assert!(headers.contains_key("strict-transport-security"));
        let policy = csp(&headers);
        assert_eq!(directive(&policy, "frame-ancestors"), None, "{policy}");
        assert!(directive(&policy, "script-src")
            .unwrap()
            .starts_with("'sha256-"));
        assert_eq!(directive(&policy, "base-uri"), Some("'none'"));

        // Hydrated pages: Leptos's scripts carry the nonce the header names.
        let headers = scripts_carry_the_nonce(&http, &server, "/login").await;
        assert!(headers.contains_key("strict-transport-security"));
        // The home page runs no script at all, under the admin pages' policy (never framed).
        let (headers, html) = get(&http, &server, "/").await;
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(directive(&csp(&headers), "frame-ancestors"), Some("'none'"));
        server.stop().await;
    }
);

both_databases!(an_http_address_gets_no_hsts, |url: String| async move {
    let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
    let http = client();
    for path in ["/c/demo", "/embed/demo", "/"] {
        let (headers, _) = get(&http, &server, path).await;
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
    server.stop().await;
});

both_databases!(
    state_changing_requests_from_another_origin_are_refused,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let http = client();
        let whoami = |origin: Option<&'static str>| {
            let mut request = http.post(server.url("/api/whoami"));
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send()
        };
        let enter = |origin: Option<&'static str>| {
            let mut request = http
                .post(server.url("/c/demo/enter"))
                .form(&[("website", "")]);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send()
        };
        let ours: &'static str = Box::leak(server.base.clone().into_boxed_str());

        let refused = whoami(Some("https://evil.example")).await.unwrap();
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("another site"));
        assert_eq!(whoami(Some("null")).await.unwrap().status(), 403);
        assert_eq!(whoami(Some(ours)).await.unwrap().status(), 200);
        assert_eq!(whoami(None).await.unwrap().status(), 200);

        let refused = enter(Some("https://evil.example")).await.unwrap();
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("another site"));
        // Same port, other host: another origin too.
        assert_eq!(
            enter(Some("http://evil.example")).await.unwrap().status(),
            403
        );
        assert_eq!(enter(Some(ours)).await.unwrap().status(), 303);
        assert_eq!(enter(None).await.unwrap().status(), 303);
        // A sandboxed frame or a privacy setting sends `null`: an entry is still possible.
        assert_eq!(enter(Some("null")).await.unwrap().status(), 303);
        assert_eq!(
            http.post(server.url("/embed/demo/enter"))
                .header("origin", ours)
                .form(&[("website", "")])
                .send()
                .await
                .unwrap()
                .status(),
            303
        );

        // Meta posts webhooks server to server: its signature is the check, not an Origin.
        let body = br#"{"object":"page","entry":[]}"#.to_vec();
        let signature = app::messenger::webhook::sign(
            &app::secrets::Secret::new(app::settings::SANDBOX_APP_SECRET),
            &body,
        );
        let webhook = http
            .post(server.url("/webhooks/messenger"))
            .header("origin", "https://evil.example")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(webhook.status(), 200);
        // Reads are never refused.
        let read = http
            .get(server.url("/c/demo"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        server.stop().await;
    }
);
