//! `/barrier`: what is in the way, named by the team, looked at underneath in a deep-dive, and
//! resolved with a note.

use poise::CreateReply;

use super::scope::{self, Names, Need};
use super::step::CategoryChoice;
use super::{Context, Error, complete};
use crate::domain::plan::{self, BarrierCategory};
use crate::domain::text;
use crate::error::UserError;
use crate::store::barriers::{self, BarrierNote, NewBarrier};
use crate::store::schools::{self, School};
use crate::store::steps;

/// Barriers: name what is in the way, and close them when they clear
#[poise::command(
    slash_command,
    guild_only,
    subcommands("add", "resolve", "list", "show"),
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
            scope::school(&caller, school.as_deref(), Need::Edit, action)?,
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
    let announcement = scope::announcement(ctx, &school, &line).await;
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
    let announcement = scope::announcement(ctx, &school, &line).await;
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
    let reply = format!("Barrier **#{}** is resolved: {note}", found.id);
    let step = match found.step_id {
        Some(step_id) => steps::get(db, caller.guild_id, step_id).await?,
        None => None,
    };
    match step {
        // The step's last open barrier: offer to move it again.
        Some(step) if super::step::unblocked(ctx, &step).await? => {
            let offer = super::step::Offer {
                step: &step,
                barrier_id: found.id,
                reply,
                announcement: announcement.as_ref(),
            };
            super::step::offer_reopen(ctx, &caller, &school, offer).await
        }
        _ => {
            ctx.send(
                CreateReply::default()
                    .content(text::clip(&reply, text::MESSAGE_CONTENT))
                    .ephemeral(true),
            )
            .await?;
            scope::announce(ctx, announcement.as_ref()).await;
            Ok(())
        }
    }
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
    let school = scope::school_or_all(&caller, school.as_deref(), "see its plan")?;
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
    scope::send_list_see(
        ctx,
        &heading,
        &lines,
        "Nothing in the way right now.",
        "give `school` to narrow it; a coach's `/export` has every barrier",
    )
    .await
}

/// One barrier in full: its state, step, history and the root causes found underneath it
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "The barrier: #12"]
    #[autocomplete = "complete::barrier"]
    barrier: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    // Another server's barrier, or one in a plan the caller may not read, is not there for
    // them: the same answer as a number that was never used.
    let unknown = || UserError::UnknownBarrier {
        given: text::clip(barrier.trim(), 40),
    };
    let id = plan::number_ref(&barrier).map_err(|_| unknown())?;
    let found = barriers::get(db, caller.guild_id, id)
        .await?
        .filter(|b| caller.access.can_read_plan(b.school_id))
        .ok_or_else(unknown)?;
    let school = schools::get(db, caller.guild_id, found.school_id)
        .await?
        .ok_or_else(unknown)?;
    let step = match found.step_id {
        Some(step_id) => steps::get(db, caller.guild_id, step_id)
            .await?
            .map(|s| (s.id, s.title)),
        None => None,
    };
    let notes = barriers::notes(db, caller.guild_id, found.id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let shown = Shown {
        barrier: &found,
        school: &school,
        step: step.as_ref().map(|(id, title)| (id.get(), title.as_str())),
        notes: &notes,
        now: ctx.data().now(),
    };
    let lines = show_lines(&shown, &names);
    scope::send_list(
        ctx,
        &format!("Barrier #{} · {}", found.id, found.category),
        &lines,
        "",
    )
    .await
}

/// What `/barrier show` shows.
struct Shown<'a> {
    barrier: &'a barriers::Barrier,
    school: &'a School,
    /// The step it is raised against: its number and title, when it still exists.
    step: Option<(i64, &'a str)>,
    notes: &'a [BarrierNote],
    now: chrono::DateTime<chrono::Utc>,
}

/// Room for `/barrier show` in one embed (leaving some for `send_list`'s own fitting).
const SHOW_MAX: usize = text::EMBED_DESCRIPTION - 200;
/// Longest note shown whole; longer ones are clipped, so one note cannot push out the rest.
const NOTE_SHOWN: usize = 700;

/// The lines of `/barrier show`: the barrier, its history, then its root-cause notes, newest
/// last. When they do not all fit in one embed, the oldest notes give way, and a line says how
/// many.
fn show_lines(shown: &Shown<'_>, names: &Names) -> Vec<String> {
    let b = shown.barrier;
    let zone = scope::zone(shown.school);
    let date = |at: chrono::DateTime<chrono::Utc>| scope::day(at.with_timezone(&zone).date_naive());
    let state = match b.resolved_at {
        Some(at) => format!("resolved after {}", age(at - b.raised_at)),
        None => format!("open {}", age(shown.now - b.raised_at)),
    };
    let against = match shown.step {
        Some((id, title)) => format!("step #{id} · {title}"),
        None => match b.step_id {
            Some(id) => format!("step #{id}"),
            None => format!("the whole school ({})", shown.school.name),
        },
    };
    let mut lines = vec![
        b.text.clone(),
        String::new(),
        format!("**State:** {state}"),
        format!("**Against:** {against}"),
        format!("**Named by:** {}", names.of(b.raised_by)),
        String::new(),
        "**History**".to_owned(),
        format!(
            "• {} · raised by {}",
            date(b.raised_at),
            names.of(b.raised_by)
        ),
    ];
    if let Some(at) = b.resolved_at {
        let by = b
            .resolved_by
            .map_or_else(|| "someone".to_owned(), |u| names.of(u));
        let note = b
            .resolution
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        lines.push(format!("• {} · resolved by {by}{note}", date(at)));
    }
    lines.push(String::new());
    lines.push("**Root causes**".to_owned());
    if shown.notes.is_empty() {
        lines.push(format!(
            "None yet. A barrier deep-dive about it adds them: `/checkin start flow:barrier_deep_dive barrier:#{}`.",
            b.id
        ));
        return lines;
    }
    let used: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    let notes: Vec<String> = shown
        .notes
        .iter()
        .map(|n| {
            format!(
                "• {} · {}: {}",
                date(n.at),
                names.of(n.author_id),
                text::clip(&n.text, NOTE_SHOWN)
            )
        })
        .collect();
    lines.extend(newest_that_fit(&notes, SHOW_MAX.saturating_sub(used)));
    lines
}

/// The newest lines (the last ones) that fit in `room` characters, oldest first; when some
/// give way, a first line says how many.
fn newest_that_fit(lines: &[String], room: usize) -> Vec<String> {
    // Room for the "earlier notes" line, should it be needed.
    let reserve = 40;
    let mut kept = Vec::new();
    let mut used = 0;
    for line in lines.iter().rev() {
        let needed = line.chars().count() + 1;
        if used + needed + reserve > room {
            break;
        }
        used += needed;
        kept.push(line.clone());
    }
    let left_out = lines.len() - kept.len();
    if left_out > 0 {
        kept.push(format!(
            "({} not shown)",
            text::plural(left_out, "earlier note")
        ));
    }
    kept.reverse();
    kept
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_notes_are_kept_when_they_do_not_all_fit() {
        let lines: Vec<String> = (1..=10)
            .map(|n| format!("{n}:{}", "x".repeat(98)))
            .collect();
        let kept = newest_that_fit(&lines, 400);
        assert_eq!(kept[0], "(7 earlier notes not shown)");
        assert_eq!(&kept[1..], &lines[7..]);
        assert!(kept.iter().map(|l| l.chars().count() + 1).sum::<usize>() <= 400);
        assert_eq!(newest_that_fit(&lines, 10_000), lines);
    }
}
