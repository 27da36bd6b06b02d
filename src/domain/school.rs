//! Schools: a name and the IANA time zone every local date and time is computed in.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::error::UserError;

use super::text;

/// Longest school name: it appears in autocomplete choices, whose names Discord caps at 100.
pub const SCHOOL_NAME_MAX: usize = 100;

/// A school's name, trimmed, on one line, within Discord's choice-name limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolName(String);

impl SchoolName {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        text::one_line("school name", raw, SCHOOL_NAME_MAX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone such as `America/Chicago`. Fixed offsets break at DST, so only names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    /// Accepts an IANA name in any letter case (`america/chicago` is `America/Chicago`).
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let given = raw.trim();
        if let Ok(tz) = Tz::from_str(given) {
            return Ok(Self(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(given))
            .map(|tz| Self(*tz))
            .ok_or_else(|| UserError::UnknownTimeZone {
                given: text::clip(given, 60),
            })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// Time zone names for autocomplete: those containing every word typed (case-insensitive),
/// names that start with the text first, then alphabetical; at most `limit`.
pub fn suggest_time_zones(typed: &str, limit: usize) -> Vec<&'static str> {
    let typed = typed.trim().to_lowercase().replace(' ', "_");
    let mut hits: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| {
            let lower = name.to_lowercase();
            typed.split('_').all(|word| lower.contains(word))
        })
        .collect();
    hits.sort_by_key(|name| {
        let lower = name.to_lowercase();
        let city = lower.rsplit('/').next().unwrap_or_default().to_owned();
        (
            !(lower.starts_with(&typed) || city.starts_with(&typed)),
            // Canonical Area/City names before legacy aliases like `US/Central`.
            !name.contains('/') || name.starts_with("US/") || name.starts_with("Etc/"),
            *name,
        )
    });
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names_in_any_case() {
        assert_eq!(
            TimeZoneName::parse("America/Chicago").map(|t| t.name()),
            Ok("America/Chicago")
        );
        assert_eq!(
            TimeZoneName::parse(" america/chicago ").map(|t| t.name()),
            Ok("America/Chicago")
        );
    }

    #[test]
    fn refuses_unknown_zones_and_offsets() {
        for bad in ["Mars/Olympus", "GMT+5:30", "CST6", ""] {
            assert!(
                matches!(
                    TimeZoneName::parse(bad),
                    Err(UserError::UnknownTimeZone { .. })
                ),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn suggestions_match_typed_words_and_put_prefixes_first() {
        let hits = suggest_time_zones("chicago", 25);
        assert_eq!(hits.first(), Some(&"America/Chicago"));
        let hits = suggest_time_zones("america/new", 25);
        assert!(hits.contains(&"America/New_York"));
        assert!(suggest_time_zones("", 25).len() == 25);
        assert!(suggest_time_zones("zzzz", 25).is_empty());
    }

    #[test]
    fn school_names_are_one_line_and_bounded() {
        assert_eq!(
            SchoolName::parse(" Lincoln Elementary ").map(|n| n.0),
            Ok("Lincoln Elementary".into())
        );
        assert!(SchoolName::parse(&"x".repeat(101)).is_err());
    }
}
