//! The check-in's buttons and forms: barrier categories, Confirm / Correct, the form that
//! answers several questions at once, and the follow-up choices after Confirm.

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use crate::app::App as Data;
use crate::checkin::advance;
use crate::checkin::followup::{FollowUpWhen, follow_up_after};
use crate::checkin::prompt::{self, id_prefix, parse_custom_id};
use crate::checkin::turns::{self, Confirmed};
use crate::domain::checkin::{self, About, Mark, Next};
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::outbound::components;
use crate::store::checkins::{self, CheckinSession, SessionStatus};

/// A click on one of the check-in's buttons.
///
/// Discord waits 3 seconds for the first answer to a click, and the person's lock may be held
/// by an answer still being saved: every click is acknowledged first and answered after the
/// work, except the ones that open a form, which must be the first answer and need no lock.
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let Some((session_id, action)) = parse_custom_id(&interaction.data.custom_id) else {
        return Ok(());
    };
    if let Some(position) = action.strip_prefix("form:") {
        let position: usize = position.parse().context("a form button's position")?;
        return open_form(ctx, data, interaction, session_id, position).await;
    }
    if action == "fu:pick" {
        return open_follow_up_form(ctx, data, interaction, session_id).await;
    }
    interaction
        .defer(ctx)
        .await
        .context("acknowledging a check-in button")?;
    let _turn = data.checkins.turn(interaction.user.id.into()).await?;
    let answer = match clicked(data, interaction, session_id, action).await {
        Ok(answer) => answer,
        Err(error) => {
            // The person is told; nothing they confirmed is lost (each step is one transaction).
            let _ = say(ctx, interaction, SOMETHING_WENT_WRONG).await;
            return Err(error);
        }
    };
    match answer.reply {
        Reply::Update { note, components } => update(ctx, interaction, &note, components).await?,
        Reply::Say(text) => say(ctx, interaction, &text).await?,
    }
    if answer.advance {
        advance(&data.checkins, session_id, data.now()).await?;
    }
    // When the click ended the check-in (Confirm, Stop), the person's next waiting one starts.
    crate::checkin::start_waiting(&data.checkins, interaction.user.id.into(), data.now()).await?;
    Ok(())
}

const SOMETHING_WENT_WRONG: &str =
    "Something went wrong on my side. Your answers so far are kept; please try again in a minute.";

/// What a click is answered with, once its work is done.
struct Answer {
    reply: Reply,
    /// Whether the check-in moves on to its next question afterwards.
    advance: bool,
}

enum Reply {
    /// The clicked message gets a note of what was chosen, and these buttons in place of its own.
    Update {
        note: String,
        components: Vec<serenity::CreateActionRow>,
    },
    /// A note for the person alone.
    Say(String),
}

impl Answer {
    fn update(note: String) -> Self {
        Self {
            reply: Reply::Update {
                note,
                components: Vec::new(),
            },
            advance: true,
        }
    }

    fn say(text: &str) -> Self {
        Self {
            reply: Reply::Say(text.to_owned()),
            advance: false,
        }
    }
}

