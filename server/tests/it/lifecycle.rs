//! The campaign lifecycle rules (issue #14, finding 3): edits that would lose entrants or notices
//! are refused with a reason beside the field or the button, and notices reach the people the
//! campaign's changes and Meta's late webhooks would otherwise leave out. Each test drives the
//! real server functions against the sandbox on both databases; jobs and webhooks are driven by
//! hand (`run_once`, `process_pending`), never waited for.

use crate::support::{eventually, Admin, Demo, BAKERY, BOOKS};
use app::campaigns::{rules::FieldErrors, Campaign, Lifecycle, SaveOutcome};
use app::db::now_ms;
use app::messenger::inbox;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

async fn campaign(http: &Admin<'_>, id: &str) -> Campaign {
    let (status, body) = http.call("get_campaign", &[("id", id)]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"))
}

/// The editor's text for an instant, in the campaign's zone (the demo's is UTC).
fn local(ms: i64) -> String {
    app::campaigns::store::to_local(ms, "UTC")
}

fn refused(status: u16, body: &str) -> FieldErrors {
    assert_eq!(status, 200, "{body}");
    match serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}")) {
        SaveOutcome::Invalid(errors) => errors,
        other => panic!("{other:?}"),
    }
}

/// `user` taps Get Started with `reference`, at `ago_ms` before now by Meta's clock, and the
/// server processes the webhook (however late it processes it: that is the point).
async fn answer(ctx: &Demo, user: &str, reference: &str, ago_ms: i64) {
    let sent = ctx
        .control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": user, "page": "sunnybakery", "kind": "get_started", "ref": reference, "ago_ms": ago_ms }),
        )
        .await;
    let psid = sent["psid"].as_str().unwrap().to_string();
    let processed = format!(
        "SELECT COUNT(*) FROM webhook_events WHERE sender_id = '{psid}' AND processed_at IS NOT NULL"
    );
    let processed = processed.as_str();
    eventually(&format!("{user}'s event to be processed"), || async move {
        inbox::process_pending(ctx.state()).await.unwrap();
        ctx.scalar(processed).await > 0
    })
    .await;
}

/// Until `user`'s confirmation message was sent: it goes last, after anything else the
/// confirmation queues.
async fn confirmation_sent(ctx: &Demo, user: &str) {
    let psid = ctx.psid(user).await;
    let sent = format!(
        "SELECT COUNT(*) FROM outgoing_messages o JOIN subscribers s ON s.id = o.subscriber_id
         WHERE s.psid = '{psid}' AND o.kind = 'confirmation' AND o.status <> 'queued'"
    );
    let sent = sent.as_str();
    eventually(
        &format!("{user}'s confirmation to be sent"),
        || async move { ctx.scalar(sent).await > 0 },
    )
    .await;
}

async fn entry_status(ctx: &Demo, reference: &str) -> String {
    let nonce = app::entries::refs::nonce_of(reference).unwrap().to_string();
    sqlx::query_scalar("SELECT status FROM entries WHERE ref_nonce = $1")
        .bind(nonce)
        .fetch_one(&ctx.server.state.db)
        .await
        .unwrap()
}

async fn ends_at(ctx: &Demo) -> i64 {
    ctx.scalar(&format!(
        "SELECT ends_at FROM campaigns WHERE id = '{}'",
        ctx.campaign
    ))
    .await
}

