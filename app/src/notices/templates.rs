//! Each Page's utility template: what carries a notice to someone outside the 24-hour window
//! (facts file §0, §3, §3a). Created through the Graph API when the Page is connected, when the
//! admin grants `pages_utility_messaging`, or on first use; Meta reviews it (often at once) and
//! announces later changes by webhook (`message_template_status_update`).
//!
//! Meta's rules for the template (§3a) decide its text: informational fixed words around the
//! parameters, a sample value for each, never starting or ending with a parameter, and enough
//! fixed words per parameter. A creation Meta refuses, or a template it refuses, is a Page-level
//! state with Meta's words, shown to the admin and tried again with a backoff (one minute,
//! doubling, at most six hours), never silently every few seconds.

use crate::db::{now_ms, Db};
use crate::messenger::graph::{GraphError, SendRequest};
use crate::messenger::policy::TemplateState;
use crate::secrets::Secret;
use crate::state::AppState;

/// A new name for the 3a-compliant text: approved templates cannot be edited, and a deployment
/// may still hold the old `giveaway_update` that Meta refused.
pub const NAME: &str = "giveaway_notice";
pub const LANGUAGE: &str = "en_US";
/// Informational, no marketing words, 13 fixed words for 2 parameters, and neither at either end.
pub const BODY: &str =
    "There is news about the giveaway {{campaign}} you entered: {{details}} Thank you for taking part.";
/// Sample values Meta's review reads (one per parameter).
pub const SAMPLES: [(&str, &str); 2] = [
    ("campaign", "Summer Bake-Off"),
    (
        "details",
        "The campaign has ended and the winners were told on Messenger.",
    ),
];
/// Meta allows 1024 characters in a template body; the filled-in details stay well inside.
const DETAILS_MAX: usize = 900;
const CAMPAIGN_MAX: usize = 60;

/// A review still pending after this is asked of Meta directly, in case its webhook was lost.
const RECHECK_AFTER_MS: i64 = 60_000;
const BACKOFF_FIRST_MS: i64 = 60_000;
const BACKOFF_MAX_MS: i64 = 6 * 3600 * 1000;

/// A utility template the product keeps on each Page, by (Page, name, language).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    pub name: &'static str,
    pub body: &'static str,
    pub samples: &'static [(&'static str, &'static str)],
    /// The title of its one `POSTBACK` button, whose payload each send gives.
    pub button: Option<&'static str>,
}

/// What carries a notice outside the window.
pub const NOTICE: Template = Template {
    name: NAME,
    body: BODY,
    samples: &SAMPLES,
    button: None,
};

/// What tells a winner outside the window (issue #16), with the claim button: made the first
/// time a winner must be told outside the window, not with every Page.
pub const RESULTS: Template = Template {
    name: "giveaway_result",
    body: "The draw of the giveaway {{campaign}} you entered has been made. {{details}} The button below records your claim.",
    samples: &[
        ("campaign", "Summer Bake-Off"),
        (
            "details",
            "Your ticket K7Q2MX4P9B won a cake a week for a year. Claim it before June 3 at 18:00 UTC.",
        ),
    ],
    button: Some(crate::winners::claims::CLAIM_BUTTON),
};

/// The templates, for the webhook of their review.
const ALL: [Template; 2] = [NOTICE, RESULTS];

/// The notice template's components as created: the body with its samples.
pub fn components() -> serde_json::Value {
    components_of(&NOTICE)
}

/// A template's components as created: the body with its samples, and its button.
pub fn components_of(t: &Template) -> serde_json::Value {
    let samples: Vec<serde_json::Value> = t
        .samples
        .iter()
        .map(|(name, example)| serde_json::json!({"param_name": name, "example": example}))
        .collect();
    let mut list = vec![serde_json::json!({
        "type": "BODY",
        "text": t.body,
        "example": {"body_text_named_params": samples},
    })];
    if let Some(title) = t.button {
        // A POSTBACK button takes no example (facts file §3a).
        list.push(serde_json::json!({
            "type": "BUTTONS",
            "buttons": [{"type": "POSTBACK", "text": title}],
        }));
    }
    serde_json::Value::Array(list)
}

/// A parameter is one line of plain text: Meta's template rules refuse new lines, tabs and long
/// runs of spaces in parameter values (WhatsApp's documented rule; Messenger says nothing, so we
/// keep to the stricter one).
fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.chars().take(max).collect()
}

