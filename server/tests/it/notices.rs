//! Notices end to end against the in-process sandbox, on both databases: scheduling with the
//! campaign, the window x tag era x path matrix, every error class Meta can answer, two
//! instances sharing one database, and a notice that fell due while no scheduler ran. Jobs are
//! driven with `notices::run_once` (the background scheduler is off), never by sleeping.

use crate::support::{client, eventually, until_some, Demo, TestServer};
use app::db::now_ms;
use app::messenger::inbox;
use app::notices::{self, schedule};
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

/// What only the notice tests need of the demo.
impl Demo {
    pub(crate) async fn update_notice(&self, text: &str) -> String {
        let mut tx = self.server.state.db.begin().await.unwrap();
        let id = schedule::update_notice(&mut tx, &self.campaign, text)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// `count` more entrants of the demo campaign (`{prefix}1`...), inside their window: people
    /// who tapped Get Started in the sandbox, written as the inbox would have left them (no
    /// confirmation sent, so the Page's send figures start clean).
    async fn crowd(&self, count: usize, prefix: &str) {
        let people = self
            .control(
                reqwest::Method::POST,
                "people",
                json!({ "page": "sunnybakery", "count": count, "prefix": prefix }),
            )
            .await;
        let db = &self.server.state.db;
        let now = now_ms();
        for person in people["people"].as_array().unwrap() {
            let subscriber = app::db::new_id();
            sqlx::query(
                "INSERT INTO subscribers (id, page_id, psid, first_name, last_interaction_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&subscriber)
            .bind(&self.page_row)
            .bind(person["psid"].as_str().unwrap())
            .bind(person["user"].as_str().unwrap())
            .bind(now)
            .execute(db)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, subscriber_id,
                                      created_at, confirmed_at)
                 VALUES ($1, $2, 'confirmed', $3, $4, $5, $6, $6)",
            )
            .bind(app::db::new_id())
            .bind(&self.campaign)
            .bind(app::db::new_id())
            .bind(app::db::new_id())
            .bind(&subscriber)
            .bind(now)
            .execute(db)
            .await
            .unwrap();
        }
    }

    /// The Page's Send API calls as the sandbox counted them since the last `clear_sends`.
    async fn send_calls(&self) -> i64 {
        let sends = self
            .control(reqwest::Method::GET, "pages/sunnybakery/sends", json!({}))
            .await;
        sends["calls"].as_i64().unwrap()
    }

    async fn clear_sends(&self) {
        self.control(
            reqwest::Method::DELETE,
            "pages/sunnybakery/sends",
            json!({}),
        )
        .await;
    }

    /// How many of the notice's messages are in `status` (delivered and read count as sent).
    async fn count(&self, notice: &str, status: &str) -> i64 {
        let statuses = match status {
            "sent" => "'sent', 'delivered', 'read'".to_string(),
            other => format!("'{other}'"),
        };
        self.scalar(&format!(
            "SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = '{notice}' AND status IN ({statuses})"
        ))
        .await
    }

    /// (paused_reason, paused_kind, token_status) of the demo Page.
    async fn pause(&self) -> (Option<String>, Option<String>, String) {
        sqlx::query_as("SELECT paused_reason, paused_kind, token_status FROM pages WHERE id = $1")
            .bind(&self.page_row)
            .fetch_one(&self.server.state.db)
            .await
            .unwrap()
    }

    /// Sends a first notice and waits until Meta's review of the Page's utility template (created
    /// on the first send) has come back and been processed: its webhook frees the Page's waiting
    /// messages, retries included, which would otherwise add a try at a moment of its choosing.
    async fn settle_template(&self) {
        self.update_notice("Warm-up").await;
        self.settle().await;
        eventually(
            "the utility template's review to be processed",
            || async move {
                inbox::process_pending(self.state()).await.unwrap();
                let pending = self
                    .scalar("SELECT COUNT(*) FROM page_templates WHERE status = 'PENDING'")
                    .await;
                let unprocessed = self
                    .scalar("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL")
                    .await;
                pending == 0 && unprocessed == 0
            },
        )
        .await;
    }

    /// Makes every waiting retry due now, and wakes the Page's sender: one `run_once` is then one
    /// more try (the tests that use it set a retry step of an hour, so nothing retries by itself).
    async fn retry_now(&self) {
        let db = &self.server.state.db;
        sqlx::query(
            "UPDATE outgoing_messages SET next_attempt_at = $1
             WHERE status = 'queued' AND next_attempt_at IS NOT NULL",
        )
        .bind(now_ms())
        .execute(db)
        .await
        .unwrap();
        notices::sender::arm(db, &self.page_row).await.unwrap();
    }
}

