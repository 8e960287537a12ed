//! Meta's error envelope:
//! `{"error":{"message","type","code","error_subcode"?,"error_user_title"?,"error_user_msg"?,
//! "is_transient"?,"fbtrace_id"}}`, HTTP 400 unless the code says otherwise (500 for code 2).
//!
//! Codes the sandbox answers with (besides those of the facts file, which it reproduces as listed):
//! - 1 `Error validating client secret.` (wrong `client_secret` on `/oauth/access_token`)
//! - 101 wrong or missing `client_id` on `/oauth/access_token`
//! - 100 / 36007 unknown or expired authorization code; 100 / 36008 `redirect_uri` differs from the
//!   dialog's; 100 / 36009 code already used (Meta's subcodes for these cases)
//! - 104 no access token; 190 unreadable token (no subcode), 190 / 458, 460, 463, 464, 467, 492
//! - 100 / 33 unknown object, 2500 unknown path, 100 invalid `appsecret_proof`
//! - 200 missing Page task or permission (`pages_manage_metadata`), 230 missing `pages_messaging`,
//!   10 missing `pages_utility_messaging`, 1 / 1929002 a `subscribed_apps` field without its
//!   permission; template creation's codes are listed in [`super::templates`]

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: u32,
    pub subcode: Option<u32>,
    pub message: String,
    pub user_title: Option<String>,
    pub user_msg: Option<String>,
    pub transient: bool,
    /// The body's `type`: `OAuthException` unless [`GraphError::of_type`] says otherwise.
    pub kind: &'static str,
}

impl GraphError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        GraphError {
            status: StatusCode::BAD_REQUEST,
            code,
            subcode: None,
            message: message.into(),
            user_title: None,
            user_msg: None,
            transient: false,
            kind: "OAuthException",
        }
    }

    /// Another `type`, such as `GraphMethodException` for an object Graph cannot load.
    pub fn of_type(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn with_subcode(mut self, subcode: u32) -> Self {
        self.subcode = Some(subcode);
        self
    }

    pub fn user(mut self, title: &str, msg: &str) -> Self {
        self.user_title = Some(title.into());
        self.user_msg = Some(msg.into());
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// `(#100) ...`: an invalid parameter.
    pub fn param(message: impl std::fmt::Display) -> Self {
        GraphError::new(100, format!("(#100) {message}"))
    }

    pub fn transient() -> Self {
        let mut e = GraphError::new(
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .status(StatusCode::INTERNAL_SERVER_ERROR);
        e.transient = true;
        e
    }

    pub fn throttled(code: u32) -> Self {
        let message = match code {
            4 => "(#4) Application request limit reached",
            17 => "(#17) User request limit reached",
            32 => "(#32) Page request limit reached",
            80006 => {
                "(#80006) There have been too many messages sent to this Page. Please wait a while."
            }
            _ => "(#613) Calls to this api have exceeded the rate limit.",
        };
        GraphError::new(code, message)
    }

    pub fn body(&self) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": super::random_alnum(11),
        });
        if let Some(sub) = self.subcode {
            error["error_subcode"] = json!(sub);
        }
        if let Some(title) = &self.user_title {
            error["error_user_title"] = json!(title);
        }
        if let Some(msg) = &self.user_msg {
            error["error_user_msg"] = json!(msg);
        }
        if self.transient {
            error["is_transient"] = json!(true);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.code == 190 || self.code == 104 {
            let value = format!(
                "OAuth \"Facebook Platform\" \"invalid_token\" \"{}\"",
                self.message.replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}
