//! Follow-ups: a one-shot schedule that comes back to a step (or a flow) on a given day, so it
//! survives restarts like any other schedule.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::Engine;
use crate::domain::ids::{StepId, UserId};
use crate::domain::schedule::CronSpec;
use crate::error::UserError;
use crate::store::checkins::CheckinSession;
use crate::store::schedules::{self, NewSchedule, Schedule};
use crate::store::schools::{self, School};

/// The flow a follow-up on a step uses.
pub const STEP_FOLLOWUP: &str = "step_followup";
/// When in the day a follow-up comes, unless asked otherwise.
pub const DEFAULT_TIME: &str = "09:00";

/// What a follow-up needs.
pub struct FollowUp<'a> {
    pub school: &'a School,
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub flow_id: &'a str,
    pub person_id: Option<UserId>,
    pub step_id: Option<StepId>,
    pub created_by: UserId,
}

/// Saves a one-shot schedule for the follow-up and wakes the scheduler.
pub async fn schedule_followup(
    engine: &Engine,
    request: &FollowUp<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<Schedule, UserError>> {
    let zone = request.school.zone();
    let text = format!("once {} {}", request.date, request.time.format("%H:%M"));
    let spec = match CronSpec::parse(&text, now.with_timezone(&zone).date_naive()) {
        Ok(spec) => spec,
        Err(error) => return Ok(Err(error)),
    };
    let Some(first) = spec.next_after(zone, now) else {
        return Ok(Err(UserError::PastDate {
            date: format!("{} {}", request.date, request.time.format("%H:%M")),
            today: now
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            zone: request.school.time_zone.to_string(),
        }));
    };
    let saved = schedules::create(
        &engine.db,
        &NewSchedule {
            server_id: request.school.server_id,
            school_id: request.school.id,
            person_id: request.person_id,
            flow_id: request.flow_id,
            spec: &spec.source,
            time_zone: request.school.time_zone.name(),
            next_fire_at: Some(first),
            created_by: request.created_by,
            step_id: request.step_id,
        },
        now,
    )
    .await?;
    engine.wake.notify_one();
    Ok(Ok(saved))
}

/// When to come back, as the person chose it after Confirm.
pub enum FollowUpWhen<'a> {
    /// In this many days, at the usual time.
    Days(u64),
    /// A date as typed: `2026-12-07`, `friday`, `in 3 weeks`.
    Typed(&'a str),
}

/// Schedules the follow-up a person asked for after their check-in: back to the step the
/// check-in ended on, if it was about one, else the same flow again. The text says when, or
/// what was wrong with the date.
pub async fn follow_up_after(
    engine: &Engine,
    session: &CheckinSession,
    when: FollowUpWhen<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<String, UserError>> {
    let Some(school) = schools::get(&engine.db, session.server(), session.school_id).await? else {
        return Ok(Err(UserError::NoSchools));
    };
    let zone = school.zone();
    let today = now.with_timezone(&zone).date_naive();
    let date = match when {
        FollowUpWhen::Days(days) => today
            .checked_add_days(chrono::Days::new(days))
            .unwrap_or(today),
        FollowUpWhen::Typed(text) => {
            let order = crate::store::servers::date_order(&engine.db, school.server_id).await?;
            match crate::domain::dates::parse_due_in(text, today, school.time_zone.name(), order) {
                Ok(date) => date,
                Err(error) => return Ok(Err(error)),
            }
        }
    };
    let step = session.questions()?.iter().rev().find_map(|a| a.step_id);
    let flow_id = if step.is_some() {
        STEP_FOLLOWUP
    } else {
        session.flow_id.as_str()
    };
    let time = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let saved = schedule_followup(
        engine,
        &FollowUp {
            school: &school,
            date,
            time,
            flow_id,
            person_id: Some(session.person()),
            step_id: step,
            created_by: session.person(),
        },
        now,
    )
    .await?;
    Ok(saved.map(|s| {
        s.next_fire_at
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%A %-d %B at %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }))
}
