//! `server`: runs the product. Settings come from the environment (README, "Settings"); the
//! command line only chooses what to run (README, "Layout").

use app::settings::Settings;
use clap::{Parser, Subcommand};
use server::startup::Server;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system's malloc (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Giveaways on Messenger. Settings come from the environment (and a `.env` file): see the
/// README, "Settings".
#[derive(Debug, Parser)]
#[command(name = "server", version, about)]
struct Cli {
    /// What to run; without one, the product is served.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the product (the default)
    Serve,
    /// Run the Facebook sandbox alone, without the product or its settings
    Sandbox {
        /// The port on 127.0.0.1 to listen on
        #[arg(long, default_value_t = 3100)]
        port: u16,
    },
    /// Apply the database migrations (DATABASE_URL) and exit
    Migrate,
    /// Write brotli and gzip copies beside the site's static files (the browser bundle, the
    /// style sheet, public/), so that they are served compressed without compressing per
    /// request; files whose copies are current are left alone
    Precompress {
        /// The site's root (default: LEPTOS_SITE_ROOT, else target/site)
        dir: Option<std::path::PathBuf>,
    },
    /// Recompute a draw from its results.json, without the database: prints "verified" (exit 0)
    /// or where the results differ (exit 1); exit 2 when the file cannot be read as results
    VerifyDraw {
        /// The draw's results.json, as published with the results page
        results: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // Before anything else: `--help`, `--version` and a refused argument (usage on stderr, exit
    // code 2) start nothing.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        // Logs on stderr; stdout carries only what the server says to the person running it.
        .with_writer(std::io::stderr)
        .init();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Sandbox { port } => run_sandbox(port).await,
        Command::Migrate => migrate().await,
        Command::VerifyDraw { results } => verify_draw(&results),
        Command::Precompress { dir } => precompress(dir),
    }
}

/// Reads the settings: one line naming the bad setting, and nothing started.
fn read_settings() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

