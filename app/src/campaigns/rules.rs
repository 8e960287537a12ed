//! A campaign as the editor sends it, and the one set of rules it must follow. This module
//! compiles for the browser too: the editor shows, as the admin types, exactly the errors the
//! server would return.

use crate::messenger::limits::{self, QUICK_REPLY_TITLE_MAX, TEXT_MAX};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const TITLE_MAX: usize = 120;
pub const PRIZE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5000;
pub const RULES_MAX: usize = 20000;
pub const SLUG_MIN: usize = 3;
pub const SLUG_MAX: usize = 60;

/// The editor's form, as typed: strings, so nothing the admin typed is lost on a failed save.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignForm {
    pub page_id: String,
    pub title: String,
    pub slug: String,
    pub description: String,
    pub prize: String,
    pub image_url: String,
    /// `YYYY-MM-DDTHH:MM` in `time_zone`, as an `<input type="datetime-local">` gives it.
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: String,
    pub rules: String,
    #[serde(default)]
    pub require_login: bool,
    #[serde(default)]
    pub confirmation_enabled: bool,
    pub confirmation_text: String,
    pub automation_keyword: String,
    pub notice_text: String,
    /// `automatic` or `tag` (`super::NoticePath`), kept as sent so a bad word is a field error.
    pub notice_path: String,
    #[serde(default)]
    pub tag_fallback: bool,
    /// The draw (as typed; empty means the default): how many win (1 to 1,000), how many
    /// alternates wait behind them (0 to 1,000), the hours a winner has to claim (1 to 720),
    /// and `auto` (drawn at the end) or `manual` (when the admin says).
    #[serde(default)]
    pub winners: String,
    #[serde(default)]
    pub alternates: String,
    #[serde(default)]
    pub claim_hours: String,
    #[serde(default)]
    pub draw_mode: String,
    /// The prize of each rank, one per line (line 1 for the first winner); a rank without its
    /// own line gets `prize`.
    #[serde(default)]
    pub prizes_by_rank: String,
    /// Eligibility: the minimum age in years (empty: none said), and the countries of residence
    /// allowed, ISO 3166-1 alpha-2 codes separated by commas or spaces (empty: anywhere).
    #[serde(default)]
    pub min_age: String,
    #[serde(default)]
    pub countries: String,
    /// The entrant ticks "I accept the rules" before the Subscribe button works.
    #[serde(default)]
    pub consent_checkbox: bool,
}

/// The youngest minimum age a campaign may set: Facebook's own (no account before 13).
pub const MIN_AGE_FLOOR: i64 = 13;
pub const MIN_AGE_CEILING: i64 = 120;
/// The most countries a campaign may list.
pub const COUNTRIES_MAX: usize = 60;

/// The minimum age as typed: none, or a whole number of years from 13 to 120.
pub fn min_age(typed: &str) -> Result<Option<i64>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    match typed.parse::<i64>() {
        Ok(age) if (MIN_AGE_FLOOR..=MIN_AGE_CEILING).contains(&age) => Ok(Some(age)),
        _ => Err(format!(
            "Enter the minimum age in years, from {MIN_AGE_FLOOR} (Facebook's own minimum) to {MIN_AGE_CEILING}, or leave it empty."
        )),
    }
}

/// The countries as typed: two-letter codes (ISO 3166-1 alpha-2, e.g. FR, BE), separated by
/// commas or spaces, upper-cased, each once.
pub fn countries(typed: &str) -> Result<Vec<String>, String> {
    let mut codes: Vec<String> = Vec::new();
    for code in typed.split([',', ' ', ';']).filter(|c| !c.is_empty()) {
        let code = code.to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "`{code}` is not a country code: use two-letter codes (ISO 3166-1, e.g. FR, BE, CH) separated by commas."
            ));
        }
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.len() > COUNTRIES_MAX {
        return Err(format!("List at most {COUNTRIES_MAX} countries."));
    }
    Ok(codes)
}

