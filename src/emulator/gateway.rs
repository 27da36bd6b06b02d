//! The gateway: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, sessions that RESUME
//! with the events they missed, op 7 reconnects, Request Guild Members, and dispatches pushed
//! by the emulator, filtered by each session's intents.
//!
//! Close codes as Discord sends them: 4004 for a token the world does not accept, 4005 for a
//! second IDENTIFY on one connection, 4007 for a RESUME past the session's sequence, 4013 for
//! unknown intent bits, 4014 for privileged intents the app has not enabled.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::problems::{Problem, ProblemKind};
use super::world::{World, intents};
use super::{Emulator, Shared};

const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// How many dispatches a session keeps for a RESUME.
const RESUME_BUFFER: usize = 10_000;
/// Discord's default `large_threshold` when IDENTIFY does not say.
const DEFAULT_LARGE_THRESHOLD: u64 = 50;
/// Members per GUILD_MEMBERS_CHUNK.
const CHUNK_SIZE: usize = 1000;

pub(crate) enum Outgoing {
    Frame(Value),
    Close(u16, &'static str),
}

/// One gateway session: what it asked for, its sequence, what it was sent (for RESUME) and
/// the connection it is on, if any.
struct Session {
    token: String,
    intents: u64,
    large_threshold: u64,
    seq: u64,
    buffer: VecDeque<(u64, String, Value)>,
    connection: Option<(u64, mpsc::UnboundedSender<Outgoing>)>,
}

impl Session {
    /// Numbers a dispatch, keeps it for RESUME, and sends it if connected. Whether it reached
    /// a connection.
    fn push(&mut self, event: &str, data: Value) -> bool {
        self.seq += 1;
        let frame = json!({"op": 0, "t": event, "s": self.seq, "d": data});
        self.buffer.push_back((self.seq, event.to_owned(), data));
        if self.buffer.len() > RESUME_BUFFER {
            self.buffer.pop_front();
        }
        match &self.connection {
            Some((_, tx)) if tx.send(Outgoing::Frame(frame)).is_ok() => true,
            Some(_) => {
                self.connection = None;
                false
            }
            None => false,
        }
    }
}

/// A dispatch no connection received: `(session, seq)` lets a RESUME take it back.
struct Missed {
    event: String,
    data: Value,
    session: Option<(String, u64)>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    /// The session dispatches go to: the newest identified or resumed one (one shard).
    current: Option<String>,
    missed: Vec<Missed>,
    /// Every dispatch that reached a connection, in order.
    sent: Vec<(String, Value)>,
}

pub(crate) struct Gateway {
    state: Mutex<State>,
    /// How many READYs have been sent.
    ready: watch::Sender<u64>,
    /// How many sessions have been resumed.
    resumed: watch::Sender<u64>,
    next_id: AtomicU64,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: watch::channel(0).0,
            resumed: watch::channel(0).0,
            next_id: AtomicU64::new(1),
        }
    }
}

