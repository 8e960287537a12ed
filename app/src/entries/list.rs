//! The entrants list of a campaign (`/admin/campaigns/{id}/entrants`): every entry with its
//! state, name, ticket, how it came, the keyword tapped, where the 24-hour window and
//! reachability leave the person, and what was sent to them; searched, filtered, sorted and paged
//! in the address (so a view can be linked and reloaded), exported as CSV with the same filter,
//! and where an admin disqualifies, reinstates or erases an entrant. Admins of the campaign's
//! Page only: every server function and the CSV route check it first.

use super::{EntrySource, EntryStatus};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per page.
pub const PAGE_SIZE: usize = 50;
/// The longest reason a disqualification may carry.
pub const REASON_MAX: usize = 200;

/// What the admin asked the list for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// One state only, or all.
    pub state: Option<EntryStatus>,
    /// A ticket, or the start of a first name (any case).
    pub search: String,
    /// Oldest entries first (else newest first).
    pub oldest_first: bool,
}

impl ListQuery {
    /// From the address's parameters (`state`, `q`, `order`); unknown values mean "all" and
    /// "newest first".
    pub fn from_params(state: Option<&str>, search: Option<&str>, order: Option<&str>) -> Self {
        ListQuery {
            state: state.and_then(|s| s.parse().ok()),
            search: search.unwrap_or_default().chars().take(100).collect(),
            oldest_first: order == Some("oldest"),
        }
    }

    /// The address's parameters for this query, `&`-joined and encoded.
    pub fn to_params(&self) -> String {
        let mut params = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = self.state {
            params.append_pair("state", state.as_str());
        }
        if !self.search.is_empty() {
            params.append_pair("q", &self.search);
        }
        if self.oldest_first {
            params.append_pair("order", "oldest");
        }
        params.finish()
    }
}

/// Whether a message can reach the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reach {
    /// The entry was never confirmed: Messenger has not told us who it is.
    NotYet,
    Reachable,
    /// They sent STOP: no notices until they write again.
    OptedOut,
    /// Meta said they cannot be reached (blocked the Page…), with Meta's reason.
    Unreachable(String),
    Erased,
}

impl std::fmt::Display for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reach::NotYet => f.write_str("not known yet"),
            Reach::Reachable => f.write_str("reachable"),
            Reach::OptedOut => f.write_str("opted out"),
            Reach::Unreachable(why) if why.is_empty() => f.write_str("unreachable"),
            Reach::Unreachable(why) => write!(f, "unreachable: {why}"),
            Reach::Erased => f.write_str("erased"),
        }
    }
}

/// One entry of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entrant {
    pub id: String,
    pub state: EntryStatus,
    /// "Alice E.", when Messenger gave a name.
    pub name: Option<String>,
    pub ticket: Option<String>,
    pub entered_at: i64,
    pub confirmed_at: Option<i64>,
    pub source: EntrySource,
    pub keyword: Option<String>,
    /// Their last message is less than 24 hours old: a normal message reaches them.
    pub window_open: bool,
    pub reach: Reach,
    /// Messages of this campaign sent (or tried) to them, and how many failed or were not sent.
    pub messages: i64,
    pub failed_messages: i64,
    /// Why the admin disqualified the entry.
    pub reason: Option<String>,
}

/// What the list page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrantsView {
    pub title: String,
    pub rows: Vec<Entrant>,
    /// When each row entered, in the campaign's time zone.
    pub entered: Vec<String>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// Entries per state, all of the campaign.
    pub counts: Vec<(EntryStatus, i64)>,
}

