//! Issue #18, alerts: each raised by a fault set through the sandbox (or the product's own
//! state) and cleared once it is fixed; one POST to `ALERT_WEBHOOK_URL` per new alert (retried
//! when the tool fails); who sees them.

use crate::entrants::{envelope, event};
use crate::support::{Demo, Tool, BAKERY};
use app::alerts::{check_now, notify, Alert, AlertKind};
use app::db::now_ms;
use serde_json::json;

async fn alerts(admin: &crate::support::Admin<'_>, campaign: Option<&str>) -> Vec<Alert> {
    let form: Vec<(&str, &str)> = campaign.map(|c| ("campaign_id", c)).into_iter().collect();
    let (status, body) = admin.call("my_alerts", &form).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A round of checks finds nothing wrong any more: every alert the admin saw is cleared.
async fn all_clear(state: &app::state::AppState, admin: &crate::support::Admin<'_>) {
    check_now(state).await.unwrap();
    let left = alerts(admin, None).await;
    assert!(left.is_empty(), "{left:?}");
}

fn kinds(list: &[Alert]) -> Vec<AlertKind> {
    list.iter().map(|a| a.kind).collect()
}

/// The demo Page's token stops working at Meta.
async fn revoke_bakery(demo: &Demo) {
    let state = demo.state();
    let token = app::pages::store::page_token(&state.db, &state.token_cipher, BAKERY)
        .await
        .unwrap()
        .unwrap();
    demo.control(
        reqwest::Method::POST,
        "tokens/revoke",
        json!({ "access_token": token.expose() }),
    )
    .await;
}

both_databases!(
    a_revoked_token_raises_one_alert_told_once_and_reconnecting_clears_it,
    |url: String| async move {
        let tool = Tool::start().await;
        let hook = tool.url("/chat");
        let demo = Demo::start(&url, &[("ALERT_WEBHOOK_URL", hook.as_str())]).await;
        let state = demo.state();
        let healthy = check_now(state).await.unwrap();
        assert!(healthy.is_empty(), "a healthy start: {healthy:?}");

        revoke_bakery(&demo).await;
        // The chat tool fails once: the alert is told again later, once.
        tool.answer(&[500]);
        let new = check_now(state).await.unwrap();
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(notify::send_due(state).await.unwrap(), 0);
        assert_eq!(tool.received().len(), 1);
        sqlx::query("UPDATE alerts SET notify_at = 0")
            .execute(demo.db())
            .await
            .unwrap();
        assert_eq!(notify::send_due(state).await.unwrap(), 1);
        // Still wrong at the next round: nothing new, nothing told again.
        let again = check_now(state).await.unwrap();
        assert!(again.is_empty(), "{again:?} after {new:?}");
        assert_eq!(notify::send_due(state).await.unwrap(), 0);
        let told = tool.received();
        assert_eq!(told.len(), 2);
        let text = told[1].json()["text"].as_str().unwrap().to_string();
        assert!(
            text.contains("Facebook no longer accepts Sunny Bakery's access"),
            "{text}"
        );

        let admin = demo.login_as("admin").await;
        let shown = alerts(&admin, None).await;
        assert_eq!(kinds(&shown), vec![AlertKind::Token]);
        assert_eq!(shown[0].facebook_page_id.as_deref(), Some(BAKERY));
        assert!(shown[0].message.contains("reconnect the Page"));
        // On the campaign the token's banner says it (asked of Meta live), not an alert.
        assert!(alerts(&admin, Some(&demo.campaign)).await.is_empty());
        // Someone who manages no such Page sees nothing of it.
        let stranger = demo.login_as("bob").await;
        assert!(alerts(&stranger, None).await.is_empty());

        // The admin reconnects: the next round clears it, and nothing is told of a clearing.
        let (status, body) = admin
            .call("connect_page", &[("facebook_page_id", BAKERY)])
            .await;
        assert_eq!(status, 200, "{body}");
        all_clear(state, &admin).await;
        assert_eq!(notify::send_due(state).await.unwrap(), 0);
        assert_eq!(tool.received().len(), 2);
        demo.stop().await;
    }
);

both_databases!(
    paused_sends_a_refused_template_silent_webhooks_and_a_poor_reach_each_raise_and_clear,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let state = demo.state();
        let admin = demo.login_as("admin").await;
        demo.subscribe("alice", 0).await;
        all_clear(state, &admin).await;

        // Sends paused by a Page-level error at Meta: the admin sends again.
        app::pages::paused::pause(
            demo.db(),
            &app::pages::PageRowId::from(demo.page_row.as_str()),
            "(#368) blocked",
        )
        .await
        .unwrap();
        // Meta refuses the utility template.
        demo.sandbox_settings(json!({ "template_outcome": "REJECTED" }))
            .await;
        let (status, body) = admin
            .call("retry_template", &[("facebook_page_id", BAKERY)])
            .await;
        assert_eq!(status, 200, "{body}");
        // Meta's review answers by webhook.
        demo.settle().await;
        // An entry handed out 40 minutes ago, still pending, and no webhook from the Page since
        // (neither an event kept nor a receipt applied).
        for sql in [
            "DELETE FROM webhook_events",
            "UPDATE pages SET receipts_received_at = NULL",
        ] {
            sqlx::query(sql).execute(demo.db()).await.unwrap();
        }
        let (entry, _) = demo.open_entry("demo").await;
        let entry_id = entry.rsplit('/').next().unwrap().to_string();
        sqlx::query("UPDATE entries SET created_at = $1 WHERE id = $2")
            .bind(now_ms() - 40 * 60_000)
            .bind(&entry_id)
            .execute(demo.db())
            .await
            .unwrap();
        // Alice last wrote two days ago: outside the window, and the template is refused.
        sqlx::query("UPDATE subscribers SET last_interaction_at = $1")
            .bind(now_ms() - 48 * 3_600_000)
            .execute(demo.db())
            .await
            .unwrap();
        check_now(state).await.unwrap();
        let mut shown = kinds(&alerts(&admin, None).await);
        shown.sort_by_key(|k| k.as_str());
        assert_eq!(
            shown,
            vec![
                AlertKind::Paused,
                AlertKind::Reach,
                AlertKind::Template,
                AlertKind::Webhooks
            ]
        );
        let on_campaign = alerts(&admin, Some(&demo.campaign)).await;
        assert_eq!(on_campaign.len(), 4, "{on_campaign:?}");
        let reach = on_campaign
            .iter()
            .find(|a| a.kind == AlertKind::Reach)
            .unwrap();
        assert!(
            reach.message.contains("would reach 0 of 1 entrants"),
            "{reach:?}"
        );
        // A read receipt comes from the Page: its webhooks still arrive, though receipts are
        // applied on arrival and not kept.
        let psid = demo.psid("alice").await;
        let t = now_ms();
        let receipt = envelope(vec![event(&psid, t, json!({ "read": { "watermark": t } }))]);
        assert_eq!(demo.post_webhook(&receipt, None).await, 200);
        check_now(state).await.unwrap();
        let shown = kinds(&alerts(&admin, None).await);
        assert!(!shown.contains(&AlertKind::Webhooks), "{shown:?}");
        // Silent again, for the rest of the test.
        sqlx::query("UPDATE pages SET receipts_received_at = NULL")
            .execute(demo.db())
            .await
            .unwrap();
        check_now(state).await.unwrap();
        assert!(kinds(&alerts(&admin, None).await).contains(&AlertKind::Webhooks));

        // Fixed one by one, each clears at the next round.
        let (status, body) = admin
            .call("resume_page", &[("facebook_page_id", BAKERY)])
            .await;
        assert_eq!(status, 200, "{body}");
        // Meta approves the template after an appeal (its review answers by webhook).
        let name: String = sqlx::query_scalar("SELECT name FROM page_templates")
            .fetch_one(demo.db())
            .await
            .unwrap();
        demo.control(
            reqwest::Method::PATCH,
            &format!("templates/sunnybakery/{name}"),
            json!({ "status": "APPROVED" }),
        )
        .await;
        demo.settle().await;
        // Alice writes (a webhook arrives, and she is inside the window again).
        demo.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": "alice", "page": "sunnybakery", "kind": "message", "text": "hello" }),
        )
        .await;
        demo.settle().await;
        all_clear(state, &admin).await;
        demo.stop().await;
    }
);

