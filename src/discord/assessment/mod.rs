//! `/assessment import|list|compare`: a school's survey results, imported from a CSV file, as
//! strengths and target areas, and what moved between two administrations.

mod compare;
mod focus;

use anyhow::Context as _;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Caller, Names, Need};
use super::{Context, Error, complete};
use crate::assessment_import::{self, Request};
use crate::domain::assessment::{self, Administration};
use crate::domain::assessment_file::{self, NAME_MAX, Problems};
use crate::domain::ids::SchoolId;
use crate::domain::text::{self, MESSAGE_CONTENT};
use crate::error::UserError;
use crate::store::assessments;
use crate::store::schools::School;

pub use focus::{PREFIX as FOCUS_PREFIX, make_focus_buttons, on_make_focus};

/// A school's assessment results: import them, list them, compare two administrations
#[poise::command(
    slash_command,
    guild_only,
    subcommands("import", "list", "compare::compare"),
    subcommand_required
)]
pub async fn assessment(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The school named (or the caller's), for someone who may import its results.
fn school_to_import(caller: &Caller, named: Option<&str>) -> Result<School, Error> {
    let action = "import its assessment results";
    let school = scope::school(caller, named, Need::Read, action)?;
    if caller.access.may_import_assessment(school.id) {
        Ok(school)
    } else {
        Err(UserError::NotPermitted {
            needed: "the school's coaches and coachbot admins",
            action,
        }
        .into())
    }
}

/// Import a school's assessment results from a CSV file (coaches and admins)
#[poise::command(slash_command, guild_only)]
async fn import(
    ctx: Context<'_>,
    #[description = "The CSV file: columns indicator, level (1-5 or a name) or score, group, n"]
    file: serenity::Attachment,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "When it was given, e.g. 2026-11-15 (default: today)"] administered: Option<
        String,
    >,
    #[description = "What to call it, e.g. Fall 2026 (default: the season and year)"] name: Option<
        String,
    >,
    #[description = "The top of the score scale, when the file gives scores (e.g. 4)"]
    #[min = 1]
    scale: Option<f64>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let school = school_to_import(&caller, school.as_deref())?;
    let file_name = text::clip(&file.filename, 200);
    if file.size as usize > assessment_file::MAX_BYTES {
        let problems = Problems(vec![assessment_file::too_large(u64::from(file.size))]);
        return Err(
            UserError::BadAssessment(problems.describe(&file_name, MESSAGE_CONTENT)).into(),
        );
    }
    let name = name
        .as_deref()
        .map(|n| text::one_line("name", n, NAME_MAX))
        .transpose()?;
    let data = ctx.data();
    let today = scope::today(&school, data.now());
    let administered = match administered.as_deref() {
        Some(raw) => {
            let order = caller.settings.date_order;
            crate::domain::dates::parse_date(raw, today, order).ok_or_else(|| {
                UserError::UnreadableDate {
                    given: text::clip(raw.trim(), 40),
                }
            })?
        }
        None => today,
    };
    ctx.defer_ephemeral().await?;
    let bytes = file
        .download()
        .await
        .context("downloading the attached assessment file")?;
    let framework = scope::framework(ctx, &caller).await?;
    let request = Request {
        school: &school,
        bytes: &bytes,
        file_name: &file_name,
        administered,
        name: name.as_deref(),
        scale,
        today,
    };
    let (saved, results) =
        assessment_import::save(&data.db, &framework, &request, caller.user_id, data.now()).await?;
    let profile = assessment::profile(&results);
    let reply = assessment_import::imported_text(&school, &saved, &results, &framework);
    let mut reply = CreateReply::default().content(reply).ephemeral(true);
    if !profile.targets.is_empty() {
        reply = reply.components(make_focus_buttons(school.id, &profile.targets));
    }
    ctx.send(reply).await?;
    Ok(())
}

/// The school's administrations, oldest first, with who imported them
#[poise::command(slash_command, guild_only)]
async fn list(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let action = "see its assessments";
    let school = scope::school(&caller, school.as_deref(), Need::Read, action)?;
    let all = assessments::list(&ctx.data().db, caller.guild_id, school.id).await?;
    let names = Names::load(ctx, caller.guild_id).await?;
    let lines: Vec<String> = all
        .iter()
        .map(|a| {
            format!(
                "**{}** · given {} · `{}` · imported by {} on {}",
                text::clip(&a.name, NAME_MAX),
                text::day(a.administered),
                text::clip(&a.file_name, 60),
                importer(&names, a),
                text::day(a.imported_at.with_timezone(&school.zone()).date_naive()),
            )
        })
        .collect();
    scope::send_list(
        ctx,
        &format!("Assessments of {} ({})", school.name, all.len()),
        &lines,
        "None yet. A coach imports one with `/assessment import` (see the sample file \
         prompts/sample-assessment.csv).",
    )
    .await
}

/// Who imported it: a member's name, or the command line (user id 0).
fn importer(names: &Names, a: &Administration) -> String {
    if a.imported_by.get() == 0 {
        "the command line".to_owned()
    } else {
        names.of(a.imported_by)
    }
}

/// Autocomplete for an administration: those of the schools the caller may read, by name.
pub async fn administration(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let empty = serenity::CreateAutocompleteResponse::new();
    let Some(guild_id) = ctx.guild_id() else {
        return empty;
    };
    let Ok(access) = super::caller::peek_access(ctx).await else {
        return empty;
    };
    let db = &ctx.data().db;
    let (Ok(all), Ok(schools)) = (
        assessments::list_all(db, guild_id.into()).await,
        crate::store::schools::list(db, guild_id.into()).await,
    ) else {
        return empty;
    };
    let typed = partial.trim().to_lowercase();
    let school_name = |id: SchoolId| {
        schools
            .iter()
            .find(|s| s.id == id)
            .map_or("", |s| s.name.as_str())
    };
    let choices: Vec<serenity::AutocompleteChoice> = all
        .iter()
        .rev()
        .filter(|a| access.can_read_plan(a.school_id))
        .filter(|a| a.name.to_lowercase().contains(&typed))
        .take(text::CHOICES)
        .map(|a| {
            let label = format!(
                "{} · {} · {}",
                a.name,
                a.administered,
                school_name(a.school_id)
            );
            serenity::AutocompleteChoice::new(
                text::clip(&label, text::CHOICE_NAME),
                text::clip(&a.name, text::CHOICE_NAME),
            )
        })
        .collect();
    empty.set_choices(choices)
}
