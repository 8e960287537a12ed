//! The HTML of the entry page, its framable twin and an entry's own page: Leptos components
//! rendered to a string on the server (no hydration, no wasm), so every text an organiser typed
//! is escaped by construction. The handlers in [`super::page`] work out what to show
//! ([`Campaign`], [`Action`]); these components only lay it out.
//!
//! The one script, `public/entry.js` (countdown, live entry status, iframe height), is inlined:
//! the page a viral campaign sends everyone to costs no second request. The content security
//! policy allows it by the hash of the very text served ([`inline_script_hashes`]).

use crate::html::{render_page, Document};
use leptos::prelude::*;
use std::sync::LazyLock;

/// The script as served: `public/entry.js` without its comment lines and indentation (its
/// comments are for its readers; a line break stays a line break, so the code is unchanged).
static SCRIPT: LazyLock<String> = LazyLock::new(|| {
    include_str!("../../../public/entry.js")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
});

/// The CSP sources (`sha256-...`) of the inline scripts these pages carry: the only scripts the
/// public pages' content security policy lets run. Worked out from the text served, once.
pub fn inline_script_hashes() -> &'static [String] {
    use base64::Engine as _;
    use sha2::Digest as _;
    static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
        let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
        vec![format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )]
    });
    &HASHES
}

/// What the page shows of a campaign.
pub(crate) struct Campaign {
    pub title: String,
    pub page_name: String,
    /// An http(s) or same-site address; anything else is not shown.
    pub image_url: Option<String>,
    /// Empty when the organiser named no prize.
    pub prize: String,
    pub description: String,
    /// While the campaign is live: its end as people read it, and as milliseconds for the script.
    pub ends: Option<(String, i64)>,
    /// Empty when there are no rules.
    pub rules: String,
    /// Who may enter, in a sentence (age, residence), when the campaign says.
    pub eligibility: Option<String>,
    /// The campaign's rules page.
    pub rules_url: String,
    /// SHA-256 of the draw's secret seed, fixed at publish (`winners`).
    pub draw_commitment: Option<String>,
    /// The public results page.
    pub results_url: String,
    /// Inside the widget's iframe.
    pub embed: bool,
}

/// What a visitor can do (or has done), under the campaign.
pub(crate) enum Action {
    /// Messenger confirmed the entry; its public ticket in the draw.
    Entered {
        ticket: Option<String>,
    },
    /// An entry waits for its Get Started in Messenger.
    Pending {
        /// The entry's `.../status`, polled by the script.
        status_url: String,
        /// The m.me link with the entry's ref.
        messenger_link: String,
        /// The same link as a QR code (SVG made by the `qrcode` crate from our own link).
        qr_svg: String,
        fallback_code: String,
        /// How long the code still works (`FALLBACK_CODE_HOURS` from the entry), in ms.
        code_ms_left: i64,
        /// The entry's own page.
        check_again: String,
    },
    /// The Subscribe form.
    Enter {
        /// Where it posts.
        action: String,
        /// Inside the widget, for a campaign that requires a login: Facebook's dialog cannot be
        /// framed, so the form opens the full page in a new tab.
        new_tab: bool,
        /// The campaign requires a Facebook login first.
        login_first: bool,
        /// The entrant ticks "I accept the rules" first.
        consent_checkbox: bool,
    },
    /// Not open yet: when it opens, as people read it.
    NotStarted(String),
    Ended,
}

/// The whole page, as HTML.
pub(crate) fn entry_page(campaign: Campaign, action: Action) -> String {
    render_page(move || view! { <EntryPage campaign=campaign action=action/> })
}

#[component]
fn EntryPage(campaign: Campaign, action: Action) -> impl IntoView {
    let Campaign {
        title,
        page_name,
        image_url,
        prize,
        description,
        ends,
        rules,
        eligibility,
        rules_url,
        draw_commitment,
        results_url,
        embed,
    } = campaign;
    let body_class = if embed { "entry embed" } else { "entry" };
    let image = image_url.map(|src| view! { <img class="campaign-image" src=src alt=""/> });
    let prize = (!prize.trim().is_empty())
        .then(|| view! { <p class="prize">"Prize: "<strong>{prize}</strong></p> });
    let countdown = ends.map(|(when, ms)| {
        view! { <p class="countdown">{format!("Ends {when} · ")}<span data-ends=ms.to_string()></span></p> }
    });
    let rules = (!rules.trim().is_empty()).then(|| {
        view! {
            <details class="rules">
                <summary>"Rules"</summary>
                <p>{lines(&rules)}</p>
            </details>
        }
    });
    let eligibility =
        eligibility.map(|text| view! { <p class="muted" data-testid="eligibility">{text}</p> });
    let [runs, release] = facebook_statements(&page_name);
    let statements = view! {
        <p class="muted statements" data-testid="facebook-statements">
            {runs}" "{release}" "
            <a href=rules_url.clone() target=embed.then_some("_blank") data-testid="rules-link">"Official rules"</a>
        </p>
    };
    // Shown from publication on, so that anyone can check later that the draw used the seed
    // fixed before the first entry.
    let draw = draw_commitment.map(|commitment| {
        view! {
            <p class="muted draw-commitment">
                "Draw commitment (SHA-256 of the draw's secret seed, fixed when this giveaway was published): "
                <code data-testid="draw-commitment">{commitment}</code>" · "
                <a href=results_url target=embed.then_some("_blank") data-testid="results-link">"Results"</a>
            </p>
        }
    });
    view! {
        <Document title=title.clone() body_class=body_class>
            <main>
                <article class="card campaign">
                    <p class="muted">{page_name.clone()}</p>
                    <h1>{title}</h1>
                    {image}
                    {prize}
                    <p class="lead">{lines(&description)}</p>
                    {countdown}
                    {eligibility}
                    <EntryAction action=action page_name=page_name embed=embed rules_url=rules_url/>
                    {rules}
                    {statements}
                    {draw}
                </article>
            </main>
            <script>{SCRIPT.as_str()}</script>
        </Document>
    }
}

