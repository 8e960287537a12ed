//! The one Graph API client. Nothing else in the product builds Graph URLs: it reaches real Meta
//! or the sandbox only through settings (base URL, version), with no special case for either.
//!
//! Every failure comes back as a [`GraphError`] whose [`GraphError::class`] tells the caller what
//! to do (retry, slow down, give up, mark the person unreachable, ask the admin to reconnect), from
//! the table in ../shared/docs/messenger-platform.md §4.

use crate::{secrets::Secret, settings::FacebookSettings};
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use url::Url;

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `{graph_url}/{version}`, parsed once: every call extends a copy (parsing an address
    /// anew for each message sent was a fortieth of the product's CPU while sending).
    versioned: Url,
    app_id: String,
    app_secret: Secret,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Meta's error envelope: `{"error":{...}}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    pub code: i64,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub error_user_title: Option<String>,
    #[serde(default)]
    pub error_user_msg: Option<String>,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
    #[serde(default)]
    pub is_transient: Option<bool>,
}

#[derive(Deserialize)]
struct Envelope {
    error: ApiError,
}

/// What a sender should do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Temporary (code 2, 1200, `is_transient`, HTTP 5xx, network): retry with backoff a few
    /// times, then fail with Meta's words. Code 2 can also mean the person blocked the Page:
    /// nothing tells the two apart, so it stays a retry and never marks anyone unreachable.
    Transient,
    /// Throttled (4, 17, 32, 613, 80001, 80006): slow this Page down, retry later.
    Throttled,
    /// Outside the 24-hour window (10 / 2018278): needs another allowed path.
    OutsideWindow,
    /// The person cannot receive this now (10 / 2018108): permanent for this send.
    CannotReceive,
    /// The Page is temporarily restricted (10 / 1893063): the Page waits, then tries again.
    PageRestricted,
    /// Invalid parameter (100), including a retired message tag since 2026-04-27.
    InvalidParameter,
    /// No matching user (100 / 2018001).
    NoMatchingUser,
    /// The token is invalid, expired or revoked (190): pause the Page, ask for reconnection.
    TokenInvalid,
    /// The app may not message people without a role yet (200 / 2018028): configuration.
    NotApproved,
    /// The Page is blocked for a policy violation (368): pause the Page, tell the admin.
    PolicyBlocked,
    /// A permission, access level or Business Verification is missing: 1 or 99 without a
    /// subcode (Meta's "unknown error"), 10, 200 or 230 without a known subcode. Every send of
    /// the Page would fail the same way: pause the Page, tell the admin.
    Configuration,
    /// The person blocked the Page or is unavailable (551, 1545041): mark unreachable.
    Unreachable,
    /// Tag abuse warning (613 / 2018338): stop tagged sends, tell the admin.
    TagAbuse,
    /// Another app controls the thread (2018300).
    ThreadControlled,
    /// Any other permanent error.
    Permanent,
}

