//! What may change once people take part: the campaign lifecycle rules, in one place. The server
//! enforces them (`store::save`, `store::delete_draft`, `notices::schedule::sync_end_notice`) and
//! the editor explains them (`Locks`), so an edit never silently loses entrants or notices:
//!
//! 1. **The Page is fixed once the campaign has started or anyone entered.** A PSID belongs to
//!    one Page: moved to another, every notice would fail, and every pending link and code points
//!    at the old Page.
//! 2. **A started campaign's start never moves past now.** That would close entries until then
//!    (and make the campaign look as if it never ran, free to go back to draft).
//! 3. **An end moved later after the end notice went reopens it.** Entries reopen; at the new
//!    end, the same notice goes to those not yet told (its messages are keyed per person, so
//!    nobody is told twice); its messages not yet sent wait for the new end with it.
//! 4. **No delete once anything was entered**: any entry row counts, pending ones included (a
//!    person holds its link or code and may still answer it). Archive instead; a draft nobody
//!    entered can still be deleted.
//! 5. **A confirmation processed after the end notice's fan-out gets the notice too**
//!    (`notices::fanout::late_entrant`): Meta's webhooks can lag, and the person answered while
//!    the campaign ran. Answers made after the end still enter nobody.
//! 6. **An archived campaign no longer changes.** It is out of every list people see and its
//!    end notice is settled; duplicating it starts a new draft from it.
//!
//! Everything here is pure: the stored campaign (`Campaign`, read by the server) and the change
//! asked for come in, a verdict comes out.

use super::{rules::FieldErrors, Campaign, Lifecycle, PublishState};
use crate::notices::NoticeStatus;
use serde::{Deserialize, Serialize};

pub const PAGE_FIXED_STARTED: &str =
    "This campaign has started, so its Page can no longer change: its entrants can only be reached through the Page they entered on.";
pub const PAGE_FIXED_ENTERED: &str =
    "People have entered this campaign, so its Page can no longer change: their links and Messenger threads belong to that Page.";
pub const START_NOT_LATER: &str =
    "This campaign has started: its start can move earlier, but not past now (entries would close until then).";
pub const NO_DELETE_ENTERED: &str =
    "People have entered this campaign, so deleting it would lose their entries: archive it instead.";
pub const ARCHIVED_FIXED: &str =
    "This campaign is archived, so it no longer changes: duplicate it to run it again.";
pub const END_AFTER_NOTICE: &str =
    "The end notice has gone out. Moving the end later reopens entries; at the new end, people who were not told yet get the notice, and nobody gets it twice.";

/// Whether the campaign has run: published (or archived) with its start behind it.
pub fn started(campaign: &Campaign, now: i64) -> bool {
    matches!(
        campaign.publish_state,
        PublishState::Published | PublishState::Archived
    ) && campaign.starts_at_ms <= now
}

/// The change a save asks for, in the terms the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Edit<'a> {
    /// The Page's Facebook id, as the form names it.
    pub page_id: &'a str,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

/// The field errors a save of `current` into `edit` earns at `now` (empty: allowed).
pub fn check_edit(current: &Campaign, edit: &Edit<'_>, now: i64) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if current.publish_state == PublishState::Archived {
        errors.insert("campaign".into(), ARCHIVED_FIXED.into());
    }
    if edit.page_id.trim() != current.form.page_id {
        if let Some(why) = page_fixed(current, now) {
            errors.insert("page_id".into(), why.into());
        }
    }
    if started(current, now) && edit.starts_at_ms > now {
        errors.insert("starts_at".into(), START_NOT_LATER.into());
    }
    errors
}

fn page_fixed(current: &Campaign, now: i64) -> Option<&'static str> {
    if started(current, now) {
        Some(PAGE_FIXED_STARTED)
    } else if current.entries > 0 {
        Some(PAGE_FIXED_ENTERED)
    } else {
        None
    }
}

/// Whether the campaign may be deleted; the reason the admin sees when not.
pub fn check_delete(current: &Campaign) -> Result<(), &'static str> {
    if current.publish_state != PublishState::Draft {
        Err("Only drafts can be deleted; archive this campaign instead.")
    } else if current.entries > 0 {
        Err(NO_DELETE_ENTERED)
    } else {
        Ok(())
    }
}

