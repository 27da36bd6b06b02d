//! Who may own a step: someone holding a role at its school (principal, leadership team or
//! coach), by their Discord roles as they are now, which Discord sends with the command.

use poise::serenity_prelude as serenity;

use super::super::scope::{self, Caller};
use super::super::{Context, Error};
use crate::domain::ids::UserId;
use crate::domain::roles::Access;
use crate::error::UserError;
use crate::store::members::{self, MemberSighting};
use crate::store::schools::School;

/// Most owners a step can have (its owners field in `/step show` stays well within Discord's
/// 1,024 characters: names are at most 32 characters).
pub(super) const MAX_OWNERS: usize = 5;

/// Refuses `user` as an owner of `school`'s steps unless they hold a role there now; records
/// their name and roles as read, so lists call them by name.
pub(super) async fn check_owner(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    user: &serenity::User,
) -> Result<Named, Error> {
    let refused = |name: &str| UserError::OwnerWithoutRole {
        name: crate::domain::text::clip(name, 40),
        school: school.name.clone(),
    };
    check_role_at(ctx, caller, school, user, &refused).await
}

/// Refuses `user` unless they hold a role at `school` now (principal, leadership team or
/// coach): the person a coaching session was with (`/session log with:`).
pub(in crate::discord) async fn check_member(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    user: &serenity::User,
) -> Result<UserId, Error> {
    let refused = |name: &str| UserError::NotInSchool {
        name: crate::domain::text::clip(name, 40),
        school: school.name.clone(),
    };
    Ok(check_role_at(ctx, caller, school, user, &refused).await?.id)
}

/// A member named in a command, as recorded.
pub(super) struct Named {
    pub id: UserId,
    /// The name recorded for them; None for someone forgotten here, whose name is kept
    /// nowhere (what the bot writes shows a mention instead).
    pub name: Option<String>,
}

async fn check_role_at(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    user: &serenity::User,
    refused: &(dyn Fn(&str) -> UserError + Send + Sync),
) -> Result<Named, Error> {
    let name = scope::user_name(user);
    let refused = || refused(&name);
    // Discord resolves each member named in a command, with their roles; someone who is not
    // a member of the server has none.
    let roles = roles_in_command(ctx, user.id).ok_or_else(refused)?;
    let db = &ctx.data().db;
    let grants = caller.settings.grants_for(&roles);
    let display = member_name(ctx, user.id).unwrap_or(name.clone());
    let seen = MemberSighting {
        server_id: caller.guild_id,
        server_name: &scope::server_name(ctx, serenity::GuildId::new(caller.guild_id.get())),
        user_id: user.id.into(),
        display_name: &display,
        discord_roles: &roles,
        grants: &grants,
    };
    let now = ctx.data().now();
    let on_record = match caller.as_read(user.id.into()) {
        Some(as_read) => members::record_as_read(db, &seen, as_read, now).await?,
        None => members::record(db, &seen, now).await?,
    };
    let access = Access {
        grants,
        discord_admin: false,
    };
    if access.may_own_steps(school.id) {
        Ok(Named {
            id: user.id.into(),
            name: on_record.then_some(display),
        })
    } else {
        Err(refused().into())
    }
}

/// The Discord roles of a member named in this command, or None when they are not a member.
fn roles_in_command(ctx: Context<'_>, user: serenity::UserId) -> Option<Vec<u64>> {
    let poise::Context::Application(app) = ctx else {
        return None;
    };
    app.interaction
        .data
        .resolved
        .members
        .get(&user)
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
}

/// The server nickname of a member named in this command, if they have one.
fn member_name(ctx: Context<'_>, user: serenity::UserId) -> Option<String> {
    let poise::Context::Application(app) = ctx else {
        return None;
    };
    app.interaction
        .data
        .resolved
        .members
        .get(&user)
        .and_then(|m| m.nick.clone())
}
