//! The emulator's world: users, servers, roles, channels, members, DM channels and messages,
//! and the JSON Discord would send for each of them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::clock::EmulatorClock;

/// Discord's permission bits the emulator cares about.
pub mod permissions {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const ALL: u64 = (1 << 51) - 1;
    /// What @everyone gets in a fresh server.
    pub const EVERYONE_DEFAULT: u64 = VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS;
}

/// Gateway intents the emulator filters dispatches by.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    /// The intents an app must enable (or be approved for) before it may ask for them.
    pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
    /// Every intent Discord defines (up to DIRECT_MESSAGE_POLLS, 1 << 25); other bits are
    /// invalid (close 4013).
    pub const ALL_KNOWN: u64 = (1 << 26) - 1;
}

/// Channel types used here.
pub const GUILD_TEXT: u8 = 0;
pub const DM: u8 = 1;
pub const PUBLIC_THREAD: u8 = 11;

/// Makes snowflakes: milliseconds since Discord's epoch, then a counter; or, when
/// deterministic, the same sequence on every start (so a sandbox database stays valid).
pub struct Snowflakes {
    counter: AtomicU64,
    deterministic: bool,
    clock: Arc<EmulatorClock>,
}

const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
/// First id of a deterministic sequence: 2024-01-01 in snowflake time.
const FIXED_BASE: u64 = 1_191_000_000_000_000_000;

impl Snowflakes {
    pub fn new(deterministic: bool, clock: Arc<EmulatorClock>) -> Self {
        Self {
            counter: AtomicU64::new(1),
            deterministic,
            clock,
        }
    }

    pub fn next(&self) -> u64 {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        if self.deterministic {
            return FIXED_BASE + counter;
        }
        let ms = (self.clock.now().timestamp_millis() - DISCORD_EPOCH_MS).max(1) as u64;
        (ms << 22) | (counter & 0x3f_ffff)
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub bot: bool,
    /// When true, sending this user a DM fails with Discord's error 50007.
    pub dms_closed: bool,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u16,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub id: u64,
    pub name: String,
    pub kind: u8,
    pub guild_id: Option<u64>,
    /// For DM channels: the other person.
    pub recipient: Option<u64>,
    /// For threads: the channel the thread is in.
    pub parent_id: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: u64,
    pub nick: Option<String>,
    pub roles: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Guild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// The first role is @everyone (its id is the guild's).
    pub roles: Vec<Role>,
    pub channels: Vec<u64>,
    pub members: BTreeMap<u64, Member>,
}

/// Everything the emulator knows.
pub struct World {
    pub application_id: u64,
    pub bot_id: u64,
    pub users: BTreeMap<u64, User>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: BTreeMap<u64, Channel>,
    /// user id → DM channel id
    pub dm_channels: BTreeMap<u64, u64>,
    /// channel id → messages, oldest first (the newest `keep_per_channel` when bounded)
    pub messages: HashMap<u64, Vec<Value>>,
    /// Messages kept per channel; `None` keeps every one.
    pub keep_per_channel: Option<usize>,
    /// Commands registered globally, as echoed back.
    pub global_commands: Vec<Value>,
    /// Commands registered per guild.
    pub guild_commands: HashMap<u64, Vec<Value>>,
    /// Base URL of the emulator's file server (`http://127.0.0.1:P`).
    pub cdn_base: String,
    /// Files people attached to commands: id → (file name, bytes), served under /attachments.
    pub uploads: HashMap<u64, (String, Vec<u8>)>,
    /// Ephemeral messages: message id → the one person who sees it.
    pub ephemeral: HashMap<u64, u64>,
    /// The bot's token, when a test set one: then only it identifies and authorises.
    pub token: Option<String>,
    /// The privileged intents enabled for the app (all, by default).
    pub privileged_intents: u64,
    pub clock: Arc<EmulatorClock>,
}

impl World {
    /// Stores a message at the end of its channel, letting the oldest go when the channel
    /// holds more than `keep_per_channel`.
    pub fn keep_message(&mut self, channel_id: u64, message: Value) {
        let channel = self.messages.entry(channel_id).or_default();
        channel.push(message);
        let Some(keep) = self.keep_per_channel else {
            return;
        };
        let excess = channel.len().saturating_sub(keep);
        let gone: Vec<Value> = channel.drain(..excess).collect();
        for message in gone {
            if let Some(id) = message
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
            {
                self.ephemeral.remove(&id);
            }
        }
    }

    pub fn new(ids: &Snowflakes, clock: Arc<EmulatorClock>) -> Self {
        let application_id = ids.next();
        let mut users = BTreeMap::new();
        users.insert(
            application_id,
            User {
                id: application_id,
                name: "coachbot".into(),
                bot: true,
                dms_closed: false,
            },
        );
        Self {
            application_id,
            bot_id: application_id,
            users,
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            dm_channels: BTreeMap::new(),
            messages: HashMap::new(),
            keep_per_channel: None,
            global_commands: Vec::new(),
            guild_commands: HashMap::new(),
            uploads: HashMap::new(),
            cdn_base: String::new(),
            ephemeral: HashMap::new(),
            token: None,
            privileged_intents: intents::PRIVILEGED,
            clock,
        }
    }

    pub fn user_json(&self, id: u64) -> Value {
        let (name, bot) = self
            .users
            .get(&id)
            .map(|u| (u.name.clone(), u.bot))
            .unwrap_or_else(|| (format!("user-{id}"), false));
        json!({
            "id": id.to_string(),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": null,
            "bot": bot,
            "public_flags": 0,
        })
    }

