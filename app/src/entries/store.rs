//! Entry and subscriber rows. One entry per person per campaign is the database's rule
//! (`UNIQUE (campaign_id, subscriber_id)` and `(campaign_id, asid)`); the functions here keep to
//! it when two tries meet and say what happened instead of failing.

use super::refs::new_nonce;
use crate::db::{is_unique_violation, new_id, new_unguessable_id, now_ms, Db};
use rand::Rng;

pub use super::{EntrySource, EntryStatus};

#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub campaign_id: String,
    pub status: EntryStatus,
    pub ref_nonce: String,
    pub fallback_code: String,
    pub subscriber_id: Option<String>,
    pub asid: Option<String>,
    pub duplicate_of: Option<String>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    /// How it came (a QR scan is known only once it is confirmed: `set_source`).
    pub source: EntrySource,
    /// The embedding site's origin for the widget, '' otherwise (see `Attribution`).
    pub origin: String,
    /// The `utm_source` of the link the person came by, '' when none.
    pub utm_source: String,
}

impl Entry {
    /// Where it came from, as the funnel counts it.
    pub fn attribution(&self) -> super::Attribution {
        super::Attribution {
            source: self.source,
            origin: self.origin.clone(),
            utm_source: self.utm_source.clone(),
        }
    }
}

const ENTRY: &str = "SELECT id, campaign_id, status, ref_nonce, fallback_code, subscriber_id, asid,
    duplicate_of, created_at, confirmed_at, source, origin, utm_source FROM entries";

/// Letters and digits nobody misreads (no 0/O, 1/I/L): the code is read on one screen and typed
/// on another.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const CODE_LEN: usize = 6;

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// What a person typed, as a code: case, spaces and dashes do not matter.
pub fn normalize_code(text: &str) -> Option<String> {
    let code: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!("{ENTRY} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_nonce(db: &Db, nonce: &str) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!("{ENTRY} WHERE ref_nonce = $1"))
        .bind(nonce)
        .fetch_optional(db)
        .await
}

/// A person's entry in a campaign, found by their app-scoped id (login-required campaigns).
pub async fn find_by_asid(
    db: &Db,
    campaign_id: &str,
    asid: &str,
) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!("{ENTRY} WHERE campaign_id = $1 AND asid = $2"))
        .bind(campaign_id)
        .bind(asid)
        .fetch_optional(db)
        .await
}

/// The newest pending entry of the Page with this code, expired or not (the caller tells the
/// person which).
pub async fn find_pending_by_code(
    db: &Db,
    page_row_id: &str,
    code: &str,
) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ENTRY}
         WHERE fallback_code = $1 AND status = 'pending' AND campaign_id IN ({})
         ORDER BY created_at DESC LIMIT 1",
        crate::campaigns::store::campaigns_of_page("$2")
    ))
    .bind(code)
    .bind(page_row_id)
    .fetch_optional(db)
    .await
}

/// Wrong codes one person may type in an hour before codes stop being looked up for them: with
/// about 30 bits a code, guessing someone else's would take hundreds of millions of tries.
pub const CODE_MISSES_PER_HOUR: i64 = 5;
const HOUR_MS: i64 = 3_600_000;

/// How many wrong codes the person typed in the last hour.
pub async fn code_misses(db: &Db, subscriber_id: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM code_misses WHERE subscriber_id = $1 AND at > $2")
        .bind(subscriber_id)
        .bind(now - HOUR_MS)
        .fetch_one(db)
        .await
}

/// Counts one wrong code, once per event (`event_key`), however often the event is processed;
/// answers the person's count in the last hour, this one included.
pub async fn count_code_miss(
    db: &Db,
    subscriber_id: &str,
    event_key: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("DELETE FROM code_misses WHERE subscriber_id = $1 AND at <= $2")
        .bind(subscriber_id)
        .bind(now - HOUR_MS)
        .execute(db)
        .await?;
    sqlx::query(
        "INSERT INTO code_misses (subscriber_id, event_key, at) VALUES ($1, $2, $3)
         ON CONFLICT (subscriber_id, event_key) DO NOTHING",
    )
    .bind(subscriber_id)
    .bind(event_key)
    .bind(now)
    .execute(db)
    .await?;
    code_misses(db, subscriber_id, now).await
}

