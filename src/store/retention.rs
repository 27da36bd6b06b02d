//! How long each server keeps its records (`retention_settings`), and which day's purge has
//! run (`purge_days`).

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::servers::ensure_server;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia, Retention};

/// The days as stored (INTEGER columns, read as BIGINT on both engines).
type Row = (i64, i64, i64);

/// A server with its setting, when it has one.
type ServerRow = (ServerId, Option<i64>, Option<i64>, Option<i64>);

fn from_row((answers, outbox, runs): Row) -> anyhow::Result<Retention> {
    let days = |raw: i64| u32::try_from(raw).context("a stored retention is out of range");
    Ok(Retention {
        answers_days: days(answers)?,
        outbox_days: days(outbox)?,
        runs_days: days(runs)?,
    })
}

/// The server's retention: what an admin set, or the defaults.
pub async fn get(db: &Db, server_id: ServerId) -> anyhow::Result<Retention> {
    let row: Option<Row> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT CAST(answers_days AS BIGINT), CAST(outbox_days AS BIGINT), CAST(runs_days AS BIGINT)
             FROM retention_settings WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_optional(pool)
        .await
    })
    .context("reading the server's retention")?;
    row.map_or_else(|| Ok(Retention::default()), from_row)
}

/// Every server's retention (servers without a setting get the defaults): what the daily purge
/// works through.
pub async fn all(db: &Db) -> anyhow::Result<Vec<(ServerId, Retention)>> {
    let rows: Vec<ServerRow> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT s.id, CAST(r.answers_days AS BIGINT), CAST(r.outbox_days AS BIGINT),
                    CAST(r.runs_days AS BIGINT)
             FROM servers s LEFT JOIN retention_settings r ON r.server_id = s.id
             ORDER BY s.id",
        )
        .fetch_all(pool)
        .await
    })
    .context("reading every server's retention")?;
    rows.into_iter()
        .map(
            |(server, answers, outbox, runs)| match (answers, outbox, runs) {
                (Some(a), Some(o), Some(r)) => Ok((server, from_row((a, o, r))?)),
                _ => Ok((server, Retention::default())),
            },
        )
        .collect()
}

/// Sets the server's retention and records the change in the audit, in one transaction.
pub async fn set(
    db: &Db,
    server_id: ServerId,
    server_name: &str,
    retention: Retention,
    by: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let entry = AuditEntry {
        at: now,
        actor: Some(by),
        via: AuditVia::Discord,
        action: AuditAction::Retention,
        scope: format!(
            "answers {} days, sent messages {} days, schedule runs {} days",
            retention.answers_days, retention.outbox_days, retention.runs_days
        ),
        subject: None,
        with_answers: false,
        row_count: None,
    };
    on_backend!(db, pool => {
        async {
            let mut tx = pool.begin_write().await?;
            ensure_server!(&mut *tx, server_id, server_name, now).await?;
            sqlx::query(
                "INSERT INTO retention_settings
                   (server_id, answers_days, outbox_days, runs_days, set_by, set_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (server_id) DO UPDATE SET
                   answers_days = excluded.answers_days, outbox_days = excluded.outbox_days,
                   runs_days = excluded.runs_days, set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(server_id)
            .bind(i64::from(retention.answers_days))
            .bind(i64::from(retention.outbox_days))
            .bind(i64::from(retention.runs_days))
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            super::audit::record_in!(&mut *tx, server_id, &entry).await?;
            tx.commit().await
        }
        .await
    })
    .context("setting the server's retention")
}

/// Claims `day`'s purge for this process: true for the one process that claims it first, false
/// for every other (and for this one again later that day).
pub async fn claim_purge_day(db: &Db, day: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let claimed = on_backend!(db, pool => {
        sqlx::query(
            "INSERT INTO purge_days (day, started_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1)
    })
    .context("claiming the day's purge")?;
    Ok(claimed)
}

/// Marks `day`'s purge finished.
pub async fn finish_purge_day(db: &Db, day: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query("UPDATE purge_days SET finished_at = $2 WHERE day = $1")
            .bind(day)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .context("marking the day's purge finished")
}
