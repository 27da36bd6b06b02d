//! School calendars: breaks (winter break, a holiday) as local dates, both included. During a
//! break the school's schedules skip, and its quiet days do not count.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::calendar::Span;
use crate::domain::ids::{SchoolId, ServerId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SchoolBreak {
    pub id: i64,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub label: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl SchoolBreak {
    pub fn span(&self) -> Span {
        Span {
            from: self.starts_on,
            to: self.ends_on,
        }
    }
}

const SELECT: &str =
    "SELECT id, server_id, school_id, starts_on, ends_on, label, created_by, created_at
     FROM school_breaks";

/// What `/calendar add` saves.
#[derive(Clone, Debug)]
pub struct NewBreak<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub span: Span,
    pub label: &'a str,
    pub created_by: UserId,
}

pub async fn add(db: &Db, new: &NewBreak<'_>, now: DateTime<Utc>) -> anyhow::Result<SchoolBreak> {
    let id: i64 = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO school_breaks (server_id, school_id, starts_on, ends_on, label, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.server_id)
        .bind(new.school_id)
        .bind(new.span.from)
        .bind(new.span.to)
        .bind(new.label.to_owned())
        .bind(new.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })
    .context("saving a school break")?;
    get(db, new.server_id, id)
        .await?
        .context("the break just saved is missing")
}

pub async fn get(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<Option<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a school break")
}

/// The breaks of one school (or every school) in this server ending on or after `since`,
/// soonest first.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    since: NaiveDate,
) -> anyhow::Result<Vec<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) AND ends_on >= $3
             ORDER BY starts_on, id"
        )))
        .bind(server_id)
        .bind(school_id)
        .bind(since)
        .fetch_all(pool)
        .await
    })
    .context("listing school breaks")
}

/// Every break of the server, past ones included, by start: what `store::settings` keeps.
pub async fn all_of(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 ORDER BY starts_on, id"
        )))
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading the server's school breaks")
}

pub async fn delete(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM school_breaks WHERE id = $1 AND server_id = $2")
            .bind(id)
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("removing a school break")
}

/// The break of `school` that `date` falls in, if any: what `/step add` and `/step edit` warn
/// about when a due date is in one.
pub async fn break_covering(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    date: NaiveDate,
) -> anyhow::Result<Option<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 AND starts_on <= $3 AND ends_on >= $3
             ORDER BY starts_on, id LIMIT 1"
        )))
        .bind(server_id)
        .bind(school_id)
        .bind(date)
        .fetch_optional(pool)
        .await
    })
    .context("looking for a break on a date")
}

/// Every server's breaks that touch the dates `from..=to`: what the scheduler checks.
pub async fn touching(db: &Db, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE ends_on >= $1 AND starts_on <= $2 ORDER BY id"
        )))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })
    .context("reading school breaks")
}

/// The server's breaks that touch the dates `from..=to`: for the digest's quiet days.
pub async fn touching_in(
    db: &Db,
    server_id: ServerId,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<SchoolBreak>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ends_on >= $2 AND starts_on <= $3 ORDER BY id"
        )))
        .bind(server_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })
    .context("reading a server's school breaks")
}
