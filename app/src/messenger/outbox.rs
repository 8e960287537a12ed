//! The record of every message the product sends (`outgoing_messages`): queued before the call,
//! then sent, failed or not sent with the reason. The unique `dedupe_key` makes each
//! (purpose, campaign, subscriber) sendable once, whoever tries.

use super::graph::GraphError;
use super::webhook::MessagingEvent;
use crate::db::{is_unique_violation, new_id, now_ms, Db};
use sqlx::{Any, Executor};
use std::collections::HashMap;

pub struct Queued {
    pub id: String,
}

pub struct NewMessage<'a> {
    pub dedupe_key: String,
    pub page_row_id: &'a str,
    pub subscriber_id: &'a str,
    pub campaign_id: Option<&'a str>,
    pub kind: &'a str,
    pub path: Option<&'a str>,
}

/// Queues a message; `None` when it was queued before (another try, another instance).
pub async fn queue(db: &Db, message: NewMessage<'_>) -> Result<Option<Queued>, sqlx::Error> {
    let id = new_id();
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id, kind,
                                        status, path, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8)",
    )
    .bind(&id)
    .bind(&message.dedupe_key)
    .bind(message.page_row_id)
    .bind(message.subscriber_id)
    .bind(message.campaign_id)
    .bind(message.kind)
    .bind(message.path)
    .bind(now)
    .execute(db)
    .await;
    match inserted {
        Ok(_) => Ok(Some(Queued { id })),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A message Meta accepted. `sent_at` is when the call started: Meta stamps the message during
/// the call, so a delivery watermark at or after that stamp covers it. `note` keeps how it got
/// there (for example that the tag was refused before the template carried it).
pub struct Accepted<'a> {
    pub id: &'a str,
    pub message_id: &'a str,
    pub sent_at: i64,
    pub path: &'a str,
    pub note: Option<&'a str>,
}

/// The most messages [`mark_sent`] records in one statement (six values each, well under both
/// databases' limit of bound values).
pub const MARK_SENT_AT_ONCE: usize = 500;

/// Records messages Meta accepted, in one statement: a statement per message was, with the
/// receipts', most of the work the database did while notices went out.
pub async fn mark_sent<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    accepted: &[Accepted<'_>],
) -> Result<(), sqlx::Error> {
    if accepted.is_empty() {
        return Ok(());
    }
    debug_assert!(accepted.len() <= MARK_SENT_AT_ONCE);
    // A `VALUES` list joined to the rows it updates: the same SQL on SQLite and PostgreSQL
    // (both name its columns column1, column2 …; PostgreSQL types them text unless cast).
    let sql = format!(
        "UPDATE outgoing_messages SET status = 'sent', message_id = v.column2, sent_at = CAST(v.column3 AS BIGINT),
                updated_at = CAST(v.column4 AS BIGINT), path = v.column5, attempts = attempts + 1, error_code = NULL,
                error_subcode = NULL, error_reason = v.column6, next_attempt_at = NULL
           FROM (VALUES {}) AS v
          WHERE outgoing_messages.id = v.column1",
        crate::db::value_rows(accepted.len(), 6)
    );
    let now = now_ms();
    let mut query = sqlx::query(&sql);
    for a in accepted {
        query = query
            .bind(a.id)
            .bind(a.message_id)
            .bind(a.sent_at)
            .bind(now)
            .bind(a.path)
            .bind(a.note);
    }
    query.execute(ex).await?;
    Ok(())
}

/// Meta refused: kept with its code, subcode and reason for the admin.
pub async fn mark_failed(db: &Db, id: &str, error: &GraphError) -> Result<(), sqlx::Error> {
    let api = error.api();
    mark_failed_as(
        db,
        id,
        api.map(|e| e.code),
        api.and_then(|e| e.error_subcode),
        &error.reason(),
    )
    .await
}

/// Failed, with the reason in our words (the code and subcode stay Meta's).
pub async fn mark_failed_as(
    db: &Db,
    id: &str,
    code: Option<i64>,
    subcode: Option<i64>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'failed', attempts = attempts + 1, error_code = $1,
                error_subcode = $2, error_reason = $3, next_attempt_at = NULL, updated_at = $4
         WHERE id = $5",
    )
    .bind(code)
    .bind(subcode)
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Back in the queue, not before `at` (if given), with why it waits. Not counted as a try: the
/// message never reached Meta, or Meta asked us to slow down.
pub async fn requeue(
    db: &Db,
    id: &str,
    reason: Option<&str>,
    at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'queued', error_reason = $1, next_attempt_at = $2,
                updated_at = $3
         WHERE id = $4",
    )
    .bind(reason)
    .bind(at)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// A temporary failure: counted as a try, retried at `at`.