/// A page of a campaign's entrants, after `after` (a cursor from the previous page).
#[leptos::server(endpoint = "entrants_list")]
pub async fn entrants_list(
    id: String,
    #[server(default)] query: ListQuery,
    after: Option<String>,
) -> Result<EntrantsView, AppError> {
    let (state, campaign) = crate::admins::guard::require_campaign(&id).await?;
    let cursor = match after.as_deref().filter(|a| !a.is_empty()) {
        Some(text) => Some(super::entrants::Cursor::decode(text).ok_or_else(|| {
            AppError::refused(
                http::StatusCode::BAD_REQUEST,
                "That page of the list does not exist: start again from the first page.",
            )
        })?),
        None => None,
    };
    let now = crate::db::now_ms();
    let (rows, next) = super::entrants::page(&state.db, &id, &query, cursor, now).await?;
    let counts = super::entrants::state_counts(&state.db, &id).await?;
    let zone = campaign.form.time_zone.clone();
    let entered = rows
        .iter()
        .map(|r| crate::campaigns::store::time_in(&zone, r.entered_at, "%Y-%m-%d %H:%M %Z"))
        .collect();
    Ok(EntrantsView {
        title: campaign.form.title,
        rows,
        entered,
        next: next.map(|c| c.encode()),
        counts,
    })
}

/// Takes an entry out of the draw, with a reason the admin keeps (not shown to the public unless
/// the entry held a prize: then it is the reason on the results).
#[leptos::server(endpoint = "disqualify_entry")]
pub async fn disqualify_entry(id: String, entry: String, reason: String) -> Result<(), AppError> {
    let (state, _) = crate::admins::guard::require_campaign(&id).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(AppError::refused(
            http::StatusCode::BAD_REQUEST,
            "Give a reason for the disqualification (up to 200 characters).",
        ));
    }
    let now = crate::db::now_ms();
    if !super::entrants::disqualify(&state.db, &id, &entry, reason, now).await? {
        return Err(AppError::refused(
            http::StatusCode::CONFLICT,
            "Only an entered entry of this campaign can be disqualified.",
        ));
    }
    // A prize it holds goes down the draw's order now, and the next holder is told.
    if crate::winners::store::entry_left(&state.db, &id, &entry, reason, now).await? {
        crate::winners::claims::tell(&state, Some(&id)).await?;
        state.showcase.forget_all();
    }
    Ok(())
}

/// Puts a disqualified entry back in (a draw already made keeps its results).
#[leptos::server(endpoint = "reinstate_entry")]
pub async fn reinstate_entry(id: String, entry: String) -> Result<(), AppError> {
    let (state, _) = crate::admins::guard::require_campaign(&id).await?;
    if !super::entrants::reinstate(&state.db, &id, &entry).await? {
        return Err(AppError::refused(
            http::StatusCode::CONFLICT,
            "Only a disqualified entry of this campaign can be reinstated.",
        ));
    }
    Ok(())
}

/// Erases the person behind an entry: everything the product holds about them on this Page
/// (`crate::privacy::erasure`). Their entries stay as erased rows, so counts and a drawn ticket
/// keep their place.
#[leptos::server(endpoint = "erase_entrant")]
pub async fn erase_entrant(id: String, entry: String) -> Result<String, AppError> {
    let (state, _) = crate::admins::guard::require_campaign(&id).await?;
    let done = crate::privacy::erasure::erase_entry(&state, &id, &entry).await?;
    done.ok_or_else(|| {
        AppError::refused(
            http::StatusCode::CONFLICT,
            "That entry is not one of this campaign, or was erased already.",
        )
    })
}

fn state_label(state: EntryStatus) -> &'static str {
    match state {
        EntryStatus::Pending => "waiting for Messenger",
        EntryStatus::Confirmed => "entered",
        EntryStatus::Duplicate => "duplicate",
        EntryStatus::Disqualified => "disqualified",
        EntryStatus::Erased => "erased",
    }
}

fn source_label(source: EntrySource) -> &'static str {
    match source {
        EntrySource::Page => "entry page",
        EntrySource::Widget => "widget",
        EntrySource::Qr => "QR code",
        EntrySource::Direct => "direct link",
    }
}

