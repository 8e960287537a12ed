//! Issue #18, counting without tracking: views, taps, started and finished entries per source
//! (the entry page, the widget with its site, a QR code) and per `utm_source`, no cookie and
//! nothing personal stored for it, and the admin's hours and days in their own time zone.

use crate::support::{client, Demo};
use app::db::now_ms;
use app::insight::{Insight, SourceRow, QUARTER_MS};
use serde_json::json;

fn insight(body: &str) -> Insight {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn row<'a>(rows: &'a [SourceRow], label: &str) -> &'a SourceRow {
    rows.iter()
        .find(|r| r.label == label)
        .unwrap_or_else(|| panic!("no row {label} in {rows:?}"))
}

/// A visitor's browser sends the form of the page at `page`: the `ref` of the pending entry's
/// Messenger link.
async fn tap(demo: &Demo, form: &str, page: &str) -> String {
    demo.send_entry_form(form, Some(page)).await.1
}

async fn get_started(demo: &Demo, user: &str, reference: String) {
    demo.control(
        reqwest::Method::POST,
        "interactions",
        json!({ "user": user, "page": "sunnybakery", "kind": "get_started", "ref": reference }),
    )
    .await;
    demo.settle().await;
}

both_databases!(
    the_funnel_is_counted_by_source_site_and_tag_without_a_cookie,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        // Views: the entry page from a newsletter, the widget on a shop's site.
        for path in [
            "/c/demo?utm_source=Newsletter",
            "/embed/demo?site=https%3A%2F%2Fshop.example",
        ] {
            let r = client().get(demo.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert!(
                r.headers().get("set-cookie").is_none(),
                "a view sets no cookie: {path}"
            );
        }
        // Alice enters by the page itself, Bob by the newsletter's page and then its QR code,
        // Carol in the widget on the shop's site, tagged by the shop's link.
        demo.subscribe("alice", 0).await;
        let bob = tap(&demo, "/c/demo/enter", "/c/demo?utm_source=newsletter").await;
        get_started(&demo, "bob", format!("q_{bob}")).await;
        let carol = tap(
            &demo,
            "/embed/demo/enter",
            "/embed/demo?site=https%3A%2F%2Fshop.example&utm_source=insta",
        )
        .await;
        get_started(&demo, "carol", carol).await;

        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let (status, body) = admin
            .call(
                "campaign_insight",
                &[("id", id), ("zone", "Europe/Paris"), ("by_day", "false")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let seen = insight(&body);
        assert_eq!(seen.zone, "Europe/Paris");
        let page = row(&seen.sources, "Entry page");
        assert_eq!(
            (
                page.counts.views,
                page.counts.taps,
                page.counts.started,
                page.counts.confirmed
            ),
            (1, 2, 2, 1),
            "{page:?}"
        );
        // Bob finished by the QR code what the page started.
        let qr = row(&seen.sources, "QR code");
        assert_eq!((qr.counts.started, qr.counts.confirmed), (0, 1));
        let shop = row(&seen.sources, "Widget on https://shop.example");
        assert_eq!(
            (
                shop.counts.views,
                shop.counts.taps,
                shop.counts.started,
                shop.counts.confirmed
            ),
            (1, 1, 1, 1),
            "{shop:?}"
        );
        let newsletter = row(&seen.tags, "newsletter");
        assert_eq!(
            (
                newsletter.counts.views,
                newsletter.counts.taps,
                newsletter.counts.confirmed
            ),
            (1, 1, 1)
        );
        assert_eq!(row(&seen.tags, "insta").counts.confirmed, 1);
        assert_eq!(
            (seen.totals.views, seen.totals.taps, seen.totals.confirmed),
            (2, 3, 3)
        );
        let charted: i64 = seen.entries.iter().map(|b| b.confirmed).sum();
        assert_eq!(charted, 3);
        // Drawn on the server, named, and in words for those who do not see it.
        assert!(seen.funnel_svg.contains("<title id=\"funnel-t\">"));
        assert!(seen.funnel_svg.contains("Entered in Messenger: 3"));
        assert!(seen.entries_svg.contains("Entries per hour (Europe/Paris)"));
        // Alice's and the others' confirmations were sent: the messages chart has a day.
        assert!(!seen.messages.is_empty() && seen.messages.iter().any(|d| d.counts.sent > 0));

        // The zone is remembered for the pages the server renders.
        let (_, body) = admin
            .call("campaign_insight", &[("id", id), ("by_day", "true")])
            .await;
        assert_eq!(insight(&body).zone, "Europe/Paris");
        let (status, body) = admin
            .call(
                "campaign_insight",
                &[("id", id), ("zone", "Mars/Olympus"), ("by_day", "true")],
            )
            .await;
        assert_eq!(status, 400);
        assert!(body.contains("Mars/Olympus"), "{body}");

        // What is stored for it: counts by campaign, quarter and where from, nothing else.
        let origins: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT origin, utm_source FROM funnel_counts ORDER BY origin, utm_source",
        )
        .fetch_all(demo.db())
        .await
        .unwrap();
        assert_eq!(
            origins,
            vec![
                ("".into(), "".into()),
                ("".into(), "newsletter".into()),
                ("https://shop.example".into(), "".into()),
                ("https://shop.example".into(), "insta".into()),
            ]
        );

        // Another Page's admin learns nothing.
        let stranger = demo.login_as("bob").await;
        let (status, _) = stranger
            .call("campaign_insight", &[("id", id), ("by_day", "false")])
            .await;
        assert!(status == 403 || status == 404, "{status}");
        demo.stop().await;
    }
);

both_databases!(
    hours_and_days_are_the_admins_across_midnight,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        // One entry ten minutes before midnight in New York, two at midnight (today there).
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let today = jiff::Timestamp::from_millisecond(now_ms())
            .unwrap()
            .to_zoned(tz)
            .start_of_day()
            .unwrap();
        let midnight = today.timestamp().as_millisecond();
        let yesterday = today.yesterday().unwrap();
        for (at, started) in [(midnight - 600_000, 1), (midnight, 2)] {
            sqlx::query(
                "INSERT INTO funnel_counts (campaign_id, quarter, source, origin, utm_source,
                                            started)
                 VALUES ($1, $2, 'page', '', '', $3)",
            )
            .bind(&demo.campaign)
            .bind(at.div_euclid(QUARTER_MS))
            .bind(started)
            .execute(demo.db())
            .await
            .unwrap();
        }
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        // The buckets that hold entries, as (label, started).
        let busy = |by_day: &'static str| {
            let admin = &admin;
            async move {
                let (_, body) = admin
                    .call(
                        "campaign_insight",
                        &[("id", id), ("zone", "America/New_York"), ("by_day", by_day)],
                    )
                    .await;
                insight(&body)
                    .entries
                    .into_iter()
                    .filter(|b| b.started > 0)
                    .map(|b| (b.label, b.started))
                    .collect::<Vec<(String, i64)>>()
            }
        };
        assert_eq!(
            busy("false").await,
            vec![
                (yesterday.strftime("%b %-d 23:00").to_string(), 1),
                (today.strftime("%b %-d 00:00").to_string(), 2),
            ]
        );
        assert_eq!(
            busy("true").await,
            vec![
                (yesterday.strftime("%b %-d").to_string(), 1),
                (today.strftime("%b %-d").to_string(), 2),
            ]
        );
        demo.stop().await;
    }
);

