//! The draw's stored steps (issue #16): the commitment made once, tickets, the frozen list,
//! the outcome recorded once, claims, and prizes walking down the published order.

use crate::support::TestServer;
use app::db::{new_id, now_ms, Db};
use app::winners::store::{self, Claim, Plan};
use sha2::{Digest, Sha256};

/// `n` people entered the demo campaign (confirmed), plus one duplicate and one pending entry
/// that must never be drawn. Answers the campaign and the confirmed entries' ids.
async fn entrants(db: &Db, n: usize) -> (String, Vec<String>) {
    let (campaign, page): (String, String) =
        sqlx::query_as("SELECT id, page_id FROM campaigns WHERE slug = 'demo'")
            .fetch_one(db)
            .await
            .unwrap();
    let now = now_ms();
    let mut entries = Vec::new();
    for i in 0..n + 2 {
        let person = new_id();
        sqlx::query(
            "INSERT INTO subscribers (id, page_id, psid, first_name, last_interaction_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&person)
        .bind(&page)
        .bind(format!("psid-{person}"))
        .bind(format!("Person{i}"))
        .bind(now)
        .execute(db)
        .await
        .unwrap();
        let entry = new_id();
        let (status, duplicate_of) = match i {
            i if i == n => ("confirmed", entries.first().cloned()),
            i if i == n + 1 => ("pending", None),
            _ => ("confirmed", None),
        };
        sqlx::query(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, subscriber_id,
                                  duplicate_of, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&entry)
        .bind(&campaign)
        .bind(status)
        .bind(new_id())
        .bind(new_id())
        .bind(&person)
        .bind(duplicate_of)
        .bind(now)
        .execute(db)
        .await
        .unwrap();
        if i < n {
            entries.push(entry);
        }
    }
    (campaign, entries)
}

/// Two prizes, `alternates` behind them, 48 hours to claim.
fn two_winners(alternates: i64) -> Plan {
    Plan {
        winners: 2,
        alternates,
        claim_hours: 48,
    }
}

/// As for a campaign published before draws existed (the demo commits when it is published).
async fn forget_commitments(db: &Db) {
    sqlx::query("DELETE FROM draw_seeds")
        .execute(db)
        .await
        .unwrap();
}

both_databases!(
    the_commitment_is_made_once_and_is_the_hash_of_the_seed,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let (db, cipher) = (&server.state.db, &server.state.token_cipher);
        let (campaign, _) = entrants(db, 0).await;
        forget_commitments(db).await;
        let first = store::commit(db, cipher, &campaign).await.unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(store::commit(db, cipher, &campaign).await.unwrap(), first);
        let seed = store::seed(db, cipher, &campaign).await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(seed.bytes())), first);
        // The seed is sealed at rest.
        let stored: String = sqlx::query_scalar("SELECT seed_sealed FROM draw_seeds")
            .fetch_one(db)
            .await
            .unwrap();
        assert!(!stored.contains(&seed.reveal()), "{stored}");
        server.stop().await;
    }
);

both_databases!(
    the_frozen_list_holds_confirmed_entries_once_and_never_changes,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let db = &server.state.db;
        let (campaign, entries) = entrants(db, 5).await;
        // Two entries got their ticket at confirmation; the others get theirs at the freeze.
        let early = store::issue_ticket(db, &campaign, &entries[0])
            .await
            .unwrap();
        assert_eq!(
            store::issue_ticket(db, &campaign, &entries[0])
                .await
                .unwrap(),
            early
        );
        assert_eq!(early.len(), app::draws::TICKET_LEN);
        let plan = two_winners(2);
        let draw = store::freeze(db, &campaign, plan, now_ms()).await.unwrap();
        assert_eq!(
            draw.ticket_count, 5,
            "the duplicate and the pending entry are left out"
        );
        let frozen = store::frozen_list(db, &campaign).await.unwrap();
        let list = frozen.tickets().to_vec();
        assert_eq!(list.len(), 5);
        assert!(list.contains(&early));
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "sorted, no ticket twice: {list:?}"
        );
        assert_eq!(draw.list_hash, hex::encode(Sha256::digest(frozen.text())));

        // An entry confirmed after the freeze does not change the list.
        entrants(db, 1).await;
        let again = store::freeze(db, &campaign, plan, now_ms()).await.unwrap();
        assert_eq!(again, draw);
        assert_eq!(store::frozen_list(db, &campaign).await.unwrap(), frozen);
        server.stop().await;
    }
);

