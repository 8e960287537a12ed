//! The tables of the draw (`draw_seeds`, `tickets`, `draws`, `draw_tickets`, `winners`): the only
//! code that names their columns. Every step is one transaction and can be repeated: a crash
//! between two steps leaves a state the next run takes up, never a half-written one.

use crate::db::{value_rows, Db};
use crate::draws::{DrawResults, FrozenList, RedrawOutcome, Seed};
use crate::secrets::{Secret, TokenCipher};

/// The sealed seed's associated data: a seed copied onto another campaign does not open.
fn seed_aad(campaign_id: &str) -> String {
    format!("draw-seed:{campaign_id}")
}

/// The campaign's commitment, made now if it has none: a new seed, sealed, and its SHA-256
/// (hex). Publishing calls it; it never changes afterwards (a second call, or two instances at
/// once, keep the first).
pub async fn commit(
    db: &Db,
    cipher: &TokenCipher,
    campaign_id: &str,
) -> Result<String, sqlx::Error> {
    if let Some(existing) = commitment(db, campaign_id).await? {
        return Ok(existing);
    }
    let seed = Seed::generate();
    let sealed = cipher.encrypt(&Secret::new(seed.reveal()), &seed_aad(campaign_id));
    sqlx::query(
        "INSERT INTO draw_seeds (campaign_id, seed_sealed, commitment, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id) DO NOTHING",
    )
    .bind(campaign_id)
    .bind(sealed)
    .bind(seed.commitment())
    .bind(crate::db::now_ms())
    .execute(db)
    .await?;
    Ok(commitment(db, campaign_id)
        .await?
        .expect("the commitment was just stored"))
}

/// The public commitment (hex SHA-256 of the seed), once the campaign was published.
pub async fn commitment(db: &Db, campaign_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT commitment FROM draw_seeds WHERE campaign_id = $1")
        .bind(campaign_id)
        .fetch_optional(db)
        .await
}

/// What can stop a step of the draw.
#[derive(Debug, thiserror::Error)]
pub enum WinnersError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("the campaign has no draw commitment")]
    NoCommitment,
    #[error("the draw seed could not be opened (wrong SECRET_KEY, or the row was tampered with)")]
    Sealed,
    #[error("the campaign's list of tickets is not frozen yet")]
    NotFrozen,
    #[error("no free ticket after eight tries")]
    NoFreeTicket,
    #[error("the frozen list is not valid: {0}")]
    List(#[from] crate::draws::ListError),
    #[error("the stored results could not be read: {0}")]
    Results(String),
    /// `DRAW_BEACON_URL` did not give the round (unreachable, late, or a bad signature): the
    /// draw waits and is tried again.
    #[error("the randomness beacon did not give its round: {0}")]
    Beacon(String),
}

/// The secret seed, for the draw (and for the results, once drawn). Checked against the
/// commitment: a seed that does not match what was published is never used.
pub async fn seed(db: &Db, cipher: &TokenCipher, campaign_id: &str) -> Result<Seed, WinnersError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT seed_sealed, commitment FROM draw_seeds WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_optional(db)
            .await?;
    let (sealed, commitment) = row.ok_or(WinnersError::NoCommitment)?;
    let opened = cipher
        .decrypt(&sealed, &seed_aad(campaign_id))
        .map_err(|_| WinnersError::Sealed)?;
    let seed = Seed::from_hex(opened.expose()).map_err(|_| WinnersError::Sealed)?;
    if seed.commitment() != commitment {
        return Err(WinnersError::Sealed);
    }
    Ok(seed)
}

