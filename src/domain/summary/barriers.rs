//! Open barriers by category, with what is withheld: decided across every school of the
//! server (see `suppression`), so that no summary lets a withheld figure be worked out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{BarrierFact, CategoryLine, Figure, SummaryFacts};
use crate::domain::ids::{SchoolId, UserId};
use crate::domain::plan::BarrierCategory;
use crate::domain::suppression::{Cell, Row, suppression};

/// The open-barrier lines, the themes among the figures shown, and how many were withheld.
pub(super) fn lines(
    facts: &SummaryFacts,
    now: DateTime<Utc>,
) -> (Vec<CategoryLine>, Vec<String>, usize) {
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
    (barriers, themes, withheld)
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
