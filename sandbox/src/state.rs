//! Everything the sandbox remembers, in memory: tokens and codes, permission grants, threads and
//! their 24-hour windows, Page settings (webhook subscriptions, Get Started, templates), fault
//! knobs, rate-limit buckets, and the request and webhook logs. One `Mutex` guards it all; every
//! critical section is short and never awaits.

use super::world::World;
use super::SandboxConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

/// How many Graph requests and webhook deliveries the logs keep (oldest dropped first).
pub const REQUEST_LOG_CAP: usize = 50_000;
pub const WEBHOOK_LOG_CAP: usize = 2_000;

/// Which message tags exist: `2026` (the three retired tags fail with code 100) or `legacy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TagEra {
    #[serde(rename = "2026")]
    Y2026,
    #[serde(rename = "legacy")]
    Legacy,
}

/// Access level of a permission (facts file §1). `standard`: granted only to people with a role
/// on the app (others have it left out of the grant, silently, as Meta does); `advanced`: anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Standard,
    Advanced,
}

impl AccessLevel {
    pub fn parse(level: &str) -> Option<AccessLevel> {
        match level {
            "standard" => Some(AccessLevel::Standard),
            "advanced" => Some(AccessLevel::Advanced),
            _ => None,
        }
    }
}

/// Every known permission at Advanced Access, except `pages_utility_messaging`: its App Review
/// can only be asked for after a first successful template, so every new deployment starts with
/// it at Standard Access.
pub fn default_permission_access() -> BTreeMap<String, AccessLevel> {
    super::login::known_permissions()
        .map(|p| {
            let level = if p == "pages_utility_messaging" {
                AccessLevel::Standard
            } else {
                AccessLevel::Advanced
            };
            (p.to_string(), level)
        })
        .collect()
}

/// Global settings that tests change through `PATCH /sandbox/control/settings`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Knobs {
    pub tag_era: TagEra,
    /// Send API calls per second per Page before code 613.
    pub rate_limit_per_second: u32,
    /// Each Graph call is seen a random 0 to this many ms after it came (its way to Meta).
    #[serde(default)]
    pub arrival_jitter_ms: u64,
    /// An absolute http(s) URL (checked when changed).
    pub webhook_url: String,
    /// Deliver every webhook POST twice (same bytes).
    pub webhook_duplicate: bool,
    /// Hold events for `reorder_window_ms`, then deliver them newest first, one per POST.
    pub webhook_reorder: bool,
    pub reorder_window_ms: u64,
    pub delivery_delay_ms: u64,
    /// `null`: read receipts only when the person views the thread.
    pub read_delay_ms: Option<u64>,
    pub template_approval_delay_ms: u64,
    /// `APPROVED` or `REJECTED`: what template review decides.
    pub template_outcome: String,
    /// The reason a review gives when `template_outcome` is `REJECTED`.
    pub template_rejection_reason: String,
    pub webhook_retry_initial_ms: u64,
    /// Meta keeps retrying a failing webhook for about an hour.
    pub webhook_retry_for_ms: u64,
    /// Deliver only the fields a Page subscribed the app to (as Meta does).
    pub require_subscription: bool,
    /// Reject Graph calls without `appsecret_proof` ("Require App Secret" app setting).
    pub require_appsecret_proof: bool,
    /// Lifetime of a short-lived user token from the code exchange.
    pub short_lived_token_seconds: i64,
    /// Permission -> access level (`standard` | `advanced`); a PATCH is merged over these.
    pub permission_access: BTreeMap<String, AccessLevel>,
    /// Every webhook body with every number and boolean written as a string, as the app
    /// dashboard's "Test" button sends them (real deliveries use numbers).
    pub webhook_test_payloads: bool,
    /// The app has "Business Asset User Profile Access": `GET /{psid}` answers. Off by default,
    /// as for most Business apps: the read fails with 100 / 33.
    pub profile_access: bool,
}

impl Knobs {
    pub fn from_config(config: &SandboxConfig) -> Knobs {
        let t = &config.tuning;
        Knobs {
            tag_era: t.tag_era,
            rate_limit_per_second: t.rate_limit_per_second,
            arrival_jitter_ms: 0,
            webhook_url: config.webhook_url.to_string(),
            webhook_duplicate: false,
            webhook_reorder: false,
            reorder_window_ms: 100,
            delivery_delay_ms: t.delivery_delay_ms,
            read_delay_ms: t.read_delay_ms,
            template_approval_delay_ms: t.template_approval_delay_ms,
            template_outcome: "APPROVED".into(),
            template_rejection_reason: "INCORRECT_CATEGORY".into(),
            webhook_retry_initial_ms: t.webhook_retry_initial_ms,
            webhook_retry_for_ms: t.webhook_retry_for_ms,
            require_subscription: true,
            require_appsecret_proof: false,
            short_lived_token_seconds: 5400,
            permission_access: default_permission_access(),
            webhook_test_payloads: false,
            profile_access: false,
        }
    }
}

