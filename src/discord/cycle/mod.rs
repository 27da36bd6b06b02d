//! `/cycle`: where a school is in the coaching cycle (assess, debrief, plan, implement,
//! support, re-assess) and moving it on. Everyone with a role at the school reads it; its
//! principal, its coaches and admins move it; going back needs a note saying why.

mod entering;
mod view;

use poise::serenity_prelude as serenity;

use super::scope::{self, Need};
use super::{Context, Error, complete};
use crate::domain::cycle::Stage;
use crate::domain::text::{self, CHOICE_NAME, CHOICES, EMBED_DESCRIPTION, EMBED_TITLE, clip};
use crate::error::UserError;
use crate::store::cycle;

/// The coaching cycle: where a school is, and moving it on
#[poise::command(
    slash_command,
    guild_only,
    subcommands("show", "advance"),
    subcommand_required
)]
pub async fn cycle(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The six stages with their dates, what the current one is for, and every move
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = scope::school(
        &caller,
        school.as_deref(),
        Need::Read,
        "see its coaching cycle",
    )?;
    let db = &ctx.data().db;
    let history = cycle::history(db, &school).await?;
    let framework = scope::framework(ctx, &caller).await?;
    let names = scope::Names::load(ctx, caller.guild_id).await?;
    let body = view::show(
        &history,
        &framework.expected_days,
        school.zone(),
        ctx.data().now(),
        &|id| names.of(id),
    );
    let round = view::round(&history);
    let title = if round > 1 {
        format!("Coaching cycle at {}, round {round}", school.name)
    } else {
        format!("Coaching cycle at {}", school.name)
    };
    let embed = serenity::CreateEmbed::new()
        .title(clip(&title, EMBED_TITLE))
        .description(clip(&body, EMBED_DESCRIPTION));
    ctx.send(poise::CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// Move a school to the next stage (or another one; going back needs a note)
#[poise::command(slash_command, guild_only)]
async fn advance(
    ctx: Context<'_>,
    #[description = "The stage to move to (defaults to the next one)"]
    #[autocomplete = "stage"]
    to: Option<String>,
    #[description = "Why, or what was decided (needed when going back)"] note: Option<String>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let action = "move a school through the coaching cycle";
    let school = scope::school(&caller, school.as_deref(), Need::Read, action)?;
    if !caller.access.may_move_cycle(school.id) {
        return Err(UserError::NotPermitted {
            needed: "the school's principal, its coaches and admins",
            action,
        }
        .into());
    }
    let note = match note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => Some(text::one_line("note", note, view::NOTE_MAX)?),
        None => None,
    };
    let db = &ctx.data().db;
    let current = cycle::current(db, &school).await?;
    let to = match to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(raw) => Stage::parse(raw).ok_or_else(|| UserError::UnknownStage {
            given: clip(raw, 40),
        })?,
        None => current.stage.next(),
    };
    if view::goes_back(current.stage, to) && note.is_none() {
        return Err(UserError::CycleBackNeedsNote {
            school: school.name.clone(),
            from: current.stage.label(),
            to: to.label(),
        }
        .into());
    }
    let now = ctx.data().now();
    cycle::advance(db, &school, to, caller.user_id, note.as_deref(), now).await?;
    let framework = scope::framework(ctx, &caller).await?;
    let extra = entering::entering(db, &framework, &school, to).await?;
    let mut body = format!(
        "Moved from **{}** (after {}).",
        current.stage.label(),
        match current.days_in(now) {
            0 => "less than a day".to_owned(),
            days => text::plural(days, "day"),
        }
    );
    if let Some(note) = &note {
        body.push_str(&format!("\n**Note:** {note}"));
    }
    body.push_str(&format!(
        "\n\n**What it is for:** {}\n**What usually happens next:** {} (usually within {} days)",
        to.purpose(),
        to.what_next(),
        framework.expected_days.of(to)
    ));
    if let Some(extra) = &extra.text {
        body.push_str("\n\n");
        body.push_str(extra);
    }
    body.push_str("\n\n`/cycle show` lists every stage and move.");
    let title = format!("{} is now in {}. {}", school.name, to.number(), to.label());
    let embed = serenity::CreateEmbed::new()
        .title(clip(&title, EMBED_TITLE))
        .description(clip(&body, EMBED_DESCRIPTION));
    ctx.send(
        poise::CreateReply::default()
            .embed(embed)
            .components(extra.components)
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The stages, by number and label, matching what was typed.
async fn stage(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let typed = partial.trim().to_lowercase();
    let choices: Vec<serenity::AutocompleteChoice> = Stage::ALL
        .into_iter()
        .filter(|s| {
            typed.is_empty()
                || s.key().contains(&typed)
                || s.label().to_lowercase().contains(&typed)
                || s.number().to_string() == typed
        })
        .take(CHOICES)
        .map(|s| {
            serenity::AutocompleteChoice::new(
                clip(&format!("{}. {}", s.number(), s.label()), CHOICE_NAME),
                s.key(),
            )
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
