//! Request Guild Members (op 8), answered with GUILD_MEMBERS_CHUNK events.

use serde_json::{Value, json};

use super::{Close, Shared};
use crate::emulator::problems::{Problem, ProblemKind};
use crate::emulator::world::intents;

/// Members per GUILD_MEMBERS_CHUNK.
const CHUNK_SIZE: usize = 1000;

/// Request Guild Members (op 8): GUILD_MEMBERS_CHUNK events with the members that match. The
/// whole list (`query` "" with `limit` 0) needs the GUILD_MEMBERS intent of the session this
/// connection carries. A request that reaches a connection whose session the emulator has just
/// ended (a fault a test injected, its close still in flight) goes unanswered, as on Discord.
/// The chunks come back on the connection that asked, and only for a server of its shard: a
/// request for another shard's server is a violation (the bot sent it on the wrong shard) and
/// goes unanswered.
pub(super) fn request_members(
    shared: &Shared,
    connection: u64,
    frame: &Value,
) -> Result<(), Close> {
    let Some((session_intents, shard)) = shared.gateway.connection_session(connection) else {
        return Ok(());
    };
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    let guild_id = d
        .get("guild_id")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()));
    let query = d.get("query").and_then(Value::as_str);
    let limit = d.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize;
    let user_ids: Option<Vec<u64>> = d.get("user_ids").map(|ids| {
        let list = match ids {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        list.iter()
            .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()))
            .collect()
    });
    let nonce = d.get("nonce").cloned();
    if query == Some("") && limit == 0 && session_intents & intents::GUILD_MEMBERS == 0 {
        return Err(Close(4013, "Invalid intent(s)."));
    }
    if let Some(guild) = guild_id
        && !shard.owns(Some(guild))
    {
        shared.problems.report(Problem {
            kind: ProblemKind::Violation,
            call: None,
            request: "gateway".to_owned(),
            status: 8,
            code: None,
            message: format!(
                "Request Guild Members for server {guild} sent on shard [{}, {}], which does not own it",
                shard.id, shard.count
            ),
        });
        return Ok(());
    }
    let chunks = {
        let world = shared.world();
        let Some(guild) = guild_id.and_then(|g| world.guilds.get(&g)) else {
            return Ok(());
        };
        let mut not_found = Vec::new();
        let members: Vec<Value> = match &user_ids {
            Some(ids) => ids
                .iter()
                .take(100)
                .filter_map(|id| {
                    let found = guild.members.get(id);
                    if found.is_none() {
                        not_found.push(json!(id.to_string()));
                    }
                    found
                })
                .map(|m| world.member_json(guild, m))
                .collect(),
            None => {
                let prefix = query.unwrap_or_default().to_lowercase();
                let cap = if prefix.is_empty() {
                    if limit == 0 { usize::MAX } else { limit }
                } else {
                    limit.clamp(1, 100)
                };
                guild
                    .members
                    .values()
                    .filter(|m| {
                        let name = world
                            .users
                            .get(&m.user_id)
                            .map(|u| u.name.to_lowercase())
                            .unwrap_or_default();
                        let nick = m.nick.as_deref().unwrap_or_default().to_lowercase();
                        name.starts_with(&prefix) || (!nick.is_empty() && nick.starts_with(&prefix))
                    })
                    .take(cap)
                    .map(|m| world.member_json(guild, m))
                    .collect()
            }
        };
        let pieces: Vec<Vec<Value>> = if members.is_empty() {
            vec![Vec::new()]
        } else {
            members.chunks(CHUNK_SIZE).map(<[Value]>::to_vec).collect()
        };
        let count = pieces.len();
        pieces
            .into_iter()
            .enumerate()
            .map(|(index, members)| {
                let mut chunk = json!({
                    "guild_id": guild.id.to_string(),
                    "members": members,
                    "chunk_index": index,
                    "chunk_count": count,
                });
                if index == 0 && !not_found.is_empty() {
                    chunk["not_found"] = json!(not_found);
                }
                if let Some(nonce) = &nonce {
                    chunk["nonce"] = nonce.clone();
                }
                chunk
            })
            .collect::<Vec<_>>()
    };
    for chunk in chunks {
        shared
            .gateway
            .reply_on(connection, "GUILD_MEMBERS_CHUNK", chunk);
    }
    Ok(())
}
