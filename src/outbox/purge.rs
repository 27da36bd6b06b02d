//! The daily purge: once per UTC day across every process (the process that claims the day runs
//! it), each server's records past their retention are deleted in batches, and each kind's count
//! is recorded in the server's audit.
//!
//! Deleting sent outbox rows never makes anything go twice. An outbox row's key is what keeps a
//! message from being queued again, so a key may only go once nothing can ask for it again:
//! - A schedule's occurrence (`checkin:`, `digest:`, `summary:` keys) is queued only while it is
//!   within its schedule's grace window (two hours; `CronSpec::due` fires nothing older, whatever
//!   `next_fire_at` says), and the row's occurrence is never later than the row's creation. A row
//!   the purge deletes was created before the cut-off, at least a day ago (the shortest retention): its occurrence
//!   is far outside the window, unreachable. (`tests/e2e/retention.rs` rewinds a schedule over
//!   a purged occurrence and shows nothing is queued.)
//! - Nudges, expiry notices, check-in prompts, announcements and feed posts are queued once, by
//!   the change that made them (a session marked nudged or expired, an interaction), never by
//!   looking for the row.
//! - Reminders are the exception: each morning of a reminder's window the scheduler asks whether
//!   its key exists. Their rows are kept [`REMINDER_KEYS_KEPT`] whatever the setting, longer
//!   than any window.
//! - A check-in's prompt rows are read again while it is open; they stay while the person has
//!   a check-in open (`store::purge`).

use chrono::{DateTime, TimeDelta, Utc};

use super::Scheduler;
use crate::domain::calendar::{OVERDUE_WINDOW_DAYS, REMIND_DAYS_BEFORE};
use crate::domain::ids::ServerId;
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia, PurgeKind, Retention, purge_day};
use crate::store::{audit, purge, retention};

/// Rows deleted per transaction.
const BATCH: i64 = 500;

/// How long a reminder's row is kept after it was queued: its whole window (due soon from two
/// days before the due date, overdue until seven days after), and a day for the time zones.
pub const REMINDER_KEYS_KEPT: TimeDelta =
    TimeDelta::days(REMIND_DAYS_BEFORE + OVERDUE_WINDOW_DAYS + 1);

impl Scheduler {
    /// Runs the day's purge if no process has yet (today in UTC); how many rows went (0 when
    /// another process has the day). The database is asked once a day per process; the purge
    /// runs inside the round, so the day's first round takes as long as the purge (batches
    /// keep every transaction short). A server whose purge fails is logged and the others go
    /// on; the first error is returned after them.
    pub(super) async fn purge(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let db = &self.parts.checkins.db;
        let day = purge_day(now);
        let seen = || self.purge_seen.lock().unwrap_or_else(|e| e.into_inner());
        if *seen() == Some(day) {
            return Ok(0);
        }
        let claimed = retention::claim_purge_day(db, day, now).await?;
        // Claimed here or elsewhere, the day is taken: later rounds today need not ask.
        *seen() = Some(day);
        if !claimed {
            return Ok(0);
        }
        let mut removed = 0;
        let mut first_error = None;
        for (server, kept) in retention::all(db).await? {
            match self.purge_server(server, kept, now).await {
                Ok(count) => removed += count,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), %server, "a server's purge failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        retention::finish_purge_day(db, day, now).await?;
        if removed > 0 {
            tracing::info!(removed, %day, "the daily purge removed records past their retention");
        }
        Ok(removed)
    }

    /// One server's purge: each kind in batches, then one audit entry per kind that removed
    /// rows (a purge that found nothing is not recorded: the audit lists what was removed).
    async fn purge_server(
        &self,
        server: ServerId,
        kept: Retention,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let db = &self.parts.checkins.db;
        let mut total = 0;
        for kind in PurgeKind::ALL {
            let before = kept.cutoff(kind, now);
            let mut removed: u64 = 0;
            loop {
                let batch = match kind {
                    PurgeKind::Answers => purge::answers(db, server, before, now, BATCH).await?,
                    PurgeKind::Outbox => {
                        let reminders_before = before.min(now - REMINDER_KEYS_KEPT);
                        purge::outbox(db, server, before, reminders_before, BATCH).await?
                    }
                    PurgeKind::ScheduleRuns => {
                        purge::schedule_runs(db, server, before, BATCH).await?
                    }
                };
                removed += batch;
                if batch < BATCH.unsigned_abs() {
                    break;
                }
            }
            if removed == 0 {
                continue;
            }
            let entry = AuditEntry {
                at: now,
                actor: None,
                via: AuditVia::Scheduler,
                action: AuditAction::Purge,
                scope: kind.as_str().to_owned(),
                subject: None,
                with_answers: false,
                row_count: Some(i64::try_from(removed).unwrap_or(i64::MAX)),
            };
            audit::record(db, server, &entry).await?;
            total += usize::try_from(removed).unwrap_or(usize::MAX);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest retention a server can set.
    const SHORTEST: TimeDelta = TimeDelta::days(1);

    #[test]
    fn the_shortest_retention_is_beyond_every_grace_window() {
        // Schedules fire an occurrence only within two hours (`grace_minutes`, 120 for every
        // schedule): a row kept at least a day can never be asked for by a schedule again.
        assert!(SHORTEST > TimeDelta::minutes(120));
        let shortest = Retention::default()
            .with_changes(Some(1), Some(1), Some(1))
            .expect("one day is allowed");
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(30);
        assert_eq!(now - shortest.cutoff(PurgeKind::Outbox, now), SHORTEST);
        assert!(
            Retention::default()
                .with_changes(None, Some(0), None)
                .is_err()
        );
    }

    #[test]
    fn reminder_rows_outlive_their_window() {
        // Queued at the earliest on the morning two days before the due date, asked for at the
        // latest on the seventh day after it.
        let window = TimeDelta::days(REMIND_DAYS_BEFORE + OVERDUE_WINDOW_DAYS);
        assert!(REMINDER_KEYS_KEPT > window);
    }
}
