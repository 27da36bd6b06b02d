//! Writing a new step: its row, its owners, the first entry of its log and its announcement,
//! in one trip where the engine allows it (one text on SQLite, one statement on PostgreSQL),
//! else in a transaction (a step made from a session's agreement).

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{ActionStep, NewStep};
use crate::store::outbox::Announcement;
use crate::store::{Backend, BeginWrite as _, Db, on_backend, together};

/// The new step's row, `$1` … `$8`: server, school, focus, title, due, resources, author,
/// time; the step as stored comes back (no read after the commit).
const INSERT_STEP: &str = "INSERT INTO action_steps
         (server_id, school_id, focus_id, title, due_on, status, resources, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7, $8, $8)
     RETURNING id, server_id, school_id, focus_id,
         (SELECT f.indicator_id FROM focus_indicators f WHERE f.id = action_steps.focus_id) AS indicator_id,
         title, due_on, status, resources, created_by, created_at, updated_at";

pub(super) async fn insert(
    db: &Db,
    new: &NewStep<'_>,
    agreement: Option<i64>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<ActionStep> {
    let made = match (db, agreement) {
        (Db::Sqlite(pool), None) => insert_on_sqlite(pool, new, now, announce).await.map(Some),
        (Db::Sqlite(pool), Some(_)) => {
            // A step made outside the one-text path: the next is read afresh.
            let made = insert_in_tx(db, new, agreement, now, announce).await;
            next_id::forget(&next_id::of(pool));
            made
        }
        (Db::Postgres(pool), None) => insert_on_postgres(pool, new, now, announce).await.map(Some),
        (Db::Postgres(_), Some(_)) => insert_in_tx(db, new, agreement, now, announce).await,
    }
    .context("adding a step")?;
    made.ok_or_else(|| crate::error::UserError::AlreadyAStep.into())
}

/// Binds the step's row to `query`, in [`INSERT_STEP`]'s order (`$1` … `$8`).
macro_rules! bind_step {
    ($query:expr, $new:expr, $now:expr) => {{
        let new: &NewStep<'_> = $new;
        $query
            .bind(new.server_id)
            .bind(new.school_id)
            .bind(new.focus_id)
            .bind(new.title.to_owned())
            .bind(new.due_on)
            .bind(new.resources.map(str::to_owned))
            .bind(new.author)
            .bind($now)
    }};
}

/// Binds what [`with_step`] writes with the step, in its order: the owners, the author and
/// the time, then the announcement's row.
macro_rules! bind_with_step {
    ($query:expr, $new:expr, $now:expr, $row:expr) => {{
        let new: &NewStep<'_> = $new;
        let mut query = $query;
        for owner in new.owners {
            query = query.bind(*owner);
        }
        query = query.bind(new.author).bind($now);
        if let Some(row) = $row {
            query = crate::store::outbox::bind_row!(query, row, $now);
        }
        query
    }};
}

/// The insert on SQLite, in one trip to the connection's thread while this process's write
/// turn is held: `BEGIN IMMEDIATE`, the step, its owners, its log's first entry, the
/// announcement that names it, and `COMMIT`, as one text. The announcement's line holds the
/// step's id, so the id is known before the insert ([`next_id`]). Should the text fail
/// midway, or the command be dropped during it, the connection is closed, which rolls the
/// transaction back ([`crate::store::KeptPool::whole`]).
async fn insert_on_sqlite(
    pool: &crate::store::KeptPool<sqlx::Sqlite>,
    new: &NewStep<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> sqlx::Result<ActionStep> {
    let _turn = pool.write_turn().await?;
    let ids = next_id::of(pool);
    let mut tries = 0;
    loop {
        tries += 1;
        let id = match next_id::known(&ids) {
            Some(id) => id,
            None => next_id::read(pool).await?,
        };
        match insert_as(pool, id, new, now, announce).await {
            Ok(step) => {
                next_id::made(&ids, step.id.get());
                return Ok(step);
            }
            Err(error) => {
                next_id::forget(&ids);
                // Only the step's id is unique among what the text writes without `ON
                // CONFLICT`: another writer took it (another process on the file, or a step
                // made outside this path). Read the next id afresh and try again.
                let taken = error
                    .as_database_error()
                    .is_some_and(|e| e.is_unique_violation());
                if !taken || tries > 2 {
                    return Err(error);
                }
            }
        }
    }
}

/// The one text of [`insert_on_sqlite`], with the step's id `id`.
async fn insert_as(
    pool: &crate::store::KeptPool<sqlx::Sqlite>,
    id: i64,
    new: &NewStep<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> sqlx::Result<ActionStep> {
    let row = announce.map(|a| a.row(id, now)).transpose()?;
    let text = whole_insert(Backend::Sqlite, new.owners.len(), row.is_some());
    let query = bind_step!(sqlx::query_as(sqlx::AssertSqlSafe(text)), new, now).bind(id);
    let mut conn = pool.whole().await?;
    // Every row of the text is gathered, so that it runs to its end: only the step's insert
    // returns one.
    let step: ActionStep = bind_with_step!(query, new, now, row.as_ref())
        .fetch_all(&mut *conn)
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)?;
    conn.ran();
    Ok(step)
}

/// The insert on PostgreSQL, in one round trip and no transaction: one statement that
/// writes the step (with an id this process drew from its sequence beforehand, [`ids`]), its
/// owners, its log's first entry and the announcement that names it, as data-modifying `WITH`
/// clauses. One statement is atomic on its own: all of it is saved, or none (a failure leaves
/// only a gap in the ids, as any rolled-back insert does).
async fn insert_on_postgres(
    pool: &crate::store::KeptPool<sqlx::Postgres>,
    new: &NewStep<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> sqlx::Result<ActionStep> {
    let block = ids::of(pool);
    let mut tries = 0;
    loop {
        tries += 1;
        let id = ids::take(&block, pool).await?;
        let row = announce.map(|a| a.row(id, now)).transpose()?;
        let text = whole_insert(Backend::Postgres, new.owners.len(), row.is_some());
        let query = bind_step!(sqlx::query_as(sqlx::AssertSqlSafe(text)), new, now).bind(id);
        match bind_with_step!(query, new, now, row.as_ref())
            .fetch_one(pool)
            .await
        {
            Ok(step) => return Ok(step),
            Err(error) => {
                // Only the step's id is unique among what the statement writes without `ON
                // CONFLICT`. Taken: the sequence went back under this process (a database
                // restored from an older backup, or dropped and made again) and another
                // writer had it. The rest of the block is as suspect: draw afresh.
                let taken = error.as_database_error().is_some_and(|e| {
                    e.is_unique_violation() && e.constraint() == Some("action_steps_pkey")
                });
                if !taken || tries > 2 {
                    return Err(error);
                }
                ids::forget(&block);
            }
        }
    }
}

/// Step ids on PostgreSQL, drawn from the table's sequence [`BLOCK`] at a time and handed
/// out by this process: a `/step add` then makes one round trip instead of two. Every id
/// comes from the sequence, so no other writer (another process, or a step made in a
/// transaction here) is given one this process holds; ids are unique, not gapless, as the
/// sequence's always were, and a restart leaves the rest of a block unused. A server's
/// commands all come to the process that holds its shard, so its steps' ids still grow in
/// the order they were made.
mod ids {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    /// Ids drawn at a time.
    const BLOCK: i64 = 32;

    /// The ids held for one database, smallest last, and the turn to draw more: the
    /// commands that find it empty together wait for one draw rather than each make one.
    #[derive(Default)]
    pub(super) struct Held {
        ids: Mutex<Vec<i64>>,
        drawing: tokio::sync::Mutex<()>,
    }

    pub(super) type Block = Arc<Held>;

    fn lock(block: &Block) -> std::sync::MutexGuard<'_, Vec<i64>> {
        block
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The ids held for the database `pool` opens, however many pools open it.
    pub(super) fn of(pool: &crate::store::KeptPool<sqlx::Postgres>) -> Block {
        static HELD: LazyLock<Mutex<HashMap<String, Block>>> = LazyLock::new(Mutex::default);
        let options = pool.connect_options();
        let database = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        HELD.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(database)
            .or_default()
            .clone()
    }

    /// The next id: one held, or the first of a block drawn now.
    pub(super) async fn take(
        block: &Block,
        pool: &crate::store::KeptPool<sqlx::Postgres>,
    ) -> sqlx::Result<i64> {
        if let Some(id) = lock(block).pop() {
            return Ok(id);
        }
        let _drawing = block.drawing.lock().await;
        // Another command may have drawn while this one waited for the turn.
        if let Some(id) = lock(block).pop() {
            return Ok(id);
        }
        let drawn: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('action_steps', 'id'))
             FROM generate_series(1, $1)",
        )
        .bind(BLOCK)
        .fetch_all(pool)
        .await?;
        let mut held = lock(block);
        held.extend(drawn);
        held.sort_unstable_by(|a, b| b.cmp(a));
        held.pop().ok_or(sqlx::Error::RowNotFound)
    }

    /// Lets go of the ids held: the next is drawn afresh.
    pub(super) fn forget(block: &Block) {
        lock(block).clear();
    }
}

/// The one text that writes a step whose id is `$9` with `owners` owners, `announced` or
/// not, and returns it as stored: on SQLite a transaction of its own (`BEGIN IMMEDIATE` …
/// `COMMIT`, [`insert_as`]), on PostgreSQL one statement ([`insert_on_postgres`]). Made once
/// for the usual one to three owners.
fn whole_insert(
    backend: Backend,
    owners: usize,
    announced: bool,
) -> std::borrow::Cow<'static, str> {
    fn make(backend: Backend, owners: usize, announced: bool) -> String {
        let overriding = match backend {
            Backend::Sqlite => "VALUES ($9, $1,",
            // The column is `GENERATED ALWAYS`: the id drawn from its sequence is given.
            Backend::Postgres => "OVERRIDING SYSTEM VALUE VALUES ($9, $1,",
        };
        let insert = INSERT_STEP
            .replacen("(server_id,", "(id, server_id,", 1)
            .replacen("VALUES ($1,", overriding, 1);
        let rest = with_step("$9", 10, owners, announced);
        match backend {
            Backend::Sqlite => {
                let mut parts = vec!["BEGIN IMMEDIATE".to_owned(), insert];
                parts.extend(rest);
                parts.push("COMMIT".to_owned());
                parts.join(";\n")
            }
            // The parts are siblings: none reads what another writes, and the owners' and
            // log's references to the step are checked at the statement's end.
            Backend::Postgres => {
                let parts: Vec<String> = std::iter::once(format!("step AS ({insert})"))
                    .chain(
                        rest.iter()
                            .enumerate()
                            .map(|(i, part)| format!("part_{i} AS ({part})")),
                    )
                    .collect();
                format!("WITH {}\nSELECT * FROM step", parts.join(",\n"))
            }
        }
    }
    static USUAL: std::sync::LazyLock<Vec<[[String; 2]; 2]>> = std::sync::LazyLock::new(|| {
        (0..=3)
            .map(|owners| {
                [Backend::Sqlite, Backend::Postgres]
                    .map(|backend| [make(backend, owners, false), make(backend, owners, true)])
            })
            .collect()
    });
    let engine = usize::from(backend == Backend::Postgres);
    match USUAL.get(owners) {
        Some(texts) => std::borrow::Cow::Borrowed(texts[engine][usize::from(announced)].as_str()),
        None => std::borrow::Cow::Owned(make(backend, owners, announced)),
    }
}

