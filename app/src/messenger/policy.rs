//! The one place that decides whether and how a message may go to a person (facts file §0, §3,
//! §5). Every sender asks `decide` first and records its answer; nothing else picks a
//! `messaging_type` or a tag.

/// 24 hours: the standard messaging window after the person's last interaction.
pub const WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The retired tag we still offer on the tag path (some apps and regions still get it through).
pub const NOTICE_TAG: &str = "CONFIRMED_EVENT_UPDATE";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The reply to someone who just entered.
    Confirmation,
    /// Any other answer to what the person just wrote: a code that is not theirs, a link that
    /// was for someone else. Only ever a reply inside the window, like the confirmation.
    Reply,
    /// "The campaign has ended" (and who won, if the admin says so).
    EndNotice,
    /// An admin's "notify subscribers of this change" on a live campaign.
    UpdateNotice,
    /// A winner's own message: their prize and how to claim it. It goes the notices' ways.
    WinnerNotice,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirmation => "confirmation",
            Purpose::Reply => "reply",
            Purpose::EndNotice => "end_notice",
            Purpose::UpdateNotice => "update_notice",
            Purpose::WinnerNotice => "winner_notice",
        }
    }
}

/// How a notice reaches people outside the window, as the admin chose for the campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticePath {
    /// An approved utility template.
    Automatic,
    /// `CONFIRMED_EVENT_UPDATE`, falling back to the template when allowed.
    Tag { fallback_to_utility: bool },
}

/// Everything the decision depends on.
#[derive(Clone, Debug)]
pub struct Situation {
    pub purpose: Purpose,
    pub now: i64,
    pub last_interaction_at: i64,
    pub unreachable: bool,
    /// The person sent STOP to the Page: no notice until they write again or send START.
    pub opted_out: bool,
    pub notice_path: NoticePath,
    /// Where the Page's utility template for notices stands with Meta.
    pub template: TemplateState,
    /// Meta already refused the tag for this send (code 100 since the retirement).
    pub tag_refused: bool,
}

/// Where the Page's utility template stands: whether it can carry a notice outside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateState {
    /// Not created yet: the sender creates it on first use.
    Missing,
    /// The admin who connected the Page has not granted `pages_utility_messaging` (Meta refused
    /// the template webhook field, or the login left it out): no template can be made.
    NoPermission,
    /// Meta refused the creation call; it is tried again later, with a backoff.
    CreationFailed,
    /// Created, waiting for Meta's review (the answer comes by webhook), or in appeal.
    Pending,
    /// Usable: APPROVED, and FLAGGED or REINSTATED, which Meta still delivers.
    Approved,
    /// Rejected, paused, disabled or being deleted by Meta: it cannot carry notices.
    Refused,
}

impl TemplateState {
    /// Every status of Meta's template review (facts file §3a), plus our `ERROR` for a creation
    /// Meta refused. An unknown status is taken as not usable: sending on a guess would fail.
    pub fn of(status: Option<&str>) -> TemplateState {
        match status {
            None => TemplateState::Missing,
            Some("APPROVED" | "FLAGGED" | "REINSTATED") => TemplateState::Approved,
            Some("PENDING" | "IN_APPEAL") => TemplateState::Pending,
            Some("ERROR") => TemplateState::CreationFailed,
            Some(_) => TemplateState::Refused,
        }
    }

    /// Why a notice outside the window waits, in the admin's words.
    pub fn waiting_reason(self) -> &'static str {
        match self {
            TemplateState::Missing => "waiting for the Page's utility template to be created",
            TemplateState::NoPermission => {
                "outside the 24-hour window, and the Page's admin has not granted pages_utility_messaging"
            }
            TemplateState::CreationFailed => {
                "outside the 24-hour window, and Meta refused to create the Page's utility template"
            }
            TemplateState::Pending => "waiting for Meta to approve the Page's utility template",
            TemplateState::Refused => {
                "outside the 24-hour window, and Meta refused the Page's utility template"
            }
            TemplateState::Approved => "",
        }
    }
}

