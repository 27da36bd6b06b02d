//! The coach's digest: for each of their schools, what needs them this morning. Built from
//! facts the store gathers; rendered as sections that `message::pack` fits into messages.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::calendar::{Span, break_days};
use super::checkin::NotStarted;
use super::cycle::{ExpectedDays, Stage, StageEntry};
use super::ids::{SchoolId, StepId};
use super::message::{MessageBody, Section, pack};
use super::plan::StepStatus;
use super::text::{clip, plural};

/// Steps due within this many days are listed as coming up.
pub const DUE_SOON_DAYS: i64 = 7;
/// A barrier open longer than this is listed as old.
pub const OLD_BARRIER_DAYS: i64 = 14;
/// A school with no update for this long is listed as quiet.
pub const QUIET_DAYS: i64 = 14;
/// The first digest looks back this far for new barriers and missed check-ins.
pub const FIRST_LOOKBACK_DAYS: i64 = 7;

/// A check-in that did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissedCheckin {
    /// Asked, nudged, and still unanswered.
    Unanswered {
        person: String,
        flow: String,
        asked: DateTime<Utc>,
    },
    /// Asked and never answered before it expired.
    Expired {
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
    /// What the digest says about the cycle: a stage gone on longer than usual, and a school
    /// implementing (or being supported in) a plan it does not have. Before those stages
    /// having no plan is expected, and is not flagged.
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
        if !self.has_plan && matches!(stage, Stage::Implement | Stage::Support) {
            flags.push(format!(
                "No plan: in **{}** with no focus indicator that has a step → `/indicator focus`, then `/step add`",
                stage.label()
            ));
        }
        flags
    }
}

/// Someone of a school marked away (`/away`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwayPerson {
    pub name: String,
    pub span: Span,
}

/// One school's part of the digest. Empty lists mean nothing to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolDigest {
    pub school_id: SchoolId,
    pub name: String,
    pub missed: Vec<String>,
    pub overdue: Vec<String>,
    pub due_soon: Vec<String>,
    pub new_barriers: Vec<String>,
    pub old_barriers: Vec<String>,
    /// Days since the last update, when that is too long.
    pub quiet_days: Option<i64>,
    pub unreachable: Vec<String>,
    /// People away today: "Pat Lee is away until Fri 4 Dec 2026".
    pub away: Vec<String>,
    /// A stage gone on longer than usual; no plan while implementing.
    pub cycle: Vec<String>,
}

impl SchoolDigest {
    pub fn is_empty(&self) -> bool {
        self.missed.is_empty()
            && self.overdue.is_empty()
            && self.due_soon.is_empty()
            && self.new_barriers.is_empty()
            && self.old_barriers.is_empty()
            && self.quiet_days.is_none()
            && self.unreachable.is_empty()
            && self.away.is_empty()
            && self.cycle.is_empty()
    }
}

/// The whole digest for one coach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoachDigest {
    /// Schools with something to report, in the order given.
    pub schools: Vec<SchoolDigest>,
    /// Schools with nothing to report.
    pub quiet_schools: usize,
    /// The coach's local date the digest is for.
    pub date: NaiveDate,
}

fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b").to_string()
}

fn local_day(at: DateTime<Utc>, zone: Tz) -> String {
    day(at.with_timezone(&zone).date_naive())
}

/// Builds the digest at `now` for the coach in `zone`; `since` is when the last digest was
/// built (new barriers and missed check-ins are those after it).
pub fn build(
    facts: &[SchoolFacts],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: Tz,
) -> CoachDigest {
    let mut schools = Vec::new();
    let mut quiet_schools = 0;
    for school in facts {
        let digest = school_digest(school, since, now);
        if digest.is_empty() {
            quiet_schools += 1;
        } else {
            schools.push(digest);
        }
    }
    CoachDigest {
        schools,
        quiet_schools,
        date: now.with_timezone(&zone).date_naive(),
    }
}