/// Faults and settings of one Page (`PATCH /sandbox/control/pages/{page}`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PageKnobs {
    /// Added before answering any Graph call made with this Page's token.
    pub latency_ms: u64,
    /// Share (0.0 to 1.0) of calls answered with code 2, HTTP 500.
    pub transient_error_rate: f64,
    /// Every Send API call is throttled with `throttle_code`.
    pub throttled: bool,
    /// 613 by default; 4, 17, 32, 80001, 80006 are accepted too.
    pub throttle_code: Option<u32>,
    /// Sends fail with 10 / 1893063.
    pub restricted: bool,
    /// Overrides the global tag era for this Page.
    pub tag_era: Option<TagEra>,
    /// Every Send API call for the Page fails with this Page-level or temporary error (after
    /// the permission and rate checks, so it counts as a call), in Meta's words.
    #[serde(default)]
    pub send_error: Option<SendFault>,
    /// A send to someone who blocked the Page answers code 2 (`is_transient`, HTTP 500) instead
    /// of 551 / 1545041, as Meta sometimes does (facts file §4): the sender cannot tell it from
    /// a passing failure.
    #[serde(default)]
    pub blocked_as_code_2: bool,
}

/// The Send API faults a Page can be given (`send_error`), named by their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendFault {
    /// Temporary send failure, HTTP 500 without `is_transient`.
    #[serde(rename = "1200")]
    TemporaryFailure,
    /// Blocked for a policy violation.
    #[serde(rename = "368")]
    PolicyBlock,
    /// Unknown error (often a missing permission, access level or Business Verification).
    #[serde(rename = "1")]
    Unknown,
    /// Unknown error, the other code Meta uses for it.
    #[serde(rename = "99")]
    Unknown99,
    /// Application does not have permission.
    #[serde(rename = "10")]
    NoPermission,
    /// Permissions error.
    #[serde(rename = "200")]
    PermissionsError,
    /// `pages_messaging` missing.
    #[serde(rename = "230")]
    NoPagesMessaging,
}

/// No `Debug`: a Page token names its parent token, a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenKind {
    User {
        user: String,
        long_lived: bool,
    },
    Page {
        page: String,
        user: String,
        parent: Option<String>,
    },
    App,
}

