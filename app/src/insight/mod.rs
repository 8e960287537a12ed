//! What the admin learns of how people come (issue #18): the funnel — saw the page, tapped
//! Subscribe, started an entry, finished it in Messenger — per source, the embedding site and
//! the link's `utm_source`, over time in the admin's own time zone, and the campaign's
//! messages per day; drawn as SVG on the server.
//!
//! Counting is without tracking: no cookie, nothing about a person, counts per quarter of an
//! hour kept in memory and added to the database in batches (`tally`).

#[cfg(feature = "ssr")]
pub mod attribution;
#[cfg(feature = "ssr")]
mod buckets;
#[cfg(feature = "ssr")]
pub mod charts;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod tally;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A quarter of an hour in milliseconds: the funnel is counted per quarter, and every time
/// zone's hours and days are whole quarters.
pub const QUARTER_MS: i64 = 900_000;

/// A step of the funnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The entry page or the widget was shown.
    View,
    /// Subscribe on Messenger was tapped (the form came back).
    Tap,
    /// An entry was made: its Messenger link handed out.
    Started,
    /// The person answered in Messenger: the entry is confirmed.
    Confirmed,
}

/// How many of each stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub views: i64,
    pub taps: i64,
    pub started: i64,
    pub confirmed: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.views += other.views;
        self.taps += other.taps;
        self.started += other.started;
        self.confirmed += other.confirmed;
    }

    pub fn stage(&mut self, stage: Stage) -> &mut i64 {
        match stage {
            Stage::View => &mut self.views,
            Stage::Tap => &mut self.taps,
            Stage::Started => &mut self.started,
            Stage::Confirmed => &mut self.confirmed,
        }
    }
}

/// One line of the funnel by where people came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRow {
    /// `page`, `widget`, `qr`, `direct` (or the `utm_source` for the tags' table).
    pub key: String,
    pub label: String,
    pub counts: Counts,
}

/// One bar of entries over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesBucket {
    pub label: String,
    pub started: i64,
    pub confirmed: i64,
}

/// One day of messages, counted as the notices' figures count them (delivered and read ones
/// are sent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagesDay {
    pub label: String,
    pub counts: crate::notices::Counts,
}

/// Everything the panel shows, the charts drawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insight {
    /// The zone the times are in.
    pub zone: String,
    pub by_day: bool,
    /// Still taking entries: the panel refreshes itself.
    pub live: bool,
    /// Past its end (or archived): nothing more to count.
    pub ended: bool,
    pub totals: Counts,
    pub funnel_svg: String,
    pub sources: Vec<SourceRow>,
    pub tags: Vec<SourceRow>,
    pub entries_svg: String,
    pub entries: Vec<EntriesBucket>,
    pub messages_svg: String,
    pub messages: Vec<MessagesDay>,
}

/// Where the admin's time zone is kept once their browser said it.
#[cfg(feature = "ssr")]
const ZONE_KEY: &str = "time_zone";

/// The campaign's insight in the admin's time zone: `zone` as their browser names it (kept in
/// their session for the next page rendered on the server; the session's, else UTC, when
/// `None`), by hour (the last 48) or by day.
#[server(endpoint = "campaign_insight")]
pub async fn campaign_insight(
    id: String,
    zone: Option<String>,
    by_day: bool,
) -> Result<Insight, AppError> {
    // Polled every 10 seconds: by the stored rights, not a call to Facebook each time.
    let (state, campaign) = crate::admins::guard::require_listed_campaign(&id).await?;
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    let zone = match zone {
        Some(zone) => {
            if jiff::tz::TimeZone::get(&zone).is_err() {
                return Err(AppError::refused(
                    http::StatusCode::BAD_REQUEST,
                    format!(
                        "\"{zone}\" is not a time zone this server knows (such as Europe/Paris)."
                    ),
                ));
            }
            if let Err(e) = session.insert(ZONE_KEY, &zone).await {
                tracing::warn!(error = %e, "the admin's time zone was not kept");
            }
            zone
        }
        None => session
            .get::<String>(ZONE_KEY)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| "UTC".into()),
    };
    // What this instance counted shows at once; other instances' within their flush interval.
    if let Err(e) = state.tally.flush(&state.db).await {
        tracing::warn!(error = %e, "funnel counts not written before reading");
    }
    let counted = store::of_campaign(&state.db, &id).await?;
    let messages = crate::messenger::figures::quarters(&state.db, &id).await?;
    let now = crate::db::now_ms();
    let stage = campaign.lifecycle(now);
    let mut insight = buckets::insight(
        &campaign,
        &counted,
        &messages,
        &zone,
        by_day,
        stage == crate::campaigns::Lifecycle::Live,
        now,
    );
    insight.ended = matches!(
        stage,
        crate::campaigns::Lifecycle::Ended | crate::campaigns::Lifecycle::Archived
    );
    Ok(insight)
}

