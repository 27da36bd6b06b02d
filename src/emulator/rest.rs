//! Discord's REST API as far as the bot uses it. Every request is recorded, checked against
//! the OpenAPI document, and may be answered by an injected fault instead.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::record::{Attachment, RecordedCall};
use super::world::{Channel, DM, GUILD_TEXT, PUBLIC_THREAD, drop_nulls};
use super::{Fault, FaultKind, InteractionState, Shared};

const API_PREFIX: &str = "/api/v10";

/// A parsed request: the JSON (or `payload_json`) body and any files.
struct Incoming {
    method: String,
    path: String,
    query: String,
    body: Option<Value>,
    attachments: Vec<Attachment>,
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let incoming = match parse(request).await {
        Ok(incoming) => incoming,
        Err(message) => return error(StatusCode::BAD_REQUEST, 50109, &message).into_response(),
    };
    let mut violations = Vec::new();
    let mut route = None;
    if let Some(spec) = &shared.spec {
        route = spec
            .route(&incoming.method, &incoming.path)
            .map(str::to_owned);
        violations = spec.check(&incoming.method, &incoming.path, incoming.body.as_ref());
    }
    for violation in &violations {
        tracing::warn!(%violation, "emulator: request breaks Discord's API");
    }
    let (answer, unhandled) = match take_fault(&shared, &incoming) {
        Some(answer) => (answer, false),
        None => match route_request(&shared, &incoming) {
            Some(answer) => (answer, false),
            None => {
                tracing::warn!(method = %incoming.method, path = %incoming.path, "emulator: unhandled route");
                (error(StatusCode::NOT_FOUND, 0, "404: Not Found"), true)
            }
        },
    };
    shared.recorder.push(RecordedCall {
        index: 0,
        method: incoming.method,
        path: incoming.path,
        body: incoming.body,
        attachments: incoming.attachments,
        status: answer.status.as_u16(),
        response: answer.body.clone(),
        route,
        violations,
        unhandled,
        at: std::time::Instant::now(),
    });
    answer.into_response()
}

async fn parse(request: Request) -> Result<Incoming, String> {
    let method = request.method().to_string();
    let uri = request.uri().clone();
    let path = uri
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or(uri.path())
        .to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut body = None;
    let mut attachments = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| format!("malformed multipart body: {e}"))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| format!("malformed multipart body: {e}"))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("malformed multipart part `{name}`: {e}"))?;
            if name == "payload_json" {
                body = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| format!("payload_json is not JSON: {e}"))?,
                );
            } else {
                attachments.push(Attachment {
                    field: name,
                    filename,
                    content_type: part_type,
                    bytes: bytes.to_vec(),
                });
            }
        }
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|e| format!("unreadable body: {e}"))?;
        if !bytes.is_empty() {
            body =
                Some(serde_json::from_slice(&bytes).map_err(|e| format!("body is not JSON: {e}"))?);
        }
    }
    Ok(Incoming {
        method,
        path,
        query,
        body,
        attachments,
    })
}

fn take_fault(shared: &Shared, incoming: &Incoming) -> Option<Answer> {
    let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
    let position = faults.iter().position(|f| f.matches(incoming))?;
    let fault: Fault = faults[position].clone();
    if faults[position].times <= 1 {
        faults.remove(position);
    } else {
        faults[position].times -= 1;
    }
    drop(faults);
    Some(match fault.kind {
        FaultKind::RateLimited {
            retry_after,
            global,
        } => {
            let mut answer = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": global,
                    "code": 0,
                }),
            );
            answer.headers = vec![
                ("retry-after", retry_after.ceil().to_string()),
                ("x-ratelimit-reset-after", retry_after.to_string()),
                ("x-ratelimit-remaining", "0".to_owned()),
            ];
            if global {
                answer
                    .headers
                    .push(("x-ratelimit-global", "true".to_owned()));
            }
            answer
        }
        FaultKind::ServerError { status } => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            0,
            "emulated server error",
        ),
    })
}