/// The entry's public ticket, given now if it has none (at confirmation, or at the freeze for
/// entries confirmed before tickets existed).
pub async fn issue_ticket(
    db: &Db,
    campaign_id: &str,
    entry_id: &str,
) -> Result<String, WinnersError> {
    for _ in 0..8 {
        if let Some(ticket) = ticket_of(db, entry_id).await? {
            return Ok(ticket);
        }
        // A clash on the entry (another instance was first) or on the ticket (the same 50 bits
        // drawn twice in one campaign) inserts nothing: look again, then try a new ticket.
        sqlx::query(
            "INSERT INTO tickets (entry_id, campaign_id, ticket, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(entry_id)
        .bind(campaign_id)
        .bind(crate::draws::new_ticket())
        .bind(crate::db::now_ms())
        .execute(db)
        .await?;
    }
    ticket_of(db, entry_id)
        .await?
        .ok_or(WinnersError::NoFreeTicket)
}

/// After [`ticket_join`]: the entry's ticket.
pub(crate) const JOINED_TICKET: &str = "t.ticket";

/// For lists of entries with their tickets in one statement (the entrants list): joins the
/// ticket as `t` ([`JOINED_TICKET`]), `entry` being the caller's SQL for the entry's id.
pub(crate) fn ticket_join(entry: &str) -> String {
    format!("LEFT JOIN tickets t ON t.entry_id = {entry}")
}

pub async fn ticket_of(db: &Db, entry_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT ticket FROM tickets WHERE entry_id = $1")
        .bind(entry_id)
        .fetch_optional(db)
        .await
}

/// How many win, how many wait behind them, how long a winner has to claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub winners: i64,
    pub alternates: i64,
    pub claim_hours: i64,
}

/// A campaign's draw as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Draw {
    pub state: super::DrawState,
    pub frozen_at: i64,
    pub list_hash: String,
    pub ticket_count: i64,
    pub winners_wanted: i64,
    pub alternates_wanted: i64,
    pub claim_hours: i64,
    pub drawn_at: Option<i64>,
}

pub async fn draw_of(db: &Db, campaign_id: &str) -> Result<Option<Draw>, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, frozen_at, list_hash, ticket_count, winners_wanted, alternates_wanted,
                claim_hours, drawn_at
         FROM draws WHERE campaign_id = $1",
    )
    .bind(campaign_id)
    .fetch_optional(db)
    .await
}

/// Rows per multi-row INSERT of the frozen list (3 values each; SQLite allows 32,766).
const LIST_CHUNK: usize = 5_000;

