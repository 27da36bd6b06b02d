//! `/summary`: the indicator summary for a leadership channel (aggregates and a chart), posted
//! now, on a schedule, or previewed privately.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope;
use super::{Context, Error, complete, digest::reply};
use crate::domain::outbox::{OutboxMessage, SummaryDue};
use crate::domain::school::TimeZoneName;
use crate::error::UserError;
use crate::reports::build_summary;
use crate::store::schedules::{self, ReportKind};
use crate::store::schools::School;
use crate::store::{outbox, summaries};

/// Indicator summaries for the leadership channel: levels, steps, barriers, a chart; no names
#[poise::command(
    slash_command,
    guild_only,
    subcommands("post", "preview", "schedule", "settings"),
    subcommand_required
)]
pub async fn summary(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn channel_for(
    school: Option<&School>,
    channel: Option<&serenity::PartialChannel>,
) -> Result<u64, UserError> {
    channel
        .map(|c| c.id.get())
        .or_else(|| {
            school
                .and_then(|s| s.channel_id)
                .map(crate::store::discord_id)
        })
        .ok_or(UserError::NoSummaryChannel)
}

fn scope_name(school: Option<&School>) -> String {
    school.map_or_else(|| "every school".to_owned(), |s| s.name.clone())
}

/// Post the summary to the leadership channel now
#[poise::command(slash_command, guild_only)]
async fn post(
    ctx: Context<'_>,
    #[description = "Which school (leave empty for every school, if you work across the server)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "Where (defaults to the school's channel)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    // Answer Discord first, before any database work, so its three seconds are never at risk
    // however busy the database is (the reply, or a refusal, follows as an edit).
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let school = scope::school_to_report(&caller, school.as_deref(), "post its summary")?;
    let channel = channel_for(school.as_ref(), channel.as_ref())?;
    let now = ctx.data().now();
    let due = SummaryDue {
        schedule_id: None,
        school_id: school.as_ref().map(|s| s.id),
        channel_id: channel,
        occurrence: now,
    };
    let row = outbox::NewRow::new(
        format!("summary:asked:{}", ctx.id()),
        caller.guild_id,
        None,
        &OutboxMessage::Summary(due),
        now,
    )?;
    outbox::enqueue(&ctx.data().db, &[row], now).await?;
    ctx.data().wake.notify_one();
    ctx.send(
        CreateReply::default()
            .content(format!(
                "The summary of {} is on its way to <#{channel}>.",
                scope_name(school.as_ref())
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// See the summary and its chart now, privately (nothing is posted or recorded)
#[poise::command(slash_command, guild_only)]
async fn preview(
    ctx: Context<'_>,
    #[description = "Which school (leave empty for every school, if you work across the server)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    // Composing and drawing the chart take a while: answer Discord first (for the caller
    // alone, as the preview is).
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let school = scope::school_or_all(&caller, school.as_deref(), "see its summary")?;
    let data = ctx.data();
    let (built, png) = build_summary(
        &data.db,
        &data.frameworks,
        caller.guild_id,
        school.as_ref().map(|s| s.id),
        ctx.data().now(),
    )
    .await?;
    let file = built.chart_file();
    ctx.send(reply(&built.render()).attachment(serenity::CreateAttachment::bytes(png, file)))
        .await?;
    Ok(())
}

/// Post the summary on a schedule (replaces the one for the same school and channel)
#[poise::command(slash_command, guild_only)]
async fn schedule(
    ctx: Context<'_>,
    #[description = "When: mondays 08:00, every 2 weeks on friday 15:00, or cron"] when: String,
    #[description = "Which school (leave empty for every school, if you work across the server)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "Where (defaults to the school's channel)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
    #[description = "Time zone (defaults to the school's)"]
    #[autocomplete = "complete::time_zone"]
    time_zone: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = scope::school_to_report(&caller, school.as_deref(), "schedule its summary")?;
    let channel = channel_for(school.as_ref(), channel.as_ref())?;
    let zone = TimeZoneName::parse(
        time_zone
            .as_deref()
            .or(school.as_ref().map(|s| s.time_zone.name()))
            .unwrap_or("UTC"),
    )?;
    let saved = schedules::schedule_report(
        &ctx.data().db,
        caller.guild_id,
        ReportKind::Summary {
            school_id: school.as_ref().map(|s| s.id),
            channel_id: channel,
        },
        &when,
        &zone,
        caller.user_id,
        ctx.data().now(),
    )
    .await?;
    ctx.data().wake.notify_one();
    ctx.send(
        CreateReply::default()
            .content(format!(
                "Saved schedule **#{}**: the summary of {} in <#{channel}>, `{}` in {}. First on {}.",
                saved.schedule.id,
                scope_name(school.as_ref()),
                saved.spec.source,
                zone.name(),
                saved.first.with_timezone(&zone.tz()).format("%a %-d %b %H:%M %Z")
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// How summaries are posted here: the smallest group a figure may describe, threads (admins)
#[poise::command(slash_command, guild_only, check = "super::caller::admin")]
async fn settings(
    ctx: Context<'_>,
    #[description = "Withhold figures about fewer people than this (at least 2; default 5)"]
    #[min = 2]
    #[max = 100]
    min_group: Option<u32>,
    #[description = "Post each summary in a thread of its own (default: no)"] threads: Option<bool>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let mut current = summaries::settings(db, caller.guild_id).await?;
    if let Some(min_group) = min_group {
        current.min_group = usize::try_from(min_group)
            .unwrap_or(crate::domain::summary::MIN_GROUP)
            .max(2);
    }
    if let Some(threads) = threads {
        current.threads = threads;
    }
    if min_group.is_some() || threads.is_some() {
        summaries::set_settings(db, caller.guild_id, current).await?;
    }
    ctx.send(
        CreateReply::default()
            .content(format!(
                "Summaries here withhold any figure about fewer than {} people, and are posted {}.",
                current.min_group,
                if current.threads {
                    "each in a thread of its own"
                } else {
                    "straight in the channel"
                }
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
