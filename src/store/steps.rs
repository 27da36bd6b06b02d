//! Action steps, their owners, and their append-only update log.

mod insert;
mod suggest;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::barriers::{NewBarrier, insert_barrier};
use super::outbox::{Announcement, announce_in};
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
use crate::domain::plan::StepStatus;
use insert::insert;
pub use suggest::suggest;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ActionStep {
    pub id: StepId,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub focus_id: i64,
    /// The framework indicator the step serves (from its focus indicator).
    pub indicator_id: String,
    pub title: String,
    pub due_on: NaiveDate,
    pub status: StepStatus,
    pub resources: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StepUpdate {
    pub id: i64,
    pub step_id: StepId,
    pub author_id: UserId,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub note: Option<String>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    /// For an `edited` entry: what changed (`title`, `due`, `indicator`, `resources`), and
    /// its value before and after (a due date as `2026-12-05`, an indicator by its id).
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewStep<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub focus_id: i64,
    pub title: &'a str,
    pub due_on: NaiveDate,
    pub resources: Option<&'a str>,
    pub owners: &'a [UserId],
    pub author: UserId,
}

pub(super) const SELECT: &str =
    "SELECT s.id, s.server_id, s.school_id, s.focus_id, f.indicator_id, s.title,
            s.due_on, s.status, s.resources, s.created_by, s.created_at, s.updated_at
     FROM action_steps s JOIN focus_indicators f ON f.id = s.focus_id";

/// Adds a step with its owners and a `created` entry in its log, in one transaction.
pub async fn add(
    db: &Db,
    new: &NewStep<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<ActionStep> {
    insert(db, new, None, now, announce).await
}

/// Adds a step made from a session's agreed next step (**Make it a step**) and links the
/// agreement to it, in one transaction: refused (a `UserError`, nothing written) when the
/// agreement already became a step, so two clicks at once make one step.
pub async fn add_for_agreement(
    db: &Db,
    new: &NewStep<'_>,
    agreement_id: i64,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<ActionStep> {
    insert(db, new, Some(agreement_id), now, announce).await
}

/// The step with this id in this server (never another server's).
pub async fn get(db: &Db, server_id: ServerId, id: StepId) -> anyhow::Result<Option<ActionStep>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.id = $1 AND s.server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a step")
}

pub async fn owners(db: &Db, step_id: StepId) -> anyhow::Result<Vec<UserId>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT user_id FROM step_owners WHERE step_id = $1 ORDER BY user_id")
            .bind(step_id)
            .fetch_all(pool)
            .await
    })
    .context("reading a step's owners")
}

/// The owners of every step of a school, in one query: step → owners.
pub async fn owners_at(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<std::collections::HashMap<StepId, Vec<UserId>>> {
    let rows: Vec<(StepId, UserId)> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT o.step_id, o.user_id FROM step_owners o JOIN action_steps s ON s.id = o.step_id
             WHERE s.server_id = $1 AND s.school_id = $2 ORDER BY o.step_id, o.user_id",
        )
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("reading the owners of a school's steps")?;
    let mut owners: std::collections::HashMap<StepId, Vec<UserId>> =
        std::collections::HashMap::new();
    for (step, person) in rows {
        owners.entry(step).or_default().push(person);
    }
    Ok(owners)
}

/// A progress note and/or a status change, with an optional barrier raised in the same
/// transaction (a step set to blocked always has one).
#[derive(Clone, Debug)]
pub struct Change<'a> {
    pub note: Option<&'a str>,
    pub status: Option<&'a str>,
    pub barrier: Option<NewBarrier<'a>>,
    pub author: UserId,
}

/// Applies a change and logs it; returns the step as it now is.
pub async fn update(
    db: &Db,
    step: &ActionStep,
    change: &Change<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<ActionStep> {
    // The status read here is logged as the change's old status, so no other update may
    // change it before this one commits: on PostgreSQL the row is locked as it is read (a
    // second update waits, then reads what the first wrote); SQLite's `BEGIN IMMEDIATE`
    // already lets one writer at a time in.
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE",
    };
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let old: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT status FROM action_steps WHERE id = $1 AND server_id = $2{lock}"
        )))
            .bind(step.id)
            .bind(step.server_id)
            .fetch_one(&mut *tx)
            .await?;
        let new = change.status.unwrap_or(old.as_str()).to_owned();
        sqlx::query("UPDATE action_steps SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(new.clone())
            .bind(now)
            .bind(step.id)
            .execute(&mut *tx)
            .await?;
        let changed = new != old;
        sqlx::query(
            "INSERT INTO step_updates (step_id, author_id, at, kind, note, old_status, new_status)
             VALUES ($1, $2, $3, 'progress', $4, $5, $6)",
        )
        .bind(step.id)
        .bind(change.author)
        .bind(now)
        .bind(change.note.map(str::to_owned))
        .bind(changed.then(|| old.clone()))
        .bind(changed.then(|| new.clone()))
        .execute(&mut *tx)
        .await?;
        if let Some(barrier) = &change.barrier {
            insert_barrier!(&mut *tx, barrier, now).await?;
        }
        announce_in!(tx, announce, step.id.get(), now);
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("updating a step")?;
    get(db, step.server_id, step.id)
        .await?
        .context("the step just updated is missing")
}

