//! The coaching cycle: six stages a school moves through, from the first school-wide
//! assessment to the re-assessment that starts the next round. A school is in one stage at a
//! time; each move is kept with who made it and why.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::ids::{SchoolId, UserId};

/// A stage of the cycle, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Assess,
    Debrief,
    Plan,
    Implement,
    Support,
    Reassess,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Assess,
        Stage::Debrief,
        Stage::Plan,
        Stage::Implement,
        Stage::Support,
        Stage::Reassess,
    ];

    /// The key used in the database, files and command options.
    pub fn key(self) -> &'static str {
        match self {
            Stage::Assess => "assess",
            Stage::Debrief => "debrief",
            Stage::Plan => "plan",
            Stage::Implement => "implement",
            Stage::Support => "support",
            Stage::Reassess => "reassess",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Assess => "Assess",
            Stage::Debrief => "Data debrief",
            Stage::Plan => "Action planning",
            Stage::Implement => "Implement action steps",
            Stage::Support => "Ongoing support and coaching",
            Stage::Reassess => "Re-assess",
        }
    }

    /// What the stage is for, in one line.
    pub fn purpose(self) -> &'static str {
        match self {
            Stage::Assess => {
                "Staff take the school-wide survey of leadership practice; the results come back by indicator."
            }
            Stage::Debrief => {
                "Coach and leaders read the results together and name strengths and target areas."
            }
            Stage::Plan => {
                "Leaders pick focus indicators from the targets and write action steps that fit the school's improvement plan."
            }
            Stage::Implement => {
                "The team carries out the action steps, building on what the school already does well."
            }
            Stage::Support => {
                "The coach checks in on progress, helps past barriers and helps leaders share the work."
            }
            Stage::Reassess => {
                "Staff take the survey again to see what moved; the new results start the next round."
            }
        }
    }

    /// What usually happens next, in one line.
    pub fn what_next(self) -> &'static str {
        match self {
            Stage::Assess => {
                "Import the results with `/assessment import`, then move to the debrief."
            }
            Stage::Debrief => "Choose the target areas to work on, then move to planning.",
            Stage::Plan => {
                "Make targets focus indicators and add action steps, then move to implementing."
            }
            Stage::Implement => {
                "Steps get done and updated; move to support once the plan is under way."
            }
            Stage::Support => "Keep checking in; when the year's work is done, re-assess.",
            Stage::Reassess => {
                "Import the new results and compare them with `/assessment compare`; then debrief again."
            }
        }
    }

    /// The stage after this one; after re-assessing, the next round begins with a debrief
    /// of the new results.
    pub fn next(self) -> Stage {
        match self {
            Stage::Assess => Stage::Debrief,
            Stage::Debrief => Stage::Plan,
            Stage::Plan => Stage::Implement,
            Stage::Implement => Stage::Support,
            Stage::Support => Stage::Reassess,
            Stage::Reassess => Stage::Debrief,
        }
    }

    /// 1 to 6.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// Accepts the key, the label, or the number, in any case.
    pub fn parse(raw: &str) -> Option<Stage> {
        let wanted = raw.trim().to_lowercase().replace(['-', '_'], " ");
        let wanted = wanted.trim();
        Self::ALL.into_iter().find(|s| {
            s.key() == wanted.replace(' ', "")
                || s.label().to_lowercase() == wanted
                || s.number().to_string() == wanted
        })
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How long a school usually spends in each stage, in days: past it, the coach's digest
/// flags the school. A framework file may set its own in a `[cycle]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDays(BTreeMap<Stage, u32>);

impl Default for ExpectedDays {
    fn default() -> Self {
        Self(BTreeMap::from([
            (Stage::Assess, 30),
            (Stage::Debrief, 21),
            (Stage::Plan, 30),
            (Stage::Implement, 120),
            (Stage::Support, 120),
            (Stage::Reassess, 45),
        ]))
    }
}

/// The `[cycle]` table of a framework file: days per stage key, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCycle {
    #[serde(default)]
    pub expected_days: BTreeMap<String, u32>,
}

