//! Meta's pace, per Page: fewer than `SEND_RATE_PER_PAGE` Send API calls in any one second,
//! evenly spaced, and a pause when Meta says it is throttling or its usage headers climb. Pages
//! never wait for each other.
//!
//! Evenly spaced with no slack at all lost a tenth of the rate: at 300 a second calls are 3.3 ms
//! apart, tokio's timer wakes a waiting call up to a millisecond late, and every late call pushed
//! all the following ones back. So a late call may be followed by up to three quicker ones, and
//! the pace is set below the limit by as much. Then calls leave evenly but do not arrive evenly:
//! on a loaded machine (PostgreSQL beside the product on two cores) the time from leaving to
//! arriving varied by some 30 ms, enough to crowd 308 calls into one second at Meta's end. So 3%
//! more is kept spare for that: 288 a second for a limit of 300, never more than 291 in any
//! second as they leave (see [`shape`]).
//!
//! The pace holds across instances because a Page has one sender job at a time (see `jobs`).

use crate::messenger::graph::Usage;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Usage (percent of the quota) above which the sender eases off before Meta throttles it.
const EASE_OFF_PERCENT: f64 = 90.0;

pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    /// No call before this instant (throttling, high usage).
    hold_until: Mutex<Option<Instant>>,
    /// Consecutive throttling answers: each doubles the pause.
    throttled_in_a_row: Mutex<u32>,
    /// The first pause after a throttling answer.
    backoff_base: Duration,
}

/// (calls a second, calls at once) for a limit of `per_second`. The limiter (GCRA) lets at most
/// `pace + burst - 1` calls into any window shorter than a second; that stays 3% below the limit
/// from 100 a second up, room for the calls' uneven way to Meta. Slower limits keep one call spare.
pub fn shape(per_second: u32) -> (u32, u32) {
    let catch_up = (per_second / 100).min(3);
    let spare = if per_second >= 100 {
        (per_second * 3).div_ceil(100)
    } else {
        u32::from(per_second >= 2)
    };
    (per_second.max(1) - catch_up - spare, 1 + catch_up)
}

impl Pacer {
    fn new(per_second: u32, backoff_base: Duration) -> Pacer {
        let (pace, burst) = shape(per_second);
        let pace = NonZeroU32::new(pace).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(Quota::per_second(pace).allow_burst(burst)),
            hold_until: Mutex::new(None),
            throttled_in_a_row: Mutex::new(0),
            backoff_base,
        }
    }

    /// Waits until the Page may make its next call.
    pub async fn ready(&self) {
        loop {
            let hold = *self.hold_until.lock().expect("pacer lock");
            match hold {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await
                }
                _ => break,
            }
        }
        self.limiter.until_ready().await;
    }

    /// How long the Page is on hold from now, if it is.
    pub fn held_for(&self) -> Option<Duration> {
        let hold = *self.hold_until.lock().expect("pacer lock");
        hold.and_then(|until| until.checked_duration_since(Instant::now()))
    }

    /// No call before `pause` from now.
    pub fn hold(&self, pause: Duration) {
        let until = Instant::now() + pause;
        let mut hold = self.hold_until.lock().expect("pacer lock");
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    /// Reads the usage headers of an answer: eases off as the quota fills, and waits as long as
    /// Meta says when it announces a time to regain access.
    pub fn observe(&self, usage: &Usage) {
        if let Some(minutes) = usage.minutes_to_regain_access.filter(|m| *m > 0.0) {
            self.hold(Duration::from_secs_f64(minutes * 60.0));
        } else if usage.max_percent.is_some_and(|p| p >= EASE_OFF_PERCENT) {
            self.hold(Duration::from_millis(500));
        }
    }

    /// Meta answered with a throttling code: pause the Page, longer each time in a row
    /// (the retry base, then twice, four times ... up to 5 minutes), or as long as the headers say.
    pub fn throttled(&self, usage: Option<&Usage>) -> Duration {
        let mut row = self.throttled_in_a_row.lock().expect("pacer lock");
        *row = (*row + 1).min(20);
        let backoff = (self.backoff_base * (1 << (*row - 1).min(8))).min(Duration::from_secs(300));
        let told = usage
            .and_then(|u| u.minutes_to_regain_access)
            .filter(|m| *m > 0.0)
            .map(|m| Duration::from_secs_f64(m * 60.0));
        let pause = told.map_or(backoff, |t| t.max(backoff));
        drop(row);
        self.hold(pause);
        pause
    }

    /// Meta says the Page is restricted for now: wait 300 retry steps (10 minutes by default)
    /// before the next try.
    pub fn restricted(&self) {
        let mut row = self.throttled_in_a_row.lock().expect("pacer lock");
        *row = (*row).max(1);
        drop(row);
        self.hold(self.backoff_base * 300);
    }

    /// Whether Meta's last answer to this Page held it back (throttled or restricted).
    pub fn is_throttled(&self) -> bool {
        *self.throttled_in_a_row.lock().expect("pacer lock") > 0
    }

    /// A call went through: the throttling streak is over.
    pub fn succeeded(&self) {
        *self.throttled_in_a_row.lock().expect("pacer lock") = 0;
    }
}

/// One pacer per Page, shared by every notice of that Page in this instance.
#[derive(Clone)]
pub struct Pacers {
    per_second: u32,
    backoff_base: Duration,
    pages: Arc<Mutex<HashMap<String, Arc<Pacer>>>>,
}

impl Pacers {
    pub fn new(per_second: u32, backoff_base: Duration) -> Pacers {
        Pacers {
            per_second,
            backoff_base,
            pages: Arc::default(),
        }
    }

    pub fn for_page(&self, page_row_id: &str) -> Arc<Pacer> {
        self.pages
            .lock()
            .expect("pacers lock")
            .entry(page_row_id.to_string())
            .or_insert_with(|| Arc::new(Pacer::new(self.per_second, self.backoff_base)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_second_can_reach_the_limit() {
        for limit in [1, 2, 50, 99, 100, 150, 300, 1_000, 10_000] {
            let (pace, burst) = shape(limit);
            let most_in_a_second = pace + burst - 1;
            assert!(most_in_a_second <= limit, "{limit}: {pace} + {burst} - 1");
            if limit >= 100 {
                assert!(most_in_a_second * 100 <= limit * 97, "{limit}: 3% spare");
                assert!(pace * 100 >= limit * 95, "{limit}: {pace} is too slow");
            }
        }
        assert_eq!(shape(300), (288, 4));
    }

    #[tokio::test]
    async fn a_late_call_catches_up_by_three_at_most() {
        let pacer = Pacer::new(300, Duration::from_secs(1));
        for _ in 0..4 {
            assert!(pacer.limiter.check().is_ok());
        }
        assert!(pacer.limiter.check().is_err());
    }

    #[test]
    fn throttling_doubles_the_pause_and_meta_can_ask_for_longer() {
        let pacer = Pacer::new(300, Duration::from_secs(1));
        assert_eq!(pacer.throttled(None), Duration::from_secs(1));
        assert_eq!(pacer.throttled(None), Duration::from_secs(2));
        let told = Usage {
            max_percent: Some(100.0),
            minutes_to_regain_access: Some(1.0),
        };
        assert_eq!(pacer.throttled(Some(&told)), Duration::from_secs(60));
        assert!(pacer.held_for().is_some());
        pacer.succeeded();
        assert_eq!(pacer.throttled(None), Duration::from_secs(1));
    }
}
