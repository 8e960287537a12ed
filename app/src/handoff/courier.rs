//! Sends the queued deliveries. Each try POSTs the stored body as it is, with:
//!
//! - `X-Giveaway-Event`: the event type; `X-Giveaway-Delivery`: the event's id (the receiver's
//!   key to drop a repeat: a try whose answer was lost is sent again);
//! - `X-Giveaway-Timestamp`: the Unix time of this try, in seconds;
//! - `X-Giveaway-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the hook's secret,
//!   of `{timestamp}.{body}`: the timestamp is signed too, so a receiver that refuses old
//!   timestamps cannot be fed a recorded request later.
//!
//! A 2xx answer delivers it. A 5xx, 408 or 429 answer, a timeout (10 s) or no connection is
//! tried again after 1 minute, 5 minutes, 30 minutes, 2 hours and 12 hours, then the delivery
//! fails; any other answer (4xx, a redirect: redirects are not followed) fails it at once. What
//! happens is [`judge`]'s choice, a pure function with its table of tests.
//!
//! Several instances may run: a try is claimed by a guarded UPDATE that moves its next attempt a
//! lease ahead (`store::claim_due`), so one instance sends it; a crashed instance's tries are
//! taken again when their lease ends. Nothing holds a transaction across a POST.

use super::store::{self, Claimed, Outcome};
use super::DeliveryStatus;
use crate::db::now_ms;
use crate::state::AppState;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long one POST may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed try is this instance's before another may take it (well past `TIMEOUT`).
pub const LEASE_MS: i64 = 60_000;
/// The waits before the 2nd to the 6th try.
pub const BACKOFF_MS: [i64; 5] = [
    60_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    12 * 3_600_000,
];
/// Tries sent at once by one instance.
const BATCH: i64 = 32;
/// How often the worker looks for due tries when nothing woke it.
const POLL: Duration = Duration::from_secs(5);

/// Wakes this process's worker: an event was queued.
static WAKE: Notify = Notify::const_new();

pub(super) fn wake() {
    WAKE.notify_one();
}

/// What a try got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An HTTP answer, by status code.
    Status(u16),
    /// No answer within `TIMEOUT`.
    Timeout,
    /// No connection, or it broke (the reason, without the address).
    NoConnection(String),
    /// The delivery cannot be sent as it stands (the hook's secret does not open).
    Unsendable(String),
}

/// What becomes of a delivery after a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Tried again this long after.
    Retry {
        after_ms: i64,
    },
    Failed,
}

/// After try number `tries` (from 1) got `reply`: delivered, again later, or failed.
pub fn judge(reply: &Reply, tries: i64) -> Verdict {
    let temporary = match reply {
        Reply::Status(code) if (200..300).contains(code) => return Verdict::Delivered,
        Reply::Status(408 | 429) => true,
        Reply::Status(code) => *code >= 500,
        Reply::Timeout | Reply::NoConnection(_) => true,
        Reply::Unsendable(_) => false,
    };
    let wait = usize::try_from(tries - 1)
        .ok()
        .and_then(|i| BACKOFF_MS.get(i));
    match (temporary, wait) {
        (true, Some(&after_ms)) => Verdict::Retry { after_ms },
        _ => Verdict::Failed,
    }
}

/// The reply in the admin's words (the log's error column); none for a success.
pub fn describe(reply: &Reply) -> Option<String> {
    match reply {
        Reply::Status(code) if (200..300).contains(code) => None,
        Reply::Status(code @ 300..=399) => Some(format!(
            "HTTP {code}: redirects are not followed; give the address it redirects to"
        )),
        Reply::Status(code) => Some(format!("HTTP {code}")),
        Reply::Timeout => Some(format!("no answer within {} s", TIMEOUT.as_secs())),
        Reply::NoConnection(why) => Some(format!("could not connect: {why}")),
        Reply::Unsendable(why) => Some(why.clone()),
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `{timestamp}.{body}` keyed with the hook's secret (its
/// text as UTF-8 bytes).
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The client the worker posts with: a 10-second timeout, no redirects followed.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("giveaway-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook client builds")
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub delivered: u64,
    pub retrying: u64,
    pub failed: u64,
}

/// Sends every delivery due at `now` (a batch at a time, until none is due), once each.
pub async fn deliver_due(
    state: &AppState,
    http: &reqwest::Client,
    now: i64,
) -> Result<Round, sqlx::Error> {
    let mut round = Round::default();
    loop {
        let claimed = store::claim_due(&state.db, now, now + LEASE_MS, BATCH).await?;
        if claimed.is_empty() {
            return Ok(round);
        }
        let tries = claimed.iter().map(|c| attempt(state, http, c, now));
        for verdict in futures::future::join_all(tries).await {
            match verdict? {
                Verdict::Delivered => round.delivered += 1,
                Verdict::Retry { .. } => round.retrying += 1,
                Verdict::Failed => round.failed += 1,
            }
        }
    }
}

/// One round now, with a client of its own: what tests call instead of waiting for the worker.
pub async fn run_once(state: &AppState) -> Result<Round, sqlx::Error> {
    deliver_due(state, &http_client(), now_ms()).await
}

async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    claimed: &Claimed,
    now: i64,
) -> Result<Verdict, sqlx::Error> {
    let reply = match store::target(&state.db, &state.token_cipher, &claimed.hook_id).await? {
        // Removed meanwhile: its deliveries went with it.
        None => return Ok(Verdict::Failed),
        Some((_, None)) => Reply::Unsendable(
            "the hook's secret cannot be read (SECRET_KEY changed?): give it a new secret".into(),
        ),
        Some((url, Some(secret))) => post(http, &url, secret.expose(), claimed).await,
    };
    let verdict = judge(&reply, claimed.attempts);
    let error = describe(&reply);
    let (status, next_attempt_at) = match verdict {
        Verdict::Delivered => (DeliveryStatus::Delivered, now),
        Verdict::Retry { after_ms } => (DeliveryStatus::Queued, now + after_ms),
        Verdict::Failed => (DeliveryStatus::Failed, now),
    };
    let status_code = match reply {
        Reply::Status(code) => Some(i64::from(code)),
        _ => None,
    };
    let outcome = Outcome {
        status,
        next_attempt_at,
        status_code,
        error: error.as_deref(),
    };
    if !store::record(&state.db, claimed, &outcome, now).await? {
        tracing::info!(delivery = %claimed.id, "hand-off try outlived its lease: not recorded");
    }
    if verdict == Verdict::Failed {
        tracing::warn!(delivery = %claimed.id, error = ?error, "hand-off delivery failed");
    }
    Ok(verdict)
}

