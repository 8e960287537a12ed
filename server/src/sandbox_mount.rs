//! The sandbox inside the product's process, when this build has it (cargo feature `sandbox`, on
//! by default; a production build may leave it out with `--no-default-features`). The sandbox
//! crate knows nothing of the product: this is the one place that translates the product's
//! settings into its configuration, starts it and mounts its routes, so start-up needs no
//! `cfg` of its own.

use app::settings::Settings;
#[cfg(feature = "sandbox")]
use app::state::AppState;

/// The sandbox the server runs in-process. Without the feature there is none to run: the type
/// has no values, so `Option<Mounted>` is always `None` and the code around it stays one.
#[cfg(feature = "sandbox")]
pub type Mounted = sandbox::Shared;
#[cfg(not(feature = "sandbox"))]
pub type Mounted = Absent;

/// No sandbox (a type with no values; `Clone` like `sandbox::Shared`, so start-up reads the same).
#[cfg(not(feature = "sandbox"))]
#[derive(Clone, Debug)]
pub enum Absent {}

/// Whether this build carries the sandbox.
pub const BUILT_IN: bool = cfg!(feature = "sandbox");

/// The settings ask for a sandbox (`FACEBOOK_SANDBOX=on`, or `auto` without a real app in
/// development) and this build has none: start-up stops rather than calling Meta's addresses
/// that point at a `/sandbox` nobody serves.
#[derive(Debug, thiserror::Error)]
#[error(
    "setting FACEBOOK_SANDBOX: this server was built without the sandbox (cargo feature `sandbox`); \
     set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET of a real Facebook app, or FACEBOOK_SANDBOX=off"
)]
pub struct NoSandbox;

/// Refuses settings that need the sandbox when this build has none.
pub fn check(settings: &Settings) -> Result<(), NoSandbox> {
    if settings.sandbox && !BUILT_IN {
        Err(NoSandbox)
    } else {
        Ok(())
    }
}

/// Starts the sandbox when the settings turn it on, and seeds the demo campaign on it.
#[cfg(feature = "sandbox")]
pub async fn start(state: &AppState) -> Option<Mounted> {
    let sandbox = state
        .settings
        .sandbox
        .then(|| sandbox::Sandbox::new(config(&state.settings)))?;
    if state.settings.demo_campaign {
        // The product works without it: a failure is logged, not fatal.
        if let Err(e) = crate::demo::seed(state, &sandbox).await {
            tracing::warn!(error = %e, "demo campaign not seeded");
        }
    }
    Some(sandbox)
}

#[cfg(not(feature = "sandbox"))]
pub async fn start(_state: &app::state::AppState) -> Option<Mounted> {
    None
}

/// The sandbox's `/sandbox/...` routes, to merge into the product's router.
#[cfg(feature = "sandbox")]
pub fn routes<S: Clone + Send + Sync + 'static>(sandbox: Mounted) -> axum::Router<S> {
    sandbox::router_for(sandbox)
}

#[cfg(not(feature = "sandbox"))]
pub fn routes<S: Clone + Send + Sync + 'static>(sandbox: Mounted) -> axum::Router<S> {
    match sandbox {}
}

/// The sandbox stands in for the app the product is configured with (the development
/// credentials unless overridden), at the product's own address, and delivers webhooks to the
/// product's `/webhooks/messenger`.
#[cfg(feature = "sandbox")]
pub fn config(settings: &Settings) -> sandbox::SandboxConfig {
    let base = settings.public_base_url.clone();
    sandbox::SandboxConfig {
        app_id: settings.facebook.app_id.clone(),
        app_secret: sandbox::Secret::new(settings.facebook.app_secret.expose()),
        webhook_url: base.join("/webhooks/messenger").expect("valid path"),
        base_url: base,
        world_file: std::env::var_os("SANDBOX_WORLD_FILE").map(Into::into),
        tuning: sandbox::SandboxTuning {
            control_remote: settings.sandbox_control_remote,
            ..sandbox::SandboxTuning::default()
        },
    }
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    #[test]
    fn the_sandbox_serves_the_graph_version_the_product_calls_by_default() {
        assert_eq!(sandbox::GRAPH_VERSION, app::settings::DEFAULT_GRAPH_VERSION);
    }
}
