//! The real server, booted on port 0 against each database: health, pages, headers, startup
//! failures and shutdown.

use crate::support;

use support::{client, TestServer};

both_databases!(health_and_readiness_answer_json, |url: String| async move {
    let server = TestServer::start(&url).await;
    let http = client();
    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );

    // With the database gone, the process is still up but no longer ready.
    server.state.db.close().await;
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await;
});

both_databases!(
    home_and_not_found_pages_render_without_javascript,
    |url: String| async move {
        let server = TestServer::start(&url).await;
        let http = client();
        let home = http.get(server.url("/")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let headers = home.headers().clone();
        let html = home.text().await.unwrap();
        assert!(html.contains("Giveaways on Messenger"), "{html}");
        assert!(
            html.contains(r#"href="/login" data-testid="start""#),
            "{html}"
        );
        // A public page: rendered on the server, no browser bundle (issue #19).
        assert!(
            !html.contains("<script") && !html.contains(".wasm"),
            "{html}"
        );
        // Admin pages cannot be framed.
        assert_eq!(headers["x-frame-options"], "DENY");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");

        let missing = http.get(server.url("/no/such/page")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.unwrap().contains("Page not found"));
        server.stop().await;
    }
);

fn server_binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    let data = std::env::temp_dir().join(format!("giveaway-bin-{}", app::db::new_id()));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PUBLIC_BASE_URL", "http://127.0.0.1:9")
        .current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn a_malformed_database_url_stops_startup_with_one_clear_line() {
    for bad in ["mysql://localhost/x", "postgres://", "not a url"] {
        let out = server_binary().env("DATABASE_URL", bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: setting DATABASE_URL: "),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn the_sandbox_never_runs_with_a_real_apps_secret() {
    // Mounted on the product, or alone: both refuse, naming the setting, before listening.
    let out = server_binary()
        .env("FACEBOOK_SANDBOX", "on")
        .env("FACEBOOK_APP_ID", "1234567890")
        .env("FACEBOOK_APP_SECRET", "a-real-app-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: setting FACEBOOK_SANDBOX: ")
            && !stderr.contains("a-real-app-secret"),
        "{stderr}"
    );
    for name in ["FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"] {
        let out = server_binary()
            .args(["sandbox", "--port", "0"])
            .env(name, "1234567890")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: setting {name}: ")),
            "{stderr}"
        );
    }
}

#[test]
fn an_unreachable_database_stops_startup() {
    let out = server_binary()
        .env("DATABASE_URL", "postgres://nobody:nothing@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("nothing"),
        "the password is not printed: {stderr}"
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    use std::io::{BufRead, BufReader};
    let mut child = server_binary()
        .env(
            "DATABASE_URL",
            format!(
                "sqlite://{}/t.db",
                std::env::temp_dir().join(app::db::new_id()).display()
            ),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    // Kept open until the end: the server goes on printing after its first line.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("is running at"), "{line}");
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful exit, got {exit:?}");
}