/// How a message goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `messaging_type: RESPONSE`, any content: only inside the window, and only for a reply to
    /// what the person just did (the confirmation of their entry).
    Response,
    /// `messaging_type: UPDATE`, any content: only inside the window, for what the Page sends
    /// of its own accord (notices). Facts file §3: `RESPONSE` means "in reply to a message".
    Update,
    /// `messaging_type: UTILITY` with an approved template.
    Utility,
    /// `messaging_type: MESSAGE_TAG`, `tag: CONFIRMED_EVENT_UPDATE`.
    Tag,
}

impl Path {
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Response => "response",
            Path::Update => "update",
            Path::Utility => "utility",
            Path::Tag => "tag",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Send(Path),
    /// Not sent, and why, in words shown to the admin.
    Hold(String),
    /// Not yet: the message stays queued until the reason goes away (a template under review).
    Wait(String),
}

/// Why a notice did not go to someone who sent STOP: the admin's figures count it by these words.
pub const OPTED_OUT: &str = "opted out: the person sent STOP to the Page";

pub fn inside_window(last_interaction_at: i64, now: i64) -> bool {
    last_interaction_at > 0 && now - last_interaction_at < WINDOW_MS
}

/// Never `HUMAN_AGENT` (automation is not a human) and never promotional content outside the
/// window: outside it only the utility template or the notice tag carry a message.
pub fn decide(s: &Situation) -> Decision {
    if s.unreachable {
        return Decision::Hold("the person blocked the Page or cannot be reached".into());
    }
    // An answer to what the person just wrote still goes (their STOP is answered once); nothing
    // the Page sends of its own accord does.
    if s.opted_out && !matches!(s.purpose, Purpose::Confirmation | Purpose::Reply) {
        return Decision::Hold(OPTED_OUT.into());
    }
    if inside_window(s.last_interaction_at, s.now) {
        return Decision::Send(match s.purpose {
            Purpose::Confirmation | Purpose::Reply => Path::Response,
            Purpose::EndNotice | Purpose::UpdateNotice | Purpose::WinnerNotice => Path::Update,
        });
    }
    // Whatever keeps the template from carrying the notice can be fixed by the admin (grant the
    // permission, fix or appeal the template), so the notice waits; the sender ends it as not
    // sent once it has waited `NOTICE_WAIT_LIMIT_SECONDS`.
    let utility = || match s.template {
        TemplateState::Approved => Decision::Send(Path::Utility),
        other => Decision::Wait(other.waiting_reason().into()),
    };
    match (s.purpose, s.notice_path) {
        (Purpose::Confirmation, _) => Decision::Hold(
            "outside the 24-hour window: a confirmation only goes out as a reply".into(),
        ),
        (Purpose::Reply, _) => {
            Decision::Hold("outside the 24-hour window: an answer only goes out as a reply".into())
        }
        (_, NoticePath::Automatic) => utility(),
        (_, NoticePath::Tag { .. }) if !s.tag_refused => Decision::Send(Path::Tag),
        (
            _,
            NoticePath::Tag {
                fallback_to_utility: true,
            },
        ) => utility(),
        (
            _,
            NoticePath::Tag {
                fallback_to_utility: false,
            },
        ) => Decision::Hold(
            "tag retired by Meta, and the campaign does not allow the utility template".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn situation(purpose: Purpose, hours_ago: i64, path: NoticePath) -> Situation {
        Situation {
            purpose,
            now: NOW,
            last_interaction_at: NOW - hours_ago * 3600 * 1000,
            unreachable: false,
            opted_out: false,
            notice_path: path,
            template: TemplateState::Approved,
            tag_refused: false,
        }
    }

    #[test]
    fn inside_the_window_everything_is_a_normal_message() {
        // Only the confirmation answers the person; notices are the Page's own updates.
        for (purpose, path) in [
            (Purpose::Confirmation, Path::Response),
            (Purpose::Reply, Path::Response),
            (Purpose::EndNotice, Path::Update),
            (Purpose::UpdateNotice, Path::Update),
        ] {
            for notice_path in [
                NoticePath::Automatic,
                NoticePath::Tag {
                    fallback_to_utility: false,
                },
            ] {
                assert_eq!(
                    decide(&situation(purpose, 23, notice_path)),
                    Decision::Send(path),
                    "{purpose:?} {notice_path:?}"
                );
            }
        }
    }

    #[test]
    fn outside_the_window_only_templates_or_the_tag() {
        let automatic = situation(Purpose::EndNotice, 25, NoticePath::Automatic);
        assert_eq!(decide(&automatic), Decision::Send(Path::Utility));
        // Whatever keeps the template from carrying it, the notice waits (the admin can fix it).
        for (waiting, words) in [
            (TemplateState::Missing, "created"),
            (TemplateState::Pending, "approve"),
            (TemplateState::NoPermission, "pages_utility_messaging"),
            (TemplateState::CreationFailed, "refused to create"),
            (
                TemplateState::Refused,
                "refused the Page's utility template",
            ),
        ] {
            let s = Situation {
                template: waiting,
                ..automatic.clone()
            };
            assert!(
                matches!(decide(&s), Decision::Wait(ref r) if r.contains(words)),
                "{waiting:?}"
            );
        }
        for answer in [Purpose::Confirmation, Purpose::Reply] {
            let late = situation(answer, 25, NoticePath::Automatic);
            assert!(matches!(decide(&late), Decision::Hold(r) if r.contains("reply")));
        }
    }

    #[test]
    fn every_review_status_of_meta_is_mapped() {
        use TemplateState::*;
        for (status, state) in [
            (None, Missing),
            (Some("APPROVED"), Approved),
            (Some("FLAGGED"), Approved),
            (Some("REINSTATED"), Approved),
            (Some("PENDING"), Pending),
            (Some("IN_APPEAL"), Pending),
            (Some("REJECTED"), Refused),
            (Some("PAUSED"), Refused),
            (Some("DISABLED"), Refused),
            (Some("PENDING_DELETION"), Refused),
            (Some("ERROR"), CreationFailed),
            (Some("SOMETHING_NEW"), Refused),
        ] {
            assert_eq!(TemplateState::of(status), state, "{status:?}");
        }
    }

    #[test]
    fn the_retired_tag_falls_back_only_when_allowed() {
        let tag = situation(
            Purpose::EndNotice,
            48,
            NoticePath::Tag {
                fallback_to_utility: true,
            },
        );
        assert_eq!(decide(&tag), Decision::Send(Path::Tag));
        let refused = Situation {
            tag_refused: true,
            ..tag.clone()
        };
        assert_eq!(decide(&refused), Decision::Send(Path::Utility));
        let strict = Situation {
            notice_path: NoticePath::Tag {
                fallback_to_utility: false,
            },
            ..refused
        };
        assert!(matches!(decide(&strict), Decision::Hold(r) if r.contains("tag retired by Meta")));
    }

    #[test]
    fn unreachable_people_are_never_sent_to() {
        let s = Situation {
            unreachable: true,
            ..situation(Purpose::Confirmation, 0, NoticePath::Automatic)
        };
        assert!(matches!(decide(&s), Decision::Hold(r) if r.contains("blocked")));
    }

    #[test]
    fn after_stop_no_notice_goes_but_the_answer_does() {
        for notice in [
            Purpose::EndNotice,
            Purpose::UpdateNotice,
            Purpose::WinnerNotice,
        ] {
            for hours in [0, 48] {
                let s = Situation {
                    opted_out: true,
                    ..situation(notice, hours, NoticePath::Automatic)
                };
                assert_eq!(decide(&s), Decision::Hold(OPTED_OUT.into()), "{notice:?}");
            }
        }
        let answer = Situation {
            opted_out: true,
            ..situation(Purpose::Reply, 0, NoticePath::Automatic)
        };
        assert_eq!(decide(&answer), Decision::Send(Path::Response));
    }
}