async fn post(http: &reqwest::Client, url: &str, secret: &str, claimed: &Claimed) -> Reply {
    // The receiver's clock is the real one, whatever `now` the round was asked for.
    let timestamp = now_ms() / 1000;
    let sent = http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("X-Giveaway-Event", claimed.event_type.as_str())
        .header("X-Giveaway-Delivery", &claimed.event_id)
        .header("X-Giveaway-Timestamp", timestamp.to_string())
        .header(
            "X-Giveaway-Signature",
            sign(secret, timestamp, &claimed.payload),
        )
        .body(claimed.payload.clone())
        .send()
        .await;
    match sent {
        Ok(response) => Reply::Status(response.status().as_u16()),
        Err(e) if e.is_timeout() => Reply::Timeout,
        Err(e) => Reply::NoConnection(deepest_cause(&e.without_url())),
    }
}

/// The innermost reason of an error ("Connection refused (os error 111)"), which says more to
/// an admin than reqwest's "error sending request".
fn deepest_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Sends due deliveries as they come (woken when an event is queued, else every few seconds),
/// and once an hour empties settled deliveries' payloads older than `RETENTION_DAYS`.
pub async fn worker(state: AppState) {
    let http = http_client();
    let mut purged_at: Option<Instant> = None;
    loop {
        if let Err(e) = deliver_due(&state, &http, now_ms()).await {
            tracing::warn!(error = %e, "hand-off deliveries could not be sent");
        }
        if purged_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            purged_at = Some(Instant::now());
            let before = now_ms() - state.settings.retention_ms;
            match store::purge(&state.db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "old hand-off payloads purged"),
                Err(e) => tracing::warn!(error = %e, "the hand-off purge failed"),
            }
        }
        tokio::select! {
            _ = WAKE.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reply_is_judged() {
        use Verdict::*;
        let minute = 60_000;
        for (reply, tries, expected) in [
            (Reply::Status(200), 1, Delivered),
            (Reply::Status(204), 6, Delivered),
            (Reply::Status(500), 1, Retry { after_ms: minute }),
            (
                Reply::Status(503),
                2,
                Retry {
                    after_ms: 5 * minute,
                },
            ),
            (
                Reply::Timeout,
                3,
                Retry {
                    after_ms: 30 * minute,
                },
            ),
            (
                Reply::NoConnection("refused".into()),
                4,
                Retry {
                    after_ms: 120 * minute,
                },
            ),
            (
                Reply::Status(429),
                5,
                Retry {
                    after_ms: 720 * minute,
                },
            ),
            (Reply::Status(502), 6, Failed),
            (Reply::Status(408), 1, Retry { after_ms: minute }),
            (Reply::Status(400), 1, Failed),
            (Reply::Status(404), 1, Failed),
            (Reply::Status(410), 1, Failed),
            (Reply::Status(301), 1, Failed),
            (Reply::Unsendable("secret".into()), 1, Failed),
        ] {
            assert_eq!(judge(&reply, tries), expected, "{reply:?} at try {tries}");
        }
    }

    #[test]
    fn replies_are_described_for_the_admin() {
        assert_eq!(describe(&Reply::Status(200)), None);
        assert_eq!(describe(&Reply::Status(500)).unwrap(), "HTTP 500");
        assert!(describe(&Reply::Status(302))
            .unwrap()
            .contains("redirects are not followed"));
        assert_eq!(describe(&Reply::Timeout).unwrap(), "no answer within 10 s");
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        // As a receiver computes it: HMAC-SHA256("{timestamp}.{body}").
        let signature = sign("gwhook_test", 1_764_355_200, r#"{"id":"1"}"#);
        assert!(signature.starts_with("sha256="));
        assert_eq!(signature.len(), 7 + 64);
        assert_ne!(
            signature,
            sign("gwhook_test", 1_764_355_201, r#"{"id":"1"}"#)
        );
        assert_ne!(
            signature,
            sign("gwhook_test", 1_764_355_200, r#"{"id":"2"}"#)
        );
        assert_ne!(
            signature,
            sign("gwhook_other", 1_764_355_200, r#"{"id":"1"}"#)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"gwhook_test").unwrap();
        mac.update(br#"1764355200.{"id":"1"}"#);
        assert_eq!(
            signature,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }
}
