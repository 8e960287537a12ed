//! How a campaign's notice reaches people, and what its messages will look like in Messenger.

use super::*;

/// The notice path: automatic (window, then the utility template) or the retired tag.
#[component]
pub(super) fn NoticePathChoice(form: RwSignal<CampaignForm>) -> impl IntoView {
    view! {
        <fieldset class="field">
            <legend>"How the notice is sent"</legend>
            <label class="check">
                <input type="radio" name="notice_path" value="automatic"
                    prop:checked=move || form.with(|f| f.notice_path == NoticePath::Automatic.as_str())
                    on:change=move |_| form.update(|f| f.notice_path = NoticePath::Automatic.as_str().into())/>
                "Automatic: a normal message within 24 hours of the person's last message, an approved utility template after"
            </label>
            <label class="check">
                <input type="radio" name="notice_path" value="tag" data-testid="notice-path-tag"
                    prop:checked=move || form.with(|f| f.notice_path == NoticePath::Tag.as_str())
                    on:change=move |_| form.update(|f| f.notice_path = NoticePath::Tag.as_str().into())/>
                "The CONFIRMED_EVENT_UPDATE tag"
            </label>
            <Show when=move || form.with(|f| f.notice_path == NoticePath::Tag.as_str())>
                <p class="notice" data-testid="tag-warning">
                    "Meta retired CONFIRMED_EVENT_UPDATE on 2026-04-27: most sends with it now fail. "
                    "Keep the fallback on so those people get the utility template instead."
                </p>
                <label class="check">
                    <input type="checkbox" name="tag_fallback" prop:checked=move || form.with(|f| f.tag_fallback)
                        on:change=move |ev| form.update(|f| f.tag_fallback = event_target_checked(&ev))/>
                    "Fall back to the utility template when Meta refuses the tag"
                </label>
            </Show>
        </fieldset>
    }
    .into_any()
}

/// The confirmation and the end notice as a person would read them (filled for "Alice").
#[component]
pub(super) fn MessagePreview(form: RwSignal<CampaignForm>) -> impl IntoView {
    let preview =
        |text: String, form: &CampaignForm| rules::fill(&text, "Alice", &form.title, &form.prize);
    view! {
        <div class="preview" aria-label="Preview in Messenger">
            <h2>"Preview"</h2>
            <Show when=move || form.with(|f| f.confirmation_enabled)>
                <p class="bubble" data-testid="preview-confirmation">{move || form.with(|f| preview(f.confirmation_text.clone(), f))}</p>
                {move || form.with(|f| (!f.automation_keyword.trim().is_empty()).then(|| view! { <span class="quick-reply">{f.automation_keyword.clone()}</span> }))}
            </Show>
            <p class="bubble" data-testid="preview-notice">{move || form.with(|f| preview(f.notice_text.clone(), f))}</p>
        </div>
    }
    .into_any()
}

/// When the winners are drawn: by themselves at the end, or when the admin says.
#[component]
pub(super) fn DrawModeChoice(form: RwSignal<CampaignForm>) -> impl IntoView {
    let is = |mode: &'static str| move || form.with(|f| f.draw_mode == mode);
    view! {
        <div class="field" data-field="draw_mode">
            <label class="check">
                <input type="radio" name="draw_mode" value="auto" data-testid="draw-mode-auto"
                    prop:checked=is(rules::DRAW_AUTO)
                    on:change=move |_| form.update(|f| f.draw_mode = rules::DRAW_AUTO.into())/>
                "Draw the winners when the campaign ends"
            </label>
            <label class="check">
                <input type="radio" name="draw_mode" value="manual" data-testid="draw-mode-manual"
                    prop:checked=is(rules::DRAW_MANUAL)
                    on:change=move |_| form.update(|f| f.draw_mode = rules::DRAW_MANUAL.into())/>
                "I will draw them myself"
            </label>
        </div>
    }
    .into_any()
}
