//! `/privacy`: the privacy policy Meta's app review asks for (facts file §10), built from the
//! settings so that it says what this deployment actually keeps, for how long, and whom to ask.
//! Server-rendered like the other public pages, linked from each of them (`html::Document`).

pub mod deletion;
pub mod erasure;

use crate::html::{render_page, Document};
use crate::state::AppState;
use axum::{extract::State, response::Html, routing::get, Router};
use leptos::prelude::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(privacy_page))
        .merge(deletion::routes())
}

pub const PATH: &str = "/privacy";

async fn privacy_page(State(state): State<AppState>) -> Html<String> {
    let settings = &state.settings;
    let policy = Policy {
        operator: settings
            .operator_name
            .clone()
            .unwrap_or_else(|| "The organiser who runs this site".into()),
        contact: settings.operator_contact.clone(),
        retention_days: settings.retention_ms / 86_400_000,
        stop_words: settings.opt_out_words.join(", "),
        deletion_keyword: settings.deletion_keyword.clone(),
    };
    Html(render_page(move || view! { <PrivacyPage policy/> }))
}

/// What the page says, from the settings.
struct Policy {
    operator: String,
    contact: Option<String>,
    retention_days: i64,
    stop_words: String,
    deletion_keyword: String,
}

#[component]
fn PrivacyPage(policy: Policy) -> impl IntoView {
    let Policy {
        operator,
        contact,
        retention_days,
        stop_words,
        deletion_keyword,
    } = policy;
    let ask = match contact {
        Some(contact) => view! {
            <p data-testid="privacy-contact">"To ask what we hold about you, or to have it deleted, write to "
                <strong>{contact}</strong>"."</p>
        }
        .into_any(),
        None => view! {
            <p data-testid="privacy-contact">"To ask what we hold about you, or to have it deleted, write to the Facebook Page that ran the giveaway, on Messenger."</p>
        }
        .into_any(),
    };
    view! {
        <Document title="Privacy".to_string() body_class="entry">
            <main>
                <article class="card" data-testid="privacy">
                    <h1>"Privacy"</h1>
                    <p data-testid="privacy-operator">{operator}" runs the giveaways on this site. This page says what is kept about you, why, for how long, and how to stop it."</p>
                    <h2>"What is kept, and why"</h2>
                    <ul>
                        <li>"When you enter through Messenger: the id Messenger gives you for the Page (it means nothing elsewhere), and, when Facebook shares them, your first name and the initial of your last name, to greet you and to name winners on the results."</li>
                        <li>"Your entry: the giveaway, when you entered, your ticket in the draw, and whether you were drawn and claimed your prize."</li>
                        <li>"The messages the Page sent you about the giveaway, and whether they were delivered and read."</li>
                        <li>"What you write to the Page, only to understand it (an entry code, a keyword, CLAIM, STOP)."</li>
                        <li>"If a giveaway asks you to log in with Facebook: the id Facebook gives this app for you, nothing else."</li>
                        <li data-testid="privacy-handoff">"If the Page's organiser connects their own tools (their Messenger chatbot, for one), they are told when you enter, tap a keyword, send STOP or claim a prize, with your Messenger id for the Page and your first name, so that their chatbot can answer you in the same conversation."</li>
                    </ul>
                    <p>"Nothing is sold, nor shared beyond the organiser's own tools, and no advertising or tracking cookie is set (a giveaway's page keeps one cookie, to show you your own entry when you come back)."</p>
                    <h2>"For how long"</h2>
                    <p data-testid="privacy-retention">{format!(
                        "What you write to the Page, the text of the messages it sent you, and the copies kept of what was passed to the organiser's tools are erased {retention_days} days after they were handled. Your entry is kept while the organiser keeps the giveaway, so that the draw can be checked."
                    )}</p>
                    <h2>"Stopping messages"</h2>
                    <p data-testid="privacy-stop">{format!(
                        "Send {stop_words} to the Page on Messenger: you get one confirmation, then no more giveaway messages from that Page until you write to it again or send START."
                    )}</p>
                    <h2>"Deletion"</h2>
                    <p data-testid="privacy-deletion-keyword">{format!(
                        "Send {deletion_keyword} to the Page on Messenger: everything kept about you for that Page is erased at once (your id, name, entries and keywords, what you wrote), and the answer links a page that says what was erased. A ticket already drawn stays on the public results as the ticket alone."
                    )}</p>
                    <p data-testid="privacy-deletion-facebook">"If you logged in here with Facebook: remove this app in your Facebook settings (Apps and Websites) and ask for your data to be deleted. Facebook tells us, and we erase your entries and any organiser account; Facebook shows you a link to a page that says what was erased."</p>
                    {ask}
                </article>
            </main>
        </Document>
    }
}
