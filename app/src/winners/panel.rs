//! The admin's view of a campaign's draw: draw now, who holds each prize and who waits behind
//! them, each winner's claim, and disqualifying a winner (the next alternate moves up).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One prize row as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnerRow {
    /// The place in the draw's order (from 0), what disqualifying names.
    pub place: i64,
    pub prize_rank: i64,
    pub ticket: String,
    pub name: Option<String>,
    /// Where the winner's message stands ("sent", "failed: …"); none before it is queued.
    pub message: Option<String>,
    /// What became of the prize row.
    pub status: super::PrizeStatus,
    pub reason: Option<String>,
    pub claim_deadline: Option<i64>,
}

/// How a prize holder is named: their first name (as Messenger gave it) and their ticket, or
/// the ticket alone. The public results and the admin's panel say it alike.
pub fn holder(ticket: &str, first_name: Option<&str>) -> String {
    match first_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} (ticket {ticket})"),
        None => format!("Ticket {ticket}"),
    }
}

/// What became of a prize row (`won`, `claimed`, `passed`, `disqualified`), in words.
pub fn fate(status: super::PrizeStatus, reason: Option<&str>) -> String {
    use super::PrizeStatus;
    match (status, reason) {
        (PrizeStatus::Claimed, _) => "claimed".to_string(),
        (PrizeStatus::Won, _) => "not claimed yet".to_string(),
        (PrizeStatus::Passed, Some(why)) => format!("passed to alternate ({why})"),
        (PrizeStatus::Passed, None) => "passed to alternate".to_string(),
        (PrizeStatus::Disqualified, Some(why)) => format!("disqualified: {why}"),
        (PrizeStatus::Disqualified, None) => "disqualified".to_string(),
    }
}

/// A campaign's draw, for its admins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnersReport {
    /// The campaign has ended: the draw may be made.
    pub ended: bool,
    /// The commitment made at publish (none: published before draws existed, or a draft).
    pub commitment: Option<String>,
    pub drawn: bool,
    pub tickets: i64,
    pub rows: Vec<WinnerRow>,
    /// Alternates not yet called, in order.
    pub waiting: Vec<String>,
    pub results_url: String,
}

/// What the admin (or a visitor of the results) is told when the draw's store refuses.
#[cfg(feature = "ssr")]
impl From<super::store::WinnersError> for AppError {
    fn from(e: super::store::WinnersError) -> AppError {
        use super::store::WinnersError;
        match e {
        WinnersError::Db(e) => e.into(),
        WinnersError::NoCommitment => AppError::refused(
            http::StatusCode::CONFLICT,
            "This campaign was published before draws existed: it has no commitment to draw from.",
        ),
        WinnersError::Beacon(why) => AppError::refused(
            http::StatusCode::SERVICE_UNAVAILABLE,
            format!("The draw waits for the randomness beacon ({why}); it is tried again by itself, or draw again in a minute."),
        ),
        other => AppError::internal(other),
    }
    }
}

#[leptos::server(endpoint = "campaign_winners")]
pub async fn campaign_winners(id: String) -> Result<WinnersReport, AppError> {
    use super::store;
    let (state, campaign) = crate::admins::guard::require_campaign(&id).await?;
    let db = &state.db;
    let now = crate::db::now_ms();
    let ended = matches!(
        campaign.lifecycle(now),
        crate::campaigns::Lifecycle::Ended | crate::campaigns::Lifecycle::Archived
    );
    let results = store::results(db, &id).await?;
    let told = crate::notices::winner_messages::outcomes(db, &id).await?;
    let rows: Vec<WinnerRow> = store::winners_with_names(db, &id)
        .await?
        .into_iter()
        .map(
            |store::Named {
                 winner: w,
                 name,
                 subscriber_id,
             }| WinnerRow {
                message: subscriber_id.and_then(|s| told.get(&s).cloned()),
                place: w.place,
                prize_rank: w.prize_rank,
                ticket: w.ticket,
                name,
                status: w.status,
                reason: w.reason,
                claim_deadline: w.claim_deadline,
            },
        )
        .collect();
    let waiting = match &results {
        Some(r) => {
            let called: std::collections::HashSet<&str> =
                rows.iter().map(|w| w.ticket.as_str()).collect();
            let struck: std::collections::HashSet<&str> =
                r.redraws.iter().map(|d| d.ticket.as_str()).collect();
            r.alternates()
                .iter()
                .filter(|t| !called.contains(t.as_str()) && !struck.contains(t.as_str()))
                .cloned()
                .collect()
        }
        None => Vec::new(),
    };
    Ok(WinnersReport {
        ended,
        commitment: store::commitment(db, &id).await?,
        drawn: results.is_some(),
        tickets: results.as_ref().map_or(0, |r| r.tickets.len() as i64),
        rows,
        waiting,
        results_url: format!("/c/{}/results", campaign.form.slug),
    })
}

