//! What step autocomplete offers: a school's steps by number or title, in any case.

use anyhow::Context as _;

use super::{ActionStep, SELECT};
use crate::domain::ids::{SchoolId, ServerId};
use crate::store::{Db, on_backend};

/// Up to `limit` steps of these schools whose number starts with `typed` or whose title
/// holds it (any case), by due date: what autocomplete offers, read in one query whatever
/// the size of the plans. An empty `typed` matches every step.
pub async fn suggest(
    db: &Db,
    server_id: ServerId,
    schools: &[SchoolId],
    typed: &str,
    limit: i64,
) -> anyhow::Result<Vec<ActionStep>> {
    if schools.is_empty() {
        return Ok(Vec::new());
    }
    let folded = typed.to_lowercase();
    if matches!(db, Db::Sqlite(_)) && !folded.is_ascii() {
        return suggest_folding_here(db, server_id, schools, &folded, limit).await;
    }
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    on_backend!(db, pool => {
        let mut query = of_schools(server_id, schools);
        query.push(" AND (CAST(s.id AS TEXT) LIKE ");
        query.push_bind(format!("{escaped}%"));
        query.push(" ESCAPE '\\' OR LOWER(s.title) LIKE ");
        query.push_bind(format!("%{escaped}%"));
        query.push(" ESCAPE '\\') ORDER BY s.due_on, s.id LIMIT ");
        query.push_bind(limit);
        query.build_query_as().fetch_all(pool).await
    })
    .context("finding steps to suggest")
}

/// [`suggest`] for text beyond ASCII on SQLite, whose `LOWER` folds only ASCII letters
/// ("élèves" would miss "Élèves"): the schools' steps are read by due date and their titles
/// folded here, until `limit` match. (A step number is ASCII: it cannot match.)
async fn suggest_folding_here(
    db: &Db,
    server_id: ServerId,
    schools: &[SchoolId],
    folded: &str,
    limit: i64,
) -> anyhow::Result<Vec<ActionStep>> {
    use futures::TryStreamExt as _;
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut found = Vec::new();
    on_backend!(db, pool => {
        let mut query = of_schools(server_id, schools);
        query.push(" ORDER BY s.due_on, s.id");
        let mut rows = query.build_query_as::<ActionStep>().fetch(pool);
        while found.len() < limit {
            match rows.try_next().await? {
                Some(step) if step.title.to_lowercase().contains(folded) => found.push(step),
                Some(_) => {}
                None => break,
            }
        }
        Ok::<_, sqlx::Error>(())
    })
    .context("finding steps to suggest")?;
    Ok(found)
}

/// The steps of `schools` in `server_id`, for a `WHERE` to go on.
fn of_schools<DB: sqlx::Database>(
    server_id: ServerId,
    schools: &[SchoolId],
) -> sqlx::QueryBuilder<DB>
where
    DB::Arguments: Default,
    for<'t> ServerId: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> SchoolId: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::QueryBuilder::new(SELECT);
    query.push(" WHERE s.server_id = ").push_bind(server_id);
    query.push(" AND s.school_id IN (");
    let mut each = query.separated(", ");
    for school in schools {
        each.push_bind(*school);
    }
    query.push(")");
    query
}
