//! Settings: read once at startup from the environment (and an optional `.env`), validated as a
//! whole. A bad or missing setting is one [`SettingError`] naming the variable and the problem, so
//! `main` can print one line and exit before anything starts.

use crate::secrets::{Secret, SecretKey};
use std::{fmt, net::SocketAddr, path::PathBuf};
use url::Url;

/// Meta's public endpoints, used when the sandbox is off and nothing overrides them.
pub const META_GRAPH_URL: &str = "https://graph.facebook.com";
pub const META_WWW_URL: &str = "https://www.facebook.com";
pub const META_MME_URL: &str = "https://m.me";
pub const DEFAULT_GRAPH_VERSION: &str = "v25.0";
/// Entries one client address may start per minute when `ENTRY_RATE_LIMIT` is not set.
pub const DEFAULT_ENTRY_RATE_LIMIT: u32 = 20;

/// Meta's Send API limit for text: 300 calls per second per Page (facts file §8).
pub const DEFAULT_SEND_RATE_PER_PAGE: u32 = 300;

/// The sandbox app's documented development credentials (README, "Sandbox").
pub const SANDBOX_APP_ID: &str = "1000000000000001";
pub const SANDBOX_APP_SECRET: &str = "sandbox-app-secret-not-for-production";
pub const SANDBOX_VERIFY_TOKEN: &str = "sandbox-verify-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppMode {
    Development,
    Production,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: AppMode,
    pub database_url: String,
    pub site_addr: SocketAddr,
    /// Where browsers and Meta reach this server; links and redirect URIs are built from it.
    pub public_base_url: Url,
    pub data_dir: PathBuf,
    pub secret_key: SecretKey,
    pub facebook: FacebookSettings,
    /// Whether this process mounts the sandbox (the local stand-in of Meta) under `/sandbox`.
    pub sandbox: bool,
    /// Whether the sandbox's control API answers clients that are not on this machine.
    pub sandbox_control_remote: bool,
    /// Whether start-up seeds the demo campaign `/c/demo` on a sandbox Page (sandbox only).
    pub demo_campaign: bool,
    /// Entries one client address may start per minute (a burst of as many is allowed).
    pub entry_rate_limit: u32,
    /// How often the funnel's counts go from memory to the database (`FUNNEL_FLUSH_SECONDS`,
    /// default 10).
    pub funnel_flush_seconds: u64,
    /// The health checks behind the admin's alerts (`alerts`).
    pub alerts: AlertSettings,
    pub sending: SendingSettings,
    /// Admin sessions, rights and login starts.
    pub auth: AuthSettings,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`; none by default).
    pub trusted_proxies: crate::client::TrustedProxies,
    /// What one admin may upload, and how long a fallback code lasts.
    pub abuse: AbuseSettings,
    /// A drand-shaped beacon whose round after the list is frozen enters each draw
    /// (`DRAW_BEACON_URL`; none by default: the draw then rests on the seed alone).
    pub draw_beacon_url: Option<Url>,
    /// The words (any case, alone in a message) by which a person stops a Page's notices
    /// (`OPT_OUT_WORDS`, comma-separated; default `STOP`). START, or writing again, resumes them.
    pub opt_out_words: Vec<String>,
    /// The message (any case, spaces squeezed, alone in a message) by which a person has their
    /// data on a Page erased (`DELETION_KEYWORD`; default `DELETE MY DATA`).
    pub deletion_keyword: String,
    /// How long processed webhook payloads and sent messages' texts are kept
    /// (`RETENTION_DAYS`, default 30; `messenger::retention`).
    pub retention_ms: i64,
    /// Who runs this deployment, and how people reach them, for `/privacy`
    /// (`OPERATOR_NAME`, `OPERATOR_CONTACT`; none: the page names the Page on Messenger).
    pub operator_name: Option<String>,
    pub operator_contact: Option<String>,
}

/// The health checks and where their alerts go.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// Seconds between two rounds of checks (`HEALTH_CHECK_SECONDS`, default 300).
    pub check_seconds: u64,
    /// Where each new alert is POSTed as `{"text": ...}` (`ALERT_WEBHOOK_URL`; none by default).
    pub webhook_url: Option<Url>,
    /// A live campaign's end notice reaching fewer than this share (percent) of its entrants
    /// raises an alert (`ALERT_REACH_PERCENT`, default 50).
    pub reach_percent: u64,
}

/// Limits against a person or an admin filling the disk or guessing codes.
#[derive(Clone, Debug)]
pub struct AbuseSettings {
    /// Bytes of images one admin may keep uploaded.
    pub upload_quota_bytes: i64,
    /// Images one admin may upload per hour.
    pub uploads_per_hour: i64,
    /// How long an entry's fallback code can be typed in Messenger.
    pub code_lifetime_ms: i64,
}

impl Default for AbuseSettings {
    fn default() -> Self {
        AbuseSettings {
            upload_quota_bytes: 100 * 1024 * 1024,
            uploads_per_hour: 30,
            code_lifetime_ms: 24 * 3600 * 1000,
        }
    }
}

/// Admin sessions, how fresh their rights must be, and how often logins may start.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Rights read from Facebook longer ago than this are read again at the next request
    /// (`RIGHTS_RECHECK_SECONDS`). Publishing, ending, notifying and reading entrants always
    /// read them again.
    pub rights_recheck_ms: i64,
    /// A session ends this long after login, however much it is used (`SESSION_MAX_AGE_DAYS`).
    pub session_max_age_ms: i64,
    /// A session ends after this long without use (`SESSION_INACTIVITY_DAYS`).
    pub session_inactivity_ms: i64,
    /// Login starts one client address may make per minute (`LOGIN_RATE_LIMIT`).
    pub login_rate_limit: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            rights_recheck_ms: 300_000,
            session_max_age_ms: 14 * DAY_MS,
            session_inactivity_ms: 7 * DAY_MS,
            login_rate_limit: 20,
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// How notices go out: Meta's pace per Page, how many calls are in flight, retries.
#[derive(Clone, Debug)]
pub struct SendingSettings {
    /// Send API calls per second per Page (Meta allows 300 for text).
    pub rate_per_page: u32,
    /// The most notice calls one Graph batch request carries (Meta allows 50); 1 sends each
    /// call on its own, for a deployment that wants plain calls only.
    pub batch_max: usize,
    /// Calls in flight at once per Page, a call waiting for its record included (the sends'
    /// recorder gathers 100 ms of them, some 30 at Meta's pace): 64 leaves the pace room.
    pub concurrency: usize,
    /// First retry delay after a temporary error; doubles each try, with jitter.
    pub retry_base_ms: u64,
    /// Tries before a temporarily failing message is given up as failed.
    pub max_attempts: i64,
    /// Whether this instance runs the job scheduler in the background (tests drive `run_once`).
    pub background_jobs: bool,
    /// How long a notice may wait for a path that can carry it (the utility permission, Meta's
    /// review of the template) before it ends as "not sent" with the reason.
    pub wait_limit_ms: i64,
}

impl Default for SendingSettings {
    fn default() -> Self {
        SendingSettings {
            rate_per_page: DEFAULT_SEND_RATE_PER_PAGE,
            batch_max: crate::messenger::graph::BATCH_MAX,
            concurrency: 64,
            retry_base_ms: 2_000,
            max_attempts: 5,
            background_jobs: true,
            wait_limit_ms: 24 * 3600 * 1000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct FacebookSettings {
    pub app_id: String,
    pub app_secret: Secret,
    pub graph_version: String,
    pub verify_token: Secret,
    /// Base of Graph API calls, without the version: `{graph_url}/{version}/me`.
    pub graph_url: Url,
    /// Base of the Login dialog: `{www_url}/{version}/dialog/oauth`.
    pub www_url: Url,
    /// Base of Messenger links: `{mme_url}/{page}?ref=...`.
    pub mme_url: Url,
}

/// One bad setting: which variable, and what is wrong with it. Never carries a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub name: &'static str,
    pub problem: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {}: {}", self.name, self.problem)
    }
}

impl std::error::Error for SettingError {}

fn bad(name: &'static str, problem: impl Into<String>) -> SettingError {
    SettingError {
        name,
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, SettingError> {
        // A missing .env is normal; a malformed one is not silently ignored.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(bad("(.env file)", e.to_string())),
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any lookup (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let mode = match get("APP_MODE").as_deref() {
            None | Some("development") => AppMode::Development,
            Some("production") => AppMode::Production,
            Some(other) => {
                return Err(bad(
                    "APP_MODE",
                    format!("must be `development` or `production`, not `{other}`"),
                ))
            }
        };
        let production = mode == AppMode::Production;

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));

        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                crate::db::check_url(&url).map_err(|problem| bad("DATABASE_URL", problem))?;
                url
            }
            None => format!("sqlite://{}/giveaway.db", data_dir.display()),
        };

        let site_addr: SocketAddr = get("LEPTOS_SITE_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|_| {
                bad(
                    "LEPTOS_SITE_ADDR",
                    "must be an address such as 127.0.0.1:3000",
                )
            })?;

        let public_base_url = match get("PUBLIC_BASE_URL") {
            Some(raw) => parse_base_url("PUBLIC_BASE_URL", &raw)?,
            None if production => {
                return Err(bad(
                    "PUBLIC_BASE_URL",
                    "is required in production (the https address users reach)",
                ))
            }
            None => {
                let host = if site_addr.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    site_addr.ip().to_string()
                };
                parse_base_url(
                    "PUBLIC_BASE_URL",
                    &format!("http://{host}:{}", site_addr.port()),
                )?
            }
        };
        if production && public_base_url.scheme() != "https" {
            return Err(bad("PUBLIC_BASE_URL", "must be https in production"));
        }

        let secret_key = match get("SECRET_KEY") {
            Some(raw) => SecretKey::from_setting(&raw).map_err(|p| bad("SECRET_KEY", p))?,
            None if production => return Err(bad("SECRET_KEY", "is required in production")),
            None => SecretKey::load_or_create(&data_dir.join("secret_key"))
                .map_err(|p| bad("SECRET_KEY", p))?,
        };

        let app_id = get("FACEBOOK_APP_ID");
        let real_app = app_id.is_some();
        let sandbox = match get("FACEBOOK_SANDBOX").as_deref() {
            None | Some("auto") => !production && app_id.is_none(),
            Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(bad(
                    "FACEBOOK_SANDBOX",
                    format!("must be `auto`, `on` or `off`, not `{other}`"),
                ))
            }
        };
        if sandbox && production {
            return Err(bad(
                "FACEBOOK_SANDBOX",
                "the sandbox never runs in production mode",
            ));
        }

        let (app_id, app_secret) = match (app_id, get("FACEBOOK_APP_SECRET")) {
            (Some(id), Some(secret)) => (id, secret),
            (Some(_), None) => {
                return Err(bad(
                    "FACEBOOK_APP_SECRET",
                    "is required when FACEBOOK_APP_ID is set",
                ))
            }
            (None, Some(_)) => {
                return Err(bad(
                    "FACEBOOK_APP_ID",
                    "is required when FACEBOOK_APP_SECRET is set",
                ))
            }
            (None, None) if production => {
                return Err(bad(
                    "FACEBOOK_APP_ID",
                    "is required in production (a Facebook app's id)",
                ))
            }
            (None, None) => (SANDBOX_APP_ID.to_string(), SANDBOX_APP_SECRET.to_string()),
        };
        if sandbox && real_app {
            // The sandbox signs webhooks with the app secret, and its control API makes them on
            // request: with a real app's secret, anyone reaching it could forge Meta's webhooks.
            return Err(bad(
                "FACEBOOK_SANDBOX",
                "is on while FACEBOOK_APP_ID and FACEBOOK_APP_SECRET name a real Facebook app: the sandbox would sign webhooks with that app's secret. Unset them to try the product, or set FACEBOOK_SANDBOX=off",
            ));
        }
        let sandbox_control_remote = match get("SANDBOX_CONTROL_REMOTE").as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(other) => {
                return Err(bad(
                    "SANDBOX_CONTROL_REMOTE",
                    format!("must be `on` or `off`, not `{other}`"),
                ))
            }
        };
        if !app_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("FACEBOOK_APP_ID", "must be the app's numeric id"));
        }

        let graph_version =
            get("FACEBOOK_GRAPH_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_VERSION.into());
        if !is_graph_version(&graph_version) {
            return Err(bad(
                "FACEBOOK_GRAPH_VERSION",
                format!("must look like v25.0, not `{graph_version}`"),
            ));
        }

        let verify_token = match get("FACEBOOK_VERIFY_TOKEN") {
            Some(token) => token,
            None if production => {
                return Err(bad("FACEBOOK_VERIFY_TOKEN", "is required in production"))
            }
            None => SANDBOX_VERIFY_TOKEN.to_string(),
        };

        // With the sandbox on, Meta's addresses default to the sandbox on this very server.
        let local =
            |path: &str| format!("{}{path}", public_base_url.as_str().trim_end_matches('/'));
        let endpoint = |name: &'static str, meta: &str, sandbox_path: &str| match get(name) {
            Some(raw) => parse_base_url(name, &raw),
            None if sandbox => parse_base_url(name, &local(sandbox_path)),
            None => parse_base_url(name, meta),
        };
        let facebook = FacebookSettings {
            app_id,
            app_secret: Secret::new(app_secret),
            graph_version,
            verify_token: Secret::new(verify_token),
            graph_url: endpoint("FACEBOOK_GRAPH_URL", META_GRAPH_URL, "/sandbox/graph")?,
            www_url: endpoint("FACEBOOK_WWW_URL", META_WWW_URL, "/sandbox/www")?,
            mme_url: endpoint("FACEBOOK_MME_URL", META_MME_URL, "/sandbox/m.me")?,
        };

        let demo_campaign = match get("DEMO_CAMPAIGN").as_deref() {
            None | Some("on") => sandbox,
            Some("off") => false,
            Some(other) => {
                return Err(bad(
                    "DEMO_CAMPAIGN",
                    format!("must be `on` or `off`, not `{other}`"),
                ))
            }
        };
        let entry_rate_limit = match get("ENTRY_RATE_LIMIT") {
            None => DEFAULT_ENTRY_RATE_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("ENTRY_RATE_LIMIT", "must be a whole number above 0"))?,
        };

        let number = |name: &'static str, default: u64, max: u64| match get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad(name, format!("must be a whole number from 1 to {max}"))),
        };
        let funnel_flush_seconds = number("FUNNEL_FLUSH_SECONDS", 10, 3600)?;
        let defaults = SendingSettings::default();
        let sending = SendingSettings {
            rate_per_page: number("SEND_RATE_PER_PAGE", defaults.rate_per_page.into(), 10_000)?
                as u32,
            batch_max: number(
                "SEND_BATCH_MAX",
                defaults.batch_max as u64,
                defaults.batch_max as u64,
            )? as usize,
            concurrency: number("SEND_CONCURRENCY", defaults.concurrency as u64, 1_000)? as usize,
            retry_base_ms: number("SEND_RETRY_BASE_MS", defaults.retry_base_ms, 3_600_000)?,
            max_attempts: number("SEND_MAX_ATTEMPTS", defaults.max_attempts as u64, 100)? as i64,
            wait_limit_ms: number(
                "NOTICE_WAIT_LIMIT_SECONDS",
                defaults.wait_limit_ms as u64 / 1000,
                30 * 24 * 3600,
            )? as i64
                * 1000,
            background_jobs: match get("BACKGROUND_JOBS").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(bad(
                        "BACKGROUND_JOBS",
                        format!("must be `on` or `off`, not `{other}`"),
                    ))
                }
            },
        };

        let auth_defaults = AuthSettings::default();
        let auth = AuthSettings {
            rights_recheck_ms: match get("RIGHTS_RECHECK_SECONDS") {
                None => auth_defaults.rights_recheck_ms,
                Some(raw) => {
                    raw.parse::<i64>()
                        .ok()
                        .filter(|n| (0..=86_400).contains(n))
                        .ok_or_else(|| {
                            bad(
                                "RIGHTS_RECHECK_SECONDS",
                                "must be a whole number of seconds from 0 to 86400",
                            )
                        })?
                        * 1000
                }
            },
            session_max_age_ms: number(
                "SESSION_MAX_AGE_DAYS",
                (auth_defaults.session_max_age_ms / DAY_MS) as u64,
                365,
            )? as i64
                * DAY_MS,
            session_inactivity_ms: number(
                "SESSION_INACTIVITY_DAYS",
                (auth_defaults.session_inactivity_ms / DAY_MS) as u64,
                365,
            )? as i64
                * DAY_MS,
            login_rate_limit: number(
                "LOGIN_RATE_LIMIT",
                auth_defaults.login_rate_limit.into(),
                10_000,
            )? as u32,
        };

        let trusted_proxies =
            crate::client::TrustedProxies::parse(&get("TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|problem| bad("TRUSTED_PROXIES", problem))?;
        let defaults = AbuseSettings::default();
        let abuse = AbuseSettings {
            upload_quota_bytes: number(
                "UPLOAD_QUOTA_MB",
                (defaults.upload_quota_bytes / (1024 * 1024)) as u64,
                1_000_000,
            )? as i64
                * 1024
                * 1024,
            uploads_per_hour: number("UPLOADS_PER_HOUR", defaults.uploads_per_hour as u64, 10_000)?
                as i64,
            code_lifetime_ms: number(
                "FALLBACK_CODE_HOURS",
                (defaults.code_lifetime_ms / 3_600_000) as u64,
                24 * 365,
            )? as i64
                * 3_600_000,
        };

        let alerts = AlertSettings {
            check_seconds: number("HEALTH_CHECK_SECONDS", 300, 86_400)?,
            webhook_url: get("ALERT_WEBHOOK_URL")
                .map(|raw| parse_base_url("ALERT_WEBHOOK_URL", &raw))
                .transpose()?,
            reach_percent: number("ALERT_REACH_PERCENT", 50, 100)?,
        };
        let draw_beacon_url = get("DRAW_BEACON_URL")
            .map(|raw| parse_base_url("DRAW_BEACON_URL", &raw))
            .transpose()?;
        let opt_out_words = parse_opt_out_words(get("OPT_OUT_WORDS").as_deref())
            .map_err(|problem| bad("OPT_OUT_WORDS", problem))?;

        let deletion_keyword = parse_deletion_keyword(get("DELETION_KEYWORD").as_deref())
            .map_err(|problem| bad("DELETION_KEYWORD", problem))?;

        let retention_ms = number("RETENTION_DAYS", 30, 3650)? as i64 * DAY_MS;

        let text = |name: &'static str| -> Result<Option<String>, SettingError> {
            match get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                Some(v) if v.chars().count() > 200 => {
                    Err(bad(name, "must be at most 200 characters"))
                }
                v => Ok(v),
            }
        };
        let operator_name = text("OPERATOR_NAME")?;
        let operator_contact = text("OPERATOR_CONTACT")?;

        Ok(Settings {
            operator_name,
            operator_contact,
            retention_ms,
            opt_out_words,
            deletion_keyword,
            draw_beacon_url,
            trusted_proxies,
            auth,
            sending,
            abuse,
            demo_campaign,
            entry_rate_limit,
            funnel_flush_seconds,
            alerts,
            mode,
            database_url,
            site_addr,
            public_base_url,
            data_dir,
            secret_key,
            facebook,
            sandbox,
            sandbox_control_remote,
        })
    }

    pub fn is_production(&self) -> bool {
        self.mode == AppMode::Production
    }

    /// Cookies are `Secure` (and the session cookie `__Host-` named) whenever browsers reach
    /// this server over https, whatever the mode: a TLS proxy in front is how it is deployed.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.scheme() == "https"
    }
}

fn parse_base_url(name: &'static str, raw: &str) -> Result<Url, SettingError> {
    let url = Url::parse(raw).map_err(|e| bad(name, format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(name, "must be an http(s) URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(name, "must not carry a query or fragment"));
    }
    Ok(url)
}

fn is_graph_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(major), Some(minor), None)
            if !major.is_empty() && !minor.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && minor.chars().all(|c| c.is_ascii_digit())
    )
}

/// The opt-out words: upper-cased, each one word of letters, never START (which resumes) nor
/// CLAIM (which claims a prize). Empty or unset: `STOP`.
pub fn parse_opt_out_words(raw: Option<&str>) -> Result<Vec<String>, String> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("STOP");
    let mut words = Vec::new();
    for word in raw.split(',') {
        let word = word.trim().to_uppercase();
        if word.is_empty() || !word.chars().all(char::is_alphabetic) {
            return Err(format!(
                "`{raw}` must be words of letters separated by commas (e.g. STOP,UNSUBSCRIBE)"
            ));
        }
        if word == OPT_IN_WORD || word == "CLAIM" {
            return Err(format!(
                "{word} cannot stop messages: it has its own meaning"
            ));
        }
        words.push(word);
    }
    Ok(words)
}

/// The deletion keyword: two to six words of letters, upper-cased, single spaces. A phrase of
/// two words or more can never be START, CLAIM or an opt-out word, which are single words.
pub fn parse_deletion_keyword(raw: Option<&str>) -> Result<String, String> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("DELETE MY DATA");
    let words: Vec<String> = raw.split_whitespace().map(str::to_uppercase).collect();
    if words.len() < 2
        || words.len() > 6
        || !words.iter().all(|w| w.chars().all(char::is_alphabetic))
    {
        return Err(format!(
            "`{raw}` must be two to six words of letters (e.g. DELETE MY DATA): one word alone \
             is too easily sent by accident"
        ));
    }
    Ok(words.join(" "))
}

/// Whether a message is the deletion keyword (any case, any spacing).
pub fn is_deletion_keyword(keyword: &str, text: &str) -> bool {
    let said: Vec<&str> = text.split_whitespace().collect();
    let wanted: Vec<&str> = keyword.split(' ').collect();
    said.len() == wanted.len()
        && said
            .iter()
            .zip(&wanted)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// The word that resumes a Page's notices after an opt-out.
pub const OPT_IN_WORD: &str = "START";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deletion_keyword_is_a_phrase_matched_in_any_case_and_spacing() {
        let keyword = parse_deletion_keyword(None).unwrap();
        assert_eq!(keyword, "DELETE MY DATA");
        assert!(is_deletion_keyword(&keyword, "  delete  my Data "));
        assert!(!is_deletion_keyword(&keyword, "delete my data please"));
        assert!(!is_deletion_keyword(&keyword, "DELETE"));
        assert_eq!(
            parse_deletion_keyword(Some("forget me")).unwrap(),
            "FORGET ME"
        );
    }
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let dir = std::env::temp_dir().join(format!("giveaway-settings-{}", rand::random::<u64>()));
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("DATA_DIR".into())
            .or_insert_with(|| dir.display().to_string());
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_defaults_turn_the_sandbox_on() {
        let s = load(&[]).unwrap();
        assert_eq!(s.mode, AppMode::Development);
        assert!(s.sandbox);
        assert!(s.database_url.starts_with("sqlite://"));
        assert_eq!(s.public_base_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(
            s.facebook.graph_url.as_str(),
            "http://127.0.0.1:3000/sandbox/graph"
        );
        assert_eq!(
            s.facebook.www_url.as_str(),
            "http://127.0.0.1:3000/sandbox/www"
        );
        assert_eq!(s.facebook.app_id, SANDBOX_APP_ID);
        assert_eq!(s.facebook.graph_version, "v25.0");
    }

    #[test]
    fn a_real_app_turns_the_sandbox_off_and_points_at_meta() {
        let s = load(&[
            ("FACEBOOK_APP_ID", "1234"),
            ("FACEBOOK_APP_SECRET", "s3cret"),
        ])
        .unwrap();
        assert!(!s.sandbox);
        assert_eq!(s.facebook.graph_url.as_str(), "https://graph.facebook.com/");
        assert_eq!(s.facebook.mme_url.as_str(), "https://m.me/");
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[("DATABASE_URL", "postgres://")], "DATABASE_URL"),
            (&[("APP_MODE", "staging")], "APP_MODE"),
            (&[("LEPTOS_SITE_ADDR", "nowhere")], "LEPTOS_SITE_ADDR"),
            (&[("PUBLIC_BASE_URL", "ftp://x")], "PUBLIC_BASE_URL"),
            (
                &[("FACEBOOK_GRAPH_VERSION", "25")],
                "FACEBOOK_GRAPH_VERSION",
            ),
            (&[("FACEBOOK_APP_ID", "123")], "FACEBOOK_APP_SECRET"),
            (
                &[("FACEBOOK_APP_ID", "abc"), ("FACEBOOK_APP_SECRET", "x")],
                "FACEBOOK_APP_ID",
            ),
            (&[("SECRET_KEY", "short")], "SECRET_KEY"),
            (&[("FACEBOOK_SANDBOX", "maybe")], "FACEBOOK_SANDBOX"),
            (
                &[
                    ("FACEBOOK_SANDBOX", "on"),
                    ("FACEBOOK_APP_ID", "1234"),
                    ("FACEBOOK_APP_SECRET", "a-real-secret"),
                ],
                "FACEBOOK_SANDBOX",
            ),
            (
                &[("SANDBOX_CONTROL_REMOTE", "yes")],
                "SANDBOX_CONTROL_REMOTE",
            ),
            (&[("APP_MODE", "production")], "PUBLIC_BASE_URL"),
            (&[("TRUSTED_PROXIES", "10.0.0.1, proxy")], "TRUSTED_PROXIES"),
            (
                &[
                    ("APP_MODE", "production"),
                    ("PUBLIC_BASE_URL", "https://example.org"),
                ],
                "SECRET_KEY",
            ),
            (&[("DRAW_BEACON_URL", "beacon.example")], "DRAW_BEACON_URL"),
            (&[("OPT_OUT_WORDS", "STOP, ,END")], "OPT_OUT_WORDS"),
            (&[("OPT_OUT_WORDS", "START")], "OPT_OUT_WORDS"),
            (&[("DELETION_KEYWORD", "DELETE")], "DELETION_KEYWORD"),
            (
                &[("DELETION_KEYWORD", "DELETE MY DATA!")],
                "DELETION_KEYWORD",
            ),
            (&[("RETENTION_DAYS", "0")], "RETENTION_DAYS"),
            (&[("SEND_BATCH_MAX", "51")], "SEND_BATCH_MAX"),
            (&[("SEND_BATCH_MAX", "0")], "SEND_BATCH_MAX"),
            (&[("RETENTION_DAYS", "a month")], "RETENTION_DAYS"),
            (
                &[("DRAW_BEACON_URL", "https://api.example/x?y=1")],
                "DRAW_BEACON_URL",
            ),
        ];
        for (pairs, name) in cases {
            let err = load(pairs).unwrap_err();
            assert_eq!(err.name, *name, "for {pairs:?}: {err}");
        }
    }

    #[test]
    fn production_needs_everything_and_never_runs_the_sandbox() {
        let base = [
            ("APP_MODE", "production"),
            ("PUBLIC_BASE_URL", "https://giveaways.example.org"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("FACEBOOK_APP_ID", "1234"),
            ("FACEBOOK_APP_SECRET", "s3cret"),
            ("FACEBOOK_VERIFY_TOKEN", "verify-me"),
        ];
        let s = load(&base).unwrap();
        assert!(s.is_production() && !s.sandbox);

        let mut with_sandbox = base.to_vec();
        with_sandbox.push(("FACEBOOK_SANDBOX", "on"));
        assert_eq!(load(&with_sandbox).unwrap_err().name, "FACEBOOK_SANDBOX");
    }

    #[test]
    fn errors_never_echo_secrets() {
        let err = load(&[("SECRET_KEY", "tooshort-secret")]).unwrap_err();
        assert!(!err.to_string().contains("tooshort-secret"), "{err}");
    }

    #[test]
    fn session_rights_and_login_settings_are_read_and_checked() {
        let s = load(&[]).unwrap();
        assert_eq!(s.auth.rights_recheck_ms, 300_000);
        assert_eq!(s.auth.session_max_age_ms, 14 * DAY_MS);
        assert_eq!(s.auth.session_inactivity_ms, 7 * DAY_MS);
        assert_eq!(s.auth.login_rate_limit, 20);
        assert!(!s.secure_cookies(), "plain http development");
        let s = load(&[
            ("RIGHTS_RECHECK_SECONDS", "0"),
            ("SESSION_MAX_AGE_DAYS", "30"),
            ("SESSION_INACTIVITY_DAYS", "1"),
            ("LOGIN_RATE_LIMIT", "5"),
            ("PUBLIC_BASE_URL", "https://giveaways.example.org"),
        ])
        .unwrap();
        assert_eq!(s.auth.rights_recheck_ms, 0);
        assert_eq!(s.auth.session_max_age_ms, 30 * DAY_MS);
        assert_eq!(s.auth.session_inactivity_ms, DAY_MS);
        assert_eq!(s.auth.login_rate_limit, 5);
        assert!(s.secure_cookies(), "https, even in development mode");
        for name in [
            "RIGHTS_RECHECK_SECONDS",
            "SESSION_MAX_AGE_DAYS",
            "SESSION_INACTIVITY_DAYS",
            "LOGIN_RATE_LIMIT",
        ] {
            assert_eq!(load(&[(name, "-1")]).unwrap_err().name, name);
        }
        assert_eq!(
            load(&[("SESSION_MAX_AGE_DAYS", "0")]).unwrap_err().name,
            "SESSION_MAX_AGE_DAYS"
        );
    }

    #[test]
    fn the_draw_beacon_is_optional_and_read_as_a_url() {
        assert_eq!(load(&[]).unwrap().draw_beacon_url, None);
        let s = load(&[("DRAW_BEACON_URL", "https://beacon.example/52db9ba7")]).unwrap();
        assert_eq!(
            s.draw_beacon_url.map(|u| u.to_string()).as_deref(),
            Some("https://beacon.example/52db9ba7")
        );
    }

    #[test]
    fn the_health_checks_and_their_alerts_are_set_or_refused_by_name() {
        let s = load(&[]).unwrap();
        assert_eq!(
            (
                s.alerts.check_seconds,
                s.alerts.reach_percent,
                s.funnel_flush_seconds
            ),
            (300, 50, 10)
        );
        assert!(s.alerts.webhook_url.is_none());
        let s = load(&[("ALERT_WEBHOOK_URL", "https://chat.example/hooks/T1/B2")]).unwrap();
        assert_eq!(
            s.alerts.webhook_url.map(|u| u.to_string()).as_deref(),
            Some("https://chat.example/hooks/T1/B2")
        );
        for (name, bad) in [
            ("ALERT_WEBHOOK_URL", "ftp://chat.example/x"),
            ("ALERT_REACH_PERCENT", "101"),
            ("HEALTH_CHECK_SECONDS", "0"),
            ("FUNNEL_FLUSH_SECONDS", "soon"),
        ] {
            assert_eq!(load(&[(name, bad)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn opt_out_words_default_to_stop_and_are_read_in_capitals() {
        assert_eq!(load(&[]).unwrap().opt_out_words, ["STOP"]);
        let s = load(&[("OPT_OUT_WORDS", "stop, Unsubscribe,ARRET")]).unwrap();
        assert_eq!(s.opt_out_words, ["STOP", "UNSUBSCRIBE", "ARRET"]);
    }
}