/// Fixes the list of eligible tickets (confirmed, not a duplicate, not erased) for the draw,
/// once: a second call answers the draw already frozen, whatever came in since.
pub async fn freeze(
    db: &Db,
    campaign_id: &str,
    plan: Plan,
    now: i64,
) -> Result<Draw, WinnersError> {
    if let Some(draw) = draw_of(db, campaign_id).await? {
        return Ok(draw);
    }
    // Entries confirmed before tickets existed get theirs now, outside the transaction (each
    // is kept once given, so a crash here only leaves tickets that would be given anyway).
    let untold: Vec<String> = sqlx::query_scalar(
        "SELECT e.id FROM entries e LEFT JOIN tickets t ON t.entry_id = e.id
         WHERE e.campaign_id = $1 AND e.status = 'confirmed' AND e.duplicate_of IS NULL
           AND t.entry_id IS NULL",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await?;
    for entry in untold {
        issue_ticket(db, campaign_id, &entry).await?;
    }

    let mut tx = crate::db::begin_write(db).await?;
    let eligible: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.ticket, t.entry_id FROM tickets t JOIN entries e ON e.id = t.entry_id
         WHERE t.campaign_id = $1 AND e.status = 'confirmed' AND e.duplicate_of IS NULL",
    )
    .bind(campaign_id)
    .fetch_all(&mut *tx)
    .await?;
    // Sorted (byte order, the same in every database and in the verifier); a ticket twice or
    // a malformed one stops the freeze rather than being drawn.
    let list = FrozenList::freeze(eligible.iter().map(|(t, _)| t.clone()))?;
    // The draws row first: a second instance freezing at the same time waits on it (PostgreSQL)
    // or finds it (SQLite's single writer), and inserts nothing.
    let inserted = sqlx::query(
        "INSERT INTO draws (campaign_id, state, frozen_at, list_hash, ticket_count,
                            winners_wanted, alternates_wanted, claim_hours)
         VALUES ($1, 'frozen', $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id) DO NOTHING",
    )
    .bind(campaign_id)
    .bind(now)
    .bind(hex::encode(list.sha256()))
    .bind(list.len() as i64)
    .bind(plan.winners)
    .bind(plan.alternates)
    .bind(plan.claim_hours)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        for chunk in eligible.chunks(LIST_CHUNK) {
            let sql = format!(
                "INSERT INTO draw_tickets (campaign_id, ticket, entry_id) VALUES {}",
                value_rows(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (ticket, entry) in chunk {
                query = query.bind(campaign_id).bind(ticket).bind(entry);
            }
            query.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(draw_of(db, campaign_id)
        .await?
        .expect("the draw was just frozen"))
}

/// The frozen list, as published.
pub async fn frozen_list(db: &Db, campaign_id: &str) -> Result<FrozenList, WinnersError> {
    let list: Vec<String> =
        sqlx::query_scalar("SELECT ticket FROM draw_tickets WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_all(db)
            .await?;
    Ok(FrozenList::freeze(list)?)
}

/// One prize's holder (or a past holder), as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Winner {
    pub place: i64,
    pub prize_rank: i64,
    pub ticket: String,
    pub entry_id: Option<String>,
    pub status: super::PrizeStatus,
    pub reason: Option<String>,
    pub claim_deadline: Option<i64>,
    pub claimed_at: Option<i64>,
}

/// Every row of the campaign's winners, by place.
pub async fn winners(db: &Db, campaign_id: &str) -> Result<Vec<Winner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT place, prize_rank, ticket, entry_id, status, reason, claim_deadline, claimed_at
         FROM winners WHERE campaign_id = $1 ORDER BY place",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

/// The published results, once drawn.
pub async fn results(db: &Db, campaign_id: &str) -> Result<Option<DrawResults>, WinnersError> {
    let text: Option<Option<String>> =
        sqlx::query_scalar("SELECT results FROM draws WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_optional(db)
            .await?;
    text.flatten().map(|t| parse_results(&t)).transpose()
}

fn parse_results(text: &str) -> Result<DrawResults, WinnersError> {
    serde_json::from_str(text).map_err(|e| WinnersError::Results(e.to_string()))
}

/// Records the draw's outcome (`draws::run_draw` over the frozen list): the results as
/// published, each drawn ticket's place in the order, and a prize row for each winner with its
/// claim deadline. Done once: a second call (a crash after the commit, another instance)
/// changes nothing.
pub async fn record_draw(
    db: &Db,
    campaign_id: &str,
    results: &DrawResults,
    now: i64,
) -> Result<Draw, WinnersError> {
    let mut tx = crate::db::begin_write(db).await?;
    let claim_hours: Option<i64> =
        sqlx::query_scalar("SELECT claim_hours FROM draws WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(claim_hours) = claim_hours else {
        return Err(WinnersError::NotFrozen);
    };
    let json = serde_json::to_string(results).map_err(|e| WinnersError::Results(e.to_string()))?;
    // Only one caller moves the draw from frozen to drawn.
    let claimed = sqlx::query(
        "UPDATE draws SET state = 'drawn', drawn_at = $2, results = $3
         WHERE campaign_id = $1 AND state = 'frozen'",
    )
    .bind(campaign_id)
    .bind(now)
    .bind(json)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 1 {
        for (place, ticket) in results.order.iter().enumerate() {
            sqlx::query(
                "UPDATE draw_tickets SET place = $3 WHERE campaign_id = $1 AND ticket = $2",
            )
            .bind(campaign_id)
            .bind(ticket)
            .bind(place as i64)
            .execute(&mut *tx)
            .await?;
        }
        let deadline = now + claim_hours * 3_600_000;
        for (rank, ticket) in results.winners.iter().enumerate() {
            if let Some(ticket) = ticket {
                hold(&mut tx, campaign_id, ticket, rank as i64 + 1, deadline).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(draw_of(db, campaign_id).await?.expect("the draw exists"))
}

/// Gives prize `rank` to `ticket` (at its place in the order) until `deadline`.
async fn hold(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    campaign_id: &str,
    ticket: &str,
    rank: i64,
    deadline: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO winners (campaign_id, place, prize_rank, ticket, entry_id, status,
                              claim_deadline)
         SELECT campaign_id, place, $3, ticket, entry_id, 'won', $4
         FROM draw_tickets WHERE campaign_id = $1 AND ticket = $2",
    )
    .bind(campaign_id)
    .bind(ticket)
    .bind(rank)
    .bind(deadline)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// What a winner's claim came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    AlreadyClaimed,
    /// The deadline passed (the prize went, or goes, to an alternate).
    TooLate,
    /// This entry holds no prize.
    NotAWinner,
}

/// The winner behind `entry_id` claims their prize.
pub async fn claim(
    db: &Db,
    campaign_id: &str,
    entry_id: &str,
    now: i64,
) -> Result<Claim, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE winners SET status = 'claimed', claimed_at = $3
         WHERE campaign_id = $1 AND entry_id = $2 AND status = 'won' AND claim_deadline >= $3",
    )
    .bind(campaign_id)
    .bind(entry_id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    if done == 1 {
        return Ok(Claim::Claimed);
    }
    let status: Option<super::PrizeStatus> = sqlx::query_scalar(
        "SELECT status FROM winners WHERE campaign_id = $1 AND entry_id = $2
         ORDER BY place DESC LIMIT 1",
    )
    .bind(campaign_id)
    .bind(entry_id)
    .fetch_optional(db)
    .await?;
    use super::PrizeStatus;
    Ok(match status {
        Some(PrizeStatus::Claimed) => Claim::AlreadyClaimed,
        Some(PrizeStatus::Won | PrizeStatus::Passed) => Claim::TooLate,
        Some(PrizeStatus::Disqualified) | None => Claim::NotAWinner,
    })
}

/// A prize that moved on, and where to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passed {
    pub campaign_id: String,
    pub prize_rank: i64,
    /// The alternate who holds it now; `None` when no alternate was left.
    pub to: Option<Winner>,
}

/// Every prize whose winner let the deadline pass goes to the next alternate, with a new
/// deadline. Each such row is taken once (a conditional update in a transaction), so two
/// instances never pass the same prize twice.
pub async fn pass_unclaimed(db: &Db, now: i64) -> Result<Vec<Passed>, WinnersError> {
    let late: Vec<(String, i64)> = sqlx::query_as(
        "SELECT campaign_id, place FROM winners WHERE status = 'won' AND claim_deadline < $1",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    let mut passed = Vec::new();
    for (campaign_id, place) in late {
        let reason = "not claimed by the deadline";
        let outcome = RedrawOutcome::PassedToAlternate;
        if let Some(p) = end_and_walk(db, &campaign_id, place, outcome, reason, now).await? {
            passed.push(p);
        }
    }
    Ok(passed)
}

/// The admin disqualifies the winner at `place` (with the reason shown on the results): the
/// next alternate moves up. `None` when that place holds no prize now.
pub async fn disqualify(
    db: &Db,
    campaign_id: &str,
    place: i64,
    reason: &str,
    now: i64,
) -> Result<Option<Passed>, WinnersError> {
    let outcome = RedrawOutcome::Disqualified;
    end_and_walk(db, campaign_id, place, outcome, reason, now).await
}

/// An entry leaves the draw (disqualified or erased by the admin, or erased at the person's
/// request): if it holds a prize now, the prize goes down the published order, `reason` on the
/// results. True when a prize moved (its next holder is to be told).
pub async fn entry_left(
    db: &Db,
    campaign_id: &str,
    entry_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, WinnersError> {
    let places: Vec<i64> = sqlx::query_scalar(
        "SELECT place FROM winners
         WHERE campaign_id = $1 AND entry_id = $2 AND status IN ('won', 'claimed')",
    )
    .bind(campaign_id)
    .bind(entry_id)
    .fetch_all(db)
    .await?;
    let mut moved = false;
    for place in places {
        moved |= disqualify(db, campaign_id, place, reason, now)
            .await?
            .is_some();
    }
    Ok(moved)
}

/// Said on the results of an alternate skipped because their entry was erased since the draw.
pub(crate) const ERASED: &str = "the entrant's data was erased";

/// Ends the prize holder at `place` (if it still holds its prize) and gives the prize to the
/// next ticket down the published order (`DrawResults::record_redraw`, recorded in the
/// results), skipping, and recording, tickets whose entry was erased since; one transaction.
async fn end_and_walk(
    db: &Db,
    campaign_id: &str,
    place: i64,
    outcome: RedrawOutcome,
    reason: &str,
    now: i64,
) -> Result<Option<Passed>, WinnersError> {
    let status = match outcome {
        RedrawOutcome::PassedToAlternate => super::PrizeStatus::Passed.as_str(),
        RedrawOutcome::Disqualified => super::PrizeStatus::Disqualified.as_str(),
    };
    let mut tx = db.begin().await?;
    let ended = sqlx::query(
        "UPDATE winners SET status = $3, reason = $4, ended_at = $5
         WHERE campaign_id = $1 AND place = $2 AND status IN ('won', 'claimed')",
    )
    .bind(campaign_id)
    .bind(place)
    .bind(status)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if ended == 0 {
        return Ok(None);
    }
    let (rank, ticket): (i64, String) = sqlx::query_as(
        "SELECT prize_rank, ticket FROM winners WHERE campaign_id = $1 AND place = $2",
    )
    .bind(campaign_id)
    .bind(place)
    .fetch_one(&mut *tx)
    .await?;
    let (claim_hours, text): (i64, Option<String>) =
        sqlx::query_as("SELECT claim_hours, results FROM draws WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_one(&mut *tx)
            .await?;
    let mut results = parse_results(text.as_deref().ok_or(WinnersError::NotFrozen)?)?;
    let mut next = redraw(&mut results, &ticket, outcome, reason)?;
    // Redraws never draw again: they only walk further down the published order.
    let to = loop {
        let Some(placed) = next else { break None };
        // The entry behind the next ticket, and whether it may still win: erased or
        // disqualified since the draw, it is skipped (and the results say why).
        let entry: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT d.entry_id, e.status, e.disqualified_reason
             FROM draw_tickets d LEFT JOIN entries e ON e.id = d.entry_id
             WHERE d.campaign_id = $1 AND d.ticket = $2",
        )
        .bind(campaign_id)
        .bind(&placed.ticket)
        .fetch_optional(&mut *tx)
        .await?;
        let (entry_id, entry_status, entry_reason) = entry.unwrap_or((None, None, None));
        let skipped = match (entry_id.as_ref(), entry_status.as_deref()) {
            (None, _) | (_, Some("erased")) => Some(ERASED.to_string()),
            (_, Some("disqualified")) => Some(format!(
                "disqualified: {}",
                entry_reason.unwrap_or_else(|| "by the organiser".into())
            )),
            _ => None,
        };
        if let Some(why) = skipped {
            next = redraw(
                &mut results,
                &placed.ticket,
                RedrawOutcome::Disqualified,
                &why,
            )?;
            continue;
        }
        let entry_id = entry_id.expect("checked above");
        let deadline = now + claim_hours * 3_600_000;
        hold(&mut tx, campaign_id, &placed.ticket, rank, deadline).await?;
        break Some(Winner {
            place: i64::from(placed.position) - 1,
            prize_rank: rank,
            ticket: placed.ticket,
            entry_id: Some(entry_id),
            status: super::PrizeStatus::Won,
            reason: None,
            claim_deadline: Some(deadline),
            claimed_at: None,
        });
    };
    let json = serde_json::to_string(&results).map_err(|e| WinnersError::Results(e.to_string()))?;
    sqlx::query("UPDATE draws SET results = $2 WHERE campaign_id = $1")
        .bind(campaign_id)
        .bind(json)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Passed {
        campaign_id: campaign_id.to_string(),
        prize_rank: rank,
        to,
    }))
}

/// Records a redraw in the results; answers who holds the prize now (if anyone).
fn redraw(
    results: &mut DrawResults,
    ticket: &str,
    outcome: RedrawOutcome,
    reason: &str,
) -> Result<Option<crate::draws::Placed>, WinnersError> {
    results
        .record_redraw(ticket, outcome, reason)
        .map(|r| r.replaced_by)
        .map_err(|e| WinnersError::Results(e.to_string()))
}

/// A prize row with whom it names.
#[derive(Clone, Debug)]
pub struct Named {
    pub winner: Winner,
    /// "Alice E.", when Messenger gave a name.
    pub name: Option<String>,
    /// The person on the campaign's Page, while their data is kept.
    pub subscriber_id: Option<String>,
}

/// Every row of the campaign's winners, by place, with the name the public results give the
/// person: their first name and last initial as Messenger gave them ("Alice E."), if any.
pub async fn winners_with_names(db: &Db, campaign_id: &str) -> Result<Vec<Named>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        winner: Winner,
        first_name: Option<String>,
        last_initial: Option<String>,
        subscriber_id: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT w.place, w.prize_rank, w.ticket, w.entry_id, w.status, w.reason,
                w.claim_deadline, w.claimed_at, s.first_name, s.last_initial,
                s.id AS subscriber_id
         FROM winners w
         LEFT JOIN entries e ON e.id = w.entry_id
         LEFT JOIN subscribers s ON s.id = e.subscriber_id
         WHERE w.campaign_id = $1 ORDER BY w.place",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let first = r.first_name.filter(|n| !n.trim().is_empty());
            let name = match (first, r.last_initial.filter(|i| !i.is_empty())) {
                (Some(first), Some(initial)) => Some(format!("{first} {initial}.")),
                (first, _) => first,
            };
            Named {
                winner: r.winner,
                name,
                subscriber_id: r.subscriber_id,
            }
        })
        .collect())
}

