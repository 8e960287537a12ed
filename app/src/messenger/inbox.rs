//! `/webhooks/messenger`: Meta's verification handshake, and the POST that brings every
//! Messenger event.
//!
//! A POST is trusted only after its signature checks out over the exact bytes received. Its
//! events are stored (each once, by a dedupe key) before Meta gets its 200, so nothing is lost if
//! this process dies right after; they are processed afterwards by this instance's worker, in
//! event-time order. Processing is idempotent and an event is marked done only once it took
//! effect, so a crash, a duplicate delivery or a second instance changes nothing.

use super::webhook::{verify_signature, EventKind, MessagingEvent};
use crate::{db::new_id, db::now_ms, state::AppState};
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
use std::time::Duration;
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

/// One event as stored.
struct Stored {
    dedupe_key: String,
    page_id: String,
    sender_id: Option<String>,
    kind: &'static str,
    timestamp: i64,
    payload: String,
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
    match store(&state, &rows).await {
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
        let Some(page_id) = entry.get("id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }) else {
            tracing::warn!("webhook entry without a Page id ignored");
            continue;
        };
        let messaging = entry.get("messaging").and_then(Value::as_array);
        for raw in messaging.into_iter().flatten() {
            let event: MessagingEvent = match serde_json::from_value(raw.clone()) {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(error = %e, page = %page_id, "malformed messaging event ignored");
                    continue;
                }
            };
            let kind = event.kind();
            if kind == EventKind::Unknown {
                tracing::info!(page = %page_id, "messaging event of an unknown kind ignored");
                continue;
            }
            rows.push(Stored {
                dedupe_key: event.dedupe_key(&page_id),
                sender_id: event.sender.id.clone(),
                kind: kind.as_str(),
                timestamp: event.timestamp,
                payload: raw.to_string(),
                page_id: page_id.clone(),
            });
        }
        // Page-level changes (utility template status updates).
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let payload = change.to_string();
            let digest = hex::encode(Sha256::digest(payload.as_bytes()));
            rows.push(Stored {
                dedupe_key: format!("change:{page_id}:{digest}"),
                sender_id: None,
                kind: "change",
                timestamp: entry
                    .get("time")
                    .and_then(Value::as_i64)
                    .unwrap_or_default(),
                payload,
                page_id: page_id.clone(),
            });
        }
    }
    rows
}

async fn store(state: &AppState, rows: &[Stored]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    for row in rows {
        sqlx::query(
            "INSERT INTO webhook_events (id, dedupe_key, page_id, sender_id, kind, event_timestamp,
                                         payload, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(&row.dedupe_key)
        .bind(&row.page_id)
        .bind(&row.sender_id)
        .bind(row.kind)
        .bind(row.timestamp)
        .bind(&row.payload)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Processes stored events until none is left, then waits to be woken (or sweeps every 30 s, for
/// events another instance stored or a failure left behind). Runs until the server stops.
pub async fn worker(state: AppState) {
    loop {
        if let Err(e) = process_pending(&state).await {
            tracing::warn!(error = %e, "webhook processing paused");
        }
        tokio::select! {
            _ = state.inbox.notified() => {},
            _ = tokio::time::sleep(Duration::from_secs(30)) => {},
        }
    }
}

#[derive(sqlx::FromRow)]
struct Pending {
    id: String,
    page_id: String,
    kind: String,
    payload: String,
}

/// Processes every stored, unprocessed event in event-time order; returns how many took effect.
/// Tests call it directly instead of waiting for the worker.
pub async fn process_pending(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    loop {
        let batch: Vec<Pending> = sqlx::query_as(
            "SELECT id, page_id, kind, payload FROM webhook_events WHERE processed_at IS NULL
             ORDER BY event_timestamp, received_at LIMIT 200",
        )
        .fetch_all(&state.db)
        .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        for event in &batch {
            match process(state, event).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE webhook_events SET processed_at = $1, error = NULL WHERE id = $2",
                    )
                    .bind(now_ms())
                    .bind(&event.id)
                    .execute(&state.db)
                    .await?;
                    done += 1;
                }
                Err(e) => {
                    // Left unprocessed for the next sweep; the others of the batch go on.
                    sqlx::query("UPDATE webhook_events SET error = $1 WHERE id = $2")
                        .bind(e.to_string())
                        .bind(&event.id)
                        .execute(&state.db)
                        .await?;
                    return Err(e);
                }
            }
        }
    }
}

async fn process(state: &AppState, stored: &Pending) -> Result<(), sqlx::Error> {
    let Some(page_row_id) = page_row(state, &stored.page_id).await? else {
        tracing::debug!(page = %stored.page_id, "event for a Page that is not connected");
        return Ok(());
    };
    if stored.kind == "change" {
        // Page-level: the review of the Page's utility template.
        let change: Value = serde_json::from_str(&stored.payload).unwrap_or_default();
        return crate::notices::templates::on_change(state, &page_row_id, &change).await;
    }
    let Ok(event) = serde_json::from_str::<MessagingEvent>(&stored.payload) else {
        return Ok(());
    };
    let Some(psid) = event.sender.id.clone() else {
        return Ok(());
    };
    let kind = event.kind();
    match kind {
        EventKind::Echo | EventKind::Unknown => Ok(()),
        EventKind::Delivery => {
            let delivery = event.delivery.as_ref();
            let watermark = delivery.map_or(0, |d| d.watermark);
            let mids = delivery.and_then(|d| d.mids.as_deref()).unwrap_or_default();
            let at = if watermark > 0 {
                watermark
            } else {
                event.timestamp
            };
            super::outbox::delivered_mids(&state.db, &page_row_id, mids, at).await?;
            super::outbox::delivered_until(&state.db, &page_row_id, &psid, watermark).await?;
            Ok(())
        }
        EventKind::Read => {
            let watermark = event.read.as_ref().map_or(0, |r| r.watermark);
            super::outbox::read_until(&state.db, &page_row_id, &psid, watermark).await?;
            Ok(())
        }
        _ => crate::entries::on_interaction(state, &page_row_id, &stored.page_id, &event).await,
    }
}

async fn page_row(state: &AppState, facebook_page_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM pages WHERE facebook_page_id = $1")
        .bind(facebook_page_id)
        .fetch_optional(&state.db)
        .await
}
