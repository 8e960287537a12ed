//! What the admin sees of notices: each notice's progress (a bar that fills as messages settle),
//! the last 7 days per day, why messages did not go, and the people behind any figure. Live
//! campaigns also get "Notify subscribers of this change" and "End now".

use super::{
    notice_recipients, notice_statistics, Counts, Filter, NoticeKind, NoticeReport, NoticeStatus,
    Scope,
};
use crate::messenger::MessageStatus;
use leptos::prelude::*;

/// Days since 1970-01-01 to `YYYY-MM-DD` (proleptic Gregorian, UTC).
pub fn date_of_day(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn time_of(ms: i64) -> String {
    let day = ms.div_euclid(86_400_000);
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{} {:02}:{:02} UTC",
        date_of_day(day),
        minutes / 60,
        minutes % 60
    )
}

/// The figures of the day table, each named like the status it starts from (the filter's word,
/// `stats::statuses`), with its label.
const FIGURES: [(MessageStatus, &str); 5] = [
    (MessageStatus::Sent, "sent"),
    (MessageStatus::Delivered, "delivered"),
    (MessageStatus::Read, "read"),
    (MessageStatus::Failed, "failed"),
    (MessageStatus::NotSent, "not sent"),
];

fn figure(c: &Counts, name: MessageStatus) -> i64 {
    match name {
        MessageStatus::Queued | MessageStatus::Sending => c.queued,
        MessageStatus::Sent => c.sent,
        MessageStatus::Delivered => c.delivered,
        MessageStatus::Read => c.read,
        MessageStatus::Failed => c.failed,
        MessageStatus::NotSent => c.not_sent,
    }
}

