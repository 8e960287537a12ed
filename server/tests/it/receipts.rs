//! Meta may deliver a message, and send its delivery receipt, before the Send API's answer has
//! reached us and been recorded. The sandbox does the same when a Page's answers are slow
//! (`latency_ms` delays the answer, not the receipt): the receipt is processed while the send is
//! still in flight, and must still mark the message delivered once the send is recorded.

use crate::entrants::{envelope, event};
use crate::support::Demo;
use app::notices;
use serde_json::json;

impl Demo {
    /// How many messages of `kind` were delivered by receipts applied before the send's answer
    /// came back: proof the test exercised the race it is about. Receipts are applied on arrival
    /// and not kept; the Page notes when its last one came, and if that is before a message's
    /// answer, so was the message's own receipt.
    async fn overtaken(&self, kind: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM outgoing_messages o JOIN pages p ON p.id = o.page_id
             WHERE o.kind = '{kind}' AND o.status = 'delivered'
               AND p.receipts_received_at < o.sent_at + {SLOW_ANSWER_MS}"
        ))
        .await
    }
}

/// The Page answers sends this late; the sandbox sends the receipt 1 ms after accepting.
const SLOW_ANSWER_MS: u64 = 800;

both_databases!(
    a_receipt_that_overtakes_the_confirmations_answer_still_marks_it_delivered,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        ctx.page_knobs(json!({ "latency_ms": SLOW_ANSWER_MS }))
            .await;
        let _worker = ctx.inbox_worker();
        ctx.subscribe("alice", 0).await;
        ctx.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status = 'delivered'",
            1,
        )
        .await;
        assert_eq!(ctx.overtaken("confirmation").await, 1);
        ctx.stop().await;
    }
);

both_databases!(
    receipts_that_overtake_the_notices_answers_still_mark_them_delivered,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        for user in ["alice", "bob"] {
            ctx.subscribe(user, 0).await;
        }
        ctx.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status = 'delivered'",
            2,
        )
        .await;
        ctx.page_knobs(json!({ "latency_ms": SLOW_ANSWER_MS }))
            .await;
        ctx.end_now().await;
        let worker = ctx.inbox_worker();
        notices::run_once(&ctx.server.state).await.unwrap();
        drop(worker);
        ctx.counts(
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'end_notice' AND status = 'delivered'",
            2,
        )
        .await;
        assert_eq!(ctx.overtaken("end_notice").await, 2);
        ctx.stop().await;
    }
);

both_databases!(
    a_round_of_receipts_keeps_each_persons_highest_watermark_and_marks_their_messages,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        for user in ["alice", "bob"] {
            ctx.subscribe(user, 0).await;
        }
        let confirmations =
            "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'confirmation' AND status = 'delivered'";
        ctx.counts(confirmations, 2).await;
        // As if no receipt had come yet.
        for sql in [
            "UPDATE outgoing_messages SET status = 'sent', delivered_at = NULL",
            "UPDATE subscribers SET delivered_watermark = 0, read_watermark = 0",
        ] {
            sqlx::query(sql).execute(ctx.db()).await.unwrap();
        }
        let (alice, bob) = (ctx.psid("alice").await, ctx.psid("bob").await);
        let mid: String = sqlx::query_scalar(
            "SELECT o.message_id FROM outgoing_messages o JOIN subscribers s ON s.id = o.subscriber_id
             WHERE s.psid = $1",
        )
        .bind(&alice)
        .fetch_one(ctx.db())
        .await
        .unwrap();
        let t = app::db::now_ms();
        // One webhook, one round: Alice's message named by its mid, then two watermarks of hers
        // (the higher first), and Bob's read receipt.
        let events = vec![
            event(
                &alice,
                t,
                json!({ "delivery": { "mids": [mid], "watermark": 0 } }),
            ),
            event(
                &alice,
                t + 1,
                json!({ "delivery": { "watermark": t + 50 } }),
            ),
            event(
                &alice,
                t + 2,
                json!({ "delivery": { "watermark": t + 10 } }),
            ),
            event(&bob, t + 3, json!({ "read": { "watermark": t + 20 } })),
        ];
        // Applied by the time Meta has its answer: nothing is left for the inbox.
        assert_eq!(ctx.post_webhook(&envelope(events), None).await, 200);
        let watermarks = |psid: &str| {
            format!("SELECT delivered_watermark * 10 + read_watermark FROM subscribers WHERE psid = '{psid}'")
        };
        assert_eq!(ctx.scalar(&watermarks(&alice)).await, (t + 50) * 10);
        assert_eq!(ctx.scalar(&watermarks(&bob)).await, (t + 20) * 11);
        let status = |psid: &str| {
            format!(
                "SELECT COUNT(*) FROM outgoing_messages o JOIN subscribers s ON s.id = o.subscriber_id
                 WHERE s.psid = '{psid}' AND o.status = '{}'",
                if psid == alice { "delivered" } else { "read" }
            )
        };
        assert_eq!(
            ctx.scalar(&status(&alice)).await,
            1,
            "Alice's message delivered"
        );
        assert_eq!(ctx.scalar(&status(&bob)).await, 1, "Bob's message read");
        ctx.stop().await;
    }
);