fn school_digest(school: &SchoolFacts, since: DateTime<Utc>, now: DateTime<Utc>) -> SchoolDigest {
    let zone = school.zone;
    let today = now.with_timezone(&zone).date_naive();
    let soon = today + TimeDelta::days(DUE_SOON_DAYS);
    let mut digest = SchoolDigest {
        school_id: school.school_id,
        name: school.name.clone(),
        missed: Vec::new(),
        overdue: Vec::new(),
        due_soon: Vec::new(),
        new_barriers: Vec::new(),
        old_barriers: Vec::new(),
        quiet_days: None,
        unreachable: Vec::new(),
        away: Vec::new(),
        cycle: school
            .cycle
            .as_ref()
            .map(|c| c.flags(now))
            .unwrap_or_default(),
    };
    for missed in &school.missed {
        digest.missed.push(match missed {
            MissedCheckin::Unanswered {
                person,
                flow,
                asked,
            } => format!(
                "**{flow}** with {person}, asked {}, is still unanswered → `/checkin status`",
                local_day(*asked, zone)
            ),
            MissedCheckin::Expired {
                person,
                flow,
                asked,
            } => format!(
                "**{flow}** with {person}, asked {}, ran out without an answer → `/checkin start`",
                local_day(*asked, zone)
            ),
            MissedCheckin::NotStarted {
                person,
                flow,
                due,
                why,
            } => {
                let why = match why {
                    NotStarted::Previous => format!("{person} was still in the previous one"),
                    // Another server's check-in is not named.
                    NotStarted::Elsewhere => {
                        format!("{person} was in another check-in until it ran out")
                    }
                };
                format!(
                    "**{flow}** with {person} on {} did not start: {why} → `/checkin start`",
                    local_day(*due, zone)
                )
            }
            MissedCheckin::NotSent { who, flow, due } => format!(
                "**{flow}** for {who}, due {}, was not sent (the bot was down) → `/checkin start`",
                local_day(*due, zone)
            ),
        });
    }
    let mut steps: Vec<&OpenStep> = school.open_steps.iter().collect();
    steps.sort_by_key(|s| (s.due_on, s.id));
    for step in steps {
        let title = clip(&step.title, 120);
        let status = StepStatus::label_for(&step.status);
        if step.due_on < today {
            let late = (today - step.due_on).num_days();
            digest.overdue.push(format!(
                "#{} **{title}**: due {} ({} ago), {status} → `/step update step:#{}`",
                step.id,
                day(step.due_on),
                plural(late, "day"),
                step.id
            ));
        } else if step.due_on <= soon {
            digest.due_soon.push(format!(
                "#{} **{title}**: due {}, {status} → `/step show step:#{}`",
                step.id,
                day(step.due_on),
                step.id
            ));
        }
    }
    let mut barriers: Vec<&OpenBarrier> = school.open_barriers.iter().collect();
    barriers.sort_by_key(|b| (b.raised_at, b.id));
    for barrier in barriers {
        let text = clip(&barrier.text, 140);
        let age = (now - barrier.raised_at).num_days();
        if barrier.raised_at > since {
            digest.new_barriers.push(format!(
                "#{} ({}) {text}: raised {} → `/barrier resolve barrier:#{}`",
                barrier.id,
                barrier.category,
                local_day(barrier.raised_at, zone),
                barrier.id
            ));
        } else if age > OLD_BARRIER_DAYS {
            digest.old_barriers.push(format!(
                "#{} ({}) {text}: open {} → `/barrier resolve barrier:#{}`",
                barrier.id,
                barrier.category,
                plural(age, "day"),
                barrier.id
            ));
        }
    }
    // Days of a break are not silence.
    let last = school.last_activity.with_timezone(&zone).date_naive();
    let silent = (now - school.last_activity).num_days() - break_days(&school.breaks, last, today);
    if silent >= QUIET_DAYS {
        digest.quiet_days = Some(silent);
    }
    digest.unreachable = school
        .unreachable
        .iter()
        .map(|name| {
            format!("{name} cannot get DMs from the bot (their DMs are closed): ask them to allow direct messages from server members")
        })
        .collect();
    let mut away: Vec<&AwayPerson> = school
        .away
        .iter()
        .filter(|a| a.span.covers(today))
        .collect();
    away.sort_by(|a, b| (a.span.to, &a.name).cmp(&(b.span.to, &b.name)));
    digest.away = away
        .iter()
        .map(|a| format!("{} is away until {}", a.name, day(a.span.to)))
        .collect();
    digest
}

impl CoachDigest {
    /// The digest as messages within Discord's limits: one embed per school (continued
    /// across embeds and messages when long), or one line when nothing needs the coach.
    pub fn render(&self) -> Vec<MessageBody> {
        let total = self.schools.len() + self.quiet_schools;
        let date = day(self.date);
        if self.schools.is_empty() {
            return vec![MessageBody {
                content: format!(
                    "**Coaching digest, {date}:** nothing needs you today across your {}.",
                    plural(i64::try_from(total).unwrap_or(i64::MAX), "school")
                ),
                embeds: Vec::new(),
            }];
        }
        let sections: Vec<Section> = self.schools.iter().map(section).collect();
        let needing = self.schools.len();
        let quiet = self.quiet_schools;
        pack(&sections, |i, n| {
            let mut header =
                format!("**Coaching digest, {date}:** {needing} of your {total} schools need you",);
            if quiet > 0 {
                header.push_str(&format!("; {quiet} have nothing to report"));
            }
            header.push('.');
            if n > 1 {
                header.push_str(&format!(" (part {i} of {n})"));
            }
            header
        })
    }
}

