//! The health job: each round asks what is wrong now, raises what is new and clears what is no
//! longer found. One instance of a cluster runs it at a time (`alert_lease`).

use super::{store, AlertKind, Raised};
use crate::db::now_ms;
use crate::pages::{reach::OutsideWindow, Health};
use crate::state::AppState;

/// Entries handed out this long ago, still pending, with no webhook from their Page since: the
/// webhooks have stopped (Meta retries a failed delivery for hours, so a gap this long is not a
/// hiccup).
pub const WEBHOOK_SILENCE_MS: i64 = 30 * 60 * 1000;
/// A Page's data access ending this soon is announced.
const EXPIRY_NOTICE_MS: i64 = 7 * 24 * 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// One round of checks: raises what is wrong now (each new one also told to the alert webhook)
/// and clears what is not. Answers the keys raised anew.
pub async fn check_now(state: &AppState) -> Result<Vec<String>, sqlx::Error> {
    let db = &state.db;
    let now = now_ms();
    let open_before = store::open_keys(db).await?;
    let mut found: Vec<Raised> = Vec::new();
    // Open alerts a check could not judge this round (Meta unreachable) stay as they are.
    let mut unknown: Vec<String> = Vec::new();
    for page in crate::pages::store::watched(db).await? {
        let page_id = Some(page.id.to_string());
        let raise = |kind: AlertKind, campaign_id: Option<String>, message: String| Raised {
            key: format!(
                "{}:{}",
                kind.as_str(),
                campaign_id.as_deref().unwrap_or(page.id.as_str())
            ),
            kind,
            page_id: page_id.clone(),
            campaign_id,
            message,
        };
        let name = &page.name;
        let health = crate::pages::health_now(state, &page.facebook_page_id).await?;
        let token_works = matches!(&health, Some(h) if !matches!(h, Health::Reconnect(_)));
        match health {
            Some(Health::Reconnect(why)) => found.push(raise(
                AlertKind::Token,
                None,
                format!(
                    "Facebook no longer accepts {name}'s access ({}). Nothing can be sent for it: reconnect the Page.",
                    why.replace('_', " ")
                ),
            )),
            Some(_) => {
                if let Some(ends) = page.data_access_expires_at.filter(|t| *t > 0) {
                    let ends_ms = ends * 1000;
                    if ends_ms - now < EXPIRY_NOTICE_MS {
                        found.push(raise(
                            AlertKind::TokenExpiring,
                            None,
                            format!(
                                "{name}'s data access ends on {} (UTC): reconnect the Page before then to keep sending.",
                                crate::campaigns::store::time_in("UTC", ends_ms, "%B %-d at %H:%M")
                            ),
                        ));
                    }
                }
            }
            None => unknown.extend(
                [AlertKind::Token, AlertKind::TokenExpiring]
                    .map(|k| format!("{}:{}", k.as_str(), page.id)),
            ),
        }
        if let Some(reason) = &page.paused_reason {
            found.push(raise(
                AlertKind::Paused,
                None,
                format!(
                    "Sends for {name} are paused: {reason}. Fix it at Facebook, then send again."
                ),
            ));
        }
        let outside = crate::pages::reach::outside_window(db, &page.id).await?;
        if let OutsideWindow::Refused(why) | OutsideWindow::CreationFailed(why) = &outside {
            found.push(raise(
                AlertKind::Template,
                None,
                format!(
                    "Meta refused {name}'s utility template ({why}): people who last wrote more than 24 hours ago get no notice. Ask Meta again once it is fixed."
                ),
            ));
        }
        // Outside the window, the template reaches people unless Meta refused it or the
        // permission is missing (not created or pending: it is made and checked with the notice).
        let outside_reached = !matches!(
            outside,
            OutsideWindow::Refused(_)
                | OutsideWindow::CreationFailed(_)
                | OutsideWindow::NeedsPermission
        );
        // The oldest entry still waiting among the Page's live campaigns, for the webhook check.
        let mut oldest_waiting: Option<i64> = None;
        let live = crate::campaigns::store::live_on_page(db, &page.id, now).await?;
        let any_live = !live.is_empty();
        for (campaign_id, title) in live {
            let waiting = crate::entries::store::oldest_pending(
                db,
                &campaign_id,
                now - DAY_MS,
                now - WEBHOOK_SILENCE_MS,
            )
            .await?;
            if let Some(w) = waiting {
                oldest_waiting = Some(oldest_waiting.map_or(w, |o| o.min(w)));
            }
            let since = now - crate::messenger::policy::WINDOW_MS;
            let r = crate::entries::store::reach(db, &campaign_id, since).await?;
            let total = r.inside + r.outside + r.unreachable + r.opted_out;
            let reached = r.inside + if outside_reached { r.outside } else { 0 };
            let percent = state.settings.alerts.reach_percent as i64;
            if matches!(outside, OutsideWindow::NeedsPermission) && r.outside > 0 {
                // The cause named, with its fix, rather than only the share it costs.
                found.push(raise(
                    AlertKind::Permission,
                    Some(campaign_id),
                    format!(
                        "\"{title}\": {} last wrote to {name} over 24 hours ago, and the app lacks the pages_utility_messaging permission for it: they get no end notice. Grant the permission (Facebook asks you again).",
                        match r.outside {
                            1 => "1 entrant".to_string(),
                            n => format!("{n} entrants"),
                        }
                    ),
                ));
            } else if total > 0 && reached * 100 < total * percent {
                found.push(raise(
                    AlertKind::Reach,
                    Some(campaign_id),
                    format!(
                        "\"{title}\": its end notice would reach {reached} of {total} entrants today (under {percent}%). See who it reaches on the campaign."
                    ),
                ));
            }
        }
        // While a campaign takes entries, Graph is asked whether the app still gets the Page's
        // webhooks (an admin can remove it in the Page's settings): without them no entry is
        // confirmed. With a dead token the token's alert says it all.
        let subscribed = if any_live && token_works {
            crate::pages::webhooks_subscribed(state, &page.facebook_page_id).await?
        } else {
            Some(true)
        };
        // Asked once per Page, and only when an entry waits.
        let silent = match oldest_waiting {
            Some(oldest) => {
                // Receipts count too: they are applied on arrival and not kept with the rest.
                let event = crate::messenger::inbox::last_received(db, &page.facebook_page_id);
                let receipt = crate::pages::store::receipts_received(db, &page.facebook_page_id);
                event
                    .await?
                    .max(receipt.await?)
                    .is_none_or(|last| last < oldest)
            }
            None => false,
        };
        if subscribed == Some(false) {
            found.push(raise(
                AlertKind::Webhooks,
                None,
                format!(
                    "Facebook no longer sends this app {name}'s Messenger webhooks (the app's subscription to the Page was removed): new entries cannot be confirmed. Reconnect the Page (it subscribes the app again)."
                ),
            ));
        } else if silent {
            found.push(raise(
                AlertKind::Webhooks,
                None,
                format!(
                    "No webhook from {name} for over {} minutes while entries wait to be confirmed: Facebook may no longer send this app the Page's messages. Reconnect the Page (it subscribes the app again).",
                    WEBHOOK_SILENCE_MS / 60_000
                ),
            ));
        } else if subscribed.is_none() {
            unknown.push(format!("{}:{}", AlertKind::Webhooks.as_str(), page.id));
        }
    }

    let notify = state.settings.alerts.webhook_url.is_some();
    let mut still: Vec<String> = unknown
        .into_iter()
        .filter(|k| open_before.contains(k))
        .collect();
    let mut new = Vec::new();
    for alert in &found {
        if store::raise(db, alert, now, notify).await? {
            tracing::warn!(alert = %alert.key, message = %alert.message, "alert raised");
            new.push(alert.key.clone());
        }
        still.push(alert.key.clone());
    }
    let gone: Vec<String> = open_before
        .into_iter()
        .filter(|k| !still.contains(k))
        .collect();
    let cleared = store::clear(db, &gone, now).await?;
    if cleared > 0 {
        tracing::info!(cleared, "alerts cleared");
    }
    Ok(new)
}

/// Runs the checks every `HEALTH_CHECK_SECONDS` (or at once when woken: a Page reconnected or
/// resumed), while this instance holds the lease, and tells the alert webhook what is due.
pub async fn worker(state: AppState) {
    let every = std::time::Duration::from_secs(state.settings.alerts.check_seconds.max(1));
    let lease_ms = 2 * every.as_millis() as i64 + 60_000;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {},
            _ = state.health.notified() => {},
        }
        let now = now_ms();
        match store::take_lease(&state.db, &state.instance_id, now, now + lease_ms).await {
            Ok(true) => {
                if let Err(e) = check_now(&state).await {
                    tracing::warn!(error = %e, "health checks failed; tried again next round");
                }
                // Told by the lease holder only: one POST per alert in a cluster.
                if let Err(e) = super::notify::send_due(&state).await {
                    tracing::warn!(error = %e, "alert webhook not run");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "health checks' lease not taken"),
        }
    }
}