both_databases!(
    prizes_walk_down_the_order_to_alternates_never_twice_and_never_to_erased_entries,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let db = &server.state.db;
        let (campaign, _) = entrants(db, 6).await;
        let plan = two_winners(2);
        // Never without a commitment made before (at publish): as for a campaign published
        // before draws existed.
        forget_commitments(db).await;
        assert!(matches!(
            app::winners::draw(&server.state, &campaign, plan).await,
            Err(store::WinnersError::NoCommitment)
        ));
        store::commit(db, &server.state.token_cipher, &campaign)
            .await
            .unwrap();
        let results = app::winners::draw(&server.state, &campaign, plan)
            .await
            .unwrap();
        let now = now_ms();
        let order = results.order.clone();
        assert_eq!(order.len(), 4, "2 winners and 2 alternates of 6 tickets");
        app::draws::verify(&results).unwrap();
        // Made once: asked again (a crash after the commit, another instance), the same.
        let again = app::winners::draw(&server.state, &campaign, plan)
            .await
            .unwrap();
        assert_eq!(again, results);
        let winners = store::winners(db, &campaign).await.unwrap();
        let held: Vec<(i64, &str)> = winners
            .iter()
            .map(|w| (w.prize_rank, w.ticket.as_str()))
            .collect();
        assert_eq!(held, vec![(1, order[0].as_str()), (2, order[1].as_str())]);

        // The first winner claims in time; claiming twice says so.
        let first = winners[0].entry_id.clone().unwrap();
        assert_eq!(
            store::claim(db, &campaign, &first, now + 1).await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            store::claim(db, &campaign, &first, now + 2).await.unwrap(),
            Claim::AlreadyClaimed
        );

        // The first alternate's entry is erased: the walk skips it.
        let first_alternate: String = sqlx::query_scalar(
            "SELECT entry_id FROM draw_tickets WHERE campaign_id = $1 AND place = 2",
        )
        .bind(&campaign)
        .fetch_one(db)
        .await
        .unwrap();
        sqlx::query("DELETE FROM tickets WHERE entry_id = $1")
            .bind(&first_alternate)
            .execute(db)
            .await
            .unwrap();
        sqlx::query("DELETE FROM entries WHERE id = $1")
            .bind(&first_alternate)
            .execute(db)
            .await
            .unwrap();

        // The second winner lets the deadline pass: the prize goes to the next alternate.
        let second = winners[1].entry_id.clone().unwrap();
        let late = now + 48 * 3_600_000 + 1;
        assert!(
            store::pass_unclaimed(db, now + 1000)
                .await
                .unwrap()
                .is_empty(),
            "not yet"
        );
        let passed = store::pass_unclaimed(db, late).await.unwrap();
        assert_eq!(passed.len(), 1);
        let to = passed[0].to.clone().expect("an alternate was left");
        assert_eq!(
            (to.prize_rank, to.place, to.ticket.as_str()),
            (2, 3, order[3].as_str())
        );
        assert_eq!(
            store::pass_unclaimed(db, late).await.unwrap(),
            vec![],
            "passed once"
        );
        assert_eq!(
            store::claim(db, &campaign, &second, late).await.unwrap(),
            Claim::TooLate
        );

        // The admin disqualifies the new holder: no alternate is left, the prize stays open.
        let passed = store::disqualify(db, &campaign, 3, "entered twice", late)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(passed.to, None);
        assert_eq!(
            store::disqualify(db, &campaign, 3, "again", late)
                .await
                .unwrap(),
            None
        );

        // The published results hold every step, the erased alternate's included, and verify.
        let published = store::results(db, &campaign).await.unwrap().unwrap();
        let reasons: Vec<&str> = published
            .redraws
            .iter()
            .map(|r| r.reason.as_str())
            .collect();
        assert_eq!(
            reasons,
            vec![
                "not claimed by the deadline",
                "the entrant's data was erased",
                "entered twice"
            ]
        );
        app::draws::verify(&published).unwrap();
        assert_eq!(published.winners, vec![Some(order[0].clone()), None]);

        let rows = store::winners(db, &campaign).await.unwrap();
        let tickets: Vec<&str> = rows.iter().map(|w| w.ticket.as_str()).collect();
        let mut unique = tickets.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            tickets.len(),
            "no ticket holds a prize twice: {tickets:?}"
        );
        let states: Vec<(i64, &str, Option<&str>)> = rows
            .iter()
            .map(|w| (w.place, w.status.as_str(), w.reason.as_deref()))
            .collect();
        assert_eq!(
            states,
            vec![
                (0, "claimed", None),
                (1, "passed", Some("not claimed by the deadline")),
                (3, "disqualified", Some("entered twice")),
            ]
        );
        server.stop().await;
    }
);

