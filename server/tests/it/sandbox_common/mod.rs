//! Shared by the sandbox tests: a booted server with fast sandbox delays, JSON helpers, and a
//! tiny webhook receiver on port 0 that records the exact bytes and headers it gets.

use crate::support::{self, App};
use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use serde_json::{json, Value};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

pub const SUNNY: &str = "101000000000001";
pub const RIVER: &str = "101000000000002";
pub const APP_ID: &str = app::settings::SANDBOX_APP_ID;
pub const APP_SECRET: &str = app::settings::SANDBOX_APP_SECRET;
pub const ALL_PAGE_SCOPES: [&str; 4] = [
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "pages_utility_messaging",
];

/// The harness's `App` (sandbox on, SQLite), seen from the sandbox's side: raw Graph and control
/// calls with their status.
pub struct Sbx {
    pub app: App,
}

impl std::ops::Deref for Sbx {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl Sbx {
    /// A real server (sandbox on) with delays shortened to a few milliseconds. Templates keep the
    /// default review (decided at creation); tests of the delayed review set their own delay.
    pub async fn start() -> Sbx {
        let app = App::start(&support::fresh_database("sqlite").await, &[]).await;
        let sbx = Sbx { app };
        let (status, _) = sbx
            .patch(
                "/settings",
                json!({
                    "delivery_delay_ms": 5,
                    "webhook_retry_initial_ms": 20,
                    "reorder_window_ms": 60,
                }),
            )
            .await;
        assert_eq!(status, 200);
        sbx
    }

    pub fn graph(&self, path: &str) -> String {
        self.server.url(&format!("/sandbox/graph/v25.0{path}"))
    }

    pub fn control(&self, path: &str) -> String {
        self.server.url(&format!("/sandbox/control{path}"))
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        let r = self.http.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, url: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(url).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, control_path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.control(control_path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn control_post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(&self.control(path), body).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    pub async fn psid(&self, user: &str, page: &str) -> String {
        let (_, world) = self.get(&self.control("/world")).await;
        let u = world["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["key"] == user)
            .unwrap()
            .clone();
        u["psids"][page].as_str().unwrap().to_string()
    }

    /// A Page token of `user` for `page`, minted through the control API with `scopes`.
    pub async fn page_token_with(&self, user: &str, page: &str, scopes: &[&str]) -> String {
        let v = self
            .control_post(
                "/tokens",
                json!({ "user": user, "page": page, "scopes": scopes }),
            )
            .await;
        v["page_access_token"].as_str().unwrap().to_string()
    }

    pub async fn page_token(&self, page: &str) -> String {
        self.page_token_with("admin", page, &ALL_PAGE_SCOPES).await
    }

    /// A JSON POST to a Graph `path` with `token`: Meta's status and answer.
    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.graph(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub async fn send(&self, token: &str, body: Value) -> (u16, Value) {
        self.post_as(token, "/me/messages", body).await
    }

    /// A text reply to `psid` with `messaging_type: RESPONSE`.
    pub async fn reply(&self, token: &str, psid: &str, text: &str) -> (u16, Value) {
        self.send(token, json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": text } }))
            .await
    }

    pub async fn act(&self, user: &str, page: &str, kind: &str, extra: Value) -> Value {
        let mut body = json!({ "user": user, "page": page, "kind": kind });
        if let Value::Object(map) = extra {
            for (k, v) in map {
                body[k] = v;
            }
        }
        self.control_post("/interactions", body).await
    }

    /// Subscribes the app to every Messenger field of `page` and gives it a Get Started button.
    pub async fn set_up_page(&self, token: &str) {
        let r = self
            .http
            .post(self.graph("/me/subscribed_apps"))
            .query(&[
                ("access_token", token),
                (
                    "subscribed_fields",
                    "messages,messaging_postbacks,messaging_referrals,message_deliveries,message_reads,messaging_optins",
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = self
            .http
            .post(self.graph("/me/messenger_profile"))
            .query(&[("access_token", token)])
            .json(&json!({ "get_started": { "payload": "GET_STARTED" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// `POST /{page}/subscribed_apps` with `fields` (comma-separated): Meta's status and body.
    pub async fn subscribe(&self, token: &str, fields: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.graph("/me/subscribed_apps"))
            .query(&[("access_token", token), ("subscribed_fields", fields)])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// `POST /{page}/message_templates` with `body`.
    pub async fn create_template(&self, token: &str, page: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.graph(&format!("/{page}/message_templates")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Waits until the sandbox has no webhook on its way (queued, being posted, or waiting on a
    /// timer): what has not arrived by then will not. Asked of the sandbox, never slept for.
    pub async fn idle(&self) {
        let url = self.control("/webhooks/pending");
        let url = url.as_str();
        crate::support::eventually("the sandbox's webhooks to be posted", || async move {
            let (status, pending) = self.get(url).await;
            assert_eq!(status, 200, "{pending}");
            pending["pending"] == 0
        })
        .await
    }

    pub async fn point_webhooks_at(&self, receiver: &Receiver) {
        let (status, v) = self
            .patch("/settings", json!({ "webhook_url": receiver.url() }))
            .await;
        assert_eq!(status, 200, "{v}");
    }
}

/// Asserts Meta's error envelope with `code` (and `subcode` when given).
pub fn assert_error(status: u16, body: &Value, code: u64, subcode: Option<u64>) {
    let e = &body["error"];
    assert_eq!(e["code"], code, "unexpected error: {body}");
    assert_eq!(e["type"], "OAuthException", "{body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        e["fbtrace_id"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match subcode {
        Some(sub) => assert_eq!(e["error_subcode"], sub, "{body}"),
        None => assert!(
            e.get("error_subcode").is_none(),
            "no subcode expected: {body}"
        ),
    }
    let expected_status = if code == 2 { 500 } else { 400 };
    assert_eq!(status, expected_status, "{body}");
}

#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct ReceiverState {
    got: Arc<Mutex<Vec<Delivery>>>,
    fail_next: Arc<AtomicUsize>,
}

/// A webhook endpoint on port 0 that stores every POST; it can refuse the next N.
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    state: ReceiverState,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let failing = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    state.got.lock().unwrap().push(Delivery { headers, body });
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = ReceiverState::default();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.got.lock().unwrap().clone()
    }

    /// Every `messaging` event received so far, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.deliveries()
            .iter()
            .flat_map(|d| {
                let v = d.json();
                v["entry"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|e| e["messaging"].as_array().cloned().unwrap_or_default())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Waits until `check` holds for the events received; returns them.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let check = &check;
        crate::support::until_some(what, || async move {
            let events = self.events();
            check(&events).then_some(events)
        })
        .await
    }

    pub async fn wait_deliveries(&self, n: usize) -> Vec<Delivery> {
        crate::support::until_some(&format!("{n} webhook deliveries"), || async move {
            let d = self.deliveries();
            (d.len() >= n).then_some(d)
        })
        .await
    }
}

pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e.get(kind).is_some()).collect()
}
