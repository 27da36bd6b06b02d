//! A server's own framework file (validated before it is stored).

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::servers::ensure_server;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::framework::Framework;
use crate::domain::ids::{ServerId, UserId};

/// Stores (or replaces) the server's framework source.
pub async fn save(
    db: &Db,
    server_id: ServerId,
    server_name: &str,
    source: &str,
    loaded_by: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        ensure_server!(&mut *tx, server_id, server_name.to_owned(), now).await?;
        sqlx::query(
            "INSERT INTO frameworks (server_id, source, loaded_by, loaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (server_id) DO UPDATE
             SET source = excluded.source, loaded_by = excluded.loaded_by, loaded_at = excluded.loaded_at",
        )
        .bind(server_id)
        .bind(source.to_owned())
        .bind(loaded_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving the server's framework")
}

/// The server's framework source, if it loaded one.
pub async fn source(db: &Db, server_id: ServerId) -> anyhow::Result<Option<String>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT source FROM frameworks WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading the server's framework")
}

/// The framework the server works with: its own if an admin loaded one, else `default`.
pub async fn effective(
    db: &Db,
    server_id: ServerId,
    default: &Framework,
) -> anyhow::Result<Framework> {
    match source(db, server_id).await? {
        Some(source) => Framework::parse(&source)
            .map_err(|e| anyhow::anyhow!("the server's stored framework no longer parses: {e}")),
        None => Ok(default.clone()),
    }
}
