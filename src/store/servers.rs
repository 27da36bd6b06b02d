//! Servers (Discord guilds): one workspace each. Every other row carries its server id.

/// Records a server or renames it: `$1` id, `$2` name, `$3` now.
pub(crate) const UPSERT: &str = "INSERT INTO servers (id, name, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name";

/// Runs [`UPSERT`] on any executor of either backend (inside the caller's transaction).
macro_rules! ensure_server {
    ($executor:expr, $server_id:expr, $name:expr, $now:expr) => {
        sqlx::query($crate::store::servers::UPSERT)
            .bind($server_id)
            .bind($name)
            .bind($now)
            .execute($executor)
    };
}
pub(crate) use ensure_server;
