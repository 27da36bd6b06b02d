//! The record of the REST calls the bot made (every one, or the most recent when bounded), with
//! a way to wait for one.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

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

/// The call log: every call by default, or the most recent `limit` (a sandbox or a long
/// benchmark keeps constant memory). A call's `index` counts every call ever recorded, so a
/// mark taken with [`Recorder::len`] stays valid when older calls are let go.
pub struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The calls held, oldest first; the front's index is `total - calls.len()`.
    calls: VecDeque<RecordedCall>,
    /// Calls recorded in all.
    total: usize,
    /// Calls held at most; `None` keeps every call.
    limit: Option<usize>,
    /// Tests waiting for a call: each is woken only by a call its predicate accepts.
    waiters: Vec<Waiter>,
}

type Predicate = Box<dyn FnMut(&RecordedCall) -> bool + Send>;

struct Waiter {
    from: usize,
    accepts: Predicate,
    wake: oneshot::Sender<RecordedCall>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl Recorder {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps at most `limit` calls from now on (`None`: every call).
    pub fn set_limit(&self, limit: Option<usize>) {
        let mut inner = self.inner();
        inner.limit = limit;
        inner.trim();
    }

    /// Records a call and hands it to the waiters whose predicate accepts it; its index.
    pub fn push(&self, mut call: RecordedCall) -> usize {
        let mut inner = self.inner();
        let index = inner.total;
        call.index = index;
        inner.total += 1;
        for mut waiter in std::mem::take(&mut inner.waiters) {
            if waiter.wake.is_closed() {
                continue;
            }
            if index >= waiter.from && (waiter.accepts)(&call) {
                let _ = waiter.wake.send(call.clone());
            } else {
                inner.waiters.push(waiter);
            }
        }
        inner.calls.push_back(call);
        inner.trim();
        index
    }

    /// The calls held, oldest first.
    pub fn all(&self) -> Vec<RecordedCall> {
        self.inner().calls.iter().cloned().collect()
    }

    /// How many calls have been recorded in all (held or let go): the next call's index.
    pub fn len(&self) -> usize {
        self.inner().total
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The held calls from position `from` on.
    pub fn since(&self, from: usize) -> Vec<RecordedCall> {
        self.inner().since(from).cloned().collect()
    }

    /// Waits until a call from position `from` on satisfies `pred`; returns it, or `None` after
    /// `timeout`. Only a call `pred` accepts wakes the waiter.
    pub async fn wait_for(
        &self,
        from: usize,
        timeout: Duration,
        mut pred: impl FnMut(&RecordedCall) -> bool + Send + 'static,
    ) -> Option<RecordedCall> {
        let woken = {
            let mut inner = self.inner();
            if let Some(call) = inner.since(from).find(|c| pred(c)) {
                return Some(call.clone());
            }
            let (wake, woken) = oneshot::channel();
            inner.waiters.push(Waiter {
                from,
                accepts: Box::new(pred),
                wake,
            });
            woken
        };
        tokio::time::timeout(timeout, woken).await.ok()?.ok()
    }
}

impl Inner {
    fn since(&self, from: usize) -> impl Iterator<Item = &RecordedCall> {
        let first = self.total - self.calls.len();
        self.calls.iter().skip(from.saturating_sub(first))
    }

    fn trim(&mut self) {
        if let Some(limit) = self.limit {
            while self.calls.len() > limit {
                self.calls.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str) -> RecordedCall {
        RecordedCall {
            index: 0,
            method: "POST".to_owned(),
            path: path.to_owned(),
            body: None,
            attachments: Vec::new(),
            status: 200,
            response: None,
            route: None,
            violations: Vec::new(),
            unhandled: false,
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn a_limited_record_keeps_the_newest_calls_and_their_indexes() {
        let recorder = Recorder::default();
        recorder.set_limit(Some(3));
        for n in 0..10 {
            recorder.push(call(&format!("/c/{n}")));
        }
        assert_eq!(recorder.len(), 10, "every call is counted");
        let held: Vec<(usize, String)> = recorder
            .all()
            .into_iter()
            .map(|c| (c.index, c.path))
            .collect();
        assert_eq!(
            held,
            [
                (7, "/c/7".to_owned()),
                (8, "/c/8".to_owned()),
                (9, "/c/9".to_owned())
            ]
        );
        assert_eq!(
            recorder.since(8).len(),
            2,
            "a mark still points at the same call"
        );
        assert_eq!(recorder.since(2).len(), 3, "calls let go are not returned");
        assert!(recorder.since(10).is_empty());
    }

    #[tokio::test]
    async fn a_waiter_is_woken_only_by_a_call_it_accepts() {
        let recorder = std::sync::Arc::new(Recorder::default());
        recorder.push(call("/before"));
        let waiting = {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                recorder
                    .wait_for(1, Duration::from_secs(10), |c| c.path == "/wanted")
                    .await
            })
        };
        tokio::task::yield_now().await;
        // The waiter registers before these arrive (or finds them when it looks).
        recorder.push(call("/other"));
        recorder.push(call("/wanted"));
        let found = waiting.await.expect("joined").expect("woken by its call");
        assert_eq!((found.index, found.path.as_str()), (2, "/wanted"));
        assert!(
            recorder.inner().waiters.is_empty(),
            "a woken waiter is let go"
        );
        let missed = recorder
            .wait_for(0, Duration::from_millis(20), |c| c.path == "/never")
            .await;
        assert!(missed.is_none());
        recorder.push(call("/later"));
        assert!(
            recorder.inner().waiters.is_empty(),
            "a waiter that gave up is dropped at the next call"
        );
    }
}
