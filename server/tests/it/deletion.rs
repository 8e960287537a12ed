//! Issue #17, deletion: Meta's Data Deletion Request Callback (a good, a bad and a missing
//! signature), its status page, and DELETE MY DATA sent to the Page on Messenger.

use crate::support::{client, Demo};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// A `signed_request` as Meta makes it: HMAC-SHA256 of the payload part with `secret`.
fn signed_request(secret: &str, user_id: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(
        json!({ "algorithm": "HMAC-SHA256", "issued_at": 1_764_000_000, "user_id": user_id })
            .to_string(),
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    format!(
        "{}.{payload}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

both_databases!(
    the_deletion_callback_checks_its_signature_erases_and_answers_a_status_page,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        demo.subscribe("alice", 0).await;
        demo.subscribe("bob", 0).await;
        // Their confirmations' delivery receipts are in before anything is erased.
        demo.settle().await;
        // Alice entered with a Facebook login too: her app-scoped id is on her entry.
        let alice_psid = demo.psid("alice").await;
        sqlx::query(
            "UPDATE entries SET asid = 'asid-alice' WHERE subscriber_id =
               (SELECT id FROM subscribers WHERE psid = $1)",
        )
        .bind(&alice_psid)
        .execute(demo.db())
        .await
        .unwrap();
        let secret = demo
            .state()
            .settings
            .facebook
            .app_secret
            .expose()
            .to_string();
        let callback = demo.url("/facebook/data-deletion");
        let post = |form: Vec<(&'static str, String)>| {
            let callback = callback.clone();
            async move {
                let r = client().post(callback).form(&form).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }
        };

        // Missing, then forged: refused, nothing erased.
        let (status, body) = post(vec![]).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains("missing"));
        let (status, body) = post(vec![(
            "signed_request",
            signed_request("not-the-secret", "asid-alice"),
        )])
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["error"].as_str().unwrap().contains("signature"));
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries WHERE status = 'erased'")
                .await,
            0
        );

        // Good: Alice's entry and Messenger identity go; the answer is Meta's shape.
        let (status, body) = post(vec![(
            "signed_request",
            signed_request(&secret, "asid-alice"),
        )])
        .await;
        assert_eq!(status, 200, "{body}");
        let code = body["confirmation_code"].as_str().unwrap().to_string();
        let status_url = body["url"].as_str().unwrap().to_string();
        assert!(
            status_url.ends_with(&format!("/deletion/{code}")),
            "{status_url}"
        );
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries WHERE status = 'erased'")
                .await,
            1
        );
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries WHERE asid IS NOT NULL")
                .await,
            0
        );
        assert_eq!(
            demo.scalar(&format!(
                "SELECT COUNT(*) FROM subscribers WHERE psid = '{alice_psid}'"
            ))
            .await,
            0
        );
        assert_eq!(
            demo.scalar(&format!("SELECT COUNT(*) FROM webhook_events WHERE sender_id = '{alice_psid}' OR payload LIKE '%{alice_psid}%'")).await,
            0,
            "what she sent is emptied"
        );
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            1
        );
        let path = status_url
            .split_once("/deletion/")
            .map(|(_, c)| format!("/deletion/{c}"))
            .unwrap();
        let page = demo.page_text(&path).await;
        assert!(
            page.contains("Your deletion request") && page.contains("1 giveaway entry"),
            "{page}"
        );
        assert!(!page.contains(&alice_psid));
        let missing = client()
            .get(demo.url("/deletion/0123456789abcdef0123456789abcdef"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);

        // An admin's account: gone with its rights; its session logs in nobody.
        let admin = demo.login_as("admin").await;
        let fb_admin: String = sqlx::query_scalar("SELECT facebook_user_id FROM admins LIMIT 1")
            .fetch_one(demo.db())
            .await
            .unwrap();
        let (status, body) =
            post(vec![("signed_request", signed_request(&secret, &fb_admin))]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            demo.scalar(&format!(
                "SELECT COUNT(*) FROM admins WHERE facebook_user_id = '{fb_admin}'"
            ))
            .await,
            0
        );
        let (status, _) = admin
            .call("entrants_list", &[("id", demo.campaign.as_str())])
            .await;
        assert_eq!(status, 401);
        // Someone we know nothing of: done, and said so.
        let (status, body) =
            post(vec![("signed_request", signed_request(&secret, "nobody"))]).await;
        assert_eq!(status, 200);
        let path = format!("/deletion/{}", body["confirmation_code"].as_str().unwrap());
        assert!(demo.page_text(&path).await.contains("nothing to erase"));
        demo.stop().await;
    }
);

