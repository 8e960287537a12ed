//! The public pages (entry, embed, an entry's own page, the error page) render what organisers
//! typed as text, never as markup: Leptos escapes by construction, and this guards it.

use crate::support::{client, TestServer};

/// What an organiser (or someone who took over their account) could type into a campaign.
const SCRIPT: &str = "<script>alert(1)</script>";

async fn page(http: &reqwest::Client, server: &TestServer, path: &str) -> (u16, String) {
    let r = http.get(server.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// No markup of the organiser's survived on `path`: their script is text and their quotes
/// did not end an attribute; the page's own inline script is its only one.
fn assert_escaped(path: &str, html: &str) {
    assert!(!html.contains(SCRIPT), "{path}: {html}");
    assert!(!html.contains("\" onerror=\""), "{path}: {html}");
    assert!(!html.contains("<b>bold</b>"), "{path}: {html}");
    assert_eq!(html.matches("<script").count(), 1, "{path}: {html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{path}: {html}"
    );
}

both_databases!(
    what_organisers_type_is_shown_as_text,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let http = client();
        sqlx::query(
            "UPDATE campaigns SET title = $1, description = $2, prize = $3, rules = $4, image_url = $5
             WHERE slug = 'demo'",
        )
        .bind(format!("Win \"big\" {SCRIPT}"))
        .bind(format!("Line one {SCRIPT}\nLine 'two' <b>bold</b>"))
        .bind(format!("A {SCRIPT} prize"))
        .bind(format!("Rule {SCRIPT}"))
        .bind("https://example.test/a.png\" onerror=\"alert(1)")
        .execute(&server.state.db)
        .await
        .unwrap();
        server.state.showcase.forget_all();

        for path in ["/c/demo", "/embed/demo"] {
            let (status, html) = page(&http, &server, path).await;
            assert_eq!(status, 200, "{path}");
            assert_escaped(path, &html);
            // Title (document and heading), description, prize and rules.
            assert_eq!(
                html.matches("&lt;script&gt;alert(1)&lt;/script&gt;")
                    .count(),
                5,
                "{path}: {html}"
            );
            // The organiser's line breaks are kept, as breaks.
            assert!(html.contains("&lt;/script&gt;<br>Line "), "{path}: {html}");
        }

        for form in ["/c/demo/enter", "/embed/demo/enter"] {
            let r = http
                .post(server.url(form))
                .form(&[("website", "")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303, "{form}");
            let entry = r.headers()["location"].to_str().unwrap().to_string();
            let (status, html) = page(&http, &server, &entry).await;
            assert_eq!(status, 200, "{entry}");
            assert_escaped(&entry, &html);
            assert!(html.contains("data-testid=\"fallback-code\""), "{html}");
        }
        server.stop().await;
    }
);

both_databases!(
    a_pending_entry_says_how_long_its_code_works_and_hides_an_expired_one,
    |url: String| async move {
        let server = TestServer::start_with(
            &url,
            &[("DEMO_CAMPAIGN", "on"), ("FALLBACK_CODE_HOURS", "6")],
        )
        .await;
        let http = client();
        let r = http
            .post(server.url("/c/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let entry = r.headers()["location"].to_str().unwrap().to_string();
        let (_, html) = page(&http, &server, &entry).await;
        assert!(html.contains("data-testid=\"fallback-code\""), "{html}");
        assert!(html.contains("it works for 5 more hours"), "{html}");

        // Six hours later Messenger refuses the code: the page no longer offers it.
        let id = entry.rsplit('/').next().unwrap().to_string();
        sqlx::query("UPDATE entries SET created_at = created_at - $1 WHERE id = $2")
            .bind(6 * 3_600_000_i64)
            .bind(&id)
            .execute(&server.state.db)
            .await
            .unwrap();
        let (status, html) = page(&http, &server, &entry).await;
        assert_eq!(status, 200);
        assert!(!html.contains("data-testid=\"fallback-code\""), "{html}");
        assert!(html.contains("data-testid=\"code-expired\""), "{html}");
        server.stop().await;
    }
);

both_databases!(
    the_privacy_policy_says_what_this_deployment_keeps_and_every_public_page_links_it,
    |url: String| async move {
        let server = TestServer::start_with(
            &url,
            &[
                ("DEMO_CAMPAIGN", "on"),
                ("OPERATOR_NAME", "Sunny Bakery Ltd <b>"),
                ("OPERATOR_CONTACT", "privacy@sunny.example"),
                ("RETENTION_DAYS", "14"),
                ("OPT_OUT_WORDS", "stop,arret"),
            ],
        )
        .await;
        let http = client();
        let (status, html) = page(&http, &server, "/privacy").await;
        assert_eq!(status, 200, "{html}");
        for said in [
            "Sunny Bakery Ltd &lt;b&gt;",
            "runs the giveaways on this site",
            "privacy@sunny.example",
            "erased 14 days after",
            "Send STOP, ARRET to the Page",
        ] {
            assert!(html.contains(said), "{said}: {html}");
        }
        assert!(!html.contains("<script"), "{html}");
        for path in [
            "/c/demo",
            "/embed/demo",
            "/c/demo/results",
            "/c/nothing-here",
        ] {
            let (_, html) = page(&http, &server, path).await;
            assert!(
                html.contains("href=\"/privacy\""),
                "{path} links the privacy policy: {html}"
            );
        }
        server.stop().await;
        // Without the operator's settings, the page still says whom to ask.
        let server = TestServer::start(&url).await;
        let (_, html) = page(&http, &server, "/privacy").await;
        assert!(
            html.contains("write to the Facebook Page that ran the giveaway"),
            "{html}"
        );
        assert!(html.contains("erased 30 days after"), "{html}");
        server.stop().await;
    }
);

both_databases!(
    when_the_copy_of_a_campaign_ages_one_request_reads_it_again_and_the_others_use_the_copy,
    |url: String| async move {
        // Background jobs off: a draw they make drops every copy, as any change does.
        let server =
            TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on"), ("BACKGROUND_JOBS", "off")])
                .await;
        let (db, showcase) = (&server.state.db, &server.state.showcase);
        let title = |c: Option<std::sync::Arc<app::campaigns::store::Published>>| {
            c.expect("the demo is published").title.clone()
        };
        let before = title(showcase.find(db, "demo").await.unwrap());
        sqlx::query("UPDATE campaigns SET title = 'Changed elsewhere' WHERE slug = 'demo'")
            .execute(db)
            .await
            .unwrap();
        // Fresh: the copy is used.
        assert_eq!(title(showcase.find(db, "demo").await.unwrap()), before);
        // Aged: one request reads the database again, and while it does (held here by a pool
        // with every connection taken), the others use the copy instead of all asking the
        // database at the same moment.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let mut held = Vec::new();
        for _ in 0..db.options().get_max_connections() {
            held.push(db.acquire().await.unwrap());
        }
        use futures::FutureExt;
        let mut reading = Box::pin(showcase.find(db, "demo"));
        assert!(
            (&mut reading).now_or_never().is_none(),
            "it waits for a connection"
        );
        for _ in 0..19 {
            let at_once = showcase.find(db, "demo").now_or_never();
            let found = at_once.expect("the copy, without waiting for the database");
            assert_eq!(title(found.unwrap()), before);
        }
        drop(held);
        assert_eq!(title(reading.await.unwrap()), "Changed elsewhere");
        // Then the new copy for everyone.
        assert_eq!(
            title(showcase.find(db, "demo").await.unwrap()),
            "Changed elsewhere"
        );
        server.stop().await;
    }
);
