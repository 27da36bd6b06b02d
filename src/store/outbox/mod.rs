//! The outbox: work the bot has promised to send, one row per key, delivered at least once
//! and made idempotent by its key.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, on_backend, text_enum};
use crate::domain::ids::{SchoolId, ServerId, UserId};
pub use crate::domain::outbox::OutboxMessage;
use crate::domain::outbox::Retry;
pub use finish::Finished;
use finish::{Finish, finish};

mod finish;

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting to be delivered (or tried again).
    Pending,
    /// Delivered (or, for a report, composed into message rows).
    Sent,
    /// Given up: Discord refused it, it failed too often, or its kind is unknown.
    Failed,
    /// The person's DMs are closed; their coaches were told.
    Unreachable,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Pending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Unreachable,
    ];

    /// The word stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Unreachable => "unreachable",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == raw)
    }
}

text_enum!(OutboxStatus);

impl PartialEq<&str> for OutboxStatus {
    fn eq(&self, other: &&str) -> bool {
        self.key() == *other
    }
}

/// A message on its way into the outbox, encoded and ready to insert (once per key) in the
/// transaction of the change it reports. [`insert_row!`] is the one way a row is written.
#[derive(Clone, Debug)]
pub struct NewRow {
    pub key: String,
    pub server_id: ServerId,
    /// Who it goes to by DM; None for a channel post.
    pub person_id: Option<UserId>,
    pub kind: &'static str,
    pub payload: String,
    pub not_before: DateTime<Utc>,
    /// Written already leased to the process that will send it at once (see [`Held`]).
    pub held: Option<Held>,
}

/// A lease a row is written with: the process that queues it sends it right away, without a
/// second write to claim it, and no other process's round takes it before `until`. Should
/// that process stop first, the row goes out once the lease has run out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub owner: String,
    pub until: DateTime<Utc>,
}

impl NewRow {
    pub fn new(
        key: impl Into<String>,
        server_id: ServerId,
        person_id: Option<UserId>,
        message: &OutboxMessage,
        not_before: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let (kind, payload) = message.encode().context("encoding an outbox message")?;
        Ok(Self {
            key: key.into(),
            server_id,
            person_id,
            kind,
            payload,
            not_before,
            held: None,
        })
    }
}

/// The `INSERT` of one [`NewRow`] (nothing when its key exists), its nine placeholders
/// numbered from `$first`; [`bind_row!`] binds them in order.
pub(crate) fn insert_sql(first: usize) -> String {
    let p: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO outbox
             (key, server_id, kind, payload, person_id, status, not_before, created_at, lease_owner, lease_until)
         VALUES ({}, {}, {}, {}, {}, 'pending', {}, {}, {}, {}) ON CONFLICT (key) DO NOTHING",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    )
}

/// Binds a [`NewRow`] written at `$now` to `$query`, in [`insert_sql`]'s order.
macro_rules! bind_row {
    ($query:expr, $row:expr, $now:expr) => {{
        let row: &$crate::store::outbox::NewRow = $row;
        $query
            .bind(row.key.clone())
            .bind(row.server_id)
            .bind(row.kind)
            .bind(row.payload.clone())
            .bind(row.person_id)
            .bind(row.not_before)
            .bind($now)
            .bind(row.held.as_ref().map(|held| held.owner.clone()))
            .bind(row.held.as_ref().map(|held| held.until))
    }};
}
pub(crate) use bind_row;

/// Inserts a [`NewRow`] inside the transaction `$tx` at `$now` (nothing when its key exists);
/// evaluates to the query's result.
macro_rules! insert_row {
    ($tx:expr, $row:expr, $now:expr) => {{
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| $crate::store::outbox::insert_sql(1));
        let sql: &'static str = SQL.as_str();
        $crate::store::outbox::bind_row!(sqlx::query(sql), $row, $now)
            .execute(&mut *$tx)
            .await
    }};
}
pub(crate) use insert_row;

/// A line about a change, for a school's channel. The store writes it as an outbox row in the
/// change's own transaction: the change and its announcement are saved together or not at all,
/// and a crash after the commit loses neither.
pub struct Announcement<'a> {
    pub server_id: ServerId,
    pub channel_id: u64,
    /// The row's key, one per change (`announce:<interaction id>`).
    pub key: String,
    /// The line, given the id of what the change made (a new step's or barrier's) or changed.
    pub text: &'a (dyn Fn(i64) -> String + Send + Sync),
    /// The lease the row is written with, when the command sends it itself right after.
    pub held: Option<Held>,
    /// When the row is due, if not at once: a channel too busy to take it soon (a burst of
    /// changes in one school) gets it from the outbox's rounds once it has room.
    pub not_before: Option<DateTime<Utc>>,
}

