//! Reports in the outbox: a digest or summary row composed into its message rows (and the
//! chart file), the record of the report, and the report row marked sent, in one transaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::outbox::{Finished, NewRow, insert_row};
use super::{BeginWrite as _, Db, db_id, on_backend};
use crate::domain::ids::{SchoolId, ServerId, UserId};

/// A composed report: the outbox row it came from (a digest or a summary) is marked sent, and
/// its messages become outbox rows of their own, all in one transaction, so a crash leaves
/// either the report to compose again or every message queued, never half.
pub struct Composed<'a> {
    pub row_id: i64,
    pub row_key: &'a str,
    /// The process that claimed the row: nothing is written unless it still holds the lease.
    pub lease_owner: &'a str,
    pub server_id: ServerId,
    /// The messages, in sending order.
    pub messages: &'a [NewRow],
    /// Files for the messages: `(message key, filename, bytes)`.
    pub files: &'a [(String, String, Vec<u8>)],
}

/// What a composed report leaves behind for the next one.
pub enum Report<'a> {
    /// A coach's digest: the next one lists what is new since.
    Digest { coach: UserId },
    /// An indicator summary: the next one says how levels changed since.
    Summary {
        school_id: Option<SchoolId>,
        channel_id: u64,
        levels: &'a str,
    },
}

/// Writes a composed report (see [`Composed`]), if the process that composed it still holds
/// the row's lease: one that stalled past it while another process took the row over writes
/// nothing ([`Finished::LeaseLost`]), so the report is queued once, by the row's holder.
pub async fn compose(
    db: &Db,
    composed: &Composed<'_>,
    report: &Report<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let held = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1,
                 lease_owner = NULL, lease_until = NULL, last_error = NULL
             WHERE id = $2 AND status = 'pending' AND lease_owner = $3",
        )
        .bind(now)
        .bind(composed.row_id)
        .bind(composed.lease_owner.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if held == 0 {
            tx.rollback().await?;
            return Ok(Finished::LeaseLost);
        }
        // All due at `now`: rows due together are sent in id order, the order written here.
        for row in composed.messages {
            insert_row!(tx, row, now)?;
        }
        for (key, filename, bytes) in composed.files {
            sqlx::query(
                "INSERT INTO outbox_files (outbox_key, filename, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT (outbox_key, filename) DO NOTHING",
            )
            .bind(key.clone())
            .bind(filename.clone())
            .bind(bytes.clone())
            .execute(&mut *tx)
            .await?;
        }
        match report {
            Report::Digest { coach } => {
                sqlx::query(
                    "INSERT INTO coach_digests (server_id, coach_id, outbox_key, built_at, messages)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (outbox_key) DO NOTHING",
                )
                .bind(composed.server_id)
                .bind(*coach)
                .bind(composed.row_key.to_owned())
                .bind(now)
                .bind(i64::try_from(composed.messages.len()).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
            }
            Report::Summary { school_id, channel_id, levels } => {
                sqlx::query(
                    "INSERT INTO indicator_summaries (server_id, school_id, channel_id, outbox_key, built_at, levels)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (outbox_key) DO NOTHING",
                )
                .bind(composed.server_id)
                .bind(*school_id)
                .bind(db_id(*channel_id))
                .bind(composed.row_key.to_owned())
                .bind(now)
                .bind((*levels).to_owned())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Finished::Recorded)
    })
    .context("queueing a report's messages")
}

/// The files queued with a message row, by its key.
pub async fn files(db: &Db, key: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    on_backend!(db, pool => {
        sqlx::query_as("SELECT filename, bytes FROM outbox_files WHERE outbox_key = $1 ORDER BY filename")
            .bind(key.to_owned())
            .fetch_all(pool)
            .await
    })
    .context("reading a message's files")
}