both_databases!(
    the_results_page_shows_the_commitment_then_the_winners_the_seed_and_the_list,
    |url: String| async move {
        let server = TestServer::start_with(&url, &[("DEMO_CAMPAIGN", "on")]).await;
        let (db, cipher) = (&server.state.db, &server.state.token_cipher);
        let http = crate::support::client();
        let get = |path: &'static str| {
            let (http, url) = (http.clone(), server.url(path));
            async move {
                let r = http.get(url).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (campaign, _) = entrants(db, 3).await;
        // A name Messenger gave is shown as text, never as markup.
        sqlx::query("UPDATE subscribers SET first_name = '<b>Bo</b>'")
            .execute(db)
            .await
            .unwrap();
        forget_commitments(db).await;
        assert_eq!(get("/c/demo/results").await.0, 404, "no commitment yet");
        let commitment = store::commit(db, cipher, &campaign).await.unwrap();
        let (status, html) = get("/c/demo/results").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(&commitment), "{html}");
        assert!(html.contains("data-state=\"waiting\""), "{html}");
        assert!(
            !html.contains("data-testid=\"seed\""),
            "the seed stays secret: {html}"
        );
        assert_eq!(get("/c/demo/results/tickets.txt").await.0, 404);
        assert_eq!(get("/c/demo/results.json").await.0, 404);

        let plan = two_winners(1);
        let results = app::winners::draw(&server.state, &campaign, plan)
            .await
            .unwrap();
        let draw = store::draw_of(db, &campaign).await.unwrap().unwrap();
        let order = results.order.clone();

        let (status, html) = get("/c/demo/results").await;
        assert_eq!(status, 200, "{html}");
        let seed = store::seed(db, cipher, &campaign).await.unwrap().reveal();
        assert!(
            html.contains(&seed),
            "the seed is revealed after the draw: {html}"
        );
        assert_eq!(
            hex::encode(Sha256::digest(hex::decode(&seed).unwrap())),
            commitment
        );
        assert_eq!(html.matches("data-testid=\"winner\"").count(), 2, "{html}");
        assert!(
            html.contains(&format!("&lt;b&gt;Bo&lt;/b&gt; (ticket {})", order[0])),
            "{html}"
        );
        assert!(html.contains(&draw.list_hash), "{html}");
        let (status, list) = get("/c/demo/results/tickets.txt").await;
        assert_eq!(status, 200);
        assert_eq!(hex::encode(Sha256::digest(list.as_bytes())), draw.list_hash);
        assert_eq!(get("/embed/demo/results").await.0, 200);
        // The results as JSON: what the page's Verify button and `server verify-draw` check.
        let (status, json) = get("/c/demo/results.json").await;
        assert_eq!(status, 200, "{json}");
        let published: app::draws::DrawResults = serde_json::from_str(&json).unwrap();
        assert_eq!(published, results);
        app::draws::verify(&published).unwrap();
        assert!(
            html.contains("data-verify-draw=\"/c/demo/results.json\""),
            "{html}"
        );
        server.stop().await;
    }
);

both_databases!(
    publishing_commits_once_and_editing_keeps_the_commitment,
    |url: String| async move {
        let app = crate::support::App::start(&url, &[]).await;
        let admin = app.login_as("admin").await;
        admin.connect_page(crate::support::BAKERY).await;
        let id = admin.save_campaign(&crate::support::cake()).await;
        let committed = || async { store::commitment(app.db(), &id).await.unwrap() };
        assert_eq!(committed().await, None, "a draft commits to nothing yet");
        let (status, body) = admin.act(&id, "publish").await;
        assert_eq!(status, 200, "{body}");
        let first = committed().await.expect("publishing made the commitment");
        // Editing the published campaign, or publishing it again, keeps it.
        let mut edited = crate::support::cake();
        edited.prize = "Two cakes".into();
        let (status, body) = admin.save(Some(&id), &edited).await;
        assert_eq!(status, 200, "{body}");
        admin.act(&id, "unpublish").await;
        admin.act(&id, "publish").await;
        assert_eq!(committed().await.as_deref(), Some(first.as_str()));
        app.stop().await;
    }
);

