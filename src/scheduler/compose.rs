//! Reports: a digest or summary row is composed, from the data of the moment it is delivered,
//! into one `message` row per Discord message (all queued in one transaction with the record
//! of the report); message rows are then sent like any other, once each.

use chrono::{DateTime, TimeDelta, Utc};
use poise::serenity_prelude as serenity;
use serde::{Deserialize, Serialize};

use super::deliver::{Delivered, nonce_for};
use super::{DigestDue, Scheduler, SummaryDue};
use crate::discord::send;
use crate::domain::digest::{self, CoachDigest, FIRST_LOOKBACK_DAYS};
use crate::domain::framework::Framework;
use crate::domain::message::MessageBody;
use crate::domain::school::TimeZoneName;
use crate::domain::summary::{self, CHART_FILE, IndicatorSummary, Remembered};
use crate::store::{
    Db, db_id, digests, discord_id, frameworks, outbox, reports, schools, summaries,
};

/// One message waiting in the outbox: to the row's person by DM, or to a channel.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Outgoing {
    /// A channel post; None sends to the row's person by DM.
    #[serde(default)]
    pub channel_id: Option<u64>,
    pub body: MessageBody,
    /// Post in a thread opened on an earlier message of the same report, not in the channel.
    #[serde(default)]
    pub thread: Option<InThread>,
}

/// Where a threaded message goes: the thread on the message its starter row sent.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InThread {
    /// The outbox key of the starter message.
    pub starter: String,
    pub name: String,
}

/// Builds a coach's digest as of `now`: their schools, what is new since their last digest
/// (or the last week, for the first), in the coach's time zone.
pub async fn build_digest(
    db: &Db,
    server: u64,
    coach: u64,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<CoachDigest> {
    let schools = digests::coach_schools(db, server, coach).await?;
    let since = digests::last_built(db, server, coach)
        .await?
        .unwrap_or(now - TimeDelta::days(FIRST_LOOKBACK_DAYS));
    let facts = digests::facts(db, server, &schools, since).await?;
    Ok(digest::build(&facts, since, now, zone))
}

/// Builds the indicator summary of a school (or of every school) as of `now`, and its chart.
pub async fn build_summary(
    db: &Db,
    default_framework: &Framework,
    server: u64,
    school_id: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<(IndicatorSummary, Vec<u8>)> {
    let framework = frameworks::effective(db, server, default_framework).await?;
    let names = framework
        .indicators()
        .map(|i| (i.id.clone(), i.name.clone()))
        .collect();
    let school = match school_id {
        Some(id) => Some(
            schools::get(db, server, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the school of a summary is gone"))?,
        ),
        None => None,
    };
    let zone = school
        .as_ref()
        .and_then(|s| TimeZoneName::parse(&s.time_zone).ok())
        .map_or(chrono_tz::UTC, TimeZoneName::tz);
    let facts = summaries::facts(
        db,
        server,
        school.as_ref().map(|s| (s.id, s.name.as_str())),
        names,
    )
    .await?;
    let built = summary::build(&facts, now, now.with_timezone(&zone).date_naive());
    let png = crate::chart::summary_png(&built, now)?;
    Ok((built, png))
}

impl Scheduler {
    /// A summary row: built now, queued as its post (with the chart), the row marked sent.
    pub(super) async fn compose_summary(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let due: SummaryDue = serde_json::from_str(&row.payload)?;
        let server = discord_id(row.server_id);
        let (built, png) = build_summary(
            &self.data.db,
            &self.data.default_framework,
            server,
            due.school_id,
            now,
        )
        .await?;
        let threads = summaries::settings(&self.data.db, server).await?.threads;
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
            messages.push((starter.clone(), serde_json::to_string(&opening)?));
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
        messages.push((key.clone(), serde_json::to_string(&post)?));
        let files = [(key, CHART_FILE.to_owned(), png)];
        let levels = serde_json::to_string(&Remembered {
            levels: built.levels(),
        })?;
        reports::compose(
            &self.data.db,
            &reports::Composed {
                row_id: row.id,
                row_key: &row.key,
                server_id: row.server_id,
                person_id: None,
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
        .await?;
        Ok(Delivered::Composed)
    }

    /// A digest row: built now, queued as its messages, the row marked sent, in one go.
    pub(super) async fn compose_digest(
        &self,
        row: &outbox::OutboxRow,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivered> {
        let due: DigestDue = serde_json::from_str(&row.payload)?;
        let server = discord_id(row.server_id);
        let zone = TimeZoneName::parse(&due.time_zone).map_or(chrono_tz::UTC, TimeZoneName::tz);
        let digest = build_digest(&self.data.db, server, due.coach_id, zone, now).await?;
        let messages: Vec<(String, String)> = digest
            .render()
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let outgoing = Outgoing {
                    channel_id: None,
                    body,
                    thread: None,
                };
                serde_json::to_string(&outgoing).map(|p| (format!("{}:part:{}", row.key, i + 1), p))
            })
            .collect::<Result<_, _>>()?;
        reports::compose(
            &self.data.db,
            &reports::Composed {
                row_id: row.id,
                row_key: &row.key,
                server_id: row.server_id,
                person_id: Some(db_id(due.coach_id)),
                messages: &messages,
                files: &[],
            },
            &reports::Report::Digest {
                coach: due.coach_id,
            },
            now,
        )
        .await?;
        Ok(Delivered::Composed)
    }

    /// A message row: its text, embeds and file, to its channel (or the person's DM).
    pub(super) async fn send_outgoing(
        &self,
        row: &outbox::OutboxRow,
        dm: Option<serenity::ChannelId>,
    ) -> anyhow::Result<Delivered> {
        let outgoing: Outgoing = serde_json::from_str(&row.payload)?;
        if let Some(posted_in) = outgoing.channel_id {
            self.pace(Some(posted_in)).await;
        }
        let mut channel = outgoing
            .channel_id
            .map(serenity::ChannelId::new)
            .or(dm)
            .ok_or_else(|| anyhow::anyhow!("a message with neither a channel nor a person"))?;
        if let Some(thread) = &outgoing.thread
            && let Some(opened) = self.thread_for(channel, thread).await?
        {
            channel = opened;
        }
        let files = reports::files(&self.data.db, &row.key).await?;
        let message = send::report_message(&outgoing.body, nonce_for(&row.key));
        let sent =
            send::post_message_with_files(&self.http, &self.data.rest, channel, &message, &files)
                .await?;
        Ok(Delivered::Sent(Some(sent.id)))
    }

    /// The thread on the starter message, opened now if it is not yet (a second attempt finds
    /// it). None when the starter could not be posted: the message goes to the channel itself.
    async fn thread_for(
        &self,
        channel: serenity::ChannelId,
        thread: &InThread,
    ) -> anyhow::Result<Option<serenity::ChannelId>> {
        let starter = outbox::by_key(&self.data.db, &thread.starter)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the starter row {} is gone", thread.starter))?;
        match (starter.status.as_str(), starter.message_id) {
            ("sent", Some(message)) => {
                self.pace(Some(channel.get())).await;
                let opened = send::start_thread(
                    &self.http,
                    &self.data.rest,
                    channel,
                    serenity::MessageId::new(discord_id(message)),
                    &thread.name,
                )
                .await?;
                Ok(Some(opened))
            }
            ("failed" | "unreachable", _) | ("sent", None) => Ok(None),
            // Not posted yet: this row waits its turn (retried like a 5xx).
            _ => anyhow::bail!("waiting for the thread's starter message to be posted"),
        }
    }
}
