//! What an indicator summary is built from, for one school or the whole server: levels and
//! their history, step counts, open barriers (school, category, age and who raised them, to
//! count people, never to show them; every school's, whichever summary, as what is withheld is
//! decided across the server), each school's stage in the coaching cycle and its last two
//! assessments, the last summary's levels, and the server's settings.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::assessment::by_indicator;
use crate::domain::cycle::StageEntry;
use crate::domain::framework::Level;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::summary::{
    AssessedSchool, BarrierFact, FocusLevel, MIN_GROUP, Remembered, SummaryFacts,
};

/// The server's name, schools, focus rows, level history, step counts, open barriers, the
/// last summary's levels.
type Gathered = (
    Option<String>,
    i64,
    Vec<(i64, SchoolId, String, Option<String>)>,
    Vec<(i64, String, DateTime<Utc>)>,
    Vec<(String, i64)>,
    Vec<(SchoolId, String, DateTime<Utc>, UserId)>,
    Option<String>,
);

/// How a server wants its summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummarySettings {
    /// Post each summary in a thread of its own.
    pub threads: bool,
    /// The smallest group a figure may describe.
    pub min_group: usize,
}

pub async fn settings(db: &Db, server_id: ServerId) -> anyhow::Result<SummarySettings> {
    let row: Option<(i64, i64)> = on_backend!(db, pool => {
        sqlx::query_as("SELECT summary_threads, min_group FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading summary settings")?;
    Ok(row.map_or(
        SummarySettings {
            threads: false,
            min_group: MIN_GROUP,
        },
        |(threads, min_group)| SummarySettings {
            threads: threads != 0,
            min_group: usize::try_from(min_group).unwrap_or(MIN_GROUP),
        },
    ))
}

pub async fn set_settings(
    db: &Db,
    server_id: ServerId,
    settings: SummarySettings,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE servers SET summary_threads = $1, min_group = $2 WHERE id = $3")
            .bind(i64::from(settings.threads))
            .bind(i64::try_from(settings.min_group).unwrap_or(i64::MAX))
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving summary settings")
}

/// The facts for a summary of `school` (`(id, name)`), or of every school when None.
/// `indicator_names` come from the server's framework.
pub async fn facts(
    db: &Db,
    server_id: ServerId,
    school: Option<(SchoolId, &str)>,
    indicator_names: BTreeMap<String, String>,
) -> anyhow::Result<SummaryFacts> {
    let server = server_id;
    let school_id = school.map(|(id, _)| id);
    let (server_name, schools, focus, history, steps, barriers, previous): Gathered = on_backend!(db, pool => {
        let server_name = sqlx::query_scalar("SELECT name FROM servers WHERE id = $1")
            .bind(server)
            .fetch_optional(pool)
            .await?;
        let schools = sqlx::query_scalar("SELECT COUNT(*) FROM schools WHERE server_id = $1 AND ($2 IS NULL OR id = $2)")
            .bind(server)
            .bind(school_id)
            .fetch_one(pool)
            .await?;
        let focus = sqlx::query_as(
            "SELECT id, school_id, indicator_id, level FROM focus_indicators
             WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) ORDER BY indicator_id, school_id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(pool)
        .await?;
        let history = sqlx::query_as(
            "SELECT l.focus_id, l.level, l.set_at FROM indicator_levels l
             JOIN focus_indicators f ON f.id = l.focus_id
             WHERE l.server_id = $1 AND ($2 IS NULL OR f.school_id = $2) ORDER BY l.set_at, l.id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(pool)
        .await?;
        let steps = sqlx::query_as(
            "SELECT status, COUNT(*) FROM action_steps
             WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) GROUP BY status",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(pool)
        .await?;
        // Every school's: a school's summary withholds what the others' would let be worked out.
        let barriers = sqlx::query_as(
            "SELECT school_id, category, raised_at, raised_by FROM barriers
             WHERE server_id = $1 AND resolved_at IS NULL",
        )
        .bind(server)
        .fetch_all(pool)
        .await?;
        let previous = sqlx::query_scalar(
            "SELECT levels FROM indicator_summaries
             WHERE server_id = $1 AND COALESCE(school_id, 0) = COALESCE($2, 0)
             ORDER BY built_at DESC, id DESC LIMIT 1",
        )
        .bind(server)
        .bind(school_id)
        .fetch_optional(pool)
        .await?;
        Ok::<_, sqlx::Error>((server_name, schools, focus, history, steps, barriers, previous))
    })
    .context("gathering what a summary reports")?;
    let settings = settings(db, server_id).await?;
    let mut levels: BTreeMap<i64, Vec<(DateTime<Utc>, Level)>> = BTreeMap::new();
    for (focus_id, level, at) in history {
        if let Some(level) = Level::parse(&level) {
            levels.entry(focus_id).or_default().push((at, level));
        }
    }
    let previous = previous.and_then(|json| serde_json::from_str::<Remembered>(&json).ok());
    let (stages, assessed) = cycle_and_assessments(db, server_id, school_id).await?;
    Ok(SummaryFacts {
        school: school.map(|(id, name)| (id, name.to_owned())),
        server_name: server_name.unwrap_or_else(|| format!("server {server_id}")),
        stages,
        assessed,
        schools: usize::try_from(schools).unwrap_or(0),
        indicator_names,
        focus: focus
            .into_iter()
            .map(|(id, school_id, indicator_id, level)| FocusLevel {
                school_id,
                indicator_id,
                level: level.as_deref().and_then(Level::parse),
                history: levels.remove(&id).unwrap_or_default(),
            })
            .collect(),
        steps_by_status: steps
            .into_iter()
            .map(|(status, n)| (status, usize::try_from(n).unwrap_or(0)))
            .collect(),
        open_barriers: barriers
            .into_iter()
            .map(|(school_id, category, raised_at, raised_by)| BarrierFact {
                school_id,
                category,
                raised_at,
                raised_by,
            })
            .collect(),
        previous,
        min_group: settings.min_group,
    })
}

/// The stage of each school the summary is of (`school_id`, or every school), and the results
/// of the last two assessments of those that have two.
async fn cycle_and_assessments(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
) -> anyhow::Result<(Vec<StageEntry>, Vec<AssessedSchool>)> {
    let schools: Vec<_> = super::schools::list(db, server_id)
        .await?
        .into_iter()
        .filter(|s| school_id.is_none_or(|id| s.id == id))
        .collect();
    let stages = super::cycle::currents(db, server_id, &schools)
        .await?
        .into_values()
        .collect();
    let mut by_school: BTreeMap<SchoolId, Vec<_>> = BTreeMap::new();
    for administration in super::assessments::list_all(db, server_id).await? {
        if school_id.is_none_or(|id| administration.school_id == id) {
            by_school
                .entry(administration.school_id)
                .or_default()
                .push(administration);
        }
    }
    let mut assessed = Vec::new();
    // Oldest first: the last two are the latest.
    for (school_id, administrations) in by_school {
        if let [.., before, after] = administrations.as_slice() {
            assessed.push(AssessedSchool {
                school_id,
                before: by_indicator(&super::assessments::rows(db, before).await?),
                after: by_indicator(&super::assessments::rows(db, after).await?),
            });
        }
    }
    Ok((stages, assessed))
}
