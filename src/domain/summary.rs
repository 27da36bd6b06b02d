//! The indicator summary for a leadership channel: aggregates only. Levels per focus
//! indicator and their change since the last summary, steps by status, open barriers by
//! category with their age, and themes. It names no one, and any figure that counts what
//! fewer than the minimum number of people said is withheld, and says so; so is any figure
//! from which a withheld one could be worked out with the server's other summaries (see
//! `suppression`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::framework::Level;
use super::ids::{SchoolId, UserId};
use super::message::{Embed, MessageBody};
use super::plan::{BarrierCategory, StepStatus};
use super::suppression::{Cell, Row, suppression};
use super::text::{EMBED_DESCRIPTION, THREAD_NAME, clip};

/// The smallest group a figure may describe unless a server sets its own.
pub const MIN_GROUP: usize = 5;
/// The chart's file name, as the embed refers to it.
pub const CHART_FILE: &str = "summary-chart.png";

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

/// What the store knows for one summary.
#[derive(Clone, Debug)]
pub struct SummaryFacts {
    /// The school (id and name) the summary is of, or None for every school in the server.
    pub school: Option<(SchoolId, String)>,
    pub schools: usize,
    /// Indicator id → its name in the server's framework.
    pub indicator_names: BTreeMap<String, String>,
    pub focus: Vec<FocusLevel>,
    pub steps_by_status: BTreeMap<String, usize>,
    /// Every open barrier in the server, of every school: what is withheld is decided across
    /// all the schools, so that each school's summary and the all-schools one agree.
    pub open_barriers: Vec<BarrierFact>,
    /// The levels the last summary reported (indicator → mean rank), if there was one.
    pub previous: Option<BTreeMap<String, f64>>,
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

/// One indicator's line in the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorLine {
    pub indicator_id: String,
    pub name: String,
    /// Mean rank (1–5) across the schools that set a level; None when none has.
    pub mean: Option<f64>,
    /// How many schools focus on it, and how many set a level.
    pub schools: usize,
    pub previous: Option<f64>,
    /// Mean rank over time (for the chart).
    pub history: Vec<(DateTime<Utc>, f64)>,
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
    pub date: NaiveDate,
    pub indicators: Vec<IndicatorLine>,
    pub steps: Vec<(StepStatus, usize)>,
    pub barriers: Vec<CategoryLine>,
    /// The most named categories among the figures shown, most first.
    pub themes: Vec<String>,
    pub min_group: usize,
    pub withheld: usize,
}

/// The mean of ranks, to one decimal.
fn mean(ranks: &[f64]) -> Option<f64> {
    if ranks.is_empty() {
        return None;
    }
    let sum: f64 = ranks.iter().sum();
    let n = ranks.len() as f64;
    Some((sum / n * 10.0).round() / 10.0)
}

/// The level a mean rank is closest to (for the text).
fn level_near(mean: f64) -> Level {
    let index = (mean.round().clamp(1.0, 5.0) as usize).saturating_sub(1);
    Level::ALL[index.min(4)]
}

