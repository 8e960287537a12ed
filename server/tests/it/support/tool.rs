//! A local HTTP receiver on port 0 playing a tool that takes webhooks: what it received, and
//! the statuses it answers.

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request the tool received.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Got {
    pub fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A tool receiving webhooks (the organiser's hand-off tool, a chat tool's incoming webhook):
/// records every POST, answers the scripted statuses in turn (then 200).
#[derive(Clone, Default)]
pub struct Tool {
    got: Arc<Mutex<Vec<Got>>>,
    replies: Arc<Mutex<VecDeque<u16>>>,
    base: String,
}

impl Tool {
    pub async fn start() -> Tool {
        async fn receive(
            State(tool): State<Tool>,
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: String,
        ) -> axum::http::StatusCode {
            tool.got.lock().unwrap().push(Got {
                path: uri.path().to_string(),
                headers,
                body,
            });
            let reply = tool.replies.lock().unwrap().pop_front().unwrap_or(200);
            axum::http::StatusCode::from_u16(reply).unwrap()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tool = Tool {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Tool::default()
        };
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(tool.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        tool
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn answer(&self, statuses: &[u16]) {
        self.replies.lock().unwrap().extend(statuses);
    }

    pub fn received(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}