pub async fn retry(db: &Db, id: &str, error: &GraphError, at: i64) -> Result<(), sqlx::Error> {
    let api = error.api();
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'queued', attempts = attempts + 1, error_code = $1,
                error_subcode = $2, error_reason = $3, next_attempt_at = $4, updated_at = $5
         WHERE id = $6",
    )
    .bind(api.map(|e| e.code))
    .bind(api.and_then(|e| e.error_subcode))
    .bind(format!("{}; retrying", error.reason()))
    .bind(at)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The send policy (or a missing Page token) held it back: not an error at Meta, a reason here.
pub async fn mark_not_sent(db: &Db, id: &str, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'not_sent', error_reason = $1, updated_at = $2
         WHERE id = $3",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// What a round of receipts says: the messages delivery events named (`mids`), and each
/// person's highest watermarks.
#[derive(Default)]
pub struct Receipts<'a> {
    /// (Page row, mid, when delivered).
    mids: Vec<(&'a str, &'a str, i64)>,
    /// (Page row, PSID) → (delivery watermark, read watermark), 0 when none came.
    watermarks: HashMap<(&'a str, &'a str), (i64, i64)>,
}

/// Receipts' messages and people per statement: four values each, well under both databases'
/// limit of bound values.
const RECEIPTS_AT_ONCE: usize = 400;

impl<'a> Receipts<'a> {
    /// Adds a delivery or read event of the person `psid` on the Page.
    pub fn add(&mut self, page_row_id: &'a str, psid: &'a str, event: &'a MessagingEvent) {
        let (delivered, read) = if let Some(read) = &event.read {
            // Read implies delivered.
            (read.watermark, read.watermark)
        } else if let Some(delivery) = &event.delivery {
            let at = if delivery.watermark > 0 {
                delivery.watermark
            } else {
                event.timestamp
            };
            for mid in delivery.mids.as_deref().unwrap_or_default() {
                self.mids.push((page_row_id, mid, at));
            }
            (delivery.watermark, 0)
        } else {
            return;
        };
        if delivered > 0 {
            let kept = self.watermarks.entry((page_row_id, psid)).or_default();
            kept.0 = kept.0.max(delivered);
            kept.1 = kept.1.max(read);
        }
    }

    /// The people whose watermarks these receipts raise, by Page.
    pub fn people(&self) -> HashMap<&'a str, Vec<&'a str>> {
        let mut by_page: HashMap<&str, Vec<&str>> = HashMap::new();
        for &(page, psid) in self.watermarks.keys() {
            by_page.entry(page).or_default().push(psid);
        }
        by_page
    }

    /// Marks the named messages delivered and keeps the people's watermarks for everything sent
    /// before them. The watermarks must be committed before the messages are marked by them
    /// (`apply_watermarks`), and a send is marked against them again after its own commit
    /// (`catch_up`): whichever of the two comes second sees the other, on SQLite and PostgreSQL
    /// alike, so a receipt that overtakes the send's answer is not lost. A statement per round,
    /// not per receipt.
    pub async fn store(&self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        for chunk in self.mids.chunks(RECEIPTS_AT_ONCE) {
            let sql = format!(
                "UPDATE outgoing_messages SET status = 'delivered',
                        delivered_at = CAST(v.column3 AS BIGINT),
                        updated_at = CAST(v.column3 AS BIGINT)
                   FROM (VALUES {}) AS v
                  WHERE outgoing_messages.message_id = v.column2
                    AND outgoing_messages.page_id = v.column1 AND outgoing_messages.status = 'sent'",
                crate::db::value_rows(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for &(page, mid, at) in chunk {
                query = query.bind(page).bind(mid).bind(at);
            }
            query.execute(&mut *conn).await?;
        }
        let people: Vec<_> = self
            .watermarks
            .iter()
            .map(|(&(page, psid), &(delivered, read))| (page, psid, delivered, read))
            .collect();
        for chunk in people.chunks(RECEIPTS_AT_ONCE) {
            crate::entries::store::raise_watermarks(&mut *conn, chunk).await?;
        }
        Ok(())
    }

    /// Applies the round: [`Self::store`] in a commit of its own, then everything sent to its
    /// people before their watermarks (`apply_watermarks`) in a second transaction, returned open
    /// for the caller's own statements of the same commit. Applying a round twice changes nothing.
    pub async fn apply<'c>(
        &self,
        writer: &'c mut sqlx::AnyConnection,
    ) -> Result<sqlx::Transaction<'c, Any>, sqlx::Error> {
        // Every statement writes: SQLite takes the write lock at the first one, no read before.
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        self.store(&mut tx).await?;
        tx.commit().await?;
        // Each Page's people at once, in chunks under SQLite's limit of bound values.
        let mut tx = sqlx::Connection::begin(writer).await?;
        for (page_row_id, psids) in self.people() {
            for chunk in psids.chunks(400) {
                apply_watermarks(&mut tx, page_row_id, chunk).await?;
            }
        }
        Ok(tx)
    }
}