/// The days a campaign list's sparkline covers, today included.
pub const TREND_DAYS: i64 = 14;

/// A campaign's entries per day over the last [`TREND_DAYS`] (UTC days), for the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trend {
    pub campaign_id: String,
    pub per_day: Vec<i64>,
    pub sparkline_svg: String,
}

/// Entries per day of each of the admin's campaigns that had any in the last two weeks.
#[server(endpoint = "campaign_trends")]
pub async fn campaign_trends() -> Result<Vec<Trend>, AppError> {
    let (state, admin) = crate::admins::guard::require_admin().await?;
    if let Err(e) = state.tally.flush(&state.db).await {
        tracing::warn!(error = %e, "funnel counts not written before reading");
    }
    let first_day = crate::db::now_ms() / 86_400_000 - (TREND_DAYS - 1);
    let rows = store::entered_by_day(&state.db, &admin.id, first_day * 96).await?;
    let mut by_campaign = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for (campaign_id, day, n) in rows {
        let days = by_campaign
            .entry(campaign_id)
            .or_insert_with(|| vec![0; TREND_DAYS as usize]);
        if let Some(slot) = days.get_mut((day - first_day) as usize) {
            *slot += n;
        }
    }
    Ok(by_campaign
        .into_iter()
        .map(|(campaign_id, per_day)| {
            let words: Vec<String> = per_day.iter().map(i64::to_string).collect();
            let title = format!(
                "Entries per day over the last {TREND_DAYS} days, oldest first: {}",
                words.join(", ")
            );
            Trend {
                sparkline_svg: charts::sparkline(&title, &per_day),
                campaign_id,
                per_day,
            }
        })
        .collect())
}

/// The browser's time zone (`Intl`), in the browser only.
fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        let options = format.resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|z| z.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The campaign's funnel and charts, refreshed every 10 seconds until the campaign ends.
#[component]
pub fn InsightPanel(campaign_id: String) -> impl IntoView {
    let by_day = RwSignal::new(false);
    // Known once the browser runs: the first page comes in the session's zone (or UTC).
    let zone = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(z) = browser_zone() {
            zone.set(Some(z));
        }
    });
    // Refreshed while the campaign may take entries: a draft published in this same page
    // starts counting without a reload.
    let ended = RwSignal::new(false);
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !ended.get_untracked() {
                    tick.update(|t| *t += 1)
                }
            },
            std::time::Duration::from_secs(10),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let insight = crate::loading::load(
        move || (campaign_id.clone(), zone.get(), by_day.get(), tick.get()),
        |(id, zone, by_day, _)| campaign_insight(id, zone, by_day),
    );
    Effect::new(move |_| {
        if let Some(Ok(i)) = insight.get() {
            ended.set(i.ended);
        }
    });
    let switch = move |day: bool, label: &'static str, testid: &'static str| {
        view! {
            <button type="button" data-testid=testid aria-pressed=move || (by_day.get() == day).to_string()
                on:click=move |_| by_day.set(day)>{label}</button>
        }
    };
    view! {
        <section class="card insight" data-testid="insight" aria-labelledby="insight-heading">
            <h2 id="insight-heading">"How people come"</h2>
            <Transition fallback=|| view! { <p class="muted">"Counting…"</p> }>
                {move || insight.get().map(|result| match result {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(i) => view! { <InsightFigures insight=i/> }.into_any(),
                })}
            </Transition>
            <p class="switch">
                "Entries by " {switch(false, "hour", "by-hour")} {switch(true, "day", "by-day")}
            </p>
        </section>
    }
}

