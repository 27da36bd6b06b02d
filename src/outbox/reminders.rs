//! Owner reminders: each owner of an open step gets one DM two days before its due date and
//! one when it becomes overdue, from 08:00 in the school's zone. Each is an outbox row under
//! its own key (step, owner, kind), so it goes once across restarts and processes. A morning
//! when the owner is away or the school on a break queues nothing; a later morning in the
//! same window still can, and a window that passes entirely while away sends nothing.

use chrono::{DateTime, TimeDelta, Utc};

use super::deliver::Delivered;
use super::{OutboxMessage, Scheduler};
use crate::domain::calendar::{
    Absences, OVERDUE_WINDOW_DAYS, REMIND_DAYS_BEFORE, ReminderKind, reminder_due, reminder_key,
    reminder_text,
};
use crate::domain::ids::StepId;
use crate::domain::message::Prompt;
use crate::domain::school::TimeZoneName;
use crate::outbound::nonce_for;
use crate::store::outbox::{NewRow, OutboxRow};
use crate::store::{away, calendar, reminders, schools, steps};

impl Scheduler {
    /// Queues the reminders due at `now`; how many were new.
    pub(super) async fn remind(
        &self,
        absences: &Absences,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let db = &self.parts.checkins.db;
        let today = now.date_naive();
        // Every zone's local date is within a day of UTC's.
        let from = today - TimeDelta::days(OVERDUE_WINDOW_DAYS + 1);
        let to = today + TimeDelta::days(REMIND_DAYS_BEFORE + 1);
        let mut rows = Vec::new();
        for candidate in reminders::candidates(db, from, to).await? {
            let Ok(zone) = TimeZoneName::parse(&candidate.time_zone).map(TimeZoneName::tz) else {
                continue;
            };
            let local = now.with_timezone(&zone).naive_local();
            let Some(kind) = reminder_due(candidate.due_on, local) else {
                continue;
            };
            let queued = match kind {
                ReminderKind::DueSoon => candidate.soon_queued,
                ReminderKind::Overdue => candidate.overdue_queued,
            };
            if queued {
                continue;
            }
            let date = local.date();
            if absences
                .skip(
                    candidate.server_id,
                    Some(candidate.school_id),
                    candidate.owner,
                    date,
                )
                .is_some()
            {
                continue;
            }
            let message = OutboxMessage::Reminder {
                step_id: candidate.step_id,
                text: reminder_text(
                    kind,
                    candidate.step_id,
                    &candidate.title,
                    &candidate.school_name,
                    candidate.due_on,
                ),
            };
            rows.push(NewRow::new(
                reminder_key(candidate.step_id, candidate.owner, kind),
                candidate.server_id,
                Some(candidate.owner),
                &message,
                now,
            )?);
        }
        // Another process may queue the same ones meanwhile: each key is written once.
        reminders::queue(db, &rows, now).await
    }

    /// Sends a reminder, unless since it was queued the step closed, the person stopped owning
    /// it, switched reminders off, or is away (or the school on a break) today.
    pub(super) async fn send_reminder(
        &self,
        row: &OutboxRow,
        step_id: StepId,
        text: &str,
        channel: u64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let db = &self.parts.checkins.db;
        let Some(person) = row.person_id else {
            return Ok(Delivered::Skipped);
        };
        let server = row.server_id;
        let Some(step) = steps::get(db, server, step_id).await? else {
            return Ok(Delivered::Skipped);
        };
        let owns = steps::owners(db, step.id).await?.contains(&person);
        if !step.status.is_open() || !owns || reminders::is_off(db, server, person).await? {
            tracing::info!(key = %row.key, "the reminder is no longer wanted: nothing is sent");
            return Ok(Delivered::Skipped);
        }
        if let Some(school) = schools::get(db, server, step.school_id).await? {
            let today = now.with_timezone(&school.zone()).date_naive();
            if away::is_away(db, server, person, today).await?
                || calendar::break_covering(db, server, school.id, today)
                    .await?
                    .is_some()
            {
                tracing::info!(key = %row.key, "the owner is away or the school on a break: the reminder is not sent");
                return Ok(Delivered::Skipped);
            }
        }
        let sent = self
            .parts
            .checkins
            .outbound
            .post_prompt(channel, &Prompt::text(text), Some(&nonce_for(&row.key)))
            .await?;
        Ok(Delivered::Sent(Some(sent)))
    }
}