/// Longest expected stage length accepted: three years.
const MAX_DAYS: u32 = 3 * 366;

impl ExpectedDays {
    /// The lengths a framework file gives, over the defaults; each mistake one line.
    pub fn from_file(file: &FileCycle, errors: &mut Vec<String>) -> Self {
        let mut days = Self::default();
        for (key, value) in &file.expected_days {
            match Stage::parse(key) {
                Some(stage) if (1..=MAX_DAYS).contains(value) => {
                    days.0.insert(stage, *value);
                }
                Some(_) => errors.push(format!(
                    "cycle.expected_days.{key} is {value}; use 1 to {MAX_DAYS} days"
                )),
                None => errors.push(format!(
                    "cycle.expected_days: `{key}` is not a stage (use assess, debrief, plan, implement, support, reassess)"
                )),
            }
        }
        days
    }

    pub fn of(&self, stage: Stage) -> u32 {
        self.0.get(&stage).copied().unwrap_or(120)
    }
}

/// A stage a school entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageEntry {
    pub school_id: SchoolId,
    pub stage: Stage,
    pub began_at: DateTime<Utc>,
    /// None for the start every new school gets.
    pub moved_by: Option<UserId>,
    pub note: Option<String>,
}

impl StageEntry {
    /// Whole days in the stage by `now`.
    pub fn days_in(&self, now: DateTime<Utc>) -> i64 {
        (now - self.began_at).num_days().max(0)
    }

    /// Whether the school has been in the stage longer than expected.
    pub fn overdue(&self, expected: &ExpectedDays, now: DateTime<Utc>) -> bool {
        now - self.began_at > TimeDelta::days(i64::from(expected.of(self.stage)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn stages_parse_from_keys_labels_and_numbers() {
        assert_eq!(Stage::parse("implement"), Some(Stage::Implement));
        assert_eq!(Stage::parse("Data debrief"), Some(Stage::Debrief));
        assert_eq!(Stage::parse("re-assess"), Some(Stage::Reassess));
        assert_eq!(Stage::parse("6"), Some(Stage::Reassess));
        assert_eq!(Stage::parse("later"), None);
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.key()), Some(stage));
            assert_eq!(Stage::parse(stage.label()), Some(stage));
        }
    }

    #[test]
    fn the_cycle_goes_round_from_reassess_to_debrief() {
        assert_eq!(Stage::Assess.next(), Stage::Debrief);
        assert_eq!(Stage::Support.next(), Stage::Reassess);
        assert_eq!(Stage::Reassess.next(), Stage::Debrief);
    }

    #[test]
    fn a_file_overrides_the_expected_lengths_and_bad_ones_are_errors() {
        let file = FileCycle {
            expected_days: BTreeMap::from([
                ("implement".to_owned(), 90),
                ("later".to_owned(), 3),
                ("plan".to_owned(), 0),
            ]),
        };
        let mut errors = Vec::new();
        let days = ExpectedDays::from_file(&file, &mut errors);
        assert_eq!(days.of(Stage::Implement), 90);
        assert_eq!(days.of(Stage::Plan), 30, "a bad value keeps the default");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn a_stage_is_overdue_past_its_expected_length() {
        let began = Utc
            .with_ymd_and_hms(2026, 1, 5, 12, 0, 0)
            .single()
            .expect("time");
        let entry = StageEntry {
            school_id: SchoolId::new(1),
            stage: Stage::Implement,
            began_at: began,
            moved_by: None,
            note: None,
        };
        let days = ExpectedDays::default();
        assert!(!entry.overdue(&days, began + TimeDelta::days(120)));
        assert!(entry.overdue(&days, began + TimeDelta::days(121)));
        assert_eq!(entry.days_in(began + TimeDelta::days(3)), 3);
    }
}
