//! The check-in conversation in DM: one question at a time, barrier categories with buttons,
//! the reflection with Confirm / Correct. Every turn is stored before the next prompt goes
//! out. A prompt is queued as outbox rows in the transaction that records it as the
//! session's prompt, then sent at once; a crash between the two leaves the rows for the
//! outbox, and each row's nonce lets Discord drop a resend. Clicks and forms arrive through
//! the Discord layer.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};

use super::Engine;
use super::turns::answered;
use super::{Waiting, prompt};
use crate::domain::checkin::{self, ANSWER_MAX, About, Mark, Next};
use crate::domain::flow::{Purpose, Share};
use crate::domain::ids::{ServerId, StepId, UserId};
use crate::domain::message::Prompt;
use crate::domain::outbox::OutboxMessage;
use crate::domain::plan::BarrierCategory;
use crate::outbound::{Incoming, failure, nonce_for};
use crate::store::checkins::{self, CheckinSession, NewAnswer, SessionStatus};
use crate::store::{discord_id, members, outbox};

/// Queues what the session needs next, unless that prompt was already queued, and sends what
/// of it is not sent yet. Returns the id of the (last) message that carries the prompt,
/// whether sent now or by an earlier attempt. A session that has not started waits (nothing
/// is queued, None) while another of the person's check-ins is in conversation.
pub async fn advance(
    engine: &Engine,
    session_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<u64>> {
    advance_leased_from(engine, session_id, now, now).await
}

/// [`advance`] within an outbox round whose clock has moved on since `now` (a long round):
/// the prompt's lease counts from `lease_from`, the round's clock, as the round's own do.
#[tracing::instrument(skip_all, fields(session = session_id))]
pub async fn advance_leased_from(
    engine: &Engine,
    session_id: i64,
    now: DateTime<Utc>,
    lease_from: DateTime<Utc>,
) -> anyhow::Result<Option<u64>> {
    let Some(session) = checkins::get(&engine.db, session_id).await? else {
        return Ok(None);
    };
    if session.status != SessionStatus::Open {
        return Ok(None);
    }
    let plan = session.questions()?;
    let steps = session.open_steps()?;
    let step_ids: Vec<_> = steps.iter().map(|s| s.id).collect();
    let answers = answered(engine, session.id).await?;
    let (key, prompts) = if let Some(position) = session.correcting {
        let position = usize::try_from(position).unwrap_or(usize::MAX);
        let before = answers
            .iter()
            .find(|a| a.position == position)
            .map_or("", |a| a.answer.as_str());
        (
            format!("fix{position}"),
            vec![prompt::correction(position, before)],
        )
    } else {
        match checkin::next(&plan, &answers, &step_ids) {
            Next::Ask(position) => (
                format!("q{position}"),
                prompt::question(&session, &plan, position, answers.is_empty()),
            ),
            Next::Categorize(position) => (
                format!("k{position}"),
                vec![prompt::categories(&session, position)],
            ),
            Next::Which(position) => (
                format!("w{position}"),
                vec![prompt::which_step(&session, &steps, position)],
            ),
            Next::Review => (
                "review".to_owned(),
                prompt::reflection(engine, &session, &plan, &answers).await?,
            ),
        }
    };
    let lease = checkins::Lease {
        owner: &engine.owner,
        until: lease_from + TimeDelta::from_std(engine.lease).unwrap_or(TimeDelta::seconds(60)),
    };
    let Some((number, fresh)) =
        checkins::queue_prompt(&engine.db, &session, &key, &prompts, &lease, now).await?
    else {
        // It waits: another of the person's check-ins is in conversation.
        return Ok(None);
    };
    let row_key = checkins::prompt_key(session.id, number);
    // A prompt queued now is already leased to this engine; an older one is claimed anew.
    let row = if fresh {
        outbox::by_key(&engine.db, &row_key).await?
    } else {
        outbox::claim_key(&engine.db, &row_key, now, lease.owner, lease.until).await?
    };
    match row {
        Some(row) => send_queued(engine, &row, now).await,
        None => {
            let row = outbox::by_key(&engine.db, &row_key).await?;
            Ok(row.and_then(|r| r.message_id).map(discord_id))
        }
    }
}

/// Sends a prompt row this engine holds now; returns its message id. A failure leaves the row
/// to the outbox, to retry on the same terms as any row.
async fn send_queued(
    engine: &Engine,
    row: &outbox::OutboxRow,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<u64>> {
    let row_key = row.key.as_str();
    let result = match row.message() {
        Ok(OutboxMessage::Prompt {
            session_id,
            messages,
        }) => send_prompt(engine, &row.key, session_id, &messages).await,
        Ok(other) => Err(anyhow::anyhow!(
            "outbox row {row_key} is a {}, not a prompt",
            other.kind()
        )),
        Err(error) => Err(error),
    };
    match result {
        Ok(sent) => {
            outbox::mark_sent(&engine.db, row, sent, now).await?;
            if let Some(person) = row.person_id {
                crate::store::members::reachable(&engine.db, row.server_id, person).await?;
            }
            Ok(sent)
        }
        Err(error) => {
            // The outbox takes it from here, on the same terms as any row.
            let retry = failure::decide(&error, row.attempts, now);
            outbox::record_failure(&engine.db, row, retry, &format!("{error:#}"), now).await?;
            Err(error)
        }
    }
}

/// Sends a prompt's messages to the person, in order, while the check-in is open: the last
/// message's id, or None when the check-in has closed meanwhile. Each message's nonce comes
/// from the row's key, so a retry after a partial send does not repeat what went out.
pub async fn send_prompt(
    engine: &Engine,
    row_key: &str,
    session_id: i64,
    messages: &[Prompt],
) -> anyhow::Result<Option<u64>> {
    let Some(session) = checkins::get(&engine.db, session_id)
        .await?
        .filter(|s| s.status == SessionStatus::Open)
    else {
        return Ok(None);
    };
    let channel = dm_channel(engine, &session).await?;
    let mut last = None;
    for (index, prompt) in messages.iter().enumerate() {
        let nonce = nonce_for(&format!("{row_key}:{index}"));
        let sent = engine
            .outbound
            .post_prompt(channel, prompt, Some(&nonce))
            .await
            .with_context(|| format!("sending check-in {} its prompt {row_key}", session.id))?;
        last = Some(sent);
    }
    crate::crash_point::reach("prompt-sent");
    Ok(last)
}

/// The one gentle reminder for a check-in left unanswered: the message sent, or None when the
/// check-in is no longer open.
pub async fn nudge(engine: &Engine, session_id: i64) -> anyhow::Result<Option<u64>> {
    let Some(session) = checkins::get(&engine.db, session_id)
        .await?
        .filter(|s| s.status == SessionStatus::Open)
    else {
        return Ok(None);
    };
    let channel = dm_channel(engine, &session).await?;
    let text = format!(
        "A gentle nudge about your **{}**: it is still here whenever you have a few minutes. The question waiting for you is just above, and you can also use the form button.",
        session.flow_title
    );
    let sent = engine
        .outbound
        .post_prompt(
            channel,
            &Prompt::text(&text),
            Some(&format!("n{}", session.id)),
        )
        .await
        .context("sending a nudge")?;
    Ok(Some(sent))
}

/// The DM channel with the person: the session's, else the one stored for the member, else a
/// new one, stored on both.
async fn dm_channel(engine: &Engine, session: &CheckinSession) -> anyhow::Result<u64> {
    if let Some(id) = session.dm_channel_id {
        return Ok(discord_id(id));
    }
    let channel = member_dm(engine, session.server(), session.person()).await?;
    checkins::set_dm_channel(&engine.db, session.id, channel).await?;
    Ok(channel)
}

/// The DM channel with a member of a server: stored once opened, not opened again.
pub async fn member_dm(engine: &Engine, server: ServerId, person: UserId) -> anyhow::Result<u64> {
    if let Some(id) = members::dm_channel(&engine.db, server, person).await? {
        return Ok(id);
    }
    let channel = engine
        .outbound
        .open_dm(person)
        .await
        .context("opening a DM with the person")?;
    members::set_dm_channel(&engine.db, server, person, channel).await?;
    Ok(channel)
}

/// A direct message someone sent the bot.
pub struct Dm<'a> {
    pub person: UserId,
    pub channel: u64,
    pub message_id: u64,
    pub text: &'a str,
}

/// Starts the person's next waiting check-in (its first question sent) when none of theirs is
/// in conversation: after one ends, and after a restart. Returns the check-in started. Call
/// with the person's lock held.
pub async fn start_waiting(
    engine: &Engine,
    person: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    if checkins::open_for(&engine.db, person).await?.is_some() {
        return Ok(None);
    }
    // Closing a check-in may have made a scheduled one of theirs due in the outbox.
    engine.wake.notify_one();
    let Some(next) = checkins::next_waiting(&engine.db, person, now).await? else {
        return Ok(None);
    };
    advance(engine, next.id, now).await?;
    Ok(Some(next.id))
}

/// A DM from a person: the answer to the current question of their check-in in conversation
/// ([`checkins::open_for`]). DMs sent while an earlier one is handled wait their turn and are
/// taken in the order they were sent. When the turn ends that check-in, the person's next
/// waiting one starts.
#[tracing::instrument(skip_all, fields(person = %dm.person, message = dm.message_id))]
pub async fn on_dm(engine: &Engine, dm: &Dm<'_>, now: DateTime<Utc>) -> anyhow::Result<()> {
    engine.conversations.hold(
        dm.person,
        dm.message_id,
        Waiting {
            channel: dm.channel,
            text: dm.text.to_owned(),
        },
    );
    let _turn = engine.turn(dm.person).await?;
    for (message_id, waiting) in engine.conversations.take(dm.person) {
        let Some(session) = checkins::open_for(&engine.db, dm.person).await? else {
            // A waiting check-in whose turn it is (its predecessor ended out of sight) starts
            // now; this DM came before its first question, so it answers nothing.
            if start_waiting(engine, dm.person, now).await?.is_some() {
                continue;
            }
            let note = "There is no check-in open right now. Your coach (or you, with `/checkin start`) can begin one.";
            engine.outbound.say(waiting.channel, note).await?;
            // They wrote, and the answer reached them: their DMs are open again.
            crate::store::members::reachable_everywhere(&engine.db, dm.person).await?;
            continue;
        };
        // Someone who writes to the bot can be written to.
        crate::store::members::reachable(&engine.db, session.server(), dm.person).await?;
        handle_text(engine, &session, message_id, &waiting.text, now).await?;
        advance(engine, session.id, now).await?;
        start_waiting(engine, dm.person, now).await?;
    }
    Ok(())
}

/// One DM turn of an open check-in: the answer stored, or a short note on why not.
async fn handle_text(
    engine: &Engine,
    session: &CheckinSession,
    message_id: u64,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if session
        .last_message_id
        .is_some_and(|seen| discord_id(seen) >= message_id)
    {
        return Ok(());
    }
    let channel = session.dm_channel_id.map(discord_id);
    let reply = |note: &'static str| async move {
        if let Some(channel) = channel {
            engine
                .outbound
                .say(channel, note)
                .await
                .map(|_| ())
                .context("replying in DM")
        } else {
            Ok(())
        }
    };
    if now > session.expires_at {
        checkins::finish(&engine.db, session.id, SessionStatus::Expired, now).await?;
        return reply(
            "That check-in has closed. Your coach can start a new one whenever you are ready.",
        )
        .await;
    }
    let text = text.trim();
    if is_stop(text) {
        checkins::see_message(&engine.db, session.id, message_id).await?;
        checkins::finish(&engine.db, session.id, SessionStatus::Skipped, now).await?;
        return reply(STOPPED).await;
    }
    if text.is_empty() || text.chars().count() > ANSWER_MAX {
        checkins::see_message(&engine.db, session.id, message_id).await?;
        return reply(
            "I could not keep that one: please answer in words, in at most 2,000 characters.",
        )
        .await;
    }
    let plan = session.questions()?;
    let step_ids = session.open_step_ids()?;
    let answers = answered(engine, session.id).await?;
    let position = match session.correcting {
        Some(p) => Some(usize::try_from(p).unwrap_or(usize::MAX)),
        None => match checkin::next(&plan, &answers, &step_ids) {
            Next::Ask(p) => Some(p),
            Next::Categorize(p) => {
                checkins::see_message(&engine.db, session.id, message_id).await?;
                // The kind typed as a word ("time") counts as the button.
                if let Some(category) =
                    BarrierCategory::parse(text.trim_matches(|c: char| !c.is_alphanumeric()))
                {
                    return checkins::set_category(&engine.db, session.id, p, category.key(), now)
                        .await;
                }
                return reply(
                    "Pick one of the buttons above for the kind of barrier (or type its word, such as `time`), and we will carry on.",
                )
                .await;
            }
            Next::Which(p) => {
                checkins::see_message(&engine.db, session.id, message_id).await?;
                if let Some(about) = typed_step(text, &step_ids) {
                    return checkins::set_about(&engine.db, session.id, p, about, now).await;
                }
                return reply(
                    "Pick the step that answer is about with the buttons above (or type its number, such as `#4`, or `plan`).",
                )
                .await;
            }
            Next::Review => {
                checkins::see_message(&engine.db, session.id, message_id).await?;
                return reply("Use **Confirm** or **Correct** above to finish this check-in.")
                    .await;
            }
        },
    };
    let Some((position, asked)) = position.and_then(|p| plan.get(p).map(|a| (p, a))) else {
        return Ok(());
    };
    let limit = checkin::answer_limit(asked.purpose);
    let length = text.chars().count();
    if length > limit {
        // Nothing is cut: the person says it again, shorter; the question stays open.
        checkins::see_message(&engine.db, session.id, message_id).await?;
        if let Some(channel) = channel {
            let note = format!(
                "That answer is {length} characters, and what goes on the plan holds {limit}. Could you say it again in fewer words? The question is still open."
            );
            engine
                .outbound
                .say(channel, &note)
                .await
                .context("replying in DM")?;
        }
        return Ok(());
    }
    let flow = engine.flows.iter().find(|f| f.id == session.flow_id);
    checkins::record_answers(
        &engine.db,
        session.id,
        &[new_answer(flow, position, asked, text, Some(message_id))],
        now,
    )
    .await
}