both_databases!(
    a_started_campaign_or_one_with_entries_keeps_its_page,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let server = &ctx.server;
        let http = ctx.login_as("admin").await;
        // The admin runs a second Page, connected: moving there is otherwise a valid choice.
        http.connect_page(BOOKS).await;

        // The demo started three days ago: every entrant's PSID belongs to the Sunny Bakery.
        let demo = campaign(&http, &ctx.campaign).await;
        assert_eq!(demo.lifecycle_now, Lifecycle::Live);
        let mut form = demo.form.clone();
        form.page_id = BOOKS.into();
        let (status, body) = http.save(Some(&ctx.campaign), &form).await;
        let errors = refused(status, &body);
        assert!(
            errors["page_id"].contains("its Page can no longer change"),
            "{errors:?}"
        );
        let page: String = sqlx::query_scalar("SELECT page_id FROM campaigns WHERE id = $1")
            .bind(&ctx.campaign)
            .fetch_one(&server.state.db)
            .await
            .unwrap();
        assert_eq!(page, ctx.page_row, "nothing stored changed");
        // The editor shows the Page as fixed, and says why.
        let html = editor_html(&http, &ctx.campaign).await;
        assert!(html.contains(r#"data-testid="lock-page""#), "{html}");
        assert!(html.contains("its Page can no longer change"), "{html}");

        // A draft nobody entered may move to another Page.
        let mut cake = crate::support::cake();
        let id = http.save_campaign(&cake).await;
        cake.page_id = BOOKS.into();
        let (status, body) = http.save(Some(&id), &cake).await;
        assert_eq!(status, 200, "{body}");
        assert!(!editor_html(&http, &id)
            .await
            .contains(r#"data-testid="lock-page""#));

        // One that someone entered may not, even if it has not started (an entry left from a
        // start that was moved): the entry's link and code belong to its Page.
        sqlx::query(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, created_at)
             VALUES ($1, $2, 'pending', $3, 'ABCDEF', $4)",
        )
        .bind(app::db::new_id())
        .bind(&id)
        .bind(app::db::new_id())
        .bind(now_ms())
        .execute(&server.state.db)
        .await
        .unwrap();
        cake.page_id = BAKERY.into();
        let (status, body) = http.save(Some(&id), &cake).await;
        let errors = refused(status, &body);
        assert!(errors["page_id"].contains("entered"), "{errors:?}");
        assert_eq!(campaign(&http, &id).await.form.page_id, BOOKS);
        ctx.stop().await;
    }
);

async fn editor_html(http: &Admin<'_>, id: &str) -> String {
    let response = http
        .http
        .get(http.app.url(&format!("/admin/campaigns/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

both_databases!(
    a_started_campaigns_start_cannot_move_past_now,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let http = ctx.login_as("admin").await;
        ctx.subscribe("alice", 0).await;
        let demo = campaign(&http, &ctx.campaign).await;
        let started = demo.starts_at_ms;

        // Saved as it stands (the editor's minutes drop the seconds): fine.
        let (status, body) = http.save(Some(&ctx.campaign), &demo.form).await;
        assert_eq!(status, 200, "{body}");

        // Into the future: entries would close until then. Refused beside the start.
        let mut form = demo.form.clone();
        form.starts_at = local(now_ms() + 2 * HOUR_MS);
        let (status, body) = http.save(Some(&ctx.campaign), &form).await;
        let errors = refused(status, &body);
        assert!(errors["starts_at"].contains("has started"), "{errors:?}");
        let again = campaign(&http, &ctx.campaign).await;
        assert_eq!(again.lifecycle_now, Lifecycle::Live);
        assert!(again.starts_at_ms <= started, "nothing stored changed");
        let html = editor_html(&http, &ctx.campaign).await;
        assert!(html.contains(r#"data-testid="lock-starts_at""#), "{html}");

        // Earlier is fine: the campaign stays open.
        form.starts_at = local(now_ms() - 5 * 24 * HOUR_MS);
        let (status, body) = http.save(Some(&ctx.campaign), &form).await;
        assert_eq!(status, 200, "{body}");
        ctx.stop().await;
    }
);

both_databases!(
    extending_an_ended_campaign_tells_its_new_entrants_at_the_new_end,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let http = ctx.login_as("admin").await;
        let notice = format!("end-{}", ctx.campaign);
        ctx.subscribe("alice", 0).await;
        let (status, body) = http.act(&ctx.campaign, "end_now").await;
        assert_eq!(status, 200, "{body}");
        ctx.settle().await;
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);

        // The admin gives it another hour: entries reopen.
        let mut form = campaign(&http, &ctx.campaign).await.form;
        form.ends_at = local(now_ms() + HOUR_MS);
        let (status, body) = http.save(Some(&ctx.campaign), &form).await;
        assert_eq!(status, 200, "{body}");
        let reopened = campaign(&http, &ctx.campaign).await;
        assert_eq!(reopened.lifecycle_now, Lifecycle::Live);
        ctx.subscribe("bob", 0).await;
        ctx.settle().await;
        assert!(
            ctx.received("bob", "giveaway has ended").await.is_empty(),
            "not before the new end"
        );

        // At the new end, Bob is told; Alice, told the first time, is not told again.
        let (status, body) = http.act(&ctx.campaign, "end_now").await;
        assert_eq!(status, 200, "{body}");
        ctx.settle().await;
        assert_eq!(ctx.received("bob", "giveaway has ended").await.len(), 1);
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);
        assert_eq!(ctx.outcome(&notice, "bob").await.0, "sent");
        assert_eq!(ctx.outcome(&notice, "alice").await.0, "sent");
        ctx.settle().await;
        assert_eq!(ctx.received("bob", "giveaway has ended").await.len(), 1);
        ctx.stop().await;
    }
);

both_databases!(
    a_campaign_anyone_entered_is_archived_not_deleted,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let server = &ctx.server;
        let http = ctx.login_as("admin").await;
        let entries = |campaign: String| {
            let db = server.state.db.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM entries WHERE campaign_id = $1")
                    .bind(campaign)
                    .fetch_one(&db)
                    .await
                    .unwrap()
            }
        };
        ctx.subscribe("alice", 0).await;
        // Scheduled again (its start moved ahead, as editors could before these rules), then
        // back to draft: a draft, with an entrant.
        sqlx::query("UPDATE campaigns SET starts_at = $1 WHERE id = $2")
            .bind(now_ms() + 24 * HOUR_MS)
            .bind(&ctx.campaign)
            .execute(&server.state.db)
            .await
            .unwrap();
        let (status, body) = http.act(&ctx.campaign, "unpublish").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = http.act(&ctx.campaign, "delete").await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("archive it instead"), "{body}");
        assert_eq!(entries(ctx.campaign.clone()).await, 1, "the entry is kept");
        // The editor offers no delete, and says why.
        let html = editor_html(&http, &ctx.campaign).await;
        assert!(!html.contains(r#"data-testid="action-delete""#), "{html}");
        assert!(html.contains(r#"data-testid="lock-delete""#), "{html}");
        let (status, body) = http.act(&ctx.campaign, "archive").await;
        assert_eq!(status, 200, "{body}");
        // Archived, it no longer changes: a save is refused with the reason, and the editor
        // says so instead of offering the form.
        let (status, body) = http.call("get_campaign", &[("id", &ctx.campaign)]).await;
        assert_eq!(status, 200, "{body}");
        let archived: app::campaigns::Campaign = serde_json::from_str(&body).unwrap();
        let mut renamed = archived.form.clone();
        renamed.title = "A new title".into();
        let (status, body) = http.save(Some(&ctx.campaign), &renamed).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains(app::campaigns::lifecycle::ARCHIVED_FIXED),
            "{body}"
        );
        let (_, body) = http.call("get_campaign", &[("id", &ctx.campaign)]).await;
        assert!(!body.contains("A new title"), "nothing changed: {body}");
        let html = editor_html(&http, &ctx.campaign).await;
        assert!(html.contains(r#"data-testid="lock-all""#), "{html}");

        // Stricter than confirmed entrants: a link handed out (pending entry) counts too.
        let mut cake = crate::support::cake();
        cake.starts_at = local(now_ms() - HOUR_MS);
        cake.ends_at = local(now_ms() + 24 * HOUR_MS);
        cake.time_zone = "UTC".into();
        let id = http.save_campaign(&cake).await;
        // Nobody entered yet: a draft goes away for good.
        let mut spare = cake.clone();
        spare.slug = "spare".into();
        let spare = http.save_campaign(&spare).await;
        let (status, body) = http.act(&spare, "delete").await;
        assert_eq!(status, 200, "{body}");

        let (status, body) = http.act(&id, "publish").await;
        assert_eq!(status, 200, "{body}");
        ctx.entry_ref("win-a-cake").await;
        sqlx::query("UPDATE campaigns SET starts_at = $1 WHERE id = $2")
            .bind(now_ms() + 12 * HOUR_MS)
            .bind(&id)
            .execute(&server.state.db)
            .await
            .unwrap();
        let (status, body) = http.act(&id, "unpublish").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = http.act(&id, "delete").await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(entries(id.clone()).await, 1);
        ctx.stop().await;
    }
);

both_databases!(
    a_confirmation_processed_after_the_end_notice_went_gets_it_too,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let notice = format!("end-{}", ctx.campaign);
        ctx.subscribe("alice", 0).await;
        // Bob and Carol open their m.me links while the campaign runs.
        let bob = ctx.entry_ref("demo").await;
        let carol = ctx.entry_ref("demo").await;
        ctx.end_now().await;
        ctx.settle().await;
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);

        // Bob tapped Get Started a minute before the end; Meta's webhook comes after the notice
        // went out. He is entered, and told like everyone else.
        let ago = now_ms() - ends_at(&ctx).await + 60_000;
        answer(&ctx, "bob", &bob, ago).await;
        assert_eq!(entry_status(&ctx, &bob).await, "confirmed");
        confirmation_sent(&ctx, "bob").await;
        ctx.settle().await;
        assert_eq!(ctx.received("bob", "giveaway has ended").await.len(), 1);
        assert_eq!(ctx.outcome(&notice, "bob").await.0, "sent");
        let recipients = ctx
            .scalar(&format!(
                "SELECT recipients FROM notices WHERE id = '{notice}'"
            ))
            .await;
        assert_eq!(recipients, 2);

        // Carol tapped after the end: not entered, as before, and not told.
        answer(&ctx, "carol", &carol, 0).await;
        assert_eq!(entry_status(&ctx, &carol).await, "pending");
        ctx.settle().await;
        assert!(ctx.received("carol", "giveaway has ended").await.is_empty());
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);
        ctx.stop().await;
    }
);

both_databases!(
    end_notice_messages_not_yet_sent_wait_for_the_new_end,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let server = &ctx.server;
        let http = ctx.login_as("admin").await;
        let notice = format!("end-{}", ctx.campaign);
        ctx.subscribe("alice", 0).await;
        let (status, body) = http.act(&ctx.campaign, "end_now").await;
        assert_eq!(status, 200, "{body}");
        // The notice is fanned out, but its Page's sender has not reached Alice yet.
        let fanned = app::notices::fanout::start(&server.state, &notice)
            .await
            .unwrap();
        assert_eq!(fanned, None);
        assert_eq!(ctx.outcome(&notice, "alice").await.0, "queued");

        // Extended meanwhile: she is not told "ended" while it is open again.
        let mut form = campaign(&http, &ctx.campaign).await.form;
        form.ends_at = local(now_ms() + HOUR_MS);
        let (status, body) = http.save(Some(&ctx.campaign), &form).await;
        assert_eq!(status, 200, "{body}");
        let reopened = campaign(&http, &ctx.campaign).await;
        assert_eq!(reopened.end_notice.map(|s| s.as_str()), Some("scheduled"));
        ctx.settle().await;
        assert!(ctx.received("alice", "giveaway has ended").await.is_empty());
        // A run of its job that was already under way finds it not due until the new end.
        let fanned = app::notices::fanout::start(&server.state, &notice)
            .await
            .unwrap();
        assert_eq!(fanned, Some(reopened.ends_at_ms));

        // At the new end she is told, once.
        let (status, body) = http.act(&ctx.campaign, "end_now").await;
        assert_eq!(status, 200, "{body}");
        ctx.settle().await;
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);
        ctx.settle().await;
        assert_eq!(ctx.received("alice", "giveaway has ended").await.len(), 1);
        ctx.stop().await;
    }
);
