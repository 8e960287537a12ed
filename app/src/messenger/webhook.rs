//! Messenger webhooks: signature verification over the raw body, and the event shapes from
//! ../shared/docs/messenger-platform.md §6.

use crate::secrets::Secret;
use hmac::{Hmac, Mac};
use serde::Deserialize;
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

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Envelope {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Entry {
    pub id: String,
    #[serde(default)]
    pub time: i64,
    #[serde(default)]
    pub messaging: Vec<MessagingEvent>,
    /// Page-level change notifications (template status updates arrive here).
    #[serde(default)]
    pub changes: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Party {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user_ref: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MessagingEvent {
    pub sender: Party,
    pub recipient: Party,
    #[serde(default)]
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
    #[serde(default)]
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
    pub watermark: i64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Read {
    pub watermark: i64,
}

/// The kind of a messaging event, named as the product stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Message,
    Echo,
    QuickReply,
    Postback,
    Referral,
    Optin,
    Delivery,
    Read,
    Unknown,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::Echo => "echo",
            EventKind::QuickReply => "quick_reply",
            EventKind::Postback => "postback",
            EventKind::Referral => "referral",
            EventKind::Optin => "optin",
            EventKind::Delivery => "delivery",
            EventKind::Read => "read",
            EventKind::Unknown => "unknown",
        }
    }

    /// Whether this interaction opens or renews the 24-hour standard messaging window.
    pub fn opens_window(self) -> bool {
        matches!(
            self,
            EventKind::Message | EventKind::QuickReply | EventKind::Postback | EventKind::Referral
        )
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
    /// one, otherwise sender, timestamp and kind (Meta's advice).
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
                    "{page_id}:{}:{}:{}{extra}",
                    self.sender
                        .id
                        .as_deref()
                        .or(self.sender.user_ref.as_deref())
                        .unwrap_or("-"),
                    self.timestamp,
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
        let envelope: Envelope = serde_json::from_str(raw).unwrap();
        let kinds: Vec<_> = envelope.entry[0]
            .messaging
            .iter()
            .map(|e| e.kind())
            .collect();
        use EventKind::*;
        assert_eq!(
            kinds,
            [Message, QuickReply, Echo, Postback, Referral, Optin, Delivery, Read, Unknown]
        );
        let events = &envelope.entry[0].messaging;
        assert_eq!(events[3].referral_ref(), Some("abc"));
        assert_eq!(events[4].referral_ref(), Some("def"));
        assert_eq!(events[0].dedupe_key("P"), "mid:m1");
        assert_eq!(events[4].dedupe_key("P"), "P:U:5:referral");
        assert_ne!(events[6].dedupe_key("P"), events[7].dedupe_key("P"));
    }
}
