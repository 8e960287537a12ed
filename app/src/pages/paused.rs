//! A Page paused for a problem Meta reports about the Page or the app, not about one message:
//! blocked for a policy violation (368), or a permission, access level or verification missing
//! (1, 99, 10, 200, 230; facts file §4). Every send of the Page would fail the same way, so the
//! sender stops at the first one, puts the message back in the queue, and records the reason in
//! Meta's words (`pages.paused_reason`, `pages.paused_kind = 'page'`). Nothing more goes for the
//! Page until an admin resumes it here (or reconnects it); the token is fine, so a health check
//! does not clear it.
//!
//! A token pause (190, `paused_kind = 'token'`) is not this: reconnecting the Page ends it.

use crate::error::AppError;
use leptos::prelude::*;

/// `pages.paused_kind` of a Page-level pause.
#[cfg(feature = "ssr")]
const PAGE_LEVEL: &str = super::PausedKind::Page.as_str();

/// Pauses the Page's sends for a Page-level problem. A Page already paused keeps its first
/// reason: the sends that were under way fail the same way and would only repeat it, and a token
/// pause must stay one (only reconnecting ends it).
#[cfg(feature = "ssr")]
pub async fn pause(
    db: &crate::db::Db,
    page_row_id: &super::PageRowId,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let done = sqlx::query(
        "UPDATE pages SET paused_reason = $1, paused_kind = $2, updated_at = $3
         WHERE id = $4 AND paused_reason IS NULL",
    )
    .bind(reason)
    .bind(PAGE_LEVEL)
    .bind(crate::db::now_ms())
    .bind(page_row_id)
    .execute(db)
    .await?;
    if done.rows_affected() > 0 {
        tracing::warn!(page = %page_row_id, %reason, "Page paused by a Page-level error at Meta");
    }
    Ok(())
}

/// Why the Page is paused for a Page-level problem; `None` when it is not (a token pause shows
/// as "reconnect" in the Page's health instead).
#[cfg(feature = "ssr")]
pub async fn reason(
    db: &crate::db::Db,
    page_row_id: &super::PageRowId,
) -> Result<Option<String>, sqlx::Error> {
    let reason: Option<Option<String>> =
        sqlx::query_scalar("SELECT paused_reason FROM pages WHERE id = $1 AND paused_kind = $2")
            .bind(page_row_id)
            .bind(PAGE_LEVEL)
            .fetch_optional(db)
            .await?;
    Ok(reason.flatten())
}

/// Ends a Page-level pause; a token pause stays (only reconnecting ends it). Whether there was
/// one to end.
#[cfg(feature = "ssr")]
pub async fn clear(
    db: &crate::db::Db,
    page_row_id: &super::PageRowId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE pages SET paused_reason = NULL, paused_kind = NULL, updated_at = $1
         WHERE id = $2 AND paused_kind = $3",
    )
    .bind(crate::db::now_ms())
    .bind(page_row_id)
    .bind(PAGE_LEVEL)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Why sending from this Page is paused for a Page-level problem (Meta's words), or `None`.
/// Refused for a Page the admin does not manage.
#[server(endpoint = "page_paused")]
pub async fn page_paused(facebook_page_id: String) -> Result<Option<String>, AppError> {
    let (state, page) = super::managed_page(&facebook_page_id).await?;
    reason(&state.db, &page.id)
        .await
        .map_err(AppError::internal)
}

/// The admin fixed what Meta complained about: the Page sends again, starting with the messages
/// the pause held back.
#[server(endpoint = "resume_page")]
pub async fn resume_page(facebook_page_id: String) -> Result<(), AppError> {
    let (state, page) = super::privileged_page(&facebook_page_id).await?;
    if clear(&state.db, &page.id).await? {
        tracing::info!(page = %facebook_page_id, "Page resumed by its admin");
    }
    state.health.notify_one();
    // Woken either way: a second click after a lost answer must not leave messages waiting.
    crate::notices::sender::page_resumed(&state, &page.id)
        .await
        .map_err(AppError::internal)
}

/// Shown on a paused Page: Meta's reason, and a button to send again once it is fixed.
#[component]
pub fn PausedNotice(facebook_page_id: String, reason: String) -> impl IntoView {
    let resume = ServerAction::<ResumePage>::new();
    let resumed = move || resume.value().get().is_some_and(|r| r.is_ok());
    let failed = move || {
        resume
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        {move || if resumed() {
            view! { <p class="ok" data-testid="page-resumed">"Sending resumed."</p> }.into_any()
        } else {
            let (id, reason) = (facebook_page_id.clone(), reason.clone());
            view! {
                <div class="error" role="alert" data-testid="page-paused">
                    <p>
                        "Sending from this Page is paused: Meta refuses its messages ("
                        {reason}
                        "). Fix this with Meta, then resume: the held messages go first."
                    </p>
                    <ActionForm action=resume>
                        <input type="hidden" name="facebook_page_id" value=id/>
                        <button type="submit" data-testid="resume-page">"Resume sending"</button>
                    </ActionForm>
                    {failed}
                </div>
            }.into_any()
        }}
    }
}
