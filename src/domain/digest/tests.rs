//! The digest's building and rendering, from facts to lines.

use super::rhythm::CheckinOutcome;
use super::*;
use crate::domain::calendar::Span;
use crate::domain::coaching::SessionKind;
use crate::domain::cycle::{ExpectedDays, StageEntry};
use crate::domain::ids::{ServerId, StepId, UserId};
use chrono::TimeZone as _;

/// Builds with no wins and nothing snoozed.
fn build_at(
    facts: &[SchoolFacts],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: Tz,
) -> CoachDigest {
    build(
        facts,
        &DigestInput {
            wins: &Wins::default(),
            snoozed: &HashSet::new(),
            since,
            now,
            zone,
        },
    )
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 13, 0, 0)
        .single()
        .expect("a time")
}

fn school(id: i64) -> SchoolFacts {
    SchoolFacts::new(
        SchoolId::new(id),
        format!("School {id}"),
        chrono_tz::America::Chicago,
        at(2026, 11, 20),
    )
}

#[test]
fn a_stage_gone_on_too_long_and_a_missing_plan_are_flagged() {
    let mut facts = school(1);
    facts.last_activity = at(2026, 11, 23);
    facts.cycle = Some(CycleFacts {
        stage: StageEntry {
            school_id: SchoolId::new(1),
            stage: Stage::Implement,
            began_at: at(2026, 11, 24) - TimeDelta::days(131),
            moved_by: None,
            note: None,
        },
        expected: ExpectedDays::default(),
        has_plan: false,
    });
    let digest = build_at(
        &[facts.clone()],
        at(2026, 11, 23),
        at(2026, 11, 24),
        chrono_tz::UTC,
    );
    let flags = &digest.schools[0].cycle;
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(
        flags[0].starts_with("In **Implement action steps** for 131 days (usually 120)"),
        "{flags:?}"
    );
    assert!(flags[1].starts_with("No plan"), "{flags:?}");
    let text = format!("{:?}", digest.render());
    assert!(text.contains("**Coaching cycle**"), "{text}");

    // A plan, within the usual time: nothing to say. Assessing without a plan is normal.
    if let Some(cycle) = facts.cycle.as_mut() {
        cycle.has_plan = true;
        cycle.stage.began_at = at(2026, 11, 1);
    }
    let digest = build_at(
        &[facts.clone()],
        at(2026, 11, 23),
        at(2026, 11, 24),
        chrono_tz::UTC,
    );
    assert!(digest.schools.is_empty(), "{:?}", digest.schools);
    if let Some(cycle) = facts.cycle.as_mut() {
        cycle.has_plan = false;
        cycle.stage.stage = Stage::Assess;
    }
    let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
    assert!(digest.schools.is_empty(), "{:?}", digest.schools);
}

#[test]
fn someone_away_today_is_shown_with_their_last_day() {
    let date = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    let mut facts = school(1);
    facts.away = vec![
        AwayPerson {
            name: "Pat Lee".into(),
            span: Span {
                from: date(11, 23),
                to: date(11, 27),
            },
        },
        AwayPerson {
            name: "Later Lou".into(),
            span: Span {
                from: date(12, 7),
                to: date(12, 9),
            },
        },
    ];
    let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
    assert_eq!(digest.schools[0].away, ["Pat Lee is away until Fri 27 Nov"]);
    let text = format!("{:?}", digest.render());
    assert!(text.contains("Pat Lee is away until Fri 27 Nov"), "{text}");
}

#[test]
fn a_break_pauses_the_quiet_days_count() {
    let date = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    let mut facts = school(1);
    facts.last_activity = at(2026, 10, 25);
    facts.breaks = vec![Span {
        from: date(11, 10),
        to: date(11, 20),
    }];
    let digest = build_at(
        &[facts.clone()],
        at(2026, 11, 23),
        at(2026, 11, 24),
        chrono_tz::UTC,
    );
    assert_eq!(
        digest.schools[0].quiet_days,
        Some(19),
        "30 days less 11 of break"
    );
    facts.last_activity = at(2026, 11, 5);
    let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
    assert!(
        digest.schools.is_empty(),
        "8 days of silence outside the break"
    );
}