fn section(school: &SchoolDigest) -> Section {
    let mut lines = Vec::new();
    let mut group = |title: &str, items: &[String]| {
        if !items.is_empty() {
            lines.push(format!("**{title}**"));
            lines.extend(items.iter().map(|item| format!("• {item}")));
        }
    };
    group("Coaching cycle", &school.cycle);
    group("Check-ins missed", &school.missed);
    group("Overdue steps", &school.overdue);
    group("Due in the next 7 days", &school.due_soon);
    group("New barriers", &school.new_barriers);
    group("Barriers open more than 14 days", &school.old_barriers);
    group("Not reachable by DM", &school.unreachable);
    group("Away", &school.away);
    if let Some(days) = school.quiet_days {
        lines.push(format!(
            "**Quiet:** no update in {days} days → `/step list` or `/checkin start`"
        ));
    }
    Section {
        title: school.name.clone(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 13, 0, 0)
            .single()
            .expect("a time")
    }

    fn school(id: i64) -> SchoolFacts {
        SchoolFacts {
            school_id: SchoolId::new(id),
            name: format!("School {id}"),
            zone: chrono_tz::America::Chicago,
            missed: Vec::new(),
            open_steps: Vec::new(),
            open_barriers: Vec::new(),
            last_activity: at(2026, 11, 20),
            unreachable: Vec::new(),
            away: Vec::new(),
            breaks: Vec::new(),
            cycle: None,
        }
    }

    #[test]
    fn a_stage_gone_on_too_long_and_a_missing_plan_are_flagged() {
        let mut facts = school(1);
        facts.last_activity = at(2026, 11, 23);
        facts.cycle = Some(CycleFacts {
            stage: StageEntry {
                school_id: SchoolId::new(1),
                stage: Stage::Implement,
                began_at: at(2026, 11, 24) - TimeDelta::days(131),
                moved_by: None,
                note: None,
            },
            expected: ExpectedDays::default(),
            has_plan: false,
        });
        let digest = build(
            &[facts.clone()],
            at(2026, 11, 23),
            at(2026, 11, 24),
            chrono_tz::UTC,
        );
        let flags = &digest.schools[0].cycle;
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert!(
            flags[0].starts_with("In **Implement action steps** for 131 days (usually 120)"),
            "{flags:?}"
        );
        assert!(flags[1].starts_with("No plan"), "{flags:?}");
        let text = format!("{:?}", digest.render());
        assert!(text.contains("**Coaching cycle**"), "{text}");

        // A plan, within the usual time: nothing to say. Assessing without a plan is normal.
        if let Some(cycle) = facts.cycle.as_mut() {
            cycle.has_plan = true;
            cycle.stage.began_at = at(2026, 11, 1);
        }
        let digest = build(
            &[facts.clone()],
            at(2026, 11, 23),
            at(2026, 11, 24),
            chrono_tz::UTC,
        );
        assert!(digest.schools.is_empty(), "{:?}", digest.schools);
        if let Some(cycle) = facts.cycle.as_mut() {
            cycle.has_plan = false;
            cycle.stage.stage = Stage::Assess;
        }
        let digest = build(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
        assert!(digest.schools.is_empty(), "{:?}", digest.schools);
    }

    #[test]
    fn someone_away_today_is_shown_with_their_last_day() {
        let date = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
        let mut facts = school(1);
        facts.away = vec![
            AwayPerson {
                name: "Pat Lee".into(),
                span: Span {
                    from: date(11, 23),
                    to: date(11, 27),
                },
            },
            AwayPerson {
                name: "Later Lou".into(),
                span: Span {
                    from: date(12, 7),
                    to: date(12, 9),
                },
            },
        ];
        let digest = build(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
        assert_eq!(digest.schools[0].away, ["Pat Lee is away until Fri 27 Nov"]);
        let text = format!("{:?}", digest.render());
        assert!(text.contains("Pat Lee is away until Fri 27 Nov"), "{text}");
    }

    #[test]
    fn a_break_pauses_the_quiet_days_count() {
        let date = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
        let mut facts = school(1);
        facts.last_activity = at(2026, 10, 25);
        facts.breaks = vec![Span {
            from: date(11, 10),
            to: date(11, 20),
        }];
        let digest = build(
            &[facts.clone()],
            at(2026, 11, 23),
            at(2026, 11, 24),
            chrono_tz::UTC,
        );
        assert_eq!(
            digest.schools[0].quiet_days,
            Some(19),
            "30 days less 11 of break"
        );
        facts.last_activity = at(2026, 11, 5);
        let digest = build(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
        assert!(
            digest.schools.is_empty(),
            "8 days of silence outside the break"
        );
    }

    #[test]
    fn each_item_lands_in_its_group_with_the_command_that_acts_on_it() {
        let now = at(2026, 11, 24);
        let since = at(2026, 11, 23);
        let mut facts = school(1);
        facts.open_steps = vec![
            OpenStep {
                id: StepId::new(3),
                title: "Walkthroughs".into(),
                due_on: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
                status: "in_progress".into(),
            },
            OpenStep {
                id: StepId::new(4),
                title: "Data talks".into(),
                due_on: NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
                status: "planned".into(),
            },
            OpenStep {
                id: StepId::new(5),
                title: "Far off".into(),
                due_on: NaiveDate::from_ymd_opt(2027, 1, 27).expect("date"),
                status: "planned".into(),
            },
        ];
        facts.open_barriers = vec![
            OpenBarrier {
                id: 8,
                category: "time".into(),
                text: "No common planning time".into(),
                raised_at: at(2026, 11, 23) + TimeDelta::hours(2),
            },
            OpenBarrier {
                id: 9,
                category: "policy".into(),
                text: "Union rules".into(),
                raised_at: at(2026, 10, 1),
            },
            OpenBarrier {
                id: 10,
                category: "people".into(),
                text: "Known, not old".into(),
                raised_at: at(2026, 11, 18),
            },
        ];
        let digest = build(&[facts, school(2)], since, now, chrono_tz::America::Chicago);
        assert_eq!(digest.quiet_schools, 1);
        let one = &digest.schools[0];
        assert_eq!(one.overdue.len(), 1);
        assert!(
            one.overdue[0].contains("#3")
                && one.overdue[0].contains("4 days ago")
                && one.overdue[0].contains("/step update step:#3"),
            "{:?}",
            one.overdue
        );
        assert_eq!(one.due_soon.len(), 1);
        assert!(one.due_soon[0].contains("#4"));
        assert_eq!(one.new_barriers.len(), 1);
        assert!(one.new_barriers[0].contains("/barrier resolve barrier:#8"));
        assert_eq!(one.old_barriers.len(), 1);
        assert!(one.old_barriers[0].contains("#9"));
        assert_eq!(one.quiet_days, None);
        let messages = digest.render();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].content.contains("1 of your 2 schools need you"),
            "{}",
            messages[0].content
        );
    }

    #[test]
    fn a_checkin_that_did_not_start_says_why_without_naming_another_server() {
        let mut facts = school(1);
        facts.missed = vec![
            MissedCheckin::NotStarted {
                person: "Pat Lee".into(),
                flow: "Weekly step check-in".into(),
                due: at(2026, 11, 23),
                why: NotStarted::Previous,
            },
            MissedCheckin::NotStarted {
                person: "Pat Lee".into(),
                flow: "Wellbeing check".into(),
                due: at(2026, 11, 16),
                why: NotStarted::Elsewhere,
            },
        ];
        let digest = build(&[facts], at(2026, 11, 1), at(2026, 11, 24), chrono_tz::UTC);
        assert_eq!(
            digest.schools[0].missed,
            [
                "**Weekly step check-in** with Pat Lee on Mon 23 Nov did not start: Pat Lee was still in the previous one → `/checkin start`",
                "**Wellbeing check** with Pat Lee on Mon 16 Nov did not start: Pat Lee was in another check-in until it ran out → `/checkin start`",
            ]
        );
    }

    #[test]
    fn a_school_without_updates_for_two_weeks_is_called_quiet() {
        let mut facts = school(1);
        facts.last_activity = at(2026, 11, 1);
        let digest = build(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
        assert_eq!(digest.schools[0].quiet_days, Some(23));
    }

    #[test]
    fn nothing_to_report_is_one_line_not_silence() {
        let digest = build(
            &[school(1), school(2), school(3)],
            at(2026, 11, 23),
            at(2026, 11, 24),
            chrono_tz::UTC,
        );
        let messages = digest.render();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].embeds.is_empty());
        assert!(
            messages[0]
                .content
                .contains("nothing needs you today across your 3 schools"),
            "{}",
            messages[0].content
        );
    }
}