both_databases!(
    the_end_notice_follows_the_campaign,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        let key = format!("notice:end-{}", ctx.campaign);
        let job = |ctx: &Demo| {
            let key = key.clone();
            let db = ctx.server.state.db.clone();
            async move {
                sqlx::query_as::<_, (String, i64)>(
                    "SELECT status, run_at FROM jobs WHERE unique_key = $1",
                )
                .bind(key)
                .fetch_one(&db)
                .await
                .unwrap()
            }
        };
        let ends_at = ctx
            .scalar(&format!(
                "SELECT ends_at FROM campaigns WHERE id = '{}'",
                ctx.campaign
            ))
            .await;
        // The demo was published at start-up: its end notice is due at its end.
        assert_eq!(job(&ctx).await, ("pending".to_string(), ends_at));
        ctx.subscribe("alice", 0).await;
        assert_eq!(
            notices::run_once(&ctx.server.state).await.unwrap(),
            0,
            "nothing due yet"
        );

        // Moving the end moves the notice; archiving cancels it; it never went.
        ctx.end_now().await;
        let (status, run_at) = job(&ctx).await;
        assert_eq!(status, "pending");
        assert!(run_at <= now_ms());
        sqlx::query("UPDATE campaigns SET publish_state = 'archived' WHERE id = $1")
            .bind(&ctx.campaign)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        let mut tx = ctx.server.state.db.begin().await.unwrap();
        schedule::sync_end_notice(&mut tx, &ctx.campaign)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(job(&ctx).await.0, "cancelled");
        ctx.settle().await;
        assert!(ctx.received("alice", "has ended").await.is_empty());

        // Published again, it goes once, and running the jobs again sends nothing more.
        sqlx::query("UPDATE campaigns SET publish_state = 'published' WHERE id = $1")
            .bind(&ctx.campaign)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        ctx.end_now().await;
        ctx.settle().await;
        ctx.settle().await;
        let notice = format!("end-{}", ctx.campaign);
        let (status, path, _, _) = ctx.outcome(&notice, "alice").await;
        assert_eq!((status.as_str(), path.as_deref()), ("sent", Some("update")));
        assert_eq!(job(&ctx).await.0, "done");
        assert_eq!(
            ctx.received("alice", "giveaway has ended").await.len(),
            1,
            "exactly one end notice"
        );

        // The Page's figures (the Pages panel) count the same messages as its only campaign's,
        // and name Alice behind today's "sent".
        use app::notices::{stats, Filter, Scope};
        let db = &ctx.server.state.db;
        let today = now_ms() / (24 * HOUR_MS);
        let page = Scope::Page(ctx.page_row.clone());
        let campaign = Scope::Campaign(ctx.campaign.clone());
        let by_page = stats::days(db, &page, &Filter::default()).await.unwrap();
        let by_campaign = stats::days(db, &campaign, &Filter::default())
            .await
            .unwrap();
        assert_eq!(by_page, by_campaign);
        let sent_today = by_page.iter().find(|d| d.day == today).unwrap().counts.sent;
        assert!(sent_today >= 1, "{by_page:?}");
        let sent = Filter {
            status: Some("sent".into()),
            day: Some(today),
            ..Filter::default()
        };
        let people = stats::recipients(db, &page, &sent).await.unwrap();
        assert_eq!(people.len() as i64, sent_today);
        let alice = ctx.psid("alice").await;
        assert!(people
            .iter()
            .any(|p| p.psid == alice && p.kind == "end_notice"));
        ctx.stop().await;
    }
);

