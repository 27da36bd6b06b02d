//! What nearly every command reads about its server (the role mappings, the schools, how it
//! reads `12/05`, the schools' breaks and focus indicators), kept in the process between
//! commands. One query per command reads the server's settings version, which triggers raise
//! in the same transaction as any change to those rows (migrations 0027 to 0029), so what is
//! kept is used only while it is still what the database holds, whichever process (sharing
//! PostgreSQL) made the change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::{self, SchoolBreak};
use super::indicators::{self, Focus};
use super::members::{self, Recorded, RecordedRow, RoleMapping};
use super::schools::{self, School};
use super::{Db, on_backend, servers};
use crate::domain::dates::DateOrder;
use crate::domain::forget::contact_key;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::roles::Grant;

/// A server's settings as the database held them at one version.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub mappings: Arc<[RoleMapping]>,
    /// By name.
    pub schools: Arc<[School]>,
    pub date_order: DateOrder,
    /// Every school's breaks, by start.
    pub breaks: Arc<[SchoolBreak]>,
    /// Every school's focus indicators (without their levels), by id.
    pub focuses: Arc<[Focus]>,
    /// When the server's own framework was loaded (`None`: it uses the shipped one). Read
    /// afresh with every version check, so `Frameworks::at` needs no query of its own.
    pub framework_loaded_at: Option<DateTime<Utc>>,
}

impl ServerSettings {
    /// The coachbot roles that a member's Discord roles grant (what `members::grants_for`
    /// reads from the database).
    pub fn grants_for(&self, discord_roles: &[u64]) -> Vec<Grant> {
        members::grants_from(&self.mappings, discord_roles)
    }

    /// The break of `school_id` that `date` falls in, if any (the earliest, when breaks
    /// overlap): what `calendar::break_covering` reads from the database.
    pub fn break_covering(&self, school_id: SchoolId, date: NaiveDate) -> Option<&SchoolBreak> {
        self.breaks
            .iter()
            .find(|b| b.school_id == school_id && b.starts_on <= date && date <= b.ends_on)
    }

    /// The school's focus on `indicator_id`, if it has one: what `indicators::find` reads
    /// from the database, but its level.
    pub fn focus(&self, school_id: SchoolId, indicator_id: &str) -> Option<&Focus> {
        self.focuses
            .iter()
            .find(|f| f.school_id == school_id && f.indicator_id == indicator_id)
    }
}

/// Each server's settings this process has read, with the version they were read at.
#[derive(Clone, Default)]
pub struct Settings {
    kept: Arc<Mutex<HashMap<ServerId, (i64, ServerSettings)>>>,
    /// One reload at a time per server: the commands that find the kept settings out of date
    /// together (the first burst after a start, or after an admin's change) wait for one
    /// read of them, rather than each reading them all.
    reloading: Arc<Mutex<HashMap<ServerId, Arc<tokio::sync::Mutex<()>>>>>,
    /// How many times the settings were read in full, for tests.
    reloads: Arc<AtomicU64>,
}

impl Settings {
    fn kept(&self) -> MutexGuard<'_, HashMap<ServerId, (i64, ServerSettings)>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings kept for the server, if they were read at `version`. (Only equal: a
    /// database restored from a backup may go back to an older number.)
    fn kept_at(&self, server_id: ServerId, version: i64) -> Option<ServerSettings> {
        self.kept()
            .get(&server_id)
            .filter(|(kept, _)| *kept == version)
            .map(|(_, settings)| settings.clone())
    }

