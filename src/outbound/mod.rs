//! The one way out to Discord. Every request the bot makes on its own (outbox rows, check-in
//! prompts, DM replies, opening a DM, starting a thread) goes through one [`Outbound`], paced
//! by one throttle: the send budget (45 requests a second by default) overall and 5 per 5
//! seconds in a channel. On PostgreSQL every process shares the budget as well: each request
//! also takes a send slot from the database ([`budget`]), so several processes together keep
//! Discord's limit for the token. A global 429 holds every request until Discord's
//! `retry_after` has passed (and holds the shared budget too); the error says when, so a
//! caller that retries (the outbox) comes back exactly then.
//!
//! Interaction replies (a slash command's answer, a button's update) are not here: they
//! answer an interaction token, which Discord does not count against these limits.

pub mod budget;
pub mod failure;
mod send;
pub mod throttle;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

pub use send::{DMS_CLOSED, SendError, THREAD_EXISTS, embed, report_message};

use crate::domain::ids::{ServerId, UserId};
use crate::domain::message::{Button, ButtonStyle, MessageBody, Prompt};
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::{Db, send_budget};
use budget::Slots;
use throttle::Throttle;

tokio::task_local! {
    /// How long a request made on this task may wait for its place under this process's
    /// limits (a busy channel's 5 messages in 5 seconds): past it, the request is not made and
    /// fails with [`SendError::Deferred`], for the outbox to send later. Unset: it waits.
    static PATIENCE: Duration;
}

/// How long what a command sends at once (its announcement) may wait for its channel before
/// it is left to the outbox's rounds.
pub const COMMAND_PATIENCE: Duration = throttle::CHANNEL_WINDOW.saturating_mul(2);

/// Runs `work` with requests that wait at most `patience` for their place (see [`PATIENCE`]):
/// what a command sends at once, so that a burst in one channel leaves its messages to the
/// outbox instead of holding a task per message until the channel has room.
pub async fn with_patience<F: Future>(patience: Duration, work: F) -> F::Output {
    PATIENCE.scope(patience, work).await
}

/// Discord's ids as ours, and back: the adapter converts at the edge, the rest of the house
/// passes typed ids.
impl From<serenity::GuildId> for ServerId {
    fn from(id: serenity::GuildId) -> Self {
        ServerId::new(id.get())
    }
}

impl From<serenity::UserId> for UserId {
    fn from(id: serenity::UserId) -> Self {
        UserId::new(id.get())
    }
}

impl From<ServerId> for serenity::GuildId {
    fn from(id: ServerId) -> Self {
        serenity::GuildId::new(id.get())
    }
}

impl From<UserId> for serenity::UserId {
    fn from(id: UserId) -> Self {
        serenity::UserId::new(id.get())
    }
}

/// An HTTP client for Discord, or for the emulator at `api_url`. With a proxy serenity's rate
/// limiter must be off: it builds its requests without the proxy and would reach Discord
/// itself. Without one (production) the limiter is on, reading Discord's `X-RateLimit-*`
/// headers and 429s; tests run that path through [`http_client_through`].
pub fn http_client(token: &crate::config::Token, api_url: Option<&str>) -> serenity::Http {
    let mut builder = serenity::HttpBuilder::new(token.expose());
    if let Some(url) = api_url {
        builder = builder.proxy(url).ratelimiter_disabled(true);
    }
    builder.build()
}

/// An HTTP client for `https://discord.com` as production has it (no proxy, serenity's rate
/// limiter on), sending every request, the limiter's and the others, through `client`. With
/// `Emulator::tls_client` that is the emulator's TLS port: the production path under test.
pub fn http_client_through(
    token: &crate::config::Token,
    client: reqwest::Client,
) -> serenity::Http {
    // The builder makes the limiter with this client and the token prefixed "Bot ", as
    // `Ratelimiter::new` wants it.
    serenity::HttpBuilder::new(token.expose())
        .client(client)
        .build()
}

/// Sends to Discord, paced. Shared by everything in a process (see `App`).
pub struct Outbound {
    http: Arc<serenity::Http>,
    client: reqwest::Client,
    throttle: tokio::sync::Mutex<Throttle>,
    /// Requests of patient tasks waiting for their place in each channel (see [`PATIENCE`]).
    waiting: Arc<std::sync::Mutex<std::collections::HashMap<u64, usize>>>,
    /// The budget shared with the other processes on the database, when there are any.
    shared: Option<Shared>,
}

/// The wait of a request `ahead` places behind the first in a channel that has room in
/// `room_in`: each takes the channel's next place, one every
/// [`throttle::CHANNEL_WINDOW`] / [`throttle::PER_CHANNEL`].
fn behind(room_in: Duration, ahead: Option<usize>) -> Duration {
    let each = throttle::CHANNEL_WINDOW / u32::try_from(throttle::PER_CHANNEL).unwrap_or(1);
    room_in + each * u32::try_from(ahead.unwrap_or(0)).unwrap_or(u32::MAX)
}

