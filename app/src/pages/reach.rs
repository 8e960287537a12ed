//! How a Page's notices reach people outside the 24-hour window, and what the admin can do about
//! it (facts file §1, §2, §3a). `pages_utility_messaging` is optional at login: without it, or
//! before Meta approves the Page's utility template, notices only reach people inside the window.
//! The Pages panel shows where each Page stands, and the campaign editor says, before it is
//! published, whom its end notice can reach today and how.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The login scope that lets a Page send utility templates (plural: Meta's dialog refuses the
/// singular `page_utility_messaging` with "Invalid Scopes").
pub const UTILITY_SCOPE: &str = "pages_utility_messaging";
/// The webhook field that carries template reviews; Meta refuses the whole subscription when the
/// token lacks `pages_utility_messaging` (code 1, subcode 1929002).
pub const TEMPLATE_FIELD: &str = "message_template_status_update";

/// Where a Page's notices to people outside the window stand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutsideWindow {
    /// The utility template is approved: notices reach everyone.
    Ready,
    /// The admin who connected the Page has not granted `pages_utility_messaging`.
    NeedsPermission,
    /// Not created yet (it is made at the next notice or check).
    NotCreated,
    /// Meta is reviewing the template.
    Pending,
    /// Meta refused the template (its status and reason).
    Refused(String),
    /// Meta refused to create the template (its message).
    CreationFailed(String),
}

impl OutsideWindow {
    /// A short label and the sentence shown to the admin.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            OutsideWindow::Ready => (
                "ready",
                "Notices reach everyone: inside the 24-hour window as a normal message, outside it with the Page's approved utility template.".into(),
            ),
            OutsideWindow::NeedsPermission => (
                "needs permission",
                "Notices only reach people who wrote to the Page in the last 24 hours: grant pages_utility_messaging so the others get the Page's utility template.".into(),
            ),
            OutsideWindow::NotCreated => (
                "template not created yet",
                "The Page's utility template is made with the next notice.".into(),
            ),
            OutsideWindow::Pending => (
                "template pending",
                "Meta is reviewing the Page's utility template; notices to people outside the 24-hour window wait for it.".into(),
            ),
            OutsideWindow::Refused(why) => (
                "template refused",
                format!("Meta refused the Page's utility template: {why}. Notices to people outside the 24-hour window cannot go until it is fixed."),
            ),
            OutsideWindow::CreationFailed(why) => (
                "creation failed",
                format!("Meta did not create the Page's utility template: {why}. It is tried again later; notices to people outside the 24-hour window wait."),
            ),
        }
    }

    /// `data-state` for tests and styles.
    pub fn key(&self) -> &'static str {
        match self {
            OutsideWindow::Ready => "ready",
            OutsideWindow::NeedsPermission => "needs-permission",
            OutsideWindow::NotCreated => "not-created",
            OutsideWindow::Pending => "pending",
            OutsideWindow::Refused(_) => "refused",
            OutsideWindow::CreationFailed(_) => "creation-failed",
        }
    }
}

/// Where a connected Page's notices outside the window stand, from what Meta last said.
#[cfg(feature = "ssr")]
pub async fn outside_window(
    db: &crate::db::Db,
    page_row_id: &str,
) -> Result<OutsideWindow, sqlx::Error> {
    use crate::messenger::policy::TemplateState;
    let standing = crate::notices::templates::standing(db, page_row_id).await?;
    let why = || {
        standing
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".into())
    };
    Ok(match standing.state {
        TemplateState::Approved => OutsideWindow::Ready,
        TemplateState::NoPermission => OutsideWindow::NeedsPermission,
        TemplateState::Missing => OutsideWindow::NotCreated,
        TemplateState::Pending => OutsideWindow::Pending,
        TemplateState::Refused => OutsideWindow::Refused(why()),
        TemplateState::CreationFailed => OutsideWindow::CreationFailed(why()),
    })
}

/// What the subscription to the Page's webhooks gave.
#[cfg(feature = "ssr")]
pub struct Subscribed {
    /// Template reviews are subscribed to: the token carries `pages_utility_messaging`.
    pub template_updates: bool,
    /// Meta refused the template field (its words), though the rest is subscribed.
    pub refused: Option<String>,
}

