//! Storage on sqlx: SQLite (the embedded default) or PostgreSQL (for several bot processes),
//! chosen by the URL's scheme. The only place SQL lives. Queries are written once with `$n`
//! placeholders, which both engines accept, and compiled for each backend by [`on_backend!`].

pub mod assessments;
pub mod audit;
pub mod away;
pub mod barriers;
pub mod calendar;
pub mod checkins;
pub mod coaching;
pub mod cycle;
pub mod digest_rhythm;
pub mod digests;
pub mod export;
pub mod feed;
pub mod forget;
pub mod frameworks;
pub mod gauges;
pub mod goals;
pub mod holdings;
pub mod indicators;
mod kept;
pub mod member_list;
pub mod members;
pub mod next_steps;
pub mod outbox;
pub mod person_lock;
pub mod purge;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod schedules;
pub mod schools;
pub mod send_budget;
pub mod servers;
pub mod settings;
pub mod snoozes;
pub mod steps;
pub mod summaries;
#[cfg(test)]
mod testing;
mod write;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
pub use kept::KeptPool;
pub(crate) use write::{BeginWrite, together};

/// A connection pool to one of the two engines (sqlx's, keeping a few connections between
/// queries: see [`KeptPool`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(KeptPool<sqlx::Sqlite>),
    Postgres(KeptPool<sqlx::Postgres>),
}

/// Connections in each pool, and how many of them a [`KeptPool`] keeps between queries: the
/// rest stay in sqlx's pool for transactions.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 10;
pub(crate) const KEPT: usize = 4;

/// Which engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Reads an enum stored as TEXT, on both engines: the column decodes as a string, then
/// through the type's `parse`; a word the program does not know is a decode error, never a
/// silent default.
macro_rules! text_enum {
    ($ty:ty) => {
        $crate::store::text_enum!($ty, |raw: &str| <$ty>::parse(raw));
    };
    ($ty:ty, $parse:expr) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let raw = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                let parse = $parse;
                parse(raw.as_str())
                    .ok_or_else(|| format!("`{raw}` is not a known {}", stringify!($ty)).into())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(crate::domain::checkin::SessionStatus);
text_enum!(crate::domain::coaching::SessionKind);
text_enum!(crate::domain::cycle::Stage);
text_enum!(crate::domain::plan::StepStatus);
text_enum!(crate::domain::plan::BarrierNoteKind);
text_enum!(crate::domain::school::TimeZoneName, |raw: &str| {
    crate::domain::school::TimeZoneName::from_stored(raw)
});

/// Stores an id type as a BIGINT on both engines. Discord's ids are below 2^63, so an unsigned
/// snowflake fits a signed column unchanged (`cast_signed` and back).
macro_rules! id_column {
    ($ty:ty, $to_db:expr, $from_db:expr) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                let to_db = $to_db;
                <i64 as sqlx::Encode<'q, DB>>::encode(to_db(*self), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let from_db = $from_db;
                Ok(from_db(<i64 as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }
    };
}

id_column!(ServerId, |id: ServerId| db_id(id.get()), |raw: i64| {
    ServerId::new(discord_id(raw))
});
id_column!(
    UserId,
    |id: UserId| db_id(id.get()),
    |raw: i64| UserId::new(discord_id(raw))
);
id_column!(SchoolId, SchoolId::get, SchoolId::new);
id_column!(StepId, StepId::get, StepId::new);
id_column!(
    crate::domain::ids::CoachingSessionId,
    crate::domain::ids::CoachingSessionId::get,
    crate::domain::ids::CoachingSessionId::new
);

/// Runs `$body` with `$pool` bound to the concrete pool, so one query text serves both engines.
macro_rules! on_backend {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// The memory SQLite holds in this process, in bytes: every connection's page cache and
/// prepared statements. Zero when no SQLite database was opened.
pub fn sqlite_memory() -> u64 {
    // SAFETY: `sqlite3_memory_used` takes no arguments and only reads SQLite's own counter,
    // which SQLite keeps thread-safe; it is callable before or without any connection.
    let used = unsafe { libsqlite3_sys::sqlite3_memory_used() };
    u64::try_from(used).unwrap_or(0)
}

/// Discord ids are below 2^63, so they fit a signed 64-bit column unchanged.
pub fn db_id(id: u64) -> i64 {
    id.cast_signed()
}

/// The Discord id stored in a signed column.
pub fn discord_id(stored: i64) -> u64 {
    stored.cast_unsigned()
}

impl Db {
    /// Connects (creating a SQLite file if needed) without migrating.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("DATABASE_URL `{url}` is not a SQLite URL"))?;
            owner_only_database(url, options.get_filename())?;
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // Each query would otherwise cost a ping first; a broken connection fails its query,
            // which the caller retries like any other failure.
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLITE_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .with_context(|| format!("opening the SQLite database {url}"))?;
            Ok(Self::Sqlite(KeptPool::new(pool, KEPT)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to PostgreSQL (check DATABASE_URL)")?;
            Ok(Self::Postgres(KeptPool::new(pool, KEPT)))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:")
        }
    }

    /// Connects and applies every pending migration.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let db = Self::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations in `migrations/<backend>/`.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(&**pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(&**pool).await,
        }
        .context("applying database migrations")
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn close(&self) {
        on_backend!(self, pool => pool.close().await)
    }
}

/// Makes the SQLite database file owner-only (0600) before SQLite opens it: a new file is
/// created so (SQLite gives its `-wal` and `-shm` the database file's mode), and an existing
/// one that group or others could read is narrowed, with a warning. In-memory databases have
/// no file.
fn owner_only_database(url: &str, path: &std::path::Path) -> anyhow::Result<()> {
    if url.contains(":memory:")
        || url.contains("mode=memory")
        || path.to_string_lossy().starts_with("file:")
    {
        return Ok(());
    }
    crate::owner_only::create_if_missing(path)
        .with_context(|| format!("creating the SQLite database {}", path.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        if let Some(was) = crate::owner_only::tighten(&file)
            .with_context(|| format!("making {} owner-only", file.display()))?
        {
            tracing::warn!(
                file = %file.display(),
                "{} was readable by other users (mode {was:o}): it is owner-only (600) now",
                file.display()
            );
        }
    }
    Ok(())
}
