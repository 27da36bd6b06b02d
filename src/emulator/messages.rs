//! Messages as Discord keeps them: stored per channel, edited in place, deleted, and
//! ephemeral ones visible only to the person they answer.

use serde_json::{Value, json};

use super::checks;
use super::{Emulator, Shared};

fn id_of(message: &Value) -> Option<u64> {
    message
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

impl Shared {
    /// Stores a message the bot sent (from a request body) and returns it as Discord would.
    /// An ephemeral message names the one person who sees it.
    pub fn store_message(&self, channel_id: u64, body: &Value, visible_to: Option<u64>) -> Value {
        let id = self.ids.next();
        let mut world = self.world();
        let mut message = world.message_json(id, channel_id, world.bot_id, body);
        if let Some(user) = visible_to {
            let flags = message.get("flags").and_then(Value::as_u64).unwrap_or(0);
            message["flags"] = json!(flags | super::EPHEMERAL);
            world.ephemeral.insert(id, user);
        }
        world.keep_message(channel_id, message.clone());
        message
    }

    pub fn find_message(&self, channel_id: u64, message_id: u64) -> Option<Value> {
        self.world()
            .messages
            .get(&channel_id)?
            .iter()
            .find(|m| id_of(m) == Some(message_id))
            .cloned()
    }

    /// Who may see a message: `None` for everyone in the channel.
    pub fn visible_to(&self, message_id: u64) -> Option<u64> {
        self.world().ephemeral.get(&message_id).copied()
    }

    /// Applies an edit's fields (content, embeds, components, attachments, flags) to a stored
    /// message and returns the result; `None` when there is no such message.
    pub fn edit_message(&self, channel_id: u64, message_id: u64, body: &Value) -> Option<Value> {
        let now = self.clock.now();
        let mut world = self.world();
        let message = world
            .messages
            .get_mut(&channel_id)?
            .iter_mut()
            .find(|m| id_of(m) == Some(message_id))?;
        if let Some(fields) = body.as_object() {
            for (key, value) in fields {
                if !matches!(
                    key.as_str(),
                    "content" | "embeds" | "components" | "attachments" | "flags"
                ) {
                    continue;
                }
                // An explicit null clears the field, as on Discord; flags only gain
                // SUPPRESS_EMBEDS and keep EPHEMERAL.
                message[key.as_str()] = match (key.as_str(), value) {
                    ("content", Value::Null) => json!(""),
                    ("flags", value) => {
                        let kept = message.get("flags").and_then(Value::as_u64).unwrap_or(0)
                            & super::EPHEMERAL;
                        json!(value.as_u64().unwrap_or(0) | kept)
                    }
                    (_, Value::Null) => json!([]),
                    (_, value) => value.clone(),
                };
            }
        }
        message["edited_timestamp"] =
            json!(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, false));
        Some(message.clone())
    }

    /// Deletes a stored message; whether there was one.
    pub fn delete_message(&self, channel_id: u64, message_id: u64) -> bool {
        let mut world = self.world();
        let Some(all) = world.messages.get_mut(&channel_id) else {
            return false;
        };
        let before = all.len();
        all.retain(|m| id_of(m) != Some(message_id));
        let deleted = all.len() != before;
        world.ephemeral.remove(&message_id);
        deleted
    }
}

impl Emulator {
    /// The messages in a channel, oldest first (what the bot sent and what people sent),
    /// ephemeral ones included: the test sees everything.
    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        self.shared
            .world()
            .messages
            .get(&channel_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The messages in a channel that `user_id` sees: ephemeral messages only when they
    /// answer that person.
    pub fn messages_seen_by(&self, channel_id: u64, user_id: u64) -> Vec<Value> {
        let world = self.shared.world();
        world
            .messages
            .get(&channel_id)
            .into_iter()
            .flatten()
            .filter(|m| {
                id_of(m)
                    .and_then(|id| world.ephemeral.get(&id))
                    .is_none_or(|viewer| *viewer == user_id)
            })
            .cloned()
            .collect()
    }

    /// The newest message carrying a component with this `custom_id`: `(channel, message)`.
    pub fn find_component(&self, custom_id: &str) -> Option<(u64, u64)> {
        let world = self.shared.world();
        let mut best: Option<(u64, u64)> = None;
        for (channel, messages) in &world.messages {
            for message in messages {
                let components = message
                    .get("components")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let has = checks::find_component(components, custom_id).is_some();
                if let (true, Some(id)) = (has, id_of(message))
                    && best.is_none_or(|(_, b)| id > b)
                {
                    best = Some((*channel, id));
                }
            }
        }
        best
    }
}
