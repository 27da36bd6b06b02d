//! When a schedule fires, computed on the local calendar of an IANA time zone.
//!
//! The `cron` crate parses expressions, but its own iteration is not trusted across daylight
//! saving: it is run on the naive local calendar (as if the zone had no transitions), and each
//! local slot is then placed in time here. A local time that does not exist (spring forward)
//! fires at the first valid instant after it; a repeated local time (fall back) fires once, at
//! the earlier instant. Slots that land on the same instant fire once.

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Timelike as _, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::error::UserError;

/// Most active (running, unfinished) schedules one server may have.
pub const MAX_ACTIVE_SCHEDULES: usize = 500;

/// A parsed "when": a cron expression, or every N weeks on a weekday.
#[derive(Clone, Debug)]
pub struct CronSpec {
    kind: Kind,
    /// The expression as people wrote it.
    pub source: String,
}

#[derive(Clone, Debug)]
enum Kind {
    Cron(Box<cron::Schedule>),
    EveryWeeks {
        weeks: u32,
        time: NaiveTime,
        /// The first date the schedule can fire on; every `weeks` weeks from it.
        anchor: NaiveDate,
    },
    /// A one-shot follow-up.
    Once(NaiveDateTime),
}

fn bad(text: &str, why: impl std::fmt::Display) -> UserError {
    UserError::BadSchedule {
        given: crate::domain::text::clip(text, 60),
        why: why.to_string(),
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

fn weekday(word: &str) -> Option<Weekday> {
    let word = word.trim_end_matches('s');
    if word.len() < 3 {
        return None;
    }
    WEEKDAYS
        .iter()
        .find(|(name, _)| name.starts_with(word))
        .map(|(_, d)| *d)
}

/// A time of day: `16:00`, `08:00`, `8am`, `8:30pm` (see `dates::read_time`).
fn clock(word: &str) -> Option<NaiveTime> {
    super::dates::read_time(word)
}

/// The words of a schedule, with a separate `am` or `pm` joined to the time before it, so
/// `daily 8:30 pm` reads like `daily 8:30pm`.
fn joined_words(lower: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in lower.split_whitespace() {
        let half = matches!(word, "am" | "pm" | "a.m." | "p.m.");
        match words.last_mut() {
            Some(last) if half && last.starts_with(|c: char| c.is_ascii_digit()) => {
                last.push_str(word);
            }
            _ => words.push(word.to_owned()),
        }
    }
    words
}

/// The cron crate counts Sunday as 1; people write Sunday as 0 or 7. Numbers in a 5-field
/// day-of-week become names, which both agree on.
fn day_of_week_names(field: &str) -> String {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let mut out = String::new();
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        if !number.is_empty() {
            match number.parse::<usize>().ok().and_then(|n| NAMES.get(n)) {
                Some(name) => out.push_str(name),
                None => out.push_str(number),
            }
            number.clear();
        }
    };
    let mut after_slash = false;
    for ch in field.chars() {
        if ch.is_ascii_digit() && !after_slash {
            number.push(ch);
        } else {
            flush(&mut number, &mut out);
            if ch != '/' && !ch.is_ascii_digit() {
                after_slash = false;
            }
            if ch == '/' {
                after_slash = true;
            }
            out.push(ch);
        }
    }
    flush(&mut number, &mut out);
    out
}

impl CronSpec {
    /// Reads what people write: 5-field cron (`30 7 * * 1-5`), the cron crate's own form
    /// (with seconds), or a preset: `daily 07:00`, `weekdays 08:00`, `mondays 15:30`,
    /// `every 2 weeks on tuesday 16:00`. `today` anchors "every N weeks".
    pub fn parse(text: &str, today: NaiveDate) -> Result<Self, UserError> {
        let source = text.trim().to_owned();
        let lower = source.to_lowercase();
        let joined = joined_words(&lower);
        let words: Vec<&str> = joined.iter().map(String::as_str).collect();
        let cron_text = match words.as_slice() {
            ["once", date, at] => {
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .map_err(|_| bad(text, "the date should look like 2026-12-07"))?;
                let time =
                    clock(at).ok_or_else(|| bad(text, "the time should look like 16:00 or 4pm"))?;
                let slot = date.and_time(time);
                return Ok(Self {
                    kind: Kind::Once(slot),
                    source: format!("once {}", slot.format("%Y-%m-%d %H:%M")),
                });
            }
            ["daily" | "everyday", at] | ["every", "day", at] => {
                let time =
                    clock(at).ok_or_else(|| bad(text, "the time should look like 07:00 or 7am"))?;
                format!("0 {} {} * * *", time.format("%-M"), time.format("%-H"))
            }
            ["weekdays", at] | ["every", "weekday", at] => {
                let time =
                    clock(at).ok_or_else(|| bad(text, "the time should look like 08:00 or 8am"))?;
                format!(
                    "0 {} {} * * MON-FRI",
                    time.format("%-M"),
                    time.format("%-H")
                )
            }
            ["every", count, "weeks", "on", day, at, rest @ ..] => {
                let weeks: u32 = count
                    .parse()
                    .ok()
                    .filter(|n| (1..=52).contains(n))
                    .ok_or_else(|| bad(text, "say how many weeks, from 1 to 52"))?;
                let weekday = weekday(day)
                    .ok_or_else(|| bad(text, format!("`{day}` is not a day of the week")))?;
                let time =
                    clock(at).ok_or_else(|| bad(text, "the time should look like 16:00 or 4pm"))?;
                let start = match rest {
                    [] => today,
                    ["from", date] => NaiveDate::parse_from_str(date, "%Y-%m-%d")
                        .map_err(|_| bad(text, "the start date should look like 2026-12-01"))?,
                    _ => return Err(bad(text, "end it with the time, or `from 2026-12-01`")),
                };
                let ahead = (7 + weekday.num_days_from_monday()
                    - start.weekday().num_days_from_monday())
                    % 7;
                let anchor = start
                    .checked_add_days(Days::new(u64::from(ahead)))
                    .ok_or_else(|| bad(text, "that start date is out of range"))?;
                let source = format!(
                    "every {weeks} weeks on {} {} from {}",
                    WEEKDAYS
                        .iter()
                        .find(|(_, d)| *d == weekday)
                        .map_or("", |(n, _)| n),
                    time.format("%H:%M"),
                    anchor
                );
                return Ok(Self {
                    kind: Kind::EveryWeeks {
                        weeks,
                        time,
                        anchor,
                    },
                    source,
                });
            }
            [day, at] | ["every", day, at] if weekday(day).is_some() => {
                let time = clock(at)
                    .ok_or_else(|| bad(text, "the time should look like 15:30 or 3:30pm"))?;
                let name = WEEKDAYS
                    .iter()
                    .find(|(_, d)| Some(*d) == weekday(day))
                    .map_or("", |(n, _)| n);
                format!(
                    "0 {} {} * * {}",
                    time.format("%-M"),
                    time.format("%-H"),
                    &name[..3].to_uppercase()
                )
            }
            fields if fields.len() == 5 => {
                let mut fields: Vec<String> =
                    source.split_whitespace().map(str::to_owned).collect();
                fields[4] = day_of_week_names(&fields[4]);
                format!("0 {}", fields.join(" "))
            }
            fields if fields.len() == 6 || fields.len() == 7 || lower.starts_with('@') => {
                source.clone()
            }
            _ => {
                return Err(bad(
                    text,
                    "write it like `weekdays 08:00`, `mondays 15:30`, `every 2 weeks on tuesday 16:00`, or cron such as `30 7 * * 1-5`",
                ));
            }
        };
        let schedule = cron::Schedule::from_str(&cron_text).map_err(|e| bad(text, e))?;
        Ok(Self {
            kind: Kind::Cron(Box::new(schedule)),
            source,
        })
    }

    /// Refuses a schedule that can fire more than once in an hour (every minute, every ten
    /// minutes, every second): check-ins that often would only be noise. Presets, one-shots and
    /// cron with one minute (and one second) fire at most once an hour.
    pub fn at_most_hourly(&self) -> Result<(), UserError> {
        use cron::TimeUnitSpec as _;
        let Kind::Cron(schedule) = &self.kind else {
            return Ok(());
        };
        let (seconds, minutes) = (schedule.seconds().count(), schedule.minutes().count());
        if seconds <= 1 && minutes <= 1 {
            return Ok(());
        }
        let how_often = if seconds > 1 {
            "more than once a minute"
        } else if minutes == 60 {
            "every minute"
        } else {
            "more than once an hour"
        };
        Err(UserError::TooFrequent {
            given: crate::domain::text::clip(&self.source, 60),
            how_often,
        })
    }

    /// The next naive local slot strictly after `after`.
    fn next_slot(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        match &self.kind {
            Kind::Cron(schedule) => schedule
                .after(&Utc.from_utc_datetime(&after))
                .next()
                .map(|t| t.naive_utc()),
            Kind::Once(slot) => (*slot > after).then_some(*slot),
            Kind::EveryWeeks {
                weeks,
                time,
                anchor,
                ..
            } => {
                let period = i64::from(*weeks) * 7;
                let first = anchor.and_time(*time);
                if after < first {
                    return Some(first);
                }
                let days = (after.date() - *anchor).num_days();
                let mut k = days.div_euclid(period);
                loop {
                    let date =
                        anchor.checked_add_days(Days::new(u64::try_from(k * period).ok()?))?;
                    let slot = date.and_time(*time);
                    if slot > after {
                        return Some(slot);
                    }
                    k += 1;
                }
            }
        }
    }

    /// The first time it fires after `after`, or a clear error when it never does.
    pub fn first_after(&self, zone: Tz, after: DateTime<Utc>) -> Result<DateTime<Utc>, UserError> {
        self.next_after(zone, after)
            .ok_or_else(|| UserError::BadSchedule {
                given: super::text::clip(&self.source, 60),
                why: "it never fires".to_owned(),
            })
    }

    /// The first fire strictly after `after`, in `zone`.
    pub fn next_after(&self, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut slot = after.with_timezone(&zone).naive_local();
        // A bounded walk: every slot is at most one local transition away from its instant.
        for _ in 0..10_000 {
            slot = self.next_slot(slot)?;
            let at = place(zone, slot)?;
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// The next `count` fires after `after`.
    pub fn upcoming(&self, zone: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = after;
        while out.len() < count {
            let Some(next) = self.next_after(zone, cursor) else {
                break;
            };
            out.push(next);
            cursor = next;
        }
        out
    }
}

/// What to do about the occurrences that came due by `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// The one occurrence to send: the latest, if it is still within the grace window.
    pub fire: Option<DateTime<Utc>>,
    /// Occurrences too late to send: recorded, never sent.
    pub missed: Vec<DateTime<Utc>>,
    /// The next occurrence after `now`.
    pub next: Option<DateTime<Utc>>,
}

/// Most missed occurrences recorded one by one after a long outage; older ones are dropped.
const MISSED_KEPT: usize = 100;

impl CronSpec {
    /// After downtime, at most one message: the latest occurrence within `grace` of `now`
    /// fires; every other occurrence since `first_due` is missed.
    pub fn due(
        &self,
        zone: Tz,
        first_due: DateTime<Utc>,
        now: DateTime<Utc>,
        grace: TimeDelta,
    ) -> Due {
        let mut occurrences = Vec::new();
        let mut cursor = Some(first_due);
        while let Some(at) = cursor.filter(|at| *at <= now) {
            occurrences.push(at);
            if occurrences.len() > MISSED_KEPT {
                occurrences.remove(0);
            }
            cursor = self.next_after(zone, at);
        }
        let fire = occurrences
            .last()
            .copied()
            .filter(|last| now - *last <= grace);
        if fire.is_some() {
            occurrences.pop();
        }
        Due {
            fire,
            missed: occurrences,
            next: self.next_after(zone, now),
        }
    }
}

/// The instant a local slot fires at: itself; the earlier of two; or, when the local time does
/// not exist, the first valid instant after it (the transition).
pub fn place(zone: Tz, slot: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&slot) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, later) => Some(earlier.min(later).with_timezone(&Utc)),
        LocalResult::None => {
            // Walk forward a minute at a time to the first local time that exists; that is the
            // transition instant. Gaps are whole minutes and at most a day.
            let mut probe = slot;
            for _ in 0..(26 * 60) {
                probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
                let truncated = probe.with_second(0)?.with_nanosecond(0)?;
                match zone.from_local_datetime(&truncated) {
                    LocalResult::Single(at) => {
                        return Some(transition_before(zone, at.with_timezone(&Utc)));
                    }
                    LocalResult::Ambiguous(a, b) => return Some(a.min(b).with_timezone(&Utc)),
                    LocalResult::None => {}
                }
            }
            None
        }
    }
}

