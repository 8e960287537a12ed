//! Pages rendered once on the server, without hydration: the document around them, the error
//! page that the public pages and the OAuth redirects share, and the rendering itself.
//! Components escape what they show by construction: nothing in the product escapes by hand.

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use axum::{
        http::StatusCode,
        response::{Html, IntoResponse, Response},
    };
    use leptos::prelude::*;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    /// The content hashes cargo-leptos gave the bundle's files when it built with
    /// `hash-files` (`hash.txt` beside the server binary: lines `js: <hash>`, `wasm: ...`,
    /// `css: ...`), read once; `None` for a binary built without it (tests, `cargo run`).
    pub fn asset_hashes() -> Option<&'static HashMap<String, String>> {
        static HASHES: OnceLock<Option<HashMap<String, String>>> = OnceLock::new();
        HASHES
            .get_or_init(|| {
                let path = std::env::current_exe().ok()?.parent()?.join("hash.txt");
                let text = std::fs::read_to_string(path).ok()?;
                Some(
                    text.lines()
                        .filter_map(|line| line.split_once(':'))
                        .map(|(file, hash)| (file.trim().to_string(), hash.trim().to_string()))
                        .collect(),
                )
            })
            .as_ref()
    }

    /// The style sheet's address: `/pkg/giveaway.<hash>.css` when the bundle is hashed (cached
    /// for a year, `server::assets`), else `/pkg/giveaway.css`.
    pub fn css_href() -> String {
        match asset_hashes().and_then(|h| h.get("css")) {
            Some(hash) => format!("/pkg/giveaway.{hash}.css"),
            None => "/pkg/giveaway.css".into(),
        }
    }

    /// A page's HTML: `page` builds its view (under a reactive owner of its own, dropped with
    /// the render), and the view becomes a string. No hydration scripts, no wasm.
    pub fn render_page<V: IntoView>(page: impl FnOnce() -> V) -> String {
        Owner::new().with(|| page().to_html())
    }

    /// The document of a server-rendered page: the shared style sheet, nothing else loaded.
    #[component]
    pub fn Document(title: String, body_class: &'static str, children: Children) -> impl IntoView {
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head>
                    <meta charset="utf-8"/>
                    <meta name="viewport" content="width=device-width, initial-scale=1"/>
                    <title>{title}</title>
                    <link rel="stylesheet" href=css_href()/>
                </head>
                <body class=body_class>
                    {children()}
                    // Every public page links the privacy policy (Meta's app review asks for it).
                    <footer class="legal">
                        <a href="/privacy" target="_blank" rel="noopener" data-testid="privacy-link">"Privacy"</a>
                    </footer>
                </body>
            </html>
        }
    }

    /// A link under an error page's text, back to where the person can start again.
    #[derive(Clone, Copy)]
    pub struct Back {
        pub href: &'static str,
        pub label: &'static str,
    }

    /// A small error page in the public pages' look.
    #[component]
    pub fn ProblemPage(title: String, detail: String, back: Option<Back>) -> impl IntoView {
        let back = back.map(|Back { href, label }| {
            view! { <p><a class="button" href=href>{label}</a></p> }
        });
        view! {
            <Document title=title.clone() body_class="entry">
                <main>
                    <section class="card" data-testid="problem">
                        <h1>{title}</h1>
                        <p>{detail}</p>
                        {back}
                    </section>
                </main>
            </Document>
        }
    }

    /// An error answer for the pages that are not Leptos routes (public pages, OAuth redirects).
    pub fn problem_page(
        status: StatusCode,
        title: &str,
        detail: &str,
        back: Option<Back>,
    ) -> Response {
        let (title, detail) = (title.to_string(), detail.to_string());
        let html =
            render_page(move || view! { <ProblemPage title=title detail=detail back=back/> });
        (status, Html(html)).into_response()
    }
}
