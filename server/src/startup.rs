//! Startup: connect the database, build the router, serve until told to stop, then stop cleanly
//! (in-flight requests finish, background tasks end).

use crate::{health, sessions::DbSessionStore};
use app::{settings::Settings, shell, state::AppState, App};
use axum::{handler::Handler, middleware, routing::get, Router};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::{services::ServeDir, trace::TraceLayer};
use tower_sessions::{
    cookie::{Key, SameSite},
    session_store::ExpiredDeletion,
    Expiry, SessionManagerLayer,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] app::db::DbError),
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
    #[error(transparent)]
    NoSandbox(#[from] crate::sandbox_mount::NoSandbox),
}

pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
    sandbox: Option<crate::sandbox_mount::Mounted>,
    /// Cancelled at shutdown; every background task watches it.
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Server {
    /// Builds the whole server on an already bound listener (tests bind port 0 first).
    pub async fn build(settings: Settings, listener: TcpListener) -> Result<Server, StartupError> {
        crate::sandbox_mount::check(&settings)?;
        let db = app::db::connect(&settings.database_url, 16).await?;
        let local_addr = listener.local_addr().map_err(StartupError::Listener)?;
        let state = AppState::new(leptos_options(local_addr), db, settings);
        let sandbox = crate::sandbox_mount::start(&state).await;
        let router = router(state.clone(), sandbox.clone());
        Ok(Server {
            listener,
            router,
            state,
            sandbox,
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The in-process sandbox, when it is on (tests drive it directly).
    pub fn sandbox(&self) -> Option<&crate::sandbox_mount::Mounted> {
        self.sandbox.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains requests and stops background tasks.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Server {
            listener,
            router,
            state,
            sandbox: _,
            stop,
            tasks,
        } = self;

        let store = DbSessionStore::new(state.db.clone())
            .with_lifetimes(crate::sessions::Lifetimes::from_settings(&state.settings));
        tasks.spawn(run_until(stop.clone(), async move {
            let mut hourly = tokio::time::interval(Duration::from_secs(3600));
            loop {
                hourly.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        }));

        // Images no campaign uses go a day after their upload.
        tasks.spawn(run_until(
            stop.clone(),
            app::campaigns::images::sweeper(state.clone()),
        ));

        // The funnel's counts, from memory to the database (every instance its own).
        tasks.spawn(run_until(
            stop.clone(),
            app::insight::tally::worker(state.clone()),
        ));

        // Webhook events (those stored before a crash or by another instance too), due notice
        // jobs (including those that fell due while no server ran) and each Page's sender. Tests
        // that drive `inbox::process_pending` and `notices::run_once` themselves turn them off
        // (`BACKGROUND_JOBS=off`), so nothing races them.
        if state.settings.sending.background_jobs {
            tasks.spawn(run_until(
                stop.clone(),
                app::messenger::inbox::worker(state.clone()),
            ));
            tasks.spawn(run_until(stop.clone(), app::notices::worker(state.clone())));
            tasks.spawn(run_until(stop.clone(), app::winners::worker(state.clone())));
            tasks.spawn(run_until(
                stop.clone(),
                app::messenger::retention::worker(state.clone()),
            ));
            // The health checks behind the admin's alerts (one instance at a time).
            tasks.spawn(run_until(stop.clone(), app::alerts::worker(state.clone())));
            // Hand-off webhooks: due deliveries sent, old payloads purged.
            tasks.spawn(run_until(stop.clone(), app::handoff::worker(state.clone())));
        }

        let stop_serving = stop.clone();
        // Client addresses feed the per-address limit on new entries.
        // No Nagle delay: a response written in two parts (headers, then a streamed body, as
        // static files and streamed pages are) otherwise waits for the client's delayed ACK,
        // about 40 ms on a kept-alive connection.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = shutdown => {},
                _ = stop_serving.cancelled() => {},
            }
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;

        stop.cancel();
        tasks.close();
        tasks.wait().await;
        // What was counted since the last flush is not lost with the process.
        if let Err(e) = state.tally.flush(&state.db).await {
            tracing::warn!(error = %e, "funnel counts of the last seconds not written");
        }
        state.db.close().await;
        tracing::info!("stopped");
        served
    }
}

/// Runs a background task until it ends or the server stops.
async fn run_until(stop: CancellationToken, task: impl Future<Output = ()>) {
    tokio::select! {
        _ = stop.cancelled() => {},
        _ = task => {},
    }
}

fn leptos_options(site_addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("giveaway")
        // cargo-leptos writes the browser bundle and assets here; a deployment may move it.
        .site_root(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()))
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        // cargo-leptos names the bundle by its content's hash and says the hashes in a file
        // beside the server binary; a binary without it (tests, `cargo run`) serves plain names.
        .hash_files(app::html::asset_hashes().is_some())
        .build()
}

/// The app's routes, worked out once per process. Working them out renders the app with resource
/// loading switched off process-wide (a global flag in Leptos): a second server in the same process
/// (the tests start many) doing it while another rendered an admin page left that page's resources
/// waiting forever, and the page with them (leptos-rs/leptos#4773).
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState, sandbox: Option<crate::sandbox_mount::Mounted>) -> Router {
    let settings = state.settings.clone();
    let routes = app_routes();
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            crate::security_headers::provide_page_nonce();
        }
    };

    let lifetimes = crate::sessions::Lifetimes::from_settings(&settings);
    // On https the cookie is Secure and `__Host-` named (Secure, Path=/, no Domain: no sibling
    // domain can set or shadow it); local http development keeps a plain cookie.
    let secure = settings.secure_cookies();
    let sessions =
        SessionManagerLayer::new(DbSessionStore::new(state.db.clone()).with_lifetimes(lifetimes))
            .with_name(app::admins::auth::session_cookie_name(secure))
            .with_http_only(true)
            // Lax, not Strict: the session must survive the redirect back from the Facebook dialog.
            .with_same_site(SameSite::Lax)
            .with_secure(secure)
            .with_path("/")
            // The cookie lasts as long as a session can (the absolute lifetime); the store ends the
            // session earlier after inactivity, whatever the cookie says.
            .with_expiry(Expiry::OnInactivity(time::Duration::milliseconds(
                lifetimes.max_age_ms,
            )))
            .with_signed(Key::from(
                &settings.secret_key.derive("session-cookies", 64),
            ));

    let mut router = Router::<AppState>::new();
    if let Some(sandbox) = sandbox {
        router = router.merge(crate::sandbox_mount::routes(sandbox));
    }
    router
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(app::home::routes())
        .merge(app::admins::auth::routes())
        .merge(app::entries::page::routes())
        .merge(app::entries::entrants::routes())
        .merge(app::winners::results::routes())
        .merge(app::privacy::routes())
        .merge(app::campaigns::images::routes())
        .merge(app::messenger::receive::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // Static files in the encoding asked for (`server precompress` wrote them at build
        // time); anything else is the app's 404 page.
        .fallback_service(
            ServeDir::new(state.leptos_options.site_root.as_ref())
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(false)
                .fallback(
                    leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell)
                        .with_state(state.clone()),
                ),
        )
        .layer(middleware::from_fn(crate::assets::cache_headers))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            Arc::new(crate::origin_check::OurOrigins::new(&settings)),
            crate::origin_check::check,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(crate::security_headers::Policies::new(&settings)),
            crate::security_headers::apply,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