impl ErrorClass {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Transient | ErrorClass::Throttled)
    }

    /// A problem of the Page (or of the app on it), not of one message: the same call would
    /// fail for every subscriber, so the Page stops sending until an admin acts, rather than
    /// failing 100,000 messages one by one. The token's own problem (190) pauses too, but is
    /// fixed by reconnecting: see [`ErrorClass::TokenInvalid`].
    pub fn pauses_page(self) -> bool {
        matches!(
            self,
            ErrorClass::PolicyBlocked
                | ErrorClass::Configuration
                | ErrorClass::NotApproved
                | ErrorClass::TagAbuse
        )
    }
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        let sub = self.error_subcode;
        match (self.code, sub) {
            (613, Some(2018338)) => ErrorClass::TagAbuse,
            (551, _) | (_, Some(1545041)) => ErrorClass::Unreachable,
            (10, Some(2018278)) => ErrorClass::OutsideWindow,
            (10, Some(2018108)) => ErrorClass::CannotReceive,
            (10, Some(1893063)) => ErrorClass::PageRestricted,
            (100, Some(2018001)) => ErrorClass::NoMatchingUser,
            (190, _) => ErrorClass::TokenInvalid,
            (200, Some(2018028)) => ErrorClass::NotApproved,
            (_, Some(2018300)) => ErrorClass::ThreadControlled,
            (4 | 17 | 32 | 613 | 80001 | 80006, _) => ErrorClass::Throttled,
            (2 | 1200, _) => ErrorClass::Transient,
            _ if self.is_transient == Some(true) => ErrorClass::Transient,
            (368, _) => ErrorClass::PolicyBlocked,
            (1 | 99, None) => ErrorClass::Configuration,
            // Their known subcodes are matched above; any other is still about permissions.
            (10 | 200 | 230, _) => ErrorClass::Configuration,
            (100, _) => ErrorClass::InvalidParameter,
            _ => ErrorClass::Permanent,
        }
    }

    /// A short reason for the admin, e.g. "outside the 24-hour window (10/2018278)". Where the
    /// admin has to act on it (the Page is paused) or it is the last word on a message given up
    /// after retries, Meta's own message follows: it is often the only clue to what is missing.
    pub fn reason(&self) -> String {
        let class = self.class();
        let what = match class {
            ErrorClass::Transient => "temporary error at Meta",
            ErrorClass::Throttled => "rate limited by Meta",
            ErrorClass::OutsideWindow => "outside the 24-hour window",
            ErrorClass::CannotReceive => "person cannot receive messages right now",
            ErrorClass::PageRestricted => "Page temporarily restricted",
            ErrorClass::InvalidParameter => "invalid parameter",
            ErrorClass::NoMatchingUser => "no matching user",
            ErrorClass::TokenInvalid => "Page token invalid: reconnect the Page",
            ErrorClass::NotApproved => "app not approved for pages_messaging",
            ErrorClass::PolicyBlocked => "blocked for a policy violation",
            ErrorClass::Configuration => {
                "a permission, access level or verification is missing for this Page"
            }
            ErrorClass::Unreachable => "person blocked the Page or is unavailable",
            ErrorClass::TagAbuse => "message tag abuse warning",
            ErrorClass::ThreadControlled => "another app controls the conversation",
            ErrorClass::Permanent => "refused by Meta",
        };
        let code = match self.error_subcode {
            Some(sub) => format!("{what} ({}/{sub})", self.code),
            None => format!("{what} ({})", self.code),
        };
        let words = self.message.trim();
        if (class.pauses_page() || class == ErrorClass::Transient) && !words.is_empty() {
            format!("{code}: {words}")
        } else {
            code
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum GraphError {
    /// Meta answered with its error envelope.
    #[error("Graph API error {}: {}", .error.code, .error.message)]
    Api {
        status: u16,
        error: Box<ApiError>,
        usage: Usage,
    },
    /// No answer we could use: connection failure, timeout, or a body that is not Meta's.
    #[error("Graph API unreachable: {0}")]
    Network(String),
    #[error("unexpected Graph API answer (HTTP {status}): {detail}")]
    Unexpected { status: u16, detail: String },
}

impl GraphError {
    pub fn class(&self) -> ErrorClass {
        match self {
            GraphError::Api { error, status, .. } => match error.class() {
                ErrorClass::Permanent if *status >= 500 => ErrorClass::Transient,
                class => class,
            },
            GraphError::Network(_) => ErrorClass::Transient,
            GraphError::Unexpected { status, .. } if *status >= 500 => ErrorClass::Transient,
            GraphError::Unexpected { .. } => ErrorClass::Permanent,
        }
    }

    /// The usage headers that came with Meta's error, if it answered.
    pub fn usage(&self) -> Option<&Usage> {
        match self {
            GraphError::Api { usage, .. } => Some(usage),
            _ => None,
        }
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            GraphError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Meta's own words, for problems the admin must act on (a template Meta would not create,
    /// a permission it refused): its user-facing text when it gave one, with the code.
    pub fn meta_words(&self) -> String {
        match self {
            GraphError::Api { error, .. } => {
                let text = error
                    .error_user_msg
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .unwrap_or(&error.message);
                let title = error
                    .error_user_title
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map(|t| format!("{t}: "))
                    .unwrap_or_default();
                let code = match error.error_subcode {
                    Some(sub) => format!("{}/{sub}", error.code),
                    None => error.code.to_string(),
                };
                format!("{title}{text} ({code})")
            }
            other => other.reason(),
        }
    }

    pub fn reason(&self) -> String {
        match self {
            GraphError::Api { error, .. } => error.reason(),
            GraphError::Network(_) => "Meta unreachable".into(),
            GraphError::Unexpected { status, .. } => {
                format!("unexpected answer from Meta (HTTP {status})")
            }
        }
    }
}

/// Throttling headers (`x-app-usage`, `x-business-use-case-usage`): percentages of the quota,
/// and Meta's estimate of minutes until access returns. Senders slow down as they climb.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// The highest of call_count / total_cputime / total_time over both headers, in percent.
    pub max_percent: Option<f64>,
    pub minutes_to_regain_access: Option<f64>,
}

impl Usage {
    fn from_headers(headers: &reqwest::header::HeaderMap) -> Usage {
        // Read into the figures alone, not a JSON tree (the tree was 2.7% of the product's CPU
        // while sending). A header that does not read as such tells nothing, as before.
        let read = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
        let app: Option<UsageFigures> =
            read("x-app-usage").and_then(|s| serde_json::from_str(s).ok());
        let per_business: Option<std::collections::HashMap<String, Vec<UsageFigures>>> =
            read("x-business-use-case-usage").and_then(|s| serde_json::from_str(s).ok());
        let mut usage = Usage::default();
        for f in app
            .iter()
            .chain(per_business.iter().flat_map(|m| m.values().flatten()))
        {
            for p in [f.call_count, f.total_cputime, f.total_time]
                .into_iter()
                .flatten()
            {
                usage.max_percent = Some(usage.max_percent.map_or(p, |m: f64| m.max(p)));
            }
            if let Some(m) = f.estimated_time_to_regain_access {
                usage.minutes_to_regain_access =
                    Some(usage.minutes_to_regain_access.map_or(m, |o: f64| o.max(m)));
            }
        }
        usage
    }
}

/// One usage object of the headers; other fields are skipped.
#[derive(Default, Deserialize)]
#[serde(default)]
struct UsageFigures {
    #[serde(deserialize_with = "figure")]
    call_count: Option<f64>,
    #[serde(deserialize_with = "figure")]
    total_cputime: Option<f64>,
    #[serde(deserialize_with = "figure")]
    total_time: Option<f64>,
    #[serde(deserialize_with = "figure")]
    estimated_time_to_regain_access: Option<f64>,
}

/// A number, or a string holding one; anything else is no figure.
fn figure<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Response types
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct DebugToken {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub is_valid: bool,
    /// Unix seconds; 0 means "never".
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub data_access_expires_at: Option<i64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Me {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Permission {
    pub permission: String,
    pub status: String,
}

/// A Page from `/me/accounts`. Holds the Page token, so it is neither `Debug` nor `Serialize`.
#[derive(Clone, Deserialize)]
pub struct PageAccount {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub tasks: Vec<String>,
    access_token: Option<String>,
}

impl PageAccount {
    pub fn access_token(&self) -> Option<Secret> {
        self.access_token.clone().map(Secret::new)
    }
}

#[derive(Deserialize)]
struct Paged<T> {
    data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Profile {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SendResponse {
    pub recipient_id: String,
    pub message_id: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TemplateCreated {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    /// Only there when asked for with `fields=`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub rejected_reason: Option<String>,
}

/// The parts of a Page's Messenger profile that decide whether Get Started shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessengerProfile {
    pub ice_breakers: bool,
    pub get_started: bool,
}

// ---------------------------------------------------------------------------------------------
// Send API request
// ---------------------------------------------------------------------------------------------

/// A button template's text, and a button's title (facts file §3).
pub const BUTTON_TEXT_MAX: usize = 640;
pub const BUTTON_TITLE_MAX: usize = 20;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SendRequest {
    pub recipient: Recipient,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<OutgoingMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_action: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Recipient {
    pub id: String,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessagingType {
    Response,
    Update,
    MessageTag,
    Utility,
}

impl MessagingType {
    /// As Meta spells it (what serde writes).
    pub fn as_str(self) -> &'static str {
        match self {
            MessagingType::Response => "RESPONSE",
            MessagingType::Update => "UPDATE",
            MessagingType::MessageTag => "MESSAGE_TAG",
            MessagingType::Utility => "UTILITY",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct OutgoingMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<UtilityTemplate>,
    /// A button template (`attachment.payload.template_type: button`): facts file §3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QuickReply {
    pub content_type: String,
    pub title: String,
    pub payload: String,
}

/// A utility template send: `message.template` with named or positional body parameters.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UtilityTemplate {
    pub name: String,
    pub language: TemplateLanguage,
    pub components: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TemplateLanguage {
    pub code: String,
}

impl SendRequest {
    /// A reply inside the 24-hour window to what the person just did (`RESPONSE`).
    pub fn text(psid: &str, text: &str) -> SendRequest {
        SendRequest {
            recipient: Recipient { id: psid.into() },
            messaging_type: Some(MessagingType::Response),
            tag: None,
            message: Some(OutgoingMessage {
                text: Some(text.into()),
                ..Default::default()
            }),
            sender_action: None,
        }
    }

    /// A message the Page sends of its own accord inside the 24-hour window (a notice):
    /// `UPDATE`, since `RESPONSE` means "in reply to what the person just did" (facts file §3).
    pub fn update(psid: &str, text: &str) -> SendRequest {
        SendRequest {
            messaging_type: Some(MessagingType::Update),
            ..SendRequest::text(psid, text)
        }
    }

    /// A tagged text message (outside the window, on the tag path).
    pub fn tagged(psid: &str, text: &str, tag: &str) -> SendRequest {
        SendRequest {
            messaging_type: Some(MessagingType::MessageTag),
            tag: Some(tag.into()),
            ..SendRequest::text(psid, text)
        }
    }

    /// An approved utility template with named body parameters.
    pub fn utility(
        psid: &str,
        template: &str,
        language: &str,
        params: &[(&str, &str)],
    ) -> SendRequest {
        let parameters: Vec<serde_json::Value> = params
            .iter()
            .map(|(name, text)| serde_json::json!({"type": "text", "parameter_name": name, "text": text}))
            .collect();
        SendRequest {
            recipient: Recipient { id: psid.into() },
            messaging_type: Some(MessagingType::Utility),
            tag: None,
            message: Some(OutgoingMessage {
                template: Some(UtilityTemplate {
                    name: template.into(),
                    language: TemplateLanguage {
                        code: language.into(),
                    },
                    components: vec![serde_json::json!({"type": "body", "parameters": parameters})],
                }),
                ..Default::default()
            }),
            sender_action: None,
        }
    }

    /// A message the Page sends of its own accord inside the window (`UPDATE`), as a button
    /// template: the text (at most 640 characters there, so longer text is cut) and one
    /// postback button, whose tap comes back as a `messaging_postbacks` event with `payload`.
    pub fn update_with_postback(
        psid: &str,
        text: &str,
        button_title: &str,
        payload: &str,
    ) -> SendRequest {
        let text: String = text.chars().take(BUTTON_TEXT_MAX).collect();
        let title: String = button_title.chars().take(BUTTON_TITLE_MAX).collect();
        SendRequest {
            recipient: Recipient { id: psid.into() },
            messaging_type: Some(MessagingType::Update),
            tag: None,
            message: Some(OutgoingMessage {
                attachment: Some(serde_json::json!({
                    "type": "template",
                    "payload": {
                        "template_type": "button",
                        "text": text,
                        "buttons": [{"type": "postback", "title": title, "payload": payload}],
                    },
                })),
                ..Default::default()
            }),
            sender_action: None,
        }
    }

    pub fn with_quick_reply(mut self, title: &str, payload: &str) -> SendRequest {
        if let Some(message) = self.message.as_mut() {
            message.quick_replies.push(QuickReply {
                content_type: "text".into(),
                title: title.into(),
                payload: payload.into(),
            });
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

impl GraphClient {
    pub fn new(settings: &FacebookSettings) -> GraphClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("HTTP client builds");
        let base = settings.graph_url.as_str().trim_end_matches('/');
        let versioned = Url::parse(&format!("{base}/{}", settings.graph_version))
            .expect("Graph URL from a valid base");
        GraphClient {
            http,
            versioned,
            app_id: settings.app_id.clone(),
            app_secret: settings.app_secret.clone(),
        }
    }

    /// `{graph_url}/{version}/{path}`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.versioned.clone();
        url.path_segments_mut()
            .expect("an http(s) base")
            .pop_if_empty()
            .extend(path.split('/').filter(|s| !s.is_empty()));
        url
    }

    /// A Page's picture, for an `<img>`: Graph answers this address with a redirect to the
    /// image, without a token (a Page's picture is public).
    pub fn page_picture(&self, facebook_page_id: &str) -> String {
        let mut url = self.url(&format!("{facebook_page_id}/picture"));
        url.query_pairs_mut().append_pair("type", "square");
        url.into()
    }

    /// `appsecret_proof`: proves the call comes from the app's server, not from a stolen token.
    pub fn appsecret_proof(&self, token: &Secret) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.app_secret.expose().as_bytes())
            .expect("any key length");
        mac.update(token.expose().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A call to `path` with the token and its proof.
    fn authorized(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
    ) -> reqwest::RequestBuilder {
        let mut url = self.url(path);
        url.query_pairs_mut()
            .append_pair("access_token", token.expose())
            .append_pair("appsecret_proof", &self.appsecret_proof(token));
        self.http.request(method, url)
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(T, Usage), GraphError> {
        // reqwest's error text can include the URL, and so the token: keep only its kind.
        let response = request.send().await.map_err(|e| {
            GraphError::Network(if e.is_timeout() {
                "timeout".into()
            } else {
                "connection failed".into()
            })
        })?;
        let status = response.status().as_u16();
        let usage = Usage::from_headers(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|_| GraphError::Network("body not received".into()))?;
        read_answer(status, &body, &usage).map(|v| (v, usage))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
    ) -> Result<T, GraphError> {
        let request = self
            .authorized(reqwest::Method::GET, path, token)
            .query(query);
        Ok(self.execute(request).await?.0)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &Secret,
        body: &impl Serialize,
    ) -> Result<(T, Usage), GraphError> {
        self.execute(
            self.authorized(reqwest::Method::POST, path, token)
                .json(body),
        )
        .await
    }

    // --- Login and tokens ---

    /// The Login dialog for a manual flow (`{www}/{version}/dialog/oauth`).
    pub fn dialog_url(www_url: &Url, version: &str) -> Url {
        let base = www_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{version}/dialog/oauth")).expect("dialog URL from a valid base")
    }

    /// The token endpoint (`{graph}/{version}/oauth/access_token`).
    pub fn token_url(&self) -> Url {
        self.url("oauth/access_token")
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, GraphError> {
        let request = self.http.get(self.token_url()).query(&[
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.app_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ]);
        Ok(self.execute(request).await?.0)
    }

    /// Trades a short-lived user token for a long-lived one (about 60 days).
    pub async fn long_lived_token(&self, user_token: &Secret) -> Result<TokenResponse, GraphError> {
        let request = self.http.get(self.token_url()).query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.app_secret.expose()),
            ("fb_exchange_token", user_token.expose()),
        ]);
        Ok(self.execute(request).await?.0)
    }

    pub async fn app_token(&self) -> Result<Secret, GraphError> {
        let request = self.http.get(self.token_url()).query(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.app_secret.expose()),
        ]);
        let (token, _): (TokenResponse, _) = self.execute(request).await?;
        Ok(Secret::new(token.access_token))
    }

    /// Inspects any token with the app token: validity, expiry, data-access expiry, scopes.
    pub async fn debug_token(&self, input: &Secret) -> Result<DebugToken, GraphError> {
        #[derive(Deserialize)]
        struct Wrapper {
            data: DebugToken,
        }
        let app = self.app_token().await?;
        let wrapper: Wrapper = self
            .get("debug_token", &app, &[("input_token", input.expose())])
            .await?;
        Ok(wrapper.data)
    }

    pub async fn me(&self, user_token: &Secret) -> Result<Me, GraphError> {
        self.get("me", user_token, &[("fields", "id,name")]).await
    }

    pub async fn permissions(&self, user_token: &Secret) -> Result<Vec<Permission>, GraphError> {
        let page: Paged<Permission> = self.get("me/permissions", user_token, &[]).await?;
        Ok(page.data)
    }

    /// Every Page the person has a role on, following the cursors to the end.
    pub async fn accounts(&self, user_token: &Secret) -> Result<Vec<PageAccount>, GraphError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("fields", "id,name,category,username,tasks,access_token"),
                ("limit", "25"),
            ];
            if let Some(cursor) = after.as_deref() {
                query.push(("after", cursor));
            }
            let page: Paged<PageAccount> = self.get("me/accounts", user_token, &query).await?;
            let got = page.data.len();
            all.extend(page.data);
            let next = page.paging.as_ref().and_then(|p| p.next.as_ref());
            after = page
                .paging
                .as_ref()
                .and_then(|p| p.cursors.as_ref())
                .and_then(|c| c.after.clone());
            // Meta signals the last page by leaving out `next`.
            if next.is_none() || after.is_none() || got == 0 {
                return Ok(all);
            }
        }
    }

    // --- Pages ---

    /// Subscribes the app to the Page's webhook fields. Meta documents `"true"` and answers
    /// `true`: both count as success.
    pub async fn subscribe_app(
        &self,
        page_id: &str,
        page_token: &Secret,
        fields: &[&str],
    ) -> Result<(), GraphError> {
        let request = self
            .authorized(
                reqwest::Method::POST,
                &format!("{page_id}/subscribed_apps"),
                page_token,
            )
            .query(&[("subscribed_fields", fields.join(","))]);
        let (answer, _): (serde_json::Value, _) = self.execute(request).await?;
        success_flag(answer)
    }

    /// The webhook fields the Page sends this app: `GET /{page-id}/subscribed_apps` lists the
    /// apps subscribed to the Page, each with its `id` and `subscribed_fields`. Empty when this
    /// app is not among them (its subscription was removed at Facebook).
    pub async fn subscribed_fields(
        &self,
        page_id: &str,
        page_token: &Secret,
    ) -> Result<Vec<String>, GraphError> {
        let request = self.authorized(
            reqwest::Method::GET,
            &format!("{page_id}/subscribed_apps"),
            page_token,
        );
        let (answer, _): (serde_json::Value, _) = self.execute(request).await?;
        Ok(answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|app| app["id"].as_str() == Some(self.app_id.as_str()))
            .and_then(|app| app["subscribed_fields"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect())
    }

    pub async fn set_get_started(
        &self,
        page_token: &Secret,
        payload: &str,
    ) -> Result<(), GraphError> {
        let body = serde_json::json!({"get_started": {"payload": payload}});
        let (answer, _): (serde_json::Value, _) =
            self.post("me/messenger_profile", page_token, &body).await?;
        success_flag(answer)
    }

    /// Creates a UTILITY template from its components (facts file §3a: the BODY carries its
    /// sample values). Meta often approves at once (`APPROVED`); otherwise `PENDING`, and the
    /// review arrives by webhook.
    pub async fn create_utility_template(
        &self,
        page_id: &str,
        page_token: &Secret,
        name: &str,
        language: &str,
        components: serde_json::Value,
    ) -> Result<TemplateCreated, GraphError> {
        let body = serde_json::json!({
            "name": name,
            "language": language,
            "category": "UTILITY",
            "parameter_format": "NAMED",
            "components": components,
        });
        Ok(self
            .post(&format!("{page_id}/message_templates"), page_token, &body)
            .await?
            .0)
    }

    /// The Page's templates named `name`. Meta leaves `status` out unless it is asked for.
    pub async fn templates(
        &self,
        page_id: &str,
        page_token: &Secret,
        name: &str,
    ) -> Result<Vec<TemplateInfo>, GraphError> {
        let page: Paged<TemplateInfo> = self
            .get(
                &format!("{page_id}/message_templates"),
                page_token,
                &[
                    ("name", name),
                    ("fields", "id,name,language,status,category,rejected_reason"),
                ],
            )
            .await?;
        Ok(page.data)
    }

    /// Deletes a template by id (an approved one cannot be edited: delete and create again).
    pub async fn delete_template(
        &self,
        page_id: &str,
        page_token: &Secret,
        template_id: &str,
    ) -> Result<(), GraphError> {
        let request = self
            .authorized(
                reqwest::Method::DELETE,
                &format!("{page_id}/message_templates"),
                page_token,
            )
            .query(&[("hsm_id", template_id)]);
        let (answer, _): (serde_json::Value, _) = self.execute(request).await?;
        success_flag(answer)
    }

    /// What Messenger shows a person opening a new thread: ice breakers take precedence over
    /// the Get Started button (facts file §2).
    pub async fn messenger_profile(
        &self,
        page_token: &Secret,
    ) -> Result<MessengerProfile, GraphError> {
        let page: Paged<serde_json::Value> = self
            .get(
                "me/messenger_profile",
                page_token,
                &[("fields", "ice_breakers,get_started")],
            )
            .await?;
        let mut profile = MessengerProfile::default();
        for item in page.data {
            let set = |key: &str| {
                item.get(key)
                    .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            };
            profile.ice_breakers |= set("ice_breakers");
            profile.get_started |= set("get_started");
        }
        Ok(profile)
    }

    /// The User Profile API: a subscriber's first name, read with the Page token (PSIDs are
    /// page-scoped). Used to fill `{first_name}`.
    pub async fn profile(&self, psid: &str, page_token: &Secret) -> Result<Profile, GraphError> {
        self.get(psid, page_token, &[("fields", "first_name,last_name")])
            .await
    }

    // --- Send API ---

    /// Sends one message. The usage headers come back too, on success and failure alike, so the
    /// sender can slow down before Meta throttles it.
    pub async fn send(
        &self,
        page_id: &str,
        page_token: &Secret,
        request: &SendRequest,
    ) -> Result<(SendResponse, Usage), GraphError> {
        self.post(&format!("{page_id}/messages"), page_token, request)
            .await
    }

    /// Sends up to [`BATCH_MAX`] messages in one HTTP call (Graph's batch requests): Meta counts
    /// each one against the Page's limit as a call of its own, but the HTTP exchange, the
    /// token's proof and the usage headers are paid once. One answer per request, in order; an
    /// error of the whole call (network, token, Meta's 5xx) is every request's. Meta may leave
    /// an operation without an answer (null, when it timed out): its outcome is unknown, and it
    /// is answered as a network failure (retried, so it may arrive twice).
    pub async fn send_batch(
        &self,
        page_id: &str,
        page_token: &Secret,
        requests: &[SendRequest],
    ) -> Result<(Vec<Result<SendResponse, GraphError>>, Usage), GraphError> {
        let relative_url = format!("{page_id}/messages");
        let operations: Vec<BatchOperation> = requests
            .iter()
            .map(|request| BatchOperation {
                method: "POST",
                relative_url: &relative_url,
                body: form_body(request),
            })
            .collect();
        let batch = serde_json::to_string(&operations).map_err(|e| GraphError::Unexpected {
            status: 0,
            detail: format!("cannot write the batch: {e}"),
        })?;
        let mut url = self.versioned.clone();
        url.path_segments_mut().expect("an http(s) base").push("");
        let proof = self.appsecret_proof(page_token);
        let request = self.http.post(url).form(&[
            ("access_token", page_token.expose()),
            ("appsecret_proof", proof.as_str()),
            ("include_headers", "false"),
            ("batch", batch.as_str()),
        ]);
        let (answers, usage): (Vec<Option<BatchAnswer>>, Usage) = self.execute(request).await?;
        if answers.len() != requests.len() {
            return Err(GraphError::Unexpected {
                status: 200,
                detail: format!(
                    "{} answers to a batch of {} requests",
                    answers.len(),
                    requests.len()
                ),
            });
        }
        Ok((answered(answers, &usage), usage))
    }
}

/// Meta's limit on the calls of one batch request.
pub const BATCH_MAX: usize = 50;

#[derive(Serialize)]
struct BatchOperation<'a> {
    method: &'static str,
    relative_url: &'a str,
    body: String,
}

#[derive(Deserialize)]
struct BatchAnswer {
    code: u16,
    #[serde(default)]
    body: Option<String>,
}

/// One answer of Graph, a whole call's or a batch operation's: the value on success, else Meta's
/// error envelope with the usage headers, else what came instead.
fn read_answer<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
    usage: &Usage,
) -> Result<T, GraphError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|e| GraphError::Unexpected {
            status,
            detail: format!("cannot read the answer: {e}"),
        });
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => Err(GraphError::Api {
            status,
            error: Box::new(envelope.error),
            usage: usage.clone(),
        }),
        Err(_) => Err(GraphError::Unexpected {
            status,
            detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        }),
    }
}