both_databases!(
    an_entrant_gets_a_ticket_in_the_confirmation_and_on_the_entry_page,
    |url: String| async move {
        let demo = crate::support::Demo::start(&url, &[]).await;
        // The demo is published as any campaign: its commitment is on the entry page.
        let commitment = store::commitment(demo.db(), &demo.campaign)
            .await
            .unwrap()
            .expect("the demo committed at publish");
        let html = demo.page_text("/c/demo").await;
        assert!(
            html.contains(&format!("data-testid=\"draw-commitment\">{commitment}<")),
            "{html}"
        );

        let (entry_page, reference) = demo.open_entry("demo").await;
        demo.control(
            reqwest::Method::POST,
            "interactions",
            serde_json::json!({ "user": "alice", "page": "sunnybakery", "kind": "get_started", "ref": reference }),
        )
        .await;
        demo.settle().await;
        let entry = entry_page.rsplit('/').next().unwrap();
        let ticket = store::ticket_of(demo.db(), entry)
            .await
            .unwrap()
            .expect("a confirmed entry has its ticket");
        assert!(app::draws::is_valid_ticket(&ticket), "{ticket}");
        let said = demo
            .received("alice", &format!("Your ticket in the draw: {ticket}"))
            .await;
        assert_eq!(said.len(), 1, "{:?}", demo.thread("alice").await);
        let html = demo.page_text(&entry_page).await;
        assert!(html.contains("data-testid=\"ticket\""), "{html}");
        // (Leptos may mark the end of a text with `<!>`.)
        assert!(html.contains(&format!(">{ticket}<")), "{html}");
        demo.stop().await;
    }
);

both_databases!(
    an_ended_campaign_is_drawn_by_itself_unless_its_admin_draws,
    |url: String| async move {
        let demo = three_entered(&url).await;
        let set_mode = |mode: &'static str| {
            let db = demo.db().clone();
            let campaign = demo.campaign.clone();
            async move {
                sqlx::query("UPDATE campaigns SET draw_mode = $1, winners_count = 2 WHERE id = $2")
                    .bind(mode)
                    .bind(campaign)
                    .execute(&db)
                    .await
                    .unwrap();
            }
        };
        set_mode("manual").await;
        assert_eq!(
            app::winners::run_once(demo.state()).await.unwrap(),
            0,
            "still live"
        );
        demo.end_now().await;
        assert_eq!(
            app::winners::run_once(demo.state()).await.unwrap(),
            0,
            "the admin draws this one"
        );
        set_mode("auto").await;
        assert_eq!(app::winners::run_once(demo.state()).await.unwrap(), 1);
        assert_eq!(
            app::winners::run_once(demo.state()).await.unwrap(),
            0,
            "once"
        );
        let results = store::results(demo.db(), &demo.campaign)
            .await
            .unwrap()
            .expect("drawn at the end");
        assert_eq!(results.tickets.len(), 3);
        assert_eq!(results.winners.iter().flatten().count(), 2);
        app::draws::verify(&results).unwrap();
        demo.stop().await;
    }
);

both_databases!(
    the_draw_settings_are_saved_with_the_campaign_and_checked,
    |url: String| async move {
        let app = crate::support::App::start(&url, &[]).await;
        let admin = app.login_as("admin").await;
        admin.connect_page(crate::support::BAKERY).await;
        let mut form = crate::support::cake();
        form.winners = "0".into();
        form.claim_hours = "1000".into();
        let (status, body) = admin.save(None, &form).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Between 1 and 1,000 winners."), "{body}");
        assert!(body.contains("Between 1 and 720 hours"), "{body}");
        form.winners = "3".into();
        form.claim_hours = "24".into();
        form.alternates = "2".into();
        form.draw_mode = "manual".into();
        let id = admin.save_campaign(&form).await;
        let (_, body) = admin.call("get_campaign", &[("id", &id)]).await;
        let campaign: app::campaigns::Campaign = serde_json::from_str(&body).unwrap();
        assert_eq!(campaign.form, form);
        app.stop().await;
    }
);

