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
mod promises;
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
    /// The key of the message a request on this task sends, when a command was promised a
    /// place for it in its channel's line ([`Outbound::due_later`]).
    static PROMISED: String;
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

/// Runs `work`, which sends the message with `key`: if the command that made it was
/// promised a place in its channel's line ([`Outbound::due_later`]), the send takes it.
pub async fn keeping_promise<F: Future>(key: &str, work: F) -> F::Output {
    PROMISED.scope(key.to_owned(), work).await
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
    /// The requests waiting for their place in each channel.
    waiting: Lines,
    /// Places promised to commands that will send their message themselves.
    promised: std::sync::Mutex<promises::Promises>,
    /// When the last message left to the outbox for each busy channel is due.
    deferred: std::sync::Mutex<std::collections::HashMap<u64, chrono::DateTime<chrono::Utc>>>,
    /// The budget shared with the other processes on the database, when there are any.
    shared: Option<Shared>,
}

/// The wait of a request `ahead` places behind the first in a channel that has room in
/// `room_in`: each takes the channel's next place, one every
/// [`throttle::CHANNEL_WINDOW`] / [`throttle::PER_CHANNEL`].
fn behind(room_in: Duration, ahead: usize) -> Duration {
    let each = throttle::CHANNEL_WINDOW / u32::try_from(throttle::PER_CHANNEL).unwrap_or(1);
    room_in + each * u32::try_from(ahead).unwrap_or(u32::MAX)
}

/// The requests ahead of a new one in `channel` at `now`: those already in line there and the
/// places promised to commands that have not sent yet.
fn ahead(
    waiting: &std::collections::HashMap<u64, Line>,
    promised: &mut promises::Promises,
    channel: u64,
    now: Instant,
) -> usize {
    waiting.get(&channel).map_or(0, |line| line.count) + promised.held_in(channel, now)
}

/// Busy channels whose last deferred message is remembered before the past ones are swept.
const DEFERRED_KEPT: usize = 10_000;

/// The requests waiting in each channel.
type Lines = Arc<std::sync::Mutex<std::collections::HashMap<u64, Line>>>;

/// The requests waiting in one channel: how many, and the turn they take one after another
/// in the order they got in line (tokio's mutex hands itself on first come, first served), so
/// that a burst's messages reach the channel in the order they were made.
#[derive(Default)]
struct Line {
    count: usize,
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// A request's place in its channel's queue, given up when it is sent or dropped;
/// while it holds the channel's turn, no later request of the line goes before it.
struct InLine {
    waiting: Lines,
    channel: u64,
    turn: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl InLine {
    /// Waits until every request that got in line before this one has gone (or given up).
    async fn wait_turn(&mut self) {
        self.held = Some(self.turn.clone().lock_owned().await);
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(line) = waiting.get_mut(&self.channel) {
            line.count -= 1;
            if line.count == 0 {
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
            promised: std::sync::Mutex::default(),
            deferred: std::sync::Mutex::default(),
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
    /// request that posts in no channel (opening a DM). A request in a channel first waits
    /// for the ones that got in line there before it, whatever sent them (a command, the
    /// outbox's rounds), so the channel shows messages in the order they were sent; it gets
    /// back its place, which holds the channel's turn until it is dropped: keep it until the
    /// request has been answered. A patient request (see [`PATIENCE`]) that would wait too
    /// long does not get in line.
    async fn pace(&self, channel: Option<u64>) -> Result<Option<InLine>, SendError> {
        let mut in_line = match channel {
            Some(channel) => {
                let patience = PATIENCE.try_with(|p| *p).unwrap_or(Duration::MAX);
                Some(self.get_in_line(channel, patience).await?)
            }
            None => None,
        };
        if let Some(place) = &mut in_line {
            place.wait_turn().await;
        }
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
                return Ok(in_line);
            }
            // Another request of this process took the channel's last place meanwhile: the
            // slot goes unused, and this one waits for the next.
        }
    }

    /// Takes a place in `channel`'s queue if the channel will have room within `patience`,
    /// counting the patient requests already waiting there and the places promised to
    /// commands (each takes the channel's next place, one every [`throttle::CHANNEL_WINDOW`] /
    /// [`throttle::PER_CHANNEL`]). A request a place was promised to takes it, whatever the
    /// wait.
    async fn get_in_line(&self, channel: u64, patience: Duration) -> Result<InLine, SendError> {
        let room_in = self.room_in(channel).await;
        let now = Instant::now();
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let mut promised = self.promised.lock().unwrap_or_else(|e| e.into_inner());
        let kept = PROMISED
            .try_with(|key| promised.keep(key, now))
            .unwrap_or(false);
        if !kept {
            let wait = behind(room_in, ahead(&waiting, &mut promised, channel, now));
            if wait > patience {
                return Err(SendError::Deferred { wait });
            }
        }
        let line = waiting.entry(channel).or_default();
        line.count += 1;
        Ok(InLine {
            waiting: self.waiting.clone(),
            channel,
            turn: line.turn.clone(),
            held: None,
        })
    }

    /// How long a patient request in `channel` would wait for its place if it were made now,
    /// behind those already in line there and the places promised.
    #[cfg(test)]
    async fn wait_in_line(&self, channel: u64) -> Duration {
        let room_in = self.room_in(channel).await;
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let mut promised = self.promised.lock().unwrap_or_else(|e| e.into_inner());
        behind(
            room_in,
            ahead(&waiting, &mut promised, channel, Instant::now()),
        )
    }

    /// When a message a command makes now in `channel` (the one with `key`) should be due, if
    /// the channel cannot take it within [`COMMAND_PATIENCE`]: when the channel will have
    /// room, never before one left there earlier. None: it can, and the command sends it
    /// itself, in a place promised to it now (see [`keeping_promise`]), so that the commands
    /// of a burst deciding at the same moment do not all count on the same room.
    pub async fn due_later(
        &self,
        channel: u64,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let room_in = self.room_in(channel).await;
        let wait = {
            let at = Instant::now();
            let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let mut promised = self.promised.lock().unwrap_or_else(|e| e.into_inner());
            let wait = behind(room_in, ahead(&waiting, &mut promised, channel, at));
            if wait <= COMMAND_PATIENCE {
                promised.make(channel, key, at);
                return None;
            }
            wait
        };
        let at = chrono::TimeDelta::from_std(wait).map_or(now, |wait| now + wait);
        Some(self.deferred_until(channel, at))
    }

    /// When a message left to the outbox for `channel` (it would wait past its patience) is
    /// due: at `at`, when the channel will have room, but never before one left there
    /// earlier. The rounds send due rows in that order (then by row), so a burst's messages
    /// reach the channel in the order they were made, whatever the clocks' jitter.
    fn deferred_until(
        &self,
        channel: u64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let mut deferred = self.deferred.lock().unwrap_or_else(|e| e.into_inner());
        if deferred.len() >= DEFERRED_KEPT {
            deferred.retain(|_, due| *due > at - chrono::TimeDelta::minutes(1));
        }
        let due = deferred.get(&channel).map_or(at, |last| at.max(*last));
        deferred.insert(channel, due);
        due
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
        // The request keeps its channel's turn until Discord has answered it.
        let _place = self.pace(Some(channel)).await?;
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
        let _place = self.pace(Some(channel)).await?;
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
mod tests;
