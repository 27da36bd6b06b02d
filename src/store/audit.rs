//! The audit of what was done with people's data (`audit_events`): exports, forgets,
//! role-mapping and retention changes, purges. Entries are written in the transaction of the
//! change they record wherever there is one ([`record_in!`]).

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Db, on_backend};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};

/// Inserts an audit entry: `$1` server, `$2` at, `$3` actor, `$4` via, `$5` action, `$6` scope,
/// `$7` subject, `$8` with answers, `$9` row count.
pub(crate) const INSERT: &str = "INSERT INTO audit_events
     (server_id, at, actor_id, via, action, scope, subject_id, with_answers, row_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Records `$entry` (an [`AuditEntry`]) for `$server_id` on any executor of either backend,
/// inside the caller's transaction.
macro_rules! record_in {
    ($executor:expr, $server_id:expr, $entry:expr) => {{
        let entry: &$crate::domain::privacy::AuditEntry = $entry;
        sqlx::query($crate::store::audit::INSERT)
            .bind($server_id)
            .bind(entry.at)
            .bind(entry.actor)
            .bind(entry.via.as_str())
            .bind(entry.action.as_str())
            .bind(entry.scope.clone())
            .bind(entry.subject)
            .bind(entry.with_answers)
            .bind(entry.row_count)
            .execute($executor)
    }};
}
pub(crate) use record_in;

/// Records one audit entry on its own (when the action it records wrote nothing, such as an
/// export).
pub async fn record(db: &Db, server_id: ServerId, entry: &AuditEntry) -> anyhow::Result<()> {
    on_backend!(db, pool => record_in!(pool, server_id, entry).await.map(|_| ()))
        .with_context(|| format!("recording the audit of a {}", entry.action))
}

type Row = (
    DateTime<Utc>,
    Option<UserId>,
    String,
    String,
    String,
    Option<UserId>,
    bool,
    Option<i64>,
);

/// The server's audit entries from `since` on, newest first, at most `limit`.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    since: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEntry>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT at, actor_id, via, action, scope, subject_id, with_answers, row_count
             FROM audit_events WHERE server_id = $1 AND at >= $2
             ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(server_id)
        .bind(since)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
    .context("reading the audit")?;
    rows.into_iter()
        .map(
            |(at, actor, via, action, scope, subject, with_answers, row_count)| {
                Ok(AuditEntry {
                    at,
                    actor,
                    via: AuditVia::parse(&via)
                        .with_context(|| format!("`{via}` is not a known audit source"))?,
                    action: AuditAction::parse(&action)
                        .with_context(|| format!("`{action}` is not a known audit action"))?,
                    scope,
                    subject,
                    with_answers,
                    row_count,
                })
            },
        )
        .collect()
}
