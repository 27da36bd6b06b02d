//! The rows of each export file, as a spreadsheet should read them: names beside ids, times
//! in UTC, formulas defused (in what people typed and in the names and ids of a framework a
//! district loaded).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::domain::framework::Level;
use crate::domain::ids::{SchoolId, StepId, UserId};
use crate::store::barriers::{Barrier, BarrierNote};
use crate::store::export::{AnswerRow, LevelRow, Records, UpdateRow};
use crate::store::steps::ActionStep;

/// A row type of one file, with its header row (which serde writes only before a first row).
pub(super) trait CsvRow: Serialize {
    const HEADERS: &'static [&'static str];
}

/// Text as a spreadsheet will show it, never as a formula. The writer sends every text cell of
/// every file through here ([`super::defused`]): rows hold the text as it was stored.
pub(super) fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

pub(super) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) struct Names<'a> {
    pub records: &'a Records,
    pub indicator_names: &'a BTreeMap<String, String>,
}

impl<'a> Names<'a> {
    pub(super) fn school(&self, id: SchoolId) -> &'a str {
        self.records.schools.get(&id).map_or("", String::as_str)
    }

    pub(super) fn person(&self, id: UserId) -> &'a str {
        self.records.names.get(&id).map_or("", String::as_str)
    }

    fn indicator(&self, id: &str) -> &'a str {
        self.indicator_names.get(id).map_or("", String::as_str)
    }

    pub fn step(&self, s: &'a ActionStep) -> StepCsv<'a> {
        let owners: Vec<UserId> = self
            .records
            .owners
            .iter()
            .filter(|(step, _)| *step == s.id)
            .map(|(_, user)| *user)
            .collect();
        StepCsv {
            step_id: s.id,
            school: self.school(s.school_id),
            indicator: &s.indicator_id,
            indicator_name: self.indicator(&s.indicator_id),
            title: &s.title,
            status: s.status.key(),
            due_on: s.due_on.to_string(),
            owners: owners
                .iter()
                .map(|o| self.person(*o))
                .collect::<Vec<_>>()
                .join("; "),
            owner_ids: owners
                .iter()
                .map(UserId::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            resources: s.resources.as_deref(),
            created_by: self.person(s.created_by),
            created_by_id: s.created_by,
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
        }
    }

    pub fn update(&self, u: &'a UpdateRow) -> UpdateCsv<'a> {
        UpdateCsv {
            update_id: u.id,
            step_id: u.step_id,
            school: self.school(u.school_id),
            at: time(u.at),
            author: self.person(u.author_id),
            author_id: u.author_id,
            kind: &u.kind,
            old_status: u.old_status.as_deref(),
            new_status: u.new_status.as_deref(),
            note: u.note.as_deref(),
            field: u.field.as_deref(),
            old_value: u.old_value.as_deref(),
            new_value: u.new_value.as_deref(),
        }
    }

    pub fn barrier(&self, b: &'a Barrier) -> BarrierCsv<'a> {
        BarrierCsv {
            barrier_id: b.id,
            school: self.school(b.school_id),
            step_id: b.step_id,
            category: &b.category,
            text: &b.text,
            raised_by: self.person(b.raised_by),
            raised_by_id: b.raised_by,
            raised_at: time(b.raised_at),
            status: if b.resolved_at.is_some() {
                "resolved"
            } else {
                "open"
            },
            resolved_by: b.resolved_by.map(|id| self.person(id)),
            resolved_by_id: b.resolved_by,
            resolved_at: b.resolved_at.map(time),
            resolution: b.resolution.as_deref(),
        }
    }

    pub fn barrier_note(&self, n: &'a BarrierNote) -> BarrierNoteCsv<'a> {
        let school = self
            .records
            .barriers
            .iter()
            .find(|b| b.id == n.barrier_id)
            .map_or("", |b| self.school(b.school_id));
        BarrierNoteCsv {
            note_id: n.id,
            barrier_id: n.barrier_id,
            school,
            kind: n.kind.key(),
            text: &n.text,
            by: self.person(n.author_id),
            by_id: n.author_id,
            at: time(n.at),
            checkin_id: n.checkin_id,
        }
    }

    pub fn level(&self, l: &'a LevelRow) -> LevelCsv<'a> {
        LevelCsv {
            level_id: l.id,
            school: self.school(l.school_id),
            indicator: &l.indicator_id,
            indicator_name: self.indicator(&l.indicator_id),
            level: &l.level,
            level_label: Level::parse(&l.level).map_or("", Level::label),
            note: l.note.as_deref(),
            set_by: self.person(l.set_by),
            set_by_id: l.set_by,
            set_at: time(l.set_at),
        }
    }

    pub fn answer(&self, a: &'a AnswerRow) -> AnswerCsv<'a> {
        AnswerCsv {
            session_id: a.session_id,
            school: self.school(a.school_id),
            person: self.person(a.person_id),
            person_id: a.person_id,
            flow: &a.flow_title,
            status: &a.status,
            started_at: time(a.started_at),
            question: a.position,
            purpose: &a.purpose,
            step_id: a.step_id,
            category: a.category.as_deref(),
            answer: &a.answer,
            answered_at: time(a.answered_at),
            goes_to: match (a.mark.as_deref(), a.shared) {
                (Some("skipped"), _) => "left out",
                (Some(_), _) => "nothing in the way",
                (None, 0) => "private",
                (None, _) => "plan",
            },
            about: a.about.as_deref(),
        }
    }
}

pub(super) const STEP_HEADERS: &[&str] = &[
    "step_id",
    "school",
    "indicator",
    "indicator_name",
    "title",
    "status",
    "due_on",
    "owners",
    "owner_ids",
    "resources",
    "created_by",
    "created_by_id",
    "created_at",
    "updated_at",
];

#[derive(Serialize)]
pub(super) struct StepCsv<'a> {
    step_id: StepId,
    school: &'a str,
    indicator: &'a str,
    indicator_name: &'a str,
    title: &'a str,
    status: &'a str,
    due_on: String,
    owners: String,
    owner_ids: String,
    resources: Option<&'a str>,
    created_by: &'a str,
    created_by_id: UserId,
    created_at: String,
    updated_at: String,
}

impl CsvRow for StepCsv<'_> {
    const HEADERS: &'static [&'static str] = STEP_HEADERS;
}

pub(super) const UPDATE_HEADERS: &[&str] = &[
    "update_id",
    "step_id",
    "school",
    "at",
    "author",
    "author_id",
    "kind",
    "old_status",
    "new_status",
    "note",
    "field",
    "old_value",
    "new_value",
];

#[derive(Serialize)]
pub(super) struct UpdateCsv<'a> {
    update_id: i64,
    step_id: StepId,
    school: &'a str,
    at: String,
    author: &'a str,
    author_id: UserId,
    kind: &'a str,
    old_status: Option<&'a str>,
    new_status: Option<&'a str>,
    note: Option<&'a str>,
    field: Option<&'a str>,
    old_value: Option<&'a str>,
    new_value: Option<&'a str>,
}

impl CsvRow for UpdateCsv<'_> {
    const HEADERS: &'static [&'static str] = UPDATE_HEADERS;
}

