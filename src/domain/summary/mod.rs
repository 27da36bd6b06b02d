//! The indicator summary for a leadership channel: aggregates only. How many schools sit at
//! each level per focus indicator (never a mean turned into a level name) and how that changed
//! since the last summary, schools per stage of the coaching cycle, how many schools moved up,
//! stayed or moved down between their last two assessments, steps by status, open barriers by
//! category with their age, and themes. It names no one, and any figure that counts what
//! fewer than the minimum number of people said is withheld, and says so; so is any figure
//! from which a withheld one could be worked out with the server's other summaries (see
//! `suppression`). How it reads is in `render`.

mod barriers;
mod render;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::assessment::{IndicatorResult, Movement, compare};
use super::cycle::{Stage, StageEntry};
use super::framework::Level;
use super::ids::{SchoolId, UserId};
use super::plan::StepStatus;
use super::text::slug;

/// The smallest group a figure may describe unless a server sets its own.
pub const MIN_GROUP: usize = 5;

/// One school's focus indicator: its level now and its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusLevel {
    pub school_id: SchoolId,
    pub indicator_id: String,
    pub level: Option<Level>,
    /// Every level set, oldest first.
    pub history: Vec<(DateTime<Utc>, Level)>,
}

/// An open barrier, reduced to what an aggregate may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierFact {
    pub school_id: SchoolId,
    pub category: String,
    pub raised_at: DateTime<Utc>,
    /// Who raised it: counted (distinct people per category), never shown.
    pub raised_by: UserId,
}

/// A school's results in its last two assessments (only schools with two or more).
#[derive(Clone, Debug, PartialEq)]
pub struct AssessedSchool {
    pub school_id: SchoolId,
    pub before: Vec<IndicatorResult>,
    pub after: Vec<IndicatorResult>,
}

/// What the store knows for one summary.
#[derive(Clone, Debug)]
pub struct SummaryFacts {
    /// The school (id and name) the summary is of, or None for every school in the server.
    pub school: Option<(SchoolId, String)>,
    /// The server's name: the all-schools summary and its chart are named for it.
    pub server_name: String,
    pub schools: usize,
    /// Indicator id → its name in the server's framework.
    pub indicator_names: BTreeMap<String, String>,
    pub focus: Vec<FocusLevel>,
    pub steps_by_status: BTreeMap<String, usize>,
    /// Every open barrier in the server, of every school: what is withheld is decided across
    /// all the schools, so that each school's summary and the all-schools one agree.
    pub open_barriers: Vec<BarrierFact>,
    /// Where each school the summary is of stands in the coaching cycle.
    pub stages: Vec<StageEntry>,
    /// The schools (of those the summary is of) with two assessments or more.
    pub assessed: Vec<AssessedSchool>,
    /// What the last summary of the same scope reported, if there was one.
    pub previous: Option<Remembered>,
    pub min_group: usize,
}

/// A figure, or the reason it is withheld.
#[derive(Clone, Debug, PartialEq)]
pub enum Figure<T> {
    Shown(T),
    /// Fewer people than the minimum stand behind it, or it would let such a figure be
    /// worked out by subtraction (the two are not told apart: telling them apart would say
    /// which withheld figure is the small one).
    Withheld,
}

/// How many schools sit at each level of one indicator, and how many have set none yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// Schools at level 1 (Getting Aware) to 5 (Keep Improving).
    pub at: [usize; 5],
    /// Schools that focus on it without a level yet.
    pub unset: usize,
}

impl Distribution {
    pub fn add(&mut self, level: Option<Level>) {
        match level {
            Some(level) => self.at[usize::from(level.rank()) - 1] += 1,
            None => self.unset += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.at.iter().sum::<usize>() + self.unset
    }

    /// The level, when the distribution is one school's.
    pub fn only(&self) -> Option<Level> {
        if self.total() != 1 {
            return None;
        }
        Level::ALL
            .into_iter()
            .zip(self.at)
            .find_map(|(level, n)| (n == 1).then_some(level))
    }

    /// `1 Getting Ready · 2 Getting Started · 1 no level yet`: levels with no school left out.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Level::ALL
            .into_iter()
            .zip(self.at)
            .filter(|(_, n)| *n > 0)
            .map(|(level, n)| format!("{n} {}", level.label()))
            .collect();
        if self.unset > 0 {
            parts.push(format!("{} no level yet", self.unset));
        }
        if parts.is_empty() {
            return "no schools".to_owned();
        }
        parts.join(" · ")
    }
}

/// What the last summary said of an indicator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Previous {
    /// No summary of this scope listed it before.
    None,
    Schools(Distribution),
    /// A summary from before schools were counted per level kept a mean rank only.
    Mean(f64),
}

/// One indicator's line in the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorLine {
    pub indicator_id: String,
    pub name: String,
    /// The schools focusing on it, by level now.
    pub schools: Distribution,
    pub previous: Previous,
    /// A one-school summary: the school's level after each change, oldest first (the chart's
    /// line). Empty for the all-schools summary, whose chart shows the distribution.
    pub history: Vec<(DateTime<Utc>, Level)>,
}

/// How schools moved on one indicator between their last two assessments.
#[derive(Clone, Debug, PartialEq)]
pub struct MovementLine {
    pub indicator_id: String,
    pub name: String,
    pub up: usize,
    pub same: usize,
    pub down: usize,
    /// A one-school summary: the two results, `2 (Getting Ready) → 3.4 (Getting Started)`.
    pub detail: Option<String>,
}

/// Open barriers of one category.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryLine {
    pub category: String,
    /// `(count, mean age in days)`, or withheld.
    pub figure: Figure<(usize, i64)>,
}

