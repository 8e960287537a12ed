//! The campaign editor: every field checked as the admin types with the same rules the server
//! applies, the server's answer shown beside the same fields, and nothing typed lost on a failed
//! save.

use super::{
    get_campaign,
    lifecycle::Locks,
    rules::{self, CampaignForm, FieldErrors},
    slug_available, CampaignAction, Lifecycle, LifecycleAction, NoticePath, SaveCampaign,
    SaveOutcome, SlugStatus,
};
use crate::error::AppError;
use crate::pages::{my_pages, page_needs_reconnect, Health, NeedsReconnect};
use leptos::{ev, prelude::*};
use leptos_router::hooks::{use_navigate, use_params_map};
use std::time::Duration;

/// How long the slug must stay unchanged before the server is asked whether it is free.
const SLUG_CHECK_DELAY: Duration = Duration::from_millis(300);

type ReadField = fn(&CampaignForm) -> String;
type WriteField = fn(&mut CampaignForm, String);

#[component]
pub fn CampaignEditor() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).filter(|id| id != "new");
    let form = RwSignal::new(CampaignForm {
        time_zone: "UTC".into(),
        notice_path: NoticePath::Automatic.as_str().into(),
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
    // The link is checked with the server as it is typed (debounced), once its format is valid;
    // each answer names the slug it is about, so a late answer never labels a newer text.
    let slug = Memo::new(move |_| form.with(|f| f.slug.trim().to_string()));
    let slug_answer = RwSignal::new(None::<(String, SlugStatus)>);
    Effect::new(move |_| {
        let typed = slug.get();
        if !touched.with_untracked(|t| t.contains("slug")) || rules::check_slug(&typed).is_err() {
            return;
        }
        let editing = params
            .with_untracked(|p| p.get("id"))
            .filter(|id| id != "new");
        set_timeout(
            move || {
                if slug.get_untracked() != typed {
                    return;
                }
                leptos::task::spawn_local(async move {
                    if let Ok(status) = slug_available(typed.clone(), editing).await {
                        slug_answer.set(Some((typed, status)));
                    }
                });
            },
            SLUG_CHECK_DELAY,
        );
    });
    let slug_status = move || {
        let typed = slug.get();
        if !touched.with(|t| t.contains("slug")) || rules::check_slug(&typed).is_err() {
            return None;
        }
        let view = match slug_answer.get() {
            Some((about, SlugStatus::Available)) if about == typed => {
                view! { <p class="ok" data-testid="slug-status" data-status="available">"Available"</p> }
            }
            Some((about, SlugStatus::Taken)) if about == typed => view! {
                <p class="field-error" data-testid="slug-status" data-status="taken">"Taken: another campaign uses this link."</p>
            },
            _ => {
                view! { <p class="muted" data-testid="slug-status" data-status="checking">"Checking…"</p> }
            }
        };
        Some(view)
    };

    // An uploaded image fills the image address; the file itself never goes through the form.
    let upload_error = RwSignal::new(None::<String>);
    let uploading = RwSignal::new(false);
    let on_file = move |ev: ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(file) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .and_then(|input| input.files())
                .and_then(|files| files.get(0))
            else {
                return;
            };
            upload_error.set(None);
            // The server refuses it too; saying so here spares sending megabytes for nothing.
            if file.size() > rules::IMAGE_MAX_BYTES as f64 {
                upload_error.set(Some(format!(
                    "The image is larger than {} MB; make it smaller.",
                    rules::IMAGE_MAX_BYTES / (1024 * 1024)
                )));
                return;
            }
            uploading.set(true);
            leptos::task::spawn_local(async move {
                match upload_image(file).await {
                    Ok(url) => form.update(|f| f.image_url = url),
                    Err(why) => upload_error.set(Some(why)),
                }
                uploading.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    let save = ServerAction::<SaveCampaign>::new();
    // What the lifecycle rules fix once people take part (`lifecycle::locks`), each with the
    // sentence that says why, beside its field; the server refuses the same changes. Read again
    // after every save and lifecycle action (publishing fixes the Page), apart from `existing`,
    // which fills the form once and so never overwrites what the admin is typing.
    let act = ServerAction::<CampaignAction>::new();
    let current = Resource::new(
        move || (id(), act.version().get(), save.version().get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_campaign(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let locked = move |get: fn(&Locks) -> Option<String>| {
        current.with(|c| match c {
            Some(Ok(Some(c))) => get(&c.locks),
            _ => None,
        })
    };
    // An attribute is no place to wait for a resource (it sits outside any `<Suspense>`): the
    // select follows a signal the loaded locks set once they are in.
    let page_fixed = RwSignal::new(false);
    Effect::new(move |_| page_fixed.set(locked(|l| l.page.clone()).is_some()));
    let lock_note = move |field: &'static str, get: fn(&Locks) -> Option<String>| {
        view! {
            <Suspense>
                {move || locked(get).map(|why| view! {
                    <p class="muted lock" data-testid=format!("lock-{field}")>{why}</p>
                })}
            </Suspense>
        }
    };
    let navigate = use_navigate();
    // Subscribers of a live campaign are not told of an edit unless the admin asks: saving one
    // offers it.
    let offer_notify = RwSignal::new(false);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(SaveOutcome::Saved { id: saved })) => {
            server_errors.set(FieldErrors::new());
            let was_live = existing.with_untracked(|c| {
                matches!(c, Some(Ok(Some(c))) if c.lifecycle(crate::notices::panel::js_now_ms()) == super::Lifecycle::Live)
            });
            offer_notify.set(was_live);
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
            // These two load their own data, so they are created here rather than inside a
            // `<Suspense>`: there they were created again each time it looked for pending loads
            // (the Page's token was checked with Meta three times per page view). A campaign that
            // cannot be loaded shows its error in `CampaignLifecycle`.
            {move || id().map(|id| view! {
                <ReconnectBanner campaign_id=id.clone()/>
                <crate::pages::reach::NoticeReachPanel campaign_id=id.clone()/>
                <CampaignLifecycle act current/>
            })}
            <form on:submit=on_submit novalidate>
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
                    {move || error_for("page_id")().map(|e| view! { <p class="field-error" role="alert" data-testid="error-page_id">{e}</p> })}
                    {lock_note("page", |l| l.page.clone())}
                </div>
                {text("Title", "title", |f| f.title.clone(), |f, v| f.title = v, false)}
                {text("Link (/c/…)", "slug", |f| f.slug.clone(), |f, v| f.slug = v, false)}
                {slug_status}
                {text("Prize", "prize", |f| f.prize.clone(), |f, v| f.prize = v, false)}
                {text("Description", "description", |f| f.description.clone(), |f, v| f.description = v, true)}
                {text("Image URL", "image_url", |f| f.image_url.clone(), |f, v| f.image_url = v, false)}
                <div class="field">
                    <label for="image_file">"…or upload an image (PNG, JPEG, GIF or WebP, up to 5 MB)"</label>
                    <input id="image_file" type="file" accept="image/png,image/jpeg,image/gif,image/webp"
                        data-testid="image-file" on:change=on_file disabled=move || uploading.get()/>
                    <Show when=move || uploading.get()>
                        <p class="muted">"Uploading…"</p>
                    </Show>
                    {move || upload_error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="upload-error">{e}</p> })}
                    {move || {
                        let url = form.with(|f| f.image_url.trim().to_string());
                        (!url.is_empty() && rules::check_image_url(&url).is_ok()).then(|| view! {
                            <img class="image-preview" data-testid="image-preview" src=url alt="The campaign image"/>
                        })
                    }}
                </div>
                {text("Starts", "starts_at", |f| f.starts_at.clone(), |f, v| f.starts_at = v, false)}
                {lock_note("starts_at", |l| l.starts_at.clone())}
                {text("Ends", "ends_at", |f| f.ends_at.clone(), |f, v| f.ends_at = v, false)}
                {lock_note("ends_at", |l| l.ends_at.clone())}
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
                <Show when=move || offer_notify.get()>
                    <p class="ok" data-testid="notify-offer">
                        "Saved. Your subscribers have not been told: "
                        <a href="#notify" data-testid="notify-offer-link">"notify subscribers of this change"</a>
                    </p>
                </Show>
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

/// Shown above a saved campaign when its Page's token no longer works, before any send fails:
/// the Page is asked about now (and its answer recorded), and the admin is sent to reconnect it.
#[component]
fn ReconnectBanner(campaign_id: String) -> impl IntoView {
    let needs = Resource::new(
        move || campaign_id.clone(),
        |id| async move { page_needs_reconnect(get_campaign(id).await?.form.page_id).await },
    );
    view! {
        <Suspense>
            {move || needs.get().and_then(Result::ok).flatten().map(|NeedsReconnect { name, why }| view! {
                <div class="notice banner" role="alert" data-testid="reconnect-banner">
                    <strong>
                        <a href="/admin#pages-heading" data-testid="reconnect-link">{format!("Reconnect {name}")}</a>
                    </strong>
                    {format!(
                        ": Facebook no longer accepts this Page's access ({}). Messages for this campaign would fail until you reconnect it.",
                        why.replace('_', " ")
                    )}
                </div>
            })}
        </Suspense>
    }
}

/// Where a saved campaign is in its life, and the buttons that move it on. `current` is read
/// again after each action (`act`).
#[component]
fn CampaignLifecycle(
    act: ServerAction<CampaignAction>,
    current: Resource<Result<Option<super::Campaign>, AppError>>,
) -> impl IntoView {
    let last = RwSignal::new(None::<LifecycleAction>);
    let confirm_delete = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| match act.value().get() {
        Some(Ok(Some(copy))) => navigate(&format!("/admin/campaigns/{copy}"), Default::default()),
        Some(Ok(None)) if last.get_untracked() == Some(LifecycleAction::Delete) => {
            navigate("/admin", Default::default())
        }
        _ => {}
    });
    let button = move |id: String,
                       action: LifecycleAction,
                       label: &'static str,
                       class: &'static str| {
        view! {
            <button type="button" class=class data-testid=format!("action-{action}")
                disabled=move || act.pending().get()
                on:click=move |_| {
                    if action == LifecycleAction::Delete && !confirm_delete.get_untracked() {
                        confirm_delete.set(true);
                        return;
                    }
                    confirm_delete.set(false);
                    last.set(Some(action));
                    act.dispatch(CampaignAction { id: id.clone(), action: action.as_str().into() });
                }>
                {move || if action == LifecycleAction::Delete && confirm_delete.get() { "Really delete this draft?" } else { label }}
            </button>
        }
    };
    view! {
        <Suspense>
            {move || current.get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            {move || current.get().and_then(Result::ok).flatten().map(|c| {
                let stage = c.lifecycle_now;
                let id = c.id.clone();
                let undeletable = c.locks.delete.clone().filter(|_| stage == Lifecycle::Draft);
                let offers = |action: LifecycleAction| match action {
                    LifecycleAction::Publish => stage == Lifecycle::Draft,
                    LifecycleAction::Delete => stage == Lifecycle::Draft && undeletable.is_none(),
                    LifecycleAction::Unpublish => stage == Lifecycle::Scheduled,
                    LifecycleAction::Archive => stage != Lifecycle::Archived,
                    LifecycleAction::EndNow | LifecycleAction::Duplicate => true,
                };
                view! {
                    <div class="lifecycle" data-testid="campaign-lifecycle">
                        <span class="stage" data-testid="lifecycle" data-stage=stage.label().to_lowercase()>{stage.label()}</span>
                        {offers(LifecycleAction::Publish).then(|| button(id.clone(), LifecycleAction::Publish, "Publish", ""))}
                        {offers(LifecycleAction::Unpublish).then(|| button(id.clone(), LifecycleAction::Unpublish, "Back to draft", "secondary"))}
                        {offers(LifecycleAction::Archive).then(|| button(id.clone(), LifecycleAction::Archive, "Archive", "secondary"))}
                        {button(id.clone(), LifecycleAction::Duplicate, "Duplicate", "secondary")}
                        {offers(LifecycleAction::Delete).then(|| button(id.clone(), LifecycleAction::Delete, "Delete", "secondary danger"))}
                        {undeletable.map(|why| view! { <p class="muted lock" data-testid="lock-delete">{why}</p> })}
                    </div>
                }
            })}
        </Suspense>
        {move || act.value().get().and_then(Result::err).map(|e| view! {
            <p class="error" role="alert" data-testid="lifecycle-error">{e.to_string()}</p>
        })}
    }
}

/// Sends one file to the upload route and answers the address it is served at, or the
/// server's reason for refusing it.
#[cfg(feature = "hydrate")]
async fn upload_image(file: web_sys::File) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let unreachable = || "The upload did not reach the server; try again.".to_string();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&file);
    let response: web_sys::Response =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init("/admin/uploads", &init))
            .await
            .ok()
            .and_then(|r| r.dyn_into().ok())
            .ok_or_else(unreachable)?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string()),
        Err(_) => None,
    }
    .unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let field = |name: &str| {
        answer
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if response.ok() {
        field("url").ok_or_else(unreachable)
    } else {
        Err(field("error")
            .unwrap_or_else(|| format!("The upload failed (HTTP {}).", response.status())))
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
