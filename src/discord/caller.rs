//! The caller: who is calling, where, and what they may do. Discord's default command
//! permissions are only a default that server admins can change, so every command asks here.
//! Roles are read as they are now (the member Discord sends with the command), never as last
//! seen, and every rule of who may see or do what is a method of `Access` (`domain::roles`).

use super::{Context, Error};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::roles::Access;
use crate::error::UserError;
use crate::store::members::{self, MemberSighting};
use crate::store::schools::{self, School};
use crate::store::settings::ServerSettings;

/// Who is calling, where.
pub struct Caller {
    pub guild_id: ServerId,
    pub user_id: UserId,
    pub access: Access,
    /// The server's role mappings, schools and date order, as the database holds them now.
    pub settings: ServerSettings,
    /// How the members the command names were last recorded, read with the settings
    /// ([`caller_naming`]): an owner's check then reads nothing again.
    pub named: Vec<(UserId, members::Recorded)>,
}

impl Caller {
    /// How `user` was last recorded, when the command named them to [`caller_naming`].
    pub fn as_read(&self, user: UserId) -> Option<&members::Recorded> {
        self.named
            .iter()
            .find(|(id, _)| *id == user)
            .map(|(_, recorded)| recorded)
    }
}

/// What the caller wants to do with a school's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    Edit,
}

/// The caller, with their roles resolved (and recorded).
pub async fn caller(ctx: Context<'_>) -> Result<Caller, Error> {
    caller_naming(ctx, &[]).await
}

/// [`caller`], also reading how the members the command names (a step's owners) were last
/// recorded, in the same query as the caller's own record.
pub async fn caller_naming(ctx: Context<'_>, named: &[UserId]) -> Result<Caller, Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let (access, settings, recorded) = access(ctx, true, named).await?;
    Ok(Caller {
        guild_id: guild_id.into(),
        user_id: ctx.author().id.into(),
        access,
        settings,
        named: named.iter().copied().zip(recorded).collect(),
    })
}

/// The school named (which the caller may read), or None for every school when nothing is
/// named and the caller's role covers the server.
pub fn school_or_all(
    caller: &Caller,
    named: Option<&str>,
    action: &'static str,
) -> Result<Option<School>, Error> {
    match named.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Ok(Some(school(caller, Some(name), Need::Read, action)?)),
        None if caller.access.server_wide() => Ok(None),
        None => Ok(Some(school(caller, None, Need::Read, action)?)),
    }
}

/// Like [`school_or_all`], for the school's coaches and admins only: posting its summary,
/// exporting its records.
pub fn school_to_report(
    caller: &Caller,
    named: Option<&str>,
    action: &'static str,
) -> Result<Option<School>, Error> {
    let school = school_or_all(caller, named, action)?;
    if caller.access.can_report(school.as_ref().map(|s| s.id)) {
        Ok(school)
    } else {
        Err(UserError::NotPermitted {
            needed: "the school's coaches and admins",
            action,
        }
        .into())
    }
}

/// Refuses unless the caller may `need` this school's plan.
pub fn check(
    caller: &Caller,
    school: &School,
    need: Need,
    action: &'static str,
) -> Result<(), UserError> {
    let allowed = match need {
        Need::Read => caller.access.can_read_plan(school.id),
        Need::Edit => caller.access.can_edit_plan(school.id),
    };
    if allowed {
        Ok(())
    } else if !caller.access.has_any_role() {
        Err(UserError::NoRole)
    } else {
        Err(UserError::NotOnTeam {
            school: school.name.clone(),
            action,
        })
    }
}

/// Room for the school names in "which school?", within one message.
const SCHOOL_CHOICES_BUDGET: usize = 1500;

