//! The campaign editor's server side beyond saving: image uploads (type by content, size limit,
//! admins only, served back, no way out of the uploads folder), the slug check as the admin
//! types, the lifecycle the editor shows, and the reconnect banner of a Page whose token died.

use crate::support::{
    self, cake, call, client, connect, save, save_campaign, uploaded_files, App, TestServer, BAKERY,
};
use app::campaigns::{Campaign, Lifecycle, SaveOutcome, SlugStatus};

/// A complete 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// An upload whose answer is JSON, whatever its status.
async fn upload(
    http: &reqwest::Client,
    server: &TestServer,
    bytes: Vec<u8>,
    claimed_type: &str,
) -> (u16, serde_json::Value) {
    let (status, body) = support::upload(http, server, bytes, claimed_type).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{status}: {body}")),
    )
}

both_databases!(
    images_are_uploaded_by_admins_checked_by_content_and_served_back,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;

        // Nobody logged in: refused before anything is stored.
        let (status, body) = upload(&client(), server, PNG.to_vec(), "image/png").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "You are not logged in.");
        assert!(uploaded_files(server).is_empty());

        let http = app.login_as("admin").await;
        connect(&http, server, BAKERY).await;

        // A PNG sent without any claimed type is still a PNG: the bytes decide.
        let (status, body) = upload(&http, server, PNG.to_vec(), "application/octet-stream").await;
        assert_eq!(status, 201, "{body}");
        let png_url = body["url"].as_str().unwrap().to_string();
        let name = png_url.strip_prefix("/uploads/").unwrap();
        assert!(app::campaigns::rules::is_upload_name(name), "{png_url}");
        assert!(name.ends_with(".png"), "{png_url}");

        let served = http.get(server.url(&png_url)).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/png");
        assert_eq!(served.headers()["x-content-type-options"], "nosniff");
        assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
        // Public: the entry page shows it to anyone.
        assert_eq!(
            client()
                .get(server.url(&png_url))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
        jpeg.extend_from_slice(&[0; 64]);
        let (status, body) = upload(&http, server, jpeg, "image/jpeg").await;
        assert_eq!(status, 201, "{body}");
        let jpeg_url = body["url"].as_str().unwrap();
        assert!(jpeg_url.ends_with(".jpg"), "{jpeg_url}");
        let served = http.get(server.url(jpeg_url)).send().await.unwrap();
        assert_eq!(served.headers()["content-type"], "image/jpeg");

        // Wrong type, whatever the browser claims: 415, named.
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        let (status, body) = upload(&http, server, svg.to_vec(), "image/png").await;
        assert_eq!(status, 415, "{body}");
        assert_eq!(
            body["error"],
            "This file is not a PNG, JPEG, GIF or WebP image."
        );
        let (status, body) = upload(&http, server, Vec::new(), "image/png").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("The file is empty."))
        );

        // Too big: 413, named, even though it starts like a PNG.
        let mut big = PNG.to_vec();
        big.resize(app::campaigns::rules::IMAGE_MAX_BYTES + 1, 0);
        let (status, body) = upload(&http, server, big, "image/png").await;
        assert_eq!(status, 413, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("larger than 5 MB"),
            "{body}"
        );
        // Exactly the limit is allowed.
        let mut limit = PNG.to_vec();
        limit.resize(app::campaigns::rules::IMAGE_MAX_BYTES, 0);
        assert_eq!(upload(&http, server, limit, "image/png").await.0, 201);

        // Only the accepted files were kept, and no partial file was left behind.
        let kept = uploaded_files(server);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(kept.iter().all(|n| !n.starts_with('.')), "{kept:?}");

        // The uploaded address is a valid campaign image, shown on the public page.
        let mut form = cake();
        form.image_url = png_url.clone();
        form.starts_at = "2026-01-01T09:00".into();
        form.ends_at = "2099-01-01T09:00".into();
        let id = save_campaign(&http, server, &form).await;
        let (status, body) = call(
            &http,
            server,
            "campaign_action",
            &[("id", &id), ("action", "publish")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let page = app.page_text("/c/win-a-cake").await;
        assert!(page.contains(&format!(r#"src="{png_url}""#)), "{page}");

        // A typed address must be http(s): refused beside the field, by the same rule.
        form.image_url = "javascript:alert(1)".into();
        let (status, body) = save(&http, server, Some(&id), &form).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("image_url"), "{body}");
        app.stop().await;
    }
);

#[tokio::test]
async fn uploaded_names_cannot_reach_outside_their_folder() {
    let url = support::fresh_database("sqlite").await;
    let server = TestServer::start(&url).await;
    let data = &server.state.settings.data_dir;
    assert!(data.join("secret_key").exists(), "the target exists");
    std::fs::create_dir_all(data.join("uploads")).unwrap();
    std::fs::write(data.join("uploads").join("notes.txt"), "not an upload").unwrap();
    for path in [
        "/uploads/..%2Fsecret_key",
        "/uploads/%2E%2E%2Fsecret_key",
        "/uploads/..%2F..%2F..%2Fetc%2Fpasswd",
        "/uploads/..%5Csecret_key",
        "/uploads/notes.txt",
        "/uploads/0123456789abcdef0123456789abcdef.png%2F..%2F..%2Fsecret_key",
        "/uploads/0123456789abcdef0123456789abcdef.png",
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("not an upload"), "{path}");
    }
    server.stop().await;
}

async fn slug_status(
    http: &reqwest::Client,
    server: &TestServer,
    slug: &str,
    id: Option<&str>,
) -> (u16, String) {
    let mut form = vec![("slug", slug)];
    if let Some(id) = id {
        form.push(("id", id));
    }
    call(http, server, "slug_available", &form).await
}

fn parse(body: &str) -> SlugStatus {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"))
}

both_databases!(
    the_slug_check_answers_taken_or_free_and_refuses_outsiders,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let (status, _) = slug_status(&client(), server, "win-a-cake", None).await;
        assert_eq!(status, 401, "anonymous callers learn nothing");

        let http = app.login_as("admin").await;
        connect(&http, server, BAKERY).await;
        let (status, body) = slug_status(&http, server, "win-a-cake", None).await;
        assert_eq!((status, parse(&body)), (200, SlugStatus::Available));
        let id = save_campaign(&http, server, &cake()).await;

        let (_, body) = slug_status(&http, server, "win-a-cake", None).await;
        assert_eq!(parse(&body), SlugStatus::Taken, "for a new campaign");
        let (_, body) = slug_status(&http, server, "win-a-cake", Some(&id)).await;
        assert_eq!(parse(&body), SlugStatus::Available, "its own link");
        let (_, body) = slug_status(&http, server, "win-a-pie", Some(&id)).await;
        assert_eq!(parse(&body), SlugStatus::Available);
        let (_, body) = slug_status(&http, server, "Win A Cake", None).await;
        assert!(matches!(parse(&body), SlugStatus::Invalid(_)), "{body}");

        // Links are public addresses: taken for every admin, not only the owner.
        let other = app.login_as("moderator").await;
        let (_, body) = slug_status(&other, server, "win-a-cake", None).await;
        assert_eq!(parse(&body), SlugStatus::Taken);

        // Saving a taken link is still refused by the server, beside the field.
        let mut copy = cake();
        copy.title = "Copy".into();
        let (status, body) = save(&http, server, None, &copy).await;
        assert_eq!(status, 200, "{body}");
        let SaveOutcome::Invalid(errors) = serde_json::from_str(&body).unwrap() else {
            panic!("{body}")
        };
        assert_eq!(errors["slug"], "This link is taken; choose another.");
        app.stop().await;
    }
);

