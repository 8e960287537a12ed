//! The sandbox: a local stand-in of the parts of Meta this product uses (Facebook Login, the
//! Graph API, Messenger and its webhooks). It is mounted under `/sandbox` when no real Facebook
//! app is configured, and can run as its own process (`server sandbox --port 3100`).

use app::secrets::Secret;
use axum::Router;
use url::Url;

/// What the sandbox needs to know about the app it stands in for.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub app_id: String,
    pub app_secret: Secret,
    /// Where the sandbox itself is reached (login URLs and m.me links point here).
    pub base_url: Url,
    /// Where it delivers webhooks (the product's `/webhooks/messenger` by default).
    pub webhook_url: Url,
    /// Optional JSON file describing the seeded world instead of the built-in one.
    pub world_file: Option<std::path::PathBuf>,
}

impl SandboxConfig {
    pub fn from_settings(settings: &app::settings::Settings) -> Self {
        let base = settings.public_base_url.clone();
        SandboxConfig {
            app_id: settings.facebook.app_id.clone(),
            app_secret: settings.facebook.app_secret.clone(),
            webhook_url: base.join("/webhooks/messenger").expect("valid path"),
            base_url: base,
            world_file: std::env::var_os("SANDBOX_WORLD_FILE").map(Into::into),
        }
    }
}

/// All sandbox routes, with their full `/sandbox/...` paths, ready to merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>(_config: SandboxConfig) -> Router<S> {
    Router::new()
}
