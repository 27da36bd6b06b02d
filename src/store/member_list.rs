//! A server's whole member list, as Discord sends it (GUILD_MEMBERS_CHUNK, up to 1,000 members
//! a chunk, with the Server Members intent): each member recorded with the coachbot roles their
//! Discord roles grant, a chunk in one transaction, and when the list was last complete.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::members::{UPSERT_MEMBER, grants_from, mappings_in, replace_grants};
use super::servers::ensure_server;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::forget::contact_key;
use crate::domain::ids::{ServerId, UserId};

/// One member as the member list shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedMember {
    pub user_id: UserId,
    pub display_name: String,
    pub discord_roles: Vec<u64>,
}

/// One chunk of the member list: every member recorded (name kept current) with the roles
/// their Discord roles grant now, in one transaction. `complete` (the last chunk) also
/// remembers that the list was synced at `now`.
pub async fn record_chunk(
    db: &Db,
    server_id: ServerId,
    server_name: &str,
    listed: &[ListedMember],
    complete: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // The server's row is locked first (as `/setup role` and every sighting do), so the
        // mappings read next are the ones in force when this chunk's roles are written.
        ensure_server!(&mut *tx, server_id, server_name.to_owned(), now).await?;
        let mappings = mappings_in!(tx, server_id)?;
        // Someone forgotten (`/privacy forget`) is not recorded again from the list.
        let forgotten: std::collections::HashSet<String> = sqlx::query_scalar(
            "SELECT contact FROM forgotten_contacts WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        for member in listed {
            if !forgotten.is_empty() && forgotten.contains(&contact_key(server_id, member.user_id)) {
                continue;
            }
            let grants = grants_from(&mappings, &member.discord_roles);
            sqlx::query(
                UPSERT_MEMBER,
            )
            .bind(server_id)
            .bind(member.user_id)
            .bind(member.display_name.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            replace_grants!(tx, server_id, member.user_id, &grants);
        }
        if complete {
            sqlx::query("UPDATE servers SET members_synced_at = $1 WHERE id = $2")
                .bind(now)
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("recording a chunk of the member list")
}

/// The bot connected without the Server Members intent: the member list is no longer kept.
pub async fn not_synced(db: &Db, server_id: ServerId) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query("UPDATE servers SET members_synced_at = NULL WHERE id = $1")
            .bind(server_id)
            .execute(pool)
            .await
            .map(drop)
    })
    .context("noting that the member list is not synced")
}

/// When the server's whole member list last arrived (None: never, or not since the bot
/// connected without the Server Members intent).
pub async fn synced_at(db: &Db, server_id: ServerId) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<Option<DateTime<Utc>>> = on_backend!(db, pool => {
        sqlx::query_scalar("SELECT members_synced_at FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading when the member list was synced")?;
    Ok(at.flatten())
}
