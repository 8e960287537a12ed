//! Campaign images that admins upload: `POST /admin/uploads` (the file's bytes as the body)
//! stores one under `DATA_DIR/uploads/` and answers the public address it is served at,
//! `GET /uploads/{name}`.
//!
//! A plain axum route rather than a server function: the body is a raw file, its size limit and
//! the 413/415 answers are HTTP's own, and the browser sends the file as it is. The session is
//! checked first, exactly as server functions check it, before a byte of the body is read.
//!
//! The type comes from the content (magic bytes), never from the name or the `Content-Type` the
//! browser claims, and the server picks the name: 128 random bits and the extension of the type
//! found. Files live on this instance's disk: deployments with several instances need a shared
//! `DATA_DIR/uploads` (or image addresses typed by hand).
//!
//! The disk is shared with the database, so uploading is kept to what a campaign needs: only
//! admins of a connected Page may upload (anyone can log in with Facebook), each within a quota
//! and an hourly rate (`UPLOAD_QUOTA_MB`, `UPLOADS_PER_HOUR`), and an image no campaign uses is
//! removed a day after its upload (`sweeper`).

use super::rules::{is_upload_name, IMAGE_MAX_BYTES, UPLOADS_PATH};
use crate::settings::AbuseSettings;
use crate::{
    admins::guard::session_admin,
    db::{new_unguessable_id, now_ms, Db},
    state::AppState,
};
use axum::{
    body::{Body, Bytes},
    extract::{
        rejection::{BytesRejection, FailedToBufferBody},
        DefaultBodyLimit, FromRequest, Path, Request, State,
    },
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/uploads",
            post(upload).layer(DefaultBodyLimit::max(IMAGE_MAX_BYTES)),
        )
        .route("/uploads/{name}", get(serve))
}

/// An accepted image type: its extension (as in `IMAGE_EXTENSIONS`) and content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageKind {
    pub extension: &'static str,
    pub content_type: &'static str,
}

const PNG: ImageKind = ImageKind {
    extension: "png",
    content_type: "image/png",
};
const JPEG: ImageKind = ImageKind {
    extension: "jpg",
    content_type: "image/jpeg",
};
const GIF: ImageKind = ImageKind {
    extension: "gif",
    content_type: "image/gif",
};
const WEBP: ImageKind = ImageKind {
    extension: "webp",
    content_type: "image/webp",
};

/// The image type these bytes start with, if it is one we accept. SVG is not: it can carry
/// scripts, and it would be served from our own origin.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(GIF)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(WEBP)
    } else {
        None
    }
}

fn kind_of_extension(extension: &str) -> Option<ImageKind> {
    [PNG, JPEG, GIF, WEBP]
        .into_iter()
        .find(|k| k.extension == extension)
}

/// The error answer: a status and a sentence the editor shows beside the image field.
fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Logs the detail, tells the browser only that something failed.
fn failed(e: impl std::fmt::Display, what: &str) -> Response {
    tracing::error!(error = %e, "{what}");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server could not complete this request.",
    )
}

const HOUR_MS: i64 = 3_600_000;
/// An upload no campaign uses is removed this long after it was made: long enough to upload an
/// image and then save the campaign that shows it.
pub const UNUSED_UPLOAD_MS: i64 = 24 * HOUR_MS;