both_databases!(
    the_admin_draws_by_hand_sees_the_winners_and_disqualifies_one,
    |url: String| async move {
        let demo = three_entered(&url).await;
        sqlx::query(
            "UPDATE campaigns SET draw_mode = 'manual', winners_count = 2, alternates_count = 1
             WHERE id = $1",
        )
        .bind(&demo.campaign)
        .execute(demo.db())
        .await
        .unwrap();
        let admin = demo.login_as("admin").await;
        let id = demo.campaign.as_str();
        let report = |body: String| -> app::winners::panel::WinnersReport {
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
        };

        let (status, body) = admin.call("draw_winners", &[("id", id)]).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("once the campaign has ended"), "{body}");
        demo.end_now().await;
        let (status, body) = admin.call("campaign_winners", &[("id", id)]).await;
        assert_eq!(status, 200, "{body}");
        let before = report(body);
        assert!(before.ended && !before.drawn, "{before:?}");

        let (status, body) = admin.call("draw_winners", &[("id", id)]).await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = admin.call("campaign_winners", &[("id", id)]).await;
        let drawn = report(body);
        assert!(drawn.drawn);
        assert_eq!(drawn.tickets, 3);
        assert_eq!(drawn.rows.len(), 2);
        assert_eq!(drawn.waiting.len(), 1);
        // (No first names: the sandbox, as Meta without profile access, gives none.)
        assert!(drawn.rows.iter().all(|w| w.name.is_none()), "{drawn:?}");
        // Each winner's message: queued with the draw, then sent.
        assert!(
            drawn
                .rows
                .iter()
                .all(|w| w.message.as_deref() == Some("queued")),
            "{drawn:?}"
        );
        demo.settle().await;
        let (_, body) = admin.call("campaign_winners", &[("id", id)]).await;
        let told = report(body);
        assert!(
            told.rows
                .iter()
                .all(|w| matches!(w.message.as_deref(), Some("sent" | "delivered" | "read"))),
            "{told:?}"
        );

        let first = drawn.rows[0].place.to_string();
        let (status, body) = admin
            .call(
                "disqualify_winner",
                &[("id", id), ("place", &first), ("reason", " ")],
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = admin
            .call(
                "disqualify_winner",
                &[("id", id), ("place", &first), ("reason", "entered twice")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = admin.call("campaign_winners", &[("id", id)]).await;
        let after = report(body);
        let states: Vec<(&str, i64)> = after
            .rows
            .iter()
            .map(|w| (w.status.as_str(), w.prize_rank))
            .collect();
        assert_eq!(states, vec![("disqualified", 1), ("won", 2), ("won", 1)]);
        assert!(after.waiting.is_empty());
        let html = demo.page_text("/c/demo/results").await;
        assert!(html.contains("disqualified: entered twice"), "{html}");

        // Someone who does not manage the campaign sees nothing of it.
        let stranger = demo.login_as("bob").await;
        let (status, body) = stranger.call("campaign_winners", &[("id", id)]).await;
        assert!(status == 403 || status == 404, "{status} {body}");
        demo.stop().await;
    }
);

const HOUR_MS: i64 = 3_600_000;

/// The demo campaign (drawn by hand), entered through Messenger by Alice, Bob and Carol.
async fn three_entered(url: &str) -> crate::support::Demo {
    let demo = crate::support::Demo::start(url, &[]).await;
    for user in ["alice", "bob", "carol"] {
        demo.subscribe(user, 0).await;
    }
    demo
}

/// The sandbox people holding a prize of the demo campaign now (status `won`), by ticket order.
async fn holders(demo: &crate::support::Demo, users: &[&str]) -> Vec<String> {
    let psids: Vec<String> = sqlx::query_scalar(
        "SELECT s.psid FROM winners w JOIN entries e ON e.id = w.entry_id
         JOIN subscribers s ON s.id = e.subscriber_id
         WHERE w.campaign_id = $1 AND w.status = 'won' ORDER BY w.place",
    )
    .bind(&demo.campaign)
    .fetch_all(demo.db())
    .await
    .unwrap();
    let mut found = Vec::new();
    for psid in psids {
        for user in users {
            if demo.psid(user).await == psid {
                found.push(user.to_string());
            }
        }
    }
    found
}

async fn say(demo: &crate::support::Demo, user: &str, body: serde_json::Value) {
    let mut body = body;
    body["user"] = user.into();
    body["page"] = "sunnybakery".into();
    demo.control(reqwest::Method::POST, "interactions", body)
        .await;
}

both_databases!(
    the_winners_are_told_with_a_claim_button_and_everyone_else_hears_the_results,
    |url: String| async move {
        let demo = crate::support::Demo::start(&url, &[]).await;
        // Names as an app with Meta's profile access gets them.
        demo.sandbox_settings(serde_json::json!({ "profile_access": true }))
            .await;
        demo.draw_at_end(2).await;
        let people = ["alice", "bob", "carol"];
        for user in people {
            demo.subscribe(user, 0).await;
        }
        demo.end_now().await;
        demo.settle().await;
        // The end notice waited for the draw, made when it was due.
        let results = store::results(demo.db(), &demo.campaign)
            .await
            .unwrap()
            .expect("drawn before the end notice went");
        app::draws::verify(&results).unwrap();
        let winners = holders(&demo, &people).await;
        assert_eq!(winners.len(), 2, "{winners:?}");
        let payload = format!("CLAIM:{}", demo.campaign);
        for user in people {
            let told = demo.received(user, "Claim my prize").await;
            let heard = demo.received(user, "The winners have been drawn").await;
            if winners.contains(&user.to_string()) {
                assert_eq!(told.len(), 1, "{user}: {:?}", demo.thread(user).await);
                assert_eq!(told[0]["messaging_type"], "UPDATE");
                let body = told[0]["body"].to_string();
                assert!(body.contains(&payload), "{body}");
                assert!(body.contains("Your ticket"), "{body}");
                assert!(heard.is_empty(), "a winner hears their own message only");
            } else {
                assert!(told.is_empty(), "{user} did not win");
                assert_eq!(heard.len(), 1, "{user}: {:?}", demo.thread(user).await);
                let body = heard[0]["body"].to_string();
                assert!(body.contains("/c/demo/results"), "{body}");
            }
        }
        // The first winner taps the button: the claim is recorded and answered.
        let (first, second) = (&winners[0], &winners[1]);
        let tap =
            serde_json::json!({"kind": "postback", "title": "Claim my prize", "payload": payload});
        say(&demo, first, tap.clone()).await;
        demo.settle().await;
        assert_eq!(demo.received(first, "is claimed").await.len(), 1);
        let statuses: Vec<&str> = store::winners(demo.db(), &demo.campaign)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.status.as_str())
            .collect();
        assert_eq!(statuses, ["claimed", "won"]);
        // Tapping again is answered, and claims nothing more.
        say(&demo, first, tap).await;
        demo.settle().await;
        assert_eq!(demo.received(first, "already claimed").await.len(), 1);
        // The word from someone who won nothing is just a word: no answer.
        let loser = people
            .iter()
            .find(|u| !winners.contains(&u.to_string()))
            .unwrap();
        let before = demo.thread(loser).await["messages"]
            .as_array()
            .unwrap()
            .len();
        say(
            &demo,
            loser,
            serde_json::json!({"kind": "message", "text": "claim"}),
        )
        .await;
        demo.settle().await;
        let thread = demo.thread(loser).await;
        let after = thread["messages"].as_array().unwrap();
        assert_eq!(after.len(), before + 1, "only their own message: {after:?}");
        // The results say who claimed; the second winner has not yet.
        let page = demo.page_text("/c/demo/results").await;
        assert!(page.contains("claimed"), "{page}");
        assert!(page.contains("not claimed yet"), "{page}");
        // Each winner by first name and last initial ("Alice Entrant": "Alice E."), never more.
        for user in [first, second] {
            let name = format!("{}{} E. (ticket", user[..1].to_uppercase(), &user[1..]);
            assert!(page.contains(&name), "{name}: {page}");
        }
        assert!(!page.contains("Entrant"), "{page}");
        // Each person was told once, whatever the rounds since.
        app::winners::run_once(demo.state()).await.unwrap();
        demo.settle().await;
        for user in &winners {
            assert_eq!(demo.received(user, "Congratulations").await.len(), 1);
        }
        demo.stop().await;
    }
);

both_databases!(
    outside_the_window_a_winner_is_told_by_template_and_an_unclaimed_prize_passes_on,
    |url: String| async move {
        let demo = crate::support::Demo::start(&url, &[]).await;
        demo.draw_at_end(1).await;
        sqlx::query("UPDATE campaigns SET alternates_count = 1 WHERE id = $1")
            .bind(&demo.campaign)
            .execute(demo.db())
            .await
            .unwrap();
        let people = ["alice", "bob"];
        for user in people {
            demo.subscribe(user, 30 * HOUR_MS).await;
        }
        demo.end_now().await;
        demo.settle().await;
        let winner = holders(&demo, &people).await.remove(0);
        let alternate = people.iter().find(|u| **u != winner).unwrap().to_string();
        // Outside the window: the Page's results template, with the claim button (a reply of
        // the word works too).
        let told = demo.received(&winner, "reply CLAIM").await;
        assert_eq!(told.len(), 1, "{:?}", demo.thread(&winner).await);
        assert_eq!(told[0]["messaging_type"], "UTILITY");
        let body = told[0]["body"].to_string();
        assert!(body.contains("giveaway_result"), "{body}");
        assert!(body.contains("Claim my prize"), "{body}");
        assert!(body.contains(&format!("CLAIM:{}", demo.campaign)), "{body}");
        assert!(demo.received(&alternate, "reply CLAIM").await.is_empty());
        // The deadline passes: the prize goes to the alternate, who is told and claims by word.
        sqlx::query("UPDATE winners SET claim_deadline = $1 WHERE campaign_id = $2")
            .bind(now_ms() - 1)
            .bind(&demo.campaign)
            .execute(demo.db())
            .await
            .unwrap();
        app::winners::run_once(demo.state()).await.unwrap();
        demo.settle().await;
        assert_eq!(holders(&demo, &people).await, vec![alternate.clone()]);
        assert_eq!(
            demo.received(&alternate, "reply CLAIM").await.len(),
            1,
            "{:?}",
            demo.thread(&alternate).await
        );
        say(
            &demo,
            &alternate,
            serde_json::json!({"kind": "message", "text": " Claim "}),
        )
        .await;
        demo.settle().await;
        assert_eq!(demo.received(&alternate, "is claimed").await.len(), 1);
        // Too late for the first winner, and said so.
        say(
            &demo,
            &winner,
            serde_json::json!({"kind": "message", "text": "CLAIM"}),
        )
        .await;
        demo.settle().await;
        assert_eq!(demo.received(&winner, "has passed").await.len(), 1);
        let page = demo.page_text("/c/demo/results").await;
        assert!(page.contains("passed to alternate"), "{page}");
        demo.stop().await;
    }
);

both_databases!(
    a_crash_between_the_draw_and_the_winners_messages_loses_none_and_tells_nobody_twice,
    |url: String| async move {
        let demo = three_entered(&url).await;
        demo.end_now().await;
        // The draw's steps as `winners::draw` makes them, then the process dies before it
        // queues the winners' messages.
        let db = demo.db();
        let plan = two_winners(0);
        let seed = store::seed(db, &demo.state().token_cipher, &demo.campaign)
            .await
            .unwrap();
        let frozen = store::freeze(db, &demo.campaign, plan, now_ms())
            .await
            .unwrap();
        let results = app::draws::run_draw(app::draws::DrawInputs {
            seed: &seed,
            list: store::frozen_list(db, &demo.campaign).await.unwrap(),
            frozen_at_ms: Some(frozen.frozen_at),
            beacon: None,
            winners: 2,
            alternates: 0,
        })
        .unwrap();
        store::record_draw(db, &demo.campaign, &results, now_ms())
            .await
            .unwrap();
        let told = "SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'winner_notice'";
        assert_eq!(
            demo.scalar(told).await,
            0,
            "the crash came before the queue"
        );
        // The next winners' round (this instance restarted, or another) tells them; the rounds
        // after it, and a draw asked again, tell nobody twice.
        app::winners::run_once(demo.state()).await.unwrap();
        app::winners::run_once(demo.state()).await.unwrap();
        app::winners::draw(demo.state(), &demo.campaign, plan)
            .await
            .unwrap();
        demo.settle().await;
        assert_eq!(demo.scalar(told).await, 2);
        let mut congratulated = 0;
        for user in ["alice", "bob", "carol"] {
            congratulated += demo.received(user, "Congratulations").await.len();
        }
        assert_eq!(congratulated, 2);
        demo.stop().await;
    }
);
