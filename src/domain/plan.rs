//! Action plans: steps with a status and owners, and the barriers in their way.

use std::fmt;

use super::ids::StepId;
use crate::error::UserError;

use super::text;

/// Longest step title.
pub const TITLE_MAX: usize = 200;
/// Longest note on an update, a level change, a barrier or a resolution.
pub const NOTE_MAX: usize = 1000;
/// Longest "resources needed".
pub const RESOURCES_MAX: usize = 500;

/// Where an action step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepStatus {
    Planned,
    InProgress,
    Blocked,
    Done,
    Dropped,
}

impl StepStatus {
    pub const ALL: [StepStatus; 5] = [
        StepStatus::Planned,
        StepStatus::InProgress,
        StepStatus::Blocked,
        StepStatus::Done,
        StepStatus::Dropped,
    ];

    pub fn key(self) -> &'static str {
        match self {
            StepStatus::Planned => "planned",
            StepStatus::InProgress => "in_progress",
            StepStatus::Blocked => "blocked",
            StepStatus::Done => "done",
            StepStatus::Dropped => "dropped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Planned => "planned",
            StepStatus::InProgress => "in progress",
            StepStatus::Blocked => "blocked",
            StepStatus::Done => "done",
            StepStatus::Dropped => "dropped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let wanted = raw.trim().to_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|s| s.key() == wanted)
    }

    /// The label for a stored key, or the key itself if it is not one.
    pub fn label_for(key: &str) -> &str {
        match Self::parse(key) {
            Some(known) => known.label(),
            None => key,
        }
    }

    /// Done and dropped steps are closed: no longer due, not overdue.
    pub fn is_open(self) -> bool {
        !matches!(self, StepStatus::Done | StepStatus::Dropped)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What kind of thing is in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BarrierCategory {
    Time,
    People,
    Resources,
    Policy,
    Knowledge,
    Other,
}

impl BarrierCategory {
    pub const ALL: [BarrierCategory; 6] = [
        BarrierCategory::Time,
        BarrierCategory::People,
        BarrierCategory::Resources,
        BarrierCategory::Policy,
        BarrierCategory::Knowledge,
        BarrierCategory::Other,
    ];

    pub fn key(self) -> &'static str {
        match self {
            BarrierCategory::Time => "time",
            BarrierCategory::People => "people",
            BarrierCategory::Resources => "resources",
            BarrierCategory::Policy => "policy",
            BarrierCategory::Knowledge => "knowledge",
            BarrierCategory::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let wanted = raw.trim().to_lowercase();
        Self::ALL.into_iter().find(|c| c.key() == wanted)
    }
}

impl fmt::Display for BarrierCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What a note on a barrier says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarrierNoteKind {
    /// Something underneath the barrier, named in a barrier deep-dive about it.
    RootCause,
}

impl BarrierNoteKind {
    /// The word stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            BarrierNoteKind::RootCause => "root_cause",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [BarrierNoteKind::RootCause]
            .into_iter()
            .find(|k| k.key() == raw)
    }
}

/// A step's title: one line, at most 200 characters.
pub fn step_title(raw: &str) -> Result<String, UserError> {
    text::one_line("step title", raw, TITLE_MAX)
}

/// What a step needs (may span lines), at most 500 characters.
pub fn resources(raw: &str) -> Result<String, UserError> {
    text::bounded("resources needed", raw, RESOURCES_MAX)
}

/// A free-text note (may span lines), at most 1,000 characters.
pub fn note(field: &'static str, raw: &str) -> Result<String, UserError> {
    text::bounded(field, raw, NOTE_MAX)
}

/// Reads a step reference as typed or picked: `12`, `#12`, or an autocomplete value.
pub fn step_ref(raw: &str) -> Result<StepId, UserError> {
    number_ref(raw).map(StepId::new)
}

/// Reads a numbered reference (a step's, a barrier's, a schedule's) as typed or picked.
pub fn number_ref(raw: &str) -> Result<i64, UserError> {
    let trimmed = raw.trim();
    let digits = trimmed.trim_start_matches('#');
    let digits = digits.split_whitespace().next().unwrap_or_default();
    digits
        .trim_end_matches(['·', ':'])
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| UserError::UnknownStep {
            given: text::clip(trimmed, 40),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_categories_round_trip() {
        for status in StepStatus::ALL {
            assert_eq!(StepStatus::parse(status.key()), Some(status));
            assert_eq!(StepStatus::parse(status.label()), Some(status));
        }
        for category in BarrierCategory::ALL {
            assert_eq!(BarrierCategory::parse(category.key()), Some(category));
        }
        assert!(!StepStatus::Done.is_open());
        assert!(StepStatus::Blocked.is_open());
    }

    #[test]
    fn titles_are_bounded_at_200_characters() {
        assert!(step_title(&"x".repeat(200)).is_ok());
        assert_eq!(
            step_title(&"x".repeat(201)),
            Err(UserError::TooLong {
                field: "step title",
                len: 201,
                max: 200
            })
        );
    }

    #[test]
    fn step_references_accept_ids_and_hashes() {
        assert_eq!(step_ref("12"), Ok(StepId::new(12)));
        assert_eq!(step_ref("#12"), Ok(StepId::new(12)));
        assert_eq!(step_ref(" #7 · Walkthrough schedule"), Ok(StepId::new(7)));
        assert!(step_ref("walkthroughs").is_err());
        assert!(step_ref("0").is_err());
    }
}
