//! `/session`: the coach's log of coaching sessions with a school. `log` opens the form (what
//! we worked on, noticed, agreed, when we meet next); `list` and `show` read what the caller
//! may read (`Access::may_read_session`); each agreed next step has a **Make it a step** button
//! (`agree`).

use std::time::Duration;

use poise::CreateReply;
use poise::serenity_prelude as serenity;

mod agree;
mod owner;
mod view;

pub use agree::{MODAL_PREFIX as AGREE_FORM_PREFIX, PREFIX as AGREE_PREFIX, on_click, on_form};
use view::{list, show};

use super::scope::{self, Caller, Names};
use super::{Context, Error, complete};
use crate::domain::coaching::{self, SessionKind, SessionNotes};
use crate::domain::dates;
use crate::domain::ids::UserId;
use crate::domain::text;
use crate::error::UserError;
use crate::store::coaching::{self as sessions, NewSession};
use crate::store::schools::{self, School};

/// How long the session form waits to be sent; the reply then goes on the command's token,
/// which lives 15 minutes.
const FORM_WAIT: Duration = Duration::from_secs(10 * 60);

/// Coaching sessions: log one, list them, read one
#[poise::command(
    slash_command,
    guild_only,
    subcommands("log", "list", "show"),
    subcommand_required
)]
pub async fn session(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum KindChoice {
    #[name = "one to one"]
    OneToOne,
    #[name = "leadership team"]
    LeadershipTeam,
    #[name = "walkthrough"]
    Walkthrough,
    #[name = "data team"]
    DataTeam,
    #[name = "partnership meeting"]
    Partnership,
    #[name = "other"]
    Other,
}

impl From<KindChoice> for SessionKind {
    fn from(choice: KindChoice) -> Self {
        match choice {
            KindChoice::OneToOne => SessionKind::OneToOne,
            KindChoice::LeadershipTeam => SessionKind::LeadershipTeam,
            KindChoice::Walkthrough => SessionKind::Walkthrough,
            KindChoice::DataTeam => SessionKind::DataTeam,
            KindChoice::Partnership => SessionKind::Partnership,
            KindChoice::Other => SessionKind::Other,
        }
    }
}

#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum ShareChoice {
    #[name = "private (coaches and principals)"]
    Private,
    #[name = "team (the leadership team reads it too)"]
    Team,
}

/// The session form.
#[derive(Debug, poise::Modal)]
#[name = "Coaching session"]
struct SessionForm {
    #[name = "What we worked on"]
    #[placeholder = "The focus of the session, in a few sentences"]
    #[paragraph]
    #[max_length = 1000]
    worked_on: String,
    #[name = "What we noticed"]
    #[placeholder = "Evidence, patterns, what stood out (optional)"]
    #[paragraph]
    #[max_length = 1000]
    noticed: Option<String>,
    #[name = "What we agreed (next steps, one a line)"]
    #[placeholder = "Share the walkthrough tool with grade leads\nDraft the data-meeting agenda"]
    #[paragraph]
    #[max_length = 4000]
    agreed: Option<String>,
    #[name = "When we meet next (a date, optional)"]
    #[placeholder = "12/15, next tuesday, in 2 weeks"]
    #[max_length = 40]
    next: Option<String>,
}

/// Log a coaching session with a school (its coaches): opens the session form
#[poise::command(slash_command, guild_only)]
async fn log(
    ctx: Context<'_>,
    #[description = "Which school"]
    #[autocomplete = "complete::school"]
    school: String,
    #[description = "What kind of session"]
    #[rename = "type"]
    kind: KindChoice,
    #[description = "When it was held: today (the default), yesterday, 12/01, last tuesday"]
    date: Option<String>,
    #[description = "Who it was with (a member of the school)"] with: Option<serenity::User>,
    #[description = "Who reads it: private (the default) or the school's team too"] share: Option<
        ShareChoice,
    >,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = school_to_log(ctx, &caller, &school).await?;
    let db = &ctx.data().db;
    let today = scope::today(&school, ctx.data().now());
    let order = caller.settings.date_order;
    let held_on = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(raw) => held_on(raw, today, &school, order)?,
    };
    let people: Vec<UserId> = match &with {
        Some(user) => vec![super::step::check_member(ctx, &caller, &school, user).await?],
        None => Vec::new(),
    };
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::ServerOnly.into());
    };
    let Some(form) = poise::execute_modal::<_, _, SessionForm>(app, None, Some(FORM_WAIT)).await?
    else {
        let note = "Nothing was logged: the form was closed. Run `/session log` again when you \
                    are ready.";
        scope::say(ctx, note.to_owned()).await?;
        return Ok(());
    };
    let notes = SessionNotes::parse(
        &form.worked_on,
        form.noticed.as_deref().unwrap_or(""),
        form.agreed.as_deref().unwrap_or(""),
    )?;
    let next =
        match form
            .next
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            None => None,
            Some(raw) => Some(dates::parse_date(raw, today, order).ok_or_else(|| {
                UserError::UnreadableDate {
                    given: text::clip(raw, 40),
                }
            })?),
        };
    let next_meeting_on = coaching::next_meeting(held_on, next)?;
    let (session, agreements) = sessions::log(
        db,
        &NewSession {
            server_id: caller.guild_id,
            school_id: school.id,
            kind: SessionKind::from(kind),
            held_on,
            logged_by: caller.user_id,
            notes: &notes,
            next_meeting_on,
            shared: matches!(share, Some(ShareChoice::Team)),
            people: &people,
        },
        ctx.data().now(),
    )
    .await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let steps = view::steps_of(ctx, caller.guild_id, &agreements).await?;
    let embed = view::session_embed(&session, &school, &agreements, &steps, &names, today);
    let mut reply = CreateReply::default()
        .content(format!(
            "Logged session **#{}** with {}. {}",
            session.id,
            school.name,
            if agreements.is_empty() {
                "`/session show` reads it again."
            } else {
                "Turn an agreed next step into an action step with its button."
            }
        ))
        .embed(embed)
        .ephemeral(true);
    reply = reply.components(agree::buttons(&agreements));
    ctx.send(reply).await?;
    Ok(())
}

/// The school named, if the caller may log its sessions (its coaches).
async fn school_to_log(ctx: Context<'_>, caller: &Caller, named: &str) -> Result<School, Error> {
    let school = schools::find_by_name(&ctx.data().db, caller.guild_id, named.trim())
        .await?
        .ok_or_else(|| UserError::UnknownSchool {
            name: text::clip(named.trim(), 100),
        })?;
    if !caller.access.may_log_session(school.id) {
        return Err(UserError::NotPermitted {
            needed: "the school's coaches",
            action: "log its coaching sessions",
        }
        .into());
    }
    Ok(school)
}

/// The day a session was held, read like the other dates: never after the school's today.
fn held_on(
    raw: &str,
    today: chrono::NaiveDate,
    school: &School,
    order: dates::DateOrder,
) -> Result<chrono::NaiveDate, UserError> {
    let date = dates::parse_date(raw, today, order).ok_or_else(|| UserError::UnreadableDate {
        given: text::clip(raw, 40),
    })?;
    if date > today {
        return Err(UserError::SessionInFuture {
            date: text::day(date),
            today: text::day(today),
            zone: school.time_zone.name().to_owned(),
        });
    }
    Ok(date)
}
