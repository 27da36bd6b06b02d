//! What the scheduler does to check-ins left alone: expire those whose time ran out, record
//! the scheduled ones that never started, nudge those waiting for an answer.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{prompt_key, wake_waiting};
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::store::outbox::{Finished, NewRow, OutboxMessage, insert_row};
use crate::store::{BeginWrite as _, Db, on_backend};

/// A check-in that ran out of time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    pub id: i64,
    pub server_id: ServerId,
    pub person_id: UserId,
    /// Whether its first question had been queued (else it waited its whole time).
    pub started: bool,
}

/// What the person is told, once, when a check-in that had started runs out.
pub fn expired_notice(flow_title: &str) -> String {
    format!(
        "Your **{flow_title}** has closed: its time ran out before it was finished, so nothing from it was saved. Your coach can start a new one whenever you are ready."
    )
}

/// The outbox key of the notice that a check-in ran out: one per check-in, never sent twice.
pub fn expired_key(session_id: i64) -> String {
    format!("expired:{session_id}")
}

/// Closes open check-ins whose time ran out, deleting their draft answers; they count as
/// missed. In the same transaction: each person whose check-in had started (its first
/// question reached them) gets one notice
/// (an outbox row keyed by the check-in), and the scheduled check-ins waiting for it become
/// due. Returns the check-ins closed.
pub async fn expire_due(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Vec<Expired>> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<(i64, ServerId, UserId, String, i64)> = sqlx::query_as(
            "SELECT id, server_id, person_id, flow_title, prompts FROM checkin_sessions
             WHERE status = 'open' AND expires_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = Vec::new();
        for (id, server_id, person_id, flow_title, prompts) in due {
            let closed = sqlx::query(
                "UPDATE checkin_sessions SET status = 'expired', finished_at = $1, updated_at = $1
                 WHERE id = $2 AND status = 'open'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if closed == 0 {
                continue;
            }
            // The draft goes with it.
            sqlx::query("DELETE FROM checkin_answers WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Only someone who was asked (the first question reached them) is told.
            let asked: Option<String> = sqlx::query_scalar(
                "SELECT status FROM outbox WHERE key = $1 AND status = 'sent'",
            )
            .bind(prompt_key(id, 1))
            .fetch_optional(&mut *tx)
            .await?;
            if prompts > 0 && asked.is_some() {
                // A DM to the person (a notice is for coaches).
                let notice = OutboxMessage::Message(crate::domain::outbox::Outgoing {
                    channel_id: None,
                    body: crate::domain::message::MessageBody {
                        content: expired_notice(&flow_title),
                        ..Default::default()
                    },
                    thread: None,
                });
                let row = NewRow::new(expired_key(id), server_id, Some(person_id), &notice, now)
                    .map_err(|error| sqlx::Error::Encode(error.into()))?;
                insert_row!(tx, &row, now)?;
            }
            wake_waiting!(tx, server_id, person_id, now)?;
            expired.push(Expired {
                id,
                server_id,
                person_id,
                started: prompts > 0,
            });
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(expired)
    })
    .context("expiring check-ins")
}

/// Records a scheduled check-in that never started (its outbox row `key`, done at once in the
/// same transaction), and why, for the coach's digest: only while `lease_owner`, the process
/// that claimed the row, still holds it ([`Finished::LeaseLost`] otherwise, nothing written).
pub async fn record_miss(
    db: &Db,
    row_id: i64,
    lease_owner: &str,
    miss: &Miss<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let held = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, last_error = $2,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $3 AND status = 'pending' AND lease_owner = $4",
        )
        .bind(now)
        .bind(format!("did not start: {}", miss.reason.key()))
        .bind(row_id)
        .bind(lease_owner.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if held == 0 {
            tx.rollback().await?;
            return Ok(Finished::LeaseLost);
        }
        sqlx::query(
            "INSERT INTO checkin_misses (key, server_id, school_id, person_id, flow_title, due_at, reason, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING",
        )
        .bind(miss.key.to_owned())
        .bind(miss.server_id)
        .bind(miss.school_id)
        .bind(miss.person_id)
        .bind(miss.flow_title.to_owned())
        .bind(miss.due_at)
        .bind(miss.reason.key())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Finished::Recorded)
    })
    .context("recording a check-in that did not start")
}

/// A scheduled check-in that never started.
#[derive(Clone, Debug)]
pub struct Miss<'a> {
    /// The outbox key of the scheduled check-in.
    pub key: &'a str,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_title: &'a str,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    pub reason: NotStarted,
}

pub use crate::domain::checkin::NotStarted;

/// Queues one nudge for each open check-in that has waited its hours without an answer,
/// marking it nudged in the same transaction. Returns the sessions nudged.
pub async fn nudge_due(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    // "Quiet for its nudge hours", in each dialect's date arithmetic, so only the sessions due
    // are read (not every open one, every round).
    let quiet = match db {
        Db::Sqlite(_) => "julianday(updated_at) + nudge_hours / 24.0 <= julianday($1)",
        Db::Postgres(_) => "updated_at + nudge_hours * INTERVAL '1 hour' <= $1",
    };
    let select = format!(
        "SELECT id, server_id, person_id FROM checkin_sessions
         WHERE status = 'open' AND prompts > 0 AND nudged_at IS NULL AND expires_at > $1 AND {quiet}
         ORDER BY id"
    );
    let due: Vec<(i64, ServerId, UserId)> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
            .bind(now)
            .fetch_all(pool)
            .await
    })
    .context("finding check-ins to nudge")?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut nudged = Vec::new();
        for (id, server_id, person_id) in &due {
            // Another process may have nudged it since it was read: only the one that marks
            // it queues the nudge.
            let marked = sqlx::query(
                "UPDATE checkin_sessions SET nudged_at = $1
                 WHERE id = $2 AND status = 'open' AND nudged_at IS NULL",
            )
            .bind(now)
            .bind(*id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                continue;
            }
            let (kind, payload) = OutboxMessage::Nudge { session_id: *id }
                .encode()
                .map_err(|e| sqlx::Error::Encode(e.into()))?;
            let row = NewRow {
                key: format!("nudge:{id}"),
                server_id: *server_id,
                person_id: Some(*person_id),
                kind,
                payload,
                not_before: now,
                held: None,
            };
            insert_row!(tx, &row, now)?;
            nudged.push(*id);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(nudged)
    })
    .context("queueing nudges")
}
