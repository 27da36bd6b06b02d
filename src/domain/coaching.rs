//! Coaching sessions: the meetings a coach holds with a school (a one-to-one with its
//! principal, a leadership-team meeting, a walkthrough, …), documented the same way each time:
//! what we worked on, what we noticed, what we agreed, when we meet next. What was agreed can
//! become action steps; when we meet next is a date the digest and the brief know.

use chrono::{DateTime, NaiveDate, Utc};

use super::ids::{CoachingSessionId, SchoolId, ServerId, StepId, UserId};
use super::plan::TITLE_MAX;
use super::text;
use crate::error::UserError;

/// Characters in "what we worked on" and "what we noticed".
pub const NOTES_MAX: usize = 1000;
/// Characters in one agreed next step: it may become a step's title.
pub const AGREEMENT_MAX: usize = TITLE_MAX;
/// Agreed next steps in one session (each gets a button).
pub const AGREEMENTS_MAX: usize = 10;

/// What kind of meeting a session was (the kinds of coaching practice 12a names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionKind {
    OneToOne,
    LeadershipTeam,
    Walkthrough,
    DataTeam,
    Partnership,
    Other,
}

impl SessionKind {
    pub const ALL: [SessionKind; 6] = [
        SessionKind::OneToOne,
        SessionKind::LeadershipTeam,
        SessionKind::Walkthrough,
        SessionKind::DataTeam,
        SessionKind::Partnership,
        SessionKind::Other,
    ];

    /// The word stored in the database and written in exports.
    pub fn key(self) -> &'static str {
        match self {
            SessionKind::OneToOne => "one_to_one",
            SessionKind::LeadershipTeam => "leadership_team",
            SessionKind::Walkthrough => "walkthrough",
            SessionKind::DataTeam => "data_team",
            SessionKind::Partnership => "partnership",
            SessionKind::Other => "other",
        }
    }

    /// How it reads in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            SessionKind::OneToOne => "one-to-one coaching",
            SessionKind::LeadershipTeam => "leadership-team meeting",
            SessionKind::Walkthrough => "walkthrough",
            SessionKind::DataTeam => "data-team meeting",
            SessionKind::Partnership => "district partnership meeting",
            SessionKind::Other => "other session",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == raw)
    }
}

/// A logged coaching session, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoachingSession {
    pub id: CoachingSessionId,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub kind: SessionKind,
    /// The school's local date it was held.
    pub held_on: NaiveDate,
    pub logged_by: UserId,
    pub worked_on: String,
    pub noticed: String,
    pub next_meeting_on: Option<NaiveDate>,
    /// Readable by the school's leadership team too (`share:team`).
    pub shared: bool,
    pub logged_at: DateTime<Utc>,
    /// Who it was with, besides the coach who logged it.
    pub people: Vec<UserId>,
}

impl CoachingSession {
    /// Whether `person` logged it or was in it.
    pub fn involves(&self, person: UserId) -> bool {
        self.logged_by == person || self.people.contains(&person)
    }
}

/// One next step agreed in a session; `step` once it became an action step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub id: i64,
    pub session_id: CoachingSessionId,
    /// 1, 2, … in the order written.
    pub position: i64,
    pub text: String,
    pub step: Option<StepId>,
}

/// What the form gives, checked: the notes, and the agreed next steps one a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionNotes {
    pub worked_on: String,
    pub noticed: String,
    pub agreements: Vec<String>,
}

impl SessionNotes {
    /// Checks the form's fields: something worked on (required), what was noticed (optional),
    /// and the agreed next steps (optional, one a line, each short enough to be a step title).
    pub fn parse(worked_on: &str, noticed: &str, agreed: &str) -> Result<Self, UserError> {
        let worked_on = text::bounded("what we worked on", worked_on, NOTES_MAX)?;
        let noticed = if noticed.trim().is_empty() {
            String::new()
        } else {
            text::bounded("what we noticed", noticed, NOTES_MAX)?
        };
        Ok(SessionNotes {
            worked_on,
            noticed,
            agreements: agreements(agreed)?,
        })
    }
}

/// The agreed next steps, one a line: list marks (`-`, `*`, `•`, `1.`, `2)`) are taken off,
/// blank lines skipped.
pub fn agreements(raw: &str) -> Result<Vec<String>, UserError> {
    let lines: Vec<String> = raw
        .lines()
        .map(strip_list_mark)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.len() > AGREEMENTS_MAX {
        return Err(UserError::TooManyAgreements {
            count: lines.len(),
            max: AGREEMENTS_MAX,
        });
    }
    lines
        .iter()
        .map(|line| text::one_line("an agreed next step", line, AGREEMENT_MAX))
        .collect()
}

fn strip_list_mark(line: &str) -> &str {
    let line = line.trim();
    for mark in ["- ", "* ", "• ", "–"] {
        if let Some(rest) = line.strip_prefix(mark) {
            return rest.trim();
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 2 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return rest.trim();
        }
    }
    line
}

/// The date of the next meeting, if any: not before the session itself.
pub fn next_meeting(
    held_on: NaiveDate,
    next: Option<NaiveDate>,
) -> Result<Option<NaiveDate>, UserError> {
    match next {
        Some(date) if date < held_on => Err(UserError::NextMeetingBeforeSession {
            next: text::day(date),
            held: text::day(held_on),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreements_are_one_a_line_without_their_list_marks() {
        let parsed = agreements(
            "- Share the walkthrough tool with grade leads\n\n2. Draft the data-meeting agenda\n• Ask HR about coverage\n  \n",
        )
        .expect("three agreements");
        assert_eq!(
            parsed,
            [
                "Share the walkthrough tool with grade leads",
                "Draft the data-meeting agenda",
                "Ask HR about coverage"
            ]
        );
        assert_eq!(agreements("").expect("none"), Vec::<String>::new());
        // A year is not a list mark.
        assert_eq!(
            agreements("2027 plan draft").expect("one"),
            ["2027 plan draft"]
        );
    }

    #[test]
    fn too_many_or_too_long_agreements_are_refused_with_what_to_do() {
        let many = (1..=11).map(|i| format!("step {i}\n")).collect::<String>();
        let error = agreements(&many).expect_err("eleven").to_string();
        assert!(error.contains("at most 10"), "{error}");
        let long = "x".repeat(AGREEMENT_MAX + 1);
        let error = agreements(&long).expect_err("too long").to_string();
        assert!(error.contains("200"), "{error}");
    }

    #[test]
    fn notes_need_something_worked_on() {
        assert!(SessionNotes::parse("  ", "", "").is_err());
        let notes = SessionNotes::parse("Walkthrough debrief", " ", "").expect("notes");
        assert_eq!(notes.noticed, "");
        assert!(notes.agreements.is_empty());
    }

    #[test]
    fn the_next_meeting_is_not_before_the_session() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        assert!(next_meeting(day(10), Some(day(9))).is_err());
        assert_eq!(
            next_meeting(day(10), Some(day(17))).expect("ok"),
            Some(day(17))
        );
        assert_eq!(next_meeting(day(10), None).expect("ok"), None);
    }

    #[test]
    fn every_kind_reads_back_from_its_key() {
        for kind in SessionKind::ALL {
            assert_eq!(SessionKind::parse(kind.key()), Some(kind));
        }
    }
}
