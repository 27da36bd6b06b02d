//! What the benchmarks share: a fresh database on either engine, and medians.

#![allow(dead_code)] // each bench uses its own part

use coachbot::domain::ids::{SchoolId, ServerId};
use std::time::Duration;

use chrono::{DateTime, Utc};
use coachbot::domain::school::{SchoolName, TimeZoneName};
use coachbot::store::Db;
use coachbot::store::schools::{self, SchoolSetup};
use sqlx::Connection as _;

/// The engines a benchmark runs on: SQLite always, PostgreSQL when `BENCH_DATABASE_URL` (or
/// `TEST_DATABASE_URL`) names a server.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    match std::env::var("BENCH_DATABASE_URL").or_else(|_| std::env::var("TEST_DATABASE_URL")) {
        Ok(url) => backends.push(Backend::Postgres(url)),
        Err(_) => println!("(PostgreSQL skipped: set BENCH_DATABASE_URL or TEST_DATABASE_URL)"),
    }
    backends
}

pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A fresh, migrated database, and what to drop when done.
pub struct Fresh {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl Fresh {
    pub async fn open(backend: &Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(Self {
                    db: Db::open(&url).await?,
                    _dir: Some(dir),
                    drop_pg: None,
                })
            }
            Backend::Postgres(admin_url) => {
                let name = format!("coachbot_bench_{}", std::process::id());
                let mut admin = sqlx::PgConnection::connect(admin_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut admin)
                .await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                let (base, query) = admin_url
                    .split_once('?')
                    .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
                let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
                let url = match query {
                    Some(q) => format!("{server}/{name}?{q}"),
                    None => format!("{server}/{name}"),
                };
                Ok(Self {
                    db: Db::open(&url).await?,
                    _dir: None,
                    drop_pg: Some((admin_url.clone(), name)),
                })
            }
        }
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.db.close().await;
        if let Some((admin_url, name)) = self.drop_pg {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
        }
        Ok(())
    }
}

/// Adds a school (in America/Chicago) to the server "Bench District"; returns its id.
pub async fn add_school(
    db: &Db,
    server: ServerId,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<SchoolId> {
    let name = SchoolName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let zone = TimeZoneName::parse("America/Chicago").map_err(|e| anyhow::anyhow!("{e}"))?;
    let (school, _) = schools::save(
        db,
        &SchoolSetup {
            server_id: server,
            server_name: "Bench District",
            name: &name,
            time_zone: zone,
            channel_id: None,
        },
        now,
    )
    .await?;
    Ok(school.id)
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
