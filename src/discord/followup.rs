//! `/followup`: come back to a step on a given day, with a short check-in for its owners.
//! Follow-ups are one-shot schedules, so they survive restarts like any other.

use poise::serenity_prelude as serenity;

use super::scope::{self, Names, Need};
use super::{Context, Error, complete};
use crate::checkin::followup::{DEFAULT_TIME, FollowUp, STEP_FOLLOWUP, schedule_followup};
use crate::domain::dates;
use crate::domain::ids::UserId;
use crate::domain::roles::Role;
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
    #[description = "Only this person (default: the step's owners)"] person: Option<
        serenity::Member,
    >,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let action = "set follow-ups on its steps";
    let (step, school) = super::step::step_for(ctx, &caller, &step, Need::Read, action).await?;
    let owners = crate::store::steps::owners(&ctx.data().db, step.id).await?;
    if !caller
        .access
        .may_set_followup(school.id, owners.contains(&caller.user_id))
    {
        return Err(UserError::NotPermitted {
            needed: "the school's coaches, admins and the step's owners",
            action: "set a follow-up on this step",
        }
        .into());
    }
    // A follow-up is a check-in: only with the step's owners or people of its school.
    if let Some(person) = &person {
        let id = UserId::from(person.user.id);
        let roles: Vec<u64> = person.roles.iter().map(|r| r.get()).collect();
        let of_school = caller.settings.grants_for(&roles).iter().any(|g| {
            matches!(g.role, Role::Principal | Role::Team) && g.school_id == Some(school.id)
        });
        if !owners.contains(&id) && !of_school {
            return Err(UserError::PersonNotAtSchool {
                name: person.display_name().to_owned(),
                school: school.name.clone(),
            }
            .into());
        }
    }
    let now = ctx.data().now();
    let order = super::dates::order(ctx, school.server_id).await?;
    let date = dates::parse_due_in(
        &when,
        scope::today(&school, now),
        school.time_zone.name(),
        order,
    )?;
    let time = dates::parse_time(at.as_deref().unwrap_or(DEFAULT_TIME))?;
    let saved = schedule_followup(
        &ctx.data().checkins,
        &FollowUp {
            school: &school,
            date,
            time,
            flow_id: STEP_FOLLOWUP,
            person_id: person.as_ref().map(|p| p.user.id.into()),
            step_id: Some(step.id),
            created_by: caller.user_id,
        },
        now,
    )
    .await??;
    let names = Names::load(ctx, caller.guild_id).await?;
    let who = person
        .as_ref()
        .map_or_else(|| names.list(&owners), |p| p.display_name().to_owned());
    let when = saved.next_fire_at.map_or_else(String::new, |t| {
        let local = t.with_timezone(&scope::zone(&school));
        local.format("%a %-d %b %Y at %H:%M %Z").to_string()
    });
    let reply = format!(
        "I will check in with {who} about **#{} · {}** on {when} (schedule #{}).",
        step.id, step.title, saved.id
    );
    scope::say(ctx, reply).await
}
