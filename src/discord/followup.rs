//! `/followup`: come back to a step on a given day, with a short check-in for its owners.
//! Follow-ups are one-shot schedules, so they survive restarts like any other.

use chrono::NaiveTime;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Names, Need};
use super::{Context, Error, complete};
use crate::checkin::followup::{DEFAULT_TIME, FollowUp, STEP_FOLLOWUP, schedule_followup};
use crate::domain::dates;
use crate::error::UserError;

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
    let now = ctx.data().now();
    let date = dates::parse_due(&when, scope::today(&school, now), school.time_zone.name())?;
    let at = at.unwrap_or_else(|| DEFAULT_TIME.to_owned());
    let time =
        NaiveTime::parse_from_str(at.trim(), "%H:%M").map_err(|_| UserError::BadSchedule {
            given: crate::domain::text::clip(&at, 20),
            why: "the time should look like 16:00".to_owned(),
        })?;
    let saved = schedule_followup(
        &ctx.data().checkins,
        &FollowUp {
            school: &school,
            date,
            time,
            flow_id: STEP_FOLLOWUP,
            person_id: person.as_ref().map(|p| p.id.get()),
            step_id: Some(step.id),
            created_by: caller.user_id,
        },
        now,
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
