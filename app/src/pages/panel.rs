//! The Pages panel of the admin home: each Page with its state and what the admin can do.

use super::*;

/// The admin's Pages, with Connect and Check buttons.
#[component]
pub fn PagesPanel() -> impl IntoView {
    let connect = ServerAction::<ConnectPage>::new();
    let check = ServerAction::<CheckPage>::new();
    let pages = crate::loading::load(
        move || (connect.version().get(), check.version().get()),
        |_| my_pages(),
    );
    view! {
        <section class="card" aria-labelledby="pages-heading">
            <h2 id="pages-heading">"Your Pages"</h2>
            {move || connect.value().get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(outcome) => view! {
                    <ul class="notes" data-testid="connect-notes">
                        {outcome.notes.into_iter().map(|n| view! { <li class="notice" data-testid="connect-note">{n}</li> }).collect_view()}
                    </ul>
                }.into_any(),
            })}
            <Suspense fallback=|| view! { <p>"Loading your Pages…"</p> }>
                {move || pages.get().map(|result| match result {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p data-testid="no-pages">"You do not moderate any Facebook Page."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="pages">
                            {list.into_iter().map(|p| {
                                let row_id = p.facebook_page_id.clone();
                                let id = p.facebook_page_id.clone();
                                let id2 = id.clone();
                                let status = match &p.health {
                                    Health::NotConnected => view! { <span class="muted">"Not connected"</span> }.into_any(),
                                    Health::Healthy => view! { <span class="ok" data-testid="page-connected">"Connected"</span> }.into_any(),
                                    Health::Reconnect(why) => view! { <span class="error" data-testid="page-reconnect">{format!("Reconnect needed ({why})")}</span> }.into_any(),
                                };
                                let connected = p.health != Health::NotConnected;
                                let outside = p.outside_window.clone().map(|state| {
                                    let fb_id = p.facebook_page_id.clone();
                                    view! { <reach::OutsideWindowLine facebook_page_id=fb_id state=state/> }
                                });
                                let paused = p.paused.clone().map(|reason| {
                                    let fb_id = p.facebook_page_id.clone();
                                    view! { <paused::PausedNotice facebook_page_id=fb_id reason=reason/> }
                                });
                                let get_started = p.get_started_warning.clone().map(|w| view! {
                                    <p class="warning" role="status" data-testid="get-started-warning">{w}</p>
                                });
                                // Mounted on demand: each open panel polls its figures.
                                let stats_open = RwSignal::new(false);
                                let stats_id = id.clone();
                                let handoff_open = RwSignal::new(false);
                                let handoff_id = id.clone();
                                view! {
                                    <li class="page-row" data-testid="page" data-page-id=row_id>
                                        <div>
                                            <strong>{p.name}</strong>
                                            <span class="muted">{format!(" · {} · {}", p.role, p.category.unwrap_or_default())}</span>
                                        </div>
                                        <div class="page-actions">
                                            {status}
                                            <ActionForm action=connect>
                                                <input type="hidden" name="facebook_page_id" value=id/>
                                                <button type="submit" data-testid="connect-page">
                                                    {if connected { "Reconnect" } else { "Connect" }}
                                                </button>
                                            </ActionForm>
                                            {connected.then(|| view! {
                                                <ActionForm action=check>
                                                    <input type="hidden" name="facebook_page_id" value=id2/>
                                                    <button type="submit" class="secondary">"Check"</button>
                                                </ActionForm>
                                                <button type="button" class="secondary" data-testid="page-stats-toggle"
                                                    aria-expanded=move || stats_open.get().to_string()
                                                    on:click=move |_| stats_open.update(|o| *o = !*o)>
                                                    "Messages"
                                                </button>
                                                <button type="button" class="secondary" data-testid="handoff-toggle"
                                                    aria-expanded=move || handoff_open.get().to_string()
                                                    on:click=move |_| handoff_open.update(|o| *o = !*o)>
                                                    "Hand-off webhooks"
                                                </button>
                                            })}
                                        </div>
                                        {paused}
                                        {outside}
                                        {get_started}
                                        {move || stats_open.get().then(|| view! {
                                            <div class="page-stats" data-testid="page-stats">
                                                <h3>"Messages sent from this Page"</h3>
                                                <crate::notices::panel::NoticeStatistics
                                                    scope=crate::notices::Scope::Page(stats_id.clone())/>
                                            </div>
                                        }.into_any())}
                                        {move || handoff_open.get().then(|| view! {
                                            <crate::handoff::HandoffPanel facebook_page_id=handoff_id.clone()/>
                                        })}
                                    </li>
                                }.into_any()
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
