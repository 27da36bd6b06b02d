//! `/setup feed`: turn a school's team feed on (to a channel) or off. The school's coaches
//! and admins (`Access::may_set_feed`).

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error, caller, complete};
use crate::domain::text;
use crate::error::UserError;
use crate::store::{feed as feeds, schools};

/// Post what people share in their check-ins to a team channel (leave channel empty: off)
#[poise::command(slash_command, guild_only)]
pub async fn feed(
    ctx: Context<'_>,
    #[description = "The school whose feed this is"]
    #[autocomplete = "complete::school"]
    school: String,
    #[description = "The team's channel for the feed; leave empty to turn the feed off"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    let db = &ctx.data().db;
    let school = schools::find_by_name(db, caller.guild_id, school.trim())
        .await?
        .ok_or_else(|| UserError::UnknownSchool {
            name: text::clip(school.trim(), 100),
        })?;
    if !caller.access.may_set_feed(school.id) {
        return Err(if caller.access.has_any_role() {
            UserError::NotPermitted {
                needed: "the school's coaches and admins",
                action: "turn its team feed on or off",
            }
        } else {
            UserError::NoRole
        }
        .into());
    }
    let reply = match channel {
        Some(channel) => {
            feeds::set(
                db,
                caller.guild_id,
                school.id,
                channel.id.get(),
                caller.user_id,
                ctx.data().now(),
            )
            .await?;
            format!(
                "The team feed of **{}** is on, in <#{}>: after each confirmed check-in, what the person chose to share to the plan (never their private answers) is posted there with the steps it touched. Anyone can stop their own posts with `/feed off`; run this without `channel` to turn the feed off.",
                school.name, channel.id
            )
        }
        None if feeds::clear(db, caller.guild_id, school.id).await? => format!(
            "The team feed of **{}** is off: check-ins are no longer posted anywhere. `/setup feed` with a `channel` turns it on again.",
            school.name
        ),
        None => format!(
            "The team feed of **{}** was already off (it is off until someone turns it on). To turn it on, give a `channel`.",
            school.name
        ),
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}
