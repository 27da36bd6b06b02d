//! `/goal`: a principal's own growth goal (set, update, show), private to them and their
//! school's coach (`Access::may_see_goal`). The monthly reflection asks about it.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Caller};
use super::{Context, Error, caller, complete};
use crate::domain::goal;
use crate::domain::ids::{SchoolId, UserId};
use crate::domain::roles::Role;
use crate::domain::text;
use crate::error::UserError;
use crate::store::{goals, members, schools};

/// Your growth goal as a leader: set it, note progress, read it (principals and their coach)
#[poise::command(
    slash_command,
    guild_only,
    subcommands("set", "update", "show"),
    subcommand_required
)]
pub async fn goal(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Set your own leadership goal (principals); it replaces the one you had
#[poise::command(slash_command, guild_only)]
async fn set(
    ctx: Context<'_>,
    #[description = "Your goal, one line (at most 300 characters)"] text: String,
    #[description = "The framework indicator it serves (optional)"]
    #[autocomplete = "complete::indicator"]
    indicator: Option<String>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    if !caller.access.has(Role::Principal) {
        return Err(refusal(&caller, "principals", "set a growth goal").into());
    }
    let text = goal::parse_goal(&text)?;
    let indicator = match indicator
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        Some(named) => {
            let framework = scope::framework(ctx, &caller).await?;
            let found = framework
                .indicator(named)
                .ok_or_else(|| UserError::UnknownIndicator {
                    given: text::clip(named, 40),
                })?;
            Some(found.clone())
        }
        None => None,
    };
    let (_, ended) = goals::set(
        &ctx.data().db,
        caller.guild_id,
        caller.user_id,
        &text,
        indicator.as_ref().map(|i| i.id.as_str()),
        ctx.data().now(),
    )
    .await?;
    let serves = indicator.map_or_else(String::new, |i| format!(" It serves {}.", i.title()));
    let replaced = ended.map_or_else(String::new, |old| {
        format!(
            " It replaces your last goal (“{}”), which is kept as ended.",
            text::clip(&old, 100)
        )
    });
    let reply = format!(
        "Your growth goal is set: “{text}”.{serves}{replaced} Only you and your coach can read it. `/goal update` notes how it is going, and your monthly reflection will ask about it."
    );
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// Note how your growth goal is going
#[poise::command(slash_command, guild_only)]
async fn update(
    ctx: Context<'_>,
    #[description = "What has moved, what you noticed, what is next (at most 1,000 characters)"]
    note: String,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    let note = goal::parse_note(&note)?;
    let db = &ctx.data().db;
    let open = goals::open(db, caller.guild_id, caller.user_id)
        .await?
        .ok_or(UserError::NoGoal)?;
    goals::add_note(db, open.id, &note, ctx.data().now()).await?;
    let reply = format!(
        "Noted on your growth goal (“{}”). Only you and your coach can read it; `/goal show` lists your notes.",
        text::clip(&open.text, 100)
    );
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// Read your growth goal, or (for their coach) a principal's
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "The principal whose goal to read (their coach only); empty for yours"]
    person: Option<serenity::User>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    let db = &ctx.data().db;
    let whose: UserId = person.as_ref().map_or(caller.user_id, |p| p.id.into());
    let is_own = whose == caller.user_id;
    if !is_own {
        let their_schools = principal_of(ctx, &caller, whose).await?;
        if !caller.access.may_see_goal(&their_schools, false) {
            return Err(refusal(
                &caller,
                "the principal themselves and their school's coaches",
                "read a principal's growth goal",
            )
            .into());
        }
    }
    let name = if is_own {
        None
    } else {
        let stored = members::name(db, caller.guild_id, whose).await?;
        Some(stored.unwrap_or_else(|| person.as_ref().map_or_else(String::new, |p| p.name.clone())))
    };
    let Some(open) = goals::open(db, caller.guild_id, whose).await? else {
        return Err(match name {
            Some(name) => UserError::NoGoalOf {
                name: text::clip(&name, 80),
            },
            None => UserError::NoGoal,
        }
        .into());
    };
    let notes = goals::notes(db, open.id).await?;
    let indicator_name = match &open.indicator_id {
        Some(id) => scope::framework(ctx, &caller)
            .await?
            .indicator(id)
            .map(|i| i.name.clone()),
        None => None,
    };
    let reply = goal::render(&open, indicator_name.as_deref(), &notes, name.as_deref());
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// The schools `person` is a principal of, as last seen (every school for a server-wide grant).
async fn principal_of(
    ctx: Context<'_>,
    caller: &Caller,
    person: UserId,
) -> Result<Vec<SchoolId>, Error> {
    let db = &ctx.data().db;
    let grants = members::roles_of(db, caller.guild_id, person).await?;
    let principal = grants.iter().filter(|g| g.role == Role::Principal);
    if principal.clone().any(|g| g.school_id.is_none()) {
        return Ok(schools::list(db, caller.guild_id)
            .await?
            .iter()
            .map(|s| s.id)
            .collect());
    }
    Ok(principal.filter_map(|g| g.school_id).collect())
}

fn refusal(caller: &Caller, needed: &'static str, action: &'static str) -> UserError {
    if caller.access.has_any_role() {
        UserError::NotPermitted { needed, action }
    } else {
        UserError::NoRole
    }
}
