//! Keeping each server's members current with the Server Members intent: the whole list is
//! asked for (gateway opcode 8) when a server becomes available and when a role mapping
//! changes, and recorded from GUILD_MEMBERS_CHUNK; a member who joins is recorded from
//! GUILD_MEMBER_ADD. Without the intent nothing is asked (Discord would refuse it), and the
//! server is marked as not synced, so `/setup status` can say so.

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::store::member_list::{self, ListedMember};
use crate::store::members::{self, MemberSighting};

/// Whether this client connected with the Server Members intent (in serenity's type map).
pub(super) struct MembersIntent;

impl serenity::prelude::TypeMapKey for MembersIntent {
    type Value = bool;
}

/// When this client may send its next member-list request (in serenity's type map).
pub(super) struct NextRequest;

impl serenity::prelude::TypeMapKey for NextRequest {
    type Value = std::sync::Arc<tokio::sync::Mutex<Option<tokio::time::Instant>>>;
}

/// Time between two member-list requests of one client. Discord allows 120 gateway commands
/// a minute per connection (heartbeats included) and closes it past that: a bot in many
/// servers asks for them one after another, about 100 a minute at most.
const REQUEST_SPACING: std::time::Duration = std::time::Duration::from_millis(600);

/// Whether the client was built with the Server Members intent.
pub(super) async fn intent_on(ctx: &serenity::Context) -> bool {
    ctx.data
        .read()
        .await
        .get::<MembersIntent>()
        .copied()
        .unwrap_or(false)
}

/// Asks Discord for the server's whole member list, if the intent allows it (the answer
/// arrives as GUILD_MEMBERS_CHUNK events); returns whether it asked. The request goes out
/// in the background, [`REQUEST_SPACING`] after the client's previous one.
pub(super) async fn request(ctx: &serenity::Context, guild_id: serenity::GuildId) -> bool {
    if !intent_on(ctx).await {
        return false;
    }
    let next = ctx.data.read().await.get::<NextRequest>().cloned();
    // The shard that carried this server's event (GUILD_CREATE, or a command in it) is the
    // server's own shard: Discord answers a member request only there.
    let shard = ctx.shard.clone();
    tokio::spawn(async move {
        if let Some(next) = next {
            let wait_until = {
                let mut next = next.lock().await;
                let now = tokio::time::Instant::now();
                let at = next.map_or(now, |n| n.max(now));
                *next = Some(at + REQUEST_SPACING);
                at
            };
            tokio::time::sleep_until(wait_until).await;
        }
        shard.chunk_guild(
            guild_id,
            None,
            false,
            serenity::ChunkGuildFilter::None,
            None,
        );
    });
    true
}

/// A server became available (GUILD_CREATE): ask for its members, or note that they are not
/// kept without the intent.
pub(super) async fn on_guild_create(
    ctx: &serenity::Context,
    data: &App,
    guild: &serenity::Guild,
) -> anyhow::Result<()> {
    if request(ctx, guild.id).await {
        tracing::info!(
            server = guild.id.get(),
            "asked for the server's member list"
        );
        Ok(())
    } else {
        member_list::not_synced(&data.db, guild.id.into()).await
    }
}

/// A chunk of a server's member list: its members recorded with their coachbot roles.
pub(super) async fn on_chunk(
    ctx: &serenity::Context,
    data: &App,
    chunk: &serenity::GuildMembersChunkEvent,
) -> anyhow::Result<()> {
    let listed: Vec<ListedMember> = chunk
        .members
        .values()
        .filter(|m| !m.user.bot)
        .map(listed)
        .collect();
    let complete = chunk.chunk_index + 1 >= chunk.chunk_count;
    member_list::record_chunk(
        &data.db,
        chunk.guild_id.into(),
        &server_name(ctx, chunk.guild_id),
        &listed,
        complete,
        data.now(),
    )
    .await?;
    tracing::info!(
        server = chunk.guild_id.get(),
        members = listed.len(),
        chunk = chunk.chunk_index + 1,
        of = chunk.chunk_count,
        "recorded a chunk of the member list"
    );
    Ok(())
}

/// A member joined: recorded with the coachbot roles their Discord roles grant.
pub(super) async fn on_join(
    ctx: &serenity::Context,
    data: &App,
    member: &serenity::Member,
) -> anyhow::Result<()> {
    if member.user.bot {
        return Ok(());
    }
    let server_id = member.guild_id.into();
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let grants = members::grants_for(&data.db, server_id, &roles).await?;
    members::record(
        &data.db,
        &MemberSighting {
            server_id,
            server_name: &server_name(ctx, member.guild_id),
            user_id: member.user.id.into(),
            display_name: member.display_name(),
            discord_roles: &roles,
            grants: &grants,
        },
        data.now(),
    )
    .await?;
    Ok(())
}

fn listed(member: &serenity::Member) -> ListedMember {
    ListedMember {
        user_id: member.user.id.into(),
        display_name: member.display_name().to_owned(),
        discord_roles: member.roles.iter().map(|r| r.get()).collect(),
    }
}

fn server_name(ctx: &serenity::Context, guild_id: serenity::GuildId) -> String {
    ctx.cache
        .guild(guild_id)
        .map(|g| g.name.clone())
        .unwrap_or_else(|| format!("server {guild_id}"))
}
