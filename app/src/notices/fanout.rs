//! A notice's time has come: one queued message per subscriber of the campaign, in a single
//! set-based statement (memory stays flat whatever the campaign's size), then the Page's sender
//! is woken. Running this twice queues nothing twice: each message's `dedupe_key` is
//! (notice kind, notice, subscriber). That key is also what lets an end notice go again after
//! its campaign was extended (`schedule::sync_end_notice`) without telling anyone twice, and an
//! entry confirmed after the fan-out join it (`late_entrant`).

use super::schedule::end_notice_id;
use super::{NoticeKind, NoticeStatus};
use crate::db::now_ms;
use crate::state::AppState;
use sqlx::{Any, Transaction};

/// A notice whose time may have come, with what its campaign says now.
#[derive(sqlx::FromRow)]
struct Due {
    campaign_id: String,
    kind: NoticeKind,
    status: NoticeStatus,
    text: String,
    campaign_text: String,
    page_row_id: String,
    send_at: i64,
}

/// Fans the notice out. `Some(at)`: it is not due yet (its campaign was extended while its job
/// was already claimed), and its job should come back at `at`.
pub async fn start(state: &AppState, notice_id: &str) -> Result<Option<i64>, sqlx::Error> {
    // Before the transaction: the draw writes in its own, which on SQLite would wait for ours.
    let results_url = match wait_for_draw(state, notice_id).await? {
        Ok(url) => url,
        Err(again_at) => return Ok(Some(again_at)),
    };
    let mut tx = state.db.begin().await?;
    // Write first, so SQLite makes this transaction wait for others instead of failing it. On
    // PostgreSQL this row lock is what `sync_end_notice` and `late_entrant` wait on.
    sqlx::query("UPDATE notices SET updated_at = updated_at WHERE id = $1")
        .bind(notice_id)
        .execute(&mut *tx)
        .await?;
    let notice: Option<Due> = sqlx::query_as(&format!(
        "SELECT n.campaign_id, n.kind, n.status, n.text, {} AS campaign_text,
                {} AS page_row_id, n.send_at
         FROM notices n {} WHERE n.id = $1",
        crate::campaigns::store::CAMPAIGN_NOTICE_TEXT,
        crate::campaigns::store::CAMPAIGN_PAGE,
        crate::campaigns::store::campaign_join("n.campaign_id"),
    ))
    .bind(notice_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(notice) = notice else {
        return Ok(None);
    };
    if notice.status == NoticeStatus::Cancelled {
        return Ok(None);
    }
    let now = now_ms();
    if notice.status == NoticeStatus::Scheduled && notice.send_at > now {
        return Ok(Some(notice.send_at));
    }
    // The end notice says what the campaign says when it ends, edits until then included.
    let mut text = if notice.kind == NoticeKind::End {
        notice.campaign_text
    } else {
        notice.text
    };
    if let Some(url) = &results_url {
        let line = format!("\n\nThe winners have been drawn: see the results at {url}");
        if text.chars().count() + line.chars().count() <= crate::messenger::limits::TEXT_MAX {
            text.push_str(&line);
        }
    }
    let page_row_id = notice.page_row_id;
    // Once drawn, the prize holders hear their own message instead (`winners::claims`).
    let except_winners = results_url.is_some();
    queue(
        &mut tx,
        notice_id,
        notice.kind,
        &page_row_id,
        &notice.campaign_id,
        None,
        except_winners,
    )
    .await?;
    let recipients = count(&mut tx, notice_id).await?;
    sqlx::query(
        "UPDATE notices SET status = 'sending', text = $1, recipients = $2,
                started_at = COALESCE(started_at, $3), updated_at = $3
         WHERE id = $4",
    )
    .bind(&text)
    .bind(recipients)
    .bind(now)
    .bind(notice_id)
    .execute(&mut *tx)
    .await?;
    super::sender::arm(&mut *tx, &page_row_id).await?;
    tx.commit().await?;
    tracing::info!(notice = %notice_id, recipients, "notice queued");
    state.jobs.notify_one();
    Ok(None)
}

/// A person whose entry was confirmed after the campaign's end notice listed its recipients
/// (Meta's webhook came late, for an answer made before the end) gets that notice too, through
/// the same queue and key as everyone else. Before the fan-out, nothing to do: it will list them.
///
/// Called right after the confirmation is committed. On PostgreSQL the notice's row lock orders
/// this against a fan-out under way: either the fan-out's listing starts after the lock is given
/// back (and sees the confirmation), or this waits for the fan-out to commit and sees it went.
pub async fn late_entrant(
    state: &AppState,
    campaign_id: &str,
    subscriber_id: &str,
) -> Result<(), sqlx::Error> {
    let notice_id = end_notice_id(campaign_id);
    let mut tx = state.db.begin().await?;
    let locked = sqlx::query("UPDATE notices SET updated_at = updated_at WHERE id = $1")
        .bind(&notice_id)
        .execute(&mut *tx)
        .await?;
    if locked.rows_affected() == 0 {
        return Ok(());
    }
    let went: Option<String> = sqlx::query_scalar(&format!(
        "SELECT {} FROM notices n {} WHERE n.id = $1 AND n.status = 'sending'",
        crate::campaigns::store::CAMPAIGN_PAGE,
        crate::campaigns::store::campaign_join("n.campaign_id"),
    ))
    .bind(&notice_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(page_row_id) = went else {
        return Ok(());
    };
    let queued = queue(
        &mut tx,
        &notice_id,
        NoticeKind::End,
        &page_row_id,
        campaign_id,
        Some(subscriber_id),
        false,
    )
    .await?;
    if queued == 0 {
        return Ok(());
    }
    let recipients = count(&mut tx, &notice_id).await?;
    sqlx::query("UPDATE notices SET recipients = $1, updated_at = $2 WHERE id = $3")
        .bind(recipients)
        .bind(now_ms())
        .bind(&notice_id)
        .execute(&mut *tx)
        .await?;
    super::sender::arm(&mut *tx, &page_row_id).await?;
    tx.commit().await?;
    tracing::info!(notice = %notice_id, "late entrant queued for the end notice");
    state.jobs.notify_one();
    Ok(())
}

/// Queues the notice for the campaign's confirmed entrants (or only `subscriber_id`'s entry)
/// who have no message of it yet; answers how many were queued.
async fn queue(
    tx: &mut Transaction<'_, Any>,
    notice_id: &str,
    kind: NoticeKind,
    page_row_id: &str,
    campaign_id: &str,
    subscriber_id: Option<&str>,
    except_winners: bool,
) -> Result<u64, sqlx::Error> {
    let except = if except_winners {
        crate::winners::store::AND_NOT_A_WINNER
    } else {
        ""
    };
    crate::messenger::outbox::queue_notice(
        &mut **tx,
        &format!("{kind}:{notice_id}:"),
        page_row_id,
        kind.as_str(),
        notice_id,
        campaign_id,
        subscriber_id,
        except,
        now_ms(),
    )
    .await
}

/// How long past its time an end notice waits for an automatic draw that cannot be made (the
/// beacon is down): then it goes without the results, which the admin can still draw later.
const DRAW_WAIT_MS: i64 = 3_600_000;
const DRAW_RETRY_MS: i64 = 30_000;

/// When the notice is a due end notice of a campaign drawn at its end: the draw, made now if
/// not yet. `Ok(Some(url))`: drawn, with the results' address; `Ok(None)`: nothing to wait for;
/// `Err(at)`: not drawn yet, come back at `at`.
async fn wait_for_draw(
    state: &AppState,
    notice_id: &str,
) -> Result<Result<Option<String>, i64>, sqlx::Error> {
    use crate::winners::AtEndNotice;
    #[derive(sqlx::FromRow)]
    struct Peek {
        campaign_id: String,
        kind: NoticeKind,
        status: NoticeStatus,
        send_at: i64,
    }
    let peek: Option<Peek> =
        sqlx::query_as("SELECT campaign_id, kind, status, send_at FROM notices WHERE id = $1")
            .bind(notice_id)
            .fetch_optional(&state.db)
            .await?;
    let now = now_ms();
    let Some(notice) = peek.filter(|n| {
        n.kind == NoticeKind::End && n.status == NoticeStatus::Scheduled && n.send_at <= now
    }) else {
        return Ok(Ok(None));
    };
    Ok(
        match crate::winners::before_end_notice(state, &notice.campaign_id).await? {
            AtEndNotice::Drawn { results_url } => Ok(Some(results_url)),
            AtEndNotice::NoDraw => Ok(None),
            AtEndNotice::NotYet if now < notice.send_at + DRAW_WAIT_MS => Err(now + DRAW_RETRY_MS),
            AtEndNotice::NotYet => Ok(None),
        },
    )
}

async fn count(tx: &mut Transaction<'_, Any>, notice_id: &str) -> Result<i64, sqlx::Error> {
    crate::messenger::outbox::count_for_notice(&mut **tx, notice_id).await
}
