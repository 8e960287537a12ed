//! Entrants: the public entry page and widget (`page`, its HTML in `views`, the Facebook login of
//! campaigns that require one in `entrant_login`), the signed m.me refs (`refs`), the entry
//! and subscriber rows (`store`), and what a Messenger interaction means for an entry
//! (`on_interaction`): a referral or a fallback code confirms it, a quick reply records the
//! campaign's keyword, and a newly confirmed entry gets its confirmation message.

#[cfg(feature = "ssr")]
mod entrant_login;
#[cfg(feature = "ssr")]
pub mod entrants;
pub mod list;
#[cfg(feature = "ssr")]
pub mod page;
#[cfg(feature = "ssr")]
pub mod refs;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod views;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

crate::word_enum! {
    /// `entries.status`.
    pub enum EntryStatus("entry status") {
        /// The link (and code) was handed out; Messenger has not told us who answered it.
        Pending = "pending",
        Confirmed = "confirmed",
        /// The person had entered already: `duplicate_of` names that entry.
        Duplicate = "duplicate",
        /// The admin took the entry out of the draw (`disqualified_reason` says why);
        /// reinstating makes it `confirmed` again.
        Disqualified = "disqualified",
        /// The person's data was erased; the row keeps its place in the counts and the draw.
        Erased = "erased",
    }
}

crate::word_enum! {
    /// How an entry came (`entries.source`).
    pub enum EntrySource("entry source") {
        /// The campaign's entry page.
        Page = "page",
        /// The widget embedded on the organiser's site.
        Widget = "widget",
        /// The QR code of the entry page's link, scanned with a phone.
        Qr = "qr",
        /// An m.me link forwarded to someone who never opened the entry page.
        Direct = "direct",
    }
}

/// Where an entry came from, as the funnel counts it (`insight`): its source, the embedding
/// site's origin for the widget (`https://shop.example`), and the `utm_source` of the link the
/// person came by; '' where there is none. Nothing about the person.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribution {
    pub source: EntrySource,
    pub origin: String,
    pub utm_source: String,
}

impl Attribution {
    /// A source with no origin or tag.
    pub fn only(source: EntrySource) -> Attribution {
        Attribution {
            source,
            origin: String::new(),
            utm_source: String::new(),
        }
    }
}

/// Quick-reply payloads that carry an automation keyword start with this.
pub const KEYWORD_PAYLOAD_PREFIX: &str = "KEYWORD:";

/// What the admin sees of a campaign's entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryReport {
    pub pending: i64,
    pub confirmed: i64,
    pub confirmations_sent: i64,
    pub confirmations_failed: i64,
    /// The latest failed or held-back messages: (what, why).
    pub problems: Vec<(String, String)>,
}

/// A campaign's entries and the fate of their confirmation messages, for its admins.
#[leptos::server(endpoint = "campaign_entries")]
pub async fn campaign_entries(id: String) -> Result<EntryReport, AppError> {
    let (state, _) = crate::admins::guard::require_campaign(&id).await?;
    let counts = store::counts(&state.db, &id).await?;
    let problems = crate::messenger::outbox::problems(&state.db, &id, 20).await?;
    Ok(EntryReport {
        pending: counts.pending,
        confirmed: counts.confirmed,
        confirmations_sent: counts.confirmations_sent,
        confirmations_failed: counts.confirmations_failed,
        problems: problems
            .into_iter()
            .map(|p| {
                let code = match (p.error_code, p.error_subcode) {
                    (Some(c), Some(s)) => format!(" (code {c}/{s})"),
                    (Some(c), None) => format!(" (code {c})"),
                    _ => String::new(),
                };
                (
                    format!(
                        "{} {}",
                        p.kind.replace('_', " "),
                        p.status.replace('_', " ")
                    ),
                    format!("{}{code}", p.error_reason.unwrap_or_default()),
                )
            })
            .collect(),
    })
}

/// Where the public reaches this server: embed codes must point here, not at the embedding site.
#[leptos::server(endpoint = "public_base_url")]
pub async fn public_base_url() -> Result<String, AppError> {
    let state = leptos::prelude::expect_context::<crate::state::AppState>();
    Ok(state
        .settings
        .public_base_url
        .as_str()
        .trim_end_matches('/')
        .to_string())
}

