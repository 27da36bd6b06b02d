//! The outbox sender: claims ready rows under a lease (renewed while it works), paces every
//! request below Discord's limits, and records how each row ended: sent (with the message
//! id), retried (after a 429's `retry_after`, or with backoff after a 5xx), unreachable
//! (DMs closed: the coaches are told), or failed.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use poise::serenity_prelude as serenity;

use super::{BATCH, CheckinStart, DeliverOutcome, Notice, Nudge, Scheduler};
use crate::crash_point;
use crate::discord::checkin::{self, Begin, Begun, conversation};
use crate::discord::send::{self, SendError};
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::{checkins, discord_id, members, outbox, schools};

/// Attempts (not counting 429s, which say when to come back) before a row is given up.
const MAX_ATTEMPTS: i64 = 10;
/// The first retry after a 5xx or a network error; doubled each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(2);
const MAX_BACKOFF: TimeDelta = TimeDelta::minutes(10);

/// What delivering one row came to.
pub(super) enum Delivered {
    /// Sent, now or by an earlier attempt; the message Discord created, when known.
    Sent(Option<serenity::MessageId>),
    /// Nothing to send: the person is in another check-in, the flow has nothing to ask, the
    /// check-in a nudge was for is closed.
    Skipped,
    /// A report, composed into message rows of its own; the row is already marked sent.
    Composed,
}

/// Why a row was not delivered, in the terms of what to do next.
enum Failure {
    /// Discord error 50007: this person's DMs are closed.
    Unreachable,
    /// 429: come back exactly when Discord said.
    RateLimited {
        retry_after: TimeDelta,
        global: bool,
    },
    /// 5xx, the network, or our own database: worth another try with backoff.
    Transient,
    /// Discord refused the request: trying again will not help.
    Permanent,
}

