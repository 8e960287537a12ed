//! Image uploads cannot fill the disk (issue #14): only admins of a connected Page upload, each
//! within a quota and an hourly rate, and images no campaign uses are removed a day after their
//! upload. The upload's own checks (type by content, size, names) are in `campaign_editor`.

use crate::support::{
    self, cake, client, connect, log_in, save, uploaded_files as files, App, TestServer, BAKERY,
};
use app::campaigns::images;
use app::campaigns::SaveOutcome;
use app::db::now_ms;

/// A PNG of `size` bytes: the signature, then zeros (only the start decides the type).
fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(size, 0);
    bytes
}

async fn upload(http: &reqwest::Client, server: &TestServer, bytes: Vec<u8>) -> (u16, String) {
    support::upload(http, server, bytes, "image/png").await
}

fn url_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

fn error_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn rows(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM uploads")
        .fetch_one(&server.state.db)
        .await
        .unwrap()
}

both_databases!(
    only_admins_of_a_connected_page_upload,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = client();
        // Logged in with Facebook, but no Page connected: refused, nothing kept.
        log_in(&http, server, "admin").await;
        let (status, body) = upload(&http, server, png(100)).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(
            error_of(&body),
            "Connect a Facebook Page first: images are for the campaigns of a connected Page."
        );
        assert!(files(server).is_empty());
        assert_eq!(rows(server).await, 0);

        connect(&http, server, BAKERY).await;
        let (status, body) = upload(&http, server, png(100)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(files(server).len(), 1);
        app.stop().await;
    }
);

both_databases!(
    each_admin_uploads_within_a_quota_and_an_hourly_rate,
    |url: String| async move {
        let server =
            TestServer::start_with(&url, &[("UPLOAD_QUOTA_MB", "1"), ("UPLOADS_PER_HOUR", "3")])
                .await;
        let http = client();
        log_in(&http, &server, "admin").await;
        connect(&http, &server, BAKERY).await;

        let (status, body) = upload(&http, &server, png(600 * 1024)).await;
        assert_eq!(status, 201, "{body}");
        // A second one would take the admin over 1 MB: refused by size, named, nothing kept.
        let (status, body) = upload(&http, &server, png(600 * 1024)).await;
        assert_eq!(status, 413, "{body}");
        assert!(
            error_of(&body)
                .starts_with("This image would take your uploads to 1.2 MB, over your 1 MB."),
            "{body}"
        );
        assert_eq!(files(&server).len(), 1);
        assert_eq!(rows(&server).await, 1);
        // Within the quota, the rate decides: three an hour.
        let (status, body) = upload(&http, &server, png(1000)).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = upload(&http, &server, png(1000)).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = upload(&http, &server, png(1000)).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(
            error_of(&body),
            "You uploaded 3 images in the last hour, the most allowed; try again later."
        );
        assert_eq!(files(&server).len(), 3);

        // The quota is each admin's own: another admin of the Page still uploads.
        let other = client();
        log_in(&other, &server, "editor").await;
        let (status, body) = upload(&other, &server, png(600 * 1024)).await;
        assert_eq!(status, 201, "{body}");

        // An hour later the rate allows more (the quota still counts what is kept).
        sqlx::query("UPDATE uploads SET created_at = created_at - 3600001")
            .execute(&server.state.db)
            .await
            .unwrap();
        let (status, body) = upload(&http, &server, png(1000)).await;
        assert_eq!(status, 201, "{body}");
        server.stop().await;
    }
);

both_databases!(
    uploads_no_campaign_uses_are_removed_a_day_later,
    |url: String| async move {
        let app = App::start(&url, &[]).await;
        let server = &app.server;
        let http = app.login_as("admin").await;
        connect(&http, server, BAKERY).await;
        let used = url_of(&upload(&http, server, png(100)).await.1);
        let unused = url_of(&upload(&http, server, png(100)).await.1);
        let mut form = cake();
        form.image_url = used.clone();
        let (status, body) = save(&http, server, None, &form).await;
        assert_eq!(status, 200, "{body}");
        assert!(matches!(
            serde_json::from_str(&body).unwrap(),
            SaveOutcome::Saved { .. }
        ));
        // A file from before uploads were recorded, and one left half-written.
        let dir = server.state.settings.data_dir.join("uploads");
        let stray = "0123456789abcdef0123456789abcdef.png";
        std::fs::write(dir.join(stray), png(100)).unwrap();
        std::fs::write(
            dir.join(".fedcba9876543210fedcba9876543210.png.partial"),
            b"x",
        )
        .unwrap();
        // Something else in the folder is never touched.
        std::fs::write(dir.join("README.txt"), b"notes").unwrap();

        // Within the day, nothing goes: the admin may still be about to save the campaign.
        assert_eq!(images::sweep(&server.state, now_ms()).await.unwrap(), 0);
        assert_eq!(files(server).len(), 5);

        let tomorrow = now_ms() + images::UNUSED_UPLOAD_MS + 60_000;
        assert_eq!(images::sweep(&server.state, tomorrow).await.unwrap(), 3);
        let used_name = used.strip_prefix("/uploads/").unwrap().to_string();
        let mut kept = vec![used_name.clone(), "README.txt".to_string()];
        kept.sort();
        assert_eq!(files(server), kept);
        assert_eq!(rows(server).await, 1);
        assert_eq!(
            client()
                .get(server.url(&unused))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        // The image the campaign shows is still served, streamed with its length.
        let served = client().get(server.url(&used)).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-length"], "100");
        assert_eq!(served.bytes().await.unwrap().as_ref(), png(100).as_slice());
        app.stop().await;
    }
);