/// What the editor shows as fixed, each with the sentence that says why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locks {
    /// The Page can no longer change.
    pub page: Option<String>,
    /// The start can only move earlier (or to now).
    pub starts_at: Option<String>,
    /// Said beside the end once the end notice went.
    pub ends_at: Option<String>,
    /// The campaign cannot be deleted (shown where the delete button would be, for drafts).
    pub delete: Option<String>,
    /// Nothing can change any more (archived): the editor offers no form, only this.
    pub all: Option<String>,
}

pub fn locks(current: &Campaign, now: i64) -> Locks {
    Locks {
        page: page_fixed(current, now).map(String::from),
        starts_at: started(current, now).then(|| START_NOT_LATER.to_string()),
        ends_at: (current.end_notice == Some(NoticeStatus::Sending))
            .then(|| END_AFTER_NOTICE.to_string()),
        delete: (current.publish_state == PublishState::Draft && current.entries > 0)
            .then(|| NO_DELETE_ENTERED.to_string()),
        all: (current.publish_state == PublishState::Archived).then(|| ARCHIVED_FIXED.to_string()),
    }
}

/// Where the campaign stands in time, in words, by `now`: "Ends in 2 days 3 hours", "Ended
/// 28 Nov 2026, 14:00 (Europe/Paris)". Dates in the campaign's own zone, as its form has them.
pub fn when(current: &Campaign, now: i64) -> String {
    let local = |at: &str| format!("{} ({})", at.replace('T', " "), current.form.time_zone);
    match current.lifecycle(now) {
        Lifecycle::Draft => "Not published".into(),
        Lifecycle::Scheduled => format!(
            "Starts in {} · {}",
            span(current.starts_at_ms - now),
            local(&current.form.starts_at)
        ),
        Lifecycle::Live => format!(
            "Ends in {} · {}",
            span(current.ends_at_ms - now),
            local(&current.form.ends_at)
        ),
        Lifecycle::Ended => format!("Ended {}", local(&current.form.ends_at)),
        Lifecycle::Archived => format!("Archived · ran until {}", local(&current.form.ends_at)),
    }
}

/// A duration in its two largest units: "3 days 4 hours", "5 hours 10 minutes", "2 minutes".
pub fn span(ms: i64) -> String {
    let minutes = (ms.max(0) + 59_999) / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let unit = |n: i64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) => unit(mins.max(1), "minute"),
        (0, h) if mins == 0 => unit(h, "hour"),
        (0, h) => format!("{} {}", unit(h, "hour"), unit(mins, "minute")),
        (d, 0) => unit(d, "day"),
        (d, h) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

/// What becomes of a campaign's end notice after a change to the campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndNoticeStep {
    /// Not gone yet: due at the campaign's end (scheduled, moved, or back from cancelled).
    Schedule { at: i64 },
    /// Gone, but the end moved later and the campaign is open again: the notice waits for the
    /// new end, when it goes to those not yet told; its messages not yet sent wait with it.
    Reopen { at: i64 },
    /// Gone, and the campaign is still over (or archived): it finishes as it is.
    Keep,
    /// Not gone yet, and the campaign is no longer published: nobody is told.
    Cancel,
}

