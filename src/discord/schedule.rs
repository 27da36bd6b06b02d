//! `/schedule`: the server's schedules, and pausing, resuming or deleting one (coaches).

use poise::CreateReply;

use super::scope::{self, Caller, Names, Need};
use super::{Context, Error, complete};
use crate::domain::roles::ScheduleTarget;
use crate::domain::schedule::CronSpec;
use crate::domain::school::TimeZoneName;
use crate::domain::text;
use crate::error::UserError;
use crate::store::discord_id;
use crate::store::schedules::{self, Schedule};
use crate::store::schools::{self, School};

/// Schedules: see them, pause, resume or delete one (coaches and admins)
#[poise::command(
    slash_command,
    guild_only,
    subcommands("list", "pause", "resume", "delete"),
    subcommand_required
)]
pub async fn schedule(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Whether the caller may change this schedule (see `Access::may_change_schedule`).
fn may_change(caller: &Caller, schedule: &Schedule) -> bool {
    let target = match (schedule.kind.as_str(), schedule.school_id) {
        ("digest", _) => ScheduleTarget::Digest {
            own: schedule.person_id == Some(caller.user_id),
        },
        (_, Some(school)) => ScheduleTarget::School(school),
        (_, None) => ScheduleTarget::Server,
    };
    caller.access.may_change_schedule(target)
}

/// The schedules of your schools, with when each fires next
#[poise::command(slash_command, guild_only)]
async fn list(
    ctx: Context<'_>,
    #[description = "Which school (defaults to every school you coach)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let school_id = match school.as_deref() {
        Some(name) => Some(scope::school(&caller, Some(name), Need::Read, "see its schedules")?.id),
        None => None,
    };
    if !caller.access.is_coach_or_admin() {
        return Err(UserError::NotPermitted {
            needed: "coaches and admins",
            action: "see schedules",
        }
        .into());
    }
    let all_schools = schools::list(db, caller.guild_id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let lines: Vec<String> = schedules::list(db, caller.guild_id, school_id)
        .await?
        .iter()
        .filter(|s| may_change(&caller, s))
        .map(|s| schedule_line(s, &all_schools, &names))
        .collect();
    scope::send_list_see(
        ctx,
        "Schedules",
        &lines,
        "No schedules yet: add one with `/checkin schedule`, `/digest schedule` or `/summary schedule`.",
        "give `school` to list one school's",
    )
    .await
}

/// One line of `/schedule list`: what it is, for whom, when, and when it fires next.
fn schedule_line(s: &Schedule, all_schools: &[School], names: &Names) -> String {
    let school = all_schools
        .iter()
        .find(|x| Some(x.id) == s.school_id)
        .map_or("every school", |x| x.name.as_str());
    let (what, who) = match s.kind.as_str() {
        "digest" => (
            "coach digest".to_owned(),
            s.person_id.map_or_else(String::new, |p| names.of(p)),
        ),
        "summary" => (
            "indicator summary".to_owned(),
            format!(
                "{school} in {}",
                s.channel_id
                    .map_or_else(String::new, |c| format!("<#{}>", discord_id(c)))
            ),
        ),
        _ => (
            s.flow_id.clone().unwrap_or_default(),
            s.person_id.map_or_else(
                || format!("{school} (principals and team)"),
                |p| names.of(p),
            ),
        ),
    };
    let zone = TimeZoneName::from_stored(&s.time_zone).map_or(chrono_tz::UTC, TimeZoneName::tz);
    let next = match (s.paused != 0, s.next_fire_at) {
        (true, _) => "paused".to_owned(),
        (false, Some(at)) => format!(
            "next {}",
            at.with_timezone(&zone).format("%a %-d %b %H:%M %Z")
        ),
        (false, None) => "finished".to_owned(),
    };
    format!(
        "**#{}** {what} · {who} · `{}` {} · {next}",
        s.id, s.spec, s.time_zone
    )
}

async fn find(ctx: Context<'_>, caller: &Caller, raw: &str) -> Result<Schedule, Error> {
    let unknown = || UserError::UnknownSchedule {
        given: text::clip(raw.trim(), 40),
    };
    let id = crate::domain::plan::number_ref(raw).map_err(|_| unknown())?;
    let found = schedules::get(&ctx.data().db, caller.guild_id, id)
        .await?
        .ok_or_else(unknown)?;
    if !may_change(caller, &found) {
        return Err(UserError::NotPermitted {
            needed: "that school's coaches and admins",
            action: "change its schedules",
        }
        .into());
    }
    Ok(found)
}

/// Pause a schedule: nothing fires until it is resumed
#[poise::command(slash_command, guild_only)]
async fn pause(
    ctx: Context<'_>,
    #[description = "The schedule's number (see /schedule list)"] schedule: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let found = find(ctx, &caller, &schedule).await?;
    schedules::set_paused(
        &ctx.data().db,
        &found,
        true,
        found.next_fire_at,
        ctx.data().now(),
    )
    .await?;
    ctx.data().wake.notify_one();
    ctx.send(
        CreateReply::default()
            .content(format!("Schedule **#{}** is paused.", found.id))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Resume a paused schedule from now on (what it missed while paused is not sent)
#[poise::command(slash_command, guild_only)]
async fn resume(
    ctx: Context<'_>,
    #[description = "The schedule's number (see /schedule list)"] schedule: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let found = find(ctx, &caller, &schedule).await?;
    let zone = TimeZoneName::from_stored(&found.time_zone).map_or(chrono_tz::UTC, TimeZoneName::tz);
    let now = ctx.data().now();
    let next =
        CronSpec::parse(&found.spec, now.with_timezone(&zone).date_naive())?.next_after(zone, now);
    schedules::set_paused(&ctx.data().db, &found, false, next, now).await?;
    ctx.data().wake.notify_one();
    let when = next.map_or_else(
        || "never again".to_owned(),
        |at| {
            at.with_timezone(&zone)
                .format("%a %-d %b %H:%M %Z")
                .to_string()
        },
    );
    ctx.send(
        CreateReply::default()
            .content(format!(
                "Schedule **#{}** is running again; next {when}.",
                found.id
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Delete a schedule (check-ins it already started are kept)
#[poise::command(slash_command, guild_only)]
async fn delete(
    ctx: Context<'_>,
    #[description = "The schedule's number (see /schedule list)"] schedule: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let found = find(ctx, &caller, &schedule).await?;
    schedules::delete(&ctx.data().db, &found).await?;
    ctx.data().wake.notify_one();
    ctx.send(
        CreateReply::default()
            .content(format!("Schedule **#{}** is deleted.", found.id))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
