//! Notices outside the 24-hour window against a sandbox that refuses what Meta refuses (issue
//! #13), on both databases: login and connection without `pages_utility_messaging`, granting it
//! later, Meta refusing the template field, the template, or its creation, the wait limit and
//! "send the not-sent ones again", and Get Started hidden by ice breakers.

use crate::support::{call, connect, location, log_in, through_dialog, Demo, BAKERY};
use app::db::now_ms;
use app::pages::{ManagedPage, OutsideWindow};
use reqwest::Method;
use serde_json::{json, Value};

const HOUR_MS: i64 = 3_600_000;

async fn bakery(ctx: &Demo) -> ManagedPage {
    let (status, body) = call(&ctx.http, &ctx.server, "my_pages", &[]).await;
    assert_eq!(status, 200, "{body}");
    let pages: Vec<ManagedPage> = serde_json::from_str(&body).unwrap();
    pages
        .into_iter()
        .find(|p| p.facebook_page_id == BAKERY)
        .expect("the admin sees Sunny Bakery")
}

/// The end notice's id.
async fn end_notice(ctx: &Demo) -> String {
    sqlx::query_scalar("SELECT id FROM notices WHERE campaign_id = $1 AND kind = 'end_notice'")
        .bind(&ctx.campaign)
        .fetch_one(&ctx.server.state.db)
        .await
        .unwrap()
}

/// Graph calls the product made whose path contains `part`.
async fn requests(ctx: &Demo, part: &str) -> Vec<Value> {
    let log = ctx
        .control(Method::GET, &format!("requests?path={part}"), json!({}))
        .await;
    log["data"].as_array().unwrap().clone()
}

/// Ada logs in through the dialog (`start`), declining `decline`; she is let in whatever the
/// optional permission.
async fn log_in_as_ada(ctx: &Demo, start: &str, decline: &[&str]) {
    let callback =
        through_dialog(&ctx.http, &ctx.server, start, "admin", decline, "continue").await;
    assert_eq!(
        location(ctx.http.get(&callback).send().await.unwrap()).await,
        (303, "/admin".into())
    );
}