/// Adds or removes an owner, and logs it; false when nothing changed.
pub async fn assign(
    db: &Db,
    step: &ActionStep,
    user: UserId,
    add: bool,
    author: UserId,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let sql = if add {
            "INSERT INTO step_owners (step_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM step_owners WHERE step_id = $1 AND user_id = $2"
        };
        let changed = sqlx::query(sql)
            .bind(step.id)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if changed {
            sqlx::query(
                "INSERT INTO step_updates (step_id, author_id, at, kind, note) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(step.id)
            .bind(author)
            .bind(now)
            .bind(if add { "assigned" } else { "unassigned" })
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE action_steps SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(step.id)
                .execute(&mut *tx)
                .await?;
            announce_in!(tx, announce, step.id.get(), now);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed)
    })
    .context("changing a step's owners")
}

/// What `/step edit` changes: each field given is set (resources `Some(None)` clears them).
#[derive(Clone, Debug, Default)]
pub struct StepEdit<'a> {
    pub title: Option<&'a str>,
    pub due_on: Option<NaiveDate>,
    /// The focus indicator's row id and its framework indicator id.
    pub focus: Option<(i64, &'a str)>,
    pub resources: Option<Option<&'a str>>,
}

/// One change `/step edit` made, as its log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// `title`, `due`, `indicator` or `resources`.
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The changes `edit` would make to `step`: the fields given whose value differs.
pub fn changes(step: &ActionStep, edit: &StepEdit<'_>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(FieldChange { field, old, new });
        }
    };
    if let Some(title) = edit.title {
        push("title", Some(step.title.clone()), Some(title.to_owned()));
    }
    if let Some(due) = edit.due_on {
        push("due", Some(step.due_on.to_string()), Some(due.to_string()));
    }
    if let Some((_, indicator)) = edit.focus {
        push(
            "indicator",
            Some(step.indicator_id.clone()),
            Some(indicator.to_owned()),
        );
    }
    if let Some(resources) = edit.resources {
        push(
            "resources",
            step.resources.clone(),
            resources.map(str::to_owned),
        );
    }
    out
}

/// Applies an edit and logs each changed field (who, when, from what to what), in one
/// transaction; returns the changes made (none: nothing is written) and the step as it is.
/// Changes are worked out against the step as stored inside the transaction.
pub async fn edit(
    db: &Db,
    step: &ActionStep,
    edit: &StepEdit<'_>,
    author: UserId,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<(Vec<FieldChange>, ActionStep)> {
    let made = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let current: ActionStep = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE s.id = $1 AND s.server_id = $2"
        )))
        .bind(step.id)
        .bind(step.server_id)
        .fetch_one(&mut *tx)
        .await?;
        let made = changes(&current, edit);
        if !made.is_empty() {
            sqlx::query(
                "UPDATE action_steps SET title = $1, due_on = $2, focus_id = $3, resources = $4, updated_at = $5
                 WHERE id = $6 AND server_id = $7",
            )
            .bind(edit.title.map_or_else(|| current.title.clone(), str::to_owned))
            .bind(edit.due_on.unwrap_or(current.due_on))
            .bind(edit.focus.map_or(current.focus_id, |(focus, _)| focus))
            .bind(edit.resources.map_or_else(|| current.resources.clone(), |r| r.map(str::to_owned)))
            .bind(now)
            .bind(step.id)
            .bind(step.server_id)
            .execute(&mut *tx)
            .await?;
            for change in &made {
                sqlx::query(
                    "INSERT INTO step_updates (step_id, author_id, at, kind, field, old_value, new_value)
                     VALUES ($1, $2, $3, 'edited', $4, $5, $6)",
                )
                .bind(step.id)
                .bind(author)
                .bind(now)
                .bind(change.field)
                .bind(change.old.clone())
                .bind(change.new.clone())
                .execute(&mut *tx)
                .await?;
            }
            announce_in!(tx, announce, step.id.get(), now);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(made)
    })
    .context("editing a step")?;
    let after = get(db, step.server_id, step.id)
        .await?
        .context("the step just edited is missing")?;
    Ok((made, after))
}