both_databases!(window_tag_era_and_path_matrix, |url: String| async move {
    let ctx = Demo::start(&url, &[]).await;
    ctx.subscribe("alice", 0).await; // inside the window
    ctx.subscribe("bob", 30 * HOUR_MS).await; // outside it
                                              // (era, notice path, tag fallback) -> (inside, outside) as (status, path, reason part)
    let cases = [
        (
            "2026",
            "automatic",
            1,
            ("sent", "update", ""),
            ("sent", "utility", ""),
        ),
        (
            "legacy",
            "automatic",
            1,
            ("sent", "update", ""),
            ("sent", "utility", ""),
        ),
        (
            "legacy",
            "tag",
            1,
            ("sent", "update", ""),
            ("sent", "tag", ""),
        ),
        (
            "legacy",
            "tag",
            0,
            ("sent", "update", ""),
            ("sent", "tag", ""),
        ),
        (
            "2026",
            "tag",
            1,
            ("sent", "update", ""),
            ("sent", "utility", "tag retired by Meta"),
        ),
        (
            "2026",
            "tag",
            0,
            ("sent", "update", ""),
            ("failed", "", "tag retired by Meta"),
        ),
    ];
    for (era, path, fallback, inside, outside) in cases {
        ctx.control(
            reqwest::Method::PATCH,
            "settings",
            json!({ "tag_era": era }),
        )
        .await;
        sqlx::query("UPDATE campaigns SET notice_path = $1, tag_fallback = $2 WHERE id = $3")
            .bind(path)
            .bind(fallback as i64)
            .bind(&ctx.campaign)
            .execute(&ctx.server.state.db)
            .await
            .unwrap();
        let notice = ctx
            .update_notice(&format!("Update {era} {path} {fallback}"))
            .await;
        ctx.settle().await;
        for (user, (status, wire, reason)) in [("alice", inside), ("bob", outside)] {
            let got = ctx.outcome(&notice, user).await;
            let case = format!("{era}/{path}/fallback {fallback}/{user}: {got:?}");
            assert_eq!(got.0, status, "{case}");
            if !wire.is_empty() {
                assert_eq!(got.1.as_deref(), Some(wire), "{case}");
            }
            assert!(got.2.unwrap_or_default().contains(reason), "{case}");
            if status == "failed" {
                assert_eq!(got.3, Some(100), "{case}");
            }
        }
        let inside = ctx
            .received("alice", &format!("Update {era} {path} {fallback}"))
            .await;
        assert_eq!(inside[0]["messaging_type"], "UPDATE", "{era}/{path}");
        let delivered = ctx
            .received("bob", &format!("Update {era} {path} {fallback}"))
            .await;
        match outside.1 {
            "tag" => assert_eq!(delivered[0]["tag"], "CONFIRMED_EVENT_UPDATE"),
            "utility" => assert_eq!(delivered[0]["messaging_type"], "UTILITY"),
            _ => assert!(delivered.is_empty()),
        }
    }
    ctx.stop().await;
});

