//! A person's own copy of what coachbot holds about them in one server (`/privacy export`):
//! one JSON file with every kind of record, and the same records as CSV files, one per kind
//! that has rows, formulas defused as in every export. Pure over the rows the store read; the
//! messages that carry the files, one file each, are written here too.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::rows::cell;
use super::{CsvFile, DISCORD_UPLOAD_LIMIT, slug};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::message::MessageBody;
use crate::domain::text::plural;
use crate::store::holdings::{
    AgreementRow, AnswerRow, AwayRow, BarrierNoteRow, BarrierRow, CheckinRow, GoalNoteRow, GoalRow,
    Holdings, LevelRow, MemberRow, MissRow, OptOutRow, RoleRow, ScheduleRow, SessionRow, SkipRow,
    StepRow, StepUpdateRow,
};

/// The version of the JSON file's layout (its `format`), raised when a key changes meaning or
/// goes away; new keys may appear without it.
pub const FORMAT: u32 = 1;

/// Who the copy is of, and when it was taken.
#[derive(Clone, Copy, Debug)]
pub struct Taken {
    pub server_id: ServerId,
    pub person: UserId,
    pub at: DateTime<Utc>,
}

/// A Discord id with its name; ids are strings, as Discord writes them (they overflow the
/// numbers of many JSON readers).
#[derive(Serialize)]
struct Named<'a> {
    id: String,
    name: Option<&'a str>,
}

/// The JSON file, its keys in the order the README documents them.
#[derive(Serialize)]
struct Document<'a> {
    format: u32,
    server: Named<'a>,
    person: Named<'a>,
    exported_at: DateTime<Utc>,
    member: &'a [MemberRow],
    roles: &'a [RoleRow],
    checkins: &'a [CheckinRow],
    answers: &'a [AnswerRow],
    steps: &'a [StepRow],
    step_updates: &'a [StepUpdateRow],
    barriers: &'a [BarrierRow],
    barrier_notes: &'a [BarrierNoteRow],
    indicator_levels: &'a [LevelRow],
    coaching_sessions: &'a [SessionRow],
    session_agreements: &'a [AgreementRow],
    growth_goals: &'a [GoalRow],
    goal_notes: &'a [GoalNoteRow],
    schedules: &'a [ScheduleRow],
    away_periods: &'a [AwayRow],
    opt_outs: &'a [OptOutRow],
    checkin_misses: &'a [MissRow],
    checkin_skips: &'a [SkipRow],
}

/// The files' common name: `coachbot-my-data-<server>-<date>`.
pub fn prefix(server_name: &str, today: NaiveDate) -> String {
    format!("coachbot-my-data-{}-{today}", slug(server_name))
}

/// The JSON file first, then a CSV file per kind of record that has rows (named
/// `<prefix>-<kind>.csv`, the kind as the JSON names it with `-` for `_`).
pub fn files(holdings: &Holdings, taken: Taken) -> anyhow::Result<Vec<CsvFile>> {
    let h = holdings;
    let prefix = prefix(&h.server_name, taken.at.date_naive());
    let document = Document {
        format: FORMAT,
        server: Named {
            id: taken.server_id.to_string(),
            name: Some(&h.server_name),
        },
        person: Named {
            id: taken.person.to_string(),
            name: h.member.first().map(|m| m.display_name.as_str()),
        },
        exported_at: taken.at,
        member: &h.member,
        roles: &h.roles,
        checkins: &h.checkins,
        answers: &h.answers,
        steps: &h.steps,
        step_updates: &h.step_updates,
        barriers: &h.barriers,
        barrier_notes: &h.barrier_notes,
        indicator_levels: &h.indicator_levels,
        coaching_sessions: &h.coaching_sessions,
        session_agreements: &h.session_agreements,
        growth_goals: &h.growth_goals,
        goal_notes: &h.goal_notes,
        schedules: &h.schedules,
        away_periods: &h.away_periods,
        opt_outs: &h.opt_outs,
        checkin_misses: &h.checkin_misses,
        checkin_skips: &h.checkin_skips,
    };
    let json = serde_json::to_vec_pretty(&document).context("writing the JSON of a copy")?;
    let mut files = vec![CsvFile {
        name: format!("{prefix}.json"),
        rows: 0,
        bytes: json,
    }];
    let p = prefix.as_str();
    let kinds = [
        csv(p, "member", &h.member)?,
        csv(p, "roles", &h.roles)?,
        csv(p, "checkins", &h.checkins)?,
        csv(p, "answers", &h.answers)?,
        csv(p, "steps", &h.steps)?,
        csv(p, "step-updates", &h.step_updates)?,
        csv(p, "barriers", &h.barriers)?,
        csv(p, "barrier-notes", &h.barrier_notes)?,
        csv(p, "indicator-levels", &h.indicator_levels)?,
        csv(p, "coaching-sessions", &h.coaching_sessions)?,
        csv(p, "session-agreements", &h.session_agreements)?,
        csv(p, "growth-goals", &h.growth_goals)?,
        csv(p, "goal-notes", &h.goal_notes)?,
        csv(p, "schedules", &h.schedules)?,
        csv(p, "away-periods", &h.away_periods)?,
        csv(p, "opt-outs", &h.opt_outs)?,
        csv(p, "checkin-misses", &h.checkin_misses)?,
        csv(p, "checkin-skips", &h.checkin_skips)?,
    ];
    files.extend(kinds.into_iter().flatten());
    Ok(files)
}

