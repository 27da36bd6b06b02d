//! The CSV files of an export: one per kind of record, UTF-8, a header row, RFC 4180 quoting.
//! Every text cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return) is written with a leading `'`, so opening the file runs
//! nothing: what people typed, names, a framework's indicator ids and names, imported
//! assessments. The writer itself does it ([`defused`]), for every file; numbers stay numbers.

mod assessments;
mod cycle;
mod defused;
pub mod personal;
mod rows;
mod sessions;

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::domain::ids::{SchoolId, ServerId};
use crate::store::Db;
use crate::store::export::{self as records, Answers, Records};
use crate::store::frameworks::{self, Frameworks};
use rows::{CsvRow, Names};

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvFile {
    pub name: String,
    /// Data rows, without the header.
    pub rows: usize,
    pub bytes: Vec<u8>,
}

/// Discord's limit on what one message may attach, in bytes (servers without boosts).
pub const DISCORD_UPLOAD_LIMIT: u64 = 10 << 20;

/// Reads the records of school `school_id` (of every school when None) in `server_id` and
/// writes them out; `name` (the school's or the server's) and `today` name the files.
pub async fn build(
    db: &Db,
    frameworks: &Frameworks,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    answers: &Answers,
    name: &str,
    today: chrono::NaiveDate,
) -> anyhow::Result<Vec<CsvFile>> {
    let framework = frameworks::effective(db, server_id, frameworks).await?;
    let indicator_names = framework
        .indicators()
        .map(|i| (i.id.clone(), i.name.clone()))
        .collect();
    let records = records::records(db, server_id, school_id, answers).await?;
    let prefix = format!("{}-{today}", slug(name));
    let mut out = files(&records, &indicator_names, &prefix)?;

    out.push(
        assessments::file(
            db,
            server_id,
            school_id,
            &records.schools,
            &indicator_names,
            &prefix,
        )
        .await?,
    );
    // Coaching sessions, under the rule of check-in answers (issue K).
    let logged = sessions::allowed(db, server_id, school_id, answers).await?;
    let names = Names {
        records: &records,
        indicator_names: &indicator_names,
    };
    out.extend(sessions::files(&names, &logged, &prefix)?);
    Ok(out)
}

/// The files of `records`, named `{prefix}-steps.csv` and so on; `checkin-answers` only when
/// the export carries answers. `indicator_names` come from the server's framework.
pub fn files(
    records: &Records,
    indicator_names: &BTreeMap<String, String>,
    prefix: &str,
) -> anyhow::Result<Vec<CsvFile>> {
    let ctx = Names {
        records,
        indicator_names,
    };
    let mut files = vec![
        file(prefix, "steps", records.steps.iter().map(|s| ctx.step(s)))?,
        file(
            prefix,
            "updates",
            records.updates.iter().map(|u| ctx.update(u)),
        )?,
        file(
            prefix,
            "barriers",
            records.barriers.iter().map(|b| ctx.barrier(b)),
        )?,
        file(
            prefix,
            "barrier-notes",
            records.barrier_notes.iter().map(|n| ctx.barrier_note(n)),
        )?,
        file(
            prefix,
            "indicator-levels",
            records.levels.iter().map(|l| ctx.level(l)),
        )?,
        file(prefix, "cycle", records.cycle.iter().map(|e| ctx.cycle(e)))?,
    ];
    if !records.answers.is_empty() {
        files.push(file(
            prefix,
            "checkin-answers",
            records.answers.iter().map(|a| ctx.answer(a)),
        )?);
    }
    Ok(files)
}

pub use crate::domain::text::slug;