/// A prize holder the winners' round may have to tell (`claims::tell`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Holder {
    pub campaign_id: String,
    pub prize_rank: i64,
    pub ticket: String,
    pub claim_deadline: Option<i64>,
    pub subscriber_id: String,
}

/// Every holder of a prize still to be claimed (in `campaign_id`, or everywhere), by campaign.
pub async fn holders_to_tell(
    db: &Db,
    campaign_id: Option<&str>,
) -> Result<Vec<Holder>, sqlx::Error> {
    let sql = format!(
        "SELECT w.campaign_id, w.prize_rank, w.ticket, w.claim_deadline, e.subscriber_id
         FROM winners w JOIN entries e ON e.id = w.entry_id
         WHERE w.status = 'won' AND e.subscriber_id IS NOT NULL{}
         ORDER BY w.campaign_id, w.place",
        if campaign_id.is_some() {
            " AND w.campaign_id = $1"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as(&sql);
    if let Some(campaign_id) = campaign_id {
        query = query.bind(campaign_id);
    }
    query.fetch_all(db).await
}

/// A prize a person holds, or held, in a campaign.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct HeldPrize {
    pub campaign_id: String,
    pub entry_id: String,
    pub prize_rank: i64,
}

/// The prizes `subscriber_id` was drawn for (in `campaign_id`, or in any campaign).
pub async fn prizes_of(
    db: &Db,
    subscriber_id: &str,
    campaign_id: Option<&str>,
) -> Result<Vec<HeldPrize>, sqlx::Error> {
    let sql = format!(
        "SELECT w.campaign_id, w.entry_id, w.prize_rank
         FROM winners w JOIN entries e ON e.id = w.entry_id
         WHERE e.subscriber_id = $1{}
         ORDER BY w.campaign_id",
        if campaign_id.is_some() {
            " AND w.campaign_id = $2"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as(&sql).bind(subscriber_id);
    if let Some(campaign_id) = campaign_id {
        query = query.bind(campaign_id);
    }
    query.fetch_all(db).await
}

/// For the end notice's fan-out (alias `e` for `entries`): the entry holds or held no prize of
/// the draw, so it hears the notice rather than a winner's message.
pub const AND_NOT_A_WINNER: &str =
    " AND NOT EXISTS (SELECT 1 FROM winners w WHERE w.entry_id = e.id)";
