//! Winners (issue #16): the draw's commitment made when a campaign is published, each confirmed
//! entry's public ticket, the list frozen at the end, the draw's outcome, claims, prizes passing
//! to alternates, and the public results page. The draw itself (a pure function of seed, list
//! and beacon) lives in `crate::draws`; this module keeps what it needs and what it decided.

pub mod panel;
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
        Ok(made)
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
        Ok(store::results(db, campaign_id)
            .await?
            .expect("the results were just recorded"))
    }
}