/// The step's log, oldest first.
pub async fn updates(db: &Db, step: &ActionStep) -> anyhow::Result<Vec<StepUpdate>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, step_id, author_id, at, kind, note, old_status, new_status, field, old_value, new_value
             FROM step_updates WHERE step_id = $1 ORDER BY at, id",
        )
        .bind(step.id)
        .fetch_all(pool)
        .await
    })
    .context("reading a step's updates")
}

/// Which steps `/step list` shows. Every field narrows; all are optional.
#[derive(Clone, Debug, Default)]
pub struct StepFilter<'a> {
    pub school_id: Option<SchoolId>,
    pub owner: Option<UserId>,
    pub indicator_id: Option<&'a str>,
    pub status: Option<&'a str>,
    /// Open steps due before this date.
    pub overdue_on: Option<NaiveDate>,
}

/// The conditions of a [`StepFilter`] on `action_steps s JOIN focus_indicators f`, binding
/// `$1` server, `$2` school, `$3` owner, `$4` indicator, `$5` status, `$6` overdue-on date.
const MATCHES: &str = "s.server_id = $1
               AND ($2 IS NULL OR s.school_id = $2)
               AND ($3 IS NULL OR EXISTS (SELECT 1 FROM step_owners o WHERE o.step_id = s.id AND o.user_id = $3))
               AND ($4 IS NULL OR f.indicator_id = $4)
               AND ($5 IS NULL OR s.status = $5)
               AND ($6 IS NULL OR (s.due_on < $6 AND s.status NOT IN ('done', 'dropped')))";

/// Binds a [`StepFilter`] to a query written with [`MATCHES`].
macro_rules! bind_filter {
    ($query:expr, $server_id:expr, $filter:expr) => {
        $query
            .bind($server_id)
            .bind($filter.school_id)
            .bind($filter.owner)
            .bind($filter.indicator_id.map(str::to_owned))
            .bind($filter.status.map(str::to_owned))
            .bind($filter.overdue_on)
    };
}

/// Writes the `WHERE` of a [`StepFilter`] on `action_steps s` (joined to
/// `focus_indicators f` when it filters by indicator) into a query builder: only the
/// conditions the filter sets, so that each query can use the index that fits it.
macro_rules! push_filter {
    ($query:expr, $server_id:expr, $filter:expr) => {{
        let filter = $filter;
        $query.push(" WHERE s.server_id = ").push_bind($server_id);
        if let Some(school) = filter.school_id {
            $query.push(" AND s.school_id = ").push_bind(school);
        }
        if let Some(owner) = filter.owner {
            $query
                .push(" AND EXISTS (SELECT 1 FROM step_owners o WHERE o.step_id = s.id AND o.user_id = ")
                .push_bind(owner)
                .push(")");
        }
        if let Some(indicator) = filter.indicator_id {
            $query.push(" AND f.indicator_id = ").push_bind(indicator.to_owned());
        }
        if let Some(status) = filter.status {
            $query.push(" AND s.status = ").push_bind(status.to_owned());
        }
        if let Some(day) = filter.overdue_on {
            $query
                .push(" AND s.due_on < ")
                .push_bind(day)
                .push(" AND s.status NOT IN ('done', 'dropped')");
        }
    }};
}

/// Steps in the server matching the filter, by due date.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    filter: &StepFilter<'_>,
) -> anyhow::Result<Vec<ActionStep>> {
    on_backend!(db, pool => {
        bind_filter!(
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE {MATCHES} ORDER BY s.due_on, s.id"
            ))),
            server_id,
            filter
        )
        .fetch_all(pool)
        .await
    })
    .context("listing steps")
}

/// The first steps of a list, as one screen shows them, and how many there are in all.
#[derive(Clone, Debug, Default)]
pub struct StepPage {
    /// The first steps shown, by due date.
    pub steps: Vec<ActionStep>,
    /// The owners of each of those steps.
    pub owners: std::collections::HashMap<StepId, Vec<UserId>>,
    /// How many steps the list shows in all (more than `steps` when it goes on); past
    /// [`COUNT_CAP`], only that there are more.
    pub shown: i64,
    /// Done and dropped steps left out (with `closed` false), counted as far as `shown`.
    pub hidden: i64,
}

