//! The funnel's counts as they happen, kept in memory and added to the database in batches
//! (`funnel_counts`): a view of the entry page costs a lock and a map lookup, never a write.
//! Each instance of a cluster keeps its own and adds them; the admin's reading flushes the
//! instance it asks first, so what they just did shows at once.

use super::{store, Counts, Stage, QUARTER_MS};
use crate::db::{now_ms, Db};
use crate::entries::Attribution;
use std::collections::HashMap;
use std::sync::Mutex;

/// Distinct (campaign, quarter, source, origin, tag) counted between two flushes before new
/// origins and tags are counted as [`OTHER`]: made-up `utm_source`s cannot fill the memory.
const MAX_KEYS: usize = 20_000;

/// The origin or tag counted in place of new ones past [`MAX_KEYS`].
pub const OTHER: &str = "(other)";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub campaign_id: String,
    pub quarter: i64,
    pub from: Attribution,
}

#[derive(Default)]
pub struct Tally {
    counts: Mutex<HashMap<Key, Counts>>,
}

impl Tally {
    /// Counts one of `stage` now.
    pub fn add(&self, campaign_id: &str, from: &Attribution, stage: Stage) {
        self.add_at(campaign_id, from, stage, now_ms());
    }

    pub fn add_at(&self, campaign_id: &str, from: &Attribution, stage: Stage, at: i64) {
        let mut key = Key {
            campaign_id: campaign_id.to_string(),
            quarter: at.div_euclid(QUARTER_MS),
            from: from.clone(),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= MAX_KEYS && !counts.contains_key(&key) {
            key.from.origin = if key.from.origin.is_empty() {
                String::new()
            } else {
                OTHER.into()
            };
            key.from.utm_source = if key.from.utm_source.is_empty() {
                String::new()
            } else {
                OTHER.into()
            };
        }
        *counts.entry(key).or_default().stage(stage) += 1;
    }

    /// Adds what was counted to the database; kept for the next flush if that fails.
    pub async fn flush(&self, db: &Db) -> Result<(), sqlx::Error> {
        let taken: Vec<(Key, Counts)> = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *counts).into_iter().collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        if let Err(e) = store::add(db, &taken).await {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            for (key, c) in taken {
                counts.entry(key).or_default().add(&c);
            }
            return Err(e);
        }
        Ok(())
    }
}

/// Flushes every `FUNNEL_FLUSH_SECONDS` (10 by default), until the server stops; the server
/// flushes once more on its way out.
pub async fn worker(state: crate::state::AppState) {
    let every = std::time::Duration::from_secs(state.settings.funnel_flush_seconds.max(1));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = state.tally.flush(&state.db).await {
            tracing::warn!(error = %e, "funnel counts not written; kept for the next try");
        }
    }
}
