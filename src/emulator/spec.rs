//! Checks request bodies against Discord's published OpenAPI document, plus the few limits
//! that Discord enforces for bots but the document leaves wider (message content is 4,000
//! characters in the document, the shared limit for users with Nitro; bots get 2,000).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// Environment variable naming the OpenAPI document; tests and `.ci/run` set it.
pub const SPEC_ENV: &str = "DISCORD_OPENAPI_SPEC";

/// Discord's limit on `content` for messages sent by bots.
pub const BOT_CONTENT_LIMIT: usize = 2000;

/// The OpenAPI document with a cache of compiled request-body validators.
pub struct SpecValidator {
    components: Value,
    /// `(method, template)` for every operation, with its request-body schema (if any).
    operations: Vec<Operation>,
    compiled: Mutex<HashMap<usize, std::sync::Arc<jsonschema::Validator>>>,
}

struct Operation {
    method: String,
    segments: Vec<String>,
    template: String,
    body_schema: Option<Value>,
    /// Query parameters: name → schema.
    query: Vec<(String, Value)>,
    /// Success responses: status → schema.
    responses: Vec<(u16, Value)>,
}

impl SpecValidator {
    /// Finds the spec: `$DISCORD_OPENAPI_SPEC`, else `../shared/discord-openapi.json` next to
    /// the crate or the working directory. `None` when there is none.
    pub fn locate() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(SPEC_ENV) {
            let path = PathBuf::from(path);
            return path.is_file().then_some(path);
        }
        let candidates = [
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/discord-openapi.json"),
            PathBuf::from("../shared/discord-openapi.json"),
        ];
        candidates.into_iter().find(|p| p.is_file())
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the OpenAPI document {}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing the OpenAPI document {}", path.display()))?;
        Self::from_document(doc)
    }

    pub fn from_document(doc: Value) -> anyhow::Result<Self> {
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            bail!("the OpenAPI document has no `paths`");
        };
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    continue;
                }
                let body_schema = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .cloned();
                let query = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| {
                        let name = p.get("name").and_then(Value::as_str)?;
                        Some((
                            name.to_owned(),
                            p.get("schema").cloned().unwrap_or(Value::Null),
                        ))
                    })
                    .collect();
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(status, response)| {
                        let status = status.parse::<u16>().ok().filter(|s| *s < 300)?;
                        let schema = response.pointer("/content/application~1json/schema")?;
                        Some((status, schema.clone()))
                    })
                    .collect();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    segments: template.split('/').map(str::to_owned).collect(),
                    template: template.clone(),
                    body_schema,
                    query,
                    responses,
                });
            }
        }
        let mut components = doc.get("components").cloned().unwrap_or(Value::Null);
        // The document types snowflakes as strings, but Discord also accepts them as JSON
        // integers in requests (serenity sends new attachments as `{"id": 0}`).
        if let Some(snowflake) = components.pointer_mut("/schemas/SnowflakeType") {
            let as_string = snowflake.clone();
            *snowflake = json!({"anyOf": [as_string, {"type": "integer", "minimum": 0}]});
        }
        Ok(Self {
            components,
            operations,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The operation for a request path (without the `/api/v10` prefix). Literal segments win
    /// over parameters, as `@me` must not be taken for an id.
    fn find(&self, method: &str, path: &str) -> Option<usize> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, usize)> = None;
        for (index, op) in self.operations.iter().enumerate() {
            if op.method != method || op.segments.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = op.segments.iter().zip(&segments).all(|(want, got)| {
                if want.starts_with('{') {
                    !got.is_empty()
                } else if want == got {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if fits && best.is_none_or(|(_, l)| literal > l) {
                best = Some((index, literal));
            }
        }
        best.map(|(index, _)| index)
    }

    /// The spec's path template for a request, if the spec knows it.
    pub fn route(&self, method: &str, path: &str) -> Option<&str> {
        self.find(method, path)
            .map(|i| self.operations[i].template.as_str())
    }

    /// Every way the body breaks the spec (or a bot limit); empty when it is fine.
    pub fn check(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<String> {
        let Some(index) = self.find(method, path) else {
            return vec![format!(
                "{method} {path} is not an operation in Discord's API"
            )];
        };
        let mut violations = Vec::new();
        let op = &self.operations[index];
        match (body, &op.body_schema) {
            (Some(body), Some(_)) => match self.validator(index) {
                Ok(validator) => {
                    for error in validator.iter_errors(body) {
                        violations.push(format!(
                            "{method} {}: {} at `{}`",
                            op.template,
                            error,
                            error.instance_path()
                        ));
                    }
                }
                Err(error) => violations.push(format!(
                    "{method} {}: the spec's schema did not compile: {error:#}",
                    op.template
                )),
            },
            (Some(body), None) if !body.is_null() => violations.push(format!(
                "{method} {} takes no JSON body, but one was sent",
                op.template
            )),
            _ => {}
        }
        if let Some(body) = body {
            violations.extend(bot_limits(method, &op.template, body));
        }
        violations
    }

    /// Query parameters the operation does not declare, or whose value does not fit its
    /// declared type and bounds.
    pub fn check_query(&self, method: &str, path: &str, query: &str) -> Vec<String> {
        let Some(index) = self.find(method, path) else {
            return Vec::new();
        };
        let op = &self.operations[index];
        let mut violations = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some((_, schema)) = op.query.iter().find(|(n, _)| n == name) else {
                violations.push(format!(
                    "{method} {}: query parameter `{name}` is not in Discord's API",
                    op.template
                ));
                continue;
            };
            let schema = self.resolve(schema);
            let fits = match schema.get("type").and_then(Value::as_str) {
                Some("integer") => value.parse::<i64>().ok().is_some_and(|n| {
                    schema
                        .get("minimum")
                        .and_then(Value::as_i64)
                        .is_none_or(|min| n >= min)
                        && schema
                            .get("maximum")
                            .and_then(Value::as_i64)
                            .is_none_or(|max| n <= max)
                }),
                Some("boolean") => matches!(value, "true" | "false" | "True" | "False" | "1" | "0"),
                // Snowflakes and other strings: anything goes but nothing.
                _ => !value.is_empty(),
            };
            if !fits {
                violations.push(format!(
                    "{method} {}: query parameter `{name}={value}` does not fit {schema}",
                    op.template
                ));
            }
        }
        violations
    }

    /// Fields the document marks required that an answer of the emulator's lacks (checked at
    /// the top level of the object, or of each item of an array).
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let Some(index) = self.find(method, path) else {
            return Vec::new();
        };
        let op = &self.operations[index];
        let Some((_, schema)) = op.responses.iter().find(|(s, _)| *s == status) else {
            return Vec::new();
        };
        let items: Vec<&Value> = match body {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let schema = self.resolve(schema);
        let schema = if body.is_array() {
            schema.get("items").map_or(schema, |i| self.resolve(i))
        } else {
            schema
        };
        let mut problems = Vec::new();
        for item in items {
            let missing = self.missing_required(schema, item);
            if !missing.is_empty() {
                problems.push(format!(
                    "emulator's answer to {method} {} lacks required {missing:?}",
                    op.template
                ));
            }
        }
        problems
    }

    /// The required fields `value` lacks; for `oneOf`/`anyOf`, the fewest over the choices.
    fn missing_required(&self, schema: &Value, value: &Value) -> Vec<String> {
        let schema = self.resolve(schema);
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema.get(key).and_then(Value::as_array) {
                return choices
                    .iter()
                    .map(|c| self.missing_required(c, value))
                    .min_by_key(Vec::len)
                    .unwrap_or_default();
            }
        }
        let Some(fields) = value.as_object() else {
            return Vec::new();
        };
        schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| !fields.contains_key(*name))
            .map(str::to_owned)
            .collect()
    }

    /// Follows `$ref`s into the document's components.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(pointer) = reference.strip_prefix("#/components") else {
                break;
            };
            match self.components.pointer(pointer) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn validator(&self, index: usize) -> anyhow::Result<std::sync::Arc<jsonschema::Validator>> {
        let mut compiled = self
            .compiled
            .lock()
            .map_err(|_| anyhow::anyhow!("validator cache poisoned"))?;
        if let Some(validator) = compiled.get(&index) {
            return Ok(validator.clone());
        }
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [self.operations[index].body_schema.clone().unwrap_or(Value::Bool(true))],
            "components": self.components,
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let validator = std::sync::Arc::new(validator);
        compiled.insert(index, validator.clone());
        Ok(validator)
    }
}

