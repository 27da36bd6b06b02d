//! A server's own framework file (validated before it is stored), and the parsed frameworks a
//! process keeps: parsing a large file on every command and autocomplete keystroke is slow,
//! so each server's is parsed once and reused until the stored one changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::servers::ensure_server;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::framework::Framework;
use crate::domain::ids::{ServerId, UserId};

mod uses;

pub use uses::{IndicatorUse, Use};

/// A framework file an admin loads.
pub struct NewFramework<'a> {
    pub server_id: ServerId,
    pub server_name: &'a str,
    /// The file as attached, already parsed into `parsed`.
    pub source: &'a str,
    pub parsed: &'a Framework,
    pub loaded_by: UserId,
}

/// What loading a framework did.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Saved,
    /// Nothing was saved: the new framework drops indicators that these records use.
    InUse(Vec<IndicatorUse>),
}

/// Stores (or replaces) the server's framework, unless it drops an indicator that the
/// server's focus indicators or assessment results use: that is checked in the same transaction, with new
/// uses held back until it ends, so none slips in between the check and the save.
pub async fn save(db: &Db, new: &NewFramework<'_>, now: DateTime<Utc>) -> anyhow::Result<Loaded> {
    let postgres = matches!(db, Db::Postgres(_));
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if postgres {
            // SQLite's BEGIN IMMEDIATE already keeps other writers out until the commit.
            for table in uses::TABLES {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("LOCK TABLE {table} IN SHARE MODE")))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let focuses = sqlx::query_as(uses::FOCUSES)
            .bind(new.server_id)
            .fetch_all(&mut *tx)
            .await?;
        let assessments = sqlx::query_as(uses::ASSESSMENTS)
            .bind(new.server_id)
            .fetch_all(&mut *tx)
            .await?;
        let in_use = uses::missing_from(new.parsed, focuses, assessments);
        if !in_use.is_empty() {
            return Ok(Loaded::InUse(in_use));
        }
        ensure_server!(&mut *tx, new.server_id, new.server_name.to_owned(), now).await?;
        // Every load gets a later `loaded_at` than the one before, even on a clock that
        // stands still (the sandbox's): it is what tells processes to parse again.
        let before: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT loaded_at FROM frameworks WHERE server_id = $1")
                .bind(new.server_id)
                .fetch_optional(&mut *tx)
                .await?;
        // PostgreSQL keeps microseconds: compare at that precision.
        let now = chrono::SubsecRound::trunc_subsecs(now, 6);
        let at = match before {
            Some(before) if before >= now => before + chrono::Duration::milliseconds(1),
            _ => now,
        };
        sqlx::query(
            "INSERT INTO frameworks (server_id, source, loaded_by, loaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (server_id) DO UPDATE
             SET source = excluded.source, loaded_by = excluded.loaded_by, loaded_at = excluded.loaded_at",
        )
        .bind(new.server_id)
        .bind(new.source.to_owned())
        .bind(new.loaded_by)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, anyhow::Error>(Loaded::Saved)
    })
    .context("saving the server's framework")
}

/// The server's framework source, if it loaded one.
pub async fn source(db: &Db, server_id: ServerId) -> anyhow::Result<Option<String>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT source FROM frameworks WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading the server's framework")
}

/// The framework the server works with: its own if an admin loaded one, else the default.
pub async fn effective(
    db: &Db,
    server_id: ServerId,
    frameworks: &Frameworks,
) -> anyhow::Result<Arc<Framework>> {
    frameworks.of(db, server_id).await
}

/// The frameworks a process works with: the shipped default, and each server's own, parsed
/// once and kept while its `loaded_at` stays the same. One cheap query per use tells whether
/// it changed, so a reload by another process (they share PostgreSQL) is seen at once.
#[derive(Clone)]
pub struct Frameworks {
    default: Arc<Framework>,
    parsed: Arc<Mutex<HashMap<ServerId, Parsed>>>,
}

struct Parsed {
    loaded_at: DateTime<Utc>,
    framework: Arc<Framework>,
}

impl Frameworks {
    pub fn new(default: Framework) -> Self {
        Self {
            default: Arc::new(default),
            parsed: Arc::default(),
        }
    }

    /// The framework servers use until they load their own.
    pub fn default_framework(&self) -> &Arc<Framework> {
        &self.default
    }

    /// The server's framework: its own if an admin loaded one, else the default.
    pub async fn of(&self, db: &Db, server_id: ServerId) -> anyhow::Result<Arc<Framework>> {
        let loaded_at: Option<DateTime<Utc>> = on_backend!(db, pool => {
            sqlx::query_scalar("SELECT loaded_at FROM frameworks WHERE server_id = $1")
                .bind(server_id)
                .fetch_optional(pool)
                .await
        })
        .context("reading when the server's framework was loaded")?;
        self.at(db, server_id, loaded_at).await
    }

    /// The server's framework, given when its own was loaded (`None`: it has none), as the
    /// server's settings read it (`ServerSettings::framework_loaded_at`): no query while the
    /// parsed one kept here is that one.
    pub async fn at(
        &self,
        db: &Db,
        server_id: ServerId,
        loaded_at: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Arc<Framework>> {
        let Some(loaded_at) = loaded_at else {
            self.cache().remove(&server_id);
            return Ok(self.default.clone());
        };
        if let Some(kept) = self.cache().get(&server_id)
            && kept.loaded_at == loaded_at
        {
            return Ok(kept.framework.clone());
        }
        let row: Option<(String, DateTime<Utc>)> = on_backend!(db, pool => {
            sqlx::query_as("SELECT source, loaded_at FROM frameworks WHERE server_id = $1")
                .bind(server_id)
                .fetch_optional(pool)
                .await
        })
        .context("reading the server's framework")?;
        let Some((source, loaded_at)) = row else {
            self.cache().remove(&server_id);
            return Ok(self.default.clone());
        };
        let framework =
            Arc::new(Framework::parse_stored(&source).map_err(|e| {
                anyhow::anyhow!("the server's stored framework no longer parses: {e}")
            })?);
        self.cache().insert(
            server_id,
            Parsed {
                loaded_at,
                framework: framework.clone(),
            },
        );
        Ok(framework)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<ServerId, Parsed>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}
