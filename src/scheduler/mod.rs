//! Due schedules → outbox rows → Discord. Each step is a function that returns what it did,
//! so a test drives it one tick at a time with a fixed `now`; the background loop calls the
//! same functions, waking at the next due time or when a schedule changes.

mod compose;

pub use compose::{build_digest, build_summary};
mod deliver;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use poise::serenity_prelude as serenity;
use serde::{Deserialize, Serialize};

use crate::discord::Data;
use crate::domain::schedule::CronSpec;
use crate::domain::school::TimeZoneName;
use crate::store::schedules::{self, Firing, Queued, Schedule};
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
}

/// What one delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliverOutcome {
    pub sent: usize,
    /// The person was already in a check-in, or the flow had nothing to ask.
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
    pub unreachable: usize,
    /// Digests and summaries composed into messages (sent by a later round).
    pub composed: usize,
}

/// A scheduled check-in waiting in the outbox.
#[derive(Debug, Serialize, Deserialize)]
struct CheckinStart {
    schedule_id: i64,
    school_id: i64,
    person_id: u64,
    flow_id: String,
    occurrence: DateTime<Utc>,
    /// Who set the schedule up: recorded as who started the check-in.
    started_by: u64,
    nudge_hours: i64,
    /// For a follow-up: the step it comes back to.
    #[serde(default)]
    step_id: Option<i64>,
}

/// A coach's digest waiting in the outbox, to be composed when it is delivered.
#[derive(Debug, Serialize, Deserialize)]
struct DigestDue {
    schedule_id: i64,
    coach_id: u64,
    time_zone: String,
    occurrence: DateTime<Utc>,
}

/// An indicator summary waiting in the outbox, to be composed when it is delivered.
#[derive(Debug, Serialize, Deserialize)]
pub struct SummaryDue {
    /// The schedule that fired it; None when someone asked with `/summary post`.
    pub schedule_id: Option<i64>,
    pub school_id: Option<i64>,
    pub channel_id: u64,
    pub occurrence: DateTime<Utc>,
}

/// The outbox rows a schedule's occurrence writes: one per person for a check-in, one for a
/// digest or a summary (composed into messages when delivered, from the data of that moment).
fn queue(schedule: &Schedule, people: &[u64], occurrence: DateTime<Utc>) -> Vec<Queued> {
    let at = occurrence.timestamp();
    match schedule.kind.as_str() {
        "digest" => {
            let Some(coach) = schedule.person_id.map(crate::store::discord_id) else {
                return Vec::new();
            };
            let payload = DigestDue {
                schedule_id: schedule.id,
                coach_id: coach,
                time_zone: schedule.time_zone.clone(),
                occurrence,
            };
            serde_json::to_string(&payload)
                .ok()
                .map(|payload| Queued {
                    key: format!("digest:{}:{at}", schedule.id),
                    kind: "digest",
                    person: Some(coach),
                    payload,
                })
                .into_iter()
                .collect()
        }
        "summary" => {
            let Some(channel) = schedule.channel_id.map(crate::store::discord_id) else {
                return Vec::new();
            };
            let payload = SummaryDue {
                schedule_id: Some(schedule.id),
                school_id: schedule.school_id,
                channel_id: channel,
                occurrence,
            };
            serde_json::to_string(&payload)
                .ok()
                .map(|payload| Queued {
                    key: format!("summary:{}:{at}", schedule.id),
                    kind: "summary",
                    person: None,
                    payload,
                })
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
                    let payload = CheckinStart {
                        schedule_id: schedule.id,
                        school_id,
                        person_id: *person,
                        flow_id: flow_id.clone(),
                        occurrence,
                        started_by: crate::store::discord_id(schedule.created_by),
                        nudge_hours: schedule.nudge_hours,
                        step_id: schedule.step_id,
                    };
                    serde_json::to_string(&payload).ok().map(|payload| Queued {
                        key: format!("checkin:{}:{at}:{person}", schedule.id),
                        kind: "checkin_start",
                        person: Some(*person),
                        payload,
                    })
                })
                .collect()
        }
    }
}

