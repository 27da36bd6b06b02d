//! The visit brief (`/brief`): one page a coach reads before visiting a school. Where it is in
//! the cycle, its focus indicators with level and trend, its steps by status with the overdue
//! ones named, its open barriers, the next steps people named in their last confirmed
//! check-ins, and what became of the last session's agreements. Facts in, one message out:
//! each part an embed with its own share of Discord's 6,000 characters, so that a busy school
//! still fits, and what does not fit is counted ("… and N more") with where to see it.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::coaching::SessionKind;
use super::cycle::{ExpectedDays, StageEntry};
use super::framework::Level;
use super::ids::{CoachingSessionId, StepId};
use super::message::{Embed, MessageBody};
use super::plan::StepStatus;
use super::text::{clip, day, plural};

/// Characters each part may take of an embed's description; together with the titles they
/// stay under the 6,000 one message's embeds may hold.
const STAGE_BUDGET: usize = 400;
const INDICATORS_BUDGET: usize = 900;
const STEPS_BUDGET: usize = 1300;
const BARRIERS_BUDGET: usize = 900;
const NEXT_STEPS_BUDGET: usize = 1000;
const SESSION_BUDGET: usize = 1000;
/// Longest quote of someone's words (a barrier, a next step) in a line.
const QUOTE_MAX: usize = 200;

/// A focus indicator: its title, its level now and the level before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorFacts {
    /// `12a · Leader partnerships`
    pub title: String,
    pub level: Option<Level>,
    /// The level set before the current one, if any.
    pub previous: Option<Level>,
    /// When the current level was set.
    pub set_at: Option<DateTime<Utc>>,
}

/// An action step with its owners' names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFacts {
    pub id: StepId,
    pub title: String,
    pub status: StepStatus,
    pub due_on: NaiveDate,
    pub owners: Vec<String>,
}

/// An open barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierFacts {
    pub id: i64,
    pub category: String,
    pub text: String,
    pub raised_at: DateTime<Utc>,
    pub step: Option<StepId>,
}

/// A next step someone named in their last confirmed check-in (one the coach may read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedNextStep {
    pub person: String,
    pub confirmed_at: DateTime<Utc>,
    pub text: String,
    /// Shared to the plan (a step's log) rather than private to the person and their coach.
    pub shared: bool,
}

/// What became of one agreed next step: the step it became, with that step's status now
/// (None when the step is gone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgreementFate {
    pub text: String,
    pub step: Option<(StepId, Option<StepStatus>)>,
}

/// The school's last coaching session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    pub id: CoachingSessionId,
    pub kind: SessionKind,
    pub held_on: NaiveDate,
    pub agreements: Vec<AgreementFate>,
    /// "When we meet next" as that session said.
    pub next_meeting_on: Option<NaiveDate>,
}

/// Everything a brief says, gathered for one school as of `now`.
#[derive(Clone, Debug)]
pub struct BriefFacts {
    pub school: String,
    pub zone: Tz,
    pub now: DateTime<Utc>,
    pub stage: StageEntry,
    pub expected: ExpectedDays,
    pub indicators: Vec<IndicatorFacts>,
    pub steps: Vec<StepFacts>,
    pub barriers: Vec<BarrierFacts>,
    pub next_steps: Vec<NamedNextStep>,
    pub session: Option<SessionFacts>,
    /// The earliest meeting on the calendar from today on, of any of the school's sessions.
    pub next_meeting: Option<NaiveDate>,
}

impl BriefFacts {
    /// The school's today.
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.zone).date_naive()
    }

    fn local_day(&self, at: DateTime<Utc>) -> String {
        day(at.with_timezone(&self.zone).date_naive())
    }
}

/// One part of the brief: a title and its text, already within its share of the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BriefPart {
    pub title: &'static str,
    pub text: String,
}

