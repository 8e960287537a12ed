//! Deletion requests (issue #17; facts file §10): Meta's Data Deletion Request Callback at
//! `POST /facebook/data-deletion`, and the status page `/deletion/{code}` that every request
//! (Meta's, a DELETE MY DATA in Messenger, an admin's Erase) gets. The page says in words what
//! was erased and names nobody: its code is random and unguessable, and it is all it shows.

use crate::db::{now_ms, Db};
use crate::html::{render_page, Document};
use crate::state::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use leptos::prelude::*;
use serde::Deserialize;
use sha2::Sha256;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CALLBACK_PATH, post(callback))
        .route("/deletion/{code}", get(status_page))
}

/// Where Meta sends deletion requests (the app's Data Deletion Request URL).
pub const CALLBACK_PATH: &str = "/facebook/data-deletion";

crate::word_enum! {
    /// Where a deletion request came from (`deletion_requests.origin`).
    pub enum Origin("deletion origin") {
        /// Meta's callback: the person removed the app and asked Facebook.
        Facebook = "facebook",
        /// The person sent the deletion keyword to a Page.
        Messenger = "messenger",
        /// An admin erased the person from an entrants list.
        Admin = "admin",
    }
}

/// Records a request already carried out; answers its code (for the status page).
pub async fn record(db: &Db, origin: Origin, summary: &str) -> Result<String, sqlx::Error> {
    // 128 random bits, hexadecimal: the status page's only key.
    let code = crate::db::new_unguessable_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO deletion_requests (code, origin, requested_at, completed_at, summary)
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(&code)
    .bind(origin.as_str())
    .bind(now)
    .bind(summary)
    .execute(db)
    .await?;
    Ok(code)
}

/// The public address of a request's status page.
pub fn status_url(settings: &crate::settings::Settings, code: &str) -> String {
    let base = settings.public_base_url.as_str().trim_end_matches('/');
    format!("{base}/deletion/{code}")
}

/// What a status page shows.
#[derive(sqlx::FromRow)]
struct Request {
    origin: Origin,
    requested_at: i64,
    completed_at: Option<i64>,
    summary: String,
}

async fn find(db: &Db, code: &str) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(
        "SELECT origin, requested_at, completed_at, summary FROM deletion_requests WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(db)
    .await
}

/// Why a signed request was refused, in the words the answer gives.
#[derive(Debug, PartialEq, Eq)]
pub enum SignedRequestError {
    Missing,
    Malformed,
    BadSignature,
    Algorithm,
    NoUser,
}

impl std::fmt::Display for SignedRequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignedRequestError::Missing => "signed_request is missing",
            SignedRequestError::Malformed => {
                "signed_request is not <base64url signature>.<base64url JSON payload>"
            }
            SignedRequestError::BadSignature => {
                "signed_request's signature does not match this app's secret"
            }
            SignedRequestError::Algorithm => "signed_request's algorithm is not HMAC-SHA256",
            SignedRequestError::NoUser => "signed_request's payload names no user_id",
        })
    }
}

#[derive(Deserialize)]
struct Payload {
    algorithm: Option<String>,
    user_id: Option<serde_json::Value>,
}

/// Checks a `signed_request` (HMAC-SHA256 of its payload part with the app secret, compared in
/// constant time) and answers the app-scoped id it names.
pub fn verify_signed_request(
    app_secret: &crate::secrets::Secret,
    signed_request: &str,
) -> Result<String, SignedRequestError> {
    let (signature, payload) = signed_request
        .trim()
        .split_once('.')
        .ok_or(SignedRequestError::Malformed)?;
    // Meta's base64url comes without padding; tolerate it with.
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| SignedRequestError::Malformed)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| SignedRequestError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| SignedRequestError::Malformed)?;
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|_| SignedRequestError::Malformed)?;
    if !payload
        .algorithm
        .is_some_and(|a| a.eq_ignore_ascii_case("HMAC-SHA256"))
    {
        return Err(SignedRequestError::Algorithm);
    }
    match payload.user_id {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(id),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(SignedRequestError::NoUser),
    }
}

#[derive(Deserialize)]
struct CallbackForm {
    signed_request: Option<String>,
}

