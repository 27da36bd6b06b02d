//! Schools: name, IANA time zone, announcement channel.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::servers::ensure_server;
use super::{BeginWrite as _, Db, db_id, on_backend};
use crate::domain::ids::{SchoolId, ServerId};
use crate::domain::school::{SchoolName, TimeZoneName, folded_name, name_order_key};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct School {
    pub id: SchoolId,
    pub server_id: ServerId,
    pub name: String,
    /// A stored zone that no longer parses fails the read (and is logged), never a silent UTC.
    pub time_zone: TimeZoneName,
    pub channel_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl School {
    /// The school's time zone.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.tz()
    }
}

/// What `/setup school` asks for.
#[derive(Clone, Debug)]
pub struct SchoolSetup<'a> {
    pub server_id: ServerId,
    pub server_name: &'a str,
    pub name: &'a SchoolName,
    pub time_zone: TimeZoneName,
    pub channel_id: Option<u64>,
}

/// Whether `save` added a school or changed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    Added,
    Updated,
}

/// Adds the school, or sets the time zone and channel of the one with that name: [`change`]
/// with every part given.
pub async fn save(
    db: &Db,
    setup: &SchoolSetup<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<(School, Saved)> {
    let change_all = SchoolChange {
        server_id: setup.server_id,
        server_name: setup.server_name,
        name: setup.name,
        time_zone: Some(setup.time_zone),
        channel: setup
            .channel_id
            .map_or(ChannelChange::Clear, ChannelChange::Set),
    };
    match change(db, &change_all, now).await? {
        Changed::Saved(school, saved) => Ok((school, saved)),
        Changed::NameDiffersInCase { existing } => anyhow::bail!(
            "saving the school {:?}: {existing:?} differs from it only in letter case",
            setup.name.as_str()
        ),
        Changed::NeedsTimeZone => anyhow::bail!("saving a school without a time zone"),
    }
}

/// What `/setup school` changes: only what was given.
#[derive(Clone, Debug)]
pub struct SchoolChange<'a> {
    pub server_id: ServerId,
    pub server_name: &'a str,
    pub name: &'a SchoolName,
    /// None keeps the school's zone (a new school needs one).
    pub time_zone: Option<TimeZoneName>,
    pub channel: ChannelChange,
}

/// What becomes of a school's announcement channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelChange {
    Keep,
    Set(u64),
    Clear,
}

/// What [`change`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    Saved(School, Saved),
    /// Another school's name differs from the one given only in letter case: nothing written.
    NameDiffersInCase {
        existing: String,
    },
    /// No school has that name and no time zone was given: nothing written.
    NeedsTimeZone,
}

/// Adds the school, or changes only the given parts of the one with that exact name, in one
/// transaction. A name equal to another school's but for letter case is refused.
pub async fn change(
    db: &Db,
    setup: &SchoolChange<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Changed> {
    let server = setup.server_id;
    let name = setup.name.as_str().to_owned();
    let zone = setup.time_zone.map(TimeZoneName::name);
    let (keep_channel, channel) = match setup.channel {
        ChannelChange::Keep => (true, None),
        ChannelChange::Set(id) => (false, Some(db_id(id))),
        ChannelChange::Clear => (false, None),
    };
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // Letter case is compared here, not by SQL's `LOWER`, which folds only ASCII on
        // SQLite: "École" and "ÉCOLE" are one name on both engines. A server has a few
        // schools, not thousands.
        let folded = name.to_lowercase();
        let same: Vec<(i64, String)> = sqlx::query_as::<_, (i64, String)>(
            "SELECT id, name FROM schools WHERE server_id = $1 ORDER BY id",
        )
        .bind(server)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .filter(|(_, n)| n.to_lowercase() == folded)
        .collect();
        let exact = same.iter().find(|(_, n)| *n == name).map(|(id, _)| *id);
        let saved = match (exact, same.first(), zone) {
            (Some(id), _, _) => {
                sqlx::query(
                    "UPDATE schools SET time_zone = COALESCE($1, time_zone),
                        channel_id = CASE WHEN $2 THEN channel_id ELSE $3 END, updated_at = $4
                     WHERE id = $5",
                )
                .bind(zone)
                .bind(keep_channel)
                .bind(channel)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                (id, Saved::Updated)
            }
            (None, Some((_, existing)), _) => {
                return Ok(Changed::NameDiffersInCase { existing: existing.clone() });
            }
            (None, None, None) => return Ok(Changed::NeedsTimeZone),
            (None, None, Some(zone)) => {
                ensure_server!(&mut *tx, server, setup.server_name.to_owned(), now).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO schools (server_id, name, time_zone, channel_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(server)
                .bind(name.clone())
                .bind(zone)
                .bind(channel)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                (id, Saved::Added)
            }
        };
        let school: School = sqlx::query_as(
            "SELECT id, server_id, name, time_zone, channel_id, created_at, updated_at
             FROM schools WHERE id = $1",
        )
        .bind(saved.0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Changed::Saved(school, saved.1))
    })
    .context("saving the school")
}