/// Polls while mounted in the browser: progress is live without a reload.
fn ticker(every_ms: u64) -> RwSignal<u64> {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_millis(every_ms),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

#[component]
fn NoticeProgress(notice: NoticeReport) -> impl IntoView {
    let c = notice.counts.clone();
    let percent = c.percent_done();
    let label = match notice.kind {
        NoticeKind::End => "End-of-campaign notice",
        NoticeKind::Update => "Update notice",
        NoticeKind::Winner => "Winners' messages",
    };
    let state = match notice.status {
        NoticeStatus::Scheduled => format!("scheduled for {}", time_of(notice.send_at)),
        NoticeStatus::Cancelled => "cancelled".to_string(),
        _ if c.queued == 0 => format!("finished: {} recipients", notice.recipients),
        _ => format!("sending to {} recipients", notice.recipients),
    };
    let total = c.total().max(1);
    let width = |n: i64| format!("width: {}%", n * 100 / total);
    view! {
        <div class="notice" data-testid="notice" data-kind=notice.kind.as_str() data-status=notice.status.as_str()>
            <p><strong>{label}</strong>" · "<span data-testid="notice-state">{state}</span></p>
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=percent.to_string() data-testid="notice-progress">
                <span class="bar-delivered" style=width(c.delivered)></span>
                <span class="bar-sent" style=width(c.sent - c.delivered)></span>
                <span class="bar-failed" style=width(c.failed + c.not_sent)></span>
            </div>
            <p class="muted" data-testid="notice-counts">
                {format!(
                    "{} queued · {} sent · {} delivered · {} read · {} failed · {} not sent",
                    c.queued, c.sent, c.delivered, c.read, c.failed, c.not_sent
                )}
            </p>
        </div>
    }
}

/// Statistics for a campaign (with its notices) or a Page (by its Facebook id).
#[component]
pub fn NoticeStatistics(scope: Scope, #[prop(optional)] live: bool) -> impl IntoView {
    let tick = ticker(2_000);
    let filter = RwSignal::new(Filter::default());
    let scope_for_stats = scope.clone();
    let stats = crate::loading::load(
        move || (tick.get(), filter.get()),
        move |(_, f)| notice_statistics(scope_for_stats.clone(), f),
    );
    let shown = RwSignal::new(None::<Filter>);
    let scope_for_people = scope.clone();
    let people = crate::loading::load(
        move || shown.get(),
        move |f| {
            let scope = scope_for_people.clone();
            async move {
                match f {
                    Some(f) => notice_recipients(scope, f).await.map(Some),
                    None => Ok(None),
                }
            }
        },
    );
    let campaign_id = match &scope {
        Scope::Campaign(id) => Some(id.clone()),
        Scope::Page(_) => None,
    };
    let notify = ServerAction::<super::NotifySubscribers>::new();
    let resend = ServerAction::<super::ResendNotSent>::new();
    let resend_for = campaign_id.clone();
    let text = RwSignal::new(String::new());
    let status_choice = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        filter.update(|f| f.status = Some(v).filter(|s| !s.is_empty()));
    };
    let day_choice = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        filter.update(|f| f.day = v.parse().ok());
    };
    let heading = if campaign_id.is_some() {
        "Notices"
    } else {
        "Messages sent for this Page"
    };
    view! {
        <section class="card" data-testid="notices-panel">
            <h2>{heading}</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || stats.get().map(|s| match s {
                    Ok(s) => view! {
                        {
                            let not_sent: i64 = s.notices.iter().map(|n| n.counts.not_sent).sum();
                            let id = resend_for.clone();
                            (not_sent > 0).then(|| id.map(|id| view! {
                                <div class="resend" data-testid="resend">
                                    <p>{format!("{not_sent} notice message(s) could not go (the reasons are below). Once you have fixed the reason, send them again.")}</p>
                                    <button type="button" data-testid="resend-not-sent" disabled=move || resend.pending().get()
                                        on:click=move |_| { resend.dispatch(super::ResendNotSent { campaign_id: id.clone() }); }>
                                        "Send the not-sent ones again"
                                    </button>
                                </div>
                            }))
                        }
                        {move || resend.value().get().map(|r| match r {
                            Ok(n) => view! { <p class="ok" data-testid="resent">{format!("{n} queued again.")}</p> }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        })}
                        {s.notices.into_iter().map(|n| view! { <NoticeProgress notice=n/> }).collect_view()}
                        <h3>"Last 7 days (UTC)"</h3>
                        <table class="stats" data-testid="stats-table">
                            <thead><tr><th>"Day"</th>
                                {FIGURES.iter().map(|(_, label)| view! { <th>{*label}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>
                                {s.days.into_iter().map(|d| {
                                    let date = date_of_day(d.day);
                                    view! {
                                        <tr data-day=d.day.to_string()>
                                            <td>{date}</td>
                                            {FIGURES.iter().map(|(name, _)| {
                                                let n = figure(&d.counts, *name);
                                                let pick = Filter { status: Some(name.to_string()), day: Some(d.day), ..filter.get_untracked() };
                                                // A figure with people behind it opens the list of them; a
                                                // zero is only a number.
                                                if n == 0 {
                                                    view! { <td class="zero" data-testid=format!("figure-{name}")>"0"</td> }.into_any()
                                                } else {
                                                    view! { <td><button type="button" class="link" data-testid=format!("figure-{name}")
                                                        title="Who"
                                                        on:click=move |_| shown.set(Some(pick.clone()))>{n}</button></td> }.into_any()
                                                }
                                            }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ul class="problems" data-testid="failure-reasons">
                            {s.reasons.into_iter().map(|r| {
                                let pick = Filter { reason: Some(r.reason.clone()), ..filter.get_untracked() };
                                view! { <li><button type="button" class="link" on:click=move |_| shown.set(Some(pick.clone()))>
                                    {format!("{} × {} ({})", r.count, r.reason, r.status.as_str().replace('_', " "))}</button></li> }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <p class="filters">
                <label>"Status "<select data-testid="filter-status" on:change=status_choice>
                    <option value="">"all"</option>
                    <option value="queued">"queued"</option>
                    {FIGURES.iter().map(|(name, label)| view! { <option value=name.as_str()>{*label}</option> }).collect_view()}
                </select></label>
                " "
                <label>"Day "<select data-testid="filter-day" on:change=day_choice>
                    <option value="">"last 7 days"</option>
                    {(0..7).map(|back| {
                        let today = (js_now_ms() / 86_400_000) - back;
                        view! { <option value=today.to_string()>{date_of_day(today)}</option> }
                    }).collect_view()}
                </select></label>
            </p>
            <Transition>
                {move || people.get().and_then(Result::ok).flatten().map(|list| view! {
                    <h3>"Who"</h3>
                    <ul class="recipients" data-testid="recipients">
                        {list.into_iter().map(|r| view! {
                            <li data-testid="recipient">
                                {r.first_name.unwrap_or_else(|| format!("PSID …{}", r.psid.chars().rev().take(4).collect::<String>().chars().rev().collect::<String>()))}
                                {format!(" · {} · {}{}", r.kind.replace('_', " "), r.status.as_str().replace('_', " "),
                                    r.reason.map(|x| format!(" ({x})")).unwrap_or_default())}
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </Transition>
            {campaign_id.filter(|_| live).map(|id| view! {
                <h3 id="notify">"Notify subscribers of this change"</h3>
                <ActionForm action=notify>
                    <input type="hidden" name="campaign_id" value=id/>
                    <textarea name="text" rows="3" maxlength="2000" data-testid="notify-text"
                        prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                    <button type="submit" data-testid="notify-button"
                        disabled=move || notify.pending().get()>"Notify subscribers"</button>
                </ActionForm>
                {move || notify.value().get().map(|r| match r {
                    Ok(_) => view! { <p class="ok" data-testid="notify-done">"Update notice queued."</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            })}
        </section>
    }
}

/// Now, on whichever side renders.
pub fn js_now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_become_dates() {
        assert_eq!(super::date_of_day(0), "1970-01-01");
        assert_eq!(super::date_of_day(20_414), "2025-11-22");
        assert_eq!(
            super::time_of(86_400_000 + 90 * 60_000),
            "1970-01-02 01:30 UTC"
        );
    }
}