pub(super) const BARRIER_HEADERS: &[&str] = &[
    "barrier_id",
    "school",
    "step_id",
    "category",
    "text",
    "raised_by",
    "raised_by_id",
    "raised_at",
    "status",
    "resolved_by",
    "resolved_by_id",
    "resolved_at",
    "resolution",
];

#[derive(Serialize)]
pub(super) struct BarrierCsv<'a> {
    barrier_id: i64,
    school: &'a str,
    step_id: Option<StepId>,
    category: &'a str,
    text: &'a str,
    raised_by: &'a str,
    raised_by_id: UserId,
    raised_at: String,
    status: &'static str,
    resolved_by: Option<&'a str>,
    resolved_by_id: Option<UserId>,
    resolved_at: Option<String>,
    resolution: Option<&'a str>,
}

impl CsvRow for BarrierCsv<'_> {
    const HEADERS: &'static [&'static str] = BARRIER_HEADERS;
}

pub(super) const BARRIER_NOTE_HEADERS: &[&str] = &[
    "note_id",
    "barrier_id",
    "school",
    "kind",
    "text",
    "by",
    "by_id",
    "at",
    "checkin_id",
];

#[derive(Serialize)]
pub(super) struct BarrierNoteCsv<'a> {
    note_id: i64,
    barrier_id: i64,
    school: &'a str,
    kind: &'static str,
    text: &'a str,
    by: &'a str,
    by_id: UserId,
    at: String,
    checkin_id: Option<i64>,
}

impl CsvRow for BarrierNoteCsv<'_> {
    const HEADERS: &'static [&'static str] = BARRIER_NOTE_HEADERS;
}

pub(super) const LEVEL_HEADERS: &[&str] = &[
    "level_id",
    "school",
    "indicator",
    "indicator_name",
    "level",
    "level_label",
    "note",
    "set_by",
    "set_by_id",
    "set_at",
];

#[derive(Serialize)]
pub(super) struct LevelCsv<'a> {
    level_id: i64,
    school: &'a str,
    indicator: &'a str,
    indicator_name: &'a str,
    level: &'a str,
    level_label: &'static str,
    note: Option<&'a str>,
    set_by: &'a str,
    set_by_id: UserId,
    set_at: String,
}

impl CsvRow for LevelCsv<'_> {
    const HEADERS: &'static [&'static str] = LEVEL_HEADERS;
}

pub(super) const ANSWER_HEADERS: &[&str] = &[
    "session_id",
    "school",
    "person",
    "person_id",
    "flow",
    "status",
    "started_at",
    "question",
    "purpose",
    "step_id",
    "category",
    "answer",
    "answered_at",
    "goes_to",
    "about",
];

#[derive(Serialize)]
pub(super) struct AnswerCsv<'a> {
    session_id: i64,
    school: &'a str,
    person: &'a str,
    person_id: UserId,
    flow: &'a str,
    status: &'a str,
    started_at: String,
    question: i64,
    purpose: &'a str,
    step_id: Option<StepId>,
    category: Option<&'a str>,
    answer: &'a str,
    answered_at: String,
    /// `plan` (shared by the person), `private` (them and their coach), `left out`, or
    /// `nothing in the way`.
    goes_to: &'static str,
    /// For a general answer: the step it is about (`plan` for the plan as a whole).
    about: Option<&'a str>,
}

impl CsvRow for AnswerCsv<'_> {
    const HEADERS: &'static [&'static str] = ANSWER_HEADERS;
}
