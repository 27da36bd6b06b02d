//! The handshake: IDENTIFY starts a session (token, intents, shard checked), RESUME picks
//! one up and replays what it missed.

use std::collections::VecDeque;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Close, DEFAULT_LARGE_THRESHOLD, Outgoing, Session, Shared};
use crate::emulator::shards::Shard;
use crate::emulator::world::{World, intents};

fn bare_token(token: &str) -> &str {
    token.strip_prefix("Bot ").unwrap_or(token).trim()
}

/// Whether the world accepts this token: a set token must match; otherwise any non-empty one.
fn token_accepted(world: &World, token: &str) -> bool {
    let token = bare_token(token);
    match &world.token {
        Some(valid) => bare_token(valid) == token,
        None => !token.is_empty(),
    }
}

/// IDENTIFY: checks the token, intents and shard, starts a session, sends READY and a
/// GUILD_CREATE per server of the shard. A `shard` that is not `[id, count]` with
/// `id < count` closes with 4010; a shard that would hold more servers than Discord allows
/// on one closes with 4011 (sharding required).
pub(super) fn identify(
    shared: &Shared,
    connection: u64,
    tx: &mpsc::UnboundedSender<Outgoing>,
    frame: &Value,
) -> Result<(), Close> {
    let token = frame
        .pointer("/d/token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let wanted = frame
        .pointer("/d/intents")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let large_threshold = frame
        .pointer("/d/large_threshold")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_LARGE_THRESHOLD)
        .clamp(50, 250);
    let guilds_per_shard = shared.gateway.sharding().guilds_per_shard;
    let session_id = format!("emulator-session-{}", shared.ids.next());
    let (shard, ready, guilds) = {
        let world = shared.world();
        if !token_accepted(&world, &token) {
            return Err(Close(4004, "Authentication failed."));
        }
        let Some(shard) = Shard::from_identify(frame.get("d").unwrap_or(&Value::Null)) else {
            return Err(Close(4010, "Invalid shard."));
        };
        if wanted & !intents::ALL_KNOWN != 0 {
            return Err(Close(4013, "Invalid intent(s)."));
        }
        if wanted & intents::PRIVILEGED & !world.privileged_intents != 0 {
            return Err(Close(4014, "Disallowed intent(s)."));
        }
        let mine: Vec<u64> = world
            .guilds
            .keys()
            .copied()
            .filter(|id| shard.owns(Some(*id)))
            .collect();
        if mine.len() > guilds_per_shard {
            return Err(Close(4011, "Sharding required."));
        }
        let mut user = world.user_json(world.bot_id);
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user["flags"] = json!(0);
        let ready = json!({
            "v": 10,
            "user": user,
            "guilds": mine.iter().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": session_id,
            "resume_gateway_url": shared.gateway_url,
            "shard": shard.json(),
            "application": {"id": world.application_id.to_string(), "flags": 0},
        });
        let guilds: Vec<Value> = mine
            .iter()
            .filter_map(|id| world.guilds.get(id))
            .map(|g| world.guild_create_for(g, wanted, large_threshold))
            .collect();
        (shard, ready, guilds)
    };
    let mut state = shared.gateway.state();
    state.activity += 1;
    let mut session = Session {
        token,
        intents: wanted,
        large_threshold,
        shard,
        active: state.activity,
        seq: 0,
        buffer: VecDeque::new(),
        connection: Some((connection, tx.clone())),
    };
    // A new session replaces the previous one of the same shard, whose undelivered events
    // stay missed.
    state.sessions.retain(|_, s| s.shard != shard);
    session.push("READY", ready.clone());
    state.record("READY", ready, shard);
    for guild in guilds {
        session.push("GUILD_CREATE", guild.clone());
        state.record("GUILD_CREATE", guild, shard);
    }
    state.sessions.insert(session_id, session);
    drop(state);
    shared.gateway.ready.send_modify(|n| *n += 1);
    Ok(())
}

/// RESUME: replays what the session missed since `seq`, then RESUMED. An unknown session (or
/// one whose missed events are no longer kept) gets op 9 and must identify again.
pub(super) fn resume(
    shared: &Shared,
    connection: u64,
    tx: &mpsc::UnboundedSender<Outgoing>,
    frame: &Value,
) -> Result<(), Close> {
    let token = frame
        .pointer("/d/token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let session_id = frame
        .pointer("/d/session_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let seq = frame.pointer("/d/seq").and_then(Value::as_u64).unwrap_or(0);
    let invalid = || {
        let _ = tx.send(Outgoing::Frame(json!({"op": 9, "d": false})));
        Ok(())
    };
    if !token_accepted(&shared.world(), token) {
        return Err(Close(4004, "Authentication failed."));
    }
    let mut state = shared.gateway.state();
    let state = &mut *state;
    let Some(session) = state.sessions.get_mut(session_id) else {
        return invalid();
    };
    if bare_token(&session.token) != bare_token(token) {
        return invalid();
    }
    if seq > session.seq {
        return Err(Close(4007, "Invalid seq."));
    }
    let oldest = session
        .buffer
        .front()
        .map_or(session.seq + 1, |(s, _, _)| *s);
    if seq + 1 < oldest {
        return invalid();
    }
    session.connection = Some((connection, tx.clone()));
    let mut sent = Vec::new();
    let replay: Vec<(u64, String, Value)> = session
        .buffer
        .iter()
        .filter(|(s, _, _)| *s > seq)
        .cloned()
        .collect();
    for (s, event, data) in &replay {
        let frame = json!({"op": 0, "t": event, "s": s, "d": data});
        if tx.send(Outgoing::Frame(frame)).is_err() {
            return Ok(());
        }
        sent.push((event.clone(), data.clone()));
    }
    session.push("RESUMED", json!({}));
    state.activity += 1;
    session.active = state.activity;
    let shard = session.shard;
    for (event, data) in sent {
        state.record(&event, data, shard);
    }
    let id = session_id.to_owned();
    state.missed.retain(|m| {
        m.session
            .as_ref()
            .is_none_or(|(session, s)| *session != id || *s <= seq)
    });
    drop(replay);
    shared.gateway.resumed.send_modify(|n| *n += 1);
    Ok(())
}