/// The id the next step will get in a SQLite file, known while this process holds the file's
/// write turn: SQLite has one writer, and every step this path makes is made under the turn.
/// It is read from the table's `AUTOINCREMENT` counter when not known (at the first step, or
/// after a failure), and the step is inserted with it; a step made elsewhere in the meantime
/// shows as that id already taken, and the caller reads it afresh.
mod next_id {
    use std::sync::{Arc, Mutex};

    use crate::store::write::PerFile;

    pub(super) type Next = Arc<Mutex<Option<i64>>>;

    /// The counter of the file `pool` opens, as the write turn is one per file.
    pub(super) fn of(pool: &crate::store::KeptPool<sqlx::Sqlite>) -> Next {
        static FILES: PerFile<Mutex<Option<i64>>> = PerFile::new();
        FILES.of(pool, Mutex::default)
    }

    fn lock(next: &Next) -> std::sync::MutexGuard<'_, Option<i64>> {
        next.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn known(next: &Next) -> Option<i64> {
        *lock(next)
    }

    pub(super) fn made(next: &Next, id: i64) {
        *lock(next) = id.checked_add(1);
    }

    pub(super) fn forget(next: &Next) {
        *lock(next) = None;
    }

    /// The next id as the file says: past both the counter and the largest id.
    pub(super) async fn read(pool: &crate::store::KeptPool<sqlx::Sqlite>) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT MAX(
                 COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'action_steps'), 0),
                 COALESCE((SELECT MAX(id) FROM action_steps), 0)
             ) + 1",
        )
        .fetch_one(pool)
        .await
    }
}