#[component]
fn InsightFigures(insight: Insight) -> impl IntoView {
    let Insight {
        zone,
        totals,
        funnel_svg,
        sources,
        tags,
        entries_svg,
        entries,
        messages_svg,
        messages,
        by_day,
        ..
    } = insight;
    let source_rows = move |rows: Vec<SourceRow>, testid: &'static str| {
        rows.into_iter()
            .map(|r| {
                view! {
                    <tr data-testid=testid data-key=r.key.clone()>
                        <th scope="row">{r.label}</th>
                        <td>{r.counts.views}</td>
                        <td>{r.counts.taps}</td>
                        <td>{r.counts.started}</td>
                        <td data-testid="confirmed">{r.counts.confirmed}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let has_tags = !tags.is_empty();
    let unit = if by_day { "Day" } else { "Hour" };
    view! {
        <p class="muted" data-testid="insight-zone">{format!("Times in {zone}. Counted without cookies or personal data.")}</p>
        <div class="chart-box" data-testid="funnel-chart" inner_html=funnel_svg></div>
        <table class="figures" data-testid="funnel-table">
            <caption>"The funnel by source"</caption>
            <thead><tr><th scope="col">"From"</th><th scope="col">"Saw"</th><th scope="col">"Tapped"</th><th scope="col">"Started"</th><th scope="col">"Entered"</th></tr></thead>
            <tbody>
                {source_rows(sources, "funnel-source")}
                <tr class="total" data-testid="funnel-total">
                    <th scope="row">"All"</th>
                    <td>{totals.views}</td><td>{totals.taps}</td><td>{totals.started}</td><td data-testid="confirmed">{totals.confirmed}</td>
                </tr>
            </tbody>
        </table>
        {has_tags.then(|| view! {
            <table class="figures" data-testid="tags-table">
                <caption>"By the link's utm_source"</caption>
                <thead><tr><th scope="col">"utm_source"</th><th scope="col">"Saw"</th><th scope="col">"Tapped"</th><th scope="col">"Started"</th><th scope="col">"Entered"</th></tr></thead>
                <tbody>{source_rows(tags, "tag-source")}</tbody>
            </table>
        })}
        <div class="chart-box" data-testid="entries-chart" inner_html=entries_svg></div>
        <details>
            <summary>"Entries as a table"</summary>
            <table class="figures" data-testid="entries-table">
                <thead><tr><th scope="col">{unit}</th><th scope="col">"Started"</th><th scope="col">"Entered"</th></tr></thead>
                <tbody>
                    {entries.into_iter().filter(|b| b.started + b.confirmed > 0).map(|b| view! {
                        <tr data-testid="entries-bucket"><th scope="row">{b.label}</th><td>{b.started}</td><td>{b.confirmed}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
        <div class="chart-box" data-testid="messages-chart" inner_html=messages_svg></div>
        <details>
            <summary>"Messages as a table"</summary>
            <table class="figures" data-testid="messages-table">
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Sent"</th><th scope="col">"Delivered"</th><th scope="col">"Read"</th><th scope="col">"Failed"</th><th scope="col">"Not sent"</th></tr></thead>
                <tbody>
                    {messages.into_iter().map(|MessagesDay { label, counts: c }| view! {
                        <tr><th scope="row">{label}</th><td>{c.sent}</td><td>{c.delivered}</td><td>{c.read}</td><td>{c.failed}</td><td>{c.not_sent}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}
