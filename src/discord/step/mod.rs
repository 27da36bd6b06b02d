//! `/step`: action steps, owned by the team, with an update log.

use std::time::Duration;

use poise::serenity_prelude as serenity;

mod choices;
mod edit;
mod owners;
mod reopen;
mod view;

pub use choices::{CategoryChoice, StatusChoice};
use edit::edit;
pub(in crate::discord) use owners::check_member;
use owners::{MAX_OWNERS, check_owner};
pub(crate) use reopen::{Offer, offer_reopen, unblocked};
use view::{list, show};

use super::scope::{self, Caller, Names, Need};
use super::{Context, Error, complete};
use crate::domain::dates;
use crate::domain::framework::Indicator;
use crate::domain::ids::UserId;
use crate::domain::plan::{self, BarrierCategory, StepStatus};
use crate::domain::text;
use crate::error::UserError;
use crate::store::barriers::{self, NewBarrier};
use crate::store::indicators::Focus;
use crate::store::schools::{self, School};
use crate::store::steps::{self, ActionStep, Change, NewStep};

/// How long the barrier form waits to be sent before the change is abandoned. The reply then
/// goes on the command's token, which lives 15 minutes from the command: the wait leaves time
/// for the work and the reply.
const FORM_WAIT: Duration = Duration::from_secs(10 * 60);
const _: () = assert!(FORM_WAIT.as_secs() + 5 * 60 <= 15 * 60);

