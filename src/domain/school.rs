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

/// Where a school's name falls in a list people read: by its letters with letter case and
/// accents set aside ("École Nord" between "Adams" and "Lincoln", "adams high" beside "Adams
/// Elementary"), then as written, so that names differing only there keep one order. Each
/// engine's own `ORDER BY name` would put every capital before every small letter and "É"
/// after "Z" (SQLite, and PostgreSQL under the C collation), or follow the server's locale.
pub fn name_order_key(name: &str) -> (String, String) {
    (folded_name(name), name.to_owned())
}

/// A name's letters with letter case and accents set aside ("École Nord" is "ecole nord"):
/// what lists sort by and what autocomplete matches what was typed against. Not what names a
/// school: "Ecole Nord" and "École Nord" are two names (`schools::named`).
pub fn folded_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    name.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// An IANA time zone such as `America/Chicago`. Fixed offsets break at DST, so only names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    /// Accepts an IANA name in any letter case (`america/chicago` is `America/Chicago`).
    /// Refuses an abbreviation such as `EST` or `PST` (chrono-tz knows some of them as fixed
    /// offsets that never switch to summer time, which is not what people mean), naming the
    /// IANA zone to use instead.
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let given = raw.trim();
        if let Some(zone) = zone_for_abbreviation(given) {
            return Err(UserError::ZoneAbbreviation {
                given: text::clip(given, 20),
                zone,
            });
        }
        Self::from_stored(given).ok_or_else(|| UserError::UnknownTimeZone {
            given: text::clip(given, 60),
        })
    }

    /// A zone read back from the database: any name chrono-tz knows, abbreviations included
    /// (a row saved before they were refused still reads).
    pub fn from_stored(raw: &str) -> Option<Self> {
        let given = raw.trim();
        if let Ok(tz) = Tz::from_str(given) {
            return Some(Self(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(given))
            .map(|tz| Self(*tz))
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

/// Abbreviations people write for a zone, and the IANA zone they usually mean. The legacy
/// POSIX names (`EST5EDT`…) are here too: they follow US rules of one era, not a place's.
const ABBREVIATIONS: &[(&[&str], &str)] = &[
    (&["EST", "EDT", "ET", "EST5EDT"], "America/New_York"),
    (&["CST", "CDT", "CT", "CST6CDT"], "America/Chicago"),
    (&["MST", "MDT", "MT", "MST7MDT"], "America/Denver"),
    (&["PST", "PDT", "PT", "PST8PDT"], "America/Los_Angeles"),
    (&["AKST", "AKDT"], "America/Anchorage"),
    (&["HST", "HDT"], "Pacific/Honolulu"),
    (&["AST", "ADT"], "America/Halifax"),
    (&["NST", "NDT"], "America/St_Johns"),
    (&["BST"], "Europe/London"),
    (&["CEST"], "Europe/Paris"),
    (&["AEST", "AEDT"], "Australia/Sydney"),
];

/// The IANA zone to suggest for an abbreviation such as `est` or `PST`, if it is one.
pub fn zone_for_abbreviation(given: &str) -> Option<&'static str> {
    let given = given.trim();
    ABBREVIATIONS
        .iter()
        .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(given)))
        .map(|(_, zone)| *zone)
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
    fn folding_sets_case_and_accents_aside() {
        assert_eq!(folded_name("École Nord"), "ecole nord");
        assert_eq!(folded_name("ÉCOLE NORD"), "ecole nord");
        assert_eq!(folded_name("Señora Ñuñez"), "senora nunez");
        assert_eq!(
            folded_name("Ørsted"),
            "ørsted",
            "a letter of its own, not an accent"
        );
    }

    #[test]
    fn school_names_are_put_in_the_order_people_read_them() {
        let mut names = vec![
            "Washington Middle",
            "école Nord",
            "adams High",
            "Zebra Academy",
            "Adams Elementary",
            "Ébène",
            "lincoln",
            "Lincoln",
        ];
        names.sort_by_cached_key(|n| name_order_key(n));
        assert_eq!(
            names,
            [
                "Adams Elementary",
                "adams High",
                "Ébène",
                "école Nord",
                "Lincoln",
                "lincoln",
                "Washington Middle",
                "Zebra Academy",
            ]
        );
    }

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
    fn abbreviations_are_refused_with_the_zone_to_use() {
        for (given, zone) in [
            ("EST", "America/New_York"),
            ("est", "America/New_York"),
            ("PST", "America/Los_Angeles"),
            ("CST", "America/Chicago"),
            ("MST", "America/Denver"),
            ("EDT", "America/New_York"),
            ("EST5EDT", "America/New_York"),
        ] {
            assert_eq!(
                TimeZoneName::parse(given),
                Err(UserError::ZoneAbbreviation {
                    given: given.to_owned(),
                    zone
                }),
                "{given}"
            );
            assert!(
                TimeZoneName::parse(zone).is_ok(),
                "the suggestion {zone} is accepted"
            );
        }
        assert_eq!(
            TimeZoneName::from_stored("EST").map(TimeZoneName::name),
            Some("EST"),
            "a stored abbreviation still reads"
        );
        assert!(TimeZoneName::parse("UTC").is_ok());
        assert!(TimeZoneName::parse("Europe/London").is_ok());
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
