//! Connected Pages and who may manage them. Page tokens are stored encrypted, bound to the Page.

use super::{FacebookPageId, PageRowId};
use crate::{
    db::{new_id, now_ms, Db},
    messenger::graph::PageAccount,
    secrets::{Secret, TokenCipher},
    stored::Flag,
};

/// Associated data for a Page token: a ciphertext copied onto another Page does not decrypt.
fn aad(facebook_page_id: &str) -> String {
    format!("page:{facebook_page_id}")
}

#[derive(sqlx::FromRow)]
pub struct Connected {
    pub id: PageRowId,
    pub facebook_page_id: FacebookPageId,
    /// The name Facebook gave at the last connection.
    pub name: String,
    pub token_status: super::TokenStatus,
    #[sqlx(try_from = "Flag")]
    pub enabled: bool,
    pub data_access_expires_at: Option<i64>,
    pub get_started_warning: Option<String>,
}

/// Stores (or refreshes) the connection of a Page and the connecting admin's rights on it.
pub async fn connect(
    db: &Db,
    cipher: &TokenCipher,
    admin_id: &str,
    account: &PageAccount,
    token: &Secret,
) -> Result<String, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: PageRowId = sqlx::query_scalar(
        "INSERT INTO pages (id, facebook_page_id, name, username, category, access_token_enc, token_status,
                            connected_by, connected_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, $8, $8)
         ON CONFLICT (facebook_page_id) DO UPDATE
           SET name = excluded.name, username = COALESCE(excluded.username, pages.username),
               category = COALESCE(excluded.category, pages.category),
               access_token_enc = excluded.access_token_enc, token_status = 'valid',
               paused_reason = NULL, paused_kind = NULL, updated_at = excluded.updated_at,
               -- The stored token is now this admin's: what it may do follows their grants.
               connected_by = excluded.connected_by
         RETURNING id",
    )
    .bind(new_id())
    .bind(&account.id)
    .bind(&account.name)
    .bind(&account.username)
    .bind(&account.category)
    .bind(cipher.encrypt(token, &aad(&account.id)))
    .bind(admin_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    upsert_right(&mut tx, &id, admin_id, &account.tasks, now).await?;
    tx.commit().await?;
    // Callers hold the row id as text (`sender::page_resumed`, the demo, the tests' crowds).
    Ok(id.0)
}