/// Subscribes the app to the Page's webhooks. The template field goes only with the utility
/// permission; if Meta refuses it anyway (1/1929002), the Page is subscribed without it.
#[cfg(feature = "ssr")]
pub async fn subscribe(
    state: &crate::state::AppState,
    facebook_page_id: &str,
    token: &crate::secrets::Secret,
    utility: bool,
) -> Result<Subscribed, crate::messenger::graph::GraphError> {
    let graph = &state.graph;
    let mut fields: Vec<&str> = super::WEBHOOK_FIELDS.to_vec();
    if utility {
        fields.push(TEMPLATE_FIELD);
        match graph.subscribe_app(facebook_page_id, token, &fields).await {
            Ok(()) => {
                return Ok(Subscribed {
                    template_updates: true,
                    refused: None,
                })
            }
            Err(e) if e.api().and_then(|a| a.error_subcode) == Some(1929002) => {
                tracing::info!(page = %facebook_page_id, "Meta refused the template webhook field");
                fields.pop();
                graph
                    .subscribe_app(facebook_page_id, token, &fields)
                    .await?;
                return Ok(Subscribed {
                    template_updates: false,
                    refused: Some(e.meta_words()),
                });
            }
            Err(e) => return Err(e),
        }
    }
    graph
        .subscribe_app(facebook_page_id, token, &fields)
        .await?;
    Ok(Subscribed {
        template_updates: false,
        refused: None,
    })
}

/// After a login that granted `pages_utility_messaging`: every Page this admin connected without
/// it gets the template field and its template, which frees the notices waiting for it.
#[cfg(feature = "ssr")]
pub async fn utility_granted(
    state: &crate::state::AppState,
    admin_id: &str,
) -> Result<(), sqlx::Error> {
    let pages: Vec<PageIds> = sqlx::query_as(
        "SELECT id, facebook_page_id FROM pages
         WHERE connected_by = $1 AND utility_permission = 0 AND access_token_enc IS NOT NULL",
    )
    .bind(admin_id)
    .fetch_all(&state.db)
    .await?;
    for PageIds {
        id: row_id,
        facebook_page_id,
    } in pages
    {
        let token =
            super::store::page_token(&state.db, &state.token_cipher, &facebook_page_id).await?;
        let Some(token) = token else { continue };
        match subscribe(state, &facebook_page_id, &token, true).await {
            Ok(s) if s.template_updates => {
                crate::notices::templates::permission_granted(
                    state,
                    &row_id,
                    &facebook_page_id,
                    &token,
                )
                .await?;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e.reason(), page = %facebook_page_id, "template field not subscribed");
            }
        }
    }
    Ok(())
}

/// "Try again now": the admin fixed something at Meta (an appeal, the Page's business settings).
#[server(endpoint = "retry_template")]
pub async fn retry_template(facebook_page_id: String) -> Result<OutsideWindow, AppError> {
    let (state, page) = super::privileged_page(&facebook_page_id).await?;
    let token = super::store::page_token(&state.db, &state.token_cipher, &facebook_page_id)
        .await?
        .ok_or_else(|| {
            AppError::refused(http::StatusCode::CONFLICT, "Reconnect the Page first.")
        })?;
    crate::notices::templates::try_now(&state.db, &page.id).await?;
    crate::notices::templates::ensure(&state, &page.id, &facebook_page_id, &token).await?;
    state.health.notify_one();
    outside_window(&state.db, &page.id)
        .await
        .map_err(AppError::internal)
}

/// Whom a campaign's end notice can reach today, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndNoticeReach {
    pub page_name: String,
    /// Entrants inside the 24-hour window: a normal message (`UPDATE`).
    pub inside_window: i64,
    /// Entrants outside it: the utility template, if the Page has one.
    pub outside_window: i64,
    /// Entrants who blocked the Page or cannot be reached.
    pub unreachable: i64,
    /// Entrants who sent STOP to the Page (`OPT_OUT_WORDS`) and have not written since.
    #[serde(default)]
    pub opted_out: i64,
    pub page: OutsideWindow,
}

