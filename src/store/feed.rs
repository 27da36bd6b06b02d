//! School team feeds (`/setup feed`) and the people who opted out of them (`/feed off`). The
//! post itself is queued by [`queue_post!`] inside the transaction that confirms a check-in.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Db, db_id, on_backend};
use crate::domain::ids::{SchoolId, ServerId, UserId};

/// Turns the school's feed on to `channel_id` (or moves it there).
pub async fn set(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    channel_id: u64,
    set_by: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query(
            "INSERT INTO school_feeds (school_id, server_id, channel_id, set_by, set_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (school_id) DO UPDATE SET channel_id = excluded.channel_id,
                 set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(school_id)
        .bind(server_id)
        .bind(db_id(channel_id))
        .bind(set_by)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .context("turning a school's feed on")?;
    Ok(())
}

/// Turns the school's feed off; false when it was off already.
pub async fn clear(db: &Db, server_id: ServerId, school_id: SchoolId) -> anyhow::Result<bool> {
    let removed = on_backend!(db, pool => {
        sqlx::query("DELETE FROM school_feeds WHERE server_id = $1 AND school_id = $2")
            .bind(server_id)
            .bind(school_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .context("turning a school's feed off")?;
    Ok(removed > 0)
}

/// `/feed off` (`out`) or `/feed on` for this person; false when nothing changed.
pub async fn opt(
    db: &Db,
    server_id: ServerId,
    user_id: UserId,
    out: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let changed = on_backend!(db, pool => {
        if out {
            sqlx::query(
                "INSERT INTO feed_optouts (server_id, user_id, at) VALUES ($1, $2, $3)
                 ON CONFLICT (server_id, user_id) DO NOTHING",
            )
            .bind(server_id)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        } else {
            sqlx::query("DELETE FROM feed_optouts WHERE server_id = $1 AND user_id = $2")
                .bind(server_id)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        }
    })
    .context("changing a feed opt-out")?;
    Ok(changed > 0)
}

/// Inside the transaction `$tx` that confirms `$session` (a `CheckinSession`): when its school
/// has a feed and the person has not opted out, queues the post `$compose` makes from the
/// person's name (None when nothing was shared: then nothing is queued), one per check-in.
macro_rules! queue_post {
    ($tx:expr, $session:expr, $compose:expr, $now:expr) => {{
        let session: &$crate::store::checkins::CheckinSession = $session;
        let channel: Option<i64> = sqlx::query_scalar(
            "SELECT f.channel_id FROM school_feeds f
             WHERE f.server_id = $1 AND f.school_id = $2
               AND NOT EXISTS (SELECT 1 FROM feed_optouts o WHERE o.server_id = $1 AND o.user_id = $3)",
        )
        .bind(session.server_id)
        .bind(session.school_id)
        .bind(session.person_id)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some(channel) = channel {
            let name: Option<String> = sqlx::query_scalar(
                "SELECT display_name FROM members WHERE server_id = $1 AND user_id = $2",
            )
            .bind(session.server_id)
            .bind(session.person_id)
            .fetch_optional(&mut *$tx)
            .await?;
            let compose = $compose;
            if let Some(text) = compose(name.as_deref().unwrap_or("Someone")) {
                let message = $crate::store::outbox::OutboxMessage::Announcement {
                    channel_id: $crate::store::discord_id(channel),
                    text,
                };
                let row = $crate::store::outbox::NewRow::new(
                    $crate::domain::feed::key(session.id),
                    session.server_id,
                    None,
                    &message,
                    $now,
                )
                .map_err(|error| sqlx::Error::Encode(error.into()))?;
                $crate::store::outbox::insert_row!($tx, &row, $now)?;
            }
        }
    }};
}
pub(crate) use queue_post;
