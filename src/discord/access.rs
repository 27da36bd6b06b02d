//! Server-side role checks. Discord's default command permissions are only a default that
//! server admins can change, so every command asks the database who may do what.

use chrono::Utc;

use super::{Context, Error};
use crate::domain::roles::Access;
use crate::error::UserError;
use crate::store::members::{self, MemberSighting};

/// The caller's coachbot roles in this server, recording the sighting (name and roles) so
/// that member lists and names stay current.
pub async fn resolve_access(ctx: Context<'_>) -> Result<Access, Error> {
    access(ctx, true).await
}

/// The caller's roles without writing anything: for autocomplete, which runs on every key.
pub async fn peek_access(ctx: Context<'_>) -> Result<Access, Error> {
    access(ctx, false).await
}

async fn access(ctx: Context<'_>, record: bool) -> Result<Access, Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let member = ctx.author_member().await.ok_or(UserError::ServerOnly)?;
    let discord_admin = member.permissions.is_some_and(|p| p.administrator());
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let db = &ctx.data().db;
    let grants = members::grants_for(db, guild_id.get(), &roles).await?;
    if record {
        members::record(
            db,
            &MemberSighting {
                server_id: guild_id.get(),
                server_name: &super::scope::server_name(ctx, guild_id),
                user_id: ctx.author().id.get(),
                display_name: member.display_name(),
                grants: &grants,
            },
            Utc::now(),
        )
        .await?;
    }
    Ok(Access {
        grants,
        discord_admin,
    })
}

/// poise check: only coachbot admins (or Discord administrators).
pub(super) async fn admin(ctx: Context<'_>) -> Result<bool, Error> {
    resolve_access(ctx)
        .await?
        .require_admin("change coachbot's settings")?;
    Ok(true)
}
