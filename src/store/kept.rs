//! A connection pool that keeps a few connections out between queries. sqlx's pool tests
//! every connection it is given back with a ping before another query may have it: on SQLite
//! a trip to the connection's thread and back, on PostgreSQL a round trip to the server, for
//! every query run on the pool, doubling what each costs. A query run on a [`KeptPool`] takes
//! one of the connections it keeps (or one from the pool), and puts it back among them
//! without the ping once the query has finished. A connection whose query did not finish
//! (its future dropped midway, or an error) goes back to sqlx's pool, which tests it as
//! before. Transactions (`begin`, `begin_write`) come from sqlx's pool, through `Deref`;
//! a text that opens and ends its own transaction runs on a kept connection through
//! [`KeptPool::whole`], which closes the connection rather than keep it if the text did not
//! run to its end.
//!
//! Queries take their turn for a connection first come, first served, whether a kept one or
//! one of sqlx's is free: were the kept ones free for the taking, the queries that find one
//! would pass the ones already waiting in sqlx's pool for a connection it gets back only when
//! more than `keep` are free, and under fifty commands at once some waited 300 ms behind
//! queries that came later (measured with `cargo bench --bench commands`).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Describe, Either, Execute, Executor, Pool, SqlStr};

/// sqlx's pool, with up to `keep` connections kept between queries (see the module's text).
/// Cloning shares the pool and the connections kept.
#[derive(Debug)]
pub struct KeptPool<DB: Database> {
    pool: Pool<DB>,
    kept: Arc<Kept<DB>>,
}

impl<DB: Database> Clone for KeptPool<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            kept: self.kept.clone(),
        }
    }
}

#[derive(Debug)]
struct Kept<DB: Database> {
    /// None once the pool is closing: a query that ends after that gives its connection
    /// back to sqlx's pool, whose `close` waits for it, rather than keep it here for ever.
    idle: Mutex<Option<Vec<PoolConnection<DB>>>>,
    /// At most this many are kept: fewer than the pool holds, so that transactions always
    /// find connections in sqlx's pool.
    keep: usize,
    /// One turn for each connection the pool may open: a query waits here, in the order it
    /// came, until a connection is free for it (see the module's text).
    turns: Arc<tokio::sync::Semaphore>,
    /// Queries that found no connection kept and wait for one from sqlx's pool: while there
    /// are any, a connection given up goes back there, so it cannot sit kept while they wait.
    in_pool: AtomicUsize,
}

impl<DB: Database> Kept<DB> {
    fn idle(&self) -> MutexGuard<'_, Option<Vec<PoolConnection<DB>>>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<DB: Database> KeptPool<DB> {
    /// Keeps up to `keep` of `pool`'s connections between queries.
    pub fn new(pool: Pool<DB>, keep: usize) -> Self {
        let turns = usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX);
        Self {
            pool,
            kept: Arc::new(Kept {
                idle: Mutex::new(Some(Vec::with_capacity(keep))),
                keep,
                turns: Arc::new(tokio::sync::Semaphore::new(
                    turns.clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
                )),
                in_pool: AtomicUsize::new(0),
            }),
        }
    }

    /// A connection for one query, in its turn: a kept one, or one from the pool.
    async fn connection(&self) -> sqlx::Result<Held<DB>> {
        let turn = self
            .kept
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let kept = self.kept.idle().as_mut().and_then(Vec::pop);
        let conn = match kept {
            Some(conn) => conn,
            None => {
                let _waiting = InPool::count(&self.kept);
                self.pool.acquire().await?
            }
        };
        Ok(Held {
            conn: Some(conn),
            finished: false,
            kept: self.kept.clone(),
            _turn: turn,
        })
    }

    /// A connection for a text that opens and ends its own transaction (`BEGIN …; …;
    /// COMMIT`, sent as one trip): kept again once [`Whole::ran`] says the text ran to its
    /// end. Otherwise (an error, or its future dropped midway) the connection may still be
    /// inside the transaction, so it is closed, which rolls the transaction back, and no other
    /// query ever runs on it.
    pub(crate) async fn whole(&self) -> sqlx::Result<Whole<DB>> {
        Ok(Whole(self.connection().await?))
    }

    /// How many connections are kept idle now.
    pub fn kept_idle(&self) -> usize {
        self.kept.idle().as_ref().map_or(0, Vec::len)
    }

    /// Gives the kept connections back to the pool and closes it (waiting, as sqlx's `close`
    /// does, for connections in use).
    pub async fn close(&self) {
        self.kept.turns.close();
        let kept = self.kept.idle().take();
        drop(kept);
        self.pool.close().await;
    }
}

