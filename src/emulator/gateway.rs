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
use super::shards::{Shard, Sharding, guild_of};
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

/// One gateway session: what it asked for, its shard, its sequence, what it was sent (for
/// RESUME) and the connection it is on, if any.
struct Session {
    token: String,
    intents: u64,
    large_threshold: u64,
    shard: Shard,
    /// When it last identified or resumed (a counter): of two sessions that own a server's
    /// events, the newer gets them.
    active: u64,
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

    fn is_connected(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|(_, tx)| !tx.is_closed())
    }
}

/// A dispatch no connection received: `(session, seq)` lets a RESUME take it back.
struct Missed {
    event: String,
    data: Value,
    session: Option<(String, u64)>,
}

/// A dispatch that reached a connection, and the shard it went out on.
#[derive(Clone, Debug)]
pub struct Dispatched {
    pub event: String,
    pub data: Value,
    pub shard: Shard,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    /// Counts identifies and resumes, for `Session::active`.
    activity: u64,
    missed: Vec<Missed>,
    /// Every dispatch that reached a connection, in order (the newest `keep` when bounded).
    sent: Vec<Dispatched>,
    sharding: Sharding,
    /// Dispatches kept in `sent` and `missed`; `None` keeps every one.
    keep: Option<usize>,
}

impl State {
    /// The session that gets the events of `guild` (`None`: DMs, shard 0): the newest of the
    /// sessions whose shard owns it.
    fn route(&self, guild: Option<u64>) -> Option<String> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.shard.owns(guild))
            .max_by_key(|(_, s)| s.active)
            .map(|(id, _)| id.clone())
    }

    /// The session that gets shard `shard`'s events (of any shard count).
    fn of_shard(&self, shard: u64) -> Option<String> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.shard.id == shard)
            .max_by_key(|(_, s)| s.active)
            .map(|(id, _)| id.clone())
    }

    fn record(&mut self, event: &str, data: Value, shard: Shard) {
        self.sent.push(Dispatched {
            event: event.to_owned(),
            data,
            shard,
        });
        self.trim();
    }

    /// Lets the oldest dispatches go once twice `keep` are held (so trimming costs little per
    /// event). Missed events still waiting for their session's RESUME are kept.
    fn trim(&mut self) {
        let Some(keep) = self.keep else { return };
        if self.sent.len() > keep.saturating_mul(2) {
            let excess = self.sent.len() - keep;
            self.sent.drain(..excess);
        }
        let unclaimed = self.missed.iter().filter(|m| m.session.is_none()).count();
        if unclaimed > keep.saturating_mul(2) {
            let mut extra = unclaimed - keep;
            self.missed.retain(|m| {
                if extra > 0 && m.session.is_none() {
                    extra -= 1;
                    return false;
                }
                true
            });
        }
    }
}

pub(crate) struct Gateway {
    state: Mutex<State>,
    /// How many READYs have been sent.
    ready: watch::Sender<u64>,
    /// How many sessions have been resumed.
    resumed: watch::Sender<u64>,
    /// How many holds keep new connections waiting before HELLO (see [`GatewayHold`]).
    holds: watch::Sender<u64>,
    /// How many refusals answer new connections with 503 (see [`GatewayRefusal`]).
    refusals: AtomicU64,
    next_id: AtomicU64,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: watch::channel(0).0,
            resumed: watch::channel(0).0,
            holds: watch::channel(0).0,
            refusals: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        }
    }
}

