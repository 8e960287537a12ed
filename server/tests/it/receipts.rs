//! Meta may deliver a message, and send its delivery receipt, before the Send API's answer has
//! reached us and been recorded. The sandbox does the same when a Page's answers are slow
//! (`latency_ms` delays the answer, not the receipt): the receipt is processed while the send is
//! still in flight, and must still mark the message delivered once the send is recorded.

use crate::support::Demo;
use app::notices;
use serde_json::json;

impl Demo {
    /// How many messages of `kind` had their delivery receipt processed before the send's
    /// answer came back: proof the test exercised the race it is about.
    async fn overtaken(&self, kind: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM outgoing_messages o JOIN webhook_events w
                ON w.kind = 'delivery' AND w.payload LIKE '%' || o.message_id || '%'
             WHERE o.kind = '{kind}' AND w.processed_at < o.sent_at + {SLOW_ANSWER_MS}"
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
