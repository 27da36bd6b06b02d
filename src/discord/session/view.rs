//! Reading sessions: `/session list` and `/session show`, and the embed a session reads as
//! (also the reply to `/session log`). A session the caller may not read, or another server's,
//! gets the same answer as one that does not exist.

use std::collections::HashMap;

use chrono::NaiveDate;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::scope::{self, Names};
use super::super::{Context, Error, complete};
use super::agree;
use crate::domain::coaching::{Agreement, CoachingSession};
use crate::domain::ids::{CoachingSessionId, ServerId, StepId};
use crate::domain::text::{self, EMBED_DESCRIPTION, EMBED_FIELD_VALUE, EMBED_TITLE};
use crate::error::UserError;
use crate::store::coaching as sessions;
use crate::store::schools::{self, School};
use crate::store::steps::{self, ActionStep};

/// Sessions read from the store for one list (newest first) before filtering by access.
const LIST_READ: i64 = 500;

/// List the coaching sessions you may read, newest first
#[poise::command(slash_command, guild_only)]
pub(super) async fn list(
    ctx: Context<'_>,
    #[description = "Only this school's sessions"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    if !caller.access.has_any_role() {
        return Err(UserError::NoRole.into());
    }
    let db = &ctx.data().db;
    let school = match school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Some(
            schools::find_by_name(db, caller.guild_id, name)
                .await?
                .ok_or_else(|| UserError::UnknownSchool {
                    name: text::clip(name, 100),
                })?,
        ),
        None => None,
    };
    let all_schools = schools::list(db, caller.guild_id).await?;
    let school_name = |s: &CoachingSession| {
        all_schools
            .iter()
            .find(|x| x.id == s.school_id)
            .map_or(String::new(), |x| x.name.clone())
    };
    let names = Names::load(ctx, caller.guild_id).await?;
    let lines: Vec<String> = sessions::list(
        db,
        caller.guild_id,
        school.as_ref().map(|s| s.id),
        LIST_READ,
    )
    .await?
    .into_iter()
    .filter(|s| {
        caller
            .access
            .may_read_session(s.school_id, s.shared, s.involves(caller.user_id))
    })
    .map(|s| list_line(&s, &school_name(&s), &names))
    .collect();
    let title = match &school {
        Some(s) => format!("Coaching sessions · {}", s.name),
        None => "Coaching sessions".to_owned(),
    };
    scope::send_list_see(
        ctx,
        &title,
        &lines,
        "No sessions you may read yet. A school's coach logs one with `/session log`.",
        "narrow it with `school`",
    )
    .await
}

/// One session in a list: id, day, kind, school, who.
fn list_line(s: &CoachingSession, school: &str, names: &Names) -> String {
    let with = if s.people.is_empty() {
        String::new()
    } else {
        format!(" with {}", names.list(&s.people))
    };
    format!(
        "**#{}** · {} · {} · {school}{with} (by {}){}",
        s.id,
        text::day(s.held_on),
        s.kind.label(),
        names.of(s.logged_by),
        if s.shared {
            " · shared with the team"
        } else {
            ""
        }
    )
}

/// Read one coaching session: its notes, what was agreed and what became of it
#[poise::command(slash_command, guild_only)]
pub(super) async fn show(
    ctx: Context<'_>,
    #[description = "The session's number (from /session list)"] id: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownSession {
        given: text::clip(id.trim().trim_start_matches('#'), 20),
    };
    let number: i64 = id
        .trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| unknown())?;
    let session = sessions::get(db, caller.guild_id, CoachingSessionId::new(number))
        .await?
        .filter(|s| {
            caller
                .access
                .may_read_session(s.school_id, s.shared, s.involves(caller.user_id))
        })
        .ok_or_else(unknown)?;
    let school = schools::get(db, caller.guild_id, session.school_id)
        .await?
        .ok_or_else(unknown)?;
    let agreements = sessions::agreements(db, session.id).await?;
    let steps = steps_of(ctx, caller.guild_id, &agreements).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let today = scope::today(&school, ctx.data().now());
    let embed = session_embed(&session, &school, &agreements, &steps, &names, today);
    let mut reply = CreateReply::default().embed(embed).ephemeral(true);
    if agree::may_make_steps(&caller.access, &session) {
        let open: Vec<Agreement> = agreements
            .into_iter()
            .filter(|a| a.step.is_none())
            .collect();
        reply = reply.components(agree::buttons(&open));
    }
    ctx.send(reply).await?;
    Ok(())
}

/// The steps the agreements became, by id.
pub(super) async fn steps_of(
    ctx: Context<'_>,
    server_id: ServerId,
    agreements: &[Agreement],
) -> Result<HashMap<StepId, ActionStep>, Error> {
    let mut found = HashMap::new();
    for id in agreements.iter().filter_map(|a| a.step) {
        if let Some(step) = steps::get(&ctx.data().db, server_id, id).await? {
            found.insert(id, step);
        }
    }
    Ok(found)
}

/// A session as it reads: who, when, who reads it, the agreements with what became of each and
/// the next meeting (the description); what we worked on and noticed (fields).
pub(super) fn session_embed(
    session: &CoachingSession,
    school: &School,
    agreements: &[Agreement],
    steps: &HashMap<StepId, ActionStep>,
    names: &Names,
    today: NaiveDate,
) -> serenity::CreateEmbed {
    let mut lines = vec![format!(
        "{} · {} · logged by {}",
        school.name,
        text::day(session.held_on),
        names.of(session.logged_by)
    )];
    if !session.people.is_empty() {
        lines.push(format!("With {}", names.list(&session.people)));
    }
    lines.push(if session.shared {
        "Shared with the school's leadership team.".to_owned()
    } else {
        "Private: the school's coaches and principals, and who was in it.".to_owned()
    });
    lines.push(String::new());
    lines.push("**What we agreed**".to_owned());
    if agreements.is_empty() {
        lines.push("No next steps were agreed.".to_owned());
    }
    for a in agreements {
        lines.push(format!("{}. {} {}", a.position, a.text, became(a, steps)));
    }
    lines.push(String::new());
    lines.push(match session.next_meeting_on {
        Some(day) => format!(
            "**Next meeting:** {}",
            crate::domain::dates::as_read(day, today)
        ),
        None => "**Next meeting:** not set".to_owned(),
    });
    let description = scope::fit_lines(&lines, EMBED_DESCRIPTION - 100);
    let mut embed = serenity::CreateEmbed::new()
        .title(text::clip(
            &format!("Session #{} · {}", session.id, session.kind.label()),
            EMBED_TITLE,
        ))
        .description(description)
        .field(
            "What we worked on",
            text::clip(&session.worked_on, EMBED_FIELD_VALUE),
            false,
        );
    if !session.noticed.is_empty() {
        embed = embed.field(
            "What we noticed",
            text::clip(&session.noticed, EMBED_FIELD_VALUE),
            false,
        );
    }
    embed
}

/// What became of an agreed next step: `→ step #12 (in progress)`, or not yet a step.
fn became(a: &Agreement, steps: &HashMap<StepId, ActionStep>) -> String {
    match a.step.and_then(|id| steps.get(&id)) {
        Some(step) => format!("→ step #{} ({})", step.id, step.status.label()),
        None => "(not a step yet)".to_owned(),
    }
}