impl Fault {
    fn matches(&self, incoming: &Incoming) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&incoming.method))
            && incoming.path.starts_with(&self.path_prefix)
    }
}

/// The emulator's answer to a request, kept for the record before it becomes a response.
struct Answer {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (self.status, axum::Json(body)).into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

fn json_response(status: StatusCode, value: Value) -> Answer {
    Answer {
        status,
        body: Some(value),
        headers: Vec::new(),
    }
}

fn ok(value: Value) -> Answer {
    json_response(StatusCode::OK, value)
}

fn no_content() -> Answer {
    Answer {
        status: StatusCode::NO_CONTENT,
        body: None,
        headers: Vec::new(),
    }
}

/// An error in Discord's shape: `{"code": …, "message": …}`.
fn error(status: StatusCode, code: u32, message: &str) -> Answer {
    json_response(status, json!({"code": code, "message": message}))
}

fn id(segment: &str) -> Option<u64> {
    segment.parse().ok()
}

fn route_request(shared: &Shared, incoming: &Incoming) -> Option<Answer> {
    let segments: Vec<&str> = incoming.path.trim_start_matches('/').split('/').collect();
    let method = Method::from_bytes(incoming.method.as_bytes()).ok()?;
    let mut body = incoming.body.clone().unwrap_or(Value::Null);
    if !incoming.attachments.is_empty() {
        body["attachments"] = uploaded(shared, &incoming.attachments);
        if body.get("data").is_some_and(Value::is_object) {
            body["data"]["attachments"] = body["attachments"].clone();
        }
    }
    let answer = match (method, segments.as_slice()) {
        (Method::GET, ["gateway"]) => ok(json!({"url": shared.gateway_url})),
        (Method::GET, ["gateway", "bot"]) => ok(json!({
            "url": shared.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        })),
        (Method::GET, ["oauth2", "applications", "@me"]) => ok(shared.application_json()),
        (Method::GET, ["users", "@me"]) => {
            let world = shared.world();
            ok(world.user_json(world.bot_id))
        }
        (Method::PUT, ["applications", _, "commands"]) => ok(register(shared, None, body)),
        (Method::GET, ["applications", _, "commands"]) => {
            ok(Value::Array(shared.world().global_commands.clone()))
        }
        (Method::PUT, ["applications", _, "guilds", guild, "commands"]) => {
            ok(register(shared, id(guild), body))
        }
        (Method::GET, ["applications", _, "guilds", guild, "commands"]) => {
            let world = shared.world();
            let commands = id(guild)
                .and_then(|g| world.guild_commands.get(&g).cloned())
                .unwrap_or_default();
            ok(Value::Array(commands))
        }
        (Method::POST, ["interactions", interaction, token, "callback"]) => {
            interaction_callback(shared, interaction, token, &body)
        }
        (Method::POST, ["webhooks", _, token]) => follow_up(shared, token, &body),
        (method, ["webhooks", _, token, "messages", message]) => {
            webhook_message(shared, &method, token, message, &body)
        }
        (Method::POST, ["channels", channel, "messages"]) => {
            create_message(shared, id(channel), &body)
        }
        (Method::POST, ["channels", channel, "messages", message, "threads"]) => {
            start_thread(shared, id(channel), id(message), &body)
        }
        (Method::GET, ["channels", channel, "messages"]) => {
            list_messages(shared, id(channel), &incoming.query)
        }
        (Method::GET, ["channels", channel]) => {
            let value = id(channel).map_or(Value::Null, |c| shared.world().channel_json(c));
            if value.is_null() {
                error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")
            } else {
                ok(value)
            }
        }
        (Method::POST, ["users", "@me", "channels"]) => open_dm(shared, &body),
        (Method::GET, ["guilds", guild, "members", user]) => {
            let world = shared.world();
            let member = id(guild)
                .and_then(|g| world.guilds.get(&g))
                .and_then(|g| id(user).and_then(|u| g.members.get(&u)).map(|m| (g, m)));
            match member {
                Some((g, m)) => ok(world.member_json(g, m)),
                None => error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
            }
        }
        _ => return None,
    };
    Some(answer)
}

/// Attachment objects for uploaded files, as Discord returns them on the message.
fn uploaded(shared: &Shared, files: &[Attachment]) -> Value {
    files
        .iter()
        .map(|file| {
            let id = shared.ids.next();
            let filename = file.filename.clone().unwrap_or_else(|| file.field.clone());
            let url = format!(
                "{}/attachments/{id}/{filename}",
                shared.gateway_url.replace("ws://", "http://")
            );
            json!({
                "id": id.to_string(),
                "filename": filename,
                "size": file.bytes.len(),
                "url": url,
                "proxy_url": url,
                "content_type": file.content_type,
            })
        })
        .collect()
}

/// Bulk overwrite: echo the commands back as Command objects, keeping ids by name.
fn register(shared: &Shared, guild: Option<u64>, body: Value) -> Value {
    let mut world = shared.world();
    let application_id = world.application_id;
    let previous = match guild {
        Some(g) => world.guild_commands.get(&g).cloned().unwrap_or_default(),
        None => world.global_commands.clone(),
    };
    let commands: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut command| {
            drop_nulls(&mut command);
            let name = command.get("name").cloned().unwrap_or(Value::Null);
            let id = previous
                .iter()
                .find(|c| c.get("name") == Some(&name))
                .and_then(|c| c.get("id").cloned())
                .unwrap_or_else(|| json!(shared.ids.next().to_string()));
            command["id"] = id;
            command["application_id"] = json!(application_id.to_string());
            command["version"] = json!(shared.ids.next().to_string());
            if command.get("type").is_none() {
                command["type"] = json!(1);
            }
            if let Some(g) = guild {
                command["guild_id"] = json!(g.to_string());
            }
            command
        })
        .collect();
    match guild {
        Some(g) => {
            world.guild_commands.insert(g, commands.clone());
        }
        None => world.global_commands = commands.clone(),
    }
    Value::Array(commands)
}

