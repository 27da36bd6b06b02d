//! Reading check-ins: one by id, a person's open one, those open in a server, their answers.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{AnswerRow, CheckinSession, SELECT};
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::store::{Db, on_backend};

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a check-in")
}

/// The check-in the person's DMs answer, in whichever server it was started: the oldest open
/// one whose first prompt has gone out (`prompts > 0`). A person's DMs are one channel for
/// every server, so only one check-in is in conversation at a time; their other open ones
/// wait, unprompted, until it ends (see [`next_waiting`]).
pub async fn open_for(db: &Db, person_id: UserId) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE person_id = $1 AND status = 'open' AND prompts > 0 ORDER BY id LIMIT 1"
        )))
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up the check-in in conversation")
}

/// The person's open check-in in this server, in conversation or waiting.
pub async fn open_in_server(
    db: &Db,
    server_id: ServerId,
    person_id: UserId,
) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND person_id = $2 AND status = 'open'"
        )))
        .bind(server_id)
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up an open check-in")
}

/// The person's check-in to start next, when none is in conversation: their oldest open one
/// whose first prompt has not gone out and whose time has not run out.
pub async fn next_waiting(
    db: &Db,
    person_id: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE person_id = $1 AND status = 'open' AND prompts = 0 AND expires_at > $2
             ORDER BY id LIMIT 1"
        )))
        .bind(person_id)
        .bind(now)
        .fetch_optional(pool)
        .await
    })
    .context("looking up a waiting check-in")
}

/// Every open check-in (to catch up on DMs after a restart).
pub async fn all_open(db: &Db) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE status = 'open' ORDER BY id")))
            .fetch_all(pool)
            .await
    })
    .context("listing open check-ins")
}

/// Open check-ins in a server, for one school or all.
pub async fn open_in(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) AND status = 'open' ORDER BY started_at"
        )))
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("listing open check-ins")
}

/// A person's check-ins in a server, newest first.
pub async fn of_person(
    db: &Db,
    server_id: ServerId,
    person_id: UserId,
) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND person_id = $2 ORDER BY started_at DESC, id DESC"
        )))
        .bind(server_id)
        .bind(person_id)
        .fetch_all(pool)
        .await
    })
    .context("listing a person's check-ins")
}

pub async fn answers(db: &Db, session_id: i64) -> anyhow::Result<Vec<AnswerRow>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT session_id, position, purpose, step_id, answer, category, message_id, answered_at,
                    shared, mark, about
             FROM checkin_answers WHERE session_id = $1 ORDER BY position",
        )
        .bind(session_id)
        .fetch_all(pool)
        .await
    })
    .context("reading a check-in's answers")
}

/// The next step the person named in their last confirmed check-in for this school (a quote
/// never crosses schools or servers).
pub async fn last_next_step(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    person_id: UserId,
) -> anyhow::Result<Option<String>> {
    on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT a.answer FROM checkin_answers a JOIN checkin_sessions s ON s.id = a.session_id
             WHERE s.server_id = $1 AND s.school_id = $2 AND s.person_id = $3
               AND s.status = 'confirmed' AND a.purpose = 'next_step'
             ORDER BY s.finished_at DESC, a.position DESC LIMIT 1",
        )
        .bind(server_id)
        .bind(school_id)
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("reading the last next step")
}
