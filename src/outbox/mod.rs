//! Due schedules → outbox rows → Discord. Each step is a function that returns what it did,
//! so a test drives it one tick at a time with a fixed `now`; the background loop calls the
//! same functions, waking at the next due time or when a schedule changes.

mod away;
mod compose;
mod deliver;
mod purge;
mod reminders;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::checkin::Engine;
use crate::clock::Clock;
use crate::config::Sending;
use crate::domain::ids::UserId;
pub use crate::domain::outbox::{
    CheckinStart, DigestDue, InThread, OutboxMessage, Outgoing, SummaryDue,
};
use crate::domain::schedule::CronSpec;
use crate::domain::school::TimeZoneName;
use crate::store::outbox::NewRow;
use crate::store::schedules::{self, Firing, Schedule};
use crate::store::{checkins, outbox};

/// What one scheduling round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickOutcome {
    /// Schedules that fired an occurrence.
    pub fired: usize,
    /// Occurrences recorded as missed (too late to send).
    pub missed: usize,
    /// Outbox rows written.
    pub queued: usize,
    /// Unanswered check-ins given their one nudge.
    pub nudged: usize,
    /// Check-ins that ran out of time (missed).
    pub expired: usize,
    /// Owner reminders queued (a step due soon, or overdue).
    pub reminded: usize,
    /// Scheduled check-ins not sent to someone away or at a school on a break.
    pub skipped: usize,
    /// Rows the day's purge removed (records past their retention), when this round ran it.
    pub purged: usize,
}

/// What one delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliverOutcome {
    pub sent: usize,
    /// The flow had nothing to ask, or what a nudge was for has closed.
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
    pub unreachable: usize,
    /// Digests and summaries composed into messages (sent by a later round).
    pub composed: usize,
    /// Scheduled check-ins waiting for the person's open one: stored (another server's is in
    /// conversation) or kept in the outbox (theirs in this server is still open).
    pub waiting: usize,
    /// Scheduled check-ins that could not start before their deadline, recorded as missed.
    pub missed: usize,
}

/// The outbox rows a schedule's occurrence writes: one per person for a check-in, one for a
/// digest or a summary (composed into messages when delivered, from the data of that moment).
/// A check-in may wait for the person's previous one until `start_by` (the next occurrence).
fn queue(
    schedule: &Schedule,
    people: &[UserId],
    occurrence: DateTime<Utc>,
    start_by: Option<DateTime<Utc>>,
) -> Vec<NewRow> {
    let at = occurrence.timestamp();
    let server = schedule.server_id;
    let row = |key: String, person: Option<UserId>, message: OutboxMessage| {
        NewRow::new(key, server, person, &message, occurrence)
            .inspect_err(|error| {
                tracing::error!(
                    schedule = schedule.id,
                    error = format!("{error:#}"),
                    "could not queue a schedule's message"
                );
            })
            .ok()
    };
    match schedule.kind.as_str() {
        "digest" => {
            let Some(coach) = schedule.person_id else {
                return Vec::new();
            };
            let due = DigestDue {
                schedule_id: schedule.id,
                coach_id: coach,
                time_zone: schedule.time_zone.clone(),
                occurrence,
            };
            row(
                format!("digest:{}:{at}", schedule.id),
                Some(coach),
                OutboxMessage::Digest(due),
            )
            .into_iter()
            .collect()
        }
        "summary" => {
            let Some(channel) = schedule.channel_id.map(crate::store::discord_id) else {
                return Vec::new();
            };
            let due = SummaryDue {
                schedule_id: Some(schedule.id),
                school_id: schedule.school_id,
                channel_id: channel,
                occurrence,
            };
            row(
                format!("summary:{}:{at}", schedule.id),
                None,
                OutboxMessage::Summary(due),
            )
            .into_iter()
            .collect()
        }
        _ => {
            let (Some(school_id), Some(flow_id)) = (schedule.school_id, schedule.flow_id.as_ref())
            else {
                tracing::error!(
                    schedule = schedule.id,
                    "a check-in schedule without a school or flow"
                );
                return Vec::new();
            };
            people
                .iter()
                .filter_map(|person| {
                    let start = CheckinStart {
                        schedule_id: schedule.id,
                        school_id,
                        person_id: *person,
                        flow_id: flow_id.clone(),
                        occurrence,
                        started_by: schedule.created_by,
                        nudge_hours: schedule.nudge_hours,
                        step_id: schedule.step_id,
                        start_by,
                    };
                    row(
                        format!("checkin:{}:{at}:{person}", schedule.id),
                        Some(*person),
                        OutboxMessage::CheckinStart(start),
                    )
                })
                .collect()
        }
    }
}

/// Rows handled per round.
const BATCH: i64 = 50;
/// The loop never sleeps longer than this, so a change it was not told about is seen.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What a scheduler works with.
pub struct Parts {
    /// The check-in engine (and through it the store and the way out to Discord).
    pub checkins: Engine,
    pub clock: Clock,
    /// Woken when a schedule changes or a message is queued.
    pub wake: Arc<tokio::sync::Notify>,
    pub sending: Sending,
}

