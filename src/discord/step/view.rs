//! Reading the plan: `/step list` and `/step show`.

use chrono::NaiveDate;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::scope::{self, Names, Need};
use super::super::{Context, Error, complete};
use super::{StatusChoice, indicator_named, step_for};
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::plan::StepStatus;
use crate::domain::text::{self, EMBED_DESCRIPTION, thousands};
use crate::store::barriers;
use crate::store::schools::School;
use crate::store::steps::{self, StepFilter, StepPage, StepUpdate};

/// List steps: yours, a school's, by indicator or status, or overdue
#[poise::command(slash_command, guild_only)]
pub(super) async fn list(
    ctx: Context<'_>,
    #[description = "Only steps you own"] mine: Option<bool>,
    #[description = "Only steps under this indicator"]
    #[autocomplete = "complete::indicator"]
    indicator: Option<String>,
    #[description = "Only steps with this status"] status: Option<StatusChoice>,
    #[description = "Only open steps past their due date"] overdue: Option<bool>,
    #[description = "Which school (defaults to yours; coaches see all)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let all_schools = caller.settings.schools.to_vec();
    let school = scope::school_or_all(&caller, school.as_deref(), "see its plan")?;
    let indicator_id = match indicator.as_deref() {
        Some(raw) => Some(indicator_named(ctx, &caller, raw).await?.id),
        None => None,
    };
    let status = status.map(StepStatus::from);
    let overdue = overdue.unwrap_or(false);
    let now = ctx.data().now();
    // One query per school when each school's "today" (in its own time zone) or the
    // caller's reach differs between schools; one for the whole server otherwise.
    let readable: Vec<&School> = all_schools
        .iter()
        .filter(|s| caller.access.can_read_plan(s.id))
        .collect();
    let parts: Vec<(Option<SchoolId>, Option<NaiveDate>)> = match &school {
        Some(s) => vec![(Some(s.id), overdue.then(|| scope::today(s, now)))],
        None if !overdue && readable.len() == all_schools.len() => vec![(None, None)],
        None => readable
            .iter()
            .map(|s| (Some(s.id), overdue.then(|| scope::today(s, now))))
            .collect(),
    };
    let read = |limit: i64| {
        let parts = parts.clone();
        let (owner, indicator_id) = (
            mine.unwrap_or(false).then_some(caller.user_id),
            indicator_id.as_deref(),
        );
        async move {
            let mut page = StepPage::default();
            for (school_id, overdue_on) in parts {
                let filter = StepFilter {
                    school_id,
                    owner,
                    indicator_id,
                    status: status.map(StepStatus::key),
                    overdue_on,
                };
                // Done and dropped steps show only when `status` asks for them.
                let part =
                    steps::page(db, caller.guild_id, &filter, status.is_some(), limit).await?;
                page.steps.extend(part.steps);
                page.owners.extend(part.owners);
                page.shown += part.shown;
                page.hidden += part.hidden;
            }
            page.steps.sort_by_key(|s| (s.due_on, s.id));
            page.steps
                .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok::<_, Error>(page)
        }
    };
    let every_school = school.is_none().then_some(all_schools.as_slice());
    let budget = EMBED_DESCRIPTION - 200;
    // A screen usually holds fewer lines than the first read; only when they all fit and
    // more match (short titles) is the longer read needed to fill it.
    let mut page = read(LIST_FIRST).await?;
    let mut lines = list_lines(ctx, caller.guild_id, &page, every_school).await?;
    if Total::of(page.shown).exceeds(lines.len()) && fits_all(&lines, budget) {
        page = read(LIST_PAGE).await?;
        lines = list_lines(ctx, caller.guild_id, &page, every_school).await?;
    }
    let heading = match &school {
        Some(s) => format!("Steps of {}", s.name),
        None => "Steps in every school".to_owned(),
    };
    let mut body = if lines.is_empty() {
        "No open steps match. Add one with `/step add`.".to_owned()
    } else {
        fit_page(
            &lines,
            Total::of(page.shown),
            budget,
            "narrow it with `school`, `mine`, `status` or `indicator`",
        )
    };
    if page.hidden > 0 {
        body.push_str(&format!(
            "\n\n{} hidden: add `status: done` or `status: dropped` to see them.",
            Total::of(page.hidden).counted("done or dropped step")
        ));
    }
    let embed = serenity::CreateEmbed::new()
        .title(heading)
        .description(body)
        .footer(serenity::CreateEmbedFooter::new(
            Total::of(page.shown).counted("step"),
        ));
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// Steps `/step list` reads from the database at most: more lines than its embed can hold
/// (a line takes at least about 40 of the description's 3,900 characters), so the screen is
/// always full when the plan is, and a plan of thousands costs what one screen costs.
const LIST_PAGE: i64 = 100;

/// Steps `/step list` reads first: a screen of lines of ordinary length (a title of a few
/// words, one or two owners) holds fewer than this.
const LIST_FIRST: i64 = 40;

/// Whether every line fits in `max` characters with room left for the "… and N more" line,
/// so that a longer read would show more.
fn fits_all(lines: &[String], max: usize) -> bool {
    let used: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    used + 80 <= max
}

/// How many steps a list holds, as far as its counts go (`steps::COUNT_CAP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Total {
    Exactly(usize),
    /// More than `steps::COUNT_CAP`.
    Over,
}

