//! Campaigns: the contests admins build. `rules` (shared with the browser) says what a valid
//! campaign is; `store` keeps them; `showcase` keeps published ones briefly for the public pages;
//! `images` takes uploaded campaign images; the server functions here are thin: session and rights
//! first, then the rules, then the store.

pub mod editor;
#[cfg(feature = "ssr")]
pub mod images;
pub mod lifecycle;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod showcase;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use rules::{CampaignForm, FieldErrors};
use serde::{Deserialize, Serialize};

crate::word_enum! {
    /// What the admin made of a campaign (`campaigns.publish_state`); scheduled, live and ended
    /// derive from this and the dates (`Lifecycle`).
    pub enum PublishState("campaign publish state") {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
    }
}

crate::word_enum! {
    /// How a campaign's notices reach people outside the 24-hour window (`campaigns.notice_path`;
    /// the form keeps the word as typed, `rules::check` refuses any other).
    pub enum NoticePath("campaign notice path") {
        /// The window, else the Page's utility template.
        Automatic = "automatic",
        /// The `CONFIRMED_EVENT_UPDATE` tag.
        Tag = "tag",
    }
}

crate::word_enum! {
    /// What an admin can do to a saved campaign besides editing it (`campaign_action`).
    pub enum LifecycleAction("campaign action") {
        Publish = "publish",
        Unpublish = "unpublish",
        Archive = "archive",
        /// Ends a live campaign now.
        EndNow = "end_now",
        /// Copies it into a new draft.
        Duplicate = "duplicate",
        /// Drafts nobody entered only.
        Delete = "delete",
    }
}

/// Where a campaign is in its life, derived from its publish state and dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Draft,
    Scheduled,
    Live,
    Ended,
    Archived,
}

impl Lifecycle {
    /// The word admins see.
    pub fn label(self) -> &'static str {
        match self {
            Lifecycle::Draft => "Draft",
            Lifecycle::Scheduled => "Scheduled",
            Lifecycle::Live => "Live",
            Lifecycle::Ended => "Ended",
            Lifecycle::Archived => "Archived",
        }
    }
}

impl Lifecycle {
    pub fn of(publish_state: PublishState, starts_at: i64, ends_at: i64, now: i64) -> Lifecycle {
        match publish_state {
            PublishState::Archived => Lifecycle::Archived,
            PublishState::Published if now >= ends_at => Lifecycle::Ended,
            PublishState::Published if now >= starts_at => Lifecycle::Live,
            PublishState::Published => Lifecycle::Scheduled,
            PublishState::Draft => Lifecycle::Draft,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub form: CampaignForm,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub publish_state: PublishState,
    /// Where it stood when the server read it, by the server's clock: the one that decides what
    /// the lifecycle buttons may do.
    pub lifecycle_now: Lifecycle,
    /// Entry rows of any status (pending links included): what the lifecycle rules count.
    pub entries: i64,
    /// Confirmed entries: the people who entered.
    pub entered: i64,
    /// The status of its end notice (`Sending` once it went), if any.
    pub end_notice: Option<crate::notices::NoticeStatus>,
    /// What the editor shows as fixed and why, by the server's clock (`lifecycle::locks`).
    pub locks: lifecycle::Locks,
    /// The Page's name as stored when it was connected.
    pub page_name: String,
    /// The Page's picture (Graph's public `/{page-id}/picture`), set by the server functions
    /// that answer the browser.
    pub page_picture: String,
    /// Where it stands in time, in words, by the server's clock (`lifecycle::when`).
    pub when: String,
}

impl Campaign {
    /// Fills in what the server's clock decides (`lifecycle_now`, `locks`) for a campaign read
    /// from the store.
    #[cfg(feature = "ssr")]
    pub(crate) fn judged(mut self, now: i64) -> Self {
        self.lifecycle_now = self.lifecycle(now);
        self.locks = lifecycle::locks(&self, now);
        self.when = lifecycle::when(&self, now);
        self
    }

    pub fn lifecycle(&self, now: i64) -> Lifecycle {
        Lifecycle::of(self.publish_state, self.starts_at_ms, self.ends_at_ms, now)
    }
}

/// What a save answers: the campaign's id, or every field error at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveOutcome {
    Saved { id: String },
    Invalid(FieldErrors),
}

#[server(endpoint = "save_campaign")]
pub async fn save_campaign(
    id: Option<String>,
    form: CampaignForm,
) -> Result<SaveOutcome, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    match store::save(&state.db, &admin.id, id.as_deref(), &form).await? {
        store::Saved::Ok(id) => {
            state.showcase.forget_all();
            state.jobs.notify_one();
            Ok(SaveOutcome::Saved { id })
        }
        // Field errors are an answer the editor displays, so they come back as one (200): the
        // server-function client reads any other status as a failure and could not decode them.
        store::Saved::Invalid(errors) => Ok(SaveOutcome::Invalid(errors)),
        store::Saved::Forbidden => Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not manage this Page or campaign.",
        )),
    }
}