impl Gateway {
    fn state(&self) -> MutexGuard<'_, State> {
        super::lock(&self.state)
    }

    /// Sends an event to the session of the shard that owns its server (shard 0 for DMs and
    /// other events without one). While that session is disconnected the event waits for a
    /// RESUME; with no session at all it is lost, as on Discord (a bot that was down reads
    /// what it missed through the REST API). Either way it is counted in
    /// [`Gateway::missed`] until a RESUME delivers it.
    pub(crate) fn dispatch(&self, event: &str, data: Value) {
        let guild = guild_of(event, &data);
        self.dispatch_with(event, guild, |_| data);
    }

    /// Like [`Gateway::dispatch`] for an event about `guild`, with a payload built for the
    /// session's intents and `large_threshold`.
    pub(crate) fn dispatch_with(
        &self,
        event: &str,
        guild: Option<u64>,
        build: impl FnOnce((u64, u64)) -> Value,
    ) {
        let mut state = self.state();
        let state = &mut *state;
        let Some((session_id, session)) = state
            .route(guild)
            .and_then(|id| state.sessions.get_mut(&id).map(|s| (id, s)))
        else {
            let data = build((intents::ALL_KNOWN, DEFAULT_LARGE_THRESHOLD));
            state.missed.push(Missed {
                event: event.to_owned(),
                data,
                session: None,
            });
            state.trim();
            return;
        };
        let data = build((session.intents, session.large_threshold));
        if !wanted_by(session.intents, event, &data) {
            return;
        }
        let shard = session.shard;
        if session.push(event, data.clone()) {
            state.record(event, data, shard);
        } else {
            state.missed.push(Missed {
                event: event.to_owned(),
                data,
                session: Some((session_id, session.seq)),
            });
        }
    }

    /// Keeps only the newest `keep` dispatches in the record (see `Emulator::keep_recent`).
    pub(crate) fn keep_recent(&self, keep: usize) {
        let mut state = self.state();
        state.keep = Some(keep);
        state.trim();
    }

    /// Events that went out while no bot was connected (and were not delivered by a RESUME).
    pub(crate) fn missed(&self) -> Vec<(String, Value)> {
        self.state()
            .missed
            .iter()
            .map(|m| (m.event.clone(), m.data.clone()))
            .collect()
    }

    /// Closes shard 0's connection (the only one of an unsharded bot) with a close code and
    /// ends its session, as Discord does when it drops a session: a RESUME is then refused
    /// and the bot identifies again.
    pub(crate) fn close(&self, code: u16) -> bool {
        self.close_shard(0, code)
    }

    /// Like [`Gateway::close`], for the session of shard `shard`.
    pub(crate) fn close_shard(&self, shard: u64, code: u16) -> bool {
        let mut state = self.state();
        let Some(id) = state.of_shard(shard) else {
            return false;
        };
        let Some(session) = state.sessions.remove(&id) else {
            return false;
        };
        session
            .connection
            .is_some_and(|(_, tx)| tx.send(Outgoing::Close(code, "emulator fault")).is_ok())
    }

    /// Sends op 7 (Reconnect) on shard 0's live connection; the session stays resumable.
    pub(crate) fn request_reconnect(&self) -> bool {
        let state = self.state();
        state
            .of_shard(0)
            .and_then(|id| state.sessions.get(&id))
            .and_then(|s| s.connection.as_ref())
            .is_some_and(|(_, tx)| {
                tx.send(Outgoing::Frame(json!({"op": 7, "d": null})))
                    .is_ok()
            })
    }

    /// Drops shard 0's live connection as a network failure would (an unclean close, 4000):
    /// the session stays resumable, and every event from now on waits for its RESUME.
    pub(crate) fn drop_connection(&self) -> bool {
        let mut state = self.state();
        let state = &mut *state;
        state
            .of_shard(0)
            .and_then(|id| state.sessions.get_mut(&id))
            .and_then(|s| s.connection.take())
            .is_some_and(|(_, tx)| {
                tx.send(Outgoing::Close(4000, "emulator: the connection dropped"))
                    .is_ok()
            })
    }

    /// The intents of the session that gets `guild`'s events (0 with none).
    pub(crate) fn intents_for(&self, guild: Option<u64>) -> u64 {
        let state = self.state();
        state
            .route(guild)
            .and_then(|id| state.sessions.get(&id))
            .map_or(0, |s| s.intents)
    }

    /// The intents and shard of the session this connection identified or resumed; `None`
    /// once the emulator has ended that session (its close frame is then on the way to the
    /// bot).
    fn connection_session(&self, connection: u64) -> Option<(u64, Shard)> {
        self.state()
            .sessions
            .values()
            .find(|s| s.connection.as_ref().is_some_and(|(c, _)| *c == connection))
            .map(|s| (s.intents, s.shard))
    }

    /// A heartbeat on `connection` says the bot has every dispatch up to `seq`: a RESUME
    /// will ask only for those after it, so the session's resume buffer lets them go (Discord
    /// too keeps only what a resume may still ask for). Without this the buffer held the
    /// last ten thousand dispatches of a long session, whole.
    fn acknowledged(&self, connection: u64, seq: u64) {
        let mut state = self.state();
        let Some(session) = state
            .sessions
            .values_mut()
            .find(|s| s.connection.as_ref().is_some_and(|(c, _)| *c == connection))
        else {
            return;
        };
        let seq = seq.min(session.seq);
        while session.buffer.front().is_some_and(|(s, _, _)| *s <= seq) {
            session.buffer.pop_front();
        }
    }

    /// Sends a dispatch on the session this connection carries (an answer to its request).
    fn reply_on(&self, connection: u64, event: &str, data: Value) {
        let mut state = self.state();
        let state = &mut *state;
        let Some(session) = state
            .sessions
            .values_mut()
            .find(|s| s.connection.as_ref().is_some_and(|(c, _)| *c == connection))
        else {
            return;
        };
        let shard = session.shard;
        if session.push(event, data.clone()) {
            state.record(event, data, shard);
        }
    }

    pub(crate) fn ready_count(&self) -> watch::Receiver<u64> {
        self.ready.subscribe()
    }

    pub(crate) fn resumed_count(&self) -> watch::Receiver<u64> {
        self.resumed.subscribe()
    }

    /// Every dispatch sent so far, with the shard it went out on.
    pub(crate) fn sent(&self) -> Vec<Dispatched> {
        self.state().sent.clone()
    }

    /// Whether shard 0's session (the only one of an unsharded bot) is connected.
    pub(crate) fn is_connected(&self) -> bool {
        let state = self.state();
        state
            .of_shard(0)
            .and_then(|id| state.sessions.get(&id))
            .is_some_and(Session::is_connected)
    }

    /// The shards whose sessions are connected now.
    pub(crate) fn connected_shards(&self) -> Vec<Shard> {
        let mut shards: Vec<Shard> = self
            .state()
            .sessions
            .values()
            .filter(|s| s.is_connected())
            .map(|s| s.shard)
            .collect();
        shards.sort_by_key(|s| (s.count, s.id));
        shards
    }

    pub(crate) fn sharding(&self) -> Sharding {
        self.state().sharding
    }

    pub(crate) fn set_sharding(&self, sharding: Sharding) {
        self.state().sharding = sharding;
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

/// Whether a new connection is refused before its upgrade (see [`GatewayRefusal`]).
pub(crate) fn refusing(shared: &Shared) -> bool {
    shared.gateway.refusals.load(Ordering::SeqCst) > 0
}

/// Serves one gateway connection until either side closes it.
pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let gateway = &shared.gateway;
    let connection = gateway.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut authenticated = false;
    // While a test holds the gateway (the network is down), a new connection gets nothing,
    // not even HELLO; what the bot sends meanwhile waits in the socket.
    let _ = gateway
        .holds
        .subscribe()
        .wait_for(|holds| *holds == 0)
        .await;
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
                    // Heartbeat → ACK; what it acknowledges leaves the resume buffer.
                    Some(1) => {
                        if let Some(seq) = frame.get("d").and_then(Value::as_u64) {
                            shared.gateway.acknowledged(connection, seq);
                        }
                        send(&mut socket, &json!({"op": 11})).await.map_err(|()| None)
                    }
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

/// IDENTIFY: checks the token, intents and shard, starts a session, sends READY and a
/// GUILD_CREATE per server of the shard. A `shard` that is not `[id, count]` with
/// `id < count` closes with 4010; a shard that would hold more servers than Discord allows
/// on one closes with 4011 (sharding required).
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

/// Request Guild Members (op 8): GUILD_MEMBERS_CHUNK events with the members that match. The
/// whole list (`query` "" with `limit` 0) needs the GUILD_MEMBERS intent of the session this
/// connection carries. A request that reaches a connection whose session the emulator has just
/// ended (a fault a test injected, its close still in flight) goes unanswered, as on Discord.
/// The chunks come back on the connection that asked, and only for a server of its shard: a
/// request for another shard's server is a violation (the bot sent it on the wrong shard) and
/// goes unanswered.
fn request_members(shared: &Shared, connection: u64, frame: &Value) -> Result<(), Close> {
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

    /// Whether a bot is connected to the gateway now (on shard 0, the only shard unsharded).
    pub fn bot_connected(&self) -> bool {
        self.shared.gateway.is_connected()
    }

    /// Every gateway dispatch sent to the bot so far, as `(event, payload)`.
    pub fn dispatched(&self) -> Vec<(String, Value)> {
        self.shared
            .gateway
            .sent()
            .into_iter()
            .map(|d| (d.event, d.data))
            .collect()
    }

    /// Every gateway dispatch sent to the bot so far, with the shard it went out on.
    pub fn dispatched_on_shards(&self) -> Vec<Dispatched> {
        self.shared.gateway.sent()
    }

    /// The shard an interaction (by its id) was dispatched on, once it was.
    pub fn interaction_shard(&self, interaction: u64) -> Option<Shard> {
        let id = interaction.to_string();
        self.shared
            .gateway
            .sent()
            .into_iter()
            .find(|d| d.event == "INTERACTION_CREATE" && d.data["id"].as_str() == Some(&id))
            .map(|d| d.shard)
    }

    /// The shards whose sessions are connected now, by count then id.
    pub fn connected_shards(&self) -> Vec<Shard> {
        self.shared.gateway.connected_shards()
    }

    /// What `GET /gateway/bot` answers: the shard count Discord recommends, and how many
    /// sessions may start at once (`session_start_limit.max_concurrency`). 1 and 1 by default.
    pub fn set_recommended_shards(&self, shards: u64, max_concurrency: u64) {
        let mut sharding = self.shared.gateway.sharding();
        sharding.recommended = shards.max(1);
        sharding.max_concurrency = max_concurrency.max(1);
        self.shared.gateway.set_sharding(sharding);
    }

    /// How many servers one shard may hold before IDENTIFY closes with 4011 (Discord: 2,500).
    pub fn set_guilds_per_shard(&self, limit: usize) {
        let mut sharding = self.shared.gateway.sharding();
        sharding.guilds_per_shard = limit;
        self.shared.gateway.set_sharding(sharding);
    }

    /// Closes one shard's connection with a close code and ends its session, as
    /// [`Emulator::close_gateway`] does for shard 0.
    pub fn close_shard(&self, shard: u64, code: u16) -> bool {
        self.shared.gateway.close_shard(shard, code)
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

    /// Holds every new gateway connection before its HELLO, as a network that is down would,
    /// until the returned guard is dropped: a test can then make something happen while the
    /// bot is surely away, however quickly it tries to come back.
    pub fn hold_gateway(&self) -> GatewayHold {
        self.shared.gateway.holds.send_modify(|n| *n += 1);
        GatewayHold {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Answers every new gateway connection with 503 before its upgrade, as Discord does in
    /// an outage, until the returned guard is dropped: the bot's reconnections fail and
    /// serenity starts the shard again, retrying until the gateway takes it.
    pub fn refuse_gateway(&self) -> GatewayRefusal {
        self.shared.gateway.refusals.fetch_add(1, Ordering::SeqCst);
        GatewayRefusal {
            shared: Arc::clone(&self.shared),
        }
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

/// Refuses new gateway connections until dropped (see [`Emulator::refuse_gateway`]).
#[must_use = "the gateway refuses connections only while the guard lives"]
pub struct GatewayRefusal {
    shared: Arc<Shared>,
}

impl Drop for GatewayRefusal {
    fn drop(&mut self) {
        self.shared.gateway.refusals.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Keeps new gateway connections waiting until dropped (see [`Emulator::hold_gateway`]).
#[must_use = "the gateway is held only while the guard lives"]
pub struct GatewayHold {
    shared: Arc<Shared>,
}

impl Drop for GatewayHold {
    fn drop(&mut self) {
        self.shared
            .gateway
            .holds
            .send_modify(|n| *n = n.saturating_sub(1));
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

    /// A heartbeat's sequence lets the dispatches it acknowledges go from the resume buffer:
    /// a long session holds only what a RESUME may still ask for. A RESUME from the
    /// acknowledged sequence replays what came after; one from before it can no longer be
    /// served (op 9), as on Discord.
    #[tokio::test]
    async fn a_heartbeat_lets_what_it_acknowledges_leave_the_resume_buffer() {
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
        let first = ready.last().and_then(|f| f["s"].as_u64()).expect("seq");
        for n in 0..50 {
            emu.send_dm(person, &format!("message {n}"));
        }
        let frames = drain(&mut rx);
        assert_eq!(frames.len(), 50);
        let buffered = |emu: &Emulator| {
            let state = emu.shared.gateway.state();
            state
                .sessions
                .get(&session)
                .map(|s| s.buffer.len())
                .expect("the session")
        };
        assert!(buffered(&emu) >= 50, "unacknowledged dispatches are kept");

        let acked = first + 40;
        emu.shared.gateway.acknowledged(1, acked);
        assert_eq!(
            buffered(&emu),
            10,
            "only the ten after the heartbeat's sequence remain"
        );
        emu.shared.gateway.acknowledged(1, u64::MAX);
        assert_eq!(
            buffered(&emu),
            0,
            "a sequence past the session's own lets all go"
        );

        emu.send_dm(person, "after the heartbeat");
        emu.shared.gateway.disconnected(1, None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let from = first + 50;
        let frame = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": from}});
        resume(&emu.shared, 2, &tx, &frame).expect("resume");
        let frames = drain(&mut rx);
        assert_eq!(events(&frames), ["MESSAGE_CREATE", "RESUMED"]);
        assert_eq!(frames[0]["d"]["content"], json!("after the heartbeat"));

        emu.shared.gateway.disconnected(2, None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let stale = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": first}});
        resume(&emu.shared, 3, &tx, &stale).expect("answered");
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
    fn sharded_identify(shard: u64, count: u64) -> Value {
        json!({"op": 2, "d": {
            "token": "t",
            "intents": intents::GUILDS | intents::GUILD_MEMBERS | intents::DIRECT_MESSAGES,
            "properties": {},
            "shard": [shard, count],
        }})
    }

    #[tokio::test]
    async fn a_wrong_shard_closes_with_4010_and_an_overfull_one_with_4011() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        emu.add_guild_on_shard("A", owner, 0, 2);
        emu.add_guild_on_shard("B", owner, 0, 2);
        let (tx, _rx) = mpsc::unbounded_channel();
        for wrong in [json!([2, 2]), json!([0, 0]), json!([0]), json!("0,1")] {
            let frame = json!({"op": 2, "d": {"token": "t", "intents": 1, "shard": wrong}});
            assert_eq!(
                identify(&emu.shared, 1, &tx, &frame).err().map(|c| c.0),
                Some(4010),
                "{wrong}"
            );
        }
        emu.set_guilds_per_shard(1);
        assert_eq!(
            identify(&emu.shared, 1, &tx, &sharded_identify(0, 2))
                .err()
                .map(|c| c.0),
            Some(4011),
            "two servers on shard 0 of 2"
        );
        assert!(identify(&emu.shared, 2, &tx, &sharded_identify(1, 2)).is_ok());
        assert_eq!(
            identify(&emu.shared, 3, &tx, &identify_frame("t", 1))
                .err()
                .map(|c| c.0),
            Some(4011),
            "unsharded, both servers land on one shard"
        );
    }

    #[tokio::test]
    async fn each_shard_gets_its_own_servers_and_dms_go_to_shard_0() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let guilds: Vec<u64> = (0..4)
            .map(|shard| emu.add_guild_on_shard(&format!("S{shard}"), owner, shard, 4))
            .collect();
        for (shard, guild) in guilds.iter().enumerate() {
            assert_eq!(super::super::shard_of(*guild, 4), shard as u64);
        }
        let mut receivers = Vec::new();
        for shard in 0..4 {
            let (tx, mut rx) = mpsc::unbounded_channel();
            identify(&emu.shared, shard + 1, &tx, &sharded_identify(shard, 4)).expect("identify");
            let frames = drain(&mut rx);
            assert_eq!(frames[0]["d"]["shard"], json!([shard, 4]));
            let listed: Vec<Value> = frames[0]["d"]["guilds"]
                .as_array()
                .expect("guilds")
                .iter()
                .map(|g| g["id"].clone())
                .collect();
            let mine = json!(guilds[shard as usize].to_string());
            assert_eq!(
                listed,
                std::slice::from_ref(&mine),
                "READY lists shard {shard}'s server"
            );
            let created: Vec<Value> = frames
                .iter()
                .filter(|f| f["t"] == "GUILD_CREATE")
                .map(|f| f["d"]["id"].clone())
                .collect();
            assert_eq!(created, [mine]);
            receivers.push(rx);
        }
        let pat = emu.add_user("Pat");
        emu.add_member(guilds[2], pat, &[]).expect("member");
        emu.send_dm(pat, "hello");
        let got: Vec<Vec<String>> = receivers.iter_mut().map(|rx| events(&drain(rx))).collect();
        assert_eq!(got[0], ["MESSAGE_CREATE"], "the DM, on shard 0");
        assert!(got[1].is_empty() && got[3].is_empty());
        assert_eq!(
            got[2],
            ["GUILD_MEMBER_ADD"],
            "the server's event, on its shard"
        );
        assert_eq!(emu.connected_shards().len(), 4);
        let shards: Vec<(String, u64)> = emu
            .dispatched_on_shards()
            .into_iter()
            .filter(|d| d.event != "READY" && d.event != "GUILD_CREATE")
            .map(|d| (d.event, d.shard.id))
            .collect();
        assert_eq!(
            shards,
            [
                ("GUILD_MEMBER_ADD".to_owned(), 2),
                ("MESSAGE_CREATE".to_owned(), 0)
            ]
        );
    }

    #[tokio::test]
    async fn member_requests_are_answered_only_on_the_servers_shard() {
        let emu = emulator().await;
        let owner = emu.add_user("Owner");
        let on_one = emu.add_guild_on_shard("One", owner, 1, 2);
        let (tx0, mut rx0) = mpsc::unbounded_channel();
        identify(&emu.shared, 1, &tx0, &sharded_identify(0, 2)).expect("identify");
        let (tx1, mut rx1) = mpsc::unbounded_channel();
        identify(&emu.shared, 2, &tx1, &sharded_identify(1, 2)).expect("identify");
        drain(&mut rx0);
        drain(&mut rx1);
        let all = json!({"op": 8, "d": {"guild_id": on_one.to_string(), "query": "", "limit": 0}});
        request_members(&emu.shared, 1, &all).expect("not a close");
        assert!(drain(&mut rx0).is_empty() && drain(&mut rx1).is_empty());
        let problems = emu.take_problems();
        assert!(
            problems
                .iter()
                .any(|p| p.kind == ProblemKind::Violation && p.message.contains("shard [0, 2]")),
            "{problems:?}"
        );
        request_members(&emu.shared, 2, &all).expect("answered");
        assert_eq!(events(&drain(&mut rx1)), ["GUILD_MEMBERS_CHUNK"]);
    }

    #[tokio::test]
    async fn a_new_session_replaces_only_its_own_shards() {
        let emu = emulator().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(&emu.shared, 1, &tx, &sharded_identify(0, 2)).expect("identify");
        identify(&emu.shared, 2, &tx, &sharded_identify(1, 2)).expect("identify");
        identify(&emu.shared, 3, &tx, &sharded_identify(1, 2)).expect("again");
        drain(&mut rx);
        let shards: Vec<u64> = emu.connected_shards().iter().map(|s| s.id).collect();
        assert_eq!(shards, [0, 1]);
        assert!(emu.close_shard(1, 4000));
        assert_eq!(drain(&mut rx), [json!({"close": 4000})]);
        assert!(emu.bot_connected(), "shard 0 is still up");
    }

    #[tokio::test]
    async fn gateway_bot_recommends_the_configured_shards() {
        let emu = emulator().await;
        emu.set_recommended_shards(4, 2);
        let body = emu
            .shared
            .gateway
            .sharding()
            .gateway_bot(&emu.shared.gateway_url);
        let parsed: serenity::model::gateway::BotGateway =
            serde_json::from_value(body).expect("serenity reads it");
        assert_eq!(parsed.shards, 4);
        assert_eq!(parsed.session_start_limit.max_concurrency, 2);
    }
}
