//! The next steps people named in check-ins: what each person said, under a next-step
//! question, in their last confirmed check-in at a school that answered one. Private answers
//! are included (each with whether it was shared): only the school's coach reads these, and
//! the caller checks `Access::may_see_checkin` before showing any.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Db, on_backend};
use crate::domain::ids::{SchoolId, ServerId, UserId};

/// One next-step answer of a confirmed check-in.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct NamedNextStep {
    pub session_id: i64,
    /// The school of the check-in: always the school asked for.
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub confirmed_at: DateTime<Utc>,
    pub answer: String,
    /// 1 when the person shared it to the plan, 0 when private.
    pub shared: i64,
}

/// For each person with one, the next steps they named in their last confirmed check-in at
/// `school_id` that named any (left-out answers do not count), newest check-in first. One
/// query, however many people.
pub async fn last_named(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Vec<NamedNextStep>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT s.id AS session_id, s.school_id, s.person_id, s.finished_at AS confirmed_at,
                    a.answer, a.shared
             FROM checkin_answers a JOIN checkin_sessions s ON s.id = a.session_id
             WHERE s.server_id = $1 AND s.school_id = $2 AND s.status = 'confirmed'
               AND s.finished_at IS NOT NULL
               AND a.purpose = 'next_step' AND (a.mark IS NULL OR a.mark <> 'skipped')
               AND NOT EXISTS (
                   SELECT 1 FROM checkin_sessions t JOIN checkin_answers b ON b.session_id = t.id
                   WHERE t.server_id = s.server_id AND t.school_id = s.school_id
                     AND t.person_id = s.person_id AND t.status = 'confirmed'
                     AND t.finished_at IS NOT NULL
                     AND b.purpose = 'next_step' AND (b.mark IS NULL OR b.mark <> 'skipped')
                     AND (t.finished_at > s.finished_at OR (t.finished_at = s.finished_at AND t.id > s.id)))
             ORDER BY s.finished_at DESC, s.id DESC, a.position",
        )
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("reading the next steps named in check-ins")
}
