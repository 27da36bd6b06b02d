//! The check-in's buttons and forms: barrier categories, Confirm / Correct, the form that
//! answers several questions at once, and the follow-up choices after Confirm.

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use crate::app::App as Data;
use crate::checkin::advance;
use crate::checkin::followup::{FollowUpWhen, follow_up_after};
use crate::checkin::prompt::{self, id_prefix, parse_custom_id};
use crate::checkin::turns::{self, Confirmed};
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::outbound::components;
use crate::store::checkins::{self, CheckinSession, SessionStatus};

/// A click on one of the check-in's buttons.
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let Some((session_id, action)) = parse_custom_id(&interaction.data.custom_id) else {
        return Ok(());
    };
    let lock = data
        .checkins
        .conversations
        .lock_for(interaction.user.id.into());
    let _held = lock.lock().await;
    let Some(session) = checkins::get(&data.db, session_id).await? else {
        return say(ctx, interaction, "I cannot find that check-in any more.").await;
    };
    if session.person() != interaction.user.id.into() {
        return say(ctx, interaction, "This check-in belongs to someone else.").await;
    }
    // Follow-up buttons come after Confirm, on a closed check-in.
    if let Some(choice) = action.strip_prefix("fu:") {
        return follow_up_button(ctx, data, interaction, &session, choice).await;
    }
    if session.status != SessionStatus::Open {
        return say(ctx, interaction, "This check-in is already closed.").await;
    }
    let parts: Vec<&str> = action.split(':').collect();
    match parts.as_slice() {
        ["cat", position, category] => {
            let position: usize = position.parse().context("a category button's position")?;
            let category =
                BarrierCategory::parse(category).context("a category button's category")?;
            turns::categorize(&data.checkins, &session, position, category, data.now()).await?;
            update(
                ctx,
                interaction,
                &format!("Noted: a **{category}** barrier."),
            )
            .await?;
        }
        ["confirm"] => {
            let Confirmed::Saved { updates, barriers } =
                turns::confirm(&data.checkins, &session, data.now()).await?
            else {
                return say(
                    ctx,
                    interaction,
                    "There are still questions to answer before this can be saved.",
                )
                .await;
            };
            update_with(
                ctx,
                interaction,
                &format!("Saved. {updates} step update(s) and {barriers} barrier(s) are on your plan now, and your coach can see this check-in. Thank you. Shall I check in with you again?"),
                components(&[prompt::follow_up_choices(session.id)]),
            )
            .await?;
            return Ok(());
        }
        ["correct"] => {
            let positions = turns::answered_positions(&data.checkins, session.id).await?;
            let buttons = prompt::answers_to_fix(session.id, &positions);
            let rows = components(&buttons.chunks(5).map(<[_]>::to_vec).collect::<Vec<_>>());
            let message = serenity::CreateInteractionResponseMessage::new()
                .content("Which answer would you like to change?")
                .components(rows);
            interaction
                .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
        ["fix", position] => {
            let position: usize = position.parse().context("a fix button's position")?;
            turns::correct(&data.checkins, &session, position).await?;
            update(
                ctx,
                interaction,
                &format!("Changing answer {}.", position + 1),
            )
            .await?;
        }
        ["form", position] => {
            let position: usize = position.parse().context("a form button's position")?;
            return open_form(ctx, data, interaction, &session, position).await;
        }
        _ => return say(ctx, interaction, "I do not know that button.").await,
    }
    advance(&data.checkins, session.id, data.now()).await?;
    Ok(())
}

/// Opens a form with the unanswered questions from `from` on (at most five).
async fn open_form(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session: &CheckinSession,
    from: usize,
) -> anyhow::Result<()> {
    let Some(form) = turns::form(&data.checkins, session, from).await? else {
        return say(ctx, interaction, "Those questions are answered already.").await;
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

/// "Check in again in 1 week / 2 weeks / pick a date" after Confirm.
async fn follow_up_button(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session: &CheckinSession,
    choice: &str,
) -> anyhow::Result<()> {
    if choice == "pick" {
        let input = serenity::CreateInputText::new(
            serenity::InputTextStyle::Short,
            "When? (2026-12-07, friday, in 3 weeks)",
            "date",
        )
        .placeholder("in 3 weeks")
        .max_length(40);
        let modal = serenity::CreateModal::new(
            format!("{}fupick", id_prefix(session.id)),
            "Check in again",
        )
        .components(vec![serenity::CreateActionRow::InputText(input)]);
        return interaction
            .create_response(ctx, serenity::CreateInteractionResponse::Modal(modal))
            .await
            .context("opening the follow-up form");
    }
    let days: u64 = choice.parse().context("a follow-up button's days")?;
    let note = match follow_up_after(
        &data.checkins,
        session,
        FollowUpWhen::Days(days),
        data.now(),
    )
    .await?
    {
        Ok(when) => format!("I will check in with you again on {when}."),
        Err(error) => error.to_string(),
    };
    update(ctx, interaction, &note).await
}

/// A submitted check-in form: its answers are stored exactly as DM answers would be.
pub async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ModalInteraction,
) -> anyhow::Result<()> {
    let Some((session_id, action)) = parse_custom_id(&interaction.data.custom_id) else {
        return Ok(());
    };
    if action == "fupick" {
        return follow_up_picked(ctx, data, interaction, session_id).await;
    }
    let lock = data
        .checkins
        .conversations
        .lock_for(interaction.user.id.into());
    let _held = lock.lock().await;
    let Some(session) = checkins::get(&data.db, session_id)
        .await?
        .filter(|s| s.status == SessionStatus::Open && s.person() == interaction.user.id.into())
    else {
        let message = serenity::CreateInteractionResponseMessage::new()
            .content("This check-in is already closed.");
        interaction
            .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
            .await?;
        return Ok(());
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
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Acknowledge)
        .await?;
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
    let message = serenity::CreateInteractionResponseMessage::new().content(text);
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await
        .context("answering the follow-up form")
}

async fn say(
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

/// Replaces the clicked message's buttons with a short note of what was chosen.
async fn update(
    ctx: &serenity::Context,
    interaction: &serenity::ComponentInteraction,
    note: &str,
) -> anyhow::Result<()> {
    update_with(ctx, interaction, note, Vec::new()).await
}

/// Like [`update`], with new buttons in place of the old.
async fn update_with(
    ctx: &serenity::Context,
    interaction: &serenity::ComponentInteraction,
    note: &str,
    components: Vec<serenity::CreateActionRow>,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(clip(
            &format!("{}\n{note}", interaction.message.content),
            MESSAGE_CONTENT,
        ))
        .components(components);
    interaction
        .create_response(
            ctx,
            serenity::CreateInteractionResponse::UpdateMessage(message),
        )
        .await
        .context("answering a button")
}