/// Marks the sent messages that `selection` (a condition on `outgoing_messages`, its
/// placeholders from `$2`) picks as delivered or read up to their person's watermarks.
async fn mark_by_watermarks(
    conn: &mut sqlx::AnyConnection,
    selection: &str,
    binds: &[&str],
) -> Result<u64, sqlx::Error> {
    // The person's watermarks, as subqueries of `outgoing_messages`.
    let delivered = crate::entries::store::watermark_of(false, "outgoing_messages.subscriber_id");
    let read = crate::entries::store::watermark_of(true, "outgoing_messages.subscriber_id");
    let statements = [
        format!(
            "UPDATE outgoing_messages SET status = 'read', read_at = {read},
                    delivered_at = COALESCE(delivered_at, {read}), updated_at = $1
              WHERE status IN ('sent', 'delivered') AND sent_at <= {read} AND {selection}"
        ),
        format!(
            "UPDATE outgoing_messages SET status = 'delivered', delivered_at = {delivered},
                    updated_at = $1
              WHERE status = 'sent' AND sent_at <= {delivered} AND {selection}"
        ),
    ];
    let mut marked = 0;
    let now = now_ms();
    for sql in &statements {
        let mut query = sqlx::query(sql).bind(now);
        for value in binds {
            query = query.bind(*value);
        }
        marked += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(marked)
}

/// After receipts' watermarks are committed: everything sent to these people of the Page
/// before them.
pub async fn apply_watermarks(
    conn: &mut sqlx::AnyConnection,
    page_row_id: &str,
    psids: &[&str],
) -> Result<u64, sqlx::Error> {
    if psids.is_empty() {
        return Ok(0);
    }
    let selection = format!(
        "subscriber_id IN ({})",
        crate::entries::store::subscribers_by_psids("$2", &crate::db::placeholders(3, psids.len()))
    );
    let mut binds = vec![page_row_id];
    binds.extend_from_slice(psids);
    mark_by_watermarks(conn, &selection, &binds).await
}

/// After sends are committed as sent: receipts that arrived before them. Both statements in one
/// transaction: one commit, not two.
pub async fn catch_up(db: &Db, ids: &[&str]) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let selection = format!("id IN ({})", crate::db::placeholders(2, ids.len()));
    let mut writer = crate::db::writer(db).await?;
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    let marked = mark_by_watermarks(&mut tx, &selection, ids).await?;
    tx.commit().await?;
    Ok(marked)
}

/// Failed and held-back messages of a campaign, newest first, for the admin.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Problem {
    pub kind: String,
    pub status: String,
    pub error_code: Option<i64>,
    pub error_subcode: Option<i64>,
    pub error_reason: Option<String>,
    pub updated_at: i64,
}

/// The statuses the entrants list counts as failed.
const FAILED_STATUSES: &str = "('failed', 'not_sent')";

/// For lists of people with what was sent to them (the entrants list): one text,
/// `messages{separator}failed_messages` — how many messages of the campaign went to the person,
/// and how many of them failed or were not sent —, `subscriber` and `campaign` being the caller's
/// SQL for their ids. A subquery per row, from the index `outgoing_messages_person` alone: the
/// cheap way for a page of the list, and for all of it on SQLite.
pub(crate) fn person_messages(subscriber: &str, campaign: &str, separator: &str) -> String {
    format!(
        "(SELECT CAST(COUNT(*) AS TEXT) || '{separator}' ||
                 CAST(COALESCE(SUM(CASE WHEN m.status IN {FAILED_STATUSES} THEN 1 ELSE 0 END), 0) AS TEXT)
           FROM outgoing_messages m
           WHERE m.subscriber_id = {subscriber} AND m.campaign_id = {campaign})"
    )
}

