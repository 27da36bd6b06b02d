//! `/privacy forget` in the store: one transaction that erases what is a person's alone in a
//! server, puts a stand-in ("a former member", `former_members`) in their place in the records
//! the team shares, rewrites text that named them, leaves the mark that keeps them from being
//! recorded or written to again (`forgotten_contacts`) and records the audit.
//!
//! Every column of the schema that can hold a person's id is in [`THEIRS`] or [`SHARED`];
//! every text column that can name them is in [`TEXTS`]. A table added later belongs in one of
//! them (the e2e test `forget::` scans every table and column of both engines).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::forget::{Scrub, contact_key};
use crate::domain::ids::{FORMER_MEMBER_CEILING, ServerId, UserId};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia, FORMER_MEMBER};

/// Who asked for the forget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgetter {
    /// The person themselves (`/privacy forget`): the audit names their stand-in, never them.
    Themselves,
    /// An admin, for someone who has left (`/privacy forget person:`).
    Admin(UserId),
}

/// What is the person's alone, deleted: `(table, column holding the person, which rows are in
/// the server ($1))`. Children first (the rows that hang off them are deleted in
/// [`forget`] before these).
const THEIRS: &[(&str, &str, &str)] = &[
    ("growth_goals", "user_id", "server_id = $1"),
    (
        "coaching_session_people",
        "user_id",
        "session_id IN (SELECT id FROM coaching_sessions WHERE server_id = $1)",
    ),
    ("away_periods", "person_id", "server_id = $1"),
    ("feed_optouts", "user_id", "server_id = $1"),
    ("reminder_optouts", "person_id", "server_id = $1"),
    ("digest_snoozes", "coach_id", "server_id = $1"),
    ("coach_digests", "coach_id", "server_id = $1"),
    ("schedules", "person_id", "server_id = $1"),
    // Every message to them: what is sent to a person in DM is theirs (their prompts, the
    // notices and digests they were sent), and what waits is never to be sent.
    ("outbox", "person_id", "server_id = $1"),
    ("member_roles", "user_id", "server_id = $1"),
    ("members", "user_id", "server_id = $1"),
];

/// Where the person appears in a record the team shares, their id becomes the stand-in's:
/// `(table, column, which rows are in the server ($1))`.
const SHARED: &[(&str, &str, &str)] = &[
    ("action_steps", "created_by", "server_id = $1"),
    (
        "step_owners",
        "user_id",
        "step_id IN (SELECT id FROM action_steps WHERE server_id = $1)",
    ),
    (
        "step_updates",
        "author_id",
        "step_id IN (SELECT id FROM action_steps WHERE server_id = $1)",
    ),
    ("barriers", "raised_by", "server_id = $1"),
    ("barriers", "resolved_by", "server_id = $1"),
    ("barrier_notes", "author_id", "server_id = $1"),
    ("indicator_levels", "set_by", "server_id = $1"),
    ("focus_indicators", "created_by", "server_id = $1"),
    ("cycle_stages", "moved_by", "server_id = $1"),
    ("assessments", "imported_by", "server_id = $1"),
    ("role_mappings", "created_by", "server_id = $1"),
    ("school_breaks", "created_by", "server_id = $1"),
    ("school_feeds", "set_by", "server_id = $1"),
    ("frameworks", "loaded_by", "server_id = $1"),
    ("coaching_sessions", "logged_by", "server_id = $1"),
    ("audit_events", "actor_id", "server_id = $1"),
    ("audit_events", "subject_id", "server_id = $1"),
    ("retention_settings", "set_by", "server_id = $1"),
    // Check-ins stay as rows (summaries count them), without their answers.
    ("checkin_sessions", "person_id", "server_id = $1"),
    ("checkin_sessions", "started_by", "server_id = $1"),
    ("checkin_misses", "person_id", "server_id = $1"),
    ("checkin_skips", "person_id", "server_id = $1"),
    ("away_periods", "created_by", "server_id = $1"),
    ("schedules", "created_by", "server_id = $1"),
];

