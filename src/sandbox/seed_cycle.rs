//! Lincoln's coaching cycle for the sandbox: a spring assessment, a round of the cycle through
//! debrief, planning, implementing and support, and the fall re-assessment now under way, so
//! `/cycle show`, `/assessment list` and `/assessment compare` have something to show.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};

use super::seed::Demo;
use crate::domain::assessment::ResultRow;
use crate::domain::cycle::Stage;
use crate::domain::framework::Level;
use crate::store::assessments::{self, NewAdministration};
use crate::store::schools::School;
use crate::store::{Db, cycle};

/// Each administration: name, days before today it was given, and (indicator, group,
/// level, respondents) rows.
type Rows = &'static [(&'static str, &'static str, Level, i64)];
const ADMINISTRATIONS: [(&str, i64, Rows); 2] = [
    (
        "Spring 2026",
        230,
        &[
            ("11", "teachers", Level::GettingAware, 24),
            ("11", "leaders", Level::GettingReady, 5),
            ("12a", "teachers", Level::GettingReady, 24),
            ("12a", "leaders", Level::GettingReady, 5),
            ("12b", "teachers", Level::GettingStarted, 24),
            ("12b", "leaders", Level::GettingBetter, 5),
        ],
    ),
    (
        "Fall 2026",
        14,
        &[
            ("11", "teachers", Level::GettingStarted, 26),
            ("11", "leaders", Level::GettingStarted, 6),
            ("12a", "teachers", Level::GettingReady, 26),
            ("12a", "leaders", Level::GettingStarted, 6),
            ("12b", "teachers", Level::GettingStarted, 26),
            ("12b", "leaders", Level::GettingBetter, 6),
        ],
    ),
];

/// The moves: stage, days before today, note.
const MOVES: [(Stage, i64, &str); 5] = [
    (
        Stage::Debrief,
        220,
        "Read the spring results with Pat and the team",
    ),
    (
        Stage::Plan,
        205,
        "Targets: coaching records (11) and partnership time (12a)",
    ),
    (
        Stage::Implement,
        185,
        "Plan agreed at the May leadership meeting",
    ),
    (
        Stage::Support,
        90,
        "Steps under way; monthly visits from here",
    ),
    (Stage::Reassess, 20, "Fall survey window is open"),
];

/// Seeds Lincoln's cycle and assessments, unless it has an assessment already.
pub async fn seed_cycle(
    db: &Db,
    demo: &Demo,
    lincoln: &School,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if !assessments::list(db, demo.server(), lincoln.id)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let casey = demo.person("casey").context("demo person casey")?.id();
    let today = now.with_timezone(&lincoln.zone()).date_naive();
    for (name, days_ago, rows) in ADMINISTRATIONS {
        let rows: Vec<ResultRow> = rows
            .iter()
            .zip(2..)
            .map(|((indicator, group, level, n), row_number)| ResultRow {
                row_number,
                indicator_id: (*indicator).to_owned(),
                group: (*group).to_owned(),
                level: *level,
                score: None,
                scale_max: None,
                respondents: Some(*n),
            })
            .collect();
        let new = NewAdministration {
            server_id: demo.server(),
            school_id: lincoln.id,
            name,
            administered: today - TimeDelta::days(days_ago),
            file_name: "sandbox-seed.csv",
            imported_by: casey,
        };
        assessments::save(db, &new, &rows, now - TimeDelta::days(days_ago - 2)).await?;
    }
    for (stage, days_ago, note) in MOVES {
        cycle::advance(
            db,
            lincoln,
            stage,
            casey,
            Some(note),
            now - TimeDelta::days(days_ago),
        )
        .await?;
    }
    Ok(())
}
