//! Utility templates (`/{page}/message_templates`), checked at creation with the rules Meta
//! applies on Messenger (facts file §3a), then reviewed.
//!
//! Creation needs `pages_utility_messaging` (else `(#10) Application does not have permission
//! for this action`) and refuses, with code 100:
//! - a body parameter without a sample value (subcode 2388043,
//!   `TEMPLATE_VARIABLES_MISSING_SAMPLE_VALUES`): named parameters (`parameter_format: "NAMED"`)
//!   need `example.body_text_named_params: [{"param_name","example"}]`, positional ones
//!   `example.body_text: [["v1", ...]]`, one value per parameter, on the BODY component;
//! - a body that starts or ends with a parameter (subcode 2388299). Stricter than Meta's words:
//!   whitespace and punctuation around it do not count, so `"... {{1}}."` ends with a parameter;
//! - too many parameters for the length (subcode 2388293, `PARAMS_TO_WORD_RATIO_EXCEED_LIMIT`).
//!   Meta publishes no ratio; the sandbox asks for at least [`WORDS_PER_PARAM`] fixed words
//!   (words outside parameters) per parameter;
//! - a body over 1024 characters; a `QUICK_REPLY` button (subcode 2018416), any button other
//!   than `POSTBACK`, `URL`, `PHONE_NUMBER`, and a `POSTBACK` button with an `example`;
//! - a second template with the same name and language (subcode 2388024).
//!
//! Content judged promotional (one of [`PROMOTIONAL_TERMS`] among the fixed words, whole words,
//! any case, plural `s` included) is created but rejected with `TAG_SHOULD_BE_MARKETING`.
//! Otherwise review follows `template_outcome` (with `template_rejection_reason`).
//!
//! Review: with `template_approval_delay_ms` 0 (the default) creation answers the outcome at once
//! (`APPROVED`, no webhook; `REJECTED` with a status webhook carrying the reason); with a delay it
//! answers `PENDING` and the review later sends `message_template_status_update`. Every status
//! change (`PATCH /sandbox/control/templates/...` too) is announced by that webhook when the Page
//! subscribed the app to it. [`SENDABLE`] statuses can be sent.
//!
//! `GET` lists `id`, `name`, `language` unless `fields=` asks for more (`status`, `category`,
//! `components`, `rejected_reason` — `"NONE"` unless rejected —, `parameter_format`); `name=`
//! filters. `DELETE ?hsm_id=` (or `?name=`, every language) deletes.

use super::{
    errors::GraphError,
    graph::{has_utility_permission, nonexisting, paginate, Ctx, GraphResult, Req},
    state::{State, Template},
    webhooks::{Item, Job},
    Sandbox,
};
use serde_json::{json, Map, Value};

/// Every status Meta reports for a template.
pub const STATUSES: [&str; 9] = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "FLAGGED",
    "REINSTATED",
    "IN_APPEAL",
    "PENDING_DELETION",
];

/// Statuses a template can be sent in: FLAGGED (quality warning) and REINSTATED still work.
pub const SENDABLE: [&str; 3] = ["APPROVED", "FLAGGED", "REINSTATED"];

/// Fixed words asked for per parameter (the sandbox's reading of Meta's unpublished ratio).
pub const WORDS_PER_PARAM: usize = 3;

/// Words that make a utility template promotional. "giveaway", "winner" or "ended" are not:
/// telling entrants that a giveaway they entered has ended is an update they asked for.
pub const PROMOTIONAL_TERMS: [&str; 12] = [
    "discount",
    "sale",
    "offer",
    "coupon",
    "promo",
    "deal",
    "buy",
    "shop now",
    "free",
    "% off",
    "%off",
    "limited time",
];

const FIELDS: [&str; 8] = [
    "id",
    "name",
    "language",
    "status",
    "category",
    "components",
    "rejected_reason",
    "parameter_format",
];

