//! The check-in's buttons and forms: barrier categories, Confirm / Correct, the form that
//! answers several questions at once, and the follow-up choices after Confirm.

use anyhow::Context as _;
use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::conversation::{advance, id_prefix};
use crate::discord::Data;
use crate::domain::checkin::{self, ANSWER_MAX, Next};
use crate::domain::flow;
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::checkins::{self, CheckinSession, NewAnswer};

/// Questions a form can hold (Discord's limit on inputs per modal).
const FORM_INPUTS: usize = 5;

/// A click on one of the check-in's buttons.
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let Some((session_id, action)) = parse_custom_id(&interaction.data.custom_id) else {
        return Ok(());
    };
    let lock = data.conversations.lock_for(interaction.user.id.get());
    let _held = lock.lock().await;
    let Some(session) = checkins::get(&data.db, session_id).await? else {
        return say(ctx, interaction, "I cannot find that check-in any more.").await;
    };
    if session.person() != interaction.user.id.get() {
        return say(ctx, interaction, "This check-in belongs to someone else.").await;
    }
    // Follow-up buttons come after Confirm, on a closed check-in.
    if let Some(choice) = action.strip_prefix("fu:") {
        return follow_up_button(ctx, data, interaction, &session, choice).await;
    }
    if session.status != "open" {
        return say(ctx, interaction, "This check-in is already closed.").await;
    }
    let plan = session.questions()?;
    let parts: Vec<&str> = action.split(':').collect();
    match parts.as_slice() {
        ["cat", position, category] => {
            let position: usize = position.parse().context("a category button's position")?;
            let category =
                BarrierCategory::parse(category).context("a category button's category")?;
            checkins::set_category(&data.db, session.id, position, category.key(), Utc::now())
                .await?;
            update(
                ctx,
                interaction,
                &format!("Noted: a **{category}** barrier."),
            )
            .await?;
        }
        ["confirm"] => {
            let answers: Vec<_> = checkins::answers(&data.db, session.id)
                .await?
                .iter()
                .map(|a| a.answered())
                .collect();
            if checkin::next(&plan, &answers) != Next::Review {
                return say(
                    ctx,
                    interaction,
                    "There are still questions to answer before this can be saved.",
                )
                .await;
            }
            let outcomes = checkin::outcomes(&plan, &answers);
            checkins::confirm(&data.db, &session, &outcomes, Utc::now()).await?;
            let updates = outcomes
                .iter()
                .filter(|o| matches!(o, checkin::Outcome::StepUpdate { .. }))
                .count();
            let barriers = outcomes.len() - updates;
            let prefix = id_prefix(session.id);
            let buttons = vec![
                serenity::CreateButton::new(format!("{prefix}fu:7"))
                    .label("Check in again in 1 week")
                    .style(serenity::ButtonStyle::Secondary),
                serenity::CreateButton::new(format!("{prefix}fu:14"))
                    .label("In 2 weeks")
                    .style(serenity::ButtonStyle::Secondary),
                serenity::CreateButton::new(format!("{prefix}fu:pick"))
                    .label("Pick a date")
                    .style(serenity::ButtonStyle::Secondary),
            ];
            update_with(
                ctx,
                interaction,
                &format!("Saved. {updates} step update(s) and {barriers} barrier(s) are on your plan now, and your coach can see this check-in. Thank you. Shall I check in with you again?"),
                vec![serenity::CreateActionRow::Buttons(buttons)],
            )
            .await?;
            return Ok(());
        }
        ["correct"] => {
            let answers = checkins::answers(&data.db, session.id).await?;
            let buttons: Vec<serenity::CreateButton> = answers
                .iter()
                .take(25)
                .map(|a| {
                    serenity::CreateButton::new(format!(
                        "{}fix:{}",
                        id_prefix(session.id),
                        a.position
                    ))
                    .label(format!("{}", a.position + 1))
                    .style(serenity::ButtonStyle::Secondary)
                })
                .collect();
            let rows = buttons
                .chunks(5)
                .map(|r| serenity::CreateActionRow::Buttons(r.to_vec()))
                .collect();
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
            checkins::set_correcting(&data.db, session.id, Some(position)).await?;
            update(
                ctx,
                interaction,
                &format!("Changing answer {}.", position + 1),
            )
            .await?;
        }
        ["form", position] => {
            let position: usize = position.parse().context("a form button's position")?;
            return open_form(ctx, data, interaction, &session, &plan, position).await;
        }
        _ => return say(ctx, interaction, "I do not know that button.").await,
    }
    advance(&ctx.http, data, session.id).await?;
    Ok(())
}

