//! Issue #17, the admin's side of the entrants: the list (keyset pages, search, filter, order,
//! how each came), its CSV export, disqualify and reinstate (and the draw skipping the
//! disqualified), erasing one entrant, and who may see any of it.

use crate::support::{client, Demo};
use app::db::now_ms;
use app::entries::list::EntrantsView;
use serde_json::json;

fn view(body: &str) -> EntrantsView {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// `n` pending entries of the demo campaign made straight in the database, three per
/// millisecond (so pages must break ties by id), all before the entries made through the page.
async fn seed_pending(demo: &Demo, n: usize) {
    let base = now_ms() - 10 * 3_600_000;
    for i in 0..n {
        sqlx::query(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, created_at)
             VALUES ($1, $2, 'pending', $3, $4, $5)",
        )
        .bind(format!("seed-{i:04}"))
        .bind(&demo.campaign)
        .bind(format!("nonce{i:07}"))
        .bind(format!("C{i:05}"))
        .bind(base + (i / 3) as i64)
        .execute(demo.db())
        .await
        .unwrap();
    }
}

/// Names `user`'s subscriber as Messenger's profile would (the sandbox, like Meta without
/// profile access, gives none).
async fn name(demo: &Demo, user: &str, first_name: &str, initial: Option<&str>) {
    let psid = demo.psid(user).await;
    sqlx::query("UPDATE subscribers SET first_name = $2, last_initial = $3 WHERE psid = $1")
        .bind(&psid)
        .bind(first_name)
        .bind(initial)
        .execute(demo.db())
        .await
        .unwrap();
}

/// One prize and one alternate for the demo campaign.
async fn one_prize_one_alternate(demo: &Demo) {
    sqlx::query("UPDATE campaigns SET winners_count = 1, alternates_count = 1 WHERE id = $1")
        .bind(&demo.campaign)
        .execute(demo.db())
        .await
        .unwrap();
}

/// The entry and ticket that hold the demo campaign's prize now.
async fn holder(demo: &Demo) -> (String, String) {
    sqlx::query_as("SELECT entry_id, ticket FROM winners WHERE campaign_id = $1 AND status = 'won'")
        .bind(&demo.campaign)
        .fetch_one(demo.db())
        .await
        .unwrap()
}

/// Every page of the list for this query (`state`, `q`, `order` as the page's address says).
async fn all_pages(
    admin: &crate::support::Admin<'_>,
    campaign: &str,
    query: &[(&str, &str)],
) -> Vec<app::entries::list::Entrant> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut form: Vec<(String, String)> = vec![("id".into(), campaign.into())];
        for (k, v) in query {
            form.push((format!("query[{k}]"), v.to_string()));
        }
        if let Some(a) = &after {
            form.push(("after".into(), a.clone()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, body) = admin.call("entrants_list", &form).await;
        assert_eq!(status, 200, "{body}");
        let page = view(&body);
        assert!(page.rows.len() <= app::entries::list::PAGE_SIZE);
        rows.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => return rows,
        }
    }
}

