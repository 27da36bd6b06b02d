//! How a check-in ends with its person: skipped or expired (its draft deleted), or confirmed
//! (its outcomes written), in one transaction that also wakes what waited for it.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{CheckinSession, SessionStatus, wake_waiting};
use crate::domain::checkin::Outcome;
use crate::domain::ids::{ServerId, StepId, UserId};
use crate::store::{BeginWrite as _, Db, on_backend};

/// Closes an open session as skipped or expired, deleting its draft answers; false when it
/// was not open. A scheduled check-in of the same person and server that waits for it in the
/// outbox is due at once (same transaction).
pub async fn finish(
    db: &Db,
    session_id: i64,
    status: SessionStatus,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let closed: Option<(ServerId, UserId)> = sqlx::query_as(
            "UPDATE checkin_sessions SET status = $1, finished_at = $2, updated_at = $2
             WHERE id = $3 AND status = 'open' RETURNING server_id, person_id",
        )
        .bind(status.key())
        .bind(now)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((server, person)) = closed {
            // A check-in closed without Confirm keeps no draft: the coach sees only that it
            // was skipped or ran out, never what was half said.
            if status != SessionStatus::Confirmed {
                sqlx::query("DELETE FROM checkin_answers WHERE session_id = $1")
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            wake_waiting!(tx, server, person, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(closed.is_some())
    })
    .context("closing a check-in")
}

/// Confirms an open session: writes its outcomes (step updates, barriers, barrier notes) and closes it, in
/// one transaction. False when it was not open (a second click writes nothing).
pub async fn confirm(
    db: &Db,
    session: &CheckinSession,
    outcomes: &[Outcome],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    confirm_with(db, session, outcomes, &[], now).await
}

/// [`confirm`], and in the same transaction: each answer about the person's growth goal
/// (`goal_notes`) becomes a note on it, and what was shared is queued for the school's team
/// feed when it has one (`domain::feed`).
pub async fn confirm_with(
    db: &Db,
    session: &CheckinSession,
    outcomes: &[Outcome],
    goal_notes: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let steps: Vec<(StepId, String)> = session
        .open_steps()?
        .into_iter()
        .map(|s| (s.id, s.title))
        .collect();
    let compose =
        |name: &str| crate::domain::feed::post(name, &session.flow_title, outcomes, &steps);
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE checkin_sessions SET status = 'confirmed', finished_at = $1, updated_at = $1 WHERE id = $2 AND status = 'open'",
        )
        .bind(now)
        .bind(session.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            for outcome in outcomes {
                match outcome {
                    Outcome::StepUpdate { step_id, note } => {
                        let touched = sqlx::query(
                            "UPDATE action_steps SET updated_at = $1 WHERE id = $2 AND server_id = $3",
                        )
                        .bind(now)
                        .bind(*step_id)
                        .bind(session.server_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if touched == 1 {
                            sqlx::query(
                                "INSERT INTO step_updates (step_id, author_id, at, kind, note, checkin_id)
                                 VALUES ($1, $2, $3, 'progress', $4, $5)",
                            )
                            .bind(*step_id)
                            .bind(session.person_id)
                            .bind(now)
                            .bind(note.clone())
                            .bind(session.id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    Outcome::Barrier { step_id, category, text } => {
                        sqlx::query(
                            "INSERT INTO barriers (server_id, school_id, step_id, category, text, raised_by, raised_at, checkin_id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(session.server_id)
                        .bind(session.school_id)
                        .bind(*step_id)
                        .bind(category.clone())
                        .bind(text.clone())
                        .bind(session.person_id)
                        .bind(now)
                        .bind(session.id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Outcome::BarrierNote { barrier_id, text } => {
                        // Only on the barrier of the check-in's own server and school.
                        sqlx::query(
                            "INSERT INTO barrier_notes (server_id, barrier_id, kind, text, author_id, at, checkin_id)
                             SELECT server_id, id, 'root_cause', $1, $2, $3, $4 FROM barriers
                             WHERE id = $5 AND server_id = $6 AND school_id = $7",
                        )
                        .bind(text.clone())
                        .bind(session.person_id)
                        .bind(now)
                        .bind(session.id)
                        .bind(*barrier_id)
                        .bind(session.server_id)
                        .bind(session.school_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            crate::store::goals::note_in!(tx, session.server_id, session.person_id, goal_notes, now);
            if !outcomes.is_empty() {
                crate::store::feed::queue_post!(tx, session, &compose, now);
            }
            wake_waiting!(tx, session.server_id, session.person_id, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed == 1)
    })
    .context("confirming a check-in")
}
