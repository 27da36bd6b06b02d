//! Away and breaks in the scheduler: a scheduled check-in (or follow-up) due while its person
//! is away, or while their school is on a break, is recorded as skipped, never sent and never
//! counted as missed; a nudge due then is not sent either.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::{CheckinStart, Scheduler};
use crate::domain::calendar::{Absences, Skip};
use crate::domain::ids::UserId;
use crate::store::outbox::OutboxRow;
use crate::store::schedules::Schedule;
use crate::store::schools::School;
use crate::store::{away, calendar, checkins, schools};

/// Who a check-in occurrence asks and who it skips.
pub(super) struct Sorted {
    pub asked: Vec<UserId>,
    /// The run's outcome when it asks nobody (everyone away, the school on a break).
    pub skipped_run: Option<&'static str>,
    /// Each skipped person, with the key their row would have had and why.
    pub skipped: Vec<(UserId, String, &'static str)>,
}

/// Sorts the people of a check-in schedule's `occurrence` (local date in `zone`) into those
/// asked and those skipped. Digests and summaries are not check-ins: everyone is kept.
pub(super) fn sort_out(
    schedule: &Schedule,
    people: &[UserId],
    occurrence: DateTime<Utc>,
    zone: Tz,
    absences: &Absences,
) -> Sorted {
    let mut sorted = Sorted {
        asked: Vec::new(),
        skipped_run: None,
        skipped: Vec::new(),
    };
    if schedule.kind != "checkin" {
        sorted.asked = people.to_vec();
        return sorted;
    }
    let date = occurrence.with_timezone(&zone).date_naive();
    let mut reasons = Vec::new();
    for person in people {
        match absences.skip(schedule.server_id, schedule.school_id, *person, date) {
            Some(skip) => {
                let key = format!(
                    "checkin:{}:{}:{person}",
                    schedule.id,
                    occurrence.timestamp()
                );
                sorted.skipped.push((*person, key, skip.reason()));
                reasons.push(skip);
            }
            None => sorted.asked.push(*person),
        }
    }
    let school_on_break = schedule
        .school_id
        .is_some_and(|school| absences.on_break(schedule.server_id, school, date));
    if school_on_break {
        sorted.skipped_run = Some(Skip::Break.outcome());
    } else if sorted.asked.is_empty() && !reasons.is_empty() {
        sorted.skipped_run = Some(Skip::Away.outcome());
    }
    sorted
}

impl Scheduler {
    /// The away periods and breaks around `now` (two days either side covers every zone and
    /// an occurrence fired late within its grace window).
    pub(super) async fn absences(&self, now: DateTime<Utc>) -> anyhow::Result<Absences> {
        let db = &self.parts.checkins.db;
        let today = now.date_naive();
        let (from, to) = (today - TimeDelta::days(2), today + TimeDelta::days(2));
        let away = away::touching(db, from, to)
            .await?
            .into_iter()
            .map(|a| (a.server_id, a.person_id, a.span()))
            .collect();
        let breaks = calendar::touching(db, from, to)
            .await?
            .into_iter()
            .map(|b| (b.server_id, b.school_id, b.span()))
            .collect();
        Ok(Absences { away, breaks })
    }

    /// Whether a check-in's nudge is not sent now: its person is away today, or their school
    /// on a break (in the school's zone).
    pub(super) async fn nudge_skipped(
        &self,
        session_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let db = &self.parts.checkins.db;
        let Some(session) = checkins::get(db, session_id).await? else {
            return Ok(false);
        };
        let Some(school) = schools::get(db, session.server_id, session.school_id).await? else {
            return Ok(false);
        };
        let today = now.with_timezone(&school.zone()).date_naive();
        let skip = away::is_away(db, session.server_id, session.person_id, today).await?
            || calendar::break_covering(db, session.server_id, school.id, today)
                .await?
                .is_some();
        if skip {
            tracing::info!(session = session_id, person = %session.person_id, "no nudge: the person is away or their school on a break");
        }
        Ok(skip)
    }

    /// Whether a scheduled check-in that waited (for the person's earlier one) is skipped
    /// now that it could start: its person is away today, or their school on a break. The
    /// skip is recorded; a check-in an earlier attempt already started is not skipped.
    pub(super) async fn skipped_at_start(
        &self,
        row: &OutboxRow,
        school: &School,
        start: &CheckinStart,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let db = &self.parts.checkins.db;
        let server = row.server_id;
        let today = now.with_timezone(&school.zone()).date_naive();
        let reason = if calendar::break_covering(db, server, school.id, today)
            .await?
            .is_some()
        {
            Skip::Break
        } else if away::is_away(db, server, start.person_id, today).await? {
            Skip::Away
        } else {
            return Ok(false);
        };
        if away::started_from(db, &row.key).await? {
            return Ok(false);
        }
        away::record_skip(
            db,
            &away::Skipped {
                key: &row.key,
                server_id: server,
                schedule_id: start.schedule_id,
                person_id: start.person_id,
                occurrence: start.occurrence,
                reason: reason.reason(),
            },
            now,
        )
        .await?;
        tracing::info!(key = %row.key, person = %start.person_id, reason = reason.reason(), "a waiting check-in is skipped: its person is away or their school on a break");
        Ok(true)
    }
}
