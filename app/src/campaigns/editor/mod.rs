//! The campaign editor: every field checked as the admin types with the same rules the server
//! applies, the server's answer shown beside the same fields, and nothing typed lost on a failed
//! save.

mod actions;
mod image;
mod links;
mod notice;
mod page;
mod slug;

use super::{
    get_campaign,
    lifecycle::Locks,
    rules::{self, CampaignForm, FieldErrors},
    slug_available, CampaignAction, Lifecycle, LifecycleAction, NoticePath, SaveCampaign,
    SaveOutcome, SlugStatus,
};
use crate::error::AppError;
use crate::pages::{my_pages, page_needs_reconnect, Health, NeedsReconnect};
use actions::CampaignLifecycle;
use image::ImageUpload;
use leptos::{ev, prelude::*};
use leptos_router::hooks::{use_navigate, use_params_map};
use links::CampaignLinks;
use notice::{DrawModeChoice, MessagePreview, NoticePathChoice};
use page::PageChoice;
use slug::SlugCheck;
use std::time::Duration;

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
        winners: "1".into(),
        alternates: "0".into(),
        claim_hours: "72".into(),
        draw_mode: rules::DRAW_AUTO.into(),
        prizes_by_rank: String::new(),
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

    let existing = crate::loading::load(id, |id| async move {
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

    let save = ServerAction::<SaveCampaign>::new();
    // What the lifecycle rules fix once people take part (`lifecycle::locks`), each with the
    // sentence that says why, beside its field; the server refuses the same changes. Read again
    // after every save and lifecycle action (publishing fixes the Page), apart from `existing`,
    // which fills the form once and so never overwrites what the admin is typing.
    let act = ServerAction::<CampaignAction>::new();
    let current = crate::loading::load(
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

    // The form opens by itself for a new campaign and a draft (still being built); a campaign
    // people can see opens on what happened, with the form one click away.
    let edit_open = move || match id() {
        None => true,
        Some(_) => {
            existing.with(|c| matches!(c, Some(Ok(Some(c))) if c.lifecycle_now == Lifecycle::Draft))
        }
    };
    let stage_hint = move || {
        current.with(|c| match c {
            Some(Ok(Some(c))) => match c.lifecycle_now {
                Lifecycle::Draft => "A draft: everything can change until you publish it.",
                Lifecycle::Scheduled => "Not started yet: everything can change.",
                Lifecycle::Live => "Live: its Page and start are fixed. Changed texts reach people from now on; subscribers are told only if you notify them.",
                Lifecycle::Ended => "Ended: moving the end later reopens entries.",
                Lifecycle::Archived => "",
            },
            _ => "",
        })
    };
    let archived = move || locked(|l| l.all.clone());

    // Erased to AnyView in pieces: the full static type of this form is too deep for the
    // compiler's query limit in release builds.
    let head_view = view! {
        // These load their own data, so they are created here rather than inside a
        // `<Suspense>`: there they were created again each time it looked for pending loads
        // (the Page's token was checked with Meta three times per page view). A campaign that
        // cannot be loaded shows its error in `CampaignLifecycle`.
        {move || id().map(|id| view! {
            <CampaignLifecycle act current/>
            <ReconnectBanner campaign_id=id.clone()/>
            <crate::alerts::AlertsPanel campaign_id=id.clone()/>
            <crate::pages::reach::NoticeReachPanel campaign_id=id.clone()/>
        })}
        <Show when=move || id().is_none()>
            <h1>"New campaign"</h1>
        </Show>
    }
    .into_any();
    let form_view = view! {
        <details class="card editor" data-testid="edit-step" open=edit_open>
            <summary data-testid="edit-toggle">
                {move || if id().is_some() { "Edit campaign" } else { "The campaign" }}
            </summary>
            <Suspense>
                <p class="muted" data-testid="edit-hint">{stage_hint}</p>
            </Suspense>
            <Suspense>
                {move || archived().map(|why| view! { <p class="muted lock" data-testid="lock-all">{why}</p> })}
            </Suspense>
            <form on:submit=on_submit novalidate>
              <fieldset class="plain" disabled=move || archived().is_some()>
                <PageChoice form page_fixed error=Signal::derive(error_for("page_id"))>
                    {lock_note("page", |l| l.page.clone())}
                </PageChoice>
                {text("Title", "title", |f| f.title.clone(), |f, v| f.title = v, false)}
                {text("Link (/c/…)", "slug", |f| f.slug.clone(), |f, v| f.slug = v, false)}
                <SlugCheck form touched editing=Signal::derive(id)/>
                {text("Prize", "prize", |f| f.prize.clone(), |f, v| f.prize = v, false)}
                {text("Description", "description", |f| f.description.clone(), |f, v| f.description = v, true)}
                {text("Image URL", "image_url", |f| f.image_url.clone(), |f, v| f.image_url = v, false)}
                <ImageUpload form/>
                {text("Starts", "starts_at", |f| f.starts_at.clone(), |f, v| f.starts_at = v, false)}
                {lock_note("starts_at", |l| l.starts_at.clone())}
                {text("Ends", "ends_at", |f| f.ends_at.clone(), |f, v| f.ends_at = v, false)}
                {lock_note("ends_at", |l| l.ends_at.clone())}
                {text("Time zone (e.g. Europe/Paris)", "time_zone", |f| f.time_zone.clone(), |f, v| f.time_zone = v, false)}
                {text("Rules and terms (required to publish: entrants accept them by entering)", "rules", |f| f.rules.clone(), |f, v| f.rules = v, true)}
                <fieldset class="field eligibility">
                    <legend>"Eligibility and consent"</legend>
                    {text("Minimum age (13 to 120; empty: not limited by the rules)", "min_age", |f| f.min_age.clone(), |f, v| f.min_age = v, false)}
                    {text("Countries of residence (two-letter codes such as FR, BE; empty: anywhere)", "countries", |f| f.countries.clone(), |f, v| f.countries = v, false)}
                    <label class="check">
                        <input type="checkbox" name="consent_checkbox" data-testid="consent-checkbox"
                            prop:checked=move || form.with(|f| f.consent_checkbox)
                            on:change=move |ev| form.update(|f| f.consent_checkbox = event_target_checked(&ev))/>
                        "Entrants tick \"I accept the rules\" before they can enter"
                    </label>
                    <p class="muted">"The entry page always says that entering means accepting the rules, and carries Facebook's two required statements with your Page's name."</p>
                </fieldset>
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
                <NoticePathChoice form/>
                <MessagePreview form/>
                <fieldset class="field winners">
                    <legend>"Winners"</legend>
                    {text("Number of winners (1 to 1,000)", "winners", |f| f.winners.clone(), |f, v| f.winners = v, false)}
                    {text("Alternates, in order, if a winner does not claim (0 to 1,000)", "alternates", |f| f.alternates.clone(), |f, v| f.alternates = v, false)}
                    {text("Hours a winner has to claim (1 to 720)", "claim_hours", |f| f.claim_hours.clone(), |f, v| f.claim_hours = v, false)}
                    {text("Prize of each rank, one per line (optional: empty lines get the prize above)", "prizes_by_rank", |f| f.prizes_by_rank.clone(), |f, v| f.prizes_by_rank = v, true)}
                    <DrawModeChoice form/>
                </fieldset>
                <button type="submit" data-testid="save-campaign" disabled=move || save.pending().get()>"Save"</button>
                {move || save.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                {move || server_errors.with(|e| e.get("campaign").cloned()).map(|e| view! {
                    <p class="error" role="alert" data-testid="error-campaign">{e}</p>
                })}
                <Show when=move || offer_notify.get()>
                    <p class="ok" data-testid="notify-offer">
                        "Saved. Your subscribers have not been told: "
                        <a href="#notify" data-testid="notify-offer-link">"notify subscribers of this change"</a>
                    </p>
                </Show>
              </fieldset>
            </form>
        </details>
    }
    .into_any();
    view! {
        {head_view}
        {form_view}
        <Suspense>
            {move || existing.get().and_then(Result::ok).flatten().map(|c| {
                let live = c.lifecycle(crate::notices::panel::js_now_ms()) == super::Lifecycle::Live;
                view! {
                <crate::insight::InsightPanel campaign_id=c.id.clone()/>
                <CampaignLinks slug=c.form.slug page_id=c.form.page_id/>
                <crate::notices::panel::NoticeStatistics
                    live=live
                    scope=crate::notices::Scope::Campaign(c.id.clone())/>
                <crate::entries::EntriesPanel campaign_id=c.id.clone()/>
                <crate::winners::panel::WinnersPanel campaign_id=c.id/>
            }})}
        </Suspense>
    }
}

/// Shown above a saved campaign when its Page's token no longer works, before any send fails:
/// the Page is asked about now (and its answer recorded), and the admin is sent to reconnect it.
#[component]
fn ReconnectBanner(campaign_id: String) -> impl IntoView {
    let needs = crate::loading::load(
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
