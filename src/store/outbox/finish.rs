//! Recording how a delivery ended on its outbox row, if the process that claimed the row still
//! holds its lease.
//!
//! On PostgreSQL that is one `UPDATE` per row. On SQLite each such write needs the database's
//! one write turn, which every command that writes queues for (`store/write.rs`): a busy
//! process that took the turn once per announcement it sent kept its commands waiting behind
//! those marks. So on SQLite the ends recorded while the turn is busy are written together
//! (group commit): the first to arrive starts a task that takes the turn and writes every end
//! waiting by then in one statement, then the ends that arrived meanwhile, until none waits.
//! One statement is atomic on its own, and each caller still learns whether its own row
//! changed.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{OutboxRow, OutboxStatus};
use crate::store::write::PerFile;
use crate::store::{BeginWrite as _, Db, KeptPool, db_id};

/// How a delivery attempt ended, as stored on the row.
pub(super) struct Finish<'a> {
    pub status: OutboxStatus,
    pub error: Option<&'a str>,
    pub not_before: Option<DateTime<Utc>>,
    pub message_id: Option<u64>,
    /// False for a 429: Discord said when; it is not a failed attempt.
    pub counts: bool,
}

/// Whether a delivery's end was recorded on its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// The row now says how the delivery ended.
    Recorded,
    /// Nothing changed: this process's lease ran out and another process took the row (or
    /// already finished it). The row is theirs; what this process sent carried the row's
    /// nonce, so Discord drops the copy.
    LeaseLost,
}

/// Records how the delivery of `row` ended, if the process that claimed it still holds its
/// lease: a process that stalled past its lease must not mark, retry or fail a row another
/// process has taken over since (its finish would overwrite theirs).
pub(super) async fn finish(
    db: &Db,
    row: &OutboxRow,
    end: Finish<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    let Some(owner) = row.lease_owner.as_deref() else {
        anyhow::bail!("outbox row {} was finished without being claimed", row.key);
    };
    let mark = Mark {
        id: row.id,
        owner: owner.to_owned(),
        status: end.status.key(),
        error: end.error.map(str::to_owned),
        counts: i64::from(end.counts),
        not_before: end.not_before,
        at: now,
        message_id: end.message_id.map(db_id),
    };
    let changed = match db {
        Db::Sqlite(pool) => together(pool, mark).await,
        Db::Postgres(pool) => sqlx::query(
            "UPDATE outbox SET status = $1, last_error = $2, attempts = attempts + $3,
                 lease_owner = NULL, lease_until = NULL,
                 not_before = COALESCE($4, not_before),
                 sent_at = CASE WHEN $1 = 'sent' THEN $5 ELSE sent_at END,
                 message_id = COALESCE($6, message_id)
             WHERE id = $7 AND status = 'pending' AND lease_owner = $8",
        )
        .bind(mark.status)
        .bind(mark.error)
        .bind(mark.counts)
        .bind(mark.not_before)
        .bind(mark.at)
        .bind(mark.message_id)
        .bind(mark.id)
        .bind(mark.owner)
        .execute(&**pool)
        .await
        .map(|done| done.rows_affected() > 0)
        .map_err(anyhow::Error::from),
    }
    .context("updating an outbox row")?;
    if !changed {
        tracing::warn!(
            key = %row.key,
            owner,
            status = end.status.key(),
            "this process's lease on the outbox row ran out and another process took it: its end is theirs to record"
        );
        return Ok(Finished::LeaseLost);
    }
    Ok(Finished::Recorded)
}

/// One row's end, as bound: `$1` … `$8` of its line in [`marks_sql`].
struct Mark {
    id: i64,
    owner: String,
    status: &'static str,
    error: Option<String>,
    counts: i64,
    not_before: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    message_id: Option<i64>,
}

/// At most this many ends go in one statement (eight arguments each).
const MOST: usize = 64;