both_databases!(
    the_list_pages_by_keyset_searches_filters_and_says_how_each_came,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        seed_pending(&demo, 130).await;
        demo.subscribe("alice", 0).await;
        demo.subscribe("bob", 0).await;
        name(&demo, "alice", "Alice", Some("E")).await;
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let total = demo
            .scalar(&format!(
                "SELECT COUNT(*) FROM entries WHERE campaign_id = '{id}'"
            ))
            .await;
        assert!(total >= 132, "{total}");

        // Newest first: every entry once, in (created_at, id) order, over several pages.
        let newest = all_pages(&admin, id, &[]).await;
        assert_eq!(newest.len() as i64, total);
        let keys: Vec<(i64, String)> = newest
            .iter()
            .map(|r| (r.entered_at, r.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(keys, sorted, "newest first, ties by id");
        // Oldest first: the same entries the other way round.
        let oldest = all_pages(&admin, id, &[("oldest_first", "true")]).await;
        let mut back: Vec<String> = oldest.iter().map(|r| r.id.clone()).collect();
        back.reverse();
        assert_eq!(
            back,
            newest.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
        );

        // One state.
        let entered = all_pages(&admin, id, &[("state", "confirmed")]).await;
        assert_eq!(entered.len(), 2);
        assert!(
            entered
                .iter()
                .all(|r| r.ticket.is_some() && r.messages >= 1),
            "{entered:?}"
        );
        assert!(entered
            .iter()
            .all(|r| r.window_open && r.reach == app::entries::list::Reach::Reachable));
        assert!(entered
            .iter()
            .all(|r| r.source == app::entries::EntrySource::Page));
        // Search: the start of a first name, any case; or a ticket, as typed.
        let found = all_pages(&admin, id, &[("search", "ali")]).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name.as_deref(), Some("Alice E."));
        let bob_ticket = entered
            .iter()
            .find(|r| r.name.is_none())
            .unwrap()
            .ticket
            .clone()
            .unwrap();
        let found = all_pages(&admin, id, &[("search", &bob_ticket.to_lowercase())]).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ticket.as_deref(), Some(bob_ticket.as_str()));
        // A search that matches nothing, and a "%" that is only a character.
        assert!(all_pages(&admin, id, &[("search", "%")]).await.is_empty());
        // Counts per state, of the whole campaign.
        let (_, body) = admin.call("entrants_list", &[("id", id)]).await;
        let counts = view(&body).counts;
        assert!(
            counts.contains(&(app::entries::EntryStatus::Confirmed, 2)),
            "{counts:?}"
        );
        // A cursor that is not one.
        let (status, body) = admin
            .call("entrants_list", &[("id", id), ("after", "junk")])
            .await;
        assert_eq!(status, 400, "{body}");

        // How they came: the widget, the QR code's link, a link forwarded to someone else.
        let visitor = client();
        let r = visitor
            .post(demo.url("/embed/demo/enter"))
            .form(&[("website", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let widget_entry = r.headers()["location"]
            .to_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let (_, reference) = demo.open_entry("demo").await;
        let scanned = format!("q_{reference}");
        let interact = |user: &'static str, reference: String| {
            demo.control(
                reqwest::Method::POST,
                "interactions",
                json!({ "user": user, "page": "sunnybakery", "kind": "get_started", "ref": reference }),
            )
        };
        interact("carol", scanned).await;
        demo.settle().await;
        // Dave gets Carol's link forwarded: an entry of his own, by a direct link.
        interact("dave", format!("q_{reference}")).await;
        demo.settle().await;
        let sources: Vec<(String, String)> = sqlx::query_as(
            "SELECT e.id, e.source FROM entries e WHERE e.campaign_id = $1 AND e.source <> 'page'
             ORDER BY e.source",
        )
        .bind(id)
        .fetch_all(demo.db())
        .await
        .unwrap();
        let kinds: Vec<&str> = sources.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(kinds, vec!["direct", "qr", "widget"], "{sources:?}");
        assert!(sources
            .iter()
            .any(|(e, s)| s == "widget" && *e == widget_entry));
        let listed = all_pages(&admin, id, &[("state", "confirmed")]).await;
        let mut came: Vec<&str> = listed.iter().map(|r| r.source.as_str()).collect();
        came.sort();
        assert_eq!(came, vec!["direct", "page", "page", "qr"]);

        // Only the Page's admins: a stranger, and nobody, see nothing.
        let stranger = demo.login_as("bob").await;
        let (status, body) = stranger.call("entrants_list", &[("id", id)]).await;
        assert!(status == 403 || status == 404, "{status} {body}");
        let csv = stranger
            .get(demo.url(&format!("/admin/campaigns/{id}/entrants.csv")))
            .send()
            .await
            .unwrap();
        assert!(
            csv.status() == 403 || csv.status() == 404,
            "{}",
            csv.status()
        );
        let csv = client()
            .get(demo.url(&format!("/admin/campaigns/{id}/entrants.csv")))
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), 401);
        for function in ["disqualify_entry", "reinstate_entry", "erase_entrant"] {
            let (status, body) = stranger
                .call(
                    function,
                    &[("id", id), ("entry", "seed-0001"), ("reason", "x")],
                )
                .await;
            assert!(
                status == 403 || status == 404,
                "{function}: {status} {body}"
            );
        }
        demo.stop().await;
    }
);

