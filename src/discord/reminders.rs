//! `/reminders off|on`: owner reminders (a step due in two days, a step overdue) for the
//! person, in this server.

use super::scope;
use super::{Context, Error};
use crate::store::reminders;

/// Step reminders by DM: switch them off or back on (for you, in this server)
#[poise::command(
    slash_command,
    guild_only,
    subcommands("off", "on"),
    subcommand_required
)]
pub async fn reminders(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

async fn switch(ctx: Context<'_>, off: bool) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let guild = ctx.guild_id().ok_or(crate::error::UserError::ServerOnly)?;
    reminders::set_off(
        &ctx.data().db,
        caller.guild_id,
        &scope::server_name(ctx, guild),
        caller.user_id,
        off,
        ctx.data().now(),
    )
    .await?;
    let text = if off {
        "Step reminders are off for you here: I will not DM you before a step you own is due, or \
         when it is overdue. `/reminders on` brings them back."
    } else {
        "Step reminders are on for you here: I DM you two days before a step you own is due, and \
         once if it becomes overdue. `/reminders off` stops them."
    };
    scope::say(ctx, text.to_owned()).await
}

/// Stop step reminders by DM (for you, in this server)
#[poise::command(slash_command, guild_only)]
async fn off(ctx: Context<'_>) -> Result<(), Error> {
    switch(ctx, true).await
}

/// Get step reminders by DM again (for you, in this server)
#[poise::command(slash_command, guild_only)]
async fn on(ctx: Context<'_>) -> Result<(), Error> {
    switch(ctx, false).await
}
