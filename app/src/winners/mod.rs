//! Winners (issue #16): the draw's commitment made when a campaign is published, each confirmed
//! entry's public ticket, the list frozen at the end, the draw's outcome, claims, prizes passing
//! to alternates, and the public results page. The draw itself (a pure function of seed, list
//! and beacon) lives in `crate::draws`; this module keeps what it needs and what it decided.

#[cfg(feature = "ssr")]
pub mod claims;
pub mod panel;

crate::word_enum! {
    /// `draws.state`.
    pub enum DrawState("draw state") {
        /// The list of tickets is fixed; the draw is not made yet.
        Frozen = "frozen",
        Drawn = "drawn",
    }
}

crate::word_enum! {
    /// `winners.status`: what became of a prize row.
    pub enum PrizeStatus("prize status") {
        /// Held, told or to be told, not claimed yet.
        Won = "won",
        Claimed = "claimed",
        /// Not claimed by the deadline: it went to the next alternate.
        Passed = "passed",
        Disqualified = "disqualified",
    }
}

impl PrizeStatus {
    /// The row still holds its prize.
    pub fn holds(self) -> bool {
        matches!(self, PrizeStatus::Won | PrizeStatus::Claimed)
    }
}
#[cfg(feature = "ssr")]
pub mod results;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use super::store::{self, Plan, WinnersError};
    use crate::db::now_ms;
    use crate::draws::{beacon::BeaconClient, run_draw, DrawInputs, DrawResults};
    use crate::state::AppState;

    /// One round of the winners' background work: every automatic draw that is due is made
    /// (a failing one, say an unreachable beacon, is logged and tried again next round), then
    /// every prize left unclaimed past its deadline passes to its alternate. Answers how many
    /// draws were made.
    pub async fn run_once(state: &AppState) -> Result<usize, WinnersError> {
        let due = crate::campaigns::store::due_for_draw(&state.db, now_ms()).await?;
        let mut made = 0;
        for campaign in due {
            let plan = Plan {
                winners: campaign.winners_count,
                alternates: campaign.alternates_count,
                claim_hours: campaign.claim_hours,
            };
            match draw(state, &campaign.id, plan).await {
                Ok(_) => made += 1,
                Err(WinnersError::Db(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(campaign = %campaign.id, error = %e, "the draw could not be made yet")
                }
            }
        }
        for passed in store::pass_unclaimed(&state.db, now_ms()).await? {
            tracing::info!(campaign = %passed.campaign_id, rank = passed.prize_rank,
                to = ?passed.to.as_ref().map(|w| &w.ticket), "an unclaimed prize passed on");
        }
        // Every holder not told yet: the new alternates, and any winner a crash left between
        // the draw and its messages.
        super::claims::tell(state, None).await?;
        Ok(made)
    }

    /// Where the draw stands when the campaign's end notice is due.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum AtEndNotice {
        /// Drawn (now, if it was due): the notice goes to everyone but the prize holders,
        /// with the link to the results.
        Drawn { results_url: String },
        /// Drawn by hand, or published before draws existed: the notice does not wait.
        NoDraw,
        /// Due but not made yet (the beacon has not given its round): the notice waits.
        NotYet,
    }

    /// Called by the end notice's fan-out: an automatic draw that is due is made first, so the
    /// notice can say the winners have been drawn (and the winners get their own message).
    pub async fn before_end_notice(
        state: &AppState,
        campaign_id: &str,
    ) -> Result<AtEndNotice, sqlx::Error> {
        let db = &state.db;
        if let Some(due) = crate::campaigns::store::due_draw_of(db, campaign_id, now_ms()).await? {
            let plan = Plan {
                winners: due.winners_count,
                alternates: due.alternates_count,
                claim_hours: due.claim_hours,
            };
            match draw(state, campaign_id, plan).await {
                Ok(_) => state.showcase.forget_all(),
                Err(WinnersError::Db(e)) => return Err(e),
                Err(e) => {
                    tracing::warn!(campaign = %campaign_id, error = %e, "the end notice waits for the draw");
                    return Ok(AtEndNotice::NotYet);
                }
            }
        }
        let drawn = store::draw_of(db, campaign_id)
            .await?
            .is_some_and(|d| d.state == super::DrawState::Drawn);
        let campaign = crate::campaigns::store::find_published_by_id(db, campaign_id).await?;
        Ok(match campaign {
            Some(campaign) if drawn => AtEndNotice::Drawn {
                results_url: format!(
                    "{}/c/{}/results",
                    state
                        .settings
                        .public_base_url
                        .as_str()
                        .trim_end_matches('/'),
                    campaign.slug
                ),
            },
            _ => AtEndNotice::NoDraw,
        })
    }

    /// `run_once` every few seconds: a campaign is drawn within seconds of its end.
    pub async fn worker(state: AppState) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %e, "the winners' round failed");
            }
        }
    }

    /// Makes the campaign's draw, step by step, each step kept before the next: the list is
    /// frozen (with `plan`, fixed by the first freeze), the beacon round published after the
    /// freeze is fetched when `DRAW_BEACON_URL` is set, the draw is run and its results
    /// recorded. Called again after a crash at any point, it goes on from where it stopped and
    /// gives the same results; once drawn, it answers the recorded results.
    pub async fn draw(
        state: &AppState,
        campaign_id: &str,
        plan: Plan,
    ) -> Result<DrawResults, WinnersError> {
        let db = &state.db;
        if let Some(results) = store::results(db, campaign_id).await? {
            return Ok(results);
        }
        // No commitment, no draw: nothing is frozen for a draw that cannot be made.
        let seed = store::seed(db, &state.token_cipher, campaign_id).await?;
        let frozen = store::freeze(db, campaign_id, plan, now_ms()).await?;
        let list = store::frozen_list(db, campaign_id).await?;
        // The beacon round depends only on the freeze time: fetched again after a crash, it is
        // the same round.
        let beacon = match &state.settings.draw_beacon_url {
            Some(url) => Some(
                BeaconClient::new(url)
                    .first_round_after(frozen.frozen_at)
                    .await
                    .map_err(|e| WinnersError::Beacon(e.to_string()))?,
            ),
            None => None,
        };
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let results = run_draw(DrawInputs {
            seed: &seed,
            list,
            frozen_at_ms: Some(frozen.frozen_at),
            beacon,
            winners: count(frozen.winners_wanted),
            alternates: count(frozen.alternates_wanted),
        })
        // It refuses only a beacon round whose randomness is not its signature's hash.
        .map_err(|e| WinnersError::Beacon(e.to_string()))?;
        store::record_draw(db, campaign_id, &results, now_ms()).await?;
        super::claims::tell(state, Some(campaign_id)).await?;
        Ok(store::results(db, campaign_id)
            .await?
            .expect("the results were just recorded"))
    }
}