/// Entries of a saved campaign, and why confirmation messages failed, if any did.
#[leptos::component]
pub fn EntriesPanel(campaign_id: String) -> impl leptos::IntoView {
    use leptos::prelude::*;
    let entrants = format!("/admin/campaigns/{campaign_id}/entrants");
    let report = crate::loading::load(move || campaign_id.clone(), campaign_entries);
    view! {
        <section class="card" data-testid="entries-panel">
            <h2>"Entries"</h2>
            <p><a href=entrants data-testid="entrants-link">"See every entrant (search, disqualify, erase, CSV)"</a></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! {
                        <p>
                            <strong data-testid="entries-confirmed">{r.confirmed}</strong>" entered · "
                            {r.pending}" waiting for Messenger · confirmations: "
                            {r.confirmations_sent}" sent, "
                            <span data-testid="confirmations-failed">{r.confirmations_failed}</span>" failed"
                        </p>
                        <ul class="problems">
                            {r.problems.into_iter().map(|(what, why)| view! {
                                <li data-testid="send-problem"><strong>{what}</strong>": "{why}</li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use super::{store, KEYWORD_PAYLOAD_PREFIX};
    use crate::campaigns::{store::Published, Lifecycle};
    use crate::db::now_ms;
    use crate::messenger::{
        graph::{ErrorClass, SendRequest},
        outbox,
        policy::{self, Decision, NoticePath, Path, Purpose, Situation},
        webhook::{EventKind, MessagingEvent},
    };
    use crate::pages::{FacebookPageId, PageRowId};
    use crate::state::AppState;

    /// When an event happened, by its own clock (Meta's), or now when it has none.
    fn event_time(event: &MessagingEvent) -> i64 {
        if event.timestamp > 0 {
            event.timestamp
        } else {
            now_ms()
        }
    }

    /// For an event `on_interaction` takes: the time it renews the person's window at (0 for
    /// one that does not, such as an opt-in). None for events that are not a person's
    /// interaction (echoes, deliveries, reads).
    pub fn interaction_at(event: &MessagingEvent) -> Option<i64> {
        let kind = event.kind();
        match kind {
            EventKind::Echo
            | EventKind::Unknown
            | EventKind::Delivery
            | EventKind::Read
            | EventKind::Change => None,
            _ if kind.opens_window() => Some(event_time(event)),
            _ => Some(0),
        }
    }

    /// A message, postback, referral, quick reply or opt-in from a person on a connected Page.
    /// The inbox has already found or created the `subscriber` and renewed their window (in one
    /// write for its whole batch, see `interaction_at`).
    pub async fn on_interaction(
        state: &AppState,
        page_row_id: &PageRowId,
        facebook_page_id: &FacebookPageId,
        subscriber: &mut store::Subscriber,
        event: &MessagingEvent,
    ) -> Result<(), sqlx::Error> {
        let kind = event.kind();
        let at = event_time(event);
        if subscriber.unreachable_at.is_some() && kind.opens_window() {
            // They wrote to the Page again, so they can be reached again.
            store::mark_reachable(&state.db, &subscriber.id).await?;
            subscriber.unreachable_at = None;
        }

        // What the Page answers this event with, if anything, is sent once.
        let key = format!("reply:{}:{}:{at}", subscriber.id, kind.as_str());
        let asker = |subscriber: &store::Subscriber| Asker {
            page_row_id,
            facebook_page_id,
            subscriber: subscriber.clone(),
            key: key.clone(),
        };
        // An opt-out word stops the Page's notices (answered once); writing again, START
        // included, resumes them.
        let said = event
            .message
            .as_ref()
            .and_then(|m| m.text.as_deref())
            .map(str::trim);
        // The deletion keyword erases the person on this Page; the answer (with the status
        // page's address) goes to the PSID still in hand.
        let deletion = &state.settings.deletion_keyword;
        if kind == EventKind::Message
            && said.is_some_and(|t| crate::settings::is_deletion_keyword(deletion, t))
        {
            let erased = crate::privacy::erasure::erase_subscriber(state, &subscriber.id).await?;
            let origin = crate::privacy::deletion::Origin::Messenger;
            let code =
                crate::privacy::deletion::record(&state.db, origin, &erased.summary()).await?;
            let text = format!(
                "Your data on this Page was erased: your entries, your name and what you wrote. \
                 What was erased: {}",
                crate::privacy::deletion::status_url(&state.settings, &code)
            );
            answer(state, &asker(subscriber), None, &text).await?;
            return Ok(());
        }
        let words = &state.settings.opt_out_words;
        if kind == EventKind::Message
            && said.is_some_and(|t| words.iter().any(|w| w.eq_ignore_ascii_case(t)))
        {
            if store::set_opted_out(&state.db, &subscriber.id, Some(at)).await? {
                subscriber.opted_out_at = Some(at);
                answer(state, &asker(subscriber), None, OPTED_OUT_ANSWER).await?;
                crate::handoff::opted_out(state, page_row_id, facebook_page_id, subscriber, at)
                    .await;
            }
            return Ok(());
        }
        if subscriber.opted_out_at.is_some() && kind.opens_window() {
            store::set_opted_out(&state.db, &subscriber.id, None).await?;
            subscriber.opted_out_at = None;
            let start = crate::settings::OPT_IN_WORD;
            if said.is_some_and(|t| t.eq_ignore_ascii_case(start)) {
                answer(state, &asker(subscriber), None, OPTED_IN_ANSWER).await?;
            }
        }

        let found = if let Some(reference) = event.referral_ref() {
            let scanned = super::refs::scanned(reference);
            entry_for_ref(state, reference)
                .await?
                .map(|entry| (entry, Via::Ref { scanned }))
        } else if kind == EventKind::Message {
            let text = event.message.as_ref().and_then(|m| m.text.as_deref());
            match text.and_then(store::normalize_code) {
                Some(code) => entry_for_code(state, &asker(subscriber), &code, at)
                    .await?
                    .map(|entry| (entry, Via::Code)),
                None => None,
            }
        } else {
            None
        };
        // Asked only before a confirmation that may greet them by name: a message without an
        // entry costs no Graph call, which keeps a flood of webhooks cheap.
        if found.is_some() && subscriber.first_name.is_none() {
            fill_first_name(state, facebook_page_id, subscriber).await?;
        }
        if let Some((entry, via)) = found {
            confirm(state, &asker(subscriber), &entry, via, at).await?;
        }

        // A winner claiming their prize: the button of the winner's message, or the word.
        let postback = event.postback.as_ref().and_then(|p| p.payload.as_deref());
        let text = event.message.as_ref().and_then(|m| m.text.as_deref());
        if let Some(which) = crate::winners::claims::asked(postback, text) {
            let said =
                crate::winners::claims::claim(state, &subscriber.id, which.as_deref()).await?;
            if let Some((campaign_id, words)) = said {
                answer(state, &asker(subscriber), Some(&campaign_id), &words).await?;
            }
        }

        if kind == EventKind::QuickReply {
            let payload = event
                .message
                .as_ref()
                .and_then(|m| m.quick_reply.as_ref())
                .map(|q| q.payload.as_str());
            if let Some(keyword) = payload.and_then(|p| p.strip_prefix(KEYWORD_PAYLOAD_PREFIX)) {
                store::record_keyword(&state.db, &subscriber.id, keyword, at).await?;
                let (page, fb_page) = (page_row_id, facebook_page_id);
                crate::handoff::keyword_tapped(state, page, fb_page, subscriber, keyword, at).await;
            }
        }
        Ok(())
    }

    /// The entry a ref names, if the ref is ours, signed for that entry's campaign and fresh.
    async fn entry_for_ref(
        state: &AppState,
        reference: &str,
    ) -> Result<Option<store::Entry>, sqlx::Error> {
        let Some(nonce) = super::refs::nonce_of(reference) else {
            tracing::info!("referral with a ref that is not ours ignored");
            return Ok(None);
        };
        let Some(entry) = store::find_by_nonce(&state.db, nonce).await? else {
            tracing::info!("referral for an unknown entry ignored");
            return Ok(None);
        };
        let key = super::refs::RefKey::new(&state.settings.secret_key);
        if let Err(e) = key.verify(&entry.campaign_id, reference, now_ms() / 1000) {
            tracing::warn!(error = %e, entry = %entry.id, "referral refused");
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The person an event came from, on its Page, and the key that sends the Page's answer to
    /// this event once.
    struct Asker<'a> {
        page_row_id: &'a PageRowId,
        facebook_page_id: &'a FacebookPageId,
        subscriber: store::Subscriber,
        key: String,
    }

    /// How the person named the entry: its link's ref or its fallback code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Via {
        /// `scanned`: the ref of the QR code's link.
        Ref {
            scanned: bool,
        },
        Code,
    }

    const OPTED_OUT_ANSWER: &str = "You will get no more giveaway messages from this Page. \
        Send START to get them again.";
    const OPTED_IN_ANSWER: &str = "You will get this Page's giveaway messages again.";
    const NOT_YOURS: &str = "This code isn't yours or has expired. To enter, open the campaign's \
        page again and tap Subscribe on Messenger.";
    const TOO_MANY_CODES: &str = "Too many wrong codes in the last hour, so codes are not checked \
        for now. Try again later, or open the campaign's page again and tap Subscribe on Messenger.";

    /// The pending entry a code typed in Messenger names, if this person may use it now. A code
    /// can be guessed: wrong ones are counted, and after `CODE_MISSES_PER_HOUR` in an hour codes
    /// are not looked up for that person (told once, at the first code refused so); a code lasts
    /// `FALLBACK_CODE_HOURS` from its entry's creation. A message that merely looks like a code
    /// and names nothing gets no answer: it may be a word.
    async fn entry_for_code(
        state: &AppState,
        asker: &Asker<'_>,
        code: &str,
        at: i64,
    ) -> Result<Option<store::Entry>, sqlx::Error> {
        let (db, now) = (&state.db, now_ms());
        let person = &asker.subscriber.id;
        if store::code_misses(db, person, now).await? >= store::CODE_MISSES_PER_HOUR {
            let misses = store::count_code_miss(db, person, &asker.key, now).await?;
            if misses == store::CODE_MISSES_PER_HOUR + 1 {
                answer(state, asker, None, TOO_MANY_CODES).await?;
            }
            return Ok(None);
        }
        let entry = store::find_pending_by_code(db, asker.page_row_id, code).await?;
        match entry {
            Some(entry) if entry.created_at >= at - state.settings.abuse.code_lifetime_ms => {
                Ok(Some(entry))
            }
            Some(expired) => {
                store::count_code_miss(db, person, &asker.key, now).await?;
                answer(state, asker, Some(&expired.campaign_id), NOT_YOURS).await?;
                Ok(None)
            }
            None => {
                store::count_code_miss(db, person, &asker.key, now).await?;
                Ok(None)
            }
        }
    }

    async fn confirm(
        state: &AppState,
        asker: &Asker<'_>,
        entry: &store::Entry,
        via: Via,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        let Some(campaign) =
            crate::campaigns::store::find_published_by_id(&state.db, &entry.campaign_id).await?
        else {
            return Ok(());
        };
        // A ref or code of one Page's campaign sent to another Page proves nothing.
        if &campaign.page_row_id != asker.page_row_id {
            tracing::warn!(entry = %entry.id, "entry answered on another Page: ignored");
            return Ok(());
        }
        // The person answered while the campaign was open (Meta may deliver a little late).
        if campaign.lifecycle(at) != Lifecycle::Live {
            tracing::info!(entry = %entry.id, "entry answered outside the campaign dates: ignored");
            return Ok(());
        }
        let proof = match via {
            Via::Ref { .. } => store::Proof::Ref {
                forward_enters: !campaign.require_login,
            },
            Via::Code => store::Proof::Code,
        };
        let subscriber = &asker.subscriber;
        match store::confirm(&state.db, entry, &subscriber.id, proof, at).await? {
            store::Confirmation::Confirmed(mut confirmed) => {
                tracing::info!(entry = %confirmed.id, campaign = %campaign.id, "entry confirmed");
                if via == (Via::Ref { scanned: true }) && confirmed.id == entry.id {
                    store::set_source(&state.db, &confirmed.id, store::EntrySource::Qr).await?;
                    confirmed.source = store::EntrySource::Qr;
                }
                // A forwarded link's entry starts and ends here; a scanned QR code finishes,
                // as a QR entry, what the entry page started.
                let from = confirmed.attribution();
                if confirmed.id != entry.id {
                    state
                        .tally
                        .add_at(&campaign.id, &from, crate::insight::Stage::Started, at);
                }
                state
                    .tally
                    .add_at(&campaign.id, &from, crate::insight::Stage::Confirmed, at);
                // The public ticket, now, so that the confirmation and the entry page show it
                // (the freeze at the end gives one to any confirmed entry still without).
                let ticket = match crate::winners::store::issue_ticket(
                    &state.db,
                    &campaign.id,
                    &confirmed.id,
                )
                .await
                {
                    Ok(ticket) => Some(ticket),
                    Err(crate::winners::store::WinnersError::Db(e)) => return Err(e),
                    Err(e) => {
                        tracing::warn!(entry = %confirmed.id, error = %e, "no ticket yet");
                        None
                    }
                };
                crate::notices::fanout::late_entrant(state, &campaign.id, &subscriber.id).await?;
                let by_code = via == Via::Code;
                let ticket_ref = ticket.as_deref();
                crate::handoff::entry_confirmed(
                    state, &campaign, &confirmed, ticket_ref, by_code, subscriber,
                )
                .await;
                send_confirmation(state, &campaign, &confirmed, subscriber, ticket.as_deref()).await
            }
            store::Confirmation::Already(_) | store::Confirmation::Duplicate { .. } => Ok(()),
            store::Confirmation::NotYours => {
                store::count_code_miss(&state.db, &subscriber.id, &asker.key, now_ms()).await?;
                answer(state, asker, Some(&campaign.id), NOT_YOURS).await
            }
            store::Confirmation::Forwarded => {
                let base = state
                    .settings
                    .public_base_url
                    .as_str()
                    .trim_end_matches('/');
                let text = format!(
                    "This link was made for someone else. To enter {}, open {base}/c/{}, log in \
                     with Facebook there and tap Subscribe on Messenger.",
                    campaign.title, campaign.slug
                );
                answer(state, asker, Some(&campaign.id), &text).await
            }
        }
    }

    /// A short answer to what the person just wrote, inside their window, once per event.
    async fn answer(
        state: &AppState,
        asker: &Asker<'_>,
        campaign_id: Option<&str>,
        text: &str,
    ) -> Result<(), sqlx::Error> {
        let to = Recipient {
            page_row_id: asker.page_row_id,
            facebook_page_id: asker.facebook_page_id,
            campaign_id,
            subscriber: &asker.subscriber,
        };
        let request = SendRequest::text(&asker.subscriber.psid, text);
        reply(state, &to, Purpose::Reply, asker.key.clone(), request).await
    }

    async fn fill_first_name(
        state: &AppState,
        facebook_page_id: &str,
        subscriber: &mut store::Subscriber,
    ) -> Result<(), sqlx::Error> {
        let token =
            crate::pages::store::page_token(&state.db, &state.token_cipher, facebook_page_id)
                .await?;
        let Some(token) = token else { return Ok(()) };
        match state.graph.profile(&subscriber.psid, &token).await {
            Ok(profile) => {
                if let Some(name) = profile.first_name.filter(|n| !n.is_empty()) {
                    let last = profile.last_name.as_deref();
                    store::set_name(&state.db, &subscriber.id, &name, last).await?;
                    subscriber.first_name = Some(name);
                }
            }
            // Optional: the message reads fine without the name.
            Err(e) => tracing::info!(error = %e.reason(), "subscriber profile not available"),
        }
        Ok(())
    }

    /// The confirmation message, when the campaign has one: asked of the send policy, queued
    /// once per entry, sent, and its outcome recorded for the admin.
    pub async fn send_confirmation(
        state: &AppState,
        campaign: &Published,
        entry: &store::Entry,
        subscriber: &store::Subscriber,
        ticket: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        if !campaign.confirmation_enabled {
            return Ok(());
        }
        let mut text = crate::campaigns::rules::fill(
            &campaign.confirmation_text,
            subscriber.first_name.as_deref().unwrap_or(""),
            &campaign.title,
            &campaign.prize,
        );
        // The person's ticket in the draw, when it fits in one message (the organiser's text
        // may already use all of Meta's 2,000 characters; the entry page shows it anyway).
        if let Some(ticket) = ticket {
            let line = format!("\n\nYour ticket in the draw: {ticket}");
            if text.chars().count() + line.chars().count() <= crate::messenger::limits::TEXT_MAX {
                text.push_str(&line);
            }
        }
        let mut request = SendRequest::text(&subscriber.psid, &text);
        if let Some(keyword) = campaign
            .automation_keyword
            .as_deref()
            .filter(|k| !k.is_empty())
        {
            let title: String = keyword.chars().take(20).collect();
            request =
                request.with_quick_reply(&title, &format!("{KEYWORD_PAYLOAD_PREFIX}{keyword}"));
        }
        let to = Recipient {
            page_row_id: &campaign.page_row_id,
            facebook_page_id: &campaign.facebook_page_id,
            campaign_id: Some(&campaign.id),
            subscriber,
        };
        let key = format!("confirmation:{}", entry.id);
        reply(state, &to, Purpose::Confirmation, key, request).await
    }

    /// Whom a reply goes to, from which Page, about which campaign.
    struct Recipient<'a> {
        page_row_id: &'a PageRowId,
        facebook_page_id: &'a FacebookPageId,
        campaign_id: Option<&'a str>,
        subscriber: &'a store::Subscriber,
    }

    /// A reply to what the person just did (a confirmation or another answer): asked of the
    /// send policy, queued once under `dedupe_key`, sent, and its outcome recorded.
    async fn reply(
        state: &AppState,
        to: &Recipient<'_>,
        purpose: Purpose,
        dedupe_key: String,
        request: SendRequest,
    ) -> Result<(), sqlx::Error> {
        let subscriber = to.subscriber;
        let decision = policy::decide(&Situation {
            purpose,
            now: now_ms(),
            last_interaction_at: subscriber.last_interaction_at,
            unreachable: subscriber.unreachable_at.is_some(),
            opted_out: subscriber.opted_out_at.is_some(),
            notice_path: NoticePath::Automatic,
            template: policy::TemplateState::Missing,
            tag_refused: false,
        });
        let path = match &decision {
            Decision::Send(path) => Some(path.as_str()),
            Decision::Hold(_) | Decision::Wait(_) => None,
        };
        let Some(queued) = outbox::queue(
            &state.db,
            outbox::NewMessage {
                dedupe_key,
                page_row_id: to.page_row_id,
                subscriber_id: &subscriber.id,
                campaign_id: to.campaign_id,
                kind: purpose.as_str(),
                path,
            },
        )
        .await?
        else {
            return Ok(());
        };
        if let Decision::Hold(reason) | Decision::Wait(reason) = decision {
            return outbox::mark_not_sent(&state.db, &queued.id, &reason).await;
        }
        let token =
            crate::pages::store::page_token(&state.db, &state.token_cipher, to.facebook_page_id)
                .await?;
        let Some(token) = token else {
            return outbox::mark_not_sent(&state.db, &queued.id, "the Page is not connected").await;
        };
        // Meta refuses every send of a paused Page: the call would only fail again.
        let pause = crate::pages::paused::reason(&state.db, to.page_row_id).await?;
        if let Some(reason) = pause {
            let reason = format!("the Page is paused: {reason}");
            return outbox::mark_not_sent(&state.db, &queued.id, &reason).await;
        }
        debug_assert_eq!(path, Some(Path::Response.as_str()));
        // Replies count against the Page's limit with its notices, without the notices' spacing
        // or throttling holds: a reply waits only while the second is full.
        let pacer = state.pacers.for_page(to.page_row_id);
        let call = pacer.within_limit().await;
        let started = now_ms();
        let answer = state
            .graph
            .send(to.facebook_page_id, &token, &request)
            .await;
        drop(call);
        match answer {
            Ok((sent, _usage)) => {
                let path = Path::Response.as_str();
                let accepted = outbox::Accepted {
                    id: &queued.id,
                    message_id: &sent.message_id,
                    sent_at: started,
                    path,
                    note: None,
                };
                outbox::mark_sent(&state.db, &[accepted]).await?;
                // Meta's receipt may have come in while the answer was on its way.
                outbox::catch_up(&state.db, &[&queued.id]).await.map(drop)
            }
            Err(e) => {
                tracing::warn!(error = %e.reason(), kind = purpose.as_str(), "reply not sent");
                if e.class() == ErrorClass::Unreachable {
                    store::mark_unreachable(&state.db, &subscriber.id, &e.reason()).await?;
                }
                if e.class().pauses_page() {
                    // Not this person's fault, and every send of the Page would fail alike: the
                    // Page stops (notices included) until its admin acts.
                    let reason = e.reason();
                    crate::pages::paused::pause(&state.db, to.page_row_id, &reason).await?;
                    return outbox::mark_not_sent(&state.db, &queued.id, &reason).await;
                }
                outbox::mark_failed(&state.db, &queued.id, &e).await
            }
        }
    }
}