fn subscribed_fields(request: &Value) -> String {
    request["query"]["subscribed_fields"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

both_databases!(
    without_the_utility_permission_login_and_connection_work_and_granting_it_later_sends_the_waiting_notices,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // Ada declines the optional permission: she is logged in all the same.
        log_in_as_ada(&ctx, "/auth/facebook", &["pages_utility_messaging"]).await;
        let body = connect(&ctx.http, &ctx.server, BAKERY).await;
        assert!(body.contains("pages_utility_messaging"), "{body}");
        let subscribed = requests(&ctx, "subscribed_apps").await;
        let last = subscribed.last().unwrap();
        assert_eq!(last["status"], 200);
        assert!(
            !subscribed_fields(last).contains("message_template_status_update"),
            "{last}"
        );
        assert_eq!(
            bakery(&ctx).await.outside_window,
            Some(OutsideWindow::NeedsPermission)
        );

        ctx.subscribe("alice", 0).await;
        ctx.subscribe("bob", 30 * HOUR_MS).await;
        ctx.end_now().await;
        ctx.settle().await;
        let notice = end_notice(&ctx).await;
        let (status, path, _, _) = ctx.outcome(&notice, "alice").await;
        assert_eq!((status.as_str(), path.as_deref()), ("sent", Some("update")));
        let (status, _, reason, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!(status, "queued", "Bob waits for a path that can carry it");
        assert!(
            reason.unwrap_or_default().contains("pages_utility_messaging"),
            "the reason names what is missing"
        );
        assert!(
            requests(&ctx, "message_templates").await.is_empty(),
            "no template is asked for without the permission"
        );

        // From the Pages panel: asked again, and granted this time. Meta approves the template in
        // its creation answer, as it usually does: that alone frees Bob's notice.
        ctx.control(
            Method::PATCH,
            "settings",
            json!({"template_approval_delay_ms": 0}),
        )
        .await;
        log_in_as_ada(&ctx, "/auth/facebook?rerequest=1", &[]).await;
        let subscribed = requests(&ctx, "subscribed_apps").await;
        assert!(subscribed_fields(subscribed.last().unwrap())
            .contains("message_template_status_update"));
        ctx.settle().await;
        assert_eq!(bakery(&ctx).await.outside_window, Some(OutsideWindow::Ready));
        let (status, path, _, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!((status.as_str(), path.as_deref()), ("sent", Some("utility")));
        let got = ctx.received("bob", "There is news about the giveaway").await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["messaging_type"], "UTILITY");
        let alice = ctx.received("alice", "has ended").await;
        assert_eq!(alice.last().unwrap()["messaging_type"], "UPDATE");
        ctx.stop().await;
    }
);

both_databases!(
    a_refused_template_ends_its_notices_as_not_sent_with_metas_reason_and_they_go_once_fixed,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        log_in(&ctx.http, &ctx.server, "admin").await;
        ctx.control(
            Method::PATCH,
            "settings",
            json!({"template_outcome": "REJECTED", "template_rejection_reason": "INVALID_FORMAT"}),
        )
        .await;
        ctx.subscribe("bob", 30 * HOUR_MS).await;
        ctx.end_now().await;
        ctx.settle().await;
        let notice = end_notice(&ctx).await;
        let (status, _, reason, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!(status, "queued");
        let reason = reason.unwrap_or_default();
        assert!(
            reason.contains("refused") && reason.contains("INVALID_FORMAT"),
            "{reason}"
        );
        match bakery(&ctx).await.outside_window {
            Some(OutsideWindow::Refused(why)) => assert!(why.contains("INVALID_FORMAT"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Not asked again at every round: a refusal waits for its backoff.
        let creations = requests(&ctx, "message_templates")
            .await
            .iter()
            .filter(|r| r["method"] == "POST")
            .count();
        ctx.settle().await;
        assert_eq!(
            requests(&ctx, "message_templates")
                .await
                .iter()
                .filter(|r| r["method"] == "POST")
                .count(),
            creations
        );

        // A day later it has waited long enough: not sent, with Meta's reason.
        sqlx::query(
            "UPDATE outgoing_messages SET created_at = created_at - $1, next_attempt_at = NULL
             WHERE notice_id = $2",
        )
        .bind(25 * HOUR_MS)
        .bind(&notice)
        .execute(&ctx.server.state.db)
        .await
        .unwrap();
        // The Page's sender wakes when the first wait runs out, as it would a day later.
        app::notices::sender::arm(&ctx.server.state.db, &ctx.page_row)
            .await
            .unwrap();
        ctx.settle().await;
        let (status, _, reason, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!(status, "not_sent");
        assert!(reason.unwrap_or_default().contains("INVALID_FORMAT"));

        // The admin fixes it (Meta approves now), tries again, and sends the not-sent again.
        ctx.control(
            Method::PATCH,
            "settings",
            json!({"template_outcome": "APPROVED"}),
        )
        .await;
        let (status, body) = call(
            &ctx.http,
            &ctx.server,
            "retry_template",
            &[("facebook_page_id", BAKERY)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        ctx.settle().await;
        assert_eq!(
            bakery(&ctx).await.outside_window,
            Some(OutsideWindow::Ready)
        );
        let (status, body) = call(
            &ctx.http,
            &ctx.server,
            "resend_not_sent",
            &[("campaign_id", &ctx.campaign)],
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "1"));
        ctx.settle().await;
        let (status, path, _, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!(
            (status.as_str(), path.as_deref()),
            ("sent", Some("utility"))
        );
        ctx.stop().await;
    }
);

both_databases!(
    a_template_meta_will_not_create_is_a_page_state_with_its_words_tried_again_later,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // The demo Page was connected with the permission; Ada now declines it at Meta, and the
        // Page has not been reconnected since: Meta refuses to create the template.
        log_in_as_ada(&ctx, "/auth/facebook", &["pages_utility_messaging"]).await;
        ctx.subscribe("bob", 30 * HOUR_MS).await;
        ctx.end_now().await;
        ctx.settle().await;
        let creations = |log: Vec<Value>| log.iter().filter(|r| r["method"] == "POST").count();
        assert_eq!(creations(requests(&ctx, "message_templates").await), 1);
        match bakery(&ctx).await.outside_window {
            Some(OutsideWindow::CreationFailed(words)) => {
                assert!(words.contains("(#10)") || words.contains("(10)"), "{words}")
            }
            other => panic!("{other:?}"),
        }
        let notice = end_notice(&ctx).await;
        let (status, _, reason, _) = ctx.outcome(&notice, "bob").await;
        assert_eq!(status, "queued");
        assert!(reason.unwrap_or_default().contains("refused to create"));
        ctx.settle().await;
        assert_eq!(
            creations(requests(&ctx, "message_templates").await),
            1,
            "tried again after its backoff, not at every round"
        );
        let next: i64 = sqlx::query_scalar("SELECT next_try_at FROM page_templates")
            .fetch_one(&ctx.server.state.db)
            .await
            .unwrap();
        assert!(next > now_ms() + 50_000, "a minute later at the earliest");
        ctx.stop().await;
    }
);

both_databases!(
    meta_refusing_the_template_field_still_connects_the_page,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        log_in_as_ada(&ctx, "/auth/facebook", &["pages_utility_messaging"]).await;
        // Our record says granted (an older login), Meta's token says no.
        sqlx::query(
            "UPDATE admins SET granted_scopes = granted_scopes || ',pages_utility_messaging'",
        )
        .execute(&ctx.server.state.db)
        .await
        .unwrap();
        let body = connect(&ctx.http, &ctx.server, BAKERY).await;
        assert!(
            body.contains("1929002"),
            "Meta's words reach the admin: {body}"
        );
        let subscribed = requests(&ctx, "subscribed_apps").await;
        let n = subscribed.len();
        assert!(n >= 2);
        assert_eq!(subscribed[n - 2]["error_subcode"], 1929002);
        assert!(subscribed_fields(&subscribed[n - 2]).contains("message_template_status_update"));
        assert_eq!(subscribed[n - 1]["status"], 200);
        assert!(!subscribed_fields(&subscribed[n - 1]).contains("message_template_status_update"));
        let page = bakery(&ctx).await;
        assert_eq!(page.health, app::pages::Health::Healthy);
        assert_eq!(page.outside_window, Some(OutsideWindow::NeedsPermission));
        ctx.stop().await;
    }
);

both_databases!(
    ice_breakers_hiding_get_started_are_reported,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        log_in(&ctx.http, &ctx.server, "admin").await;
        let minted = ctx
            .control(
                Method::POST,
                "tokens",
                json!({"user": "admin", "page": "sunnybakery", "long_lived": true,
                       "scopes": ["pages_show_list", "pages_manage_metadata", "pages_messaging"]}),
            )
            .await;
        let page_token = minted["page_access_token"].as_str().unwrap().to_string();
        let profile_url = ctx.server.url(&format!(
            "/sandbox/graph/{}/me/messenger_profile",
            app::settings::DEFAULT_GRAPH_VERSION
        ));
        let set = ctx
            .http
            .post(&profile_url)
            .query(&[("access_token", &page_token)])
            .json(&json!({"ice_breakers": [{"call_to_actions": [{"question": "Opening hours?", "payload": "HOURS"}], "locale": "default"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());
        let body = connect(&ctx.http, &ctx.server, BAKERY).await;
        assert!(body.contains("Ice breakers"), "{body}");
        assert!(bakery(&ctx)
            .await
            .get_started_warning
            .is_some_and(|w| w.contains("Ice breakers")));

        // Removed: the next check says nothing any more.
        let removed = ctx
            .http
            .delete(&profile_url)
            .query(&[
                ("access_token", page_token.as_str()),
                ("fields", "[\"ice_breakers\"]"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(removed.status(), 200);
        let (status, body) = call(
            &ctx.http,
            &ctx.server,
            "check_page",
            &[("facebook_page_id", BAKERY)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(bakery(&ctx).await.get_started_warning, None);
        connect(&ctx.http, &ctx.server, BAKERY).await;
        ctx.stop().await;
    }
);