/// What the person is told when they stop a check-in.
pub const STOPPED: &str = "Stopped. Nothing from this check-in was saved, and your answers so far are deleted. Your coach sees only that it was stopped.";

/// Whether a DM asks to stop the check-in: the word `stop` alone (any case, any punctuation).
fn is_stop(text: &str) -> bool {
    let word: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    matches!(
        word.trim().to_lowercase().as_str(),
        "stop" | "stop the checkin" | "stop checkin"
    )
}

/// A step typed instead of clicked: `#4`, `4`, or `plan`.
fn typed_step(text: &str, open_steps: &[StepId]) -> Option<About> {
    let word = text.trim().trim_start_matches('#').trim().to_lowercase();
    if matches!(word.as_str(), "plan" | "the plan" | "the plan as a whole") {
        return Some(About::Plan);
    }
    let id: i64 = word.parse().ok()?;
    open_steps
        .iter()
        .find(|s| s.get() == id)
        .map(|s| About::Step(*s))
}

/// An answer to `asked` as it is stored: shared or private as the flow says, and a barrier
/// answer that says only "nothing" (by the flow's list) marked as such.
pub(crate) fn new_answer<'a>(
    flow: Option<&crate::domain::flow::Flow>,
    position: usize,
    asked: &'a crate::domain::flow::Asked,
    text: &'a str,
    message_id: Option<u64>,
) -> NewAnswer<'a> {
    let nothing =
        asked.purpose == Purpose::Barrier && flow.is_some_and(|f| f.nothing.matches(text));
    NewAnswer {
        position,
        purpose: asked.purpose.key(),
        step_id: asked.step_id,
        answer: text,
        message_id,
        shared: asked.share == Share::Plan,
        mark: nothing.then_some(Mark::Nothing),
    }
}