/// Whether a campaign link is free, as the editor asks while the admin types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlugStatus {
    Available,
    Taken,
    /// Not a valid link at all (the same message the editor shows by itself).
    Invalid(String),
}

/// Answers whether `slug` is free for the campaign `id` (the one being edited, whose own link is
/// free for it), or for a new campaign. Saving checks again: this only spares a failed save.
#[server(endpoint = "slug_available")]
pub async fn slug_available(slug: String, id: Option<String>) -> Result<SlugStatus, AppError> {
    use crate::admins::guard::require_admin;
    let (state, _admin) = require_admin().await?;
    if let Err(why) = rules::check_slug(&slug) {
        return Ok(SlugStatus::Invalid(why));
    }
    let taken = store::slug_taken(&state.db, &slug, id.as_deref()).await?;
    Ok(if taken {
        SlugStatus::Taken
    } else {
        SlugStatus::Available
    })
}

#[server(endpoint = "get_campaign")]
pub async fn get_campaign(id: String) -> Result<Campaign, AppError> {
    let (state, mut campaign) = crate::admins::guard::require_listed_campaign(&id).await?;
    campaign.page_picture = state.graph.page_picture(&campaign.form.page_id);
    Ok(campaign)
}

#[server(endpoint = "list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<Campaign>, AppError> {
    use crate::admins::guard::require_admin;
    let (state, admin) = require_admin().await?;
    let mut list = store::list_for_admin(&state.db, &admin.id)
        .await
        .map_err(AppError::internal)?;
    for c in &mut list {
        c.page_picture = state.graph.page_picture(&c.form.page_id);
    }
    Ok(list)
}

/// `publish`, `unpublish`, `archive`, `end_now` (a live campaign), `duplicate` (answers the new id) or `delete` (drafts nobody entered: `lifecycle::check_delete`).
#[server(endpoint = "campaign_action")]
pub async fn campaign_action(id: String, action: String) -> Result<Option<String>, AppError> {
    use crate::admins::guard::require_admin;
    use store::{Changed, Transition};
    let (state, admin) = require_admin().await?;
    // The word stays a string on the wire so that an unknown one gets this answer, not a
    // decoding failure.
    let Ok(action) = action.parse::<LifecycleAction>() else {
        return Err(AppError::refused(
            http::StatusCode::BAD_REQUEST,
            "Unknown action.",
        ));
    };
    if matches!(action, LifecycleAction::Publish | LifecycleAction::EndNow) {
        // Rights are asked of Facebook now (issue #14): a removed moderator cannot publish or end.
        crate::admins::rights::confirm_campaign(&state, &admin, &id).await?;
    }
    let db = &state.db;
    let changed = match action {
        LifecycleAction::Publish => {
            // The draw's commitment exists before anyone can enter (made once; a publish that
            // fails after it leaves it in place, unchanged for the next try).
            crate::winners::store::commit(db, &state.token_cipher, &id).await?;
            store::transition(db, &admin.id, &id, Transition::Publish).await
        }
        LifecycleAction::Unpublish => {
            store::transition(db, &admin.id, &id, Transition::Unpublish).await
        }
        LifecycleAction::Archive => {
            store::transition(db, &admin.id, &id, Transition::Archive).await
        }
        LifecycleAction::EndNow => store::transition(db, &admin.id, &id, Transition::EndNow).await,
        LifecycleAction::Delete => store::delete_draft(db, &admin.id, &id).await,
        LifecycleAction::Duplicate => {
            return match store::duplicate(db, &admin.id, &id).await? {
                Some(copy) => Ok(Some(copy)),
                None => Err(AppError::refused(
                    http::StatusCode::FORBIDDEN,
                    "You do not manage this campaign.",
                )),
            }
        }
    };
    match changed? {
        Changed::Ok => {
            state.showcase.forget_all();
            // An end notice may have become due (`end_now`): the scheduler looks at once.
            state.jobs.notify_one();
            Ok(None)
        }
        Changed::Refused(why) => Err(AppError::refused(http::StatusCode::CONFLICT, why)),
        Changed::Forbidden => Err(AppError::refused(
            http::StatusCode::FORBIDDEN,
            "You do not manage this campaign.",
        )),
    }
}