/// `at` is the first whole minute after a gap; the transition may be earlier by seconds in
/// old zones. Step back second by second while the local time stays past the gap.
fn transition_before(zone: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc());
    let mut earliest = at;
    for _ in 0..60 {
        let before = earliest - TimeDelta::seconds(1);
        if offset(before) != offset(at) {
            break;
        }
        earliest = before;
    }
    earliest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn local(zone: Tz, at: DateTime<Utc>) -> String {
        at.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn spec(text: &str) -> CronSpec {
        CronSpec::parse(text, date(2025, 1, 1)).expect("valid")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("instant")
    }

    #[test]
    fn a_missing_local_time_fires_at_the_first_valid_instant_after_it() {
        let zone = chrono_tz::America::New_York;
        let fires = spec("30 2 * * *").upcoming(zone, utc(2025, 3, 8, 12, 0), 2);
        assert_eq!(local(zone, fires[0]), "2025-03-09 03:00 EDT");
        assert_eq!(local(zone, fires[1]), "2025-03-10 02:30 EDT");
    }

    #[test]
    fn a_repeated_local_time_fires_once_at_the_earlier_instant() {
        let zone = chrono_tz::America::New_York;
        let fires = spec("30 1 * * *").upcoming(zone, utc(2025, 11, 1, 12, 0), 2);
        assert_eq!(local(zone, fires[0]), "2025-11-02 01:30 EDT");
        assert_eq!(local(zone, fires[1]), "2025-11-03 01:30 EST");
    }

    #[test]
    fn lord_howe_half_hour_shift_is_handled() {
        // Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30 in October, back in April.
        let zone = chrono_tz::Australia::Lord_Howe;
        let fires = spec("15 2 * * *").upcoming(zone, utc(2025, 10, 4, 0, 0), 2);
        assert_eq!(local(zone, fires[0]), "2025-10-05 02:30 +11");
        assert_eq!(local(zone, fires[1]), "2025-10-06 02:15 +11");
        let fires = spec("45 1 * * *").upcoming(zone, utc(2025, 4, 5, 0, 0), 2);
        assert_eq!(local(zone, fires[0]), "2025-04-06 01:45 +11");
        assert_eq!(local(zone, fires[1]), "2025-04-07 01:45 +1030");
    }

    #[test]
    fn presets_and_five_field_cron_read_as_people_mean_them() {
        let zone = chrono_tz::America::Chicago;
        let from = utc(2026, 11, 23, 12, 0); // Monday 06:00 in Chicago
        let weekdays = spec("weekdays 08:00").upcoming(zone, from, 6);
        let days: Vec<String> = weekdays
            .iter()
            .map(|t| t.with_timezone(&zone).format("%a %H:%M").to_string())
            .collect();
        assert_eq!(
            days,
            [
                "Mon 08:00",
                "Tue 08:00",
                "Wed 08:00",
                "Thu 08:00",
                "Fri 08:00",
                "Mon 08:00"
            ]
        );
        let five = spec("0 8 * * 1-5").upcoming(zone, from, 6);
        assert_eq!(five, weekdays, "5-field cron counts Monday as 1");
        let sunday = spec("0 9 * * 0").upcoming(zone, from, 1);
        assert_eq!(
            sunday[0].with_timezone(&zone).format("%a").to_string(),
            "Sun"
        );
        let mondays = spec("mondays 15:30").upcoming(zone, from, 2);
        assert_eq!(local(zone, mondays[0]), "2026-11-23 15:30 CST");
        let crate_form = spec("0 30 15 * * Mon").upcoming(zone, from, 2);
        assert_eq!(crate_form, mondays);
    }

    #[test]
    fn every_two_weeks_keeps_its_rhythm() {
        let zone = chrono_tz::Europe::London;
        let every =
            CronSpec::parse("every 2 weeks on tuesday 16:00", date(2026, 11, 23)).expect("valid");
        assert_eq!(
            every.source,
            "every 2 weeks on tuesday 16:00 from 2026-11-24"
        );
        let fires = every.upcoming(zone, utc(2026, 11, 23, 0, 0), 3);
        let days: Vec<String> = fires.iter().map(|t| local(zone, *t)).collect();
        assert_eq!(
            days,
            [
                "2026-11-24 16:00 GMT",
                "2026-12-08 16:00 GMT",
                "2026-12-22 16:00 GMT"
            ]
        );
        let again =
            CronSpec::parse(&every.source, date(2027, 5, 5)).expect("its own source reads back");
        assert_eq!(again.upcoming(zone, utc(2026, 11, 23, 0, 0), 3), fires);
    }

    #[test]
    fn after_downtime_at_most_one_occurrence_fires() {
        let zone = chrono_tz::America::Chicago;
        let daily = spec("daily 07:00");
        let first = daily
            .next_after(zone, utc(2026, 11, 20, 0, 0))
            .expect("a fire");
        // Down for three days; back 30 minutes after the latest occurrence.
        let now = utc(2026, 11, 23, 13, 30);
        let due = daily.due(zone, first, now, TimeDelta::hours(2));
        assert_eq!(
            due.fire.map(|t| local(zone, t)),
            Some("2026-11-23 07:00 CST".to_owned())
        );
        assert_eq!(due.missed.len(), 3, "{due:?}");
        assert_eq!(
            due.next.map(|t| local(zone, t)),
            Some("2026-11-24 07:00 CST".to_owned())
        );
        // Back too late for the grace window: nothing fires, everything is missed.
        let due = daily.due(zone, first, utc(2026, 11, 23, 20, 0), TimeDelta::hours(2));
        assert_eq!(due.fire, None);
        assert_eq!(due.missed.len(), 4);
    }

    #[test]
    fn a_one_shot_fires_once() {
        let zone = chrono_tz::America::Chicago;
        let once = spec("once 2026-12-07 16:00");
        assert_eq!(once.source, "once 2026-12-07 16:00");
        let fires = once.upcoming(zone, utc(2026, 11, 23, 0, 0), 3);
        assert_eq!(fires.len(), 1);
        assert_eq!(local(zone, fires[0]), "2026-12-07 16:00 CST");
        assert_eq!(once.next_after(zone, fires[0]), None);
    }

    #[test]
    fn bad_schedules_say_what_to_write() {
        for text in [
            "whenever",
            "61 * * * *",
            "weekdays 25:00",
            "every 0 weeks on monday 10:00",
            "blursday 10:00",
        ] {
            assert!(
                matches!(
                    CronSpec::parse(text, date(2026, 1, 1)),
                    Err(UserError::BadSchedule { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn times_with_am_and_pm_are_read_in_presets() {
        let zone = chrono_tz::America::Chicago;
        let from = utc(2026, 11, 23, 12, 0); // Monday 06:00 in Chicago
        let at = |text: &str| local(zone, spec(text).upcoming(zone, from, 1)[0]);
        assert_eq!(at("weekdays 8am"), "2026-11-23 08:00 CST");
        assert_eq!(at("daily 8:30 pm"), "2026-11-23 20:30 CST");
        assert_eq!(at("daily 08:00"), "2026-11-23 08:00 CST");
        assert_eq!(at("mondays 3:30 PM"), "2026-11-23 15:30 CST");
        assert_eq!(at("every 2 weeks on tuesday 4pm"), "2026-11-24 16:00 CST");
        assert_eq!(at("once 2026-12-07 9am"), "2026-12-07 09:00 CST");
    }

    #[test]
    fn schedules_firing_more_than_hourly_are_refused_for_check_ins() {
        for text in [
            "* * * * *",
            "* * * * * *",
            "*/10 * * * *",
            "0,30 8 * * *",
            "*/5 8 * * * *",
        ] {
            let error = spec(text).at_most_hourly().expect_err(text);
            assert!(
                error.to_string().contains("at most once an hour"),
                "{text}: {error}"
            );
        }
        assert!(
            spec("* * * * *")
                .at_most_hourly()
                .expect_err("every minute")
                .to_string()
                .contains("every minute")
        );
        for text in [
            "0 * * * *",
            "30 7 * * 1-5",
            "0 30 15 * * Mon",
            "weekdays 8am",
            "daily 07:00",
            "every 2 weeks on tuesday 16:00",
            "once 2026-12-07 16:00",
        ] {
            assert_eq!(spec(text).at_most_hourly(), Ok(()), "{text}");
        }
    }

    fn every_zone(text: &str) {
        let spec = spec(text);
        for zone in chrono_tz::TZ_VARIANTS {
            check_zone(&spec, zone, utc(2025, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        }
    }

    #[test]
    fn every_zone_daily_fires_once_per_local_slot_for_two_years() {
        every_zone("30 1 * * *");
    }

    #[test]
    fn every_zone_weekly_fires_once_per_local_slot_for_two_years() {
        every_zone("0 2 * * SUN");
    }

    #[test]
    fn every_zone_half_hourly_fires_once_per_local_slot_for_two_years() {
        every_zone("*/30 * * * *");
    }

    /// Over every zone chrono-tz knows and two years: fires strictly increase; every local
    /// slot that exists fires exactly once, at its earlier instant; every slot that does not
    /// exist is covered by a fire at the first valid instant after it; nothing else fires.
    fn check_zone(spec: &CronSpec, zone: Tz, start: DateTime<Utc>, end: DateTime<Utc>) {
        let mut fires = Vec::new();
        let mut cursor = start;
        while let Some(next) = spec.next_after(zone, cursor) {
            if next >= end {
                break;
            }
            assert!(next > cursor, "{zone}: {next} does not come after {cursor}");
            fires.push(next);
            cursor = next;
        }
        let fired: std::collections::HashSet<DateTime<Utc>> = fires.iter().copied().collect();
        // Independent oracle: walk the naive local calendar slot by slot.
        let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc());
        let mut slot = start.with_timezone(&zone).naive_local();
        let last = end.with_timezone(&zone).naive_local() - TimeDelta::hours(30);
        let mut expected = std::collections::BTreeSet::new();
        while let Some(next) = spec.next_slot(slot) {
            slot = next;
            if slot > last {
                break;
            }
            let at = match zone.from_local_datetime(&slot) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    let (earlier, later) = if a < b { (a, b) } else { (b, a) };
                    assert!(
                        !fired.contains(&later.with_timezone(&Utc)),
                        "{zone}: {slot} fired twice"
                    );
                    earlier.with_timezone(&Utc)
                }
                LocalResult::None => {
                    // The first instant whose local time is past the slot.
                    let covering = fires
                        .iter()
                        .find(|f| f.with_timezone(&zone).naive_local() > slot)
                        .copied();
                    let covering = covering
                        .unwrap_or_else(|| panic!("{zone}: missing slot {slot} is never covered"));
                    let before = covering - TimeDelta::seconds(1);
                    assert_ne!(
                        offset(before),
                        offset(covering),
                        "{zone}: {slot} fired at {covering}, not at a transition"
                    );
                    covering
                }
            };
            expected.insert(at);
        }
        let within: Vec<DateTime<Utc>> = fires
            .into_iter()
            .filter(|f| f.with_timezone(&zone).naive_local() <= last)
            .collect();
        let expected: Vec<DateTime<Utc>> = expected.into_iter().collect();
        assert_eq!(within, expected, "{zone}: {}", spec.source);
    }
}