both_databases!(
    every_error_class_ends_in_its_documented_outcome,
    |url: String| async move {
        let ctx = Demo::start(&url, &[("SEND_MAX_ATTEMPTS", "3")]).await;
        for user in ["alice", "bob", "carol"] {
            ctx.subscribe(user, 0).await;
        }

        // Temporary errors: retried, then given up with the reason.
        ctx.page_knobs(json!({ "transient_error_rate": 1.0 })).await;
        let n = ctx.update_notice("transient").await;
        ctx.settle().await;
        let (status, _, reason, code) = ctx.outcome(&n, "alice").await;
        assert_eq!((status.as_str(), code), ("failed", Some(2)));
        assert!(reason.unwrap().contains("gave up after 3 tries"));
        ctx.page_knobs(json!({ "transient_error_rate": 0.0 })).await;

        // Throttling: never dropped; the Page waits and the notice goes once Meta lets it.
        ctx.page_knobs(json!({ "throttled": true, "throttle_code": 80006 }))
            .await;
        let n = ctx.update_notice("throttled").await;
        notices::run_once(&ctx.server.state).await.unwrap();
        let (status, _, reason, _) = ctx.outcome(&n, "alice").await;
        assert_eq!(status, "queued");
        assert!(reason.unwrap().contains("rate limited"));
        ctx.page_knobs(json!({ "throttled": false })).await;
        ctx.settle().await;
        assert_eq!(ctx.outcome(&n, "alice").await.0, "sent");

        // Page restricted: held back, not failed.
        ctx.page_knobs(json!({ "restricted": true })).await;
        let n = ctx.update_notice("restricted").await;
        notices::run_once(&ctx.server.state).await.unwrap();
        let (status, _, reason, _) = ctx.outcome(&n, "bob").await;
        assert_eq!(status, "queued");
        assert!(reason.unwrap().contains("restricted"));
        ctx.page_knobs(json!({ "restricted": false })).await;
        ctx.settle().await;
        assert_eq!(ctx.outcome(&n, "bob").await.0, "sent");

        // Blocked (551 / 1545041): failed, the subscriber marked, and skipped from then on.
        ctx.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": "carol", "page": "sunnybakery", "kind": "block" }),
        )
        .await;
        let n = ctx.update_notice("blocked").await;
        ctx.settle().await;
        let (status, _, _, code) = ctx.outcome(&n, "carol").await;
        assert_eq!((status.as_str(), code), ("failed", Some(551)));
        let n = ctx.update_notice("after the block").await;
        ctx.settle().await;
        let (status, _, reason, _) = ctx.outcome(&n, "carol").await;
        assert_eq!(status, "not_sent");
        assert!(reason.unwrap().contains("blocked"));

        // Token revoked (190): the Page pauses as "reconnect"; reconnecting resumes the notice.
        let state = &ctx.server.state;
        let token =
            app::pages::store::page_token(&state.db, &state.token_cipher, "101000000000001")
                .await
                .unwrap()
                .unwrap();
        ctx.control(
            reqwest::Method::POST,
            "tokens/revoke",
            json!({ "access_token": token.expose(), "subcode": 460 }),
        )
        .await;
        let n = ctx.update_notice("after the password change").await;
        ctx.settle().await;
        let (status, _, reason, _) = ctx.outcome(&n, "alice").await;
        assert_eq!(status, "queued");
        assert!(reason.unwrap().contains("reconnect"));
        let (paused, token_status): (Option<String>, String) =
            sqlx::query_as("SELECT paused_reason, token_status FROM pages WHERE id = $1")
                .bind(&ctx.page_row)
                .fetch_one(&state.db)
                .await
                .unwrap();
        assert!(paused.is_some());
        assert_eq!(token_status, "revoked");
        let fresh = ctx
            .control(
                reqwest::Method::POST,
                "tokens",
                json!({ "user": "admin", "page": "101000000000001", "long_lived": true,
                        "scopes": ["pages_show_list", "pages_manage_metadata", "pages_messaging", "pages_utility_messaging"] }),
            )
            .await;
        let account: app::messenger::graph::PageAccount = serde_json::from_value(json!({
            "id": "101000000000001", "name": "Sunny Bakery", "tasks": ["MODERATE", "MESSAGING"],
            "access_token": fresh["page_access_token"],
        }))
        .unwrap();
        let admin: String = sqlx::query_scalar("SELECT id FROM admins LIMIT 1")
            .fetch_one(&state.db)
            .await
            .unwrap();
        let secret = account.access_token().unwrap();
        app::pages::store::connect(&state.db, &state.token_cipher, &admin, &account, &secret)
            .await
            .unwrap();
        notices::sender::page_resumed(state, &ctx.page_row)
            .await
            .unwrap();
        ctx.settle().await;
        assert_eq!(ctx.outcome(&n, "alice").await.0, "sent");

        // Anything else permanent: failed with Meta's reason (a PSID Meta does not know).
        let n = ctx.update_notice("ghost").await;
        sqlx::query("UPDATE subscribers SET psid = '999' WHERE psid = $1")
            .bind(ctx.psid("bob").await)
            .execute(&state.db)
            .await
            .unwrap();
        ctx.settle().await;
        let failed = ctx
            .scalar(&format!(
                "SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = '{n}' AND status = 'failed' AND error_code = 100"
            ))
            .await;
        assert_eq!(failed, 1);
        ctx.stop().await;
    }
);

both_databases!(
    a_notice_due_while_no_scheduler_ran_goes_when_one_starts,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.subscribe("alice", 0).await;
        ctx.subscribe("bob", 0).await;
        ctx.end_now().await;
        // Nothing runs the jobs (BACKGROUND_JOBS=off): the notice waits, durably.
        let queued = ctx
            .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'notice' AND status = 'pending'")
            .await;
        assert_eq!(queued, 1);
        // A scheduler starts (as at server start-up) and finds it due.
        let worker = tokio::spawn(notices::worker(ctx.server.state.clone()));
        let seen = &ctx;
        eventually("the end notice to reach Alice and Bob", || async move {
            let ctx = seen;
            !ctx.received("bob", "has ended").await.is_empty()
                && !ctx.received("alice", "has ended").await.is_empty()
        })
        .await;
        worker.abort();
        assert_eq!(ctx.received("alice", "has ended").await.len(), 1);
        assert_eq!(ctx.received("bob", "has ended").await.len(), 1);
        ctx.stop().await;
    }
);