impl<DB: Database> Deref for KeptPool<DB> {
    type Target = Pool<DB>;

    fn deref(&self) -> &Pool<DB> {
        &self.pool
    }
}

/// A connection taken for one query: kept again when dropped if the query finished. Its
/// turn is given up after that (fields drop after `drop`), so the next query in line finds
/// the connection kept.
struct Held<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    finished: bool,
    kept: Arc<Kept<DB>>,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

impl<DB: Database> Deref for Held<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect("a held connection until dropped")
    }
}

impl<DB: Database> DerefMut for Held<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn.as_mut().expect("a held connection until dropped")
    }
}

impl<DB: Database> Drop for Held<DB> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.finished {
            let mut idle = self.kept.idle();
            if let Some(idle) = idle.as_mut()
                && idle.len() < self.kept.keep
                && self.kept.in_pool.load(Ordering::Acquire) == 0
            {
                idle.push(conn);
                return;
            }
        }
        // Unfinished, enough kept, or a query waits in sqlx's pool: back there, which tests it.
        drop(conn);
    }
}

/// A query counted among those waiting in sqlx's pool, until dropped.
struct InPool<'k> {
    waiting: &'k AtomicUsize,
}

impl<'k> InPool<'k> {
    fn count<DB: Database>(kept: &'k Kept<DB>) -> Self {
        kept.in_pool.fetch_add(1, Ordering::AcqRel);
        Self {
            waiting: &kept.in_pool,
        }
    }
}

impl Drop for InPool<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection for one text that holds a whole transaction (see [`KeptPool::whole`]).
pub(crate) struct Whole<DB: Database>(Held<DB>);

impl<DB: Database> Whole<DB> {
    /// The text ran to its end (its transaction is over): the connection may be kept.
    pub(crate) fn ran(mut self) {
        self.0.finished = true;
    }
}

impl<DB: Database> Deref for Whole<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.0
    }
}

impl<DB: Database> DerefMut for Whole<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.0
    }
}

impl<DB: Database> Drop for Whole<DB> {
    fn drop(&mut self) {
        if !self.0.finished
            && let Some(conn) = self.0.conn.as_mut()
        {
            // Closed rather than tested and reused: it may be inside the transaction.
            conn.close_on_drop();
        }
    }
}

