//! `/calendar`: a school's breaks (coaches and admins). During a break the school's scheduled
//! check-ins are skipped (recorded as skipped: break, never missed), reminders wait, the
//! digest's quiet days pause, and a step due then gets a warning when it is added.

use super::scope;
use super::{Context, Error, complete};
use crate::domain::calendar::Span;
use crate::domain::dates;
use crate::domain::text;
use crate::error::UserError;
use crate::store::calendar::{self, NewBreak};
use crate::store::schools;

/// Longest break label.
const LABEL_MAX: usize = 100;

/// School calendar: add, list or remove breaks (coaches and admins change it)
#[poise::command(
    slash_command,
    guild_only,
    subcommands("add", "list", "remove"),
    subcommand_required
)]
pub async fn calendar(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn not_permitted() -> UserError {
    UserError::NotPermitted {
        needed: "the school's coaches and admins",
        action: "change its calendar",
    }
}

/// Add a break (winter break, a holiday): the school's check-ins skip it
#[poise::command(slash_command, guild_only)]
async fn add(
    ctx: Context<'_>,
    #[description = "Which school"]
    #[autocomplete = "complete::school"]
    school: String,
    #[description = "First day of the break: 2026-12-21, monday"] from: String,
    #[description = "Last day of the break: 2027-01-01"] to: String,
    #[description = "What it is: Winter break"] label: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = schools::find_by_name(&ctx.data().db, caller.guild_id, school.trim())
        .await?
        .ok_or_else(|| UserError::UnknownSchool {
            name: text::clip(school.trim(), 100),
        })?;
    if !caller.access.may_change_calendar(school.id) {
        return Err(not_permitted().into());
    }
    let label = text::one_line("label", &label, LABEL_MAX)?;
    let now = ctx.data().now();
    let today = scope::today(&school, now);
    let zone = school.time_zone.name();
    let from = super::away::read_from(&from, today, zone)?;
    let to = dates::parse_due(&to, today, zone)?;
    let span = Span::new(from, to, today)?;
    let saved = calendar::add(
        &ctx.data().db,
        &NewBreak {
            server_id: caller.guild_id,
            school_id: school.id,
            span,
            label: &label,
            created_by: caller.user_id,
        },
        now,
    )
    .await?;
    scope::say(
        ctx,
        format!(
            "Added break **#{}** for {}: **{}**, {}. During it the school's scheduled check-ins \
             are skipped (recorded as skipped: break, never missed), step reminders wait, and \
             the digest does not count its quiet days. `/calendar remove break:#{}` takes it \
             back.",
            saved.id,
            school.name,
            saved.label,
            span.label(),
            saved.id
        ),
    )
    .await
}

/// The breaks of your school (or every school), now and later
#[poise::command(slash_command, guild_only)]
async fn list(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours, or every school)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = scope::school_or_all(&caller, school.as_deref(), "see its calendar")?;
    let db = &ctx.data().db;
    let since = ctx.data().now().date_naive() - chrono::TimeDelta::days(1);
    let all = schools::list(db, caller.guild_id).await?;
    let lines: Vec<String> =
        calendar::list(db, caller.guild_id, school.as_ref().map(|s| s.id), since)
            .await?
            .iter()
            .filter(|b| caller.access.can_read_plan(b.school_id))
            .map(|b| {
                let name = all
                    .iter()
                    .find(|s| s.id == b.school_id)
                    .map_or("a school", |s| s.name.as_str());
                format!(
                    "**#{}** {} · **{}** · {}",
                    b.id,
                    name,
                    text::clip(&b.label, LABEL_MAX),
                    b.span().label()
                )
            })
            .collect();
    let title = school.map_or_else(|| "Breaks".to_owned(), |s| format!("Breaks at {}", s.name));
    scope::send_list_see(
        ctx,
        &title,
        &lines,
        "No breaks on the calendar. A coach adds one with `/calendar add`.",
        "give `school` to list one school's",
    )
    .await
}

/// Remove a break from a school's calendar
#[poise::command(slash_command, guild_only)]
async fn remove(
    ctx: Context<'_>,
    #[description = "The break's number (see /calendar list)"]
    #[rename = "break"]
    school_break: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownBreak {
        given: text::clip(school_break.trim(), 40),
    };
    let id = crate::domain::plan::number_ref(&school_break).map_err(|_| unknown())?;
    let found = calendar::get(db, caller.guild_id, id)
        .await?
        .ok_or_else(unknown)?;
    if !caller.access.may_change_calendar(found.school_id) {
        return Err(not_permitted().into());
    }
    calendar::delete(db, caller.guild_id, found.id).await?;
    scope::say(
        ctx,
        format!(
            "Removed break #{} (**{}**, {}): the school's schedules run on those days again.",
            found.id,
            text::clip(&found.label, LABEL_MAX),
            found.span().label()
        ),
    )
    .await
}