async fn editor_html(http: &reqwest::Client, server: &TestServer, id: &str) -> String {
    let response = http
        .get(server.url(&format!("/admin/campaigns/{id}")))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

both_databases!(
    the_editor_shows_the_lifecycle_and_asks_to_reconnect_a_dead_page,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        connect(&http, server, BAKERY).await;
        let id = save_campaign(&http, server, &cake()).await;

        let (_, body) = call(&http, server, "get_campaign", &[("id", &id)]).await;
        let campaign: Campaign = serde_json::from_str(&body).unwrap();
        assert_eq!(campaign.lifecycle_now, Lifecycle::Draft);
        let html = editor_html(&http, server, &id).await;
        assert!(html.contains(r#"data-stage="draft""#), "{html}");
        assert!(html.contains(r#"data-testid="action-publish""#), "{html}");
        assert!(!html.contains("reconnect-banner"), "a healthy Page: {html}");

        // December 2026 is ahead: published, it is scheduled, and can go back to draft.
        let (status, body) = call(
            &http,
            server,
            "campaign_action",
            &[("id", &id), ("action", "publish")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let html = editor_html(&http, server, &id).await;
        assert!(html.contains(r#"data-stage="scheduled""#), "{html}");
        assert!(html.contains(r#"data-testid="action-unpublish""#), "{html}");
        assert!(!html.contains(r#"data-testid="action-publish""#), "{html}");

        // Facebook stops accepting the Page's token: the editor says so before any send fails.
        let token =
            app::pages::store::page_token(&server.state.db, &server.state.token_cipher, BAKERY)
                .await
                .unwrap()
                .unwrap();
        let revoked = http
            .post(server.url("/sandbox/control/tokens/revoke"))
            .json(&serde_json::json!({ "access_token": token.expose() }))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let html = editor_html(&http, server, &id).await;
        assert!(html.contains("reconnect-banner"), "{html}");
        assert!(html.contains("Reconnect Sunny Bakery"), "{html}");
        assert!(html.contains(r##"href="/admin#pages-heading""##), "{html}");

        app.stop().await;
    }
);

both_databases!(
    an_admins_change_shows_on_the_public_page_at_once,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        connect(&http, server, BAKERY).await;
        let mut form = cake();
        form.starts_at = "2026-01-01T09:00".into();
        form.ends_at = "2099-01-01T09:00".into();
        let id = save_campaign(&http, server, &form).await;
        let act = |action: &'static str| {
            let (http, server, id) = (&http, &server, id.clone());
            async move {
                let (status, body) = call(
                    http,
                    server,
                    "campaign_action",
                    &[("id", &id), ("action", action)],
                )
                .await;
                assert_eq!(status, 200, "{action}: {body}");
            }
        };
        act("publish").await;
        let page = app.page_text("/c/win-a-cake").await;
        assert!(page.contains("Win a cake"), "{page}");

        // The page is asked again within the second the server keeps its copy: the edit shows.
        form.title = "Win two cakes".into();
        let (status, body) = save(&http, server, Some(&id), &form).await;
        assert_eq!(status, 200, "{body}");
        let page = app.page_text("/c/win-a-cake").await;
        assert!(page.contains("Win two cakes"), "{page}");
        let widget = app.page_text("/embed/win-a-cake").await;
        assert!(widget.contains("Win two cakes"), "{widget}");

        act("end_now").await;
        let page = app.page_text("/c/win-a-cake").await;
        assert!(page.contains(r#"data-state="ended""#), "{page}");

        app.stop().await;
    }
);
