//! A local stand-in for Discord: REST and gateway on a loopback port, a world that tests build,
//! injection of what people do (slash commands, autocomplete, clicks, modals, messages), a
//! record of every call the bot makes, fault injection, and a check of every request body
//! against Discord's published OpenAPI document.
//!
//! The real serenity client talks to it unmodified: point `HttpBuilder::proxy` at
//! [`Emulator::api_url`] with the rate limiter disabled, and the gateway URL follows from
//! `GET /gateway`. The same API is served over TLS as `https://discord.com`
//! ([`Emulator::tls_client`]), so serenity can also run with its own rate limiter on, as it
//! does in production.
//!
//! # Discord's rules it enforces
//!
//! All are on by default ([`Rules::default`], used by [`Emulator::start`] and
//! [`Emulator::start_with`]); [`Emulator::start_with_rules`] or [`Emulator::set_rules`] turn
//! parts off, and [`Rules::describe`] says what is off. Time is the emulator's clock
//! ([`Emulator::now`], moved by [`Emulator::advance`]).
//!
//! - **Interactions** (`Rules::interactions`): the initial response within 3 s, else 404
//!   10062 Unknown interaction; one initial response, else 400 40060; follow-ups and
//!   `@original` edits only after the initial response (404 10015 Unknown Webhook) and within
//!   15 minutes (401 50027 Invalid Webhook Token); callback types that fit the kind (8 only
//!   and always for autocomplete; 6 for components and modal submits; 7 for components and
//!   modal submits from a component; 9 not for modal submits), else 400 50035.
//! - **Messages as Discord keeps them**: callbacks 4 and 7, `@original` after 5 or 6, and
//!   `PATCH /channels/{c}/messages/{m}` change the stored message; ephemeral messages are seen
//!   only by their person ([`Emulator::messages_seen_by`]) and are not in channel history.
//!   `click_button` fails for a component not on the message or disabled; `submit_modal`
//!   takes its fields from the modal the bot opened and fails for any other field.
//! - **Nonces**: with `enforce_nonce: true` only, the same author's nonce in the same channel
//!   within `Rules::nonce_window` (5 minutes) returns the first message.
//! - **Rate limits** (`Rules::rate_limits`): 50 requests a second per token (interaction
//!   endpoints exempt), `POST /channels/{id}/messages` 5 per 5 s per channel, `X-RateLimit-*`
//!   headers on every answer, 429s with `Retry-After`, `X-RateLimit-Scope` and Discord's body;
//!   10,000 invalid requests (401, 403, 429 but `shared`) in 10 minutes refuse everything.
//! - **Gateway**: close 4004 for a token the world does not accept ([`Emulator::set_token`];
//!   any non-empty token by default), 4013 for unknown intent bits, 4014 for privileged
//!   intents the app has not enabled ([`Emulator::set_privileged_intents`]; all by default),
//!   4005 for a second IDENTIFY; RESUME replays what the session missed, then RESUMED
//!   ([`Emulator::request_reconnect`] sends op 7); a close with 1000/1001 ends the session,
//!   and [`Emulator::close_gateway`] ends it too. GUILD_CREATE lists only the bot without
//!   GUILD_PRESENCES; GUILD_MEMBER_ADD/UPDATE/REMOVE go only to sessions with GUILD_MEMBERS;
//!   op 8 answers with GUILD_MEMBERS_CHUNK (the whole list needs GUILD_MEMBERS).
//! - **Uploads** (`Rules::message_checks`): 10 MiB of files per request, else 413 40005; at
//!   most 10 files, else 400 50035.
//! - **Message checks** (`Rules::message_checks`): an empty message is 400 50006; more than 5
//!   action rows, duplicate custom ids, embeds over 6,000 characters and unnamed embed fields
//!   are 400 50035.
//! - **Authorization** (`Rules::require_authorization`): `Authorization: Bot <token>` on every
//!   route not authorised by its own token, else 401 code 0; a DM with a user who does not
//!   exist is 404 10013 Unknown User.
//! - **The document**: request bodies and query strings are checked against Discord's OpenAPI
//!   document, and the emulator's own 2xx answers against the fields it marks required; each
//!   breach is a violation on the recorded call.
//!
//! # Failing a test at once
//!
//! Every violation, every 4xx the emulator answers (injected faults aside), every unhandled
//! route and every gateway close for a fault of the bot is a [`Problem`]. A harness
//! subscribes with [`Emulator::subscribe_problems`] (a `tokio::sync::broadcast` receiver it can
//! `select!` on beside the test) or drains [`Emulator::take_problems`] and asserts it is
//! empty. A test that provokes an error on purpose marks it first with
//! [`Emulator::expect_error`] (by Discord's code) or [`Emulator::expect_status`] (by status,
//! for 429s).

