//! `cycle.csv`: every stage each school entered in the coaching cycle, who moved it and why,
//! as a spreadsheet should read it (names beside ids, times in UTC, formulas defused).

use serde::Serialize;

use super::rows::{CsvRow, Names, time};
use crate::domain::cycle::StageEntry;
use crate::domain::ids::UserId;

pub(super) const CYCLE_HEADERS: &[&str] = &[
    "school",
    "stage",
    "stage_label",
    "began_at",
    "moved_by",
    "moved_by_id",
    "note",
];

#[derive(Serialize)]
pub(super) struct CycleCsv<'a> {
    school: &'a str,
    stage: &'static str,
    stage_label: &'static str,
    began_at: String,
    /// Empty for the start every school gets when it is set up.
    moved_by: Option<&'a str>,
    moved_by_id: Option<UserId>,
    note: Option<&'a str>,
}

impl CsvRow for CycleCsv<'_> {
    const HEADERS: &'static [&'static str] = CYCLE_HEADERS;
}

impl<'a> Names<'a> {
    pub fn cycle(&self, e: &'a StageEntry) -> CycleCsv<'a> {
        CycleCsv {
            school: self.school(e.school_id),
            stage: e.stage.key(),
            stage_label: e.stage.label(),
            began_at: time(e.began_at),
            moved_by: e.moved_by.map(|id| self.person(id)),
            moved_by_id: e.moved_by,
            note: e.note.as_deref(),
        }
    }
}