/// The same counts for every person of the campaign `campaign` at once, for the whole list on
/// PostgreSQL, where a hash join on one pass over the campaign's messages is twice as fast as a
/// subquery per row (SQLite is the other way round): this join, as `pm` on `subscriber`, then
/// [`campaign_messages`] for the text.
pub(crate) fn campaign_messages_join(subscriber: &str, campaign: &str) -> String {
    format!(
        "LEFT JOIN (SELECT subscriber_id, COUNT(*) AS n,
                           SUM(CASE WHEN status IN {FAILED_STATUSES} THEN 1 ELSE 0 END) AS f
                    FROM outgoing_messages WHERE campaign_id = {campaign}
                    GROUP BY subscriber_id) pm ON pm.subscriber_id = {subscriber}"
    )
}

/// After [`campaign_messages_join`]: the text [`person_messages`] gives.
pub(crate) fn campaign_messages(separator: &str) -> String {
    format!("CAST(COALESCE(pm.n, 0) AS TEXT) || '{separator}' || CAST(COALESCE(pm.f, 0) AS TEXT)")
}

/// Read from the partial index `outgoing_messages_problems`, which holds only these messages.
const PROBLEMS: &str = "SELECT kind, status, error_code, error_subcode, error_reason, updated_at
     FROM outgoing_messages WHERE campaign_id = $1 AND status IN ('failed', 'not_sent')
     ORDER BY updated_at DESC LIMIT $2";

pub async fn problems(db: &Db, campaign_id: &str, limit: i64) -> Result<Vec<Problem>, sqlx::Error> {
    sqlx::query_as(PROBLEMS)
        .bind(campaign_id)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// How many confirmations of a campaign went (sent, delivered or read) and how many did not
/// (failed or not sent).
pub async fn confirmation_counts(db: &Db, campaign_id: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN status IN ('sent', 'delivered', 'read') THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN status IN ('failed', 'not_sent') THEN 1 ELSE 0 END), 0)
         FROM outgoing_messages WHERE campaign_id = $1 AND kind = 'confirmation'",
    )
    .bind(campaign_id)
    .fetch_one(db)
    .await
}

// The notices' queue: their messages (`notice_id` set) wait here for the Page's sender
// (`notices::sender`), which claims them in batches. The notices decide what goes and when;
// these statements are the only ones that write their rows.

/// Queues a notice for the confirmed entrants of its campaign (or only `subscriber_id`'s entry)
/// who have no message of it yet, in one set-based statement; each message's key is
/// `key_prefix` and the subscriber. `except` is a further condition on the entry `e` (`AND …`,
/// from the module that owns what it asks, or empty). Answers how many were queued.
#[allow(clippy::too_many_arguments)]
pub async fn queue_notice<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key_prefix: &str,
    page_row_id: &str,
    kind: &str,
    notice_id: &str,
    campaign_id: &str,
    subscriber_id: Option<&str>,
    except: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let only = if subscriber_id.is_some() {
        " AND e.subscriber_id = $7"
    } else {
        ""
    };
    // `WHERE` before `ON CONFLICT` even when it keeps everyone: SQLite reads the upsert of an
    // `INSERT … SELECT` only after one.
    let sql = format!(
        "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id, kind,
                                        status, created_at, updated_at, notice_id)
         SELECT $1 || e.subscriber_id, $1 || e.subscriber_id, $2, e.subscriber_id, e.campaign_id, $3,
                'queued', $4, $4, $5
         FROM ({}) e
         WHERE 1 = 1{only}{except}
         ON CONFLICT (dedupe_key) DO NOTHING",
        crate::entries::store::confirmed_entrants("$6")
    );
    let mut query = sqlx::query(&sql)
        .bind(key_prefix)
        .bind(page_row_id)
        .bind(kind)
        .bind(now)
        .bind(notice_id)
        .bind(campaign_id);
    if let Some(subscriber_id) = subscriber_id {
        query = query.bind(subscriber_id);
    }
    Ok(query.execute(ex).await?.rows_affected())
}