fn classify(error: &anyhow::Error) -> Failure {
    match error.chain().find_map(|e| e.downcast_ref::<SendError>()) {
        Some(SendError::DmsClosed) => Failure::Unreachable,
        Some(SendError::RateLimited {
            retry_after,
            global,
        }) => Failure::RateLimited {
            retry_after: TimeDelta::from_std(*retry_after).unwrap_or(TimeDelta::seconds(5)),
            global: *global,
        },
        Some(SendError::Unavailable { .. } | SendError::Network(_)) | None => Failure::Transient,
        Some(SendError::Rejected { .. }) => Failure::Permanent,
    }
}

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
    pub async fn deliver(&self, now: DateTime<Utc>) -> anyhow::Result<DeliverOutcome> {
        let mut outcome = DeliverOutcome::default();
        let rows =
            outbox::claim(&self.data.db, now, &self.owner, now + self.lease(), BATCH).await?;
        if rows.is_empty() {
            return Ok(outcome);
        }
        crash_point::reach("outbox-claimed");
        let _heartbeat = self.heartbeat(now);
        for row in rows {
            match self.attempt(&row, now).await {
                Ok(Delivered::Sent(message)) => {
                    crash_point::reach("outbox-sent");
                    outbox::mark_sent(&self.data.db, row.id, message.map(|m| m.get()), now).await?;
                    outcome.sent += 1;
                }
                Ok(Delivered::Skipped) => {
                    outbox::mark_sent(&self.data.db, row.id, None, now).await?;
                    outcome.skipped += 1;
                }
                Ok(Delivered::Composed) => outcome.composed += 1,
                Err(error) => self.failed(&row, &error, now, &mut outcome).await?,
            }
        }
        Ok(outcome)
    }

    /// Renews this process's leases every third of the lease while a round works, on the
    /// round's clock (`claimed_at` plus the time spent).
    fn heartbeat(&self, claimed_at: DateTime<Utc>) -> Heartbeat {
        let db = self.data.db.clone();
        let owner = self.owner.clone();
        let lease = self.settings.lease;
        let started = Instant::now();
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = TimeDelta::from_std(started.elapsed() + lease)
                    .map_or(claimed_at, |ahead| claimed_at + ahead);
                if let Err(error) = outbox::renew(&db, &owner, until).await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "could not renew outbox leases"
                    );
                }
            }
        }))
    }

    /// Waits until a request may go out under Discord's limits, and counts it. `None` is a
    /// request that posts in no channel (opening a DM).
    pub(super) async fn pace(&self, channel: Option<u64>) {
        loop {
            let wait = self.throttle.lock().await.wait(channel, Instant::now());
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        self.throttle.lock().await.record(channel, Instant::now());
    }

    /// One row: the DM channel (opened once, paced like any request), then its message.
    async fn attempt(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        match row.kind.as_str() {
            "digest" => return self.compose_digest(row, now).await,
            "summary" => return self.compose_summary(row, now).await,
            _ => {}
        }
        let mut channel = None;
        if let Some(person) = row.person_id.map(discord_id) {
            let server = discord_id(row.server_id);
            let dm = match members::dm_channel(&self.data.db, server, person).await? {
                Some(stored) => serenity::ChannelId::new(stored),
                None => {
                    self.pace(None).await;
                    conversation::member_dm(&self.http, &self.data, server, person).await?
                }
            };
            self.pace(Some(dm.get())).await;
            channel = Some(dm);
        }
        self.deliver_one(row, channel, now).await
    }

    /// Records why a row was not delivered and when (or whether) to try again.
    async fn failed(
        &self,
        row: &outbox::OutboxRow,
        error: &anyhow::Error,
        now: DateTime<Utc>,
        outcome: &mut DeliverOutcome,
    ) -> anyhow::Result<()> {
        let db = &self.data.db;
        let text = format!("{error:#}");
        match classify(error) {
            Failure::Unreachable => {
                outbox::mark_unreachable(db, row, &text, now).await?;
                self.tell_coaches(row, now).await?;
                outcome.unreachable += 1;
            }
            Failure::RateLimited {
                retry_after,
                global,
            } => {
                if global {
                    let pause = retry_after.to_std().unwrap_or_default();
                    self.throttle
                        .lock()
                        .await
                        .pause_until(Instant::now() + pause);
                }
                tracing::info!(key = %row.key, ?retry_after, global, "rate-limited; trying again when Discord said");
                outbox::retry_at(db, row.id, &text, now + retry_after, false, now).await?;
                outcome.retried += 1;
            }
            Failure::Transient if row.attempts + 1 < MAX_ATTEMPTS => {
                let doubling = 2_i32.pow(u32::try_from(row.attempts).unwrap_or(0).min(12));
                let backoff = (FIRST_BACKOFF * doubling).min(MAX_BACKOFF);
                tracing::warn!(error = %text, key = %row.key, ?backoff, "delivery failed; trying again later");
                outbox::retry_at(db, row.id, &text, now + backoff, true, now).await?;
                outcome.retried += 1;
            }
            Failure::Transient | Failure::Permanent => {
                tracing::error!(error = %text, key = %row.key, "giving up on an outbox row");
                outbox::mark_failed(db, row.id, &text, now).await?;
                outcome.failed += 1;
            }
        }
        Ok(())
    }

    /// Someone's DMs are closed: their coaches hear about it (once per outbox row).
    async fn tell_coaches(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if !matches!(row.kind.as_str(), "checkin_start" | "nudge") {
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
        let person = discord_id(person);
        let name = members::name(&self.data.db, discord_id(row.server_id), person)
            .await?
            .unwrap_or_else(|| format!("<@{person}>"));
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

    /// Sends the row's message: a nudge, a notice, or the first question of a check-in it
    /// starts (or finds, when an earlier attempt started it).
    async fn deliver_one(
        &self,
        row: &outbox::OutboxRow,
        channel: Option<serenity::ChannelId>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        match row.kind.as_str() {
            "nudge" => {
                let nudge: Nudge = serde_json::from_str(&row.payload)?;
                let sent = conversation::nudge(&self.http, &self.data, nudge.session_id).await?;
                Ok(sent.map_or(Delivered::Skipped, |id| Delivered::Sent(Some(id))))
            }
            "notice" => self.send_notice(row, channel).await,
            "message" => self.send_outgoing(row, channel).await,
            _ => self.start_checkin(row, channel, now).await,
        }
    }

    async fn send_notice(
        &self,
        row: &outbox::OutboxRow,
        channel: Option<serenity::ChannelId>,
    ) -> anyhow::Result<Delivered> {
        let notice: Notice = serde_json::from_str(&row.payload)?;
        let channel = channel.ok_or_else(|| anyhow::anyhow!("a notice without a person"))?;
        let message = serenity::CreateMessage::new()
            .content(clip(&notice.text, MESSAGE_CONTENT))
            .nonce(serenity::Nonce::String(nonce_for(&row.key)))
            .enforce_nonce(true)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let sent = send::post_message(&self.http, &self.data.rest, channel, &message).await?;
        Ok(Delivered::Sent(Some(sent.id)))
    }

    async fn start_checkin(
        &self,
        row: &outbox::OutboxRow,
        channel: Option<serenity::ChannelId>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let start: CheckinStart = serde_json::from_str(&row.payload)?;
        let server = discord_id(row.server_id);
        let Some(school) = schools::get(&self.data.db, server, start.school_id).await? else {
            return Ok(Delivered::Skipped);
        };
        let Some(flow) = self.data.flows.iter().find(|f| f.id == start.flow_id) else {
            tracing::warn!(flow = %start.flow_id, "a scheduled flow no longer exists");
            return Ok(Delivered::Skipped);
        };
        let name = members::name(&self.data.db, server, start.person_id)
            .await?
            .unwrap_or_else(|| "there".to_owned());
        // The person's DMs may be handled at this moment (a retried row whose check-in is
        // under way): one turn at a time, as in the conversation itself.
        let lock = self.data.conversations.lock_for(start.person_id);
        let _turn = lock.lock().await;
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
                dm_channel: channel.map(serenity::ChannelId::get),
            },
            now,
        )
        .await?;
        match begun {
            Begun::Started(session, _) => {
                let sent = conversation::advance(&self.http, &self.data, session.id).await?;
                Ok(Delivered::Sent(sent))
            }
            Begun::Busy(_) | Begun::NothingToAsk => Ok(Delivered::Skipped),
        }
    }
}

/// A nonce for an outbox row, derived from its key (Discord allows 25 characters): the same
/// row always sends the same nonce, so Discord drops a resend after a crash.
pub(super) fn nonce_for(key: &str) -> String {
    // FNV-1a, 64 bits: stable across processes and versions, unlike std's hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("o{hash:016x}")
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
}