/// The statement that records `lines` ends (`lines` a power of two, the unused lines bound
/// to NULL, so that a connection prepares and keeps a handful of texts, not one per size):
/// each row changes only while still pending and leased to the process that ends it, and
/// the ids of the rows changed come back.
fn marks_sql(lines: usize) -> String {
    let values: Vec<String> = (0..lines)
        .map(|line| {
            let params: Vec<String> = (1..=8).map(|k| format!("${}", line * 8 + k)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "WITH marks (id, owner, status, error, counts, not_before, at, message_id) AS (VALUES {})
         UPDATE outbox SET status = marks.status, last_error = marks.error,
             attempts = outbox.attempts + marks.counts,
             lease_owner = NULL, lease_until = NULL,
             not_before = COALESCE(marks.not_before, outbox.not_before),
             sent_at = CASE WHEN marks.status = 'sent' THEN marks.at ELSE outbox.sent_at END,
             message_id = COALESCE(marks.message_id, outbox.message_id)
         FROM marks
         WHERE outbox.id = marks.id AND outbox.status = 'pending' AND outbox.lease_owner = marks.owner
         RETURNING outbox.id",
        values.join(", ")
    )
}

/// The ends waiting for the write turn of one SQLite file, and whether a task is writing
/// them.
#[derive(Default)]
struct Waiting {
    marks: Vec<(Mark, oneshot::Sender<Result<bool, String>>)>,
    writing: bool,
}

type Queue = Arc<Mutex<Waiting>>;

fn lock(queue: &Queue) -> MutexGuard<'_, Waiting> {
    queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The queue of the database file `pool` opens: one per file, as its write turn is.
fn queue_of(pool: &KeptPool<sqlx::Sqlite>) -> Queue {
    static QUEUES: PerFile<Mutex<Waiting>> = PerFile::new();
    QUEUES.of(pool, Mutex::default)
}

/// Records `mark` with whatever other ends wait for the same turn (see the module's text):
/// whether the row changed.
async fn together(pool: &KeptPool<sqlx::Sqlite>, mark: Mark) -> anyhow::Result<bool> {
    let queue = queue_of(pool);
    let (tell, told) = oneshot::channel();
    let start = {
        let mut waiting = lock(&queue);
        waiting.marks.push((mark, tell));
        !std::mem::replace(&mut waiting.writing, true)
    };
    if start {
        // A task of its own: a caller that gives up waiting stops no one else's end.
        tokio::spawn(write_waiting(pool.clone(), queue));
    }
    match told.await {
        Ok(changed) => changed.map_err(anyhow::Error::msg),
        Err(_) => anyhow::bail!("the process stopped before the row's end was written"),
    }
}

/// Takes the write turn and writes the ends waiting, a statement at a time, until none waits.
async fn write_waiting(pool: KeptPool<sqlx::Sqlite>, queue: Queue) {
    // Should the task be dropped (the runtime stopping), the next end starts another.
    let mut stopped = Stopped {
        queue: queue.clone(),
        finished: false,
    };
    loop {
        {
            // Checked and given up under one lock: an end queued after this starts a task.
            let mut waiting = lock(&queue);
            if waiting.marks.is_empty() {
                waiting.writing = false;
                stopped.finished = true;
                return;
            }
        }
        let turn = pool.write_turn().await;
        let batch = next_batch(&mut lock(&queue));
        let written = match turn {
            Ok(_turn) => write(&pool, &batch)
                .await
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        for (mark, tell) in batch {
            let changed = match &written {
                Ok(changed) => Ok(changed.contains(&mark.id)),
                Err(error) => Err(error.clone()),
            };
            // A caller that stopped waiting no longer hears.
            let _ = tell.send(changed);
        }
    }
}

/// Up to [`MOST`] waiting ends, of different rows (a row ended twice waits for the next
/// statement, so each line of one statement meets its own row).
fn next_batch(waiting: &mut Waiting) -> Vec<(Mark, oneshot::Sender<Result<bool, String>>)> {
    let mut rows = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for (mark, tell) in waiting.marks.drain(..) {
        if batch.len() < MOST && rows.insert(mark.id) {
            batch.push((mark, tell));
        } else {
            rest.push((mark, tell));
        }
    }
    waiting.marks = rest;
    batch
}

/// Writes `batch` in one statement: the ids of the rows it changed.
async fn write(
    pool: &KeptPool<sqlx::Sqlite>,
    batch: &[(Mark, oneshot::Sender<Result<bool, String>>)],
) -> sqlx::Result<HashSet<i64>> {
    static TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
        std::iter::successors(Some(1), |n| (n * 2 <= MOST).then_some(n * 2))
            .map(marks_sql)
            .collect()
    });
    let lines = batch.len().next_power_of_two();
    let text = TEXTS
        .get(lines.trailing_zeros() as usize)
        .ok_or_else(|| sqlx::Error::Protocol(format!("{} ends in one statement", batch.len())))?;
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(text.as_str()));
    for (mark, _) in batch {
        query = query
            .bind(mark.id)
            .bind(mark.owner.clone())
            .bind(mark.status)
            .bind(mark.error.clone())
            .bind(mark.counts)
            .bind(mark.not_before)
            .bind(mark.at)
            .bind(mark.message_id);
    }
    for _ in batch.len()..lines {
        query = query
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(None::<i64>)
            .bind(None::<DateTime<Utc>>)
            .bind(None::<DateTime<Utc>>)
            .bind(None::<i64>);
    }
    Ok(query.fetch_all(pool).await?.into_iter().collect())
}

/// Lets the next end start a task, when the one writing is dropped before it finished; the
/// ends it had not taken are told so (their senders dropped) rather than left waiting.
struct Stopped {
    queue: Queue,
    finished: bool,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if !self.finished {
            let mut waiting = lock(&self.queue);
            waiting.writing = false;
            waiting.marks.clear();
        }
    }
}
