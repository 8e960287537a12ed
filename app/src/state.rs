//! What every server-side request handler can reach: handed to axum as state and to Leptos pages
//! and server functions as context (`expect_context::<AppState>()`).

use crate::{db::Db, secrets::TokenCipher, settings::Settings};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub token_cipher: TokenCipher,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