/// A campaign's draw settings, read from its form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrawSettings {
    pub winners: i64,
    pub alternates: i64,
    pub claim_hours: i64,
    /// Drawn by itself at the end; otherwise when the admin says.
    pub automatic: bool,
}

impl Default for DrawSettings {
    fn default() -> Self {
        DrawSettings {
            winners: 1,
            alternates: 0,
            claim_hours: 72,
            automatic: true,
        }
    }
}

/// A prize by rank, as long as the campaign's prize may be.
pub const PRIZE_LINE_MAX: usize = 200;

/// The words of `draw_mode`.
pub const DRAW_AUTO: &str = "auto";
pub const DRAW_MANUAL: &str = "manual";

/// A whole number in `range`, or the default when left empty.
fn count(text: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    let text = text.trim().replace(',', "");
    if text.is_empty() {
        return Some(default);
    }
    text.parse::<i64>().ok().filter(|n| range.contains(n))
}

impl CampaignForm {
    /// The draw settings, each field checked; errors by field name.
    pub fn draw_settings(&self) -> Result<DrawSettings, FieldErrors> {
        let defaults = DrawSettings::default();
        let mut errors = FieldErrors::new();
        let mut field = |name: &str, value: Option<i64>, message: &str| {
            if value.is_none() {
                errors.insert(name.to_string(), message.to_string());
            }
            value.unwrap_or_default()
        };
        let winners = field(
            "winners",
            count(&self.winners, defaults.winners, 1..=1000),
            "Between 1 and 1,000 winners.",
        );
        let alternates = field(
            "alternates",
            count(&self.alternates, defaults.alternates, 0..=1000),
            "Between 0 and 1,000 alternates.",
        );
        let claim_hours = field(
            "claim_hours",
            count(&self.claim_hours, defaults.claim_hours, 1..=720),
            "Between 1 and 720 hours (30 days) to claim.",
        );
        let ranked: Vec<&str> = self.prizes_by_rank.trim_end().lines().collect();
        if ranked.len() as i64 > winners.max(1) {
            errors.insert(
                "prizes_by_rank".into(),
                format!(
                    "One prize per line, at most one line per winner: {} lines for {} winners.",
                    ranked.len(),
                    winners.max(1)
                ),
            );
        } else if ranked
            .iter()
            .any(|p| p.trim().chars().count() > PRIZE_LINE_MAX)
        {
            errors.insert(
                "prizes_by_rank".into(),
                format!("Each prize at most {PRIZE_LINE_MAX} characters."),
            );
        }
        let automatic = match self.draw_mode.trim() {
            "" | DRAW_AUTO => true,
            DRAW_MANUAL => false,
            _ => {
                errors.insert(
                    "draw_mode".into(),
                    "Choose when the winners are drawn.".into(),
                );
                true
            }
        };
        if errors.is_empty() {
            Ok(DrawSettings {
                winners,
                alternates,
                claim_hours,
                automatic,
            })
        } else {
            Err(errors)
        }
    }
}

/// Errors by field name (the form's input names), each in words the admin understands.
pub type FieldErrors = BTreeMap<String, String>;

/// The placeholders a message may use, filled per subscriber when it is sent.
pub const PLACEHOLDERS: &[&str] = &["first_name", "campaign_title", "prize"];