/// Action steps: add them, report progress, see who does what
#[poise::command(
    slash_command,
    guild_only,
    subcommands("add", "edit", "update", "done", "assign", "list", "show"),
    subcommand_required
)]
pub async fn step(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The form a step set to blocked asks for.
#[derive(Debug, poise::Modal)]
#[name = "What is in the way?"]
struct BarrierForm {
    #[name = "What is blocking this step?"]
    #[placeholder = "Say what is in the way, in your own words"]
    #[paragraph]
    #[max_length = 1000]
    barrier: String,
}

/// Add an action step under one of your school's focus indicators
#[poise::command(slash_command, guild_only)]
#[allow(clippy::too_many_arguments)]
async fn add(
    ctx: Context<'_>,
    #[description = "What will be done (up to 200 characters)"] title: String,
    #[description = "The focus indicator it serves"]
    #[autocomplete = "complete::indicator"]
    indicator: String,
    #[description = "Who owns it"] owner: serenity::User,
    #[description = "When it is due: 12/05, next friday, Dec 5, in 2 weeks"] due: String,
    #[description = "A second owner"] owner2: Option<serenity::User>,
    #[description = "A third owner"] owner3: Option<serenity::User>,
    #[description = "Resources needed (optional)"] resources: Option<String>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let title = plan::step_title(&title)?;
    let resources = resources.as_deref().map(plan::resources).transpose()?;
    // The owners' records are read with the caller's, in one query.
    let named: Vec<UserId> = [Some(&owner), owner2.as_ref(), owner3.as_ref()]
        .into_iter()
        .flatten()
        .map(|user| user.id.into())
        .collect();
    let caller = scope::caller_naming(ctx, &named).await?;
    let action = "add steps to its plan";
    let school = scope::school(&caller, school.as_deref(), Need::Edit, action)?;
    let (indicator, focus) = focus_for(ctx, &caller, &school, &indicator).await?;
    let db = &ctx.data().db;
    let now = ctx.data().now();
    let today = scope::today(&school, now);
    let due_on = dates::parse_due_in(
        &due,
        today,
        school.time_zone.name(),
        caller.settings.date_order,
    )?;
    let owners = owners_of(
        ctx,
        &caller,
        &school,
        &[Some(&owner), owner2.as_ref(), owner3.as_ref()],
    )
    .await?;
    let owner_ids: Vec<UserId> = owners.iter().map(|o| o.id).collect();
    // Named as just recorded: no read of the names back.
    let names: Names = owners
        .into_iter()
        .filter_map(|o| Some((o.id, o.name?)))
        .collect();
    let line = |id: i64| {
        format!(
            "New step #{id} for {}: “{title}”, owned by {}, due {}.",
            indicator.id,
            names.list(&owner_ids),
            scope::day(due_on)
        )
    };
    let announcement = scope::announcement(ctx, &school, &line).await;
    let step = steps::add(
        db,
        &NewStep {
            server_id: caller.guild_id,
            school_id: school.id,
            focus_id: focus.id,
            title: &title,
            due_on,
            resources: resources.as_deref(),
            owners: &owner_ids,
            author: caller.user_id,
        },
        now,
        announcement.as_ref(),
    )
    .await?;
    let mut reply = format!(
        "Added step **#{} · {}** under {} for {}. Owners: {}. Due {}.",
        step.id,
        step.title,
        indicator.title(),
        school.name,
        names.list(&owner_ids),
        dates::as_read(step.due_on, today)
    );
    if let Some(warning) = break_warning(&caller, &school, step.due_on) {
        reply.push_str(&warning);
    }
    scope::say(ctx, reply).await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}

/// A line for a reply when `due_on` falls in one of the school's breaks (the step is saved
/// all the same): what `/step add` and `/step edit` say.
pub(crate) fn break_warning(
    caller: &Caller,
    school: &School,
    due_on: chrono::NaiveDate,
) -> Option<String> {
    let found = caller.settings.break_covering(school.id, due_on);
    found.map(|b| {
        format!(
            "\n⚠️ That due date falls in {}'s **{}** ({}). Is that what you meant? If not, \
             `/step edit` can move it.",
            school.name,
            text::clip(&b.label, 100),
            b.span().label()
        )
    })
}

async fn focus_for(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    named: &str,
) -> Result<(Indicator, Focus), Error> {
    let indicator = indicator_named(ctx, caller, named).await?;
    // The school's focuses come with the caller's settings: no query of their own.
    let focus = caller
        .settings
        .focus(school.id, &indicator.id)
        .cloned()
        .ok_or_else(|| UserError::NotAFocus {
            indicator: indicator.title(),
            school: school.name.clone(),
        })?;
    Ok((indicator, focus))
}

/// The indicator named, in the server's framework.
async fn indicator_named(
    ctx: Context<'_>,
    caller: &Caller,
    named: &str,
) -> Result<Indicator, Error> {
    let framework = scope::framework(ctx, caller).await?;
    Ok(framework
        .indicator(named)
        .cloned()
        .ok_or_else(|| UserError::UnknownIndicator {
            given: text::clip(named.trim(), 40),
        })?)
}

/// The owners given (each once, at most [`MAX_OWNERS`], each holding a role at the school),
/// noted as members so their names show.
async fn owners_of(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    given: &[Option<&serenity::User>],
) -> Result<Vec<owners::Named>, Error> {
    let mut owners: Vec<&serenity::User> = Vec::new();
    for user in given.iter().flatten() {
        if !owners.iter().any(|o| o.id == user.id) {
            owners.push(user);
        }
    }
    if owners.len() > MAX_OWNERS {
        return Err(UserError::TooManyOwners {
            given: owners.len(),
            max: MAX_OWNERS,
        }
        .into());
    }
    let mut ids = Vec::with_capacity(owners.len());
    for user in &owners {
        ids.push(check_owner(ctx, caller, school, user).await?);
    }
    Ok(ids)
}

/// The step and its school, if the caller may act on it.
pub(super) async fn step_for(
    ctx: Context<'_>,
    caller: &Caller,
    raw: &str,
    need: Need,
    action: &'static str,
) -> Result<(ActionStep, School), Error> {
    let id = plan::step_ref(raw)?;
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownStep {
        given: text::clip(raw.trim(), 40),
    };
    let step = steps::get(db, caller.guild_id, id)
        .await?
        .ok_or_else(unknown)?;
    let school = schools::get(db, caller.guild_id, step.school_id)
        .await?
        .ok_or_else(unknown)?;
    scope::check(caller, &school, need, action)?;
    Ok((step, school))
}

/// Report progress on a step, or change its status
#[poise::command(slash_command, guild_only)]
async fn update(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
    #[description = "Its new status"] status: Option<StatusChoice>,
    #[description = "What has moved (up to 1,000 characters)"] note: Option<String>,
    #[description = "If blocked: what kind of barrier"] barrier_category: Option<CategoryChoice>,
) -> Result<(), Error> {
    change(
        ctx,
        &step,
        status.map(StepStatus::from),
        note,
        barrier_category,
    )
    .await
}

/// Mark a step done
#[poise::command(slash_command, guild_only)]
async fn done(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
    #[description = "What came of it (optional)"] note: Option<String>,
) -> Result<(), Error> {
    change(ctx, &step, Some(StepStatus::Done), note, None).await
}

async fn change(
    ctx: Context<'_>,
    raw_step: &str,
    status: Option<StepStatus>,
    note: Option<String>,
    category: Option<CategoryChoice>,
) -> Result<(), Error> {
    let note = note.as_deref().map(|n| plan::note("note", n)).transpose()?;
    if status.is_none() && note.is_none() {
        return Err(UserError::NothingToUpdate.into());
    }
    let caller = scope::caller(ctx).await?;
    let (step, school) = step_for(ctx, &caller, raw_step, Need::Edit, "change its steps").await?;
    let db = &ctx.data().db;
    let barrier_text = match barrier_if_blocked(ctx, &caller, &step, status).await? {
        BarrierAsk::NotNeeded => None,
        BarrierAsk::Given(text) => Some(text),
        BarrierAsk::Cancelled => return Ok(()),
    };
    let category = category.map_or(BarrierCategory::Other, BarrierCategory::from);
    let by = Names::load_for(ctx, caller.guild_id, &[caller.user_id])
        .await?
        .of(caller.user_id);
    let line = change_line(&step, status, &by);
    let announcement = scope::announcement(ctx, &school, &line).await;
    let updated = steps::update(
        db,
        &step,
        &Change {
            note: note.as_deref(),
            status: status.map(StepStatus::key),
            barrier: barrier_text.as_deref().map(|text| NewBarrier {
                server_id: caller.guild_id,
                school_id: school.id,
                step_id: Some(step.id),
                category: category.key(),
                text,
                raised_by: caller.user_id,
            }),
            author: caller.user_id,
        },
        ctx.data().now(),
        announcement.as_ref(),
    )
    .await?;
    let reply = changed_reply(&step, &updated, barrier_text.is_some().then_some(category));
    scope::say(ctx, reply).await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}

/// What a change to a step asks for first: a step set to blocked always says what blocks it.
enum BarrierAsk {
    NotNeeded,
    Given(String),
    /// The form was closed: nothing is written, and the person has been told.
    Cancelled,
}

/// Asks for the barrier (a form) when the step is being set to blocked and has none open,
/// before anything is written.
async fn barrier_if_blocked(
    ctx: Context<'_>,
    caller: &Caller,
    step: &ActionStep,
    status: Option<StepStatus>,
) -> Result<BarrierAsk, Error> {
    if status != Some(StepStatus::Blocked)
        || !barriers::open_for_step(&ctx.data().db, caller.guild_id, step.id)
            .await?
            .is_empty()
    {
        return Ok(BarrierAsk::NotNeeded);
    }
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::ServerOnly.into());
    };
    let Some(form) = poise::execute_modal::<_, _, BarrierForm>(app, None, Some(FORM_WAIT)).await?
    else {
        let note = "The step was not changed: a blocked step needs its barrier. Run the command again when you are ready to describe it.";
        scope::say(ctx, note.to_owned()).await?;
        return Ok(BarrierAsk::Cancelled);
    };
    Ok(BarrierAsk::Given(plan::note("barrier", &form.barrier)?))
}

