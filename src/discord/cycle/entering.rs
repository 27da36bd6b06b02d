//! What a school sees on entering a stage: the latest assessment's strengths and targets on
//! entering the debrief, the targets that could become focus indicators on entering planning,
//! and a reminder to import the new results on entering the re-assessment.

use poise::serenity_prelude as serenity;

use crate::domain::assessment::{self, Administration, IndicatorResult, Profile};
use crate::domain::cycle::Stage;
use crate::domain::framework::Framework;
use crate::domain::text::{clip, day};
use crate::store::schools::School;
use crate::store::{Db, assessments, indicators};

/// Longest indicator title shown in a line.
const TITLE_MAX: usize = 90;

/// What to add to the reply for the stage entered: text, and the buttons under it.
#[derive(Default)]
pub struct Entering {
    pub text: Option<String>,
    pub components: Vec<serenity::CreateActionRow>,
}

/// Reads what the stage entered needs (the latest assessment, the focus indicators).
pub async fn entering(
    db: &Db,
    framework: &Framework,
    school: &School,
    stage: Stage,
) -> anyhow::Result<Entering> {
    match stage {
        Stage::Debrief | Stage::Plan => {}
        Stage::Reassess => {
            let latest = assessments::latest(db, school.server_id, school.id).await?;
            return Ok(Entering {
                text: Some(reassess_text(latest.as_ref().map(|(a, _)| a))),
                components: Vec::new(),
            });
        }
        Stage::Assess | Stage::Implement | Stage::Support => return Ok(Entering::default()),
    }
    let Some((administration, rows)) = assessments::latest(db, school.server_id, school.id).await?
    else {
        return Ok(Entering {
            text: Some(no_assessment(school)),
            components: Vec::new(),
        });
    };
    let profile = assessment::profile(&assessment::by_indicator(&rows));
    if stage == Stage::Debrief {
        return Ok(Entering {
            text: Some(debrief_text(&administration, &profile, framework)),
            components: Vec::new(),
        });
    }
    let focused: Vec<String> = indicators::for_school(db, school.server_id, school.id)
        .await?
        .into_iter()
        .map(|f| f.indicator_id)
        .collect();
    Ok(Entering {
        text: Some(plan_text(
            &administration,
            &profile.targets,
            &focused,
            framework,
        )),
        components: make_focus_buttons(school, &profile.targets, &focused),
    })
}

/// The **Make focus** buttons for the targets not yet a focus (the same buttons as an
/// assessment import's reply; their clicks are handled there).
pub fn make_focus_buttons(
    school: &School,
    targets: &[IndicatorResult],
    focused: &[String],
) -> Vec<serenity::CreateActionRow> {
    let open: Vec<IndicatorResult> = targets
        .iter()
        .filter(|t| {
            !focused
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&t.indicator_id))
        })
        .cloned()
        .collect();
    crate::discord::assessment::make_focus_buttons(school.id, &open)
}

fn title(framework: &Framework, id: &str) -> String {
    clip(
        &framework
            .indicator(id)
            .map_or_else(|| id.to_owned(), |i| i.title()),
        TITLE_MAX,
    )
}

fn administration_name(administration: &Administration) -> String {
    format!(
        "**{}** ({})",
        clip(&administration.name, 100),
        day(administration.administered)
    )
}

fn no_assessment(school: &School) -> String {
    format!(
        "No assessment is imported for {} yet: import the results with `/assessment import`, \
         and their strengths and target areas show here (and in `/assessment list`).",
        school.name
    )
}

/// The debrief's starting point: the latest results' strengths and target areas.
pub fn debrief_text(
    administration: &Administration,
    profile: &Profile,
    framework: &Framework,
) -> String {
    let list = |results: &[IndicatorResult]| {
        if results.is_empty() {
            return "• none stand out yet".to_owned();
        }
        results
            .iter()
            .map(|r| format!("• {}: {}", title(framework, &r.indicator_id), r.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "**Latest assessment:** {}\n**Strengths**\n{}\n**Target areas**\n{}",
        administration_name(administration),
        list(&profile.strengths),
        list(&profile.targets)
    )
}

/// The targets that could become focus indicators, marking those that already are.
pub fn plan_text(
    administration: &Administration,
    targets: &[IndicatorResult],
    focused: &[String],
    framework: &Framework,
) -> String {
    if targets.is_empty() {
        return format!(
            "The latest assessment, {}, shows no target areas: choose focus indicators with \
             `/indicator focus`.",
            administration_name(administration)
        );
    }
    let lines: Vec<String> = targets
        .iter()
        .map(|t| {
            let state = if focused.contains(&t.indicator_id) {
                "already a focus".to_owned()
            } else {
                format!(
                    "not a focus yet → `/indicator focus indicator:{}`",
                    clip(&t.indicator_id, 40)
                )
            };
            format!(
                "• {}: {} · {state}",
                title(framework, &t.indicator_id),
                t.describe()
            )
        })
        .collect();
    format!(
        "**Target areas** from {}, which could become focus indicators:\n{}",
        administration_name(administration),
        lines.join("\n")
    )
}

/// The reminder on entering the re-assessment.
pub fn reassess_text(latest: Option<&Administration>) -> String {
    let compare = match latest {
        Some(last) => format!(
            "then `/assessment compare` shows what moved since {}",
            administration_name(last)
        ),
        None => "then `/assessment compare` shows what moved".to_owned(),
    };
    format!(
        "**Reminder:** once staff have taken the survey again, import the new results with \
         `/assessment import`; {compare}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{SchoolId, ServerId, UserId};

    fn administration() -> Administration {
        Administration {
            id: 1,
            server_id: ServerId::new(1),
            school_id: SchoolId::new(1),
            name: "Fall 2026".into(),
            administered: chrono::NaiveDate::from_ymd_opt(2026, 9, 14).expect("date"),
            file_name: "fall.csv".into(),
            imported_by: UserId::new(7),
            imported_at: chrono::Utc::now(),
        }
    }

    fn result(id: &str, rank: f64) -> IndicatorResult {
        IndicatorResult {
            indicator_id: id.into(),
            rank,
            respondents: None,
        }
    }

    #[test]
    fn planning_marks_the_targets_already_in_focus() {
        let framework = crate::prompts::default_framework().expect("framework");
        let text = plan_text(
            &administration(),
            &[result("11", 2.0), result("12b", 2.5)],
            &["11".to_owned()],
            &framework,
        );
        assert!(text.contains("Fall 2026"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with("• 11 · ") && lines[1].ends_with("already a focus"),
            "{text}"
        );
        assert!(
            lines[2].contains("12b") && lines[2].contains("`/indicator focus indicator:12b`"),
            "{text}"
        );
    }

    #[test]
    fn the_debrief_names_strengths_and_targets() {
        let framework = crate::prompts::default_framework().expect("framework");
        let profile = Profile {
            strengths: vec![result("12a", 4.0)],
            targets: vec![result("11", 2.0)],
        };
        let text = debrief_text(&administration(), &profile, &framework);
        assert!(
            text.contains("**Strengths**\n• 12a · ") && text.contains("4 (Getting Better)"),
            "{text}"
        );
        assert!(
            text.contains("**Target areas**\n• 11 · ") && text.contains("2 (Getting Ready)"),
            "{text}"
        );
    }
}
