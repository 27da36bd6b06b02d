//! Problems a test harness should hear about at once: a request that breaks Discord's API,
//! an error the emulator answered with (any 4xx, an unhandled route, a gateway close for a
//! fault of the bot). A harness subscribes with `Emulator::subscribe_problems`, or drains
//! them with `Emulator::take_problems`; `Emulator::expect_error` marks one as expected.

use std::sync::Mutex;

use tokio::sync::broadcast;

/// What kind of problem a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The request breaks Discord's published API (the OpenAPI document or a bot limit).
    Violation,
    /// The emulator answered with a 4xx, as Discord would have.
    ErrorAnswer,
    /// No handler for the route: the emulator does not know what Discord would answer.
    Unhandled,
    /// The emulator closed the gateway connection for a fault of the bot.
    GatewayClose,
}

/// One problem, with enough context to fail a test with a useful message.
#[derive(Clone, Debug)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The recorded call it came from (`Emulator::calls()[index]`), for REST problems.
    pub call: Option<usize>,
    /// `METHOD /path` for REST problems, `gateway` for the gateway.
    pub request: String,
    /// HTTP status, or the gateway close code.
    pub status: u16,
    /// Discord's JSON error code, when the answer carries one.
    pub code: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} on {}: {}", self.kind, self.request, self.status)?;
        if let Some(code) = self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// An error a test said it expects: matched by Discord's code or, when `code` is `None`, by
/// status; used up after `times` matches.
#[derive(Clone, Debug)]
struct Expectation {
    code: Option<u64>,
    status: Option<u16>,
    times: u32,
}

impl Expectation {
    fn matches(&self, problem: &Problem) -> bool {
        problem.kind != ProblemKind::Violation
            && self.code.is_none_or(|c| problem.code == Some(c))
            && self.status.is_none_or(|s| problem.status == s)
    }
}

pub(crate) struct Problems {
    tx: broadcast::Sender<Problem>,
    unexpected: Mutex<Vec<Problem>>,
    expected: Mutex<Vec<Expectation>>,
}

impl Default for Problems {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
            unexpected: Mutex::new(Vec::new()),
            expected: Mutex::new(Vec::new()),
        }
    }
}

impl Problems {
    /// Reports a problem unless a test expected it.
    pub fn report(&self, problem: Problem) {
        {
            let mut expected = super::lock(&self.expected);
            if let Some(position) = expected.iter().position(|e| e.matches(&problem)) {
                if expected[position].times <= 1 {
                    expected.remove(position);
                } else {
                    expected[position].times -= 1;
                }
                return;
            }
        }
        tracing::warn!(%problem, "emulator: problem");
        super::lock(&self.unexpected).push(problem.clone());
        // Nobody listening is fine: `take` still has it.
        let _ = self.tx.send(problem);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Problem> {
        self.tx.subscribe()
    }

    pub fn take(&self) -> Vec<Problem> {
        std::mem::take(&mut *super::lock(&self.unexpected))
    }

    pub fn expect(&self, code: Option<u64>, status: Option<u16>, times: u32) {
        super::lock(&self.expected).push(Expectation {
            code,
            status,
            times,
        });
    }
}
