//! Owner reminders: who switched them off (per person, per server), the open steps whose due
//! date is near, and their outbox rows (one per step, owner and kind, so each goes once).

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::outbox::{NewRow, insert_row};
use super::servers::ensure_server;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};

/// Switches `person`'s reminders in this server off (`off`) or back on.
pub async fn set_off(
    db: &Db,
    server_id: ServerId,
    server_name: &str,
    person: UserId,
    off: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if off {
            ensure_server!(&mut *tx, server_id, server_name.to_owned(), now).await?;
            sqlx::query(
                "INSERT INTO reminder_optouts (server_id, person_id, set_at) VALUES ($1, $2, $3)
                 ON CONFLICT (server_id, person_id) DO NOTHING",
            )
            .bind(server_id)
            .bind(person)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM reminder_optouts WHERE server_id = $1 AND person_id = $2")
                .bind(server_id)
                .bind(person)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("switching reminders")
}

/// Whether `person` switched their reminders off in this server.
pub async fn is_off(db: &Db, server_id: ServerId, person: UserId) -> anyhow::Result<bool> {
    let found: Option<i64> = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT 1 FROM reminder_optouts WHERE server_id = $1 AND person_id = $2",
        )
        .bind(server_id)
        .bind(person)
        .fetch_optional(pool)
        .await
    })
    .context("reading whether reminders are off")?;
    Ok(found.is_some())
}

/// An open step's owner who may get a reminder.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    pub step_id: StepId,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub school_name: String,
    pub time_zone: String,
    pub title: String,
    pub due_on: NaiveDate,
    pub owner: UserId,
    /// Whether the reminder before the due date is queued (or sent) already.
    pub soon_queued: bool,
    /// Whether the overdue reminder is queued (or sent) already.
    pub overdue_queued: bool,
}

/// Owners (reminders on) of every open step due between `from` and `to`, in every server.
pub async fn candidates(db: &Db, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<Candidate>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT a.id AS step_id, a.server_id, a.school_id, s.name AS school_name, s.time_zone,
                    a.title, a.due_on, o.user_id AS owner,
                    EXISTS (SELECT 1 FROM outbox x
                            WHERE x.key = 'reminder:' || a.id || ':' || o.user_id || ':soon') AS soon_queued,
                    EXISTS (SELECT 1 FROM outbox x
                            WHERE x.key = 'reminder:' || a.id || ':' || o.user_id || ':overdue') AS overdue_queued
             FROM action_steps a
             JOIN schools s ON s.id = a.school_id
             JOIN step_owners o ON o.step_id = a.id
             WHERE a.status NOT IN ('done', 'dropped') AND a.due_on >= $1 AND a.due_on <= $2
               AND NOT EXISTS (SELECT 1 FROM reminder_optouts r
                               WHERE r.server_id = a.server_id AND r.person_id = o.user_id)
             ORDER BY a.id, o.user_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })
    .context("finding steps to remind their owners of")
}

/// Queues reminder rows (each once per key); how many were new.
pub async fn queue(db: &Db, rows: &[NewRow], now: DateTime<Utc>) -> anyhow::Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut added = 0;
        for row in rows {
            let done = insert_row!(tx, row, now)?;
            added += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(added)
    })
    .context("queueing reminders")
}
