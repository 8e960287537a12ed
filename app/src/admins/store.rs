//! Admin rows: who logged in, with their long-lived user token encrypted at rest.

use super::Admin;
use crate::{
    db::{new_id, now_ms, Db},
    secrets::{Secret, TokenCipher},
};

/// Creates or updates the admin for a Facebook user at login; returns the admin.
pub async fn upsert_at_login(
    db: &Db,
    cipher: &TokenCipher,
    facebook_user_id: &str,
    name: &str,
    user_token: &Secret,
    expires_at: Option<i64>,
    scopes: &[String],
) -> Result<Admin, sqlx::Error> {
    let now = now_ms();
    let id: String = sqlx::query_scalar(
        "INSERT INTO admins (id, facebook_user_id, name, granted_scopes, created_at, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (facebook_user_id) DO UPDATE
           SET name = excluded.name, granted_scopes = excluded.granted_scopes, last_login_at = excluded.last_login_at
         RETURNING id",
    )
    .bind(new_id())
    .bind(facebook_user_id)
    .bind(name)
    .bind(scopes.join(","))
    .bind(now)
    .fetch_one(db)
    .await?;
    // The token is bound to its admin row: copied onto another row it would not decrypt.
    sqlx::query("UPDATE admins SET user_token_enc = $1, user_token_expires_at = $2 WHERE id = $3")
        .bind(cipher.encrypt(user_token, &format!("admin:{id}")))
        .bind(expires_at)
        .bind(&id)
        .execute(db)
        .await?;
    Ok(Admin {
        id,
        facebook_user_id: facebook_user_id.into(),
        name: name.into(),
    })
}

/// Erases the admin account of a Facebook user (Meta's data deletion request, issue #17): the
/// row, with its token, name and rights, goes; the campaigns and Pages they set up stay with
/// their Page, naming no creator. Their sessions name an admin who no longer exists, so they log
/// in nobody. False when there is no such admin.
pub async fn erase(db: &Db, facebook_user_id: &str) -> Result<bool, sqlx::Error> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM admins WHERE facebook_user_id = $1")
            .bind(facebook_user_id)
            .fetch_optional(db)
            .await?;
    let Some(id) = id else { return Ok(false) };
    crate::campaigns::store::forget_creator(db, &id).await?;
    crate::pages::store::forget_connector(db, &id).await?;
    sqlx::query("DELETE FROM admins WHERE id = $1")
        .bind(&id)
        .execute(db)
        .await?;
    Ok(true)
}

/// Whether the admin granted this permission at their last login.
pub async fn has_scope(db: &Db, id: &str, scope: &str) -> Result<bool, sqlx::Error> {
    let scopes: Option<String> =
        sqlx::query_scalar("SELECT granted_scopes FROM admins WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(scopes.is_some_and(|s| s.split(',').any(|g| g == scope)))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Admin>, sqlx::Error> {
    sqlx::query_as("SELECT id, facebook_user_id, name FROM admins WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The admin's user token, decrypted; `None` when there is none or it cannot be decrypted.
pub async fn user_token(
    db: &Db,
    cipher: &TokenCipher,
    id: &str,
) -> Result<Option<Secret>, sqlx::Error> {
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT user_token_enc FROM admins WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(stored
        .flatten()
        .and_then(|enc| cipher.decrypt(&enc, &format!("admin:{id}")).ok()))
}
