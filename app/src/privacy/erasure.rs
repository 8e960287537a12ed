//! Erasing a person (issue #17), from wherever the request comes: Meta's data deletion callback
//! (by app-scoped id), the DELETE MY DATA keyword in Messenger, or an admin's Erase in the
//! entrants list. Each table's owner erases its part; this module only puts them in order and
//! says, in words, what went. Counts stay: entries remain as `erased` rows, messages sent keep
//! their outcome, a ticket already drawn stays on the results as the ticket alone.

use crate::db::now_ms;
use crate::entries::store as entries;
use crate::state::AppState;

/// What one erasure removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Messenger identities (one person on one Page).
    pub people: u64,
    pub entries: u64,
    /// Webhook payloads (what they wrote to the Page) emptied.
    pub payloads: u64,
    /// An admin account.
    pub admin: bool,
    /// Prizes the person held that went to the next ticket.
    pub prizes_passed: u64,
}

impl Erased {
    fn add(&mut self, other: Erased) {
        self.people += other.people;
        self.entries += other.entries;
        self.payloads += other.payloads;
        self.admin |= other.admin;
        self.prizes_passed += other.prizes_passed;
    }

    /// In plain words, naming no one, to the person: what the status page says.
    pub fn summary(&self) -> String {
        self.told(Told::Person)
    }

    /// In plain words, naming no one, to the admin who erased the person.
    pub fn summary_for_admin(&self) -> String {
        self.told(Told::Admin)
    }

    fn told(&self, to: Told) -> String {
        let (your, you) = match to {
            Told::Person => ("your", "you"),
            Told::Admin => ("their", "they"),
        };
        if self.people == 0 && self.entries == 0 && !self.admin {
            return format!(
                "We held no data about {}, so there was nothing to erase.",
                match to {
                    Told::Person => "you",
                    Told::Admin => "them",
                }
            );
        }
        let mut parts = Vec::new();
        if self.people > 0 {
            parts.push(format!(
                "{your} Messenger identity with {} ({your} page-scoped id, first name and \
                 initial, the keywords {you} tapped)",
                plural(self.people, "Page", "Pages")
            ));
        }
        if self.entries > 0 {
            parts.push(format!(
                "{} (they remain only as anonymous rows, so that entry counts do not change)",
                plural(self.entries, "giveaway entry", "giveaway entries")
            ));
        }
        if self.payloads > 0 {
            parts.push(format!(
                "the content of {} {you} sent",
                plural(self.payloads, "message", "messages")
            ));
        }
        if self.admin {
            parts.push(format!(
                "{your} organiser account ({your} name, Facebook token and Page rights; {your} \
                 sessions no longer log {you} in)"
            ));
        }
        let mut text = format!("Erased: {}.", parts.join("; "));
        if self.prizes_passed > 0 {
            text.push_str(&format!(
                " A prize {you} held passed to the next ticket of the draw; the public results \
                 show {your} ticket only, with the words \"{}\".",
                crate::winners::store::ERASED
            ));
        } else if self.entries > 0 {
            text.push_str(&format!(
                " A ticket of {your}s that was already drawn stays on the public results as the \
                 ticket alone."
            ));
        }
        text
    }
}

#[derive(Clone, Copy)]
enum Told {
    Person,
    Admin,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Erases one person on one Page, by their subscriber row.
pub async fn erase_subscriber(
    state: &AppState,
    subscriber_id: &str,
) -> Result<Erased, sqlx::Error> {
    let Some(subscriber) = entries::find_subscriber(&state.db, subscriber_id).await? else {
        return Ok(Erased::default());
    };
    let now = now_ms();
    // What they wrote goes first, while their PSID still finds it.
    let page = crate::pages::store::facebook_id(&state.db, &subscriber.page_id).await?;
    let payloads = match &page {
        Some(page) => {
            crate::messenger::retention::forget_person(
                &state.db,
                page,
                &subscriber.psid,
                subscriber_id,
            )
            .await?
        }
        None => 0,
    };
    // What the organiser's tools were to be told about them goes too (hand-off deliveries).
    crate::handoff::store::forget_subscriber(&state.db, &subscriber.page_id, &subscriber.psid)
        .await?;
    let erased = entries::erase_subscriber(&state.db, subscriber_id, now).await?;
    let mut prizes_passed = 0;
    for (entry, campaign) in &erased {
        prizes_passed += u64::from(left_draw(state, campaign, entry, now).await?);
    }
    Ok(Erased {
        people: 1,
        entries: erased.len() as u64,
        payloads,
        admin: false,
        prizes_passed,
    })
}

/// The entry leaves the draw: a prize it holds moves on, and its next holder is told.
async fn left_draw(
    state: &AppState,
    campaign_id: &str,
    entry_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let reason = crate::winners::store::ERASED;
    match crate::winners::store::entry_left(&state.db, campaign_id, entry_id, reason, now).await {
        Ok(true) => {
            crate::winners::claims::tell(state, Some(campaign_id)).await?;
            state.showcase.forget_all();
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(crate::winners::store::WinnersError::Db(e)) => Err(e),
        Err(e) => {
            // The results could not take the redraw: the erasure stands, the admin sees the
            // prize still held and can disqualify it by hand.
            tracing::error!(error = %e, campaign = %campaign_id, "prize of an erased entry not passed");
            Ok(false)
        }
    }
}

/// The person behind an entry: their whole identity on the Page when Messenger confirmed it,
/// else the entry alone (it names no one but, perhaps, an app-scoped id).
async fn erase_person_of(state: &AppState, entry: &entries::Entry) -> Result<Erased, sqlx::Error> {
    match &entry.subscriber_id {
        Some(subscriber) => erase_subscriber(state, subscriber).await,
        None => Ok(Erased {
            entries: u64::from(entries::erase_entry(&state.db, &entry.id, now_ms()).await?),
            ..Erased::default()
        }),
    }
}

/// The admin erases the person behind one entry of their campaign. None when the entry is not
/// the campaign's or was erased already; else what was erased, in words, and the address of the
/// status page to give the person.
pub async fn erase_entry(
    state: &AppState,
    campaign_id: &str,
    entry_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let Some(entry) = entries::find(&state.db, entry_id).await? else {
        return Ok(None);
    };
    if entry.campaign_id != campaign_id || entry.status == entries::EntryStatus::Erased {
        return Ok(None);
    }
    let erased = erase_person_of(state, &entry).await?;
    // The record speaks to the person (its status page is theirs to keep); the admin is told in
    // the third person, with the page to pass on.
    let origin = super::deletion::Origin::Admin;
    let code = super::deletion::record(&state.db, origin, &erased.summary()).await?;
    Ok(Some(format!(
        "{} The person's status page: {}",
        erased.summary_for_admin(),
        super::deletion::status_url(&state.settings, &code)
    )))
}

/// Everything held under a Facebook app-scoped id (Meta's data deletion request): the entries
/// that person made through a Facebook login, with the Messenger identity that confirmed each,
/// and their admin account.
pub async fn erase_app_user(state: &AppState, asid: &str) -> Result<Erased, sqlx::Error> {
    let mut total = Erased::default();
    let mut people_done = std::collections::HashSet::new();
    for entry in entries::entries_of_app_user(&state.db, asid).await? {
        // One erasure per person: it takes all their entries on the Page at once.
        if let Some(subscriber) = &entry.subscriber_id {
            if !people_done.insert(subscriber.clone()) {
                continue;
            }
        }
        total.add(erase_person_of(state, &entry).await?);
    }
    total.admin = crate::admins::store::erase(&state.db, asid).await?;
    Ok(total)
}