fn interaction_callback(shared: &Shared, interaction: &str, token: &str, body: &Value) -> Answer {
    let mut interactions = shared.interactions();
    let Some(state) = interactions.get_mut(token) else {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    };
    if id(interaction) != Some(state.id) {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    }
    if state.responded {
        return error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        );
    }
    state.responded = true;
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    if kind == 4 {
        let data = body.get("data").cloned().unwrap_or(json!({}));
        let channel_id = state.channel_id;
        drop(interactions);
        let message = shared.store_message(channel_id, &data);
        if let Some(state) = shared.interactions().get_mut(token) {
            state.original = Some(message);
        }
    }
    no_content()
}

fn follow_up(shared: &Shared, token: &str, body: &Value) -> Answer {
    let channel_id = match shared.interactions().get(token) {
        Some(state) => state.channel_id,
        None => return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook"),
    };
    ok(shared.store_message(channel_id, body))
}

fn webhook_message(
    shared: &Shared,
    method: &Method,
    token: &str,
    message: &str,
    body: &Value,
) -> Answer {
    let mut interactions = shared.interactions();
    let Some(state) = interactions.get_mut(token) else {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    };
    let state: &mut InteractionState = state;
    if message != "@original" {
        let channel_id = state.channel_id;
        drop(interactions);
        return match (
            method,
            id(message).and_then(|m| shared.find_message(channel_id, m)),
        ) {
            (&Method::GET, Some(found)) => ok(found),
            (&Method::PATCH, Some(_)) => match id(message) {
                Some(m) => ok(shared.edit_message(channel_id, m, body)),
                None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            },
            (&Method::DELETE, Some(_)) => no_content(),
            _ => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        };
    }
    match *method {
        Method::GET => match &state.original {
            Some(original) => ok(original.clone()),
            None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        },
        Method::DELETE => {
            state.original = None;
            no_content()
        }
        Method::PATCH => {
            let channel_id = state.channel_id;
            let existing = state.original.as_ref().and_then(|o| {
                o.get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok())
            });
            drop(interactions);
            let message = match existing {
                Some(m) => shared.edit_message(channel_id, m, body),
                None => shared.store_message(channel_id, body),
            };
            if let Some(state) = shared.interactions().get_mut(token) {
                state.original = Some(message.clone());
            }
            ok(message)
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed"),
    }
}

