//! People and their coachbot roles: the mappings from Discord roles that admins set, and the
//! roles each member was last seen holding.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::servers::ensure_server;
use super::{BeginWrite as _, Db, db_id, discord_id, on_backend};
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::roles::{Grant, Role};

mod mappings;
mod record;

pub(super) use mappings::{LOCK_SERVER, MappingRow, mappings_in};
pub use mappings::{
    NewMapping, RoleMapping, grants_for, grants_from, map_role, mappings, unmap_role,
};
pub use record::{MemberSighting, Recorded, record, record_as_read, record_themselves, set_grants};
pub(super) use record::{RECORDED_FROM, RecordedRow, UPSERT_MEMBER, recorded_from, replace_grants};

/// A member left the server: they hold no coachbot role there any more. Their name stays on
/// what they wrote.
pub async fn left(db: &Db, server_id: ServerId, user_id: UserId) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query("DELETE FROM member_roles WHERE server_id = $1 AND user_id = $2")
            .bind(server_id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
    })
    .context("dropping the roles of a member who left")
}

/// Since when the member's DMs have been closed to the bot, if they are.
pub async fn unreachable_since(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT dm_unreachable_at FROM members WHERE server_id = $1 AND user_id = $2",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
    })
    .map(Option::flatten)
    .context("reading whether a member is reachable")
}

/// The person can be reached again in `server_id` (a message to them went out, or they wrote
/// to the bot in a check-in of that server): the spell of closed DMs is over.
pub async fn reachable(db: &Db, server_id: ServerId, user_id: UserId) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query(
            "UPDATE members SET dm_unreachable_at = NULL
             WHERE server_id = $1 AND user_id = $2 AND dm_unreachable_at IS NOT NULL",
        )
        .bind(server_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(drop)
    })
    .context("marking a member reachable")
}

/// The person wrote to the bot and was answered, outside any check-in: their DMs are open
/// in every server (a rare write, only while they are marked).
pub async fn reachable_everywhere(db: &Db, user_id: UserId) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query(
            "UPDATE members SET dm_unreachable_at = NULL
             WHERE user_id = $1 AND dm_unreachable_at IS NOT NULL",
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(drop)
    })
    .context("marking a member reachable")
}

/// The roles a member was last seen holding.
pub async fn roles_of(db: &Db, server_id: ServerId, user_id: UserId) -> anyhow::Result<Vec<Grant>> {
    let rows: Vec<(String, Option<SchoolId>)> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT role, school_id FROM member_roles WHERE server_id = $1 AND user_id = $2
             ORDER BY role, school_id",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_all(pool)
        .await
    })
    .context("reading a member's roles")?;
    rows.into_iter()
        .map(|(role, school_id)| {
            Ok(Grant {
                role: Role::parse(&role)
                    .map_err(|_| anyhow::anyhow!("unknown role `{role}` in member_roles"))?,
                school_id,
            })
        })
        .collect()
}

/// Records a person's display name (an owner picked in a command) without touching roles.
pub async fn note(
    db: &Db,
    server_id: ServerId,
    server_name: &str,
    user_id: UserId,
    display_name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // Already known by this name (the usual case): nothing to write.
    let known: Option<i64> = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM members m JOIN servers s ON s.id = m.server_id
             WHERE m.server_id = $1 AND m.user_id = $2 AND m.display_name = $3 AND s.name = $4",
        )
        .bind(server_id)
        .bind(user_id)
        .bind(display_name.to_owned())
        .bind(server_name.to_owned())
        .fetch_optional(pool)
        .await
    })
    .context("reading a member's recorded name")?;
    if known.is_some() {
        return Ok(());
    }
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        ensure_server!(&mut *tx, server_id, server_name.to_owned(), now).await?;
        sqlx::query(
            UPSERT_MEMBER,
        )
        .bind(server_id)
        .bind(user_id)
        .bind(display_name.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("recording a member's name")
}

/// Display names of the server's members, by user id.
pub async fn names(
    db: &Db,
    server_id: ServerId,
) -> anyhow::Result<std::collections::HashMap<UserId, String>> {
    let rows: Vec<(UserId, String)> = on_backend!(db, pool => {
        sqlx::query_as("SELECT user_id, display_name FROM members WHERE server_id = $1")
            .bind(server_id)
            .fetch_all(pool)
            .await
    })
    .context("reading member names")?;
    Ok(rows.into_iter().collect())
}

/// The display names of these members of a server (those it knows): what a reply about a
/// few people needs, without reading every name in the server.
pub async fn names_of(
    db: &Db,
    server_id: ServerId,
    user_ids: &[UserId],
) -> anyhow::Result<std::collections::HashMap<UserId, String>> {
    if user_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let slots: Vec<String> = (2..user_ids.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT user_id, display_name FROM members WHERE server_id = $1 AND user_id IN ({})",
        slots.join(", ")
    );
    let rows: Vec<(UserId, String)> = on_backend!(db, pool => {
        // Only numbered placeholders are formatted in; the ids are bound.
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(server_id);
        for id in user_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })
    .context("reading member names")?;
    Ok(rows.into_iter().collect())
}

/// The coaches of a school (and of every school) in a server, as their roles were last seen.
pub async fn coaches_of(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Vec<UserId>> {
    on_backend!(db, pool => {
        sqlx::query_scalar(COACHES_OF)
            .bind(server_id)
            .bind(school_id)
            .fetch_all(pool)
            .await
    })
    .context("reading a school's coaches")
}

/// The coaches of school `$2` in server `$1`.
pub(crate) const COACHES_OF: &str = "SELECT DISTINCT user_id FROM member_roles
     WHERE server_id = $1 AND role = 'coach' AND (school_id = $2 OR school_id IS NULL) ORDER BY user_id";

/// One member's display name.
pub async fn name(db: &Db, server_id: ServerId, user_id: UserId) -> anyhow::Result<Option<String>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT display_name FROM members WHERE server_id = $1 AND user_id = $2")
            .bind(server_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading a member's name")
}

/// The DM channel stored for a member, if one was opened before.
pub async fn dm_channel(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
) -> anyhow::Result<Option<u64>> {
    let stored: Option<Option<i64>> = on_backend!(db, pool => {
        sqlx::query_scalar("SELECT dm_channel_id FROM members WHERE server_id = $1 AND user_id = $2")
            .bind(server_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading a member's DM channel")?;
    Ok(stored.flatten().map(discord_id))
}

/// Remembers the DM channel opened with a member, so it is not opened again.
pub async fn set_dm_channel(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
    channel_id: u64,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE members SET dm_channel_id = $1 WHERE server_id = $2 AND user_id = $3")
            .bind(db_id(channel_id))
            .bind(server_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("storing a member's DM channel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_follow_the_mapped_roles_only() {
        let lincoln = SchoolId::new(1);
        let mappings = [
            RoleMapping {
                discord_role_id: 10,
                role: Role::Principal,
                school_id: Some(lincoln),
            },
            RoleMapping {
                discord_role_id: 11,
                role: Role::Coach,
                school_id: None,
            },
            RoleMapping {
                discord_role_id: 12,
                role: Role::Principal,
                school_id: Some(lincoln),
            },
        ];
        assert_eq!(
            grants_from(&mappings, &[10, 12, 99]),
            [Grant {
                role: Role::Principal,
                school_id: Some(lincoln)
            }]
        );
        assert!(grants_from(&mappings, &[99]).is_empty());
        assert_eq!(grants_from(&mappings, &[11]).len(), 1);
    }
}