impl Announcement<'_> {
    /// The outbox row announcing the change to `id`.
    pub(crate) fn row(&self, id: i64, now: DateTime<Utc>) -> Result<NewRow, sqlx::Error> {
        let message = OutboxMessage::Announcement {
            channel_id: self.channel_id,
            text: crate::domain::text::clip(&(self.text)(id), crate::domain::text::MESSAGE_CONTENT),
        };
        let due = self.not_before.unwrap_or(now);
        let mut row = NewRow::new(self.key.clone(), self.server_id, None, &message, due)
            .map_err(|error| sqlx::Error::Encode(error.into()))?;
        row.held.clone_from(&self.held);
        Ok(row)
    }
}

/// Queues `announce` (if any) for the change to `id`, inside the transaction `$tx`.
macro_rules! announce_in {
    ($tx:expr, $announce:expr, $id:expr, $now:expr) => {
        if let Some(announcement) = $announce {
            let row = announcement.row($id, $now)?;
            $crate::store::outbox::insert_row!($tx, &row, $now)?;
        }
    };
}
pub(crate) use announce_in;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub server_id: ServerId,
    pub kind: String,
    pub payload: String,
    pub person_id: Option<UserId>,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub not_before: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The message Discord created for this row, when known.
    pub message_id: Option<i64>,
    /// The process working on the row, while it holds the lease.
    pub lease_owner: Option<String>,
}

impl OutboxRow {
    /// The row's message; an error for a kind this program does not know.
    pub fn message(&self) -> anyhow::Result<OutboxMessage> {
        OutboxMessage::decode(&self.kind, &self.payload).with_context(|| {
            format!(
                "reading the outbox row {} of kind `{}`",
                self.key, self.kind
            )
        })
    }
}

const SELECT: &str =
    "SELECT id, key, server_id, kind, payload, person_id, status, attempts, not_before,
            last_error, created_at, sent_at, message_id, lease_owner
     FROM outbox";

/// The row with this key, if there is one.
pub async fn by_key(db: &Db, key: &str) -> anyhow::Result<Option<OutboxRow>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE key = $1")))
            .bind(key.to_owned())
            .fetch_optional(pool)
            .await
    })
    .context("reading an outbox row")
}

/// Leases up to `limit` rows ready at `now` to `owner` until `until`, oldest first. A row
/// leased to another process is skipped until its lease runs out (a process that died); on
/// PostgreSQL rows another process is claiming right now are skipped (`SKIP LOCKED`).
pub async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    owner: &str,
    until: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<OutboxRow>> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let mut rows: Vec<OutboxRow> = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE status = 'pending' AND not_before <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                 ORDER BY not_before, id LIMIT $4{lock})
             RETURNING id, key, server_id, kind, payload, person_id, status, attempts, not_before,
                       last_error, created_at, sent_at, message_id, lease_owner"
        )))
        .bind(owner.to_owned())
        .bind(until)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(rows)
    })
    .context("claiming outbox rows")?;
    rows.sort_by_key(|r| (r.not_before, r.id));
    Ok(rows)
}

/// Leases the row with `key` to `owner` until `until`, if it is ready at `now` and no other
/// process holds it: a command delivering what it just queued. A row written already held by
/// `owner` (its lease still running) is returned as it is, without a write.
pub async fn claim_key(
    db: &Db,
    key: &str,
    now: DateTime<Utc>,
    owner: &str,
    until: DateTime<Utc>,
) -> anyhow::Result<Option<OutboxRow>> {
    on_backend!(db, pool => {
        // A row written already leased to `owner` (see [`Held`]) is theirs: no write.
        let held: Option<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE key = $1 AND status = 'pending' AND not_before <= $2
               AND lease_owner = $3 AND lease_until > $2"
        )))
        .bind(key.to_owned())
        .bind(now)
        .bind(owner.to_owned())
        .fetch_optional(pool)
        .await?;
        if held.is_some() {
            Ok(held)
        } else {
            // One statement: atomic on its own, so no transaction around it.
            let _turn = pool.write_turn().await?;
            sqlx::query_as(
                "UPDATE outbox SET lease_owner = $1, lease_until = $2
                 WHERE key = $3 AND status = 'pending' AND not_before <= $4
                   AND (lease_until IS NULL OR lease_until <= $4)
                 RETURNING id, key, server_id, kind, payload, person_id, status, attempts,
                           not_before, last_error, created_at, sent_at, message_id, lease_owner",
            )
            .bind(owner.to_owned())
            .bind(until)
            .bind(key.to_owned())
            .bind(now)
            .fetch_optional(pool)
            .await
        }
    })
    .context("claiming an outbox row")
}

/// A name for a lease holder, unique to this process and call: what a scheduler or a
/// check-in engine writes as `lease_owner`.
pub fn lease_owner() -> String {
    static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let nth = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("process-{}-{nanos}-{nth}", std::process::id())
}

/// Every row (for tests and the digest).
pub async fn all(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<OutboxRow>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE server_id = $1 ORDER BY id")))
            .bind(server_id)
            .fetch_all(pool)
            .await
    })
    .context("reading the outbox")
}