mod checks;
pub mod clock;
mod gateway;
mod interactions;
mod limits;
mod messages;
pub mod problems;
pub mod record;
mod rest;
pub mod rules;
pub mod shards;
pub mod spec;
mod swept;
mod tls;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use gateway::{Dispatched, GatewayHold, GatewayRefusal};
pub use interactions::{Interaction, Reply};
pub use limits::counts_against_global_limit;
pub use problems::{Problem, ProblemKind};
pub use record::{Attachment, RecordedCall};
pub use rules::Rules;
pub use shards::{Shard, shard_of};
use spec::SpecValidator;
use world::{Channel, DM, GUILD_TEXT, Guild, Member, Role, Snowflakes, User, World, permissions};

/// The EPHEMERAL message flag.
pub(crate) const EPHEMERAL: u64 = 1 << 6;

/// A failure the emulator answers with instead of handling the request.
#[derive(Clone, Debug)]
pub struct Fault {
    /// `None` matches every method.
    pub method: Option<String>,
    /// Matched against the path after `/api/v10`, e.g. `/channels/`.
    pub path_prefix: String,
    /// How many requests it answers before it is used up.
    pub times: u32,
    pub kind: FaultKind,
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// 429 with `retry_after` in seconds (scope `global` or `user`).
    RateLimited { retry_after: f64, global: bool },
    /// 429 for a limit on the resource (scope `shared`): not counted as an invalid request.
    SharedRateLimited { retry_after: f64 },
    /// A 5xx answer.
    ServerError { status: u16 },
}

/// The kinds of interaction Discord sends (the interaction `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    Command,
    Component,
    Autocomplete,
    ModalSubmit,
}

impl InteractionKind {
    pub fn type_number(self) -> u64 {
        match self {
            Self::Command => 2,
            Self::Component => 3,
            Self::Autocomplete => 4,
            Self::ModalSubmit => 5,
        }
    }
}

/// What the emulator remembers about an interaction it sent.
pub(crate) struct InteractionState {
    pub id: u64,
    pub kind: InteractionKind,
    /// When it was created, on the emulator's clock.
    pub created: DateTime<Utc>,
    pub channel_id: u64,
    pub user_id: u64,
    /// For a component (or a modal opened from one): the message it is on.
    pub source_message: Option<u64>,
    /// The callback type of the initial response, once there is one.
    pub response: Option<u64>,
    /// Whether the deferred answer (type 5) will be ephemeral.
    pub ephemeral: bool,
    /// The message `@original` names, once there is one.
    pub original: Option<u64>,
    /// The modal opened in answer (callback type 9), and whether it was submitted.
    pub modal: Option<Value>,
    pub modal_submitted: bool,
}

/// Messages sent with `enforce_nonce`: `(author, channel, nonce)` → when the message was
/// made, and the message.
pub(crate) type Nonces = swept::Swept<(u64, u64, String), (DateTime<Utc>, Value)>;