/// Each operation's answer as a call of its own would have had it: Meta's error envelope
/// classified, the batch's usage headers attached, no answer a network failure.
fn answered(
    answers: Vec<Option<BatchAnswer>>,
    usage: &Usage,
) -> Vec<Result<SendResponse, GraphError>> {
    answers
        .into_iter()
        .map(|answer| match answer {
            Some(BatchAnswer { code, body }) => {
                read_answer(code, body.unwrap_or_default().as_bytes(), usage)
            }
            None => Err(GraphError::Network("no answer within the batch".into())),
        })
        .collect()
}

/// A Send API request as a batch operation's body: form fields, objects as JSON text, as a
/// form-encoded call to `/messages` carries them.
fn form_body(request: &SendRequest) -> String {
    // The parts are plain data: writing them cannot fail.
    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("recipient", &json(&request.recipient));
    if let Some(kind) = request.messaging_type {
        form.append_pair("messaging_type", kind.as_str());
    }
    if let Some(tag) = &request.tag {
        form.append_pair("tag", tag);
    }
    if let Some(message) = &request.message {
        form.append_pair("message", &json(message));
    }
    if let Some(action) = &request.sender_action {
        form.append_pair("sender_action", action);
    }
    form.finish()
}

/// Meta says "it worked" three ways: `{"success":true}`, `{"success":"true"}` (as documented
/// for subscribed_apps) and `{"result":"success"}` (messenger_profile).
fn success_flag(answer: serde_json::Value) -> Result<(), GraphError> {
    use serde_json::Value;
    match (answer.get("success"), answer.get("result")) {
        (Some(Value::Bool(true)), _) => Ok(()),
        (Some(Value::String(s)), _) if s == "true" => Ok(()),
        (_, Some(Value::String(s))) if s == "success" => Ok(()),
        _ => Err(GraphError::Unexpected {
            status: 200,
            detail: format!("expected success, got {answer}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, sub: Option<i64>) -> ApiError {
        ApiError {
            message: String::new(),
            kind: "OAuthException".into(),
            code,
            error_subcode: sub,
            error_user_title: None,
            error_user_msg: None,
            fbtrace_id: None,
            is_transient: None,
        }
    }

    #[test]
    fn every_documented_code_has_its_class() {
        use ErrorClass::*;
        // Every row of the facts file's table (§4), in its order.
        let table = [
            (2, None, Transient),
            (1200, None, Transient),
            (1, None, Configuration),
            (99, None, Configuration),
            (368, None, PolicyBlocked),
            (4, None, Throttled),
            (17, None, Throttled),
            (32, None, Throttled),
            (613, None, Throttled),
            (80001, None, Throttled),
            (80006, None, Throttled),
            (10, Some(2018278), OutsideWindow),
            (10, Some(2018108), CannotReceive),
            (10, Some(1893063), PageRestricted),
            (100, None, InvalidParameter),
            (100, Some(2018001), NoMatchingUser),
            (190, None, TokenInvalid),
            (190, Some(458), TokenInvalid),
            (190, Some(459), TokenInvalid),
            (190, Some(460), TokenInvalid),
            (190, Some(463), TokenInvalid),
            (190, Some(464), TokenInvalid),
            (190, Some(467), TokenInvalid),
            (190, Some(492), TokenInvalid),
            (200, Some(2018028), NotApproved),
            (10, None, Configuration),
            (200, None, Configuration),
            (230, None, Configuration),
            // A subcode we do not know does not make a permission error about one message.
            (10, Some(2018999), Configuration),
            (551, None, Unreachable),
            (551, Some(1545041), Unreachable),
            (200, Some(1545041), Unreachable),
            (613, Some(2018338), TagAbuse),
            (10, Some(2018300), ThreadControlled),
            // Code 1 with a subcode is a refusal of that one call (1/1929002 on subscribed_apps).
            (1, Some(1929002), Permanent),
            (12345, None, Permanent),
        ];
        for (code, sub, class) in table {
            assert_eq!(err(code, sub).class(), class, "{code}/{sub:?}");
        }
        // `is_transient` wins over what the code alone would say.
        for code in [1, 99, 12345] {
            let mut transient = err(code, None);
            transient.is_transient = Some(true);
            assert_eq!(transient.class(), Transient, "{code} with is_transient");
        }
        let pausing: Vec<ErrorClass> = table
            .iter()
            .map(|(_, _, class)| *class)
            .filter(|class| class.pauses_page())
            .collect();
        assert!(pausing
            .iter()
            .all(|c| matches!(c, Configuration | PolicyBlocked | NotApproved | TagAbuse)));
        for class in [
            Transient,
            Throttled,
            PageRestricted,
            TokenInvalid,
            Unreachable,
        ] {
            assert!(!class.pauses_page(), "{class:?}");
        }
    }

    #[test]
    fn an_http_500_without_a_known_code_is_temporary_but_a_page_problem_stays_one() {
        let api = |code: i64, status: u16| GraphError::Api {
            status,
            error: Box::new(err(code, None)),
            usage: Usage::default(),
        };
        assert_eq!(api(12345, 500).class(), ErrorClass::Transient);
        assert_eq!(api(12345, 400).class(), ErrorClass::Permanent);
        assert_eq!(api(1, 500).class(), ErrorClass::Configuration);
        assert_eq!(api(1200, 500).class(), ErrorClass::Transient);
    }

    #[test]
    fn reasons_name_the_code() {
        assert_eq!(
            err(10, Some(2018278)).reason(),
            "outside the 24-hour window (10/2018278)"
        );
        assert_eq!(
            err(551, None).reason(),
            "person blocked the Page or is unavailable (551)"
        );
    }

    #[test]
    fn page_level_and_temporary_reasons_keep_metas_words() {
        let with = |code: i64, message: &str| ApiError {
            message: message.into(),
            ..err(code, None)
        };
        assert_eq!(
            with(
                368,
                "(#368) The action attempted has been deemed abusive or is otherwise disallowed"
            )
            .reason(),
            "blocked for a policy violation (368): (#368) The action attempted has been deemed abusive or is otherwise disallowed"
        );
        assert_eq!(
            with(1, "An unknown error occurred").reason(),
            "a permission, access level or verification is missing for this Page (1): An unknown error occurred"
        );
        assert_eq!(
            with(230, "(#230) Requires pages_messaging permission to manage the object").reason(),
            "a permission, access level or verification is missing for this Page (230): (#230) Requires pages_messaging permission to manage the object"
        );
        assert_eq!(
            with(1200, "(#1200) Temporary send message failure. Please try again later").reason(),
            "temporary error at Meta (1200): (#1200) Temporary send message failure. Please try again later"
        );
        // A message's own problem keeps its short form.
        assert_eq!(
            with(551, "This person isn't available right now.").reason(),
            "person blocked the Page or is unavailable (551)"
        );
    }

    #[test]
    fn send_requests_serialize_as_meta_expects() {
        let text =
            serde_json::to_value(SendRequest::text("123", "hi").with_quick_reply("Join", "KW"))
                .unwrap();
        assert_eq!(
            text,
            serde_json::json!({"recipient": {"id": "123"}, "messaging_type": "RESPONSE",
                "message": {"text": "hi", "quick_replies": [{"content_type": "text", "title": "Join", "payload": "KW"}]}})
        );
        let tagged =
            serde_json::to_value(SendRequest::tagged("1", "x", "CONFIRMED_EVENT_UPDATE")).unwrap();
        assert_eq!(tagged["messaging_type"], "MESSAGE_TAG");
        let update = serde_json::to_value(SendRequest::update("1", "x")).unwrap();
        assert_eq!(update["messaging_type"], "UPDATE");
        assert!(update.get("tag").is_none());
        assert_eq!(tagged["tag"], "CONFIRMED_EVENT_UPDATE");
        let utility = serde_json::to_value(SendRequest::utility(
            "1",
            "campaign_end",
            "en_US",
            &[("title", "T")],
        ))
        .unwrap();
        assert_eq!(utility["messaging_type"], "UTILITY");
        assert_eq!(utility["message"]["template"]["language"]["code"], "en_US");
        assert_eq!(
            utility["message"]["template"]["components"][0]["parameters"][0],
            serde_json::json!({"type": "text", "parameter_name": "title", "text": "T"})
        );
    }

    #[test]
    fn a_batch_operation_carries_the_request_as_a_form() {
        let tagged = SendRequest::tagged("123", "Ends & \"soon\"", "CONFIRMED_EVENT_UPDATE");
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(form_body(&tagged).as_bytes())
                .into_owned()
                .collect();
        let json = |k: &str| serde_json::from_str::<serde_json::Value>(&fields[k]).unwrap();
        assert_eq!(json("recipient"), serde_json::json!({"id": "123"}));
        assert_eq!(json("message")["text"], "Ends & \"soon\"");
        assert_eq!(fields["messaging_type"], "MESSAGE_TAG");
        assert_eq!(fields["tag"], "CONFIRMED_EVENT_UPDATE");
        assert!(!fields.contains_key("sender_action"));
        // The same fields, as JSON, as the plain call's body.
        let plain = serde_json::to_value(&tagged).unwrap();
        assert_eq!(plain["messaging_type"], "MESSAGE_TAG");
        assert_eq!(plain["message"], json("message"));
    }

    #[test]
    fn each_batch_answer_is_classified_as_a_call_of_its_own() {
        let usage = Usage {
            max_percent: Some(40.0),
            minutes_to_regain_access: None,
        };
        let answer = |code: u16, body: &str| {
            Some(BatchAnswer {
                code,
                body: Some(body.to_string()),
            })
        };
        let results = answered(
            vec![
                answer(200, r#"{"recipient_id":"1","message_id":"m_1"}"#),
                answer(
                    400,
                    r#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}"#,
                ),
                None,
                answer(500, "<html>oops</html>"),
                answer(200, "not json"),
            ],
            &usage,
        );
        assert_eq!(results[0].as_ref().unwrap().message_id, "m_1");
        let err = |i: usize| results[i].as_ref().unwrap_err();
        assert_eq!(err(1).class(), ErrorClass::Throttled);
        assert_eq!(err(1).usage(), Some(&usage));
        // No answer: the outcome is unknown, tried again as a network failure.
        assert_eq!(err(2).class(), ErrorClass::Transient);
        assert_eq!(err(3).class(), ErrorClass::Transient);
        assert_eq!(err(4).class(), ErrorClass::Permanent);
    }

    #[test]
    fn every_success_shape_counts() {
        for ok in [
            r#"{"success":true}"#,
            r#"{"success":"true"}"#,
            r#"{"result":"success"}"#,
        ] {
            assert!(
                success_flag(serde_json::from_str(ok).unwrap()).is_ok(),
                "{ok}"
            );
        }
        assert!(success_flag(serde_json::json!({"success": false})).is_err());
    }

    #[test]
    fn usage_headers_give_the_highest_percentage() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-app-usage",
            r#"{"call_count":12,"total_cputime":3,"total_time":40}"#
                .parse()
                .unwrap(),
        );
        headers.insert(
            "x-business-use-case-usage",
            r#"{"123":[{"type":"messenger","call_count":85,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":4}]}"#
                .parse()
                .unwrap(),
        );
        let usage = Usage::from_headers(&headers);
        assert_eq!(usage.max_percent, Some(85.0));
        assert_eq!(usage.minutes_to_regain_access, Some(4.0));
        // Figures written as strings count; fields the product does not read are skipped.
        headers.insert(
            "x-app-usage",
            r#"{"call_count":"95","total_cputime":null,"other":{"a":[1]}}"#
                .parse()
                .unwrap(),
        );
        headers.remove("x-business-use-case-usage");
        assert_eq!(Usage::from_headers(&headers).max_percent, Some(95.0));
        // Not JSON: nothing.
        headers.insert("x-app-usage", "call_count=99".parse().unwrap());
        assert_eq!(Usage::from_headers(&headers), Usage::default());
    }

    #[test]
    fn urls_and_proofs() {
        let settings = crate::settings::FacebookSettings {
            app_id: "1".into(),
            app_secret: Secret::new("secret"),
            graph_version: "v25.0".into(),
            verify_token: Secret::new("v"),
            graph_url: Url::parse("http://127.0.0.1:9/sandbox/graph").unwrap(),
            www_url: Url::parse("http://127.0.0.1:9/sandbox/www").unwrap(),
            mme_url: Url::parse("http://127.0.0.1:9/sandbox/m.me").unwrap(),
        };
        let client = GraphClient::new(&settings);
        assert_eq!(
            client.url("/me/accounts").as_str(),
            "http://127.0.0.1:9/sandbox/graph/v25.0/me/accounts"
        );
        let meta = crate::settings::FacebookSettings {
            graph_url: Url::parse("https://graph.facebook.com/").unwrap(),
            ..settings.clone()
        };
        let url = GraphClient::new(&meta)
            .authorized(
                reqwest::Method::POST,
                "1234/messages",
                &Secret::new("a b&c"),
            )
            .build()
            .unwrap()
            .url()
            .clone();
        assert_eq!(
            url.as_str(),
            "https://graph.facebook.com/v25.0/1234/messages?access_token=a+b%26c&appsecret_proof=\
             e69a8db1adbd4e27dc53878a8011714a538f6a96da9c92e11bb066e3cc931918"
        );
        assert_eq!(
            GraphClient::dialog_url(&settings.www_url, "v25.0").as_str(),
            "http://127.0.0.1:9/sandbox/www/v25.0/dialog/oauth"
        );
        // HMAC-SHA256("secret", "token"), hex.
        assert_eq!(
            client.appsecret_proof(&Secret::new("token")),
            "e941110e3d2bfe82621f0e3e1434730d7305d106c5f68c87165d0b27a4611a4a"
        );
    }
}