async fn upload(State(state): State<AppState>, session: Session, request: Request) -> Response {
    let admin = match session_admin(&state, &session).await {
        Ok(Some(admin)) => admin,
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "You are not logged in."),
        Err(e) => return failed(e, "cannot read the admin of an upload"),
    };
    // Anyone can log in with Facebook; only someone who runs campaigns needs to upload.
    match crate::pages::store::connected_for_admin(&state.db, &admin.id).await {
        Ok(pages) if pages.is_empty() => {
            return refuse(
                StatusCode::FORBIDDEN,
                "Connect a Facebook Page first: images are for the campaigns of a connected Page.",
            )
        }
        Ok(_) => {}
        Err(e) => return failed(e, "cannot read the Pages of an uploading admin"),
    }
    let limits = &state.settings.abuse;
    let usage = match usage(&state.db, &admin.id).await {
        Ok(usage) => usage,
        Err(e) => return failed(e, "cannot read an admin's uploads"),
    };
    if let Some(refusal) = over_limits(limits, usage) {
        return refusal;
    }
    let too_big = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The image is larger than {} MB; make it smaller.",
                IMAGE_MAX_BYTES / (1024 * 1024)
            ),
        )
    };
    // Refused before reading when the client says how big it is; the body limit catches the rest.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > IMAGE_MAX_BYTES) {
        return too_big();
    }
    if let Some(n) = declared {
        if let Some(refusal) = over_quota(limits, usage.bytes + n as i64) {
            return refusal;
        }
    }
    let bytes = match Bytes::from_request(request, &state).await {
        Ok(bytes) => bytes,
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return too_big()
        }
        Err(e) => {
            tracing::warn!(error = %e, "image upload not read");
            return refuse(
                StatusCode::BAD_REQUEST,
                "The file did not arrive whole; try again.",
            );
        }
    };
    if bytes.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "The file is empty.");
    }
    let Some(kind) = sniff(&bytes) else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This file is not a PNG, JPEG, GIF or WebP image.",
        );
    };
    // Served to anyone who has the name (README): an image of a draft must not be guessable.
    let name = format!("{}.{}", new_unguessable_id(), kind.extension);
    // Counted first, then checked with itself included: two uploads at once cannot both slip
    // under the quota (at worst both are refused).
    let counted = match reserve(&state.db, &admin.id, &name, bytes.len() as i64).await {
        Ok(usage) => usage,
        Err(e) => return failed(e, "cannot record an upload"),
    };
    let refusal = over_limits(limits, counted).or_else(|| over_quota(limits, counted.bytes));
    let stored = match refusal {
        Some(refusal) => Err(refusal),
        None => store(&state, &name, &bytes)
            .await
            .map_err(|e| failed(e, "cannot store an uploaded image")),
    };
    if let Err(refusal) = stored {
        if let Err(e) = forget(&state.db, &name).await {
            tracing::error!(error = %e, "cannot forget a refused upload");
        }
        return refusal;
    }
    let url = format!("{UPLOADS_PATH}{name}");
    (StatusCode::CREATED, Json(serde_json::json!({ "url": url }))).into_response()
}

/// What an admin keeps uploaded, and how many uploads they made in the last hour.
#[derive(Clone, Copy, Debug, Default, sqlx::FromRow)]
struct Usage {
    bytes: i64,
    last_hour: i64,
}

async fn usage(db: &Db, admin_id: &str) -> Result<Usage, sqlx::Error> {
    sqlx::query_as(
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back.
        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes,
                CAST(COALESCE(SUM(CASE WHEN created_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
                    AS last_hour
           FROM uploads WHERE admin_id = $1",
    )
    .bind(admin_id)
    .bind(now_ms() - HOUR_MS)
    .fetch_one(db)
    .await
}

/// Records the upload before its file is written; answers the admin's usage with it included.
async fn reserve(db: &Db, admin_id: &str, name: &str, bytes: i64) -> Result<Usage, sqlx::Error> {
    sqlx::query("INSERT INTO uploads (name, admin_id, bytes, created_at) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(admin_id)
        .bind(bytes)
        .bind(now_ms())
        .execute(db)
        .await?;
    let mut counted = usage(db, admin_id).await?;
    // The rate counts uploads before this one.
    counted.last_hour -= 1;
    Ok(counted)
}

async fn forget(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM uploads WHERE name = $1")
        .bind(name)
        .execute(db)
        .await
        .map(drop)
}

fn over_limits(limits: &AbuseSettings, usage: Usage) -> Option<Response> {
    (usage.last_hour >= limits.uploads_per_hour).then(|| {
        refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "You uploaded {} images in the last hour, the most allowed; try again later.",
                limits.uploads_per_hour
            ),
        )
    })
}

fn over_quota(limits: &AbuseSettings, bytes: i64) -> Option<Response> {
    let mb = |n: i64| (n as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0;
    (bytes > limits.upload_quota_bytes).then(|| {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "This image would take your uploads to {} MB, over your {} MB. Images no campaign \
                 uses are removed a day after their upload; or type an image's address instead.",
                mb(bytes),
                mb(limits.upload_quota_bytes)
            ),
        )
    })
}

/// Every hour: removes uploads no campaign uses a day after they were made.
pub async fn sweeper(state: AppState) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match sweep(&state, now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "unused uploads removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove unused uploads"),
        }
    }
}

