//! The check-in engine: starting a check-in, the conversation in DM (answers, barrier
//! categories, corrections, the reflection, Confirm, skipping, nudges, catch-up after a
//! restart), follow-ups, and the per-person locks under which a person's turns (DMs, clicks,
//! forms, catch-up, a scheduled start) are taken one at a time. It takes `now` from its
//! caller and knows nothing of the Discord adapter: it says what to send as data.

mod begin;
pub mod conversation;
pub mod followup;
pub mod prompt;
pub mod turns;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::domain::flow::Flow;
use crate::outbound::Outbound;
use crate::store::Db;
use crate::store::person_lock::{PersonLock, PersonLocks};

use crate::domain::ids::UserId;
pub use begin::{Begin, Begun, NUDGE_HOURS, OPEN_FOR_DAYS, Opened, begin, open, waits};
pub use conversation::{
    Dm, advance, advance_leased_from, catch_up, member_dm, nudge, on_dm, send_prompt, start_waiting,
};

/// What the engine works with: the store, the flows, the way out to Discord, and the locks
/// under which each person's turns are taken. Cheap to clone; a process holds one.
#[derive(Clone)]
pub struct Engine {
    pub db: Db,
    /// The check-in flows from `prompts/checkins`, checked at start-up.
    pub flows: Arc<Vec<Flow>>,
    /// The frameworks servers use (for indicator names in questions).
    pub frameworks: crate::store::frameworks::Frameworks,
    pub outbound: Arc<Outbound>,
    /// One lock per person for their check-in conversation.
    pub conversations: Arc<Conversations>,
    /// Wakes the scheduler when a follow-up is saved.
    pub wake: Arc<tokio::sync::Notify>,
    /// How long a prompt row being sent at once stays with this process; past it (a crash in
    /// the middle of the send), the outbox takes the row over. The outbox's own lease.
    pub lease: std::time::Duration,
    /// Names this engine in the leases of the prompt rows it sends at once (renewed with the
    /// scheduler's while a round of the same process works).
    pub owner: Arc<str>,
}

/// One lock per person: their DMs, clicks and catch-up are handled one at a time. DMs that
/// arrive while a turn is under way wait here, and are taken in the order the person sent
/// them (by message id), whichever handler gets the lock first. On PostgreSQL a turn also
/// holds the person's lock across processes ([`crate::store::person_lock`]), so a worker starting a
/// scheduled check-in and the gateway process handling the person's DM take turns too.
#[derive(Default)]
pub struct Conversations {
    locks: Mutex<HashMap<UserId, Arc<tokio::sync::Mutex<()>>>>,
    waiting: Mutex<HashMap<UserId, BTreeMap<u64, Waiting>>>,
    /// The cross-process locks, made from the engine's database at the first turn.
    shared: std::sync::OnceLock<Option<PersonLocks>>,
}

/// A person's turn: while it is held, no other turn of theirs runs in this process or, on
/// PostgreSQL, in any other process on the same database. Released when dropped.
pub struct Turn {
    // Dropped in this order: the shared lock first, then this process's.
    _shared: Option<PersonLock>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl Engine {
    /// Waits for `person`'s turn (this process's first, then, on PostgreSQL, every
    /// process's) and holds it until the returned [`Turn`] is dropped.
    pub async fn turn(&self, person: UserId) -> anyhow::Result<Turn> {
        let local = self.conversations.lock_for(person).lock_owned().await;
        let shared = match self
            .conversations
            .shared
            .get_or_init(|| PersonLocks::for_db(&self.db))
        {
            Some(locks) => Some(locks.hold(person).await?),
            None => None,
        };
        Ok(Turn {
            _shared: shared,
            _local: local,
        })
    }
}

/// A DM waiting for its turn.
#[derive(Clone, Debug)]
pub(crate) struct Waiting {
    pub channel: u64,
    pub text: String,
}

impl Conversations {
    /// This process's lock for `person`'s turns (take turns with [`Engine::turn`]).
    fn lock_for(&self, person: UserId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(person).or_default().clone()
    }

    /// Puts a DM in line for its person.
    pub(crate) fn hold(&self, person: UserId, message_id: u64, waiting: Waiting) {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(person).or_default().insert(message_id, waiting);
    }

    /// Every DM of `person` in line, oldest first (call with their lock held).
    pub(crate) fn take(&self, person: UserId) -> Vec<(u64, Waiting)> {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        all.remove(&person)
            .map(|line| line.into_iter().collect())
            .unwrap_or_default()
    }
}