/// The admin draws now (a campaign set to be drawn by hand, or one whose automatic draw has not
/// run yet). Only once the campaign has ended: entries could still change the list before.
#[leptos::server(endpoint = "draw_winners")]
pub async fn draw_winners(id: String) -> Result<(), AppError> {
    let (state, campaign) = crate::admins::guard::require_campaign(&id).await?;
    let ended = matches!(
        campaign.lifecycle(crate::db::now_ms()),
        crate::campaigns::Lifecycle::Ended | crate::campaigns::Lifecycle::Archived
    );
    if !ended {
        return Err(AppError::refused(
            http::StatusCode::CONFLICT,
            "The winners are drawn once the campaign has ended.",
        ));
    }
    let settings = campaign.form.draw_settings().unwrap_or_default();
    let plan = super::store::Plan {
        winners: settings.winners,
        alternates: settings.alternates,
        claim_hours: settings.claim_hours,
    };
    super::draw(&state, &id, plan).await?;
    state.showcase.forget_all();
    Ok(())
}

/// The admin disqualifies the winner at `place`, with a reason shown on the public results.
#[leptos::server(endpoint = "disqualify_winner")]
pub async fn disqualify_winner(id: String, place: i64, reason: String) -> Result<(), AppError> {
    let (state, _) = crate::admins::guard::require_campaign(&id).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(AppError::refused(
            http::StatusCode::BAD_REQUEST,
            "Give a reason (up to 200 characters): it is shown on the public results.",
        ));
    }
    let now = crate::db::now_ms();
    match super::store::disqualify(&state.db, &id, place, reason, now).await? {
        Some(_) => {
            // The alternate who moved up hears of it now, not at the next round.
            super::claims::tell(&state, Some(&id)).await?;
            Ok(())
        }
        None => Err(AppError::refused(
            http::StatusCode::CONFLICT,
            "That ticket holds no prize now.",
        )),
    }
}

/// The draw, in the campaign's editor.
#[component]
pub fn WinnersPanel(campaign_id: String) -> impl IntoView {
    let draw = ServerAction::<DrawWinners>::new();
    let disqualify = ServerAction::<DisqualifyWinner>::new();
    let id = campaign_id.clone();
    let report = crate::loading::load(
        move || (id.clone(), draw.version().get(), disqualify.version().get()),
        |(id, _, _)| campaign_winners(id),
    );
    let error = move || {
        draw.value()
            .get()
            .and_then(Result::err)
            .or_else(|| disqualify.value().get().and_then(Result::err))
            .map(|e| view! { <p class="error" role="alert" data-testid="winners-error">{e.to_string()}</p> })
    };
    view! {
        <section class="card" data-testid="winners-panel">
            <h2>"Winners"</h2>
            {error}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(r) if !r.drawn => {
                        let id = campaign_id.clone();
                        view! {
                            <p data-testid="draw-state" data-state="waiting">
                                {if r.ended { "The winners have not been drawn yet." } else { "The winners are drawn when the campaign ends." }}
                            </p>
                            {r.ended.then(|| view! {
                                <ActionForm action=draw>
                                    <input type="hidden" name="id" value=id/>
                                    <button type="submit" data-testid="draw-now">"Draw the winners now"</button>
                                </ActionForm>
                            })}
                        }.into_any()
                    }
                    Ok(r) => {
                        let id = campaign_id.clone();
                        view! {
                            <p data-testid="draw-state" data-state="drawn">
                                {format!("Drawn from {} tickets. ", r.tickets)}
                                <a href=r.results_url.clone() rel="external" data-testid="admin-results-link">"Public results"</a>
                            </p>
                            <ol class="winners">
                                {r.rows.into_iter().map(|w| {
                                    let id = id.clone();
                                    let holds = w.status.holds();
                                    let who = holder(&w.ticket, w.name.as_deref());
                                    let fate = fate(w.status, w.reason.as_deref());
                                    let message = w.message.clone().unwrap_or_else(|| "not queued yet".into());
                                    view! {
                                        <li data-testid="admin-winner" data-status=w.status.as_str()>
                                            {format!("Prize {} · {who} · {fate}", w.prize_rank)}
                                            " · "<span class="muted" data-testid="winner-message">{format!("message: {message}")}</span>
                                            {holds.then(|| view! {
                                                <ActionForm action=disqualify>
                                                    <input type="hidden" name="id" value=id/>
                                                    <input type="hidden" name="place" value=w.place.to_string()/>
                                                    <input type="text" name="reason" placeholder="Reason (shown on the results)" data-testid="disqualify-reason"/>
                                                    <button type="submit" class="secondary" data-testid="disqualify">"Disqualify"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                            <p class="muted" data-testid="alternates">
                                {if r.waiting.is_empty() { "No alternate left.".to_string() } else { format!("Alternates, in order: {}", r.waiting.join(", ")) }}
                            </p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}
