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

use std::ops::{Deref, DerefMut};
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
        Self {
            pool,
            kept: Arc::new(Kept {
                idle: Mutex::new(Some(Vec::with_capacity(keep))),
                keep,
            }),
        }
    }

    /// A connection for one query: a kept one, or one from the pool.
    async fn connection(&self) -> sqlx::Result<Held<DB>> {
        let kept = self.kept.idle().as_mut().and_then(Vec::pop);
        let conn = match kept {
            Some(conn) => conn,
            None => self.pool.acquire().await?,
        };
        Ok(Held {
            conn: Some(conn),
            finished: false,
            kept: self.kept.clone(),
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

/// A connection taken for one query: kept again when dropped if the query finished.
struct Held<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    finished: bool,
    kept: Arc<Kept<DB>>,
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
            {
                idle.push(conn);
                return;
            }
        }
        // Unfinished, or enough kept: back to sqlx's pool, which tests it.
        drop(conn);
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
