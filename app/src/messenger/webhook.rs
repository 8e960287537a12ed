//! Messenger webhooks: signature verification over the raw body, and the event shapes from
//! ../shared/docs/messenger-platform.md §6.
//!
//! Parsing is tolerant on purpose. Meta's own sample payloads (the app dashboard's "Test" button)
//! carry every value as a string, timestamps included, where real deliveries use numbers: both
//! are read. Whatever the product does not know (`standby`, reactions, handovers, a new event
//! kind, a `changes` field it does not handle) is named in [`EntryRead::ignored`] and left out,
//! never failing the POST or the other events next to it: Meta adds fields and events over time,
//! and a refused POST would be retried and, after an hour, unsubscribe the app.

use crate::secrets::Secret;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(app secret, raw body). The
/// comparison is constant-time (`Mac::verify_slice`), so timing reveals nothing of the expected
/// signature. Call it on the exact bytes received, before any parsing.
pub fn verify_signature(
    app_secret: &Secret,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The value of `X-Hub-Signature-256` for a body: what Meta (and the sandbox) sends.
pub fn sign(app_secret: &Secret, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Numbers or numeric strings, as Meta sends one or the other (see the module's doc).
mod lenient {
    use serde::{de::Error, Deserialize, Deserializer};

    enum Scalar {
        Int(i64),
        Float(f64),
        Bool(bool),
        Text(String),
    }

    /// Read by what the JSON holds, straight from the text: serde's untagged enums buffered every
    /// value first and then tried each variant on the copy (a fiftieth of the product's time
    /// under a flood of webhooks, for the ids alone).
    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }

    struct ScalarVisitor;

    impl serde::de::Visitor<'_> for ScalarVisitor {
        type Value = Scalar;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number, a string or a boolean")
        }
        fn visit_i64<E: Error>(self, n: i64) -> Result<Scalar, E> {
            Ok(Scalar::Int(n))
        }
        fn visit_u64<E: Error>(self, n: u64) -> Result<Scalar, E> {
            // Beyond i64, as the untagged enum read it: a float.
            Ok(i64::try_from(n).map_or(Scalar::Float(n as f64), Scalar::Int))
        }
        fn visit_f64<E: Error>(self, f: f64) -> Result<Scalar, E> {
            Ok(Scalar::Float(f))
        }
        fn visit_bool<E: Error>(self, b: bool) -> Result<Scalar, E> {
            Ok(Scalar::Bool(b))
        }
        fn visit_str<E: Error>(self, s: &str) -> Result<Scalar, E> {
            Ok(Scalar::Text(s.to_string()))
        }
        fn visit_string<E: Error>(self, s: String) -> Result<Scalar, E> {
            Ok(Scalar::Text(s))
        }
    }

    fn int_of<E: Error>(s: Scalar) -> Result<i64, E> {
        match s {
            Scalar::Int(n) => Ok(n),
            Scalar::Float(f) if f.fract() == 0.0 => Ok(f as i64),
            Scalar::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("not a whole number: {t:?}"))),
            _ => Err(E::custom("expected a whole number or a numeric string")),
        }
    }

    /// A whole number, or a string holding one; `null` read as 0 (absent).
    pub fn int_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Option::<Scalar>::deserialize(d)? {
            Some(s) => int_of(s),
            None => Ok(0),
        }
    }

    /// An id: a string, or a number written as one.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Scalar>::deserialize(d)? {
            None => None,
            Some(Scalar::Int(n)) => Some(n.to_string()),
            Some(Scalar::Float(f)) => Some(f.to_string()),
            Some(Scalar::Text(t)) => Some(t),
            Some(Scalar::Bool(_)) => return Err(D::Error::custom("an id is not a boolean")),
        })
    }

    /// `true`, `false`, or the same as strings.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Option::<Scalar>::deserialize(d)? {
            None => None,
            Some(Scalar::Bool(b)) => Some(b),
            Some(Scalar::Text(t)) if t == "true" => Some(true),
            Some(Scalar::Text(t)) if t == "false" => Some(false),
            Some(_) => return Err(D::Error::custom("expected true or false")),
        })
    }
}

