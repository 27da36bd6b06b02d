//! The record of every REST call the bot made, with helpers to wait for one.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

/// A file sent as a multipart part.
#[derive(Clone, Debug)]
pub struct Attachment {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// One REST request the bot sent and how the emulator answered it.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// Position in the record, from 0.
    pub index: usize,
    pub method: String,
    /// Path after `/api/v10`, e.g. `/channels/12/messages`.
    pub path: String,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub body: Option<Value>,
    pub attachments: Vec<Attachment>,
    pub status: u16,
    /// The JSON the emulator answered with, if any.
    pub response: Option<Value>,
    /// The spec's template for the path, when the spec is loaded and knows it.
    pub route: Option<String>,
    /// Ways the request breaks Discord's published API.
    pub violations: Vec<String>,
    /// True when the emulator has no handler for the route.
    pub unhandled: bool,
    /// When the emulator answered.
    pub at: std::time::Instant,
}

impl RecordedCall {
    /// The message text the call carries (`content`, or `data.content` for callbacks).
    pub fn content(&self) -> Option<&str> {
        let body = self.body.as_ref()?;
        body.get("content")
            .or_else(|| body.pointer("/data/content"))
            .and_then(Value::as_str)
    }

    /// The message payload: the body itself, or `data` for interaction callbacks.
    pub fn message(&self) -> Option<&Value> {
        let body = self.body.as_ref()?;
        if self.path.starts_with("/interactions/") {
            body.get("data")
        } else {
            Some(body)
        }
    }
}

/// Append-only call log that wakes waiters on every new call.
pub struct Recorder {
    calls: Mutex<Vec<RecordedCall>>,
    changed: watch::Sender<usize>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        }
    }
}

impl Recorder {
    pub fn push(&self, mut call: RecordedCall) -> usize {
        let len = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            call.index = calls.len();
            calls.push(call);
            calls.len()
        };
        self.changed.send_replace(len);
        len - 1
    }

    pub fn all(&self) -> Vec<RecordedCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn len(&self) -> usize {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls from position `from` on.
    pub fn since(&self, from: usize) -> Vec<RecordedCall> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Waits until a call from position `from` on satisfies `pred`; returns it, or `None` after
    /// `timeout`.
    pub async fn wait_for(
        &self,
        from: usize,
        timeout: Duration,
        mut pred: impl FnMut(&RecordedCall) -> bool,
    ) -> Option<RecordedCall> {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = from;
        loop {
            for call in self.since(seen) {
                seen = call.index + 1;
                if pred(&call) {
                    return Some(call);
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return None,
            }
        }
    }
}
