//! What the digest is built from: each school's facts as the store gathers them.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::rhythm::CheckinOutcome;
use crate::domain::calendar::Span;
use crate::domain::checkin::NotStarted;
use crate::domain::coaching::SessionKind;
use crate::domain::cycle::{ExpectedDays, Stage, StageEntry};
use crate::domain::ids::{SchoolId, StepId};

/// A check-in that did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissedCheckin {
    /// Asked, nudged, and still unanswered.
    Unanswered {
        person: String,
        flow: String,
        asked: DateTime<Utc>,
    },
    /// Never started: the person was in another check-in until it could no longer start.
    NotStarted {
        person: String,
        flow: String,
        due: DateTime<Utc>,
        why: NotStarted,
    },
    /// Never sent: the bot was down past the schedule's grace window.
    NotSent {
        who: String,
        flow: String,
        due: DateTime<Utc>,
    },
}

/// An open action step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenStep {
    pub id: StepId,
    pub title: String,
    pub due_on: NaiveDate,
    pub status: String,
}

/// An open barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenBarrier {
    pub id: i64,
    pub category: String,
    pub text: String,
    pub raised_at: DateTime<Utc>,
}

/// What the store knows about one school, as the digest needs it.
#[derive(Clone, Debug)]
pub struct SchoolFacts {
    pub school_id: SchoolId,
    pub name: String,
    pub zone: Tz,
    pub missed: Vec<MissedCheckin>,
    pub open_steps: Vec<OpenStep>,
    pub open_barriers: Vec<OpenBarrier>,
    /// The latest update of any kind (step, barrier, check-in, level), or when the school
    /// was set up.
    pub last_activity: DateTime<Utc>,
    /// Principals and team members whose DMs are closed.
    pub unreachable: Vec<String>,
    /// Principals and team members marked away around now.
    pub away: Vec<AwayPerson>,
    /// The school's breaks since its last activity: their days are not counted as quiet.
    pub breaks: Vec<Span>,
    /// Where the school is in the coaching cycle; None when not looked up.
    pub cycle: Option<CycleFacts>,
    /// Check-ins that asked a question: those of the last 30 days, and those that ran out
    /// since each person's last confirmed one (for the rate and the streaks).
    pub checkins: Vec<CheckinOutcome>,
    /// The latest coaching session: the day it was held and its kind.
    pub last_session: Option<(NaiveDate, SessionKind)>,
    /// When the last check-in of the school was confirmed.
    pub last_confirmed: Option<DateTime<Utc>>,
    /// The next session on the calendar ("when we meet next"), from today on.
    pub next_session: Option<NaiveDate>,
}

impl SchoolFacts {
    /// A school's facts with nothing in them yet.
    pub fn new(school_id: SchoolId, name: String, zone: Tz, last_activity: DateTime<Utc>) -> Self {
        Self {
            school_id,
            name,
            zone,
            missed: Vec::new(),
            open_steps: Vec::new(),
            open_barriers: Vec::new(),
            last_activity,
            unreachable: Vec::new(),
            away: Vec::new(),
            breaks: Vec::new(),
            cycle: None,
            checkins: Vec::new(),
            last_session: None,
            last_confirmed: None,
            next_session: None,
        }
    }
}

/// A school's stage, how long the server expects each stage to take, and whether it has a
/// plan (a focus indicator with a step that was not dropped).
#[derive(Clone, Debug)]
pub struct CycleFacts {
    pub stage: StageEntry,
    pub expected: ExpectedDays,
    pub has_plan: bool,
}

impl CycleFacts {
    /// What the digest says about the cycle: a stage gone on longer than usual.
    pub fn flags(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut flags = Vec::new();
        let stage = self.stage.stage;
        if self.stage.overdue(&self.expected, now) {
            flags.push(format!(
                "In **{}** for {} days (usually {}) → `/cycle show`, then `/cycle advance`",
                stage.label(),
                self.stage.days_in(now),
                self.expected.of(stage)
            ));
        }
        flags
    }

    /// Whether having no plan needs the coach: from the plan stage on it does (a school
    /// planning, implementing, supported or re-assessing without a plan is stuck). Before,
    /// while assessing and debriefing, no plan is expected: the school is named in the
    /// digest's header instead ("no plan yet").
    pub fn plan_missing_late(&self) -> bool {
        !self.has_plan
            && matches!(
                self.stage.stage,
                Stage::Plan | Stage::Implement | Stage::Support | Stage::Reassess
            )
    }
}

/// Someone of a school marked away (`/away`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwayPerson {
    pub name: String,
    pub span: Span,
}
