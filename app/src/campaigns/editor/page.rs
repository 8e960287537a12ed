//! The campaign's Page: one of the admin's connected Pages, fixed once people take part.

use super::*;

/// The Page field. `page_fixed`: the lifecycle rules fix the Page (the select is disabled);
/// `children`: the note that says why, shown under the field.
#[component]
pub(super) fn PageChoice(
    form: RwSignal<CampaignForm>,
    page_fixed: RwSignal<bool>,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    let pages = crate::loading::load(|| (), |_| my_pages());
    view! {
        <div class="field" data-field="page_id">
            <label for="page_id">"Page"</label>
            <select id="page_id" name="page_id" prop:value=move || form.with(|f| f.page_id.clone())
                disabled=move || page_fixed.get()
                on:change=move |ev| form.update(|f| f.page_id = event_target_value(&ev))>
                <option value="">"Choose a connected Page"</option>
                <Suspense>
                    {move || pages.get().and_then(Result::ok).map(|list| {
                        list.into_iter().filter(|p| p.health != Health::NotConnected).map(|p| {
                            view! { <option value=p.facebook_page_id.clone()>{p.name}</option> }
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="error-page_id">{e}</p> })}
            {children()}
        </div>
    }
    .into_any()
}