    pub fn role_json(role: &Role) -> Value {
        json!({
            "id": role.id.to_string(),
            "name": role.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false,
            "icon": null,
            "unicode_emoji": null,
            "position": role.position,
            "permissions": role.permissions.to_string(),
            "managed": false,
            "mentionable": false,
            "flags": 0,
        })
    }

    pub fn channel_json(&self, id: u64) -> Value {
        let Some(channel) = self.channels.get(&id) else {
            return Value::Null;
        };
        if channel.kind == DM {
            let recipient = channel.recipient.unwrap_or_default();
            return json!({
                "id": id.to_string(),
                "type": DM,
                "flags": 0,
                "last_message_id": null,
                "recipients": [self.user_json(recipient)],
            });
        }
        let mut json = json!({
            "id": id.to_string(),
            "type": channel.kind,
            "guild_id": channel.guild_id.map(|g| g.to_string()),
            "name": channel.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": false,
            "topic": null,
            "last_message_id": null,
            "parent_id": channel.parent_id.map(|p| p.to_string()),
            "rate_limit_per_user": 0,
            "flags": 0,
        });
        if channel.kind == PUBLIC_THREAD {
            json["owner_id"] = json!(self.bot_id.to_string());
            json["message_count"] = json!(0);
            json["member_count"] = json!(1);
            json["thread_metadata"] = json!({
                "archived": false,
                "auto_archive_duration": 10080,
                "archive_timestamp": self.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                "locked": false,
            });
        }
        json
    }

    pub fn member_json(&self, guild: &Guild, member: &Member) -> Value {
        json!({
            "user": self.user_json(member.user_id),
            "nick": member.nick,
            "avatar": null,
            "roles": member.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "joined_at": "2024-09-01T08:00:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "banner": null,
            "communication_disabled_until": null,
            "permissions": self.permissions(guild.id, member.user_id).to_string(),
        })
    }

    /// A member's permissions in the server: owner and administrators get everything.
    pub fn permissions(&self, guild_id: u64, user_id: u64) -> u64 {
        let Some(guild) = self.guilds.get(&guild_id) else {
            return 0;
        };
        if guild.owner_id == user_id {
            return permissions::ALL;
        }
        let everyone = guild.roles.first().map_or(0, |r| r.permissions);
        let granted = guild
            .members
            .get(&user_id)
            .map(|m| {
                guild
                    .roles
                    .iter()
                    .filter(|r| m.roles.contains(&r.id))
                    .fold(everyone, |acc, r| acc | r.permissions)
            })
            .unwrap_or(everyone);
        if granted & permissions::ADMINISTRATOR != 0 {
            permissions::ALL
        } else {
            granted
        }
    }

    /// GUILD_CREATE's payload as a session with these intents receives it. Without
    /// GUILD_PRESENCES the member list holds only the bot (nobody is in voice here); with it,
    /// a server over `large_threshold` members lists only members with a role or a nickname
    /// (everyone here is offline), as Discord does.
    pub fn guild_create_for(&self, guild: &Guild, intent_bits: u64, large_threshold: u64) -> Value {
        let large = guild.members.len() as u64 > large_threshold;
        let members: Vec<Value> = guild
            .members
            .values()
            .filter(|m| {
                m.user_id == self.bot_id
                    || (intent_bits & intents::GUILD_PRESENCES != 0
                        && (!large || !m.roles.is_empty() || m.nick.is_some()))
            })
            .map(|m| self.member_json(guild, m))
            .collect();
        let mut json = self.guild_create_json(guild);
        json["members"] = Value::Array(members);
        json["large"] = json!(large);
        json
    }

    /// GUILD_CREATE's payload with every member (see [`World::guild_create_for`]).
    pub fn guild_create_json(&self, guild: &Guild) -> Value {
        json!({
            "id": guild.id.to_string(),
            "name": guild.name,
            "icon": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": guild.owner_id.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": guild.roles.iter().map(Self::role_json).collect::<Vec<_>>(),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
            "joined_at": "2024-09-01T08:00:00.000000+00:00",
            "large": false,
            "unavailable": false,
            "member_count": guild.members.len(),
            "voice_states": [],
            "members": guild.members.values().map(|m| self.member_json(guild, m)).collect::<Vec<_>>(),
            "channels": guild.channels.iter().map(|c| self.channel_json(*c)).collect::<Vec<_>>(),
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        })
    }

    /// A message as Discord returns it and dispatches it.
    pub fn message_json(&self, id: u64, channel_id: u64, author: u64, body: &Value) -> Value {
        let guild_id = self.channels.get(&channel_id).and_then(|c| c.guild_id);
        let field = |key: &str| body.get(key).filter(|v| !v.is_null()).cloned();
        let mut message = json!({
            "id": id.to_string(),
            "channel_id": channel_id.to_string(),
            "author": self.user_json(author),
            "content": field("content").unwrap_or(json!("")),
            "timestamp": self.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": field("attachments").unwrap_or(json!([])),
            "embeds": field("embeds").unwrap_or(json!([])),
            "components": field("components").unwrap_or(json!([])),
            "pinned": false,
            "type": 0,
            "flags": field("flags").unwrap_or(json!(0)),
        });
        if let Some(guild_id) = guild_id {
            message["guild_id"] = json!(guild_id.to_string());
        }
        if let Some(nonce) = field("nonce") {
            message["nonce"] = nonce;
        }
        message
    }
}

/// Removes keys whose value is null, recursively: serenity rejects some explicit nulls in
/// echoed command definitions.
pub fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
