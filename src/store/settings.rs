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
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::calendar::Span;
    use crate::domain::ids::UserId;
    use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};
    use crate::domain::roles::Role;
    use crate::domain::school::{SchoolName, TimeZoneName};
    use crate::store::calendar::NewBreak;
    use crate::store::members::NewMapping;
    use crate::store::schools::SchoolSetup;

    fn audit() -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: None,
            via: AuditVia::CommandLine,
            action: AuditAction::RoleMapping,
            scope: "a test mapping".to_owned(),
            subject: None,
            with_answers: false,
            row_count: None,
        }
    }

    /// A fresh SQLite file opened (migrated) by one pool, and a second pool on it: another
    /// process on the same file, through which the tests make their changes.
    async fn two_pools() -> (tempfile::TempDir, Db, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("settings.db").display());
        let db = Db::open(&url).await.expect("open");
        let other = Db::connect(&url).await.expect("second pool");
        (dir, db, other)
    }

    #[tokio::test]
    async fn a_change_made_through_another_pool_is_seen_by_the_next_read() {
        let (_dir, db, other) = two_pools().await;
        let server = ServerId::new(1);
        let settings = Settings::default();
        let now = Utc::now();
        let before = settings.of(&db, server).await.expect("settings");
        assert!(before.schools.is_empty() && before.mappings.is_empty());
        assert_eq!(before.date_order, DateOrder::default());
        assert_eq!(
            settings.of(&db, server).await.expect("kept").schools.len(),
            0
        );

        let name = SchoolName::parse("Lincoln Elementary").expect("name");
        let (school, _) = schools::save(
            &other,
            &SchoolSetup {
                server_id: server,
                server_name: "Server",
                name: &name,
                time_zone: TimeZoneName::parse("America/Chicago").expect("zone"),
                channel_id: None,
            },
            now,
        )
        .await
        .expect("school");
        let team = Grant {
            role: Role::Team,
            school_id: Some(school.id),
        };
        let mapping = NewMapping {
            server_id: server,
            server_name: "Server",
            discord_role_id: 77,
            role: Role::Team,
            school_id: Some(school.id),
            created_by: UserId::new(5),
        };
        assert!(
            members::map_role(&other, &mapping, now, &audit())
                .await
                .expect("mapped")
        );
        servers::set_date_order(&other, server, "Server", DateOrder::DayMonth, now)
            .await
            .expect("order");

        let after = settings.of(&db, server).await.expect("settings");
        assert_eq!(after.schools.len(), 1);
        assert_eq!(after.date_order, DateOrder::DayMonth);
        assert_eq!(after.grants_for(&[77]), vec![team]);
        assert!(after.grants_for(&[78]).is_empty());

        // Taking the mapping away is seen as soon: the role grants nothing any more.
        assert!(
            members::unmap_role(&other, server, 77, team, &audit())
                .await
                .expect("unmapped")
        );
        let removed = settings.of(&db, server).await.expect("settings");
        assert!(
            removed.grants_for(&[77]).is_empty(),
            "a removed mapping grants nothing"
        );
        assert_eq!(removed.schools.len(), 1);

        // A break added, then removed, elsewhere: the next read covers its dates, then not.
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        let winter = calendar::add(
            &other,
            &NewBreak {
                server_id: server,
                school_id: school.id,
                span: Span {
                    from: day(21),
                    to: day(31),
                },
                label: "Winter break",
                created_by: UserId::new(5),
            },
            now,
        )
        .await
        .expect("break");
        let with_break = settings.of(&db, server).await.expect("settings");
        let covering = with_break.break_covering(school.id, day(24));
        assert_eq!(covering.map(|b| b.label.as_str()), Some("Winter break"));
        assert!(with_break.break_covering(school.id, day(20)).is_none());
        calendar::delete(&other, server, winter.id)
            .await
            .expect("deleted");
        let without = settings.of(&db, server).await.expect("settings");
        assert!(without.break_covering(school.id, day(24)).is_none());

        // A focus chosen elsewhere is found by the next read; a level recorded on it changes
        // nothing kept.
        assert!(without.focus(school.id, "1a").is_none());
        let (chosen, new) =
            indicators::focus(&other, server, school.id, "1a", UserId::new(5), now, None)
                .await
                .expect("focused");
        assert!(new);
        let focused = settings.of(&db, server).await.expect("settings");
        let kept = focused.focus(school.id, "1a").expect("the focus is kept");
        assert_eq!((kept.id, kept.indicator_id.as_str()), (chosen.id, "1a"));
        assert!(focused.focus(school.id, "1b").is_none());
        let before_level = version(&db, server, None, &[]).await.expect("version").0;
        indicators::set_level(
            &other,
            &chosen,
            "getting_started",
            None,
            UserId::new(5),
            now,
            None,
        )
        .await
        .expect("level");
        assert_eq!(
            version(&db, server, None, &[]).await.expect("version").0,
            before_level,
            "a level recorded leaves the settings as kept"
        );

        // Another server's settings are its own.
        let elsewhere = settings.of(&db, ServerId::new(2)).await.expect("settings");
        assert!(elsewhere.schools.is_empty() && elsewhere.mappings.is_empty());
        assert!(elsewhere.focus(school.id, "1a").is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_that_find_the_settings_stale_together_wait_for_one_read() {
        let (_dir, db, other) = two_pools().await;
        let server = ServerId::new(1);
        let settings = Settings::default();
        let burst = || {
            futures::future::try_join_all((0..40).map(|_| {
                let (settings, db) = (settings.clone(), db.clone());
                async move { settings.of(&db, server).await }
            }))
        };

        let first = burst().await.expect("settings");
        assert!(first.iter().all(|s| s.schools.is_empty()));
        assert_eq!(settings.reloads(), 1, "the first burst reads them once");
        burst().await.expect("settings");
        assert_eq!(settings.reloads(), 1, "kept: nothing read again");

        let name = SchoolName::parse("Lincoln Elementary").expect("name");
        schools::save(
            &other,
            &SchoolSetup {
                server_id: server,
                server_name: "Server",
                name: &name,
                time_zone: TimeZoneName::parse("America/Chicago").expect("zone"),
                channel_id: None,
            },
            Utc::now(),
        )
        .await
        .expect("school");
        let after = burst().await.expect("settings");
        assert!(
            after.iter().all(|s| s.schools.len() == 1),
            "every command sees the new school"
        );
        assert_eq!(settings.reloads(), 2, "the change is read once");
    }
}
