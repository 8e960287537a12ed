//! Meta's Data Deletion Request Callback, as Facebook sends it when a person removes the app
//! and asks for their data to be deleted (facts file §10): a form POST of `signed_request`
//! (`<base64url HMAC-SHA256 of the payload part, keyed with the app secret>.<base64url JSON
//! {algorithm, issued_at, user_id}>`) to the app's callback URL, whose JSON answer
//! (`{url, confirmation_code}`) Facebook shows the person as a link.
//!
//! `/sandbox/deletion` plays the person (a button per user); `POST
//! /sandbox/control/users/{user}/deletion` does the same for tests.

use crate::{esc, page_shell, real_now_ms, Shared};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The app's callback: the product's `/facebook/data-deletion`, beside its webhook.
fn callback_url(sb: &Shared) -> String {
    let mut url = sb.config.webhook_url.clone();
    url.set_path("/facebook/data-deletion");
    url.set_query(None);
    url.to_string()
}

/// A `signed_request` naming `user_id`, signed with the app secret.
pub fn signed_request(app_secret: &str, user_id: &str, issued_at_s: i64) -> String {
    let payload = URL_SAFE_NO_PAD.encode(
        json!({ "algorithm": "HMAC-SHA256", "issued_at": issued_at_s, "user_id": user_id })
            .to_string(),
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    format!(
        "{}.{payload}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Sends the request for `user` (key or app-scoped id): the app's status and answer.
async fn send(sb: &Shared, user: &str) -> Result<(u16, Value), (StatusCode, String)> {
    let asid = {
        let st = sb.lock();
        let Some(u) = st.world.user(user) else {
            return Err((StatusCode::NOT_FOUND, format!("no user `{user}`")));
        };
        st.world.asid(&u.key)
    };
    let form = [(
        "signed_request",
        signed_request(sb.config.app_secret.expose(), &asid, real_now_ms() / 1000),
    )];
    let answer = reqwest::Client::new()
        .post(callback_url(sb))
        .form(&form)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| {
            (
                StatusCode::BAD_GATEWAY,
                format!("the app did not answer: {e}"),
            )
        })?;
    let status = answer.status().as_u16();
    let body = answer
        .json::<Value>()
        .await
        .unwrap_or_else(|_| json!({ "error": "the app's answer is not JSON" }));
    Ok((status, body))
}

/// `POST /sandbox/control/users/{user}/deletion`: `{status, answer}`.
pub async fn control(State(sb): State<Shared>, Path(user): Path<String>) -> Response {
    match send(&sb, &user).await {
        Ok((status, answer)) => Json(json!({ "status": status, "answer": answer })).into_response(),
        Err((code, error)) => (code, Json(json!({ "error": error }))).into_response(),
    }
}

/// `GET /sandbox/deletion`: Facebook's "Apps and websites" settings, reduced to one button.
pub async fn page(State(sb): State<Shared>) -> Html<String> {
    let users: String = {
        let st = sb.lock();
        st.world
            .users
            .iter()
            .map(|u| {
                format!(
                    r#"<li><form method="post" action="/sandbox/deletion/{key}">{name} <button type="submit" data-testid="delete-{key}">Remove the app and delete my data</button></form></li>"#,
                    key = esc(&u.key),
                    name = esc(&u.name)
                )
            })
            .collect()
    };
    Html(page_shell(
        "Apps and websites",
        &format!(
            "<h1>Apps and websites</h1><p>As a person removing this app in Facebook's settings \
             and asking for their data to be deleted: Facebook then calls the app's data deletion \
             callback.</p><ul>{users}</ul>"
        ),
    ))
}

/// `POST /sandbox/deletion/{user}`: sends the request and shows the person what Facebook would.
pub async fn request(State(sb): State<Shared>, Path(user): Path<String>) -> Response {
    let body = match send(&sb, &user).await {
        Ok((200, answer)) => {
            let url = answer["url"].as_str().unwrap_or_default();
            let code = answer["confirmation_code"].as_str().unwrap_or_default();
            format!(
                r#"<h1>Deletion requested</h1><p>The app received your request. Confirmation code: <code data-testid="confirmation-code">{}</code></p><p><a href="{}" data-testid="deletion-status-link">See the status of your request</a></p>"#,
                esc(code),
                esc(url)
            )
        }
        Ok((status, answer)) => format!(
            r#"<h1>The app refused the request</h1><p data-testid="deletion-refused">HTTP {status}: {}</p>"#,
            esc(&answer.to_string())
        ),
        Err((_, error)) => format!("<h1>Not sent</h1><p>{}</p>", esc(&error)),
    };
    Html(page_shell("Deletion request", &body)).into_response()
}
