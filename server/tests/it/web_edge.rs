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
