//! The data layer on SQLite and PostgreSQL: migrations, readiness, the constraints that stop
//! duplicates, and the session store.

use app::db::{self, new_id, now_ms, Db};
use server::sessions::DbSessionStore;
use tower_sessions::{
    session::{Id, Record},
    session_store::ExpiredDeletion,
    SessionStore,
};

async fn seed_page(db: &Db) -> String {
    let page = new_id();
    sqlx::query(
        "INSERT INTO pages (id, facebook_page_id, name, connected_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&page)
    .bind(format!("fb-{page}"))
    .bind("Test Page")
    .bind(now_ms())
    .execute(db)
    .await
    .unwrap();
    page
}

async fn seed_campaign(db: &Db, page: &str, slug: &str) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, starts_at, ends_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'A title', $4, $5, $4, $4)",
    )
    .bind(&id)
    .bind(page)
    .bind(slug)
    .bind(now_ms())
    .bind(now_ms() + 86_400_000)
    .execute(db)
    .await?;
    Ok(id)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

both_databases!(
    migrations_apply_and_are_idempotent,
    |url: String| async move {
        let pool = db::connect(&url, 2).await.unwrap();
        db::readiness(&pool).await.unwrap();
        pool.close().await;
        // A second start applies nothing new and fails on nothing.
        let pool = db::connect(&url, 2).await.unwrap();
        db::readiness(&pool).await.unwrap();
        for table in [
            "admins",
            "pages",
            "page_admins",
            "campaigns",
            "subscribers",
            "entries",
            "outgoing_messages",
            "webhook_events",
            "jobs",
            "sessions",
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("table {table}: {e}"));
            assert_eq!(n, 0, "{table} starts empty");
        }
    }
);

both_databases!(
    readiness_fails_when_the_database_is_gone,
    |url: String| async move {
        let pool = db::connect(&url, 2).await.unwrap();
        pool.close().await;
        assert_eq!(
            db::readiness(&pool).await,
            Err("database unreachable".into())
        );
    }
);

both_databases!(
    duplicates_are_stopped_by_the_database,
    |url: String| async move {
        let pool = db::connect(&url, 2).await.unwrap();
        let page = seed_page(&pool).await;
        let campaign = seed_campaign(&pool, &page, "summer").await.unwrap();
        let err = seed_campaign(&pool, &page, "summer").await.unwrap_err();
        assert!(is_unique_violation(&err), "slug is unique: {err}");

        let add_subscriber = |psid: &'static str| {
            let pool = pool.clone();
            let page = page.clone();
            async move {
                sqlx::query(
                "INSERT INTO subscribers (id, page_id, psid, last_interaction_at, created_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(new_id())
            .bind(&page)
            .bind(psid)
            .bind(now_ms())
            .execute(&pool)
            .await
            }
        };
        add_subscriber("psid-1").await.unwrap();
        assert!(is_unique_violation(
            &add_subscriber("psid-1").await.unwrap_err()
        ));

        let subscriber: String =
            sqlx::query_scalar("SELECT id FROM subscribers WHERE psid = 'psid-1'")
                .fetch_one(&pool)
                .await
                .unwrap();
        let add_entry = |code: &'static str| {
            let pool = pool.clone();
            let campaign = campaign.clone();
            let subscriber = subscriber.clone();
            async move {
                sqlx::query(
                "INSERT INTO entries (id, campaign_id, ref_nonce, fallback_code, subscriber_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(&campaign)
            .bind(new_id())
            .bind(code)
            .bind(&subscriber)
            .bind(now_ms())
            .execute(&pool)
            .await
            }
        };
        add_entry("CODE1").await.unwrap();
        assert!(
            is_unique_violation(&add_entry("CODE2").await.unwrap_err()),
            "one entry per person"
        );

        // Portable idempotent insert: the second webhook event with the same key changes nothing.
        for _ in 0..2 {
            sqlx::query(
            "INSERT INTO webhook_events (id, dedupe_key, page_id, kind, event_timestamp, payload, received_at)
             VALUES ($1, 'mid.1', $2, 'message', 1, '{}', 1) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(&page)
        .execute(&pool)
        .await
        .unwrap();
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1);

        // An end date before the start date is refused by the database too.
        let bad = sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, starts_at, ends_at, created_at, updated_at)
         VALUES ($1, $2, 'backwards', 't', 10, 5, 1, 1)",
    )
    .bind(new_id())
    .bind(&page)
    .execute(&pool)
    .await;
        assert!(bad.is_err());
    }
);

both_databases!(sessions_round_trip_and_expire, |url: String| async move {
    let pool = db::connect(&url, 2).await.unwrap();
    let store = DbSessionStore::new(pool.clone());
    let mut record = Record {
        id: Id::default(),
        data: [("admin_id".to_string(), serde_json::json!("a-1"))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    let loaded = store.load(&record.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, record.data);
    assert_eq!(
        loaded.expiry_date.unix_timestamp(),
        record.expiry_date.unix_timestamp()
    );

    record.data.insert("k".into(), serde_json::json!(2));
    store.save(&record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap().unwrap().data.len(), 2);

    store.delete(&record.id).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());

    let mut old = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() - time::Duration::minutes(1),
    };
    store.create(&mut old).await.unwrap();
    assert!(
        store.load(&old.id).await.unwrap().is_none(),
        "expired sessions do not load"
    );
    store.delete_expired().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
});

both_databases!(
    a_transaction_that_reads_then_writes_survives_a_commit_in_between,
    |url: String| async move {
        let pool = db::connect(&url, 4).await.unwrap();
        let page = seed_page(&pool).await;
        // An erasure or a draw: it reads, and writes what it read.
        let mut tx = db::begin_write(&pool).await.unwrap();
        let name: String = sqlx::query_scalar("SELECT name FROM pages WHERE id = $1")
            .bind(&page)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        // Meanwhile the receipts' writer commits (on SQLite it waits for the transaction).
        let other = {
            let (pool, page) = (pool.clone(), page.clone());
            tokio::spawn(async move {
                let mut writer = db::writer(&pool).await?;
                sqlx::query("UPDATE pages SET receipts_received_at = $1 WHERE id = $2")
                    .bind(now_ms())
                    .bind(&page)
                    .execute(&mut *writer)
                    .await
                    .map(drop)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // With a plain BEGIN, SQLite refused this write at once ("database is locked").
        sqlx::query("UPDATE pages SET name = $1 WHERE id = $2")
            .bind(format!("{name}, renamed"))
            .bind(&page)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let (name, stamped): (String, Option<i64>) =
            sqlx::query_as("SELECT name, receipts_received_at FROM pages WHERE id = $1")
                .bind(&page)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(name, "Test Page, renamed");
        assert!(stamped.is_some());
        pool.close().await;
    }
);