/// Removes the images no campaign uses that were uploaded more than a day before `now`: the
/// recorded ones, and files in the folder without a record (uploaded before uploads were
/// recorded, or by another instance whose record went) or left half-written. Answers how many.
pub async fn sweep(state: &AppState, now: i64) -> Result<usize, std::io::Error> {
    let io = |e: sqlx::Error| std::io::Error::other(e.to_string());
    let cutoff = now - UNUSED_UPLOAD_MS;
    let unused: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM uploads WHERE created_at < $1 AND NOT EXISTS
            (SELECT 1 FROM campaigns c WHERE c.image_url = $2 || uploads.name)",
    )
    .bind(cutoff)
    .bind(UPLOADS_PATH)
    .fetch_all(&state.db)
    .await
    .map_err(io)?;
    let dir = folder(state);
    for name in &unused {
        remove(&dir.join(name)).await?;
    }
    // The records go after their files: a crash in between leaves records whose files are
    // gone, which the next sweep removes again harmlessly.
    for chunk in unused.chunks(1_000) {
        let sql = format!(
            "DELETE FROM uploads WHERE name IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for name in chunk {
            query = query.bind(name);
        }
        query.execute(&state.db).await.map_err(io)?;
    }
    let mut removed = unused.len();
    let mut files = match tokio::fs::read_dir(&dir).await {
        Ok(files) => files,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    // What the database knows, read once for the whole folder rather than once per file.
    let known = known_or_used(&state.db).await.map_err(io)?;
    while let Some(file) = files.next_entry().await? {
        let name = file.file_name().to_string_lossy().into_owned();
        let partial = name.starts_with('.') && name.ends_with(".partial");
        if !partial && !is_upload_name(&name) {
            continue;
        }
        let modified = file.metadata().await?.modified()?;
        let age =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(cutoff as u64);
        if modified > age {
            continue;
        }
        if !partial && known.contains(&name) {
            continue;
        }
        remove(&file.path()).await?;
        removed += 1;
    }
    Ok(removed)
}

/// The upload names recorded or used by a campaign.
async fn known_or_used(db: &Db) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let recorded: Vec<String> = sqlx::query_scalar("SELECT name FROM uploads")
        .fetch_all(db)
        .await?;
    let used: Vec<String> =
        sqlx::query_scalar("SELECT image_url FROM campaigns WHERE image_url LIKE $1")
            .bind(format!("{UPLOADS_PATH}%"))
            .fetch_all(db)
            .await?;
    Ok(recorded
        .into_iter()
        .chain(
            used.iter()
                .filter_map(|url| url.strip_prefix(UPLOADS_PATH).map(str::to_string)),
        )
        .collect())
}

async fn remove(path: &std::path::Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn folder(state: &AppState) -> std::path::PathBuf {
    state.settings.data_dir.join("uploads")
}

/// Written under a temporary name first: a reader never sees half a file under the real one.
async fn store(state: &AppState, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = folder(state);
    tokio::fs::create_dir_all(&dir).await?;
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await
}

async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    // Only names the upload could have made are looked up: `..`, slashes (even encoded) and
    // anything else never reach the file system.
    let kind = name
        .split_once('.')
        .and_then(|(_, ext)| kind_of_extension(ext));
    let (true, Some(kind)) = (is_upload_name(&name), kind) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = folder(&state).join(&name);
    let opened = async {
        let file = tokio::fs::File::open(&path).await?;
        let metadata = file.metadata().await?;
        Ok::<_, std::io::Error>((file, metadata))
    };
    match opened.await {
        // Streamed from disk: a request holds a small buffer, not the whole image.
        Ok((file, metadata)) if metadata.is_file() => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(kind.content_type),
                ),
                // A name is never reused for other content.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (header::CONTENT_LENGTH, HeaderValue::from(metadata.len())),
            ],
            Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        )
            .into_response(),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read an uploaded image");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n....").map(|k| k.extension),
            Some("png")
        );
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|k| k.extension),
            Some("jpg")
        );
        assert_eq!(sniff(b"GIF89a..").map(|k| k.extension), Some("gif"));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|k| k.extension),
            Some("webp")
        );
        for other in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"%PDF-1.7",
            b"RIFF\0\0\0\0WAVE",
            b"",
        ] {
            assert_eq!(sniff(other), None);
        }
    }

    #[test]
    fn every_accepted_extension_is_served() {
        for ext in super::super::rules::IMAGE_EXTENSIONS {
            assert!(kind_of_extension(ext).is_some(), "{ext}");
        }
    }
}
