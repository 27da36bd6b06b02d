//! The outbox sender: claims ready rows under a lease (renewed while it works), paces every
//! request below Discord's limits, and records how each row ended: sent (with the message
//! id), retried (after a 429's `retry_after`, or with backoff after a 5xx), unreachable
//! (DMs closed: the coaches are told), or failed.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};

use super::{BATCH, CheckinStart, DeliverOutcome, OutboxMessage, Scheduler};
use crate::checkin::{self, Begin, Begun};
use crate::crash_point;
use crate::domain::message::Prompt;
use crate::domain::roles::Role;
use crate::outbound::failure::{self, Retry};
use crate::outbound::nonce_for;
use crate::store::{checkins, members, outbox, schools};

/// What delivering one row came to.
pub(super) enum Delivered {
    /// Sent, now or by an earlier attempt; the message Discord created, when known.
    Sent(Option<u64>),
    /// Nothing to send: the person is in another check-in, the flow has nothing to ask, the
    /// check-in a nudge was for is closed.
    Skipped,
    /// A report, composed into message rows of its own; the row is already marked sent.
    Composed,
    /// A scheduled check-in stored, waiting for the person's check-in of another server to
    /// end before its first question goes out.
    Stored,
    /// A scheduled check-in that waits for the person's open check-in in the same server: the
    /// row is tried again then (at the latest at this time), without counting an attempt.
    Later(DateTime<Utc>),
    /// A scheduled check-in that could not start in time; recorded as missed, the row done.
    Missed,
    /// A scheduled check-in for someone whose DMs were closed at the last try: not tried
    /// again until they write to the bot or a message to them goes through.
    Unreachable,
    /// Another process took the row over while this one worked on it (this one's lease ran
    /// out): nothing was written; the row is the other process's to finish.
    TakenOver,
}

/// The process that claimed `row`: every row a round works on was claimed.
pub(super) fn claimed_by(row: &outbox::OutboxRow) -> anyhow::Result<&str> {
    row.lease_owner
        .as_deref()
        .with_context(|| format!("outbox row {} was worked on without being claimed", row.key))
}

/// A row this program cannot act on (a kind it does not know, a payload it cannot read):
/// marked failed at once, with the reason in the log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unknown(String);

