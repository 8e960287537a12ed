//! The landing page and the 404 page.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_axum::ResponseOptions;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
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
            <HowManyPrizes/>
        </section>
    }
}

/// A small prize-count picker. It renders its starting state on the server, so it is readable
/// with JavaScript off, and only changes once the page is hydrated: the smoke test clicks it to
/// prove that hydration works.
#[component]
fn HowManyPrizes() -> impl IntoView {
    let prizes = RwSignal::new(1u32);
    view! {
        <div class="prize-picker">
            <span>"Prizes to give away: "</span>
            <strong data-testid="prize-count">{move || prizes.get()}</strong>
            <button
                type="button"
                data-testid="add-prize"
                on:click=move |_| prizes.update(|n| *n += 1)
            >
                "Add a prize"
            </button>
        </div>
    }
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