#[test]
fn each_item_lands_in_its_group_with_the_command_that_acts_on_it() {
    let now = at(2026, 11, 24);
    let since = at(2026, 11, 23);
    let mut facts = school(1);
    facts.open_steps = vec![
        OpenStep {
            id: StepId::new(3),
            title: "Walkthroughs".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
            status: "in_progress".into(),
        },
        OpenStep {
            id: StepId::new(4),
            title: "Data talks".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
            status: "planned".into(),
        },
        OpenStep {
            id: StepId::new(5),
            title: "Far off".into(),
            due_on: NaiveDate::from_ymd_opt(2027, 1, 27).expect("date"),
            status: "planned".into(),
        },
    ];
    facts.open_barriers = vec![
        OpenBarrier {
            id: 8,
            category: "time".into(),
            text: "No common planning time".into(),
            raised_at: at(2026, 11, 23) + TimeDelta::hours(2),
        },
        OpenBarrier {
            id: 9,
            category: "policy".into(),
            text: "Union rules".into(),
            raised_at: at(2026, 10, 1),
        },
        OpenBarrier {
            id: 10,
            category: "people".into(),
            text: "Known, not old".into(),
            raised_at: at(2026, 11, 18),
        },
    ];
    let digest = build_at(&[facts, school(2)], since, now, chrono_tz::America::Chicago);
    assert_eq!(digest.quiet.len(), 1);
    let one = &digest.schools[0];
    assert_eq!(one.overdue.len(), 1);
    assert!(
        one.overdue[0].contains("#3")
            && one.overdue[0].contains("4 days ago")
            && one.overdue[0].contains("/step update step:#3"),
        "{:?}",
        one.overdue
    );
    assert_eq!(one.due_soon.len(), 1);
    assert!(one.due_soon[0].contains("#4"));
    assert_eq!(one.new_barriers.len(), 1);
    assert!(one.new_barriers[0].contains("/barrier resolve barrier:#8"));
    assert_eq!(one.old_barriers.len(), 1);
    assert!(one.old_barriers[0].contains("#9"));
    assert_eq!(one.quiet_days, None);
    let messages = digest.render();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].content.contains("1 of your 2 schools need you"),
        "{}",
        messages[0].content
    );
}

#[test]
fn a_checkin_that_did_not_start_says_why_without_naming_another_server() {
    let mut facts = school(1);
    facts.missed = vec![
        MissedCheckin::NotStarted {
            person: "Pat Lee".into(),
            flow: "Weekly step check-in".into(),
            due: at(2026, 11, 23),
            why: NotStarted::Previous,
        },
        MissedCheckin::NotStarted {
            person: "Pat Lee".into(),
            flow: "Wellbeing check".into(),
            due: at(2026, 11, 16),
            why: NotStarted::Elsewhere,
        },
    ];
    let digest = build_at(&[facts], at(2026, 11, 1), at(2026, 11, 24), chrono_tz::UTC);
    assert_eq!(
        digest.schools[0].missed,
        [
            "**Weekly step check-in** with Pat Lee on Mon 23 Nov did not start: Pat Lee was still in the previous one → `/checkin start`",
            "**Wellbeing check** with Pat Lee on Mon 16 Nov did not start: Pat Lee was in another check-in until it ran out → `/checkin start`",
        ]
    );
}

#[test]
fn a_school_without_updates_for_two_weeks_is_called_quiet() {
    let mut facts = school(1);
    facts.last_activity = at(2026, 11, 1);
    let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
    assert_eq!(digest.schools[0].quiet_days, Some(23));
}

#[test]
fn nothing_to_report_is_one_line_not_silence() {
    let digest = build_at(
        &[school(1), school(2), school(3)],
        at(2026, 11, 23),
        at(2026, 11, 24),
        chrono_tz::UTC,
    );
    let messages = digest.render();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].embeds.is_empty());
    assert!(
        messages[0]
            .content
            .contains("nothing needs you today across your 3 schools"),
        "{}",
        messages[0].content
    );
}

fn cycle_at(stage: Stage, has_plan: bool) -> Option<CycleFacts> {
    Some(CycleFacts {
        stage: StageEntry {
            school_id: SchoolId::new(1),
            stage,
            began_at: at(2026, 11, 20),
            moved_by: None,
            note: None,
        },
        expected: ExpectedDays::default(),
        has_plan,
    })
}

#[test]
fn no_plan_needs_the_coach_from_the_plan_stage_on_and_is_named_before() {
    for (stage, late) in [
        (Stage::Assess, false),
        (Stage::Debrief, false),
        (Stage::Plan, true),
        (Stage::Implement, true),
        (Stage::Support, true),
        (Stage::Reassess, true),
    ] {
        let mut facts = school(1);
        facts.cycle = cycle_at(stage, false);
        let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
        let text = format!("{:?}", digest.render());
        if late {
            assert_eq!(digest.schools.len(), 1, "{stage:?}");
            assert!(
                digest.schools[0].cycle[0].starts_with("No plan: in **"),
                "{stage:?}"
            );
            assert_eq!(digest.schools[0].snoozable[0].key, "noplan:1");
        } else {
            assert!(digest.schools.is_empty(), "{stage:?}");
            assert!(
                text.contains("No plan yet (expected before the plan stage): School 1."),
                "{stage:?}: {text}"
            );
        }
    }
}

