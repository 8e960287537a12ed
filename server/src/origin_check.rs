//! Requests that change something (any method but GET, HEAD, OPTIONS and TRACE) are refused with
//! 403 when their `Origin` header names another site: cross-site protection that does not rest on
//! `SameSite=Lax` alone (a same-site subdomain, an old browser, a top-level POST from elsewhere).
//!
//! Browsers send `Origin` with every such request, and pages cannot forge it; clients that are not
//! browsers (scripts, Meta) send none and are not what this guards against, so a request without
//! one goes through and the handler's own checks (session, signature) decide.
//!
//! Ours: `PUBLIC_BASE_URL`'s origin; in development also the listening address and its loopback
//! names (`localhost`, `127.0.0.1`, `[::1]` on that port), since people open whichever they like.
//!
//! `Origin: null` (sandboxed frames, some privacy settings, a POST redirected across sites) is not
//! ours, except on the public entry form (`/c/{slug}/enter`, `/embed/{slug}/enter`): starting an
//! entry needs no session and grants nothing a direct POST could not get (the entry limit counts
//! every one), while a business may embed the widget in a sandboxed frame. An entry posted from a
//! named foreign origin is still refused.
//!
//! Not checked: Meta's webhook (`/webhooks/messenger`, posted server to server and proven by its
//! signature) and the sandbox (`/sandbox/...`, a development stand-in of Facebook that plays other
//! sites' parts; production never mounts it). The widget's iframe is our own document, so its form
//! posts carry our origin.

use app::settings::Settings;
use axum::{
    body::Body,
    extract::State,
    http::{header, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{net::IpAddr, sync::Arc};
use url::{Origin, Url};

/// The origins this server accepts state-changing requests from.
pub struct OurOrigins(Vec<Origin>);

impl OurOrigins {
    pub fn new(settings: &Settings) -> OurOrigins {
        let mut origins = vec![settings.public_base_url.origin()];
        if !settings.is_production() {
            let port = settings.site_addr.port();
            let listening = match settings.site_addr.ip() {
                ip if ip.is_unspecified() => None,
                IpAddr::V4(ip) => Some(ip.to_string()),
                IpAddr::V6(ip) => Some(format!("[{ip}]")),
            };
            let hosts = ["localhost", "127.0.0.1", "[::1]"].map(String::from);
            for host in listening.into_iter().chain(hosts) {
                if let Ok(url) = Url::parse(&format!("http://{host}:{port}")) {
                    origins.push(url.origin());
                }
            }
        }
        origins.dedup();
        OurOrigins(origins)
    }

    fn contains(&self, origin: &str) -> bool {
        Url::parse(origin).is_ok_and(|url| self.0.contains(&url.origin()))
    }
}

fn exempt(path: &str) -> bool {
    path == "/webhooks/messenger" || path == "/sandbox" || path.starts_with("/sandbox/")
}

/// The public entry form, where `Origin: null` is let through (see the module docs).
fn entry_form(path: &str) -> bool {
    (path.starts_with("/c/") || path.starts_with("/embed/")) && path.ends_with("/enter")
}

pub async fn check(
    State(ours): State<Arc<OurOrigins>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if request.method().is_safe() || exempt(path) {
        return next.run(request).await;
    }
    let allowed = match request.headers().get(header::ORIGIN) {
        None => true,
        Some(origin) => match origin.to_str() {
            Ok("null") => entry_form(path),
            Ok(origin) => ours.contains(origin),
            Err(_) => false,
        },
    };
    if allowed {
        return next.run(request).await;
    }
    tracing::info!(
        method = %request.method(),
        path,
        origin = ?request.headers().get(header::ORIGIN),
        "request from another origin refused"
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This request came from another site, so it was refused. \
         Open the page on this site and try again.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let dir = std::env::temp_dir().join(format!("giveaway-origin-{}", rand::random::<u64>()));
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("DATA_DIR".into(), dir.display().to_string());
        Settings::from_lookup(|k| map.get(k).cloned()).unwrap()
    }

    #[test]
    fn production_accepts_only_the_public_origin() {
        let ours = OurOrigins::new(&settings(&[
            ("APP_MODE", "production"),
            ("PUBLIC_BASE_URL", "https://giveaways.example.org/"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("FACEBOOK_APP_ID", "1234"),
            ("FACEBOOK_APP_SECRET", "s3cret"),
            ("FACEBOOK_VERIFY_TOKEN", "verify-me"),
        ]));
        assert!(ours.contains("https://giveaways.example.org"));
        assert!(ours.contains("https://giveaways.example.org:443"));
        for other in [
            "http://giveaways.example.org",
            "https://giveaways.example.org:8443",
            "https://evil.example",
            "https://sub.giveaways.example.org",
            "http://127.0.0.1:3000",
            "null",
            "",
        ] {
            assert!(!ours.contains(other), "{other}");
        }
    }

    #[test]
    fn development_also_accepts_the_listening_address() {
        let ours = OurOrigins::new(&settings(&[("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]));
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(ours.contains(ok), "{ok}");
        }
        assert!(!ours.contains("http://localhost:3001"));
        assert!(!ours.contains("http://192.168.1.5:3000"));
    }

    #[test]
    fn only_the_entry_form_takes_a_null_origin() {
        assert!(entry_form("/c/demo/enter"));
        assert!(entry_form("/embed/demo/enter"));
        assert!(!entry_form("/api/save_campaign"));
        assert!(!entry_form("/admin/uploads"));
        assert!(exempt("/webhooks/messenger"));
        assert!(exempt("/sandbox/www/v25.0/dialog/oauth"));
        assert!(!exempt("/sandboxed"));
    }
}
