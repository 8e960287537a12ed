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
    /// "The campaign has ended" (and who won, if the admin says so).
    EndNotice,
    /// An admin's "notify subscribers of this change" on a live campaign.
    UpdateNotice,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirmation => "confirmation",
            Purpose::EndNotice => "end_notice",
            Purpose::UpdateNotice => "update_notice",
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
    pub notice_path: NoticePath,
    /// Where the Page's utility template for notices stands with Meta.
    pub template: TemplateState,
    /// Meta already refused the tag for this send (code 100 since the retirement).
    pub tag_refused: bool,
}

/// Meta's review of the Page's utility template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateState {
    /// Not created yet: the sender creates it on first use.
    Missing,
    /// Created, waiting for Meta's review (the answer comes by webhook).
    Pending,
    Approved,
    /// Rejected, paused or disabled by Meta: it cannot carry notices.
    Refused,
}

impl TemplateState {
    pub fn of(status: Option<&str>) -> TemplateState {
        match status {
            None => TemplateState::Missing,
            Some("APPROVED") => TemplateState::Approved,
            Some("PENDING") => TemplateState::Pending,
            Some(_) => TemplateState::Refused,
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

pub fn inside_window(last_interaction_at: i64, now: i64) -> bool {
    last_interaction_at > 0 && now - last_interaction_at < WINDOW_MS
}

/// Never `HUMAN_AGENT` (automation is not a human) and never promotional content outside the
/// window: outside it only the utility template or the notice tag carry a message.
pub fn decide(s: &Situation) -> Decision {
    if s.unreachable {
        return Decision::Hold("the person blocked the Page or cannot be reached".into());
    }
    if inside_window(s.last_interaction_at, s.now) {
        return Decision::Send(match s.purpose {
            Purpose::Confirmation => Path::Response,
            Purpose::EndNotice | Purpose::UpdateNotice => Path::Update,
        });
    }
    let utility = || match s.template {
        TemplateState::Approved => Decision::Send(Path::Utility),
        TemplateState::Missing | TemplateState::Pending => {
            Decision::Wait("waiting for Meta to approve the Page's utility template".into())
        }
        TemplateState::Refused => Decision::Hold(
            "outside the 24-hour window, and Meta refused the Page's utility template".into(),
        ),
    };
    match (s.purpose, s.notice_path) {
        (Purpose::Confirmation, _) => Decision::Hold(
            "outside the 24-hour window: a confirmation only goes out as a reply".into(),
        ),
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
        // A template under review holds the notice back without dropping it.
        for waiting in [TemplateState::Missing, TemplateState::Pending] {
            let s = Situation {
                template: waiting,
                ..automatic.clone()
            };
            assert!(matches!(decide(&s), Decision::Wait(r) if r.contains("template")));
        }
        let refused = Situation {
            template: TemplateState::Refused,
            ..automatic
        };
        assert!(matches!(decide(&refused), Decision::Hold(r) if r.contains("refused")));
        let confirmation = situation(Purpose::Confirmation, 25, NoticePath::Automatic);
        assert!(matches!(decide(&confirmation), Decision::Hold(r) if r.contains("reply")));
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
}
