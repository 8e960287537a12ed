//! The "Hand-off webhooks" section of a connected Page on the admin home: add an address (with
//! the events it gets), see its secret once, send a test event, give it a new secret, remove it,
//! and the last deliveries with their outcome.

use super::*;

/// A Page's hooks and their log, for its admins.
#[component]
pub fn HandoffPanel(facebook_page_id: String) -> impl IntoView {
    let add = ServerAction::<AddPageHook>::new();
    let rotate = ServerAction::<RotateHookSecret>::new();
    let remove = ServerAction::<RemovePageHook>::new();
    let ping = ServerAction::<PingPageHook>::new();
    // The log changes by itself (the worker sends in the background): refreshed on demand.
    let refreshed = RwSignal::new(0u32);
    let id = facebook_page_id.clone();
    let handoff = crate::loading::load(
        move || {
            (
                add.version().get(),
                rotate.version().get(),
                remove.version().get(),
                ping.version().get(),
                refreshed.get(),
            )
        },
        move |_| page_handoff(id.clone()),
    );
    let errors = move || {
        [
            remove.value().get().and_then(|r| r.err()),
            ping.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
        .collect_view()
    };
    let fb_id = facebook_page_id.clone();
    view! {
        <div class="handoff" data-testid="handoff">
            <h3>"Hand-off webhooks"</h3>
            <p class="muted">
                "Your other tools (your chatbot, your CRM) get what happens on this Page as signed \
                 JSON POSTs: entries confirmed, keywords tapped, opt-outs, prizes claimed. \
                 Each event names the person by their id on this Page (PSID)."
            </p>
            <SecretOnce result=add.value()/>
            <SecretOnce result=rotate.value()/>
            {errors}
            <ActionForm action=add>
                <input type="hidden" name="facebook_page_id" value=facebook_page_id/>
                <label>
                    "Address "
                    <input type="url" name="url" required maxlength="2000"
                        placeholder="https://your-tool.example/giveaway" data-testid="hook-url"/>
                </label>
                <fieldset>
                    <legend>"Events"</legend>
                    {EventType::CHOOSABLE.into_iter().map(|event| {
                        let name = match event {
                            EventType::EntryConfirmed => "entry_confirmed",
                            EventType::KeywordTapped => "keyword_tapped",
                            EventType::OptedOut => "opted_out",
                            EventType::WinnerClaimed => "winner_claimed",
                            EventType::Ping => "ping",
                        };
                        view! {
                            <label>
                                <input type="checkbox" name=name value="on" checked/>
                                " "{event.label()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button type="submit" data-testid="add-hook">"Add webhook"</button>
            </ActionForm>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || handoff.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(handoff) => view! {
                        <ul class="hooks">
                            {handoff.hooks.into_iter().map(|hook| {
                                let events = hook.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ");
                                let (a, b, c) = (fb_id.clone(), fb_id.clone(), fb_id.clone());
                                let (h1, h2, h3) = (hook.id.clone(), hook.id.clone(), hook.id.clone());
                                view! {
                                    <li data-testid="hook">
                                        <code>{hook.url}</code>
                                        <span class="muted">{format!(" · {events}")}</span>
                                        <div class="page-actions">
                                            <ActionForm action=ping>
                                                <input type="hidden" name="facebook_page_id" value=a/>
                                                <input type="hidden" name="hook_id" value=h1/>
                                                <button type="submit" class="secondary">"Send a test event"</button>
                                            </ActionForm>
                                            <ActionForm action=rotate>
                                                <input type="hidden" name="facebook_page_id" value=b/>
                                                <input type="hidden" name="hook_id" value=h2/>
                                                <button type="submit" class="secondary">"New secret"</button>
                                            </ActionForm>
                                            <ActionForm action=remove>
                                                <input type="hidden" name="facebook_page_id" value=c/>
                                                <input type="hidden" name="hook_id" value=h3/>
                                                <button type="submit" class="secondary">"Remove"</button>
                                            </ActionForm>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <DeliveryLog deliveries=handoff.deliveries/>
                    }.into_any(),
                })}
            </Suspense>
            <button type="button" class="secondary" on:click=move |_| refreshed.update(|n| *n += 1)>
                "Refresh the log"
            </button>
        </div>
    }
}

/// A new secret, shown once, with what to do with it.
#[component]
fn SecretOnce(#[prop(into)] result: Signal<Option<Result<NewSecret, AppError>>>) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(new) => view! {
                <div class="notice" role="status" data-testid="hook-secret">
                    <p>
                        "The signing secret of "<code>{new.url}</code>
                        ", shown only now: copy it into your tool, which checks each request's \
                         X-Giveaway-Signature with it."
                    </p>
                    <p><code class="code">{new.secret}</code></p>
                </div>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

/// The last deliveries: when, what, where, and how it went.
#[component]
fn DeliveryLog(deliveries: Vec<DeliveryView>) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="muted">"Nothing sent yet."</p> }.into_any();
    }
    view! {
        <table class="deliveries" data-testid="hook-deliveries">
            <thead>
                <tr><th>"Event"</th><th>"To"</th><th>"Status"</th><th>"Code"</th><th>"Tries"</th><th>"Error"</th></tr>
            </thead>
            <tbody>
                {deliveries.into_iter().map(|d| {
                    let status = match (d.status, d.next_attempt_at) {
                        (DeliveryStatus::Queued, Some(_)) if d.attempts > 0 => "retrying".to_string(),
                        (status, _) => status.as_str().to_string(),
                    };
                    view! {
                        <tr data-testid="hook-delivery" data-status=d.status.as_str()>
                            <td title=d.event_id>{d.event_type.as_str()}</td>
                            <td><code>{d.hook_url}</code></td>
                            <td>{status}</td>
                            <td>{d.last_status_code.map(|c| c.to_string()).unwrap_or_default()}</td>
                            <td>{d.attempts}</td>
                            <td>{d.last_error.unwrap_or_default()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
