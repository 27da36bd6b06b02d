//! Reading the plan: `/step list` and `/step show`.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::scope::{self, Names, Need};
use super::super::{Context, Error, complete};
use super::{StatusChoice, indicator_named, step_for};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::plan::StepStatus;
use crate::domain::text::{self, EMBED_DESCRIPTION};
use crate::store::barriers;
use crate::store::schools::{self, School};
use crate::store::steps::{self, ActionStep, StepFilter, StepUpdate};

/// List steps: yours, a school's, by indicator or status, or overdue
#[poise::command(slash_command, guild_only)]
pub(super) async fn list(
    ctx: Context<'_>,
    #[description = "Only steps you own"] mine: Option<bool>,
    #[description = "Only steps under this indicator"]
    #[autocomplete = "complete::indicator"]
    indicator: Option<String>,
    #[description = "Only steps with this status"] status: Option<StatusChoice>,
    #[description = "Only open steps past their due date"] overdue: Option<bool>,
    #[description = "Which school (defaults to yours; coaches see all)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let all_schools = schools::list(db, caller.guild_id).await?;
    let school = scope::school_or_all(ctx, &caller, school.as_deref(), "see its plan").await?;
    let indicator_id = match indicator.as_deref() {
        Some(raw) => Some(indicator_named(ctx, &caller, raw).await?.id),
        None => None,
    };
    let status = status.map(StepStatus::from);
    let filter = StepFilter {
        school_id: school.as_ref().map(|s| s.id),
        owner: mine.unwrap_or(false).then_some(caller.user_id),
        indicator_id: indicator_id.as_deref(),
        status: status.map(StepStatus::key),
        overdue_on: None,
    };
    let now = ctx.data().now();
    let (found, closed): (Vec<ActionStep>, Vec<ActionStep>) =
        steps::list(db, caller.guild_id, &filter)
            .await?
            .into_iter()
            .filter(|s| caller.access.can_read_plan(s.school_id))
            .filter(|s| {
                !overdue.unwrap_or(false)
                    || (s.status.is_open()
                        && all_schools
                            .iter()
                            .find(|x| x.id == s.school_id)
                            .is_some_and(|x| s.due_on < scope::today(x, now)))
            })
            // Done and dropped steps show only when `status` asks for them.
            .partition(|s| status.is_some() || s.status.is_open());
    let hidden = closed.len();
    let every_school = school.is_none().then_some(all_schools.as_slice());
    let lines = list_lines(ctx, caller.guild_id, &found, every_school).await?;
    let heading = match &school {
        Some(s) => format!("Steps of {}", s.name),
        None => "Steps in every school".to_owned(),
    };
    let mut body = if lines.is_empty() {
        "No open steps match. Add one with `/step add`.".to_owned()
    } else {
        scope::fit_lines_see(
            &lines,
            EMBED_DESCRIPTION - 200,
            "narrow it with `school`, `mine`, `status` or `indicator`",
        )
    };
    if hidden > 0 {
        body.push_str(&format!(
            "\n\n{hidden} done or dropped step(s) hidden: add `status: done` or `status: dropped` to see them."
        ));
    }
    let embed = serenity::CreateEmbed::new()
        .title(heading)
        .description(body)
        .footer(serenity::CreateEmbedFooter::new(format!(
            "{} step(s)",
            found.len()
        )));
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// One line a step for `/step list`; with `every_school`, each line names its school.
async fn list_lines(
    ctx: Context<'_>,
    guild_id: ServerId,
    found: &[ActionStep],
    every_school: Option<&[School]>,
) -> Result<Vec<String>, Error> {
    let names = Names::load(ctx, guild_id).await?;
    let mut lines = Vec::new();
    for step in found {
        let owners = steps::owners(&ctx.data().db, step.id).await?;
        let where_ = every_school
            .and_then(|all| all.iter().find(|x| x.id == step.school_id))
            .map(|x| format!(" · {}", x.name))
            .unwrap_or_default();
        lines.push(format!(
            "**#{}** {} — {} · due {} · {}{where_} · {}",
            step.id,
            step.title,
            step.status.label(),
            scope::day(step.due_on),
            step.indicator_id,
            names.list(&owners)
        ));
    }
    Ok(lines)
}

/// A status as people read it (a word the program no longer knows is shown as stored).
fn status_label(key: &str) -> String {
    StepStatus::parse(key).map_or(key.to_owned(), |s| s.label().to_owned())
}

/// One entry of a step's log: when, who, what.
fn update_line(u: &StepUpdate, names: &Names, zone: chrono_tz::Tz) -> String {
    let who = names.of(u.author_id);
    let when = scope::local_time(u.at, zone);
    let what = match u.kind.as_str() {
        "created" => "added the step".to_owned(),
        "edited" => {
            let field = u.field.as_deref().unwrap_or_default();
            format!(
                "changed the {}: {} → {}",
                super::edit::field_name(field),
                super::edit::value_text(field, u.old_value.as_deref()),
                super::edit::value_text(field, u.new_value.as_deref())
            )
        }
        "assigned" | "unassigned" => {
            let whom = u
                .note
                .as_deref()
                .and_then(|n| n.parse::<u64>().ok())
                .map_or_else(|| "someone".to_owned(), |id| names.of(UserId::new(id)));
            if u.kind == "assigned" {
                format!("made {whom} an owner")
            } else {
                format!("took {whom} off")
            }
        }
        _ => {
            let moved = match (&u.old_status, &u.new_status) {
                (Some(old), Some(new)) => format!("{} → {}", status_label(old), status_label(new)),
                _ => "progress".to_owned(),
            };
            match &u.note {
                Some(note) => format!("{moved}: {note}"),
                None => moved,
            }
        }
    };
    format!("{when} · **{who}** · {what}")
}

/// A step in full: owners, due date, resources and every update
#[poise::command(slash_command, guild_only)]
pub(super) async fn show(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let (step, school) = step_for(ctx, &caller, &step, Need::Read, "see its plan").await?;
    let db = &ctx.data().db;
    let names = Names::load(ctx, caller.guild_id).await?;
    let zone = scope::zone(&school);
    let owners = steps::owners(db, step.id).await?;
    let log: Vec<String> = steps::updates(db, &step)
        .await?
        .iter()
        .map(|u| update_line(u, &names, zone))
        .collect();
    let open = barriers::open_for_step(db, caller.guild_id, step.id).await?;
    let mut embed = serenity::CreateEmbed::new()
        .title(text::clip(
            &format!("#{} · {}", step.id, step.title),
            text::EMBED_TITLE,
        ))
        .description(scope::fit_lines(&log, 3000))
        .field("School", &school.name, true)
        .field("Indicator", &step.indicator_id, true)
        .field("Status", step.status.label(), true)
        .field("Due", scope::day(step.due_on), true)
        .field(
            "Owners",
            text::clip(&names.list(&owners), text::EMBED_FIELD_VALUE),
            true,
        );
    if let Some(resources) = &step.resources {
        embed = embed.field(
            "Resources needed",
            text::clip(resources, text::EMBED_FIELD_VALUE),
            false,
        );
    }
    if !open.is_empty() {
        let lines: Vec<String> = open
            .iter()
            .map(|b| format!("#{} [{}] {}", b.id, b.category, b.text))
            .collect();
        embed = embed.field(
            "Open barriers",
            scope::fit_lines(&lines, text::EMBED_FIELD_VALUE),
            false,
        );
    }
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}
