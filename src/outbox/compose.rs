//! Reports: a digest or summary row is composed, from the data of the moment it is delivered,
//! into one `message` row per Discord message (all queued in one transaction with the record
//! of the report); message rows are then sent like any other, once each.

use chrono::{DateTime, Utc};

use super::deliver::Delivered;
use super::{DigestDue, InThread, OutboxMessage, Outgoing, Scheduler, SummaryDue};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::roles::{Grant, Role};
use crate::domain::school::TimeZoneName;
use crate::outbound::nonce_for;
use crate::reports::{build_digest, build_summary};
use crate::store::outbox::{NewRow, OutboxStatus};
use crate::store::{digests, discord_id, members, outbox, reports, summaries};

impl Scheduler {
    /// What `person` may be in `server` by their Discord roles as they are now: read from
    /// Discord before anything is composed for or sent to them (a digest, a coach's notice, a
    /// scheduled check-in), so a role taken away while the bot could not see it still counts,
    /// and a stale grant is dropped. When Discord cannot be asked, the roles last seen decide
    /// (and the log says so).
    pub(super) async fn current_grants(
        &self,
        server: ServerId,
        person: UserId,
    ) -> anyhow::Result<Vec<Grant>> {
        let db = &self.parts.checkins.db;
        match self
            .parts
            .checkins
            .outbound
            .member_roles(server, person)
            .await
        {
            Ok(Some(roles)) => members::set_grants(db, server, person, &roles).await,
            Ok(None) => {
                members::left(db, server, person).await?;
                Ok(Vec::new())
            }
            Err(error) => {
                tracing::warn!(%error, %person, "could not read a member's current roles; using those last seen");
                members::roles_of(db, server, person).await
            }
        }
    }

    /// Whether `coach` coaches any school in `server`, by their roles as they are now.
    async fn still_coaches(&self, server: ServerId, coach: UserId) -> anyhow::Result<bool> {
        self.current_grants(server, coach).await?;
        let db = &self.parts.checkins.db;
        Ok(!digests::coach_schools(db, server, coach).await?.is_empty())
    }

    /// Whether a scheduled check-in may still start: the person is the school's principal or on
    /// its team by their roles as they are now, or, for a follow-up on a step, owns that step.
    pub(super) async fn still_checks_in(
        &self,
        server: ServerId,
        school: &crate::store::schools::School,
        start: &super::CheckinStart,
    ) -> anyhow::Result<bool> {
        let grants = self.current_grants(server, start.person_id).await?;
        let at_school = grants.iter().any(|g| {
            matches!(g.role, Role::Principal | Role::Team) && g.school_id == Some(school.id)
        });
        if at_school {
            return Ok(true);
        }
        Ok(match start.step_id {
            Some(step) => crate::store::steps::owners(&self.parts.checkins.db, step)
                .await?
                .contains(&start.person_id),
            None => false,
        })
    }

    /// A summary row: built now, queued as its post (with the chart), the row marked sent.
    pub(super) async fn compose_summary(
        &self,
        row: &outbox::OutboxRow,
        due: &SummaryDue,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let server = row.server_id;
        let (built, png) = build_summary(
            &self.parts.checkins.db,
            &self.parts.checkins.frameworks,
            server,
            due.school_id,
            now,
        )
        .await?;
        let threads = summaries::settings(&self.parts.checkins.db, server)
            .await?
            .threads;
        let key = format!("{}:post", row.key);
        let mut messages = Vec::with_capacity(2);
        let mut thread = None;
        if threads {
            let starter = format!("{}:start", row.key);
            let opening = Outgoing {
                channel_id: Some(due.channel_id),
                body: built.starter(),
                thread: None,
            };
            messages.push(NewRow::new(
                starter.clone(),
                server,
                None,
                &OutboxMessage::Message(opening),
                now,
            )?);
            thread = Some(InThread {
                starter,
                name: built.thread_name(),
            });
        }
        let post = Outgoing {
            channel_id: Some(due.channel_id),
            body: built.render(),
            thread,
        };
        messages.push(NewRow::new(
            key.clone(),
            server,
            None,
            &OutboxMessage::Message(post),
            now,
        )?);
        let files = [(key, built.chart_file(), png)];
        let levels = serde_json::to_string(&built.remembered())?;
        reports::compose(
            &self.parts.checkins.db,
            &reports::Composed {
                row_id: row.id,
                row_key: &row.key,
                lease_owner: super::deliver::claimed_by(row)?,
                server_id: row.server_id,
                messages: &messages,
                files: &files,
            },
            &reports::Report::Summary {
                school_id: due.school_id,
                channel_id: due.channel_id,
                levels: &levels,
            },
            now,
        )
        .await
        .map(composed)
    }