/// After a restart: reads the DMs each check-in in conversation missed, in order, then sends
/// whatever prompt is still due; then starts each waiting check-in whose predecessor ended
/// while the bot was down.
#[tracing::instrument(skip_all)]
pub async fn catch_up(engine: &Engine, now: DateTime<Utc>) -> anyhow::Result<()> {
    let mut failed = 0usize;
    let open = checkins::all_open(&engine.db).await?;
    // Waiting check-ins read no DMs: the person's DMs before their first question answer
    // another check-in.
    for session in open.iter().filter(|s| s.prompts > 0) {
        // One session that cannot be read (its DM channel gone, Discord down for a moment)
        // does not keep the others from being caught up.
        if let Err(error) = catch_up_one(engine, session, now).await {
            failed += 1;
            tracing::warn!(
                error = format!("{error:#}"),
                session = session.id,
                "catching up a check-in failed; it is tried again at the next connection"
            );
        }
    }
    let waiting: std::collections::BTreeSet<UserId> = open
        .iter()
        .filter(|s| s.prompts == 0)
        .map(CheckinSession::person)
        .collect();
    for person in waiting {
        let started = match engine.turn(person).await {
            Ok(_turn) => start_waiting(engine, person, now).await.map(|_| ()),
            Err(error) => Err(error),
        };
        if let Err(error) = started {
            failed += 1;
            tracing::warn!(
                error = format!("{error:#}"),
                %person,
                "starting a waiting check-in failed; it is tried again at the next connection"
            );
        }
    }
    if failed > 0 {
        tracing::warn!(failed, "some check-ins could not be caught up");
    }
    Ok(())
}

