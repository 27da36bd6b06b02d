//! `/indicator`: the framework's indicators, a school's focus, and its level over time.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Names, Need};
use super::{Context, Error, complete};
use crate::domain::framework::{Framework, Indicator, Level};
use crate::domain::plan;
use crate::domain::text::{EMBED_DESCRIPTION, EMBED_FIELD_VALUE};
use crate::error::UserError;
use crate::store::indicators::{self, FocusIndicator};
use crate::store::schools::School;
use crate::store::steps::{self, StepFilter};

/// Indicators of the framework, and where your school stands on them
#[poise::command(
    slash_command,
    guild_only,
    subcommands("list", "focus", "level", "show"),
    subcommand_required
)]
pub async fn indicator(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The five levels, as a choice.
#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum LevelChoice {
    #[name = "Getting Aware"]
    GettingAware,
    #[name = "Getting Ready"]
    GettingReady,
    #[name = "Getting Started"]
    GettingStarted,
    #[name = "Getting Better"]
    GettingBetter,
    #[name = "Keep Improving"]
    KeepImproving,
}

impl From<LevelChoice> for Level {
    fn from(choice: LevelChoice) -> Self {
        match choice {
            LevelChoice::GettingAware => Level::GettingAware,
            LevelChoice::GettingReady => Level::GettingReady,
            LevelChoice::GettingStarted => Level::GettingStarted,
            LevelChoice::GettingBetter => Level::GettingBetter,
            LevelChoice::KeepImproving => Level::KeepImproving,
        }
    }
}

/// The framework's practices and indicators, marking your school's focus
#[poise::command(slash_command, guild_only)]
async fn list(
    ctx: Context<'_>,
    #[description = "Whose focus to mark (defaults to your school)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let framework = scope::framework(ctx, &caller).await?;
    // Marking a school's focus is a bonus: without a school, list the framework alone.
    let school = match school.as_deref() {
        Some(name) => Some(scope::school(
            &caller,
            Some(name),
            Need::Read,
            "see its plan",
        )?),
        None => scope::school(&caller, None, Need::Read, "see its plan").ok(),
    };
    let focus = match &school {
        Some(school) => indicators::for_school(&ctx.data().db, caller.guild_id, school.id).await?,
        None => Vec::new(),
    };
    let mut lines = Vec::new();
    if let Some(school) = &school {
        lines.push(format!(
            "Focus indicators of **{}** are marked ★.",
            school.name
        ));
    }
    for practice in &framework.practices {
        lines.push(format!("**Practice {} · {}**", practice.id, practice.name));
        for indicator in &practice.indicators {
            let mark = focus
                .iter()
                .find(|f| f.indicator_id == indicator.id)
                .map(|f| {
                    let level = f.level.as_deref().and_then(Level::parse);
                    format!(" ★ {}", level.map_or("level not set yet", Level::label))
                })
                .unwrap_or_default();
            lines.push(format!("`{}` {}{mark}", indicator.id, indicator.name));
        }
    }
    let embed = serenity::CreateEmbed::new()
        .title(crate::domain::text::clip(
            &framework.name,
            crate::domain::text::EMBED_TITLE,
        ))
        .description(scope::fit_lines_see(
            &lines,
            EMBED_DESCRIPTION,
            "`/indicator show` shows any one of them",
        ));
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

fn find<'f>(framework: &'f Framework, id: &str) -> Result<&'f Indicator, UserError> {
    framework
        .indicator(id)
        .ok_or_else(|| UserError::UnknownIndicator {
            given: crate::domain::text::clip(id.trim(), 40),
        })
}