both_databases!(
    a_missing_utility_permission_is_named_with_its_fix_and_clears_once_granted,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let state = demo.state();
        let admin = demo.login_as("admin").await;
        demo.subscribe("alice", 0).await;
        all_clear(state, &admin).await;

        // Alice last wrote two days ago, and the Page lost pages_utility_messaging: the notice
        // has no way to reach her.
        sqlx::query("UPDATE subscribers SET last_interaction_at = $1")
            .bind(now_ms() - 48 * 3_600_000)
            .execute(demo.db())
            .await
            .unwrap();
        app::pages::store::set_utility_permission(demo.db(), &demo.page_row, false)
            .await
            .unwrap();
        check_now(state).await.unwrap();
        let on_campaign = alerts(&admin, Some(&demo.campaign)).await;
        // The cause, not also the share it costs.
        assert_eq!(kinds(&on_campaign), vec![AlertKind::Permission]);
        let alert = &on_campaign[0];
        assert!(
            alert
                .message
                .contains("1 entrant last wrote to Sunny Bakery over 24 hours ago")
                && alert.message.contains("pages_utility_messaging"),
            "{alert:?}"
        );
        assert_eq!(alert.kind.action(), Some(app::alerts::AlertAction::Grant));
        // Its button is Facebook's dialog asking again, on the campaign's page.
        let html = admin
            .page_text(&format!("/admin/campaigns/{}", demo.campaign))
            .await;
        assert!(
            html.contains(
                r#"href="/auth/facebook?rerequest=1" rel="external" data-testid="alert-action""#
            ),
            "{html}"
        );

        // Granted again: the next round clears it.
        app::pages::store::set_utility_permission(demo.db(), &demo.page_row, true)
            .await
            .unwrap();
        all_clear(state, &admin).await;
        demo.stop().await;
    }
);

both_databases!(
    an_app_unsubscribed_from_the_page_is_alerted_and_reconnecting_clears_it,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let state = demo.state();
        let admin = demo.login_as("admin").await;
        all_clear(state, &admin).await;

        // Someone removes the app from the Page's settings at Facebook: its webhook
        // subscription goes, with no entry waiting yet.
        let token = app::pages::store::page_token(&state.db, &state.token_cipher, BAKERY)
            .await
            .unwrap()
            .unwrap();
        let removed = crate::support::client()
            .delete(demo.url(&format!(
                "/sandbox/graph/v25.0/{BAKERY}/subscribed_apps?access_token={}",
                token.expose()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(removed.status(), 200);
        check_now(state).await.unwrap();
        let shown = alerts(&admin, None).await;
        assert_eq!(kinds(&shown), vec![AlertKind::Webhooks], "{shown:?}");
        assert!(
            shown[0]
                .message
                .contains("subscription to the Page was removed"),
            "{shown:?}"
        );

        // Reconnecting subscribes the app again; the next round clears the alert.
        let (status, body) = admin
            .call("connect_page", &[("facebook_page_id", BAKERY)])
            .await;
        assert_eq!(status, 200, "{body}");
        all_clear(state, &admin).await;
        demo.stop().await;
    }
);