/// Builds the summary at `now`.
pub fn build(facts: &SummaryFacts, now: DateTime<Utc>, date: NaiveDate) -> IndicatorSummary {
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
            let ranks: Vec<f64> = focuses
                .iter()
                .filter_map(|f| f.level.map(|l| f64::from(l.rank())))
                .collect();
            IndicatorLine {
                indicator_id: id.to_owned(),
                name: facts
                    .indicator_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_owned()),
                mean: mean(&ranks),
                schools: focuses.len(),
                previous: facts.previous.as_ref().and_then(|p| p.get(id).copied()),
                history: history(&focuses),
            }
        })
        .collect();
    let steps = StepStatus::ALL
        .into_iter()
        .map(|s| (s, facts.steps_by_status.get(s.key()).copied().unwrap_or(0)))
        .collect();
    let mut barriers = Vec::new();
    let mut withheld = 0;
    let mut shown: Vec<(usize, String)> = Vec::new();
    let school_id = facts.school.as_ref().map(|(id, _)| *id);
    for category in BarrierCategory::ALL {
        let in_server: Vec<&BarrierFact> = facts
            .open_barriers
            .iter()
            .filter(|b| b.category == category.key())
            .collect();
        let of: Vec<&BarrierFact> = in_server
            .iter()
            .copied()
            .filter(|b| school_id.is_none_or(|id| b.school_id == id))
            .collect();
        if of.is_empty() {
            continue;
        }
        let figure = if suppression(&row(&in_server), facts.min_group).covers(school_id) {
            withheld += 1;
            Figure::Withheld
        } else {
            let days: i64 = of.iter().map(|b| (now - b.raised_at).num_days()).sum();
            let count = of.len();
            shown.push((count, category.key().to_owned()));
            Figure::Shown((count, days / i64::try_from(count).unwrap_or(1).max(1)))
        };
        barriers.push(CategoryLine {
            category: category.key().to_owned(),
            figure,
        });
    }
    shown.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let themes = shown.into_iter().take(3).map(|(_, c)| c).collect();
    IndicatorSummary {
        title: facts.school.as_ref().map_or_else(
            || format!("Indicator summary: all {} schools", facts.schools),
            |(_, s)| format!("Indicator summary: {s}"),
        ),
        date,
        indicators,
        steps,
        barriers,
        themes,
        min_group: facts.min_group,
        withheld,
    }
}

/// One category's open barriers as suppression sees them: each school's count and people,
/// and the distinct people across the schools.
fn row(barriers: &[&BarrierFact]) -> Row {
    let mut people: BTreeMap<SchoolId, BTreeSet<UserId>> = BTreeMap::new();
    let mut cells: BTreeMap<SchoolId, Cell> = BTreeMap::new();
    for barrier in barriers {
        cells.entry(barrier.school_id).or_default().count += 1;
        people
            .entry(barrier.school_id)
            .or_default()
            .insert(barrier.raised_by);
    }
    for (school, who) in &people {
        if let Some(cell) = cells.get_mut(school) {
            cell.people = who.len();
        }
    }
    Row {
        cells,
        people: barriers
            .iter()
            .map(|b| b.raised_by)
            .collect::<BTreeSet<_>>()
            .len(),
    }
}

/// The mean rank after each level change across the schools (a school without a level yet
/// does not count until it has one).
fn history(focuses: &[&FocusLevel]) -> Vec<(DateTime<Utc>, f64)> {
    let mut changes: Vec<(DateTime<Utc>, usize, Level)> = focuses
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.history.iter().map(move |(at, level)| (*at, i, *level)))
        .collect();
    changes.sort_by_key(|(at, i, _)| (*at, *i));
    let mut current: BTreeMap<usize, f64> = BTreeMap::new();
    let mut points = Vec::new();
    for (at, school, level) in changes {
        current.insert(school, f64::from(level.rank()));
        let ranks: Vec<f64> = current.values().copied().collect();
        if let Some(m) = mean(&ranks) {
            points.push((at, m));
        }
    }
    points
}

fn change(line: &IndicatorLine) -> String {
    match (line.mean, line.previous) {
        (Some(now), Some(before)) if (now - before).abs() < 0.05 => {
            "no change since the last summary".to_owned()
        }
        (Some(now), Some(before)) if now > before => format!("up from {before:.1}"),
        (Some(_), Some(before)) => format!("down from {before:.1}"),
        (Some(_), None) => "first summary".to_owned(),
        (None, _) => "no level set yet".to_owned(),
    }
}

impl IndicatorSummary {
    /// The levels to remember for the next summary's "change since".
    pub fn levels(&self) -> BTreeMap<String, f64> {
        self.indicators
            .iter()
            .filter_map(|l| l.mean.map(|m| (l.indicator_id.clone(), m)))
            .collect()
    }