impl Gateway {
    fn state(&self) -> MutexGuard<'_, State> {
        super::lock(&self.state)
    }

    /// Sends an event to the bot's session. While it is disconnected the event waits for a
    /// RESUME; with no session at all it is lost, as on Discord (a bot that was down reads
    /// what it missed through the REST API). Either way it is counted in
    /// [`Gateway::missed`] until a RESUME delivers it.
    pub(crate) fn dispatch(&self, event: &str, data: Value) {
        self.dispatch_with(event, |_| data);
    }

    /// Like [`Gateway::dispatch`], with a payload built for the session's intents and
    /// `large_threshold`.
    pub(crate) fn dispatch_with(&self, event: &str, build: impl FnOnce((u64, u64)) -> Value) {
        let mut state = self.state();
        let state = &mut *state;
        let Some(session) = state
            .current
            .as_ref()
            .and_then(|id| state.sessions.get_mut(id).map(|s| (id.clone(), s)))
        else {
            let data = build((intents::ALL_KNOWN, DEFAULT_LARGE_THRESHOLD));
            state.missed.push(Missed {
                event: event.to_owned(),
                data,
                session: None,
            });
            return;
        };
        let (session_id, session) = session;
        let data = build((session.intents, session.large_threshold));
        if !wanted_by(session.intents, event, &data) {
            return;
        }
        if session.push(event, data.clone()) {
            state.sent.push((event.to_owned(), data));
        } else {
            state.missed.push(Missed {
                event: event.to_owned(),
                data,
                session: Some((session_id, session.seq)),
            });
        }
    }

    /// Events that went out while no bot was connected (and were not delivered by a RESUME).
    pub(crate) fn missed(&self) -> Vec<(String, Value)> {
        self.state()
            .missed
            .iter()
            .map(|m| (m.event.clone(), m.data.clone()))
            .collect()
    }

    /// Closes the bot's connection with a close code and ends its session, as Discord does
    /// when it drops a session: a RESUME is then refused and the bot identifies again.
    pub(crate) fn close(&self, code: u16) -> bool {
        let mut state = self.state();
        let Some(id) = state.current.take() else {
            return false;
        };
        let Some(session) = state.sessions.remove(&id) else {
            return false;
        };
        session
            .connection
            .is_some_and(|(_, tx)| tx.send(Outgoing::Close(code, "emulator fault")).is_ok())
    }

    /// Sends op 7 (Reconnect) on the live connection; the session stays resumable.
    pub(crate) fn request_reconnect(&self) -> bool {
        let state = self.state();
        state
            .current
            .as_ref()
            .and_then(|id| state.sessions.get(id))
            .and_then(|s| s.connection.as_ref())
            .is_some_and(|(_, tx)| {
                tx.send(Outgoing::Frame(json!({"op": 7, "d": null})))
                    .is_ok()
            })
    }

    /// Drops the live connection as a network failure would (an unclean close, 4000): the
    /// session stays resumable, and every event from now on waits for its RESUME.
    pub(crate) fn drop_connection(&self) -> bool {
        let mut state = self.state();
        let state = &mut *state;
        state
            .current
            .as_ref()
            .and_then(|id| state.sessions.get_mut(id))
            .and_then(|s| s.connection.take())
            .is_some_and(|(_, tx)| {
                tx.send(Outgoing::Close(4000, "emulator: the connection dropped"))
                    .is_ok()
            })
    }

    /// The intents of the bot's session (0 with none).
    pub(crate) fn intents(&self) -> u64 {
        let state = self.state();
        state
            .current
            .as_ref()
            .and_then(|id| state.sessions.get(id))
            .map_or(0, |s| s.intents)
    }

    /// The intents of the session this connection identified or resumed; `None` once the
    /// emulator has ended that session (its close frame is then on the way to the bot).
    fn connection_intents(&self, connection: u64) -> Option<u64> {
        self.state()
            .sessions
            .values()
            .find(|s| s.connection.as_ref().is_some_and(|(c, _)| *c == connection))
            .map(|s| s.intents)
    }

    pub(crate) fn ready_count(&self) -> watch::Receiver<u64> {
        self.ready.subscribe()
    }

    pub(crate) fn resumed_count(&self) -> watch::Receiver<u64> {
        self.resumed.subscribe()
    }

    /// Every dispatch sent so far, as `(event, payload)`.
    pub(crate) fn sent(&self) -> Vec<(String, Value)> {
        self.state().sent.clone()
    }

    pub(crate) fn is_connected(&self) -> bool {
        let state = self.state();
        state
            .current
            .as_ref()
            .and_then(|id| state.sessions.get(id))
            .is_some_and(|s| s.connection.as_ref().is_some_and(|(_, tx)| !tx.is_closed()))
    }

    /// A connection ended. A close with 1000 or 1001 ends the session, as on Discord; any
    /// other end leaves it resumable.
    fn disconnected(&self, connection: u64, code: Option<u16>) {
        let mut state = self.state();
        let ended = state
            .sessions
            .iter()
            .find(|(_, s)| s.connection.as_ref().is_some_and(|(c, _)| *c == connection))
            .map(|(id, _)| id.clone());
        let Some(id) = ended else { return };
        if matches!(code, Some(1000 | 1001)) {
            state.sessions.remove(&id);
            if state.current.as_ref() == Some(&id) {
                state.current = None;
            }
        } else if let Some(session) = state.sessions.get_mut(&id) {
            session.connection = None;
        }
    }
}

