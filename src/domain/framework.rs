//! The rubric: practices → indicators → five levels, loaded from TOML and validated before
//! anything uses it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;

use super::cycle::{ExpectedDays, FileCycle};

/// The five levels, in order. The first two are preparation, the last three progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    GettingAware,
    GettingReady,
    GettingStarted,
    GettingBetter,
    KeepImproving,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::GettingAware,
        Level::GettingReady,
        Level::GettingStarted,
        Level::GettingBetter,
        Level::KeepImproving,
    ];

    /// The key used in files and the database.
    pub fn key(self) -> &'static str {
        match self {
            Level::GettingAware => "getting_aware",
            Level::GettingReady => "getting_ready",
            Level::GettingStarted => "getting_started",
            Level::GettingBetter => "getting_better",
            Level::KeepImproving => "keep_improving",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::GettingAware => "Getting Aware",
            Level::GettingReady => "Getting Ready",
            Level::GettingStarted => "Getting Started",
            Level::GettingBetter => "Getting Better",
            Level::KeepImproving => "Keep Improving",
        }
    }

    /// Preparation or progress.
    pub fn phase(self) -> &'static str {
        match self {
            Level::GettingAware | Level::GettingReady => "preparation",
            _ => "progress",
        }
    }

    /// 1 to 5, for charts and comparisons.
    pub fn rank(self) -> u8 {
        match self {
            Level::GettingAware => 1,
            Level::GettingReady => 2,
            Level::GettingStarted => 3,
            Level::GettingBetter => 4,
            Level::KeepImproving => 5,
        }
    }

    /// The label for a stored key, or the key itself if it is not one.
    pub fn label_for(key: &str) -> &str {
        match Self::parse(key) {
            Some(known) => known.label(),
            None => key,
        }
    }

    /// Accepts the key or the label, in any case.
    pub fn parse(raw: &str) -> Option<Level> {
        let wanted = raw.trim().to_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|l| l.key() == wanted)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub practice_id: String,
    /// What each level looks like for this indicator.
    pub levels: BTreeMap<Level, String>,
}

impl Indicator {
    pub fn descriptor(&self, level: Level) -> &str {
        self.levels.get(&level).map_or("", String::as_str)
    }