    /// The summary as one message with one embed, the chart shown in it.
    pub fn render(&self) -> MessageBody {
        let mut lines =
            vec!["**Focus indicators** (level 1 Getting Aware to 5 Keep Improving)".to_owned()];
        if self.indicators.is_empty() {
            lines.push("No focus indicators yet.".to_owned());
        }
        for line in &self.indicators {
            let level = line.mean.map_or_else(
                || "no level set".to_owned(),
                |m| format!("{m:.1} ({})", level_near(m).label()),
            );
            lines.push(format!(
                "• {} {}: {level}, {}",
                line.indicator_id,
                clip(&line.name, 80),
                change(line)
            ));
        }
        lines.push(String::new());
        lines.push("**Action steps**".to_owned());
        lines.push(
            self.steps
                .iter()
                .map(|(status, n)| format!("{n} {}", status.label()))
                .collect::<Vec<_>>()
                .join(" · "),
        );
        lines.push(String::new());
        lines.push("**Open barriers by category**".to_owned());
        if self.barriers.is_empty() {
            lines.push("None open.".to_owned());
        }
        for category in &self.barriers {
            lines.push(match category.figure {
                Figure::Shown((count, days)) => {
                    format!(
                        "• {}: {count} open, {days} days on average",
                        category.category
                    )
                }
                Figure::Withheld => format!(
                    "• {}: withheld (raised by fewer than {} people, or it would let such a figure be worked out)",
                    category.category, self.min_group
                ),
            });
        }
        if !self.themes.is_empty() {
            lines.push(String::new());
            lines.push(format!(
                "**Themes:** most barriers named are about {}.",
                self.themes.join(", then ")
            ));
        }
        let footer = format!(
            "Aggregates only: no names. Figures about fewer than {} people are withheld, and so is any figure from which one could be worked out by subtraction, here or in the other schools' summaries{}.",
            self.min_group,
            if self.withheld > 0 {
                format!(" ({} here)", self.withheld)
            } else {
                String::new()
            }
        );
        MessageBody {
            content: format!("**{}**, {}", self.title, self.date.format("%a %-d %b %Y")),
            embeds: vec![Embed {
                title: clip(&self.title, 250),
                description: clip(&lines.join("\n"), EMBED_DESCRIPTION),
                footer: Some(footer),
                image: Some(CHART_FILE.to_owned()),
            }],
        }
    }
}

impl IndicatorSummary {
    /// The name of the thread the summary is posted in, where the server prefers threads.
    pub fn thread_name(&self) -> String {
        clip(
            &format!("{} · {}", self.title, self.date.format("%-d %b %Y")),
            THREAD_NAME,
        )
    }

    /// The channel message the thread opens on.
    pub fn starter(&self) -> MessageBody {
        MessageBody {
            content: format!(
                "**{}**, {}: the figures and the chart are in this thread.",
                self.title,
                self.date.format("%a %-d %b %Y")
            ),
            embeds: Vec::new(),
        }
    }
}

