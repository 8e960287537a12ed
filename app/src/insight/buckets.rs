//! The stored counts (per quarter of an hour, UTC) put into the admin's hours or days: every
//! zone's hours and days start on a quarter, so each quarter falls whole into one of them, on
//! either side of a day boundary and across a change of summer time.

use super::charts::{self, Series};
use super::store::Counted;
use super::{Counts, EntriesBucket, Insight, MessagesDay, SourceRow, QUARTER_MS};
use crate::campaigns::Campaign;
use crate::entries::EntrySource;
use crate::messenger::MessageStatus;
use jiff::{tz::TimeZone, Timestamp, ToSpan, Zoned};
use std::collections::BTreeMap;

/// Hours shown by hour: the last two days of the campaign (or until now).
const HOURS_SHOWN: i64 = 48;
/// Days shown at most by day (the most recent).
const DAYS_SHOWN: usize = 120;
/// Days of messages shown at most (the most recent).
const MESSAGE_DAYS: usize = 31;
const HOUR_MS: i64 = 3_600_000;

/// Consecutive hours or days in a zone: where each starts (ms) and its label.
pub(super) struct Buckets {
    starts: Vec<i64>,
    labels: Vec<String>,
    end: i64,
}

impl Buckets {
    fn zoned(ms: i64, tz: &TimeZone) -> Zoned {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(tz.clone())
    }

    /// The hours from the one holding `from` to the one holding `until` (the last
    /// [`HOURS_SHOWN`] of them).
    pub(super) fn hours(tz: &TimeZone, from: i64, until: i64) -> Buckets {
        let from = from.max(until - HOURS_SHOWN * HOUR_MS);
        let first = Self::zoned(from, tz);
        // Local hours start on the quarter the zone's offset puts them on.
        let offset_ms = i64::from(first.offset().seconds()) * 1000;
        let start = (from + offset_ms).div_euclid(HOUR_MS) * HOUR_MS - offset_ms;
        let mut t = Self::zoned(start, tz);
        let mut out = Buckets {
            starts: Vec::new(),
            labels: Vec::new(),
            end: start,
        };
        while out.end <= until {
            out.starts.push(out.end);
            out.labels.push(t.strftime("%b %-d %H:%M").to_string());
            t = match t.checked_add(1.hour()) {
                Ok(next) => next,
                Err(_) => break,
            };
            out.end = t.timestamp().as_millisecond();
        }
        out
    }

    /// The days from the one holding `from` to the one holding `until` (the last `cap`).
    pub(super) fn days(tz: &TimeZone, from: i64, until: i64, cap: usize) -> Buckets {
        let mut t = match Self::zoned(from, tz).start_of_day() {
            Ok(t) => t,
            Err(_) => Self::zoned(from, tz),
        };
        let mut out = Buckets {
            starts: Vec::new(),
            labels: Vec::new(),
            end: t.timestamp().as_millisecond(),
        };
        while out.end <= until {
            out.starts.push(out.end);
            out.labels.push(t.strftime("%b %-d").to_string());
            t = match t.checked_add(1.day()).and_then(|d| d.start_of_day()) {
                Ok(next) => next,
                Err(_) => break,
            };
            out.end = t.timestamp().as_millisecond();
        }
        if out.starts.len() > cap {
            let cut = out.starts.len() - cap;
            out.starts.drain(..cut);
            out.labels.drain(..cut);
        }
        out
    }

    /// The bucket holding the time `ms`, if one does.
    pub(super) fn index(&self, ms: i64) -> Option<usize> {
        if self.starts.first().is_none_or(|first| ms < *first) || ms >= self.end {
            return None;
        }
        Some(self.starts.partition_point(|s| *s <= ms) - 1)
    }

    pub(super) fn labels(&self) -> &[String] {
        &self.labels
    }
}

fn source_label(source: EntrySource, origin: &str) -> String {
    match source {
        EntrySource::Page => "Entry page".into(),
        EntrySource::Widget if origin.is_empty() => "Widget".into(),
        EntrySource::Widget => format!("Widget on {origin}"),
        EntrySource::Qr => "QR code".into(),
        EntrySource::Direct => "Forwarded Messenger link".into(),
    }
}