/// Two instances on one database (each with its own scheduler and pacers) share the jobs: every
/// subscriber gets the notice once.
#[tokio::test]
async fn two_instances_on_postgres_send_no_duplicate() {
    let url = crate::support::fresh_database("postgres").await;
    let key = "k".repeat(40);
    let ctx = Demo::start(&url, &[("SECRET_KEY", &key)]).await;
    for user in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        ctx.subscribe(user, 0).await;
    }
    // A second instance: same database and secret, sending to the first one's sandbox.
    let sandbox = ctx.server.url("/sandbox");
    let graph = format!("{sandbox}/graph");
    let www = format!("{sandbox}/www");
    let mme = format!("{sandbox}/m.me");
    let second = TestServer::start_with(
        &url,
        &[
            ("SECRET_KEY", &key),
            ("BACKGROUND_JOBS", "off"),
            ("FACEBOOK_APP_ID", app::settings::SANDBOX_APP_ID),
            ("FACEBOOK_APP_SECRET", app::settings::SANDBOX_APP_SECRET),
            ("FACEBOOK_SANDBOX", "off"),
            ("FACEBOOK_GRAPH_URL", &graph),
            ("FACEBOOK_WWW_URL", &www),
            ("FACEBOOK_MME_URL", &mme),
        ],
    )
    .await;
    for round in 0..3 {
        let text = format!("Round {round} of updates");
        ctx.update_notice(&text).await;
        let (a, b) = tokio::join!(
            notices::run_once(&ctx.server.state),
            notices::run_once(&second.state)
        );
        a.unwrap();
        b.unwrap();
        ctx.settle().await;
        for user in ["alice", "bob", "carol", "dave", "erin", "frank"] {
            assert_eq!(
                ctx.received(user, &text).await.len(),
                1,
                "{user}, round {round}"
            );
        }
    }
    second.stop().await;
    ctx.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Page-level errors, temporary errors and UPDATE vs RESPONSE (facts file §3, §4)
// ---------------------------------------------------------------------------------------------

/// Sends in flight at once in the tests below: the calls a Page-level error can cost are bounded
/// by it, whatever the number of subscribers.
const IN_FLIGHT: i64 = 4;

both_databases!(
    page_level_errors_pause_the_page_until_its_admin_resumes_it,
    |url: String| async move {
        let concurrency = IN_FLIGHT.to_string();
        let ctx = Demo::start(&url, &[("SEND_CONCURRENCY", &concurrency)]).await;
        ctx.crowd(40, "fan").await;
        ctx.settle_template().await;
        let admin = ctx.login_as("admin").await;
        let page = [("facebook_page_id", crate::support::BAKERY)];
        let cases = [
            (
                "368",
                "blocked for a policy violation (368): (#368) The action attempted has been deemed abusive or is otherwise disallowed",
            ),
            ("1", "(1): An unknown error occurred"),
            ("99", "(99): An unknown error occurred."),
            (
                "230",
                "(230): (#230) Requires pages_messaging permission to manage the object",
            ),
            (
                "10",
                "(10): (#10) Application does not have permission for this action",
            ),
            ("200", "(200): (#200) Permissions error"),
        ];
        for (round, (code, words)) in cases.into_iter().enumerate() {
            ctx.page_knobs(json!({ "send_error": code })).await;
            ctx.clear_sends().await;
            let text = format!("Update under fault {code}");
            let n = ctx.update_notice(&text).await;
            notices::run_once(&ctx.server.state).await.unwrap();
            let recipients = ctx
                .scalar(&format!(
                    "SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = '{n}'"
                ))
                .await;
            assert_eq!(recipients, 40, "{code}");

            // Paused with Meta's words, as a Page problem (the token is fine); nothing failed.
            let (reason, kind, token) = ctx.pause().await;
            let reason = reason.unwrap_or_else(|| panic!("{code}: the Page is not paused"));
            assert!(reason.contains(words), "{code}: {reason}");
            assert_eq!(kind.as_deref(), Some("page"), "{code}");
            assert_eq!(token, "valid", "{code}");
            assert_eq!(ctx.count(&n, "failed").await, 0, "{code}");
            assert_eq!(ctx.count(&n, "queued").await, 40, "{code}");
            // The sends under way ended; none followed them.
            let calls = ctx.send_calls().await;
            assert!(
                (1..=IN_FLIGHT).contains(&calls),
                "{code}: {calls} Send API calls for 40 subscribers"
            );
            // The admin reads it; nothing more goes, even with the fault gone, until they act.
            let (status, body) = admin.call("page_paused", &page).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                serde_json::from_str::<Option<String>>(&body)
                    .unwrap()
                    .as_deref(),
                Some(reason.as_str())
            );
            ctx.page_knobs(json!({ "send_error": null })).await;
            notices::run_once(&ctx.server.state).await.unwrap();
            assert_eq!(ctx.send_calls().await, calls, "{code}");
            assert_eq!(ctx.count(&n, "queued").await, 40, "{code}");

            if round == 0 {
                // A health check finds the token valid: the pause stays.
                let (status, body) = admin.call("check_page", &page).await;
                assert_eq!(status, 200, "{body}");
                assert_eq!(ctx.pause().await.1.as_deref(), Some("page"));
                // Only an admin of the Page may resume it.
                let other = ctx.login_as("moderator").await;
                let (status, _) = other.call("resume_page", &page).await;
                assert_eq!(status, 403);
                let (status, _) =
                    crate::support::call(&client(), &ctx.server, "resume_page", &page).await;
                assert_eq!(status, 401);
                assert!(ctx.pause().await.0.is_some());
            }

            let (status, body) = admin.call("resume_page", &page).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(ctx.pause().await, (None, None, "valid".to_string()));
            ctx.settle().await;
            assert_eq!(ctx.count(&n, "sent").await, 40, "{code}: everyone gets it");
            assert_eq!(ctx.received("fan7", &text).await.len(), 1, "{code}");
        }
        ctx.stop().await;
    }
);