/// How a key column decodes.
#[derive(Clone, Copy)]
enum Key {
    Int(&'static str),
    Text(&'static str),
}

/// A table whose text may name the person: its key, its text columns, and which rows are in
/// the server ($1). `outbox_files` and the report records come before `outbox`, whose keys
/// they repeat (the scope reads the keys before they are rewritten).
struct Texts {
    table: &'static str,
    key: &'static [Key],
    columns: &'static [&'static str],
    scope: &'static str,
}

const ID: &[Key] = &[Key::Int("id")];
const IN_SERVER: &str = "server_id = $1";

const TEXTS: &[Texts] = &[
    Texts {
        table: "action_steps",
        key: ID,
        columns: &["title", "resources"],
        scope: IN_SERVER,
    },
    Texts {
        table: "step_updates",
        key: ID,
        columns: &["note", "old_value", "new_value"],
        scope: "step_id IN (SELECT id FROM action_steps WHERE server_id = $1)",
    },
    Texts {
        table: "barriers",
        key: ID,
        columns: &["text", "resolution"],
        scope: IN_SERVER,
    },
    Texts {
        table: "barrier_notes",
        key: ID,
        columns: &["text"],
        scope: IN_SERVER,
    },
    Texts {
        table: "indicator_levels",
        key: ID,
        columns: &["note"],
        scope: IN_SERVER,
    },
    Texts {
        table: "cycle_stages",
        key: ID,
        columns: &["note"],
        scope: IN_SERVER,
    },
    Texts {
        table: "assessments",
        key: ID,
        columns: &["name", "file_name"],
        scope: IN_SERVER,
    },
    Texts {
        table: "school_breaks",
        key: ID,
        columns: &["label"],
        scope: IN_SERVER,
    },
    Texts {
        table: "away_periods",
        key: ID,
        columns: &["note"],
        scope: IN_SERVER,
    },
    Texts {
        table: "coaching_sessions",
        key: ID,
        columns: &["worked_on", "noticed"],
        scope: IN_SERVER,
    },
    Texts {
        table: "session_agreements",
        key: ID,
        columns: &["text"],
        scope: "session_id IN (SELECT id FROM coaching_sessions WHERE server_id = $1)",
    },
    Texts {
        table: "growth_goals",
        key: ID,
        columns: &["text"],
        scope: IN_SERVER,
    },
    Texts {
        table: "goal_notes",
        key: ID,
        columns: &["note"],
        scope: "goal_id IN (SELECT id FROM growth_goals WHERE server_id = $1)",
    },
    Texts {
        table: "checkin_sessions",
        key: ID,
        // `origin` is the key of the outbox row that started it, which names the person.
        columns: &[
            "flow_title",
            "opener",
            "plan",
            "prompted",
            "steps",
            "origin",
        ],
        scope: IN_SERVER,
    },
    Texts {
        table: "checkin_answers",
        key: &[Key::Int("session_id"), Key::Int("position")],
        columns: &["answer", "about"],
        scope: "session_id IN (SELECT id FROM checkin_sessions WHERE server_id = $1)",
    },
    Texts {
        table: "checkin_misses",
        key: &[Key::Text("key")],
        columns: &["key", "flow_title", "reason"],
        scope: IN_SERVER,
    },
    Texts {
        table: "checkin_skips",
        key: &[Key::Text("key")],
        columns: &["key", "reason"],
        scope: IN_SERVER,
    },
    Texts {
        table: "digest_snoozes",
        key: &[Key::Int("coach_id"), Key::Text("item")],
        columns: &["item"],
        scope: IN_SERVER,
    },
    Texts {
        table: "audit_events",
        key: ID,
        columns: &["scope"],
        scope: IN_SERVER,
    },
    Texts {
        table: "outbox_files",
        key: &[Key::Text("outbox_key"), Key::Text("filename")],
        columns: &["outbox_key", "filename"],
        scope: "outbox_key IN (SELECT key FROM outbox WHERE server_id = $1)",
    },
    Texts {
        table: "coach_digests",
        key: ID,
        columns: &["outbox_key"],
        scope: IN_SERVER,
    },
    Texts {
        table: "indicator_summaries",
        key: ID,
        columns: &["outbox_key", "levels"],
        scope: IN_SERVER,
    },
    Texts {
        table: "outbox",
        key: ID,
        columns: &["key", "payload", "last_error"],
        scope: IN_SERVER,
    },
];

/// A key's value, read back to find the row again.
enum KeyValue {
    Int(i64),
    Text(String),
}

/// Whether coachbot holds anything about `person` in `server`: their member row, or their id
/// in any record.
pub async fn holds_anything(db: &Db, server: ServerId, person: UserId) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        async {
            let mut conn = pool.acquire().await?;
            for (table, column, scope) in THEIRS.iter().chain(SHARED) {
                let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(1 AS BIGINT) FROM {table} WHERE {column} = $2 AND {scope} LIMIT 1"
                )))
                .bind(server)
                .bind(person)
                .fetch_optional(&mut *conn)
                .await?;
                if found.is_some() {
                    return Ok::<_, sqlx::Error>(true);
                }
            }
            Ok(false)
        }
        .await
    })
    .context("looking for what is held about a person")
}

