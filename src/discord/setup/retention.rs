//! `/setup retention`: how long this server keeps check-in answers, sent messages (with the
//! files they carried) and schedule runs; the daily purge removes what is older. Admins
//! (`Access::may_govern_data`).

use poise::CreateReply;

use super::super::{Context, Error, caller, scope};
use crate::domain::privacy::Retention;
use crate::error::UserError;
use crate::store::retention;

/// How long records are kept before the daily purge removes them (admins)
#[poise::command(slash_command, guild_only)]
pub async fn retention(
    ctx: Context<'_>,
    #[description = "Days to keep check-in answers (default 730)"] answers: Option<i64>,
    #[description = "Days to keep sent messages and the files they carried (default 30)"]
    outbox: Option<i64>,
    #[description = "Days to keep the record of schedule runs (default 365)"] runs: Option<i64>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    if !caller.access.may_govern_data() {
        return Err(UserError::NotPermitted {
            needed: "coachbot admins",
            action: "change how long records are kept",
        }
        .into());
    }
    let db = &ctx.data().db;
    let current = retention::get(db, caller.guild_id).await?;
    let reply = if answers.is_none() && outbox.is_none() && runs.is_none() {
        format!(
            "{}\nChange it with `/setup retention answers:<days> outbox:<days> runs:<days>` \
             (any of them).",
            describe(current)
        )
    } else {
        let changed = current.with_changes(answers, outbox, runs)?;
        let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
        let server_name = scope::server_name(ctx, guild_id);
        retention::set(
            db,
            caller.guild_id,
            &server_name,
            changed,
            caller.user_id,
            ctx.data().now(),
        )
        .await?;
        format!(
            "Saved. {}\nThe change is in `/privacy audit`.",
            describe(changed)
        )
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// The setting in words, with what the daily purge does with it.
pub fn describe(kept: Retention) -> String {
    format!(
        "{}\nEach day (UTC) the purge removes what is older; `/privacy audit` lists what it \
         removed.",
        line(kept)
    )
}

/// The setting in one line (also in `/setup status`).
pub fn line(kept: Retention) -> String {
    format!(
        "Kept: check-in answers **{}** days, sent messages and their files **{}** days, \
         schedule runs **{}** days.",
        kept.answers_days, kept.outbox_days, kept.runs_days
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_read_in_one_line() {
        assert_eq!(
            line(Retention::default()),
            "Kept: check-in answers **730** days, sent messages and their files **30** days, \
             schedule runs **365** days."
        );
        assert!(describe(Retention::default()).contains("`/privacy audit`"));
    }
}