both_databases!(
    a_page_level_error_on_a_confirmation_pauses_the_page_too,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.page_knobs(json!({ "send_error": "368" })).await;
        ctx.subscribe("alice", 0).await;
        // The inbox worker may still be sending it when the entry shows as confirmed.
        let confirmation = |user: &'static str| {
            let ctx = &ctx;
            async move {
                let psid = ctx.psid(user).await;
                let psid = &psid;
                until_some(
                    &format!("{user}'s confirmation to be tried"),
                    || async move {
                        sqlx::query_as::<_, (String, Option<String>)>(
                            "SELECT o.status, o.error_reason FROM outgoing_messages o
                         JOIN subscribers s ON s.id = o.subscriber_id
                         WHERE o.kind = 'confirmation' AND s.psid = $1",
                        )
                        .bind(psid)
                        .fetch_optional(ctx.db())
                        .await
                        .unwrap()
                        .filter(|(status, _)| status != "queued")
                    },
                )
                .await
            }
        };
        // Not sent, with the reason; the Page is paused for its notices as well.
        let (status, reason) = confirmation("alice").await;
        assert_eq!(status, "not_sent");
        assert!(reason
            .unwrap()
            .contains("blocked for a policy violation (368)"));
        let (paused, kind, _) = ctx.pause().await;
        assert!(paused.unwrap().contains("(#368)"));
        assert_eq!(kind.as_deref(), Some("page"));
        // While it is paused, no confirmation is even tried.
        ctx.page_knobs(json!({ "send_error": null })).await;
        ctx.clear_sends().await;
        ctx.subscribe("bob", 0).await;
        let (status, reason) = confirmation("bob").await;
        assert_eq!(status, "not_sent");
        assert!(reason.unwrap().starts_with("the Page is paused: "));
        assert_eq!(ctx.send_calls().await, 0);
        assert!(ctx.received("bob", "in the draw").await.is_empty());
        ctx.stop().await;
    }
);

