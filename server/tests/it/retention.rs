//! Retention (issue #17): processed webhook payloads and settled messages' own texts are emptied
//! after `RETENTION_DAYS`; what is newer, unprocessed or still to send is kept, and so are the
//! rows (counts and dedupe keys).

use app::db::now_ms;
use app::messenger::retention::{purge, Purged};

const DAY_MS: i64 = 86_400_000;

both_databases!(
    old_payloads_and_sent_texts_are_emptied_and_nothing_else,
    |url: String| async move {
        let demo = crate::support::Demo::start(&url, &[]).await;
        demo.subscribe("alice", 0).await;
        // Her confirmation's delivery receipt comes on its own time: stored before counting.
        demo.settle().await;
        let db = demo.db();
        let now = now_ms();
        let old = now - 40 * DAY_MS;
        // Three stored events: processed long ago, processed today, and one never processed.
        for (id, processed) in [("old", Some(old)), ("new", Some(now)), ("waiting", None)] {
            sqlx::query(
                "INSERT INTO webhook_events (id, dedupe_key, page_id, kind, event_timestamp,
                                             payload, received_at, processed_at)
                 VALUES ($1, $1, 'p', 'message', $2, '{\"text\":\"my phone is 555\"}', $2, $3)",
            )
            .bind(id)
            .bind(old)
            .bind(processed)
            .execute(db)
            .await
            .unwrap();
        }
        // Alice's confirmation, as if sent long ago with a text of its own.
        sqlx::query("UPDATE outgoing_messages SET body = 'Hi Alice', updated_at = $1")
            .bind(old)
            .execute(db)
            .await
            .unwrap();
        let events_before = demo.scalar("SELECT COUNT(*) FROM webhook_events").await;

        let purged = purge(db, now - 30 * DAY_MS).await.unwrap();
        // (Alice's own webhooks were processed just now: kept.)
        assert_eq!(
            purged,
            Purged {
                payloads: 1,
                texts: 1
            }
        );
        let payload = |id: &'static str| async move {
            sqlx::query_scalar::<_, String>("SELECT payload FROM webhook_events WHERE id = $1")
                .bind(id)
                .fetch_one(db)
                .await
                .unwrap()
        };
        assert_eq!(payload("old").await, "");
        assert!(payload("new").await.contains("555"));
        assert!(payload("waiting").await.contains("555"));
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM outgoing_messages WHERE body IS NOT NULL")
                .await,
            0
        );
        // The rows stay: counts and Meta's duplicates are judged as before.
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM webhook_events").await,
            events_before
        );
        assert_eq!(
            purge(db, now - 30 * DAY_MS).await.unwrap(),
            Purged::default()
        );
        demo.stop().await;
    }
);