/// The server's schools, by name ([`by_name`]).
pub async fn list(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<School>> {
    let schools = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, server_id, name, time_zone, channel_id, created_at, updated_at
             FROM schools WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("listing schools")?;
    Ok(by_name(schools))
}

/// Schools in the order people read their names ([`name_order_key`]), the same on both
/// engines whatever their collation.
pub fn by_name(mut schools: Vec<School>) -> Vec<School> {
    schools.sort_by_cached_key(|school| name_order_key(&school.name));
    schools
}

/// The school a person named in the server: see [`named`].
pub async fn find_by_name(
    db: &Db,
    server_id: ServerId,
    name: &str,
) -> anyhow::Result<Option<School>> {
    let schools = list(db, server_id).await.context("looking up a school")?;
    Ok(named(&schools, name).cloned())
}

/// The school called `name`: the exact name (what autocomplete fills in), else the one whose
/// name differs from it only in letter case, any letters (typed by hand: "lincoln
/// elementary", "ÉCOLE NORD"). Names are compared here rather than by SQL's `LOWER`, which
/// folds only ASCII on SQLite.
pub fn named<'a>(schools: &'a [School], name: &str) -> Option<&'a School> {
    let folded = name.to_lowercase();
    let mut by_case = schools.iter().filter(|s| s.name.to_lowercase() == folded);
    schools
        .iter()
        .find(|s| s.name == name)
        .or_else(|| by_case.next().filter(|_| by_case.next().is_none()))
}

/// Names of the server's schools containing `typed`, letter case and accents set aside
/// ("ecole" offers "École Nord"), for autocomplete, in reading order.
pub async fn names_matching(
    db: &Db,
    server_id: ServerId,
    typed: &str,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let typed = folded_name(typed.trim());
    let names: Vec<String> = on_backend!(db, pool => {
        sqlx::query_scalar("SELECT name FROM schools WHERE server_id = $1")
            .bind(server_id)
            .fetch_all(pool)
            .await
    })
    .context("listing school names")?;
    let mut matching: Vec<(String, String)> = names
        .iter()
        .map(|name| name_order_key(name))
        .filter(|(folded, _)| folded.contains(&typed))
        .collect();
    matching.sort();
    Ok(matching
        .into_iter()
        .take(limit)
        .map(|(_, name)| name)
        .collect())
}

/// The school with this id in this server (never another server's).
pub async fn get(db: &Db, server_id: ServerId, id: SchoolId) -> anyhow::Result<Option<School>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, server_id, name, time_zone, channel_id, created_at, updated_at
             FROM schools WHERE server_id = $1 AND id = $2",
        )
        .bind(server_id)
        .bind(id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up a school")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(id: i64, name: &str) -> School {
        School {
            id: SchoolId::new(id),
            server_id: ServerId::new(1),
            name: name.to_owned(),
            time_zone: TimeZoneName::parse("America/Chicago").expect("zone"),
            channel_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_school_is_named_exactly_or_in_other_capitals_of_any_letters() {
        let schools = [school(1, "Lincoln Elementary"), school(2, "École Nord")];
        let id = |name: &str| named(&schools, name).map(|s| s.id.get());
        assert_eq!(id("Lincoln Elementary"), Some(1));
        assert_eq!(id("lincoln ELEMENTARY"), Some(1));
        assert_eq!(id("ÉCOLE NORD"), Some(2));
        assert_eq!(id("école nord"), Some(2));
        assert_eq!(id("Ecole Nord"), None, "an accent is a letter, not a case");
        assert_eq!(id("Lincoln"), None);

        // Two names that differ only in case (kept from before they were refused): the exact
        // one is found, and a third spelling names neither.
        let both = [school(1, "Adams High"), school(2, "ADAMS HIGH")];
        let id = |name: &str| named(&both, name).map(|s| s.id.get());
        assert_eq!(id("ADAMS HIGH"), Some(2));
        assert_eq!(id("Adams High"), Some(1));
        assert_eq!(id("adams high"), None);
    }
}