#[server(endpoint = "notice_reach")]
pub async fn notice_reach(campaign_id: String) -> Result<EndNoticeReach, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    crate::admins::rights::confirm_campaign(&state, &admin, &campaign_id).await?;
    let Some(campaign) =
        crate::campaigns::store::find_for_admin(&state.db, &admin.id, &campaign_id).await?
    else {
        return Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not manage this campaign.",
        ));
    };
    let since = crate::db::now_ms() - crate::messenger::policy::WINDOW_MS;
    let entrants = crate::entries::store::reach(&state.db, &campaign_id, since).await?;
    // The form names the Page by its Facebook id.
    let page = super::store::named(&state.db, &campaign.form.page_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(EndNoticeReach {
        page_name: page.name,
        inside_window: entrants.inside,
        outside_window: entrants.outside,
        unreachable: entrants.unreachable,
        opted_out: entrants.opted_out,
        page: outside_window(&state.db, &page.id).await?,
    })
}

/// The Pages panel's line about notices outside the window, with what the admin can do.
#[component]
pub fn OutsideWindowLine(facebook_page_id: String, state: OutsideWindow) -> impl IntoView {
    let retry = ServerAction::<RetryTemplate>::new();
    let shown = RwSignal::new(state);
    Effect::new(move |_| {
        if let Some(Ok(now)) = retry.value().get() {
            shown.set(now);
        }
    });
    view! {
        {move || {
            let current = shown.get();
            let (label, sentence) = current.describe();
            let key = current.key();
            let id = facebook_page_id.clone();
            view! {
                <div class="outside-window" data-testid="outside-window" data-state=key>
                    <p><strong>"Notices after 24 hours: "</strong><span data-testid="outside-window-label">{label}</span></p>
                    <p class="muted" data-testid="outside-window-detail">{sentence}</p>
                    {matches!(current, OutsideWindow::NeedsPermission).then(|| view! {
                        // A full navigation: Facebook's dialog, asked again for a declined permission.
                        <a class="button" href="/auth/facebook?rerequest=1" rel="external" data-testid="grant-utility">
                            "Grant pages_utility_messaging"
                        </a>
                    })}
                    {matches!(current, OutsideWindow::Refused(_) | OutsideWindow::CreationFailed(_)).then(|| view! {
                        <ActionForm action=retry>
                            <input type="hidden" name="facebook_page_id" value=id/>
                            <button type="submit" class="secondary" data-testid="retry-template">"Try again now"</button>
                        </ActionForm>
                    })}
                </div>
            }
        }}
    }
}

/// For the campaign editor: whom the end notice can reach today and how.
#[component]
pub fn NoticeReachPanel(campaign_id: String) -> impl IntoView {
    let reach = crate::loading::load(move || campaign_id.clone(), notice_reach);
    view! {
        <section class="card" data-testid="notice-reach" aria-labelledby="reach-heading">
            <h2 id="reach-heading">"Who the end notice reaches"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || reach.get().map(|r| match r {
                    // The lifecycle panel above says why a campaign cannot be read (an outsider):
                    // once is enough.
                    Err(_) => ().into_any(),
                    Ok(r) => {
                        let (label, sentence) = r.page.describe();
                        let outside = match &r.page {
                            OutsideWindow::Ready => format!("{} outside it get the Page's utility template.", r.outside_window),
                            _ => format!("{} outside it do not get it today ({label}).", r.outside_window),
                        };
                        view! {
                            <p data-testid="reach-inside">{format!(
                                "{} entrant(s) who wrote to {} in the last 24 hours get it as a normal message.",
                                r.inside_window, r.page_name
                            )}</p>
                            <p data-testid="reach-outside" data-state=r.page.key()>{outside}</p>
                            {(r.opted_out > 0).then(|| view! {
                                <p class="muted" data-testid="reach-opted-out">{format!("{} opted out (sent STOP) and get nothing until they write again.", r.opted_out)}</p>
                            })}
                            {(r.unreachable > 0).then(|| view! {
                                <p class="muted" data-testid="reach-unreachable">{format!("{} blocked the Page and get nothing.", r.unreachable)}</p>
                            })}
                            <p class="muted">{sentence}</p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A Page's row id and its Facebook id.
#[cfg(feature = "ssr")]
#[derive(sqlx::FromRow)]
struct PageIds {
    id: String,
    facebook_page_id: String,
}
