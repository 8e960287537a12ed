//! Statuses and flags as the database keeps them, read into types on both databases: a known word
//! becomes its variant, an unknown one is refused with an error that names it, and a 0/1 flag
//! reads as a `bool`.

use app::campaigns::{store, PublishState};
use app::db::{self, new_id, now_ms, Db};

/// An admin who manages a Page, and a published campaign of it, straight into the tables.
async fn seed(db: &Db) -> (String, String) {
    let (admin, page, campaign) = (new_id(), new_id(), new_id());
    let now = now_ms();
    let statements = [
        "INSERT INTO admins (id, facebook_user_id, name, created_at) VALUES ($1, $1, 'Ann', $4)",
        "INSERT INTO pages (id, facebook_page_id, name, connected_at, updated_at)
         VALUES ($2, $2, 'Test Page', $4, $4)",
        "INSERT INTO page_admins (page_id, admin_id, tasks, refreshed_at)
         VALUES ($2, $1, 'MODERATE', $4)",
        "INSERT INTO campaigns (id, page_id, slug, title, starts_at, ends_at, publish_state,
                                require_login, created_at, updated_at)
         VALUES ($3, $2, $3, 'A title', $4, $4 + 86400000, 'published', 1, $4, $4)",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(&admin)
            .bind(&page)
            .bind(&campaign)
            .bind(now)
            .execute(db)
            .await
            .unwrap();
    }
    (admin, campaign)
}

both_databases!(
    stored_words_decode_and_unknown_ones_are_refused,
    |url: String| async move {
        let db = db::connect(&url, 2).await.unwrap();
        let (admin, campaign) = seed(&db).await;
        let read = store::find_published_by_id(&db, &campaign)
            .await
            .unwrap()
            .expect("published");
        assert_eq!(read.publish_state, PublishState::Published);
        assert!(read.require_login);
        assert!(!read.confirmation_enabled);
        let edited = store::find_for_admin(&db, &admin, &campaign)
            .await
            .unwrap()
            .expect("managed");
        assert_eq!(edited.publish_state, PublishState::Published);
        assert_eq!(edited.end_notice, None);

        // A word this build does not know (a newer build's, or a hand edit) is an error that
        // names it, never taken for another state.
        sqlx::query("UPDATE campaigns SET publish_state = 'paused' WHERE id = $1")
            .bind(&campaign)
            .execute(&db)
            .await
            .unwrap();
        let error = store::find_for_admin(&db, &admin, &campaign)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("publish_state"), "{error}");
        assert!(
            error.contains("unknown campaign publish state `paused`"),
            "{error}"
        );
        db.close().await;
    }
);