/// The brief: its heading and six parts, in the order a coach reads them.
pub fn build(facts: &BriefFacts) -> Vec<BriefPart> {
    vec![
        BriefPart {
            title: "Cycle stage",
            text: clip(&stage(facts), STAGE_BUDGET),
        },
        BriefPart {
            title: "Focus indicators",
            text: indicators(facts),
        },
        BriefPart {
            title: "Action steps",
            text: steps(facts),
        },
        BriefPart {
            title: "Open barriers",
            text: barriers(facts),
        },
        BriefPart {
            title: "Next steps named in check-ins",
            text: next_steps(facts),
        },
        BriefPart {
            title: "Last coaching session",
            text: session(facts),
        },
    ]
}

/// The brief as one message: a heading, then an embed a part.
pub fn render(facts: &BriefFacts) -> MessageBody {
    MessageBody {
        content: clip(
            &format!("**Visit brief: {}** · {}", facts.school, day(facts.today())),
            super::text::MESSAGE_CONTENT,
        ),
        embeds: build(facts)
            .into_iter()
            .map(|part| Embed {
                title: part.title.to_owned(),
                description: part.text,
                footer: None,
                image: None,
            })
            .collect(),
        buttons: Vec::new(),
    }
}

/// `lines` one a line within `max` characters; when some do not fit, the last line says how
/// many more there are and, after `see`, where to find them.
pub fn lines_within(lines: &[String], max: usize, see: &str) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let left = lines.len() - index;
        let used = out.chars().count();
        let needed = line.chars().count() + usize::from(!out.is_empty());
        let room_after = if left == 1 {
            0
        } else {
            format!("\n… and {} more; {see}", left - 1).chars().count()
        };
        if used + needed + room_after > max {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("… and {left} more; {see}"));
            return clip(&out, max);
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

fn stage(facts: &BriefFacts) -> String {
    let entry = &facts.stage;
    let days = entry.days_in(facts.now);
    let late = if entry.overdue(&facts.expected, facts.now) {
        ", longer than usual"
    } else {
        ""
    };
    format!(
        "**{}. {}** since {} ({}; usually {}{late})\n{}",
        entry.stage.number(),
        entry.stage.label(),
        facts.local_day(entry.began_at),
        if days == 0 {
            "less than a day".to_owned()
        } else {
            plural(days, "day")
        },
        plural(i64::from(facts.expected.of(entry.stage)), "day"),
        entry.stage.purpose()
    )
}

fn indicators(facts: &BriefFacts) -> String {
    if facts.indicators.is_empty() {
        return "No focus indicators yet: choose them with `/indicator focus`.".to_owned();
    }
    let lines: Vec<String> = facts
        .indicators
        .iter()
        .map(|i| {
            let title = clip(&i.title, 100);
            let Some(level) = i.level else {
                return format!("• {title}: no level yet");
            };
            let set = i
                .set_at
                .map(|at| format!(", set {}", facts.local_day(at)))
                .unwrap_or_default();
            let trend = match i.previous {
                None => "first level".to_owned(),
                Some(previous) if previous.rank() < level.rank() => {
                    format!("↑ from {previous}")
                }
                Some(previous) if previous.rank() > level.rank() => {
                    format!("↓ from {previous}")
                }
                Some(_) => "→ unchanged".to_owned(),
            };
            format!("• {title}: **{level}** ({trend}{set})")
        })
        .collect();
    lines_within(&lines, INDICATORS_BUDGET, "`/indicator list` has them all")
}