impl Total {
    fn of(count: i64) -> Self {
        if count > steps::COUNT_CAP {
            Self::Over
        } else {
            Self::Exactly(usize::try_from(count).unwrap_or(0))
        }
    }

    fn words(self) -> String {
        match self {
            Self::Exactly(n) => thousands(u64::try_from(n).unwrap_or(u64::MAX)),
            Self::Over => format!("over {}", thousands(steps::COUNT_CAP.unsigned_abs())),
        }
    }

    /// The count with its noun: `1 step`, `3 steps`, `over 1,000 steps`.
    fn counted(self, one: &str) -> String {
        match self {
            Self::Exactly(1) => format!("1 {one}"),
            other => format!("{} {one}s", other.words()),
        }
    }

    /// Whether the list goes on past its first `shown` lines.
    fn exceeds(self, shown: usize) -> bool {
        match self {
            Self::Exactly(n) => n > shown,
            Self::Over => true,
        }
    }
}

/// `lines` (the first of `total`) within `max` characters; when they do not all fit, or the
/// list goes on past them, it ends with how many more there are and `see` where to find them.
fn fit_page(lines: &[String], total: Total, max: usize, see: &str) -> String {
    let more = |shown: usize| match total {
        Total::Exactly(n) => format!("… and {} more; {see}", n.saturating_sub(shown)),
        Total::Over => format!(
            "… and more (over {} in all); {see}",
            thousands(steps::COUNT_CAP.unsigned_abs())
        ),
    };
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        if out.chars().count() + line.chars().count() + 1 + more(index).chars().count() + 1 > max {
            out.push_str(&more(index));
            return text::clip(&out, max);
        }
        out.push_str(line);
        out.push('\n');
    }
    if total.exceeds(lines.len()) {
        // Room for this was kept with every line above.
        out.push_str(&more(lines.len()));
        return out;
    }
    out.trim_end().to_owned()
}

/// One line a step for `/step list`; with `every_school`, each line names its school.
async fn list_lines(
    ctx: Context<'_>,
    guild_id: ServerId,
    page: &StepPage,
    every_school: Option<&[School]>,
) -> Result<Vec<String>, Error> {
    let mut named: Vec<UserId> = page.owners.values().flatten().copied().collect();
    named.sort_unstable();
    named.dedup();
    let names = Names::load_for(ctx, guild_id, &named).await?;
    let mut lines = Vec::new();
    for step in &page.steps {
        let owners = page.owners.get(&step.id).map_or(&[][..], Vec::as_slice);
        let where_ = every_school
            .and_then(|all| all.iter().find(|x| x.id == step.school_id))
            .map(|x| format!(" · {}", x.name))
            .unwrap_or_default();
        lines.push(format!(
            "**#{}** {} — {} · due {} · {}{where_} · {}",
            step.id,
            step.title,
            step.status.label(),
            scope::day(step.due_on),
            step.indicator_id,
            names.list(owners)
        ));
    }
    Ok(lines)
}

