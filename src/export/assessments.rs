//! `assessments.csv`: every row of every administration exported, one line per indicator and
//! group, with the indicator's name from the server's framework. Names and groups came from a
//! file someone imported, and the framework from a file too: all are defused like typed text.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::CsvFile;
use super::rows::CsvRow;
use crate::domain::assessment::{Administration, ResultRow};
use crate::domain::ids::{SchoolId, ServerId};
use crate::store::{Db, assessments};

pub(super) const HEADERS: &[&str] = &[
    "assessment_id",
    "administration",
    "administered",
    "school",
    "indicator",
    "indicator_name",
    "group",
    "level",
    "level_label",
    "score",
    "score_max",
    "n",
    "row_number",
];

#[derive(Serialize)]
pub(super) struct AssessmentCsv<'a> {
    assessment_id: i64,
    administration: &'a str,
    administered: String,
    school: &'a str,
    indicator: &'a str,
    indicator_name: &'a str,
    group: &'a str,
    level: u8,
    level_label: &'static str,
    score: Option<f64>,
    score_max: Option<f64>,
    n: Option<i64>,
    row_number: i64,
}

impl CsvRow for AssessmentCsv<'_> {
    const HEADERS: &'static [&'static str] = HEADERS;
}

/// The rows of `administrations`, in order, ready to write.
pub(super) fn csv_rows<'a>(
    administrations: &'a [(Administration, Vec<ResultRow>)],
    schools: &'a HashMap<SchoolId, String>,
    indicator_names: &'a BTreeMap<String, String>,
) -> impl Iterator<Item = AssessmentCsv<'a>> {
    administrations.iter().flat_map(move |(a, rows)| {
        rows.iter().map(move |r| AssessmentCsv {
            assessment_id: a.id,
            administration: &a.name,
            administered: a.administered.to_string(),
            school: schools.get(&a.school_id).map_or("", String::as_str),
            indicator: &r.indicator_id,
            indicator_name: indicator_names
                .get(&r.indicator_id)
                .map_or("", String::as_str),
            group: &r.group,
            level: r.level.rank(),
            level_label: r.level.label(),
            score: r.score,
            score_max: r.scale_max,
            n: r.respondents,
            row_number: r.row_number,
        })
    })
}

/// `{prefix}-assessments.csv` for school `school_id` (every school when None).
pub(super) async fn file(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    schools: &HashMap<SchoolId, String>,
    indicator_names: &BTreeMap<String, String>,
    prefix: &str,
) -> anyhow::Result<CsvFile> {
    let mut administrations = Vec::new();
    for administration in assessments::list_all(db, server_id).await? {
        if school_id.is_some_and(|id| id != administration.school_id) {
            continue;
        }
        let rows = assessments::rows(db, &administration).await?;
        administrations.push((administration, rows));
    }
    super::file(
        prefix,
        "assessments",
        csv_rows(&administrations, schools, indicator_names),
    )
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::*;
    use crate::domain::framework::Level;
    use crate::domain::ids::UserId;

    #[test]
    fn framework_text_and_imported_text_are_defused() {
        let administration = Administration {
            id: 4,
            server_id: ServerId::new(1),
            school_id: SchoolId::new(1),
            name: "=Fall 2026".into(),
            administered: NaiveDate::from_ymd_opt(2026, 10, 15).expect("a date"),
            file_name: "fall.csv".into(),
            imported_by: UserId::new(7),
            imported_at: Utc
                .with_ymd_and_hms(2026, 10, 16, 9, 0, 0)
                .single()
                .expect("a time"),
        };
        let row = ResultRow {
            row_number: 2,
            indicator_id: "+12a".into(),
            group: "@teachers".into(),
            level: Level::GettingReady,
            score: Some(1.5),
            scale_max: Some(4.0),
            respondents: Some(24),
        };
        let all = [(administration, vec![row])];
        let schools = [(SchoolId::new(1), "Lincoln Elementary".to_owned())].into();
        let names = [("+12a".to_owned(), "=HYPERLINK(\"x\")".to_owned())].into();
        let file = super::super::file("x", "assessments", csv_rows(&all, &schools, &names))
            .expect("a file");
        assert_eq!(file.name, "x-assessments.csv");
        let mut reader = csv::Reader::from_reader(file.bytes.as_slice());
        assert_eq!(
            reader
                .headers()
                .expect("headers")
                .iter()
                .collect::<Vec<_>>(),
            HEADERS
        );
        let record = reader.records().next().expect("a row").expect("readable");
        let cells: Vec<&str> = record.iter().collect();
        assert_eq!(
            cells,
            [
                "4",
                "'=Fall 2026",
                "2026-10-15",
                "Lincoln Elementary",
                "'+12a",
                "'=HYPERLINK(\"x\")",
                "'@teachers",
                "2",
                "Getting Ready",
                "1.5",
                "4.0",
                "24",
                "2"
            ]
        );
    }
}