/// A patient request's place in its channel's queue, given up when it is sent or dropped.
struct InLine {
    waiting: Arc<std::sync::Mutex<std::collections::HashMap<u64, usize>>>,
    channel: u64,
}

impl Drop for InLine {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = waiting.get_mut(&self.channel) {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&self.channel);
            }
        }
    }
}

/// The send budget this process shares with the others on one PostgreSQL database.
struct Shared {
    db: Db,
    per_second: usize,
    /// The slots this process holds. Locked while more are reserved, so a process asks the
    /// database once however many of its requests are waiting.
    slots: tokio::sync::Mutex<Slots>,
}

impl Shared {
    /// Waits for this request's send slot. When the database does not answer, the process
    /// paces itself alone (its own throttle) rather than stop sending.
    async fn slot(&self) {
        loop {
            let slot = {
                let mut slots = self.slots.lock().await;
                match slots.take(Instant::now()) {
                    Some(slot) => slot,
                    None => {
                        let reserved = send_budget::reserve(
                            &self.db,
                            budget::batch(self.per_second),
                            budget::spacing(self.per_second),
                        )
                        .await;
                        match reserved {
                            Ok(grant) => slots.keep(&grant, Instant::now()),
                            Err(error) => {
                                tracing::warn!(
                                    error = format!("{error:#}"),
                                    "the shared send budget did not answer: this request is paced by this process alone"
                                );
                                return;
                            }
                        }
                        continue;
                    }
                }
            };
            tokio::time::sleep_until(slot.into()).await;
            if Slots::usable(slot, Instant::now()) {
                return;
            }
        }
    }
}

impl Outbound {
    /// Sends through `http` (Discord, or the emulator it points at), at most `per_second`
    /// requests a second overall.
    pub fn new(http: Arc<serenity::Http>, per_second: usize) -> anyhow::Result<Self> {
        Ok(Self {
            http,
            client: reqwest::Client::builder()
                .use_rustls_tls()
                .build()
                .context("building the HTTP client")?,
            throttle: tokio::sync::Mutex::new(Throttle::new(per_second)),
            waiting: Arc::default(),
            shared: None,
        })
    }

    /// Shares the budget of `per_second` with every process on `db` when it is PostgreSQL
    /// (the engine for more than one process); on SQLite one process sends, and its own
    /// throttle is the budget.
    pub fn sharing_budget(mut self, db: &Db, per_second: usize) -> Self {
        if db.backend() == crate::store::Backend::Postgres {
            self.shared = Some(Shared {
                db: db.clone(),
                per_second,
                slots: tokio::sync::Mutex::default(),
            });
        }
        self
    }

    /// Send slots given up so far because they came too late to use (0 without a shared
    /// budget).
    pub async fn slots_lapsed(&self) -> u64 {
        match &self.shared {
            Some(shared) => shared.slots.lock().await.lapsed,
            None => 0,
        }
    }

    /// The serenity client it sends through (whether serenity's own rate limiter is on, and
    /// what it has read of Discord's limits, are there).
    pub fn http(&self) -> &serenity::Http {
        &self.http
    }

    /// Waits until a request may go out under Discord's limits, and counts it. `None` is a
    /// request that posts in no channel (opening a DM).
    async fn pace(&self, channel: Option<u64>) -> Result<(), SendError> {
        let _in_line = match (PATIENCE.try_with(|p| *p), channel) {
            (Ok(patience), Some(channel)) => Some(self.get_in_line(channel, patience).await?),
            _ => None,
        };
        loop {
            // This process's own limits first, so that a request held by its channel's limit
            // does not hold a shared slot it cannot use.
            let wait = self.throttle.lock().await.wait(channel, Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                continue;
            }
            if let Some(shared) = &self.shared {
                shared.slot().await;
            }
            let wait = {
                let mut throttle = self.throttle.lock().await;
                let now = Instant::now();
                let wait = throttle.wait(channel, now);
                if wait.is_zero() {
                    throttle.record(channel, now);
                }
                wait
            };
            if wait.is_zero() {
                return Ok(());
            }
            // Another request of this process took the channel's last place meanwhile: the
            // slot goes unused, and this one waits for the next.
        }
    }

