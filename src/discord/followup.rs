//! `/followup`: come back to a step on a given day, with a short check-in for its owners.
//! Follow-ups are one-shot schedules, so they survive restarts like any other.

use chrono::{NaiveDate, NaiveTime, Utc};
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Names, Need};
use super::{Context, Data, Error, complete};
use crate::domain::dates;
use crate::domain::schedule::CronSpec;
use crate::error::UserError;
use crate::store::schedules::{self, NewSchedule, Schedule};
use crate::store::schools::School;

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
    pub person_id: Option<u64>,
    pub step_id: Option<i64>,
    pub created_by: u64,
}

/// Saves a one-shot schedule for the follow-up and wakes the scheduler.
pub async fn schedule_followup(
    data: &Data,
    request: &FollowUp<'_>,
) -> anyhow::Result<Result<Schedule, UserError>> {
    let zone = scope::zone(request.school);
    let now = Utc::now();
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
            zone: request.school.time_zone.clone(),
        }));
    };
    let saved = schedules::create(
        &data.db,
        &NewSchedule {
            server_id: crate::store::discord_id(request.school.server_id),
            school_id: request.school.id,
            person_id: request.person_id,
            flow_id: request.flow_id,
            spec: &spec.source,
            time_zone: &request.school.time_zone,
            next_fire_at: Some(first),
            created_by: request.created_by,
            step_id: request.step_id,
        },
        now,
    )
    .await?;
    data.wake.notify_one();
    Ok(Ok(saved))
}

/// Come back to a step later: a short check-in with its owners on that day
#[poise::command(slash_command, guild_only)]
pub async fn followup(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
    #[description = "When: in 2 weeks, friday, 2026-12-07"] when: String,
    #[description = "At what time there (default 09:00)"] at: Option<String>,
    #[description = "Only this person (default: the step's owners)"] person: Option<serenity::User>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let (step, school) = super::step::step_for(
        ctx,
        &caller,
        &step,
        Need::Edit,
        "set follow-ups on its steps",
    )
    .await?;
    let zone = scope::zone(&school);
    let date = dates::parse_due(&when, scope::today(&school, Utc::now()), &school.time_zone)?;
    let at = at.unwrap_or_else(|| DEFAULT_TIME.to_owned());
    let time =
        NaiveTime::parse_from_str(at.trim(), "%H:%M").map_err(|_| UserError::BadSchedule {
            given: crate::domain::text::clip(&at, 20),
            why: "the time should look like 16:00".to_owned(),
        })?;
    let saved = schedule_followup(
        ctx.data(),
        &FollowUp {
            school: &school,
            date,
            time,
            flow_id: STEP_FOLLOWUP,
            person_id: person.as_ref().map(|p| p.id.get()),
            step_id: Some(step.id),
            created_by: caller.user_id,
        },
    )
    .await??;
    let owners = crate::store::steps::owners(&ctx.data().db, step.id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let who = person
        .as_ref()
        .map_or_else(|| names.list(&owners), scope::user_name);
    let when = saved
        .next_fire_at
        .map(|t| {
            t.with_timezone(&zone)
                .format("%a %-d %b %Y at %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default();
    ctx.send(
        CreateReply::default()
            .content(format!(
                "I will check in with {who} about **#{} · {}** on {when} (schedule #{}).",
                step.id, step.title, saved.id
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
