//! Recording a member as a command or the gateway shows them: their name and the coachbot
//! roles their Discord roles grant, written only when that changes what is on record.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::super::servers::ensure_server;
use super::super::{BeginWrite as _, Db, on_backend};
use super::{LOCK_SERVER, grants_from, mappings_in};
use crate::domain::forget::contact_key;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::roles::{Grant, Role};

/// A member as coachbot last saw them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSighting<'a> {
    pub server_id: ServerId,
    pub server_name: &'a str,
    pub user_id: UserId,
    pub display_name: &'a str,
    /// Their Discord roles: what they hold in coachbot is worked out from these inside the
    /// write, under the mappings in force then.
    pub discord_roles: &'a [u64],
    /// What the caller's copy of the settings says `discord_roles` grant: only to tell,
    /// without a write, that the member is already recorded as they are.
    pub grants: &'a [Grant],
}

/// Records the member and replaces the roles they hold with `grants`, in one transaction.
/// Someone forgotten (`/privacy forget`) is not recorded from member sync or from being named
/// by someone else: only [`record_themselves`] brings them back. Whether they are on record
/// now: false for someone forgotten, whose name is then kept nowhere.
pub async fn record(
    db: &Db,
    seen: &MemberSighting<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    record_as(db, seen, false, None, now).await
}

/// [`record`], for a member named in a command whose record was read with the caller's
/// (`Settings::with_members`): nothing is read again when it holds what was seen.
pub async fn record_as_read(
    db: &Db,
    seen: &MemberSighting<'_>,
    as_read: &Recorded,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    record_as(db, seen, false, Some(as_read), now).await
}

/// Records the person who is running a command, as [`record`] does; if they were forgotten
/// here, their own command is their return: the mark is lifted and they are recorded again.
/// `as_read` is how they were recorded when the command began (read with the server's
/// settings, `Settings::with_members`): nothing is read again.
pub async fn record_themselves(
    db: &Db,
    seen: &MemberSighting<'_>,
    as_read: &Recorded,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    record_as(db, seen, true, Some(as_read), now)
        .await
        .map(|_| ())
}

async fn record_as(
    db: &Db,
    seen: &MemberSighting<'_>,
    themselves: bool,
    as_read: Option<&Recorded>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    // Nearly every command comes from someone already recorded as they are: a read then
    // spares the command a write transaction (SQLite has one writer for all of them).
    let recorded = match as_read {
        Some(recorded) => recorded,
        None => &recorded(db, seen.server_id, seen.user_id).await?,
    };
    if recorded.holds(seen, themselves) {
        return Ok(true);
    }
    let server = seen.server_id;
    let user = seen.user_id;
    let contact = contact_key(server, user);
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        ensure_server!(&mut *tx, seen.server_id, seen.server_name.to_owned(), now).await?;
        if themselves {
            sqlx::query("DELETE FROM forgotten_contacts WHERE server_id = $1 AND contact = $2")
                .bind(server)
                .bind(contact.clone())
                .execute(&mut *tx)
                .await?;
        } else {
            let forgotten: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(1 AS BIGINT) FROM forgotten_contacts WHERE server_id = $1 AND contact = $2",
            )
            .bind(server)
            .bind(contact.clone())
            .fetch_optional(&mut *tx)
            .await?;
            if forgotten.is_some() {
                tx.commit().await?;
                return Ok(false);
            }
        }
        sqlx::query(
            UPSERT_MEMBER,
        )
        .bind(server)
        .bind(user)
        .bind(seen.display_name.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let grants = grants_from(&mappings_in!(tx, server)?, seen.discord_roles);
        replace_grants!(tx, server, user, &grants);
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    })
    .context("recording a member")
}

/// Records a member (`$1` server, `$2` user) under the name `$3` at `$4`, or renames them:
/// every path that records someone (a sighting, a first note, the member list) writes this.
pub(in crate::store) const UPSERT_MEMBER: &str =
    "INSERT INTO members (server_id, user_id, display_name, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (server_id, user_id)
     DO UPDATE SET display_name = excluded.display_name, updated_at = excluded.updated_at";

/// How a member was last recorded, read to tell whether a sighting would change anything:
/// one row per role they hold (one with no role when they hold none), each with their name,
/// the server's name and whether they were forgotten. No row with a name: not recorded.
#[derive(Clone, Debug, Default)]
pub struct Recorded(Vec<RecordedRow>);

/// A member's name, the server's name, the forgotten mark, and one role held (if any).
pub(in crate::store) type RecordedRow = (
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    Option<SchoolId>,
);

/// The columns and joins that read [`Recorded`] for the member `$2` of server `$1` (whose
/// contact key is `$3`), after `SELECT` and the query's own columns: one row even for
/// someone not recorded, so other columns can be read in the same statement.
pub(in crate::store) const RECORDED_FROM: &str = "m.display_name, s.name,
        (SELECT COUNT(*) FROM forgotten_contacts f WHERE f.server_id = $1 AND f.contact = $3),
        r.role, r.school_id
     FROM (SELECT 1 AS one) AS one
     LEFT JOIN members m ON m.server_id = $1 AND m.user_id = $2
     LEFT JOIN servers s ON s.id = m.server_id
     LEFT JOIN member_roles r ON r.server_id = m.server_id AND r.user_id = m.user_id";

/// [`RECORDED_FROM`] for the member whose id is the placeholder `user` and whose contact key
/// is `contact` (server still `$1`): to read several members in one statement.
pub(in crate::store) fn recorded_from(user: &str, contact: &str) -> String {
    RECORDED_FROM
        .replace("m.user_id = $2", &format!("m.user_id = {user}"))
        .replace("f.contact = $3", &format!("f.contact = {contact}"))
}