both_databases!(
    receipts_arriving_apart_share_one_commit,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        // Two webhooks of one receipt each, 5 ms apart (Meta sends one per message delivered):
        // the first waits for company and the second joins its commit, stamped with one time.
        let receipt = |psid: &str, t: i64| {
            envelope(vec![event(
                psid,
                t,
                json!({ "delivery": { "mids": [format!("m_{psid}")], "watermark": t } }),
            )])
        };
        let t = app::db::now_ms();
        let (one, two) = (receipt("p1", t), receipt("p2", t + 1));
        let turns = ctx.state().webhook_intake.turns();
        let (first, second) = tokio::join!(ctx.post_webhook(&one, None), async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            ctx.post_webhook(&two, None).await
        });
        assert_eq!((first, second), (200, 200));
        assert_eq!(
            ctx.state().webhook_intake.turns() - turns,
            1,
            "one turn of commits for both"
        );
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM webhook_events WHERE kind = 'delivery'")
                .await,
            0,
            "receipts are applied, not kept"
        );
        ctx.stop().await;
    }
);

both_databases!(
    a_receipt_from_someone_erased_keeps_no_trace_of_them,
    |url: String| async move {
        let ctx = Demo::start(&url, &[]).await;
        for user in ["alice", "bob"] {
            ctx.subscribe(user, 0).await;
        }
        ctx.settle().await;
        let (alice, bob) = (ctx.psid("alice").await, ctx.psid("bob").await);
        let alice_row: String = sqlx::query_scalar("SELECT id FROM subscribers WHERE psid = $1")
            .bind(&alice)
            .fetch_one(ctx.db())
            .await
            .unwrap();
        app::privacy::erasure::erase_subscriber(ctx.state(), &alice_row)
            .await
            .unwrap();
        let traces = |psid: &str| {
            format!(
                "SELECT COUNT(*) FROM webhook_events WHERE sender_id = '{psid}' OR payload LIKE '%{psid}%'"
            )
        };
        assert_eq!(ctx.scalar(&traces(&alice)).await, 0, "erased");
        let kept = ctx.scalar("SELECT COUNT(*) FROM webhook_events").await;
        // Meta's late receipts for her (delivered, then read), and one for Bob, in one round.
        let t = app::db::now_ms();
        let events = vec![
            event(
                &alice,
                t,
                json!({ "delivery": { "mids": ["m_late"], "watermark": t } }),
            ),
            event(&alice, t + 1, json!({ "read": { "watermark": t + 1 } })),
            event(&bob, t + 2, json!({ "read": { "watermark": t + 2 } })),
        ];
        assert_eq!(ctx.post_webhook(&envelope(events), None).await, 200);
        assert_eq!(
            ctx.scalar("SELECT COUNT(*) FROM webhook_events").await,
            kept,
            "receipts are applied, not kept"
        );
        assert_eq!(
            ctx.scalar(&traces(&alice)).await,
            0,
            "her late receipts name nobody"
        );
        assert_eq!(
            ctx.scalar(&format!(
                "SELECT COUNT(*) FROM outgoing_messages o JOIN subscribers s ON s.id = o.subscriber_id
                 WHERE s.psid = '{bob}' AND o.status = 'read'"
            ))
            .await,
            1,
            "and applied"
        );
        ctx.stop().await;
    }
);