/// A subquery for how many messages a notice has queued (its recipients); `notice` is the
/// caller's SQL for the notice's id.
pub(crate) fn notice_message_count(notice: &str) -> String {
    format!("(SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = {notice})")
}

pub async fn count_for_notice<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    notice_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outgoing_messages WHERE notice_id = $1")
        .bind(notice_id)
        .fetch_one(ex)
        .await
}

/// The people a notice's messages are queued for (or went to).
/// (subscriber, status, Meta's reason) of each message of the notice.
pub async fn outcomes_of_notice(
    db: &Db,
    notice_id: &str,
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT subscriber_id, status, error_reason FROM outgoing_messages WHERE notice_id = $1",
    )
    .bind(notice_id)
    .fetch_all(db)
    .await
}

pub async fn recipients_of_notice(db: &Db, notice_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT subscriber_id FROM outgoing_messages WHERE notice_id = $1")
        .bind(notice_id)
        .fetch_all(db)
        .await
}

/// One message of a notice with its own text (a winner's); `key` is its id and dedupe key.
pub struct NoticeMessage<'a> {
    pub key: &'a str,
    pub page_row_id: &'a str,
    pub subscriber_id: &'a str,
    pub campaign_id: &'a str,
    pub kind: &'a str,
    pub notice_id: &'a str,
    pub body: &'a str,
}

/// Queues one notice message unless its key was queued before; 1 if it was new, else 0.
pub async fn queue_notice_message<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    message: NoticeMessage<'_>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO outgoing_messages (id, dedupe_key, page_id, subscriber_id, campaign_id,
                                        kind, status, created_at, updated_at, notice_id, body)
         VALUES ($1, $1, $2, $3, $4, $5, 'queued', $6, $6, $7, $8)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(message.key)
    .bind(message.page_row_id)
    .bind(message.subscriber_id)
    .bind(message.campaign_id)
    .bind(message.kind)
    .bind(now)
    .bind(message.notice_id)
    .bind(message.body)
    .execute(ex)
    .await?
    .rows_affected())
}

/// Takes back a notice's messages not yet sent (queued or held back).
pub async fn withdraw_unsent<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    notice_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM outgoing_messages
         WHERE notice_id = $1 AND status IN ('queued', 'not_sent')",
    )
    .bind(notice_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Puts a campaign's notice messages that ended as not sent back in the queue, with a fresh
/// wait limit, except to people who blocked the Page. Answers the Page of each.
pub async fn requeue_not_sent_notices<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    campaign_id: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "UPDATE outgoing_messages SET status = 'queued', next_attempt_at = NULL, created_at = $1,
                updated_at = $1, error_reason = NULL, error_code = NULL, error_subcode = NULL
         WHERE campaign_id = $2 AND status = 'not_sent' AND notice_id IS NOT NULL
           AND subscriber_id IN ({})
         RETURNING page_id",
        crate::entries::store::REACHABLE_SUBSCRIBERS
    ))
    .bind(now)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// The Page's notice messages a previous sender had claimed (and died with) go again.
pub async fn requeue_in_flight_notices(db: &Db, page_row_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outgoing_messages SET status = 'queued'
         WHERE page_id = $1 AND status = 'sending' AND notice_id IS NOT NULL",
    )
    .bind(page_row_id)
    .execute(db)
    .await?;
    Ok(())
}

/// When the Page's next waiting notice message is due, if one waits.
pub async fn next_notice_attempt(db: &Db, page_row_id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM outgoing_messages
         WHERE page_id = $1 AND status = 'queued' AND notice_id IS NOT NULL",
    )
    .bind(page_row_id)
    .fetch_one(db)
    .await
}

/// Walks the Page's queue in order through its partial index (`outgoing_messages_queued`), no
/// sorting of everything queued.
const CLAIM_NOTICE_BATCH: &str = "UPDATE outgoing_messages SET status = 'sending', updated_at = $1
     WHERE id IN (SELECT id FROM outgoing_messages
                  WHERE page_id = $2 AND status = 'queued' AND notice_id IS NOT NULL
                    AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                  ORDER BY created_at, id LIMIT $3)
       AND status = 'queued'
     RETURNING id";

