//! Meta's pace, per Page: at most `SEND_RATE_PER_PAGE` Send API calls in any one second as
//! Meta counts them, evenly spaced, and a pause when Meta says it is throttling or its usage
//! headers climb. Pages never wait for each other.
//!
//! Meta counts a call when it arrives, and when that is we cannot know: somewhere between the
//! moment we let the call go and the moment its answer is back. Spacing the calls as they leave
//! was not enough: on a loaded machine the way there varied by some 30 ms, and 303 calls arrived
//! within one second of 288 a second sent evenly. So a call counts here from the moment it is let
//! go until one second after its answer came back, and a new call goes only while fewer than the
//! limit count. Whatever their way there, two calls that Meta could see within one second both
//! counted at the moment the second left: no second can hold more than the limit. The cost is the
//! answer's time: `limit / (1 s + answer time)` calls a second at most, 0.99 of the limit with the
//! sandbox beside the product, less far from Meta.
//!
//! Evenly spaced calls keep the pace smooth between those bounds; tokio's timer wakes a waiting
//! call up to a millisecond late, so a late call may be followed by up to three quicker ones.
//!
//! Callers waiting for room in the window wait their turn, one at a time at the window: when all
//! of a run's sends (up to 64) waited on the same moment, each freed place woke them all, and all
//! but one set their timer again: some ten timer wake-ups (write calls) a message, and contention
//! for tokio's timer lock. The CPU a message did not measurably change (README, fan-out).
//!
//! The pace holds across instances because a Page has one sender job at a time (see `jobs`); the
//! replies to what people write (confirmations, answers) take their turn in the same count, in
//! the instance that received the message.

use crate::messenger::graph::Usage;
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::time::Instant;

/// Usage (percent of the quota) above which the sender eases off before Meta throttles it.
const EASE_OFF_PERCENT: f64 = 90.0;

const ONE_SECOND: Duration = Duration::from_secs(1);

pub struct Pacer {
    limit: usize,
    /// The spacing of evenly paced calls, and how many may follow a late one at once.
    interval: Duration,
    catch_up: u32,
    /// The most calls one batch request carries.
    batch_max: usize,
    /// The theoretical time of the next call (GCRA): never before it, less the catch-up.
    next_at: Mutex<Option<Instant>>,
    window: Mutex<Window>,
    /// Held by the one caller waiting at the window; the others queue for it in order.
    turn: tokio::sync::Mutex<()>,
    /// How many times callers looked at the window for room (one per wake-up).
    looks: AtomicU64,
    /// No call before this instant (throttling, high usage).
    hold_until: Mutex<Option<Instant>>,
    /// Consecutive throttling answers: each doubles the pause.
    throttled_in_a_row: Mutex<u32>,
    /// The first pause after a throttling answer.
    backoff_base: Duration,
}

/// The calls that count against the limit now.
#[derive(Default)]
struct Window {
    /// Let go, answer not back yet.
    in_flight: usize,
    /// When the answers of the last second came back, oldest first.
    answered: VecDeque<Instant>,
}

/// A call let go. Dropping it says that its answer is back (or that it was never made): it
/// counts for one second more.
#[must_use = "a call counts until it is dropped, when its answer is back"]
pub struct Call {
    pacer: Arc<Pacer>,
    /// The calls it stands for: one, or a batch's.
    calls: usize,
}

impl Drop for Call {
    fn drop(&mut self) {
        let mut window = self.pacer.window.lock().expect("pacer lock");
        window.in_flight -= self.calls;
        let now = Instant::now();
        window.answered.extend(std::iter::repeat_n(now, self.calls));
    }
}

impl Pacer {
    fn new(per_second: u32, backoff_base: Duration) -> Pacer {
        let per_second = per_second.max(1);
        Pacer {
            limit: per_second as usize,
            interval: ONE_SECOND / per_second,
            catch_up: (per_second / 100).min(3),
            batch_max: crate::messenger::graph::BATCH_MAX,
            next_at: Mutex::new(None),
            window: Mutex::new(Window::default()),
            turn: tokio::sync::Mutex::new(()),
            looks: AtomicU64::new(0),
            hold_until: Mutex::new(None),
            throttled_in_a_row: Mutex::new(0),
            backoff_base,
        }
    }

