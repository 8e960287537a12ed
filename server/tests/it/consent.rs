//! Issue #17, rules and consent: a campaign without rules cannot be published; the entry page
//! says that entering accepts the rules and carries Meta's two statements with the Page's name;
//! the rules have their own page; a campaign that asks for a ticked box refuses an entry without.

use crate::support::{cake, client, App, Demo};

both_databases!(
    a_campaign_needs_rules_to_publish_and_eligibility_is_checked,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let admin = app.login_as("admin").await;
        admin.connect_page(crate::support::BAKERY).await;
        let mut form = cake();
        form.rules = "  ".into();
        let id = admin.save_campaign(&form).await;
        let (status, body) = admin.act(&id, "publish").await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("official rules"), "{body}");
        // Eligibility fields: errors under their fields, nothing stored.
        for (age, countries, field) in [
            ("12", "", "min_age"),
            ("abc", "", "min_age"),
            ("18", "France", "countries"),
        ] {
            let mut bad = cake();
            bad.min_age = age.into();
            bad.countries = countries.into();
            let (status, body) = admin.save(Some(&id), &bad).await;
            assert!(body.contains(field), "{age} {countries}: {status} {body}");
        }
        let mut good = cake();
        good.min_age = "18".into();
        good.countries = "fr, be".into();
        good.consent_checkbox = true;
        let (status, body) = admin.save(Some(&id), &good).await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = admin.call("get_campaign", &[("id", &id)]).await;
        assert!(
            body.contains("\"min_age\":\"18\"") && body.contains("\"countries\":\"FR, BE\""),
            "{body}"
        );
        let (status, body) = admin.act(&id, "publish").await;
        assert_eq!(status, 200, "{body}");
        app.stop().await;
    }
);

both_databases!(
    the_entry_page_carries_the_rules_and_facebooks_statements_and_asks_consent,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let html = demo.page_text("/c/demo").await;
        assert!(html.contains("Sunny Bakery"), "{html}");
        assert!(html.contains("It is in no way sponsored, endorsed or administered by, or associated with, Facebook."), "{html}");
        assert!(html.contains("completely releases Facebook"), "{html}");
        assert!(
            html.contains("By tapping Subscribe on Messenger you accept the"),
            "{html}"
        );
        assert!(html.contains("href=\"/c/demo/rules\""), "{html}");
        let rules = demo.page_text("/c/demo/rules").await;
        assert!(
            rules.contains("Official rules") && rules.contains("nobody really wins"),
            "{rules}"
        );
        assert!(rules.contains("associated with, Facebook"), "{rules}");

        // The organiser asks for a ticked box, with eligibility.
        sqlx::query("UPDATE campaigns SET consent_checkbox = 1, min_age = 18, countries = 'FR,BE' WHERE id = $1")
            .bind(&demo.campaign)
            .execute(demo.db())
            .await
            .unwrap();
        demo.state().showcase.forget_all();
        let html = demo.page_text("/c/demo").await;
        assert!(
            html.contains("name=\"accept\"") && html.contains("required"),
            "{html}"
        );
        assert!(
            html.contains("Open to people aged 18 or over living in FR, BE."),
            "{html}"
        );
        let visitor = client();
        let refused = visitor
            .post(demo.url("/c/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("Accept the rules"));
        assert_eq!(demo.scalar("SELECT COUNT(*) FROM entries").await, 0);
        let accepted = visitor
            .post(demo.url("/c/demo/enter"))
            .form(&[("website", ""), ("accept", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 303);
        assert_eq!(demo.scalar("SELECT COUNT(*) FROM entries").await, 1);
        demo.stop().await;
    }
);