both_databases!(
    the_csv_streams_the_filtered_list_with_formulas_escaped,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        seed_pending(&demo, 3000).await;
        demo.subscribe("alice", 0).await;
        name(&demo, "alice", "=HYPERLINK(\"http://x\")", None).await;
        demo.subscribe("bob", 0).await;
        // The control character the list's rows are read by, in a name: a space in the CSV.
        name(&demo, "bob", "Bo\u{1f}b", Some("K")).await;
        sqlx::query("UPDATE entries SET keyword = '@SUM(A1)' WHERE status = 'confirmed'")
            .execute(demo.db())
            .await
            .unwrap();
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let response = admin
            .get(demo.url(&format!("/admin/campaigns/{id}/entrants.csv")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        assert!(response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment; filename=\"demo-entrants.csv\""));
        // Streamed: no length announced, the body comes in chunks.
        assert!(response.headers().get("content-length").is_none());
        let text = response.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("entry,state,name,ticket,entered_at"),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len(), 1 + 3002);
        let alice = lines.iter().find(|l| l.contains("HYPERLINK")).unwrap();
        assert!(
            alice.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
            "{alice}"
        );
        assert!(alice.contains(",'@SUM(A1),"), "{alice}");
        assert!(
            alice.contains(",page,") && alice.contains(",open,"),
            "{alice}"
        );
        // Her confirmation counted, as the list page counts it (PostgreSQL counts the whole
        // list's messages another way than a page's).
        let messages: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outgoing_messages o JOIN subscribers s ON s.id = o.subscriber_id
             WHERE s.psid = $1",
        )
        .bind(demo.psid("alice").await)
        .fetch_one(demo.db())
        .await
        .unwrap();
        assert!(messages >= 1);
        let cells: Vec<&str> = alice.rsplitn(5, ',').collect();
        assert_eq!(cells[3], messages.to_string(), "{alice}");
        assert_eq!(cells[2], "0", "{alice}");
        assert!(lines.iter().any(|l| l.contains(",Bo b K.,")), "{text}");
        // As filtered: the entered only, oldest first.
        let filtered = admin
            .get(demo.url(&format!(
                "/admin/campaigns/{id}/entrants.csv?state=confirmed&order=oldest"
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(filtered.lines().count(), 3, "{filtered}");
        demo.stop().await;
    }
);

both_databases!(
    disqualified_entries_leave_the_draw_and_reinstated_ones_come_back,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        for user in ["alice", "bob", "carol"] {
            demo.subscribe(user, 0).await;
        }
        one_prize_one_alternate(&demo).await;
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let demo_ref = &demo;
        let entry_of = |user: &'static str| async move {
            let demo = demo_ref;
            let psid = demo.psid(user).await;
            sqlx::query_scalar::<_, String>(
                "SELECT e.id FROM entries e JOIN subscribers s ON s.id = e.subscriber_id
                 WHERE s.psid = $1",
            )
            .bind(psid)
            .fetch_one(demo.db())
            .await
            .unwrap()
        };
        let bob = entry_of("bob").await;
        let disqualify = |entry: String, reason: &'static str| {
            let admin = &admin;
            async move {
                admin
                    .call(
                        "disqualify_entry",
                        &[("id", id), ("entry", &entry), ("reason", reason)],
                    )
                    .await
            }
        };
        let (status, body) = disqualify(bob.clone(), "  ").await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = disqualify(bob.clone(), "two accounts").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = disqualify(bob.clone(), "again").await;
        assert_eq!(status, 409, "{body}");
        let listed = all_pages(&admin, id, &[("state", "disqualified")]).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].reason.as_deref(), Some("two accounts"));
        // Reinstated, then out again: the draw must not count it.
        let (status, body) = admin
            .call("reinstate_entry", &[("id", id), ("entry", &bob)])
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = admin
            .call("reinstate_entry", &[("id", id), ("entry", &bob)])
            .await;
        assert_eq!(status, 409);
        assert_eq!(
            all_pages(&admin, id, &[("state", "confirmed")]).await.len(),
            3
        );
        let (status, _) = disqualify(bob.clone(), "two accounts").await;
        assert_eq!(status, 200);

        demo.end_now().await;
        let (status, body) = admin.call("draw_winners", &[("id", id)]).await;
        assert_eq!(status, 200, "{body}");
        let listed: i64 = demo
            .scalar(&format!(
                "SELECT ticket_count FROM draws WHERE campaign_id = '{id}'"
            ))
            .await;
        assert_eq!(
            listed, 2,
            "the disqualified ticket is not in the frozen list"
        );
        // The winner is disqualified from the list: the prize goes to the alternate, and the
        // results say why.
        let (winner, _) = holder(&demo).await;
        let (status, body) = disqualify(winner.clone(), "not a resident").await;
        assert_eq!(status, 200, "{body}");
        let (now_holding, _) = holder(&demo).await;
        assert_ne!(now_holding, winner);
        assert_ne!(now_holding, bob);
        let html = demo.page_text("/c/demo/results").await;
        assert!(html.contains("not a resident"), "{html}");
        demo.stop().await;
    }
);