/// Writes one file; every row goes through the defusing serializer.
fn file<T: CsvRow>(
    prefix: &str,
    kind: &str,
    rows: impl Iterator<Item = T>,
) -> anyhow::Result<CsvFile> {
    let name = format!("{prefix}-{kind}.csv");
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut count = 0;
    for row in rows {
        writer
            .serialize(defused::Defused(&row))
            .with_context(|| format!("writing {name}"))?;
        count += 1;
    }
    if count == 0 {
        // serde writes the header with the first row; an empty file still gets one.
        writer
            .write_record(T::HEADERS)
            .with_context(|| format!("writing {name}"))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {name}: {}", e.error()))?;
    Ok(CsvFile {
        name,
        rows: count,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::cycle::CYCLE_HEADERS;
    use super::rows::{
        ANSWER_HEADERS, BARRIER_HEADERS, BARRIER_NOTE_HEADERS, LEVEL_HEADERS, STEP_HEADERS,
        UPDATE_HEADERS,
    };
    use super::*;
    use crate::domain::cycle::{Stage, StageEntry};
    use crate::domain::plan::BarrierNoteKind;
    use crate::store::barriers::{Barrier, BarrierNote};
    use crate::store::export::{AnswerRow, LevelRow, UpdateRow};
    use crate::store::steps::ActionStep;

    fn records() -> Records {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 2, 14, 5, 9)
            .single()
            .expect("a time");
        Records {
            schools: [(SchoolId::new(1), "Lincoln Elementary".to_owned())].into(),
            names: [
                (UserId::new(7), "Terry, \"T\" Okafor".to_owned()),
                (UserId::new(8), "=cmd".to_owned()),
            ]
            .into(),
            steps: vec![ActionStep {
                id: StepId::new(3),
                server_id: ServerId::new(1),
                school_id: SchoolId::new(1),
                focus_id: 2,
                indicator_id: "12a".into(),
                title: "Walkthroughs, then a debrief\non Fridays".into(),
                status: crate::domain::plan::StepStatus::InProgress,
                due_on: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
                resources: Some("-2 subs".into()),
                created_by: UserId::new(7),
                created_at: at,
                updated_at: at,
            }],
            owners: vec![
                (StepId::new(3), UserId::new(7)),
                (StepId::new(3), UserId::new(8)),
            ],
            updates: vec![UpdateRow {
                id: 4,
                step_id: StepId::new(3),
                school_id: SchoolId::new(1),
                author_id: UserId::new(7),
                at,
                kind: "progress".into(),
                old_status: Some("planned".into()),
                new_status: Some("in_progress".into()),
                note: Some("@here first one done".into()),
                field: None,
                old_value: None,
                new_value: None,
            }],
            barriers: vec![Barrier {
                id: 5,
                server_id: ServerId::new(1),
                school_id: SchoolId::new(1),
                step_id: None,
                category: "time".into(),
                text: "+1 meeting a week".into(),
                raised_by: UserId::new(8),
                raised_at: at,
                resolved_by: None,
                resolved_at: None,
                resolution: None,
            }],
            barrier_notes: vec![BarrierNote {
                id: 9,
                barrier_id: 5,
                kind: BarrierNoteKind::RootCause,
                text: "=the rota is set in August".into(),
                author_id: UserId::new(7),
                at,
                checkin_id: Some(11),
            }],
            levels: vec![LevelRow {
                id: 6,
                school_id: SchoolId::new(1),
                indicator_id: "12a".into(),
                level: "getting_started".into(),
                note: None,
                set_by: UserId::new(7),
                set_at: at,
            }],
            answers: vec![AnswerRow {
                session_id: 9,
                school_id: SchoolId::new(1),
                person_id: UserId::new(7),
                flow_title: "Weekly".into(),
                status: "confirmed".into(),
                started_at: at,
                position: 1,
                purpose: "progress".into(),
                step_id: Some(StepId::new(3)),
                category: None,
                answer: "Two of three \"done\"".into(),
                answered_at: at,
                shared: 0,
                mark: None,
                about: None,
            }],
            cycle: vec![StageEntry {
                school_id: SchoolId::new(1),
                stage: Stage::Plan,
                began_at: at,
                moved_by: Some(UserId::new(8)),
                note: Some("=back to planning: the data was wrong".into()),
            }],
        }
    }

    fn read(file: &CsvFile) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_reader(file.bytes.as_slice());
        let headers = reader
            .headers()
            .expect("a header row")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("a row").iter().map(str::to_owned).collect())
            .collect();
        (headers, rows)
    }

    #[test]
    fn every_file_has_its_header_row_with_or_without_rows() {
        let names = [("12a".to_owned(), "Leader partnerships".to_owned())].into();
        let full = files(&records(), &names, "x").expect("files");
        let empty = files(&Records::default(), &names, "x").expect("files");
        assert_eq!(
            full.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            [
                "x-steps.csv",
                "x-updates.csv",
                "x-barriers.csv",
                "x-barrier-notes.csv",
                "x-indicator-levels.csv",
                "x-cycle.csv",
                "x-checkin-answers.csv"
            ]
        );
        assert_eq!(empty.len(), 6, "no answers, no answers file");
        let expected = [
            STEP_HEADERS,
            UPDATE_HEADERS,
            BARRIER_HEADERS,
            BARRIER_NOTE_HEADERS,
            LEVEL_HEADERS,
            CYCLE_HEADERS,
            ANSWER_HEADERS,
        ];
        for (file, headers) in full.iter().zip(expected) {
            let (read_headers, rows) = read(file);
            assert_eq!(read_headers, headers, "{}", file.name);
            assert_eq!((rows.len(), file.rows), (1, 1), "{}", file.name);
        }
        for (file, headers) in empty.iter().zip(expected) {
            let (read_headers, rows) = read(file);
            assert_eq!(read_headers, headers, "{}", file.name);
            assert!(rows.is_empty());
        }
    }

    #[test]
    fn quotes_commas_and_newlines_survive_and_formulas_do_not_run() {
        let names = [("12a".to_owned(), "Leader partnerships".to_owned())].into();
        let all = files(&records(), &names, "x").expect("files");
        let (_, steps) = read(&all[0]);
        assert_eq!(
            steps[0],
            [
                "3",
                "Lincoln Elementary",
                "12a",
                "Leader partnerships",
                "Walkthroughs, then a debrief\non Fridays",
                "in_progress",
                "2026-12-01",
                "Terry, \"T\" Okafor; =cmd",
                "7 8",
                "'-2 subs",
                "Terry, \"T\" Okafor",
                "7",
                "2026-11-02T14:05:09Z",
                "2026-11-02T14:05:09Z",
            ]
        );
        let (_, updates) = read(&all[1]);
        assert_eq!(updates[0][9], "'@here first one done");
        let (_, barriers) = read(&all[2]);
        assert_eq!(barriers[0][4], "'+1 meeting a week");
        assert_eq!(barriers[0][8], "open");
        assert_eq!(barriers[0][9], "", "no one resolved it");
        let (_, notes) = read(&all[3]);
        assert_eq!(
            notes[0],
            [
                "9",
                "5",
                "Lincoln Elementary",
                "root_cause",
                "'=the rota is set in August",
                "Terry, \"T\" Okafor",
                "7",
                "2026-11-02T14:05:09Z",
                "11"
            ]
        );
        let (_, levels) = read(&all[4]);
        assert_eq!(levels[0][5], "Getting Started");
        let (_, cycle) = read(&all[5]);
        assert_eq!(
            cycle[0],
            [
                "Lincoln Elementary",
                "plan",
                "Action planning",
                "2026-11-02T14:05:09Z",
                "'=cmd",
                "8",
                "'=back to planning: the data was wrong"
            ]
        );
        let (_, answers) = read(&all[6]);
        assert_eq!(answers[0][11], "Two of three \"done\"");
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("Lincoln Elementary"), "lincoln-elementary");
        assert_eq!(slug("  St. Mary's / K–8 "), "st-mary-s-k-8");
        assert_eq!(slug("École"), "cole");
        assert_eq!(slug("—"), "export");
    }
}