/// A new pending entry (and `true`); with an app-scoped id, that person's existing entry instead
/// (and `false`).
pub async fn create_pending(
    db: &Db,
    campaign_id: &str,
    asid: Option<&str>,
    from: &super::Attribution,
) -> Result<(Entry, bool), sqlx::Error> {
    if let Some(asid) = asid {
        if let Some(existing) = find_by_asid(db, campaign_id, asid).await? {
            return Ok((existing, false));
        }
    }
    // A code can collide with another pending one of the campaign: draw again.
    let mut attempt = 0;
    loop {
        attempt += 1;
        // The entry's link is its capability (README, entry page).
        let id = new_unguessable_id();
        let inserted = sqlx::query(
            "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, asid, created_at,
                                  source, origin, utm_source)
             VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(campaign_id)
        .bind(new_nonce())
        .bind(new_code())
        .bind(asid)
        .bind(now_ms())
        .bind(from.source.as_str())
        .bind(&from.origin)
        .bind(&from.utm_source)
        .execute(db)
        .await;
        match inserted {
            Ok(_) => return Ok((find(db, &id).await?.expect("just inserted"), true)),
            Err(e) if is_unique_violation(&e) && attempt < 5 => {
                // Two tabs of the same logged-in person: the other one won, show its entry.
                if let Some(asid) = asid {
                    if let Some(existing) = find_by_asid(db, campaign_id, asid).await? {
                        return Ok((existing, false));
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Erases a person on a Page (issue #17): their entries become `erased` rows (no person, no
/// app-scoped id, no keyword; counts and drawn tickets keep their place), their keywords and
/// wrong codes go, and the subscriber row keeps no PSID or name (messages sent to it keep their
/// counts) and is never sent to again. Answers the entries erased, as (entry, campaign).
pub async fn erase_subscriber(
    db: &Db,
    subscriber_id: &str,
    now: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let entries: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, campaign_id FROM entries WHERE subscriber_id = $1 ORDER BY created_at",
    )
    .bind(subscriber_id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE entries SET status = 'erased', subscriber_id = NULL, asid = NULL, keyword = NULL,
                            disqualified_reason = NULL, erased_at = $2
         WHERE subscriber_id = $1",
    )
    .bind(subscriber_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "DELETE FROM subscriber_keywords WHERE subscriber_id = $1",
        "DELETE FROM code_misses WHERE subscriber_id = $1",
    ] {
        sqlx::query(sql)
            .bind(subscriber_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE subscribers
            SET psid = 'erased:' || id, first_name = NULL, last_initial = NULL,
                unreachable_at = $2, unreachable_reason = 'erased', opted_out_at = NULL,
                erased_at = $2
          WHERE id = $1",
    )
    .bind(subscriber_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entries)
}

/// Erases one entry that names no subscriber (a link handed out, a duplicate, a login-required
/// entry not confirmed yet): it keeps no app-scoped id. False if it was erased already.
pub async fn erase_entry(db: &Db, entry_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE entries SET status = 'erased', asid = NULL, keyword = NULL,
                            disqualified_reason = NULL, erased_at = $2
         WHERE id = $1 AND subscriber_id IS NULL AND status <> 'erased'",
    )
    .bind(entry_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The entries a person made through a Facebook login, by their app-scoped id.
pub async fn entries_of_app_user(db: &Db, asid: &str) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(&format!("{ENTRY} WHERE asid = $1"))
        .bind(asid)
        .fetch_all(db)
        .await
}

/// Records how an entry came when it is known only at its confirmation (the QR code).
pub async fn set_source(db: &Db, entry_id: &str, source: EntrySource) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE entries SET source = $2 WHERE id = $1")
        .bind(entry_id)
        .bind(source.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// What confirming an entry came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// Newly confirmed: send the confirmation message.
    Confirmed(Entry),
    /// The same event again, or the person came back: nothing new.
    Already(Entry),
    /// This person had entered before; the entry in hand now points at that one.
    Duplicate { existing: Entry },
    /// A code that cannot be this person's: they entered already with another, or someone
    /// else's entry took it. Nothing changed.
    NotYours,
    /// A login-required campaign's link that someone else used first: it was forwarded, and
    /// only a Facebook login on the entry page makes an entry there. Nothing changed.
    Forwarded,
}

/// How the person named the entry they answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The signed ref of the m.me link. A link someone else used first makes a fresh entry for
    /// this person, unless the campaign requires a Facebook login (`forward_enters: false`).
    Ref { forward_enters: bool },
    /// The fallback code, which can be guessed: it confirms only a pending entry, and never
    /// marks another entry as this person's duplicate.
    Code,
}

/// Ties an entry to the Messenger subscriber who answered its link, once.
///
/// A link forwarded to a friend arrives with someone else's PSID: the friend gets an entry of
/// their own in the same campaign rather than taking over the first person's.
pub async fn confirm(
    db: &Db,
    entry: &Entry,
    subscriber_id: &str,
    proof: Proof,
    at: i64,
) -> Result<Confirmation, sqlx::Error> {
    for _ in 0..3 {
        let existing: Option<Entry> = sqlx::query_as(&format!(
            "{ENTRY} WHERE campaign_id = $1 AND subscriber_id = $2"
        ))
        .bind(&entry.campaign_id)
        .bind(subscriber_id)
        .fetch_optional(db)
        .await?;
        if let Some(existing) = existing {
            if existing.id == entry.id {
                return Ok(Confirmation::Already(existing));
            }
            if proof == Proof::Code {
                return Ok(Confirmation::NotYours);
            }
            sqlx::query(
                "UPDATE entries SET status = 'duplicate', duplicate_of = $1
                 WHERE id = $2 AND status = 'pending'",
            )
            .bind(&existing.id)
            .bind(&entry.id)
            .execute(db)
            .await?;
            return Ok(Confirmation::Duplicate { existing });
        }
        let target = if entry.status == EntryStatus::Pending {
            entry.id.clone()
        } else if proof == Proof::Code {
            return Ok(Confirmation::NotYours);
        } else if proof
            == (Proof::Ref {
                forward_enters: false,
            })
        {
            return Ok(Confirmation::Forwarded);
        } else {
            // Someone else already confirmed this entry: a fresh one for this person, who came
            // by a forwarded link.
            let fresh = new_unguessable_id();
            let inserted = sqlx::query(
                "INSERT INTO entries (id, campaign_id, status, ref_nonce, fallback_code, created_at,
                                      source)
                 VALUES ($1, $2, 'pending', $3, $4, $5, 'direct')",
            )
            .bind(&fresh)
            .bind(&entry.campaign_id)
            .bind(new_nonce())
            .bind(new_code())
            .bind(at)
            .execute(db)
            .await;
            match inserted {
                Ok(_) => fresh,
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        };
        let updated = sqlx::query(
            "UPDATE entries SET status = 'confirmed', subscriber_id = $1, confirmed_at = $2
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(subscriber_id)
        .bind(at)
        .bind(&target)
        .execute(db)
        .await;
        match updated {
            Ok(done) if done.rows_affected() == 1 => {
                let confirmed = find(db, &target).await?.expect("just confirmed");
                return Ok(Confirmation::Confirmed(confirmed));
            }
            // Lost a race (the same person twice at once, or the entry changed): look again.
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
        if let Some(fresh) = find(db, &entry.id).await? {
            if fresh.status == EntryStatus::Confirmed
                && fresh.subscriber_id.as_deref() == Some(subscriber_id)
            {
                return Ok(Confirmation::Already(fresh));
            }
            if fresh.status != EntryStatus::Pending && proof == Proof::Code {
                return Ok(Confirmation::NotYours);
            }
        }
    }
    Err(sqlx::Error::Protocol(
        "entry confirmation kept racing; giving up on this event".into(),
    ))
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Subscriber {
    pub id: String,
    /// The Page the PSID belongs to.
    pub page_id: crate::pages::PageRowId,
    pub psid: String,
    pub first_name: Option<String>,
    pub last_interaction_at: i64,
    pub unreachable_at: Option<i64>,
    /// Sent STOP (`OPT_OUT_WORDS`) and has not written since: no notices.
    pub opted_out_at: Option<i64>,
}

/// Finds or creates the subscribers for (Page row, PSID, interaction time or 0) in one statement
/// per few hundred, so that a flood of webhooks costs one write per batch rather than one per
/// person. An interaction renews the 24-hour window; events arriving out of order never move it
/// back. Each (Page, PSID) must appear once.
pub async fn upsert_subscribers(
    db: &Db,
    people: &[(crate::pages::PageRowId, String, i64)],
) -> Result<Vec<Subscriber>, sqlx::Error> {
    let mut found = Vec::with_capacity(people.len());
    let now = now_ms();
    for chunk in people.chunks(400) {
        let sql = format!(
            "INSERT INTO subscribers (id, page_id, psid, last_interaction_at, created_at)
             VALUES {}
             ON CONFLICT (page_id, psid) DO UPDATE SET last_interaction_at =
               CASE WHEN excluded.last_interaction_at > subscribers.last_interaction_at
                    THEN excluded.last_interaction_at ELSE subscribers.last_interaction_at END
             RETURNING id, page_id, psid, first_name, last_interaction_at, unreachable_at,
                       opted_out_at",
            crate::db::value_rows(chunk.len(), 5)
        );
        let mut query = sqlx::query_as::<_, Subscriber>(&sql);
        for (page_row_id, psid, at) in chunk {
            query = query
                .bind(new_id())
                .bind(page_row_id)
                .bind(psid)
                .bind(*at)
                .bind(now);
        }
        found.extend(query.fetch_all(db).await?);
    }
    Ok(found)
}

pub async fn find_subscriber(db: &Db, id: &str) -> Result<Option<Subscriber>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, page_id, psid, first_name, last_interaction_at, unreachable_at, opted_out_at
         FROM subscribers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The person's first name, and of their last name only its initial (what the public results
/// show of a winner: "Alice E."); the rest of the last name is never kept.
pub async fn set_name(
    db: &Db,
    subscriber_id: &str,
    first_name: &str,
    last_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    let initial = last_name
        .and_then(|n| n.trim().chars().next())
        .map(|c| c.to_uppercase().to_string());
    sqlx::query("UPDATE subscribers SET first_name = $1, last_initial = $2 WHERE id = $3")
        .bind(first_name)
        .bind(initial)
        .bind(subscriber_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Meta said this person cannot be reached from the Page (blocked it): later sends skip them.
pub async fn mark_unreachable(
    db: &Db,
    subscriber_id: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscribers SET unreachable_at = $1, unreachable_reason = $2
         WHERE id = $3 AND unreachable_at IS NULL",
    )
    .bind(now_ms())
    .bind(reason)
    .bind(subscriber_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The person sent an opt-out word at `at` (or, with `None`, wrote again or sent START): the
/// Page's notices stop, or resume. Answers whether anything changed.
pub async fn set_opted_out(
    db: &Db,
    subscriber_id: &str,
    at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let sql = if at.is_some() {
        "UPDATE subscribers SET opted_out_at = $1 WHERE id = $2 AND opted_out_at IS NULL"
    } else {
        "UPDATE subscribers SET opted_out_at = $1 WHERE id = $2 AND opted_out_at IS NOT NULL"
    };
    let done = sqlx::query(sql)
        .bind(at)
        .bind(subscriber_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A person wrote to the Page again after being unreachable: they can be reached again.
pub async fn mark_reachable(db: &Db, subscriber_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscribers SET unreachable_at = NULL, unreachable_reason = NULL WHERE id = $1",
    )
    .bind(subscriber_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records an automation keyword the subscriber chose, on them and on their entries of the
/// campaigns that offered it.
pub async fn record_keyword(
    db: &Db,
    subscriber_id: &str,
    keyword: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscriber_keywords (subscriber_id, keyword, tapped_at) VALUES ($1, $2, $3)
         ON CONFLICT (subscriber_id, keyword) DO NOTHING",
    )
    .bind(subscriber_id)
    .bind(keyword)
    .bind(at)
    .execute(db)
    .await?;
    sqlx::query(&format!(
        "UPDATE entries SET keyword = $1 WHERE subscriber_id = $2 AND campaign_id IN ({})",
        crate::campaigns::store::campaigns_with_keyword("$1")
    ))
    .bind(keyword)
    .bind(subscriber_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn keywords_of(db: &Db, subscriber_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT keyword FROM subscriber_keywords WHERE subscriber_id = $1 ORDER BY keyword",
    )
    .bind(subscriber_id)
    .fetch_all(db)
    .await
}

/// Counts for the admin's view of a campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryCounts {
    pub pending: i64,
    pub confirmed: i64,
    pub confirmations_sent: i64,
    pub confirmations_failed: i64,
}

pub async fn counts(db: &Db, campaign_id: &str) -> Result<EntryCounts, sqlx::Error> {
    let count = |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(campaign_id.to_string())
            .fetch_one(db)
    };
    let (confirmations_sent, confirmations_failed) =
        crate::messenger::outbox::confirmation_counts(db, campaign_id).await?;
    Ok(EntryCounts {
        pending: count(
            "SELECT COUNT(*) FROM entries WHERE campaign_id = $1 AND status = 'pending'",
        )
        .await?,
        confirmed: count(
            "SELECT COUNT(*) FROM entries WHERE campaign_id = $1 AND status = 'confirmed'",
        )
        .await?,
        confirmations_sent,
        confirmations_failed,
    })
}

/// A campaign's confirmed entrants by where the 24-hour window leaves them.
#[derive(sqlx::FromRow)]
pub struct Reach {
    /// Reachable, with their last message after `since`.
    pub inside: i64,
    pub outside: i64,
    /// Entrants who blocked the Page or cannot be reached.
    pub unreachable: i64,
    /// Reachable entrants who sent STOP: they get no notice.
    pub opted_out: i64,
}

pub async fn reach(db: &Db, campaign_id: &str, since: i64) -> Result<Reach, sqlx::Error> {
    sqlx::query_as(
        "SELECT
           COALESCE(SUM(CASE WHEN s.unreachable_at IS NULL AND s.opted_out_at IS NULL AND s.last_interaction_at > $2 THEN 1 ELSE 0 END), 0) AS inside,
           COALESCE(SUM(CASE WHEN s.unreachable_at IS NULL AND s.opted_out_at IS NULL AND s.last_interaction_at <= $2 THEN 1 ELSE 0 END), 0) AS outside,
           COALESCE(SUM(CASE WHEN s.unreachable_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS unreachable,
           COALESCE(SUM(CASE WHEN s.unreachable_at IS NULL AND s.opted_out_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS opted_out
         FROM entries e JOIN subscribers s ON s.id = e.subscriber_id
         WHERE e.campaign_id = $1 AND e.status = 'confirmed'",
    )
    .bind(campaign_id)
    .bind(since)
    .fetch_one(db)
    .await
}

/// Raises people's delivery and read watermarks, never lowering them; each row is (Page row,
/// PSID, delivery watermark, read watermark), a watermark of 0 leaving it as it is
/// (`messenger::outbox::Receipts::store` says when). One statement for the rows, each person
/// once.
pub async fn raise_watermarks<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    people: &[(&str, &str, i64, i64)],
) -> Result<(), sqlx::Error> {
    if people.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE subscribers
            SET delivered_watermark = CASE WHEN delivered_watermark < CAST(v.column3 AS BIGINT)
                                           THEN CAST(v.column3 AS BIGINT)
                                           ELSE delivered_watermark END,
                read_watermark = CASE WHEN read_watermark < CAST(v.column4 AS BIGINT)
                                      THEN CAST(v.column4 AS BIGINT) ELSE read_watermark END
           FROM (VALUES {}) AS v
          WHERE subscribers.page_id = v.column1 AND subscribers.psid = v.column2",
        crate::db::value_rows(people.len(), 4)
    );
    let mut query = sqlx::query(&sql);
    for &(page, psid, delivered, read) in people {
        query = query.bind(page).bind(psid).bind(delivered).bind(read);
    }
    query.execute(ex).await?;
    Ok(())
}

/// A subquery for a person's read (or delivery) watermark, for marking their messages in one
/// statement; `subscriber` is the caller's SQL for the subscriber's id.
pub(crate) fn watermark_of(read: bool, subscriber: &str) -> String {
    let column = if read {
        "read_watermark"
    } else {
        "delivered_watermark"
    };
    format!("(SELECT s.{column} FROM subscribers s WHERE s.id = {subscriber})")
}

/// A condition: someone the Page knows has the PSID `psid` (the caller's SQL for both). An
/// erased person's PSID is gone from their row, so it is false for them.
pub(crate) fn known_on_page(page: &str, psid: &str) -> String {
    format!("EXISTS (SELECT 1 FROM subscribers s WHERE s.page_id = {page} AND s.psid = {psid})")
}

/// A subquery for the subscriber id of a person on a Page, `page` and `psid` being the caller's
/// SQL (placeholders) for the Page's row id and the person's page-scoped id.
pub(crate) fn subscribers_by_psids(page: &str, psids: &str) -> String {
    format!("SELECT id FROM subscribers WHERE page_id = {page} AND psid IN ({psids})")
}

/// A subquery for how many entries a campaign has; `campaign` is the caller's SQL for its id.
pub(crate) fn entry_count_of(campaign: &str) -> String {
    format!("(SELECT COUNT(*) FROM entries e WHERE e.campaign_id = {campaign})")
}

/// A subquery for a campaign's entries (for `EXISTS`); `campaign` is the caller's SQL for its id.
/// A subquery for the number of a campaign's confirmed entries (people who entered);
/// `campaign` is the caller's SQL for its id.
pub(crate) fn entered_count_of(campaign: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM entries e WHERE e.campaign_id = {campaign} AND e.status = 'confirmed')"
    )
}

pub(crate) fn entries_of(campaign: &str) -> String {
    format!("SELECT 1 FROM entries WHERE campaign_id = {campaign}")
}

/// A subquery for the confirmed entrants of a campaign a notice goes to (the entry's `id`,
/// `subscriber_id`, `campaign_id`); `campaign` is the caller's SQL for its id.
pub(crate) fn confirmed_entrants(campaign: &str) -> String {
    format!(
        "SELECT id, subscriber_id, campaign_id FROM entries
         WHERE campaign_id = {campaign} AND status = 'confirmed' AND subscriber_id IS NOT NULL"
    )
}

/// A subquery for the people who can still be reached (they did not block the Page).
pub(crate) const REACHABLE_SUBSCRIBERS: &str =
    "SELECT id FROM subscribers WHERE unreachable_at IS NULL";

/// For the statements that list messages with their person in one query (the notice sender's
/// queue, the statistics): joins the subscriber as `s`, `subscriber` being the caller's SQL for
/// its id.
pub(crate) fn subscriber_join(subscriber: &str) -> String {
    format!("JOIN subscribers s ON s.id = {subscriber}")
}

/// After [`subscriber_join`]: who the person is, for the admin.
pub(crate) const SUBSCRIBER_NAME_COLUMNS: &str = "s.first_name, s.psid";

/// After [`subscriber_join`]: what a sender needs of the person (to address them, and whether
/// the window is open).
pub(crate) const SUBSCRIBER_SEND_COLUMNS: &str = "s.id AS subscriber_id, s.psid, s.first_name,
     s.last_interaction_at, s.unreachable_at, s.opted_out_at";

/// When the oldest entry of the campaign still pending was handed out, among those handed out
/// between `from` and `until`.
pub async fn oldest_pending(
    db: &Db,
    campaign_id: &str,
    from: i64,
    until: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(created_at) FROM entries
         WHERE campaign_id = $1 AND status = 'pending' AND created_at >= $2 AND created_at < $3",
    )
    .bind(campaign_id)
    .bind(from)
    .bind(until)
    .fetch_one(db)
    .await
}