/// The admin's campaigns at a glance: each one's state and time left, its entries with their
/// last two weeks as a sparkline, and how many alerts stand against it (its own and its Page's).
#[component]
pub fn CampaignList() -> impl IntoView {
    let campaigns = crate::loading::load(|| (), |_| list_campaigns());
    let trends = crate::loading::load(|| (), |_| crate::insight::campaign_trends());
    let alerts = crate::loading::load(|| (), |_| crate::alerts::my_alerts(None));
    view! {
        <section class="card" aria-labelledby="campaigns-heading">
            <h2 id="campaigns-heading">"Campaigns"</h2>
            <a class="button" href="/admin/campaigns/new" data-testid="new-campaign">"New campaign"</a>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || campaigns.get().map(|list| match list {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-campaigns">"No campaign yet: start one with New campaign."</p>
                    }.into_any(),
                    Ok(list) => {
                        let trends = trends.get().and_then(Result::ok).unwrap_or_default();
                        let alerts = alerts.get().and_then(Result::ok).unwrap_or_default();
                        view! {
                            <table class="campaign-table">
                                <thead><tr>
                                    <th scope="col">"Campaign"</th><th scope="col">"State"</th>
                                    <th scope="col">"Entries"</th><th scope="col">"Alerts"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|c| {
                                        let trend = trends.iter().find(|t| t.campaign_id == c.id);
                                        let spark = trend.map(|t| t.sparkline_svg.clone()).unwrap_or_default();
                                        let open = alerts.iter().filter(|a| match &a.campaign_id {
                                            Some(id) => *id == c.id,
                                            None => a.facebook_page_id.as_deref() == Some(c.form.page_id.as_str()),
                                        }).count();
                                        view! {
                                            <tr data-testid="campaign" data-campaign-id=c.id.clone()>
                                                <td>
                                                    <a href=format!("/admin/campaigns/{}", c.id)>{c.form.title.clone()}</a>
                                                    <br/><span class="muted">{format!("/c/{} · {}", c.form.slug, c.page_name)}</span>
                                                </td>
                                                <td>
                                                    <span class="stage" data-testid="campaign-stage" data-stage=c.lifecycle_now.label().to_lowercase()>{c.lifecycle_now.label()}</span>
                                                    <br/><span class="muted" data-testid="campaign-when">{c.when.clone()}</span>
                                                </td>
                                                <td>
                                                    <span data-testid="campaign-entered">{c.entered}</span>" "
                                                    <span data-testid="campaign-spark" inner_html=spark></span>
                                                </td>
                                                <td data-testid="campaign-alerts" data-count=open.to_string()>
                                                    {if open == 0 { "—".to_string() } else { format!("⚠ {open}") }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