fn create_message(shared: &Shared, channel: Option<u64>, body: &Value) -> Answer {
    let Some(channel_id) = channel.filter(|c| shared.world().channels.contains_key(c)) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    {
        let world = shared.world();
        let closed = world
            .channels
            .get(&channel_id)
            .filter(|c| c.kind == DM)
            .and_then(|c| c.recipient)
            .and_then(|u| world.users.get(&u))
            .is_some_and(|u| u.dms_closed);
        if closed {
            return error(
                StatusCode::FORBIDDEN,
                50007,
                "Cannot send messages to this user",
            );
        }
    }
    let nonce_key = body
        .get("enforce_nonce")
        .and_then(Value::as_bool)
        .filter(|enforce| *enforce)
        .and_then(|_| body.get("nonce"))
        .filter(|n| !n.is_null())
        .map(|n| (channel_id, n.to_string()));
    if let Some(key) = &nonce_key
        && let Some(existing) = shared.nonces().get(key)
    {
        return ok(existing.clone());
    }
    let message = shared.store_message(channel_id, body);
    if let Some(key) = nonce_key {
        shared.nonces().insert(key, message.clone());
    }
    ok(message)
}

/// A public thread on a message: it takes the message's id, and a message has one thread.
fn start_thread(
    shared: &Shared,
    channel: Option<u64>,
    message: Option<u64>,
    body: &Value,
) -> Answer {
    let guild_id = {
        let world = shared.world();
        let Some(parent) = channel
            .and_then(|c| world.channels.get(&c))
            .filter(|c| c.kind == GUILD_TEXT)
        else {
            return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
        };
        parent.guild_id
    };
    let (Some(channel_id), Some(message_id)) = (channel, message) else {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    };
    if shared.find_message(channel_id, message_id).is_none() {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    }
    let mut world = shared.world();
    if world.channels.contains_key(&message_id) {
        return error(
            StatusCode::BAD_REQUEST,
            160_004,
            "A thread has already been created for this message",
        );
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    world.channels.insert(
        message_id,
        Channel {
            id: message_id,
            name,
            kind: PUBLIC_THREAD,
            guild_id,
            recipient: None,
            parent_id: Some(channel_id),
        },
    );
    ok(world.channel_json(message_id))
}

fn list_messages(shared: &Shared, channel: Option<u64>, query: &str) -> Answer {
    let Some(channel_id) = channel.filter(|c| shared.world().channels.contains_key(c)) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let limit = param("limit").unwrap_or(50).clamp(1, 100) as usize;
    let after = param("after");
    let before = param("before");
    let world = shared.world();
    let id_of = |m: &Value| {
        m.get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let all = world.messages.get(&channel_id).cloned().unwrap_or_default();
    let mut selected: Vec<Value> = match after {
        // Discord returns the oldest messages after the id when `after` is given.
        Some(after) => all
            .into_iter()
            .filter(|m| id_of(m) > after)
            .take(limit)
            .collect(),
        None => {
            let mut newest: Vec<Value> = all
                .into_iter()
                .filter(|m| before.is_none_or(|b| id_of(m) < b))
                .collect();
            let skip = newest.len().saturating_sub(limit);
            newest.drain(..skip);
            newest
        }
    };
    selected.reverse();
    ok(Value::Array(selected))
}

fn open_dm(shared: &Shared, body: &Value) -> Answer {
    let Some(user_id) = body
        .get("recipient_id")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()))
    else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let channel_id = shared.dm_channel(user_id);
    ok(shared.world().channel_json(channel_id))
}