/// Does what a click asks, under the person's lock.
async fn clicked(
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session_id: i64,
    action: &str,
) -> anyhow::Result<Answer> {
    let Some(session) = checkins::get(&data.db, session_id).await? else {
        return Ok(Answer::say("I cannot find that check-in any more."));
    };
    if session.person() != interaction.user.id.into() {
        return Ok(Answer::say("This check-in belongs to someone else."));
    }
    // Follow-up buttons come after Confirm, on a closed check-in.
    if let Some(choice) = action.strip_prefix("fu:") {
        let days: u64 = choice.parse().context("a follow-up button's days")?;
        let note = match follow_up_after(
            &data.checkins,
            &session,
            FollowUpWhen::Days(days),
            data.now(),
        )
        .await?
        {
            Ok(when) => format!("I will check in with you again on {when}."),
            Err(error) => error.to_string(),
        };
        return Ok(Answer {
            advance: false,
            ..Answer::update(note)
        });
    }
    if session.status != SessionStatus::Open {
        return Ok(Answer::say("This check-in is already closed."));
    }
    let parts: Vec<&str> = action.split(':').collect();
    let answer = match parts.as_slice() {
        ["cat", position, category] => {
            let position: usize = position.parse().context("a category button's position")?;
            let category =
                BarrierCategory::parse(category).context("a category button's category")?;
            turns::categorize(&data.checkins, &session, position, category, data.now()).await?;
            Answer::update(format!("Noted: a **{category}** barrier."))
        }
        ["confirm"] => {
            let Confirmed::Saved {
                updates,
                barriers,
                notes,
            } = turns::confirm(&data.checkins, &session, data.now()).await?
            else {
                return Ok(Answer::say(
                    "There are still questions to answer before this can be saved.",
                ));
            };
            post_to_feed(data, session.id).await;
            let saved = match session.barrier_id {
                Some(id) => format!(
                    "{} on barrier #{id} and {}",
                    crate::domain::text::plural(notes, "root-cause note"),
                    crate::domain::text::plural(updates, "step update")
                ),
                None => format!(
                    "{} and {}",
                    crate::domain::text::plural(updates, "step update"),
                    crate::domain::text::plural(barriers, "barrier")
                ),
            };
            Answer {
                reply: Reply::Update {
                    note: format!(
                        "Saved. {saved} went onto your plan; everything else stays between you and your coach. Thank you. Shall I check in with you again?"
                    ),
                    components: components(&[prompt::follow_up_choices(session.id)]),
                },
                advance: false,
            }
        }
        ["correct"] => {
            let positions = turns::answered_positions(&data.checkins, session.id).await?;
            let buttons = prompt::answers_to_fix(session.id, &positions);
            // The choice replaces Confirm and Correct on the reflection: only the reflection
            // that follows the change can be confirmed.
            Answer {
                reply: Reply::Update {
                    note: "Which answer would you like to change?".to_owned(),
                    components: components(
                        &buttons.chunks(5).map(<[_]>::to_vec).collect::<Vec<_>>(),
                    ),
                },
                advance: false,
            }
        }
        ["skipq", position] | ["nothing", position] => {
            let position: usize = position.parse().context("a question button's position")?;
            if !is_current(data, &session, Next::Ask(position)).await? {
                return Ok(Answer::say("That question is already answered."));
            }
            let (mark, note) = if parts[0] == "skipq" {
                (Mark::Skipped, "Left out.")
            } else {
                (Mark::Nothing, "Noted: nothing in the way.")
            };
            if !turns::mark(&data.checkins, &session, position, mark, data.now()).await? {
                return Ok(Answer::say("I do not know that button."));
            }
            Answer::update(note.to_owned())
        }
        ["stop"] => {
            turns::skip(&data.checkins, session.id, data.now()).await?;
            Answer {
                advance: false,
                ..Answer::update(crate::checkin::conversation::STOPPED.to_owned())
            }
        }
        ["about", position, choice] => {
            let position: usize = position.parse().context("a step button's position")?;
            let about = About::parse(choice).context("a step button's step")?;
            if !is_current(data, &session, Next::Which(position)).await?
                || !turns::about(&data.checkins, &session, position, about, data.now()).await?
            {
                return Ok(Answer::say("That choice is already made."));
            }
            Answer::update(match about {
                About::Plan => "Noted: about the plan as a whole.".to_owned(),
                About::Step(id) => format!("Noted: about step #{id}."),
            })
        }
        ["share", position] | ["keep", position] => {
            let position: usize = position.parse().context("a share button's position")?;
            let shared = parts[0] == "share";
            if !is_current(data, &session, Next::Review).await? {
                return Ok(Answer::say(
                    "Use the buttons on the latest summary of your answers.",
                ));
            }
            turns::share(
                &data.checkins,
                &session,
                Some(&[position]),
                shared,
                data.now(),
            )
            .await?;
            Answer::update(if shared {
                format!("Answer {} will go onto the plan.", position + 1)
            } else {
                format!("Answer {} will stay private.", position + 1)
            })
        }
        ["shareall"] => {
            if !is_current(data, &session, Next::Review).await? {
                return Ok(Answer::say(
                    "Use the buttons on the latest summary of your answers.",
                ));
            }
            turns::share(&data.checkins, &session, None, true, data.now()).await?;
            Answer::update("Every answer that can go onto the plan will.".to_owned())
        }
        ["fix", position] => {
            let position: usize = position.parse().context("a fix button's position")?;
            turns::correct(&data.checkins, &session, position).await?;
            Answer::update(format!("Changing answer {}.", position + 1))
        }
        _ => Answer::say("I do not know that button."),
    };
    Ok(answer)
}