/// The CSV file of one kind (None when it has no rows): the rows as the csv crate writes them
/// (a header row of the field names, in order, as in the JSON), then every cell defused as
/// `/export` defuses what people typed, so a spreadsheet runs nothing.
fn csv<T: Serialize>(prefix: &str, kind: &str, rows: &[T]) -> anyhow::Result<Option<CsvFile>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let name = format!("{prefix}-{kind}.csv");
    let mut raw = csv::Writer::from_writer(Vec::new());
    for row in rows {
        raw.serialize(row)
            .with_context(|| format!("writing {name}"))?;
    }
    let raw = raw
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {name}: {}", e.error()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(raw.as_slice());
    let mut out = csv::Writer::from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("writing {name}"))?;
        if i == 0 {
            out.write_record(&record)
        } else {
            out.write_record(record.iter().map(|c| cell(c).into_owned()))
        }
        .with_context(|| format!("writing {name}"))?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {name}: {}", e.error()))?;
    Ok(Some(CsvFile {
        name,
        rows: rows.len(),
        bytes,
    }))
}

/// One direct message of the copy, with its file (None when the file is over Discord's limit
/// and the message says so instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyMessage {
    pub body: MessageBody,
    pub file: Option<CsvFile>,
}

/// The messages that carry `files` (from [`files`]), one file each, in order: the JSON with
/// what the copy is, then each CSV with its kind and row count.
pub fn messages(server_name: &str, files: Vec<CsvFile>) -> Vec<CopyMessage> {
    let total = files.len();
    files
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let mut content = if i == 0 {
                format!(
                    "Here is a copy of everything coachbot holds about you in **{server_name}** \
                     ({total} files). `{}` has it all; the CSV files that follow hold the same \
                     records, one file per kind. Times are UTC; in the CSV files, text that \
                     starts like a formula begins with `'`. The README's “Your data” section \
                     describes the format.",
                    file.name
                )
            } else {
                format!(
                    "File {} of {total}: `{}`, {}.",
                    i + 1,
                    file.name,
                    plural(i64::try_from(file.rows).unwrap_or(i64::MAX), "row")
                )
            };
            let size = file.bytes.len() as u64;
            let file = if size > DISCORD_UPLOAD_LIMIT {
                content.push_str(&format!(
                    "\n`{}` is {:.1} MB, over the {} MB Discord takes in one message, so it \
                     is not attached: ask a coachbot admin for a copy.",
                    file.name,
                    size as f64 / 1_048_576.0,
                    DISCORD_UPLOAD_LIMIT >> 20
                ));
                None
            } else {
                Some(file)
            };
            CopyMessage {
                body: MessageBody {
                    content,
                    ..MessageBody::default()
                },
                file,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::store::holdings::{AnswerRow, MemberRow, StepRow};

    fn taken() -> Taken {
        Taken {
            server_id: ServerId::new(41_771_983_423_143_936),
            person: UserId::new(41_771_983_423_143_937),
            at: Utc
                .with_ymd_and_hms(2026, 12, 2, 8, 5, 9)
                .single()
                .expect("a time"),
        }
    }

    fn holdings() -> Holdings {
        let at = taken().at;
        Holdings {
            server_name: "Lincoln District".into(),
            member: vec![MemberRow {
                display_name: "Pat Lee".into(),
                dm_channel_id: Some("41771983423143999".into()),
                dms_closed_since: None,
                first_seen_at: at,
                updated_at: at,
            }],
            answers: vec![AnswerRow {
                checkin_id: 4,
                school: "Lincoln Elementary".into(),
                flow: "Weekly".into(),
                draft: true,
                question: 1,
                purpose: "progress".into(),
                step_id: None,
                category: None,
                answer: "=SUM(A1), \"quoted\"\nand a new line".into(),
                goes_to: "private".into(),
                about: None,
                answered_at: at,
            }],
            steps: vec![StepRow {
                step_id: crate::domain::ids::StepId::new(3),
                school: "Lincoln Elementary".into(),
                indicator: "12a".into(),
                title: "@here walkthroughs".into(),
                status: "planned".into(),
                due_on: NaiveDate::from_ymd_opt(2026, 12, 20).expect("a date"),
                you_own: true,
                you_created: false,
                created_at: at,
                updated_at: at,
            }],
            ..Holdings::default()
        }
    }

    #[test]
    fn the_json_comes_first_then_a_csv_per_kind_with_rows() {
        let files = files(&holdings(), taken()).expect("files");
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "coachbot-my-data-lincoln-district-2026-12-02.json",
                "coachbot-my-data-lincoln-district-2026-12-02-member.csv",
                "coachbot-my-data-lincoln-district-2026-12-02-answers.csv",
                "coachbot-my-data-lincoln-district-2026-12-02-steps.csv",
            ]
        );
        let text = String::from_utf8(files[0].bytes.clone()).expect("UTF-8");
        let keys: Vec<usize> = [
            "\"format\"",
            "\"server\"",
            "\"person\"",
            "\"exported_at\"",
            "\"member\"",
            "\"answers\"",
            "\"checkin_skips\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "documented order");
        let json: serde_json::Value = serde_json::from_slice(&files[0].bytes).expect("JSON");
        assert_eq!(json["format"], 1);
        assert_eq!(json["person"]["id"], "41771983423143937", "ids as strings");
        assert_eq!(json["person"]["name"], "Pat Lee");
        assert_eq!(
            json["answers"][0]["answer"],
            "=SUM(A1), \"quoted\"\nand a new line"
        );
        assert_eq!(json["roles"], serde_json::json!([]));
    }

    #[test]
    fn csv_cells_are_the_json_values_with_formulas_defused() {
        let files = files(&holdings(), taken()).expect("files");
        let mut answers = csv::Reader::from_reader(files[2].bytes.as_slice());
        let headers: Vec<String> = answers
            .headers()
            .expect("headers")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(headers[..4], ["checkin_id", "school", "flow", "draft"]);
        let row = answers.records().next().expect("a row").expect("parses");
        let cell =
            |name: &str| row[headers.iter().position(|h| h == name).expect("column")].to_owned();
        assert_eq!(cell("answer"), "'=SUM(A1), \"quoted\"\nand a new line");
        assert_eq!(cell("draft"), "true");
        assert_eq!(cell("step_id"), "");
        assert_eq!(cell("answered_at"), "2026-12-02T08:05:09Z");
        let mut steps = csv::Reader::from_reader(files[3].bytes.as_slice());
        let step = steps.records().next().expect("a row").expect("parses");
        assert_eq!(&step[3], "'@here walkthroughs");
        assert_eq!(&step[5], "2026-12-20");
        assert_eq!(files[3].rows, 1);
    }

    #[test]
    fn each_file_goes_in_its_own_message_and_an_oversized_one_is_explained() {
        let mut all = files(&holdings(), taken()).expect("files");
        let big = usize::try_from(DISCORD_UPLOAD_LIMIT + 1).expect("fits");
        all[3].bytes = vec![b'a'; big];
        let messages = messages("Lincoln District", all);
        assert_eq!(messages.len(), 4);
        assert!(
            messages[0]
                .body
                .content
                .contains("**Lincoln District** (4 files)")
        );
        assert!(
            messages[0]
                .file
                .as_ref()
                .is_some_and(|f| f.name.ends_with(".json"))
        );
        assert_eq!(
            messages[2].body.content,
            "File 3 of 4: `coachbot-my-data-lincoln-district-2026-12-02-answers.csv`, 1 row."
        );
        assert!(messages[3].file.is_none());
        assert!(
            messages[3]
                .body
                .content
                .contains("over the 10 MB Discord takes in one message"),
            "{}",
            messages[3].body.content
        );
        assert!(messages.iter().all(|m| m.body.within_limits()));
    }
}