/// The channel's line about a change to `step` by `by`, given the step's id.
fn change_line<'a>(
    step: &'a ActionStep,
    status: Option<StepStatus>,
    by: &'a str,
) -> impl Fn(i64) -> String + Send + Sync + 'a {
    let moved = status.is_some_and(|s| s != step.status);
    let label = status.unwrap_or(step.status).label();
    move |id| {
        if moved {
            format!("Step #{id} “{}” is now {label} ({by}).", step.title)
        } else {
            format!("Progress on step #{id} “{}” ({by}).", step.title)
        }
    }
}

/// The reply to a change: where the step now stands, and the barrier if one was raised.
fn changed_reply(
    before: &ActionStep,
    updated: &ActionStep,
    barrier: Option<BarrierCategory>,
) -> String {
    let now_status = updated.status.label();
    let mut reply = if updated.status != before.status {
        format!(
            "Step **#{} · {}** is now **{now_status}**.",
            updated.id, updated.title
        )
    } else {
        format!(
            "Noted on step **#{} · {}** (still {now_status}).",
            updated.id, updated.title
        )
    };
    if let Some(category) = barrier {
        reply.push_str(&format!(" The barrier is recorded ({category}); resolve it with `/barrier resolve` when it clears."));
    }
    reply
}

/// Add an owner to a step, or take one off
#[poise::command(slash_command, guild_only)]
async fn assign(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
    #[description = "Who"] member: serenity::User,
    #[description = "Take them off the step instead"] remove: Option<bool>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let (step, school) = step_for(ctx, &caller, &step, Need::Edit, "change its steps").await?;
    let db = &ctx.data().db;
    let remove = remove.unwrap_or(false);
    let now = ctx.data().now();
    let name = scope::user_name(&member);
    let member_id = UserId::from(member.id);
    let owners_before = steps::owners(db, step.id).await?;
    if remove {
        scope::note_member(ctx, member_id, &name).await?;
    } else {
        check_owner(ctx, &caller, &school, &member).await?;
        if !owners_before.contains(&member_id) && owners_before.len() >= MAX_OWNERS {
            return Err(UserError::OwnersFull {
                step: step.id.get(),
                max: MAX_OWNERS,
            }
            .into());
        }
    }
    let mut owners_after = owners_before;
    owners_after.retain(|o| *o != member_id);
    if !remove {
        owners_after.push(member_id);
        owners_after.sort_unstable();
    }
    let names = Names::load_for(ctx, caller.guild_id, &owners_after).await?;
    let line = |id: i64| {
        format!(
            "Step #{id} “{}” is now owned by {}.",
            step.title,
            names.list(&owners_after)
        )
    };
    let announcement = scope::announcement(ctx, &school, &line).await;
    let (by, announce) = (caller.user_id, announcement.as_ref());
    let changed = steps::assign(db, &step, member_id, !remove, by, now, announce).await?;
    let owners = names.list(&steps::owners(db, step.id).await?);
    scope::say(ctx, assigned_reply(&name, &step, changed, remove, &owners)).await?;
    if changed {
        scope::announce(ctx, announcement.as_ref()).await;
    }
    Ok(())
}

/// The reply to `/step assign`: who owns the step now, or why nothing changed.
fn assigned_reply(
    name: &str,
    step: &ActionStep,
    changed: bool,
    remove: bool,
    owners: &str,
) -> String {
    let (id, title) = (step.id, &step.title);
    match (changed, remove) {
        (true, false) => format!("{name} now owns step **#{id} · {title}**. Owners: {owners}."),
        (true, true) => {
            format!("{name} no longer owns step **#{id} · {title}**. Owners: {owners}.")
        }
        (false, false) => format!("{name} already owns step **#{id}**."),
        (false, true) => format!("{name} did not own step **#{id}**."),
    }
}