/// Whether the check-in is at `step` now (so an older message's button does not change an
/// answer already given).
async fn is_current(data: &Data, session: &CheckinSession, step: Next) -> anyhow::Result<bool> {
    if session.correcting.is_some() {
        return Ok(false);
    }
    let plan = session.questions()?;
    let steps = session.open_step_ids()?;
    let answers = turns::answered(&data.checkins, session.id).await?;
    Ok(checkin::next(&plan, &answers, &steps) == step)
}

/// The session behind a button that opens a form, if it is the person's and still open.
async fn own_session(
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session_id: i64,
) -> anyhow::Result<Result<CheckinSession, &'static str>> {
    Ok(match checkins::get(&data.db, session_id).await? {
        None => Err("I cannot find that check-in any more."),
        Some(session) if session.person() != interaction.user.id.into() => {
            Err("This check-in belongs to someone else.")
        }
        Some(session) => Ok(session),
    })
}

/// Opens a form with the unanswered questions from `from` on (at most five).
async fn open_form(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session_id: i64,
    from: usize,
) -> anyhow::Result<()> {
    let session = match own_session(data, interaction, session_id).await? {
        Ok(session) if session.status == SessionStatus::Open => session,
        Ok(_) => return first_answer(ctx, interaction, "This check-in is already closed.").await,
        Err(why) => return first_answer(ctx, interaction, why).await,
    };
    let Some(form) = turns::form(&data.checkins, &session, from).await? else {
        return first_answer(ctx, interaction, "Those questions are answered already.").await;
    };
    let rows: Vec<serenity::CreateActionRow> = form
        .inputs
        .iter()
        .map(|input| {
            serenity::CreateActionRow::InputText(
                serenity::CreateInputText::new(
                    serenity::InputTextStyle::Paragraph,
                    input.label.clone(),
                    input.id.clone(),
                )
                .placeholder(input.placeholder.clone())
                .max_length(u16::try_from(input.max_length).unwrap_or(u16::MAX)),
            )
        })
        .collect();
    let modal = serenity::CreateModal::new(form.id, form.title).components(rows);
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Modal(modal))
        .await
        .context("opening the check-in form")
}

/// "Pick a date" after Confirm: a form for when to check in again.
async fn open_follow_up_form(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session_id: i64,
) -> anyhow::Result<()> {
    if let Err(why) = own_session(data, interaction, session_id).await? {
        return first_answer(ctx, interaction, why).await;
    }
    let input = serenity::CreateInputText::new(
        serenity::InputTextStyle::Short,
        "When? (2026-12-07, friday, in 3 weeks)",
        "date",
    )
    .placeholder("in 3 weeks")
    .max_length(40);
    let modal =
        serenity::CreateModal::new(format!("{}fupick", id_prefix(session_id)), "Check in again")
            .components(vec![serenity::CreateActionRow::InputText(input)]);
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Modal(modal))
        .await
        .context("opening the follow-up form")
}

/// A submitted check-in form: its answers are stored exactly as DM answers would be. The form
/// is acknowledged first; the next question follows as a message.
pub async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ModalInteraction,
) -> anyhow::Result<()> {
    let Some((session_id, action)) = parse_custom_id(&interaction.data.custom_id) else {
        return Ok(());
    };
    interaction
        .defer(ctx)
        .await
        .context("acknowledging a check-in form")?;
    let result = if action == "fupick" {
        follow_up_picked(ctx, data, interaction, session_id).await
    } else {
        form_submitted(ctx, data, interaction, session_id).await
    };
    if result.is_err() {
        let _ = follow_up_message(ctx, interaction, SOMETHING_WENT_WRONG).await;
    }
    result
}

