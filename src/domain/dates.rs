//! Dates as people type them: `2026-12-05`, `friday`, `tomorrow`, `in 2 weeks`, `Dec 5`.
//! Always read against "today" in the school's time zone, which the caller passes in.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

use crate::error::UserError;

use super::text;

/// How a server reads `12/05`: month first (the default) or day first. A server setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DateOrder {
    /// `12/05` is 5 December.
    #[default]
    MonthDay,
    /// `12/05` is 12 May.
    DayMonth,
}

impl DateOrder {
    /// The name stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            DateOrder::MonthDay => "month_day",
            DateOrder::DayMonth => "day_month",
        }
    }

    /// The order stored under `key`, if it is one.
    pub fn from_key(key: &str) -> Option<Self> {
        [DateOrder::MonthDay, DateOrder::DayMonth]
            .into_iter()
            .find(|o| o.key() == key)
    }

    /// How the order reads in a sentence, with an example.
    pub fn label(self) -> &'static str {
        match self {
            DateOrder::MonthDay => "month first (12/05 is 5 December)",
            DateOrder::DayMonth => "day first (12/05 is 12 May)",
        }
    }
}

/// Reads a time of day: `16:00`, `08:00`, `8am`, `8 am`, `8:30 pm`, `noon`.
pub fn parse_time(raw: &str) -> Result<NaiveTime, UserError> {
    read_time(raw).ok_or_else(|| UserError::BadSchedule {
        given: text::clip(raw, 20),
        why: "the time should look like 16:00, 8am or 8:30 pm".to_owned(),
    })
}

