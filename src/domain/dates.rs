//! Dates as people type them: `2026-12-05`, `friday`, `tomorrow`, `in 2 weeks`, `Dec 5`.
//! Always read against "today" in the school's time zone, which the caller passes in.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

use crate::error::UserError;

use super::text;

/// Reads a time of day as `16:00`.
pub fn parse_time(raw: &str) -> Result<NaiveTime, UserError> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| UserError::BadSchedule {
        given: text::clip(raw, 20),
        why: "the time should look like 16:00".to_owned(),
    })
}

/// Reads a due date; refuses anything before `today`.
pub fn parse_due(raw: &str, today: NaiveDate, zone: &str) -> Result<NaiveDate, UserError> {
    let date = parse_date(raw, today).ok_or_else(|| UserError::UnreadableDate {
        given: text::clip(raw.trim(), 40),
    })?;
    if date < today {
        return Err(UserError::PastDate {
            date: date.format("%Y-%m-%d").to_string(),
            today: today.format("%Y-%m-%d").to_string(),
            zone: zone.to_owned(),
        });
    }
    Ok(date)
}

fn parse_date(raw: &str, today: NaiveDate) -> Option<NaiveDate> {
    let text = raw.trim().to_lowercase();
    let text = text.trim_end_matches('.');
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    match text {
        "today" => return Some(today),
        "tomorrow" => return today.checked_add_days(Days::new(1)),
        _ => {}
    }
    let bare = text.strip_prefix("next ").unwrap_or(text);
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
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
            if this_year >= today {
                Some(this_year)
            } else {
                NaiveDate::from_ymd_opt(today.year() + 1, month, day)
            }
        }
    }
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
                date: "2026-11-22".into(),
                today: "2026-11-23".into(),
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
}
