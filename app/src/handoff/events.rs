//! The events and their JSON, and the calls that emit them where things happen. Every body has
//! the same envelope (README, "Hand-off webhooks"):
//!
//! ```json
//! { "id": "<uuid>", "type": "entry.confirmed", "created_at": 1764355200000,
//!   "page_id": "<the Facebook Page's id>", "data": { … } }
//! ```
//!
//! `data` names the person by their PSID (their id on the Page): the organiser's chatbot talks
//! to the same Page, so that is the id it can answer. An emit that fails (the database) is
//! logged and swallowed: the person's entry, keyword or opt-out stands either way.

use super::store::{self, NewEvent};
use super::EventType;
use crate::campaigns::store::Published;
use crate::db::now_ms;
use crate::entries::store::Subscriber;
use crate::pages::{FacebookPageId, PageRowId};
use crate::state::AppState;
use serde_json::{json, Value};

/// A random (version 4) UUID: the event's id, the same for every hook it goes to.
pub fn new_event_id() -> String {
    let mut b = rand::random::<[u8; 16]>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The body of an event, as sent.
pub fn body(
    event_id: &str,
    event_type: EventType,
    created_at: i64,
    facebook_page_id: &str,
    data: Value,
) -> String {
    json!({
        "id": event_id,
        "type": event_type.as_str(),
        "created_at": created_at,
        "page_id": facebook_page_id,
        "data": data,
    })
    .to_string()
}

/// What an event says about one Page's person.
struct Happened<'a> {
    page_row_id: &'a PageRowId,
    facebook_page_id: &'a FacebookPageId,
    event_type: EventType,
    dedupe_key: String,
    psid: Option<&'a str>,
    data: Value,
}

/// Queues the event for the Page's hooks that want it; logs (and swallows) a failure.
async fn emit(state: &AppState, event: Happened<'_>) {
    let event_type = event.event_type;
    if let Err(e) = try_emit(state, event).await {
        tracing::warn!(error = %e, event = event_type.as_str(), "hand-off event not queued");
    }
}

async fn try_emit(state: &AppState, event: Happened<'_>) -> Result<(), sqlx::Error> {
    if !store::has_hooks(&state.db, event.page_row_id).await? {
        return Ok(());
    }
    let event_id = new_event_id();
    let payload = body(
        &event_id,
        event.event_type,
        now_ms(),
        event.facebook_page_id,
        event.data,
    );
    let queued = store::enqueue(
        &state.db,
        event.page_row_id,
        &NewEvent {
            event_id: &event_id,
            event_type: event.event_type,
            dedupe_key: &event.dedupe_key,
            payload: &payload,
            psid: event.psid,
        },
    )
    .await?;
    if queued > 0 {
        super::courier::wake();
    }
    Ok(())
}

fn campaign_json(campaign: &Published) -> Value {
    json!({ "id": campaign.id, "slug": campaign.slug, "title": campaign.title })
}

/// `entry.confirmed`: Messenger confirmed `entry` of `campaign` for `subscriber`, through the
/// entry's m.me link or (`by_code`) its fallback code; `ticket` is its ticket in the draw.
pub async fn entry_confirmed(
    state: &AppState,
    campaign: &Published,
    entry: &crate::entries::store::Entry,
    ticket: Option<&str>,
    by_code: bool,
    subscriber: &Subscriber,
) {
    emit(
        state,
        Happened {
            page_row_id: &campaign.page_row_id,
            facebook_page_id: &campaign.facebook_page_id,
            event_type: EventType::EntryConfirmed,
            dedupe_key: format!("entry.confirmed:{}", entry.id),
            psid: Some(&subscriber.psid),
            data: json!({
                "campaign": campaign_json(campaign),
                "entry_id": entry.id,
                "ticket": ticket,
                "source": entry.source.as_str(),
                "confirmed_by": if by_code { "code" } else { "link" },
                "psid": subscriber.psid,
                "first_name": subscriber.first_name,
            }),
        },
    )
    .await
}

