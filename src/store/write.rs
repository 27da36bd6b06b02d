//! Write transactions. SQLite has one writer: a transaction that will write takes the write
//! lock up front (`BEGIN IMMEDIATE`), because a deferred `BEGIN` that reads and then writes
//! fails with SQLITE_BUSY under concurrency, whatever the busy timeout. Writers also queue for
//! their turn here, in the process, in the order they asked: left to SQLite, each waiting writer
//! sleeps in its busy handler (1, 2, 5, 10 … 100 ms at a time) and wakes long after the lock
//! came free, so fifty commands at once spend most of their time asleep. PostgreSQL locks rows,
//! not the database, and needs no queue.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Database, Postgres, Sqlite, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a writer waits for its turn: SQLite's own busy timeout (see `Db::connect`).
const TURN_WAIT: Duration = Duration::from_secs(10);

/// A transaction that writes; on SQLite it holds the database's write turn until it commits,
/// rolls back or is dropped. Queries run on `&mut *tx`, as on a plain transaction.
pub(crate) struct WriteTx<DB: Database> {
    tx: Transaction<'static, DB>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> WriteTx<DB> {
    pub(crate) async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    pub(crate) async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl<DB: Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}

/// The database's write turn, held until dropped (nothing to hold on PostgreSQL).
pub(crate) struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
}

/// Starts a transaction that will write (see the module's text).
pub(crate) trait BeginWrite {
    type Database: Database;
    fn begin_write(&self) -> impl Future<Output = sqlx::Result<WriteTx<Self::Database>>> + Send;

    /// The write turn alone, for one statement that writes on its own (run on the pool while
    /// the turn is held): a single statement is atomic by itself, and on SQLite it then
    /// costs one trip to the connection's thread rather than three (BEGIN, it, COMMIT).
    fn write_turn(&self) -> impl Future<Output = sqlx::Result<Turn>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = Sqlite;
    async fn begin_write(&self) -> sqlx::Result<WriteTx<Sqlite>> {
        let turn = self.write_turn().await?;
        Ok(WriteTx {
            tx: self.begin_with("BEGIN IMMEDIATE").await?,
            _turn: turn._permit,
        })
    }

    async fn write_turn(&self) -> sqlx::Result<Turn> {
        let turn = tokio::time::timeout(TURN_WAIT, turns_of(self).acquire_owned())
            .await
            .map_err(|_| {
                sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("waited {} s for SQLite's write lock", TURN_WAIT.as_secs()),
                ))
            })?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        Ok(Turn {
            _permit: Some(turn),
        })
    }
}

impl BeginWrite for PgPool {
    type Database = Postgres;
    async fn begin_write(&self) -> sqlx::Result<WriteTx<Postgres>> {
        Ok(WriteTx {
            tx: self.begin().await?,
            _turn: None,
        })
    }

    async fn write_turn(&self) -> sqlx::Result<Turn> {
        Ok(Turn { _permit: None })
    }
}

/// Statements that write together, made into one text to send as one: on SQLite the
/// statements separated by `;` (its connection's thread runs them in turn, one trip there and
/// back instead of one each), on PostgreSQL one statement whose first parts are data-modifying
/// `WITH` clauses (one round trip). Their `$n` placeholders number one list of arguments, and
/// none of them may return rows. On PostgreSQL the parts see the database as it was before
/// the statement: none may read what another part writes.
pub(crate) fn together(backend: super::Backend, statements: &[&str]) -> String {
    match (backend, statements) {
        (_, [one]) => (*one).to_owned(),
        (super::Backend::Sqlite, _) => statements.join(";\n"),
        (super::Backend::Postgres, [parts @ .., last]) => {
            let parts: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, part)| format!("part_{i} AS ({part})"))
                .collect();
            format!("WITH {}\n{last}", parts.join(",\n"))
        }
        (super::Backend::Postgres, []) => String::new(),
    }
}

/// The write turn of the database file `pool` opens: one per file in this process, however
/// many pools open it.
fn turns_of(pool: &SqlitePool) -> Arc<Semaphore> {
    static TURNS: PerFile<Semaphore> = PerFile::new();
    TURNS.of(pool, || Semaphore::new(1))
}

