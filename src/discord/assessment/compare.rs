//! `/assessment compare`: two administrations side by side, each indicator's change (↑ = ↓),
//! what the school's focus indicators did, and the chart.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::scope::{self, Need};
use super::super::{Context, Error, complete};
use crate::domain::assessment::{self, Administration, Change, IndicatorResult};
use crate::domain::framework::Framework;
use crate::domain::text::{self, EMBED_DESCRIPTION, EMBED_FIELD_VALUE, EMBED_TITLE};
use crate::error::UserError;
use crate::export::slug;
use crate::reports::compare_chart::{CompareChart, compare_png};
use crate::store::schools::School;
use crate::store::{assessments, indicators};

/// What moved between two administrations, per indicator, with a chart (default: the last two)
#[poise::command(slash_command, guild_only, rename = "compare")]
pub async fn compare(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "The earlier administration (default: the one before the latest)"]
    #[autocomplete = "super::administration"]
    from: Option<String>,
    #[description = "The later administration (default: the latest)"]
    #[autocomplete = "super::administration"]
    to: Option<String>,
) -> Result<(), Error> {
    // Drawing the chart can take longer than Discord's three seconds: answer Discord first,
    // before any database work (the chart, or a refusal, follows as an edit).
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let action = "see its assessments";
    let school = scope::school(&caller, school.as_deref(), Need::Read, action)?;
    let data = ctx.data();
    let all = assessments::list(&data.db, caller.guild_id, school.id).await?;
    let (before, after) = pick(&school, &all, from.as_deref(), to.as_deref())?;
    let changes = assessment::compare(
        &results(&data.db, before).await?,
        &results(&data.db, after).await?,
    );
    let framework = scope::framework(ctx, &caller).await?;
    let focus: Vec<String> = indicators::for_school(&data.db, caller.guild_id, school.id)
        .await?
        .into_iter()
        .map(|f| f.indicator_id)
        .collect();
    let title = text::clip(
        &format!("{}: {} → {}", school.name, before.name, after.name),
        EMBED_TITLE,
    );
    let chart = CompareChart::new(
        title.clone(),
        format!("{} ({})", before.name, text::day(before.administered)),
        format!("{} ({})", after.name, text::day(after.administered)),
        &changes,
        &framework,
    );
    let png = compare_png(&chart)?;
    let file_name = format!("{}-compare-{}.png", slug(&school.name), after.administered);
    let lines: Vec<String> = changes.iter().map(|c| change_line(c, &framework)).collect();
    let mut embed = serenity::CreateEmbed::new()
        .title(title)
        .description(scope::fit_lines(
            &[
                vec![format!(
                    "{} (given {}) → {} (given {}), each indicator's level and its change:",
                    before.name,
                    text::day(before.administered),
                    after.name,
                    text::day(after.administered)
                )],
                lines,
            ]
            .concat(),
            EMBED_DESCRIPTION - 200,
        ))
        .field("Focus indicators", focus_text(&changes, &focus), false)
        .image(format!("attachment://{file_name}"));
    if all.len() > 2 {
        embed = embed.footer(serenity::CreateEmbedFooter::new(format!(
            "{} administrations in all: pick others with `from` and `to` (`/assessment list`).",
            all.len()
        )));
    }
    ctx.send(
        CreateReply::default()
            .embed(embed)
            .attachment(serenity::CreateAttachment::bytes(png, file_name))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The two administrations to compare: those named (by name, any case), else the last two.
fn pick<'a>(
    school: &School,
    all: &'a [Administration],
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(&'a Administration, &'a Administration), UserError> {
    let find = |given: &str| {
        all.iter()
            .find(|a| a.name.eq_ignore_ascii_case(given.trim()))
            .ok_or_else(|| UserError::UnknownAssessment {
                given: text::clip(given.trim(), 100),
                school: school.name.clone(),
            })
    };
    let too_few = || UserError::NothingToCompare {
        school: school.name.clone(),
        count: all.len(),
    };
    let after = match to {
        Some(given) => find(given)?,
        None => all.last().ok_or_else(too_few)?,
    };
    let before = match from {
        Some(given) => find(given)?,
        // The one before `after`, in date order.
        None => all
            .iter()
            .take_while(|a| a.id != after.id)
            .last()
            .ok_or_else(too_few)?,
    };
    if before.id == after.id {
        return Err(too_few());
    }
    Ok((before, after))
}

async fn results(
    db: &crate::store::Db,
    administration: &Administration,
) -> anyhow::Result<Vec<IndicatorResult>> {
    Ok(assessment::by_indicator(
        &assessments::rows(db, administration).await?,
    ))
}

fn level(result: Option<&IndicatorResult>) -> String {
    result.map_or_else(|| "not assessed".to_owned(), IndicatorResult::describe)
}

/// `` `12a` Leader partnerships: 2.2 (Getting Ready) → 3 (Getting Started) ↑ ``
fn change_line(change: &Change, framework: &Framework) -> String {
    let name = framework
        .indicator(&change.indicator_id)
        .map_or("", |i| i.name.as_str());
    let arrow = change.movement().map_or("", |m| m.arrow());
    format!(
        "`{}` {}: {} → {} {arrow}",
        change.indicator_id,
        text::clip(name, 60),
        level(change.before.as_ref()),
        level(change.after.as_ref()),
    )
    .trim_end()
    .to_owned()
}

/// Which of the school's focus indicators moved, and which way.
fn focus_text(changes: &[Change], focus: &[String]) -> String {
    if focus.is_empty() {
        return "The school has no focus indicator yet: `/indicator focus` adds one.".to_owned();
    }
    let lines: Vec<String> = focus
        .iter()
        .map(|id| {
            match changes
                .iter()
                .find(|c| &c.indicator_id == id)
                .and_then(|c| Some((c, c.movement()?)))
            {
                Some((c, movement)) => {
                    let word = match movement {
                        assessment::Movement::Up => "moved up",
                        assessment::Movement::Same => "stayed",
                        assessment::Movement::Down => "moved down",
                    };
                    format!(
                        "{} `{id}` {word}: {} → {}",
                        movement.arrow(),
                        level(c.before.as_ref()),
                        level(c.after.as_ref())
                    )
                }
                None => format!("`{id}` was not in both administrations"),
            }
        })
        .collect();
    scope::fit_lines(&lines, EMBED_FIELD_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assessment::IndicatorResult;

    fn result(id: &str, rank: f64) -> IndicatorResult {
        IndicatorResult {
            indicator_id: id.to_owned(),
            rank,
            respondents: None,
        }
    }

    #[test]
    fn focus_indicators_say_which_way_they_moved() {
        let changes = assessment::compare(
            &[result("11", 2.0), result("12a", 3.0)],
            &[result("11", 3.0), result("12a", 3.0), result("12b", 1.0)],
        );
        let text = focus_text(&changes, &["11".into(), "12a".into(), "12b".into()]);
        assert!(
            text.contains("↑ `11` moved up: 2 (Getting Ready) → 3 (Getting Started)"),
            "{text}"
        );
        assert!(text.contains("= `12a` stayed"), "{text}");
        assert!(text.contains("`12b` was not in both"), "{text}");
    }
}