/// The `{{...}}` parameters of a text, in order, as written (repeats included).
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// The text without its parameters: what review reads as the template's own words.
fn fixed_text(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn fixed_word_count(text: &str) -> usize {
    fixed_text(text)
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

fn is_filler(c: char) -> bool {
    c.is_whitespace()
        || (c.is_ascii_punctuation() && c != '{' && c != '}')
        || matches!(
            c,
            '…' | '¡' | '¿' | '«' | '»' | '“' | '”' | '‘' | '’' | '–' | '—'
        )
}

fn starts_or_ends_with_param(text: &str) -> bool {
    let core = text.trim_matches(is_filler);
    core.starts_with("{{") || core.ends_with("}}")
}

/// Whether the fixed words hold a promotional term (whole words, any case, plural `s` allowed).
pub fn promotional(text: &str) -> bool {
    let fixed = fixed_text(text).to_lowercase();
    PROMOTIONAL_TERMS.iter().any(|term| {
        fixed.match_indices(term).any(|(at, _)| {
            let before = fixed[..at].chars().next_back();
            let mut after = fixed[at + term.len()..].chars();
            let mut next = after.next();
            if next == Some('s') && term.ends_with(|c: char| c.is_alphanumeric()) {
                next = after.next();
            }
            let starts_word = !term.starts_with(|c: char| c.is_alphanumeric())
                || before.is_none_or(|c| !c.is_alphanumeric());
            let ends_word = !term.ends_with(|c: char| c.is_alphanumeric())
                || next.is_none_or(|c| !c.is_alphanumeric());
            starts_word && ends_word
        })
    })
}

fn distinct(params: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in params {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// The parameters of `text` that have no sample value in `example`.
fn missing_samples(text: &str, named: bool, example: Option<&Value>) -> Vec<String> {
    let params = distinct(&placeholders(text));
    let non_empty = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
    if named {
        let given: Vec<&str> = example
            .and_then(|e| e.get("body_text_named_params"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|i| i.get("example").is_some_and(non_empty))
                    .filter_map(|i| i.get("param_name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        params
            .into_iter()
            .filter(|p| !given.contains(&p.as_str()))
            .collect()
    } else {
        let values: Vec<&Value> = example
            .and_then(|e| e.get("body_text"))
            .and_then(Value::as_array)
            .and_then(|rows| rows.first())
            .and_then(Value::as_array)
            .map(|row| row.iter().filter(|v| non_empty(v)).collect())
            .unwrap_or_default();
        params.into_iter().skip(values.len()).collect()
    }
}

/// The body rules of §3a, in the order Meta reports them.
fn check_body(text: &str, named: bool, example: Option<&Value>) -> Result<(), GraphError> {
    if text.trim().is_empty() || text.chars().count() > 1024 {
        return Err(GraphError::param(
            "Template body text must have 1 to 1024 characters",
        ));
    }
    let missing = missing_samples(text, named, example);
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|p| format!("{{{{{p}}}}}"))
            .collect::<Vec<_>>()
            .join(", ");
        let shape = if named {
            "example.body_text_named_params"
        } else {
            "example.body_text"
        };
        return Err(GraphError::param(format!(
            "Invalid parameter: template variables without sample values: {list}"
        ))
        .with_subcode(2388043)
        .user(
            "TEMPLATE_VARIABLES_MISSING_SAMPLE_VALUES",
            &format!(
                "These variables have no sample value: {list}. Add one for each in {shape} of the BODY component."
            ),
        ));
    }
    let params = placeholders(text);
    if params.is_empty() {
        return Ok(());
    }
    if starts_or_ends_with_param(text) {
        return Err(
            GraphError::param("Invalid parameter: the body starts or ends with a variable")
                .with_subcode(2388299)
                .user(
                    "Variables can't be at the start or end of the template",
                    "Variables can't be at the start or end of the template. Put fixed text before the first variable and after the last one.",
                ),
        );
    }
    let words = fixed_word_count(text);
    if words < WORDS_PER_PARAM * params.len() {
        return Err(GraphError::param(format!(
            "Invalid parameter: {} variables for {words} fixed words",
            params.len()
        ))
        .with_subcode(2388293)
        .user(
            "PARAMS_TO_WORD_RATIO_EXCEED_LIMIT",
            &format!(
                "This template has too many variables for its length ({} variables, {words} fixed words). Add fixed words (at least {WORDS_PER_PARAM} per variable) or remove variables.",
                params.len()
            ),
        ));
    }
    Ok(())
}

fn check_buttons(component: &Value) -> Result<(), GraphError> {
    let buttons = component
        .get("buttons")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(GraphError::param(
            "Template buttons must have 1 to 3 buttons",
        ));
    }
    for b in &buttons {
        let kind = b
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        match kind.as_str() {
            "QUICK_REPLY" => {
                return Err(GraphError::param("Invalid parameter: button type QUICK_REPLY")
                    .with_subcode(2018416)
                    .user(
                        "Button type not supported",
                        "QUICK_REPLY buttons can't be used in Messenger utility templates: use POSTBACK, URL or PHONE_NUMBER.",
                    ))
            }
            "POSTBACK" if b.get("example").is_some() => {
                return Err(GraphError::param(
                    "Invalid parameter: a POSTBACK button takes no example",
                )
                .user(
                    "Invalid button",
                    "Remove the example from the POSTBACK button.",
                ))
            }
            "POSTBACK" | "URL" | "PHONE_NUMBER" => {}
            other => {
                return Err(GraphError::param(format!(
                    "Invalid parameter: button type \"{other}\" must be one of POSTBACK, URL, PHONE_NUMBER"
                )))
            }
        }
    }
    Ok(())
}

fn body_text(components: &Value) -> String {
    components
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|k| k.eq_ignore_ascii_case("BODY"))
        })
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// What review decides for a template: promotional words reject it whatever the settings say.
fn verdict(st: &State, template: &Template) -> (String, Option<String>) {
    if promotional(&body_text(&template.components)) {
        return ("REJECTED".into(), Some("TAG_SHOULD_BE_MARKETING".into()));
    }
    if st.knobs.template_outcome == "REJECTED" {
        return (
            "REJECTED".into(),
            Some(st.knobs.template_rejection_reason.clone()),
        );
    }
    ("APPROVED".into(), None)
}

/// `POST /{page}/message_templates`.
pub fn create(ctx: &mut Ctx, req: &Req, page: &str, user: &str) -> GraphResult {
    if !has_utility_permission(ctx.st, user) {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        )
        .user(
            "Permission missing",
            "Creating utility templates needs the pages_utility_messaging permission.",
        ));
    }
    let name = req.params.str("name").unwrap_or_default();
    if name.is_empty()
        || name.len() > 512
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(GraphError::param("Invalid parameter").user(
            "Invalid template name",
            "Template names use lowercase letters, digits and underscores (at most 512).",
        ));
    }
    let language = match req.params.json("language") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Object(o)) => o
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    if language.is_empty() {
        return Err(GraphError::param("The parameter language is required"));
    }
    let category = req.params.str("category").unwrap_or_default();
    if category != "UTILITY" {
        return Err(GraphError::param(format!(
            "Invalid category \"{category}\": Messenger templates must be UTILITY"
        ))
        .user(
            "Unsupported category",
            "Only UTILITY templates can be sent on Messenger.",
        ));
    }
    let parameter_format = req.params.str("parameter_format");
    let named = match parameter_format.as_deref() {
        None | Some("POSITIONAL") => false,
        Some("NAMED") => true,
        Some(other) => {
            return Err(GraphError::param(format!(
                "Param parameter_format must be one of {{POSITIONAL, NAMED}} - got \"{other}\""
            )))
        }
    };
    let components = req.params.json("components").unwrap_or(Value::Null);
    let Some(list) = components.as_array() else {
        return Err(GraphError::param("The parameter components is required"));
    };
    let mut body = None;
    for c in list {
        let kind = c
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        match kind.as_str() {
            "BODY" => body = Some(c),
            "HEADER" | "FOOTER" => {}
            "BUTTONS" => check_buttons(c)?,
            _ => {
                return Err(GraphError::param(format!(
                    "Invalid component type \"{kind}\""
                )))
            }
        }
    }
    let Some(body) = body else {
        return Err(GraphError::param("A template needs a BODY component"));
    };
    let text = body.get("text").and_then(Value::as_str).unwrap_or("");
    check_body(text, named, body.get("example"))?;
    if ctx.st.templates.get(page).is_some_and(|list| {
        list.iter()
            .any(|t| t.name == name && t.language == language)
    }) {
        return Err(GraphError::param("Message template already exists")
            .with_subcode(2388024)
            .user(
                "Content in this language already exists",
                "A template with this name and language already exists.",
            ));
    }
    let id = ctx.st.numeric_id(9);
    let template = Template {
        id: id.clone(),
        name,
        language,
        category: "UTILITY".into(),
        status: "PENDING".into(),
        components,
        parameter_format,
        rejected_reason: None,
    };
    ctx.st
        .templates
        .entry(page.to_string())
        .or_default()
        .push(template);
    let delay = ctx.st.knobs.template_approval_delay_ms;
    if delay > 0 {
        let job = Job::ReviewTemplate {
            page: page.to_string(),
            id: id.clone(),
        };
        ctx.sb.hooks.schedule(delay, job);
        return Ok(json!({ "id": id, "status": "PENDING", "category": "UTILITY" }));
    }
    // Decided at once: an approval needs no webhook (the answer says it), a rejection is
    // announced as Meta does, with its reason.
    let status = review(ctx.sb, ctx.st, page, &id, true).unwrap_or_else(|| "PENDING".into());
    Ok(json!({ "id": id, "status": status, "category": "UTILITY" }))
}

