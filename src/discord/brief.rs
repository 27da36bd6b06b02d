//! `/brief`: one page a coach reads before visiting a school (its coach only: it quotes
//! check-in answers, private ones included). Gathered in `reports::brief`, written in
//! `domain::brief`, sent here as one ephemeral message.

use super::scope::{self, Need};
use super::{Context, Error, complete};
use crate::domain::brief;
use crate::error::UserError;
use crate::store::schools;

const ACTION: &str = "read a school's visit brief";

/// One page before a visit: stage, indicators, steps, barriers, next steps, the last session
#[poise::command(slash_command, guild_only)]
pub async fn brief(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let school = match school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        // A named school is refused with the brief's own reason, whoever asks.
        Some(name) => schools::find_by_name(db, caller.guild_id, name)
            .await?
            .ok_or_else(|| UserError::UnknownSchool {
                name: crate::domain::text::clip(name, 100),
            })?,
        None => scope::school(&caller, None, Need::Read, ACTION)?,
    };
    if !caller.access.may_brief(school.id) {
        return Err(UserError::BriefNotCoach {
            school: school.name.clone(),
        }
        .into());
    }
    let framework = scope::framework(ctx, &caller).await?;
    let facts = crate::reports::brief::gather(
        db,
        &framework,
        &school,
        &caller.access,
        caller.user_id,
        ctx.data().now(),
    )
    .await?;
    ctx.send(super::digest::reply(&brief::render(&facts)))
        .await?;
    Ok(())
}
