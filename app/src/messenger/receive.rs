//! `/webhooks/messenger`: Meta's verification handshake, and the POST that brings every
//! Messenger event.
//!
//! A POST is trusted only after its signature checks out over the exact bytes received. Its
//! events are stored (each once, by a dedupe key; `intake`) before Meta gets its 200, so nothing
//! is lost if this process dies right after; `inbox` processes them afterwards. Its delivery and
//! read receipts are applied by then instead, and not stored.

use super::intake::{Arrived, Receipt, Stored};
use super::webhook::{
    read_entry, read_plain, verify_signature, EventKind, Ignored, MessagingEvent, PlainEntry,
};
use crate::pages::FacebookPageId;
use crate::state::AppState;
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/messenger", get(verify).post(receive))
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn verify(State(state): State<AppState>, Query(query): Query<Handshake>) -> Response {
    let expected = state.settings.facebook.verify_token.expose().as_bytes();
    let token_ok = query
        .verify_token
        .as_deref()
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected)));
    match (query.mode.as_deref(), token_ok, query.challenge) {
        (Some("subscribe"), true, Some(challenge)) => (StatusCode::OK, challenge).into_response(),
        _ => (StatusCode::FORBIDDEN, "verification refused").into_response(),
    }
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = verify_signature(&state.settings.facebook.app_secret, signature, &body) {
        tracing::warn!(error = %e, "webhook refused: bad signature");
        return (StatusCode::FORBIDDEN, format!("webhook refused: {e}")).into_response();
    }
    let arrived = match read_plain(&body) {
        Some(entries) => plain_arrived(entries),
        None => {
            let envelope: Value = match serde_json::from_slice(&body) {
                Ok(v @ Value::Object(_)) => v,
                _ => return (StatusCode::BAD_REQUEST, "body is not a JSON object").into_response(),
            };
            if envelope.get("object").and_then(Value::as_str) != Some("page") {
                tracing::info!(object = ?envelope.get("object"), "webhook for another object ignored");
                return (StatusCode::OK, "EVENT_RECEIVED").into_response();
            }
            events_of(&envelope)
        }
    };
    let to_process = !arrived.events.is_empty();
    match state.webhook_intake.store(&state.db, arrived).await {
        Ok(()) => {
            if to_process {
                state.inbox.notify_one();
            }
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(e) => {
            // Not stored (or its receipts not applied), so not acknowledged: Meta delivers it
            // again, and doing either twice changes nothing.
            tracing::error!(error = %e, "webhook events could not be stored or receipts applied");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

/// What a POST of the usual kind brought (see [`read_plain`]): each event stored as Meta wrote it.
fn plain_arrived(entries: Vec<PlainEntry<'_>>) -> Arrived {
    let mut arrived = Arrived::default();
    for entry in entries {
        let page_id = FacebookPageId::from(entry.page_id);
        for (event, raw) in entry.events {
            arrive(&mut arrived, &page_id, event, raw);
        }
    }
    arrived
}

/// Where an event goes. Receipts only move the Page's messages on (sent, delivered, read) and
/// nothing else waits on them: they are applied at once and not kept. Storing each (an insert
/// into four indexes, the inbox's read, the update marking it processed) was over a third of the
/// CPU a notice cost on SQLite (README, "Fan-out"). Everything else is stored, to be processed
/// in order by the inbox.
fn arrive(
    arrived: &mut Arrived,
    page_id: &FacebookPageId,
    event: MessagingEvent,
    raw: impl ToString,
) {
    if event.kind().is_receipt() {
        arrived.receipts.push(Receipt {
            page_id: page_id.clone(),
            event,
        });
        return;
    }
    arrived.events.push(Stored {
        dedupe_key: event.dedupe_key(page_id),
        kind: event.kind(),
        timestamp: event.timestamp,
        sender_id: event.sender.id,
        payload: raw.to_string(),
        page_id: page_id.clone(),
    });
}

/// What any other POST brought, read as a tree: what the product does not know is named in the
/// log and left out.
fn events_of(envelope: &Value) -> Arrived {
    let mut arrived = Arrived::default();
    let entries = envelope.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let Some(read) = read_entry(entry) else {
            tracing::warn!("webhook entry without a Page id ignored");
            continue;
        };
        let page_id = FacebookPageId::from(read.page_id);
        // What the product does not know is left out, one line each, and the rest goes on.
        for ignored in &read.ignored {
            match ignored {
                Ignored::Malformed { .. } => {
                    tracing::warn!(page = %page_id, "webhook: {ignored} ignored")
                }
                _ => tracing::info!(page = %page_id, "webhook: {ignored} ignored"),
            }
        }
        for (event, raw) in read.events {
            arrive(&mut arrived, &page_id, event, raw);
        }
        // Page-level changes (utility template status updates).
        for change in read.changes {
            let payload = change.to_string();
            let digest = hex::encode(Sha256::digest(payload.as_bytes()));
            arrived.events.push(Stored {
                dedupe_key: format!("change:{page_id}:{digest}"),
                sender_id: None,
                kind: EventKind::Change,
                timestamp: read.time,
                payload,
                page_id: page_id.clone(),
            });
        }
    }
    arrived
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What was stored (each row, its payload read back: the text differs, as sent or rewritten)
    /// and the receipts to apply.
    type Said = (
        Vec<(String, String, Option<String>, String, i64, Value)>,
        Vec<(String, MessagingEvent)>,
    );

    fn said(arrived: &Arrived) -> Said {
        let rows = arrived
            .events
            .iter()
            .map(|r| {
                (
                    r.dedupe_key.clone(),
                    r.page_id.to_string(),
                    r.sender_id.clone(),
                    r.kind.as_str().to_string(),
                    r.timestamp,
                    serde_json::from_str(&r.payload).unwrap(),
                )
            })
            .collect();
        let receipts = arrived
            .receipts
            .iter()
            .map(|r| (r.page_id.to_string(), r.event.clone()))
            .collect();
        (rows, receipts)
    }

    fn tree_rows(body: &str) -> Arrived {
        events_of(&serde_json::from_str(body).unwrap())
    }

    #[test]
    fn plain_bodies_give_the_rows_the_tree_gives() {
        let bodies = [
            // Several entries and events, the kinds Meta sends most.
            r#"{"object":"page","entry":[
              {"id":"101","time":1800000000000,"messaging":[
                {"sender":{"id":"9001"},"recipient":{"id":"101"},"timestamp":1800000000001,
                 "message":{"mid":"m_1","text":"hello","quick_reply":{"payload":"KW:yes"}}},
                {"sender":{"id":"9002"},"recipient":{"id":"101"},"timestamp":1800000000002,
                 "postback":{"mid":"m_2","title":"Get Started","payload":"GET_STARTED",
                   "referral":{"ref":"abc","source":"SHORTLINK","type":"OPEN_THREAD"}}},
                {"sender":{"id":"9003"},"recipient":{"id":"101"},"timestamp":1800000000003,
                 "delivery":{"mids":["m_a","m_b"],"watermark":1800000000000}}]},
              {"id":102,"time":1800000000004,"messaging":[
                {"sender":{"id":"9004"},"recipient":{"id":"102"},"timestamp":1800000000005,
                 "read":{"watermark":1800000000004}},
                {"sender":{"id":"9005"},"recipient":{"id":"102"},"timestamp":1800000000006,
                 "referral":{"ref":"xyz","source":"SHORTLINK","type":"OPEN_THREAD"}}]}]}"#,
            // The app dashboard's samples: every value a string.
            r#"{"object":"page","entry":[{"id":"101","time":"1527459824","messaging":[
                {"sender":{"id":"9001"},"recipient":{"id":"101"},"timestamp":"1527459824",
                 "message":{"mid":"m_3","text":"hi","is_echo":"false"}}]}]}"#,
            // An entry with no events at all.
            r#"{"object":"page","entry":[{"id":"101","time":1,"messaging":[]}]}"#,
        ];
        for body in bodies {
            let plain = read_plain(body.as_bytes()).expect("read as plain");
            let arrived = plain_arrived(plain);
            assert_eq!(said(&arrived), said(&tree_rows(body)), "{body}");
        }
        let arrived = plain_arrived(read_plain(bodies[0].as_bytes()).unwrap());
        assert_eq!(
            (arrived.events.len(), arrived.receipts.len()),
            (3, 2),
            "receipts are applied, not stored"
        );
        // Stored as sent: the exact text of the event, not a rewriting of it.
        let body = r#"{"object":"page","entry":[{"id":"101","messaging":[ {"timestamp":5, "sender":{"id":"9"},"recipient":{"id":"101"},"message":{"mid":"m","text":"x"}} ]}]}"#;
        let arrived = plain_arrived(read_plain(body.as_bytes()).unwrap());
        assert_eq!(
            arrived.events[0].payload,
            r#"{"timestamp":5, "sender":{"id":"9"},"recipient":{"id":"101"},"message":{"mid":"m","text":"x"}}"#
        );
    }

    #[test]
    fn anything_unusual_is_read_as_a_tree() {
        let unusual = [
            // Another object, not a JSON object, no entries.
            r#"{"object":"instagram","entry":[]}"#,
            r#"[1,2]"#,
            r#"{"object":"page"}"#,
            // A field beside the envelope's, an entry field the product does not read.
            r#"{"object":"page","entry":[],"extra":1}"#,
            r#"{"object":"page","entry":[{"id":"101","standby":[{"sender":{"id":"9"}}]}]}"#,
            // No Page id, an empty one.
            r#"{"object":"page","entry":[{"time":1,"messaging":[]}]}"#,
            r#"{"object":"page","entry":[{"id":"","messaging":[]}]}"#,
            // Page changes (template reviews).
            r#"{"object":"page","entry":[{"id":"101","changes":[{"field":"message_template_status_update","value":{}}]}]}"#,
            // An event kind the product does not know, a malformed event.
            r#"{"object":"page","entry":[{"id":"101","messaging":[{"sender":{"id":"9"},"recipient":{"id":"101"},"timestamp":1,"reaction":{"mid":"m"}}]}]}"#,
            r#"{"object":"page","entry":[{"id":"101","messaging":[{"sender":{"id":"9"},"recipient":{"id":"101"},"timestamp":{"a":1},"message":{"mid":"m"}}]}]}"#,
        ];
        for body in unusual {
            assert!(read_plain(body.as_bytes()).is_none(), "{body}");
        }
    }
}
