//! Reports built from the store: a coach's digest, an indicator summary and its chart. What
//! they say is decided in `domain::digest` and `domain::summary`; this gathers the facts as
//! of a moment and draws the chart.

pub mod brief;
pub mod chart;
pub mod compare_chart;
mod summary_chart;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::digest::{self, CoachDigest, FIRST_LOOKBACK_DAYS};
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::summary::{self, IndicatorSummary};
use crate::store::frameworks::Frameworks;
use crate::store::schools::School;
use crate::store::{Db, digest_rhythm, digests, frameworks, schools, snoozes, summaries};

/// Builds a coach's digest as of `now`: their schools, what is new since their last digest
/// (or the last week, for the first), each school's rhythm, less what the coach snoozed, in
/// the coach's time zone.
pub async fn build_digest(
    db: &Db,
    frameworks: &Frameworks,
    server: ServerId,
    coach: UserId,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<CoachDigest> {
    let schools = digests::coach_schools(db, server, coach).await?;
    let since = digests::last_built(db, server, coach)
        .await?
        .unwrap_or(now - TimeDelta::days(FIRST_LOOKBACK_DAYS));
    let mut facts = digests::facts(db, server, &schools, since).await?;
    add_absences(db, server, &mut facts, now).await?;
    add_cycle(db, frameworks, server, &schools, &mut facts).await?;
    digest_rhythm::add_rhythm(db, server, &mut facts, now).await?;
    let wins = digest_rhythm::wins(db, server, &schools, since).await?;
    let snoozed = snoozes::snoozed(db, server, coach, now).await?;
    Ok(digest::build(
        &facts,
        &digest::DigestInput {
            wins: &wins,
            snoozed: &snoozed,
            since,
            now,
            zone,
        },
    ))
}

/// Adds to each school's facts its stage in the coaching cycle, how long the server's
/// framework expects each stage to take, and whether it has a plan.
async fn add_cycle(
    db: &Db,
    frameworks: &Frameworks,
    server: ServerId,
    schools: &[School],
    facts: &mut [digest::SchoolFacts],
) -> anyhow::Result<()> {
    let framework = frameworks.of(db, server).await?;
    let mut stages = crate::store::cycle::currents(db, server, schools).await?;
    let planned = digests::planned_schools(db, server).await?;
    for school in facts.iter_mut() {
        school.cycle = stages
            .remove(&school.school_id)
            .map(|stage| digest::CycleFacts {
                stage,
                expected: framework.expected_days.clone(),
                has_plan: planned.contains(&school.school_id),
            });
    }
    Ok(())
}

/// Adds to each school's facts who is away around `now` and the breaks since its last
/// activity (away until …; quiet days that do not count).
async fn add_absences(
    db: &Db,
    server: ServerId,
    facts: &mut [digest::SchoolFacts],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let today = now.date_naive();
    let (soon, recently) = (today + TimeDelta::days(1), today - TimeDelta::days(1));
    let away = crate::store::away::by_school(db, server, recently, soon).await?;
    let names = crate::store::members::names(db, server).await?;
    let earliest = facts
        .iter()
        .map(|f| f.last_activity.date_naive() - TimeDelta::days(1))
        .min()
        .unwrap_or(today);
    let breaks = crate::store::calendar::touching_in(db, server, earliest, soon).await?;
    for school in facts.iter_mut() {
        school.away = away
            .iter()
            .filter(|(id, _, _)| *id == school.school_id)
            .map(|(_, person, span)| digest::AwayPerson {
                name: names
                    .get(person)
                    .cloned()
                    .unwrap_or_else(|| person.mention()),
                span: *span,
            })
            .collect();
        school.breaks = breaks
            .iter()
            .filter(|b| b.school_id == school.school_id)
            .map(crate::store::calendar::SchoolBreak::span)
            .collect();
    }
    Ok(())
}

/// Builds the indicator summary of a school (or of every school) as of `now`, and its chart.
pub async fn build_summary(
    db: &Db,
    frameworks: &Frameworks,
    server: ServerId,
    school_id: Option<SchoolId>,
    now: DateTime<Utc>,
) -> anyhow::Result<(IndicatorSummary, Vec<u8>)> {
    let framework = frameworks::effective(db, server, frameworks).await?;
    let names = framework
        .indicators()
        .map(|i| (i.id.clone(), i.name.clone()))
        .collect();
    let school = match school_id {
        Some(id) => Some(
            schools::get(db, server, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the school of a summary is gone"))?,
        ),
        None => None,
    };
    let zone = school.as_ref().map_or(chrono_tz::UTC, School::zone);
    let facts = summaries::facts(
        db,
        server,
        school.as_ref().map(|s| (s.id, s.name.as_str())),
        names,
    )
    .await?;
    let mut built = summary::build(&facts, now, now.with_timezone(&zone).date_naive());
    // The stage began on a day of the school's calendar, as its summary's date is.
    if let Some(entry) = facts.stages.first().filter(|_| school.is_some()) {
        built.stage_since = Some(entry.began_at.with_timezone(&zone).date_naive());
    }
    let png = chart::summary_png(&built, now)?;
    Ok((built, png))
}