/// Why the emulator closes a connection.
#[derive(Debug)]
struct Close(u16, &'static str);

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

/// Serves one gateway connection until either side closes it.
pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let gateway = &shared.gateway;
    let connection = gateway.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut authenticated = false;
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": null, "t": null});
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    let mut close_code = None;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Message::Close(frame) => {
                        close_code = frame.map(|f| f.code);
                        break;
                    }
                    _ => continue,
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    tracing::warn!(%text, "emulator: gateway frame is not JSON");
                    continue;
                };
                let outcome = match frame.get("op").and_then(Value::as_u64) {
                    // Heartbeat → ACK.
                    Some(1) => send(&mut socket, &json!({"op": 11})).await.map_err(|()| None),
                    Some(2) if authenticated => Err(Some(Close(4005, "Already authenticated."))),
                    Some(2) => identify(&shared, connection, &tx, &frame).map_err(Some),
                    Some(6) => resume(&shared, connection, &tx, &frame).map_err(Some),
                    Some(8) if !authenticated => Err(Some(Close(4003, "Not authenticated."))),
                    Some(8) => request_members(&shared, connection, &frame).map_err(Some),
                    _ => Ok(()),
                };
                match outcome {
                    Ok(()) => {
                        if matches!(frame.get("op").and_then(Value::as_u64), Some(2 | 6)) {
                            authenticated = true;
                        }
                    }
                    Err(None) => break,
                    Err(Some(Close(code, reason))) => {
                        shared.problems.report(Problem {
                            kind: ProblemKind::GatewayClose,
                            call: None,
                            request: "gateway".to_owned(),
                            status: code,
                            code: None,
                            message: reason.to_owned(),
                        });
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                            .await;
                        break;
                    }
                }
            }
            outgoing = rx.recv() => {
                match outgoing {
                    Some(Outgoing::Frame(frame)) => {
                        if send(&mut socket, &frame).await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Close(code, reason)) => {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                            .await;
                        break;
                    }
                    None => break,
                }
            }
        }
    }
    gateway.disconnected(connection, close_code);
}

/// IDENTIFY: checks the token and intents, starts a session, sends READY and a GUILD_CREATE
/// per server.
fn identify(
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
    let session_id = format!("emulator-session-{}", shared.ids.next());
    let (ready, guilds) = {
        let world = shared.world();
        if !token_accepted(&world, &token) {
            return Err(Close(4004, "Authentication failed."));
        }
        if wanted & !intents::ALL_KNOWN != 0 {
            return Err(Close(4013, "Invalid intent(s)."));
        }
        if wanted & intents::PRIVILEGED & !world.privileged_intents != 0 {
            return Err(Close(4014, "Disallowed intent(s)."));
        }
        let mut user = world.user_json(world.bot_id);
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user["flags"] = json!(0);
        let ready = json!({
            "v": 10,
            "user": user,
            "guilds": world.guilds.keys().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": session_id,
            "resume_gateway_url": shared.gateway_url,
            "shard": [0, 1],
            "application": {"id": world.application_id.to_string(), "flags": 0},
        });
        let guilds: Vec<Value> = world
            .guilds
            .values()
            .map(|g| world.guild_create_for(g, wanted, large_threshold))
            .collect();
        (ready, guilds)
    };
    let mut session = Session {
        token,
        intents: wanted,
        large_threshold,
        seq: 0,
        buffer: VecDeque::new(),
        connection: Some((connection, tx.clone())),
    };
    let mut state = shared.gateway.state();
    // One shard: a new session replaces the previous one, whose undelivered events stay missed.
    state.sessions.clear();
    session.push("READY", ready.clone());
    state.sent.push(("READY".to_owned(), ready));
    for guild in guilds {
        session.push("GUILD_CREATE", guild.clone());
        state.sent.push(("GUILD_CREATE".to_owned(), guild));
    }
    state.sessions.insert(session_id.clone(), session);
    state.current = Some(session_id);
    drop(state);
    shared.gateway.ready.send_modify(|n| *n += 1);
    Ok(())
}

/// RESUME: replays what the session missed since `seq`, then RESUMED. An unknown session (or
/// one whose missed events are no longer kept) gets op 9 and must identify again.
fn resume(
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
        state.sent.push((event.clone(), data.clone()));
    }
    session.push("RESUMED", json!({}));
    let id = session_id.to_owned();
    state.missed.retain(|m| {
        m.session
            .as_ref()
            .is_none_or(|(session, s)| *session != id || *s <= seq)
    });
    state.current = Some(id);
    drop(replay);
    shared.gateway.resumed.send_modify(|n| *n += 1);
    Ok(())
}

