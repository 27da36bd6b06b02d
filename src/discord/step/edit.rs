//! `/step edit`: change a step's title, due date, indicator or resources. Each change is a
//! line of the step's log (who, when, from what to what).

use super::super::scope::{self, Caller, Need};
use super::super::{Context, Error, complete};
use super::{focus_for, step_for};
use crate::domain::dates;
use crate::domain::plan;
use crate::error::UserError;
use crate::store::schools::School;
use crate::store::steps::{self, ActionStep, FieldChange, StepEdit};

/// What clears a step's resources when given as `resources`.
const CLEAR: [&str; 3] = ["none", "-", "nothing"];

/// Change a step's title, due date, indicator or resources
#[poise::command(slash_command, guild_only)]
pub(super) async fn edit(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
    #[description = "Its new title (up to 200 characters)"] title: Option<String>,
    #[description = "Its new due date: 12/05, next friday, Dec 5, in 2 weeks"] due: Option<String>,
    #[description = "The focus indicator it serves now"]
    #[autocomplete = "complete::indicator"]
    indicator: Option<String>,
    #[description = "Resources needed now (`none` clears them)"] resources: Option<String>,
) -> Result<(), Error> {
    if title.is_none() && due.is_none() && indicator.is_none() && resources.is_none() {
        return Err(UserError::NothingToEdit.into());
    }
    // Everything is read and checked before anything is written.
    let title = title.as_deref().map(plan::step_title).transpose()?;
    let resources = match resources.as_deref().map(str::trim) {
        None => None,
        Some(r) if CLEAR.iter().any(|c| c.eq_ignore_ascii_case(r)) => Some(None),
        Some(r) => Some(Some(plan::resources(r)?)),
    };
    let caller = scope::caller(ctx).await?;
    let (step, school) = step_for(ctx, &caller, &step, Need::Edit, "change its steps").await?;
    let now = ctx.data().now();
    let today = scope::today(&school, now);
    let due_on = match due.as_deref() {
        Some(raw) => {
            let order = caller.settings.date_order;
            Some(dates::parse_due_in(
                raw,
                today,
                school.time_zone.name(),
                order,
            )?)
        }
        None => None,
    };
    let focus = match indicator.as_deref() {
        Some(named) => Some(focus_for(ctx, &caller, &school, named).await?),
        None => None,
    };
    let edit = StepEdit {
        title: title.as_deref(),
        due_on,
        focus: focus.as_ref().map(|(i, f)| (f.id, i.id.as_str())),
        resources: resources.as_ref().map(Option::as_deref),
    };
    let planned = steps::changes(&step, &edit);
    if planned.is_empty() {
        let reply = format!(
            "Nothing changed: step **#{} · {}** already reads that way.",
            step.id, step.title
        );
        return scope::say(ctx, reply).await;
    }
    let by = scope::Names::load_for(ctx, caller.guild_id, &[caller.user_id])
        .await?
        .of(caller.user_id);
    let line = |id: i64| {
        let what: Vec<&str> = planned.iter().map(|c| field_name(c.field)).collect();
        format!(
            "Step #{id} “{}” was edited by {by}: {}.",
            title.as_deref().unwrap_or(&step.title),
            what.join(", ")
        )
    };
    let announcement = scope::announcement(ctx, &school, &line).await;
    let (made, after) = steps::edit(
        &ctx.data().db,
        &step,
        &edit,
        caller.user_id,
        now,
        announcement.as_ref(),
    )
    .await?;
    let mut reply = edited_reply(&after, &made, today);
    if let Some(warning) = due_warning(&caller, &school, &after, &made) {
        reply.push_str("\n\n");
        reply.push_str(&warning);
    }
    scope::say(ctx, reply).await?;
    if !made.is_empty() {
        scope::announce(ctx, announcement.as_ref()).await;
    }
    Ok(())
}

/// A warning when the new due date falls in one of the school's breaks.
fn due_warning(
    caller: &Caller,
    school: &School,
    step: &ActionStep,
    made: &[FieldChange],
) -> Option<String> {
    if !made.iter().any(|c| c.field == "due") {
        return None;
    }
    super::break_warning(caller, school, step.due_on).map(|w| w.trim_start().to_owned())
}

/// How a field reads in a sentence.
pub(super) fn field_name(field: &str) -> &'static str {
    match field {
        "title" => "title",
        "due" => "due date",
        "indicator" => "indicator",
        "resources" => "resources needed",
        _ => "details",
    }
}

/// A logged value as people read it: a due date with its weekday, text in quotes.
pub(super) fn value_text(field: &str, value: Option<&str>) -> String {
    match (field, value) {
        (_, None) => "nothing".to_owned(),
        ("due", Some(date)) => date
            .parse::<chrono::NaiveDate>()
            .map_or_else(|_| date.to_owned(), crate::domain::text::day),
        ("indicator", Some(id)) => id.to_owned(),
        (_, Some(text)) => format!("“{}”", crate::domain::text::clip(text, 200)),
    }
}

/// The reply: each change from what to what, the due date as it was read.
fn edited_reply(after: &ActionStep, made: &[FieldChange], today: chrono::NaiveDate) -> String {
    let mut reply = format!("Step **#{} · {}** is edited:", after.id, after.title);
    for change in made {
        let new = if change.field == "due" {
            format!("**{}**", dates::as_read(after.due_on, today))
        } else {
            value_text(change.field, change.new.as_deref())
        };
        reply.push_str(&format!(
            "\n• {}: {} → {new}",
            field_name(change.field),
            value_text(change.field, change.old.as_deref()),
        ));
    }
    reply.push_str("\nEach change is in the step's log (`/step show`).");
    reply
}
