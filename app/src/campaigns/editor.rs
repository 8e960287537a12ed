//! The campaign editor: every field checked as the admin types with the same rules the server
//! applies, the server's answer shown beside the same fields, and nothing typed lost on a failed
//! save.

use super::{
    get_campaign,
    rules::{self, CampaignForm, FieldErrors},
    SaveCampaign, SaveOutcome,
};
use crate::pages::{my_pages, Health};
use leptos::{ev, prelude::*};
use leptos_router::hooks::{use_navigate, use_params_map};

type ReadField = fn(&CampaignForm) -> String;
type WriteField = fn(&mut CampaignForm, String);

#[component]
pub fn CampaignEditor() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).filter(|id| id != "new");
    let form = RwSignal::new(CampaignForm {
        time_zone: "UTC".into(),
        notice_path: "automatic".into(),
        tag_fallback: true,
        ..Default::default()
    });
    // Errors show once a field was touched, or for every field after a save attempt.
    let touched = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let attempted = RwSignal::new(false);
    let server_errors = RwSignal::new(FieldErrors::new());
    let local_errors = Memo::new(move |_| form.with(rules::check));
    let error_for = move |field: &'static str| {
        move || {
            let shown = attempted.get() || touched.with(|t| t.contains(field));
            let local = local_errors.with(|e| e.get(field).cloned());
            let server = server_errors.with(|e| e.get(field).cloned());
            if shown {
                local.or(server)
            } else {
                server
            }
        }
    };

    let existing = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_campaign(id).await.map(Some),
            None => Ok(None),
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(Some(campaign))) = existing.get() {
            form.set(campaign.form);
        }
    });
    let pages = Resource::new(|| (), |_| my_pages());

    let save = ServerAction::<SaveCampaign>::new();
    let navigate = use_navigate();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(SaveOutcome::Saved { id: saved })) => {
            server_errors.set(FieldErrors::new());
            navigate(&format!("/admin/campaigns/{saved}"), Default::default());
        }
        Some(Ok(SaveOutcome::Invalid(errors))) => server_errors.set(errors),
        _ => {}
    });
    let on_submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if local_errors.with(|e| e.is_empty()) {
            save.dispatch(SaveCampaign {
                id: id(),
                form: form.get(),
            });
        }
    };

    let text = move |label: &'static str,
                     field: &'static str,
                     get: ReadField,
                     set: WriteField,
                     multiline: bool| {
        let error = error_for(field);
        let on_input = move |ev: ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| set(f, value));
            touched.update(|t| {
                t.insert(field.to_string());
            });
        };
        let input = if multiline {
            view! { <textarea id=field name=field prop:value=move || form.with(get) on:input=on_input rows="4"></textarea> }.into_any()
        } else {
            let kind = if field.ends_with("_at") {
                "datetime-local"
            } else {
                "text"
            };
            view! { <input id=field name=field type=kind prop:value=move || form.with(get) on:input=on_input/> }.into_any()
        };
        view! {
            <div class="field" data-field=field>
                <label for=field>{label}</label>
                {input}
                {move || error().map(|e| view! { <p class="field-error" role="alert" data-testid=format!("error-{field}")>{e}</p> })}
            </div>
        }
        .into_any()
    };

    let preview =
        |text: String, form: &CampaignForm| rules::fill(&text, "Alice", &form.title, &form.prize);

    // Erased to AnyView in pieces: the full static type of this form is too deep for the
    // compiler's query limit in release builds.
    let form_view = view! {
        <section class="card editor">
            <h1>{move || if id().is_some() { "Edit campaign" } else { "New campaign" }}</h1>
            <Suspense>
                {move || existing.get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            </Suspense>
            <form on:submit=on_submit novalidate>
                <div class="field" data-field="page_id">
                    <label for="page_id">"Page"</label>
                    <select id="page_id" name="page_id" prop:value=move || form.with(|f| f.page_id.clone())
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
                    {move || error_for("page_id")().map(|e| view! { <p class="field-error" role="alert" data-testid="error-page_id">{e}</p> })}
                </div>
                {text("Title", "title", |f| f.title.clone(), |f, v| f.title = v, false)}
                {text("Link (/c/…)", "slug", |f| f.slug.clone(), |f, v| f.slug = v, false)}
                {text("Prize", "prize", |f| f.prize.clone(), |f, v| f.prize = v, false)}
                {text("Description", "description", |f| f.description.clone(), |f, v| f.description = v, true)}
                {text("Image URL", "image_url", |f| f.image_url.clone(), |f, v| f.image_url = v, false)}
                {text("Starts", "starts_at", |f| f.starts_at.clone(), |f, v| f.starts_at = v, false)}
                {text("Ends", "ends_at", |f| f.ends_at.clone(), |f, v| f.ends_at = v, false)}
                {text("Time zone (e.g. Europe/Paris)", "time_zone", |f| f.time_zone.clone(), |f, v| f.time_zone = v, false)}
                {text("Rules and terms", "rules", |f| f.rules.clone(), |f, v| f.rules = v, true)}
                <label class="check">
                    <input type="checkbox" name="require_login" prop:checked=move || form.with(|f| f.require_login)
                        on:change=move |ev| form.update(|f| f.require_login = event_target_checked(&ev))/>
                    "Require Facebook login for entrants"
                </label>
                <label class="check">
                    <input type="checkbox" name="confirmation_enabled" data-testid="confirmation-enabled"
                        prop:checked=move || form.with(|f| f.confirmation_enabled)
                        on:change=move |ev| form.update(|f| f.confirmation_enabled = event_target_checked(&ev))/>
                    "Send a confirmation message"
                </label>
                {text("Confirmation message ({first_name}, {campaign_title}, {prize})", "confirmation_text", |f| f.confirmation_text.clone(), |f, v| f.confirmation_text = v, true)}
                {text("Automation keyword (quick reply)", "automation_keyword", |f| f.automation_keyword.clone(), |f, v| f.automation_keyword = v, false)}
                {text("End-of-campaign notice", "notice_text", |f| f.notice_text.clone(), |f, v| f.notice_text = v, true)}
                <fieldset class="field">
                    <legend>"How the notice is sent"</legend>
                    <label class="check">
                        <input type="radio" name="notice_path" value="automatic"
                            prop:checked=move || form.with(|f| f.notice_path == "automatic")
                            on:change=move |_| form.update(|f| f.notice_path = "automatic".into())/>
                        "Automatic: a normal message within 24 hours of the person's last message, an approved utility template after"
                    </label>
                    <label class="check">
                        <input type="radio" name="notice_path" value="tag" data-testid="notice-path-tag"
                            prop:checked=move || form.with(|f| f.notice_path == "tag")
                            on:change=move |_| form.update(|f| f.notice_path = "tag".into())/>
                        "The CONFIRMED_EVENT_UPDATE tag"
                    </label>
                    <Show when=move || form.with(|f| f.notice_path == "tag")>
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
                <div class="preview" aria-label="Preview in Messenger">
                    <h2>"Preview"</h2>
                    <Show when=move || form.with(|f| f.confirmation_enabled)>
                        <p class="bubble" data-testid="preview-confirmation">{move || form.with(|f| preview(f.confirmation_text.clone(), f))}</p>
                        {move || form.with(|f| (!f.automation_keyword.trim().is_empty()).then(|| view! { <span class="quick-reply">{f.automation_keyword.clone()}</span> }))}
                    </Show>
                    <p class="bubble" data-testid="preview-notice">{move || form.with(|f| preview(f.notice_text.clone(), f))}</p>
                </div>
                <button type="submit" data-testid="save-campaign" disabled=move || save.pending().get()>"Save"</button>
                {move || save.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            </form>
        </section>
    }
    .into_any();
    view! {
        {form_view}
        <Suspense>
            {move || existing.get().and_then(Result::ok).flatten().map(|c| {
                let live = c.lifecycle(crate::notices::panel::js_now_ms()) == super::Lifecycle::Live;
                view! {
                <CampaignLinks slug=c.form.slug page_id=c.form.page_id/>
                <crate::notices::panel::NoticeStatistics
                    live=live
                    scope=crate::notices::Scope::Campaign(c.id.clone())/>
                <crate::entries::EntriesPanel campaign_id=c.id/>
            }})}
        </Suspense>
    }
}

/// The public link, the widget embed code and the Messenger link of a saved campaign.
#[component]
fn CampaignLinks(slug: String, page_id: String) -> impl IntoView {
    let path = format!("/c/{slug}");
    let base = Resource::new(|| (), |_| crate::entries::public_base_url());
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