    /// `12a · Leader partnerships`
    pub fn title(&self) -> String {
        format!("{} · {}", self.id, self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Practice {
    pub id: String,
    pub name: String,
    pub area: String,
    pub summary: String,
    pub indicators: Vec<Indicator>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framework {
    pub name: String,
    pub practices: Vec<Practice>,
    /// How long a school usually spends in each stage of the coaching cycle.
    pub expected_days: ExpectedDays,
}

/// Everything wrong with a framework file, one line each.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the framework file has {} problem(s): {}", .0.len(), .0.join("; "))]
pub struct FrameworkErrors(pub Vec<String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFramework {
    name: String,
    #[serde(default, rename = "practice")]
    practices: Vec<FilePractice>,
    #[serde(default)]
    cycle: FileCycle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePractice {
    id: String,
    name: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    summary: String,
    #[serde(default, rename = "indicator")]
    indicators: Vec<FileIndicator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndicator {
    id: String,
    name: String,
    levels: BTreeMap<String, String>,
}

/// Longest id: ids appear in autocomplete values and one-line announcements.
const ID_MAX: usize = 20;
/// Longest name: it appears in autocomplete choice names (capped at 100 by Discord).
const NAME_MAX: usize = 90;
/// Longest level descriptor: it is shown in an embed field (1,024 characters).
const DESCRIPTOR_MAX: usize = 1000;
/// Longest framework name: it is an embed title (256) and heads the load reply.
pub const FRAMEWORK_NAME_MAX: usize = 100;
/// Longest practice area: a one-line label beside the practice's name.
pub const AREA_MAX: usize = 100;
/// Longest practice summary: it fits an embed field (1,024 characters).
pub const SUMMARY_MAX: usize = 1000;

/// How [`Framework::parse_with`] treats text over the limits that came after a file was
/// stored (framework name, practice area and summary).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lengths {
    /// A file being loaded: over-long text is an error.
    Refuse,
    /// A file stored before these limits existed: over-long text is clipped, so the server
    /// keeps working until an admin loads a shorter one.
    Clip,
}

impl Framework {
    /// Parses and validates a framework file: duplicate ids, unknown or missing levels, empty
    /// or over-long text are all errors, reported together.
    pub fn parse(text: &str) -> Result<Self, FrameworkErrors> {
        Self::parse_with(text, Lengths::Refuse)
    }

    /// Parses a file the server stored earlier: like [`Framework::parse`], except that a
    /// framework name, practice area or summary longer than today's limits is clipped.
    pub fn parse_stored(text: &str) -> Result<Self, FrameworkErrors> {
        Self::parse_with(text, Lengths::Clip)
    }

    fn parse_with(text: &str, lengths: Lengths) -> Result<Self, FrameworkErrors> {
        let file: FileFramework = toml::from_str(text).map_err(|e| {
            FrameworkErrors(vec![format!("not valid framework TOML: {}", e.message())])
        })?;
        let mut errors = Vec::new();
        let expected_days = ExpectedDays::from_file(&file.cycle, &mut errors);
        let mut ids = HashSet::new();
        let mut practices = Vec::new();
        if file.practices.is_empty() {
            errors.push("it has no [[practice]]".to_owned());
        }
        let later_limit = |errors: &mut Vec<String>, what: &str, text: &str, max: usize| {
            let len = text.trim().chars().count();
            if len > max && lengths == Lengths::Refuse {
                errors.push(format!("a {what} is {len} characters; the most is {max}"));
            }
            crate::domain::text::clip(text.trim(), max)
        };
        if lengths == Lengths::Refuse {
            check_text(&mut errors, "framework name", &file.name, usize::MAX);
        }
        let name = later_limit(
            &mut errors,
            "framework name",
            &file.name,
            FRAMEWORK_NAME_MAX,
        );
        for practice in file.practices {
            check_text(&mut errors, "practice id", &practice.id, ID_MAX);
            check_text(&mut errors, "practice name", &practice.name, NAME_MAX);
            let area = later_limit(&mut errors, "practice area", &practice.area, AREA_MAX);
            let summary = later_limit(
                &mut errors,
                "practice summary",
                &practice.summary,
                SUMMARY_MAX,
            );
            if practice.indicators.is_empty() {
                errors.push(format!(
                    "practice {} has no [[practice.indicator]]",
                    practice.id
                ));
            }
            let mut indicators = Vec::new();
            for indicator in practice.indicators {
                check_text(&mut errors, "indicator id", &indicator.id, ID_MAX);
                check_text(&mut errors, "indicator name", &indicator.name, NAME_MAX);
                if !ids.insert(indicator.id.to_lowercase()) {
                    errors.push(format!("indicator id {} is used twice", indicator.id));
                }
                let mut levels = BTreeMap::new();
                for (key, descriptor) in indicator.levels {
                    match Level::parse(&key) {
                        Some(level) => {
                            check_text(&mut errors, "level descriptor", &descriptor, DESCRIPTOR_MAX);
                            levels.insert(level, descriptor.trim().to_owned());
                        }
                        None => errors.push(format!(
                            "indicator {}: `{key}` is not a level (use getting_aware, getting_ready, getting_started, getting_better, keep_improving)",
                            indicator.id
                        )),
                    }
                }
                for level in Level::ALL {
                    if !levels.contains_key(&level) {
                        errors.push(format!(
                            "indicator {} has no `{}` descriptor",
                            indicator.id,
                            level.key()
                        ));
                    }
                }
                indicators.push(Indicator {
                    id: indicator.id.trim().to_owned(),
                    name: indicator.name.trim().to_owned(),
                    practice_id: practice.id.trim().to_owned(),
                    levels,
                });
            }
            practices.push(Practice {
                id: practice.id.trim().to_owned(),
                name: practice.name.trim().to_owned(),
                area,
                summary,
                indicators,
            });
        }
        let mut practice_ids = HashSet::new();
        for practice in &practices {
            if !practice_ids.insert(practice.id.to_lowercase()) {
                errors.push(format!("practice id {} is used twice", practice.id));
            }
        }
        if errors.is_empty() {
            Ok(Self {
                name,
                practices,
                expected_days,
            })
        } else {
            Err(FrameworkErrors(errors))
        }
    }

    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.practices.iter().flat_map(|p| &p.indicators)
    }

    /// The indicator with this id (any case).
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        let id = id.trim();
        self.indicators().find(|i| i.id.eq_ignore_ascii_case(id))
    }

    pub fn practice(&self, id: &str) -> Option<&Practice> {
        self.practices.iter().find(|p| p.id == id)
    }

    /// Indicators whose id or name contains `typed`, for autocomplete.
    pub fn matching(&self, typed: &str) -> Vec<&Indicator> {
        let typed = typed.trim().to_lowercase();
        self.indicators()
            .filter(|i| {
                i.id.to_lowercase().contains(&typed) || i.name.to_lowercase().contains(&typed)
            })
            .collect()
    }
}

fn check_text(errors: &mut Vec<String>, what: &str, text: &str, max: usize) {
    let len = text.trim().chars().count();
    if len == 0 {
        errors.push(format!("a {what} is empty"));
    } else if len > max {
        errors.push(format!("a {what} is {len} characters; the most is {max}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../prompts/framework.toml");

    #[test]
    fn the_shipped_framework_is_valid() {
        let framework = Framework::parse(SHIPPED).expect("valid");
        let ids: Vec<&str> = framework.indicators().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["11", "12a", "12b"]);
        for indicator in framework.indicators() {
            assert_eq!(indicator.levels.len(), 5);
        }
        assert_eq!(
            framework.indicator("12A").map(|i| i.name.as_str()),
            Some("Leader partnerships")
        );
    }

    #[test]
    fn a_duplicate_indicator_id_is_an_error() {
        let text = SHIPPED.replace("id = \"12b\"", "id = \"12a\"");
        let errors = Framework::parse(&text).expect_err("duplicate");
        assert!(
            errors.0.iter().any(|e| e.contains("12a is used twice")),
            "{errors}"
        );
    }

    #[test]
    fn an_unknown_level_is_an_error() {
        let text = SHIPPED.replacen("getting_better =", "getting_great =", 1);
        let errors = Framework::parse(&text).expect_err("unknown level");
        assert!(
            errors
                .0
                .iter()
                .any(|e| e.contains("`getting_great` is not a level")),
            "{errors}"
        );
        assert!(
            errors.0.iter().any(|e| e.contains("no `getting_better`")),
            "{errors}"
        );
    }

    #[test]
    fn malformed_toml_is_an_error() {
        assert!(Framework::parse("name = ").is_err());
        assert!(Framework::parse("name = \"x\"").is_err(), "no practices");
    }

    #[test]
    fn a_framework_name_area_or_summary_over_its_limit_is_an_error() {
        let long = |n: usize| "x".repeat(n);
        let text = SHIPPED
            .replacen(
                "name = \"Leadership for Learning: practices 11 and 12\"",
                &format!("name = \"{}\"", long(FRAMEWORK_NAME_MAX + 1)),
                1,
            )
            .replacen(
                "area = \"Instructional leadership routines\"",
                &format!("area = \"{}\"", long(AREA_MAX + 1)),
                1,
            )
            .replacen(
                "summary = \"",
                &format!("summary = \"{}", long(SUMMARY_MAX)),
                1,
            );
        let errors = Framework::parse(&text).expect_err("over the limits");
        for expected in [
            format!("framework name is 101 characters; the most is {FRAMEWORK_NAME_MAX}"),
            format!("practice area is 101 characters; the most is {AREA_MAX}"),
            "practice summary is".to_owned(),
        ] {
            assert!(
                errors.0.iter().any(|e| e.contains(&expected)),
                "{expected}: {errors}"
            );
        }
        // At the limits, it loads.
        let at_limits = SHIPPED.replacen(
            "name = \"Leadership for Learning: practices 11 and 12\"",
            &format!("name = \"{}\"", long(FRAMEWORK_NAME_MAX)),
            1,
        );
        assert_eq!(
            Framework::parse(&at_limits)
                .expect("valid")
                .name
                .chars()
                .count(),
            FRAMEWORK_NAME_MAX
        );
        // Stored before the limits existed: clipped, so the server keeps working.
        let stored = Framework::parse_stored(&text).expect("a stored file still reads");
        assert_eq!(stored.name.chars().count(), FRAMEWORK_NAME_MAX);
        assert!(stored.practices.iter().all(
            |p| p.area.chars().count() <= AREA_MAX && p.summary.chars().count() <= SUMMARY_MAX
        ));
        assert!(
            Framework::parse(&SHIPPED.replacen(
                "name = \"Leadership for Learning: practices 11 and 12\"",
                "name = \" \"",
                1
            ))
            .is_err(),
            "an empty name"
        );
    }

    #[test]
    fn levels_parse_from_keys_and_labels() {
        assert_eq!(Level::parse("Getting Better"), Some(Level::GettingBetter));
        assert_eq!(Level::parse("keep_improving"), Some(Level::KeepImproving));
        assert_eq!(Level::parse("great"), None);
        assert_eq!(Level::GettingReady.phase(), "preparation");
    }
}