/// The insert in a transaction on sqlx's terms (PostgreSQL, and any step linked to an
/// agreement): the agreement, when there is one, is linked in it, and nothing is written
/// (None) when it already became a step.
async fn insert_in_tx(
    db: &Db,
    new: &NewStep<'_>,
    agreement: Option<i64>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> sqlx::Result<Option<ActionStep>> {
    on_backend!(db, pool => async {
        let mut tx = pool.begin_write().await?;
        let step: ActionStep = bind_step!(sqlx::query_as(INSERT_STEP), new, now)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(agreement) = agreement {
            // Only an agreement not yet a step is linked; a second click finds it taken
            // (under PostgreSQL the second UPDATE waits for the first and then sees its step).
            let linked = sqlx::query(
                "UPDATE session_agreements SET step_id = $1 WHERE id = $2 AND step_id IS NULL",
            )
            .bind(step.id)
            .bind(agreement)
            .execute(&mut *tx)
            .await?;
            if linked.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        // The owners, the log's first entry and the announcement go in one trip.
        let row = announce.map(|a| a.row(step.id.get(), now)).transpose()?;
        let rest = with_step("$1", 2, new.owners.len(), row.is_some());
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        let query = sqlx::query(sqlx::AssertSqlSafe(together(db.backend(), &rest))).bind(step.id);
        bind_with_step!(query, new, now, row.as_ref()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(step))
    }
    .await)
}

/// What is written with a new step whose id is the SQL `step`: its `owners` (from
/// `$first` on), the log's `created` entry by the next placeholder at the one after, and,
/// when `announced`, the outbox row from the one after that.
fn with_step(step: &str, first: usize, owners: usize, announced: bool) -> Vec<String> {
    let author = first + owners;
    let mut statements = Vec::with_capacity(3);
    if owners > 0 {
        let rows: Vec<String> = (0..owners)
            .map(|i| format!("({step}, ${})", first + i))
            .collect();
        statements.push(format!(
            "INSERT INTO step_owners (step_id, user_id) VALUES {} ON CONFLICT DO NOTHING",
            rows.join(", ")
        ));
    }
    statements.push(format!(
        "INSERT INTO step_updates (step_id, author_id, at, kind, new_status)
         VALUES ({step}, ${author}, ${}, 'created', 'planned')",
        author + 1
    ));
    if announced {
        statements.push(crate::store::outbox::insert_sql(author + 2));
    }
    statements
}
