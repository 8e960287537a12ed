//! Admins: the people who log in with Facebook to run campaigns for Pages they moderate.

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod rights;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// An admin as pages see it. Holds no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Admin {
    pub id: String,
    pub facebook_user_id: String,
    pub name: String,
}

/// Who is signed in, or `None`.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Admin>, AppError> {
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    let Some(id) = auth::admin_id(&session).await else {
        return Ok(None);
    };
    let state = expect_context::<crate::state::AppState>();
    Ok(store::find(&state.db, &id).await?)
}

/// Explains what each permission is for, in the admin's words.
fn permission_purpose(permission: &str) -> &'static str {
    match permission {
        "pages_show_list" => "to list the Pages you manage",
        "pages_manage_metadata" => "to subscribe your Page to Messenger events",
        "pages_messaging" => "to send the confirmation and end-of-campaign messages",
        "business_management" => "to find Pages your business portfolio holds",
        "pages_utility_messaging" => {
            "to reach entrants after 24 hours with an approved utility message (optional)"
        }
        _ => "needed by the product",
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let missing = move || {
        query.with(|q| {
            q.get("missing")
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let cancelled = move || query.with(|q| q.get("cancelled").is_some());
    view! {
        <section class="card login">
            <h1>"Log in"</h1>
            <Show when=cancelled>
                <p class="notice" data-testid="login-cancelled">
                    "You cancelled the Facebook login. Nothing was changed."
                </p>
            </Show>
            <Show
                when=move || !missing().is_empty()
                fallback=|| {
                    view! {
                        <p>"Run giveaways for the Facebook Pages you moderate."</p>
                        // rel=external: a server route, not a client-side one, for the hydrated router.
                        <a class="button" href="/auth/facebook" rel="external" data-testid="continue-with-facebook">
                            "Continue with Facebook"
                        </a>
                    }
                }
            >
                <div class="notice" data-testid="missing-permissions">
                    <p>"The product cannot work without these permissions, which were declined:"</p>
                    <ul>
                        {move || {
                            missing()
                                .into_iter()
                                .map(|p| {
                                    let why = permission_purpose(&p);
                                    view! { <li><code>{p}</code>" — "{why}</li> }
                                })
                                .collect_view()
                        }}
                    </ul>
                </div>
                <a class="button" href="/auth/facebook?rerequest=1" rel="external" data-testid="ask-again">
                    "Ask again"
                </a>
            </Show>
        </section>
    }
}

#[component]
pub fn AdminHome() -> impl IntoView {
    let admin = crate::loading::load(|| (), |_| whoami());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                admin
                    .get()
                    .map(|result| match result {
                        Ok(Some(admin)) => {
                            view! {
                                <section class="card">
                                    <h1 data-testid="admin-name">{format!("Hello, {}", admin.name)}</h1>
                                    <form method="post" action="/auth/logout">
                                        <button type="submit" data-testid="logout">"Log out"</button>
                                    </form>
                                </section>
                                <crate::alerts::AlertsPanel/>
                                <crate::pages::PagesPanel/>
                                <crate::campaigns::CampaignList/>
                            }
                                .into_any()
                        }
                        Ok(None) => {
                            view! {
                                <section class="card">
                                    <h1>"You are not logged in"</h1>
                                    <a class="button" href="/login">"Log in"</a>
                                </section>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
