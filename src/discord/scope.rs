//! Which server, school and framework a command works on, who may act there, and the small
//! renderings every plan command shares (names, local times, announcements).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use poise::serenity_prelude as serenity;

use super::{Context, Error, access};
use crate::domain::framework::Framework;
use crate::domain::roles::Access;
use crate::domain::school::TimeZoneName;
use crate::error::UserError;
use crate::store::frameworks;
use crate::store::members;
use crate::store::schools::{self, School};

/// Who is calling, where.
pub struct Caller {
    pub guild_id: u64,
    pub user_id: u64,
    pub access: Access,
}

/// What the caller wants to do with a school's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    Edit,
}

pub fn server_name(ctx: Context<'_>, guild_id: serenity::GuildId) -> String {
    ctx.guild()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| format!("server {guild_id}"))
}

/// The caller, with their roles resolved (and recorded).
pub async fn caller(ctx: Context<'_>) -> Result<Caller, Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let access = access::resolve_access(ctx).await?;
    Ok(Caller {
        guild_id: guild_id.get(),
        user_id: ctx.author().id.get(),
        access,
    })
}

/// The server's framework: its own file if an admin loaded one, else the shipped default.
pub async fn framework(ctx: Context<'_>, guild_id: u64) -> Result<Framework, Error> {
    frameworks::effective(&ctx.data().db, guild_id, &ctx.data().default_framework).await
}

/// The school named (which the caller may read), or None for every school when nothing is
/// named and the caller's role covers the server.
pub async fn school_or_all(
    ctx: Context<'_>,
    caller: &Caller,
    named: Option<&str>,
    action: &'static str,
) -> Result<Option<School>, Error> {
    match named.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Ok(Some(
            school(ctx, caller, Some(name), Need::Read, action).await?,
        )),
        None if caller.access.server_wide() => Ok(None),
        None => Ok(Some(school(ctx, caller, None, Need::Read, action).await?)),
    }
}

/// Like [`school_or_all`], for the school's coaches and admins only: posting its summary,
/// exporting its records.
pub async fn school_to_report(
    ctx: Context<'_>,
    caller: &Caller,
    named: Option<&str>,
    action: &'static str,
) -> Result<Option<School>, Error> {
    let school = school_or_all(ctx, caller, named, action).await?;
    if caller.access.can_report(school.as_ref().map(|s| s.id)) {
        Ok(school)
    } else {
        Err(UserError::NotPermitted {
            needed: "the school's coaches and admins",
            action,
        }
        .into())
    }
}

/// Refuses unless the caller may `need` this school's plan.
pub fn check(
    caller: &Caller,
    school: &School,
    need: Need,
    action: &'static str,
) -> Result<(), UserError> {
    let allowed = match need {
        Need::Read => caller.access.can_read_plan(school.id),
        Need::Edit => caller.access.can_edit_plan(school.id),
    };
    if allowed {
        Ok(())
    } else if !caller.access.has_any_role() {
        Err(UserError::NoRole)
    } else {
        Err(UserError::NotOnTeam {
            school: school.name.clone(),
            action,
        })
    }
}

/// The school a command is about: the one named, or else the caller's only school.
pub async fn school(
    ctx: Context<'_>,
    caller: &Caller,
    named: Option<&str>,
    need: Need,
    action: &'static str,
) -> Result<School, Error> {
    let db = &ctx.data().db;
    if let Some(name) = named.map(str::trim).filter(|n| !n.is_empty()) {
        let school = schools::find_by_name(db, caller.guild_id, name)
            .await?
            .ok_or_else(|| UserError::UnknownSchool {
                name: crate::domain::text::clip(name, 100),
            })?;
        check(caller, &school, need, action)?;
        return Ok(school);
    }
    if !caller.access.has_any_role() {
        return Err(UserError::NoRole.into());
    }
    let all = schools::list(db, caller.guild_id).await?;
    if all.is_empty() {
        return Err(UserError::NoSchools.into());
    }
    let mine: Vec<School> = if caller.access.server_wide() {
        all
    } else {
        let ids = caller.access.school_ids();
        all.into_iter().filter(|s| ids.contains(&s.id)).collect()
    };
    let mut permitted: Vec<School> = mine
        .iter()
        .filter(|s| check(caller, s, need, action).is_ok())
        .cloned()
        .collect();
    match permitted.len() {
        1 => Ok(permitted.remove(0)),
        0 => match mine.first() {
            Some(school) => Err(check(caller, school, need, action)
                .err()
                .unwrap_or(UserError::NoRole)
                .into()),
            None => Err(UserError::NoRole.into()),
        },
        _ => Err(UserError::PickSchool {
            choices: permitted
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()),
    }
}

/// The school's time zone (stored names were validated when saved).
pub fn zone(school: &School) -> Tz {
    TimeZoneName::parse(&school.time_zone).map_or(Tz::UTC, TimeZoneName::tz)
}

/// Today's date where the school is.
pub fn today(school: &School, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone(school)).date_naive()
}

/// A moment as the school reads it: `Mon 23 Nov 14:05`.
pub fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

/// A date as people read it: `Fri 5 Dec 2026`.
pub fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

/// Display names for the server's members; unknown ids read as a mention (which, with
/// mentions disabled, shows the name in Discord without pinging).
pub struct Names(HashMap<u64, String>);

impl Names {
    pub async fn load(ctx: Context<'_>, guild_id: u64) -> Result<Self, Error> {
        Ok(Self(members::names(&ctx.data().db, guild_id).await?))
    }

    pub fn of(&self, user_id: u64) -> String {
        self.0
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| format!("<@{user_id}>"))
    }

    pub fn list(&self, ids: &[u64]) -> String {
        let names: Vec<String> = ids.iter().map(|id| self.of(*id)).collect();
        match names.as_slice() {
            [] => "no one".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// Posts one short line to the school's channel, pinging no one. The change it reports is
/// already saved, so a failure is logged, not shown as an error.
pub async fn announce(ctx: Context<'_>, school: &School, line: String) {
    let Some(channel) = school.channel_id else {
        return;
    };
    let message = serenity::CreateMessage::new()
        .content(crate::domain::text::clip(
            &line,
            crate::domain::text::MESSAGE_CONTENT,
        ))
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    let channel = serenity::ChannelId::new(crate::store::discord_id(channel));
    if let Err(error) = channel.send_message(ctx.http(), message).await {
        tracing::warn!(%error, school = %school.name, "could not announce in the school's channel");
    }
}

/// Sends a private list: a title, the lines (or `empty` when there are none), fitted to an
/// embed, saying how many did not fit instead of cutting silently.
pub async fn send_list(
    ctx: Context<'_>,
    title: &str,
    lines: &[String],
    empty: &str,
) -> Result<(), Error> {
    let body = if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines(lines, crate::domain::text::EMBED_DESCRIPTION - 100)
    };
    let embed = serenity::CreateEmbed::new()
        .title(crate::domain::text::clip(
            title,
            crate::domain::text::EMBED_TITLE,
        ))
        .description(body);
    ctx.send(poise::CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// How a Discord user is called: their display name, else their user name.
pub fn user_name(user: &serenity::User) -> String {
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}

/// Appends `lines` to a block of at most `max` characters, saying how many did not fit
/// instead of cutting silently.
pub fn fit_lines(lines: &[String], max: usize) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let left = lines.len() - index;
        let more = format!("… and {left} more");
        if out.chars().count() + line.chars().count() + 1 + more.chars().count() + 1 > max {
            out.push_str(&more);
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}