/// Make an indicator one of your school's focus indicators
#[poise::command(slash_command, guild_only)]
async fn focus(
    ctx: Context<'_>,
    #[description = "The indicator to focus on"]
    #[autocomplete = "complete::indicator"]
    indicator: String,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = scope::school(
        &caller,
        school.as_deref(),
        Need::Edit,
        "choose its focus indicators",
    )?;
    let framework = scope::framework(ctx, &caller).await?;
    let indicator = find(&framework, &indicator)?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let (title, by) = (indicator.title(), names.of(caller.user_id));
    let line = |_: i64| format!("New focus indicator: {title} (added by {by}).");
    let announcement = scope::announcement(ctx, &school, &line).await;
    let (_, added) = indicators::focus(
        &ctx.data().db,
        caller.guild_id,
        school.id,
        &indicator.id,
        caller.user_id,
        ctx.data().now(),
        announcement.as_ref(),
    )
    .await?;
    let reply = if added {
        format!(
            "**{}** now focuses on **{}**. Record where it stands with `/indicator level`.",
            school.name,
            indicator.title()
        )
    } else {
        format!(
            "**{}** already focuses on **{}**.",
            school.name,
            indicator.title()
        )
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    if added {
        scope::announce(ctx, announcement.as_ref()).await;
    }
    Ok(())
}

/// Record where your school stands on a focus indicator, with the evidence
#[poise::command(slash_command, guild_only)]
async fn level(
    ctx: Context<'_>,
    #[description = "One of your school's focus indicators"]
    #[autocomplete = "complete::indicator"]
    indicator: String,
    #[description = "Where the school stands now"] level: LevelChoice,
    #[description = "What shows it: the evidence (optional)"] note: Option<String>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let note = note.as_deref().map(|n| plan::note("note", n)).transpose()?;
    let caller = scope::caller(ctx).await?;
    let action = "record its levels";
    let school = scope::school(&caller, school.as_deref(), Need::Edit, action)?;
    let framework = scope::framework(ctx, &caller).await?;
    let indicator = find(&framework, &indicator)?;
    let db = &ctx.data().db;
    let focus = indicators::find(db, caller.guild_id, school.id, &indicator.id)
        .await?
        .ok_or_else(|| UserError::NotAFocus {
            indicator: indicator.title(),
            school: school.name.clone(),
        })?;
    let level = Level::from(level);
    let names = Names::load(ctx, caller.guild_id).await?;
    let (title, by) = (indicator.title(), names.of(caller.user_id));
    let line = |_: i64| format!("{title} is now at {} (recorded by {by}).", level.label());
    let announcement = scope::announcement(ctx, &school, &line).await;
    indicators::set_level(
        db,
        &focus,
        level.key(),
        note.as_deref(),
        caller.user_id,
        ctx.data().now(),
        announcement.as_ref(),
    )
    .await?;
    let reply = format!(
        "Recorded: **{}** is at **{}** ({}) on {}.\n> {}",
        school.name,
        level.label(),
        level.phase(),
        indicator.title(),
        indicator.descriptor(level)
    );
    scope::say(ctx, reply).await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}

/// What `/indicator show` says of an indicator the school does not focus on: how to add it,
/// and what each level looks like.
fn not_a_focus(indicator: &Indicator, school: &School) -> String {
    let levels: Vec<String> = Level::ALL
        .iter()
        .map(|l| {
            format!(
                "**{}** ({}): {}",
                l.label(),
                l.phase(),
                indicator.descriptor(*l)
            )
        })
        .collect();
    scope::fit_lines(
        &[
            vec![format!(
                "Not one of {}'s focus indicators. Add it with `/indicator focus`.",
                school.name
            )],
            levels,
        ]
        .concat(),
        EMBED_DESCRIPTION,
    )
}

/// The levels recorded for a focus indicator, newest first: when, which level, who, why.
async fn history_lines(
    ctx: Context<'_>,
    focus: &FocusIndicator,
    names: &Names,
    zone: chrono_tz::Tz,
) -> Result<Vec<String>, Error> {
    Ok(indicators::history(&ctx.data().db, focus)
        .await?
        .iter()
        .map(|change| {
            let label = Level::label_for(&change.level);
            let note = change
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            format!(
                "{} · **{label}** · {}{note}",
                scope::local_time(change.set_at, zone),
                names.of(change.set_by)
            )
        })
        .collect())
}

/// The school's steps under an indicator, one a line.
async fn step_lines(
    ctx: Context<'_>,
    school: &School,
    indicator: &Indicator,
) -> Result<Vec<String>, Error> {
    let filter = StepFilter {
        school_id: Some(school.id),
        indicator_id: Some(&indicator.id),
        ..StepFilter::default()
    };
    Ok(steps::list(&ctx.data().db, school.server_id, &filter)
        .await?
        .iter()
        .map(|s| {
            format!(
                "#{} · {} — {}, due {}",
                s.id,
                s.title,
                s.status.label(),
                scope::day(s.due_on)
            )
        })
        .collect())
}

/// An indicator's current level, what it looks like, its history and the steps under it
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "The indicator"]
    #[autocomplete = "complete::indicator"]
    indicator: String,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = scope::school(&caller, school.as_deref(), Need::Read, "see its plan")?;
    let framework = scope::framework(ctx, &caller).await?;
    let indicator = find(&framework, &indicator)?;
    let db = &ctx.data().db;
    let focus: Option<FocusIndicator> =
        indicators::find(db, caller.guild_id, school.id, &indicator.id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let zone = scope::zone(&school);
    let mut embed =
        serenity::CreateEmbed::new().title(format!("{} — {}", indicator.title(), school.name));
    let Some(focus) = focus else {
        let embed = embed.description(not_a_focus(indicator, &school));
        ctx.send(CreateReply::default().embed(embed).ephemeral(true))
            .await?;
        return Ok(());
    };
    let current = focus.level.as_deref().and_then(Level::parse);
    embed = embed.description(match current {
        Some(level) => format!(
            "Now at **{}** ({}).\n> {}",
            level.label(),
            level.phase(),
            indicator.descriptor(level)
        ),
        None => "No level recorded yet: use `/indicator level`.".to_owned(),
    });
    let history = history_lines(ctx, &focus, &names, zone).await?;
    if !history.is_empty() {
        embed = embed.field(
            "History (newest first)",
            scope::fit_lines_see(
                &history,
                EMBED_FIELD_VALUE,
                "a coach's `/export` has them all",
            ),
            false,
        );
    }
    let lines = step_lines(ctx, &school, indicator).await?;
    embed = embed.field(
        "Steps",
        if lines.is_empty() {
            "None yet: add one with `/step add`.".to_owned()
        } else {
            scope::fit_lines_see(
                &lines,
                EMBED_FIELD_VALUE,
                "`/step list` with `indicator` lists them all",
            )
        },
        false,
    );
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}
