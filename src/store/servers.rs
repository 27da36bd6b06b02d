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

/// How the server reads `12/05` (month first until an admin says otherwise).
pub async fn date_order(
    db: &super::Db,
    server_id: crate::domain::ids::ServerId,
) -> anyhow::Result<crate::domain::dates::DateOrder> {
    use anyhow::Context as _;
    let key: Option<String> = super::on_backend!(db, pool => {
        sqlx::query_scalar("SELECT date_order FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("reading the server's date order")?;
    Ok(key
        .as_deref()
        .and_then(crate::domain::dates::DateOrder::from_key)
        .unwrap_or_default())
}

/// Sets how the server reads `12/05`, recording the server first if it is new.
pub async fn set_date_order(
    db: &super::Db,
    server_id: crate::domain::ids::ServerId,
    server_name: &str,
    order: crate::domain::dates::DateOrder,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use super::BeginWrite as _;
    use anyhow::Context as _;
    super::on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        ensure_server!(&mut *tx, server_id, server_name.to_owned(), now).await?;
        sqlx::query("UPDATE servers SET date_order = $1 WHERE id = $2")
            .bind(order.key())
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving the server's date order")
}
