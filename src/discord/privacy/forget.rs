//! `/privacy forget`: erase what coachbot holds about the caller (or, for an admin, about
//! someone who has left), after a confirmation button that says what goes and what stays.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error};
use crate::app::App;

/// Erase what coachbot holds about you in this server (asks you to confirm first)
#[poise::command(slash_command, guild_only)]
pub async fn forget(ctx: Context<'_>) -> Result<(), Error> {
    ctx.send(
        CreateReply::default()
            .content("Not built yet.")
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Handles a click on a forget confirmation button (custom ids under
/// [`super::COMPONENT_PREFIX`]).
pub async fn on_click(
    _ctx: &serenity::Context,
    _app: &App,
    _interaction: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    Ok(())
}