/// The notice as a utility template send.
pub fn request(psid: &str, campaign_title: &str, details: &str) -> SendRequest {
    SendRequest::utility(
        psid,
        NAME,
        LANGUAGE,
        &[
            ("campaign", &one_line(campaign_title, CAMPAIGN_MAX)),
            ("details", &one_line(details, DETAILS_MAX)),
        ],
    )
}

/// A winner's message as a send of the results template: its button carries `payload`.
pub fn results_request(
    psid: &str,
    campaign_title: &str,
    details: &str,
    payload: &str,
) -> SendRequest {
    let mut request = SendRequest::utility(
        psid,
        RESULTS.name,
        LANGUAGE,
        &[
            ("campaign", &one_line(campaign_title, CAMPAIGN_MAX)),
            ("details", &one_line(details, DETAILS_MAX)),
        ],
    );
    if let Some(template) = request.message.as_mut().and_then(|m| m.template.as_mut()) {
        template.components.push(serde_json::json!({
            "type": "buttons",
            "parameters": [{"type": "POSTBACK", "payload": payload}],
        }));
    }
    request
}

/// Where the Page's template stands, with Meta's words when it refused something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub state: TemplateState,
    pub reason: Option<String>,
    /// When it is created or looked at again (a failed creation, a refusal, a pending review).
    pub next_try_at: Option<i64>,
}