/// What the next summary compares with, as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Remembered {
    pub levels: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 15, 0, 0)
            .single()
            .expect("time")
    }

    fn facts() -> SummaryFacts {
        SummaryFacts {
            school: Some((SchoolId::new(1), "Lincoln Elementary".into())),
            schools: 1,
            indicator_names: BTreeMap::from([("12a".into(), "Shared leadership".into())]),
            focus: vec![FocusLevel {
                school_id: SchoolId::new(1),
                indicator_id: "12a".into(),
                level: Some(Level::GettingBetter),
                history: vec![(at(1), Level::GettingReady), (at(10), Level::GettingBetter)],
            }],
            steps_by_status: BTreeMap::from([("planned".into(), 2), ("done".into(), 1)]),
            open_barriers: (0..6)
                .map(|i| BarrierFact {
                    school_id: SchoolId::new(1),
                    category: "time".into(),
                    raised_at: at(1),
                    raised_by: UserId::new(i),
                })
                .chain((0..2).map(|i| BarrierFact {
                    school_id: SchoolId::new(1),
                    category: "people".into(),
                    raised_at: at(1),
                    raised_by: UserId::new(i),
                }))
                .collect(),
            previous: Some(BTreeMap::from([("12a".into(), 3.0)])),
            min_group: MIN_GROUP,
        }
    }

    #[test]
    fn figures_for_small_groups_are_withheld_and_say_so() {
        let summary = build(&facts(), at(21), at(21).date_naive());
        assert_eq!(summary.barriers.len(), 2);
        assert_eq!(summary.barriers[0].figure, Figure::Shown((6, 20)));
        assert_eq!(summary.barriers[1].figure, Figure::Withheld);
        assert_eq!(summary.themes, ["time"]);
        let text = summary.render().embeds[0].description.clone();
        assert!(
            text.contains(
                "people: withheld (raised by fewer than 5 people, or it would let such a figure be worked out)"
            ),
            "{text}"
        );
        assert!(
            text.contains("12a Shared leadership: 4.0 (Getting Better), up from 3.0"),
            "{text}"
        );
        assert!(
            text.contains("2 planned · 0 in progress · 0 blocked · 1 done · 0 dropped"),
            "{text}"
        );
    }

    /// Three schools' summaries and the all-schools one, built from the same facts: for each
    /// category, the count each shows (None: withheld; a school not listing it: 0).
    fn figures(f: &SummaryFacts) -> BTreeMap<String, (Vec<Option<usize>>, Option<usize>)> {
        let shown = |school: Option<(SchoolId, String)>| {
            let facts = SummaryFacts {
                school,
                ..f.clone()
            };
            build(&facts, at(21), at(21).date_naive())
                .barriers
                .into_iter()
                .map(|line| {
                    let count = match line.figure {
                        Figure::Shown((count, _)) => Some(count),
                        Figure::Withheld => None,
                    };
                    (line.category, count)
                })
                .collect::<BTreeMap<_, _>>()
        };
        let total = shown(None);
        let schools: Vec<_> = (1..=3)
            .map(|i| shown(Some((SchoolId::new(i), format!("School {i}")))))
            .collect();
        total
            .into_iter()
            .map(|(category, all)| {
                let cells = schools
                    .iter()
                    .map(|s| s.get(&category).copied().unwrap_or(Some(0)))
                    .collect();
                (category, (cells, all))
            })
            .collect()
    }

    #[test]
    fn three_schools_summaries_agree_and_no_withheld_figure_can_be_worked_out() {
        // Time: 6, 7 and 2 people; people: 1, 1 and 5; resources: 5, 5, 6; policy: 2 at one.
        let mut f = facts();
        f.schools = 3;
        f.open_barriers.clear();
        let mut person = 0;
        for (category, counts) in [
            ("time", [6, 7, 2]),
            ("people", [1, 1, 5]),
            ("resources", [5, 5, 6]),
            ("policy", [0, 0, 2]),
        ] {
            for (school, n) in (1..=3).zip(counts) {
                for _ in 0..n {
                    person += 1;
                    f.open_barriers.push(BarrierFact {
                        school_id: SchoolId::new(school),
                        category: category.into(),
                        raised_at: at(1),
                        raised_by: UserId::new(person),
                    });
                }
            }
        }
        let figures = figures(&f);
        assert_eq!(figures["time"], (vec![None, Some(7), None], Some(15)));
        assert_eq!(figures["people"], (vec![None, None, None], Some(7)));
        assert_eq!(
            figures["resources"],
            (vec![Some(5), Some(5), Some(6)], Some(16)),
            "nothing small, nothing withheld"
        );
        assert_eq!(figures["policy"], (vec![Some(0), Some(0), None], None));
        for (category, (cells, total)) in &figures {
            let hidden = cells.iter().filter(|c| c.is_none()).count();
            let shown: usize = cells.iter().flatten().sum();
            match total {
                // The total less the shown leaves the withheld ones' sum: one alone would be
                // known, and so would several if that left each exactly one.
                Some(total) => assert!(
                    hidden == 0 || (hidden >= 2 && total - shown > hidden),
                    "{category}: {cells:?} of {total}"
                ),
                None => assert!(hidden > 0, "{category}: the total is the sum of {cells:?}"),
            }
        }
    }

    #[test]
    fn history_is_the_mean_across_schools_after_each_change() {
        let mut f = facts();
        f.focus.push(FocusLevel {
            school_id: SchoolId::new(2),
            indicator_id: "12a".into(),
            level: Some(Level::GettingStarted),
            history: vec![(at(5), Level::GettingStarted)],
        });
        let summary = build(&f, at(21), at(21).date_naive());
        assert_eq!(
            summary.indicators[0].history,
            vec![(at(1), 2.0), (at(5), 2.5), (at(10), 3.5)]
        );
        assert_eq!(summary.indicators[0].mean, Some(3.5));
    }
}