    /// Takes a place in `channel`'s queue if the channel will have room within `patience`,
    /// counting the patient requests already waiting there (each takes the channel's
    /// next place, one every [`throttle::CHANNEL_WINDOW`] / [`throttle::PER_CHANNEL`]).
    async fn get_in_line(&self, channel: u64, patience: Duration) -> Result<InLine, SendError> {
        let room_in = self.room_in(channel).await;
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let wait = behind(room_in, waiting.get(&channel).copied());
        if wait > patience {
            return Err(SendError::Deferred { wait });
        }
        *waiting.entry(channel).or_default() += 1;
        Ok(InLine {
            waiting: self.waiting.clone(),
            channel,
        })
    }

    /// How long a patient request in `channel` would wait for its place if it were made now,
    /// behind those already in line there: what a command asks before it queues a message
    /// the channel cannot take within [`COMMAND_PATIENCE`].
    pub async fn wait_in_line(&self, channel: u64) -> Duration {
        let room_in = self.room_in(channel).await;
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        behind(room_in, waiting.get(&channel).copied())
    }

    /// How long until `channel` has room under this process's own limits.
    async fn room_in(&self, channel: u64) -> Duration {
        self.throttle
            .lock()
            .await
            .wait(Some(channel), Instant::now())
    }

    /// Counts every 429, and holds every request after a global one.
    async fn noted<T>(&self, result: Result<T, SendError>) -> Result<T, SendError> {
        if let Err(SendError::RateLimited {
            retry_after,
            global,
        }) = &result
        {
            crate::metrics::rate_limited(*global);
            if *global {
                self.pause_all(*retry_after).await;
            }
        }
        result
    }

    /// Nothing goes out for `pause` (Discord said the whole bot is rate-limited): from this
    /// process, and no new send slot for any process sharing the budget.
    pub async fn pause_all(&self, pause: Duration) {
        self.throttle
            .lock()
            .await
            .pause_until(Instant::now() + pause);
        if let Some(shared) = &self.shared
            && let Err(error) = send_budget::hold(&shared.db, pause).await
        {
            tracing::warn!(
                error = format!("{error:#}"),
                "the shared send budget could not be held after a global rate limit"
            );
        }
    }

    /// Posts `message` in `channel` and returns the message Discord created.
    async fn post(
        &self,
        channel: u64,
        message: &serenity::CreateMessage,
        files: &[(String, Vec<u8>)],
    ) -> Result<u64, SendError> {
        self.pace(Some(channel)).await?;
        let channel = serenity::ChannelId::new(channel);
        let result =
            send::post_message_with_files(&self.http, &self.client, channel, message, files).await;
        crate::metrics::sent(match &result {
            Ok(_) => "sent",
            Err(SendError::RateLimited { .. }) => "rate_limited",
            Err(SendError::DmsClosed) => "dms_closed",
            Err(SendError::Unavailable { .. }) => "server_error",
            Err(SendError::Network(_)) => "network",
            Err(SendError::Rejected { .. }) => "rejected",
            Err(SendError::Deferred { .. }) => "deferred",
        });
        self.noted(result).await.map(|m| m.id.get())
    }

    /// Posts a check-in prompt (text and buttons), pinging no one; with a `nonce`, Discord
    /// drops a second post of the same prompt. Returns the message's id.
    pub async fn post_prompt(
        &self,
        channel: u64,
        prompt: &Prompt,
        nonce: Option<&str>,
    ) -> Result<u64, SendError> {
        let mut message = serenity::CreateMessage::new()
            .content(clip(&prompt.text, MESSAGE_CONTENT))
            .components(components(&prompt.buttons))
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        if let Some(nonce) = nonce {
            message = message
                .nonce(serenity::Nonce::String(clip(nonce, NONCE_MAX)))
                .enforce_nonce(true);
        }
        self.post(channel, &message, &[]).await
    }

    /// A short line of the bot's own in `channel` (a DM reply), pinging no one.
    pub async fn say(&self, channel: u64, text: &str) -> Result<u64, SendError> {
        self.post_prompt(channel, &Prompt::text(text), None).await
    }

    /// Posts a report's message (text, embeds, attached files), pinging no one, with a nonce
    /// so a resend is dropped.
    pub async fn post_body(
        &self,
        channel: u64,
        body: &MessageBody,
        nonce: &str,
        files: &[(String, Vec<u8>)],
    ) -> Result<u64, SendError> {
        let message = report_message(body, clip(nonce, NONCE_MAX));
        self.post(channel, &message, files).await
    }

    /// Opens a thread on `message` in `channel` (or finds the one an earlier attempt opened).
    pub async fn start_thread(
        &self,
        channel: u64,
        message: u64,
        name: &str,
    ) -> Result<u64, SendError> {
        self.pace(Some(channel)).await?;
        let result = send::start_thread(
            &self.http,
            &self.client,
            serenity::ChannelId::new(channel),
            serenity::MessageId::new(message),
            name,
        )
        .await;
        self.noted(result).await.map(serenity::ChannelId::get)
    }