/// Decides a PENDING template now (the review job, or creation without delay): its new status,
/// or `None` when it is gone or was decided meanwhile. An approval given `at_creation` is told
/// by the answer alone; every other outcome is announced by webhook.
pub fn review(
    sb: &Sandbox,
    st: &mut State,
    page: &str,
    id: &str,
    at_creation: bool,
) -> Option<String> {
    let template = st
        .templates
        .get(page)?
        .iter()
        .find(|t| t.id == id && t.status == "PENDING")?
        .clone();
    let (status, reason) = verdict(st, &template);
    let (_, item) = set_status(st, page, id, &status, reason)?;
    if let Some(item) = item.filter(|_| status != "APPROVED" || !at_creation) {
        sb.hooks.deliver(item);
    }
    Some(status)
}

/// Sets a template's status (`id` or name) and, when the Page subscribed the app to
/// `message_template_status_update`, the webhook that announces it: (the template, the webhook).
pub fn set_status(
    st: &mut State,
    page: &str,
    id_or_name: &str,
    status: &str,
    reason: Option<String>,
) -> Option<(Value, Option<Item>)> {
    let subscribed = st.subscribed(page, "message_template_status_update");
    let list = st.templates.get_mut(page)?;
    let at = list
        .iter()
        .position(|t| t.id == id_or_name)
        .or_else(|| list.iter().position(|t| t.name == id_or_name))?;
    let t = &mut list[at];
    t.status = status.to_string();
    t.rejected_reason = reason.clone().filter(|_| status == "REJECTED");
    let change = json!({
        "field": "message_template_status_update",
        "value": {
            "event": t.status,
            "message_template_id": t.id,
            "message_template_name": t.name,
            "message_template_language": t.language,
            "message_template_category": t.category,
            "reason": reason,
        },
    });
    let out = describe(t, &FIELDS);
    let item = subscribed.then(|| Item::Change {
        page: page.to_string(),
        change,
    });
    Some((out, item))
}