    /// A digest row: built now, queued as its messages, the row marked sent, in one go.
    pub(super) async fn compose_digest(
        &self,
        row: &outbox::OutboxRow,
        due: &DigestDue,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let server = row.server_id;
        // A zone that no longer parses (a tz database change) still sends the digest, in UTC,
        // and says so in the log.
        let zone = TimeZoneName::from_stored(&due.time_zone).map_or_else(
            || {
                tracing::error!(key = %row.key, zone = %due.time_zone, "a digest's stored time zone is not one chrono-tz knows; using UTC");
                chrono_tz::UTC
            },
            TimeZoneName::tz,
        );
        if !self.still_coaches(server, due.coach_id).await? {
            tracing::info!(key = %row.key, coach = %due.coach_id, "the digest's coach coaches no school here now (their role was taken away, or they left): nothing is sent");
            return Ok(Delivered::Skipped);
        }
        let digest = build_digest(
            &self.parts.checkins.db,
            &self.parts.checkins.frameworks,
            server,
            due.coach_id,
            zone,
            now,
        )
        .await?;
        let messages: Vec<NewRow> = digest
            .messages(server, due.coach_id)
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let outgoing = Outgoing {
                    channel_id: None,
                    body,
                    thread: None,
                };
                NewRow::new(
                    format!("{}:part:{}", row.key, i + 1),
                    server,
                    Some(due.coach_id),
                    &OutboxMessage::Message(outgoing),
                    now,
                )
            })
            .collect::<anyhow::Result<_>>()?;
        reports::compose(
            &self.parts.checkins.db,
            &reports::Composed {
                row_id: row.id,
                row_key: &row.key,
                lease_owner: super::deliver::claimed_by(row)?,
                server_id: row.server_id,
                messages: &messages,
                files: &[],
            },
            &reports::Report::Digest {
                coach: due.coach_id,
            },
            now,
        )
        .await
        .map(composed)
    }

    /// A message row: its text, embeds and file, to its channel (or the person's DM).
    pub(super) async fn send_outgoing(
        &self,
        row: &outbox::OutboxRow,
        outgoing: &Outgoing,
        dm: Option<u64>,
    ) -> anyhow::Result<Delivered> {
        let mut channel = outgoing
            .channel_id
            .or(dm)
            .ok_or_else(|| anyhow::anyhow!("a message with neither a channel nor a person"))?;
        if let Some(thread) = &outgoing.thread
            && let Some(opened) = self.thread_for(channel, thread).await?
        {
            channel = opened;
        }
        let files = reports::files(&self.parts.checkins.db, &row.key).await?;
        let sent = self
            .parts
            .checkins
            .outbound
            .post_body(channel, &outgoing.body, &nonce_for(&row.key), &files)
            .await?;
        Ok(Delivered::Sent(Some(sent)))
    }

    /// The thread on the starter message, opened now if it is not yet (a second attempt finds
    /// it). None when the starter could not be posted: the message goes to the channel itself.
    async fn thread_for(&self, channel: u64, thread: &InThread) -> anyhow::Result<Option<u64>> {
        let starter = outbox::by_key(&self.parts.checkins.db, &thread.starter)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the starter row {} is gone", thread.starter))?;
        match (starter.status, starter.message_id) {
            (OutboxStatus::Sent, Some(message)) => {
                let opened = self
                    .parts
                    .checkins
                    .outbound
                    .start_thread(channel, discord_id(message), &thread.name)
                    .await?;
                Ok(Some(opened))
            }
            (OutboxStatus::Failed | OutboxStatus::Unreachable, _) | (OutboxStatus::Sent, None) => {
                Ok(None)
            }
            // Not posted yet: this row waits its turn (retried like a 5xx).
            (OutboxStatus::Pending, _) => {
                anyhow::bail!("waiting for the thread's starter message to be posted")
            }
        }
    }
}

/// How writing a composed report ended, as a delivery.
fn composed(finished: outbox::Finished) -> Delivered {
    match finished {
        outbox::Finished::Recorded => Delivered::Composed,
        outbox::Finished::LeaseLost => Delivered::TakenOver,
    }
}