#[derive(Clone)]
pub struct Token {
    pub kind: TokenKind,
    pub issued_ms: i64,
    /// `None`: never expires.
    pub expires_ms: Option<i64>,
    /// Subcode of code 190 once revoked.
    pub revoked: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub user: String,
    pub redirect_uri: String,
    pub created_ms: i64,
    pub used: bool,
    /// PKCE: the dialog's `code_challenge` (S256 or plain), checked against `code_verifier`.
    pub code_challenge: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum From {
    User,
    Page,
    /// Notes in the thread (block, link opened) that are not messages.
    System,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChatMessage {
    pub mid: String,
    pub from: From,
    pub timestamp: i64,
    /// For the person: `{"text"}`, `{"postback":{"title","payload"}}`, ...; for the Page: the
    /// `message` object it sent (or the utility template, rendered).
    pub body: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Thread {
    pub messages: Vec<ChatMessage>,
    /// Whether the person ever opened the conversation (Get Started, a message...).
    pub started: bool,
    /// Last interaction that opens the 24-hour window.
    pub last_interaction_ms: Option<i64>,
    pub blocked: bool,
    pub read_watermark_ms: i64,
    pub typing: bool,
    /// Bumped on every change; the chat page polls it.
    pub version: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub components: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<String>,
    /// Why review (or a later status change) refused it; `None` unless `REJECTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub tokens: f64,
    pub last: Instant,
}

/// Send API calls of one Page as they came in (`GET /control/pages/{page}/sends`): what
/// benchmarks compare with the limit, from outside the product.
#[derive(Clone, Debug, Default)]
pub struct SendStats {
    /// Calls that reached the rate limit (accepted, throttled, or refused for another reason).
    pub calls: u64,
    /// Calls that put a message in a thread.
    pub accepted: u64,
    /// Calls refused with 613 because the Page's bucket was empty.
    pub throttled: u64,
    /// Calls that came within a batch request, and the batch requests that carried them.
    pub in_batches: u64,
    pub batches: u64,
    /// First and last call: (when it came in, on the sandbox clock in ms).
    pub first: Option<(Instant, i64)>,
    pub last: Option<(Instant, i64)>,
    /// Calls of the last second, oldest first. Calls are timed when they come in, before they
    /// wait for the lock, so one may be recorded after a later one: it is put in its place.
    recent: VecDeque<Instant>,
    /// Most calls in any one-second window.
    pub max_in_one_second: usize,
    /// Calls in each whole second since the first call: where a sender stalled.
    pub per_second: Vec<u32>,
}

impl SendStats {
    /// Calls that came in during the second before `at`: in (at - 1 s, at].
    pub fn calls_in_the_second_before(&self, at: Instant) -> usize {
        let one_second = std::time::Duration::from_secs(1);
        self.recent
            .iter()
            .filter(|&&t| t <= at && at.duration_since(t) < one_second)
            .count()
    }

    pub fn record_call(&mut self, at: Instant, at_ms: i64, throttled: bool) {
        self.calls += 1;
        if throttled {
            self.throttled += 1;
        }
        let (first, _) = *self.first.get_or_insert((at, at_ms));
        if self.last.is_none_or(|(last, _)| at > last) {
            self.last = Some((at, at_ms));
        }
        let second = at.saturating_duration_since(first).as_secs() as usize;
        if self.per_second.len() <= second {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] += 1;

        let one_second = std::time::Duration::from_secs(1);
        let place = self.recent.partition_point(|&t| t <= at);
        self.recent.insert(place, at);
        // Windows are half-open, (end - 1 s, end]: calls exactly one second apart are never
        // counted together, so a sender spaced exactly at the limit shows the limit, not one more.
        // The busiest window always ends at a call; the new call can only add to the windows
        // ending at it or at the calls after it.
        for end in self.recent.range(place..).copied().collect::<Vec<_>>() {
            let inside = self.recent.partition_point(|&t| t <= end)
                - self
                    .recent
                    .partition_point(|&t| end.duration_since(t) >= one_second);
            self.max_in_one_second = self.max_in_one_second.max(inside);
        }
        let newest = *self.recent.back().expect("just inserted");
        while self
            .recent
            .front()
            .is_some_and(|&t| newest.duration_since(t) >= one_second)
        {
            self.recent.pop_front();
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    pub seq: u64,
    pub time: i64,
    pub method: String,
    pub path: String,
    /// Query parameters, tokens and secrets replaced by `***`.
    pub query: BTreeMap<String, String>,
    pub body: Value,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<u32>,
}

pub struct State {
    pub world: World,
    pub knobs: Knobs,
    pub page_knobs: HashMap<String, PageKnobs>,
    /// Added to the real clock: lets tests step past windows and expiries without sleeping.
    pub clock_offset_ms: i64,
    pub tokens: HashMap<String, Token>,
    pub codes: HashMap<String, AuthCode>,
    /// user key -> permission -> granted?
    pub grants: HashMap<String, BTreeMap<String, bool>>,
    /// Permissions behind pinned connections (`Sandbox::pin_connected_page`), apart from consent.
    pub pinned_grants: std::collections::HashSet<(String, String)>,
    /// (parent user token, page id) -> Page token, so a user token always yields the same one.
    pub page_tokens: HashMap<(String, String), String>,
    /// The token the test-user API hands out per user.
    pub test_user_tokens: HashMap<String, String>,
    pub threads: HashMap<(String, String), Thread>,
    pub subscriptions: HashMap<String, Vec<String>>,
    pub profiles: HashMap<String, serde_json::Map<String, Value>>,
    pub templates: HashMap<String, Vec<Template>>,
    pub buckets: HashMap<String, Bucket>,
    /// Page id -> its Send API calls.
    pub send_stats: HashMap<String, SendStats>,
    pub requests: VecDeque<LoggedRequest>,
    pub request_seq: u64,
    pub webhook_log: VecDeque<Value>,
    pub next_id: u64,
}

impl State {
    pub fn new(config: &SandboxConfig, world: World) -> State {
        State {
            world,
            knobs: Knobs::from_config(config),
            page_knobs: HashMap::new(),
            clock_offset_ms: 0,
            tokens: HashMap::new(),
            codes: HashMap::new(),
            grants: HashMap::new(),
            pinned_grants: Default::default(),
            page_tokens: HashMap::new(),
            test_user_tokens: HashMap::new(),
            threads: HashMap::new(),
            subscriptions: HashMap::new(),
            profiles: HashMap::new(),
            templates: HashMap::new(),
            buckets: HashMap::new(),
            send_stats: HashMap::new(),
            requests: VecDeque::new(),
            request_seq: 0,
            webhook_log: VecDeque::new(),
            next_id: 1,
        }
    }

    /// The sandbox clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        super::real_now_ms() + self.clock_offset_ms
    }

    /// A fresh numeric id (templates, test users) that cannot collide with seeded ids.
    pub fn numeric_id(&mut self, prefix: u64) -> String {
        self.next_id += 1;
        format!("{prefix}{:012}", self.next_id)
    }

    pub fn page_knobs(&self, page: &str) -> PageKnobs {
        self.page_knobs.get(page).cloned().unwrap_or_default()
    }

    pub fn tag_era(&self, page: &str) -> TagEra {
        self.page_knobs
            .get(page)
            .and_then(|k| k.tag_era)
            .unwrap_or(self.knobs.tag_era)
    }

    pub fn granted(&self, user: &str, permission: &str) -> bool {
        match self.grants.get(user).and_then(|g| g.get(permission)) {
            Some(granted) => *granted,
            // A pinned connection (the demo) works without the person ever seeing the dialog,
            // and without changing what the dialog shows them.
            None => self
                .pinned_grants
                .contains(&(user.to_string(), permission.to_string())),
        }
    }

    pub fn access_level(&self, permission: &str) -> AccessLevel {
        self.knobs
            .permission_access
            .get(permission)
            .copied()
            .unwrap_or(AccessLevel::Advanced)
    }

    /// Whether `user` cannot get `permission` at all: it has Standard Access and they hold no
    /// role on the app. Meta neither shows it in the dialog nor grants it, and says nothing.
    pub fn withheld(&self, user: &str, permission: &str) -> bool {
        self.access_level(permission) == AccessLevel::Standard
            && self.world.user(user).is_none_or(|u| u.app_role.is_none())
    }

    pub fn granted_list(&self, user: &str) -> Vec<String> {
        let mut list: Vec<String> = self
            .grants
            .get(user)
            .map(|g| {
                g.iter()
                    .filter(|(_, &ok)| ok)
                    .map(|(p, _)| p.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !list.iter().any(|p| p == "public_profile") {
            list.push("public_profile".into());
        }
        list.sort();
        list
    }

    pub fn thread(&mut self, page: &str, user: &str) -> &mut Thread {
        self.threads
            .entry((page.to_string(), user.to_string()))
            .or_default()
    }

    /// Whether the Page subscribed the app to `field` (or the check is switched off).
    pub fn subscribed(&self, page: &str, field: &str) -> bool {
        !self.knobs.require_subscription
            || self
                .subscriptions
                .get(page)
                .is_some_and(|fields| fields.iter().any(|f| f == field))
    }

    pub fn log_webhook(&mut self, entry: Value) {
        if self.webhook_log.len() >= WEBHOOK_LOG_CAP {
            self.webhook_log.pop_front();
        }
        self.webhook_log.push_back(entry);
    }

    pub fn issue_token(&mut self, kind: TokenKind, lifetime_s: Option<i64>) -> String {
        let token = format!("EAAB{}", super::random_alnum(120));
        let now = self.now_ms();
        self.tokens.insert(
            token.clone(),
            Token {
                kind,
                issued_ms: now,
                expires_ms: lifetime_s.map(|s| now + s * 1000),
                revoked: None,
            },
        );
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_busiest_second_slides_with_the_calls() {
        let mut stats = SendStats::default();
        let start = Instant::now();
        // 301 calls exactly 1/300 s apart: the first and the last are one second apart, so no
        // one-second window holds more than 300.
        for i in 0..301u32 {
            let at = start + Duration::from_secs(1) * i / 300;
            stats.record_call(at, 0, false);
        }
        assert_eq!(stats.max_in_one_second, 300);
        // One more call squeezed in just after the last makes a window of 301.
        stats.record_call(start + Duration::from_millis(1001), 0, true);
        assert_eq!(stats.max_in_one_second, 301);
        assert_eq!((stats.calls, stats.throttled), (302, 1));
    }

    #[test]
    fn the_limit_looks_at_the_second_before_each_call() {
        let mut stats = SendStats::default();
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        for n in [0, 100, 200] {
            stats.record_call(ms(n), 0, false);
        }
        assert_eq!(stats.calls_in_the_second_before(ms(999)), 3);
        // A call exactly one second old no longer counts.
        assert_eq!(stats.calls_in_the_second_before(ms(1000)), 2);
        assert_eq!(stats.calls_in_the_second_before(ms(1150)), 1);
        assert_eq!(stats.calls_in_the_second_before(ms(1200)), 0);
    }

    #[test]
    fn a_call_recorded_late_counts_where_it_came_in() {
        let mut stats = SendStats::default();
        let start = Instant::now();
        stats.record_call(start, 0, false);
        stats.record_call(start + Duration::from_millis(900), 0, false);
        assert_eq!(stats.max_in_one_second, 2);
        // Came in at 500 ms, recorded after the call of 900 ms: three in one second.
        stats.record_call(start + Duration::from_millis(500), 0, false);
        assert_eq!(stats.max_in_one_second, 3);
        assert_eq!(stats.last.unwrap().0, start + Duration::from_millis(900));
        assert_eq!(stats.per_second, vec![3]);
    }
}