/// A status as people read it (a word the program no longer knows is shown as stored).
fn status_label(key: &str) -> String {
    StepStatus::parse(key).map_or(key.to_owned(), |s| s.label().to_owned())
}

/// One entry of a step's log: when, who, what.
fn update_line(u: &StepUpdate, names: &Names, zone: chrono_tz::Tz) -> String {
    let who = names.of(u.author_id);
    let when = scope::local_time(u.at, zone);
    let what = match u.kind.as_str() {
        "created" => "added the step".to_owned(),
        "edited" => {
            let field = u.field.as_deref().unwrap_or_default();
            format!(
                "changed the {}: {} → {}",
                super::edit::field_name(field),
                super::edit::value_text(field, u.old_value.as_deref()),
                super::edit::value_text(field, u.new_value.as_deref())
            )
        }
        "assigned" | "unassigned" => {
            let whom = u
                .note
                .as_deref()
                .and_then(|n| n.parse::<u64>().ok())
                .map_or_else(|| "someone".to_owned(), |id| names.of(UserId::new(id)));
            if u.kind == "assigned" {
                format!("made {whom} an owner")
            } else {
                format!("took {whom} off")
            }
        }
        _ => {
            let moved = match (&u.old_status, &u.new_status) {
                (Some(old), Some(new)) => format!("{} → {}", status_label(old), status_label(new)),
                _ => "progress".to_owned(),
            };
            match &u.note {
                Some(note) => format!("{moved}: {note}"),
                None => moved,
            }
        }
    };
    format!("{when} · **{who}** · {what}")
}

/// A step in full: owners, due date, resources and every update
#[poise::command(slash_command, guild_only)]
pub(super) async fn show(
    ctx: Context<'_>,
    #[description = "The step"]
    #[autocomplete = "complete::step"]
    step: String,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let (step, school) = step_for(ctx, &caller, &step, Need::Read, "see its plan").await?;
    let db = &ctx.data().db;
    let names = Names::load(ctx, caller.guild_id).await?;
    let zone = scope::zone(&school);
    let owners = steps::owners(db, step.id).await?;
    let log: Vec<String> = steps::updates(db, &step)
        .await?
        .iter()
        .map(|u| update_line(u, &names, zone))
        .collect();
    let open = barriers::open_for_step(db, caller.guild_id, step.id).await?;
    let mut embed = serenity::CreateEmbed::new()
        .title(text::clip(
            &format!("#{} · {}", step.id, step.title),
            text::EMBED_TITLE,
        ))
        .description(scope::fit_lines(&log, 3000))
        .field("School", &school.name, true)
        .field("Indicator", &step.indicator_id, true)
        .field("Status", step.status.label(), true)
        .field("Due", scope::day(step.due_on), true)
        .field(
            "Owners",
            text::clip(&names.list(&owners), text::EMBED_FIELD_VALUE),
            true,
        );
    if let Some(resources) = &step.resources {
        embed = embed.field(
            "Resources needed",
            text::clip(resources, text::EMBED_FIELD_VALUE),
            false,
        );
    }
    if !open.is_empty() {
        let lines: Vec<String> = open
            .iter()
            .map(|b| format!("#{} [{}] {}", b.id, b.category, b.text))
            .collect();
        embed = embed.field(
            "Open barriers",
            scope::fit_lines(&lines, text::EMBED_FIELD_VALUE),
            false,
        );
    }
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_past_the_cap_reads_as_over_it() {
        assert_eq!(Total::of(3).words(), "3");
        assert_eq!(Total::of(1_000).words(), "1,000");
        assert_eq!(Total::of(1_001).words(), "over 1,000");
        let lines = vec!["one".to_owned(), "two".to_owned()];
        let page = fit_page(&lines, Total::of(1_001), 3_000, "narrow it");
        assert_eq!(page, "one\ntwo\n… and more (over 1,000 in all); narrow it");
        let page = fit_page(&lines, Total::of(5), 3_000, "narrow it");
        assert_eq!(page, "one\ntwo\n… and 3 more; narrow it");
        assert_eq!(
            fit_page(&lines, Total::of(2), 3_000, "narrow it"),
            "one\ntwo"
        );
    }
}