/// Checks every rule that does not need the server (uniqueness of the slug and the time zone's
/// existence are checked there too). Empty result: valid.
pub fn check(form: &CampaignForm) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: String| {
        errors.entry(field.to_string()).or_insert(message);
    };

    if form.page_id.trim().is_empty() {
        fail("page_id", "Choose the Page that runs this campaign.".into());
    }
    required_len(
        &mut fail,
        "title",
        &form.title,
        TITLE_MAX,
        "Give the campaign a title.",
    );
    if let Err(e) = check_slug(&form.slug) {
        fail("slug", e);
    }
    required_len(
        &mut fail,
        "prize",
        &form.prize,
        PRIZE_MAX,
        "Say what the prize is.",
    );
    optional_len(&mut fail, "description", &form.description, DESCRIPTION_MAX);
    optional_len(&mut fail, "rules", &form.rules, RULES_MAX);
    if let Err(e) = min_age(&form.min_age) {
        fail("min_age", e);
    }
    if let Err(e) = countries(&form.countries) {
        fail("countries", e);
    }
    if let Err(e) = check_image_url(&form.image_url) {
        fail("image_url", e);
    }

    let start = parse_local(&form.starts_at);
    let end = parse_local(&form.ends_at);
    if start.is_none() {
        fail("starts_at", "Enter a start date and time.".into());
    }
    if end.is_none() {
        fail("ends_at", "Enter an end date and time.".into());
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            fail("ends_at", "The end must be after the start.".into());
        }
    }
    if form.time_zone.trim().is_empty() {
        fail("time_zone", "Choose a time zone.".into());
    }

    if form.confirmation_enabled {
        required_len(
            &mut fail,
            "confirmation_text",
            &form.confirmation_text,
            TEXT_MAX,
            "Write the confirmation message, or switch it off.",
        );
    } else {
        optional_len(
            &mut fail,
            "confirmation_text",
            &form.confirmation_text,
            TEXT_MAX,
        );
    }
    if let Err(e) = check_placeholders(&form.confirmation_text) {
        fail("confirmation_text", e);
    }
    let keyword = form.automation_keyword.trim();
    if !keyword.is_empty() {
        if let Err(e) = limits::check_len(keyword, QUICK_REPLY_TITLE_MAX) {
            fail("automation_keyword", format!("A quick-reply title {e}."));
        }
        if !form.confirmation_enabled {
            fail(
                "automation_keyword",
                "The keyword rides on the confirmation message: switch it on.".into(),
            );
        }
    }
    required_len(
        &mut fail,
        "notice_text",
        &form.notice_text,
        TEXT_MAX,
        "Write the end-of-campaign notice.",
    );
    if let Err(e) = check_placeholders(&form.notice_text) {
        fail("notice_text", e);
    }
    if form.notice_path.parse::<super::NoticePath>().is_err() {
        fail("notice_path", "Choose how the notice is sent.".into());
    }
    if let Err(draw) = form.draw_settings() {
        for (field, message) in draw {
            fail(&field, message);
        }
    }
    errors
}

fn required_len(
    fail: &mut impl FnMut(&str, String),
    field: &str,
    value: &str,
    max: usize,
    empty: &str,
) {
    if value.trim().is_empty() {
        fail(field, empty.to_string());
    } else {
        optional_len(fail, field, value, max);
    }
}

fn optional_len(fail: &mut impl FnMut(&str, String), field: &str, value: &str, max: usize) {
    if let Err(e) = limits::check_len(value, max) {
        fail(field, format!("Too long: {e}."));
    }
}

/// Slugs appear in public links: lowercase letters, digits and single dashes.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let n = slug.chars().count();
    if !(SLUG_MIN..=SLUG_MAX).contains(&n) {
        return Err(format!("Use {SLUG_MIN} to {SLUG_MAX} characters."));
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("Use only lowercase letters, digits and dashes.".into());
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("Dashes go between words, one at a time.".into());
    }
    Ok(())
}

/// Uploaded campaign images are served under this path, by the names the server gave them.
pub const UPLOADS_PATH: &str = "/uploads/";
/// The largest image an admin may upload.
pub const IMAGE_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The image types an upload may be, by file extension (the server names files with these).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "gif", "webp"];

/// The campaign image: an http(s) address typed by hand, an uploaded image's path, or nothing.
/// Other schemes (`javascript:`, `data:`) and relative paths elsewhere are refused: the address
/// ends up in the public page.
pub fn check_image_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    if url.is_empty() || url.strip_prefix(UPLOADS_PATH).is_some_and(is_upload_name) {
        return Ok(());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        None => {
            Err("Use an http:// or https:// address, upload an image, or leave it empty.".into())
        }
        Some("") => Err("The address needs a host name after `://`.".into()),
        Some(_) if url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err("An address cannot contain spaces.".into())
        }
        Some(_) => Ok(()),
    }
}

