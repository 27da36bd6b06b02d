//! Queueing a check-in's next prompt as an outbox row, in the write that records it.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::CheckinSession;
use crate::domain::message::Prompt;
use crate::store::outbox::{NewRow, OutboxMessage, insert_row};
use crate::store::{BeginWrite as _, Db, on_backend};

/// The outbox key of a session's prompt number `number`.
pub fn prompt_key(session_id: i64, number: i64) -> String {
    format!("prompt:{session_id}:{number}")
}

/// Who sends a prompt just queued, and until when no one else may.
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: DateTime<Utc>,
}

/// Queues the prompt `key` (`q3`, `k3`, `review`, `fix3`) of an open session as an outbox row
/// in the same transaction that records it as the session's prompt, leased to its sender;
/// returns its number and whether it was queued now. A prompt already queued is not queued
/// again: its number is returned as it was. None when the session waits: its first prompt
/// is held back while another of the person's check-ins is in conversation. A session's first
/// prompt starts its time: it stays open as long from then as it was given when stored.
pub async fn queue_prompt(
    db: &Db,
    session: &CheckinSession,
    key: &str,
    messages: &[Prompt],
    lease: &Lease<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(i64, bool)>> {
    // Two first prompts of one person are decided one at a time (SQLite's write lock does
    // this already).
    let person_lock = match db {
        Db::Sqlite(_) => "SELECT $1",
        Db::Postgres(_) => "SELECT pg_advisory_xact_lock($1)",
    };
    let expires_at = now + (session.expires_at - session.started_at);
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(person_lock)
            .bind(session.person_id)
            .execute(&mut *tx)
            .await?;
        let number: Option<i64> = sqlx::query_scalar(
            "UPDATE checkin_sessions SET prompted = $1, prompts = prompts + 1, updated_at = $2,
                 expires_at = CASE WHEN prompts = 0 THEN $4 ELSE expires_at END
             WHERE id = $3 AND status = 'open' AND (prompted IS NULL OR prompted <> $1)
               AND (prompts > 0 OR NOT EXISTS (
                   SELECT 1 FROM checkin_sessions o
                   WHERE o.person_id = checkin_sessions.person_id AND o.status = 'open'
                     AND o.prompts > 0 AND o.id <> checkin_sessions.id))
             RETURNING prompts",
        )
        .bind(key.to_owned())
        .bind(now)
        .bind(session.id)
        .bind(expires_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            // Queued before, waiting for another check-in, or closed meanwhile: nothing new
            // to write.
            let current: i64 = sqlx::query_scalar("SELECT prompts FROM checkin_sessions WHERE id = $1")
                .bind(session.id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok((current > 0).then_some((current, false)));
        };
        let message = OutboxMessage::Prompt {
            session_id: session.id,
            messages: messages.to_vec(),
        };
        let row_key = prompt_key(session.id, number);
        let row = NewRow::new(row_key.clone(), session.server_id, Some(session.person_id), &message, now)
            .map_err(|error| sqlx::Error::Encode(error.into()))?;
        insert_row!(tx, &row, now)?;
        sqlx::query("UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE key = $3")
            .bind(lease.owner.to_owned())
            .bind(lease.until)
            .bind(row_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some((number, true)))
    })
    .context("queueing a check-in prompt")
}