/// A Page id or a time in an entry, as Meta wrote it (string or number).
fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `changes` fields the product acts on; any other is ignored at intake.
pub const HANDLED_CHANGES: &[&str] = &["message_template_status_update"];
/// The keys of an entry the product reads.
const ENTRY_KEYS: &[&str] = &["id", "time", "messaging", "changes"];
/// The keys every messaging event has, beside the one that says what happened.
const EVENT_FRAME: &[&str] = &["sender", "recipient", "timestamp"];

/// Something of a webhook entry left out, named for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// A messaging event that does not parse (a wrong type where the product needs a value).
    Malformed { error: String },
    /// A messaging event of a kind the product does not know: its keys, such as `reaction`.
    UnknownEvent { kinds: String },
    /// An entry key other than `messaging` and `changes`, such as `standby`.
    EntryField { key: String },
    /// A Page change whose field the product does not handle.
    ChangeField { field: String },
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ignored::Malformed { error } => write!(f, "malformed messaging event ({error})"),
            Ignored::UnknownEvent { kinds } => write!(f, "messaging event of kind `{kinds}`"),
            Ignored::EntryField { key } => write!(f, "entry field `{key}`"),
            Ignored::ChangeField { field } => write!(f, "change of field `{field}`"),
        }
    }
}

/// One webhook entry as the product reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntryRead {
    pub page_id: String,
    /// `time` in ms (0 when absent).
    pub time: i64,
    /// The events the product knows, each with the raw JSON it is stored as.
    pub events: Vec<(MessagingEvent, Value)>,
    /// Page changes of a handled field.
    pub changes: Vec<Value>,
    pub ignored: Vec<Ignored>,
}

/// Reads one element of `entry`; `None` when it names no Page (nothing in it can be used).
pub fn read_entry(entry: &Value) -> Option<EntryRead> {
    let page_id = entry.get("id").and_then(value_id)?;
    let mut read = EntryRead {
        page_id,
        time: entry.get("time").and_then(value_int).unwrap_or_default(),
        ..EntryRead::default()
    };
    if let Some(map) = entry.as_object() {
        for key in map.keys().filter(|k| !ENTRY_KEYS.contains(&k.as_str())) {
            read.ignored.push(Ignored::EntryField { key: key.clone() });
        }
    }
    let messaging = entry.get("messaging").and_then(Value::as_array);
    for raw in messaging.into_iter().flatten() {
        // Read from the tree in place: `from_value` would take a deep copy of it first.
        match MessagingEvent::deserialize(raw) {
            Ok(event) if event.kind() == EventKind::Unknown => {
                let kinds: Vec<&str> = raw
                    .as_object()
                    .map(|m| {
                        m.keys()
                            .map(String::as_str)
                            .filter(|k| !EVENT_FRAME.contains(k))
                            .collect()
                    })
                    .unwrap_or_default();
                let kinds = if kinds.is_empty() {
                    "(none)".to_string()
                } else {
                    kinds.join(", ")
                };
                read.ignored.push(Ignored::UnknownEvent { kinds });
            }
            Ok(event) => read.events.push((event, raw.clone())),
            Err(e) => read.ignored.push(Ignored::Malformed {
                error: e.to_string(),
            }),
        }
    }
    let changes = entry.get("changes").and_then(Value::as_array);
    for change in changes.into_iter().flatten() {
        let field = change.get("field").and_then(Value::as_str).unwrap_or("");
        if HANDLED_CHANGES.contains(&field) {
            read.changes.push(change.clone());
        } else {
            read.ignored.push(Ignored::ChangeField {
                field: field.to_string(),
            });
        }
    }
    Some(read)
}

