//! What a coach's digest is built from: the coach's schools, and for each the missed
//! check-ins, open steps and barriers, last activity and unreachable people. A fixed number of
//! queries per digest, whatever the number of schools. And the record of each digest built.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::schools::School;
use super::{Db, on_backend};
use crate::domain::checkin::NotStarted;
use crate::domain::digest::{MissedCheckin, OpenBarrier, OpenStep, SchoolFacts};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};

/// The schools `coach` coaches in this server (all of them for a server-wide coach role),
/// by name (`schools::by_name`).
pub async fn coach_schools(
    db: &Db,
    server_id: ServerId,
    coach: UserId,
) -> anyhow::Result<Vec<School>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, server_id, name, time_zone, channel_id, created_at, updated_at FROM schools s
             WHERE s.server_id = $1 AND EXISTS (
                 SELECT 1 FROM member_roles r
                 WHERE r.server_id = s.server_id AND r.user_id = $2 AND r.role = 'coach'
                   AND (r.school_id = s.id OR r.school_id IS NULL))",
        )
        .bind(server_id)
        .bind(coach)
        .fetch_all(pool)
        .await
    })
    .context("reading a coach's schools")
    .map(super::schools::by_name)
}

/// The schools of the server that have a plan: a focus indicator with a step that was not
/// dropped (done counts: the plan was carried out).
pub async fn planned_schools(db: &Db, server_id: ServerId) -> anyhow::Result<HashSet<SchoolId>> {
    let ids: Vec<SchoolId> = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT DISTINCT f.school_id FROM focus_indicators f
             JOIN action_steps a ON a.focus_id = f.id
             WHERE f.server_id = $1 AND a.status <> 'dropped'",
        )
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading which schools have a plan")?;
    Ok(ids.into_iter().collect())
}

/// When the last digest for this coach was built.
pub async fn last_built(
    db: &Db,
    server_id: ServerId,
    coach: UserId,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT MAX(built_at) FROM coach_digests WHERE server_id = $1 AND coach_id = $2")
            .bind(server_id)
            .bind(coach)
            .fetch_one(pool)
            .await
    })
    .context("reading when the last digest was built")
}

type StepRow = (StepId, SchoolId, String, NaiveDate, String);
type BarrierRow = (i64, SchoolId, String, String, DateTime<Utc>);
type SessionRow = (SchoolId, UserId, String, String, DateTime<Utc>, i64);
type NotStartedRow = (SchoolId, UserId, String, DateTime<Utc>, String);
type MissedRunRow = (
    Option<SchoolId>,
    Option<UserId>,
    Option<String>,
    DateTime<Utc>,
);
type Gathered = (
    Vec<StepRow>,
    Vec<BarrierRow>,
    Vec<SessionRow>,
    Vec<MissedRunRow>,
    Vec<NotStartedRow>,
    Vec<(SchoolId, Option<DateTime<Utc>>)>,
    Vec<(SchoolId, UserId)>,
);

