//! The head of a saved campaign's page: its Page by name and picture, its title, where it stands
//! (state and time left), and the lifecycle buttons (publish, back to draft, end now, archive,
//! duplicate, delete) that where it stands allows.

use super::*;

/// Where a saved campaign is in its life, and the buttons that move it on. `current` is read
/// again after each action (`act`).
///
/// Ending early is a form inside a disclosure: the admin reads what will happen before the
/// button that does it, and the form posts even before the page has hydrated (a click there
/// does not wait for the browser build, and comes back to this page ended).
#[component]
pub(super) fn CampaignLifecycle(
    act: ServerAction<CampaignAction>,
    current: Resource<Result<Option<crate::campaigns::Campaign>, AppError>, crate::loading::Json>,
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
                let automatic = matches!(c.form.draw_mode.trim(), "" | rules::DRAW_AUTO);
                let end_id = id.clone();
                let end_early = (stage == Lifecycle::Live).then(move || view! {
                    <details class="end-early" data-testid="end-early">
                        <summary>"End now…"</summary>
                        <p data-testid="end-early-what">{format!(
                            "Entries close at once and the public page says the giveaway has ended. {}{} Moving the end later afterwards reopens entries.",
                            match c.entered {
                                0 => "Nobody has entered yet, so no end notice goes.".to_string(),
                                1 => "The 1 person who entered gets the end-of-campaign notice now.".to_string(),
                                n => format!("The {n} people who entered get the end-of-campaign notice now."),
                            },
                            if automatic { " The winners are drawn at once and told in Messenger." } else { " You draw the winners yourself." },
                        )}</p>
                        <ActionForm action=act>
                            <input type="hidden" name="id" value=end_id/>
                            <input type="hidden" name="action" value=LifecycleAction::EndNow.as_str()/>
                            <button type="submit" class="danger" data-testid="end-now"
                                disabled=move || act.pending().get()>"End the campaign now"</button>
                        </ActionForm>
                    </details>
                });
                view! {
                    <header class="card campaign-head" data-testid="campaign-head">
                        <p class="page-of" data-testid="campaign-page">
                            <img class="page-picture" src=c.page_picture.clone() alt="" width="32" height="32"/>
                            {c.page_name.clone()}
                        </p>
                        <h1 data-testid="campaign-title">{c.form.title.clone()}</h1>
                        <p class="standing">
                            <span class="stage" data-testid="lifecycle" data-stage=stage.label().to_lowercase()>{stage.label()}</span>
                            " "
                            <span data-testid="campaign-when">{c.when.clone()}</span>
                        </p>
                        <div class="lifecycle" data-testid="campaign-lifecycle">
                            {offers(LifecycleAction::Publish).then(|| button(id.clone(), LifecycleAction::Publish, "Publish", ""))}
                            {offers(LifecycleAction::Unpublish).then(|| button(id.clone(), LifecycleAction::Unpublish, "Back to draft", "secondary"))}
                            {offers(LifecycleAction::Archive).then(|| button(id.clone(), LifecycleAction::Archive, "Archive", "secondary"))}
                            {button(id.clone(), LifecycleAction::Duplicate, "Duplicate", "secondary")}
                            {offers(LifecycleAction::Delete).then(|| button(id.clone(), LifecycleAction::Delete, "Delete", "secondary danger"))}
                            {undeletable.map(|why| view! { <p class="muted lock" data-testid="lock-delete">{why}</p> })}
                        </div>
                        {end_early}
                    </header>
                }
            })}
        </Suspense>
        {move || act.value().get().and_then(Result::err).map(|e| view! {
            <p class="error" role="alert" data-testid="lifecycle-error">{e.to_string()}</p>
        })}
    }
}
