//! `/privacy audit`: what was done with people's data (exports, forgets, role mappings,
//! retention changes, purges), newest first, for admins (`Access::may_govern_data`).

use chrono::Duration;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error, caller};
use crate::domain::text::{EMBED_DESCRIPTION, join_within};
use crate::error::UserError;
use crate::store::audit;

/// The most entries one audit list reads.
const MOST: i64 = 500;

/// What was done with people's data here: exports, forgets, role changes, purges (admins)
#[poise::command(slash_command, guild_only)]
pub async fn audit(
    ctx: Context<'_>,
    #[description = "How many days back to look (default 30)"]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    if !caller.access.may_govern_data() {
        return Err(UserError::NotPermitted {
            needed: "coachbot admins",
            action: "read the audit of what was done with people's data",
        }
        .into());
    }
    let days = days.unwrap_or(30).clamp(1, 3650);
    let since = ctx.data().now() - Duration::days(i64::from(days));
    let entries = audit::list(&ctx.data().db, caller.guild_id, since, MOST).await?;
    let description = if entries.is_empty() {
        format!(
            "Nothing in the last {days} days: no exports, forgets, role mapping or retention \
             changes, and no purges."
        )
    } else {
        let lines: Vec<String> = entries.iter().map(|e| e.line()).collect();
        join_within(
            &lines,
            "\n",
            EMBED_DESCRIPTION,
            "give a smaller `days` to see the older ones",
        )
    };
    let embed = serenity::CreateEmbed::new()
        .title(format!("Audit: the last {days} days"))
        .description(description)
        .footer(serenity::CreateEmbedFooter::new(
            "Times are UTC. Exports, personal exports, forgets, role mappings, retention changes \
             and purges are recorded here.",
        ));
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}