/// Meta's Data Deletion Request Callback: erase, record, answer `{url, confirmation_code}`.
async fn callback(State(state): State<AppState>, Form(form): Form<CallbackForm>) -> Response {
    let verified = form
        .signed_request
        .filter(|s| !s.trim().is_empty())
        .ok_or(SignedRequestError::Missing)
        .and_then(|s| verify_signed_request(&state.settings.facebook.app_secret, &s));
    let asid = match verified {
        Ok(asid) => asid,
        Err(e) => {
            tracing::warn!(problem = %e, "data deletion request refused");
            let status = match e {
                SignedRequestError::BadSignature => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            return (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response();
        }
    };
    let done = async {
        let erased = super::erasure::erase_app_user(&state, &asid).await?;
        record(&state.db, Origin::Facebook, &erased.summary()).await
    }
    .await;
    match done {
        Ok(code) => Json(serde_json::json!({
            "url": status_url(&state.settings, &code),
            "confirmation_code": code,
        }))
        .into_response(),
        Err(e) => {
            // Meta retries a request that fails: nothing is recorded as done.
            tracing::error!(error = %e, "data deletion request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": "the deletion could not be completed; try again" })),
            )
                .into_response()
        }
    }
}

async fn status_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, crate::error::AppError> {
    let well_formed = code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit());
    let request = if well_formed {
        find(&state.db, &code).await?
    } else {
        None
    };
    let Some(request) = request else {
        return Err(crate::error::AppError::page(
            StatusCode::NOT_FOUND,
            "No such deletion request",
            "This confirmation code names no deletion request. Check the link you were given.",
        ));
    };
    let when = crate::campaigns::store::time_in(
        "UTC",
        request.completed_at.unwrap_or(request.requested_at),
        "%B %-d, %Y at %H:%M UTC",
    );
    let asked = match request.origin {
        Origin::Facebook => "You asked Facebook to have this app delete your data.",
        Origin::Messenger => "You asked a Page on Messenger to delete your data.",
        Origin::Admin => "The organiser of a giveaway erased your data at your request.",
    };
    let state_line = match request.completed_at {
        Some(_) => format!("Done on {when}."),
        None => "In progress.".to_string(),
    };
    let summary = request.summary;
    let html = render_page(move || {
        view! {
            <Document title="Your deletion request".to_string() body_class="entry">
                <main>
                    <article class="card" data-testid="deletion-status">
                        <h1>"Your deletion request"</h1>
                        <p>{asked}</p>
                        <p data-testid="deletion-state">{state_line}</p>
                        <p data-testid="deletion-summary">{summary}</p>
                        <p class="muted">{format!("Confirmation code: {code}")}</p>
                    </article>
                </main>
            </Document>
        }
    });
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn signed(secret: &str, payload: &str) -> String {
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(payload.as_bytes());
        format!(
            "{}.{payload}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn a_signed_request_is_checked_before_its_user_is_read() {
        let secret = Secret::new("app-secret");
        let good = signed(
            "app-secret",
            r#"{"algorithm":"HMAC-SHA256","issued_at":1,"user_id":"10001"}"#,
        );
        assert_eq!(verify_signed_request(&secret, &good), Ok("10001".into()));
        let forged = signed(
            "other-secret",
            r#"{"algorithm":"HMAC-SHA256","issued_at":1,"user_id":"10001"}"#,
        );
        assert_eq!(
            verify_signed_request(&secret, &forged),
            Err(SignedRequestError::BadSignature)
        );
        let other_algorithm = signed("app-secret", r#"{"algorithm":"MD5","user_id":"1"}"#);
        assert_eq!(
            verify_signed_request(&secret, &other_algorithm),
            Err(SignedRequestError::Algorithm)
        );
        let no_user = signed("app-secret", r#"{"algorithm":"HMAC-SHA256"}"#);
        assert_eq!(
            verify_signed_request(&secret, &no_user),
            Err(SignedRequestError::NoUser)
        );
        for junk in ["", "abc", "a.b.c", "!!.??"] {
            assert!(verify_signed_request(&secret, junk).is_err(), "{junk}");
        }
    }
}