async fn upsert_right(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    page_id: &PageRowId,
    admin_id: &str,
    tasks: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO page_admins (page_id, admin_id, tasks, refreshed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (page_id, admin_id) DO UPDATE SET tasks = excluded.tasks, refreshed_at = excluded.refreshed_at",
    )
    .bind(page_id)
    .bind(admin_id)
    .bind(tasks.join(","))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Recomputes an admin's rights from a fresh `/me/accounts`: connected Pages they moderate are
/// theirs to manage; every other right they held is dropped.
pub async fn refresh_rights(
    db: &Db,
    admin_id: &str,
    accounts: &[PageAccount],
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM page_admins WHERE admin_id = $1")
        .bind(admin_id)
        .execute(&mut *tx)
        .await?;
    for account in accounts.iter().filter(|a| super::moderates(&a.tasks)) {
        let id: Option<PageRowId> =
            sqlx::query_scalar("SELECT id FROM pages WHERE facebook_page_id = $1")
                .bind(&account.id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = id {
            upsert_right(&mut tx, &id, admin_id, &account.tasks, now).await?;
        }
    }
    tx.commit().await
}

/// Connected Pages joined to the admin's rights: the only way Pages are read for an admin.
const MANAGED: &str =
    "SELECT p.id, p.facebook_page_id, p.name, p.token_status, p.enabled, p.data_access_expires_at,
            p.get_started_warning
     FROM pages p JOIN page_admins pa ON pa.page_id = p.id WHERE pa.admin_id = $1";

/// The connected Page with this Facebook id, if the admin may manage it.
pub async fn find_for_admin(
    db: &Db,
    admin_id: &str,
    facebook_page_id: &str,
) -> Result<Option<Connected>, sqlx::Error> {
    sqlx::query_as(&format!("{MANAGED} AND p.facebook_page_id = $2"))
        .bind(admin_id)
        .bind(facebook_page_id)
        .fetch_optional(db)
        .await
}

/// Every connected Page this admin may manage.
pub async fn connected_for_admin(db: &Db, admin_id: &str) -> Result<Vec<Connected>, sqlx::Error> {
    sqlx::query_as(MANAGED).bind(admin_id).fetch_all(db).await
}

pub async fn page_token(
    db: &Db,
    cipher: &TokenCipher,
    facebook_page_id: &str,
) -> Result<Option<Secret>, sqlx::Error> {
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT access_token_enc FROM pages WHERE facebook_page_id = $1")
            .bind(facebook_page_id)
            .fetch_optional(db)
            .await?;
    Ok(stored
        .flatten()
        .and_then(|enc| cipher.decrypt(&enc, &aad(facebook_page_id)).ok()))
}

/// What the last look at the Page's Messenger profile found (`None`: Get Started shows).
pub async fn record_get_started(
    db: &Db,
    facebook_page_id: &str,
    warning: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pages SET get_started_warning = $1 WHERE facebook_page_id = $2")
        .bind(warning)
        .bind(facebook_page_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A valid token clears a token pause, never a Page-level one (`paused_kind = 'page'`): Meta
/// still refuses that Page's sends until the admin resumes it.
pub async fn record_health(
    db: &Db,
    facebook_page_id: &str,
    token_status: super::TokenStatus,
    data_access_expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pages SET token_status = $1, data_access_expires_at = $2, token_checked_at = $3,
                paused_reason = CASE WHEN $1 <> 'valid' THEN 'reconnect'
                                     WHEN paused_kind = 'page' THEN paused_reason END,
                paused_kind = CASE WHEN $1 <> 'valid' THEN 'token'
                                   WHEN paused_kind = 'page' THEN 'page' END
         WHERE facebook_page_id = $4",
    )
    .bind(token_status.as_str())
    .bind(data_access_expires_at)
    .bind(now_ms())
    .bind(facebook_page_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Turns sending for a Page on or off. (Whether a campaign still needs it is the caller's
/// question: `campaigns::store::active_on_page`.)
pub async fn set_enabled(db: &Db, page_id: &PageRowId, enabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pages SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(Flag::stored(enabled))
        .bind(now_ms())
        .bind(page_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets the Page token and every admin's right to the Page; campaigns and their history stay.
pub async fn disconnect(db: &Db, page_id: &PageRowId) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE pages SET access_token_enc = NULL, token_status = 'revoked', enabled = 0, updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM page_admins WHERE page_id = $1")
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The row id of the connected Page with this Facebook id.
/// An admin's account is erased: the Pages they connected stay connected, naming no one.
pub async fn forget_connector(db: &Db, admin_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pages SET connected_by = NULL WHERE connected_by = $1")
        .bind(admin_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Meta's id of a connected Page, by its row id.
pub async fn facebook_id(
    db: &Db,
    page_row_id: &str,
) -> Result<Option<super::FacebookPageId>, sqlx::Error> {
    let id: Option<String> = sqlx::query_scalar("SELECT facebook_page_id FROM pages WHERE id = $1")
        .bind(page_row_id)
        .fetch_optional(db)
        .await?;
    Ok(id.map(super::FacebookPageId))
}

pub async fn row_id(db: &Db, facebook_page_id: &str) -> Result<Option<PageRowId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM pages WHERE facebook_page_id = $1")
        .bind(facebook_page_id)
        .fetch_optional(db)
        .await
}

/// The connected Pages among `facebook_page_ids`: (Meta's id, row id) of each.
pub async fn row_ids(
    db: &Db,
    facebook_page_ids: &[&str],
) -> Result<Vec<(FacebookPageId, PageRowId)>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in facebook_page_ids.chunks(400) {
        let sql = format!(
            "SELECT facebook_page_id, id FROM pages WHERE facebook_page_id IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        found.extend(query.fetch_all(db).await?);
    }
    Ok(found)
}

/// Notes that delivery or read receipts of these Pages (row ids) arrived at `at`: receipts are
/// not kept, and a Page that still sends them is not silent (`receipts_received`).
pub async fn stamp_receipts(
    conn: &mut sqlx::AnyConnection,
    page_row_ids: &[&str],
    at: i64,
) -> Result<(), sqlx::Error> {
    for chunk in page_row_ids.chunks(400) {
        let sql = format!(
            "UPDATE pages SET receipts_received_at = $1 WHERE id IN ({})",
            crate::db::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(at);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// When the last delivery or read receipt of the Page (its Facebook id) arrived, if one did.
pub async fn receipts_received(
    db: &Db,
    facebook_page_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT receipts_received_at FROM pages WHERE facebook_page_id = $1")
        .bind(facebook_page_id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// A Page's row id and the name Facebook gave it, by its Facebook id.
#[derive(sqlx::FromRow)]
pub struct Named {
    pub id: PageRowId,
    pub name: String,
}

pub async fn named(db: &Db, facebook_page_id: &str) -> Result<Option<Named>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM pages WHERE facebook_page_id = $1")
        .bind(facebook_page_id)
        .fetch_optional(db)
        .await
}

/// Whether a Page may send at all.
#[derive(sqlx::FromRow)]
pub struct Switches {
    pub facebook_page_id: FacebookPageId,
    #[sqlx(try_from = "Flag")]
    pub enabled: bool,
    pub paused_reason: Option<String>,
}

pub async fn switches(db: &Db, page_row_id: &str) -> Result<Option<Switches>, sqlx::Error> {
    sqlx::query_as("SELECT facebook_page_id, enabled, paused_reason FROM pages WHERE id = $1")
        .bind(page_row_id)
        .fetch_optional(db)
        .await
}

/// Pauses the Page's sends because its token stopped working (190): reconnecting resumes it.
pub async fn pause_for_token(
    db: &Db,
    page_row_id: &PageRowId,
    reason: &str,
    status: super::TokenStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pages SET paused_reason = $1, paused_kind = $5, token_status = $2,
                token_checked_at = $3, updated_at = $3
         WHERE id = $4",
    )
    .bind(reason)
    .bind(status.as_str())
    .bind(now_ms())
    .bind(page_row_id)
    .bind(super::PausedKind::Token.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// Whether Meta granted the Page `pages_utility_messaging` (as last seen).
pub async fn utility_permission(db: &Db, page_row_id: &str) -> Result<bool, sqlx::Error> {
    let flag: Option<Flag> =
        sqlx::query_scalar("SELECT utility_permission FROM pages WHERE id = $1")
            .bind(page_row_id)
            .fetch_optional(db)
            .await?;
    Ok(flag.is_some_and(bool::from))
}

/// Records whether the Page has `pages_utility_messaging`; whether that changed.
pub async fn set_utility_permission(
    db: &Db,
    page_row_id: &str,
    granted: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE pages SET utility_permission = $1 WHERE id = $2 AND utility_permission <> $1",
    )
    .bind(Flag::stored(granted))
    .bind(page_row_id)
    .execute(db)
    .await?;
    Ok(changed.rows_affected() > 0)
}

/// For another module's statement that reads the Page its rows belong to in the same query:
/// joins the Page as `p`, `page` being the caller's SQL for the Page's row id.
pub(crate) fn page_join(page: &str) -> String {
    format!("JOIN pages p ON p.id = {page}")
}

/// As [`page_join`], keeping only the Pages the admin manages (`admin`: the caller's SQL for the
/// admin's id): rights checked inside the caller's query.
pub(crate) fn managed_page_join(page: &str, admin: &str) -> String {
    format!(
        "JOIN pages p ON p.id = {page}
         JOIN page_admins pa ON pa.page_id = p.id AND pa.admin_id = {admin}"
    )
}

/// After [`page_join`]: the Page's Facebook id.
pub(crate) const PAGE_FACEBOOK_ID: &str = "p.facebook_page_id";

/// After [`managed_page_join`]: the Page's name.
pub(crate) const PAGE_NAME: &str = "p.name AS page_name";

/// After [`page_join`]: the Page as the public pages show it.
pub(crate) const PAGE_PUBLIC_COLUMNS: &str = "p.id AS page_row_id, p.facebook_page_id,
     p.name AS page_name, p.username AS page_username";

/// The Page (row id) and its name, if the admin manages it (their stored right).
pub async fn managed(
    db: &Db,
    admin_id: &str,
    page_row_id: &str,
) -> Result<Option<Named>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.name FROM pages p
         JOIN page_admins pa ON pa.page_id = p.id AND pa.admin_id = $2
         WHERE p.id = $1",
    )
    .bind(page_row_id)
    .bind(admin_id)
    .fetch_optional(db)
    .await
}

/// As [`managed`], for a Page named by its Facebook id.
pub async fn managed_by_facebook_id(
    db: &Db,
    admin_id: &str,
    facebook_page_id: &str,
) -> Result<Option<Named>, sqlx::Error> {
    match row_id(db, facebook_page_id).await? {
        Some(row) => managed(db, admin_id, &row).await,
        None => Ok(None),
    }
}

/// Whether the admin has a stored right on the Page.
pub async fn manages(db: &Db, admin_id: &str, page_row_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM page_admins WHERE page_id = $1 AND admin_id = $2")
            .bind(page_row_id)
            .bind(admin_id)
            .fetch_one(db)
            .await?;
    Ok(n > 0)
}

/// A connected Page as the health checks see it (`alerts`).
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Watched {
    pub id: PageRowId,
    pub facebook_page_id: FacebookPageId,
    pub name: String,
    /// Why its sends are paused by a Page-level error (a token's pause is the token's
    /// problem, said on its own).
    pub paused_reason: Option<String>,
    pub data_access_expires_at: Option<i64>,
}

/// Every connected, enabled Page.
pub async fn watched(db: &Db) -> Result<Vec<Watched>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, facebook_page_id, name,
                CASE WHEN paused_kind = 'page' THEN paused_reason END AS paused_reason,
                data_access_expires_at
         FROM pages WHERE enabled = 1 AND access_token_enc IS NOT NULL ORDER BY name",
    )
    .fetch_all(db)
    .await
}