/// Reads what one open check-in missed and answers it, under the person's lock.
async fn catch_up_one(
    engine: &Engine,
    session: &CheckinSession,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let _turn = engine.turn(session.person()).await?;
    // What the person wrote after their last answer, or, before any, after the first question
    // reached them: never what they wrote before this check-in began.
    // (A first question sent without its id known: everything in the channel, as before.)
    let after: Option<Option<u64>> = match session.last_message_id {
        Some(seen) => Some(Some(discord_id(seen))),
        None => outbox::by_key(&engine.db, &checkins::prompt_key(session.id, 1))
            .await?
            .filter(|row| row.status == outbox::OutboxStatus::Sent)
            .map(|row| row.message_id.map(discord_id)),
    };
    if let (Some(channel), Some(after)) = (session.dm_channel_id.map(discord_id), after) {
        let missed: Vec<Incoming> = engine
            .outbound
            .messages_after(channel, after)
            .await
            .with_context(|| format!("reading the DMs check-in {} missed", session.id))?;
        for message in missed.iter().filter(|m| m.author == session.person()) {
            // Each turn re-reads the session: an answer moves it on.
            let Some(current) = checkins::get(&engine.db, session.id).await? else {
                break;
            };
            if current.status != SessionStatus::Open {
                break;
            }
            handle_text(engine, &current, message.id, &message.content, now).await?;
        }
    }
    advance(engine, session.id, now).await.map(drop)
}
