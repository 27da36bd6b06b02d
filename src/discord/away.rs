//! `/away`: a person marks themselves away (or their school's coach marks them). While they
//! are away their scheduled check-ins, nudges and follow-ups are skipped (recorded, never
//! counted as missed), no step reminders go to them, and their coach's digest says so.

use chrono::NaiveDate;
use poise::serenity_prelude as serenity;

use super::scope::{self, Caller, Names};
use super::{Context, Error};
use crate::domain::calendar::Span;
use crate::domain::dates;
use crate::domain::ids::{SchoolId, UserId};
use crate::domain::text;
use crate::error::UserError;
use crate::store::away::{self, AwayPeriod, NewAway};
use crate::store::{members, schools};

/// Longest note on an away period.
const NOTE_MAX: usize = 200;

/// Away: mark yourself (or someone you coach) away, see who is away, end it early
#[poise::command(
    slash_command,
    guild_only,
    subcommands("add", "list", "cancel"),
    subcommand_required
)]
pub async fn away(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The schools a person belongs to by their roles (any role held for a school).
fn schools_of(grants: &[crate::domain::roles::Grant]) -> Vec<SchoolId> {
    let mut ids: Vec<SchoolId> = grants.iter().filter_map(|g| g.school_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Refuses unless the caller may mark this person away (see `Access::may_mark_away`).
fn check(caller: &Caller, their_schools: &[SchoolId], is_self: bool) -> Result<(), UserError> {
    if caller.access.may_mark_away(their_schools, is_self) {
        Ok(())
    } else if !caller.access.has_any_role() {
        Err(UserError::NoRole)
    } else {
        Err(UserError::NotPermitted {
            needed: "the person themselves, their school's coaches and admins",
            action: "mark someone away",
        })
    }
}

/// Reads a first day: a date before today means "since then", which from now on is today.
pub(super) fn read_from(raw: &str, today: NaiveDate, zone: &str) -> Result<NaiveDate, UserError> {
    match dates::parse_due(raw, today, zone) {
        Err(UserError::PastDate { .. }) => Ok(today),
        other => other,
    }
}

/// Mark yourself away (or, as their coach, someone else): check-ins and reminders pause
#[poise::command(slash_command, guild_only)]
async fn add(
    ctx: Context<'_>,
    #[description = "First day away: today, 2026-12-21, monday"] from: String,
    #[description = "Last day away: 2027-01-01, friday, in 2 weeks"] to: String,
    #[description = "Someone else (their coach or an admin only)"] person: Option<serenity::Member>,
    #[description = "A short note for their coach (optional)"] note: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let note = note
        .as_deref()
        .map(|n| text::one_line("note", n, NOTE_MAX))
        .transpose()?;
    let (target, name, their_schools) = match &person {
        Some(member) if UserId::from(member.user.id) != caller.user_id => {
            let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
            let grants = caller.settings.grants_for(&roles);
            (
                UserId::from(member.user.id),
                member.display_name().to_owned(),
                schools_of(&grants),
            )
        }
        _ => (
            caller.user_id,
            "You".to_owned(),
            schools_of(&caller.access.grants),
        ),
    };
    let is_self = target == caller.user_id;
    check(&caller, &their_schools, is_self)?;
    // Dates are read in the person's school's zone (the first of theirs; else UTC).
    let mut zone = chrono_tz::UTC;
    let mut zone_name = "UTC".to_owned();
    if let Some(first) = their_schools.first()
        && let Some(school) = schools::get(db, caller.guild_id, *first).await?
    {
        zone = school.zone();
        zone_name = school.time_zone.name().to_owned();
    }
    let now = ctx.data().now();
    let today = now.with_timezone(&zone).date_naive();
    let from = read_from(&from, today, &zone_name)?;
    let to = dates::parse_due(&to, today, &zone_name)?;
    let span = Span::new(from, to, today)?;
    if !is_self {
        scope::note_member(ctx, target, &name).await?;
    }
    let saved = away::add(
        db,
        &NewAway {
            server_id: caller.guild_id,
            person_id: target,
            span,
            note: note.as_deref(),
            created_by: caller.user_id,
        },
        now,
    )
    .await?;
    let (who, their) = if is_self {
        ("You are".to_owned(), "your")
    } else {
        (format!("{name} is"), "their")
    };
    let note = note.map_or_else(String::new, |n| format!(" ({n})"));
    scope::say(
        ctx,
        format!(
            "{who} away {}{note}: away period **#{}**. {} scheduled check-ins, nudges and \
             follow-ups in that time are skipped (not counted as missed), no step reminders go \
             out, and the coach's digest says so. Back sooner? `/away cancel away:#{}` ends it.",
            span.label(),
            saved.id,
            capitalised(their),
            saved.id
        ),
    )
    .await
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Whether the caller may see or end this away period.
async fn may_handle(ctx: Context<'_>, caller: &Caller, period: &AwayPeriod) -> Result<bool, Error> {
    let is_self = period.person_id == caller.user_id;
    let grants = members::roles_of(&ctx.data().db, caller.guild_id, period.person_id).await?;
    Ok(caller.access.may_mark_away(&schools_of(&grants), is_self))
}

/// Who is away now or later: yours, or (coaches, admins) the people of your schools
#[poise::command(slash_command, guild_only)]
async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let yesterday = ctx.data().now().date_naive() - chrono::TimeDelta::days(1);
    let everyone = caller.access.is_coach_or_admin();
    let person = (!everyone).then_some(caller.user_id);
    let names = Names::load(ctx, caller.guild_id).await?;
    let mut lines = Vec::new();
    for period in away::list(db, caller.guild_id, person, yesterday).await? {
        if !may_handle(ctx, &caller, &period).await? {
            continue;
        }
        let note = period
            .note
            .as_deref()
            .map_or_else(String::new, |n| format!(" · {}", text::clip(n, 100)));
        lines.push(format!(
            "**#{}** {} · {}{note}",
            period.id,
            names.of(period.person_id),
            period.span().label()
        ));
    }
    scope::send_list_see(
        ctx,
        "Away",
        &lines,
        "Nobody is marked away. `/away add` marks you (or someone you coach) away.",
        "the later ones show here as these end",
    )
    .await
}

/// End an away period (theirs, or one you marked as their coach)
#[poise::command(slash_command, guild_only)]
async fn cancel(
    ctx: Context<'_>,
    #[description = "The away period's number (see /away list)"]
    #[rename = "away"]
    period: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownAway {
        given: text::clip(period.trim(), 40),
    };
    let id = crate::domain::plan::number_ref(&period).map_err(|_| unknown())?;
    let found = away::get(db, caller.guild_id, id)
        .await?
        .ok_or_else(unknown)?;
    if !may_handle(ctx, &caller, &found).await? {
        return Err(UserError::NotPermitted {
            needed: "the person themselves, their school's coaches and admins",
            action: "end someone's away period",
        }
        .into());
    }
    away::delete(db, caller.guild_id, found.id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    scope::say(
        ctx,
        format!(
            "Ended away period #{} for {} ({}): check-ins and reminders go to them again.",
            found.id,
            names.of(found.person_id),
            found.span().label()
        ),
    )
    .await
}