/// Limits Discord applies to bots beyond the document.
fn bot_limits(method: &str, template: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check_content = |content: Option<&Value>, at: &str| {
        if let Some(text) = content.and_then(Value::as_str) {
            let len = text.chars().count();
            if len > BOT_CONTENT_LIMIT {
                out.push(format!(
                    "{method} {template}: `{at}content` is {len} characters; bots may send at most {BOT_CONTENT_LIMIT}"
                ));
            }
        }
    };
    check_content(body.get("content"), "");
    // Interaction callbacks carry the message under `data`.
    check_content(body.pointer("/data/content"), "data.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Option<SpecValidator> {
        let Some(path) = SpecValidator::locate() else {
            eprintln!(
                "skipping: Discord's OpenAPI document not found (set {SPEC_ENV} to its path)"
            );
            return None;
        };
        Some(SpecValidator::load(&path).expect("the spec loads"))
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let Some(spec) = spec() else { return };
        assert_eq!(
            spec.route("POST", "/users/@me/channels"),
            Some("/users/@me/channels")
        );
        assert_eq!(
            spec.route("POST", "/channels/123/messages"),
            Some("/channels/{channel_id}/messages")
        );
    }

    #[test]
    fn a_plain_message_passes() {
        let Some(spec) = spec() else { return };
        let body = json!({"content": "hello", "allowed_mentions": {"parse": []}});
        assert_eq!(
            spec.check("POST", "/channels/1/messages", Some(&body)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn content_over_the_bot_limit_is_a_violation() {
        let Some(spec) = spec() else { return };
        let body = json!({"content": "x".repeat(2001)});
        let violations = spec.check("POST", "/channels/1/messages", Some(&body));
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].contains("at most 2000"), "{violations:?}");
    }

    #[test]
    fn content_over_the_spec_limit_is_a_violation() {
        let Some(spec) = spec() else { return };
        let body = json!({"content": "x".repeat(4001)});
        let violations = spec.check("POST", "/channels/1/messages", Some(&body));
        assert!(
            violations.iter().any(|v| v.contains("longer than 4000")),
            "{violations:?}"
        );
    }

    #[test]
    fn a_wrong_type_is_a_violation() {
        let Some(spec) = spec() else { return };
        let body = json!({"type": 4, "data": {"content": 5}});
        let violations = spec.check("POST", "/interactions/1/tok/callback", Some(&body));
        assert!(!violations.is_empty());
    }

    #[test]
    fn query_parameters_are_checked_against_the_document() {
        let Some(spec) = spec() else { return };
        assert!(
            spec.check_query("GET", "/channels/1/messages", "limit=50&after=12")
                .is_empty()
        );
        assert_eq!(
            spec.check_query("GET", "/channels/1/messages", "limit=500")
                .len(),
            1
        );
        assert_eq!(
            spec.check_query("GET", "/channels/1/messages", "colour=red")
                .len(),
            1
        );
    }

    #[test]
    fn an_answer_without_a_required_field_is_reported() {
        let Some(spec) = spec() else { return };
        let problems = spec.check_response(
            "POST",
            "/users/@me/channels",
            200,
            &json!({"id": "1", "type": 1}),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("recipients"), "{problems:?}");
    }

    #[test]
    fn an_unknown_route_is_reported() {
        let Some(spec) = spec() else { return };
        let violations = spec.check("POST", "/nowhere/at/all", None);
        assert_eq!(violations.len(), 1);
    }
}
