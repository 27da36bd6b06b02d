//! Assessments: one administration of the school-wide survey of leadership practice, as levels
//! per indicator (for all respondents, or per group of them). From it come a school's strengths
//! and target areas, and between two administrations, what moved.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::framework::Level;
use super::ids::{SchoolId, ServerId, UserId};

/// How many indicators are named as strengths, and as targets.
pub const PROFILE_SIZE: usize = 3;

/// One administration, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Administration {
    pub id: i64,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub name: String,
    pub administered: NaiveDate,
    pub file_name: String,
    pub imported_by: UserId,
    pub imported_at: DateTime<Utc>,
}

/// One row of an administration: the level on an indicator for a group of respondents
/// (`group` empty for everyone).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    /// The row's line in the file it came from (1 is the header).
    pub row_number: i64,
    pub indicator_id: String,
    pub group: String,
    pub level: Level,
    /// The raw score and the top of its scale, when the file gave scores.
    pub score: Option<f64>,
    pub scale_max: Option<f64>,
    pub respondents: Option<i64>,
}

/// One indicator's result in an administration: the level for everyone, or the groups' levels
/// weighted by their respondents.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorResult {
    pub indicator_id: String,
    /// 1.0 to 5.0, to one decimal.
    pub rank: f64,
    pub respondents: Option<i64>,
}

impl IndicatorResult {
    /// The level the result reaches (a part-way result reaches the level below it).
    pub fn level(&self) -> Level {
        let index = (self.rank.floor().clamp(1.0, 5.0) as usize).saturating_sub(1);
        Level::ALL[index.min(4)]
    }

    /// `3` or `3.4`, with the level reached: "3.4 (Getting Started)".
    pub fn describe(&self) -> String {
        if (self.rank - self.rank.round()).abs() < 0.05 {
            format!("{:.0} ({})", self.rank, self.level().label())
        } else {
            format!("{:.1} ({})", self.rank, self.level().label())
        }
    }
}

/// Each indicator's result, by indicator id (sorted).
pub fn by_indicator(rows: &[ResultRow]) -> Vec<IndicatorResult> {
    let mut grouped: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for row in rows {
        grouped
            .entry(row.indicator_id.as_str())
            .or_default()
            .push(row);
    }
    grouped
        .into_iter()
        .map(|(id, rows)| {
            let everyone = rows.iter().find(|r| r.group.is_empty());
            let (rank, respondents) = match everyone {
                Some(row) => (f64::from(row.level.rank()), row.respondents),
                None => weighted(&rows),
            };
            IndicatorResult {
                indicator_id: id.to_owned(),
                rank: (rank * 10.0).round() / 10.0,
                respondents,
            }
        })
        .collect()
}

/// The groups' levels weighted by respondents (equal weights when a group gives none).
fn weighted(rows: &[&ResultRow]) -> (f64, Option<i64>) {
    let weight = |r: &ResultRow| r.respondents.filter(|n| *n > 0).unwrap_or(1) as f64;
    let total: f64 = rows.iter().map(|r| weight(r)).sum();
    let sum: f64 = rows
        .iter()
        .map(|r| weight(r) * f64::from(r.level.rank()))
        .sum();
    let respondents = rows.iter().map(|r| r.respondents).sum::<Option<i64>>();
    (if total > 0.0 { sum / total } else { 1.0 }, respondents)
}

/// Strengths (highest results) and target areas (lowest), never the same indicator in both.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub strengths: Vec<IndicatorResult>,
    pub targets: Vec<IndicatorResult>,
}

/// Up to [`PROFILE_SIZE`] strengths and targets; ties go to the framework's order (by id).
pub fn profile(results: &[IndicatorResult]) -> Profile {
    let mut sorted: Vec<&IndicatorResult> = results.iter().collect();
    sorted.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then_with(|| a.indicator_id.cmp(&b.indicator_id))
    });
    let half = sorted.len() / 2;
    let strengths: Vec<IndicatorResult> = sorted
        .iter()
        .take(PROFILE_SIZE.min(half.max(usize::from(sorted.len() == 1))))
        .map(|r| (*r).clone())
        .collect();
    let mut targets: Vec<IndicatorResult> = sorted
        .iter()
        .rev()
        .take(PROFILE_SIZE.min(sorted.len() - strengths.len()))
        .map(|r| (*r).clone())
        .collect();
    targets.retain(|t| !strengths.iter().any(|s| s.indicator_id == t.indicator_id));
    Profile { strengths, targets }
}