/// Everything the panel shows.
pub(super) fn insight(
    campaign: &Campaign,
    counted: &[Counted],
    messages: &[(i64, MessageStatus, i64)],
    zone: &str,
    by_day: bool,
    live: bool,
    now: i64,
) -> Insight {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let mut totals = Counts::default();
    // By source in the order they are declared, then by origin.
    let mut sources: BTreeMap<(usize, String), Counts> = BTreeMap::new();
    let order = |s: EntrySource| EntrySource::ALL.iter().position(|a| *a == s).unwrap_or(0);
    let mut tags: BTreeMap<String, Counts> = BTreeMap::new();
    for row in counted {
        totals.add(&row.counts);
        sources
            .entry((order(row.from.source), row.from.origin.clone()))
            .or_default()
            .add(&row.counts);
        if !row.from.utm_source.is_empty() {
            tags.entry(row.from.utm_source.clone())
                .or_default()
                .add(&row.counts);
        }
    }

    // Entries over the campaign: from its start (or the first count, a view of the page
    // before it opened) to its end or now.
    let first = counted.first().map(|r| r.quarter * QUARTER_MS);
    let last = counted.last().map(|r| (r.quarter + 1) * QUARTER_MS - 1);
    let from = first.map_or(campaign.starts_at_ms, |f| f.min(campaign.starts_at_ms));
    let until = now
        .min(campaign.ends_at_ms)
        .max(last.unwrap_or(i64::MIN))
        .max(from);
    let buckets = if by_day {
        Buckets::days(&tz, from, until, DAYS_SHOWN)
    } else {
        Buckets::hours(&tz, from, until)
    };
    let mut entries: Vec<EntriesBucket> = buckets
        .labels()
        .iter()
        .map(|label| EntriesBucket {
            label: label.clone(),
            started: 0,
            confirmed: 0,
        })
        .collect();
    for row in counted {
        if let Some(i) = buckets.index(row.quarter * QUARTER_MS) {
            entries[i].started += row.counts.started;
            entries[i].confirmed += row.counts.confirmed;
        }
    }

    // Messages per day, from the first day one was sent to the last (or today).
    let mut days: Vec<MessagesDay> = Vec::new();
    let mut day_labels = Vec::new();
    if let (Some(first), Some(last)) = (
        messages.iter().map(|m| m.0).min(),
        messages.iter().map(|m| m.0).max(),
    ) {
        let day_buckets = Buckets::days(
            &tz,
            first * QUARTER_MS,
            ((last + 1) * QUARTER_MS - 1).max(now.min(campaign.ends_at_ms)),
            MESSAGE_DAYS,
        );
        days = day_buckets
            .labels()
            .iter()
            .map(|label| MessagesDay {
                label: label.clone(),
                ..Default::default()
            })
            .collect();
        for (quarter, status, n) in messages {
            if let Some(i) = day_buckets.index(quarter * QUARTER_MS) {
                crate::notices::stats::add(&mut days[i].counts, *status, *n);
            }
        }
        day_labels = day_buckets.labels().to_vec();
    }

    let funnel_svg = charts::funnel(
        "funnel",
        "The funnel: how many saw the giveaway, tapped Subscribe, started and finished in Messenger",
        &[
            ("Saw the page", totals.views),
            ("Tapped Subscribe", totals.taps),
            ("Started an entry", totals.started),
            ("Entered in Messenger", totals.confirmed),
        ],
    );
    let entries_svg = charts::bars(
        "entries",
        &format!(
            "Entries per {} ({zone})",
            if by_day { "day" } else { "hour" }
        ),
        buckets.labels(),
        &[
            Series {
                name: "started",
                class: "s-started",
                values: entries.iter().map(|b| b.started).collect(),
            },
            Series {
                name: "entered",
                class: "s-confirmed",
                values: entries.iter().map(|b| b.confirmed).collect(),
            },
        ],
    );
    let series = |name, class, pick: fn(&MessagesDay) -> i64| Series {
        name,
        class,
        values: days.iter().map(pick).collect(),
    };
    let messages_svg = charts::bars(
        "messages",
        &format!("Messages per day ({zone})"),
        &day_labels,
        &[
            series("sent", "s-sent", |d| d.counts.sent),
            series("delivered", "s-delivered", |d| d.counts.delivered),
            series("read", "s-read", |d| d.counts.read),
            series("failed", "s-failed", |d| d.counts.failed),
            series("not sent", "s-not-sent", |d| d.counts.not_sent),
        ],
    );
    Insight {
        zone: zone.to_string(),
        by_day,
        live,
        ended: false,
        totals,
        funnel_svg,
        sources: sources
            .into_iter()
            .map(|((source, origin), counts)| {
                let source = EntrySource::ALL[source];
                SourceRow {
                    key: source.as_str().to_string(),
                    label: source_label(source, &origin),
                    counts,
                }
            })
            .collect(),
        tags: tags
            .into_iter()
            .map(|(tag, counts)| SourceRow {
                key: tag.clone(),
                label: tag,
                counts,
            })
            .collect(),
        entries_svg,
        entries,
        messages_svg,
        messages: days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn hours_cross_midnight_in_the_admins_zone() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 23:10 on the 27th and 00:10 on the 28th in New York (UTC-5).
        let (before, after) = (ms("2026-11-28T04:10:00Z"), ms("2026-11-28T05:10:00Z"));
        let hours = Buckets::hours(&tz, before, after);
        assert_eq!(hours.labels(), ["Nov 27 23:00", "Nov 28 00:00"]);
        assert_eq!(hours.index(before), Some(0));
        assert_eq!(hours.index(after), Some(1));
        let days = Buckets::days(&tz, before, after, 10);
        assert_eq!(days.labels(), ["Nov 27", "Nov 28"]);
        assert_eq!(days.index(ms("2026-11-28T04:59:59Z")), Some(0));
        assert_eq!(days.index(ms("2026-11-28T05:00:00Z")), Some(1));
    }

    #[test]
    fn half_hour_zones_start_their_hours_on_the_half_hour() {
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        // 18:29 and 18:30 UTC are 23:59 and 00:00 in India (UTC+5:30).
        let hours = Buckets::hours(&tz, ms("2026-11-27T18:29:00Z"), ms("2026-11-27T18:30:00Z"));
        assert_eq!(hours.labels(), ["Nov 27 23:00", "Nov 28 00:00"]);
        let days = Buckets::days(
            &tz,
            ms("2026-11-27T18:29:00Z"),
            ms("2026-11-27T18:30:00Z"),
            9,
        );
        assert_eq!(days.labels(), ["Nov 27", "Nov 28"]);
    }

    #[test]
    fn a_summer_time_day_has_its_own_length() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        // 2026-10-25 lasts 25 hours in Paris.
        let days = Buckets::days(
            &tz,
            ms("2026-10-24T12:00:00Z"),
            ms("2026-10-26T12:00:00Z"),
            9,
        );
        assert_eq!(days.labels(), ["Oct 24", "Oct 25", "Oct 26"]);
        assert_eq!(days.index(ms("2026-10-25T23:30:00Z")), Some(2));
        assert_eq!(days.index(ms("2026-10-25T22:30:00Z")), Some(1));
    }
}