impl<'p, DB: Database> Executor<'p> for &'p KeptPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        // The results are gathered before they are handed on, so the connection is free (and
        // kept) when the first is read: every query here reads a few rows.
        let all = async move {
            let mut conn = self.connection().await?;
            let all: Vec<_> = conn.fetch_many(query).try_collect().await?;
            conn.finished = true;
            Ok::<_, sqlx::Error>(all)
        };
        stream::once(all)
            .map(|all| match all {
                Ok(all) => stream::iter(all.into_iter().map(Ok)).left_stream(),
                Err(error) => stream::iter([Err(error)]).right_stream(),
            })
            .flatten()
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let row = conn.fetch_optional(query).await?;
            conn.finished = true;
            Ok(row)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, sqlx::Error>>
    where
        'p: 'e,
    {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let statement = conn.prepare_with(sql, parameters).await?;
            conn.finished = true;
            Ok(statement)
        })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, sqlx::Error>>
    where
        'p: 'e,
    {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let described = conn.describe(sql).await?;
            conn.finished = true;
            Ok(described)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Db;

    async fn sqlite(dir: &tempfile::TempDir) -> KeptPool<sqlx::Sqlite> {
        let url = format!("sqlite://{}", dir.path().join("kept.db").display());
        match Db::connect(&url).await.expect("the database opens") {
            Db::Sqlite(pool) => pool,
            Db::Postgres(_) => unreachable!("a sqlite: URL"),
        }
    }

    /// A query that ends while the pool is closing gives its connection back to sqlx's
    /// pool, so the close ends: kept, it would have held the close up for ever (a test's
    /// bot, its tasks still querying as it stopped, hung so).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_that_ends_during_close_does_not_hold_it_up() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        let slow = {
            let pool = pool.clone();
            tokio::spawn(async move {
                sqlx::query_scalar::<_, i64>(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)
                     SELECT COUNT(*) FROM n",
                )
                .fetch_one(&pool)
                .await
            })
        };
        // Closed once the query holds its connection (none is kept before it).
        assert_eq!(pool.kept_idle(), 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while pool.size() as usize <= pool.num_idle() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::timeout(Duration::from_secs(20), pool.close())
            .await
            .expect("the pool closes once the query has ended");
        let counted = slow.await.expect("the query's task");
        assert_eq!(counted.expect("the query ran to its end"), 3_000_000);
        assert_eq!(pool.kept_idle(), 0, "nothing kept after the close");
    }

    /// Queries one after another run on one kept connection: the pool opens no other, and
    /// the connection is kept again after each.
    #[tokio::test]
    async fn queries_in_turn_share_one_kept_connection() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        for n in 0..50_i64 {
            let got: i64 = sqlx::query_scalar("SELECT $1 + 1")
                .bind(n)
                .fetch_one(&pool)
                .await
                .expect("the query runs");
            assert_eq!(got, n + 1);
        }
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .expect("the table is made");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t")
            .fetch_all(&pool)
            .await
            .expect("the rows are read");
        assert!(rows.is_empty());
        assert_eq!(pool.size(), 1, "one connection opened for them all");
        assert_eq!(pool.kept_idle(), 1, "and kept");
    }

    /// Never more than `keep` are kept: queries at once take more connections, and those
    /// beyond it go back to sqlx's pool, where a transaction finds them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_keep_are_kept_and_transactions_find_the_rest() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        let mut queries = Vec::new();
        for _ in 0..16 {
            let pool = pool.clone();
            queries.push(tokio::spawn(async move {
                sqlx::query_scalar::<_, i64>(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
                     SELECT COUNT(*) FROM c",
                )
                .fetch_one(&pool)
                .await
            }));
        }
        for query in queries {
            let n = query.await.expect("no panic").expect("the query runs");
            assert_eq!(n, 20_000);
        }
        assert!(pool.kept_idle() <= crate::store::KEPT);
        let mut tx = pool
            .begin()
            .await
            .expect("a transaction finds a connection");
        sqlx::query("SELECT 1")
            .execute(&mut *tx)
            .await
            .expect("it runs");
        tx.commit().await.expect("it commits");
    }

    /// A query that counts to `to` in SQLite, taking a time that grows with it.
    fn counting(pool: &KeptPool<sqlx::Sqlite>, to: i64) -> tokio::task::JoinHandle<i64> {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query_scalar::<_, i64>(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $1)
                 SELECT COUNT(*) FROM c",
            )
            .bind(to)
            .fetch_one(&pool)
            .await
            .expect("the query runs")
        })
    }

    /// Queries get a connection in the order they asked for one: a query that finds a
    /// connection kept does not pass one that has been waiting in sqlx's pool. (Before, the
    /// waiter got a connection only once more than `keep` were free, and a burst of commands
    /// saw some of its queries wait hundreds of milliseconds behind later ones.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_later_query_does_not_pass_one_waiting_for_a_connection() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("fair.db").display());
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .expect("a SQLite URL")
            .create_if_missing(true);
        let two = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("the database opens");
        let pool = KeptPool::new(two, 1);
        let base = 400_000;
        // Both connections busy, the second for far longer than the first.
        let first = counting(&pool, base);
        let long = counting(&pool, base * 8);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while (pool.size() < 2 || pool.num_idle() > 0) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let finish = |name: &'static str, query: tokio::task::JoinHandle<i64>| {
            let order = order.clone();
            tokio::spawn(async move {
                query.await.expect("no panic");
                order.lock().expect("not poisoned").push(name);
            })
        };
        // Asks while both are busy: it waits.
        let waiting = finish("waiting", counting(&pool, base / 4));
        assert_eq!(first.await.expect("no panic"), base);
        // Asks once the first connection is free again, while the long query holds the other.
        let later = finish("later", counting(&pool, base / 4));
        waiting.await.expect("no panic");
        later.await.expect("no panic");
        assert!(
            !long.is_finished(),
            "the long query outlasts the test's point"
        );
        assert_eq!(
            *order.lock().expect("not poisoned"),
            ["waiting", "later"],
            "the query that asked first got the free connection first"
        );
        long.abort();
    }

    /// A query that fails, or whose future is dropped before it finished, does not leave its
    /// connection among those kept: it goes back to sqlx's pool, which tests it.
    #[tokio::test]
    async fn an_unfinished_or_failed_query_is_not_kept() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        let failed = sqlx::query("SELECT * FROM no_such_table")
            .execute(&pool)
            .await;
        assert!(failed.is_err());
        assert_eq!(
            pool.kept_idle(),
            0,
            "a failed query's connection is not kept"
        );
        let slow = sqlx::query_scalar::<_, i64>(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000)
             SELECT COUNT(*) FROM c",
        )
        .fetch_one(&pool);
        let cut = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(cut.is_err(), "the slow query was cut short");
        assert_eq!(pool.kept_idle(), 0, "a cut query's connection is not kept");
        // The pool still answers.
        let n: i64 = sqlx::query_scalar("SELECT 2")
            .fetch_one(&pool)
            .await
            .expect("the pool answers");
        assert_eq!(n, 2);
        assert_eq!(pool.kept_idle(), 1);
    }

    /// A text holding a whole transaction that fails midway leaves nothing written, and its
    /// connection, which may still be inside the transaction, is closed: the next queries run
    /// outside it, and another writer is not locked out.
    #[tokio::test]
    async fn a_whole_transaction_that_fails_midway_leaves_nothing() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)")
            .execute(&pool)
            .await
            .expect("the table is made");
        let text =
            "BEGIN IMMEDIATE; INSERT INTO t (n) VALUES ($1); INSERT INTO t (n) VALUES ($2); COMMIT";
        let mut whole = pool.whole().await.expect("a connection");
        let failed = sqlx::query(text)
            .bind(1_i64)
            .bind(1_i64)
            .execute(&mut *whole)
            .await;
        assert!(failed.is_err(), "the second insert breaks the unique rule");
        drop(whole);
        assert_eq!(pool.kept_idle(), 0, "its connection is not kept");
        let mut whole = pool.whole().await.expect("a connection");
        sqlx::query(text)
            .bind(2_i64)
            .bind(3_i64)
            .execute(&mut *whole)
            .await
            .expect("a whole transaction runs");
        whole.ran();
        assert_eq!(pool.kept_idle(), 1, "a finished one's connection is kept");
        // Seen from another connection: only the finished transaction's rows.
        let mut other = pool.begin().await.expect("a transaction");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut *other)
            .await
            .expect("the rows are read");
        assert_eq!(rows, [2, 3]);
        sqlx::query("INSERT INTO t (n) VALUES (4)")
            .execute(&mut *other)
            .await
            .expect("nobody else holds the write lock");
        other.commit().await.expect("it commits");
    }

    /// Closing gives the kept connections back and closes the pool without waiting on them.
    #[tokio::test]
    async fn closing_gives_the_kept_connections_back() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pool = sqlite(&dir).await;
        sqlx::query("SELECT 1")
            .execute(&pool)
            .await
            .expect("the query runs");
        assert_eq!(pool.kept_idle(), 1);
        tokio::time::timeout(Duration::from_secs(10), pool.close())
            .await
            .expect("the pool closes without waiting on a kept connection");
        assert!(pool.is_closed());
        assert_eq!(pool.kept_idle(), 0);
    }
}