/// Which way an indicator moved between two administrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    Up,
    Same,
    Down,
}

impl Movement {
    pub fn arrow(self) -> &'static str {
        match self {
            Movement::Up => "↑",
            Movement::Same => "=",
            Movement::Down => "↓",
        }
    }

    /// Up or down by at least a tenth of a level; anything less is the same.
    pub fn between(before: f64, after: f64) -> Movement {
        if after - before >= 0.05 {
            Movement::Up
        } else if before - after >= 0.05 {
            Movement::Down
        } else {
            Movement::Same
        }
    }
}

/// One indicator in a comparison: its result in each administration (None where it was not
/// assessed) and the movement when it was in both.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub indicator_id: String,
    pub before: Option<IndicatorResult>,
    pub after: Option<IndicatorResult>,
}

impl Change {
    pub fn movement(&self) -> Option<Movement> {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => Some(Movement::between(b.rank, a.rank)),
            _ => None,
        }
    }
}

/// Every indicator in either administration, by id.
pub fn compare(before: &[IndicatorResult], after: &[IndicatorResult]) -> Vec<Change> {
    let mut ids: Vec<&str> = before
        .iter()
        .chain(after)
        .map(|r| r.indicator_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| Change {
            indicator_id: id.to_owned(),
            before: before.iter().find(|r| r.indicator_id == id).cloned(),
            after: after.iter().find(|r| r.indicator_id == id).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, group: &str, level: Level, n: Option<i64>) -> ResultRow {
        ResultRow {
            row_number: 2,
            indicator_id: id.to_owned(),
            group: group.to_owned(),
            level,
            score: None,
            scale_max: None,
            respondents: n,
        }
    }

    fn result(id: &str, rank: f64) -> IndicatorResult {
        IndicatorResult {
            indicator_id: id.to_owned(),
            rank,
            respondents: None,
        }
    }

    #[test]
    fn the_whole_school_row_wins_over_groups() {
        let rows = [
            row("11", "", Level::GettingStarted, Some(30)),
            row("11", "teachers", Level::GettingAware, Some(25)),
        ];
        let results = by_indicator(&rows);
        assert_eq!(results.len(), 1);
        assert!((results[0].rank - 3.0).abs() < 1e-9);
        assert_eq!(results[0].describe(), "3 (Getting Started)");
    }

    #[test]
    fn groups_are_weighted_by_respondents() {
        let rows = [
            row("12a", "teachers", Level::GettingReady, Some(30)),
            row("12a", "leaders", Level::KeepImproving, Some(10)),
        ];
        let results = by_indicator(&rows);
        // (2 × 30 + 5 × 10) / 40 = 2.75 → 2.8, which reaches Getting Ready.
        assert!((results[0].rank - 2.8).abs() < 1e-9, "{results:?}");
        assert_eq!(results[0].level(), Level::GettingReady);
        assert_eq!(results[0].respondents, Some(40));
    }

    #[test]
    fn strengths_and_targets_never_overlap() {
        let results = [result("11", 4.0), result("12a", 2.0), result("12b", 3.0)];
        let p = profile(&results);
        assert_eq!(
            p.strengths
                .iter()
                .map(|r| r.indicator_id.as_str())
                .collect::<Vec<_>>(),
            ["11"]
        );
        assert_eq!(
            p.targets
                .iter()
                .map(|r| r.indicator_id.as_str())
                .collect::<Vec<_>>(),
            ["12a", "12b"]
        );
        let many: Vec<IndicatorResult> = (0..10)
            .map(|i| result(&format!("i{i}"), f64::from(i) / 2.0 + 1.0))
            .collect();
        let p = profile(&many);
        assert_eq!(p.strengths.len(), 3);
        assert_eq!(p.targets.len(), 3);
        assert_eq!(p.targets[0].indicator_id, "i0");
        let one = profile(&[result("11", 2.0)]);
        assert_eq!((one.strengths.len(), one.targets.len()), (1, 0));
    }

    #[test]
    fn comparison_shows_each_indicators_movement() {
        let before = [result("11", 2.0), result("12a", 3.0)];
        let after = [result("11", 3.0), result("12a", 3.0), result("12b", 1.0)];
        let changes = compare(&before, &after);
        let moves: Vec<Option<Movement>> = changes.iter().map(Change::movement).collect();
        assert_eq!(moves, [Some(Movement::Up), Some(Movement::Same), None]);
        assert_eq!(Movement::between(3.0, 2.5).arrow(), "↓");
    }
}
