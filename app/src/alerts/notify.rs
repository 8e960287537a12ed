//! New alerts told to `ALERT_WEBHOOK_URL` as `{"text": ...}`, the shape chat tools' incoming
//! webhooks take (Slack, Mattermost, Rocket.Chat, Google Chat); retried with a growing delay.

use super::store;
use crate::db::now_ms;
use crate::state::AppState;
use std::sync::OnceLock;

/// Tries of one alert before it is given up (the admin still sees it in the product).
pub const MAX_ATTEMPTS: i64 = 6;
/// The first retry's delay; each next one doubles it.
const RETRY_BASE_MS: i64 = 30_000;

/// The hand-off webhooks' client (10-second timeout, no redirects followed), made once.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(crate::handoff::courier::http_client)
}

/// Sends the alerts that are due. Answers how many the webhook took.
pub async fn send_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let Some(url) = &state.settings.alerts.webhook_url else {
        return Ok(0);
    };
    let now = now_ms();
    let mut taken = 0;
    for alert in store::due(&state.db, now).await? {
        let text = format!("Giveaway alert: {}", alert.message);
        let sent = client()
            .post(url.as_str())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await;
        let ok = match sent {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::warn!(alert = %alert.key, status = %r.status(), "alert webhook refused");
                false
            }
            Err(e) => {
                tracing::warn!(alert = %alert.key, error = %e, "alert webhook unreachable");
                false
            }
        };
        if ok {
            taken += 1;
            store::notified(&state.db, &alert.key, None, false).await?;
        } else {
            let attempts = alert.notify_attempts + 1;
            let gave_up = attempts >= MAX_ATTEMPTS;
            let next = now + RETRY_BASE_MS * (1 << (attempts - 1).min(10));
            store::notified(&state.db, &alert.key, Some(next), gave_up).await?;
        }
    }
    Ok(taken)
}
