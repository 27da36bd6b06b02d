//! `App`: what a bot process holds (the database, the prompt files, the clock, the per-person
//! conversation locks, the scheduler's wake-up, the one way out to Discord). Tests, the
//! sandbox and `coachbot run` build the same `App`, and the bot and the scheduler of one
//! process share it. Starting a process on it is `process`'s job (the Discord adapter holds
//! an `App`, so the assembly that starts the adapter sits above both).

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::checkin::Engine;
use crate::clock::Clock;
use crate::config::{Sending, Token};
use crate::domain::flow::Flow;
use crate::outbound::Outbound;
use crate::outbox::{Parts, Scheduler};
use crate::store::Db;
use crate::store::frameworks::Frameworks;

/// What every command, event handler and scheduler round of a process reaches. Cheap to
/// clone: every part is shared.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    /// The shipped framework, and each server's own as parsed (kept until it changes).
    pub frameworks: Frameworks,
    /// The check-in engine (its flows, its per-person locks).
    pub checkins: Engine,
    /// The only reader of the time.
    pub clock: Clock,
    /// Wakes the scheduler when a schedule changes or a message is queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Every request the bot makes on its own, paced.
    pub outbound: Arc<Outbound>,
    /// The outbox sender's pace and leases.
    pub sending: Sending,
    /// Each server's role mappings, schools and date order, kept while they stay the same.
    pub settings: crate::store::settings::Settings,
}

impl App {
    /// Loads and checks the prompt files (a broken file is an error, not a later surprise)
    /// and sends to Discord, or to the emulator at `api_url`.
    pub fn load(
        db: Db,
        token: &Token,
        api_url: Option<&str>,
        sending: Sending,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let http = crate::outbound::http_client(token, api_url);
        Self::with_http(db, Arc::new(http), sending, clock)
    }

    /// Like [`App::load`], sending through `http` as it is built (a test's production path:
    /// `outbound::http_client_through`).
    pub fn with_http(
        db: Db,
        http: Arc<serenity::Http>,
        sending: Sending,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let outbound = Arc::new(
            Outbound::new(http, sending.per_second)?.sharing_budget(&db, sending.per_second),
        );
        let wake = Arc::<tokio::sync::Notify>::default();
        let frameworks = Frameworks::new(crate::prompts::default_framework()?);
        Ok(Self {
            checkins: Engine {
                db: db.clone(),
                flows: Arc::new(crate::prompts::flows()?),
                frameworks: frameworks.clone(),
                outbound: outbound.clone(),
                conversations: Arc::default(),
                wake: wake.clone(),
                lease: sending.lease,
                owner: crate::store::outbox::lease_owner().into(),
            },
            db,
            frameworks,
            clock,
            wake,
            outbound,
            sending,
            settings: crate::store::settings::Settings::default(),
        })
    }

    /// The time now, on the process's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The check-in flows.
    pub fn flows(&self) -> &[Flow] {
        &self.checkins.flows
    }

    /// The scheduler and outbox sender of this process.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.scheduler_parts())
    }

    /// A sender that holds the leases written as `owner`'s (an announcement a command queued
    /// already leased, see [`crate::store::outbox::Held`]).
    pub fn scheduler_holding(&self, owner: String) -> Scheduler {
        Scheduler::with_owner(self.scheduler_parts(), owner)
    }

    fn scheduler_parts(&self) -> Parts {
        Parts {
            checkins: self.checkins.clone(),
            clock: self.clock.clone(),
            wake: self.wake.clone(),
            sending: self.sending,
        }
    }
}
