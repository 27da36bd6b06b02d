//! `/setup retention`: how long this server keeps check-in answers, sent messages (with the
//! files they carried) and schedule runs; the daily purge removes what is older. Admins
//! (`Access::may_govern_data`).

use poise::CreateReply;

use super::super::{Context, Error};

/// How long records are kept before the daily purge removes them (admins)
#[poise::command(slash_command, guild_only)]
pub async fn retention(
    ctx: Context<'_>,
    #[description = "Days to keep check-in answers (default 730)"] answers: Option<i64>,
    #[description = "Days to keep sent messages and the files they carried (default 30)"]
    outbox: Option<i64>,
    #[description = "Days to keep the record of schedule runs (default 365)"] runs: Option<i64>,
) -> Result<(), Error> {
    let _ = (answers, outbox, runs);
    ctx.send(
        CreateReply::default()
            .content("Not built yet.")
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