/// A name the upload made: 32 lowercase hex digits and a known extension. Nothing else is ever
/// read from the uploads folder, so no name can reach outside it.
pub fn is_upload_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 32
        && stem
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        && IMAGE_EXTENSIONS.contains(&ext)
}

/// Only known `{placeholders}` are allowed, so a typo does not reach every entrant verbatim.
pub fn check_placeholders(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("A `{` is not closed.".into());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "Unknown placeholder {{{name}}}; use {}.",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Fills placeholders for one subscriber.
///
/// The first name is often unknown (Meta's profile read needs a feature most apps lack), so
/// without it `{first_name}` goes with what only made sense around a name: "Thanks
/// {first_name}, you're in!" reads "Thanks, you're in!", "Hi {first_name}!" reads "Hi!", and
/// "{first_name}, good luck" reads "Good luck". No double space and no space before punctuation
/// is left behind.
pub fn fill(text: &str, first_name: &str, campaign_title: &str, prize: &str) -> String {
    let first_name = first_name.trim();
    let mut out = String::with_capacity(text.len() + 32);
    // Set where a removed name opened a sentence: the next letter written starts it.
    let mut capitalise = false;
    let mut rest = text;
    while !rest.is_empty() {
        let (chunk, after) = match rest.find('{') {
            Some(0) => {
                let Some(close) = rest.find('}') else {
                    push(&mut out, rest, &mut capitalise);
                    break;
                };
                let name = &rest[1..close];
                let after = &rest[close + 1..];
                let value = match name {
                    "first_name" if first_name.is_empty() => {
                        rest = drop_name(&mut out, after, &mut capitalise);
                        continue;
                    }
                    "first_name" => first_name,
                    "campaign_title" => campaign_title,
                    "prize" => prize,
                    _ => &rest[..=close],
                };
                (value, after)
            }
            Some(open) => (&rest[..open], &rest[open..]),
            None => (rest, ""),
        };
        push(&mut out, chunk, &mut capitalise);
        rest = after;
    }
    out
}

/// Appends `text`, starting a sentence with a capital if asked to.
fn push(out: &mut String, text: &str, capitalise: &mut bool) {
    if text.is_empty() {
        return;
    }
    if *capitalise {
        if let Some(first) = text.chars().find(|c| !c.is_whitespace()) {
            let at = text.find(first).unwrap_or(0);
            out.push_str(&text[..at]);
            out.extend(first.to_uppercase());
            out.push_str(&text[at + first.len_utf8()..]);
            *capitalise = false;
            return;
        }
    }
    out.push_str(text);
}

/// Leaves out an unknown first name with the spaces and punctuation that surrounded it; returns
/// the rest of the text to fill.
fn drop_name<'a>(out: &mut String, after: &'a str, capitalise: &mut bool) -> &'a str {
    let is_space = |c: char| c == ' ' || c == '\t';
    let glue = |c: char| matches!(c, ',' | ';' | ':');
    let kept = out.trim_end_matches(is_space).len();
    out.truncate(kept);
    let sentence_start = out.is_empty() || out.ends_with(['.', '!', '?', '\n']);
    if sentence_start {
        // "{first_name}, good luck" -> "Good luck"; after "Hi! " the same.
        let rest = after
            .trim_start_matches(|c: char| glue(c) || matches!(c, '!' | '.' | '?'))
            .trim_start_matches(is_space);
        *capitalise = true;
        if !out.is_empty() && !out.ends_with('\n') && !rest.is_empty() {
            out.push(' ');
        }
        return rest;
    }
    let next = after.trim_start_matches(is_space);
    match next.chars().next() {
        // "Thanks {first_name}, you're in" -> "Thanks, you're in"; "Hi {first_name}!" -> "Hi!".
        // "Good news: {first_name}, you won" -> "Good news: you won"
        Some(c) if glue(c) && out.ends_with(glue) => {
            let rest = next[1..].trim_start_matches(is_space);
            if !rest.is_empty() {
                out.push(' ');
            }
            rest
        }
        Some(c) if matches!(c, '.' | '!' | '?' | ')') && out.ends_with(glue) => {
            // "Hello, {first_name}!" -> "Hello!"
            out.pop();
            next
        }
        Some(c) if glue(c) || matches!(c, '.' | '!' | '?' | ')') => next,
        // "Hi {first_name} and welcome" -> "Hi and welcome"; at the end, nothing.
        Some(_) => after,
        None => "",
    }
}

