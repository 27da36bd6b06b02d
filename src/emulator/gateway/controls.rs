//! What tests and the sandbox do to the gateway: count sessions, read what was dispatched,
//! shard the world, and close, drop, hold or refuse connections.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tokio::sync::watch;

use super::Dispatched;
use crate::emulator::shards::Shard;
use crate::emulator::world::intents;
use crate::emulator::{Emulator, Shared};

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