/// What this process keeps for each SQLite database file beside its write turn (what is
/// known, or waits, under that turn): one per file, however many pools open it.
pub(crate) struct PerFile<T>(LazyLock<Mutex<HashMap<PathBuf, Arc<T>>>>);

impl<T> PerFile<T> {
    pub(crate) const fn new() -> Self {
        Self(LazyLock::new(Mutex::default))
    }

    /// The value for the file `pool` opens, made by `make` the first time.
    pub(crate) fn of(&self, pool: &SqlitePool, make: impl FnOnce() -> T) -> Arc<T> {
        let file = pool.connect_options().get_filename().to_path_buf();
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(file)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    async fn sqlite(url: &str) -> SqlitePool {
        match Db::connect(url).await.expect("the database opens") {
            Db::Sqlite(pool) => (*pool).clone(),
            Db::Postgres(_) => unreachable!("a sqlite: URL"),
        }
    }

    /// Two pools on one file (two parts of a process, say) share one write turn; a hundred
    /// writers at once, each reading then writing, all commit: none meets SQLITE_BUSY, none is
    /// lost, and the counter they share counts every one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_on_one_file_take_turns_and_all_commit() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("turns.db").display());
        let (a, b) = (sqlite(&url).await, sqlite(&url).await);
        assert!(
            Arc::ptr_eq(&turns_of(&a), &turns_of(&b)),
            "one turn per file"
        );
        let other = format!("sqlite://{}", dir.path().join("other.db").display());
        assert!(
            !Arc::ptr_eq(&turns_of(&a), &turns_of(&sqlite(&other).await)),
            "another file has its own turn"
        );
        sqlx::raw_sql("CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);")
            .execute(&a)
            .await
            .expect("the table is made");
        let mut writers = Vec::new();
        for i in 0..100 {
            let pool = if i % 2 == 0 { a.clone() } else { b.clone() };
            writers.push(tokio::spawn(async move {
                let mut tx = pool.begin_write().await?;
                let n: i64 = sqlx::query_scalar("SELECT n FROM counter")
                    .fetch_one(&mut *tx)
                    .await?;
                tokio::task::yield_now().await;
                sqlx::query("UPDATE counter SET n = $1")
                    .bind(n + 1)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }));
        }
        for writer in writers {
            writer
                .await
                .expect("a writer panicked")
                .expect("every writer commits");
        }
        let n: i64 = sqlx::query_scalar("SELECT n FROM counter")
            .fetch_one(&b)
            .await
            .expect("the counter reads");
        assert_eq!(n, 100);
    }

    /// One statement stays as it is; several are joined by `;` for SQLite and become `WITH`
    /// parts of the last for PostgreSQL.
    #[test]
    fn statements_are_put_together_for_each_engine() {
        use crate::store::Backend;
        let one = ["INSERT INTO a VALUES ($1)"];
        assert_eq!(together(Backend::Sqlite, &one), one[0]);
        assert_eq!(together(Backend::Postgres, &one), one[0]);
        let three = [
            "INSERT INTO a VALUES ($1)",
            "INSERT INTO b VALUES ($1, $2)",
            "INSERT INTO c VALUES ($3)",
        ];
        assert_eq!(
            together(Backend::Sqlite, &three),
            "INSERT INTO a VALUES ($1);\nINSERT INTO b VALUES ($1, $2);\nINSERT INTO c VALUES ($3)"
        );
        assert_eq!(
            together(Backend::Postgres, &three),
            "WITH part_0 AS (INSERT INTO a VALUES ($1)),\npart_1 AS (INSERT INTO b VALUES ($1, $2))\n\
             INSERT INTO c VALUES ($3)"
        );
    }

    /// A writer that rolls back, or is dropped mid-way, gives the turn back.
    #[tokio::test]
    async fn a_rolled_back_or_dropped_writer_frees_the_turn() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("free.db").display());
        let pool = sqlite(&url).await;
        let tx = pool.begin_write().await.expect("first turn");
        tx.rollback().await.expect("rolled back");
        let tx = pool.begin_write().await.expect("second turn");
        drop(tx);
        let tx = tokio::time::timeout(Duration::from_secs(5), pool.begin_write())
            .await
            .expect("the turn came back after a drop")
            .expect("third turn");
        tx.commit().await.expect("committed");
    }
}