fn steps(facts: &BriefFacts) -> String {
    if facts.steps.is_empty() {
        return "No action steps yet: add the first with `/step add`.".to_owned();
    }
    let counts: Vec<String> = StepStatus::ALL
        .into_iter()
        .filter_map(|status| {
            let n = facts.steps.iter().filter(|s| s.status == status).count();
            (n > 0).then(|| format!("{n} {status}"))
        })
        .collect();
    let today = facts.today();
    let overdue: Vec<&StepFacts> = facts
        .steps
        .iter()
        .filter(|s| s.status.is_open() && s.due_on < today)
        .collect();
    let head = format!(
        "{} in all: {}",
        plural(i64::try_from(facts.steps.len()).unwrap_or(i64::MAX), "step"),
        counts.join(" · ")
    );
    if overdue.is_empty() {
        return format!("{head}\nNothing is overdue.");
    }
    let head = format!("{head}\n**Overdue ({}):**", overdue.len());
    let lines: Vec<String> = overdue
        .iter()
        .map(|s| {
            let owners = if s.owners.is_empty() {
                "no owner".to_owned()
            } else {
                clip(&s.owners.join(", "), 120)
            };
            format!(
                "• #{} {} · due {} · {} · {owners}",
                s.id,
                clip(&s.title, QUOTE_MAX),
                day(s.due_on),
                s.status
            )
        })
        .collect();
    let budget = STEPS_BUDGET - head.chars().count() - 1;
    format!(
        "{head}\n{}",
        lines_within(&lines, budget, "`/step list overdue:true` has them all")
    )
}

fn barriers(facts: &BriefFacts) -> String {
    if facts.barriers.is_empty() {
        return "No open barriers.".to_owned();
    }
    let lines: Vec<String> = facts
        .barriers
        .iter()
        .map(|b| {
            let age = match (facts.now - b.raised_at).num_days() {
                0 => "raised today".to_owned(),
                days => format!("open {}", plural(days, "day")),
            };
            let on = b
                .step
                .map(|s| format!(" · on step #{s}"))
                .unwrap_or_default();
            format!(
                "• #{} **{}** · {age}{on} · “{}”",
                b.id,
                b.category,
                clip(&b.text, QUOTE_MAX)
            )
        })
        .collect();
    lines_within(&lines, BARRIERS_BUDGET, "`/barrier list` has them all")
}

fn next_steps(facts: &BriefFacts) -> String {
    if facts.next_steps.is_empty() {
        return "No confirmed check-in names a next step yet.".to_owned();
    }
    let lines: Vec<String> = facts
        .next_steps
        .iter()
        .map(|n| {
            format!(
                "• {} ({}, {}): “{}”",
                clip(&n.person, 60),
                facts.local_day(n.confirmed_at),
                if n.shared { "shared" } else { "private" },
                clip(&n.text, QUOTE_MAX)
            )
        })
        .collect();
    lines_within(
        &lines,
        NEXT_STEPS_BUDGET,
        "`/checkin history person:…` has each person's",
    )
}

fn session(facts: &BriefFacts) -> String {
    let Some(session) = &facts.session else {
        return "No coaching session logged yet: log one with `/session log`.".to_owned();
    };
    let next = match (facts.next_meeting, session.next_meeting_on) {
        (Some(next), _) => format!("**Next meeting:** {}", day(next)),
        (None, Some(planned)) => format!(
            "**Next meeting:** none on the calendar (the last one planned was {})",
            day(planned)
        ),
        (None, None) => "**Next meeting:** not set".to_owned(),
    };
    let see = format!("`/session show id:{}` has them all", session.id);
    let head = format!(
        "{} on {} (session #{}) · {}",
        capitalised(session.kind.label()),
        day(session.held_on),
        session.id,
        next
    );
    if session.agreements.is_empty() {
        return format!("{head}\nNothing was agreed.");
    }
    let lines: Vec<String> = session
        .agreements
        .iter()
        .map(|a| {
            let fate = match a.step {
                Some((id, Some(status))) => format!("→ step #{id}, {status}"),
                Some((id, None)) => format!("→ step #{id}, since deleted"),
                None => "not made a step".to_owned(),
            };
            format!("• “{}” {fate}", clip(&a.text, QUOTE_MAX))
        })
        .collect();
    let head = format!("{head}\n**Agreed:**");
    let budget = SESSION_BUDGET - head.chars().count() - 1;
    format!("{head}\n{}", lines_within(&lines, budget, &see))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