/// Opens a form with the unanswered questions from `from` on (at most five).
async fn open_form(
    ctx: &serenity::Context,
    data: &Data,
    interaction: &serenity::ComponentInteraction,
    session: &CheckinSession,
    plan: &[flow::Asked],
    from: usize,
) -> anyhow::Result<()> {
    let answered: Vec<usize> = checkins::answers(&data.db, session.id)
        .await?
        .iter()
        .map(|a| a.answered().position)
        .collect();
    let open: Vec<usize> = (from..plan.len())
        .filter(|p| !answered.contains(p))
        .take(FORM_INPUTS)
        .collect();
    let Some(first) = open.first() else {
        return say(ctx, interaction, "Those questions are answered already.").await;
    };
    let rows: Vec<serenity::CreateActionRow> = open
        .iter()
        .filter_map(|p| plan.get(*p).map(|a| (p, a)))
        .map(|(p, asked)| {
            let label = clip(&format!("{}. {}", p + 1, asked.text), 45);
            serenity::CreateActionRow::InputText(
                serenity::CreateInputText::new(
                    serenity::InputTextStyle::Paragraph,
                    label,
                    format!("q{p}"),
                )
                .placeholder(clip(&asked.text, 100))
                .max_length(u16::try_from(ANSWER_MAX).unwrap_or(u16::MAX)),
            )
        })
        .collect();
    let total = plan.len().saturating_sub(answered.len());
    let title = clip(
        &format!("{} ({} of {total} left)", session.flow_title, open.len()),
        45,
    );
    let modal = serenity::CreateModal::new(format!("{}form:{first}", id_prefix(session.id)), title)
        .components(rows);
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
    let note = match follow_up_in(data, session, FollowUpWhen::Days(days)).await? {
        Ok(when) => format!("I will check in with you again on {when}."),
        Err(error) => error.to_string(),
    };
    update(ctx, interaction, &note).await
}

enum FollowUpWhen<'a> {
    Days(u64),
    Typed(&'a str),
}

/// Schedules the follow-up; the text says when, or what was wrong with the date.
async fn follow_up_in(
    data: &Data,
    session: &CheckinSession,
    when: FollowUpWhen<'_>,
) -> anyhow::Result<Result<String, crate::error::UserError>> {
    let Some(school) =
        crate::store::schools::get(&data.db, session.server(), session.school_id).await?
    else {
        return Ok(Err(crate::error::UserError::NoSchools));
    };
    let zone = crate::discord::scope::zone(&school);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let date = match when {
        FollowUpWhen::Days(days) => today
            .checked_add_days(chrono::Days::new(days))
            .unwrap_or(today),
        FollowUpWhen::Typed(text) => {
            match crate::domain::dates::parse_due(text, today, &school.time_zone) {
                Ok(date) => date,
                Err(error) => return Ok(Err(error)),
            }
        }
    };
    // Back to the step the check-in ended on, if it was about one; else the same flow again.
    let step = session.questions()?.iter().rev().find_map(|a| a.step_id);
    let flow_id = if step.is_some() {
        crate::discord::followup::STEP_FOLLOWUP
    } else {
        session.flow_id.as_str()
    };
    let time = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let saved = crate::discord::followup::schedule_followup(
        data,
        &crate::discord::followup::FollowUp {
            school: &school,
            date,
            time,
            flow_id,
            person_id: Some(session.person()),
            step_id: step,
            created_by: session.person(),
        },
    )
    .await?;
    Ok(saved.map(|s| {
        s.next_fire_at
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%A %-d %B at %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }))
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
    let lock = data.conversations.lock_for(interaction.user.id.get());
    let _held = lock.lock().await;
    let Some(session) = checkins::get(&data.db, session_id)
        .await?
        .filter(|s| s.status == "open" && s.person() == interaction.user.id.get())
    else {
        let message = serenity::CreateInteractionResponseMessage::new()
            .content("This check-in is already closed.");
        interaction
            .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
            .await?;
        return Ok(());
    };
    let plan = session.questions()?;
    let mut given: Vec<(usize, String)> = Vec::new();
    for row in &interaction.data.components {
        for component in &row.components {
            if let serenity::ActionRowComponent::InputText(input) = component
                && let Some(position) = input
                    .custom_id
                    .strip_prefix('q')
                    .and_then(|p| p.parse::<usize>().ok())
                && let Some(value) = input
                    .value
                    .as_deref()
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            {
                given.push((position, value.chars().take(ANSWER_MAX).collect()));
            }
        }
    }
    let answers: Vec<NewAnswer<'_>> = given
        .iter()
        .filter_map(|(position, text)| {
            plan.get(*position).map(|asked| NewAnswer {
                position: *position,
                purpose: asked.purpose.key(),
                step_id: asked.step_id,
                answer: text,
                message_id: None,
            })
        })
        .collect();
    checkins::record_answers(&data.db, session.id, &answers, Utc::now()).await?;
    interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Acknowledge)
        .await?;
    advance(&ctx.http, data, session.id).await?;
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
        .filter(|s| s.person() == interaction.user.id.get());
    let text = match session {
        Some(session) => match follow_up_in(data, &session, FollowUpWhen::Typed(&typed)).await? {
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

fn parse_custom_id(custom_id: &str) -> Option<(i64, &str)> {
    let rest = custom_id.strip_prefix("ci:")?;
    let (id, action) = rest.split_once(':')?;
    Some((id.parse().ok()?, action))
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