/// Claims up to `limit` of the Page's due notice messages, oldest first, for one sender: a
/// conditional update, so two senders never claim the same message.
pub async fn claim_notice_batch(
    db: &Db,
    page_row_id: &str,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    // Through the writer: on SQLite a pool connection came to each claim with its page cache
    // emptied by the writer's commits since, and read back every page the claim touched.
    let mut writer = crate::db::writer(db).await?;
    sqlx::query_scalar(CLAIM_NOTICE_BATCH)
        .bind(now_ms())
        .bind(page_row_id)
        .bind(limit)
        .fetch_all(&mut *writer)
        .await
}

/// Gives back the claimed messages that did not go.
pub async fn release_claimed(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE outgoing_messages SET status = 'queued' WHERE status = 'sending' AND id IN ({})",
        crate::db::placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.execute(db).await?;
    Ok(())
}

/// The Page's notice messages waiting for a later try are due now; how many.
pub async fn wake_waiting_notices(db: &Db, page_row_id: &str) -> Result<u64, sqlx::Error> {
    let woken = sqlx::query(
        "UPDATE outgoing_messages SET next_attempt_at = NULL
         WHERE page_id = $1 AND status = 'queued' AND notice_id IS NOT NULL
           AND next_attempt_at IS NOT NULL",
    )
    .bind(page_row_id)
    .execute(db)
    .await?;
    Ok(woken.rows_affected())
}

// For the notice sender's batch, read in one query with the person, the notice and the campaign
// (`notices::sender::queue::load`): the messages as `o`, their columns, the keys the others join
// on, and the claimed ids.
pub(crate) const BATCH_FROM: &str = "outgoing_messages o";
pub(crate) const BATCH_COLUMNS: &str = "o.id, o.kind, o.attempts, o.created_at";
pub(crate) const MESSAGE_SUBSCRIBER: &str = "o.subscriber_id";
pub(crate) const MESSAGE_NOTICE: &str = "o.notice_id";
/// A message's own text, when it has one (a winner's message); else the notice's.
pub(crate) const MESSAGE_BODY: &str = "o.body";

/// `WHERE` condition and order of a batch of `n` claimed messages, their ids bound from `$1`.
pub(crate) fn batch_ids(n: usize) -> String {
    format!("o.id IN ({}) ORDER BY o.id", crate::db::placeholders(1, n))
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    /// A migrated SQLite database in a directory of its own (removed by the caller).
    async fn migrated(name: &str) -> (std::path::PathBuf, crate::db::Db) {
        let dir = std::env::temp_dir().join(format!("giveaway-{name}-{}", crate::db::new_id()));
        let db = crate::db::connect(&format!("sqlite://{}/{name}.db", dir.display()), 2)
            .await
            .unwrap();
        (dir, db)
    }

    /// SQLite's plan for `sql` with `bind`'s values, one step a line.
    async fn plan(
        db: &crate::db::Db,
        sql: &str,
        bind: impl for<'q> FnOnce(
            sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        )
            -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let steps: Vec<String> = bind(sqlx::query(&explain))
            .fetch_all(db)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect();
        steps.join("\n")
    }

    /// A claim reads the Page's queue in order from its index: sorting all of it at every claim
    /// cost 16 ms a batch at 30,000 queued messages (issue #19).
    #[tokio::test]
    async fn a_claim_walks_the_queue_index_without_sorting() {
        let (dir, db) = migrated("claim").await;
        let plan = plan(&db, super::CLAIM_NOTICE_BATCH, |q| {
            q.bind(0i64).bind("page").bind(64i64)
        })
        .await;
        assert!(plan.contains("outgoing_messages_queued"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A status change rewrites an entry of every index holding `status`: only the index by
    /// person (the entrants list's counts) holds it, and a campaign's failures come from their
    /// own partial index, in order (issue #19).
    #[tokio::test]
    async fn status_changes_touch_one_full_index_and_failures_have_their_own() {
        let (dir, db) = migrated("status").await;
        let holding: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT m.name FROM sqlite_master m, pragma_index_info(m.name) i
             WHERE m.type = 'index' AND m.tbl_name = 'outgoing_messages' AND i.name = 'status'",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(holding, ["outgoing_messages_person"]);
        let plan = plan(&db, super::PROBLEMS, |q| q.bind("campaign").bind(20i64)).await;
        assert!(plan.contains("outgoing_messages_problems"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
