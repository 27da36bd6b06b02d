//! The daily purge's deletions, one batch (at most `limit` rows) per transaction, so that a
//! big purge never holds the write lock for long: check-in answers, sent outbox rows with their
//! files, schedule runs. What is old enough, and when the purge runs, is decided in
//! `outbox::purge`.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::ServerId;

/// Deletes up to `limit` of the server's check-in answers whose check-in ended before
/// `before`; a draft (the answers of a check-in still open) once its check-in started before
/// `before` and its time has run out at `now` (a check-in still in conversation keeps its
/// draft: closing it without Confirm deletes the draft anyway). How many went.
pub async fn answers(
    db: &Db,
    server_id: ServerId,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<u64> {
    on_backend!(db, pool => {
        async {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "DELETE FROM checkin_answers WHERE (session_id, position) IN (
                     SELECT a.session_id, a.position
                     FROM checkin_answers a JOIN checkin_sessions s ON s.id = a.session_id
                     WHERE s.server_id = $1
                       AND COALESCE(s.finished_at, s.started_at) < $2
                       AND (s.status <> 'open' OR s.expires_at <= $3)
                     LIMIT $4)",
            )
            .bind(server_id)
            .bind(before)
            .bind(now)
            .bind(limit)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        }
        .await
    })
    .context("purging check-in answers")
}

/// The outbox rows the purge may delete (`$1` server, `$2` cut-off, `$3` the cut-off for rows
/// whose key must outlive the setting, `$4` limit): delivered, given up or unreachable (never
/// pending, so never leased), queued and last tried before the cut-off. Two kinds stay longer,
/// because their rows are read again while what they belong to is still going on:
/// - a reminder's row is how the scheduler knows it went (its key, per step, owner and kind, is
///   asked for again every morning of the reminder's window): kept until `$3`;
/// - a check-in's prompts are read while it is open (where the conversation resumes, whether
///   the person was asked before it expired): kept while the person has a check-in open.
const PURGEABLE_OUTBOX: &str = "SELECT o.id FROM outbox o
     WHERE o.server_id = $1 AND o.status IN ('sent', 'failed', 'unreachable')
       AND o.created_at < $2 AND COALESCE(o.sent_at, o.not_before) < $2
       AND (o.kind <> 'reminder' OR o.created_at < $3)
       AND NOT (o.kind = 'prompt' AND EXISTS (
           SELECT 1 FROM checkin_sessions s WHERE s.person_id = o.person_id AND s.status = 'open'))
     ORDER BY o.id LIMIT $4";

/// Deletes up to `limit` of the server's outbox rows finished before `before` (reminders before
/// `reminders_before`), with the files they carried. How many rows went.
pub async fn outbox(
    db: &Db,
    server_id: ServerId,
    before: DateTime<Utc>,
    reminders_before: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<u64> {
    let files = format!(
        "DELETE FROM outbox_files WHERE outbox_key IN (
             SELECT key FROM outbox WHERE id IN ({PURGEABLE_OUTBOX}))"
    );
    let rows = format!("DELETE FROM outbox WHERE id IN ({PURGEABLE_OUTBOX})");
    on_backend!(db, pool => {
        async {
            // One write transaction: the files of exactly the rows deleted go with them.
            let mut tx = pool.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(files.clone()))
                .bind(server_id)
                .bind(before)
                .bind(reminders_before)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(sqlx::AssertSqlSafe(rows.clone()))
                .bind(server_id)
                .bind(before)
                .bind(reminders_before)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        }
        .await
    })
    .context("purging sent outbox rows and their files")
}

/// Deletes up to `limit` of the runs of the server's schedules recorded for occurrences before
/// `before`. How many went.
pub async fn schedule_runs(
    db: &Db,
    server_id: ServerId,
    before: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<u64> {
    on_backend!(db, pool => {
        async {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "DELETE FROM schedule_runs WHERE (schedule_id, occurrence_at) IN (
                     SELECT r.schedule_id, r.occurrence_at
                     FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
                     WHERE s.server_id = $1 AND r.occurrence_at < $2 AND r.recorded_at < $2
                     LIMIT $3)",
            )
            .bind(server_id)
            .bind(before)
            .bind(limit)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        }
        .await
    })
    .context("purging schedule runs")
}
