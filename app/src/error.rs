//! The one error type of the server functions: what the person is told, and (on the server) the
//! HTTP status that goes with it. Detail for the operator is logged once where the error is made;
//! the browser only ever gets a sentence meant for it, never a database's or a library's text.
//!
//! It travels as JSON (`FromServerFnError`), so its `Display` is the sentence itself: the pages
//! show `error.to_string()` as it is, without the "error running server function:" that Leptos's
//! own `ServerFnError` puts in front. The routes that are not server functions (the public pages,
//! the results, the entrant's login) answer with the same type: as a response it is the public
//! problem page, a heading and the sentence.

use leptos::server_fn::{codec::JsonEncoding, error::FromServerFnError, error::ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "Wire", from = "Wire")]
pub enum AppError {
    /// 401: no admin session.
    #[error("You are not logged in.")]
    NotLoggedIn,
    /// A refusal the person can act on (403 not theirs, 404, 409, 502 Facebook refused, …),
    /// with its status and a sentence safe to show; a public page also gives it a heading.
    #[error("{message}")]
    Refused {
        status: u16,
        message: String,
        title: Option<String>,
    },
    /// 500: something broke on the server; the detail is in the server's log.
    #[error("The server could not complete this request.")]
    Internal,
    /// The request or its answer did not travel (network, encoding).
    #[error("The server could not be reached ({0}). Check the connection and try again.")]
    Transport(String),
}

/// How an error travels: its kind, its status and the sentence, so that any client (and a
/// person reading the response) gets the words, not only a variant's name.
#[derive(Clone, Serialize, Deserialize)]
struct Wire {
    kind: String,
    status: u16,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
}

impl From<AppError> for Wire {
    fn from(e: AppError) -> Wire {
        let message = match &e {
            AppError::Transport(inner) => inner.clone(),
            other => other.to_string(),
        };
        let (kind, status, title) = match &e {
            AppError::NotLoggedIn => ("not_logged_in", 401, None),
            AppError::Refused { status, title, .. } => ("refused", *status, title.clone()),
            AppError::Internal => ("internal", 500, None),
            AppError::Transport(_) => ("transport", 0, None),
        };
        Wire {
            kind: kind.into(),
            status,
            message,
            title,
        }
    }
}

impl From<Wire> for AppError {
    fn from(w: Wire) -> AppError {
        match w.kind.as_str() {
            "not_logged_in" => AppError::NotLoggedIn,
            "internal" => AppError::Internal,
            "transport" => AppError::Transport(w.message),
            _ => AppError::Refused {
                status: w.status,
                message: w.message,
                title: w.title,
            },
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // What the server itself refused before the function ran (a missing argument).
            ServerFnErrorErr::ServerError(message) | ServerFnErrorErr::Args(message) => {
                AppError::Refused {
                    status: 400,
                    message,
                    title: None,
                }
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// A refusal with its status, set on the response when there is one to set.
    pub fn refused(status: http::StatusCode, message: impl Into<String>) -> AppError {
        set_status(status);
        AppError::Refused {
            status: status.as_u16(),
            message: message.into(),
            title: None,
        }
    }

    /// A public page's refusal: the heading of the problem page and the sentence under it.
    pub fn page(status: http::StatusCode, title: &str, detail: &str) -> AppError {
        AppError::Refused {
            status: status.as_u16(),
            message: detail.into(),
            title: Some(title.into()),
        }
    }

    pub fn not_logged_in() -> AppError {
        set_status(http::StatusCode::UNAUTHORIZED);
        AppError::NotLoggedIn
    }

    /// Logs the detail once, here; the browser is told only that something failed.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "request failed");
        set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
fn set_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// As the answer of a route that is not a server function: the public problem page.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use http::StatusCode;
        let (status, title, detail) = match self {
            AppError::NotLoggedIn => (
                StatusCode::UNAUTHORIZED,
                "Log in first".to_string(),
                "This page is for the giveaway's admins.".to_string(),
            ),
            AppError::Refused {
                status,
                message,
                title,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                let title = title.unwrap_or_else(|| "This did not work".into());
                (status, title, message)
            }
            AppError::Internal | AppError::Transport(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong".to_string(),
                "Please try again in a moment.".to_string(),
            ),
        };
        crate::html::problem_page(status, &title, &detail, None)
    }
}

/// A database failure is the server's, never the person's.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        AppError::internal(e)
    }
}

/// Extractors in server functions (the session) fail only when the server is miswired.
#[cfg(feature = "ssr")]
impl From<ServerFnErrorErr> for AppError {
    fn from(e: ServerFnErrorErr) -> AppError {
        AppError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_with_their_sentence_and_come_back_the_same() {
        for error in [
            AppError::NotLoggedIn,
            AppError::Refused {
                status: 403,
                message: "You no longer manage Sunny Bakery on Facebook.".into(),
                title: None,
            },
            AppError::Refused {
                status: 404,
                message: "The link may be mistyped, or the giveaway is not published.".into(),
                title: Some("No such giveaway".into()),
            },
            AppError::Internal,
            AppError::Transport("connection reset".into()),
        ] {
            let wire = serde_json::to_string(&error).unwrap();
            if !matches!(error, AppError::Transport(_)) {
                assert!(wire.contains(&error.to_string()), "{wire}");
            }
            assert_eq!(serde_json::from_str::<AppError>(&wire).unwrap(), error);
        }
        // The person reads the sentence alone, without a technical prefix.
        assert_eq!(AppError::NotLoggedIn.to_string(), "You are not logged in.");
    }
}
