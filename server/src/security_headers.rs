//! What every response tells the browser about itself: framing, HSTS and a content security policy.
//!
//! Three kinds of pages, three policies (each with `default-src 'self'`, `object-src 'none'`,
//! `base-uri 'none'` and `form-action` limited to us and Facebook's login dialog):
//! - **Public pages** (`/c/...`, the widget `/embed/...`, uploads): plain server-rendered HTML whose
//!   one inline script is allowed by its SHA-256 hash (`entries::views::inline_script_hashes`),
//!   nothing else runs. The script is `public/entry.js`, inlined rather than loaded: it ships inside
//!   the binary with the page that needs it, costs no second request on the page a viral campaign
//!   sends everyone to, and the hash is computed from the very text served, so the two cannot drift.
//! - **Hydrated pages** (home, login, admin, and any other Leptos route): scripts need the
//!   per-response nonce, which this layer draws, puts in the request for Leptos (see
//!   [`provide_page_nonce`]) and names in the header, plus `'wasm-unsafe-eval'` for the bundle.
//!   `style-src-attr 'unsafe-inline'` is there for `style=` attributes (the notice progress bars set
//!   their widths with one); `<style>` elements and style sheets from elsewhere stay refused.
//! - **The sandbox** (`/sandbox/...`, development only: production never mounts it): its pages
//!   are small hand-written tools with inline scripts and styles, allowed as they are.
//!
//! Only the widget (and its assets) may be framed, by any site: the business's page embeds it. Every
//! other response says `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for old browsers).
//!
//! HSTS (`max-age=31536000`, a year) goes on every response when `PUBLIC_BASE_URL` is https, even
//! though the server itself speaks plain HTTP behind its TLS proxy: the browser only ever sees the
//! https address. Without `includeSubDomains`: the server answers for its own host name and cannot
//! know whether other hosts under it still need plain HTTP; a proxy that knows may add it.

use app::settings::Settings;
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue, Request},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;
use std::sync::Arc;

/// The policies of one server, worked out once from its settings.
pub struct Policies {
    hsts: bool,
    public: HeaderValue,
    widget: HeaderValue,
    sandbox: HeaderValue,
    /// The hydrated pages' policy around its nonce.
    app_before_nonce: String,
    app_after_nonce: String,
}

impl Policies {
    pub fn new(settings: &Settings) -> Policies {
        let common = {
            // The login dialog: the entry form of a login-only campaign redirects there, and
            // browsers hold form submissions' redirects to `form-action` too.
            let mut form_targets = vec!["'self'".to_string()];
            for url in [&settings.public_base_url, &settings.facebook.www_url] {
                let origin = url.origin().ascii_serialization();
                if !form_targets.contains(&origin) {
                    form_targets.push(origin);
                }
            }
            // Campaign images are uploads here or any http(s) address the organiser gave
            // (`campaigns::rules::check_image_url`).
            format!(
                "img-src 'self' https: http:; object-src 'none'; base-uri 'none'; form-action {}",
                form_targets.join(" ")
            )
        };
        let hashes = app::entries::views::inline_script_hashes()
            .iter()
            .map(|h| format!("'{h}'"))
            .collect::<Vec<_>>()
            .join(" ");
        // The results page loads one file, the draw's verifier, named by its full address
        // (a path in a source matches that file only; `'self'` would allow any of ours).
        let verifier = settings
            .public_base_url
            .join(app::winners::results::VERIFY_SCRIPT)
            .expect("a path joins a base URL");
        let public_framable = format!(
            "default-src 'self'; script-src {hashes} {verifier}; style-src 'self'; {common}"
        );
        let value = |policy: String| {
            HeaderValue::from_str(&policy).expect("a policy is a valid header value")
        };
        Policies {
            hsts: settings.public_base_url.scheme() == "https",
            public: value(format!("{public_framable}; frame-ancestors 'none'")),
            widget: value(public_framable),
            sandbox: value(format!(
                "default-src 'self'; script-src 'self' 'unsafe-inline'; \
                 style-src 'self' 'unsafe-inline'; {common}; frame-ancestors 'none'"
            )),
            app_before_nonce: "default-src 'self'; script-src 'self' 'nonce-".into(),
            app_after_nonce: format!(
                "' 'wasm-unsafe-eval'; style-src 'self'; style-src-attr 'unsafe-inline'; \
                 {common}; frame-ancestors 'none'"
            ),
        }
    }

    fn app(&self, nonce: &Nonce) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{}{nonce}{}",
            self.app_before_nonce, self.app_after_nonce
        ))
        .expect("a nonce is base64")
    }
}

/// Which policy a path gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Public,
    Widget,
    Sandbox,
    App,
}

fn kind(path: &str) -> Kind {
    const PUBLIC: [&str; 4] = ["/c/", "/uploads/", "/auth/facebook/entrant", "/widget.js"];
    if path.starts_with("/embed/") || path.starts_with("/pkg/") {
        Kind::Widget
    } else if PUBLIC.iter().any(|p| path.starts_with(p)) {
        Kind::Public
    } else if path == "/sandbox" || path.starts_with("/sandbox/") {
        Kind::Sandbox
    } else {
        Kind::App
    }
}

pub async fn apply(
    State(policies): State<Arc<Policies>>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let kind = kind(request.uri().path());
    let nonce = (kind == Kind::App).then(Nonce::new);
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if kind != Kind::Widget {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    let policy = match (kind, &nonce) {
        (Kind::App, Some(nonce)) => policies.app(nonce),
        (Kind::Widget, _) => policies.widget.clone(),
        (Kind::Sandbox, _) => policies.sandbox.clone(),
        _ => policies.public.clone(),
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    if policies.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Part of the Leptos context of every render: the nonce [`apply`] drew for this response, so the
/// page's scripts carry the one its header names (leptos_axum draws its own otherwise).
pub fn provide_page_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_gets_its_policy() {
        for (path, expected) in [
            ("/c/demo", Kind::Public),
            ("/c/demo/e/0123/status", Kind::Public),
            ("/uploads/ab.png", Kind::Public),
            ("/auth/facebook/entrant", Kind::Public),
            ("/widget.js", Kind::Public),
            ("/embed/demo", Kind::Widget),
            ("/pkg/giveaway.css", Kind::Widget),
            ("/sandbox/m.me/sunnybakery", Kind::Sandbox),
            ("/sandboxes", Kind::App),
            ("/", Kind::App),
            ("/admin/campaigns/1", Kind::App),
            ("/login", Kind::App),
            ("/api/whoami", Kind::App),
            ("/cards", Kind::App),
        ] {
            assert_eq!(kind(path), expected, "{path}");
        }
    }
}
