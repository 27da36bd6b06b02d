//! The gateway: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME refused with an
//! invalid session, and dispatches pushed by the emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::Shared;
use super::world::intents;

const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

pub(crate) enum Outgoing {
    Dispatch(String, Value),
    Close(u16),
}

struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

/// The one bot connection (single shard), and what waits for it.
pub(crate) struct Gateway {
    connection: Mutex<Option<Connection>>,
    /// Dispatches made while no bot was connected: lost, as on Discord.
    missed: Mutex<Vec<(String, Value)>>,
    /// How many READYs have been sent.
    ready: watch::Sender<u64>,
    intents: AtomicU64,
    next_id: AtomicU64,
    /// Every dispatch sent to the bot, in order.
    sent: Mutex<Vec<(String, Value)>>,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            connection: Mutex::new(None),
            missed: Mutex::new(Vec::new()),
            ready: watch::channel(0).0,
            intents: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            sent: Mutex::new(Vec::new()),
        }
    }
}

impl Gateway {
    /// Sends an event to the bot. While no bot is connected the event is lost, as on Discord
    /// (a bot that was down reads what it missed through the REST API); it is counted in
    /// [`Gateway::missed`].
    pub(crate) fn dispatch(&self, event: &str, data: Value) {
        let connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = connection.as_ref()
            && conn
                .tx
                .send(Outgoing::Dispatch(event.to_owned(), data.clone()))
                .is_ok()
        {
            return;
        }
        drop(connection);
        self.missed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((event.to_owned(), data));
    }

    /// Events that went out while no bot was connected.
    pub(crate) fn missed(&self) -> Vec<(String, Value)> {
        self.missed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Closes the bot's connection with a close code, as Discord does on errors.
    pub(crate) fn close(&self, code: u16) -> bool {
        let connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        connection
            .as_ref()
            .is_some_and(|c| c.tx.send(Outgoing::Close(code)).is_ok())
    }

    pub(crate) fn intents(&self) -> u64 {
        self.intents.load(Ordering::Relaxed)
    }

    pub(crate) fn ready_count(&self) -> watch::Receiver<u64> {
        self.ready.subscribe()
    }

    /// Every dispatch sent so far, as `(event, payload)`.
    pub(crate) fn sent(&self) -> Vec<(String, Value)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember(&self, event: &str, data: &Value) {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((event.to_owned(), data.clone()));
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// Serves one gateway connection until either side closes it.
pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let gateway = &shared.gateway;
    let id = gateway.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut seq: u64 = 0;
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": null, "t": null});
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    tracing::warn!(%text, "emulator: gateway frame is not JSON");
                    continue;
                };
                match frame.get("op").and_then(Value::as_u64) {
                    // Heartbeat → ACK.
                    Some(1) => {
                        let ack = json!({"op": 11});
                        if send(&mut socket, &ack).await.is_err() { break; }
                    }
                    Some(2) => {
                        let wanted = frame.pointer("/d/intents").and_then(Value::as_u64).unwrap_or(0);
                        gateway.intents.store(wanted, Ordering::Relaxed);
                        if identify(&mut socket, &shared, &mut seq).await.is_err() {
                            break;
                        }
                        *gateway.connection.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Connection { id, tx: tx.clone() });
                        gateway.ready.send_modify(|n| *n += 1);
                    }
                    // RESUME: sessions are not kept, so make the client identify again.
                    Some(6) => {
                        let invalid = json!({"op": 9, "d": false});
                        if send(&mut socket, &invalid).await.is_err() { break; }
                    }
                    _ => {}
                }
            }
            outgoing = rx.recv() => {
                match outgoing {
                    Some(Outgoing::Dispatch(event, data)) => {
                        if !wanted_by(gateway.intents(), &event, &data) {
                            continue;
                        }
                        seq += 1;
                        gateway.remember(&event, &data);
                        let frame = json!({"op": 0, "t": event, "s": seq, "d": data});
                        if send(&mut socket, &frame).await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Close(code)) => {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame { code, reason: "emulator fault".into() })))
                            .await;
                        break;
                    }
                    None => break,
                }
            }
        }
    }
    let mut connection = gateway.connection.lock().unwrap_or_else(|e| e.into_inner());
    if connection.as_ref().is_some_and(|c| c.id == id) {
        *connection = None;
    }
}

async fn identify(socket: &mut WebSocket, shared: &Shared, seq: &mut u64) -> Result<(), ()> {
    let (ready, guilds) = {
        let world = shared.world.lock().unwrap_or_else(|e| e.into_inner());
        let mut user = world.user_json(world.bot_id);
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user["flags"] = json!(0);
        let ready = json!({
            "v": 10,
            "user": user,
            "guilds": world.guilds.keys().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": format!("emulator-session-{}", shared.ids.next()),
            "resume_gateway_url": shared.gateway_url,
            "shard": [0, 1],
            "application": {"id": world.application_id.to_string(), "flags": 0},
        });
        let guilds: Vec<Value> = world
            .guilds
            .values()
            .map(|g| world.guild_create_json(g))
            .collect();
        (ready, guilds)
    };
    *seq += 1;
    shared.gateway.remember("READY", &ready);
    send(
        socket,
        &json!({"op": 0, "t": "READY", "s": *seq, "d": ready}),
    )
    .await?;
    for guild in guilds {
        *seq += 1;
        shared.gateway.remember("GUILD_CREATE", &guild);
        send(
            socket,
            &json!({"op": 0, "t": "GUILD_CREATE", "s": *seq, "d": guild}),
        )
        .await?;
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
        _ => true,
    }
}

async fn send(socket: &mut WebSocket, frame: &Value) -> Result<(), ()> {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|_| ())
}
