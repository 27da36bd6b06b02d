//! Discord's REST API as far as the bot uses it. Every request is recorded, checked against
//! the OpenAPI document, and may be answered by an injected fault instead.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::checks::{self, Refusal};
use super::limits::Bucket;
use super::problems::{Problem, ProblemKind};
use super::record::{Attachment, RecordedCall};
use super::world::{Channel, DM, GUILD_TEXT, PUBLIC_THREAD, drop_nulls};
use super::{EPHEMERAL, Fault, FaultKind, InteractionKind, InteractionState, Shared};

const API_PREFIX: &str = "/api/v10";
/// What the emulator reads of a body at most, whatever the rules say.
pub(crate) const BODY_CAP: usize = 64 * 1024 * 1024;

/// A parsed request: the JSON (or `payload_json`) body and any files.
struct Incoming {
    method: String,
    path: String,
    query: String,
    /// The token of `Authorization: Bot <token>`, if the header is there and well formed.
    token: Option<String>,
    body: Option<Value>,
    attachments: Vec<Attachment>,
}

/// Where an answer came from: an injected fault is what the test asked for, not a problem.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Route,
    Fault,
    Unhandled,
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let rules = shared.rules();
    let (mut incoming, parsed) = parse(request).await;
    let mut violations = Vec::new();
    let mut route = None;
    if let Some(spec) = &shared.spec {
        route = spec
            .route(&incoming.method, &incoming.path)
            .map(str::to_owned);
        violations = spec.check(&incoming.method, &incoming.path, incoming.body.as_ref());
        violations.extend(spec.check_query(&incoming.method, &incoming.path, &incoming.query));
    }
    for violation in &violations {
        tracing::warn!(%violation, "emulator: request breaks Discord's API");
    }
    let now = shared.clock.now();
    let segments: Vec<String> = incoming
        .path
        .trim_start_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let mut headers = Vec::new();
    let (answer, source) = 'answer: {
        if let Err(refusal) = parsed {
            break 'answer (refused(&refusal), Source::Route);
        }
        if rules.require_authorization
            && needs_authorization(&incoming.method, &segments)
            && !authorised(&shared, incoming.token.as_deref())
        {
            break 'answer (
                error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
                Source::Route,
            );
        }
        if rules.rate_limits {
            let bucket = Bucket::of(&incoming.method, &segments, &rules);
            let token = incoming.token.clone().unwrap_or_default();
            let verdict = shared.limiter.admit(&token, &bucket, now, &rules);
            headers = verdict.headers;
            if let Some(body) = verdict.refused {
                break 'answer (
                    json_response(StatusCode::TOO_MANY_REQUESTS, body),
                    Source::Route,
                );
            }
        }
        if let Some(answer) = take_fault(&shared, &incoming) {
            break 'answer (answer, Source::Fault);
        }
        if rules.message_checks && !incoming.attachments.is_empty() {
            let sizes: Vec<usize> = incoming.attachments.iter().map(|a| a.bytes.len()).collect();
            if let Err(refusal) = checks::check_files(&sizes, rules.max_files, rules.upload_limit) {
                break 'answer (refused(&refusal), Source::Route);
            }
        }
        match route_request(&shared, &mut incoming, &segments) {
            Some(answer) => (answer, Source::Route),
            None => {
                tracing::warn!(method = %incoming.method, path = %incoming.path, "emulator: unhandled route");
                (
                    error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
                    Source::Unhandled,
                )
            }
        }
    };
    let mut answer = answer;
    // Route headers on every answer; a refusal's own headers win.
    for (name, value) in headers {
        if !answer.headers.iter().any(|(n, _)| *n == name) {
            answer.headers.push((name, value));
        }
    }
    if answer.status.is_success()
        && let (Some(spec), Some(body)) = (&shared.spec, &answer.body)
    {
        for problem in spec.check_response(
            &incoming.method,
            &incoming.path,
            answer.status.as_u16(),
            body,
        ) {
            tracing::warn!(%problem, "emulator: its own answer lacks what Discord's document requires");
            violations.push(problem);
        }
    }
    let shared_scope = answer
        .headers
        .iter()
        .any(|(n, v)| *n == "x-ratelimit-scope" && v == "shared");
    if source != Source::Fault || answer.status == StatusCode::TOO_MANY_REQUESTS {
        shared
            .limiter
            .note_answer(answer.status.as_u16(), shared_scope, now);
    }
    let request = format!("{} {}", incoming.method, incoming.path);
    let index = shared.recorder.push(RecordedCall {
        index: 0,
        method: incoming.method,
        path: incoming.path,
        body: incoming.body,
        attachments: incoming.attachments,
        status: answer.status.as_u16(),
        response: answer.body.clone(),
        route,
        violations: violations.clone(),
        unhandled: source == Source::Unhandled,
        at: std::time::Instant::now(),
    });
    report(&shared, index, &request, &violations, &answer, source);
    answer.into_response()
}