/// Whether `person` was forgotten in `server` and has not used a command there since: nothing
/// is recorded about them from member sync, and nothing is sent to them.
pub async fn is_forgotten(db: &Db, server: ServerId, person: UserId) -> anyhow::Result<bool> {
    let key = contact_key(server, person);
    let found: Option<i64> = on_backend!(db, pool => {
        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM forgotten_contacts WHERE server_id = $1 AND contact = $2")
            .bind(server)
            .bind(key.clone())
            .fetch_optional(pool)
            .await
    })
    .context("reading whether a person was forgotten")?;
    Ok(found.is_some())
}

/// Erases what is `person`'s alone in `server` and puts a stand-in in their place in shared
/// records, in one transaction; `names` are the names they went by (the stored one is added).
/// Returns the stand-in, or None when nothing was held about them.
pub async fn forget(
    db: &Db,
    server: ServerId,
    person: UserId,
    names: &[String],
    by: Forgetter,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<UserId>> {
    let like = match db {
        Db::Sqlite(_) => "LIKE",
        Db::Postgres(_) => "ILIKE",
    };
    let contact = contact_key(server, person);
    on_backend!(db, pool => {
        async {
            let mut tx = pool.begin_write().await?;
            let mut held = false;
            for (table, column, scope) in THEIRS.iter().chain(SHARED) {
                let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(1 AS BIGINT) FROM {table} WHERE {column} = $2 AND {scope} LIMIT 1"
                )))
                .bind(server)
                .bind(person)
                .fetch_optional(&mut *tx)
                .await?;
                if found.is_some() {
                    held = true;
                    break;
                }
            }
            if !held {
                return Ok::<_, anyhow::Error>(None);
            }
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT display_name FROM members WHERE server_id = $1 AND user_id = $2",
            )
            .bind(server)
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;

            // The stand-in: a small number no Discord id can be, named "a former member".
            let raw: i64 = sqlx::query_scalar(
                "INSERT INTO former_members (server_id, forgotten_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(server)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let stand_in = u64::try_from(raw)
                .ok()
                .filter(|id| *id < FORMER_MEMBER_CEILING)
                .map(UserId::new)
                .context("the former members' ids ran out")?;
            sqlx::query(
                "INSERT INTO members (server_id, user_id, display_name, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(server)
            .bind(stand_in)
            .bind(FORMER_MEMBER)
            .bind(now)
            .execute(&mut *tx)
            .await?;

            // What hangs off their own rows, and what was private about them.
            for sql in [
                // Their check-in answers and drafts.
                "DELETE FROM checkin_answers WHERE session_id IN
                   (SELECT id FROM checkin_sessions WHERE server_id = $1 AND person_id = $2)",
                "DELETE FROM goal_notes WHERE goal_id IN
                   (SELECT id FROM growth_goals WHERE server_id = $1 AND user_id = $2)",
                // A one-to-one's private notes are the coach's notes about them: gone. What
                // was worked on stays (it is the school's work); a group session's notes stay,
                // with their name rewritten like any text.
                "UPDATE coaching_sessions SET noticed = '' WHERE server_id = $1
                   AND kind = 'one_to_one' AND id IN
                   (SELECT session_id FROM coaching_session_people WHERE user_id = $2)",
                "DELETE FROM outbox_files WHERE outbox_key IN
                   (SELECT key FROM outbox WHERE server_id = $1 AND person_id = $2)",
                // Their DM channel and the messages in it; a check-in still open ends.
                "UPDATE checkin_sessions SET dm_channel_id = NULL, last_message_id = NULL,
                   prompted_message_id = NULL WHERE server_id = $1 AND person_id = $2",
            ] {
                sqlx::query(sql)
                    .bind(server)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE checkin_sessions SET status = 'expired', finished_at = $3, updated_at = $3
                 WHERE server_id = $1 AND person_id = $2 AND status = 'open'",
            )
            .bind(server)
            .bind(person)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for (table, column, scope) in THEIRS {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {column} = $2 AND {scope}"
                )))
                .bind(server)
                .bind(person)
                .execute(&mut *tx)
                .await?;
            }
            for (table, column, scope) in SHARED {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {column} = $3 WHERE {column} = $2 AND {scope}"
                )))
                .bind(server)
                .bind(person)
                .bind(stand_in)
                .execute(&mut *tx)
                .await?;
            }

            // Text that named them: mentions and names read "a former member", their id in
            // keys and stored messages becomes the stand-in's.
            let scrub = Scrub::new(person, stand_in, names.iter().cloned().chain(stored));
            let patterns: Vec<String> = scrub
                .needles()
                .iter()
                .map(|needle| format!("%{}%", escape_like(needle)))
                .collect();
            for texts in TEXTS {
                let keys: Vec<&str> = texts
                    .key
                    .iter()
                    .map(|k| match k {
                        Key::Int(name) | Key::Text(name) => *name,
                    })
                    .collect();
                let matches: Vec<String> = texts
                    .columns
                    .iter()
                    .flat_map(|column| {
                        (0..patterns.len())
                            .map(move |i| format!("{column} {like} ${} ESCAPE '\\'", i + 2))
                    })
                    .collect();
                let select = format!(
                    "SELECT {}, {} FROM {} WHERE ({}) AND ({})",
                    keys.join(", "),
                    texts.columns.join(", "),
                    texts.table,
                    texts.scope,
                    matches.join(" OR ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(select)).bind(server);
                for pattern in &patterns {
                    query = query.bind(pattern.clone());
                }
                let rows = query.fetch_all(&mut *tx).await?;
                let update = format!(
                    "UPDATE {} SET {} WHERE {} AND {}",
                    texts.table,
                    texts
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c} = ${}", i + 2))
                        .collect::<Vec<_>>()
                        .join(", "),
                    keys.iter()
                        .enumerate()
                        .map(|(i, k)| format!("{k} = ${}", i + 2 + texts.columns.len()))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                    texts.scope
                );
                for row in rows {
                    let mut key_values = Vec::with_capacity(texts.key.len());
                    for (i, key) in texts.key.iter().enumerate() {
                        key_values.push(match key {
                            Key::Int(_) => KeyValue::Int(row.try_get::<i64, _>(i)?),
                            Key::Text(_) => KeyValue::Text(row.try_get::<String, _>(i)?),
                        });
                    }
                    let mut values = Vec::with_capacity(texts.columns.len());
                    let mut changed = false;
                    for i in 0..texts.columns.len() {
                        let text: Option<String> = row.try_get(texts.key.len() + i)?;
                        let scrubbed = text.as_deref().and_then(|t| scrub.apply(t));
                        changed |= scrubbed.is_some();
                        values.push(scrubbed.or(text));
                    }
                    if !changed {
                        continue;
                    }
                    let mut query =
                        sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(server);
                    for value in values {
                        query = query.bind(value);
                    }
                    for key in key_values {
                        query = match key {
                            KeyValue::Int(v) => query.bind(v),
                            KeyValue::Text(v) => query.bind(v),
                        };
                    }
                    query.execute(&mut *tx).await?;
                }
            }

            // Nothing is recorded about them or sent to them again here until they use a
            // command themselves.
            sqlx::query(
                "INSERT INTO forgotten_contacts (server_id, contact, forgotten_at) VALUES ($1, $2, $3)
                 ON CONFLICT (server_id, contact) DO UPDATE SET forgotten_at = excluded.forgotten_at",
            )
            .bind(server)
            .bind(contact.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let entry = AuditEntry {
                at: now,
                actor: Some(match by {
                    Forgetter::Themselves => stand_in,
                    Forgetter::Admin(admin) => admin,
                }),
                via: AuditVia::Discord,
                action: AuditAction::Forget,
                scope: "one person".to_owned(),
                subject: Some(stand_in),
                with_answers: false,
                row_count: None,
            };
            super::audit::record_in!(&mut *tx, server, &entry).await?;
            tx.commit().await?;
            Ok(Some(stand_in))
        }
        .await
    })
    .context("forgetting a person")
}

/// `text` as a LIKE pattern's literal part (with `\` as the escape).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
