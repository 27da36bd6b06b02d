//! `/digest`: a coach's morning digest by DM, on their own schedule, and a preview of it now.

use poise::CreateReply;

use super::scope::{self, Caller};
use super::{Context, Error, complete};
use crate::domain::message::MessageBody;
use crate::domain::roles::Role;
use crate::domain::school::TimeZoneName;
use crate::domain::text;
use crate::error::UserError;
use crate::outbound as send;
use crate::reports::build_digest;
use crate::store::schedules::{self, ReportKind};
use crate::store::{digests, schools::School};

/// When a digest goes out unless the coach says otherwise.
pub const DEFAULT_WHEN: &str = "weekdays 07:00";

/// Your coaching digest: what needs you across your schools, by DM
#[poise::command(
    slash_command,
    guild_only,
    subcommands("schedule", "preview"),
    subcommand_required
)]
pub async fn digest(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The caller's schools, refusing anyone who coaches none.
async fn coached(ctx: Context<'_>, caller: &Caller) -> Result<Vec<School>, Error> {
    if !caller.access.has(Role::Coach) {
        return Err(UserError::NotPermitted {
            needed: "coaches",
            action: "get a coaching digest",
        }
        .into());
    }
    let schools = digests::coach_schools(&ctx.data().db, caller.guild_id, caller.user_id).await?;
    if schools.is_empty() {
        return Err(UserError::NoCoachedSchools.into());
    }
    Ok(schools)
}

/// The zone typed, or else the coach's digest schedule's, or else their first school's.
async fn zone_for(
    ctx: Context<'_>,
    caller: &Caller,
    typed: Option<&str>,
    schools: &[School],
) -> Result<TimeZoneName, Error> {
    if let Some(typed) = typed {
        return Ok(TimeZoneName::parse(typed)?);
    }
    let saved = schedules::list(&ctx.data().db, caller.guild_id, None)
        .await?
        .into_iter()
        .find(|s| s.kind == "digest" && s.person_id == Some(caller.user_id));
    let name = saved.map_or_else(
        || {
            schools
                .first()
                .map_or_else(|| "UTC".to_owned(), |s| s.time_zone.to_string())
        },
        |s| s.time_zone,
    );
    Ok(TimeZoneName::parse(&name)?)
}

/// Get your digest by DM on a schedule of your own (replaces the one you had)
#[poise::command(slash_command, guild_only)]
async fn schedule(
    ctx: Context<'_>,
    #[description = "When: weekdays 07:00 (the default), mondays 06:30, or cron"] when: Option<
        String,
    >,
    #[description = "Your time zone (defaults to your first school's)"]
    #[autocomplete = "complete::time_zone"]
    time_zone: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let schools = coached(ctx, &caller).await?;
    let zone = zone_for(ctx, &caller, time_zone.as_deref(), &schools).await?;
    let when = when.as_deref().map_or(DEFAULT_WHEN, str::trim);
    let saved = schedules::schedule_report(
        &ctx.data().db,
        caller.guild_id,
        ReportKind::Digest {
            coach: caller.user_id,
        },
        when,
        &zone,
        caller.user_id,
        ctx.data().now(),
    )
    .await?;
    ctx.data().wake.notify_one();
    let names: Vec<&str> = schools.iter().map(|s| s.name.as_str()).collect();
    ctx.send(
        CreateReply::default()
            .content(text::clip(
                &format!(
                    "Your digest is set (schedule **#{}**): `{}` in {}, first on {}. It covers {}: {}. `/digest preview` shows what it would say now.",
                    saved.schedule.id,
                    saved.spec.source,
                    zone.name(),
                    saved.first.with_timezone(&zone.tz()).format("%a %-d %b %H:%M %Z"),
                    text::plural(names.len(), "school"),
                    text::join_within(&names, ", ", 1000, "`/digest preview` covers each one")
                ),
                text::MESSAGE_CONTENT,
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// See your digest as it would be now (only you see it; nothing is recorded)
#[poise::command(slash_command, guild_only)]
async fn preview(ctx: Context<'_>) -> Result<(), Error> {
    // Composing reads every school the caller coaches: answer Discord first (for the caller
    // alone, as the preview is).
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let schools = coached(ctx, &caller).await?;
    let zone = zone_for(ctx, &caller, None, &schools).await?;
    let digest = build_digest(
        &ctx.data().db,
        &ctx.data().frameworks,
        caller.guild_id,
        caller.user_id,
        zone.tz(),
        ctx.data().now(),
    )
    .await?;
    for body in digest.messages(caller.guild_id, caller.user_id) {
        ctx.send(reply(&body)).await?;
    }
    Ok(())
}

/// A report message as an ephemeral reply.
pub fn reply(body: &MessageBody) -> CreateReply {
    let mut reply = CreateReply::default()
        .content(body.content.clone())
        .ephemeral(true);
    for embed in &body.embeds {
        reply = reply.embed(send::embed(embed));
    }
    if !body.buttons.is_empty() {
        reply = reply.components(send::components(&body.buttons));
    }
    reply
}