/// State shared by the HTTP handlers, the gateway and the test-facing [`Emulator`].
pub(crate) struct Shared {
    world: Mutex<World>,
    pub ids: Snowflakes,
    pub clock: Arc<clock::EmulatorClock>,
    rules: Mutex<Rules>,
    pub recorder: record::Recorder,
    pub gateway: gateway::Gateway,
    pub faults: Mutex<Vec<Fault>>,
    pub spec: Option<SpecValidator>,
    pub limiter: limits::Limiter,
    pub problems: problems::Problems,
    interactions: Mutex<swept::Swept<String, InteractionState>>,
    nonces: Mutex<Nonces>,
    /// Whether the record is bounded ([`Emulator::keep_recent`]): expired interactions are
    /// then let go.
    bounded: std::sync::atomic::AtomicBool,
    pub gateway_url: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub fn rules(&self) -> Rules {
        lock(&self.rules).clone()
    }

    pub fn interactions(&self) -> MutexGuard<'_, swept::Swept<String, InteractionState>> {
        lock(&self.interactions)
    }

    pub fn nonces(&self) -> MutexGuard<'_, Nonces> {
        lock(&self.nonces)
    }

    pub fn application_json(&self) -> Value {
        let world = self.world();
        json!({
            "id": world.application_id.to_string(),
            "name": "coachbot",
            "icon": null,
            "description": "",
            "rpc_origins": [],
            "bot_public": true,
            "bot_require_code_grant": false,
            "owner": world.user_json(world.bot_id),
            "verify_key": "0000",
            "team": null,
            "flags": 0,
            "type": null,
            "flags_new": "0",
            "redirect_uris": [],
            "interactions_endpoint_url": null,
            "role_connections_verification_url": null,
            "approximate_guild_count": world.guilds.len(),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": [],
        })
    }

    /// The DM channel with a user, opened on first use.
    pub fn dm_channel(&self, user_id: u64) -> u64 {
        let mut world = self.world();
        if let Some(channel) = world.dm_channels.get(&user_id) {
            return *channel;
        }
        let channel_id = self.ids.next();
        world.channels.insert(
            channel_id,
            Channel {
                id: channel_id,
                name: String::new(),
                kind: DM,
                guild_id: None,
                recipient: Some(user_id),
                parent_id: None,
            },
        );
        world.dm_channels.insert(user_id, channel_id);
        channel_id
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    api_url: String,
    /// Where the same API is served over TLS, as `discord.com`.
    tls_addr: SocketAddr,
    /// The certificate it serves (DER), self-signed for `discord.com`.
    tls_certificate: Vec<u8>,
    /// Both listeners.
    server: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

const WS_PATH: &str = "/gateway-ws";

impl Emulator {
    /// Starts on an ephemeral loopback port, with Discord's OpenAPI document if it can be found
    /// (see [`SpecValidator::locate`]).
    pub async fn start() -> anyhow::Result<Self> {
        let spec = match SpecValidator::locate() {
            Some(path) => Some(SpecValidator::load(&path)?),
            None => {
                tracing::warn!(
                    "Discord's OpenAPI document was not found (set {}): requests are not checked against it",
                    spec::SPEC_ENV
                );
                None
            }
        };
        Self::start_with_rules(spec, 0, false, Rules::default()).await
    }

    /// Starts with a given validator (or none) on a given port (0 = any free one). With
    /// `deterministic_ids`, every start hands out the same ids in the same order. Discord's
    /// rules are all enforced ([`Rules::default`]).
    pub async fn start_with(
        spec: Option<SpecValidator>,
        port: u16,
        deterministic_ids: bool,
    ) -> anyhow::Result<Self> {
        Self::start_with_rules(spec, port, deterministic_ids, Rules::default()).await
    }

    /// Starts like [`Emulator::start_with`], enforcing these rules.
    pub async fn start_with_rules(
        spec: Option<SpecValidator>,
        port: u16,
        deterministic_ids: bool,
        rules: Rules,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding the emulator's loopback port")?;
        let address = listener.local_addr()?;
        let api_url = format!("http://{address}");
        let identity = tls::Identity::generate()?;
        let tls_listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the emulator's TLS port")?;
        let tls_addr = tls_listener.local_addr()?;
        let clock = Arc::new(clock::EmulatorClock::default());
        let ids = Snowflakes::new(deterministic_ids, clock.clone());
        let mut world = World::new(&ids, clock.clone());
        world.cdn_base = api_url.clone();
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            ids,
            clock,
            rules: Mutex::new(rules.clone()),
            limiter: limits::Limiter::default(),
            problems: problems::Problems::default(),
            recorder: record::Recorder::default(),
            gateway: gateway::Gateway::default(),
            faults: Mutex::new(Vec::new()),
            spec,
            interactions: Mutex::default(),
            nonces: Mutex::default(),
            bounded: std::sync::atomic::AtomicBool::new(false),
            gateway_url: format!("ws://{address}{WS_PATH}"),
        });
        let app = axum::Router::new()
            .route(
                WS_PATH,
                axum::routing::get(
                    |ws: axum::extract::WebSocketUpgrade,
                     axum::extract::State(shared): axum::extract::State<Arc<Shared>>| async move {
                        if gateway::refusing(&shared) {
                            return axum::response::IntoResponse::into_response(
                                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            );
                        }
                        ws.on_upgrade(move |socket| gateway::serve(socket, shared))
                    },
                ),
            )
            .route(
                "/attachments/{id}/{filename}",
                axum::routing::get(
                    |axum::extract::Path((id, _name)): axum::extract::Path<(u64, String)>,
                     axum::extract::State(shared): axum::extract::State<Arc<Shared>>| async move {
                        match shared.world().uploads.get(&id) {
                            Some((_, bytes)) => Ok(bytes.clone()),
                            None => Err(axum::http::StatusCode::NOT_FOUND),
                        }
                    },
                ),
            )
            .fallback(rest::handle)
            // Files are measured against Discord's limit by the handler (413, 40005); axum's
            // own limit only bounds memory.
            .layer(axum::extract::DefaultBodyLimit::max(
                rules.upload_limit.saturating_mul(2).max(rest::BODY_CAP),
            ))
            .with_state(shared.clone());
        let tls_listener = tls::TlsListener::new(tls_listener, &identity);
        let tls_app = app.clone();
        let server = tokio::spawn(async move {
            // Discord answers without Nagle's delay; so must a stand-in measured for speed.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::warn!(%error, "emulator: could not set TCP_NODELAY");
                }
            });
            let plain = async {
                if let Err(error) = axum::serve(listener, app).await {
                    tracing::error!(%error, "emulator server stopped");
                }
            };
            let tls = async {
                if let Err(error) = axum::serve(tls_listener, tls_app).await {
                    tracing::error!(%error, "emulator TLS server stopped");
                }
            };
            tokio::join!(plain, tls);
        });
        Ok(Self {
            shared,
            api_url,
            tls_addr,
            tls_certificate: identity.certificate,
            server,
        })
    }

    /// The base URL to hand to `HttpBuilder::proxy` (and `DISCORD_API_URL`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The loopback address where the same API is served over TLS, with a certificate for
    /// `discord.com`: what `https://discord.com` resolves to in [`Emulator::tls_client`].
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls_addr
    }

    /// The self-signed certificate the TLS port serves (DER), to trust as a root.
    pub fn tls_root_certificate(&self) -> &[u8] {
        &self.tls_certificate
    }

    /// An HTTP client for which `https://discord.com` is this emulator: the name resolves to
    /// [`Emulator::tls_addr`] and only the emulator's certificate is trusted, so a request
    /// that would leave for any other HTTPS host fails instead. Hand it to serenity's
    /// `HttpBuilder::client` and `Ratelimiter::new` (see
    /// `coachbot::outbound::http_client_through`) to run serenity's rate limiter, which
    /// sends to `https://discord.com/api/v10` whatever the proxy says.
    pub fn tls_client(&self) -> anyhow::Result<reqwest::Client> {
        let root = reqwest::Certificate::from_der(&self.tls_certificate)
            .context("reading the emulator's certificate")?;
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            // Without a port in the URL, the override's port is used.
            .resolve(tls::HOST, self.tls_addr)
            .build()
            .context("building the client for the emulator's TLS port")
    }

    pub fn gateway_url(&self) -> &str {
        &self.shared.gateway_url
    }

    /// Whether requests are checked against Discord's OpenAPI document.
    pub fn spec_loaded(&self) -> bool {
        self.shared.spec.is_some()
    }

    pub fn application_id(&self) -> u64 {
        self.shared.world().application_id
    }

    pub fn bot_id(&self) -> u64 {
        self.shared.world().bot_id
    }

    // ----- the world -----

    pub fn add_user(&self, name: &str) -> u64 {
        let id = self.shared.ids.next();
        self.shared.world().users.insert(
            id,
            User {
                id,
                name: name.to_owned(),
                bot: false,
                dms_closed: false,
            },
        );
        id
    }

    /// A server owned by `owner`, with the @everyone role and the bot as a member.
    pub fn add_guild(&self, name: &str, owner: u64) -> u64 {
        let id = self.shared.ids.next();
        self.add_guild_with_id(id, name, owner)
    }

    /// Like [`Emulator::add_guild`], with an id whose events go to shard `shard` of a bot
    /// that runs `count` shards: `(id >> 22) % count == shard`.
    pub fn add_guild_on_shard(&self, name: &str, owner: u64, shard: u64, count: u64) -> u64 {
        let id = self.shared.ids.next();
        let count = count.max(1);
        let stamp = id >> 22;
        let stamp = stamp + (shard % count + count - stamp % count) % count;
        self.add_guild_with_id((stamp << 22) | (id & 0x3f_ffff), name, owner)
    }

    fn add_guild_with_id(&self, id: u64, name: &str, owner: u64) -> u64 {
        let mut world = self.shared.world();
        let mut members = std::collections::BTreeMap::new();
        for user_id in [owner, world.bot_id] {
            members.insert(
                user_id,
                Member {
                    user_id,
                    nick: None,
                    roles: Vec::new(),
                },
            );
        }
        let guild = Guild {
            id,
            name: name.to_owned(),
            owner_id: owner,
            roles: vec![Role {
                id,
                name: "@everyone".into(),
                permissions: permissions::EVERYONE_DEFAULT,
                position: 0,
            }],
            channels: Vec::new(),
            members,
        };
        world.guilds.insert(id, guild);
        drop(world);
        self.shared.gateway.dispatch_with(
            "GUILD_CREATE",
            Some(id),
            |(intents, large_threshold)| {
                let world = self.shared.world();
                world.guilds.get(&id).map_or(Value::Null, |g| {
                    world.guild_create_for(g, intents, large_threshold)
                })
            },
        );
        id
    }

    pub fn add_text_channel(&self, guild_id: u64, name: &str) -> anyhow::Result<u64> {
        let id = self.shared.ids.next();
        let mut world = self.shared.world();
        let guild = world
            .guilds
            .get_mut(&guild_id)
            .ok_or_else(|| anyhow!("no server {guild_id} in the emulator"))?;
        guild.channels.push(id);
        world.channels.insert(
            id,
            Channel {
                id,
                name: name.to_owned(),
                kind: GUILD_TEXT,
                guild_id: Some(guild_id),
                recipient: None,
                parent_id: None,
            },
        );
        let payload = world.channel_json(id);
        drop(world);
        self.shared.gateway.dispatch("CHANNEL_CREATE", payload);
        Ok(id)
    }

    pub fn add_role(&self, guild_id: u64, name: &str, permissions: u64) -> anyhow::Result<u64> {
        let id = self.shared.ids.next();
        let mut world = self.shared.world();
        let guild = world
            .guilds
            .get_mut(&guild_id)
            .ok_or_else(|| anyhow!("no server {guild_id} in the emulator"))?;
        let role = Role {
            id,
            name: name.to_owned(),
            permissions,
            position: u16::try_from(guild.roles.len()).unwrap_or(u16::MAX),
        };
        let payload = json!({"guild_id": guild_id.to_string(), "role": World::role_json(&role)});
        guild.roles.push(role);
        drop(world);
        self.shared.gateway.dispatch("GUILD_ROLE_CREATE", payload);
        Ok(id)
    }

    /// Adds (or replaces) a member with the given roles. Sessions with the GUILD_MEMBERS
    /// intent receive GUILD_MEMBER_ADD (or GUILD_MEMBER_UPDATE for a member already there).
    pub fn add_member(&self, guild_id: u64, user_id: u64, roles: &[u64]) -> anyhow::Result<()> {
        let mut world = self.shared.world();
        if !world.users.contains_key(&user_id) {
            bail!("no user {user_id} in the emulator");
        }
        let guild = world
            .guilds
            .get_mut(&guild_id)
            .ok_or_else(|| anyhow!("no server {guild_id} in the emulator"))?;
        let existed = guild
            .members
            .insert(
                user_id,
                Member {
                    user_id,
                    nick: None,
                    roles: roles.to_vec(),
                },
            )
            .is_some();
        drop(world);
        if existed {
            self.dispatch_member_update(guild_id, user_id);
        } else {
            let payload = self.member_payload(guild_id, user_id);
            self.shared.gateway.dispatch("GUILD_MEMBER_ADD", payload);
        }
        Ok(())
    }

    /// The Discord roles a member holds now.
    pub fn member_roles(&self, guild_id: u64, user_id: u64) -> anyhow::Result<Vec<u64>> {
        self.shared
            .world()
            .guilds
            .get(&guild_id)
            .and_then(|g| g.members.get(&user_id))
            .map(|m| m.roles.clone())
            .ok_or_else(|| anyhow!("user {user_id} is not a member of server {guild_id}"))
    }

    /// Gives a member exactly these roles; GUILD_MEMBER_UPDATE goes to sessions with the
    /// GUILD_MEMBERS intent.
    pub fn set_member_roles(
        &self,
        guild_id: u64,
        user_id: u64,
        roles: &[u64],
    ) -> anyhow::Result<()> {
        let mut world = self.shared.world();
        let member = world
            .guilds
            .get_mut(&guild_id)
            .ok_or_else(|| anyhow!("no server {guild_id} in the emulator"))?
            .members
            .get_mut(&user_id)
            .ok_or_else(|| anyhow!("user {user_id} is not a member of server {guild_id}"))?;
        member.roles = roles.to_vec();
        drop(world);
        self.dispatch_member_update(guild_id, user_id);
        Ok(())
    }

    /// Removes a member; GUILD_MEMBER_REMOVE goes to sessions with the GUILD_MEMBERS intent.
    pub fn remove_member(&self, guild_id: u64, user_id: u64) -> anyhow::Result<()> {
        let mut world = self.shared.world();
        let removed = world
            .guilds
            .get_mut(&guild_id)
            .ok_or_else(|| anyhow!("no server {guild_id} in the emulator"))?
            .members
            .remove(&user_id);
        if removed.is_none() {
            bail!("user {user_id} is not a member of server {guild_id}");
        }
        let payload = json!({"guild_id": guild_id.to_string(), "user": world.user_json(user_id)});
        drop(world);
        self.shared.gateway.dispatch("GUILD_MEMBER_REMOVE", payload);
        Ok(())
    }

    /// A member with `guild_id`, as GUILD_MEMBER_ADD carries it.
    fn member_payload(&self, guild_id: u64, user_id: u64) -> Value {
        let world = self.shared.world();
        let Some(guild) = world.guilds.get(&guild_id) else {
            return Value::Null;
        };
        let Some(member) = guild.members.get(&user_id) else {
            return Value::Null;
        };
        let mut payload = world.member_json(guild, member);
        payload["guild_id"] = json!(guild_id.to_string());
        payload
    }

    fn dispatch_member_update(&self, guild_id: u64, user_id: u64) {
        let mut payload = self.member_payload(guild_id, user_id);
        if let Some(fields) = payload.as_object_mut() {
            // GUILD_MEMBER_UPDATE carries no permissions, deaf or mute.
            for key in ["permissions", "deaf", "mute"] {
                fields.remove(key);
            }
        }
        self.shared.gateway.dispatch("GUILD_MEMBER_UPDATE", payload);
    }

    /// Makes DMs to this user fail with Discord's error 50007.
    pub fn close_dms(&self, user_id: u64) {
        if let Some(user) = self.shared.world().users.get_mut(&user_id) {
            user.dms_closed = true;
        }
    }

    /// Lets DMs to this user through again.
    pub fn open_dms(&self, user_id: u64) {
        if let Some(user) = self.shared.world().users.get_mut(&user_id) {
            user.dms_closed = false;
        }
    }

    /// Names for ids, for rendering: users, channels, roles.
    pub fn name_of(&self, id: u64) -> Option<String> {
        let world = self.shared.world();
        if let Some(user) = world.users.get(&id) {
            return Some(user.name.clone());
        }
        if let Some(channel) = world.channels.get(&id) {
            return Some(format!("#{}", channel.name));
        }
        world
            .guilds
            .values()
            .flat_map(|g| &g.roles)
            .find(|r| r.id == id)
            .map(|r| format!("@{}", r.name))
    }

    /// A channel as a person would name it: `#name`, or `DM with Name`.
    pub fn channel_label(&self, channel_id: u64) -> String {
        let world = self.shared.world();
        match world.channels.get(&channel_id) {
            Some(channel) if channel.kind == DM => {
                let who = channel
                    .recipient
                    .and_then(|u| world.users.get(&u))
                    .map_or("someone", |u| u.name.as_str());
                format!("DM with {who}")
            }
            Some(channel) => format!("#{}", channel.name),
            None => format!("channel {channel_id}"),
        }
    }

    /// Opens the DM channel between the bot and a user (as `POST /users/@me/channels` does)
    /// and returns its id: for a scene where the bot has written to people before.
    pub fn open_dm(&self, user_id: u64) -> u64 {
        self.shared.dm_channel(user_id)
    }

    /// The DM channel the bot has with a user, if one is open.
    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.shared.world().dm_channels.get(&user_id).copied()
    }

    // ----- messages people send -----

    /// A DM from a person to the bot; returns the message id.
    pub fn send_dm(&self, user_id: u64, content: &str) -> u64 {
        let channel_id = self.shared.dm_channel(user_id);
        self.user_message(channel_id, user_id, content, true)
    }

    /// A message in a server channel. Its content reaches the bot only with the
    /// MESSAGE_CONTENT intent or when it mentions the bot, as on Discord.
    pub fn send_guild_message(
        &self,
        channel_id: u64,
        user_id: u64,
        content: &str,
    ) -> anyhow::Result<u64> {
        let world = self.shared.world();
        let Some(guild) = world
            .channels
            .get(&channel_id)
            .filter(|c| c.kind == GUILD_TEXT)
            .and_then(|c| c.guild_id)
        else {
            bail!("no server channel {channel_id} in the emulator");
        };
        let mentioned = content.contains(&format!("<@{}>", world.bot_id));
        drop(world);
        let visible = mentioned
            || self.shared.gateway.intents_for(Some(guild)) & world::intents::MESSAGE_CONTENT != 0;
        Ok(self.user_message(channel_id, user_id, content, visible))
    }

    fn user_message(&self, channel_id: u64, user_id: u64, content: &str, visible: bool) -> u64 {
        let id = self.shared.ids.next();
        let mut world = self.shared.world();
        let message = world.message_json(id, channel_id, user_id, &json!({"content": content}));
        world.keep_message(channel_id, message.clone());
        let mut dispatched = message;
        if !visible {
            dispatched["content"] = json!("");
        }
        if let Some(guild_id) = world.channels.get(&channel_id).and_then(|c| c.guild_id)
            && let Some(guild) = world.guilds.get(&guild_id)
            && let Some(member) = guild.members.get(&user_id)
        {
            let mut partial = world.member_json(guild, member);
            if let Some(fields) = partial.as_object_mut() {
                fields.remove("user");
            }
            dispatched["member"] = partial;
        }
        drop(world);
        self.shared.gateway.dispatch("MESSAGE_CREATE", dispatched);
        id
    }

    // ----- the record -----

    /// Keeps only the most recent `n` REST calls, `n` messages per channel and about `n`
    /// gateway dispatches (between `n` and `2n`), and lets go of
    /// interactions whose token has expired: a sandbox or a long benchmark then runs in
    /// constant memory. Tests keep everything (the default), so they can look back at any call.
    pub fn keep_recent(&self, n: usize) {
        let n = n.max(1);
        self.shared.recorder.set_limit(Some(n));
        self.shared.gateway.keep_recent(n);
        let mut world = self.shared.world();
        world.keep_per_channel = Some(n);
        let channels: Vec<u64> = world.messages.keys().copied().collect();
        for channel in channels {
            // Re-keeping the newest trims an over-full channel.
            let held = world.messages.remove(&channel).unwrap_or_default();
            for message in held {
                world.keep_message(channel, message);
            }
        }
        drop(world);
        self.shared
            .bounded
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.recorder.all()
    }

    /// How many calls have been recorded: a mark to pass to `calls_since` or `wait_for_call`.
    pub fn call_count(&self) -> usize {
        self.shared.recorder.len()
    }

    pub fn calls_since(&self, from: usize) -> Vec<RecordedCall> {
        self.shared.recorder.since(from)
    }

    /// Waits for a call from position `from` on that `pred` accepts; `None` after `timeout`.
    pub async fn wait_for_call(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl FnMut(&RecordedCall) -> bool + Send + 'static,
    ) -> Option<RecordedCall> {
        self.shared.recorder.wait_for(from, timeout, pred).await
    }

    /// Every spec violation recorded so far, with the call it came from.
    pub fn violations(&self) -> Vec<String> {
        self.calls()
            .iter()
            .flat_map(|c| c.violations.iter().cloned())
            .collect()
    }

    /// Calls the emulator had no handler for.
    pub fn unhandled(&self) -> Vec<RecordedCall> {
        self.calls().into_iter().filter(|c| c.unhandled).collect()
    }

    /// Waits until the bot has registered its slash commands.
    pub async fn wait_for_commands(&self, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        self.wait_for_call(0, timeout, |c| {
            c.method == "PUT" && c.path.ends_with("/commands") && c.status == 200
        })
        .await
        .context("the bot did not register its commands in time")?;
        Ok(self.shared.world().global_commands.clone())
    }

    /// The commands the bot registered globally.
    pub fn registered_commands(&self) -> Vec<Value> {
        self.shared.world().global_commands.clone()
    }

    // ----- faults -----

    pub fn inject_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    // ----- time -----

    /// The emulator's time: the system clock plus what tests advanced it by.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the emulator's clock forward: interaction deadlines, token lifetimes, nonce
    /// windows, rate-limit windows and timestamps all follow.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    // ----- rules -----

    /// The rules this emulator enforces (a benchmark prints `rules().describe()`).
    pub fn rules(&self) -> Rules {
        self.shared.rules()
    }

    /// Changes the rules from now on.
    pub fn set_rules(&self, rules: Rules) {
        *lock(&self.shared.rules) = rules;
    }

    // ----- problems -----

    /// Problems as they happen: every request that breaks Discord's API, every 4xx the
    /// emulator answers, every unhandled route and every gateway close for a fault of the
    /// bot, unless marked expected. A harness can `select!` on this to fail a test at once.
    pub fn subscribe_problems(&self) -> tokio::sync::broadcast::Receiver<Problem> {
        self.shared.problems.subscribe()
    }

    /// The unexpected problems so far, emptied: a harness asserts this is empty at the end.
    pub fn take_problems(&self) -> Vec<Problem> {
        self.shared.problems.take()
    }

    /// Marks the next error answer with Discord's JSON `code` as expected: it is not reported.
    pub fn expect_error(&self, code: u64) {
        self.expect_errors(code, 1);
    }

    /// Marks the next `times` error answers with this `code` as expected.
    pub fn expect_errors(&self, code: u64, times: u32) {
        self.shared.problems.expect(Some(code), None, times);
    }

    /// Marks the next error answer (or gateway close) with this HTTP status (or close code)
    /// as expected, whatever its JSON code: for 429s, which carry none.
    pub fn expect_status(&self, status: u16, times: u32) {
        self.shared.problems.expect(None, Some(status), times);
    }
}