fn describe(t: &Template, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for field in fields {
        let value = match *field {
            "id" => json!(t.id),
            "name" => json!(t.name),
            "language" => json!(t.language),
            "status" => json!(t.status),
            "category" => json!(t.category),
            "components" => t.components.clone(),
            "rejected_reason" => json!(t.rejected_reason.as_deref().unwrap_or("NONE")),
            "parameter_format" => json!(t.parameter_format.as_deref().unwrap_or("POSITIONAL")),
            _ => continue,
        };
        out.insert(field.to_string(), value);
    }
    Value::Object(out)
}

/// `GET /{page}/message_templates`: `status` only when asked for, as on Meta.
pub fn list(ctx: &mut Ctx, req: &Req, page: &str) -> GraphResult {
    let asked = req.params.list("fields").filter(|f| !f.is_empty());
    let fields: Vec<&str> = match &asked {
        None => vec!["id", "name", "language"],
        Some(list) => {
            if let Some(bad) = list.iter().find(|f| !FIELDS.contains(&f.as_str())) {
                return Err(nonexisting(bad, "MessageTemplate"));
            }
            list.iter().map(String::as_str).collect()
        }
    };
    let name = req.params.str("name");
    let items: Vec<Value> = ctx
        .st
        .templates
        .get(page)
        .map(|list| {
            list.iter()
                .filter(|t| name.as_ref().is_none_or(|n| &t.name == n))
                .map(|t| describe(t, &fields))
                .collect()
        })
        .unwrap_or_default();
    Ok(paginate(ctx, req, items))
}

