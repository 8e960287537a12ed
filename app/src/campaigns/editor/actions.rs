//! The lifecycle buttons of a saved campaign (publish, back to draft, archive, duplicate,
//! delete), shown by where it stands.

use super::*;

/// Where a saved campaign is in its life, and the buttons that move it on. `current` is read
/// again after each action (`act`).
#[component]
pub(super) fn CampaignLifecycle(
    act: ServerAction<CampaignAction>,
    current: Resource<Result<Option<crate::campaigns::Campaign>, AppError>>,
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