/// A time of day as people write it, or None.
pub fn read_time(raw: &str) -> Option<NaiveTime> {
    let lower = raw.trim().to_lowercase().replace('.', "");
    let compact: String = lower.split_whitespace().collect();
    match compact.as_str() {
        "noon" | "midday" => return NaiveTime::from_hms_opt(12, 0, 0),
        "midnight" => return NaiveTime::from_hms_opt(0, 0, 0),
        _ => {}
    }
    let (clock, half) = if let Some(rest) = compact.strip_suffix("am") {
        (rest, Some(false))
    } else if let Some(rest) = compact.strip_suffix("pm") {
        (rest, Some(true))
    } else {
        (compact.as_str(), None)
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        // Only with am or pm may the minutes be left out: `8am`.
        None if half.is_some() => (clock, "00"),
        None => return None,
    };
    if hour.is_empty()
        || hour.len() > 2
        || !hour
            .bytes()
            .chain(minute.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let (hour, minute): (u32, u32) = (hour.parse().ok()?, minute.parse().ok()?);
    let hour = match half {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(pm) => hour % 12 + if pm { 12 } else { 0 },
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// Reads a due date (`12/05` month first); refuses anything before `today`.
pub fn parse_due(raw: &str, today: NaiveDate, zone: &str) -> Result<NaiveDate, UserError> {
    parse_due_in(raw, today, zone, DateOrder::MonthDay)
}

/// Reads a due date, `12/05` in the server's `order`; refuses anything before `today`, saying
/// the weekday and date it was read as.
pub fn parse_due_in(
    raw: &str,
    today: NaiveDate,
    zone: &str,
    order: DateOrder,
) -> Result<NaiveDate, UserError> {
    let date = parse_date(raw, today, order).ok_or_else(|| UserError::UnreadableDate {
        given: text::clip(raw.trim(), 40),
    })?;
    if date < today {
        return Err(UserError::PastDate {
            date: text::day(date),
            today: text::day(today),
            zone: zone.to_owned(),
        });
    }
    Ok(date)
}

/// A date as a reply says it was read: `Fri 5 Dec 2026`, and "next year" when it is not in
/// today's year (`Nov 5` typed in December is next November).
pub fn as_read(date: NaiveDate, today: NaiveDate) -> String {
    let shown = text::day(date);
    match date.year() - today.year() {
        0 => shown,
        1 => format!("{shown} (next year)"),
        _ => format!("{shown} (in {})", date.year()),
    }
}

pub fn parse_date(raw: &str, today: NaiveDate, order: DateOrder) -> Option<NaiveDate> {
    let text = raw.trim().to_lowercase();
    let text = text.trim_end_matches('.');
    // `2026-12-05`, with all four digits of the year (chrono would read `05-12-27` too).
    if text.split('-').next().is_some_and(|y| y.len() == 4)
        && let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return Some(date);
    }
    match text {
        "today" => return Some(today),
        "tomorrow" => return today.checked_add_days(Days::new(1)),
        "yesterday" => return today.checked_sub_days(Days::new(1)),
        _ => {}
    }
    if let Some(date) = numeric(text, today, order) {
        return Some(date);
    }
    let monday =
        today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?;
    if let Some(weekday) = text.strip_prefix("next ").and_then(weekday) {
        // That day of next week (Monday to Sunday), never this week's.
        return monday.checked_add_days(Days::new(7 + u64::from(weekday.num_days_from_monday())));
    }
    if let Some(weekday) = text.strip_prefix("last ").and_then(weekday) {
        // The latest one before today.
        let back =
            (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let back = if back == 0 { 7 } else { back };
        return today.checked_sub_days(Days::new(u64::from(back)));
    }
    let bare = text.strip_prefix("this ").unwrap_or(text);
    if let Some(weekday) = weekday(bare) {
        // The coming one: a week from today when today is that day.
        let ahead =
            (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        let ahead = if ahead == 0 { 7 } else { ahead };
        return today.checked_add_days(Days::new(u64::from(ahead)));
    }
    if let Some(rest) = text.strip_prefix("in ") {
        let mut words = rest.split_whitespace();
        let count = number(words.next()?)?;
        let unit = words.next()?;
        if words.next().is_some() {
            return None;
        }
        return match unit.trim_end_matches('s') {
            "day" => today.checked_add_days(Days::new(count)),
            "week" => today.checked_add_days(Days::new(count.checked_mul(7)?)),
            "month" => today.checked_add_months(Months::new(u32::try_from(count).ok()?)),
            _ => None,
        };
    }
    month_day(text, today)
}

/// `12/05`, `12/5/2027`, `12-05-27`: month and day in the server's `order`, with an optional
/// year; without one, the next such date from today.
fn numeric(text: &str, today: NaiveDate, order: DateOrder) -> Option<NaiveDate> {
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (first, second, year) = match parts.as_slice() {
        [a, b] => (a, b, None),
        [a, b, y] if y.len() == 4 => (a, b, Some(y.parse::<i32>().ok()?)),
        [a, b, y] if y.len() == 2 => (a, b, Some(2000 + y.parse::<i32>().ok()?)),
        _ => return None,
    };
    if first.len() > 2 || second.len() > 2 {
        return None;
    }
    let (first, second): (u32, u32) = (first.parse().ok()?, second.parse().ok()?);
    let (month, day) = match order {
        DateOrder::MonthDay => (first, second),
        DateOrder::DayMonth => (second, first),
    };
    on_or_after(month, day, year, today)
}

/// The date with this month and day: in `year`, or else the next one from `today` on.
fn on_or_after(month: u32, day: u32, year: Option<i32>, today: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => {
            // Feb 29 waits for the next leap year.
            (0..=8).find_map(|ahead| {
                NaiveDate::from_ymd_opt(today.year() + ahead, month, day).filter(|d| *d >= today)
            })
        }
    }
}

/// `dec 5`, `5 december`, `december 5 2026`, `5 dec 2026`.
fn month_day(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (month, day, year) = match words.as_slice() {
        [a, b] => match (month(a), month(b)) {
            (Some(m), None) => (m, day(b)?, None),
            (None, Some(m)) => (m, day(a)?, None),
            _ => return None,
        },
        [a, b, y] => match (month(a), month(b)) {
            (Some(m), None) => (m, day(b)?, Some(y.parse::<i32>().ok()?)),
            (None, Some(m)) => (m, day(a)?, Some(y.parse::<i32>().ok()?)),
            _ => return None,
        },
        _ => return None,
    };
    on_or_after(month, day, year, today)
}

fn day(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn month(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(word.trim_end_matches('.')))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn weekday(word: &str) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    if word.len() < 3 {
        return None;
    }
    DAYS.iter()
        .find(|(name, _)| name.starts_with(word))
        .map(|(_, d)| *d)
}

fn number(word: &str) -> Option<u64> {
    const WORDS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    if matches!(word, "a" | "an") {
        return Some(1);
    }
    word.parse()
        .ok()
        .or_else(|| {
            WORDS
                .iter()
                .position(|w| *w == word)
                .and_then(|n| u64::try_from(n).ok())
        })
        .filter(|n| *n > 0 && *n <= 520)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Monday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn due(text: &str) -> Result<NaiveDate, UserError> {
        parse_due(text, today(), "America/Chicago")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn reads_the_forms_people_type() {
        assert_eq!(due("2026-12-05"), Ok(date(2026, 12, 5)));
        assert_eq!(due("today"), Ok(today()));
        assert_eq!(due("Tomorrow"), Ok(date(2026, 11, 24)));
        assert_eq!(due("friday"), Ok(date(2026, 11, 27)));
        assert_eq!(due("fri"), Ok(date(2026, 11, 27)));
        assert_eq!(
            due("monday"),
            Ok(date(2026, 11, 30)),
            "a week on when today is that day"
        );
        assert_eq!(due("in 2 weeks"), Ok(date(2026, 12, 7)));
        assert_eq!(due("in two weeks"), Ok(date(2026, 12, 7)));
        assert_eq!(due("in a month"), Ok(date(2026, 12, 23)));
        assert_eq!(due("in 3 days"), Ok(date(2026, 11, 26)));
        assert_eq!(due("Dec 5"), Ok(date(2026, 12, 5)));
        assert_eq!(due("5 december"), Ok(date(2026, 12, 5)));
        assert_eq!(due("march 1"), Ok(date(2027, 3, 1)), "the next one");
        assert_eq!(due("January 15, 2027"), Ok(date(2027, 1, 15)));
    }

    #[test]
    fn refuses_the_past_with_today_in_the_message() {
        let error = due("2026-11-22").expect_err("past");
        assert_eq!(
            error,
            UserError::PastDate {
                date: "Sun 22 Nov 2026".into(),
                today: "Mon 23 Nov 2026".into(),
                zone: "America/Chicago".into()
            }
        );
        assert!(matches!(
            due("march 1 2020"),
            Err(UserError::PastDate { .. })
        ));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for text in [
            "soon",
            "2026-13-01",
            "in 2 fortnights",
            "",
            "feb 30 2027",
            "mo",
        ] {
            assert!(
                matches!(due(text), Err(UserError::UnreadableDate { .. })),
                "{text}"
            );
        }
    }

    fn due_in(text: &str, order: DateOrder) -> Result<NaiveDate, UserError> {
        parse_due_in(text, today(), "America/Chicago", order)
    }

    #[test]
    fn twelve_slash_five_is_read_in_the_servers_date_order() {
        assert_eq!(
            due_in("12/05", DateOrder::MonthDay),
            Ok(date(2026, 12, 5)),
            "month first (the default): 5 December"
        );
        assert_eq!(
            due("12/05"),
            Ok(date(2026, 12, 5)),
            "the default is month first"
        );
        assert_eq!(
            due_in("12/05", DateOrder::DayMonth),
            Ok(date(2027, 5, 12)),
            "day first: 12 May, the next one"
        );
        assert_eq!(due_in("5/12", DateOrder::DayMonth), Ok(date(2026, 12, 5)));
        assert_eq!(
            due_in("12/5/2027", DateOrder::MonthDay),
            Ok(date(2027, 12, 5))
        );
        assert_eq!(
            due_in("05-12-27", DateOrder::DayMonth),
            Ok(date(2027, 12, 5))
        );
        assert!(
            matches!(
                due_in("13/05", DateOrder::MonthDay),
                Err(UserError::UnreadableDate { .. })
            ),
            "there is no 13th month"
        );
        assert_eq!(due_in("13/05", DateOrder::DayMonth), Ok(date(2027, 5, 13)));
        // The reply says which day it was read as.
        assert_eq!(as_read(date(2026, 12, 5), today()), "Sat 5 Dec 2026");
        assert_eq!(
            as_read(date(2027, 5, 12), today()),
            "Wed 12 May 2027 (next year)"
        );
    }

    #[test]
    fn nov_5_is_the_next_nov_5_and_the_reply_says_its_year() {
        // Today is 23 November 2026: this year's 5 November has passed.
        let read = due("Nov 5").expect("a date");
        assert_eq!(read, date(2027, 11, 5));
        let said = as_read(read, today());
        assert!(said.contains("2027"), "{said}");
        assert!(said.contains("next year"), "{said}");
        assert_eq!(said, "Fri 5 Nov 2027 (next year)");
        // One still ahead this year is this year's, said without a note.
        assert_eq!(due("Nov 30"), Ok(date(2026, 11, 30)));
        assert_eq!(as_read(date(2026, 11, 30), today()), "Mon 30 Nov 2026");
    }

    #[test]
    fn next_friday_is_the_friday_of_next_week() {
        // Monday 23 November: this week's Friday is the 27th, next week's the 4th.
        assert_eq!(due("friday"), Ok(date(2026, 11, 27)));
        assert_eq!(due("this friday"), Ok(date(2026, 11, 27)));
        assert_eq!(due("next friday"), Ok(date(2026, 12, 4)));
        assert_eq!(due("next monday"), Ok(date(2026, 11, 30)));
        // From a Thursday too: next week's Friday, not tomorrow.
        let thursday = date(2026, 11, 26);
        assert_eq!(
            parse_due("next friday", thursday, "UTC"),
            Ok(date(2026, 12, 4))
        );
        assert_eq!(parse_due("friday", thursday, "UTC"), Ok(date(2026, 11, 27)));
        assert_eq!(as_read(date(2026, 12, 4), today()), "Fri 4 Dec 2026");
    }

    #[test]
    fn yesterday_is_read_and_said_to_be_in_the_past() {
        let error = due("yesterday").expect_err("in the past");
        assert_eq!(
            error,
            UserError::PastDate {
                date: "Sun 22 Nov 2026".into(),
                today: "Mon 23 Nov 2026".into(),
                zone: "America/Chicago".into()
            }
        );
        let said = error.to_string();
        assert!(said.contains("in the past"), "{said}");
        assert!(said.contains("Sun 22 Nov 2026"), "{said}");
        assert!(matches!(
            due("last friday"),
            Err(UserError::PastDate { .. })
        ));
    }

    #[test]
    fn times_read_as_people_write_them() {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
        for (text, time) in [
            ("8am", at(8, 0)),
            ("8 am", at(8, 0)),
            ("8AM", at(8, 0)),
            ("8:30 pm", at(20, 30)),
            ("8:30pm", at(20, 30)),
            ("8:30 p.m.", at(20, 30)),
            ("08:00", at(8, 0)),
            ("16:00", at(16, 0)),
            ("12am", at(0, 0)),
            ("12pm", at(12, 0)),
            ("noon", at(12, 0)),
        ] {
            assert_eq!(parse_time(text), Ok(time), "{text}");
        }
        for text in ["8", "13pm", "0am", "25:00", "8:3", "eight", "", "8:30 xm"] {
            assert!(
                matches!(parse_time(text), Err(UserError::BadSchedule { .. })),
                "{text}"
            );
        }
    }
}