both_databases!(
    an_admin_erases_an_entrant_and_a_prize_they_held_moves_on,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        for user in ["alice", "bob"] {
            demo.subscribe(user, 0).await;
        }
        one_prize_one_alternate(&demo).await;
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        demo.end_now().await;
        let (status, body) = admin.call("draw_winners", &[("id", id)]).await;
        assert_eq!(status, 200, "{body}");
        let (winner, ticket) = holder(&demo).await;
        let entries_before = demo.scalar("SELECT COUNT(*) FROM entries").await;

        let (status, body) = admin
            .call("erase_entrant", &[("id", id), ("entry", &winner)])
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Erased") && body.contains("their"), "{body}");
        // The person's own status page, to pass on, speaks to them.
        let code = body.split("/deletion/").nth(1).unwrap();
        let code: String = code.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        let page = demo.page_text(&format!("/deletion/{code}")).await;
        assert!(page.contains("your Messenger identity"), "{page}");
        let (status, _) = admin
            .call("erase_entrant", &[("id", id), ("entry", &winner)])
            .await;
        assert_eq!(status, 409, "erased once only");
        // The row stays as an erased one: counts do not move; no person is left on it.
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries").await,
            entries_before
        );
        let (status, subscriber, asid): (String, Option<String>, Option<String>) =
            sqlx::query_as("SELECT status, subscriber_id, asid FROM entries WHERE id = $1")
                .bind(&winner)
                .fetch_one(demo.db())
                .await
                .unwrap();
        assert_eq!((status.as_str(), subscriber, asid), ("erased", None, None));
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM subscribers WHERE psid LIKE 'erased:%' AND first_name IS NULL")
                .await,
            1
        );
        // The prize went to the other ticket; the results name the erased ticket alone.
        let (now_holding, _) = holder(&demo).await;
        assert_ne!(now_holding, winner);
        let html = demo.page_text("/c/demo/results").await;
        assert!(
            html.contains(&ticket) && html.contains("the entrant's data was erased"),
            "{html}"
        );
        let listed = all_pages(&admin, id, &[("state", "erased")]).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, None);
        assert_eq!(listed[0].reach, app::entries::list::Reach::Erased);
        demo.stop().await;
    }
);
