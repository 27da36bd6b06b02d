//! What the prompt shows after something typed: it waits for the bot to answer and go
//! quiet, then renders the calls it made, once each, saving the files it attached.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::{Sandbox, render};
use crate::emulator::{Attachment, RecordedCall};

/// How long to wait for the bot's first answer to something typed.
const FIRST_ANSWER: Duration = Duration::from_secs(5);
/// Quiet time after which the bot is taken to have finished answering.
const SETTLE: Duration = Duration::from_millis(300);

/// Channel messages remembered as shown: more than Discord's window for dropping a repeated
/// send (a few minutes) holds at any pace the prompt is typed at.
pub(super) const SHOWN_KEPT: usize = 256;

impl Sandbox {
    /// Waits for the bot to answer and go quiet, then renders what it sent (remembering a form
    /// it opened, for `form`).
    pub(super) async fn answers_since(&mut self, mark: usize) -> String {
        let channel = self.channel;
        self.answers_in(mark, channel).await
    }

    /// Like [`Self::answers_since`], for an interaction in `channel`.
    pub(super) async fn answers_in(&mut self, mark: usize, channel: u64) -> String {
        if self
            .emu
            .wait_for_call(mark, FIRST_ANSWER, |_| true)
            .await
            .is_none()
        {
            return "(no reply)".to_owned();
        }
        self.settle().await;
        // A deferred answer (a summary drawing its chart) comes later: wait for it.
        let deferred = self.emu.calls_since(mark).iter().any(|c| {
            c.path.ends_with("/callback")
                && c.body.as_ref().and_then(|b| b["type"].as_u64()) == Some(5)
        });
        if deferred
            && !self
                .emu
                .calls_since(mark)
                .iter()
                .any(|c| c.path.starts_with("/webhooks/"))
        {
            let _ = self
                .emu
                .wait_for_call(mark, FIRST_ANSWER, |c| c.path.starts_with("/webhooks/"))
                .await;
            self.settle().await;
        }
        let calls = self.emu.calls_since(mark);
        for call in &calls {
            let body = call.body.as_ref();
            if call.path.ends_with("/callback")
                && body.and_then(|b| b["type"].as_u64()) == Some(9)
                && let Some(id) = body.and_then(|b| b["data"]["custom_id"].as_str())
            {
                self.form = Some((id.to_owned(), channel));
            }
        }
        let mut shown = Vec::new();
        for call in &calls {
            if self.shown_before(call) {
                continue;
            }
            let Some(mut text) = render::call(&self.emu, call) else {
                continue;
            };
            for file in &call.attachments {
                text.push_str("\n  ");
                text.push_str(&match self.save(file) {
                    Ok(path) => format!("saved to {}", path.display()),
                    Err(error) => format!("could not save it: {error:#}"),
                });
            }
            shown.push(text);
        }
        if shown.is_empty() {
            "(no reply)".to_owned()
        } else {
            shown.join("\n")
        }
    }

    /// Waits until the bot has made no call for [`SETTLE`].
    async fn settle(&self) {
        let mut seen = self.emu.call_count();
        while self
            .emu
            .wait_for_call(seen, SETTLE, |_| true)
            .await
            .is_some()
        {
            seen = self.emu.call_count();
        }
    }

    /// Whether `call` posted a channel message the prompt has shown already: a send Discord
    /// dropped as a repeat (the same nonce with `enforce_nonce`, as when a command's own
    /// delivery and a round after `clock +1m` both tried it) is answered with the message
    /// sent first, and the channel holds it once. Remembers the message as shown otherwise.
    fn shown_before(&mut self, call: &RecordedCall) -> bool {
        let posted = call.method == "POST"
            && call.status < 400
            && call.path.starts_with("/channels/")
            && call.path.ends_with("/messages");
        let Some(id) = posted
            .then(|| {
                call.response
                    .as_ref()?
                    .get("id")?
                    .as_str()?
                    .parse::<u64>()
                    .ok()
            })
            .flatten()
        else {
            return false;
        };
        if self.shown.contains(&id) {
            return true;
        }
        if self.shown.len() == SHOWN_KEPT {
            self.shown.pop_front();
        }
        self.shown.push_back(id);
        false
    }

    /// Saves a file the bot attached under the sandbox's files folder (replacing one of the
    /// same name), readable by its owner only, and returns its path.
    fn save(&self, file: &Attachment) -> anyhow::Result<std::path::PathBuf> {
        let name = file
            .filename
            .as_deref()
            .and_then(|n| Path::new(n).file_name())
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        std::fs::create_dir_all(&self.files)
            .with_context(|| format!("creating {}", self.files.display()))?;
        let path = self.files.join(name);
        crate::owner_only::write(&path, &file.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}
