//! `server`: runs the product. Settings come from the environment (README, "Settings").

use app::settings::Settings;
use server::startup::Server;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .init();

    // One line naming the bad setting, and nothing started.
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(settings.site_addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: setting LEPTOS_SITE_ADDR: cannot listen on {}: {e}", settings.site_addr);
            return ExitCode::from(2);
        }
    };
    let sandbox = settings.sandbox;
    let base = settings.public_base_url.clone();
    let server = match Server::build(settings, listener).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };

    println!("Giveaways on Messenger is running at {base}");
    if sandbox {
        println!("Facebook sandbox on: log in at {base} with any sandbox test user (no Facebook app needed).");
    }
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
