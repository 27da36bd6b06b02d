//! The owner a **Make it a step** form names: found among the server's members by name,
//! mention or id, and refused unless they hold a role at the school now (their roles fetched
//! from Discord, not read as last seen).

use std::collections::HashMap;

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::domain::ids::{ServerId, UserId};
use crate::domain::roles::Access;
use crate::domain::text::clip;
use crate::error::UserError;
use crate::store::members::{self, MemberSighting};
use crate::store::schools::School;

/// The person named in the owner field: a mention, a user id, or a name as the server shows
/// it (any case), among the members coachbot knows.
pub(super) fn named(raw: &str, names: &HashMap<UserId, String>) -> Result<UserId, UserError> {
    let given = raw.trim();
    let unknown = || UserError::UnknownOwner {
        given: clip(given, 40),
    };
    let digits = given
        .trim_start_matches("<@")
        .trim_start_matches('!')
        .trim_end_matches('>');
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let id = UserId::new(digits.parse().map_err(|_| unknown())?);
        return names.contains_key(&id).then_some(id).ok_or_else(unknown);
    }
    let wanted = given.trim_start_matches('@').trim().to_lowercase();
    let found: Vec<UserId> = names
        .iter()
        .filter(|(_, name)| name.trim().to_lowercase() == wanted)
        .map(|(id, _)| *id)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(unknown()),
        _ => Err(UserError::AmbiguousOwner {
            given: clip(given, 40),
        }),
    }
}

/// Refuses an owner without a role at the school now: their roles are fetched from Discord
/// (not read as last seen), and recorded.
pub(super) async fn check(
    ctx: &serenity::Context,
    data: &App,
    guild_id: serenity::GuildId,
    school: &School,
    owner: UserId,
    names: &HashMap<UserId, String>,
) -> anyhow::Result<()> {
    let name = names.get(&owner).cloned().unwrap_or_default();
    let refused = || UserError::OwnerWithoutRole {
        name: clip(&name, 40),
        school: school.name.clone(),
    };
    let Ok(member) = ctx
        .http
        .get_member(guild_id, serenity::UserId::new(owner.get()))
        .await
    else {
        return Err(refused().into());
    };
    let server: ServerId = guild_id.into();
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let grants = members::grants_for(&data.db, server, &roles).await?;
    members::record(
        &data.db,
        &MemberSighting {
            server_id: server,
            server_name: &ctx
                .cache
                .guild(guild_id)
                .map(|g| g.name.clone())
                .unwrap_or_else(|| format!("server {guild_id}")),
            user_id: owner,
            display_name: member.nick.as_deref().unwrap_or(&name),
            discord_roles: &roles,
            grants: &grants,
        },
        data.now(),
    )
    .await?;
    let access = Access {
        grants,
        discord_admin: false,
    };
    if access.may_own_steps(school.id) {
        Ok(())
    } else {
        Err(refused().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_named_by_mention_id_or_name() {
        let names = [
            (UserId::new(11), "Terry Okafor".to_owned()),
            (UserId::new(12), "Pat Lee".to_owned()),
            (UserId::new(13), "pat lee".to_owned()),
        ]
        .into();
        assert_eq!(named("terry okafor", &names), Ok(UserId::new(11)));
        assert_eq!(named("@Terry Okafor ", &names), Ok(UserId::new(11)));
        assert_eq!(named("<@11>", &names), Ok(UserId::new(11)));
        assert_eq!(named("12", &names), Ok(UserId::new(12)));
        assert!(matches!(
            named("Pat Lee", &names),
            Err(UserError::AmbiguousOwner { .. })
        ));
        assert!(matches!(
            named("99", &names),
            Err(UserError::UnknownOwner { .. })
        ));
        assert!(matches!(
            named("", &names),
            Err(UserError::UnknownOwner { .. })
        ));
    }
}
