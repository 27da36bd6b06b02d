//! A lock on one person's check-in turns that holds across processes. Within a process the
//! check-in engine takes its turns one at a time under an in-memory lock per person; with
//! PostgreSQL a worker and the gateway process share the people, so a scheduled check-in
//! starting in one must wait for the DM the other is handling (or the other's start) to end.
//! PostgreSQL's advisory locks do that: a session-level lock, keyed by the person, held on a
//! connection of its own for the whole turn and released when the turn ends (or, if the
//! process dies, when its connection closes). SQLite has one process: nothing to share.

use anyhow::Context as _;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::Db;
use crate::domain::ids::UserId;

/// The first key of coachbot's per-person advisory locks (`pg_advisory_lock(int, int)`), so
/// they never meet another user of advisory locks on the same database (sqlx's migrations
/// take a single-key one).
const NAMESPACE: i32 = 0x636b_7069; // "ckpi": coachbot, person, in conversation

/// How many turns of different people a process holds at once across processes; more wait
/// for a connection (their own in-process turn is not held up by anything else meanwhile).
const LOCK_CONNECTIONS: u32 = 4;

/// The connections that hold per-person locks: a small pool of their own, so that a turn
/// holding its lock never waits for a connection its own work needs (the main pool).
#[derive(Clone, Debug)]
pub struct PersonLocks {
    pool: PgPool,
}

impl PersonLocks {
    /// The locks for `db`; None on SQLite, where the process's own lock is the only one.
    /// Connects lazily: nothing is opened until a turn is taken.
    pub fn for_db(db: &Db) -> Option<Self> {
        match db {
            Db::Sqlite(_) => None,
            Db::Postgres(pool) => Some(Self {
                pool: PgPoolOptions::new()
                    .max_connections(LOCK_CONNECTIONS)
                    .min_connections(0)
                    .connect_lazy_with(pool.connect_options().as_ref().clone()),
            }),
        }
    }

    /// Waits until no other process (or connection) holds `person`'s lock, and holds it
    /// until the returned value is dropped.
    pub async fn hold(&self, person: UserId) -> anyhow::Result<PersonLock> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("opening a connection for a person's lock")?;
        let key = key_of(person);
        sqlx::query("SELECT pg_advisory_lock($1, $2)")
            .bind(NAMESPACE)
            .bind(key)
            .execute(&mut *conn)
            .await
            .context("waiting for a person's lock")?;
        Ok(PersonLock {
            conn: Some(conn),
            key,
        })
    }
}

/// The second key: the person's Discord id folded into 32 bits. Two people who share a key
/// only take their turns one after the other, which is harmless.
fn key_of(person: UserId) -> i32 {
    let id = person.get();
    // Truncation is the point: both halves of the id are mixed into the 32 bits kept.
    let folded = (id ^ (id >> 32)) as u32;
    folded.cast_signed()
}

/// A person's lock, held across processes until dropped.
#[derive(Debug)]
pub struct PersonLock {
    conn: Option<PoolConnection<Postgres>>,
    key: i32,
}

impl Drop for PersonLock {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let key = self.key;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                        .bind(NAMESPACE)
                        .bind(key)
                        .execute(&mut *conn)
                        .await;
                    if let Err(error) = unlocked {
                        // Closing the connection ends its session, and with it the lock.
                        tracing::warn!(%error, "could not release a person's lock; closing its connection");
                        conn.close_on_drop();
                    }
                });
            }
            // No runtime to unlock on: closing the session releases the lock.
            Err(_) => conn.close_on_drop(),
        }
    }
}