/// `DELETE /{page}/message_templates?hsm_id=<id>` (that one) or `?name=` (every language).
pub fn delete(ctx: &mut Ctx, req: &Req, page: &str) -> GraphResult {
    let id = req.params.str("hsm_id");
    let name = req.params.str("name");
    if id.is_none() && name.is_none() {
        return Err(GraphError::param("The parameter name is required"));
    }
    let list = ctx.st.templates.entry(page.to_string()).or_default();
    let before = list.len();
    list.retain(|t| {
        let hit =
            id.as_ref().is_none_or(|i| &t.id == i) && name.as_ref().is_none_or(|n| &t.name == n);
        !hit
    });
    if list.len() == before {
        return Err(
            GraphError::param("Invalid parameter: no such message template").user(
                "Message template not found",
                "No template of this Page has this id or name.",
            ),
        );
    }
    Ok(json!({ "success": true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcode(r: Result<(), GraphError>) -> Option<u32> {
        r.err().map(|e| e.subcode.unwrap_or(0))
    }

    #[test]
    fn the_product_s_shape_passes_every_rule() {
        let text = "The giveaway {{campaign}} has ended. {{details}} Thank you for taking part.";
        let example = json!({ "body_text_named_params": [
            { "param_name": "campaign", "example": "Summer draw" },
            { "param_name": "details", "example": "The winner was told." },
        ]});
        assert_eq!(subcode(check_body(text, true, Some(&example))), None);
        assert!(!promotional(text));
    }

    #[test]
    fn each_body_rule_has_its_subcode() {
        let positional = json!({ "body_text": [["a", "b"]] });
        assert_eq!(
            subcode(check_body("Hello {{1}} and {{2}} from us", false, None)),
            Some(2388043)
        );
        assert_eq!(
            subcode(check_body(
                "Hello {{1}} and {{2}} from us",
                false,
                Some(&json!({ "body_text": [["a"]] }))
            )),
            Some(2388043)
        );
        assert_eq!(
            subcode(check_body(
                "{{1}} wrote to you about {{2}} today, thanks",
                false,
                Some(&positional)
            )),
            Some(2388299)
        );
        assert_eq!(
            subcode(check_body(
                "You wrote to us about {{1}} and then {{2}}.",
                false,
                Some(&positional)
            )),
            Some(2388299),
            "trailing punctuation still ends with the variable"
        );
        assert_eq!(
            subcode(check_body("Hi {{1}}, {{2}} now", false, Some(&positional))),
            Some(2388293)
        );
    }

    #[test]
    fn promotional_words_are_whole_words() {
        assert!(promotional("Get 20% off today, {{1}} thanks"));
        assert!(promotional("Our SALE starts, {{1}} thanks"));
        assert!(promotional("Great offers for {{1}} here"));
        assert!(promotional("It is free for you"));
        assert!(!promotional(
            "The giveaway has ended; the winner is {{1}} here"
        ));
        assert!(!promotional("Freedom and wholesale ideas"));
        assert!(
            !promotional("Hello {{sale}} there"),
            "parameters are not fixed words"
        );
    }
}