async fn serve() -> ExitCode {
    let settings = match read_settings() {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    // A build without the sandbox says so before it listens anywhere.
    if let Err(e) = server::sandbox_mount::check(&settings) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(settings.site_addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "error: setting LEPTOS_SITE_ADDR: cannot listen on {}: {e}",
                settings.site_addr
            );
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

    let shutdown = shutdown_signal();
    say(&format!("Giveaways on Messenger is running at {base}"));
    if sandbox {
        say(&format!(
            "Facebook sandbox on: log in at {base}login with any sandbox test user (no Facebook app needed)."
        ));
    }
    match server.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Applies the migrations start-up would apply, with the same settings, and exits: a deployment
/// can migrate before it starts the new version.
async fn migrate() -> ExitCode {
    let settings = match read_settings() {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match app::db::connect(&settings.database_url, 1).await {
        Ok(db) => {
            db.close().await;
            say("The database is migrated.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `server verify-draw <results.json>`: reads no setting and touches no database, so anyone can
/// run it on results they downloaded. What the draw does and does not prove (the beacon round's
/// signature, or no beacon) it says on lines of their own after "verified".
fn verify_draw(path: &std::path::Path) -> ExitCode {
    use app::draws::{verify_with_notes, DrawResults, RESULTS_VERSION};
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let results: DrawResults = match serde_json::from_str(&text) {
        Ok(results) => results,
        Err(e) => {
            eprintln!(
                "error: {} is not a draw's results.json (version {RESULTS_VERSION}): {e}",
                path.display()
            );
            return ExitCode::from(2);
        }
    };
    if results.version != RESULTS_VERSION {
        eprintln!(
            "error: {} is results format version {}; this server reads version {RESULTS_VERSION}",
            path.display(),
            results.version
        );
        return ExitCode::from(2);
    }
    match verify_with_notes(&results) {
        Ok(notes) => {
            say("verified");
            for note in notes {
                say(&format!("note: {note}"));
            }
            ExitCode::SUCCESS
        }
        Err(difference) => {
            say(&format!("differs: {difference}"));
            ExitCode::from(1)
        }
    }
}

/// Runs the sandbox alone on 127.0.0.1:N (default 3100), with the documented development
/// credentials (it refuses to start with a real app's `FACEBOOK_APP_ID` / `FACEBOOK_APP_SECRET`); webhooks
/// go to `SANDBOX_WEBHOOK_URL` (default: the product on its default port).
#[cfg(feature = "sandbox")]
async fn run_sandbox(port: u16) -> ExitCode {
    use app::settings;
    use server::sandbox::{SandboxConfig, SandboxTuning, Secret};

    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // Never a real app's secret: the control API makes signed webhooks on request.
    for name in ["FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"] {
        if env(name).is_some() {
            eprintln!(
                "error: setting {name}: the sandbox never holds a real Facebook app's credentials (it would sign webhooks with them); unset it"
            );
            return ExitCode::from(2);
        }
    }
    let (app_id, app_secret) = (
        settings::SANDBOX_APP_ID.to_string(),
        settings::SANDBOX_APP_SECRET.to_string(),
    );
    let webhook = env("SANDBOX_WEBHOOK_URL")
        .unwrap_or_else(|| "http://127.0.0.1:3000/webhooks/messenger".into());
    let webhook_url = match url::Url::parse(&webhook) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            eprintln!("error: setting SANDBOX_WEBHOOK_URL: must be an absolute http(s) URL");
            return ExitCode::from(2);
        }
    };
    let base = format!("http://127.0.0.1:{port}");
    let config = SandboxConfig {
        app_id: app_id.clone(),
        app_secret: Secret::new(app_secret),
        base_url: url::Url::parse(&base).expect("a loopback URL parses"),
        webhook_url: webhook_url.clone(),
        world_file: std::env::var_os("SANDBOX_WORLD_FILE").map(Into::into),
        tuning: SandboxTuning::default(),
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::from(2);
        }
    };
    let version = settings::DEFAULT_GRAPH_VERSION;
    let shutdown = shutdown_signal();
    println!("Facebook sandbox running at {base}/sandbox");
    // The development credentials are public by design (README, "Sandbox").
    println!("  app id      {app_id}");
    println!("  app secret  {}", settings::SANDBOX_APP_SECRET);
    println!("  verify tok  {}", settings::SANDBOX_VERIFY_TOKEN);
    println!("  Graph API   {base}/sandbox/graph/{version}");
    println!("  Login       {base}/sandbox/www/{version}/dialog/oauth");
    println!("  Messenger   {base}/sandbox/m.me/{{page}}");
    println!("  Control     {base}/sandbox/control/world");
    println!("  Beacon      {base}/sandbox/beacon (DRAW_BEACON_URL)");
    println!("  Webhooks to {webhook_url}");
    match server::sandbox::serve(config, listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// This build has no sandbox to run (built with `--no-default-features`).
#[cfg(not(feature = "sandbox"))]
async fn run_sandbox(_port: u16) -> ExitCode {
    eprintln!("error: this server was built without the sandbox (cargo feature `sandbox`)");
    ExitCode::from(2)
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: a signal that arrives right after the "running" line must still be
/// a graceful stop, not the default kill.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints a line for the person who started the server. A closed stdout (a pipe whose reader went
/// away) must not take the server down, as `println!` would by panicking.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn precompress(dir: Option<std::path::PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(|| {
        std::env::var("LEPTOS_SITE_ROOT")
            .unwrap_or_else(|_| "target/site".into())
            .into()
    });
    match server::assets::precompress(&dir) {
        Ok(done) => {
            let kb = |b: u64| b / 1024;
            println!(
                "precompressed {} file(s) in {} ({} current): {} KB as {} KB brotli, {} KB gzip",
                done.written,
                dir.display(),
                done.current,
                kb(done.original_bytes),
                kb(done.brotli_bytes),
                kb(done.gzip_bytes)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: could not precompress {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