#[test]
fn snoozed_items_are_left_out_and_counted() {
    let mut facts = school(1);
    facts.last_activity = at(2026, 11, 23);
    facts.open_steps = vec![
        OpenStep {
            id: StepId::new(3),
            title: "Walkthroughs".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
            status: "in_progress".into(),
        },
        OpenStep {
            id: StepId::new(4),
            title: "Data talks".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
            status: "planned".into(),
        },
    ];
    facts.open_barriers = vec![OpenBarrier {
        id: 9,
        category: "policy".into(),
        text: "Union rules".into(),
        raised_at: at(2026, 10, 1),
    }];
    let snoozed: HashSet<String> = ["step:3".to_owned(), "barrier:9".to_owned()].into();
    let input = DigestInput {
        wins: &Wins::default(),
        snoozed: &snoozed,
        since: at(2026, 11, 23),
        now: at(2026, 11, 24),
        zone: chrono_tz::UTC,
    };
    let digest = build(&[facts.clone()], &input);
    let one = &digest.schools[0];
    assert!(
        one.overdue.is_empty() && one.old_barriers.is_empty(),
        "{one:?}"
    );
    assert_eq!(one.due_soon.len(), 1);
    assert_eq!(one.snoozed, 2);
    let keys: Vec<&str> = one.snoozable.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["step:4"]);
    let text = format!("{:?}", digest.render());
    assert!(
        text.contains("Counts: 1 step due soon · 2 items snoozed"),
        "{text}"
    );
    // With the last of them snoozed too, the school has nothing to report.
    let all: HashSet<String> = ["step:3", "step:4", "barrier:9"].map(str::to_owned).into();
    let digest = build(
        &[facts],
        &DigestInput {
            snoozed: &all,
            ..input
        },
    );
    assert_eq!(digest.quiet, ["School 1"]);
    assert!(digest.snoozable().is_empty());
    let messages = digest.messages(ServerId::new(7), UserId::new(8));
    assert!(messages.iter().all(|m| m.buttons.is_empty()));
}

#[test]
fn a_streak_shows_how_many_in_a_row_and_the_school_shows_its_rhythm() {
    use crate::domain::checkin::SessionStatus;
    let mut facts = school(1);
    facts.last_activity = at(2026, 11, 23);
    let asked = |d: u32, status| CheckinOutcome {
        person: UserId::new(5),
        person_name: "Pat Lee".into(),
        flow_id: "wellbeing".into(),
        flow_title: "Wellbeing check".into(),
        started_at: at(2026, 11, d),
        status,
    };
    facts.checkins = vec![
        asked(2, SessionStatus::Confirmed),
        asked(9, SessionStatus::Expired),
        asked(16, SessionStatus::Expired),
    ];
    facts.last_session = Some((
        NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        SessionKind::OneToOne,
    ));
    facts.next_session = NaiveDate::from_ymd_opt(2026, 12, 4);
    facts.cycle = cycle_at(Stage::Implement, true);
    let digest = build_at(&[facts], at(2026, 11, 23), at(2026, 11, 24), chrono_tz::UTC);
    let one = &digest.schools[0];
    assert_eq!(
        one.missed,
        [
            "**Wellbeing check** with Pat Lee: 2 missed in a row (last asked Mon 16 Nov) → `/checkin start`"
        ]
    );
    let messages = digest.messages(ServerId::new(7), UserId::new(8));
    let lines: Vec<&str> = messages[0].embeds[0].description.lines().collect();
    assert_eq!(
        lines[0],
        "**Implement action steps** · last contact Fri 20 Nov (one-to-one coaching) · 1 of 3 check-ins answered in 30 days (33%) · next session Fri 4 Dec"
    );
    assert_eq!(lines[1], "Counts: 1 check-in missed");
    assert_eq!(
        messages[0].buttons[0][0].id, "digest:snooze:7:8",
        "the snooze button under the last message"
    );
}

#[test]
fn the_wins_come_first_even_when_nothing_needs_the_coach() {
    use super::wins::ConfirmedCheckin;
    let wins = Wins {
        confirmed: vec![ConfirmedCheckin {
            school: "School 1".into(),
            person: "Pat Lee".into(),
            flow: "Weekly step check-in".into(),
        }],
        ..Wins::default()
    };
    let mut facts = school(1);
    facts.last_activity = at(2026, 11, 23);
    let input = DigestInput {
        wins: &wins,
        snoozed: &HashSet::new(),
        since: at(2026, 11, 23),
        now: at(2026, 11, 24),
        zone: chrono_tz::UTC,
    };
    let messages = build(&[facts], &input).render();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .content
            .contains("nothing needs you today across your 1 school"),
        "{}",
        messages[0].content
    );
    assert_eq!(
        messages[0].embeds[0].title,
        "Since your last digest (Mon 23 Nov 13:00)"
    );
    assert_eq!(
        messages[0].embeds[0].description,
        "**1 check-in confirmed:** Pat Lee (Weekly step check-in, School 1)"
    );
}