    fn reload_turn(&self, server_id: ServerId) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(turns.entry(server_id).or_default())
    }

    /// How many times this process has read a server's settings in full.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// The server's settings as the database holds them now: one query when this process
    /// already holds the current version, a fresh read otherwise.
    pub async fn of(&self, db: &Db, server_id: ServerId) -> anyhow::Result<ServerSettings> {
        Ok(self.read(db, server_id, None, &[]).await?.0)
    }

    /// The server's settings, as [`Settings::of`] reads them, and how `user_id` and the
    /// `others` their command names were last recorded there, read in the same statement:
    /// what every command reads of its caller (`others` in their order).
    pub async fn with_members(
        &self,
        db: &Db,
        server_id: ServerId,
        user_id: UserId,
        others: &[UserId],
    ) -> anyhow::Result<(ServerSettings, Recorded, Vec<Recorded>)> {
        self.read(db, server_id, Some(user_id), others).await
    }

    async fn read(
        &self,
        db: &Db,
        server_id: ServerId,
        member: Option<UserId>,
        others: &[UserId],
    ) -> anyhow::Result<(ServerSettings, Recorded, Vec<Recorded>)> {
        let (version, framework_loaded_at, recorded, named) =
            version(db, server_id, member, others).await?;
        let current = |kept: ServerSettings| ServerSettings {
            framework_loaded_at,
            ..kept
        };
        if let Some(kept) = self.kept_at(server_id, version) {
            return Ok((current(kept), recorded, named));
        }
        let turn = self.reload_turn(server_id);
        let _reloading = turn.lock().await;
        // Another command may have read them while this one waited for its turn.
        if let Some(kept) = self.kept_at(server_id, version) {
            return Ok((current(kept), recorded, named));
        }
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let settings = ServerSettings {
            mappings: members::mappings(db, server_id).await?.into(),
            schools: schools::list(db, server_id).await?.into(),
            date_order: servers::date_order(db, server_id).await?,
            breaks: calendar::all_of(db, server_id).await?.into(),
            focuses: indicators::focuses_of(db, server_id).await?.into(),
            framework_loaded_at,
        };
        // A change between the two reads of the version may be half in what was read: it is
        // good for this command (it is at least as new as the first read), but not kept.
        if self::version(db, server_id, None, &[]).await?.0 == version {
            self.kept().insert(server_id, (version, settings.clone()));
        }
        Ok((settings, recorded, named))
    }
}

/// The server's settings version (0 until its settings first change), when its own
/// framework was loaded, and, for a `member` and the `others` a command names, how each was
/// last recorded (the member's first, then the others' in their order): one query.
async fn version(
    db: &Db,
    server_id: ServerId,
    member: Option<UserId>,
    others: &[UserId],
) -> anyhow::Result<(i64, Option<DateTime<Utc>>, Recorded, Vec<Recorded>)> {
    type Row = (
        i64,
        Option<i64>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<String>,
        i64,
        Option<String>,
        Option<SchoolId>,
    );
    let sql = version_sql(others.len());
    let rows: Vec<Row> = on_backend!(db, pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(&*sql))
            .bind(server_id)
            .bind(member)
            .bind(member.map(|user| contact_key(server_id, user)));
        for other in others {
            query = query.bind(*other).bind(contact_key(server_id, *other));
        }
        query.fetch_all(pool).await
    })
    .context("reading the server's settings version")?;
    let (version, loaded_at) = rows
        .iter()
        .find(|row| row.0 == 0)
        .map_or((None, None), |row| (row.1, row.2));
    let mut recorded: Vec<Vec<RecordedRow>> = vec![Vec::new(); others.len() + 1];
    for (who, _, _, name, server, forgotten, role, school) in rows {
        if let Some(rows) = usize::try_from(who)
            .ok()
            .and_then(|who| recorded.get_mut(who))
        {
            rows.push((name, server, forgotten, role, school));
        }
    }
    let mut recorded = recorded.into_iter().map(Recorded::from_rows);
    let member = recorded.next().unwrap_or_default();
    Ok((version.unwrap_or(0), loaded_at, member, recorded.collect()))
}

/// [`version`]'s text for a member and `others` more: one part each, joined by `UNION ALL`,
/// each row marked with whose it is (0 for the member). The member's part also reads the
/// version and the framework's time; the server is `$1`, the member `$2` (their contact key
/// `$3`), and each other the next two. Made once for the usual few.
fn version_sql(others: usize) -> std::borrow::Cow<'static, str> {
    fn make(others: usize) -> String {
        let mut parts = vec![format!(
            "SELECT CAST(0 AS BIGINT),
                    (SELECT version FROM settings_versions WHERE server_id = $1),
                    (SELECT loaded_at FROM frameworks WHERE server_id = $1),
                    {}",
            members::RECORDED_FROM
        )];
        for i in 1..=others {
            let (user, contact) = (2 * i + 2, 2 * i + 3);
            parts.push(format!(
                "SELECT CAST({i} AS BIGINT), NULL, NULL, {}",
                members::recorded_from(&format!("${user}"), &format!("${contact}"))
            ));
        }
        parts.join("\nUNION ALL\n")
    }
    static USUAL: LazyLock<Vec<String>> = LazyLock::new(|| (0..=3).map(make).collect());
    match USUAL.get(others) {
        Some(sql) => std::borrow::Cow::Borrowed(sql.as_str()),
        None => std::borrow::Cow::Owned(make(others)),
    }
}

#[cfg(test)]
mod tests;
