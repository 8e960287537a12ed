//! The public results page `/c/{slug}/results` (and its framable twin under `/embed/`), and the
//! frozen list `/c/{slug}/results/tickets.txt`: server-rendered, no wasm, readable without
//! JavaScript. Before the draw it shows the commitment; after, who holds each prize, what
//! happened to those before them, the revealed seed and the list's hash, so anyone can recompute.

use super::panel::{fate, holder};
use super::store::{self, Draw};
use super::DrawState;
use crate::entries::page::load;
use crate::error::AppError;
use crate::html::{render_page, Document};
use crate::state::AppState;
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use leptos::prelude::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{slug}/results", get(results_page))
        .route("/embed/{slug}/results", get(embed_results_page))
        .route("/c/{slug}/results/tickets.txt", get(ticket_list))
        .route("/c/{slug}/results.json", get(results_json))
}

async fn results_page(state: State<AppState>, slug: Path<String>) -> Result<Response, AppError> {
    results(state, slug, false).await
}

async fn embed_results_page(
    state: State<AppState>,
    slug: Path<String>,
) -> Result<Response, AppError> {
    results(state, slug, true).await
}

/// The browser's verifier (`public/verify-draw.js`); the public pages' policy allows this one
/// file by its address (`server/src/security_headers.rs`).
pub const VERIFY_SCRIPT: &str = "/verify-draw.js";

/// What the page shows, read from the store.
struct Standing {
    title: String,
    page_name: String,
    commitment: String,
    draw: Option<Draw>,
    /// Revealed once the draw is made, never before.
    seed: Option<String>,
    winners: Vec<store::Named>,
    /// What each rank wins, by rank (`claims::prize_of`).
    prizes: std::collections::BTreeMap<i64, String>,
    list_url: String,
    json_url: String,
    embed: bool,
}

async fn results(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    embed: bool,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let Some(commitment) = store::commitment(&state.db, &campaign.id).await? else {
        return Err(AppError::page(
            StatusCode::NOT_FOUND,
            "No results yet",
            "This giveaway has no draw commitment: it was published before draws existed.",
        ));
    };
    let draw = store::draw_of(&state.db, &campaign.id).await?;
    let drawn = draw.as_ref().is_some_and(|d| d.state == DrawState::Drawn);
    let seed = if drawn {
        Some(
            store::seed(&state.db, &state.token_cipher, &campaign.id)
                .await?
                .reveal(),
        )
    } else {
        None
    };
    let winners = if drawn {
        store::winners_with_names(&state.db, &campaign.id).await?
    } else {
        Vec::new()
    };
    let prizes = winners
        .iter()
        .map(|n| {
            let rank = n.winner.prize_rank;
            (rank, super::claims::prize_of(&campaign, rank))
        })
        .collect();
    let standing = Standing {
        prizes,
        title: campaign.title.clone(),
        page_name: campaign.page_name.clone(),
        commitment,
        draw,
        seed,
        winners,
        list_url: format!("/c/{}/results/tickets.txt", campaign.slug),
        json_url: format!("/c/{}/results.json", campaign.slug),
        embed,
    };
    let html = render_page(move || view! { <ResultsPage standing=standing/> });
    Ok(Html(html).into_response())
}

/// The frozen list as published: one ticket per line, in byte order; its SHA-256 is the list
/// hash on the results page.
async fn ticket_list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    let frozen = store::draw_of(&state.db, &campaign.id).await?.is_some();
    if !frozen {
        return Err(AppError::page(
            StatusCode::NOT_FOUND,
            "No list yet",
            "The list of tickets is fixed when the giveaway ends.",
        ));
    }
    let list = store::frozen_list(&state.db, &campaign.id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        list.text(),
    )
        .into_response())
}

/// The published results (`draws::DrawResults`), what `server verify-draw` and the page's
/// Verify button recompute. Before the draw there are none.
async fn results_json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let campaign = load(&state, &slug).await?;
    match store::results(&state.db, &campaign.id).await? {
        Some(results) => Ok(axum::Json(results).into_response()),
        None => Err(AppError::page(
            StatusCode::NOT_FOUND,
            "No results yet",
            "The winners have not been drawn yet.",
        )),
    }
}