    /// Waits until the Page may make its next `calls` notice calls, which leave together (a
    /// batch, or a single call): after any hold, evenly spaced (the batch waits for the last of
    /// its calls' moments), then within the limit, so batches keep the same pace as single
    /// calls. The calls count until the returned [`Call`] is dropped. More calls than the limit
    /// would never fit: callers keep batches under [`Pacer::batch_size`].
    pub async fn ready_for(self: &Arc<Self>, calls: usize) -> Call {
        let calls = calls.clamp(1, self.limit);
        loop {
            let hold = *self.hold_until.lock().expect("pacer lock");
            match hold {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let now = Instant::now();
        // One moment reserved per call; the batch leaves at the last of them.
        let mut at = now;
        for _ in 0..calls {
            at = self.slot(now);
        }
        // A slot already due needs no timer.
        if at > now {
            tokio::time::sleep_until(at).await;
        }
        // The window last: the calls count from the moment they may leave, not while they wait
        // for their moment (a batch's last moment is some 50 ms away, which counted would have
        // cost a twentieth of the pace).
        self.within_limit_for(calls).await
    }

    /// Reserves the next evenly spaced moment for a call asked for at `now` (GCRA: a theoretical
    /// time for the next call, which a late call may precede by the catch-up).
    fn slot(&self, now: Instant) -> Instant {
        let mut next = self.next_at.lock().expect("pacer lock");
        let tolerance = self.interval * self.catch_up;
        let at = next.map_or(now, |n| n.checked_sub(tolerance).unwrap_or(now).max(now));
        *next = Some(next.map_or(at, |n| n.max(at)) + self.interval);
        at
    }

    /// Waits until one more call keeps the Page within its limit, holds and spacing aside: a
    /// reply to what a person just wrote goes at once, unless the second is full.
    pub async fn within_limit(self: &Arc<Self>) -> Call {
        self.within_limit_for(1).await
    }

    /// How many notice calls go in one batch: a twentieth of a second's worth (15 at 300 a
    /// second, one batch every 50 ms), at most Meta's 50 or the operator's `SEND_BATCH_MAX`
    /// (1: every call on its own). Larger batches would make each call wait longer for its
    /// batch's last moment, holding its place among the sends in flight.
    pub fn batch_size(&self) -> usize {
        (self.limit / 20).clamp(1, self.batch_max)
    }

    fn with_batch_max(mut self, batch_max: usize) -> Pacer {
        self.batch_max = batch_max.clamp(1, crate::messenger::graph::BATCH_MAX);
        self
    }

    async fn within_limit_for(self: &Arc<Self>, calls: usize) -> Call {
        // FIFO: the caller first in line looks and waits; the next one only once it is through.
        let _turn = self.turn.lock().await;
        loop {
            self.looks.fetch_add(1, Ordering::Relaxed);
            let wait = {
                let mut window = self.window.lock().expect("pacer lock");
                let now = Instant::now();
                while window
                    .answered
                    .front()
                    .is_some_and(|&t| now.duration_since(t) >= ONE_SECOND)
                {
                    window.answered.pop_front();
                }
                if window.in_flight + window.answered.len() + calls <= self.limit {
                    window.in_flight += calls;
                    return Call {
                        pacer: self.clone(),
                        calls,
                    };
                }
                // Every counted call is still under way: look again shortly.
                window
                    .answered
                    .front()
                    .map_or(now + Duration::from_millis(2), |&t| t + ONE_SECOND)
            };
            tokio::time::sleep_until(wait).await;
        }
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
    batch_max: usize,
    backoff_base: Duration,
    pages: Arc<Mutex<HashMap<String, Arc<Pacer>>>>,
}

impl Pacers {
    pub fn new(per_second: u32, batch_max: usize, backoff_base: Duration) -> Pacers {
        Pacers {
            per_second,
            batch_max,
            backoff_base,
            pages: Arc::default(),
        }
    }

    pub fn for_page(&self, page_row_id: &str) -> Arc<Pacer> {
        self.pages
            .lock()
            .expect("pacers lock")
            .entry(page_row_id.to_string())
            .or_insert_with(|| {
                let pacer = Pacer::new(self.per_second, self.backoff_base);
                Arc::new(pacer.with_batch_max(self.batch_max))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_second_as_meta_could_count_it_holds_more_than_the_limit() {
        // Five a second, ten calls at once, each answered after 20 ms: whenever Meta saw each of
        // them (between leaving and answering), no one second may hold six.
        let pacer = Arc::new(Pacer::new(5, Duration::from_secs(1)));
        let started = Instant::now();
        let calls = futures::future::join_all((0..10).map(|_| {
            let pacer = pacer.clone();
            async move {
                let call = pacer.ready_for(1).await;
                let left = Instant::now();
                tokio::time::sleep(Duration::from_millis(20)).await;
                let answered = Instant::now();
                drop(call);
                (left, answered)
            }
        }))
        .await;
        for &(left, _) in &calls {
            // The calls Meta could have counted in the same second as this one, itself included.
            let together = calls
                .iter()
                .filter(|(l, a)| *l <= left && *a + ONE_SECOND > left)
                .count();
            assert!(together <= 5, "{together} calls within one second");
        }
        // The sixth call waited for one second after the first answer.
        assert!(started.elapsed() >= ONE_SECOND + Duration::from_millis(20));
    }

    #[tokio::test]
    async fn batches_keep_the_pace_and_the_window_of_single_calls() {
        // Ten a second, batches of three: whenever Meta saw a batch (between leaving and its
        // answer 20 ms later), no one second holds more than ten calls; and the batches leave
        // at the pace of their calls, not at once.
        let pacer = Arc::new(Pacer::new(10, Duration::from_secs(1)));
        assert_eq!(pacer.batch_size(), 1, "a twentieth of ten a second");
        let started = Instant::now();
        let mut batches = Vec::new();
        for _ in 0..7 {
            let call = pacer.ready_for(3).await;
            let left = Instant::now();
            tokio::time::sleep(Duration::from_millis(20)).await;
            batches.push((left, Instant::now()));
            drop(call);
        }
        for &(left, _) in &batches {
            let together = 3 * batches
                .iter()
                .filter(|(l, a)| *l <= left && *a + ONE_SECOND > left)
                .count();
            assert!(together <= 10, "{together} calls within one second");
        }
        // 21 calls at ten a second: past two seconds.
        assert!(
            started.elapsed() >= Duration::from_millis(1800),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(Pacer::new(300, Duration::from_secs(1)).batch_size(), 15);
        assert_eq!(Pacer::new(5000, Duration::from_secs(1)).batch_size(), 50);
        // The operator's cap (`SEND_BATCH_MAX`): 1 sends every call on its own.
        let capped = |limit, max| {
            Pacer::new(limit, Duration::from_secs(1))
                .with_batch_max(max)
                .batch_size()
        };
        assert_eq!(capped(300, 1), 1);
        assert_eq!(capped(300, 10), 10);
        assert_eq!(capped(300, 500), 15);
    }

    #[tokio::test]
    async fn a_freed_place_wakes_one_waiting_caller_not_all() {
        // Two a second, both taken and answered: twenty callers wait for the window. Each of
        // them looks once or twice (when its turn comes, and once more if the place is not free
        // yet), not once per freed place.
        let pacer = Arc::new(Pacer::new(2, Duration::from_secs(1)));
        drop((pacer.within_limit().await, pacer.within_limit().await));
        let before = pacer.looks.load(Ordering::Relaxed);
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiting: Vec<_> = (0..20)
            .map(|i| {
                let (pacer, order) = (pacer.clone(), order.clone());
                tokio::spawn(async move {
                    let call = pacer.within_limit().await;
                    order.lock().unwrap().push(i);
                    drop(call);
                })
            })
            .collect();
        // Let them all queue, then free the window: four seconds serve eight of them.
        tokio::time::sleep(Duration::from_millis(4100)).await;
        let served = order.lock().unwrap().clone();
        for task in waiting {
            task.abort();
        }
        assert!(served.len() >= 6, "served {served:?}");
        let looks = pacer.looks.load(Ordering::Relaxed) - before;
        assert!(
            looks <= 2 * served.len() as u64 + 2,
            "{looks} looks for {} callers served",
            served.len()
        );
        // Served in the order they asked.
        let mut sorted = served.clone();
        sorted.sort();
        assert_eq!(served, sorted);
    }

    #[test]
    fn calls_are_evenly_spaced_and_a_late_one_catches_up_by_three_at_most() {
        let pacer = Pacer::new(300, Duration::from_secs(1));
        let now = Instant::now();
        let interval = ONE_SECOND / 300;
        // Idle until now: four at once (one and three of catch-up), then one per interval.
        for _ in 0..4 {
            assert_eq!(pacer.slot(now), now);
        }
        assert_eq!(pacer.slot(now), now + interval);
        assert_eq!(pacer.slot(now), now + interval * 2);
        // A long idle earns no more than the catch-up.
        let later = now + ONE_SECOND;
        for _ in 0..4 {
            assert_eq!(pacer.slot(later), later);
        }
        assert_eq!(pacer.slot(later), later + interval);
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
