//! A campaign with many entrants, written straight into the database in multi-row statements:
//! what the export benchmark (`examples/export.rs`) and the export's memory test share.

/// The seeded campaign's id.
pub const CAMPAIGN: &str = "campaign";

/// One Page, one campaign, and `n` entrants, each entered with a ticket and one delivered message.
pub async fn seed(db: &app::db::Db, n: usize) -> String {
    let now = app::db::now_ms();
    sqlx::query(
        "INSERT INTO pages (id, facebook_page_id, name, connected_at, updated_at)
         VALUES ('page', '1', 'Bench Page', $1, $1)",
    )
    .bind(now)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, starts_at, ends_at, created_at, updated_at)
         VALUES ('campaign', 'page', 'bench', 'Bench', 0, $1, $1, $1)",
    )
    .bind(now)
    .execute(db)
    .await
    .unwrap();
    const CHUNK: usize = 1000;
    let rows = |width: usize, count: usize| {
        (0..count)
            .map(|r| {
                let cells: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for start in (0..n).step_by(CHUNK) {
        let count = CHUNK.min(n - start);
        let mut tx = db.begin().await.unwrap();
        let sql = format!(
            "INSERT INTO subscribers (id, page_id, psid, first_name, last_interaction_at, created_at) VALUES {}",
            rows(6, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("s{i:08}"))
                .bind("page")
                .bind(format!("psid{i:08}"))
                .bind(if i % 7 == 0 { "=Eve" } else { "Alice" })
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, subscriber_id, created_at, confirmed_at) VALUES {}",
            rows(8, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("e{i:08}"))
                .bind("campaign")
                .bind("confirmed")
                .bind(format!("n{i:08}"))
                .bind(format!("c{i:08}"))
                .bind(format!("s{i:08}"))
                .bind(now - (n - i) as i64)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO tickets (entry_id, campaign_id, ticket, created_at) VALUES {}",
            rows(4, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("e{i:08}"))
                .bind("campaign")
                .bind(format!("T{i:09}"))
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        let sql = format!(
            "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id, kind, status, created_at, updated_at) VALUES {}",
            rows(9, count)
        );
        let mut q = sqlx::query(&sql);
        for i in start..start + count {
            q = q
                .bind(format!("m{i:08}"))
                .bind(format!("k{i:08}"))
                .bind("page")
                .bind(format!("s{i:08}"))
                .bind("campaign")
                .bind("confirmation")
                .bind("delivered")
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    CAMPAIGN.into()
}