/// Request Guild Members (op 8): GUILD_MEMBERS_CHUNK events with the members that match. The
/// whole list (`query` "" with `limit` 0) needs the GUILD_MEMBERS intent of the session this
/// connection carries. A request that reaches a connection whose session the emulator has just
/// ended (a fault a test injected, its close still in flight) goes unanswered, as on Discord.
fn request_members(shared: &Shared, connection: u64, frame: &Value) -> Result<(), Close> {
    let Some(session_intents) = shared.gateway.connection_intents(connection) else {
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
        shared.gateway.dispatch("GUILD_MEMBERS_CHUNK", chunk);
    }
    Ok(())
}

/// Whether the bot's intents subscribe it to this dispatch, as Discord decides.
fn wanted_by(intents_bits: u64, event: &str, data: &Value) -> bool {
    match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => {
            if data.get("guild_id").is_some() {
                intents_bits & intents::GUILD_MESSAGES != 0
            } else {
                intents_bits & intents::DIRECT_MESSAGES != 0
            }
        }
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE"
        | "CHANNEL_CREATE" => intents_bits & intents::GUILDS != 0,
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_REMOVE" => intents_bits & intents::GUILD_MEMBERS != 0,
        // Sent for the bot's own member whatever the intents.
        "GUILD_MEMBER_UPDATE" => {
            intents_bits & intents::GUILD_MEMBERS != 0
                || data.pointer("/user/bot").and_then(Value::as_bool) == Some(true)
        }
        _ => true,
    }
}

async fn send(socket: &mut WebSocket, frame: &Value) -> Result<(), ()> {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|_| ())
}

impl Emulator {
    /// How many times a bot has identified so far.
    pub fn ready_count(&self) -> u64 {
        *self.shared.gateway.ready_count().borrow()
    }

    /// How many times a bot has resumed a session so far.
    pub fn resumed_count(&self) -> u64 {
        *self.shared.gateway.resumed_count().borrow()
    }

    /// Waits until the bot has identified `count` times in all.
    pub async fn wait_ready(&self, count: u64, timeout: std::time::Duration) -> anyhow::Result<()> {
        wait_count(
            self.shared.gateway.ready_count(),
            count,
            timeout,
            "connect to",
        )
        .await
    }

    /// Waits until the bot has resumed `count` times in all.
    pub async fn wait_resumed(
        &self,
        count: u64,
        timeout: std::time::Duration,
    ) -> anyhow::Result<()> {
        wait_count(
            self.shared.gateway.resumed_count(),
            count,
            timeout,
            "resume on",
        )
        .await
    }

    /// Events that happened while no bot was connected (and so never reached it).
    pub fn missed(&self) -> Vec<(String, Value)> {
        self.shared.gateway.missed()
    }

    /// Whether a bot is connected to the gateway now.
    pub fn bot_connected(&self) -> bool {
        self.shared.gateway.is_connected()
    }

    /// Every gateway dispatch sent to the bot so far, as `(event, payload)`.
    pub fn dispatched(&self) -> Vec<(String, Value)> {
        self.shared.gateway.sent()
    }

    /// Closes the bot's gateway connection with a close code and ends its session: the bot
    /// reconnects, its RESUME is refused (op 9), and it identifies again.
    pub fn close_gateway(&self, code: u16) -> bool {
        self.shared.gateway.close(code)
    }

    /// Drops the bot's connection without ending its session, as a network failure would:
    /// events from now on (a DM, a member change) wait until the bot RESUMEs, which replays
    /// them.
    pub fn drop_gateway(&self) -> bool {
        self.shared.gateway.drop_connection()
    }

    /// Sends op 7 (Reconnect): the bot should reconnect and RESUME, receiving what it missed.
    pub fn request_reconnect(&self) -> bool {
        self.shared.gateway.request_reconnect()
    }

    /// The token the bot must present (IDENTIFY, RESUME and `Authorization: Bot …`); by
    /// default any non-empty token is accepted.
    pub fn set_token(&self, token: &str) {
        self.shared.world().token = Some(token.to_owned());
    }

