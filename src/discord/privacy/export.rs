//! `/privacy export`: everything coachbot holds about the caller in this server, by DM, as one
//! JSON file and the same as CSV files.

use poise::CreateReply;

use super::super::{Context, Error};

/// Get a copy of everything coachbot holds about you here, by direct message
#[poise::command(slash_command, guild_only)]
pub async fn export(ctx: Context<'_>) -> Result<(), Error> {
    ctx.send(
        CreateReply::default()
            .content("Not built yet.")
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
