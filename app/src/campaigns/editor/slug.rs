//! The campaign link's availability, asked of the server as the admin types it.

use super::*;
use std::collections::BTreeSet;

/// How long the slug must stay unchanged before the server is asked whether it is free.
const SLUG_CHECK_DELAY: Duration = Duration::from_millis(300);

/// Whether the typed link is free: checked with the server as it is typed (debounced), once its
/// format is valid; each answer names the slug it is about, so a late answer never labels a newer
/// text. `editing`: the campaign being edited (its own link is free for it), `None` for a new one.
#[component]
pub(super) fn SlugCheck(
    form: RwSignal<CampaignForm>,
    touched: RwSignal<BTreeSet<String>>,
    editing: Signal<Option<String>>,
) -> impl IntoView {
    let slug = Memo::new(move |_| form.with(|f| f.slug.trim().to_string()));
    let slug_answer = RwSignal::new(None::<(String, SlugStatus)>);
    Effect::new(move |_| {
        let typed = slug.get();
        if !touched.with_untracked(|t| t.contains("slug")) || rules::check_slug(&typed).is_err() {
            return;
        }
        let editing = editing.get_untracked();
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
    let status = move || {
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
    status.into_any()
}