    /// Which privileged intents (GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT) the app has
    /// enabled; asking for any other closes the gateway with 4014. All are enabled by default.
    pub fn set_privileged_intents(&self, enabled: u64) {
        self.shared.world().privileged_intents = enabled & intents::PRIVILEGED;
    }
}

async fn wait_count(
    mut rx: watch::Receiver<u64>,
    count: u64,
    timeout: std::time::Duration,
    what: &str,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    tokio::time::timeout(timeout, rx.wait_for(|n| *n >= count))
        .await
        .with_context(|| format!("the bot did not {what} the emulator's gateway in time"))?
        .map_err(|_| anyhow::anyhow!("the emulator's gateway stopped"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identify_frame(token: &str, intent_bits: u64) -> Value {
        json!({"op": 2, "d": {"token": token, "intents": intent_bits, "properties": {}}})
    }

    /// The frames a connection has been sent so far (and the close, if any).
    fn drain(rx: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            out.push(match item {
                Outgoing::Frame(frame) => frame,
                Outgoing::Close(code, _) => json!({"close": code}),
            });
        }
        out
    }

    fn events(frames: &[Value]) -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| f.get("t").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    async fn emulator() -> Emulator {
        Emulator::start_with(None, 0, false)
            .await
            .expect("the emulator starts")
    }

    #[tokio::test]
    async fn a_token_other_than_the_worlds_fails_with_4004() {
        let emu = emulator().await;
        emu.set_token("right");
        let (tx, _rx) = mpsc::unbounded_channel();
        let refused = identify(&emu.shared, 1, &tx, &identify_frame("Bot wrong", 1));
        assert_eq!(refused.err().map(|c| c.0), Some(4004));
        let accepted = identify(&emu.shared, 1, &tx, &identify_frame("Bot right", 1));
        assert!(accepted.is_ok());
        let (tx, _rx) = mpsc::unbounded_channel();
        assert_eq!(
            identify(&emu.shared, 2, &tx, &identify_frame("", 1))
                .err()
                .map(|c| c.0),
            Some(4004)
        );
    }

    #[tokio::test]
    async fn privileged_intents_not_enabled_fail_with_4014() {
        let emu = emulator().await;
        emu.set_privileged_intents(intents::MESSAGE_CONTENT);
        let (tx, _rx) = mpsc::unbounded_channel();
        let wanted = intents::GUILDS | intents::GUILD_MEMBERS;
        let refused = identify(&emu.shared, 1, &tx, &identify_frame("t", wanted));
        assert_eq!(refused.err().map(|c| c.0), Some(4014));
        let allowed = intents::GUILDS | intents::MESSAGE_CONTENT;
        assert!(identify(&emu.shared, 1, &tx, &identify_frame("t", allowed)).is_ok());
        assert_eq!(
            identify(&emu.shared, 1, &tx, &identify_frame("t", 1 << 40))
                .err()
                .map(|c| c.0),
            Some(4013)
        );
    }

    #[tokio::test]
    async fn guild_create_lists_only_the_bot_without_guild_presences() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let guild = emu.add_guild("Server", owner);
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
        let frames = drain(&mut rx);
        let create = frames
            .iter()
            .find(|f| f["t"] == "GUILD_CREATE")
            .expect("a GUILD_CREATE");
        let members = create["d"]["members"].as_array().expect("members");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["user"]["id"], json!(emu.bot_id().to_string()));
        assert_eq!(create["d"]["member_count"], json!(2));
        assert_eq!(create["d"]["id"], json!(guild.to_string()));

        let (tx, mut rx) = mpsc::unbounded_channel();
        let wanted = intents::GUILDS | intents::GUILD_PRESENCES;
        identify(&emu.shared, 2, &tx, &identify_frame("t", wanted)).expect("identify");
        let frames = drain(&mut rx);
        let create = frames
            .iter()
            .find(|f| f["t"] == "GUILD_CREATE")
            .expect("a GUILD_CREATE");
        assert_eq!(create["d"]["members"].as_array().map(Vec::len), Some(2));
    }

    #[tokio::test]
    async fn member_events_reach_only_sessions_with_guild_members() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let guild = emu.add_guild("Server", owner);
        let person = emu.add_user("Pat");
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
        drain(&mut rx);
        emu.add_member(guild, person, &[]).expect("member");
        assert!(events(&drain(&mut rx)).is_empty());

        let (tx, mut rx) = mpsc::unbounded_channel();
        let wanted = intents::GUILDS | intents::GUILD_MEMBERS;
        identify(&emu.shared, 2, &tx, &identify_frame("t", wanted)).expect("identify");
        drain(&mut rx);
        let role = emu.add_role(guild, "Coach", 0).expect("role");
        emu.set_member_roles(guild, person, &[role]).expect("roles");
        emu.remove_member(guild, person).expect("removed");
        emu.add_member(guild, person, &[]).expect("back");
        assert_eq!(
            events(&drain(&mut rx)),
            [
                "GUILD_ROLE_CREATE",
                "GUILD_MEMBER_UPDATE",
                "GUILD_MEMBER_REMOVE",
                "GUILD_MEMBER_ADD"
            ]
        );
    }

    #[tokio::test]
    async fn resume_replays_what_the_session_missed_then_resumed() {
        let emu = emulator().await;
        let person = emu.add_user("Pat");
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(
            &emu.shared,
            1,
            &tx,
            &identify_frame("t", intents::DIRECT_MESSAGES),
        )
        .expect("identify");
        let ready = drain(&mut rx);
        let session = ready[0]["d"]["session_id"]
            .as_str()
            .expect("session")
            .to_owned();
        let seq = ready.last().and_then(|f| f["s"].as_u64()).expect("seq");
        // The connection drops without a close frame: the session stays resumable.
        emu.shared.gateway.disconnected(1, None);
        emu.send_dm(person, "while you were away");
        assert_eq!(emu.missed().len(), 1);

        let (tx, mut rx) = mpsc::unbounded_channel();
        let frame = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}});
        resume(&emu.shared, 2, &tx, &frame).expect("resume");
        let frames = drain(&mut rx);
        assert_eq!(events(&frames), ["MESSAGE_CREATE", "RESUMED"]);
        assert_eq!(frames[0]["s"], json!(seq + 1));
        assert!(emu.missed().is_empty(), "delivered by the RESUME");
        assert_eq!(emu.resumed_count(), 1);

        // A session that was closed with 1000 is gone: op 9.
        emu.shared.gateway.disconnected(2, Some(1000));
        let (tx, mut rx) = mpsc::unbounded_channel();
        resume(&emu.shared, 3, &tx, &frame).expect("answered");
        assert_eq!(drain(&mut rx), [json!({"op": 9, "d": false})]);
    }

    #[tokio::test]
    async fn request_guild_members_answers_with_chunks() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let guild = emu.add_guild("Server", owner);
        let pat = emu.add_user("Pat");
        emu.add_member(guild, pat, &[]).expect("member");
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
        drain(&mut rx);
        let all = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "", "limit": 0}});
        assert_eq!(
            request_members(&emu.shared, 1, &all).err().map(|c| c.0),
            Some(4013),
            "the whole list needs GUILD_MEMBERS"
        );
        let by_name = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "pa", "limit": 10, "nonce": "n1"}});
        request_members(&emu.shared, 1, &by_name).expect("answered");
        let frames = drain(&mut rx);
        assert_eq!(events(&frames), ["GUILD_MEMBERS_CHUNK"]);
        let chunk = &frames[0]["d"];
        assert_eq!(chunk["members"].as_array().map(Vec::len), Some(1));
        assert_eq!(chunk["nonce"], json!("n1"));
        assert_eq!(
            (chunk["chunk_index"].clone(), chunk["chunk_count"].clone()),
            (json!(0), json!(1))
        );
    }

    #[tokio::test]
    async fn a_member_request_on_an_ended_session_goes_unanswered() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let guild = emu.add_guild("Server", owner);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let all_intents = intents::GUILDS | intents::GUILD_MEMBERS;
        identify(&emu.shared, 1, &tx, &identify_frame("t", all_intents)).expect("identify");
        drain(&mut rx);
        assert!(emu.shared.gateway.close(4000), "the session was live");
        drain(&mut rx);
        let all = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "", "limit": 0}});
        assert!(
            request_members(&emu.shared, 1, &all).is_ok(),
            "the close is in flight: no second close"
        );
        assert!(
            drain(&mut rx).is_empty(),
            "and no chunk for an ended session"
        );
    }
}