/// A notice to a coach waiting in the outbox.
#[derive(Debug, Deserialize)]
struct Notice {
    text: String,
}

/// A nudge waiting in the outbox.
#[derive(Debug, Deserialize)]
struct Nudge {
    session_id: i64,
}

/// Rows handled per round.
const BATCH: i64 = 50;
/// The loop never sleeps longer than this, so a change it was not told about is seen.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How the outbox sender behaves; `Default` is what production uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long a claimed outbox row stays with this process without a heartbeat. A process
    /// renews its leases every third of this while it works; a dead one's rows are taken over
    /// when it runs out.
    pub lease: Duration,
    /// Requests a second this process allows itself overall (Discord allows 50).
    pub per_second: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: LEASE,
            per_second: throttle::GLOBAL_PER_SECOND,
        }
    }
}

/// How long a claimed outbox row stays with the process that claimed it, by default.
pub const LEASE: Duration = Duration::from_secs(30);

pub struct Scheduler {
    data: Data,
    http: Arc<serenity::Http>,
    throttle: tokio::sync::Mutex<throttle::Throttle>,
    settings: Settings,
    /// Names this process in outbox leases.
    owner: String,
}

impl Scheduler {
    pub fn new(data: Data, http: Arc<serenity::Http>) -> Self {
        Self::with_settings(data, http, Settings::default())
    }

    pub fn with_settings(data: Data, http: Arc<serenity::Http>, settings: Settings) -> Self {
        static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let nth = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            data,
            http,
            throttle: tokio::sync::Mutex::new(throttle::Throttle::new(settings.per_second)),
            settings,
            owner: format!("process-{}-{nanos}-{nth}", std::process::id()),
        }
    }

    /// The lease as a time span on the scheduler's clock.
    pub fn lease(&self) -> TimeDelta {
        TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::seconds(30))
    }

    /// Fires what is due at `now`: at most one occurrence per schedule (the latest within its
    /// grace window), the rest recorded as missed; outbox rows and the next fire time are
    /// written in the same transaction as the claim.
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<TickOutcome> {
        let fired = schedules::fire_due(&self.data.db, now, BATCH, |schedule, people| {
            let Ok(zone) = TimeZoneName::parse(&schedule.time_zone).map(TimeZoneName::tz) else {
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
            let outbox = due
                .fire
                .map(|occurrence| queue(schedule, people, occurrence))
                .unwrap_or_default();
            Firing {
                fired: due.fire,
                missed: due.missed,
                next_fire_at: due.next,
                outbox,
            }
        })
        .await?;
        let mut outcome = TickOutcome {
            expired: usize::try_from(checkins::expire_due(&self.data.db, now).await?)
                .unwrap_or(usize::MAX),
            nudged: checkins::nudge_due(&self.data.db, now).await?.len(),
            ..TickOutcome::default()
        };
        for (_, firing) in &fired {
            outcome.fired += usize::from(firing.fired.is_some());
            outcome.missed += firing.missed.len();
            outcome.queued += firing.outbox.len();
        }
        Ok(outcome)
    }

    /// The background loop: a round, then sleep until the next due time (or a wake-up).
    pub async fn run(self) {
        loop {
            let now = Utc::now();
            if let Err(error) = self.tick(now).await {
                tracing::error!(error = format!("{error:#}"), "scheduling round failed");
            }
            if let Err(error) = self.deliver(now).await {
                tracing::error!(error = format!("{error:#}"), "delivery round failed");
            }
            let next = match (
                schedules::next_due(&self.data.db).await,
                outbox::next_ready(&self.data.db).await,
            ) {
                (Ok(a), Ok(b)) => a.into_iter().chain(b).min(),
                _ => None,
            };
            let sleep = next
                .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.data.wake.notified() => {}
            }
        }
    }
}
