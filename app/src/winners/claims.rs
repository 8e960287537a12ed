//! Telling the winners and taking their claims (issue #16). Each prize holder not yet told gets
//! one message through the notices' queue (`notices::winner_messages`); how it goes is the send
//! policy's choice like any notice: inside the 24-hour window a button template with a "Claim my
//! prize" postback (`UPDATE`); outside it the Page's results template (a utility template with
//! the same postback button, `notices::templates::RESULTS`), or, on the notice tag path, a text
//! that asks for a reply of CLAIM (a tagged text carries no button). The claim comes back by
//! webhook, button or word, and is recorded here.

use super::store::{self, Claim};
use crate::campaigns::store::Published;
use crate::db::now_ms;
use crate::messenger::graph::SendRequest;
use crate::messenger::policy::{Path, NOTICE_TAG};
use crate::notices::winner_messages::{self, WinnerMessage};
use crate::state::AppState;

/// The postback of the claim button: the campaign's id follows.
pub const CLAIM_PAYLOAD_PREFIX: &str = "CLAIM:";
/// The word a winner can write instead of tapping (any case, alone in the message).
pub const CLAIM_WORD: &str = "CLAIM";
pub const CLAIM_BUTTON: &str = "Claim my prize";

/// The winner's message as it goes on `path` (the policy's choice): the way to claim said in
/// the words that path can carry.
pub fn message(psid: &str, campaign_id: &str, title: &str, text: &str, path: Path) -> SendRequest {
    let payload = format!("{CLAIM_PAYLOAD_PREFIX}{campaign_id}");
    let by_reply = format!("{text} To claim it, reply {CLAIM_WORD} in this conversation.");
    match path {
        Path::Update | Path::Response => SendRequest::update_with_postback(
            psid,
            &format!("{text} Tap {CLAIM_BUTTON} to claim it."),
            CLAIM_BUTTON,
            &payload,
        ),
        Path::Tag => SendRequest::tagged(psid, &by_reply, NOTICE_TAG),
        Path::Utility => crate::notices::templates::results_request(
            psid,
            title,
            &format!("{text} Tap {CLAIM_BUTTON}, or reply {CLAIM_WORD} here."),
            &payload,
        ),
    }
}

/// The prize of `rank`: its own line of the campaign's prizes by rank, or the campaign's prize.
pub fn prize_of(campaign: &Published, rank: i64) -> String {
    usize::try_from(rank - 1)
        .ok()
        .and_then(|i| campaign.prizes_by_rank.lines().nth(i))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(&campaign.prize)
        .to_string()
}

/// Queues a message for every prize holder not told yet, in `campaign_id` or everywhere (the
/// winners' round, which also catches what a crash left between the draw and the queue).
/// Answers how many messages were queued.
pub async fn tell(state: &AppState, campaign_id: Option<&str>) -> Result<u64, sqlx::Error> {
    let holders = store::holders_to_tell(&state.db, campaign_id).await?;
    let mut queued = 0;
    let mut by_campaign: Vec<(String, Vec<store::Holder>)> = Vec::new();
    for holder in holders {
        match by_campaign.last_mut() {
            Some((id, list)) if *id == holder.campaign_id => list.push(holder),
            _ => by_campaign.push((holder.campaign_id.clone(), vec![holder])),
        }
    }
    for (campaign_id, holders) in by_campaign {
        let Some(campaign) =
            crate::campaigns::store::find_published_by_id(&state.db, &campaign_id).await?
        else {
            continue;
        };
        let messages: Vec<WinnerMessage> = holders
            .iter()
            .map(|h| WinnerMessage {
                subscriber_id: h.subscriber_id.clone(),
                body: format!(
                    "Congratulations {{first_name}}! Your ticket {} won {} in the giveaway {}. \
                     Claim it before {}.",
                    h.ticket,
                    prize_of(&campaign, h.prize_rank),
                    campaign.title,
                    campaign.local_time(h.claim_deadline.unwrap_or(0)),
                ),
            })
            .collect();
        queued +=
            winner_messages::queue(state, &campaign_id, &campaign.page_row_id, &messages).await?;
    }
    Ok(queued)
}

/// What a person's message asks of their prizes: `Some(Some(campaign))` for the claim button
/// of one campaign, `Some(None)` for the claim word (every prize they hold on this Page).
pub fn asked(postback_payload: Option<&str>, text: Option<&str>) -> Option<Option<String>> {
    if let Some(campaign) = postback_payload.and_then(|p| p.strip_prefix(CLAIM_PAYLOAD_PREFIX)) {
        return Some(Some(campaign.to_string()));
    }
    text.map(str::trim)
        .filter(|t| t.eq_ignore_ascii_case(CLAIM_WORD))
        .map(|_| None)
}

/// Records the claims of `subscriber_id` (one campaign's, or all they hold) and answers what to
/// tell them, or nothing when the claim word came from someone who holds no prize (it may just
/// be a word).
pub async fn claim(
    state: &AppState,
    subscriber_id: &str,
    campaign_id: Option<&str>,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let now = now_ms();
    let held = store::prizes_of(&state.db, subscriber_id, campaign_id).await?;
    let mut lines = Vec::new();
    let mut about = None;
    for prize in &held {
        let Some(campaign) =
            crate::campaigns::store::find_published_by_id(&state.db, &prize.campaign_id).await?
        else {
            continue;
        };
        let outcome = store::claim(&state.db, &prize.campaign_id, &prize.entry_id, now).await?;
        let what = prize_of(&campaign, prize.prize_rank);
        if matches!(outcome, Claim::Claimed) {
            crate::handoff::winner_claimed(state, &campaign, prize, &what, subscriber_id).await;
        }
        lines.push(match outcome {
            Claim::Claimed => format!(
                "Your prize in {} is claimed: {what}. {} will tell you here how you get it.",
                campaign.title, campaign.page_name
            ),
            Claim::AlreadyClaimed => {
                format!("You have already claimed your prize in {}.", campaign.title)
            }
            Claim::TooLate => format!(
                "The time to claim your prize in {} has passed: it went to the next person in \
                 the draw.",
                campaign.title
            ),
            Claim::NotAWinner => continue,
        });
        about.get_or_insert(prize.campaign_id.clone());
    }
    if lines.is_empty() {
        // The button of a prize that is not (or no longer) theirs deserves an answer.
        return Ok(campaign_id.map(|c| {
            (
                c.to_string(),
                "This prize is not yours to claim: it belongs to another ticket of the draw."
                    .to_string(),
            )
        }));
    }
    Ok(about.map(|c| (c, lines.join("\n"))))
}