/// The school a command is about: the one named, or else the caller's only school.
pub fn school(
    caller: &Caller,
    named: Option<&str>,
    need: Need,
    action: &'static str,
) -> Result<School, Error> {
    if let Some(name) = named.map(str::trim).filter(|n| !n.is_empty()) {
        // Among the schools read with the caller's settings, as `schools::find_by_name`
        // finds it.
        let school = schools::named(&caller.settings.schools, name)
            .cloned()
            .ok_or_else(|| UserError::UnknownSchool {
                name: crate::domain::text::clip(name, 100),
            })?;
        check(caller, &school, need, action)?;
        return Ok(school);
    }
    if !caller.access.has_any_role() {
        return Err(UserError::NoRole.into());
    }
    let all = caller.settings.schools.to_vec();
    if all.is_empty() {
        return Err(UserError::NoSchools.into());
    }
    let mine: Vec<School> = if caller.access.server_wide() {
        all
    } else {
        let ids = caller.access.school_ids();
        all.into_iter().filter(|s| ids.contains(&s.id)).collect()
    };
    let mut permitted: Vec<School> = mine
        .iter()
        .filter(|s| check(caller, s, need, action).is_ok())
        .cloned()
        .collect();
    match permitted.len() {
        1 => Ok(permitted.remove(0)),
        0 => match mine.first() {
            Some(school) => Err(check(caller, school, need, action)
                .err()
                .unwrap_or(UserError::NoRole)
                .into()),
            None => Err(UserError::NoRole.into()),
        },
        _ => {
            let names: Vec<&str> = permitted.iter().map(|s| s.name.as_str()).collect();
            Err(UserError::PickSchool {
                choices: crate::domain::text::join_within(
                    &names,
                    ", ",
                    SCHOOL_CHOICES_BUDGET,
                    "start typing in the `school` box to find the others",
                ),
            }
            .into())
        }
    }
}

/// The caller's coachbot roles in this server, recording the sighting (name and roles) so
/// that member lists and names stay current.
pub async fn resolve_access(ctx: Context<'_>) -> Result<Access, Error> {
    Ok(access(ctx, true, &[]).await?.0)
}

/// The caller's roles without writing anything: for autocomplete, which runs on every key.
pub async fn peek_access(ctx: Context<'_>) -> Result<Access, Error> {
    Ok(access(ctx, false, &[]).await?.0)
}

/// The caller's roles, the server's settings they were read from, and how the `named`
/// members were last recorded (read only when recording the caller).
async fn access(
    ctx: Context<'_>,
    record: bool,
    named: &[UserId],
) -> Result<(Access, ServerSettings, Vec<members::Recorded>), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let member = ctx.author_member().await.ok_or(UserError::ServerOnly)?;
    let discord_admin = member.permissions.is_some_and(|p| p.administrator());
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let db = &ctx.data().db;
    let user_id = ctx.author().id.into();
    let (settings, as_read, named) = if record {
        let (settings, recorded, named) = ctx
            .data()
            .settings
            .with_members(db, guild_id.into(), user_id, named)
            .await?;
        (settings, Some(recorded), named)
    } else {
        (
            ctx.data().settings.of(db, guild_id.into()).await?,
            None,
            Vec::new(),
        )
    };
    let grants = settings.grants_for(&roles);
    if let Some(as_read) = as_read {
        // Their own command: someone who was forgotten here is recorded again from now on.
        members::record_themselves(
            db,
            &MemberSighting {
                server_id: guild_id.into(),
                server_name: &super::scope::server_name(ctx, guild_id),
                user_id,
                display_name: member.display_name(),
                discord_roles: &roles,
                grants: &grants,
            },
            &as_read,
            ctx.data().now(),
        )
        .await?;
    }
    Ok((
        Access {
            grants,
            discord_admin,
        },
        settings,
        named,
    ))
}

/// poise check: only coachbot admins (or Discord administrators).
pub(super) async fn admin(ctx: Context<'_>) -> Result<bool, Error> {
    resolve_access(ctx)
        .await?
        .require_admin("change coachbot's settings")?;
    Ok(true)
}
