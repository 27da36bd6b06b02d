//! Discord's rules on a message that the OpenAPI document cannot express: something to show,
//! at most five action rows, unique custom ids, 6,000 embed characters, named embed fields,
//! and at most ten files within the upload limit. Each refusal is Discord's error.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

/// An error answer in Discord's shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// Discord's `errors` object for form errors (50035).
    pub errors: Option<Value>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: u32, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            errors: None,
        }
    }

    /// 50035 with one error at `path` (e.g. `["embeds", "0", "fields"]`).
    fn form(path: &[&str], error_code: &str, message: &str) -> Self {
        let mut errors = json!({"_errors": [{"code": error_code, "message": message}]});
        for key in path.iter().rev() {
            errors = json!({ *key: errors });
        }
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 50035,
            message: "Invalid Form Body".to_owned(),
            errors: Some(errors),
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

const IS_COMPONENTS_V2: u64 = 1 << 15;
const EMBED_TOTAL_LIMIT: usize = 6000;

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// Whether a new message has something to show: content, embeds, components, files, stickers
/// or a poll. `files` counts the uploaded files of a multipart request.
pub(crate) fn check_not_empty(body: &Value, files: usize) -> Result<(), Refusal> {
    let shows_something = files > 0
        || [
            "content",
            "embeds",
            "components",
            "sticker_ids",
            "poll",
            "attachments",
        ]
        .iter()
        .any(|key| !is_empty(body.get(*key)));
    if shows_something {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ))
    }
}

/// The structural rules on a message body (a new message or an edit).
pub(crate) fn check_message(body: &Value) -> Result<(), Refusal> {
    let flags = body.get("flags").and_then(Value::as_u64).unwrap_or(0);
    if let Some(components) = body.get("components").and_then(Value::as_array) {
        if flags & IS_COMPONENTS_V2 == 0 && components.len() > 5 {
            return Err(Refusal::form(
                &["components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            ));
        }
        let mut seen = HashSet::new();
        if let Some(duplicate) = custom_ids(components)
            .into_iter()
            .find(|id| !seen.insert(id.clone()))
        {
            return Err(Refusal::form(
                &["components"],
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                &format!("Component custom id cannot be duplicated: {duplicate}"),
            ));
        }
    }
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        let mut total = 0;
        for (index, embed) in embeds.iter().enumerate() {
            total += embed_characters(embed);
            let fields = embed.get("fields").and_then(Value::as_array);
            for (at, field) in fields.into_iter().flatten().enumerate() {
                for key in ["name", "value"] {
                    if is_empty(field.get(key)) {
                        let (index, at) = (index.to_string(), at.to_string());
                        return Err(Refusal::form(
                            &["embeds", &index, "fields", &at, key],
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        ));
                    }
                }
            }
        }
        if total > EMBED_TOTAL_LIMIT {
            return Err(Refusal::form(
                &["embeds"],
                "MAX_EMBED_SIZE_EXCEEDED",
                "Embed size exceeds maximum size of 6000",
            ));
        }
    }
    Ok(())
}

/// At most `max_files` files and `limit` bytes in one request.
pub(crate) fn check_files(sizes: &[usize], max_files: usize, limit: usize) -> Result<(), Refusal> {
    if sizes.len() > max_files {
        return Err(Refusal::form(
            &["attachments"],
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {max_files} or fewer in length."),
        ));
    }
    if sizes.iter().sum::<usize>() > limit {
        return Err(too_large());
    }
    Ok(())
}

pub(crate) fn too_large() -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        40005,
        "Request entity too large",
    )
}

/// Every `custom_id` in a component tree, in order.
pub(crate) fn custom_ids(components: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for component in components {
        if let Some(id) = component.get("custom_id").and_then(Value::as_str) {
            out.push(id.to_owned());
        }
        for key in ["components", "accessory", "component"] {
            match component.get(key) {
                Some(Value::Array(children)) => out.extend(custom_ids(children)),
                Some(child @ Value::Object(_)) => {
                    out.extend(custom_ids(std::slice::from_ref(child)));
                }
                _ => {}
            }
        }
    }
    out
}

/// The component with this `custom_id` in a component tree.
pub(crate) fn find_component<'a>(components: &'a [Value], custom_id: &str) -> Option<&'a Value> {
    for component in components {
        if component.get("custom_id").and_then(Value::as_str) == Some(custom_id) {
            return Some(component);
        }
        for key in ["components", "accessory", "component"] {
            let found = match component.get(key) {
                Some(Value::Array(children)) => find_component(children, custom_id),
                Some(child @ Value::Object(_)) => {
                    find_component(std::slice::from_ref(child), custom_id)
                }
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

/// The characters Discord counts towards an embed's 6,000.
fn embed_characters(embed: &Value) -> usize {
    let text = |pointer: &str| {
        embed
            .pointer(pointer)
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count())
    };
    let fields: usize = embed
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|field| {
            ["name", "value"]
                .iter()
                .filter_map(|key| field.get(*key).and_then(Value::as_str))
                .map(|s| s.chars().count())
                .sum::<usize>()
        })
        .sum();
    text("/title") + text("/description") + text("/footer/text") + text("/author/name") + fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_message_is_refused_with_50006() {
        let refusal = check_not_empty(&json!({"content": ""}), 0).expect_err("empty");
        assert_eq!(
            (refusal.status, refusal.code),
            (StatusCode::BAD_REQUEST, 50006)
        );
        assert!(
            check_not_empty(&json!({"content": ""}), 1).is_ok(),
            "a file is enough"
        );
        assert!(check_not_empty(&json!({"embeds": [{"title": "t"}]}), 0).is_ok());
    }

    #[test]
    fn six_action_rows_are_refused() {
        let row = json!({"type": 1, "components": []});
        let body = json!({"components": vec![row; 6]});
        assert_eq!(check_message(&body).map_err(|r| r.code), Err(50035));
    }

    #[test]
    fn duplicate_custom_ids_are_refused() {
        let button = json!({"type": 2, "style": 1, "label": "x", "custom_id": "same"});
        let body = json!({"components": [
            {"type": 1, "components": [button.clone()]},
            {"type": 1, "components": [button]},
        ]});
        let refusal = check_message(&body).expect_err("duplicate");
        assert_eq!(refusal.code, 50035);
        assert!(
            refusal
                .body()
                .to_string()
                .contains("COMPONENT_CUSTOM_ID_DUPLICATED")
        );
    }

    #[test]
    fn embeds_over_six_thousand_characters_and_unnamed_fields_are_refused() {
        let long =
            json!({"embeds": [{"description": "x".repeat(4000)}, {"title": "y".repeat(2001)}]});
        assert_eq!(check_message(&long).map_err(|r| r.code), Err(50035));
        let unnamed = json!({"embeds": [{"fields": [{"name": "", "value": "v"}]}]});
        let refusal = check_message(&unnamed).expect_err("unnamed");
        assert!(
            refusal
                .body()
                .pointer("/errors/embeds/0/fields/0/name")
                .is_some()
        );
    }

    #[test]
    fn eleven_files_or_too_many_bytes_are_refused() {
        assert_eq!(
            check_files(&[1; 11], 10, 100).map_err(|r| r.code),
            Err(50035)
        );
        let refusal = check_files(&[60, 50], 10, 100).expect_err("too large");
        assert_eq!((refusal.status.as_u16(), refusal.code), (413, 40005));
        assert!(check_files(&[50, 50], 10, 100).is_ok());
    }
}
