//! What moved since the coach's last digest, shown first: steps done, check-ins confirmed,
//! sessions logged, and new barriers. One line each, bounded.

use chrono::NaiveDate;

use crate::domain::coaching::SessionKind;
use crate::domain::ids::StepId;
use crate::domain::text::{clip, join_within};

/// Room for one line of wins (an embed line; the whole embed holds 4,096).
const LINE: usize = 600;

/// A step marked done since the last digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoneStep {
    pub id: StepId,
    pub school: String,
    pub title: String,
}

/// A check-in confirmed since the last digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedCheckin {
    pub school: String,
    pub person: String,
    pub flow: String,
}

/// A coaching session logged since the last digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedSession {
    pub school: String,
    pub kind: SessionKind,
    pub held_on: NaiveDate,
}

/// A barrier raised since the last digest (resolved since, or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaisedBarrier {
    pub id: i64,
    pub school: String,
    pub category: String,
}

/// Everything that moved in the coach's schools since their last digest, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wins {
    pub steps_done: Vec<DoneStep>,
    pub confirmed: Vec<ConfirmedCheckin>,
    pub sessions: Vec<LoggedSession>,
    pub new_barriers: Vec<RaisedBarrier>,
}

impl Wins {
    pub fn is_empty(&self) -> bool {
        self.lines().is_empty()
    }

    /// One line per kind that has something: good news first, then the new barriers.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = |count: usize, one: &str, many: &str, items: Vec<String>| {
            if count > 0 {
                let what = if count == 1 { one } else { many };
                let list = join_within(&items, "; ", LINE, "");
                lines.push(format!("**{count} {what}:** {list}"));
            }
        };
        line(
            self.steps_done.len(),
            "step done",
            "steps done",
            self.steps_done
                .iter()
                .map(|s| format!("#{} {} ({})", s.id, clip(&s.title, 60), s.school))
                .collect(),
        );
        line(
            self.confirmed.len(),
            "check-in confirmed",
            "check-ins confirmed",
            self.confirmed
                .iter()
                .map(|c| format!("{} ({}, {})", c.person, clip(&c.flow, 40), c.school))
                .collect(),
        );
        line(
            self.sessions.len(),
            "session logged",
            "sessions logged",
            self.sessions
                .iter()
                .map(|s| {
                    format!(
                        "{} {} ({})",
                        s.school,
                        s.held_on.format("%a %-d %b"),
                        s.kind.label()
                    )
                })
                .collect(),
        );
        line(
            self.new_barriers.len(),
            "new barrier",
            "new barriers",
            self.new_barriers
                .iter()
                .map(|b| format!("#{} {} ({})", b.id, b.school, b.category))
                .collect(),
        );
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_one_bounded_line_and_empty_kinds_are_left_out() {
        let wins = Wins {
            steps_done: (1..=200)
                .map(|n| DoneStep {
                    id: StepId::new(n),
                    school: "Lincoln".into(),
                    title: format!("Step number {n}"),
                })
                .collect(),
            confirmed: vec![ConfirmedCheckin {
                school: "Lincoln".into(),
                person: "Pat Lee".into(),
                flow: "Weekly step check-in".into(),
            }],
            sessions: Vec::new(),
            new_barriers: Vec::new(),
        };
        let lines = wins.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("**200 steps done:** #1 Step number 1 (Lincoln); "));
        assert!(lines[0].contains("more"), "{}", lines[0]);
        assert!(lines[0].chars().count() < LINE + 30);
        assert_eq!(
            lines[1],
            "**1 check-in confirmed:** Pat Lee (Weekly step check-in, Lincoln)"
        );
        assert!(Wins::default().is_empty());
    }
}