/// `keyword.tapped`: `subscriber` tapped the automation keyword `keyword` at `at`.
pub async fn keyword_tapped(
    state: &AppState,
    page_row_id: &PageRowId,
    facebook_page_id: &FacebookPageId,
    subscriber: &Subscriber,
    keyword: &str,
    at: i64,
) {
    emit(
        state,
        Happened {
            page_row_id,
            facebook_page_id,
            event_type: EventType::KeywordTapped,
            dedupe_key: format!("keyword.tapped:{}:{keyword}:{at}", subscriber.id),
            psid: Some(&subscriber.psid),
            data: json!({
                "keyword": keyword,
                "psid": subscriber.psid,
                "first_name": subscriber.first_name,
                "tapped_at": at,
            }),
        },
    )
    .await
}

/// `subscriber.opted_out`: `subscriber` sent an opt-out word to the Page at `at`.
pub async fn opted_out(
    state: &AppState,
    page_row_id: &PageRowId,
    facebook_page_id: &FacebookPageId,
    subscriber: &Subscriber,
    at: i64,
) {
    emit(
        state,
        Happened {
            page_row_id,
            facebook_page_id,
            event_type: EventType::OptedOut,
            dedupe_key: format!("subscriber.opted_out:{}:{at}", subscriber.id),
            psid: Some(&subscriber.psid),
            data: json!({
                "psid": subscriber.psid,
                "first_name": subscriber.first_name,
                "opted_out_at": at,
            }),
        },
    )
    .await
}

/// `winner.claimed`: the holder of `prize` in `campaign` claimed it (`what` is the prize's
/// text). The person and the ticket are read here.
pub async fn winner_claimed(
    state: &AppState,
    campaign: &Published,
    prize: &crate::winners::store::HeldPrize,
    what: &str,
    subscriber_id: &str,
) {
    let found = async {
        let subscriber = crate::entries::store::find_subscriber(&state.db, subscriber_id).await?;
        let ticket = crate::winners::store::ticket_of(&state.db, &prize.entry_id).await?;
        Ok::<_, sqlx::Error>((subscriber, ticket))
    }
    .await;
    let (subscriber, ticket) = match found {
        Ok((Some(subscriber), ticket)) => (subscriber, ticket),
        Ok((None, _)) => return,
        Err(e) => {
            tracing::warn!(error = %e, "hand-off event not queued");
            return;
        }
    };
    emit(
        state,
        Happened {
            page_row_id: &campaign.page_row_id,
            facebook_page_id: &campaign.facebook_page_id,
            event_type: EventType::WinnerClaimed,
            dedupe_key: format!("winner.claimed:{}:{}", campaign.id, prize.entry_id),
            psid: Some(&subscriber.psid),
            data: json!({
                "campaign": campaign_json(campaign),
                "entry_id": prize.entry_id,
                "ticket": ticket,
                "prize_rank": prize.prize_rank,
                "prize": what,
                "psid": subscriber.psid,
                "first_name": subscriber.first_name,
            }),
        },
    )
    .await
}

/// `ping`: a test event for one hook of the Page, which its admin asked for. Whether the Page
/// has that hook.
pub async fn ping(
    state: &AppState,
    page_row_id: &PageRowId,
    facebook_page_id: &FacebookPageId,
    hook_id: &str,
) -> Result<bool, sqlx::Error> {
    let event_id = new_event_id();
    let payload = body(
        &event_id,
        EventType::Ping,
        now_ms(),
        facebook_page_id,
        json!({ "message": "A test event from the giveaway's admin page." }),
    );
    let queued = store::enqueue_for_hook(
        &state.db,
        page_row_id,
        hook_id,
        &NewEvent {
            event_id: &event_id,
            event_type: EventType::Ping,
            dedupe_key: &format!("ping:{event_id}"),
            payload: &payload,
            psid: None,
        },
    )
    .await?;
    if queued {
        super::courier::wake();
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_version_4_uuids() {
        let id = new_event_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_ne!(id, new_event_id());
    }

    #[test]
    fn every_body_has_the_envelope() {
        let text = body(
            "e1",
            EventType::KeywordTapped,
            42,
            "101",
            json!({ "keyword": "TIPS" }),
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], "e1");
        assert_eq!(v["type"], "keyword.tapped");
        assert_eq!(v["created_at"], 42);
        assert_eq!(v["page_id"], "101");
        assert_eq!(v["data"]["keyword"], "TIPS");
    }
}
