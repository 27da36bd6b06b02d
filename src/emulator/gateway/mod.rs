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

use super::Shared;
use super::problems::{Problem, ProblemKind};
use super::shards::{Shard, Sharding, guild_of};
use super::world::intents;

mod controls;
mod handshake;
mod members;
#[cfg(test)]
mod tests;

pub use controls::{GatewayHold, GatewayRefusal};
use handshake::{identify, resume};
use members::request_members;

const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// How many dispatches a session keeps for a RESUME.
const RESUME_BUFFER: usize = 10_000;
/// Discord's default `large_threshold` when IDENTIFY does not say.
const DEFAULT_LARGE_THRESHOLD: u64 = 50;

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