/// Tells the harness about violations and error answers (not injected faults).
fn report(
    shared: &Shared,
    index: usize,
    request: &str,
    violations: &[String],
    answer: &Answer,
    source: Source,
) {
    for violation in violations {
        shared.problems.report(Problem {
            kind: ProblemKind::Violation,
            call: Some(index),
            request: request.to_owned(),
            status: answer.status.as_u16(),
            code: None,
            message: violation.clone(),
        });
    }
    if source == Source::Fault || !answer.status.is_client_error() {
        return;
    }
    let field = |key: &str| answer.body.as_ref().and_then(|b| b.get(key));
    shared.problems.report(Problem {
        kind: if source == Source::Unhandled {
            ProblemKind::Unhandled
        } else {
            ProblemKind::ErrorAnswer
        },
        call: Some(index),
        request: request.to_owned(),
        status: answer.status.as_u16(),
        code: field("code").and_then(Value::as_u64),
        message: field("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    });
}

/// Routes authorised by their own token (interaction callbacks and webhooks with a token)
/// and the gateway URL need no `Authorization` header.
fn needs_authorization(method: &str, segments: &[&str]) -> bool {
    !matches!(
        (method, segments),
        (_, ["interactions", ..]) | (_, ["webhooks", _, _, ..]) | ("GET", ["gateway"])
    )
}

fn authorised(shared: &Shared, token: Option<&str>) -> bool {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return false;
    };
    shared
        .world()
        .token
        .as_deref()
        .is_none_or(|valid| valid.strip_prefix("Bot ").unwrap_or(valid) == token)
}

/// Reads a request; the body's error (unreadable, too large) comes second, so the call is
/// still recorded.
async fn parse(request: Request) -> (Incoming, Result<(), Refusal>) {
    let method = request.method().to_string();
    let uri = request.uri().clone();
    let path = uri
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or(uri.path())
        .to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bot "))
        .map(|t| t.trim().to_owned());
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut incoming = Incoming {
        method,
        path,
        query,
        token,
        body: None,
        attachments: Vec::new(),
    };
    let result = read_body(request, &content_type, &mut incoming).await;
    (incoming, result)
}

async fn read_body(
    request: Request,
    content_type: &str,
    incoming: &mut Incoming,
) -> Result<(), Refusal> {
    let malformed = |what: String| {
        // axum's body limit shows up as a length error: Discord's 413.
        if what.contains("length limit") || what.contains("too large") {
            checks::too_large()
        } else {
            Refusal::new(StatusCode::BAD_REQUEST, 50109, &what)
        }
    };
    if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| malformed(format!("malformed multipart body: {e}")))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| malformed(format!("malformed multipart body: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| malformed(format!("malformed multipart part `{name}`: {e}")))?;
            if name == "payload_json" {
                incoming.body = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        50109,
                        &format!("payload_json is not JSON: {e}"),
                    )
                })?);
            } else {
                incoming.attachments.push(Attachment {
                    field: name,
                    filename,
                    content_type: part_type,
                    bytes: bytes.to_vec(),
                });
            }
        }
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), BODY_CAP)
            .await
            .map_err(|e| malformed(format!("unreadable body: {e}")))?;
        if !bytes.is_empty() {
            incoming.body = Some(serde_json::from_slice(&bytes).map_err(|e| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    50109,
                    &format!("The request body contains invalid JSON: {e}"),
                )
            })?);
        }
    }
    Ok(())
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
    let limited = |retry_after: f64, global: bool, scope: &str| {
        let mut answer = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "message": if scope == "shared" { "The resource is being rate limited." } else { "You are being rate limited." },
                "retry_after": retry_after,
                "global": global,
                "code": 0,
            }),
        );
        answer.headers = vec![
            ("retry-after", retry_after.ceil().to_string()),
            ("x-ratelimit-reset-after", retry_after.to_string()),
            ("x-ratelimit-remaining", "0".to_owned()),
            ("x-ratelimit-scope", scope.to_owned()),
        ];
        if global {
            answer
                .headers
                .push(("x-ratelimit-global", "true".to_owned()));
        }
        answer
    };
    Some(match fault.kind {
        FaultKind::RateLimited {
            retry_after,
            global,
        } => limited(retry_after, global, if global { "global" } else { "user" }),
        FaultKind::SharedRateLimited { retry_after } => limited(retry_after, false, "shared"),
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

fn refused(refusal: &Refusal) -> Answer {
    json_response(refusal.status, refusal.body())
}

fn unknown_message() -> Answer {
    error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
}

fn unknown_webhook() -> Answer {
    error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
}

fn id(segment: &str) -> Option<u64> {
    segment.parse().ok()
}

fn route_request(shared: &Shared, incoming: &mut Incoming, segments: &[&str]) -> Option<Answer> {
    let method = Method::from_bytes(incoming.method.as_bytes()).ok()?;
    let mut body = incoming.body.clone().unwrap_or(Value::Null);
    let files = incoming.attachments.len();
    if files > 0 {
        body["attachments"] = uploaded(shared, &incoming.attachments);
        if body.get("data").is_some_and(Value::is_object) {
            body["data"]["attachments"] = body["attachments"].clone();
        }
    }
    let answer = match (method, segments) {
        (Method::GET, ["gateway"]) => ok(json!({"url": shared.gateway_url})),
        (Method::GET, ["gateway", "bot"]) => {
            ok(shared.gateway.sharding().gateway_bot(&shared.gateway_url))
        }
        (Method::GET, ["oauth2", "applications", "@me"]) => ok(shared.application_json()),
        (Method::GET, ["users", "@me"]) => {
            // The current user: a user object with the private fields Discord adds for it.
            let world = shared.world();
            let mut me = world.user_json(world.bot_id);
            if let Some(fields) = me.as_object_mut() {
                fields.insert("flags".into(), json!(0));
                fields.insert("mfa_enabled".into(), json!(false));
                fields.insert("locale".into(), json!("en-US"));
            }
            ok(me)
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
            interaction_callback(shared, interaction, token, &body, files)
        }
        (Method::POST, ["webhooks", _, token]) => follow_up(shared, token, &body, files),
        (method, ["webhooks", _, token, "messages", message]) => {
            webhook_message(shared, &method, token, message, &body)
        }
        (Method::POST, ["channels", channel, "messages"]) => {
            create_message(shared, id(channel), &body, files)
        }
        (
            method @ (Method::PATCH | Method::DELETE | Method::GET),
            ["channels", channel, "messages", message],
        ) => channel_message(shared, &method, id(channel), id(message), &body),
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

/// Discord's checks on a new message: structure, and something to show.
fn check_new_message(shared: &Shared, body: &Value, files: usize) -> Result<(), Answer> {
    if !shared.rules().message_checks {
        return Ok(());
    }
    checks::check_message(body)
        .and_then(|()| checks::check_not_empty(body, files))
        .map_err(|r| refused(&r))
}

/// Discord's checks on an edit: structure only (an edit may clear some fields).
fn check_edit(shared: &Shared, body: &Value) -> Result<(), Answer> {
    if !shared.rules().message_checks {
        return Ok(());
    }
    checks::check_message(body).map_err(|r| refused(&r))
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
            // Required in Discord's answer, even when null.
            if command.get("default_member_permissions").is_none() {
                command["default_member_permissions"] = Value::Null;
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

/// Whether a callback type answers an interaction of this kind, as Discord allows:
/// 4 and 5 for all but autocomplete; 6 for components and modal submits (it closes the
/// modal; poise answers every modal so); 7 for components and modals opened from one;
/// 8 (and only 8) for autocomplete; 9 for commands and components.
fn callback_fits(kind: InteractionKind, from_component: bool, callback: u64) -> bool {
    use InteractionKind::{Autocomplete, Command, Component, ModalSubmit};
    match (kind, callback) {
        (Autocomplete, 8) => true,
        (Autocomplete, _) | (_, 8) => false,
        (_, 4 | 5) => true,
        (Component, 6 | 7) | (ModalSubmit, 6) => true,
        (ModalSubmit, 7) => from_component,
        (Command | Component, 9) => true,
        _ => false,
    }
}

fn interaction_callback(
    shared: &Shared,
    interaction: &str,
    token: &str,
    body: &Value,
    files: usize,
) -> Answer {
    let rules = shared.rules();
    let now = shared.clock.now();
    let callback = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or(json!({}));
    let (channel_id, user_id, source_message) = {
        let mut interactions = shared.interactions();
        let Some(state) = interactions.get_mut(token) else {
            return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
        };
        if id(interaction) != Some(state.id) {
            return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
        }
        if rules.interactions {
            let deadline = state.created
                + chrono::Duration::from_std(rules.initial_response)
                    .unwrap_or(chrono::Duration::MAX);
            if state.response.is_none() && now > deadline {
                return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
            }
        }
        if state.response.is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                40060,
                "Interaction has already been acknowledged.",
            );
        }
        if rules.interactions
            && !callback_fits(state.kind, state.source_message.is_some(), callback)
        {
            let mut answer = error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            if let Some(body) = answer.body.as_mut() {
                body["errors"] = json!({"type": {"_errors": [{
                    "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                    "message": format!("Interaction response type {callback} is not valid for a {:?} interaction", state.kind),
                }]}});
            }
            return answer;
        }
        if callback == 4
            && let Err(answer) = check_new_message(shared, &data, files)
        {
            return answer;
        }
        if matches!(callback, 7)
            && let Err(answer) = check_edit(shared, &data)
        {
            return answer;
        }
        state.response = Some(callback);
        let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0);
        state.ephemeral = flags & EPHEMERAL != 0;
        if callback == 9 {
            state.modal = Some(data.clone());
        }
        if matches!(callback, 6 | 7) {
            state.original = state.source_message;
        }
        (state.channel_id, state.user_id, state.source_message)
    };
    match callback {
        4 => {
            let visible_to = (data.get("flags").and_then(Value::as_u64).unwrap_or(0) & EPHEMERAL
                != 0)
                .then_some(user_id);
            let message = shared.store_message(channel_id, &data, visible_to);
            let message_id = message
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            if let Some(state) = shared.interactions().get_mut(token) {
                state.original = message_id;
            }
        }
        7 => {
            if let Some(message) = source_message {
                shared.edit_message(channel_id, message, &data);
            }
        }
        _ => {}
    }
    no_content()
}

/// The interaction behind a webhook token, if the token may still be used: unknown or not
/// yet answered → 10015 Unknown Webhook; older than 15 minutes → 50027 Invalid Webhook Token.
fn usable_token(shared: &Shared, token: &str) -> Result<(u64, u64, bool), Answer> {
    let rules = shared.rules();
    let now = shared.clock.now();
    let interactions = shared.interactions();
    let Some(state) = interactions.get(token) else {
        return Err(unknown_webhook());
    };
    if rules.interactions {
        let lifetime =
            chrono::Duration::from_std(rules.token_lifetime).unwrap_or(chrono::Duration::MAX);
        if now > state.created + lifetime {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                50027,
                "Invalid Webhook Token",
            ));
        }
        if state.response.is_none() {
            return Err(unknown_webhook());
        }
    }
    Ok((state.channel_id, state.user_id, state.ephemeral))
}

fn follow_up(shared: &Shared, token: &str, body: &Value, files: usize) -> Answer {
    let (channel_id, user_id, _) = match usable_token(shared, token) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if let Err(answer) = check_new_message(shared, body, files) {
        return answer;
    }
    let ephemeral = body.get("flags").and_then(Value::as_u64).unwrap_or(0) & EPHEMERAL != 0;
    ok(shared.store_message(channel_id, body, ephemeral.then_some(user_id)))
}

fn webhook_message(
    shared: &Shared,
    method: &Method,
    token: &str,
    message: &str,
    body: &Value,
) -> Answer {
    let (channel_id, user_id, ephemeral) = match usable_token(shared, token) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if *method == Method::PATCH
        && let Err(answer) = check_edit(shared, body)
    {
        return answer;
    }
    let target = if message == "@original" {
        let state = shared.interactions();
        let Some(state) = state.get(token) else {
            return unknown_webhook();
        };
        let state: &InteractionState = state;
        match (state.original, state.response) {
            (Some(original), _) => Some(original),
            // A deferred answer (5) becomes a message with the first edit.
            (None, Some(5)) if *method == Method::PATCH => None,
            _ => return unknown_message(),
        }
    } else {
        match id(message) {
            Some(m) => Some(m),
            None => return unknown_message(),
        }
    };
    let Some(message_id) = target else {
        let message = shared.store_message(channel_id, body, ephemeral.then_some(user_id));
        let message_id = message
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        if let Some(state) = shared.interactions().get_mut(token) {
            state.original = message_id;
        }
        return ok(message);
    };
    match *method {
        Method::GET => shared
            .find_message(channel_id, message_id)
            .map_or_else(unknown_message, ok),
        Method::PATCH => shared
            .edit_message(channel_id, message_id, body)
            .map_or_else(unknown_message, ok),
        Method::DELETE => {
            if shared.delete_message(channel_id, message_id) {
                no_content()
            } else {
                unknown_message()
            }
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed"),
    }
}

fn create_message(shared: &Shared, channel: Option<u64>, body: &Value, files: usize) -> Answer {
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
    if let Err(answer) = check_new_message(shared, body, files) {
        return answer;
    }
    // Discord dedupes only with `enforce_nonce`: the same author's nonce in the same channel
    // within the window returns the first message.
    let now = shared.clock.now();
    let window =
        chrono::Duration::from_std(shared.rules().nonce_window).unwrap_or(chrono::Duration::MAX);
    let author = shared.world().bot_id;
    let nonce_key = body
        .get("enforce_nonce")
        .and_then(Value::as_bool)
        .filter(|enforce| *enforce)
        .and_then(|_| body.get("nonce"))
        .filter(|n| !n.is_null())
        .map(|n| {
            let nonce = n.as_str().map_or_else(|| n.to_string(), str::to_owned);
            (author, channel_id, nonce)
        });
    if let Some(key) = &nonce_key {
        let mut nonces = shared.nonces();
        let live = |at: &chrono::DateTime<chrono::Utc>| *at + window > now;
        nonces.sweep(|_, (at, _)| live(at));
        if let Some((_, existing)) = nonces.get(key).filter(|(at, _)| live(at)) {
            return ok(existing.clone());
        }
    }
    let message = shared.store_message(channel_id, body, None);
    if let Some(key) = nonce_key {
        shared.nonces().insert(key, (now, message.clone()));
    }
    ok(message)
}

/// `GET`, `PATCH` and `DELETE /channels/{c}/messages/{m}`: ephemeral messages are not there;
/// the bot edits only its own messages.
fn channel_message(
    shared: &Shared,
    method: &Method,
    channel: Option<u64>,
    message: Option<u64>,
    body: &Value,
) -> Answer {
    let Some(channel_id) = channel.filter(|c| shared.world().channels.contains_key(c)) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    let Some((message_id, found)) = message
        .filter(|m| shared.visible_to(*m).is_none())
        .and_then(|m| shared.find_message(channel_id, m).map(|found| (m, found)))
    else {
        return unknown_message();
    };
    match *method {
        Method::GET => ok(found),
        Method::PATCH => {
            let bot = shared.world().bot_id.to_string();
            if found.pointer("/author/id").and_then(Value::as_str) != Some(bot.as_str()) {
                return error(
                    StatusCode::FORBIDDEN,
                    50005,
                    "Cannot edit a message authored by another user",
                );
            }
            if let Err(answer) = check_edit(shared, body) {
                return answer;
            }
            shared
                .edit_message(channel_id, message_id, body)
                .map_or_else(unknown_message, ok)
        }
        _ => {
            shared.delete_message(channel_id, message_id);
            no_content()
        }
    }
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
        return unknown_message();
    };
    if shared.find_message(channel_id, message_id).is_none() {
        return unknown_message();
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
    // Ephemeral messages are not part of the channel's history.
    let all: Vec<Value> = world
        .messages
        .get(&channel_id)
        .into_iter()
        .flatten()
        .filter(|m| !world.ephemeral.contains_key(&id_of(m)))
        .cloned()
        .collect();
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

/// Opens (or finds) the DM channel with a user; 10013 Unknown User for nobody.
fn open_dm(shared: &Shared, body: &Value) -> Answer {
    let Some(user_id) = body
        .get("recipient_id")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()))
    else {
        let mut answer = error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
        if let Some(body) = answer.body.as_mut() {
            body["errors"] = json!({"recipient_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}});
        }
        return answer;
    };
    if !shared.world().users.contains_key(&user_id) {
        return error(StatusCode::NOT_FOUND, 10013, "Unknown User");
    }
    let channel_id = shared.dm_channel(user_id);
    ok(shared.world().channel_json(channel_id))
}
