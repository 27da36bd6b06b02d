//! Reports built from the store: a coach's digest, an indicator summary and its chart. What
//! they say is decided in `domain::digest` and `domain::summary`; this gathers the facts as
//! of a moment and draws the chart.

pub mod chart;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::digest::{self, CoachDigest, FIRST_LOOKBACK_DAYS};
use crate::domain::framework::Framework;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::summary::{self, IndicatorSummary};
use crate::store::schools::School;
use crate::store::{Db, digests, frameworks, schools, summaries};

/// Builds a coach's digest as of `now`: their schools, what is new since their last digest
/// (or the last week, for the first), in the coach's time zone.
pub async fn build_digest(
    db: &Db,
    server: ServerId,
    coach: UserId,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<CoachDigest> {
    let schools = digests::coach_schools(db, server, coach).await?;
    let since = digests::last_built(db, server, coach)
        .await?
        .unwrap_or(now - TimeDelta::days(FIRST_LOOKBACK_DAYS));
    let facts = digests::facts(db, server, &schools, since).await?;
    Ok(digest::build(&facts, since, now, zone))
}

/// Builds the indicator summary of a school (or of every school) as of `now`, and its chart.
pub async fn build_summary(
    db: &Db,
    default_framework: &Framework,
    server: ServerId,
    school_id: Option<SchoolId>,
    now: DateTime<Utc>,
) -> anyhow::Result<(IndicatorSummary, Vec<u8>)> {
    let framework = frameworks::effective(db, server, default_framework).await?;
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
    let built = summary::build(&facts, now, now.with_timezone(&zone).date_naive());
    let png = chart::summary_png(&built, now)?;
    Ok((built, png))
}