/// How far a list's counts go: a count past it reads "over 1,000".
pub const COUNT_CAP: i64 = 1_000;

/// The first `limit` steps matching the filter, by due date, with their owners, and the
/// counts of the whole list (each up to just past [`COUNT_CAP`]): what a screen shows of a plan of any size, in three queries
/// whatever the school's size. Done and dropped steps are counted but left out unless
/// `closed`.
pub async fn page(
    db: &Db,
    server_id: ServerId,
    filter: &StepFilter<'_>,
    closed: bool,
    limit: i64,
) -> anyhow::Result<StepPage> {
    // Only the conditions the filter sets are written, so that the indexes serve them: the
    // counts read the school's index alone, the screen the first rows in due-date order. A
    // count stops past `COUNT_CAP`: counting every entry of a plan of thousands would cost
    // more than the screen itself. On PostgreSQL the counts are planned for the school
    // asked about each time, not once for any school: a plan made once, for a school of
    // average size, read a whole server's steps with a sequential scan to count a small
    // school's few (7 ms for 20 of 6,300, in `cargo bench --bench commands`).
    let planned_once = db.backend() == crate::store::Backend::Sqlite;
    let (shown, hidden): (i64, i64) = on_backend!(db, pool => {
        let mut query = sqlx::QueryBuilder::new("SELECT ");
        let statuses: &[&str] = if closed {
            &[""]
        } else {
            &[" AND s.status NOT IN ('done', 'dropped')", " AND s.status IN ('done', 'dropped')"]
        };
        for (n, status) in statuses.iter().enumerate() {
            if n > 0 {
                query.push(", ");
            }
            query.push("(SELECT COUNT(*) FROM (SELECT 1 FROM action_steps s");
            if filter.indicator_id.is_some() {
                query.push(" JOIN focus_indicators f ON f.id = s.focus_id");
            }
            push_filter!(query, server_id, filter);
            query
                .push(*status)
                .push(" LIMIT ")
                .push_bind(COUNT_CAP + 1)
                .push(format!(") AS counted_{n})"));
        }
        if closed {
            query.push(", CAST(0 AS BIGINT)");
        }
        query
            .build_query_as()
            .persistent(planned_once)
            .fetch_one(pool)
            .await
    })
    .context("counting the steps of a list")?;
    let steps: Vec<ActionStep> = on_backend!(db, pool => {
        let mut query = sqlx::QueryBuilder::new(SELECT);
        push_filter!(query, server_id, filter);
        if !closed {
            query.push(" AND s.status NOT IN ('done', 'dropped')");
        }
        query.push(" ORDER BY s.due_on, s.id LIMIT ").push_bind(limit);
        query.build_query_as().fetch_all(pool).await
    })
    .context("listing a screen of steps")?;
    let owners = owners_of(db, &steps).await?;
    Ok(StepPage {
        steps,
        owners,
        shown,
        hidden,
    })
}

/// The owners of these steps, in one query: step → owners.
async fn owners_of(
    db: &Db,
    steps: &[ActionStep],
) -> anyhow::Result<std::collections::HashMap<StepId, Vec<UserId>>> {
    let mut owners: std::collections::HashMap<StepId, Vec<UserId>> =
        std::collections::HashMap::new();
    if steps.is_empty() {
        return Ok(owners);
    }
    // The ids are bound, so the statement's text depends only on how many there are (a
    // screen's worth at most): each count is prepared once per connection and reused, where
    // ids written into the text would make every screen a new statement to prepare and cache.
    let slots: Vec<String> = (1..=steps.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT step_id, user_id FROM step_owners WHERE step_id IN ({})
         ORDER BY step_id, user_id",
        slots.join(", ")
    );
    let rows: Vec<(StepId, UserId)> = on_backend!(db, pool => {
        // Only numbered placeholders are formatted in; the ids are bound.
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for step in steps {
            query = query.bind(step.id);
        }
        query.fetch_all(pool).await
    })
    .context("reading the owners of a screen of steps")?;
    for (step, person) in rows {
        owners.entry(step).or_default().push(person);
    }
    Ok(owners)
}

/// How many steps the server has (all schools).
pub async fn count(db: &Db, server_id: ServerId) -> anyhow::Result<i64> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM action_steps WHERE server_id = $1")
            .bind(server_id)
            .fetch_one(pool)
            .await
    })
    .context("counting steps")
}
