//! `/webhooks/messenger`: Meta's verification handshake, and the POST that brings every
//! Messenger event.
//!
//! A POST is trusted only after its signature checks out over the exact bytes received. Its
//! events are stored (each once, by a dedupe key; `intake`) before Meta gets its 200, so nothing
//! is lost if this process dies right after; `inbox` processes them afterwards.

use super::intake::Stored;
use super::webhook::{read_entry, verify_signature, EventKind, Ignored};
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
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return (StatusCode::BAD_REQUEST, "body is not a JSON object").into_response(),
    };
    if envelope.get("object").and_then(Value::as_str) != Some("page") {
        tracing::info!(object = ?envelope.get("object"), "webhook for another object ignored");
        return (StatusCode::OK, "EVENT_RECEIVED").into_response();
    }
    let rows = events_of(&envelope);
    match state.webhook_intake.store(&state.db, rows).await {
        Ok(()) => {
            state.inbox.notify_one();
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(e) => {
            // Not stored, so not acknowledged: Meta delivers it again.
            tracing::error!(error = %e, "webhook events could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

fn events_of(envelope: &Value) -> Vec<Stored> {
    let mut rows = Vec::new();
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
            rows.push(Stored {
                dedupe_key: event.dedupe_key(&page_id),
                sender_id: event.sender.id.clone(),
                kind: event.kind(),
                timestamp: event.timestamp,
                payload: raw.to_string(),
                page_id: page_id.clone(),
            });
        }
        // Page-level changes (utility template status updates).
        for change in read.changes {
            let payload = change.to_string();
            let digest = hex::encode(Sha256::digest(payload.as_bytes()));
            rows.push(Stored {
                dedupe_key: format!("change:{page_id}:{digest}"),
                sender_id: None,
                kind: EventKind::Change,
                timestamp: read.time,
                payload,
                page_id: page_id.clone(),
            });
        }
    }
    rows
}