/// `YYYY-MM-DDTHH:MM[:SS]` as a comparable tuple; `None` when it is not one.
pub fn parse_local(value: &str) -> Option<(u32, u32, u32, u32, u32)> {
    let (date, time) = value.trim().split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let mut t = time.split(':');
    let (h, min) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let valid = (2000..=2200).contains(&y)
        && (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && h < 24
        && min < 60;
    valid.then_some((y, m, day, h, min))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn valid() -> CampaignForm {
        CampaignForm {
            page_id: "101000000000001".into(),
            title: "Win a cake".into(),
            slug: "win-a-cake".into(),
            prize: "A birthday cake".into(),
            starts_at: "2026-12-01T09:00".into(),
            ends_at: "2026-12-24T18:00".into(),
            time_zone: "Europe/Paris".into(),
            confirmation_enabled: true,
            confirmation_text: "Thanks {first_name}, you are in!".into(),
            automation_keyword: "CAKE".into(),
            notice_text: "The {campaign_title} giveaway has ended.".into(),
            notice_path: "automatic".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_is_valid() {
        assert_eq!(check(&valid()), FieldErrors::new());
    }

    #[test]
    fn draw_settings_default_when_empty_and_name_the_field_when_out_of_range() {
        assert_eq!(valid().draw_settings(), Ok(DrawSettings::default()));
        let mut form = valid();
        form.winners = "1,000".into();
        form.alternates = "3".into();
        form.claim_hours = "48".into();
        form.draw_mode = DRAW_MANUAL.into();
        assert_eq!(
            form.draw_settings(),
            Ok(DrawSettings {
                winners: 1000,
                alternates: 3,
                claim_hours: 48,
                automatic: false
            })
        );
        form.winners = "0".into();
        form.alternates = "-1".into();
        form.claim_hours = "a day".into();
        form.draw_mode = "later".into();
        let errors = check(&form);
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["alternates", "claim_hours", "draw_mode", "winners"]
        );
        assert_eq!(errors["winners"], "Between 1 and 1,000 winners.");
        form.winners = "1001".into();
        assert!(check(&form).contains_key("winners"));
    }

    #[test]
    fn prizes_by_rank_are_a_line_per_winner_at_most() {
        let mut form = valid();
        form.winners = "2".into();
        form.prizes_by_rank = "A cake a week for a year\nA cake a week for a month\n".into();
        assert!(form.draw_settings().is_ok());
        form.prizes_by_rank.push_str("A third cake\n");
        let errors = check(&form);
        assert_eq!(
            errors["prizes_by_rank"],
            "One prize per line, at most one line per winner: 3 lines for 2 winners."
        );
        form.winners = "3".into();
        form.prizes_by_rank = "x".repeat(PRIZE_LINE_MAX + 1);
        assert!(check(&form)["prizes_by_rank"].contains("at most 200 characters"));
    }

    #[test]
    fn each_error_names_its_field() {
        type Change = Box<dyn Fn(&mut CampaignForm)>;
        let cases: Vec<(&str, Change)> = vec![
            ("title", Box::new(|f| f.title.clear())),
            ("slug", Box::new(|f| f.slug = "Win A Cake".into())),
            ("slug", Box::new(|f| f.slug = "ab".into())),
            ("prize", Box::new(|f| f.prize = " ".into())),
            (
                "ends_at",
                Box::new(|f| f.ends_at = "2026-11-30T09:00".into()),
            ),
            ("starts_at", Box::new(|f| f.starts_at = "tomorrow".into())),
            (
                "confirmation_text",
                Box::new(|f| f.confirmation_text = "x".repeat(2001)),
            ),
            (
                "confirmation_text",
                Box::new(|f| f.confirmation_text = "Hi {frist_name}".into()),
            ),
            (
                "automation_keyword",
                Box::new(|f| f.automation_keyword = "x".repeat(21)),
            ),
            ("notice_text", Box::new(|f| f.notice_text.clear())),
            (
                "notice_path",
                Box::new(|f| f.notice_path = "HUMAN_AGENT".into()),
            ),
            (
                "image_url",
                Box::new(|f| f.image_url = "javascript:alert(1)".into()),
            ),
            ("page_id", Box::new(|f| f.page_id.clear())),
        ];
        for (field, change) in cases {
            let mut form = valid();
            change(&mut form);
            let errors = check(&form);
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn image_addresses_are_http_or_uploads() {
        for ok in [
            "",
            "https://example.com/cake.png",
            "http://cdn.example.com",
            "/uploads/0123456789abcdef0123456789abcdef.png",
        ] {
            assert_eq!(check_image_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://example.com/a.png",
            "https://",
            "https:///path",
            "https://exa mple.com/a.png",
            "//evil.example/a.png",
            "/uploads/../secret_key",
            "/uploads/0123456789abcdef0123456789abcdef.svg",
            "/admin",
        ] {
            assert!(check_image_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("Hi {first_name}, {prize}!", "Alice", "T", "a cake"),
            "Hi Alice, a cake!"
        );
    }

    #[test]
    fn texts_read_naturally_without_a_name() {
        let cases = [
            ("Thanks {first_name}, you're in!", "Thanks, you're in!"),
            ("Hi {first_name}!", "Hi!"),
            ("{first_name}, good luck", "Good luck"),
            ("{first_name} you're in the draw.", "You're in the draw."),
            ("Hello, {first_name}!", "Hello!"),
            ("Hello, {first_name}.", "Hello."),
            ("Thanks, {first_name}, you're in", "Thanks, you're in"),
            ("Good news: {first_name}, you won", "Good news: you won"),
            ("We wish you luck {first_name}", "We wish you luck"),
            ("Hi {first_name} and welcome", "Hi and welcome"),
            ("Hi {first_name} !", "Hi!"),
            (
                "Done! {first_name}, the {campaign_title} is on.",
                "Done! The Cake Cup is on.",
            ),
            (
                "{first_name}, {prize} could be yours",
                "A cake could be yours",
            ),
            ("Hi!\n{first_name}, you're in", "Hi!\nYou're in"),
            ("{first_name}", ""),
            ("Hi. {first_name}.", "Hi."),
            (
                "Thanks {first_name}, you're in the draw for {prize}!",
                "Thanks, you're in the draw for a cake!",
            ),
            (
                "The {campaign_title} giveaway has ended.",
                "The Cake Cup giveaway has ended.",
            ),
            ("Café {first_name}, élan", "Café, élan"),
            ("{first_name}, élan", "Élan"),
        ];
        for (text, expected) in cases {
            let filled = fill(text, "", "Cake Cup", "a cake");
            assert_eq!(filled, expected, "{text:?}");
            assert!(!filled.contains("  "), "{filled:?}");
            for p in [" ,", " .", " !", " ?", " :", " ;"] {
                assert!(!filled.contains(p), "{filled:?}");
            }
            // A blank name counts as none.
            assert_eq!(fill(text, "  ", "Cake Cup", "a cake"), expected);
        }
        // With the name, the text is the admin's, word for word.
        assert_eq!(
            fill("{first_name}, good luck", "alice", "T", "P"),
            "alice, good luck"
        );
        assert_eq!(fill("Hi {first_name} !", "Alice", "T", "P"), "Hi Alice !");
    }
}