/// One entry of a POST read by [`read_plain`]: its Page, and its events each with the exact text
/// Meta sent for it (what is stored).
#[derive(Debug)]
pub struct PlainEntry<'a> {
    pub page_id: String,
    pub events: Vec<(MessagingEvent, &'a str)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainEnvelope<'a> {
    #[serde(borrow)]
    object: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    entry: Vec<PlainEntryFields<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainEntryFields<'a> {
    #[serde(default, deserialize_with = "lenient::id")]
    id: Option<String>,
    /// Not needed for messaging events (each has its own timestamp), only allowed.
    #[serde(default, rename = "time")]
    _time: serde::de::IgnoredAny,
    #[serde(default, borrow)]
    messaging: Vec<&'a serde_json::value::RawValue>,
    #[serde(default, borrow)]
    changes: Vec<&'a serde_json::value::RawValue>,
}

/// Reads a POST's body straight into its events when it is the usual kind: a `page` object whose
/// entries each name a Page and hold only messaging events the product knows. Each event is
/// read from its own text and keeps that text: no tree of the whole body is built, walked and
/// written back out (under a flood of webhooks, those were a tenth of the product's time).
/// Anything else (another object, Page changes, an entry field or an event kind the product does
/// not know, a malformed event) gives `None`: the caller reads the body with [`read_entry`], which
/// names what it leaves out.
pub fn read_plain(body: &[u8]) -> Option<Vec<PlainEntry<'_>>> {
    let envelope: PlainEnvelope = serde_json::from_slice(body).ok()?;
    if envelope.object != "page" {
        return None;
    }
    let mut entries = Vec::with_capacity(envelope.entry.len());
    for entry in envelope.entry {
        let page_id = entry.id.filter(|id| !id.is_empty())?;
        if !entry.changes.is_empty() {
            return None;
        }
        let mut events = Vec::with_capacity(entry.messaging.len());
        for raw in entry.messaging {
            let event: MessagingEvent = serde_json::from_str(raw.get()).ok()?;
            if event.kind() == EventKind::Unknown {
                return None;
            }
            events.push((event, raw.get()));
        }
        entries.push(PlainEntry { page_id, events });
    }
    Some(entries)
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Party {
    #[serde(default, deserialize_with = "lenient::id")]
    pub id: Option<String>,
    #[serde(default)]
    pub user_ref: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MessagingEvent {
    pub sender: Party,
    pub recipient: Party,
    #[serde(default, deserialize_with = "lenient::int_or_null")]
    pub timestamp: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
    #[serde(default)]
    pub referral: Option<Referral>,
    #[serde(default)]
    pub optin: Option<serde_json::Value>,
    #[serde(default)]
    pub delivery: Option<Delivery>,
    #[serde(default)]
    pub read: Option<Read>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Message {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub quick_reply: Option<QuickReplyPayload>,
    #[serde(default, deserialize_with = "lenient::flag")]
    pub is_echo: Option<bool>,
    #[serde(default)]
    pub app_id: Option<serde_json::Value>,
    #[serde(default)]
    pub metadata: Option<String>,
    #[serde(default)]
    pub attachments: Option<Vec<serde_json::Value>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct QuickReplyPayload {
    pub payload: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Postback {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub referral: Option<Referral>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Referral {
    #[serde(rename = "ref", default)]
    pub ref_: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Delivery {
    #[serde(default)]
    pub mids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::int_or_null")]
    pub watermark: i64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Read {
    #[serde(default, deserialize_with = "lenient::int_or_null")]
    pub watermark: i64,
}

crate::word_enum! {
    /// The kind of a messaging event, named as the product stores it (`webhook_events.kind`).
    pub enum EventKind("webhook event kind") {
        Message = "message",
        Echo = "echo",
        QuickReply = "quick_reply",
        Postback = "postback",
        Referral = "referral",
        Optin = "optin",
        Delivery = "delivery",
        Read = "read",
        Unknown = "unknown",
        /// Not a messaging event: a Page-level change (`entry[].changes[]`, the review of the
        /// Page's utility template), stored beside them. `MessagingEvent::kind` never says it.
        Change = "change",
    }
}

impl EventKind {
    /// Whether this interaction opens or renews the 24-hour standard messaging window.
    pub fn opens_window(self) -> bool {
        matches!(
            self,
            EventKind::Message | EventKind::QuickReply | EventKind::Postback | EventKind::Referral
        )
    }

    /// A delivery or read receipt: it only moves the Page's messages on, and nothing waits on it.
    pub fn is_receipt(self) -> bool {
        matches!(self, EventKind::Delivery | EventKind::Read)
    }
}

impl MessagingEvent {
    pub fn kind(&self) -> EventKind {
        if let Some(message) = &self.message {
            if message.is_echo == Some(true) {
                EventKind::Echo
            } else if message.quick_reply.is_some() {
                EventKind::QuickReply
            } else {
                EventKind::Message
            }
        } else if self.postback.is_some() {
            EventKind::Postback
        } else if self.referral.is_some() {
            EventKind::Referral
        } else if self.optin.is_some() {
            EventKind::Optin
        } else if self.delivery.is_some() {
            EventKind::Delivery
        } else if self.read.is_some() {
            EventKind::Read
        } else {
            EventKind::Unknown
        }
    }

    /// The `ref` of an m.me link, from a Get Started postback (new thread) or a referral
    /// event (existing thread).
    pub fn referral_ref(&self) -> Option<&str> {
        self.postback
            .as_ref()
            .and_then(|p| p.referral.as_ref())
            .or(self.referral.as_ref())
            .and_then(|r| r.ref_.as_deref())
    }

    /// A key that is the same for the same event delivered twice: the message id when there is
    /// one, otherwise sender, timestamp and kind (Meta's advice). The timestamp leads, so that
    /// the keys of receipts, stored by the hundred while a notice goes out, land at the end of
    /// the unique index instead of on a page each by PSID (issue #19). Keys written before it led
    /// differ from the same event's key now: a duplicate spanning the upgrade is processed twice,
    /// which changes nothing (processing is idempotent).
    pub fn dedupe_key(&self, page_id: &str) -> String {
        let mid = self
            .message
            .as_ref()
            .and_then(|m| m.mid.as_deref())
            .or_else(|| self.postback.as_ref().and_then(|p| p.mid.as_deref()));
        match mid {
            Some(mid) => format!("mid:{mid}"),
            None => {
                let extra = match (&self.delivery, &self.read) {
                    (Some(d), _) => format!(":{}", d.watermark),
                    (_, Some(r)) => format!(":{}", r.watermark),
                    _ => String::new(),
                };
                format!(
                    "{}:{page_id}:{}:{}{extra}",
                    self.timestamp,
                    self.sender
                        .id
                        .as_deref()
                        .or(self.sender.user_ref.as_deref())
                        .unwrap_or("-"),
                    self.kind().as_str()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_exact_bytes() {
        let secret = Secret::new("app-secret");
        let body = br#"{"object":"page","entry":[]}"#;
        let header = sign(&secret, body);
        assert_eq!(verify_signature(&secret, Some(&header), body), Ok(()));
        assert_eq!(
            verify_signature(
                &secret,
                Some(&header),
                b"{\"object\":\"page\",\"entry\":[] }"
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&Secret::new("other"), Some(&header), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&secret, None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(&secret, Some("sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(&secret, Some("sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn every_event_kind_parses() {
        let raw = r#"{"object":"page","entry":[{"id":"P","time":1,"messaging":[
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m1","text":"hi"}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":2,"message":{"mid":"m2","text":"Join","quick_reply":{"payload":"KW"}}},
          {"sender":{"id":"P"},"recipient":{"id":"U"},"timestamp":3,"message":{"mid":"m3","is_echo":true,"app_id":1,"text":"x"}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":4,"postback":{"mid":"m4","title":"Get Started","payload":"GET_STARTED","referral":{"ref":"abc","source":"SHORTLINK","type":"OPEN_THREAD"}}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":5,"referral":{"ref":"def","source":"SHORTLINK","type":"OPEN_THREAD"}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":6,"optin":{"ref":"o"}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":7,"delivery":{"mids":["m9"],"watermark":7}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":8,"read":{"watermark":8}},
          {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":9,"reaction":{"reaction":"love"}}
        ]}]}"#;
        let body: Value = serde_json::from_str(raw).unwrap();
        let events: Vec<MessagingEvent> = Vec::deserialize(&body["entry"][0]["messaging"]).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind()).collect();
        use EventKind::*;
        assert_eq!(
            kinds,
            [Message, QuickReply, Echo, Postback, Referral, Optin, Delivery, Read, Unknown]
        );
        assert_eq!(events[3].referral_ref(), Some("abc"));
        assert_eq!(events[4].referral_ref(), Some("def"));
        assert_eq!(events[0].dedupe_key("P"), "mid:m1");
        assert_eq!(events[4].dedupe_key("P"), "5:P:U:referral");
        assert_ne!(events[6].dedupe_key("P"), events[7].dedupe_key("P"));
    }

    #[test]
    fn test_payloads_with_every_value_a_string_are_read() {
        // As the app dashboard's "Test" button sends them.
        let entry = serde_json::json!({"id": "101", "time": "1527459824000", "messaging": [
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": "1527459824",
             "postback": {"mid": "m_1", "title": "Get Started", "payload": "GET_STARTED",
                          "referral": {"ref": "abc", "source": "SHORTLINK", "type": "OPEN_THREAD"}}},
            {"sender": {"id": 2001}, "recipient": {"id": 101}, "timestamp": 1527459825,
             "message": {"mid": "m_2", "text": "hi", "is_echo": "false"}},
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": "1527459826",
             "delivery": {"mids": ["m_3"], "watermark": "1527459826"}},
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": "1527459827",
             "read": {"watermark": "1527459827"}}
        ]});
        let read = read_entry(&entry).unwrap();
        assert_eq!(read.ignored, []);
        assert_eq!(
            (read.page_id.as_str(), read.time),
            ("101", 1_527_459_824_000)
        );
        let events: Vec<&MessagingEvent> = read.events.iter().map(|(e, _)| e).collect();
        assert_eq!(
            events.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
            [1_527_459_824, 1_527_459_825, 1_527_459_826, 1_527_459_827]
        );
        assert_eq!(events[0].kind(), EventKind::Postback);
        assert_eq!(events[0].referral_ref(), Some("abc"));
        assert_eq!(
            events[1].sender.id.as_deref(),
            Some("2001"),
            "numeric id read"
        );
        assert_eq!(events[1].kind(), EventKind::Message);
        assert_eq!(
            events[2].delivery.as_ref().unwrap().watermark,
            1_527_459_826
        );
        assert_eq!(events[3].read.as_ref().unwrap().watermark, 1_527_459_827);
        // A string that is not a number is still refused, for that event only.
        let entry = serde_json::json!({"id": 101, "messaging": [
            {"sender": {"id": "1"}, "recipient": {"id": "101"}, "timestamp": "soon", "message": {"mid": "x", "text": "a"}},
            {"sender": {"id": "1"}, "recipient": {"id": "101"}, "timestamp": "5", "message": {"mid": "y", "text": "b"}}
        ]});
        let read = read_entry(&entry).unwrap();
        assert_eq!(read.page_id, "101");
        assert_eq!(read.events.len(), 1);
        assert!(matches!(read.ignored[..], [Ignored::Malformed { .. }]));
    }

    #[test]
    fn standby_is_ignored() {
        let entry = serde_json::json!({"id": "101", "time": 1, "standby": [
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": 1, "message": {"mid": "m", "text": "hi"}}
        ]});
        let read = read_entry(&entry).unwrap();
        assert!(read.events.is_empty() && read.changes.is_empty());
        assert_eq!(
            read.ignored,
            [Ignored::EntryField {
                key: "standby".into()
            }]
        );
        assert_eq!(read.ignored[0].to_string(), "entry field `standby`");
    }

    #[test]
    fn an_unknown_event_kind_is_ignored_beside_a_valid_event() {
        let entry = serde_json::json!({"id": "101", "time": 1, "messaging": [
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": 1,
             "reaction": {"reaction": "love", "emoji": "\u{2764}", "action": "react", "mid": "m_0"}},
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": 2,
             "pass_thread_control": {"new_owner_app_id": "123", "metadata": ""}},
            {"sender": {"id": "2001"}, "recipient": {"id": "101"}, "timestamp": 3,
             "postback": {"mid": "m_1", "title": "Get Started", "payload": "GET_STARTED"}}
        ], "changes": [
            {"field": "feed", "value": {"item": "status"}},
            {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
        ]});
        let read = read_entry(&entry).unwrap();
        assert_eq!(read.events.len(), 1);
        assert_eq!(read.events[0].0.kind(), EventKind::Postback);
        assert_eq!(read.events[0].1["postback"]["mid"], "m_1", "raw kept");
        assert_eq!(read.changes.len(), 1);
        assert_eq!(
            read.ignored,
            [
                Ignored::UnknownEvent {
                    kinds: "reaction".into()
                },
                Ignored::UnknownEvent {
                    kinds: "pass_thread_control".into()
                },
                Ignored::ChangeField {
                    field: "feed".into()
                },
            ]
        );
        // An entry without a Page id names nothing the product can use.
        assert_eq!(read_entry(&serde_json::json!({"time": 1})), None);
    }
}
