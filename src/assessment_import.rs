//! One assessment import, whole or not at all: the file read and checked against the
//! framework, the date and the name settled, the rows saved in one transaction. `/assessment
//! import` and `coachbot assessment import` both come here, so they save the same rows.

use chrono::NaiveDate;

use crate::domain::assessment::{self, Administration, IndicatorResult};
use crate::domain::assessment_file;
use crate::domain::framework::Framework;
use crate::domain::text::{self, MESSAGE_CONTENT};
use crate::error::UserError;
use crate::store::assessments::{self, Imported, NewAdministration};
use crate::store::schools::School;

/// One import, from the command or the command line.
pub struct Request<'a> {
    pub school: &'a School,
    pub bytes: &'a [u8],
    pub file_name: &'a str,
    pub administered: NaiveDate,
    /// None: the season's name (`Fall 2026`), or `Assessment 2026-12-01` when that is taken.
    pub name: Option<&'a str>,
    pub scale: Option<f64>,
    /// Today where the school is: the administration may not be later.
    pub today: NaiveDate,
}

/// Reads, checks and saves an import, whole or not at all: the saved administration and its
/// results per indicator. Mistakes are `UserError`s that say what to fix.
pub async fn save(
    db: &crate::store::Db,
    framework: &Framework,
    request: &Request<'_>,
    by: crate::domain::ids::UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(Administration, Vec<IndicatorResult>)> {
    let school = request.school;
    if request.administered > request.today {
        return Err(UserError::AssessmentInFuture {
            date: text::day(request.administered),
            today: text::day(request.today),
        }
        .into());
    }
    let rows = assessment_file::parse(request.bytes, framework, request.scale)
        .map_err(|p| UserError::BadAssessment(p.describe(request.file_name, MESSAGE_CONTENT)))?;
    let names: Vec<String> = match request.name {
        Some(name) => vec![name.to_owned()],
        None => vec![
            assessment_file::season_name(request.administered),
            assessment_file::dated_name(request.administered),
        ],
    };
    // Names differ by more than capital letters: `compare` finds them in any case.
    let taken: Vec<String> = assessments::list(db, school.server_id, school.id)
        .await?
        .into_iter()
        .map(|a| a.name.to_lowercase())
        .collect();
    for name in names.iter().filter(|n| !taken.contains(&n.to_lowercase())) {
        let new = NewAdministration {
            server_id: school.server_id,
            school_id: school.id,
            name,
            administered: request.administered,
            file_name: request.file_name,
            imported_by: by,
        };
        if let Imported::Saved(saved) = assessments::save(db, &new, &rows, now).await? {
            return Ok((saved, assessment::by_indicator(&rows)));
        }
    }
    Err(UserError::AssessmentNameTaken {
        name: names.first().cloned().unwrap_or_default(),
        school: school.name.clone(),
    }
    .into())
}

/// `` `12a` Leader partnerships: 2.2 (Getting Ready) ``
fn result_line(result: &IndicatorResult, framework: &Framework) -> String {
    let name = framework
        .indicator(&result.indicator_id)
        .map_or("", |i| i.name.as_str());
    format!(
        "• `{}` {}: {}",
        result.indicator_id,
        text::clip(name, 80),
        result.describe()
    )
}

/// What the importer reads: what was saved, the strengths and the target areas.
pub fn imported_text(
    school: &School,
    saved: &Administration,
    results: &[IndicatorResult],
    framework: &Framework,
) -> String {
    let profile = assessment::profile(results);
    let mut lines = vec![format!(
        "Imported **{}** for **{}** (given {}): {} from `{}`. `/assessment list` shows every \
         administration; `/assessment compare` shows what moved.",
        saved.name,
        school.name,
        text::day(saved.administered),
        text::plural(results.len() as i64, "indicator"),
        text::clip(&saved.file_name, 80),
    )];
    if !profile.strengths.is_empty() {
        lines.push("**Strengths** (highest)".to_owned());
        lines.extend(profile.strengths.iter().map(|r| result_line(r, framework)));
    }
    if !profile.targets.is_empty() {
        lines.push("**Target areas** (lowest)".to_owned());
        lines.extend(profile.targets.iter().map(|r| result_line(r, framework)));
        lines
            .push("Make a target one of the school's focus indicators with its button.".to_owned());
    }
    // At most 2 × PROFILE_SIZE lines of clipped names: always within a message.
    text::clip(&lines.join("\n"), MESSAGE_CONTENT)
}
