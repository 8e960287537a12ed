//! The command line: `server` chooses what to run from its arguments (clap) and refuses what it
//! does not know with the usage, before it reads a setting. Each run below sets a malformed
//! `DATABASE_URL`: a binary that ignored its arguments and started serving would stop on that
//! setting instead (exit 2, "error: setting DATABASE_URL"), so the usage proves nothing started.

use std::process::{Command, Output};

fn server(args: &[&str]) -> Output {
    let data = std::env::temp_dir().join(format!("giveaway-cli-{}", app::db::new_id()));
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
        .env("DATABASE_URL", "mysql://never-read/x")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_prints_the_usage_and_serves_nothing() {
    let out = server(&["--help"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("Usage: server"), "{stdout}");
    for command in ["serve", "sandbox", "migrate"] {
        assert!(stdout.contains(command), "{command} listed: {stdout}");
    }
    assert!(
        !stderr.contains("DATABASE_URL"),
        "no setting read: {stderr}"
    );
}

#[test]
fn version_prints_the_version() {
    let out = server(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("server {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_subcommand_or_argument_is_refused_with_the_usage() {
    for args in [&["anything"][..], &["--port", "80"], &["sandbox", "--nope"]] {
        let out = server(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: server"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("DATABASE_URL"),
            "no setting read: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn migrate_creates_the_tables_and_exits() {
    use sqlx::{Connection, SqliteConnection};
    let url = crate::support::fresh_database("sqlite").await;
    let data = std::env::temp_dir().join(format!("giveaway-cli-{}", app::db::new_id()));
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
        .env("DATABASE_URL", &url)
        // Nothing listens: a port taken would not matter.
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("migrated"),
        "{}",
        text(&out.stdout)
    );

    let mut db = SqliteConnection::connect(&url).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(applied as usize, app::db::MIGRATOR.iter().count());
    for table in ["campaigns", "entries", "pages", "sessions"] {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        )
        .bind(table)
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(found, 1, "table {table}");
    }
}
