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

use super::rules::{is_upload_name, IMAGE_MAX_BYTES, UPLOADS_PATH};
use crate::{admins::guard::session_admin, db::new_id, state::AppState};
use axum::{
    body::Bytes,
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

async fn upload(State(state): State<AppState>, session: Session, request: Request) -> Response {
    match session_admin(&state, &session).await {
        Ok(Some(_)) => {}
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "You are not logged in."),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the admin of an upload");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not complete this request.",
            );
        }
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
    let name = format!("{}.{}", new_id(), kind.extension);
    if let Err(e) = store(&state, &name, &bytes).await {
        tracing::error!(error = %e, "cannot store an uploaded image");
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not store the image.",
        );
    }
    let url = format!("{UPLOADS_PATH}{name}");
    (StatusCode::CREATED, Json(serde_json::json!({ "url": url }))).into_response()
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
    match tokio::fs::read(folder(&state).join(&name)).await {
        Ok(bytes) => (
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
            ],
            bytes,
        )
            .into_response(),
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