#[component]
fn EntryAction(action: Action, page_name: String, embed: bool, rules_url: String) -> impl IntoView {
    match action {
        Action::Entered { ticket } => view! {
            <section class="entry-state entered" data-testid="entry-state" data-state="entered">
                <h2>"You're entered! ✓"</h2>
                <p>
                    {format!(
                        "{page_name} will message you on Messenger when the giveaway ends. Good luck!",
                    )}
                </p>
                {ticket.map(|ticket| view! {
                    <p>"Your ticket in the draw: "<code class="code" data-testid="ticket">{ticket}</code></p>
                })}
            </section>
        }
        .into_any(),
        Action::Pending {
            status_url,
            messenger_link,
            qr_svg,
            fallback_code,
            code_ms_left,
            check_again,
        } => view! {
            <section
                class="entry-state"
                data-testid="entry-state"
                data-state="pending"
                data-status-url=status_url
            >
                <h2>"One more step"</h2>
                <p>"Open Messenger and tap "<strong>"Get Started"</strong>" to finish your entry."</p>
                <p>
                    <a
                        class="button messenger"
                        data-testid="open-messenger"
                        href=messenger_link
                        target=embed.then_some("_blank")
                        rel=embed.then_some("noopener")
                    >
                        "Open Messenger"
                    </a>
                </p>
                <details class="qr">
                    <summary>"On a computer? Scan with your phone"</summary>
                    <div inner_html=qr_svg></div>
                </details>
                {if code_ms_left > 0 {
                    view! {
                        <p class="muted">
                            {format!("Messenger didn't pick it up? Send this code to {page_name} in Messenger: ")}
                            // Built by hand to keep the test id the last attribute, as it always was
                            // (`view!` puts `class` last), for whoever reads the code out of the HTML.
                            {leptos::html::code()
                                .attr("class", "code")
                                .attr("data-testid", "fallback-code")
                                .child(fallback_code)}
                            <span data-testid="code-lifetime">{code_lifetime(code_ms_left)}</span>
                        </p>
                    }.into_any()
                } else {
                    // A code past its lifetime is refused in Messenger: showing it would only
                    // send the person to a dead end.
                    view! {
                        <p class="muted" data-testid="code-expired">
                            "This entry's code has expired: use the Messenger button above."
                        </p>
                    }.into_any()
                }}
                <p>
                    <a href=check_again data-testid="check-again">"Check again"</a>
                </p>
            </section>
        }
        .into_any(),
        Action::Enter {
            action,
            new_tab,
            login_first,
            consent_checkbox,
        } => {
            let rules_target = embed.then_some("_blank");
            // Entering means accepting the rules: said next to the button, or asked by a box
            // the form cannot be sent without (the server checks it too).
            let consent = if consent_checkbox {
                view! {
                    <label class="check consent">
                        <input type="checkbox" name="accept" value="yes" required data-testid="accept-rules"/>
                        " I accept the "
                        <a href=rules_url target=rules_target>"official rules"</a>
                        " and meet their eligibility conditions."
                    </label>
                }
                .into_any()
            } else {
                view! {
                    <p class="muted consent" data-testid="consent-note">
                        "By tapping Subscribe on Messenger you accept the "
                        <a href=rules_url target=rules_target>"official rules"</a>
                        " and confirm you meet their eligibility conditions."
                    </p>
                }
                .into_any()
            };
            let note = login_first.then(|| {
                let text = if new_tab {
                    "You'll log in with Facebook first, in a new tab."
                } else {
                    "You'll log in with Facebook first."
                };
                view! { <p class="muted">{text}</p> }
            });
            view! {
                <form method="post" action=action target=new_tab.then_some("_blank") class="enter-form">
                    <label class="hp" aria-hidden="true">
                        "Leave this empty "
                        <input name="website" tabindex="-1" autocomplete="off"/>
                    </label>
                    {consent}
                    <button type="submit" class="messenger" data-testid="subscribe">
                        "Subscribe on Messenger"
                    </button>
                    {note}
                </form>
            }
            .into_any()
        }
        Action::NotStarted(opens) => view! {
            <p class="notice" data-testid="entry-state" data-state="not-started">
                {format!("This giveaway opens on {opens}.")}
            </p>
        }
        .into_any(),
        Action::Ended => view! {
            <p class="notice" data-testid="entry-state" data-state="ended">
                "This giveaway has ended. Entries are closed."
            </p>
        }
        .into_any(),
    }
}

