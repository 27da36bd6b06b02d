//! The bot's messages as plain text for the terminal: content, embeds, buttons, modals.

use serde_json::Value;

use crate::emulator::{Emulator, RecordedCall};

/// Text for every call that shows something to a person; `None` for the rest.
pub fn call(emu: &Emulator, call: &RecordedCall) -> Option<String> {
    if call.status >= 400 {
        return Some(format!(
            "  ! Discord refused a request ({} {}): {}",
            call.method,
            call.path,
            call.response
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default()
        ));
    }
    let body = call.body.as_ref()?;
    let segments: Vec<&str> = call.path.trim_start_matches('/').split('/').collect();
    match (call.method.as_str(), segments.as_slice()) {
        ("POST", ["interactions", _, _, "callback"]) => {
            let data = body.get("data").cloned().unwrap_or(Value::Null);
            match body.get("type").and_then(Value::as_u64) {
                Some(4) => Some(message(emu, "coachbot replied", &data)),
                Some(5) => None,
                Some(7) => Some(message(emu, "coachbot updated the message", &data)),
                Some(8) => Some(choices(&data)),
                Some(9) => Some(modal(&data)),
                _ => None,
            }
        }
        ("POST", ["webhooks", _, _]) => Some(message(emu, "coachbot followed up", body)),
        ("PATCH", ["webhooks", _, _, "messages", _]) => {
            Some(message(emu, "coachbot replied", body))
        }
        ("POST", ["channels", channel, "messages"]) => {
            let place = channel
                .parse::<u64>()
                .map(|id| emu.channel_label(id))
                .unwrap_or_default();
            Some(message(emu, &format!("coachbot → {place}"), body))
        }
        _ => None,
    }
}

fn message(emu: &Emulator, heading: &str, data: &Value) -> String {
    let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0);
    let mut out = String::from(heading);
    if flags & 64 != 0 {
        out.push_str(" (only you can see this)");
    }
    out.push(':');
    if let Some(content) = data
        .get("content")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        for line in names(emu, content).lines() {
            out.push_str("\n  ");
            out.push_str(line);
        }
    }
    for embed in data
        .get("embeds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str("\n  ┌─");
        let mut row = |text: &str| {
            for line in names(emu, text).lines() {
                out.push_str("\n  │ ");
                out.push_str(line);
            }
        };
        if let Some(title) = embed.get("title").and_then(Value::as_str) {
            row(&format!("**{title}**"));
        }
        if let Some(description) = embed.get("description").and_then(Value::as_str) {
            row(description);
        }
        for field in embed
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let value = field
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            row(&format!("{name}: {value}"));
        }
        if let Some(footer) = embed.pointer("/footer/text").and_then(Value::as_str) {
            row(&format!("— {footer}"));
        }
        out.push_str("\n  └─");
    }
    for attachment in data
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = attachment.get("filename").and_then(Value::as_str) {
            out.push_str(&format!("\n  [file: {name}]"));
        }
    }
    let buttons: Vec<String> = data
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|row| {
            row.get("components")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| {
            let label = c.get("label").and_then(Value::as_str).unwrap_or("…");
            let id = c
                .get("custom_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!("[{label}] (click {id})")
        })
        .collect();
    if !buttons.is_empty() {
        out.push_str("\n  ");
        out.push_str(&buttons.join("  "));
    }
    out
}

fn choices(data: &Value) -> String {
    let names: Vec<&str> = data
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    format!("suggestions: {}", names.join(", "))
}

fn modal(data: &Value) -> String {
    let title = data
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = format!("coachbot opened a form: {title}");
    for row in data
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for input in row
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let label = input
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let id = input
                .get("custom_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.push_str(&format!("\n  {label} ({id})"));
        }
    }
    out
}

/// `<#id>`, `<@id>`, `<@&id>` as names.
fn names(emu: &Emulator, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let Some(end) = tail.find('>') else {
            out.push_str(tail);
            return out;
        };
        let inner = &tail[1..end];
        let id = inner
            .trim_start_matches(['#', '@', '&', '!'])
            .parse::<u64>()
            .ok();
        match id.and_then(|id| emu.name_of(id)) {
            Some(name) if inner.starts_with('#') => out.push_str(&name),
            Some(name) if inner.starts_with("@&") => out.push_str(&name),
            Some(name) => {
                out.push('@');
                out.push_str(&name);
            }
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}
