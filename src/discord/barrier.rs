//! `/barrier`: what is in the way, named by the team and resolved with a note.

use poise::CreateReply;

use super::scope::{self, Names, Need};
use super::step::CategoryChoice;
use super::{Context, Error, complete};
use crate::domain::plan::{self, BarrierCategory};
use crate::domain::text;
use crate::error::UserError;
use crate::store::barriers::{self, NewBarrier};
use crate::store::schools::{self, School};

/// Barriers: name what is in the way, and close them when they clear
#[poise::command(
    slash_command,
    guild_only,
    subcommands("add", "resolve", "list"),
    subcommand_required
)]
pub async fn barrier(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Name something that is in the way of a step or of the school's plan
#[poise::command(slash_command, guild_only)]
async fn add(
    ctx: Context<'_>,
    #[description = "What is in the way (up to 1,000 characters)"] text: String,
    #[description = "What kind of barrier"] category: CategoryChoice,
    #[description = "The step it blocks (leave empty for the whole school)"]
    #[autocomplete = "complete::step"]
    step: Option<String>,
    #[description = "Which school (defaults to yours, or the step's)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let text = plan::note("barrier", &text)?;
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let action = "name barriers in its plan";
    let (school, step) = match step.as_deref() {
        Some(raw) => {
            let (step, school) =
                super::step::step_for(ctx, &caller, raw, Need::Edit, action).await?;
            (school, Some(step))
        }
        None => (
            scope::school(ctx, &caller, school.as_deref(), Need::Edit, action).await?,
            None,
        ),
    };
    let category = BarrierCategory::from(category);
    let against = step.as_ref().map_or_else(
        || school.name.clone(),
        |s| format!("step #{} · {}", s.id, s.title),
    );
    let names = Names::load(ctx, caller.guild_id).await?;
    let by = names.of(caller.user_id);
    let line = |id: i64| format!("New barrier #{id} ({category}) on {against}, named by {by}.");
    let announcement = scope::announcement(ctx, &school, &line);
    let barrier = barriers::add(
        db,
        &NewBarrier {
            server_id: caller.guild_id,
            school_id: school.id,
            step_id: step.as_ref().map(|s| s.id),
            category: category.key(),
            text: &text,
            raised_by: caller.user_id,
        },
        ctx.data().now(),
        announcement.as_ref(),
    )
    .await?;
    ctx.send(
        CreateReply::default()
            .content(format!("Barrier **#{}** ({category}) recorded against {against}. Resolve it with `/barrier resolve` when it clears.", barrier.id))
            .ephemeral(true),
    )
    .await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}

/// Close a barrier, saying how it was resolved
#[poise::command(slash_command, guild_only)]
async fn resolve(
    ctx: Context<'_>,
    #[description = "The barrier"]
    #[autocomplete = "complete::barrier"]
    barrier: String,
    #[description = "How it was resolved (up to 1,000 characters)"] note: String,
) -> Result<(), Error> {
    let note = plan::note("resolution note", &note)?;
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownBarrier {
        given: text::clip(barrier.trim(), 40),
    };
    let id = plan::number_ref(&barrier).map_err(|_| unknown())?;
    let found = barriers::get(db, caller.guild_id, id)
        .await?
        .ok_or_else(unknown)?;
    let school = schools::get(db, caller.guild_id, found.school_id)
        .await?
        .ok_or_else(unknown)?;
    scope::check(&caller, &school, Need::Edit, "resolve barriers in its plan")?;
    if let Some(at) = found.resolved_at {
        return Err(UserError::AlreadyResolved {
            on: scope::local_time(at, scope::zone(&school)),
        }
        .into());
    }
    let names = Names::load(ctx, caller.guild_id).await?;
    let by = names.of(caller.user_id);
    let line = |id: i64| format!("Barrier #{id} ({}) was resolved by {by}.", found.category);
    let announcement = scope::announcement(ctx, &school, &line);
    let now = ctx.data().now();
    if !barriers::resolve(
        db,
        &found,
        caller.user_id,
        &note,
        now,
        announcement.as_ref(),
    )
    .await?
    {
        return Err(UserError::AlreadyResolved {
            on: "just now".to_owned(),
        }
        .into());
    }
    ctx.send(
        CreateReply::default()
            .content(format!("Barrier **#{}** is resolved: {note}", found.id))
            .ephemeral(true),
    )
    .await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}

/// Barriers, open ones first, with how long they have been open
#[poise::command(slash_command, guild_only)]
async fn list(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours; coaches see all)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "Also show resolved barriers"] resolved: Option<bool>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let school = scope::school_or_all(ctx, &caller, school.as_deref(), "see its plan").await?;
    let all_schools = schools::list(db, caller.guild_id).await?;
    let found: Vec<barriers::Barrier> = barriers::list(
        db,
        caller.guild_id,
        school.as_ref().map(|s| s.id),
        resolved.unwrap_or(false),
    )
    .await?
    .into_iter()
    .filter(|b| caller.access.can_read_plan(b.school_id))
    .collect();
    let names = Names::load(ctx, caller.guild_id).await?;
    let now = ctx.data().now();
    let every_school = school.is_none().then_some(all_schools.as_slice());
    let lines: Vec<String> = found
        .iter()
        .map(|b| barrier_line(b, every_school, &names, now))
        .collect();
    let heading = match &school {
        Some(s) => format!("Barriers at {}", s.name),
        None => "Barriers in every school".to_owned(),
    };
    scope::send_list(ctx, &heading, &lines, "Nothing in the way right now.").await
}

/// One line of `/barrier list`; with `every_school`, each line names its school.
fn barrier_line(
    b: &barriers::Barrier,
    every_school: Option<&[School]>,
    names: &Names,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let on = b
        .step_id
        .map_or_else(String::new, |s| format!(" · step #{s}"));
    let where_ = every_school
        .and_then(|all| all.iter().find(|s| s.id == b.school_id))
        .map(|s| format!(" · {}", s.name))
        .unwrap_or_default();
    let state = match (&b.resolved_at, &b.resolution) {
        (Some(at), note) => format!(
            "resolved after {}{}",
            age(*at - b.raised_at),
            note.as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        (None, _) => format!("open {}", age(now - b.raised_at)),
    };
    format!(
        "**#{}** [{}] {} — {state}{on}{where_} · named by {}",
        b.id,
        b.category,
        b.text,
        names.of(b.raised_by)
    )
}

/// How long something has been open, as people say it.
fn age(span: chrono::TimeDelta) -> String {
    let days = span.num_days();
    match days {
        ..=0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        d => format!("{d} days"),
    }
}
