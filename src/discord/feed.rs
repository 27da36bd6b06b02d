//! `/feed on` and `/feed off`: whether a person's confirmed check-ins are posted to their
//! school's team feed (when it has one). Each person decides for themselves.

use poise::CreateReply;

use super::{Context, Error, caller};
use crate::error::UserError;
use crate::store::feed as feeds;

/// The team feed: whether what you share in check-ins is posted to your school's feed channel
#[poise::command(
    slash_command,
    guild_only,
    subcommands("on", "off"),
    subcommand_required
)]
pub async fn feed(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Post what you share to the plan in your check-ins to your school's team feed (the default)
#[poise::command(slash_command, guild_only)]
async fn on(ctx: Context<'_>) -> Result<(), Error> {
    opt(ctx, false).await
}

/// Stop posting your check-ins to your school's team feed
#[poise::command(slash_command, guild_only)]
async fn off(ctx: Context<'_>) -> Result<(), Error> {
    opt(ctx, true).await
}

async fn opt(ctx: Context<'_>, out: bool) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    if !caller.access.has_any_role() {
        return Err(UserError::NoRole.into());
    }
    let changed = feeds::opt(
        &ctx.data().db,
        caller.guild_id,
        caller.user_id,
        out,
        ctx.data().now(),
    )
    .await?;
    let already = if changed { "" } else { " (it already was)" };
    let reply = if out {
        format!(
            "Your check-ins are no longer posted to your school's team feed{already}. What you share to the plan still goes onto the plan, where your team reads it; `/feed on` posts them again."
        )
    } else {
        format!(
            "Your check-ins are posted to your school's team feed{already}, when your school has one: after you confirm a check-in, what you chose to share to the plan is posted there, never your private answers. `/feed off` stops it."
        )
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}