/// Meta's two statements every promotion on a Page must carry (facts file §10), with the Page's
/// name: who runs it and that Facebook does not, and the entrant's release of Facebook.
pub(crate) fn facebook_statements(page_name: &str) -> [String; 2] {
    [
        format!(
            "This giveaway is run by {page_name}. It is in no way sponsored, endorsed or \
             administered by, or associated with, Facebook."
        ),
        format!(
            "By entering, each entrant completely releases Facebook from any responsibility \
             for this giveaway; questions go to {page_name}, not to Facebook."
        ),
    ]
}

/// Who may enter, in a sentence, from the campaign's minimum age and countries.
pub(crate) fn eligibility(min_age: Option<i64>, countries: &str) -> Option<String> {
    let countries: Vec<&str> = countries.split(',').filter(|c| !c.is_empty()).collect();
    let age = min_age.map(|age| format!("aged {age} or over"));
    let place = (!countries.is_empty()).then(|| format!("living in {}", countries.join(", ")));
    match (age, place) {
        (None, None) => None,
        (Some(a), None) => Some(format!("Open to people {a}.")),
        (None, Some(p)) => Some(format!("Open to people {p}.")),
        (Some(a), Some(p)) => Some(format!("Open to people {a} {p}.")),
    }
}

/// A campaign's official rules page (`/c/{slug}/rules`): everything an entrant accepts, on a
/// page of its own that can be linked and printed.
pub(crate) struct RulesPage {
    pub title: String,
    pub page_name: String,
    pub prize: String,
    pub runs: String,
    pub eligibility: Option<String>,
    pub rules: String,
    pub draw_commitment: Option<String>,
    pub entry_url: String,
    pub results_url: String,
}

pub(crate) fn rules_page(page: RulesPage) -> String {
    let RulesPage {
        title,
        page_name,
        prize,
        runs,
        eligibility,
        rules,
        draw_commitment,
        entry_url,
        results_url,
    } = page;
    let [statement, release] = facebook_statements(&page_name);
    render_page(move || {
        view! {
            <Document title=format!("Official rules: {title}") body_class="entry">
                <main>
                    <article class="card rules-page" data-testid="rules-page">
                        <p class="muted">{page_name.clone()}</p>
                        <h1>{format!("Official rules: {title}")}</h1>
                        <p>{format!("Organiser: {page_name}. {runs}")}</p>
                        {(!prize.trim().is_empty()).then(|| view! { <p>"Prize: "<strong>{prize}</strong></p> })}
                        <h2>"Who may enter"</h2>
                        <p data-testid="rules-eligibility">{eligibility.unwrap_or_else(|| "Anyone who can use Messenger may enter, once.".into())}</p>
                        <h2>"Rules"</h2>
                        <p data-testid="rules-text">{lines(&rules)}</p>
                        <h2>"Facebook"</h2>
                        <p data-testid="rules-statements">{statement}" "{release}</p>
                        <h2>"The draw"</h2>
                        <p>
                            "Winners are drawn at random from the tickets of confirmed entries, in a way anyone can check on the "
                            <a href=results_url>"results page"</a>"."
                            {draw_commitment.map(|c| view! { " Commitment: "<code>{c}</code> })}
                        </p>
                        <p><a href=entry_url>"Back to the giveaway"</a></p>
                    </article>
                </main>
            </Document>
        }
    })
}

/// The organiser's text with its line breaks kept (as `<br>`, the text itself escaped).
fn lines(text: &str) -> impl IntoView {
    let mut lines = text.split('\n').map(str::to_owned);
    let first = lines.next().unwrap_or_default();
    let rest = lines.map(|line| view! { <br/>{line} }).collect::<Vec<_>>();
    view! { {first}{rest} }
}

/// How long the fallback code still works, said as a person would.
fn code_lifetime(ms_left: i64) -> String {
    match ms_left / 3_600_000 {
        0 => " (it works for less than an hour more).".to_string(),
        1 => " (it works for 1 more hour).".to_string(),
        h => format!(" (it works for {h} more hours)."),
    }
}