both_databases!(
    temporary_errors_are_retried_then_failed_with_metas_words,
    |url: String| async move {
        // An hour between tries: each `retry_now` + `run_once` is exactly one more try.
        let ctx = Demo::start(
            &url,
            &[
                ("SEND_MAX_ATTEMPTS", "3"),
                ("SEND_RETRY_BASE_MS", "3600000"),
            ],
        )
        .await;
        for user in ["alice", "bob", "carol"] {
            ctx.subscribe(user, 0).await;
        }
        ctx.settle_template().await;

        // 1200 that does not clear: three tries, then failed with Meta's words.
        ctx.page_knobs(json!({ "send_error": "1200" })).await;
        let n = ctx.update_notice("temporary 1200").await;
        notices::run_once(&ctx.server.state).await.unwrap();
        for tries in 1..3 {
            let (status, _, reason, code) = ctx.outcome(&n, "alice").await;
            assert_eq!(
                (status.as_str(), code),
                ("queued", Some(1200)),
                "try {tries}"
            );
            assert!(reason.unwrap().ends_with("; retrying"));
            ctx.retry_now().await;
            notices::run_once(&ctx.server.state).await.unwrap();
        }
        let (status, _, reason, code) = ctx.outcome(&n, "alice").await;
        assert_eq!((status.as_str(), code), ("failed", Some(1200)));
        assert_eq!(
            reason.as_deref(),
            Some("temporary error at Meta (1200): (#1200) Temporary send message failure. Please try again later (gave up after 3 tries)")
        );
        assert_eq!(ctx.count(&n, "failed").await, 3);
        assert_eq!(
            ctx.pause().await.0,
            None,
            "a temporary error pauses nothing"
        );

        // 1200 that clears before the retry: sent, in the thread, no error left on it.
        let n = ctx.update_notice("temporary then fine").await;
        notices::run_once(&ctx.server.state).await.unwrap();
        assert_eq!(ctx.count(&n, "queued").await, 3);
        ctx.page_knobs(json!({ "send_error": null })).await;
        ctx.retry_now().await;
        notices::run_once(&ctx.server.state).await.unwrap();
        assert_eq!(ctx.count(&n, "sent").await, 3);
        let (_, _, reason, code) = ctx.outcome(&n, "alice").await;
        assert_eq!((reason, code), (None, None));
        assert_eq!(ctx.received("alice", "temporary then fine").await.len(), 1);

        // Someone who blocked the Page, answered with code 2: retried, failed, nothing paused.
        ctx.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": "carol", "page": "sunnybakery", "kind": "block" }),
        )
        .await;
        ctx.page_knobs(json!({ "blocked_as_code_2": true })).await;
        let n = ctx.update_notice("to a blocker").await;
        notices::run_once(&ctx.server.state).await.unwrap();
        assert_eq!(ctx.outcome(&n, "carol").await.0, "queued");
        for _ in 1..3 {
            ctx.retry_now().await;
            notices::run_once(&ctx.server.state).await.unwrap();
        }
        let (status, _, reason, code) = ctx.outcome(&n, "carol").await;
        assert_eq!((status.as_str(), code), ("failed", Some(2)));
        assert!(
            reason.as_deref().unwrap().contains(
                "(2): An unexpected error has occurred. Please retry your request later. (gave up after 3 tries)"
            ),
            "{reason:?}"
        );
        assert_eq!(ctx.outcome(&n, "alice").await.0, "sent");
        assert_eq!(ctx.outcome(&n, "bob").await.0, "sent");
        assert_eq!(ctx.pause().await.0, None, "one blocker pauses nothing");
        ctx.stop().await;
    }
);

both_databases!(
    a_notice_to_many_goes_in_batches_each_call_counted,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.crowd(40, "batch").await;
        ctx.settle_template().await;
        ctx.clear_sends().await;
        let n = ctx.update_notice("Batched news").await;
        ctx.settle().await;
        // Everyone got it once, each recorded with the message id Meta gave it.
        assert_eq!(ctx.count(&n, "sent").await, 40);
        for i in [1, 17, 40] {
            let person = format!("batch{i}");
            assert_eq!(
                ctx.received(&person, "Batched news").await.len(),
                1,
                "{person}"
            );
        }
        let distinct = ctx
            .scalar(&format!(
                "SELECT COUNT(DISTINCT message_id) FROM outgoing_messages WHERE notice_id = '{n}'"
            ))
            .await;
        assert_eq!(distinct, 40);
        // Forty calls against the Page's limit, most of them within batch requests: fewer
        // HTTP requests than messages.
        let sends = ctx
            .control(reqwest::Method::GET, "pages/sunnybakery/sends", json!({}))
            .await;
        assert_eq!(sends["calls"], 40, "{sends}");
        let (in_batches, batches) = (
            sends["in_batches"].as_i64().unwrap(),
            sends["batches"].as_i64().unwrap(),
        );
        assert!(in_batches >= 20 && batches < in_batches / 2, "{sends}");
        ctx.stop().await;
    }
);