/// The facts for each of `schools`: missed check-ins after `since`, open steps and barriers,
/// the last activity, and unreachable people.
pub async fn facts(
    db: &Db,
    server_id: ServerId,
    schools: &[School],
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<SchoolFacts>> {
    let server = server_id;
    let (steps, barriers, sessions, missed_runs, not_started, activity, unreachable): Gathered = on_backend!(db, pool => {
        let steps = sqlx::query_as(
            "SELECT id, school_id, title, due_on, status FROM action_steps
             WHERE server_id = $1 AND status NOT IN ('done', 'dropped')",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        let barriers = sqlx::query_as(
            "SELECT id, school_id, category, text, raised_at FROM barriers
             WHERE server_id = $1 AND resolved_at IS NULL",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        let sessions = sqlx::query_as(
            "SELECT school_id, person_id, flow_title, status, started_at, prompts FROM checkin_sessions
             WHERE server_id = $1 AND ((status = 'expired' AND prompts = 0 AND finished_at > $2)
                                        OR (status = 'open' AND nudged_at IS NOT NULL))
             ORDER BY started_at, id",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let missed_runs = sqlx::query_as(
            "SELECT s.school_id, s.person_id, s.flow_id, r.occurrence_at
             FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
             WHERE s.server_id = $1 AND s.kind = 'checkin' AND r.outcome = 'missed' AND r.recorded_at > $2
             ORDER BY r.occurrence_at",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let not_started = sqlx::query_as(
            "SELECT school_id, person_id, flow_title, due_at, reason FROM checkin_misses
             WHERE server_id = $1 AND recorded_at > $2 ORDER BY due_at, key",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let activity = sqlx::query_as(
            "SELECT school_id, MAX(at) FROM (
                 SELECT a.school_id AS school_id, u.at AS at FROM step_updates u
                     JOIN action_steps a ON a.id = u.step_id WHERE a.server_id = $1
                 UNION ALL SELECT school_id, raised_at FROM barriers WHERE server_id = $1
                 UNION ALL SELECT school_id, resolved_at FROM barriers WHERE server_id = $1 AND resolved_at IS NOT NULL
                 UNION ALL SELECT school_id, finished_at FROM checkin_sessions
                     WHERE server_id = $1 AND status = 'confirmed' AND finished_at IS NOT NULL
                 UNION ALL SELECT f.school_id, l.set_at FROM indicator_levels l
                     JOIN focus_indicators f ON f.id = l.focus_id WHERE l.server_id = $1
             ) AS activity GROUP BY school_id",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        let unreachable = sqlx::query_as(
            "SELECT DISTINCT r.school_id, m.user_id FROM members m
             JOIN member_roles r ON r.server_id = m.server_id AND r.user_id = m.user_id
             WHERE m.server_id = $1 AND m.dm_unreachable_at IS NOT NULL
               AND r.school_id IS NOT NULL AND r.role IN ('principal', 'team')",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>((steps, barriers, sessions, missed_runs, not_started, activity, unreachable))
    })
    .context("gathering what a digest reports")?;
    let names = super::members::names(db, server_id).await?;
    let name = |id: UserId| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "someone who left the server".to_owned())
    };
    let activity: HashMap<SchoolId, DateTime<Utc>> = activity
        .into_iter()
        .filter_map(|(school, at)| at.map(|at| (school, at)))
        .collect();
    let mut by_school: HashMap<SchoolId, SchoolFacts> = schools
        .iter()
        .map(|s| {
            let last_activity = activity
                .get(&s.id)
                .copied()
                .map_or(s.created_at, |at| at.max(s.created_at));
            let facts = SchoolFacts::new(s.id, s.name.clone(), s.zone(), last_activity);
            (s.id, facts)
        })
        .collect();
    for (id, school, title, due_on, status) in steps {
        if let Some(facts) = by_school.get_mut(&school) {
            facts.open_steps.push(OpenStep {
                id,
                title,
                due_on,
                status,
            });
        }
    }
    for (id, school, category, text, raised_at) in barriers {
        if let Some(facts) = by_school.get_mut(&school) {
            facts.open_barriers.push(OpenBarrier {
                id,
                category,
                text,
                raised_at,
            });
        }
    }
    for (school, person, flow, status, asked, prompts) in sessions {
        if let Some(facts) = by_school.get_mut(&school) {
            let person = name(person);
            facts.missed.push(if prompts == 0 {
                // Stored, it waited for another server's check-in and ran out unasked.
                MissedCheckin::NotStarted {
                    person,
                    flow,
                    due: asked,
                    why: NotStarted::Elsewhere,
                }
            } else if status == "open" {
                MissedCheckin::Unanswered {
                    person,
                    flow,
                    asked,
                }
            } else {
                // One that asked and ran out is in the person's streak (`digest_rhythm`).
                continue;
            });
        }
    }
    for (school, person, flow, due) in missed_runs {
        if let Some(facts) = school.and_then(|s| by_school.get_mut(&s)) {
            let who = person.map_or_else(|| "the principals and team".to_owned(), name);
            let flow = flow.unwrap_or_default();
            facts.missed.push(MissedCheckin::NotSent { who, flow, due });
        }
    }
    for (school, person, flow, due, reason) in not_started {
        if let Some(facts) = by_school.get_mut(&school) {
            let why = NotStarted::parse(&reason).unwrap_or(NotStarted::Previous);
            facts.missed.push(MissedCheckin::NotStarted {
                person: name(person),
                flow,
                due,
                why,
            });
        }
    }
    for (school, person) in unreachable {
        if let Some(facts) = by_school.get_mut(&school) {
            facts.unreachable.push(name(person));
        }
    }
    Ok(schools
        .iter()
        .filter_map(|s| by_school.remove(&s.id))
        .collect())
}
