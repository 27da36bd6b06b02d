//! The outbox: work the bot has promised to send, one row per key, delivered at least once
//! and made idempotent by its key.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, db_id, on_backend};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub server_id: i64,
    pub kind: String,
    pub payload: String,
    pub person_id: Option<i64>,
    pub status: String,
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

/// Every row (for tests and the digest).
pub async fn all(db: &Db, server_id: u64) -> anyhow::Result<Vec<OutboxRow>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE server_id = $1 ORDER BY id")))
            .bind(db_id(server_id))
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

/// How a delivery attempt ended, as stored on the row.
struct Finish<'a> {
    status: &'static str,
    error: Option<&'a str>,
    not_before: Option<DateTime<Utc>>,
    message_id: Option<u64>,
    /// False for a 429: Discord said when; it is not a failed attempt.
    counts: bool,
}

async fn finish(db: &Db, id: i64, end: Finish<'_>, now: DateTime<Utc>) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET status = $1, last_error = $2, attempts = attempts + $3,
                 lease_owner = NULL, lease_until = NULL,
                 not_before = COALESCE($4, not_before),
                 sent_at = CASE WHEN $1 = 'sent' THEN $5 ELSE sent_at END,
                 message_id = COALESCE($6, message_id)
             WHERE id = $7",
        )
        .bind(end.status)
        .bind(end.error.map(str::to_owned))
        .bind(i64::from(end.counts))
        .bind(end.not_before)
        .bind(now)
        .bind(end.message_id.map(db_id))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("updating an outbox row")
}

/// Delivered; `message_id` is the message Discord created (None when an earlier attempt
/// sent it, or nothing needed sending).
pub async fn mark_sent(
    db: &Db,
    id: i64,
    message_id: Option<u64>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let end = Finish {
        status: "sent",
        error: None,
        not_before: None,
        message_id,
        counts: true,
    };
    finish(db, id, end, now).await
}

/// Tries again at `retry_at`. A 429 (`counts` false) is not held against the row's attempts.
pub async fn retry_at(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
    counts: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let end = Finish {
        status: "pending",
        error: Some(error),
        not_before: Some(retry_at),
        message_id: None,
        counts,
    };
    finish(db, id, end, now).await
}

pub async fn mark_failed(db: &Db, id: i64, error: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let end = Finish {
        status: "failed",
        error: Some(error),
        not_before: None,
        message_id: None,
        counts: true,
    };
    finish(db, id, end, now).await
}

/// The person cannot receive DMs: stop, and remember it on the member.
pub async fn mark_unreachable(
    db: &Db,
    row: &OutboxRow,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let end = Finish {
        status: "unreachable",
        error: Some(error),
        not_before: None,
        message_id: None,
        counts: true,
    };
    finish(db, row.id, end, now).await?;
    if let Some(person) = row.person_id {
        on_backend!(db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE members SET dm_unreachable_at = $1 WHERE server_id = $2 AND user_id = $3")
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
    Ok(())
}

/// Queues a notice (a DM with `text`) to each coach of the school, once per `key`.
pub async fn notify_coaches(
    db: &Db,
    server_id: i64,
    school_id: i64,
    key: &str,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let coaches: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM member_roles
             WHERE server_id = $1 AND role = 'coach' AND (school_id = $2 OR school_id IS NULL) ORDER BY user_id",
        )
        .bind(server_id)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let payload = serde_json::json!({ "text": text }).to_string();
        for coach in &coaches {
            sqlx::query(
                "INSERT INTO outbox (key, server_id, kind, payload, person_id, status, not_before, created_at)
                 VALUES ($1, $2, 'notice', $3, $4, 'pending', $5, $5) ON CONFLICT (key) DO NOTHING",
            )
            .bind(format!("{key}:coach:{coach}"))
            .bind(server_id)
            .bind(payload.clone())
            .bind(*coach)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(coaches.len())
    })
    .context("queueing notices to coaches")
}

/// Queues one row now (once per key): e.g. a summary someone asked to post.
pub async fn enqueue(
    db: &Db,
    key: &str,
    server_id: u64,
    kind: &'static str,
    payload: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO outbox (key, server_id, kind, payload, person_id, status, not_before, created_at)
             VALUES ($1, $2, $3, $4, NULL, 'pending', $5, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.to_owned())
        .bind(db_id(server_id))
        .bind(kind)
        .bind(payload.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("queueing an outbox row")
}