#[component]
fn ResultsPage(standing: Standing) -> impl IntoView {
    let Standing {
        title,
        page_name,
        commitment,
        draw,
        seed,
        winners,
        prizes,
        list_url,
        json_url,
        embed,
    } = standing;
    let body_class = if embed { "entry embed" } else { "entry" };
    let outcome = match (&draw, &seed) {
        (Some(d), Some(_)) if d.state == DrawState::Drawn => {
            let mut ranks: Vec<i64> = winners.iter().map(|n| n.winner.prize_rank).collect();
            ranks.sort_unstable();
            ranks.dedup();
            let prizes = ranks
                .into_iter()
                .map(|rank| {
                    let rows: Vec<_> = winners
                        .iter()
                        .filter(|n| n.winner.prize_rank == rank)
                        .map(|store::Named { winner: w, name, .. }| {
                            view! {
                                <li data-testid="winner" data-status=w.status.as_str()>
                                    {holder(&w.ticket, name.as_deref())}" · "<span class="muted">{fate(w.status, w.reason.as_deref())}</span>
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <li data-testid="prize" data-rank=rank.to_string()>
                            <strong>{format!("Prize {rank}")}</strong>
                            {prizes.get(&rank).map(|p| view! { ": "<span data-testid="prize-name">{p.clone()}</span> })}
                            <ul>{rows}</ul>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <h2>"Winners"</h2>
                <ol class="prizes" data-testid="prizes">{prizes}</ol>
            }
            .into_any()
        }
        (Some(_), _) => view! {
            <p data-testid="draw-state" data-state="frozen">"The list is fixed; the draw is being made."</p>
        }
        .into_any(),
        (None, _) => view! {
            <p data-testid="draw-state" data-state="waiting">"The winners have not been drawn yet."</p>
        }
        .into_any(),
    };
    let list = draw.as_ref().map(|d| {
        view! {
            <p>
                {format!("The list: {} tickets, SHA-256 ", d.ticket_count)}
                <code data-testid="list-hash">{d.list_hash.clone()}</code>" ("
                <a href=list_url.clone() data-testid="ticket-list">"the tickets"</a>")"
            </p>
        }
    });
    let verify = seed.is_some().then(|| {
        view! {
            <p>
                <button type="button" data-testid="verify-draw" data-verify-draw=json_url.clone()
                    data-verify-output="verify-output">"Verify the draw"</button>" "
                <output id="verify-output" data-testid="verify-output"></output>
            </p>
            <p class="muted">
                "It recomputes the draw in this browser from "
                <a href=json_url.clone() data-testid="results-json">"the results"</a>
                "; or run "<code>"server verify-draw results.json"</code>" on your own machine."
            </p>
            // The only script of the public pages loaded from a file; the policy names it.
            <script src=VERIFY_SCRIPT defer></script>
        }
    });
    let seed = seed.map(|seed| {
        view! { <p>"The seed, revealed: "<code data-testid="seed">{seed}</code></p> }
    });
    view! {
        <Document title=format!("Results: {title}") body_class=body_class>
            <main>
                <article class="card campaign" data-testid="results">
                    <p class="muted">{page_name}</p>
                    <h1>{format!("Results: {title}")}</h1>
                    {outcome}
                    <section class="draw-proof">
                        <h2>"How the draw can be checked"</h2>
                        <p>
                            "When the giveaway was published, it committed to a secret seed by \
                             publishing its SHA-256: "
                            <code data-testid="commitment">{commitment}</code>
                        </p>
                        {list}
                        {seed}
                        {verify}
                        <p class="muted">
                            "The draw is a fixed function of the seed and the list: anyone can \
                             recompute it from what this page shows. The organiser could not \
                             change the seed after publishing; what the commitment alone cannot \
                             rule out is an organiser who knows the seed adding entries of their \
                             own while the giveaway is open."
                        </p>
                    </section>
                </article>
            </main>
        </Document>
    }
}
