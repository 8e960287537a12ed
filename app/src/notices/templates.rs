//! Each Page's utility template: what carries a notice to someone outside the 24-hour window
//! (facts file §0, §3). Created through the Graph API when the Page is connected or on first
//! use; Meta reviews it and announces the outcome by webhook (`message_template_status_update`).
//! Utility templates must not carry marketing, so the body is a plain update with two fields.

use crate::db::{now_ms, Db};
use crate::messenger::graph::SendRequest;
use crate::messenger::policy::TemplateState;
use crate::secrets::Secret;
use crate::state::AppState;

pub const NAME: &str = "giveaway_update";
pub const LANGUAGE: &str = "en_US";
pub const BODY: &str = "Update on {{campaign}}: {{details}}";
/// Meta allows 1024 characters in a template body; the filled-in details stay well inside.
const DETAILS_MAX: usize = 900;

/// A pending review older than this is asked of Meta directly, in case its webhook was lost.
const RECHECK_AFTER_MS: i64 = 60_000;

/// The notice as a utility template send.
pub fn request(psid: &str, campaign_title: &str, details: &str) -> SendRequest {
    let details: String = details.chars().take(DETAILS_MAX).collect();
    SendRequest::utility(
        psid,
        NAME,
        LANGUAGE,
        &[("campaign", campaign_title), ("details", &details)],
    )
}

pub async fn state_of(db: &Db, page_row_id: &str) -> Result<TemplateState, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM page_templates WHERE page_id = $1 AND name = $2 AND language = $3",
    )
    .bind(page_row_id)
    .bind(NAME)
    .bind(LANGUAGE)
    .fetch_optional(db)
    .await?;
    Ok(TemplateState::of(status.as_deref()))
}

async fn store(
    db: &Db,
    page_row_id: &str,
    template_id: Option<&str>,
    status: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO page_templates (page_id, name, language, template_id, status, reason, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (page_id, name, language) DO UPDATE SET
           template_id = COALESCE(excluded.template_id, page_templates.template_id),
           status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at",
    )
    .bind(page_row_id)
    .bind(NAME)
    .bind(LANGUAGE)
    .bind(template_id)
    .bind(status)
    .bind(reason)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// Makes sure the Page has its template, creating it if needed and asking Meta again about a
/// review that is taking long. Meta being unreachable is not an error here: the notice waits.
pub async fn ensure(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
) -> Result<TemplateState, sqlx::Error> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT status, updated_at FROM page_templates WHERE page_id = $1 AND name = $2 AND language = $3",
    )
    .bind(page_row_id)
    .bind(NAME)
    .bind(LANGUAGE)
    .fetch_optional(&state.db)
    .await?;
    match row {
        Some((status, updated_at))
            if status != "PENDING" || now_ms() - updated_at < RECHECK_AFTER_MS =>
        {
            return Ok(TemplateState::of(Some(&status)));
        }
        Some(_) => return refresh(state, page_row_id, facebook_page_id, token).await,
        None => {}
    }
    match state
        .graph
        .create_utility_template(facebook_page_id, token, NAME, LANGUAGE, BODY)
        .await
    {
        Ok(created) => {
            // The review's webhook can land before this answer is stored: never overwrite it.
            sqlx::query(
                "INSERT INTO page_templates (page_id, name, language, template_id, status, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (page_id, name, language) DO NOTHING",
            )
            .bind(page_row_id)
            .bind(NAME)
            .bind(LANGUAGE)
            .bind(&created.id)
            .bind(&created.status)
            .bind(now_ms())
            .execute(&state.db)
            .await?;
            state_of(&state.db, page_row_id).await
        }
        // It exists already (created before this database, or by another instance): read it.
        Err(e) if e.api().and_then(|a| a.error_subcode) == Some(2388024) => {
            refresh(state, page_row_id, facebook_page_id, token).await
        }
        Err(e) => {
            tracing::warn!(error = %e.reason(), page = %facebook_page_id, "utility template not created");
            Ok(TemplateState::Missing)
        }
    }
}

async fn refresh(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
) -> Result<TemplateState, sqlx::Error> {
    match state.graph.templates(facebook_page_id, token).await {
        Ok(list) => {
            let found = list
                .iter()
                .find(|t| t.name == NAME && t.language.as_deref().is_none_or(|l| l == LANGUAGE));
            match found {
                Some(t) => {
                    store(&state.db, page_row_id, Some(&t.id), &t.status, None).await?;
                    if t.status == "APPROVED" {
                        approved(state, page_row_id).await?;
                    }
                    Ok(TemplateState::of(Some(&t.status)))
                }
                None => Ok(TemplateState::Missing),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e.reason(), page = %facebook_page_id, "template status not read");
            state_of(&state.db, page_row_id).await
        }
    }
}

/// Notices waiting for the template go now. Only messages told to wait are touched: locking a
/// whole fan-out's queue collided with the sender claiming from it (PostgreSQL answered one of
/// them with a deadlock).
async fn approved(state: &AppState, page_row_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outgoing_messages SET next_attempt_at = NULL
         WHERE page_id = $1 AND status = 'queued' AND notice_id IS NOT NULL
           AND next_attempt_at IS NOT NULL",
    )
    .bind(page_row_id)
    .execute(&state.db)
    .await?;
    super::sender::arm(&state.db, page_row_id).await?;
    state.jobs.notify_one();
    Ok(())
}

/// A Page-level webhook change. Only template reviews matter here; anything else is ignored.
pub async fn on_change(
    state: &AppState,
    page_row_id: &str,
    change: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    if change.get("field").and_then(|f| f.as_str()) != Some("message_template_status_update") {
        return Ok(());
    }
    let value = &change["value"];
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    if text("message_template_name") != NAME || text("message_template_language") != LANGUAGE {
        return Ok(());
    }
    let status = text("event");
    if status.is_empty() {
        return Ok(());
    }
    let id = Some(text("message_template_id")).filter(|s| !s.is_empty());
    let reason = Some(text("reason")).filter(|s| !s.is_empty());
    store(&state.db, page_row_id, id, status, reason).await?;
    if status == "APPROVED" {
        approved(state, page_row_id).await?;
    }
    Ok(())
}