both_databases!(
    the_campaign_list_says_where_each_campaign_stands_with_its_entries_by_day,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        demo.subscribe("alice", 0).await;
        demo.subscribe("bob", 0).await;
        let admin = demo.login_as("admin").await;

        let (status, body) = admin.call("campaign_trends", &[]).await;
        assert_eq!(status, 200, "{body}");
        let trends: Vec<app::insight::Trend> = serde_json::from_str(&body).unwrap();
        let trend = trends
            .iter()
            .find(|t| t.campaign_id == demo.campaign)
            .unwrap_or_else(|| panic!("no trend for the demo: {trends:?}"));
        assert_eq!(trend.per_day.len(), app::insight::TREND_DAYS as usize);
        assert_eq!(trend.per_day.last(), Some(&2), "today: {:?}", trend.per_day);
        assert_eq!(trend.per_day.iter().sum::<i64>(), 2);
        assert!(
            trend
                .sparkline_svg
                .contains("oldest first: 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2</title>"),
            "{}",
            trend.sparkline_svg
        );

        let (status, body) = admin.call("list_campaigns", &[]).await;
        assert_eq!(status, 200, "{body}");
        let list: Vec<app::campaigns::Campaign> = serde_json::from_str(&body).unwrap();
        let demo_campaign = list.iter().find(|c| c.id == demo.campaign).unwrap();
        assert_eq!(demo_campaign.entered, 2);
        assert_eq!(demo_campaign.page_name, "Sunny Bakery");
        assert!(
            demo_campaign.when.starts_with("Ends in "),
            "{}",
            demo_campaign.when
        );
        // The Page's picture, from Graph's public address (the sandbox draws one).
        let picture = client()
            .get(&demo_campaign.page_picture)
            .send()
            .await
            .unwrap();
        assert_eq!(picture.status(), 200, "{}", demo_campaign.page_picture);
        assert_eq!(picture.headers()["content-type"], "image/svg+xml");
        assert!(picture.text().await.unwrap().contains(">S</text>"));

        // The list on /admin, rendered on the server: state, time left, entries, sparkline.
        let html = admin.page_text("/admin").await;
        let row_at = html
            .find(&format!("data-campaign-id=\"{}\"", demo.campaign))
            .unwrap_or_else(|| panic!("{html}"));
        let row = &html[row_at..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains(r#"data-stage="live""#), "{row}");
        assert!(row.contains("Ends in "), "{row}");
        assert!(
            row.contains(r#"data-testid="campaign-entered">2<"#),
            "{row}"
        );
        assert!(row.contains("<polyline"), "{row}");
        demo.stop().await;
    }
);

both_databases!(
    polled_figures_and_alerts_go_by_stored_rights_without_asking_facebook_each_time,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let accounts = || async {
            demo.control(reqwest::Method::GET, "requests?path=accounts", json!({}))
                .await["data"]
                .as_array()
                .unwrap()
                .len()
        };
        // Logging in read the admin's Pages (their rights) from Graph once.
        let before = accounts().await;
        assert!(before > 0, "the login's reading is logged");
        for _ in 0..3 {
            let (status, body) = admin
                .call("campaign_insight", &[("id", id), ("by_day", "false")])
                .await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = admin.call("my_alerts", &[("campaign_id", id)]).await;
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(accounts().await, before, "no Graph call per poll");

        // Someone who does not manage the Bakery gets neither.
        let stranger = demo.login_as("moderator").await;
        let (status, body) = stranger
            .call("campaign_insight", &[("id", id), ("by_day", "false")])
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("You do not manage this campaign."), "{body}");
        let (status, body) = stranger.call("my_alerts", &[("campaign_id", id)]).await;
        assert_eq!((status, body.as_str()), (200, "[]"));
        demo.stop().await;
    }
);