async fn form_submitted(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ModalInteraction,
    session_id: i64,
) -> anyhow::Result<()> {
    let _turn = data.checkins.turn(interaction.user.id.into()).await?;
    let Some(session) = checkins::get(&data.db, session_id)
        .await?
        .filter(|s| s.status == SessionStatus::Open && s.person() == interaction.user.id.into())
    else {
        return follow_up_message(ctx, interaction, "This check-in is already closed.").await;
    };
    let given: Vec<(String, String)> = interaction
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .filter_map(|component| match component {
            serenity::ActionRowComponent::InputText(input) => input
                .value
                .clone()
                .map(|value| (input.custom_id.clone(), value)),
            _ => None,
        })
        .collect();
    turns::answer_form(&data.checkins, &session, &given, data.now()).await?;
    advance(&data.checkins, session.id, data.now()).await?;
    Ok(())
}

/// The date typed into the follow-up form.
async fn follow_up_picked(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ModalInteraction,
    session_id: i64,
) -> anyhow::Result<()> {
    let typed = interaction
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            serenity::ActionRowComponent::InputText(input) if input.custom_id == "date" => {
                input.value.clone()
            }
            _ => None,
        })
        .unwrap_or_default();
    let session = checkins::get(&data.db, session_id)
        .await?
        .filter(|s| s.person() == interaction.user.id.into());
    let text = match session {
        Some(session) => match follow_up_after(
            &data.checkins,
            &session,
            FollowUpWhen::Typed(&typed),
            data.now(),
        )
        .await?
        {
            Ok(when) => format!("I will check in with you again on {when}."),
            Err(error) => error.to_string(),
        },
        None => "This check-in belongs to someone else.".to_owned(),
    };
    follow_up_message(ctx, interaction, &text).await
}

/// A message after an acknowledged form.
async fn follow_up_message(
    ctx: &serenity::Context,
    interaction: &serenity::ModalInteraction,
    text: &str,
) -> anyhow::Result<()> {
    interaction
        .create_followup(
            ctx,
            serenity::CreateInteractionResponseFollowup::new().content(text),
        )
        .await
        .map(drop)
        .context("answering a check-in form")
}

/// The first answer to a click, for the person alone.
async fn first_answer(
    ctx: &serenity::Context,
    interaction: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true);
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await
        .context("answering a button")
}

/// A note for the person alone, after the click was acknowledged.
async fn say(
    ctx: &serenity::Context,
    interaction: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    interaction
        .create_followup(
            ctx,
            serenity::CreateInteractionResponseFollowup::new()
                .content(text)
                .ephemeral(true),
        )
        .await
        .map(drop)
        .context("answering a button")
}

/// Replaces the clicked message's buttons with `components` and adds a short note of what was
/// chosen.
async fn update(
    ctx: &serenity::Context,
    interaction: &serenity::ComponentInteraction,
    note: &str,
    components: Vec<serenity::CreateActionRow>,
) -> anyhow::Result<()> {
    let edit = serenity::EditInteractionResponse::new()
        .content(clip(
            &format!("{}\n{note}", interaction.message.content),
            MESSAGE_CONTENT,
        ))
        .components(components);
    interaction
        .edit_response(ctx, edit)
        .await
        .map(drop)
        .context("answering a button")
}

/// Sends the team-feed post the confirm queued (if it queued one) now, so the team need not
/// wait for the scheduler's next round. It is saved: if this fails, the outbox sends it later,
/// once.
async fn post_to_feed(data: &Data, session_id: i64) {
    let key = crate::domain::feed::key(session_id);
    if let Err(error) = data.scheduler().deliver_key(&key, data.now()).await {
        tracing::warn!(
            error = format!("{error:#}"),
            key = %key,
            "could not post to the team feed yet; the outbox will"
        );
    }
}