impl Recorded {
    pub(in crate::store) fn from_rows(rows: impl IntoIterator<Item = RecordedRow>) -> Self {
        Self(rows.into_iter().filter(|row| row.0.is_some()).collect())
    }

    /// Whether the store holds `seen` exactly: the server under its name, the member under
    /// their name with these roles and no others, and, for the person themselves, no
    /// forgotten mark to lift. Recording it again would change nothing.
    fn holds(&self, seen: &MemberSighting<'_>, themselves: bool) -> bool {
        let Some((Some(name), Some(server_name), forgotten, _, _)) = self.0.first() else {
            return false;
        };
        if name != seen.display_name
            || server_name != seen.server_name
            || (themselves && *forgotten > 0)
        {
            return false;
        }
        let mut held = Vec::with_capacity(self.0.len());
        for (_, _, _, role, school_id) in &self.0 {
            let Some(role) = role else { continue };
            let Ok(role) = Role::parse(role) else {
                // A role this program no longer knows: recording them again replaces it.
                return false;
            };
            held.push(Grant {
                role,
                school_id: *school_id,
            });
        }
        let mut seen_grants = seen.grants.to_vec();
        held.sort();
        seen_grants.sort();
        seen_grants.dedup();
        held == seen_grants
    }
}

/// How `user` was last recorded in `server` (see [`Recorded`]), in one statement.
async fn recorded(db: &Db, server: ServerId, user: UserId) -> anyhow::Result<Recorded> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {RECORDED_FROM}"));
    let sql: &'static str = SQL.as_str();
    let rows: Vec<RecordedRow> = on_backend!(db, pool => {
        sqlx::query_as(sql)
            .bind(server)
            .bind(user)
            .bind(contact_key(server, user))
            .fetch_all(pool)
            .await
    })
    .context("reading how a member was last recorded")?;
    Ok(Recorded::from_rows(rows))
}

/// Replaces the coachbot roles `$user` holds in `$server` with `$grants`, inside the
/// transaction `$tx`.
macro_rules! replace_grants {
    ($tx:ident, $server:expr, $user:expr, $grants:expr) => {
        sqlx::query("DELETE FROM member_roles WHERE server_id = $1 AND user_id = $2")
            .bind($server)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        for grant in $grants {
            sqlx::query(
                "INSERT INTO member_roles (server_id, user_id, role, school_id) VALUES ($1, $2, $3, $4)",
            )
            .bind($server)
            .bind($user)
            .bind(grant.role.as_str())
            .bind(grant.school_id)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(in crate::store) use replace_grants;

/// Replaces the coachbot roles a member holds with those their Discord roles (as read just
/// now) grant under the mappings in force, keeping their name, and returns them; writes
/// nothing for someone coachbot has not recorded yet (they are recorded, with their roles,
/// when seen in a command or a gateway event).
pub async fn set_grants(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
    discord_roles: &[u64],
) -> anyhow::Result<Vec<Grant>> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(LOCK_SERVER).bind(server_id).execute(&mut *tx).await?;
        let grants = grants_from(&mappings_in!(tx, server_id)?, discord_roles);
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM members WHERE server_id = $1 AND user_id = $2",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if known > 0 {
            replace_grants!(tx, server_id, user_id, &grants);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(grants)
    })
    .context("recording a member's current roles")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members a command names are read with its caller, in one query: each one's
    /// record as it is, in the order named (a repeat reads the same), someone never seen as
    /// not recorded. What was read is what `record_as_read` goes by: a member whose name
    /// changed is written, and reads as changed afterwards.
    #[tokio::test]
    async fn members_named_in_a_command_are_read_with_the_caller() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("named.db").display());
        let db = Db::open(&url).await.expect("open");
        let server = ServerId::new(1);
        let now = Utc::now();
        let seen = |user: u64, name: &'static str| MemberSighting {
            server_id: server,
            server_name: "Server",
            user_id: UserId::new(user),
            display_name: name,
            discord_roles: &[],
            grants: &[],
        };
        for (user, name) in [(1, "Ada"), (2, "Bea")] {
            assert!(record(&db, &seen(user, name), now).await.expect("recorded"));
        }
        let settings = crate::store::settings::Settings::default();
        let (bea, cy) = (UserId::new(2), UserId::new(3));
        let read = |named: Vec<UserId>| {
            let (db, settings) = (db.clone(), settings.clone());
            async move {
                settings
                    .with_members(&db, server, UserId::new(1), &named)
                    .await
                    .expect("read")
            }
        };
        let (_, caller, named) = read(vec![bea, cy, bea]).await;
        assert!(caller.holds(&seen(1, "Ada"), true));
        assert_eq!(named.len(), 3);
        assert!(named[0].holds(&seen(2, "Bea"), false));
        assert!(named[2].holds(&seen(2, "Bea"), false));
        assert!(!named[1].holds(&seen(3, "Cy"), false), "never seen");
        assert!(!named[0].holds(&seen(2, "Bea Ng"), false), "renamed");

        assert!(
            record_as_read(&db, &seen(2, "Bea Ng"), &named[0], now)
                .await
                .expect("recorded")
        );
        assert_eq!(
            super::super::name(&db, server, bea)
                .await
                .expect("name")
                .as_deref(),
            Some("Bea Ng")
        );
        let (_, _, named) = read(vec![bea]).await;
        assert!(named[0].holds(&seen(2, "Bea Ng"), false));
    }
}
