//! `sessions.csv` and `session-agreements.csv`: the coaching sessions logged with a school and
//! what was agreed in each. Under the same rule as check-in answers: only in the export of a
//! coach of that school (or, from the command line, of the person who logged them); absent
//! otherwise, and absent when there is none.

use serde::Serialize;

use super::CsvFile;
use super::rows::{CsvRow, Names, time};
use crate::domain::coaching::{Agreement, CoachingSession};
use crate::domain::ids::{CoachingSessionId, SchoolId, ServerId, StepId, UserId};
use crate::store::export::Answers;
use crate::store::{Db, coaching};

pub(super) const SESSION_HEADERS: &[&str] = &[
    "session_id",
    "school",
    "held_on",
    "kind",
    "kind_label",
    "logged_by",
    "logged_by_id",
    "with",
    "with_ids",
    "shared_with_team",
    "worked_on",
    "noticed",
    "next_meeting_on",
    "logged_at",
];

pub(super) const AGREEMENT_HEADERS: &[&str] =
    &["session_id", "school", "position", "agreed", "step_id"];

#[derive(Serialize)]
pub(super) struct SessionCsv<'a> {
    session_id: CoachingSessionId,
    school: &'a str,
    held_on: String,
    kind: &'static str,
    kind_label: &'static str,
    logged_by: &'a str,
    logged_by_id: UserId,
    with: String,
    with_ids: String,
    shared_with_team: bool,
    worked_on: &'a str,
    noticed: &'a str,
    next_meeting_on: Option<String>,
    logged_at: String,
}

impl CsvRow for SessionCsv<'_> {
    const HEADERS: &'static [&'static str] = SESSION_HEADERS;
}

#[derive(Serialize)]
pub(super) struct AgreementCsv<'a> {
    session_id: CoachingSessionId,
    school: &'a str,
    position: i64,
    agreed: &'a str,
    step_id: Option<StepId>,
}

impl CsvRow for AgreementCsv<'_> {
    const HEADERS: &'static [&'static str] = AGREEMENT_HEADERS;
}

impl<'a> Names<'a> {
    pub(super) fn session(&self, s: &'a CoachingSession) -> SessionCsv<'a> {
        SessionCsv {
            session_id: s.id,
            school: self.school(s.school_id),
            held_on: s.held_on.to_string(),
            kind: s.kind.key(),
            kind_label: s.kind.label(),
            logged_by: self.person(s.logged_by),
            logged_by_id: s.logged_by,
            with: s
                .people
                .iter()
                .map(|p| self.person(*p))
                .collect::<Vec<_>>()
                .join("; "),
            with_ids: s
                .people
                .iter()
                .map(UserId::to_string)
                .collect::<Vec<_>>()
                .join(";"),
            shared_with_team: s.shared,
            worked_on: &s.worked_on,
            noticed: &s.noticed,
            next_meeting_on: s.next_meeting_on.map(|d| d.to_string()),
            logged_at: time(s.logged_at),
        }
    }

    pub(super) fn agreement(&self, school: SchoolId, a: &'a Agreement) -> AgreementCsv<'a> {
        AgreementCsv {
            session_id: a.session_id,
            school: self.school(school),
            position: a.position,
            agreed: &a.text,
            step_id: a.step,
        }
    }
}

/// Every session of an export, no more than a server could hold in a year of visits.
const MOST: i64 = 100_000;

/// The sessions `answers` allows (of school `school_id`, or of every school), oldest first,
/// each with its agreements.
pub(super) async fn allowed(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    answers: &Answers,
) -> anyhow::Result<Vec<(CoachingSession, Vec<Agreement>)>> {
    if *answers == Answers::Withheld {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut all = coaching::list(db, server_id, school_id, MOST).await?;
    all.reverse();
    for session in all {
        let allowed = match answers {
            Answers::Withheld => false,
            Answers::Coached(None) => true,
            Answers::Coached(Some(schools)) => schools.contains(&session.school_id),
            Answers::OfPerson(person) => session.logged_by == *person,
        };
        if allowed {
            let agreements = coaching::agreements(db, session.id).await?;
            found.push((session, agreements));
        }
    }
    Ok(found)
}

/// The two files, when there are sessions to give.
pub(super) fn files(
    names: &Names<'_>,
    sessions: &[(CoachingSession, Vec<Agreement>)],
    prefix: &str,
) -> anyhow::Result<Vec<CsvFile>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![
        super::file(
            prefix,
            "sessions",
            sessions.iter().map(|(s, _)| names.session(s)),
        )?,
        super::file(
            prefix,
            "session-agreements",
            sessions
                .iter()
                .flat_map(|(s, agreed)| agreed.iter().map(|a| names.agreement(s.school_id, a))),
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::*;
    use crate::domain::coaching::SessionKind;
    use crate::store::export::Records;

    #[test]
    fn typed_text_is_defused_and_agreements_name_their_step() {
        let records = Records {
            schools: [(SchoolId::new(1), "Lincoln Elementary".to_owned())].into(),
            names: [(UserId::new(7), "@Casey".to_owned())].into(),
            ..Records::default()
        };
        let indicator_names = BTreeMap::new();
        let names = Names {
            records: &records,
            indicator_names: &indicator_names,
        };
        let session = CoachingSession {
            id: CoachingSessionId::new(3),
            server_id: ServerId::new(1),
            school_id: SchoolId::new(1),
            kind: SessionKind::OneToOne,
            held_on: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            logged_by: UserId::new(7),
            worked_on: "=SUM(A1)".into(),
            noticed: "-2 days of cover".into(),
            next_meeting_on: None,
            shared: false,
            logged_at: Utc
                .with_ymd_and_hms(2026, 12, 1, 16, 0, 0)
                .single()
                .expect("time"),
            people: vec![UserId::new(9)],
        };
        let agreement = Agreement {
            id: 5,
            session_id: session.id,
            position: 1,
            text: "+Call HR".into(),
            step: Some(StepId::new(12)),
        };
        let all = [(session, vec![agreement])];
        let written = files(&names, &all, "x").expect("files");
        assert_eq!(written[0].name, "x-sessions.csv");
        assert_eq!(written[1].name, "x-session-agreements.csv");
        let text = String::from_utf8(written[0].bytes.clone()).expect("utf-8");
        assert!(text.starts_with(&SESSION_HEADERS.join(",")), "{text}");
        assert!(
            text.contains("'=SUM(A1)") && text.contains("'-2 days") && text.contains("'@Casey"),
            "{text}"
        );
        let agreed = String::from_utf8(written[1].bytes.clone()).expect("utf-8");
        assert!(
            agreed.contains("3,Lincoln Elementary,1,'+Call HR,12"),
            "{agreed}"
        );
        assert!(files(&names, &[], "x").expect("none").is_empty());
    }
}