both_databases!(
    with_send_batch_max_1_each_notice_call_goes_on_its_own,
    |url: String| async move {
        // The operator's way back to plain calls (`SEND_BATCH_MAX=1`).
        let ctx = Demo::start(&url, &[("SEND_BATCH_MAX", "1")]).await;
        ctx.crowd(20, "plain").await;
        ctx.settle_template().await;
        ctx.clear_sends().await;
        let n = ctx.update_notice("Plain news").await;
        ctx.settle().await;
        assert_eq!(ctx.count(&n, "sent").await, 20);
        let sends = ctx
            .control(reqwest::Method::GET, "pages/sunnybakery/sends", json!({}))
            .await;
        assert_eq!(sends["calls"], 20, "{sends}");
        assert_eq!(sends["batches"], 0, "{sends}");
        assert_eq!(sends["in_batches"], 0, "{sends}");
        ctx.stop().await;
    }
);

both_databases!(
    notices_go_as_update_and_confirmations_as_response,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.subscribe("alice", 0).await;
        // The inbox worker may still be sending it when the entry shows as confirmed.
        let seen = &ctx;
        let confirmation = until_some("Alice's confirmation in her chat", || async move {
            let ctx = seen;
            Some(ctx.received("alice", "in the draw").await).filter(|c| !c.is_empty())
        })
        .await;
        assert_eq!(confirmation.len(), 1);
        assert_eq!(confirmation[0]["messaging_type"], "RESPONSE");
        ctx.update_notice("The draw moves to Friday").await;
        ctx.settle().await;
        let update = ctx.received("alice", "moves to Friday").await;
        assert_eq!(update[0]["messaging_type"], "UPDATE");
        ctx.end_now().await;
        ctx.settle().await;
        let end = ctx.received("alice", "has ended").await;
        assert_eq!(end[0]["messaging_type"], "UPDATE");
        ctx.stop().await;
    }
);

both_databases!(
    stop_holds_the_pages_notices_and_start_resumes_them,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.subscribe("alice", 0).await;
        ctx.subscribe("bob", 0).await;
        let say = |user: &'static str, text: &'static str| {
            ctx.control(
                reqwest::Method::POST,
                "interactions",
                json!({ "user": user, "page": "sunnybakery", "kind": "message", "text": text }),
            )
        };
        // Any case; answered once, however often it is said.
        say("alice", " Stop ").await;
        ctx.settle().await;
        say("alice", "STOP").await;
        ctx.settle().await;
        let told = ctx.received("alice", "no more giveaway messages").await;
        assert_eq!(told.len(), 1, "{:?}", ctx.thread("alice").await);
        assert_eq!(told[0]["messaging_type"], "RESPONSE");
        // The admin sees them apart from those who blocked the Page.
        let admin = ctx.login_as("admin").await;
        let (status, body) = admin
            .call("notice_reach", &[("campaign_id", ctx.campaign.as_str())])
            .await;
        assert_eq!(status, 200, "{body}");
        let reach: app::pages::reach::EndNoticeReach = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (reach.inside_window, reach.opted_out, reach.unreachable),
            (1, 1, 0)
        );

        let notice = ctx.update_notice("The draw moves to Friday").await;
        ctx.settle().await;
        let (status, _, reason, _) = ctx.outcome(&notice, "alice").await;
        assert_eq!(status, "not_sent");
        assert_eq!(reason.as_deref(), Some(app::messenger::policy::OPTED_OUT));
        assert!(ctx.received("alice", "moves to Friday").await.is_empty());
        assert_eq!(ctx.outcome(&notice, "bob").await.0, "sent");

        // START (any case) resumes them, and says so.
        say("alice", "start").await;
        ctx.settle().await;
        assert_eq!(ctx.received("alice", "messages again").await.len(), 1);
        let notice = ctx.update_notice("The draw moves to Saturday").await;
        ctx.settle().await;
        assert_eq!(ctx.outcome(&notice, "alice").await.0, "sent");
        assert_eq!(ctx.received("alice", "moves to Saturday").await.len(), 1);

        // Writing anything else after STOP resumes them too, without an answer about it.
        say("bob", "stop").await;
        ctx.settle().await;
        say("bob", "hello").await;
        ctx.settle().await;
        assert!(ctx.received("bob", "messages again").await.is_empty());
        let notice = ctx.update_notice("The draw moves to Sunday").await;
        ctx.settle().await;
        assert_eq!(ctx.outcome(&notice, "bob").await.0, "sent");
        ctx.stop().await;
    }
);
