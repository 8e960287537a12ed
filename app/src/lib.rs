//! The Leptos application: every page a browser sees, and (behind the `ssr` feature) the server
//! side of the product that those pages call into.
//!
//! Modules are named after the business. UI components compile for both the browser and the
//! server; modules that touch the database, secrets or Meta exist only with `ssr`.

pub mod admins;
pub mod alerts;
pub mod campaigns;
pub mod entries;
pub mod error;
pub mod handoff;
pub mod home;
pub mod html;
pub mod insight;
pub mod loading;
pub mod messenger;
pub mod notices;
pub mod pages;
pub mod stored;
pub mod winners;

#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod state;
// The draw's core (order, results, verification, beacon); the browser checks with
// `public/verify-draw.js`.
#[cfg(feature = "ssr")]
pub mod draws;
#[cfg(feature = "ssr")]
pub mod privacy;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

/// The style sheet's address (hashed in a release build), for the document the server renders.
fn stylesheet() -> String {
    #[cfg(feature = "ssr")]
    {
        html::css_href()
    }
    #[cfg(not(feature = "ssr"))]
    {
        "/pkg/giveaway.css".to_string()
    }
}

/// The HTML document around every page rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="stylesheet" id="leptos" href=stylesheet()/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Giveaways on Messenger"/>
        <Router>
            <main>
                <Routes fallback=home::NotFound>
                    // Async rendering: these pages must be complete without JavaScript.
                    <Route path=StaticSegment("login") view=admins::LoginPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("admin") view=admins::AdminHome ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("admin"), StaticSegment("campaigns"), ParamSegment("id"))
                        view=campaigns::editor::CampaignEditor
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("admin"), StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("entrants"))
                        view=entries::list::EntrantsPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

/// Entry point of the browser bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
