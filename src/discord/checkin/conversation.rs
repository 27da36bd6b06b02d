//! The check-in conversation in DM: one question at a time, barrier categories with buttons,
//! a form as the alternative, the reflection with Confirm / Correct. Every turn is stored
//! before the next prompt goes out; each prompt is sent once (its key is recorded, and its
//! nonce lets Discord drop a resend after a crash). Clicks and forms are in `buttons`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use chrono::Utc;
use poise::serenity_prelude as serenity;

use crate::discord::{Data, send};
use crate::domain::checkin::{self, ANSWER_MAX, Next};
use crate::domain::flow;
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::checkins::{self, CheckinSession, NewAnswer};
use crate::store::{discord_id, members, steps};

/// One lock per person: their DMs, clicks and catch-up are handled one at a time.
#[derive(Default)]
pub struct Conversations {
    locks: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

impl Conversations {
    pub(crate) fn lock_for(&self, person: u64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(person).or_default().clone()
    }
}

pub(super) fn id_prefix(session: i64) -> String {
    format!("ci:{session}:")
}

/// Sends what the session needs next, unless that prompt was already sent. Returns the id of
/// the (last) message that carries the prompt, whether sent now or by an earlier attempt.
pub async fn advance(
    http: &serenity::Http,
    data: &Data,
    session_id: i64,
) -> anyhow::Result<Option<serenity::MessageId>> {
    let Some(session) = checkins::get(&data.db, session_id).await? else {
        return Ok(None);
    };
    if session.status != "open" {
        return Ok(None);
    }
    let plan = session.questions()?;
    let answers: Vec<_> = checkins::answers(&data.db, session.id)
        .await?
        .iter()
        .map(|a| a.answered())
        .collect();
    let (key, messages) = if let Some(position) = session.correcting {
        let position = usize::try_from(position).unwrap_or(usize::MAX);
        let before = answers
            .iter()
            .find(|a| a.position == position)
            .map_or("", |a| a.answer.as_str());
        let text = format!(
            "What should answer {} say instead? Reply here with the new wording.\nIt was: “{}”",
            position + 1,
            clip(before, 1500)
        );
        (
            format!("fix{position}"),
            vec![serenity::CreateMessage::new().content(text)],
        )
    } else {
        match checkin::next(&plan, &answers) {
            Next::Ask(position) => (
                format!("q{position}"),
                question(&session, &plan, position, answers.is_empty()),
            ),
            Next::Categorize(position) => {
                (format!("k{position}"), vec![categories(&session, position)])
            }
            Next::Review => (
                "review".to_owned(),
                reflection(data, &session, &plan, &answers).await?,
            ),
        }
    };
    if session.prompted.as_deref() == Some(key.as_str()) {
        return Ok(session
            .prompted_message_id
            .map(|id| serenity::MessageId::new(discord_id(id))));
    }
    let channel = dm_channel(http, data, &session).await?;
    let count = messages.len();
    let mut last = None;
    for (index, message) in messages.into_iter().enumerate() {
        let nonce = format!("c{}{key}{index}", session.id);
        let message = message
            .nonce(serenity::Nonce::String(clip(&nonce, 25)))
            .enforce_nonce(true)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let sent = send::post_message(http, &data.rest, channel, &message)
            .await
            .with_context(|| {
                format!(
                    "sending check-in {} its next prompt ({index} of {count})",
                    session.id
                )
            })?;
        last = Some(sent.id);
    }
    crate::crash_point::reach("prompt-sent");
    checkins::mark_prompted(
        &data.db,
        session.id,
        &key,
        last.map(serenity::MessageId::get),
    )
    .await?;
    Ok(last)
}

/// The one gentle reminder for a check-in left unanswered: the message sent, or None when the
/// check-in is no longer open.
pub async fn nudge(
    http: &serenity::Http,
    data: &Data,
    session_id: i64,
) -> anyhow::Result<Option<serenity::MessageId>> {
    let Some(session) = checkins::get(&data.db, session_id)
        .await?
        .filter(|s| s.status == "open")
    else {
        return Ok(None);
    };
    let channel = dm_channel(http, data, &session).await?;
    let text = format!(
        "A gentle nudge about your **{}**: it is still here whenever you have a few minutes. The question waiting for you is just above, and you can also use the form button.",
        session.flow_title
    );
    let message = serenity::CreateMessage::new()
        .content(text)
        .nonce(serenity::Nonce::String(clip(
            &format!("n{}", session.id),
            25,
        )))
        .enforce_nonce(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    let sent = send::post_message(http, &data.rest, channel, &message)
        .await
        .context("sending a nudge")?;
    Ok(Some(sent.id))
}

/// The DM channel with the person: the session's, else the one stored for the member, else a
/// new one, stored on both.
async fn dm_channel(
    http: &serenity::Http,
    data: &Data,
    session: &CheckinSession,
) -> anyhow::Result<serenity::ChannelId> {
    if let Some(id) = session.dm_channel_id {
        return Ok(serenity::ChannelId::new(discord_id(id)));
    }
    let channel = member_dm(http, data, session.server(), session.person()).await?;
    checkins::set_dm_channel(&data.db, session.id, channel.get()).await?;
    Ok(channel)
}

/// The DM channel with a member of a server: stored once opened, not opened again.
pub async fn member_dm(
    http: &serenity::Http,
    data: &Data,
    server: u64,
    person: u64,
) -> anyhow::Result<serenity::ChannelId> {
    if let Some(id) = members::dm_channel(&data.db, server, person).await? {
        return Ok(serenity::ChannelId::new(id));
    }
    let channel = send::open_dm(http, &data.rest, serenity::UserId::new(person))
        .await
        .context("opening a DM with the person")?;
    members::set_dm_channel(&data.db, server, person, channel.get()).await?;
    Ok(channel)
}

fn question(
    session: &CheckinSession,
    plan: &[flow::Asked],
    position: usize,
    first: bool,
) -> Vec<serenity::CreateMessage> {
    let Some(asked) = plan.get(position) else {
        return Vec::new();
    };
    let mut text = String::new();
    if first && let Some(opener) = &session.opener {
        text.push_str(opener);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "**Question {} of {}**\n{}",
        position + 1,
        plan.len(),
        asked.text
    ));
    let form = serenity::CreateButton::new(format!("{}form:{position}", id_prefix(session.id)))
        .label(if first {
            "Answer in a form instead"
        } else {
            "Answer the rest in a form"
        })
        .style(serenity::ButtonStyle::Secondary);
    vec![
        serenity::CreateMessage::new()
            .content(clip(&text, MESSAGE_CONTENT))
            .components(vec![serenity::CreateActionRow::Buttons(vec![form])]),
    ]
}

fn categories(session: &CheckinSession, position: usize) -> serenity::CreateMessage {
    let buttons: Vec<serenity::CreateButton> = BarrierCategory::ALL
        .iter()
        .map(|c| {
            serenity::CreateButton::new(format!(
                "{}cat:{position}:{}",
                id_prefix(session.id),
                c.key()
            ))
            .label(c.key())
            .style(serenity::ButtonStyle::Secondary)
        })
        .collect();
    let rows = buttons
        .chunks(3)
        .map(|row| serenity::CreateActionRow::Buttons(row.to_vec()))
        .collect();
    serenity::CreateMessage::new()
        .content("Thank you. What kind of barrier is that, mostly?")
        .components(rows)
}

async fn reflection(
    data: &Data,
    session: &CheckinSession,
    plan: &[flow::Asked],
    answers: &[checkin::Answered],
) -> anyhow::Result<Vec<serenity::CreateMessage>> {
    let flow = data.flows.iter().find(|f| f.id == session.flow_id);
    let mut titles = Vec::new();
    for step_id in plan.iter().filter_map(|a| a.step_id) {
        if let Some(step) = steps::get(&data.db, session.server(), step_id).await? {
            titles.push((step.id, step.title));
        }
    }
    let heard: Vec<(flow::Asked, String, Option<String>)> = answers
        .iter()
        .filter_map(|a| {
            plan.get(a.position)
                .map(|q| (q.clone(), a.answer.clone(), a.category.clone()))
        })
        .collect();
    let stem_flow = flow.cloned().unwrap_or_else(|| flow::Flow {
        id: session.flow_id.clone(),
        title: session.flow_title.clone(),
        opener: None,
        questions: Vec::new(),
        reflection: "Here is what I heard:".to_owned(),
    });
    let name = crate::store::members::names(&data.db, session.server())
        .await?
        .remove(&session.person())
        .unwrap_or_default();
    let vars = flow::Vars {
        name: &name,
        school: "",
        last_next_step: None,
    };
    let mut lines = flow::reflect(&stem_flow, &vars, &heard, &titles);
    lines.push(
        "Is that right? **Confirm** to save it, or **Correct** to change one answer.".to_owned(),
    );
    let mut messages: Vec<serenity::CreateMessage> =
        checkin::split_message(&lines, MESSAGE_CONTENT)
            .into_iter()
            .map(|text| serenity::CreateMessage::new().content(text))
            .collect();
    let buttons = vec![
        serenity::CreateButton::new(format!("{}confirm", id_prefix(session.id)))
            .label("Confirm")
            .style(serenity::ButtonStyle::Success),
        serenity::CreateButton::new(format!("{}correct", id_prefix(session.id)))
            .label("Correct")
            .style(serenity::ButtonStyle::Secondary),
    ];
    if let Some(last) = messages.pop() {
        messages.push(last.components(vec![serenity::CreateActionRow::Buttons(buttons)]));
    }
    Ok(messages)
}

/// A DM from a person: the answer to their open check-in's current question.
pub async fn on_dm(
    http: &serenity::Http,
    data: &Data,
    message: &serenity::Message,
) -> anyhow::Result<()> {
    let person = message.author.id.get();
    let lock = data.conversations.lock_for(person);
    let _held = lock.lock().await;
    let Some(session) = checkins::open_for(&data.db, person).await? else {
        let note = "There is no check-in open right now. Your coach (or you, with `/checkin start`) can begin one.";
        message.channel_id.say(http, note).await?;
        return Ok(());
    };
    handle_text(http, data, &session, message.id.get(), &message.content).await?;
    advance(http, data, session.id).await?;
    Ok(())
}

pub(super) async fn handle_text(
    http: &serenity::Http,
    data: &Data,
    session: &CheckinSession,
    message_id: u64,
    text: &str,
) -> anyhow::Result<()> {
    if session
        .last_message_id
        .is_some_and(|seen| discord_id(seen) >= message_id)
    {
        return Ok(());
    }
    let channel = serenity::ChannelId::new(session.dm_channel_id.map_or(0, discord_id));
    let reply = |note: &'static str| async move {
        if channel.get() != 0 {
            channel
                .say(http, note)
                .await
                .map(|_| ())
                .context("replying in DM")
        } else {
            Ok(())
        }
    };
    if Utc::now() > session.expires_at {
        checkins::finish(&data.db, session.id, "expired", Utc::now()).await?;
        return reply(
            "That check-in has closed. Your coach can start a new one whenever you are ready.",
        )
        .await;
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > ANSWER_MAX {
        checkins::see_message(&data.db, session.id, message_id).await?;
        return reply(
            "I could not keep that one: please answer in words, in at most 2,000 characters.",
        )
        .await;
    }
    let plan = session.questions()?;
    let answers: Vec<_> = checkins::answers(&data.db, session.id)
        .await?
        .iter()
        .map(|a| a.answered())
        .collect();
    let position = match session.correcting {
        Some(p) => Some(usize::try_from(p).unwrap_or(usize::MAX)),
        None => {
            match checkin::next(&plan, &answers) {
                Next::Ask(p) => Some(p),
                Next::Categorize(_) => {
                    checkins::see_message(&data.db, session.id, message_id).await?;
                    return reply("Pick one of the buttons above for the kind of barrier, and we will carry on.").await;
                }
                Next::Review => {
                    checkins::see_message(&data.db, session.id, message_id).await?;
                    return reply("Use **Confirm** or **Correct** above to finish this check-in.")
                        .await;
                }
            }
        }
    };
    let Some((position, asked)) = position.and_then(|p| plan.get(p).map(|a| (p, a))) else {
        return Ok(());
    };
    checkins::record_answers(
        &data.db,
        session.id,
        &[NewAnswer {
            position,
            purpose: asked.purpose.key(),
            step_id: asked.step_id,
            answer: text,
            message_id: Some(message_id),
        }],
        Utc::now(),
    )
    .await
}

/// After a restart: reads the DMs each open check-in missed, in order, then sends whatever
/// prompt is still due.
pub async fn catch_up(http: &serenity::Http, data: &Data) -> anyhow::Result<()> {
    for session in checkins::all_open(&data.db).await? {
        let lock = data.conversations.lock_for(session.person());
        let _held = lock.lock().await;
        if let Some(channel) = session.dm_channel_id.map(discord_id) {
            let mut request = serenity::GetMessages::new().limit(100);
            if let Some(after) = session.last_message_id.map(discord_id) {
                request = request.after(serenity::MessageId::new(after));
            }
            let mut missed = serenity::ChannelId::new(channel)
                .messages(http, request)
                .await
                .with_context(|| format!("reading the DMs check-in {} missed", session.id))?;
            missed.sort_by_key(|m| m.id);
            for message in missed
                .iter()
                .filter(|m| m.author.id.get() == session.person())
            {
                // Each turn re-reads the session: an answer moves it on.
                let Some(current) = checkins::get(&data.db, session.id).await? else {
                    break;
                };
                if current.status != "open" {
                    break;
                }
                handle_text(http, data, &current, message.id.get(), &message.content).await?;
            }
        }
        advance(http, data, session.id).await?;
    }
    Ok(())
}
