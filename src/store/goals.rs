//! Principals' growth goals and the notes on them. Who may read one is
//! `Access::may_see_goal`: these functions return what is stored, and the caller checks.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::goal::{GoalNote, GrowthGoal};
use crate::domain::ids::{ServerId, UserId};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    server_id: ServerId,
    user_id: UserId,
    text: String,
    indicator_id: Option<String>,
    set_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl From<Row> for GrowthGoal {
    fn from(row: Row) -> Self {
        GrowthGoal {
            id: row.id,
            server_id: row.server_id,
            user_id: row.user_id,
            text: row.text,
            indicator_id: row.indicator_id,
            set_at: row.set_at,
            ended_at: row.ended_at,
        }
    }
}

/// The person's open goal in this server, if any.
pub async fn open(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
) -> anyhow::Result<Option<GrowthGoal>> {
    let row: Option<Row> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, server_id, user_id, text, indicator_id, set_at, ended_at FROM growth_goals
             WHERE server_id = $1 AND user_id = $2 AND ended_at IS NULL",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
    })
    .context("reading a growth goal")?;
    Ok(row.map(GrowthGoal::from))
}

/// Sets the person's goal: the open one (if any) ends now, in the same transaction. Returns
/// the new goal and the text of the goal it ended.
pub async fn set(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
    text: &str,
    indicator_id: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<(GrowthGoal, Option<String>)> {
    let ended = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let ended: Option<String> = sqlx::query_scalar(
            "SELECT text FROM growth_goals WHERE server_id = $1 AND user_id = $2 AND ended_at IS NULL",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE growth_goals SET ended_at = $1 WHERE server_id = $2 AND user_id = $3 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(server_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO growth_goals (server_id, user_id, text, indicator_id, set_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(server_id)
        .bind(user_id)
        .bind(text.to_owned())
        .bind(indicator_id.map(str::to_owned))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(ended)
    })
    .context("setting a growth goal")?;
    let goal = open(db, server_id, user_id)
        .await?
        .context("the goal just set is missing")?;
    Ok((goal, ended))
}

/// Adds a note to the goal.
pub async fn add_note(db: &Db, goal_id: i64, note: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query("INSERT INTO goal_notes (goal_id, note, at) VALUES ($1, $2, $3)")
            .bind(goal_id)
            .bind(note.to_owned())
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .context("adding a note to a growth goal")?;
    Ok(())
}

/// The goal's notes, newest first.
pub async fn notes(db: &Db, goal_id: i64) -> anyhow::Result<Vec<GoalNote>> {
    let rows: Vec<(String, DateTime<Utc>)> = on_backend!(db, pool => {
        sqlx::query_as("SELECT note, at FROM goal_notes WHERE goal_id = $1 ORDER BY at DESC, id DESC")
            .bind(goal_id)
            .fetch_all(pool)
            .await
    })
    .context("reading a growth goal's notes")?;
    Ok(rows
        .into_iter()
        .map(|(note, at)| GoalNote { note, at })
        .collect())
}

/// Inside the transaction `$tx` that confirms a check-in of `$person` in `$server`: each
/// answer about their goal (`$notes`, texts) becomes a note on their open goal.
macro_rules! note_in {
    ($tx:expr, $server:expr, $person:expr, $notes:expr, $now:expr) => {{
        let notes: &[String] = $notes;
        for note in notes {
            sqlx::query(
                "INSERT INTO goal_notes (goal_id, note, at)
                 SELECT id, $1, $2 FROM growth_goals
                 WHERE server_id = $3 AND user_id = $4 AND ended_at IS NULL",
            )
            .bind(note.clone())
            .bind($now)
            .bind($server)
            .bind($person)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use note_in;
