//! Due schedules → outbox rows → Discord. Each step is a function that returns what it did,
//! so a test drives it one tick at a time with a fixed `now`; the background loop calls the
//! same functions, waking at the next due time or when a schedule changes.

pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use poise::serenity_prelude as serenity;
use serde::{Deserialize, Serialize};

use crate::discord::Data;
use crate::discord::checkin::{self, Begin, Begun, conversation};
use crate::domain::schedule::CronSpec;
use crate::domain::school::TimeZoneName;
use crate::store::schedules::{self, Firing};
use crate::store::{checkins, members, outbox, schools};

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

pub struct Scheduler {
    data: Data,
    http: Arc<serenity::Http>,
    throttle: tokio::sync::Mutex<throttle::Throttle>,
    /// Names this process in outbox leases.
    owner: String,
}

/// How long a claimed outbox row stays with the process that claimed it.
pub const LEASE: TimeDelta = TimeDelta::minutes(2);

impl Scheduler {
    pub fn new(data: Data, http: Arc<serenity::Http>) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            data,
            http,
            throttle: tokio::sync::Mutex::default(),
            owner: format!("process-{}-{nanos}", std::process::id()),
        }
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
                .map(|occurrence| {
                    people
                        .iter()
                        .filter_map(|person| {
                            let payload = CheckinStart {
                                schedule_id: schedule.id,
                                school_id: schedule.school_id,
                                person_id: *person,
                                flow_id: schedule.flow_id.clone(),
                                occurrence,
                                started_by: crate::store::discord_id(schedule.created_by),
                                nudge_hours: schedule.nudge_hours,
                                step_id: schedule.step_id,
                            };
                            let key = format!("checkin:{}:{}:{person}", schedule.id, occurrence.timestamp());
                            serde_json::to_string(&payload).ok().map(|p| (key, *person, p))
                        })
                        .collect()
                })
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

    /// Delivers the outbox rows ready at `now`. A retried row finds the check-in it started
    /// before (by its key), and each prompt is sent once (its key is recorded, its nonce lets
    /// Discord drop a resend).
    pub async fn deliver(&self, now: DateTime<Utc>) -> anyhow::Result<DeliverOutcome> {
        let mut outcome = DeliverOutcome::default();
        for row in outbox::claim(&self.data.db, now, &self.owner, now + LEASE, BATCH).await? {
            // Each row is one person's DM: wait our turn under Discord's limits.
            let channel = row.person_id.map_or(0, crate::store::discord_id);
            let wait = self
                .throttle
                .lock()
                .await
                .wait(channel, std::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            self.throttle
                .lock()
                .await
                .record(channel, std::time::Instant::now());
            match self.deliver_one(&row, now).await {
                Ok(true) => {
                    outbox::mark_sent(&self.data.db, row.id, now).await?;
                    outcome.sent += 1;
                }
                Ok(false) => {
                    outbox::mark_sent(&self.data.db, row.id, now).await?;
                    outcome.skipped += 1;
                }
                Err(error) => match classify(&error) {
                    Failure::Unreachable => {
                        outbox::mark_unreachable(&self.data.db, &row, &format!("{error:#}"), now)
                            .await?;
                        self.tell_coaches(&row, now).await?;
                        outcome.unreachable += 1;
                    }
                    Failure::Later(wait) if row.attempts < 8 => {
                        let backoff =
                            wait * 2_i32.pow(u32::try_from(row.attempts).unwrap_or(0).min(6));
                        outbox::retry_at(
                            &self.data.db,
                            row.id,
                            &format!("{error:#}"),
                            now + backoff,
                            now,
                        )
                        .await?;
                        outcome.retried += 1;
                    }
                    _ => {
                        tracing::error!(error = format!("{error:#}"), key = %row.key, "giving up on an outbox row");
                        outbox::mark_failed(&self.data.db, row.id, &format!("{error:#}"), now)
                            .await?;
                        outcome.failed += 1;
                    }
                },
            }
        }
        Ok(outcome)
    }

    /// Someone's DMs are closed: their coaches hear about it (once per outbox row).
    async fn tell_coaches(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if row.kind == "notice" {
            return Ok(());
        }
        let school_id = match row.kind.as_str() {
            "checkin_start" => serde_json::from_str::<CheckinStart>(&row.payload)
                .map(|s| s.school_id)
                .ok(),
            _ => match serde_json::from_str::<Nudge>(&row.payload) {
                Ok(nudge) => checkins::get(&self.data.db, nudge.session_id)
                    .await?
                    .map(|s| s.school_id),
                Err(_) => None,
            },
        };
        let (Some(school_id), Some(person)) = (school_id, row.person_id) else {
            return Ok(());
        };
        let server = crate::store::discord_id(row.server_id);
        let name = members::names(&self.data.db, server)
            .await?
            .remove(&crate::store::discord_id(person))
            .unwrap_or_else(|| format!("<@{}>", crate::store::discord_id(person)));
        let text = format!(
            "I could not reach {name} by direct message: their DMs are closed to this server, so their check-ins are not going out. They can allow direct messages from server members in the server's privacy settings."
        );
        outbox::notify_coaches(
            &self.data.db,
            row.server_id,
            school_id,
            &row.key,
            &text,
            now,
        )
        .await?;
        Ok(())
    }

    /// Starts the scheduled check-in and sends its first question; false when skipped.
    async fn deliver_one(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        if row.kind == "nudge" {
            let nudge: Nudge = serde_json::from_str(&row.payload)?;
            return conversation::nudge(&self.http, &self.data, nudge.session_id).await;
        }
        if row.kind == "notice" {
            let notice: Notice = serde_json::from_str(&row.payload)?;
            let person = row
                .person_id
                .map(crate::store::discord_id)
                .ok_or_else(|| anyhow::anyhow!("a notice without a person"))?;
            let channel = serenity::UserId::new(person)
                .create_dm_channel(&self.http)
                .await?;
            let message = serenity::CreateMessage::new()
                .content(crate::domain::text::clip(
                    &notice.text,
                    crate::domain::text::MESSAGE_CONTENT,
                ))
                .nonce(serenity::Nonce::String(crate::domain::text::clip(
                    &format!("o{}", row.id),
                    25,
                )))
                .enforce_nonce(true)
                .allowed_mentions(serenity::CreateAllowedMentions::new());
            channel.id.send_message(&self.http, message).await?;
            return Ok(true);
        }
        let start: CheckinStart = serde_json::from_str(&row.payload)?;
        let server = crate::store::discord_id(row.server_id);
        let Some(school) = schools::get(&self.data.db, server, start.school_id).await? else {
            return Ok(false);
        };
        let Some(flow) = self.data.flows.iter().find(|f| f.id == start.flow_id) else {
            tracing::warn!(flow = %start.flow_id, "a scheduled flow no longer exists");
            return Ok(false);
        };
        let names = members::names(&self.data.db, server).await?;
        let name = names
            .get(&start.person_id)
            .cloned()
            .unwrap_or_else(|| "there".to_owned());
        let begun = checkin::begin(
            &self.data,
            &Begin {
                guild_id: server,
                school: &school,
                person_id: start.person_id,
                person_name: &name,
                flow,
                started_by: start.started_by,
                origin: Some(&row.key),
                nudge_hours: start.nudge_hours,
                only_step: start.step_id,
            },
            now,
        )
        .await?;
        match begun {
            Begun::Started(session, _) => {
                conversation::advance(&self.http, &self.data, session.id).await?;
                Ok(true)
            }
            Begun::Busy(_) | Begun::NothingToAsk => Ok(false),
        }
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

enum Failure {
    /// Discord error 50007: this person's DMs are closed.
    Unreachable,
    /// Worth another try after about this long (429, 5xx, a network error).
    Later(TimeDelta),
    /// Anything else: trying again will not help.
    Permanent,
}

fn classify(error: &anyhow::Error) -> Failure {
    let Some(serenity_error) = error
        .chain()
        .find_map(|e| e.downcast_ref::<serenity::Error>())
    else {
        return Failure::Permanent;
    };
    match serenity_error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            if response.error.code == 50007 {
                Failure::Unreachable
            } else if status == 429 {
                Failure::Later(TimeDelta::seconds(5))
            } else if status >= 500 {
                Failure::Later(TimeDelta::seconds(2))
            } else {
                Failure::Permanent
            }
        }
        serenity::Error::Http(serenity::HttpError::Request(_)) => {
            Failure::Later(TimeDelta::seconds(2))
        }
        _ => Failure::Permanent,
    }
}