both_databases!(
    the_sandbox_sends_the_deletion_callback_as_meta_does,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        let _admin = demo.login_as("admin").await;
        assert_eq!(demo.scalar("SELECT COUNT(*) FROM admins").await, 1);
        let sent = demo
            .control(reqwest::Method::POST, "users/admin/deletion", json!({}))
            .await;
        assert_eq!(sent["status"], 200, "{sent}");
        let status_url = sent["answer"]["url"].as_str().unwrap();
        assert_eq!(demo.scalar("SELECT COUNT(*) FROM admins").await, 0);
        let path = format!("/deletion/{}", status_url.rsplit('/').next().unwrap());
        assert!(demo.page_text(&path).await.contains("organiser account"));
        demo.stop().await;
    }
);

both_databases!(
    delete_my_data_in_messenger_erases_the_person_on_that_page,
    |url: String| async move {
        let demo = Demo::start(&url, &[]).await;
        demo.subscribe("alice", 0).await;
        demo.subscribe("bob", 0).await;
        let psid = demo.psid("alice").await;
        let subscriber: String = sqlx::query_scalar("SELECT id FROM subscribers WHERE psid = $1")
            .bind(&psid)
            .fetch_one(demo.db())
            .await
            .unwrap();
        sqlx::query("INSERT INTO subscriber_keywords (subscriber_id, keyword, tapped_at) VALUES ($1, 'CAKE', 1)")
            .bind(&subscriber)
            .execute(demo.db())
            .await
            .unwrap();
        let entries_before = demo.scalar("SELECT COUNT(*) FROM entries").await;
        let messages_before = demo.scalar("SELECT COUNT(*) FROM outgoing_messages").await;

        demo.control(
            reqwest::Method::POST,
            "interactions",
            json!({ "user": "alice", "page": "sunnybakery", "kind": "message", "text": "Delete my  data" }),
        )
        .await;
        demo.settle().await;

        // The answer went to her, with the status page's address.
        let answer = demo.received("alice", "/deletion/").await;
        assert_eq!(answer.len(), 1, "{:?}", demo.thread("alice").await);
        let text = answer[0]["body"].to_string();
        let code: String = text
            .split("/deletion/")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        let page = demo.page_text(&format!("/deletion/{code}")).await;
        assert!(
            page.contains("on Messenger") && page.contains("1 giveaway entry"),
            "{page}"
        );
        // Her rows name nobody; counts stay; Bob is untouched.
        let (status, sub): (String, Option<String>) =
            sqlx::query_as("SELECT status, subscriber_id FROM entries WHERE subscriber_id = $1 OR (status = 'erased')")
                .bind(&subscriber)
                .fetch_one(demo.db())
                .await
                .unwrap();
        assert_eq!((status.as_str(), sub), ("erased", None));
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries").await,
            entries_before
        );
        assert!(demo.scalar("SELECT COUNT(*) FROM outgoing_messages").await > messages_before);
        assert_eq!(
            demo.scalar(&format!(
                "SELECT COUNT(*) FROM subscriber_keywords WHERE subscriber_id = '{subscriber}'"
            ))
            .await,
            0
        );
        assert_eq!(
            demo.scalar(&format!("SELECT COUNT(*) FROM subscribers WHERE id = '{subscriber}' AND psid = 'erased:{subscriber}' AND unreachable_at IS NOT NULL")).await,
            1
        );
        // What she wrote is emptied (the receipts of the answer, which came after, carry no
        // text and go with the retention purge).
        assert_eq!(
            demo.scalar(
                "SELECT COUNT(*) FROM webhook_events WHERE LOWER(payload) LIKE '%delete my%'"
            )
            .await,
            0
        );
        assert_eq!(
            demo.scalar("SELECT COUNT(*) FROM entries WHERE status = 'confirmed'")
                .await,
            1
        );
        // A notice afterwards reaches Bob only.
        let notice = demo.update_notice("The draw moves to Friday").await;
        demo.settle().await;
        assert_eq!(demo.outcome(&notice, "bob").await.0, "sent");
        assert_eq!(
            demo.scalar(&format!(
                "SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = '{notice}'"
            ))
            .await,
            1
        );
        demo.stop().await;
    }
);