/// The summary, built.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorSummary {
    pub title: String,
    /// The school's name, or the server's for the all-schools summary (the chart and its file
    /// are named for it).
    pub scope_name: String,
    /// Whether it is one school's summary.
    pub one_school: bool,
    pub date: NaiveDate,
    pub indicators: Vec<IndicatorLine>,
    /// Schools per stage of the cycle, in the cycle's order (stages with none left out).
    pub stages: Vec<(Stage, usize)>,
    /// A one-school summary: when the school entered its stage.
    /// The day the school's stage began (UTC until the caller puts it in the school's zone).
    pub stage_since: Option<NaiveDate>,
    /// Schools with two assessments, and per indicator how they moved.
    pub assessed_schools: usize,
    pub movement: Vec<MovementLine>,
    pub steps: Vec<(StepStatus, usize)>,
    pub barriers: Vec<CategoryLine>,
    /// The most named categories among the figures shown, most first.
    pub themes: Vec<String>,
    pub min_group: usize,
    pub withheld: usize,
}

fn name_of(facts: &SummaryFacts, id: &str) -> String {
    facts
        .indicator_names
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.to_owned())
}

fn previous(facts: &SummaryFacts, id: &str) -> Previous {
    let Some(remembered) = &facts.previous else {
        return Previous::None;
    };
    if let Some(schools) = remembered.schools.get(id) {
        return Previous::Schools(*schools);
    }
    remembered
        .levels
        .get(id)
        .map_or(Previous::None, |m| Previous::Mean(*m))
}

/// Builds the summary at `now`.
pub fn build(facts: &SummaryFacts, now: DateTime<Utc>, date: NaiveDate) -> IndicatorSummary {
    let one_school = facts.school.is_some();
    let mut by_indicator: BTreeMap<&str, Vec<&FocusLevel>> = BTreeMap::new();
    for focus in &facts.focus {
        by_indicator
            .entry(&focus.indicator_id)
            .or_default()
            .push(focus);
    }
    let indicators = by_indicator
        .into_iter()
        .map(|(id, focuses)| {
            let mut schools = Distribution::default();
            for focus in &focuses {
                schools.add(focus.level);
            }
            IndicatorLine {
                indicator_id: id.to_owned(),
                name: name_of(facts, id),
                schools,
                previous: previous(facts, id),
                history: if one_school {
                    focuses.iter().flat_map(|f| f.history.clone()).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let (barriers, themes, withheld) = barriers::lines(facts, now);
    IndicatorSummary {
        title: facts.school.as_ref().map_or_else(
            || format!("Indicator summary: all {} schools", facts.schools),
            |(_, s)| format!("Indicator summary: {s}"),
        ),
        scope_name: facts
            .school
            .as_ref()
            .map_or_else(|| facts.server_name.clone(), |(_, s)| s.clone()),
        one_school,
        date,
        indicators,
        stages: Stage::ALL
            .into_iter()
            .map(|stage| {
                (
                    stage,
                    facts.stages.iter().filter(|e| e.stage == stage).count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect(),
        stage_since: facts
            .stages
            .first()
            .filter(|_| one_school)
            .map(|e| e.began_at.date_naive()),
        assessed_schools: facts.assessed.len(),
        movement: movement(facts, one_school),
        steps: StepStatus::ALL
            .into_iter()
            .map(|s| (s, facts.steps_by_status.get(s.key()).copied().unwrap_or(0)))
            .collect(),
        barriers,
        themes,
        min_group: facts.min_group,
        withheld,
    }
}

/// Per indicator, how many schools moved up, stayed and moved down between their last two
/// assessments (indicators assessed in both only).
fn movement(facts: &SummaryFacts, one_school: bool) -> Vec<MovementLine> {
    let mut lines: BTreeMap<String, MovementLine> = BTreeMap::new();
    for school in &facts.assessed {
        for change in compare(&school.before, &school.after) {
            let Some(moved) = change.movement() else {
                continue;
            };
            let line = lines
                .entry(change.indicator_id.clone())
                .or_insert_with(|| MovementLine {
                    indicator_id: change.indicator_id.clone(),
                    name: name_of(facts, &change.indicator_id),
                    up: 0,
                    same: 0,
                    down: 0,
                    detail: None,
                });
            match moved {
                Movement::Up => line.up += 1,
                Movement::Same => line.same += 1,
                Movement::Down => line.down += 1,
            }
            if let (true, Some(before), Some(after)) = (one_school, &change.before, &change.after) {
                line.detail = Some(format!(
                    "{} {} → {}",
                    moved.arrow(),
                    before.describe(),
                    after.describe()
                ));
            }
        }
    }
    lines.into_values().collect()
}

impl IndicatorSummary {
    /// What the next summary compares with.
    pub fn remembered(&self) -> Remembered {
        Remembered {
            // A one-school summary also keeps its level as a rank, as summaries always did.
            levels: self
                .indicators
                .iter()
                .filter_map(|l| {
                    l.schools
                        .only()
                        .map(|level| (l.indicator_id.clone(), f64::from(level.rank())))
                })
                .collect(),
            schools: self
                .indicators
                .iter()
                .map(|l| (l.indicator_id.clone(), l.schools))
                .collect(),
        }
    }

    /// The chart's file name, for what it shows and when: `lincoln-elementary-summary-2026-12-01.png`.
    pub fn chart_file(&self) -> String {
        format!(
            "{}-summary-{}.png",
            slug(&self.scope_name),
            self.date.format("%Y-%m-%d")
        )
    }
}

/// What the next summary compares with, as stored. Rows written before schools were counted
/// per level carry `levels` alone (a mean rank per indicator), and still read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Remembered {
    #[serde(default)]
    pub levels: BTreeMap<String, f64>,
    #[serde(default)]
    pub schools: BTreeMap<String, Distribution>,
}

#[cfg(test)]
mod tests;