/// The entrants page of the admin.
#[component]
pub fn EntrantsPage() -> impl IntoView {
    use leptos_router::hooks::{use_params_map, use_query_map};
    let params = use_params_map();
    let query_map = use_query_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let query = move || {
        query_map.with(|q| {
            ListQuery::from_params(
                q.get("state").as_deref(),
                q.get("q").as_deref(),
                q.get("order").as_deref(),
            )
        })
    };
    let after = move || query_map.with(|q| q.get("after"));
    let disqualify = ServerAction::<DisqualifyEntry>::new();
    let reinstate = ServerAction::<ReinstateEntry>::new();
    let erase = ServerAction::<EraseEntrant>::new();
    let list = crate::loading::load(
        move || {
            (
                id(),
                query(),
                after(),
                disqualify.version().get() + reinstate.version().get() + erase.version().get(),
            )
        },
        |(id, query, after, _)| entrants_list(id, query, after),
    );
    let error = move || {
        disqualify
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reinstate.value().get().and_then(Result::err))
            .or_else(|| erase.value().get().and_then(Result::err))
            .map(|e| view! { <p class="error" role="alert" data-testid="entrants-error">{e.to_string()}</p> })
    };
    let erased_note = move || {
        erase.value().get().and_then(Result::ok).map(|summary| {
            view! { <p class="ok" role="status" data-testid="erased-note">{summary}</p> }
        })
    };
    view! {
        <section class="card wide" data-testid="entrants">
            <p><a href=move || format!("/admin/campaigns/{}", id())>"← Back to the campaign"</a></p>
            {error}
            {erased_note}
            <Suspense fallback=|| view! { <p class="muted">"Loading the entrants…"</p> }>
                {move || list.get().map(|result| match result {
                    Err(e) => view! { <p class="error" data-testid="entrants-refused">{e.to_string()}</p> }.into_any(),
                    Ok(v) => {
                        let id = id();
                        let q = query();
                        let params = q.to_params();
                        let csv = format!("/admin/campaigns/{id}/entrants.csv{}", if params.is_empty() { String::new() } else { format!("?{params}") });
                        let next = v.next.clone().map(|cursor| {
                            let sep = if params.is_empty() { "" } else { "&" };
                            format!("/admin/campaigns/{id}/entrants?{params}{sep}after={cursor}")
                        });
                        let first = after().is_some().then(|| format!("/admin/campaigns/{id}/entrants{}", if params.is_empty() { String::new() } else { format!("?{params}") }));
                        let selected = q.state;
                        view! {
                            <h1>{format!("Entrants of {}", v.title)}</h1>
                            <p class="muted" data-testid="entrant-counts">
                                {v.counts.iter().map(|(s, n)| format!("{n} {}", state_label(*s))).collect::<Vec<_>>().join(" · ")}
                            </p>
                            <form method="get" class="filters" data-testid="entrants-filter">
                                <label>"Search "<input type="search" name="q" value=q.search.clone()
                                    placeholder="Name or ticket" data-testid="entrants-search"/></label>
                                <label>"State "
                                    <select name="state" data-testid="entrants-state">
                                        <option value="" selected=selected.is_none()>"All"</option>
                                        {EntryStatus::ALL.iter().map(|s| view! {
                                            <option value=s.as_str() selected=selected == Some(*s)>{state_label(*s)}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                                <label>"Order "
                                    <select name="order" data-testid="entrants-order">
                                        <option value="newest" selected=!q.oldest_first>"Newest first"</option>
                                        <option value="oldest" selected=q.oldest_first>"Oldest first"</option>
                                    </select>
                                </label>
                                <button type="submit" data-testid="entrants-apply">"Show"</button>
                                <a class="button secondary" href=csv rel="external" download="" data-testid="entrants-csv">"Download CSV"</a>
                            </form>
                            {if v.rows.is_empty() {
                                view! { <p data-testid="no-entrants">"No entrant matches."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="entrants">
                                        <thead><tr>
                                            <th>"Name"</th><th>"Ticket"</th><th>"State"</th><th>"Entered"</th>
                                            <th>"Came by"</th><th>"Keyword"</th><th>"Messenger"</th><th>"Messages"</th><th></th>
                                        </tr></thead>
                                        <tbody>
                                            {v.rows.into_iter().zip(v.entered).map(|(row, entered)| {
                                                view! { <EntrantRow campaign_id=id.clone() row=row entered=entered
                                                    disqualify=disqualify reinstate=reinstate erase=erase/> }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <p class="pager">
                                {first.map(|href| view! { <a href=href data-testid="entrants-first">"First page"</a>" " })}
                                {next.map(|href| view! { <a href=href data-testid="entrants-next">"Next page"</a> })}
                            </p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn EntrantRow(
    campaign_id: String,
    row: Entrant,
    entered: String,
    disqualify: ServerAction<DisqualifyEntry>,
    reinstate: ServerAction<ReinstateEntry>,
    erase: ServerAction<EraseEntrant>,
) -> impl IntoView {
    let messenger = if row.state == EntryStatus::Erased {
        String::new()
    } else {
        let window = if row.window_open {
            "window open"
        } else {
            "window closed"
        };
        match row.reach {
            Reach::NotYet => row.reach.to_string(),
            _ => format!("{} · {window}", row.reach),
        }
    };
    let messages = match (row.messages, row.failed_messages) {
        (0, _) => "none".to_string(),
        (n, 0) => format!("{n}, none failed"),
        (n, failed) => format!("{n}, {failed} failed"),
    };
    let state = match &row.reason {
        Some(reason) => format!("{}: {reason}", state_label(row.state)),
        None => state_label(row.state).to_string(),
    };
    let can_disqualify = row.state == EntryStatus::Confirmed;
    let can_reinstate = row.state == EntryStatus::Disqualified;
    let can_erase = row.state != EntryStatus::Erased;
    let asking_erase = RwSignal::new(false);
    let (id1, id2, id3) = (campaign_id.clone(), campaign_id.clone(), campaign_id);
    let (e1, e2, e3) = (row.id.clone(), row.id.clone(), row.id.clone());
    view! {
        <tr data-testid="entrant" data-entry=row.id.clone() data-state=row.state.as_str()>
            <td data-testid="entrant-name">{row.name.unwrap_or_else(|| "—".into())}</td>
            <td data-testid="entrant-ticket"><code>{row.ticket.unwrap_or_default()}</code></td>
            <td data-testid="entrant-state">{state}</td>
            <td>{entered}</td>
            <td data-testid="entrant-source">{source_label(row.source)}</td>
            <td>{row.keyword.unwrap_or_default()}</td>
            <td data-testid="entrant-reach">{messenger}</td>
            <td data-testid="entrant-messages">{messages}</td>
            <td class="actions">
                {can_disqualify.then(|| view! {
                    <ActionForm action=disqualify>
                        <input type="hidden" name="id" value=id1/>
                        <input type="hidden" name="entry" value=e1/>
                        <input type="text" name="reason" required maxlength=REASON_MAX.to_string()
                            placeholder="Reason" data-testid="entrant-reason"/>
                        <button type="submit" class="secondary" data-testid="entrant-disqualify">"Disqualify"</button>
                    </ActionForm>
                })}
                {can_reinstate.then(|| view! {
                    <ActionForm action=reinstate>
                        <input type="hidden" name="id" value=id2/>
                        <input type="hidden" name="entry" value=e2/>
                        <button type="submit" class="secondary" data-testid="entrant-reinstate">"Reinstate"</button>
                    </ActionForm>
                })}
                {can_erase.then_some(move || {
                    if !asking_erase.get() {
                        return view! {
                            <button type="button" class="secondary" data-testid="entrant-erase"
                                on:click=move |_| asking_erase.set(true)>"Erase…"</button>
                        }
                        .into_any();
                    }
                    let (id, entry) = (id3.clone(), e3.clone());
                    view! {
                        <ActionForm action=erase>
                            <input type="hidden" name="id" value=id/>
                            <input type="hidden" name="entry" value=entry/>
                            <span class="warning">"Erase this person's data on this Page? This cannot be undone. "</span>
                            <button type="submit" class="danger" data-testid="entrant-erase-confirm">"Erase"</button>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </td>
        </tr>
    }
}
