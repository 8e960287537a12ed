//! What a saved campaign is shared with: its public link, the widget's embed code and its
//! Messenger Page.

use super::*;

/// The public link, the widget embed code and the Messenger link of a saved campaign.
#[component]
pub(super) fn CampaignLinks(slug: String, page_id: String) -> impl IntoView {
    let path = format!("/c/{slug}");
    let base = crate::loading::load(|| (), |_| crate::entries::public_base_url());
    // The embed code runs on the business's own site: the script must come from this server.
    let embed = Memo::new(move |_| {
        let base = base.get().and_then(Result::ok).unwrap_or_default();
        format!(
            r#"<div data-campaign="{slug}"></div><script src="{base}/widget.js" async></script>"#
        )
    });
    let copied = RwSignal::new(false);
    view! {
        <section class="card links" data-testid="campaign-links">
            <h2>"Share"</h2>
            <p>"Public page: "<a href=path.clone() rel="external" data-testid="public-link">{path.clone()}</a></p>
            <p>"Messenger Page: "<code data-testid="mme-page">{page_id}</code></p>
            <label for="embed">"Embed code"</label>
            <Suspense>
                <textarea id="embed" readonly rows="2" data-testid="embed-code" prop:value=move || embed.get()>{move || embed.get()}</textarea>
            </Suspense>
            <button type="button" on:click=move |_| {
                #[cfg(feature = "hydrate")]
                {
                    let _ = web_sys_clipboard(&embed.get_untracked());
                }
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy embed code" }}</button>
        </section>
    }
}

#[cfg(feature = "hydrate")]
fn web_sys_clipboard(text: &str) -> Option<()> {
    // The promise is left to settle: the button says "Copied" either way, and the text stays
    // selectable in the box beside it.
    let _ = leptos::prelude::window()
        .navigator()
        .clipboard()
        .write_text(text);
    Some(())
}
