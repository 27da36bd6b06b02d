//! What the digest's second version adds to each school's facts: what moved since the last
//! digest (the wins), and each school's rhythm: the check-ins asked lately and those missed in
//! a row, the last confirmed check-in, the latest and next coaching sessions.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};

use super::schools::School;
use super::{Db, coaching, on_backend};
use crate::domain::checkin::SessionStatus;
use crate::domain::digest::SchoolFacts;
use crate::domain::digest::rhythm::{CheckinOutcome, RATE_DAYS};
use crate::domain::digest::wins::{ConfirmedCheckin, DoneStep, LoggedSession, RaisedBarrier, Wins};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};

type OutcomeRow = (SchoolId, UserId, String, String, DateTime<Utc>, String);
type LastConfirmedRow = (SchoolId, Option<DateTime<Utc>>);

/// Adds the rhythm of each school to its facts, as of `now`.
pub async fn add_rhythm(
    db: &Db,
    server: ServerId,
    facts: &mut [SchoolFacts],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let from = now - TimeDelta::days(RATE_DAYS);
    let (outcomes, confirmed): (Vec<OutcomeRow>, Vec<LastConfirmedRow>) = on_backend!(db, pool => {
        // Those that asked a question: lately, and any that ran out after the person's last
        // confirmed check-in of the same flow (a streak can be older than the window).
        let outcomes = sqlx::query_as(
            "SELECT s.school_id, s.person_id, s.flow_id, s.flow_title, s.started_at, s.status
             FROM checkin_sessions s
             WHERE s.server_id = $1 AND s.prompts > 0
               AND (s.started_at > $2 OR (s.status = 'expired' AND NOT EXISTS (
                   SELECT 1 FROM checkin_sessions c
                   WHERE c.server_id = s.server_id AND c.person_id = s.person_id
                     AND c.flow_id = s.flow_id AND c.status = 'confirmed'
                     AND c.started_at > s.started_at)))
             ORDER BY s.started_at, s.id",
        )
        .bind(server)
        .bind(from)
        .fetch_all(pool)
        .await?;
        let confirmed = sqlx::query_as(
            "SELECT school_id, MAX(finished_at) FROM checkin_sessions
             WHERE server_id = $1 AND status = 'confirmed' GROUP BY school_id",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>((outcomes, confirmed))
    })
    .context("reading the schools' check-in rhythm")?;
    let names = super::members::names(db, server).await?;
    let confirmed: HashMap<SchoolId, DateTime<Utc>> = confirmed
        .into_iter()
        .filter_map(|(school, at)| at.map(|at| (school, at)))
        .collect();
    let latest = coaching::latest_by_school(db, server).await?;
    let mut next_by_zone = HashMap::new();
    for school in facts.iter_mut() {
        let today = now.with_timezone(&school.zone).date_naive();
        if let std::collections::hash_map::Entry::Vacant(entry) = next_by_zone.entry(today) {
            entry.insert(coaching::next_meetings(db, server, today).await?);
        }
        school.next_session = next_by_zone
            .get(&today)
            .and_then(|next| next.get(&school.school_id))
            .copied();
        school.last_session = latest.get(&school.school_id).map(|s| (s.held_on, s.kind));
        school.last_confirmed = confirmed.get(&school.school_id).copied();
        school.checkins = outcomes
            .iter()
            .filter(|row| row.0 == school.school_id)
            .filter_map(|(_, person, flow_id, flow_title, started_at, status)| {
                Some(CheckinOutcome {
                    person: *person,
                    person_name: names
                        .get(person)
                        .cloned()
                        .unwrap_or_else(|| "someone who left the server".to_owned()),
                    flow_id: flow_id.clone(),
                    flow_title: flow_title.clone(),
                    started_at: *started_at,
                    status: SessionStatus::parse(status)?,
                })
            })
            .collect();
    }
    Ok(())
}

/// What moved in `schools` after `since`: steps done, check-ins confirmed, sessions logged,
/// barriers raised.
pub async fn wins(
    db: &Db,
    server: ServerId,
    schools: &[School],
    since: DateTime<Utc>,
) -> anyhow::Result<Wins> {
    type Rows = (
        Vec<(StepId, SchoolId, String)>,
        Vec<(SchoolId, UserId, String)>,
        Vec<(i64, SchoolId, String)>,
    );
    let (done, confirmed, barriers): Rows = on_backend!(db, pool => {
        let done = sqlx::query_as(
            "SELECT a.id, a.school_id, a.title FROM step_updates u
             JOIN action_steps a ON a.id = u.step_id
             WHERE a.server_id = $1 AND u.new_status = 'done' AND a.status = 'done' AND u.at > $2
             ORDER BY u.at, u.id",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let confirmed = sqlx::query_as(
            "SELECT school_id, person_id, flow_title FROM checkin_sessions
             WHERE server_id = $1 AND status = 'confirmed' AND finished_at > $2
             ORDER BY finished_at, id",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let barriers = sqlx::query_as(
            "SELECT id, school_id, category FROM barriers
             WHERE server_id = $1 AND raised_at > $2 ORDER BY raised_at, id",
        )
        .bind(server)
        .bind(since)
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>((done, confirmed, barriers))
    })
    .context("reading what moved since the last digest")?;
    let school_names: HashMap<SchoolId, &str> =
        schools.iter().map(|s| (s.id, s.name.as_str())).collect();
    let people = super::members::names(db, server).await?;
    let mut wins = Wins::default();
    for (id, school, title) in done {
        if let Some(name) = school_names.get(&school)
            && !wins.steps_done.iter().any(|s| s.id == id)
        {
            wins.steps_done.push(DoneStep {
                id,
                school: (*name).to_owned(),
                title,
            });
        }
    }
    for (school, person, flow) in confirmed {
        if let Some(name) = school_names.get(&school) {
            wins.confirmed.push(ConfirmedCheckin {
                school: (*name).to_owned(),
                person: people
                    .get(&person)
                    .cloned()
                    .unwrap_or_else(|| "someone who left the server".to_owned()),
                flow,
            });
        }
    }
    for session in coaching::logged_since(db, server, since).await? {
        if let Some(name) = school_names.get(&session.school_id) {
            wins.sessions.push(LoggedSession {
                school: (*name).to_owned(),
                kind: session.kind,
                held_on: session.held_on,
            });
        }
    }
    for (id, school, category) in barriers {
        if let Some(name) = school_names.get(&school) {
            wins.new_barriers.push(RaisedBarrier {
                id,
                school: (*name).to_owned(),
                category,
            });
        }
    }
    Ok(wins)
}
