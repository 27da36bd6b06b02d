//! The coach's digest: what moved since their last one (wins first), then for each of their
//! schools what needs them this morning, with the school's rhythm (stage, last contact,
//! response rate, next session). Built from facts the store gathers; items the coach snoozed
//! are left out for a week. Rendered (`render`) as sections that `message::pack` fits.

mod facts;
mod render;
pub mod rhythm;
pub mod snooze;
pub mod wins;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::calendar::break_days;
use super::checkin::NotStarted;
use super::cycle::Stage;
use super::ids::SchoolId;
use super::plan::StepStatus;
use super::text::{clip, plural};
pub use facts::{AwayPerson, CycleFacts, MissedCheckin, OpenBarrier, OpenStep, SchoolFacts};
use rhythm::{LastContact, ResponseRate};
use snooze::Snoozable;
use wins::Wins;

/// Steps due within this many days are listed as coming up.
pub const DUE_SOON_DAYS: i64 = 7;
/// A barrier open longer than this is listed as old.
pub const OLD_BARRIER_DAYS: i64 = 14;
/// A school with no update for this long is listed as quiet.
pub const QUIET_DAYS: i64 = 14;
/// The first digest looks back this far for new barriers and missed check-ins.
pub const FIRST_LOOKBACK_DAYS: i64 = 7;

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
    /// A stage gone on longer than usual; no plan from the plan stage on.
    pub cycle: Vec<String>,
    /// Where the school is in the cycle.
    pub stage: Option<Stage>,
    /// No plan yet, as expected before the plan stage.
    pub no_plan_yet: bool,
    pub last_contact: Option<LastContact>,
    pub rate: ResponseRate,
    pub next_session: Option<NaiveDate>,
    /// The items above that the coach can snooze, in the order shown.
    pub snoozable: Vec<Snoozable>,
    /// Items left out because the coach snoozed them.
    pub snoozed: usize,
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
    /// What moved since the last digest.
    pub wins: Wins,
    /// When the last digest was built (or the first one's look-back), in the coach's zone.
    pub since: DateTime<Tz>,
    /// Schools with something to report, in the order given.
    pub schools: Vec<SchoolDigest>,
    /// Schools with nothing to report, by name.
    pub quiet: Vec<String>,
    /// Schools with no plan yet, as expected before the plan stage, by name.
    pub no_plan_yet: Vec<String>,
    /// The coach's local date the digest is for.
    pub date: NaiveDate,
}

impl CoachDigest {
    /// Every item the coach can snooze, school by school.
    pub fn snoozable(&self) -> Vec<Snoozable> {
        self.schools
            .iter()
            .flat_map(|s| s.snoozable.iter().cloned())
            .collect()
    }
}

/// What a digest is built from, besides each school's facts.
#[derive(Clone, Debug)]
pub struct DigestInput<'a> {
    pub wins: &'a Wins,
    /// Item keys the coach snoozed until after now.
    pub snoozed: &'a HashSet<String>,
    /// When the last digest was built: new barriers and missed check-ins are those after.
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The coach's time zone.
    pub zone: Tz,
}

fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b").to_string()
}

fn local_day(at: DateTime<Utc>, zone: Tz) -> String {
    day(at.with_timezone(&zone).date_naive())
}

/// Builds the coach's digest from each school's facts.
pub fn build(facts: &[SchoolFacts], input: &DigestInput<'_>) -> CoachDigest {
    let mut schools = Vec::new();
    let (mut quiet, mut no_plan_yet) = (Vec::new(), Vec::new());
    for school in facts {
        let digest = school_digest(school, input);
        if digest.no_plan_yet {
            no_plan_yet.push(school.name.clone());
        }
        if digest.is_empty() {
            quiet.push(school.name.clone());
        } else {
            schools.push(digest);
        }
    }
    CoachDigest {
        wins: input.wins.clone(),
        since: input.since.with_timezone(&input.zone),
        schools,
        quiet,
        no_plan_yet,
        date: input.now.with_timezone(&input.zone).date_naive(),
    }
}

fn school_digest(school: &SchoolFacts, input: &DigestInput<'_>) -> SchoolDigest {
    let (since, now) = (input.since, input.now);
    let zone = school.zone;
    let today = now.with_timezone(&zone).date_naive();
    let soon = today + TimeDelta::days(DUE_SOON_DAYS);
    let mut snoozed = 0;
    let mut snoozable = Vec::new();
    // Whether the item is shown: not when snoozed; when shown, it can be snoozed.
    let mut show = |key: String, label: String| {
        if input.snoozed.contains(&key) {
            snoozed += 1;
            false
        } else {
            snoozable.push(Snoozable { key, label });
            true
        }
    };
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
        stage: school.cycle.as_ref().map(|c| c.stage.stage),
        no_plan_yet: school
            .cycle
            .as_ref()
            .is_some_and(|c| !c.has_plan && !c.plan_missing_late()),
        last_contact: rhythm::last_contact(school.last_session, school.last_confirmed, zone),
        rate: ResponseRate::of(&school.checkins, now),
        next_session: school.next_session,
        snoozable: Vec::new(),
        snoozed: 0,
    };
    if let Some(cycle) = school.cycle.as_ref().filter(|c| c.plan_missing_late())
        && show(
            format!("noplan:{}", school.school_id),
            clip(&format!("No plan: {}", school.name), 80),
        )
    {
        digest.cycle.push(format!(
            "No plan: in **{}** with no focus indicator that has a step → `/indicator focus`, then `/step add`",
            cycle.stage.stage.label()
        ));
    }
    for streak in rhythm::streaks(&school.checkins) {
        let label = format!("{}: {}", streak.person_name, streak.flow_title);
        if !show(streak.key(), clip(&label, 80)) {
            continue;
        }
        let (flow, person) = (&streak.flow_title, &streak.person_name);
        let asked = local_day(streak.last_asked, zone);
        digest.missed.push(if streak.missed == 1 {
            format!(
                "**{flow}** with {person}, asked {asked}, ran out without an answer → `/checkin start`"
            )
        } else {
            format!(
                "**{flow}** with {person}: {} missed in a row (last asked {asked}) → `/checkin start`",
                streak.missed
            )
        });
    }
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
        if step.due_on <= soon
            && !show(
                format!("step:{}", step.id),
                format!("Step #{} {title}", step.id),
            )
        {
            continue;
        }
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
        let listed = barrier.raised_at > since || age > OLD_BARRIER_DAYS;
        if listed
            && !show(
                format!("barrier:{}", barrier.id),
                format!("Barrier #{} {text}", barrier.id),
            )
        {
            continue;
        }
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
    digest.snoozable = snoozable;
    digest.snoozed = snoozed;
    digest
}

#[cfg(test)]
mod tests;