/// Aborts the heartbeat when the round ends, however it ends.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Scheduler {
    /// Delivers the outbox rows ready at `now`. A retried row finds the check-in it started
    /// before (by its key), and each prompt is sent once (its key is recorded, its nonce lets
    /// Discord drop a resend).
    #[tracing::instrument(skip_all)]
    pub async fn deliver(&self, now: DateTime<Utc>) -> anyhow::Result<DeliverOutcome> {
        let rows = outbox::claim(
            &self.parts.checkins.db,
            now,
            &self.owner,
            now + self.lease(),
            BATCH,
        )
        .await?;
        if rows.is_empty() {
            return Ok(DeliverOutcome::default());
        }
        crash_point::reach("outbox-claimed");
        self.deliver_rows(rows, now).await
    }

    /// Delivers the row with `key` now, if it is ready and no other process holds it: what a
    /// command calls right after its change queued an announcement, so nobody waits for the
    /// next round. A row another process took, or one already sent, is left alone.
    pub async fn deliver_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<DeliverOutcome> {
        let row = outbox::claim_key(
            &self.parts.checkins.db,
            key,
            now,
            &self.owner,
            now + self.lease(),
        )
        .await?;
        // A burst in one channel (many commands announcing in one school's channel) leaves
        // what cannot go within the channel's next window to the outbox's rounds, rather than
        // holding a task (and a lease) per message until the channel has room.
        let outcome = crate::outbound::keeping_promise(
            key,
            crate::outbound::with_patience(
                crate::outbound::COMMAND_PATIENCE,
                self.deliver_rows(row.into_iter().collect(), now),
            ),
        )
        .await?;
        if outcome.retried > 0 {
            // The loop's next round is due when the row is.
            self.parts.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Sends claimed rows in order and records how each ended.
    async fn deliver_rows(
        &self,
        rows: Vec<outbox::OutboxRow>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<DeliverOutcome> {
        let mut outcome = DeliverOutcome::default();
        if rows.is_empty() {
            return Ok(outcome);
        }
        let _heartbeat = self.heartbeat(now);
        // The round's clock, as the heartbeat keeps it: `now` plus the time spent.
        let started = Instant::now();
        for row in rows {
            let round_now = now + TimeDelta::from_std(started.elapsed()).unwrap_or_default();
            match self.attempt(&row, now, round_now).await {
                Ok(Delivered::Sent(message)) => {
                    crash_point::reach("outbox-sent");
                    outbox::mark_sent(&self.parts.checkins.db, &row, message, now).await?;
                    if let Some(person) = row.person_id {
                        members::reachable(&self.parts.checkins.db, row.server_id, person).await?;
                    }
                    outcome.sent += 1;
                }
                Ok(Delivered::Skipped) => {
                    outbox::mark_sent(&self.parts.checkins.db, &row, None, now).await?;
                    outcome.skipped += 1;
                }
                Ok(Delivered::Composed) => outcome.composed += 1,
                Ok(Delivered::Stored) => {
                    outbox::mark_sent(&self.parts.checkins.db, &row, None, now).await?;
                    outcome.waiting += 1;
                }
                Ok(Delivered::Later(at)) => {
                    let why = "waiting: the person's previous check-in here is still open";
                    outbox::retry_at(&self.parts.checkins.db, &row, why, at, false, now).await?;
                    outcome.waiting += 1;
                }
                Ok(Delivered::Missed) => outcome.missed += 1,
                Ok(Delivered::TakenOver) => {
                    tracing::warn!(key = %row.key, "another process took this row over: left to it");
                }
                Ok(Delivered::Unreachable) => {
                    let why = "their DMs were closed at the last try: not tried again until they write to the bot";
                    let finished = outbox::record_failure(
                        &self.parts.checkins.db,
                        &row,
                        Retry::Unreachable,
                        why,
                        now,
                    )
                    .await?;
                    // A row another process took over is theirs to report.
                    if finished == outbox::Finished::Recorded {
                        self.tell_coaches(&row, now).await?;
                    }
                    outcome.unreachable += 1;
                }
                Err(error) => self.failed(&row, &error, now, &mut outcome).await?,
            }
        }
        for (result, count) in [
            ("sent", outcome.sent),
            ("skipped", outcome.skipped),
            ("retried", outcome.retried),
            ("failed", outcome.failed),
            ("unreachable", outcome.unreachable),
            ("composed", outcome.composed),
            ("waiting", outcome.waiting),
            ("missed", outcome.missed),
        ] {
            crate::metrics::outbox_rows(result, count);
        }
        Ok(outcome)
    }

    /// Renews this process's leases every third of the lease while a round works, on the
    /// round's clock (`claimed_at` plus the time spent).
    fn heartbeat(&self, claimed_at: DateTime<Utc>) -> Heartbeat {
        let db = self.parts.checkins.db.clone();
        // The round's own rows, and the prompts the engine sends at once within it.
        let owners = [self.owner.clone(), self.parts.checkins.owner.to_string()];
        let lease = self.parts.sending.lease;
        let started = Instant::now();
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = TimeDelta::from_std(started.elapsed() + lease)
                    .map_or(claimed_at, |ahead| claimed_at + ahead);
                for owner in &owners {
                    if let Err(error) = outbox::renew(&db, owner, until).await {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "could not renew outbox leases"
                        );
                    }
                }
            }
        }))
    }

    /// One row: its message decoded (a kind this program does not know is an error that no
    /// retry mends), the DM channel (opened once), then the message sent.
    #[tracing::instrument(skip_all, fields(row = row.id, key = %row.key, kind = %row.kind))]
    async fn attempt(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
        round_now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let message = row
            .message()
            .map_err(|error| Unknown(format!("{error:#}")))?;
        // Reports are composed, not sent: no DM to open for them.
        match message {
            OutboxMessage::Digest(due) => return self.compose_digest(row, &due, now).await,
            OutboxMessage::Summary(due) => return self.compose_summary(row, &due, now).await,
            _ => {}
        }
        // Nothing goes to someone who asked to be forgotten here (`/privacy forget`), until
        // they use a command again.
        if let Some(person) = row.person_id
            && crate::store::forget::is_forgotten(&self.parts.checkins.db, row.server_id, person)
                .await?
        {
            tracing::info!("not sent: the person was forgotten here");
            return Ok(Delivered::Skipped);
        }
        // Who the row is for is checked against their roles as they are now, before even a DM
        // is opened: a coach no longer coaching the school gets no notice.
        if let (OutboxMessage::Notice { school_id, .. }, Some(coach)) = (&message, row.person_id) {
            let grants = self.current_grants(row.server_id, coach).await?;
            if !grants.iter().any(|g| {
                g.role == Role::Coach && (g.school_id.is_none() || g.school_id == *school_id)
            }) {
                tracing::info!(key = %row.key, %coach, "the notice's coach no longer coaches the school: nothing is sent");
                return Ok(Delivered::Skipped);
            }
        }
        let mut dm = None;
        if let Some(person) = row.person_id {
            let server = row.server_id;
            dm = Some(checkin::member_dm(&self.parts.checkins, server, person).await?);
        }
        let outbound = &self.parts.checkins.outbound;
        match message {
            OutboxMessage::CheckinStart(start) => {
                self.start_checkin(row, &start, dm, now, round_now).await
            }
            OutboxMessage::Nudge { session_id } => {
                if self.nudge_skipped(session_id, now).await? {
                    return Ok(Delivered::Skipped);
                }
                let sent = checkin::nudge(&self.parts.checkins, session_id).await?;
                Ok(sent.map_or(Delivered::Skipped, |id| Delivered::Sent(Some(id))))
            }
            OutboxMessage::Notice { text, .. } => {
                let channel = dm.ok_or_else(|| Unknown("a notice without a person".into()))?;
                let nonce = nonce_for(&row.key);
                let sent = outbound
                    .post_prompt(channel, &Prompt::text(&text), Some(&nonce))
                    .await?;
                Ok(Delivered::Sent(Some(sent)))
            }
            OutboxMessage::Announcement { channel_id, text } => {
                let nonce = nonce_for(&row.key);
                let sent = outbound
                    .post_prompt(channel_id, &Prompt::text(&text), Some(&nonce))
                    .await?;
                Ok(Delivered::Sent(Some(sent)))
            }
            OutboxMessage::Message(outgoing) => self.send_outgoing(row, &outgoing, dm).await,
            OutboxMessage::Reminder { step_id, text } => {
                let channel = dm.ok_or_else(|| Unknown("a reminder without a person".into()))?;
                self.send_reminder(row, step_id, &text, channel, now).await
            }
            OutboxMessage::Prompt {
                session_id,
                messages,
            } => {
                let engine = &self.parts.checkins;
                let sent = checkin::send_prompt(engine, &row.key, session_id, &messages).await?;
                Ok(sent.map_or(Delivered::Skipped, |id| Delivered::Sent(Some(id))))
            }
            OutboxMessage::Digest(_) | OutboxMessage::Summary(_) => Ok(Delivered::Composed),
        }
    }

    /// Records why a row was not delivered and when (or whether) to try again.
    async fn failed(
        &self,
        row: &outbox::OutboxRow,
        error: &anyhow::Error,
        now: DateTime<Utc>,
        outcome: &mut DeliverOutcome,
    ) -> anyhow::Result<()> {
        let db = &self.parts.checkins.db;
        let text = format!("{error:#}");
        let retry = if error.chain().any(|e| e.downcast_ref::<Unknown>().is_some()) {
            Retry::GiveUp
        } else {
            failure::decide(error, row.attempts, now)
        };
        let finished = outbox::record_failure(db, row, retry, &text, now).await?;
        match retry {
            Retry::Unreachable => {
                // A row another process took over is theirs to report.
                if finished == outbox::Finished::Recorded {
                    self.tell_coaches(row, now).await?;
                }
                outcome.unreachable += 1;
            }
            Retry::At { at, counts, global } => {
                // A global 429 has already paused every send in the process (`Outbound`).
                tracing::info!(error = %text, key = %row.key, %at, counts, global, "not delivered; trying again later");
                outcome.retried += 1;
            }
            Retry::GiveUp => {
                tracing::error!(error = %text, key = %row.key, kind = %row.kind, "giving up on an outbox row");
                outcome.failed += 1;
            }
        }
        Ok(())
    }

    /// Someone's DMs are closed: their coaches hear about it, once per spell.
    async fn tell_coaches(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let school_id = match row.message() {
            Ok(OutboxMessage::CheckinStart(start)) => Some(start.school_id),
            Ok(OutboxMessage::Nudge { session_id } | OutboxMessage::Prompt { session_id, .. }) => {
                checkins::get(&self.parts.checkins.db, session_id)
                    .await?
                    .map(|s| s.school_id)
            }
            // Only check-ins and their nudges tell the coaches.
            Ok(_) | Err(_) => None,
        };
        let (Some(school_id), Some(person)) = (school_id, row.person_id) else {
            return Ok(());
        };
        let name = members::name(&self.parts.checkins.db, row.server_id, person)
            .await?
            .unwrap_or_else(|| person.mention());
        let text = format!(
            "I could not reach {name} by direct message: their DMs are closed to this server, so their check-ins are not going out. They can allow direct messages from server members in the server's privacy settings."
        );
        // Once per spell of closed DMs, however many check-ins meet it: the notice's key is
        // the person and the moment the spell began.
        let since = members::unreachable_since(&self.parts.checkins.db, row.server_id, person)
            .await?
            .unwrap_or(now);
        let key = format!(
            "unreachable:{}:{person}:{}",
            row.server_id,
            since.timestamp_millis()
        );
        outbox::notify_coaches(
            &self.parts.checkins.db,
            row.server_id,
            school_id,
            &key,
            &text,
            now,
        )
        .await?;
        Ok(())
    }

    /// Starts the scheduled check-in (or finds the one an earlier attempt started) and sends
    /// its first question.
    async fn start_checkin(
        &self,
        row: &outbox::OutboxRow,
        start: &CheckinStart,
        channel: Option<u64>,
        now: DateTime<Utc>,
        round_now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let server = row.server_id;
        let Some(school) = schools::get(&self.parts.checkins.db, server, start.school_id).await?
        else {
            return Ok(Delivered::Skipped);
        };
        let Some(flow) = self
            .parts
            .checkins
            .flows
            .iter()
            .find(|f| f.id == start.flow_id)
        else {
            tracing::warn!(flow = %start.flow_id, "a scheduled flow no longer exists");
            return Ok(Delivered::Skipped);
        };
        if self.skipped_at_start(row, &school, start, now).await? {
            return Ok(Delivered::Skipped);
        }
        // Closed DMs are not knocked on at every occurrence: the coaches were told once.
        if members::unreachable_since(&self.parts.checkins.db, server, start.person_id)
            .await?
            .is_some()
        {
            return Ok(Delivered::Unreachable);
        }
        if !self.still_checks_in(server, &school, start).await? {
            tracing::info!(key = %row.key, person = %start.person_id, "the person is no longer at the school (their role was taken away, or they left): no check-in is started");
            return Ok(Delivered::Skipped);
        }
        let name = members::name(&self.parts.checkins.db, server, start.person_id)
            .await?
            .unwrap_or_else(|| "there".to_owned());
        // The person's DMs may be handled at this moment (a retried row whose check-in is
        // under way): one turn at a time, as in the conversation itself.
        let _turn = self.parts.checkins.turn(start.person_id).await?;
        let begun = checkin::begin(
            &self.parts.checkins,
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
                dm_channel: channel,
                barrier: None,
            },
            now,
        )
        .await?;
        match begun {
            Begun::Started(session, _)
                if checkin::waits(&self.parts.checkins, &session).await? =>
            {
                Ok(Delivered::Stored)
            }
            Begun::Started(session, _) => {
                let engine = &self.parts.checkins;
                match checkin::advance_leased_from(engine, session.id, now, round_now).await {
                    Ok(sent) => Ok(Delivered::Sent(sent)),
                    // Closed DMs end the check-in's row here, and the coaches hear of it.
                    Err(error) if failure::decide(&error, 0, now) == Retry::Unreachable => {
                        Err(error)
                    }
                    // The check-in has started and its first question waits in its own row,
                    // which the outbox retries on its own terms.
                    Err(error) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            session = session.id,
                            "the first question of a check-in waits in the outbox"
                        );
                        Ok(Delivered::Sent(None))
                    }
                }
            }
            // Still in the previous check-in here: wait for it to end (closing it makes this
            // row due at once) until this one's own deadline, then record it as missed.
            Begun::Busy(open) => {
                let deadline = start
                    .start_by
                    .unwrap_or(start.occurrence + TimeDelta::days(checkin::OPEN_FOR_DAYS));
                if now < deadline {
                    return Ok(Delivered::Later(open.expires_at.min(deadline)));
                }
                let miss = checkins::Miss {
                    key: &row.key,
                    server_id: server,
                    school_id: school.id,
                    person_id: start.person_id,
                    flow_title: &flow.title,
                    due_at: start.occurrence,
                    reason: checkins::NotStarted::Previous,
                };
                let owner = claimed_by(row)?;
                match checkins::record_miss(&self.parts.checkins.db, row.id, owner, &miss, now)
                    .await?
                {
                    outbox::Finished::Recorded => Ok(Delivered::Missed),
                    outbox::Finished::LeaseLost => Ok(Delivered::TakenOver),
                }
            }
            Begun::NothingToAsk => Ok(Delivered::Skipped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_key_gives_one_short_stable_nonce() {
        let a = nonce_for("checkin:1:1700000000:42:coach:7");
        assert_eq!(a, nonce_for("checkin:1:1700000000:42:coach:7"));
        assert_ne!(a, nonce_for("checkin:1:1700000000:42:coach:8"));
        assert!(a.len() <= 25, "{a}");
    }

    /// A row of a kind this program does not know (written by a newer version, say) is
    /// marked failed with the reason, and nothing at all is sent for it: not a check-in.
    #[tokio::test]
    async fn a_row_of_an_unknown_kind_is_marked_failed_and_sends_nothing() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("unknown.db").display());
        let db = crate::store::Db::open(&url)
            .await
            .expect("the database opens");
        let emu = crate::emulator::Emulator::start()
            .await
            .expect("the emulator starts");
        let now = crate::clock::Clock::system().now();
        let (server, person) = (1_000_u64, 2_000_u64);
        // What a check-in start looks like, under a kind this program has never heard of.
        let payload = serde_json::json!({
            "schedule_id": 1, "school_id": 1, "person_id": person, "flow_id": "weekly",
            "occurrence": now, "started_by": person, "nudge_hours": 24,
        });
        crate::store::on_backend!(&db, pool => {
            sqlx::query(crate::store::servers::UPSERT)
                .bind(crate::store::db_id(server))
                .bind("A server")
                .bind(now)
                .execute(pool)
                .await
                .expect("the server is stored");
            sqlx::query(
                "INSERT INTO outbox (key, server_id, kind, payload, person_id, status, not_before, created_at)
                 VALUES ('from-the-future', $1, 'checkin_start_v2', $2, $3, 'pending', $4, $4)",
            )
            .bind(crate::store::db_id(server))
            .bind(payload.to_string())
            .bind(crate::store::db_id(person))
            .bind(now)
            .execute(pool)
            .await
            .expect("the row is stored");
        });
        let token = crate::config::Config::from_lookup(|k| {
            (k == "DISCORD_TOKEN").then(|| "test-token".to_owned())
        })
        .expect("config")
        .token()
        .expect("a token")
        .clone();
        let http = std::sync::Arc::new(crate::outbound::http_client(&token, Some(emu.api_url())));
        let scheduler = Scheduler::new(super::super::Parts {
            checkins: crate::checkin::Engine {
                db: db.clone(),
                flows: std::sync::Arc::new(crate::prompts::flows().expect("the flows load")),
                frameworks: crate::store::frameworks::Frameworks::new(
                    crate::prompts::default_framework().expect("the framework loads"),
                ),
                outbound: std::sync::Arc::new(
                    crate::outbound::Outbound::new(http, 40).expect("the sender builds"),
                ),
                conversations: std::sync::Arc::default(),
                wake: std::sync::Arc::default(),
                lease: std::time::Duration::from_secs(60),
                owner: crate::store::outbox::lease_owner().into(),
            },
            clock: crate::clock::Clock::system(),
            wake: std::sync::Arc::default(),
            sending: crate::config::Sending::default(),
        });

        let outcome = scheduler.deliver(now).await.expect("the round runs");

        assert_eq!(
            outcome,
            DeliverOutcome {
                failed: 1,
                ..DeliverOutcome::default()
            }
        );
        let row = outbox::by_key(&db, "from-the-future")
            .await
            .expect("read")
            .expect("the row");
        assert_eq!(row.status, outbox::OutboxStatus::Failed);
        assert_eq!(row.attempts, 1, "given up at once, not retried");
        let error = row.last_error.unwrap_or_default();
        assert!(error.contains("checkin_start_v2"), "{error}");
        assert!(
            emu.calls().is_empty(),
            "nothing was sent: {:?}",
            emu.calls()
                .iter()
                .map(|c| format!("{} {}", c.method, c.path))
                .collect::<Vec<_>>()
        );
        assert!(
            crate::store::checkins::open_for(&db, crate::domain::ids::UserId::new(person))
                .await
                .expect("read")
                .is_none(),
            "no check-in was started"
        );
    }
}