/// `publish_state`: `None` once the campaign is deleted. `notice_status`: the end notice's
/// status, if it exists.
pub fn end_notice_step(
    publish_state: Option<PublishState>,
    ends_at: i64,
    notice_status: Option<NoticeStatus>,
    now: i64,
) -> EndNoticeStep {
    let went = notice_status == Some(NoticeStatus::Sending);
    match (publish_state, went) {
        (Some(PublishState::Published), false) => EndNoticeStep::Schedule { at: ends_at },
        (Some(PublishState::Published), true) if ends_at > now => {
            EndNoticeStep::Reopen { at: ends_at }
        }
        (_, true) => EndNoticeStep::Keep,
        (_, false) => EndNoticeStep::Cancel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::rules::CampaignForm;

    const NOW: i64 = 1_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn campaign(state: &str, starts: i64, ends: i64, entries: i64) -> Campaign {
        Campaign {
            id: "c".into(),
            form: CampaignForm {
                page_id: "page-a".into(),
                ..Default::default()
            },
            starts_at_ms: starts,
            ends_at_ms: ends,
            publish_state: state.parse().unwrap(),
            lifecycle_now: Lifecycle::of(state.parse().unwrap(), starts, ends, NOW),
            entries,
            entered: 0,
            end_notice: None,
            locks: Locks::default(),
            page_name: String::new(),
            page_picture: String::new(),
            when: String::new(),
        }
    }

    fn edit(page: &str, starts: i64, ends: i64) -> Edit<'_> {
        Edit {
            page_id: page,
            starts_at_ms: starts,
            ends_at_ms: ends,
        }
    }

    #[test]
    fn the_page_is_fixed_once_started_or_entered() {
        let table = [
            // (state, starts, entries, may change the Page)
            ("draft", NOW - HOUR, 0, true),
            ("draft", NOW + HOUR, 0, true),
            ("published", NOW + HOUR, 0, true),
            ("published", NOW - HOUR, 0, false),
            ("archived", NOW - HOUR, 0, false),
            ("draft", NOW + HOUR, 1, false),
            ("published", NOW + HOUR, 3, false),
        ];
        for (state, starts, entries, allowed) in table {
            let c = campaign(state, starts, NOW + 10 * HOUR, entries);
            let errors = check_edit(&c, &edit("page-b", starts, NOW + 10 * HOUR), NOW);
            assert_eq!(
                !errors.contains_key("page_id"),
                allowed,
                "{state} {starts} {entries}: {errors:?}"
            );
            assert_eq!(locks(&c, NOW).page.is_none(), allowed);
            // The same Page is always fine, spaces and all.
            let same = check_edit(&c, &edit(" page-a ", starts, NOW + 10 * HOUR), NOW);
            assert!(!same.contains_key("page_id"), "{same:?}");
        }
        let started = campaign("published", NOW - HOUR, NOW + HOUR, 0);
        let errors = check_edit(&started, &edit("page-b", NOW - HOUR, NOW + HOUR), NOW);
        assert_eq!(errors["page_id"], PAGE_FIXED_STARTED);
        let entered = campaign("draft", NOW + HOUR, NOW + 2 * HOUR, 1);
        let errors = check_edit(&entered, &edit("page-b", NOW + HOUR, NOW + 2 * HOUR), NOW);
        assert_eq!(errors["page_id"], PAGE_FIXED_ENTERED);
    }

    #[test]
    fn a_started_start_moves_earlier_or_to_now_never_past_now() {
        let live = campaign("published", NOW - HOUR, NOW + HOUR, 0);
        let start = |at| check_edit(&live, &edit("page-a", at, NOW + HOUR), NOW);
        assert!(start(NOW - 2 * HOUR).is_empty(), "earlier");
        assert!(start(NOW - HOUR).is_empty(), "unchanged");
        assert!(start(NOW).is_empty(), "now");
        assert_eq!(start(NOW + 1)["starts_at"], START_NOT_LATER);
        assert!(start(NOW + HOUR).contains_key("starts_at"));
        let ended = campaign("published", NOW - 3 * HOUR, NOW - HOUR, 0);
        assert!(
            check_edit(&ended, &edit("page-a", NOW + HOUR, NOW + 2 * HOUR), NOW)
                .contains_key("starts_at")
        );
        // Not started: any start.
        for state in ["draft", "published"] {
            let ahead = campaign(state, NOW + HOUR, NOW + 2 * HOUR, 0);
            assert!(
                check_edit(&ahead, &edit("page-a", NOW + 3 * HOUR, NOW + 4 * HOUR), NOW).is_empty()
            );
        }
        let draft = campaign("draft", NOW - HOUR, NOW + HOUR, 0);
        assert!(check_edit(&draft, &edit("page-a", NOW + HOUR, NOW + 2 * HOUR), NOW).is_empty());
        assert_eq!(
            locks(&live, NOW).starts_at.as_deref(),
            Some(START_NOT_LATER)
        );
        assert_eq!(locks(&draft, NOW).starts_at, None);
    }

    #[test]
    fn only_drafts_nobody_entered_are_deleted() {
        assert_eq!(check_delete(&campaign("draft", NOW, NOW + HOUR, 0)), Ok(()));
        assert_eq!(
            check_delete(&campaign("draft", NOW, NOW + HOUR, 1)),
            Err(NO_DELETE_ENTERED)
        );
        for state in ["published", "archived"] {
            assert!(check_delete(&campaign(state, NOW, NOW + HOUR, 0)).is_err());
        }
        assert_eq!(
            locks(&campaign("draft", NOW, NOW + HOUR, 2), NOW)
                .delete
                .as_deref(),
            Some(NO_DELETE_ENTERED)
        );
        assert_eq!(
            locks(&campaign("draft", NOW, NOW + HOUR, 0), NOW).delete,
            None
        );
    }

    #[test]
    fn the_end_notice_follows_the_end_even_after_it_went() {
        use EndNoticeStep::*;
        let future = NOW + HOUR;
        let past = NOW - HOUR;
        let table = [
            ("published", future, None, Schedule { at: future }),
            ("published", past, Some("scheduled"), Schedule { at: past }),
            (
                "published",
                future,
                Some("cancelled"),
                Schedule { at: future },
            ),
            ("published", future, Some("sending"), Reopen { at: future }),
            ("published", past, Some("sending"), Keep),
            ("published", NOW, Some("sending"), Keep),
            ("archived", future, Some("sending"), Keep),
            ("draft", future, Some("sending"), Keep),
            ("archived", future, Some("scheduled"), Cancel),
            ("draft", past, None, Cancel),
        ];
        for (state, ends, status, expected) in table {
            assert_eq!(
                end_notice_step(
                    state.parse().ok(),
                    ends,
                    status.map(|s: &str| s.parse().unwrap()),
                    NOW
                ),
                expected,
                "{state} {ends} {status:?}"
            );
        }
        let mut ended = campaign("published", NOW - 2 * HOUR, past, 1);
        assert_eq!(locks(&ended, NOW).ends_at, None);
        ended.end_notice = Some(NoticeStatus::Sending);
        assert_eq!(
            locks(&ended, NOW).ends_at.as_deref(),
            Some(END_AFTER_NOTICE)
        );
    }

    #[test]
    fn an_archived_campaign_no_longer_changes() {
        let archived = campaign("archived", NOW - 3 * HOUR, NOW - HOUR, 0);
        let errors = check_edit(&archived, &edit("page-a", NOW - 3 * HOUR, NOW - HOUR), NOW);
        assert_eq!(errors["campaign"], ARCHIVED_FIXED);
        assert_eq!(locks(&archived, NOW).all.as_deref(), Some(ARCHIVED_FIXED));
        for state in ["draft", "published"] {
            let c = campaign(state, NOW - HOUR, NOW + HOUR, 0);
            assert_eq!(locks(&c, NOW).all, None);
            assert!(
                !check_edit(&c, &edit("page-a", NOW - HOUR, NOW + HOUR), NOW)
                    .contains_key("campaign")
            );
        }
    }

    #[test]
    fn where_a_campaign_stands_is_said_in_words() {
        assert_eq!(span(0), "1 minute");
        assert_eq!(span(90_000), "2 minutes");
        assert_eq!(span(HOUR), "1 hour");
        assert_eq!(span(2 * HOUR + 10 * 60_000), "2 hours 10 minutes");
        assert_eq!(span(24 * HOUR), "1 day");
        assert_eq!(
            span(3 * 24 * HOUR + 4 * HOUR + 5 * 60_000),
            "3 days 4 hours"
        );
        let mut c = campaign("published", NOW - HOUR, NOW + 26 * HOUR, 0);
        c.form.ends_at = "2026-12-01T18:00".into();
        c.form.time_zone = "Europe/Paris".into();
        assert_eq!(
            when(&c, NOW),
            "Ends in 1 day 2 hours · 2026-12-01 18:00 (Europe/Paris)"
        );
        assert_eq!(
            when(&c, NOW + 27 * HOUR),
            "Ended 2026-12-01 18:00 (Europe/Paris)"
        );
        assert_eq!(
            when(&campaign("draft", NOW, NOW + HOUR, 0), NOW),
            "Not published"
        );
    }
}
