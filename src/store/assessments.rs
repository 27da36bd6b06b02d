//! Assessments: administrations of the school-wide survey and their rows, saved whole or not at
//! all.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::assessment::{Administration, ResultRow};
use crate::domain::framework::Level;
use crate::domain::ids::{SchoolId, ServerId, UserId};

#[derive(sqlx::FromRow)]
struct AdministrationRow {
    id: i64,
    server_id: ServerId,
    school_id: SchoolId,
    name: String,
    administered: NaiveDate,
    file_name: String,
    imported_by: UserId,
    imported_at: DateTime<Utc>,
}

impl From<AdministrationRow> for Administration {
    fn from(row: AdministrationRow) -> Self {
        Administration {
            id: row.id,
            server_id: row.server_id,
            school_id: row.school_id,
            name: row.name,
            administered: row.administered,
            file_name: row.file_name,
            imported_by: row.imported_by,
            imported_at: row.imported_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Result_ {
    row_number: i64,
    indicator_id: String,
    respondent_group: String,
    level: i64,
    score: Option<f64>,
    scale_max: Option<f64>,
    respondents: Option<i64>,
}

impl TryFrom<Result_> for ResultRow {
    type Error = anyhow::Error;

    fn try_from(row: Result_) -> anyhow::Result<Self> {
        let level = usize::try_from(row.level)
            .ok()
            .and_then(|rank| rank.checked_sub(1))
            .and_then(|i| Level::ALL.get(i).copied())
            .with_context(|| format!("a stored assessment level is {}", row.level))?;
        Ok(ResultRow {
            row_number: row.row_number,
            indicator_id: row.indicator_id,
            group: row.respondent_group,
            level,
            score: row.score,
            scale_max: row.scale_max,
            respondents: row.respondents,
        })
    }
}

const SELECT: &str =
    "SELECT id, server_id, school_id, name, administered, file_name, imported_by, imported_at
     FROM assessments";

/// What an import saves.
#[derive(Clone, Debug)]
pub struct NewAdministration<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub name: &'a str,
    pub administered: NaiveDate,
    pub file_name: &'a str,
    pub imported_by: UserId,
}

/// What became of an import.
#[derive(Clone, Debug, PartialEq)]
pub enum Imported {
    Saved(Administration),
    /// The school already has an administration of that name: nothing was saved.
    NameTaken,
}

/// Saves the administration and every row in one transaction.
pub async fn save(
    db: &Db,
    new: &NewAdministration<'_>,
    rows: &[ResultRow],
    now: DateTime<Utc>,
) -> anyhow::Result<Imported> {
    let id: Option<i64> = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO assessments (server_id, school_id, name, administered, file_name, imported_by, imported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (school_id, name) DO NOTHING RETURNING id",
        )
        .bind(new.server_id)
        .bind(new.school_id)
        .bind(new.name.to_owned())
        .bind(new.administered)
        .bind(new.file_name.to_owned())
        .bind(new.imported_by)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            for row in rows {
                sqlx::query(
                    "INSERT INTO assessment_results
                       (assessment_id, row_number, indicator_id, respondent_group, level, score, scale_max, respondents)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(row.row_number)
                .bind(row.indicator_id.clone())
                .bind(row.group.clone())
                .bind(i64::from(row.level.rank()))
                .bind(row.score)
                .bind(row.scale_max)
                .bind(row.respondents)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok::<_, sqlx::Error>(id)
    })
    .context("saving an assessment")?;
    match id {
        Some(id) => Ok(Imported::Saved(
            get(db, new.server_id, id)
                .await?
                .context("the assessment just saved is missing")?,
        )),
        None => Ok(Imported::NameTaken),
    }
}

pub async fn get(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<Option<Administration>> {
    let row: Option<AdministrationRow> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up an assessment")?;
    Ok(row.map(Administration::from))
}

/// The school's administrations, oldest first.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Vec<Administration>> {
    let rows: Vec<AdministrationRow> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 ORDER BY administered, id"
        )))
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("listing a school's assessments")?;
    Ok(rows.into_iter().map(Administration::from).collect())
}

/// Every administration in the server, oldest first.
pub async fn list_all(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<Administration>> {
    let rows: Vec<AdministrationRow> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 ORDER BY administered, id"
        )))
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("listing the server's assessments")?;
    Ok(rows.into_iter().map(Administration::from).collect())
}

/// An administration's rows, in file order.
pub async fn rows(db: &Db, administration: &Administration) -> anyhow::Result<Vec<ResultRow>> {
    let rows: Vec<Result_> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT row_number, indicator_id, respondent_group, level, score, scale_max, respondents
             FROM assessment_results WHERE assessment_id = $1 ORDER BY row_number",
        )
        .bind(administration.id)
        .fetch_all(pool)
        .await
    })
    .context("reading an assessment's rows")?;
    rows.into_iter().map(ResultRow::try_from).collect()
}

/// The school's latest administration and its rows.
pub async fn latest(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Option<(Administration, Vec<ResultRow>)>> {
    let Some(last) = list(db, server_id, school_id).await?.pop() else {
        return Ok(None);
    };
    let rows = rows(db, &last).await?;
    Ok(Some((last, rows)))
}
