//! The landing page and the 404 page.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_axum::ResponseOptions;

/// The landing page: rendered once on the server and loading no wasm, like every public page
/// (the browser bundle is for admins).
#[component]
pub fn HomePage(sandbox: bool) -> impl IntoView {
    view! {
        <main>
            <section class="hero">
                <h1>"Giveaways on Messenger"</h1>
                <p class="lead">
                    "Run a contest whose entry is a subscription to your Facebook Page on Messenger. "
                    "Entrants tap one button; when the contest ends, every one of them hears about it."
                </p>
                <ol class="steps">
                    <li>"Log in with Facebook and connect a Page you moderate."</li>
                    <li>"Build a campaign: text, prize, dates, confirmation message, end notice."</li>
                    <li>"Share the public link or embed the widget on your site."</li>
                </ol>
                <p class="actions">
                    <a class="button" href="/login" data-testid="start">"Log in with Facebook"</a>
                    {sandbox.then(|| view! {
                        " "
                        <a href="/sandbox" data-testid="try-sandbox">"or try it in the Facebook sandbox"</a>
                    })}
                </p>
            </section>
        </main>
    }
}

/// `/`, rendered on the server.
#[cfg(feature = "ssr")]
pub fn routes() -> axum::Router<crate::state::AppState> {
    use axum::{extract::State, response::Html, routing::get};
    async fn home(State(state): State<crate::state::AppState>) -> Html<String> {
        let sandbox = state.settings.sandbox;
        Html(crate::html::render_page(move || {
            view! {
                <crate::html::Document title="Giveaways on Messenger".into() body_class="home">
                    <HomePage sandbox/>
                </crate::html::Document>
            }
        }))
    }
    axum::Router::new().route("/", get(home))
}

#[component]
pub fn NotFound() -> impl IntoView {
    // The router renders this for unknown paths; make the status say so too.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. "<a href="/">"Go to the home page"</a></p>
        </section>
    }
}
