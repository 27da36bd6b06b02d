//! The mappings from Discord roles to coachbot roles that admins set, and the grants they
//! give.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::privacy::AuditEntry;
use crate::domain::roles::{Grant, Role};
use crate::store::audit::record_in;
use crate::store::servers::ensure_server;
use crate::store::{BeginWrite as _, Db, db_id, discord_id, on_backend};

/// A Discord role that grants a coachbot role, for one school or the whole server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMapping {
    pub discord_role_id: u64,
    pub role: Role,
    pub school_id: Option<SchoolId>,
}

#[derive(sqlx::FromRow)]
pub(in crate::store) struct MappingRow {
    discord_role_id: i64,
    role: String,
    school_id: Option<SchoolId>,
}

impl TryFrom<MappingRow> for RoleMapping {
    type Error = anyhow::Error;
    fn try_from(row: MappingRow) -> anyhow::Result<Self> {
        Ok(Self {
            discord_role_id: discord_id(row.discord_role_id),
            role: Role::parse(&row.role)
                .map_err(|_| anyhow::anyhow!("unknown role `{}` in role_mappings", row.role))?,
            school_id: row.school_id,
        })
    }
}

/// The server's role mappings read inside the transaction `$tx`, as a
/// `Result<Vec<RoleMapping>, sqlx::Error>`. Read after the server's row is locked (as every
/// write of members' roles and every mapping change do first), they are the mappings in
/// force when the roles are written: a mapping removed meanwhile is never given back. A
/// mapping to a role this program no longer knows grants nothing.
macro_rules! mappings_in {
    ($tx:ident, $server:expr) => {
        sqlx::query_as::<_, $crate::store::members::MappingRow>(
            "SELECT discord_role_id, role, school_id FROM role_mappings
             WHERE server_id = $1 ORDER BY id",
        )
        .bind($server)
        .fetch_all(&mut *$tx)
        .await
        .map(|rows| {
            rows.into_iter()
                .filter_map(|row| $crate::store::members::RoleMapping::try_from(row).ok())
                .collect::<Vec<_>>()
        })
    };
}
pub(in crate::store) use mappings_in;

/// What `/setup role` asks for.
#[derive(Clone, Debug)]
pub struct NewMapping<'a> {
    pub server_id: ServerId,
    pub server_name: &'a str,
    pub discord_role_id: u64,
    pub role: Role,
    pub school_id: Option<SchoolId>,
    pub created_by: UserId,
}

/// Records a mapping, and `audit` with it in the same transaction; returns false (recording
/// nothing) when the same mapping already existed.
pub async fn map_role(
    db: &Db,
    mapping: &NewMapping<'_>,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        ensure_server!(&mut *tx, mapping.server_id, mapping.server_name.to_owned(), now).await?;
        let inserted = sqlx::query(
            "INSERT INTO role_mappings (server_id, discord_role_id, role, school_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(mapping.server_id)
        .bind(db_id(mapping.discord_role_id))
        .bind(mapping.role.as_str())
        .bind(mapping.school_id)
        .bind(mapping.created_by)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            record_in!(&mut *tx, mapping.server_id, audit).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(inserted == 1)
    })
    .context("saving the role mapping")
}

/// Takes the server's row for the rest of the transaction (PostgreSQL's row lock; SQLite's
/// write transaction already holds the whole database), changing nothing.
pub(in crate::store) const LOCK_SERVER: &str = "UPDATE servers SET name = name WHERE id = $1";

/// Removes a mapping; returns false when there was none. The coachbot roles it gave are
/// taken from everyone at once: a member who holds the same role through another mapping
/// gets it back at their next sighting (a command, a member update, a digest's role check).
/// `audit` is recorded in the same transaction when a mapping went.
pub async fn unmap_role(
    db: &Db,
    server_id: ServerId,
    discord_role_id: u64,
    grant: Grant,
    audit: &AuditEntry,
) -> anyhow::Result<bool> {
    let (mapping, held) = match grant.school_id {
        Some(_) => (
            "DELETE FROM role_mappings
             WHERE server_id = $1 AND discord_role_id = $2 AND role = $3 AND school_id = $4",
            "DELETE FROM member_roles WHERE server_id = $1 AND role = $2 AND school_id = $3",
        ),
        None => (
            "DELETE FROM role_mappings
             WHERE server_id = $1 AND discord_role_id = $2 AND role = $3 AND school_id IS NULL",
            "DELETE FROM member_roles WHERE server_id = $1 AND role = $2 AND school_id IS NULL",
        ),
    };
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // The server's row first, as every write of members' roles takes it: one that read
        // the mappings before this removal commits before the roles are taken here.
        sqlx::query(LOCK_SERVER).bind(server_id).execute(&mut *tx).await?;
        let mut removing = sqlx::query(mapping)
            .bind(server_id)
            .bind(db_id(discord_role_id))
            .bind(grant.role.as_str());
        if let Some(school) = grant.school_id {
            removing = removing.bind(school);
        }
        let removed = removing.execute(&mut *tx).await?.rows_affected() > 0;
        if removed {
            let mut taking = sqlx::query(held).bind(server_id).bind(grant.role.as_str());
            if let Some(school) = grant.school_id {
                taking = taking.bind(school);
            }
            taking.execute(&mut *tx).await?;
            record_in!(&mut *tx, server_id, audit).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(removed)
    })
    .context("removing the role mapping")
}

/// Every mapping in the server.
pub async fn mappings(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<RoleMapping>> {
    let rows: Vec<MappingRow> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT discord_role_id, role, school_id FROM role_mappings
             WHERE server_id = $1 ORDER BY id",
        )
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading role mappings")?;
    rows.into_iter().map(RoleMapping::try_from).collect()
}

/// The coachbot roles that a member's Discord roles grant.
pub async fn grants_for(
    db: &Db,
    server_id: ServerId,
    discord_roles: &[u64],
) -> anyhow::Result<Vec<Grant>> {
    Ok(grants_from(&mappings(db, server_id).await?, discord_roles))
}

/// The coachbot roles that `discord_roles` hold through `mappings`, each once.
pub fn grants_from(mappings: &[RoleMapping], discord_roles: &[u64]) -> Vec<Grant> {
    let mut grants: Vec<Grant> = mappings
        .iter()
        .filter(|m| discord_roles.contains(&m.discord_role_id))
        .map(|m| Grant {
            role: m.role,
            school_id: m.school_id,
        })
        .collect();
    grants.sort();
    grants.dedup();
    grants
}