/// Extends the lease on the rows `owner` still holds to `until`: the heartbeat of a process
/// that is still working through its claim.
pub async fn renew(db: &Db, owner: &str, until: DateTime<Utc>) -> anyhow::Result<u64> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let renewed = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE lease_owner = $2 AND status = 'pending'",
        )
        .bind(until)
        .bind(owner.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok::<_, sqlx::Error>(renewed)
    })
    .context("renewing outbox leases")
}

/// Pending rows no process holds that are due after `now`: messages left for later (their
/// channel was busy, or a send failed and will be tried again).
pub async fn waiting_later(db: &Db, now: DateTime<Utc>) -> anyhow::Result<i64> {
    on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox
             WHERE status = 'pending' AND lease_owner IS NULL AND not_before > $1",
        )
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .context("counting the outbox rows due later")
}

/// The earliest time a pending row can be claimed: its retry time, or the end of the lease
/// another process holds on it.
pub async fn next_ready(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT MIN(CASE WHEN lease_until > not_before THEN lease_until ELSE not_before END)
             FROM outbox WHERE status = 'pending'",
        )
        .fetch_one(pool)
        .await
    })
    .context("reading the outbox")
}

/// Delivered; `message_id` is the message Discord created (None when an earlier attempt
/// sent it, or nothing needed sending).
pub async fn mark_sent(
    db: &Db,
    row: &OutboxRow,
    message_id: Option<u64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    let end = Finish {
        status: OutboxStatus::Sent,
        error: None,
        not_before: None,
        message_id,
        counts: true,
    };
    finish(db, row, end, now).await
}

/// Tries again at `retry_at`. A 429 (`counts` false) is not held against the row's attempts.
pub async fn retry_at(
    db: &Db,
    row: &OutboxRow,
    error: &str,
    retry_at: DateTime<Utc>,
    counts: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    let end = Finish {
        status: OutboxStatus::Pending,
        error: Some(error),
        not_before: Some(retry_at),
        message_id: None,
        counts,
    };
    finish(db, row, end, now).await
}

pub async fn mark_failed(
    db: &Db,
    row: &OutboxRow,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    let end = Finish {
        status: OutboxStatus::Failed,
        error: Some(error),
        not_before: None,
        message_id: None,
        counts: true,
    };
    finish(db, row, end, now).await
}

/// Records how a failed send ends for the row: tried again later, unreachable, or failed.
pub async fn record_failure(
    db: &Db,
    row: &OutboxRow,
    retry: Retry,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    match retry {
        Retry::Unreachable => mark_unreachable(db, row, error, now).await,
        Retry::At { at, counts, .. } => retry_at(db, row, error, at, counts, now).await,
        Retry::GiveUp => mark_failed(db, row, error, now).await,
    }
}

/// The person cannot receive DMs: stop, and remember it on the member (unless another
/// process has taken the row over: then it is theirs to judge).
pub async fn mark_unreachable(
    db: &Db,
    row: &OutboxRow,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    let end = Finish {
        status: OutboxStatus::Unreachable,
        error: Some(error),
        not_before: None,
        message_id: None,
        counts: true,
    };
    if finish(db, row, end, now).await? == Finished::LeaseLost {
        return Ok(Finished::LeaseLost);
    }
    if let Some(person) = row.person_id {
        on_backend!(db, pool => {
            let mut tx = pool.begin_write().await?;
            // The first failure of a spell of closed DMs dates it; later ones keep that date.
            sqlx::query(
                "UPDATE members SET dm_unreachable_at = COALESCE(dm_unreachable_at, $1)
                 WHERE server_id = $2 AND user_id = $3",
            )
                .bind(now)
                .bind(row.server_id)
                .bind(person)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })
        .context("marking a member unreachable")?;
    }
    Ok(Finished::Recorded)
}

/// Queues a notice (a DM with `text`) to each coach of the school, once per `key`.
pub async fn notify_coaches(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    key: &str,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let notice = NewRow::new(
        key,
        server_id,
        None,
        &OutboxMessage::Notice {
            text: text.to_owned(),
            school_id: Some(school_id),
        },
        now,
    )?;
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let coaches: Vec<UserId> = sqlx::query_scalar(super::members::COACHES_OF)
        .bind(server_id)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in coaches.iter().map(|coach| NewRow {
            key: format!("{key}:coach:{coach}"),
            server_id,
            person_id: Some(*coach),
            kind: notice.kind,
            payload: notice.payload.clone(),
            not_before: now,
            held: None,
        }) {
            insert_row!(tx, &row, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(coaches.len())
    })
    .context("queueing notices to coaches")
}

/// Queues rows now (once per key each), in one transaction: e.g. a summary someone asked to
/// post.
pub async fn enqueue(db: &Db, rows: &[NewRow], now: DateTime<Utc>) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for row in rows {
            insert_row!(tx, row, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("queueing an outbox row")
}