pub struct Scheduler {
    parts: Parts,
    /// Names this process in outbox leases.
    owner: String,
    /// The last day whose purge this process saw claimed (by itself or another), so that the
    /// rest of the day's rounds do not ask the database again.
    purge_seen: std::sync::Mutex<Option<chrono::NaiveDate>>,
}

impl Scheduler {
    pub fn new(parts: Parts) -> Self {
        Self::with_owner(parts, outbox::lease_owner())
    }

    /// A scheduler whose leases are written as `owner`'s.
    pub fn with_owner(parts: Parts, owner: String) -> Self {
        Self {
            parts,
            owner,
            purge_seen: std::sync::Mutex::new(None),
        }
    }

    /// The lease as a time span on the scheduler's clock.
    pub fn lease(&self) -> TimeDelta {
        self.parts.sending.lease_span()
    }

    /// Fires what is due at `now`: at most one occurrence per schedule (the latest within its
    /// grace window), the rest recorded as missed; outbox rows and the next fire time are
    /// written in the same transaction as the claim. The first round of each UTC day (across
    /// every process) also runs the daily purge.
    #[tracing::instrument(skip_all, fields(owner = %self.owner))]
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<TickOutcome> {
        let absences = self.absences(now).await?;
        let fired = schedules::fire_due(&self.parts.checkins.db, now, BATCH, |schedule, people| {
            let Some(zone) = TimeZoneName::from_stored(&schedule.time_zone).map(TimeZoneName::tz) else {
                tracing::error!(schedule = schedule.id, zone = %schedule.time_zone, "schedule has an unknown time zone; stopping it");
                return Firing::default();
            };
            let today = now.with_timezone(&zone).date_naive();
            let Ok(spec) = CronSpec::parse(&schedule.spec, today) else {
                tracing::error!(schedule = schedule.id, spec = %schedule.spec, "schedule no longer parses; stopping it");
                return Firing::default();
            };
            let Some(first_due) = schedule.next_fire_at else {
                return Firing::default();
            };
            let due = spec.due(zone, first_due, now, TimeDelta::minutes(schedule.grace_minutes));
            let Some(occurrence) = due.fire else {
                return Firing {
                    missed: due.missed,
                    next_fire_at: due.next,
                    ..Firing::default()
                };
            };
            let sorted = away::sort_out(schedule, people, occurrence, zone, &absences);
            Firing {
                fired: due.fire,
                missed: due.missed,
                next_fire_at: due.next,
                outbox: queue(schedule, &sorted.asked, occurrence, due.next),
                skipped_run: sorted.skipped_run,
                skipped: sorted.skipped,
            }
        })
        .await?;
        let expired = checkins::expire_due(&self.parts.checkins.db, now).await?;
        self.start_waiting(&expired, now).await;
        let mut outcome = TickOutcome {
            expired: expired.len(),
            nudged: checkins::nudge_due(&self.parts.checkins.db, now)
                .await?
                .len(),
            ..TickOutcome::default()
        };
        for (_, firing) in &fired {
            outcome.fired += usize::from(firing.fired.is_some());
            outcome.missed += firing.missed.len();
            outcome.queued += firing.outbox.len();
            outcome.skipped += firing.skipped.len();
        }
        outcome.reminded = self.remind(&absences, now).await?;
        // Last, after check-ins that ran out have closed (their drafts gone with them).
        outcome.purged = self.purge(now).await?;
        Ok(outcome)
    }

    /// After check-ins ran out: each person is told (their notice sent now), then their next
    /// waiting check-in starts (its first question
    /// sent), under their lock. One that fails is logged; the next restart's catch-up, or the
    /// person's next DM, starts it.
    async fn start_waiting(&self, expired: &[checkins::Expired], now: DateTime<Utc>) {
        let engine = &self.parts.checkins;
        // The person hears that the old one closed before the next one's first question.
        for closed in expired.iter().filter(|e| e.started) {
            if let Err(error) = self
                .deliver_key(&checkins::expired_key(closed.id), now)
                .await
            {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "the notice of a closed check-in waits in the outbox"
                );
            }
        }
        let people: std::collections::BTreeSet<UserId> =
            expired.iter().map(|e| e.person_id).collect();
        for person in people {
            let started = match engine.turn(person).await {
                Ok(_turn) => crate::checkin::start_waiting(engine, person, now)
                    .await
                    .map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = started {
                tracing::warn!(error = format!("{error:#}"), %person, "could not start a waiting check-in");
            }
        }
    }

    /// The background loop: a round, then sleep until the next due time (or a wake-up).
    pub async fn run(self) {
        loop {
            let now = self.parts.clock.now();
            if let Err(error) = self.tick(now).await {
                tracing::error!(error = format!("{error:#}"), "scheduling round failed");
            }
            if let Err(error) = self.deliver(now).await {
                tracing::error!(error = format!("{error:#}"), "delivery round failed");
            }
            let next = match (
                schedules::next_due(&self.parts.checkins.db).await,
                outbox::next_ready(&self.parts.checkins.db).await,
            ) {
                (Ok(a), Ok(b)) => a.into_iter().chain(b).min(),
                _ => None,
            };
            let sleep = next
                .map(|at| {
                    (at - self.parts.clock.now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                })
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.parts.wake.notified() => {}
            }
        }
    }
}