impl Standing {
    /// The reason a waiting notice shows: the policy's words and Meta's, when it gave some.
    pub fn waiting_reason(&self) -> String {
        let words = self.state.waiting_reason();
        match &self.reason {
            Some(meta) if !meta.is_empty() => format!("{words}: {meta}"),
            _ => words.to_string(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    template_id: Option<String>,
    status: String,
    reason: Option<String>,
    attempts: i64,
    next_try_at: Option<i64>,
}

async fn row(db: &Db, page_row_id: &str, t: &Template) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(
        "SELECT template_id, status, reason, attempts, next_try_at FROM page_templates
         WHERE page_id = $1 AND name = $2 AND language = $3",
    )
    .bind(page_row_id)
    .bind(t.name)
    .bind(LANGUAGE)
    .fetch_optional(db)
    .await
}

async fn has_permission(db: &Db, page_row_id: &str) -> Result<bool, sqlx::Error> {
    crate::pages::store::utility_permission(db, page_row_id).await
}

/// Where the Page's notice template stands.
pub async fn standing(db: &Db, page_row_id: &str) -> Result<Standing, sqlx::Error> {
    standing_of(db, page_row_id, &NOTICE).await
}

pub async fn standing_of(
    db: &Db,
    page_row_id: &str,
    t: &Template,
) -> Result<Standing, sqlx::Error> {
    // Sending a utility template needs the permission as much as creating one does.
    if !has_permission(db, page_row_id).await? {
        return Ok(Standing {
            state: TemplateState::NoPermission,
            reason: None,
            next_try_at: None,
        });
    }
    Ok(match row(db, page_row_id, t).await? {
        None => Standing {
            state: TemplateState::Missing,
            reason: None,
            next_try_at: None,
        },
        Some(r) => Standing {
            state: TemplateState::of(Some(&r.status)),
            reason: r.reason,
            next_try_at: r.next_try_at,
        },
    })
}

pub async fn state_of(db: &Db, page_row_id: &str) -> Result<TemplateState, sqlx::Error> {
    Ok(standing(db, page_row_id).await?.state)
}

/// What an answer from Meta does to the count of failed creations, which sets the backoff.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tries {
    /// A creation that worked (approved or under review).
    Reset,
    /// A creation Meta refused, or answered with a rejected template.
    Failed,
    /// Only a status read: the count stays.
    Keep,
}

/// Records Meta's answer and when to look again. `creation`: this is the answer to our creation
/// call, and the review's webhook may have recorded a newer status for the very same template
/// meanwhile: that one wins.
#[allow(clippy::too_many_arguments)]
async fn store(
    db: &Db,
    page_row_id: &str,
    t: &Template,
    template_id: Option<&str>,
    status: &str,
    reason: Option<&str>,
    tries: Tries,
    creation: bool,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let previous = row(db, page_row_id, t).await?;
    let before = previous.as_ref().map_or(0, |r| r.attempts);
    let was = TemplateState::of(previous.as_ref().map(|r| r.status.as_str()));
    let attempts = match tries {
        Tries::Reset => 0,
        Tries::Failed => before + 1,
        Tries::Keep => before,
    };
    let next_try_at = match TemplateState::of(Some(status)) {
        TemplateState::Approved => None,
        TemplateState::Pending => Some(now + RECHECK_AFTER_MS),
        _ => Some(now + backoff(attempts.max(1))),
    };
    let done = sqlx::query(
        "INSERT INTO page_templates (page_id, name, language, template_id, status, reason, updated_at,
                                     attempts, next_try_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (page_id, name, language) DO UPDATE SET
           template_id = COALESCE(excluded.template_id, page_templates.template_id),
           status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at,
           attempts = excluded.attempts, next_try_at = excluded.next_try_at
         WHERE $10 = 0 OR page_templates.template_id IS NULL OR page_templates.status = 'ERROR'
            OR page_templates.template_id <> excluded.template_id",
    )
    .bind(page_row_id)
    .bind(t.name)
    .bind(LANGUAGE)
    .bind(template_id)
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(attempts)
    .bind(next_try_at)
    .bind(i64::from(creation))
    .execute(db)
    .await?;
    if done.rows_affected() > 0 && TemplateState::of(Some(status)) != was {
        // The notices waiting on the template are decided again, so each shows the reason that
        // holds now (and goes, if it can).
        wake_waiting(db, page_row_id).await?;
    }
    Ok(())
}

pub(crate) async fn wake_waiting(db: &Db, page_row_id: &str) -> Result<(), sqlx::Error> {
    if crate::messenger::outbox::wake_waiting_notices(db, page_row_id).await? > 0 {
        super::sender::arm(db, page_row_id).await?;
    }
    Ok(())
}

/// One minute after the first failure, doubling, at most six hours.
fn backoff(attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    BACKOFF_FIRST_MS
        .saturating_mul(1i64 << doublings)
        .min(BACKOFF_MAX_MS)
}

/// Makes sure the Page has a usable template when it can: creates it, asks Meta again about a
/// review that takes long, and tries again a refused one when its backoff is over. Meta being
/// unreachable is not an error here: the notices wait, and the Page shows why.
pub async fn ensure(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
) -> Result<Standing, sqlx::Error> {
    ensure_of(state, page_row_id, facebook_page_id, token, &NOTICE).await
}

pub async fn ensure_of(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
    t: &Template,
) -> Result<Standing, sqlx::Error> {
    let now = now_ms();
    let current = standing_of(&state.db, page_row_id, t).await?;
    let due = current.next_try_at.is_none_or(|at| at <= now);
    match current.state {
        TemplateState::Approved | TemplateState::NoPermission => return Ok(current),
        _ if !due => return Ok(current),
        TemplateState::Missing | TemplateState::CreationFailed => {
            create(state, page_row_id, facebook_page_id, token, t).await?
        }
        TemplateState::Pending => {
            refresh(state, page_row_id, facebook_page_id, token, t).await?;
        }
        TemplateState::Refused => {
            // Meta may have reinstated it meanwhile; a template still rejected is made again
            // (approved ones cannot be edited, so delete first).
            let now_status = refresh(state, page_row_id, facebook_page_id, token, t).await?;
            if now_status.as_deref() == Some("REJECTED") {
                let id = row(&state.db, page_row_id, t)
                    .await?
                    .and_then(|r| r.template_id);
                if let Some(id) = id {
                    if let Err(e) = state
                        .graph
                        .delete_template(facebook_page_id, token, &id)
                        .await
                    {
                        tracing::warn!(error = %e.reason(), page = %facebook_page_id, "rejected template not deleted");
                    }
                }
                create(state, page_row_id, facebook_page_id, token, t).await?;
            }
        }
    }
    standing_of(&state.db, page_row_id, t).await
}

/// Asks Meta to create the template, and records its answer.
async fn create(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
    t: &Template,
) -> Result<(), sqlx::Error> {
    let created = state
        .graph
        .create_utility_template(facebook_page_id, token, t.name, LANGUAGE, components_of(t))
        .await;
    match created {
        Ok(created) => {
            let status = TemplateState::of(Some(&created.status));
            let tries = match status {
                TemplateState::Approved | TemplateState::Pending => Tries::Reset,
                _ => Tries::Failed,
            };
            // The review's webhook can land before this answer is stored: never over it.
            store(
                &state.db,
                page_row_id,
                t,
                Some(&created.id),
                &created.status,
                None,
                tries,
                true,
            )
            .await?;
            match standing_of(&state.db, page_row_id, t).await?.state {
                TemplateState::Approved => approved(state, page_row_id).await?,
                // Refused at once: Meta gives its reason on the template, not in this answer.
                TemplateState::Refused => {
                    refresh(state, page_row_id, facebook_page_id, token, t).await?;
                }
                _ => {}
            }
            Ok(())
        }
        // It exists already (created before this database, or by another instance): read it.
        Err(e) if e.api().and_then(|a| a.error_subcode) == Some(2388024) => {
            refresh(state, page_row_id, facebook_page_id, token, t).await?;
            Ok(())
        }
        Err(e) => {
            let words = e.meta_words();
            tracing::warn!(error = %words, page = %facebook_page_id, "utility template not created");
            store(
                &state.db,
                page_row_id,
                t,
                None,
                "ERROR",
                Some(&words),
                Tries::Failed,
                false,
            )
            .await
        }
    }
}

/// Reads the template's status from Meta and records it; the status Meta gave, if it answered.
async fn refresh(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
    template: &Template,
) -> Result<Option<String>, sqlx::Error> {
    let name = template.name;
    match state.graph.templates(facebook_page_id, token, name).await {
        Ok(list) => {
            let found = list
                .iter()
                .find(|t| t.name == name && t.language.as_deref().is_none_or(|l| l == LANGUAGE));
            let Some(t) = found else {
                // Gone at Meta (deleted there): made again at the next try.
                sqlx::query(
                    "DELETE FROM page_templates WHERE page_id = $1 AND name = $2 AND language = $3",
                )
                .bind(page_row_id)
                .bind(name)
                .bind(LANGUAGE)
                .execute(&state.db)
                .await?;
                return Ok(None);
            };
            let status = t.status.clone().unwrap_or_else(|| "PENDING".into());
            let usable = TemplateState::of(Some(&status)) == TemplateState::Approved;
            store(
                &state.db,
                page_row_id,
                template,
                Some(&t.id),
                &status,
                t.rejected_reason
                    .as_deref()
                    .filter(|r| !r.is_empty() && *r != "NONE"),
                Tries::Keep,
                false,
            )
            .await?;
            if usable {
                approved(state, page_row_id).await?;
            }
            Ok(Some(status))
        }
        Err(e) => {
            tracing::warn!(error = %e.reason(), page = %facebook_page_id, "template status not read");
            Ok(None)
        }
    }
}

/// Notices waiting for the template go now. Only messages told to wait are touched: locking a
/// whole fan-out's queue collided with the sender claiming from it (PostgreSQL answered one of
/// them with a deadlock).
pub async fn approved(state: &AppState, page_row_id: &str) -> Result<(), sqlx::Error> {
    wake_waiting(&state.db, page_row_id).await?;
    // Armed even when nothing was queued: a message claimed meanwhile is put back free.
    super::sender::arm(&state.db, page_row_id).await?;
    state.jobs.notify_one();
    Ok(())
}

/// A Page-level webhook change. Only reviews of our template matter here; anything else is
/// ignored.
pub async fn on_change(
    state: &AppState,
    page_row_id: &str,
    change: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    if change.get("field").and_then(|f| f.as_str()) != Some("message_template_status_update") {
        return Ok(());
    }
    let value = &change["value"];
    // Meta's test payloads send every value as a string, real ones send ids as numbers.
    let text = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let name = text("message_template_name");
    let Some(t) = ALL.iter().find(|t| t.name == name) else {
        return Ok(());
    };
    if text("message_template_language") != LANGUAGE {
        return Ok(());
    }
    let status = text("event");
    if status.is_empty() {
        return Ok(());
    }
    let id = Some(text("message_template_id")).filter(|s| !s.is_empty());
    let reason = Some(text("reason")).filter(|s| !s.is_empty() && s != "NONE");
    let state_now = TemplateState::of(Some(&status));
    store(
        &state.db,
        page_row_id,
        t,
        id.as_deref(),
        &status,
        reason.as_deref(),
        Tries::Keep,
        false,
    )
    .await?;
    if state_now == TemplateState::Approved {
        approved(state, page_row_id).await?;
    }
    Ok(())
}

/// The Page may now make utility templates (Meta accepted the template webhook field): record it
/// and make the template, which frees the notices waiting for it.
pub async fn permission_granted(
    state: &AppState,
    page_row_id: &str,
    facebook_page_id: &str,
    token: &Secret,
) -> Result<Standing, sqlx::Error> {
    set_permission(&state.db, page_row_id, true).await?;
    // A creation that failed for want of the permission is tried again at once.
    sqlx::query(
        "UPDATE page_templates SET next_try_at = NULL WHERE page_id = $1 AND status = 'ERROR'",
    )
    .bind(page_row_id)
    .execute(&state.db)
    .await?;
    ensure(state, page_row_id, facebook_page_id, token).await
}

pub async fn set_permission(db: &Db, page_row_id: &str, granted: bool) -> Result<(), sqlx::Error> {
    if crate::pages::store::set_utility_permission(db, page_row_id, granted).await? {
        wake_waiting(db, page_row_id).await?;
    }
    Ok(())
}

/// The admin asks for another try now (after fixing something at Meta).
pub async fn try_now(db: &Db, page_row_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE page_templates SET next_try_at = NULL WHERE page_id = $1")
        .bind(page_row_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether an error from Meta means a template cannot be made for want of a permission.
pub fn is_permission_error(e: &GraphError) -> bool {
    e.api()
        .is_some_and(|a| matches!(a.code, 10 | 200 | 230) || a.error_subcode == Some(1929002))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Section 3a of the facts file, checked on our own text: a change that breaks a rule fails
    /// here before Meta refuses it.
    #[test]
    fn the_templates_follow_metas_rules() {
        for t in ALL {
            follows_metas_rules(&t);
        }
        // The results template's one button is a POSTBACK, without an example.
        let buttons = &components_of(&RESULTS)[1];
        assert_eq!(buttons["type"], "BUTTONS");
        assert_eq!(buttons["buttons"][0]["type"], "POSTBACK");
        assert!(buttons["buttons"][0].get("example").is_none());
        assert!(RESULTS.button.unwrap().chars().count() <= 20);
    }

    fn follows_metas_rules(t: &Template) {
        let (body, samples) = (t.body, t.samples);
        let params: Vec<&str> = body
            .match_indices("{{")
            .map(|(i, _)| {
                let rest = &body[i + 2..];
                &rest[..rest.find("}}").unwrap()]
            })
            .collect();
        assert_eq!(params, ["campaign", "details"]);
        assert!(!body.trim_start().starts_with("{{"));
        let tail = body.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
        assert!(!tail.ends_with("}}"), "ends with a parameter");
        let mut fixed = body.to_string();
        for p in &params {
            fixed = fixed.replace(&format!("{{{{{p}}}}}"), " ");
        }
        let words = fixed.split_whitespace().count();
        assert!(words >= 3 * params.len(), "{words} fixed words");
        assert!(body.chars().count() <= 1024);
        for p in &params {
            assert!(samples.iter().any(|(n, v)| n == p && !v.is_empty()), "{p}");
        }
        let c = components_of(t);
        assert_eq!(
            c[0]["example"]["body_text_named_params"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let lower = body.to_lowercase();
        for promo in [
            "discount", "sale", "offer", "coupon", "promo", "free", "buy",
        ] {
            assert!(!lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == promo));
        }
    }

    #[test]
    fn parameters_are_one_line() {
        let r = request("1", "Big\nDraw", "Line one\n\nline  two\tend");
        let params = &r.message.unwrap().template.unwrap().components[0]["parameters"];
        assert_eq!(params[0]["text"], "Big Draw");
        assert_eq!(params[1]["text"], "Line one line two end");
    }

    #[test]
    fn the_backoff_doubles_up_to_six_hours() {
        assert_eq!(backoff(1), 60_000);
        assert_eq!(backoff(2), 120_000);
        assert_eq!(backoff(4), 480_000);
        assert_eq!(backoff(50), BACKOFF_MAX_MS);
    }
}
