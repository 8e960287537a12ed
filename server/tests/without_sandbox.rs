//! A production build without the sandbox (`cargo test -p server --no-default-features --test
//! without_sandbox`, run by `scripts/test`): settings that ask for the sandbox stop start-up with
//! one line saying this build has none, and `server sandbox` says the same. With the default
//! features this file is empty (the `it` tests cover that build).
#![cfg(not(feature = "sandbox"))]

use std::process::{Command, Output};

fn server(args: &[&str], env: &[(&str, &str)]) -> Output {
    let data = std::env::temp_dir().join(format!(
        "giveaway-nosandbox-{}-{}",
        std::process::id(),
        args.join("-")
    ));
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PUBLIC_BASE_URL", "http://127.0.0.1:9")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

#[test]
fn settings_asking_for_the_sandbox_stop_startup_with_one_clear_line() {
    // `on`, and `auto` in development without a real app (the default) both ask for it.
    for env in [&[("FACEBOOK_SANDBOX", "on")][..], &[]] {
        let out = server(&[], env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(
            stderr.starts_with(
                "error: setting FACEBOOK_SANDBOX: this server was built without the sandbox"
            ),
            "{env:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn the_sandbox_command_says_this_build_has_none() {
    let out = server(&["sandbox"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("built without the sandbox"), "{stderr}");
}