    /// Opens (or finds) the DM channel with `user`.
    pub async fn open_dm(&self, user: UserId) -> Result<u64, SendError> {
        self.pace(None).await?;
        let result = send::open_dm(&self.http, &self.client, user.into()).await;
        self.noted(result).await.map(serenity::ChannelId::get)
    }

    /// The Discord roles `user` holds in `server` now; `None` when they are no longer a
    /// member.
    pub async fn member_roles(
        &self,
        server: ServerId,
        user: UserId,
    ) -> Result<Option<Vec<u64>>, SendError> {
        self.pace(None).await?;
        let result = send::member_roles(
            &self.http,
            &self.client,
            serenity::GuildId::new(server.get()),
            user.into(),
        )
        .await;
        self.noted(result).await
    }

    /// Up to 100 messages in `channel` after `after` (all, when None), oldest first.
    pub async fn messages_after(
        &self,
        channel: u64,
        after: Option<u64>,
    ) -> anyhow::Result<Vec<Incoming>> {
        self.pace(None).await?;
        let mut request = serenity::GetMessages::new().limit(100);
        if let Some(after) = after {
            request = request.after(serenity::MessageId::new(after));
        }
        let mut messages: Vec<Incoming> = serenity::ChannelId::new(channel)
            .messages(&self.http, request)
            .await
            .with_context(|| format!("reading the messages in channel {channel}"))?
            .into_iter()
            .map(|m| Incoming {
                id: m.id.get(),
                author: m.author.id.into(),
                content: m.content,
            })
            .collect();
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }
}

/// A message someone sent, as the check-in engine reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub id: u64,
    pub author: UserId,
    pub content: String,
}

/// Discord's longest nonce.
const NONCE_MAX: usize = 25;

/// Rows of buttons as Discord components.
pub fn components(rows: &[Vec<Button>]) -> Vec<serenity::CreateActionRow> {
    rows.iter()
        .map(|row| {
            serenity::CreateActionRow::Buttons(
                row.iter()
                    .map(|b| {
                        serenity::CreateButton::new(b.id.clone())
                            .label(b.label.clone())
                            .style(match b.style {
                                ButtonStyle::Success => serenity::ButtonStyle::Success,
                                ButtonStyle::Secondary => serenity::ButtonStyle::Secondary,
                            })
                    })
                    .collect(),
            )
        })
        .collect()
}

/// A nonce for an outbox row, derived from its key (Discord allows 25 characters): the same
/// row always sends the same nonce, so Discord drops a resend after a crash.
pub fn nonce_for(key: &str) -> String {
    // FNV-1a, 64 bits: stable across processes and versions, unlike std's hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("o{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound() -> Outbound {
        let http = Arc::new(serenity::Http::new("test-token"));
        Outbound::new(http, 45).expect("an outbound")
    }

    /// A channel that has just had its five messages: patient requests queue for the next
    /// window's places while those come within the patience, and the rest are deferred with the wait they
    /// would have had; a place given up (sent, or the task dropped) makes room again.
    #[tokio::test]
    async fn patient_requests_queue_only_as_far_as_their_patience() {
        let outbound = outbound();
        let channel = 42;
        {
            let mut throttle = outbound.throttle.lock().await;
            for _ in 0..throttle::PER_CHANNEL {
                throttle.record(Some(channel), Instant::now());
            }
        }
        let patience = COMMAND_PATIENCE;
        let mut places = Vec::new();
        let deferred = loop {
            match outbound.get_in_line(channel, patience).await {
                Ok(place) => places.push(place),
                Err(error) => break error,
            }
            assert!(
                places.len() <= throttle::PER_CHANNEL,
                "the queue is bounded"
            );
        };
        assert_eq!(
            places.len(),
            throttle::PER_CHANNEL,
            "the next window's places are taken"
        );
        let SendError::Deferred { wait } = deferred else {
            panic!("deferred, not {deferred:?}")
        };
        assert!(wait > patience, "{wait:?}");
        // Another channel has room at once.
        assert!(outbound.get_in_line(7, patience).await.is_ok());
        places.pop();
        assert!(outbound.get_in_line(channel, patience).await.is_ok());
        // Without patience nothing is deferred: the request waits its turn.
        assert!(PATIENCE.try_with(|p| *p).is_err());
    }

    #[test]
    fn a_deferred_request_is_tried_again_when_the_channel_has_room_without_counting() {
        let now = chrono::Utc::now();
        let error = anyhow::Error::new(SendError::Deferred {
            wait: Duration::from_secs(3),
        });
        assert_eq!(
            failure::decide(&error, 0, now),
            crate::domain::outbox::Retry::At {
                at: now + chrono::TimeDelta::seconds(3),
                counts: false,
                global: false
            }
        );
    }
}
