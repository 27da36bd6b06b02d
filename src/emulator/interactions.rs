//! Interactions a person makes (slash commands, autocomplete, button clicks, modal submits)
//! built from the commands the bot registered, and the bot's replies to them.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Map, Value, json};

use super::checks;
use super::world::{DM, World};
use super::{Emulator, InteractionKind, InteractionState, RecordedCall};

/// An interaction the emulator sent to the bot.
#[derive(Clone, Debug)]
pub struct Interaction {
    pub id: u64,
    pub token: String,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub user_id: u64,
    /// The record's length when it was sent: replies are looked for after it.
    pub mark: usize,
}

/// The bot's answer to an interaction, as a person would see it.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The callback type: 4 message, 5 deferred then a message, 7 update, 8 choices, 9 modal.
    pub kind: u64,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub ephemeral: bool,
    /// Whether mentions were disabled (`allowed_mentions.parse` empty).
    pub mentions_disabled: bool,
    /// Autocomplete choices as `(name, value)`.
    pub choices: Vec<(String, Value)>,
    /// The call that carried the answer.
    pub call: RecordedCall,
}

impl Reply {
    fn from_message(kind: u64, message: &Value, call: RecordedCall) -> Self {
        let list = |key: &str| {
            message
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let flags = message.get("flags").and_then(Value::as_u64).unwrap_or(0);
        let choices = message
            .get("choices")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .map(|c| {
                        (
                            c.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            c.get("value").cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mentions_disabled = message
            .pointer("/allowed_mentions/parse")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        Self {
            kind,
            content: message
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            embeds: list("embeds"),
            components: list("components"),
            ephemeral: flags & 64 != 0,
            mentions_disabled,
            choices,
            call,
        }
    }

    /// The reply's text and its embeds' text, for assertions that do not care where it is.
    pub fn text(&self) -> String {
        let mut out = self.content.clone();
        for embed in &self.embeds {
            for key in ["title", "description"] {
                if let Some(text) = embed.get(key).and_then(Value::as_str) {
                    out.push('\n');
                    out.push_str(text);
                }
            }
            for field in embed
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for key in ["name", "value"] {
                    if let Some(text) = field.get(key).and_then(Value::as_str) {
                        out.push('\n');
                        out.push_str(text);
                    }
                }
            }
        }
        out
    }
}

/// A text input on a modal: its id and whether Discord makes the person fill it in.
struct TextInput {
    custom_id: String,
    required: bool,
}

/// The text inputs of a modal, in order (in action rows or labels).
fn text_inputs(components: &[Value]) -> Vec<TextInput> {
    let mut out = Vec::new();
    for component in components {
        if component.get("type").and_then(Value::as_u64) == Some(4)
            && let Some(id) = component.get("custom_id").and_then(Value::as_str)
        {
            out.push(TextInput {
                custom_id: id.to_owned(),
                required: component
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            });
        }
        if let Some(children) = component.get("components").and_then(Value::as_array) {
            out.extend(text_inputs(children));
        }
        if let Some(child) = component.get("component").filter(|c| c.is_object()) {
            out.extend(text_inputs(std::slice::from_ref(child)));
        }
    }
    out
}

impl Emulator {
    /// A person runs a slash command, e.g. `("setup school", &[("name", json!("Lincoln"))])`.
    /// Values for user, channel and role options are ids (number or string).
    pub fn slash_command(
        &self,
        user_id: u64,
        channel_id: u64,
        invocation: &str,
        options: &[(&str, Value)],
    ) -> anyhow::Result<Interaction> {
        let data = self.command_data(channel_id, invocation, options, None)?;
        self.send_interaction(InteractionKind::Command, user_id, channel_id, data, None)
    }

    /// A person types into an option that has autocomplete; `focused` names that option.
    pub fn autocomplete(
        &self,
        user_id: u64,
        channel_id: u64,
        invocation: &str,
        options: &[(&str, Value)],
        focused: &str,
    ) -> anyhow::Result<Interaction> {
        let data = self.command_data(channel_id, invocation, options, Some(focused))?;
        self.send_interaction(
            InteractionKind::Autocomplete,
            user_id,
            channel_id,
            data,
            None,
        )
    }

    /// A person clicks the button (or component) with `custom_id` on a message the bot sent.
    /// Fails, as the click could not happen, when the message has no such component, the
    /// component is disabled, or the message is ephemeral for someone else.
    pub fn click_button(
        &self,
        user_id: u64,
        channel_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> anyhow::Result<Interaction> {
        self.click(user_id, channel_id, message_id, custom_id, false)
    }

    /// A click Discord would never send: `user_id` presses a button on an ephemeral message
    /// shown to someone else (as a modified client could try). For tests that a bot checks
    /// who pressed its buttons rather than relying on Discord.
    pub fn forge_click(
        &self,
        user_id: u64,
        channel_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> anyhow::Result<Interaction> {
        self.click(user_id, channel_id, message_id, custom_id, true)
    }

    fn click(
        &self,
        user_id: u64,
        channel_id: u64,
        message_id: u64,
        custom_id: &str,
        forged: bool,
    ) -> anyhow::Result<Interaction> {
        let message = self
            .shared
            .find_message(channel_id, message_id)
            .ok_or_else(|| anyhow!("no message {message_id} in channel {channel_id}"))?;
        if let Some(viewer) = self.shared.visible_to(message_id)
            && viewer != user_id
            && !forged
        {
            bail!("message {message_id} is ephemeral: only user {viewer} sees it");
        }
        let components = message
            .get("components")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let component = checks::find_component(components, custom_id).ok_or_else(|| {
            anyhow!(
                "message {message_id} has no component `{custom_id}` (it has {:?})",
                checks::custom_ids(components)
            )
        })?;
        if component.get("disabled").and_then(Value::as_bool) == Some(true) {
            bail!("component `{custom_id}` on message {message_id} is disabled");
        }
        let component_type = component.get("type").and_then(Value::as_u64).unwrap_or(2);
        let mut data = json!({"custom_id": custom_id, "component_type": component_type});
        if component_type != 2 {
            data["values"] = json!([]);
        }
        self.send_interaction(
            InteractionKind::Component,
            user_id,
            channel_id,
            data,
            Some(message),
        )
    }

    /// A person submits the modal `custom_id` the bot opened for them (the newest such one),
    /// with `(input custom_id, value)` pairs. Inputs left out are sent empty, as Discord does.
    /// Fails when no such modal was opened for this person, when a field was never on the
    /// form, or when a required field is left empty.
    pub fn submit_modal(
        &self,
        user_id: u64,
        channel_id: u64,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Interaction> {
        let (token, modal, source_message) = {
            let interactions = self.shared.interactions();
            let (token, opened) = interactions
                .iter()
                .filter(|(_, s)| {
                    s.user_id == user_id
                        && s.channel_id == channel_id
                        && !s.modal_submitted
                        && s.modal
                            .as_ref()
                            .and_then(|m| m.get("custom_id"))
                            .and_then(Value::as_str)
                            == Some(custom_id)
                })
                .max_by_key(|(_, s)| s.id)
                .ok_or_else(|| {
                    anyhow!("no modal `{custom_id}` was opened for user {user_id} in channel {channel_id}")
                })?;
            (
                token.clone(),
                opened.modal.clone().unwrap_or(Value::Null),
                opened.source_message,
            )
        };
        let inputs = text_inputs(
            modal
                .get("components")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
        for (id, _) in fields {
            if !inputs.iter().any(|i| i.custom_id == *id) {
                bail!(
                    "modal `{custom_id}` has no field `{id}` (it has {:?})",
                    inputs.iter().map(|i| &i.custom_id).collect::<Vec<_>>()
                );
            }
        }
        let mut rows = Vec::new();
        for input in &inputs {
            let value = fields
                .iter()
                .find(|(id, _)| *id == input.custom_id)
                .map_or("", |(_, v)| *v);
            if input.required && value.is_empty() {
                bail!(
                    "modal `{custom_id}`: the required field `{}` is empty",
                    input.custom_id
                );
            }
            rows.push(json!({"type": 1, "components": [
                {"type": 4, "custom_id": input.custom_id, "value": value}
            ]}));
        }
        // A modal closes when it is submitted.
        if let Some(opened) = self.shared.interactions().get_mut(&token) {
            opened.modal_submitted = true;
        }
        let message = source_message.and_then(|m| self.shared.find_message(channel_id, m));
        let data = json!({"custom_id": custom_id, "components": rows});
        self.send_interaction(
            InteractionKind::ModalSubmit,
            user_id,
            channel_id,
            data,
            message,
        )
    }

    /// Waits for the bot's answer to an interaction: its callback, and for a deferred one the
    /// message that follows.
    pub async fn reply(
        &self,
        interaction: &Interaction,
        timeout: Duration,
    ) -> anyhow::Result<Reply> {
        let callback_path = format!(
            "/interactions/{}/{}/callback",
            interaction.id, interaction.token
        );
        let call = self
            .wait_for_call(interaction.mark, timeout, move |c| c.path == callback_path)
            .await
            .with_context(|| format!("no answer to interaction {} in time", interaction.id))?;
        let body = call.body.clone().unwrap_or(Value::Null);
        let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
        if kind != 5 && kind != 6 {
            let data = body.get("data").cloned().unwrap_or(json!({}));
            return Ok(Reply::from_message(kind, &data, call));
        }
        let token = interaction.token.clone();
        let follow = self
            .wait_for_call(call.index + 1, timeout, move |c| {
                c.path.starts_with("/webhooks/")
                    && c.path.contains(&token)
                    && (c.method == "POST" || c.method == "PATCH")
            })
            .await
            .with_context(|| {
                format!(
                    "interaction {} was deferred but no message followed",
                    interaction.id
                )
            })?;
        let mut message = follow.body.clone().unwrap_or(Value::Null);
        if kind == 5
            && body
                .pointer("/data/flags")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                & 64
                != 0
        {
            message["flags"] = json!(64);
        }
        Ok(Reply::from_message(kind, &message, follow))
    }

    /// Waits for the next message the bot sends on an interaction's token after `mark` (a
    /// follow-up, e.g. after a modal was submitted).
    pub async fn next_message(
        &self,
        interaction: &Interaction,
        mark: usize,
        timeout: Duration,
    ) -> anyhow::Result<Reply> {
        let token = interaction.token.clone();
        let call = self
            .wait_for_call(mark, timeout, move |c| {
                c.path.starts_with("/webhooks/")
                    && c.path.contains(&token)
                    && (c.method == "POST" || c.method == "PATCH")
            })
            .await
            .with_context(|| format!("no message on interaction {} in time", interaction.id))?;
        let message = call.body.clone().unwrap_or(Value::Null);
        Ok(Reply::from_message(4, &message, call))
    }

    /// Stores a file a person will attach to a command; pass the returned id as the value of
    /// an attachment option.
    pub fn upload(&self, filename: &str, bytes: &[u8]) -> u64 {
        let id = self.shared.ids.next();
        self.shared
            .world()
            .uploads
            .insert(id, (filename.to_owned(), bytes.to_vec()));
        id
    }

    fn send_interaction(
        &self,
        kind: InteractionKind,
        user_id: u64,
        channel_id: u64,
        data: Value,
        message: Option<Value>,
    ) -> anyhow::Result<Interaction> {
        let id = self.shared.ids.next();
        let token = format!("emulator-token-{id}");
        let world = self.shared.world();
        let channel = world
            .channels
            .get(&channel_id)
            .ok_or_else(|| anyhow!("no channel {channel_id} in the emulator"))?;
        let guild_id = channel.guild_id;
        let mut payload = json!({
            "id": id.to_string(),
            "application_id": world.application_id.to_string(),
            "type": kind.type_number(),
            "data": data,
            "channel_id": channel_id.to_string(),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "attachment_size_limit": 10_485_760,
        });
        match guild_id {
            Some(guild_id) => {
                let guild = world
                    .guilds
                    .get(&guild_id)
                    .ok_or_else(|| anyhow!("no server {guild_id}"))?;
                let member = guild.members.get(&user_id).ok_or_else(|| {
                    anyhow!("user {user_id} is not a member of server {guild_id}")
                })?;
                payload["guild_id"] = json!(guild_id.to_string());
                payload["guild_locale"] = json!("en-US");
                payload["member"] = world.member_json(guild, member);
                payload["app_permissions"] =
                    json!(world.permissions(guild_id, world.bot_id).to_string());
                payload["context"] = json!(0);
                payload["authorizing_integration_owners"] = json!({"0": guild_id.to_string()});
            }
            None => {
                if channel.kind != DM || channel.recipient != Some(user_id) {
                    bail!("channel {channel_id} is not {user_id}'s DM with the bot");
                }
                payload["user"] = world.user_json(user_id);
                payload["context"] = json!(1);
            }
        }
        let source_message = message.as_ref().and_then(|m| {
            m.get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
        });
        if let Some(message) = message {
            payload["message"] = message;
        }
        drop(world);
        let mut interactions = self.shared.interactions();
        if self
            .shared
            .bounded
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            // A token past its lifetime can be neither answered nor followed up.
            let lifetime = self.shared.rules().token_lifetime;
            let now = self.shared.clock.now();
            if let Ok(lifetime) = chrono::Duration::from_std(lifetime) {
                interactions.sweep(|_, open| now - open.created <= lifetime);
            }
        }
        interactions.insert(
            token.clone(),
            InteractionState {
                id,
                kind,
                created: self.shared.clock.now(),
                channel_id,
                user_id,
                source_message,
                response: None,
                ephemeral: false,
                original: None,
                modal: None,
                modal_submitted: false,
            },
        );
        drop(interactions);
        let mark = self.call_count();
        self.shared.gateway.dispatch("INTERACTION_CREATE", payload);
        Ok(Interaction {
            id,
            token,
            channel_id,
            guild_id,
            user_id,
            mark,
        })
    }

    /// Builds `data` for a command or autocomplete interaction from the registered definition.
    fn command_data(
        &self,
        channel_id: u64,
        invocation: &str,
        options: &[(&str, Value)],
        focused: Option<&str>,
    ) -> anyhow::Result<Value> {
        let world = self.shared.world();
        let guild_id = world.channels.get(&channel_id).and_then(|c| c.guild_id);
        let mut words = invocation.split_whitespace();
        let top = words.next().context("empty command invocation")?;
        let command = guild_id
            .and_then(|g| world.guild_commands.get(&g))
            .into_iter()
            .flatten()
            .chain(&world.global_commands)
            .find(|c| c.get("name").and_then(Value::as_str) == Some(top))
            .ok_or_else(|| anyhow!("the bot registered no command `/{top}`"))?;
        // Walk down subcommand groups and subcommands, borrowing: a command with many
        // subcommands is a large tree, and the load generator builds thousands of these.
        let mut path: Vec<(String, u64)> = Vec::new();
        let mut definition = command;
        for word in words {
            let child = definition
                .get("options")
                .and_then(Value::as_array)
                .and_then(|all| {
                    all.iter()
                        .find(|o| o.get("name").and_then(Value::as_str) == Some(word))
                })
                .ok_or_else(|| anyhow!("`/{invocation}`: no subcommand `{word}`"))?;
            let kind = child.get("type").and_then(Value::as_u64).unwrap_or(0);
            path.push((word.to_owned(), kind));
            definition = child;
        }
        let declared: &[Value] = definition
            .get("options")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut resolved = Map::new();
        let mut leaf = Vec::new();
        for (name, value) in options {
            let spec = declared
                .iter()
                .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
                .ok_or_else(|| anyhow!("`/{invocation}` has no option `{name}`"))?;
            let kind = spec.get("type").and_then(Value::as_u64).unwrap_or(3);
            let is_focused = focused == Some(*name);
            let value = if is_focused {
                // Autocomplete sends what has been typed so far, as text.
                json!(
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                )
            } else {
                let value = pick_choice(spec, value);
                normalise(&world, guild_id, kind, &value, &mut resolved)?
            };
            let mut option = json!({"name": name, "type": kind, "value": value});
            if is_focused {
                option["focused"] = json!(true);
            }
            leaf.push(option);
        }
        let mut nested = Value::Array(leaf);
        for (name, kind) in path.iter().rev() {
            nested = json!([{"name": name, "type": kind, "options": nested}]);
        }
        let mut data = json!({
            "id": command.get("id").cloned().unwrap_or(Value::Null),
            "name": top,
            "type": 1,
            "options": nested,
        });
        if let Some(guild_id) = guild_id {
            data["guild_id"] = json!(guild_id.to_string());
        }
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        Ok(data)
    }
}

/// An attachment as Discord describes an uploaded file; its URL is served by the emulator.
fn attachment_json(world: &World, id: u64, filename: &str, size: usize) -> Value {
    let url = format!("{}/attachments/{id}/{filename}", world.cdn_base);
    json!({
        "id": id.to_string(),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": "application/octet-stream",
    })
}

/// For options with fixed choices a person picks by name: a value that matches a choice's
/// name (in any case) becomes that choice's value.
fn pick_choice(spec: &Value, value: &Value) -> Value {
    let Some(typed) = value.as_str() else {
        return value.clone();
    };
    spec.get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| {
            choices.iter().find(|c| {
                c.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(typed))
            })
        })
        .and_then(|c| c.get("value").cloned())
        .unwrap_or_else(|| value.clone())
}

/// Turns a test's value into the option value Discord sends, filling `resolved` for ids.
fn normalise(
    world: &World,
    guild_id: Option<u64>,
    kind: u64,
    value: &Value,
    resolved: &mut Map<String, Value>,
) -> anyhow::Result<Value> {
    let as_id = || -> anyhow::Result<u64> {
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| anyhow!("option value {value} is not an id"))
    };
    let mut put = |section: &str, id: u64, item: Value| {
        let entry = resolved
            .entry(section.to_owned())
            .or_insert_with(|| json!({}));
        entry[id.to_string()] = item;
    };
    Ok(match kind {
        6 => {
            let id = as_id()?;
            put("users", id, world.user_json(id));
            if let Some(guild) = guild_id.and_then(|g| world.guilds.get(&g))
                && let Some(member) = guild.members.get(&id)
            {
                let mut partial = world.member_json(guild, member);
                if let Some(fields) = partial.as_object_mut() {
                    fields.remove("user");
                }
                put("members", id, partial);
            }
            json!(id.to_string())
        }
        7 => {
            let id = as_id()?;
            let mut channel = world.channel_json(id);
            if channel.is_null() {
                bail!("no channel {id} in the emulator");
            }
            channel["permissions"] = json!(super::world::permissions::ALL.to_string());
            put("channels", id, channel);
            json!(id.to_string())
        }
        8 => {
            let id = as_id()?;
            let role = guild_id
                .and_then(|g| world.guilds.get(&g))
                .and_then(|g| g.roles.iter().find(|r| r.id == id))
                .ok_or_else(|| anyhow!("no role {id} in this server"))?;
            put("roles", id, World::role_json(role));
            json!(id.to_string())
        }
        11 => {
            let id = as_id()?;
            let (filename, bytes) = world
                .uploads
                .get(&id)
                .ok_or_else(|| anyhow!("no upload {id}: call Emulator::upload first"))?;
            put(
                "attachments",
                id,
                attachment_json(world, id, filename, bytes.len()),
            );
            json!(id.to_string())
        }
        // Integers, numbers and booleans typed as text (as in the sandbox).
        4 => match value.as_str() {
            Some(text) => json!(
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| anyhow!("`{text}` is not a whole number"))?
            ),
            None => value.clone(),
        },
        10 => match value.as_str() {
            Some(text) => json!(
                text.trim()
                    .parse::<f64>()
                    .map_err(|_| anyhow!("`{text}` is not a number"))?
            ),
            None => value.clone(),
        },
        5 => match value.as_str() {
            Some(text) => json!(matches!(
                text.trim().to_lowercase().as_str(),
                "true" | "yes" | "1"
            )),
            None => value.clone(),
        },
        _ => value.clone(),
    })
}
