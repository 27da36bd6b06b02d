use chrono::TimeZone as _;

use super::*;
use crate::domain::cycle::Stage;
use crate::domain::ids::SchoolId;
use crate::domain::text::{EMBED_DESCRIPTION, EMBED_TOTAL};

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

fn at(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 15, 0, 0)
        .single()
        .expect("time")
}

fn empty() -> BriefFacts {
    BriefFacts {
        school: "Lincoln Elementary".into(),
        zone: chrono_tz::America::Chicago,
        now: at(12, 2),
        stage: StageEntry {
            school_id: SchoolId::new(1),
            stage: Stage::Assess,
            began_at: at(12, 2),
            moved_by: None,
            note: None,
        },
        expected: ExpectedDays::default(),
        indicators: Vec::new(),
        steps: Vec::new(),
        barriers: Vec::new(),
        next_steps: Vec::new(),
        session: None,
        next_meeting: None,
    }
}

fn step(id: i64, title: &str, status: StepStatus, due: NaiveDate) -> StepFacts {
    StepFacts {
        id: StepId::new(id),
        title: title.into(),
        status,
        due_on: due,
        owners: vec!["Terry Okafor".into(), "Jordan Silva".into()],
    }
}

fn seeded() -> BriefFacts {
    let mut facts = empty();
    facts.stage = StageEntry {
        stage: Stage::Implement,
        began_at: at(11, 16),
        ..facts.stage
    };
    facts.indicators = vec![
        IndicatorFacts {
            title: "12a · Leader partnerships".into(),
            level: Some(Level::GettingStarted),
            previous: Some(Level::GettingReady),
            set_at: Some(at(12, 1)),
        },
        IndicatorFacts {
            title: "11 · Coaching".into(),
            level: Some(Level::GettingAware),
            previous: Some(Level::GettingReady),
            set_at: Some(at(11, 20)),
        },
        IndicatorFacts {
            title: "12b · Protocols".into(),
            level: None,
            previous: None,
            set_at: None,
        },
    ];
    facts.steps = vec![
        step(1, "Walkthrough tool", StepStatus::Planned, date(12, 20)),
        step(
            2,
            "Data meeting agenda",
            StepStatus::InProgress,
            date(11, 30),
        ),
        step(3, "Coverage plan", StepStatus::Done, date(11, 1)),
        step(4, "PLC norms", StepStatus::Blocked, date(12, 1)),
    ];
    facts.barriers = vec![BarrierFacts {
        id: 7,
        category: "time".into(),
        text: "No common planning time".into(),
        raised_at: at(11, 22),
        step: Some(StepId::new(2)),
    }];
    facts.next_steps = vec![NamedNextStep {
        person: "Pat Lee".into(),
        confirmed_at: at(12, 1),
        text: "Talk to the grade leads".into(),
        shared: false,
    }];
    facts.session = Some(SessionFacts {
        id: CoachingSessionId::new(5),
        kind: SessionKind::OneToOne,
        held_on: date(11, 30),
        agreements: vec![
            AgreementFate {
                text: "Draft the data-meeting agenda".into(),
                step: Some((StepId::new(2), Some(StepStatus::InProgress))),
            },
            AgreementFate {
                text: "Ask HR about coverage".into(),
                step: None,
            },
        ],
        next_meeting_on: Some(date(12, 9)),
    });
    facts.next_meeting = Some(date(12, 9));
    facts
}

fn part(parts: &[BriefPart], title: &str) -> String {
    parts
        .iter()
        .find(|p| p.title == title)
        .map(|p| p.text.clone())
        .expect("the part")
}

#[test]
fn a_seeded_school_shows_every_part() {
    let parts = build(&seeded());
    let text = part(&parts, "Cycle stage");
    assert!(
        text.starts_with("**4. Implement action steps** since Mon 16 Nov 2026 (16 days; usually"),
        "{text}"
    );
    let text = part(&parts, "Focus indicators");
    assert!(
        text.contains(
            "• 12a · Leader partnerships: **Getting Started** (↑ from Getting Ready, set Tue 1 Dec 2026)"
        ),
        "{text}"
    );
    assert!(
        text.contains("**Getting Aware** (↓ from Getting Ready"),
        "{text}"
    );
    assert!(text.contains("• 12b · Protocols: no level yet"), "{text}");
    let text = part(&parts, "Action steps");
    assert!(
        text.starts_with(
            "4 steps in all: 1 planned · 1 in progress · 1 blocked · 1 done\n**Overdue (2):**"
        ),
        "{text}"
    );
    assert!(
        text.contains("• #2 Data meeting agenda · due Mon 30 Nov 2026 · in progress · Terry Okafor, Jordan Silva"),
        "{text}"
    );
    assert!(text.contains("• #4 PLC norms"), "{text}");
    assert!(!text.contains("#1 ") && !text.contains("#3 "), "{text}");
    let text = part(&parts, "Open barriers");
    assert_eq!(
        text,
        "• #7 **time** · open 10 days · on step #2 · “No common planning time”"
    );
    let text = part(&parts, "Next steps named in check-ins");
    assert_eq!(
        text,
        "• Pat Lee (Tue 1 Dec 2026, private): “Talk to the grade leads”"
    );
    let text = part(&parts, "Last coaching session");
    assert!(
        text.starts_with(
            "One-to-one coaching on Mon 30 Nov 2026 (session #5) · **Next meeting:** Wed 9 Dec 2026\n**Agreed:**"
        ),
        "{text}"
    );
    assert!(
        text.contains("• “Draft the data-meeting agenda” → step #2, in progress"),
        "{text}"
    );
    assert!(
        text.contains("• “Ask HR about coverage” not made a step"),
        "{text}"
    );
}

#[test]
fn a_school_with_nothing_yet_says_so_in_each_part() {
    let parts = build(&empty());
    assert_eq!(parts.len(), 6);
    for part in &parts {
        assert!(!part.text.is_empty(), "{part:?}");
    }
    assert!(part(&parts, "Cycle stage").contains("less than a day"));
    assert!(part(&parts, "Focus indicators").starts_with("No focus indicators yet"));
    assert!(part(&parts, "Action steps").starts_with("No action steps yet"));
    assert_eq!(part(&parts, "Open barriers"), "No open barriers.");
    assert!(part(&parts, "Next steps named in check-ins").starts_with("No confirmed check-in"));
    assert!(part(&parts, "Last coaching session").starts_with("No coaching session logged yet"));
}

#[test]
fn a_full_school_stays_within_discords_limits_and_counts_the_rest() {
    let mut facts = seeded();
    let long = |i: usize| format!("{i:02} {}", "x".repeat(300));
    facts.steps = (1..=25)
        .map(|i| {
            step(
                i,
                &"Long step title ".repeat(13)[..200],
                StepStatus::InProgress,
                date(11, 1),
            )
        })
        .collect();
    facts.indicators = (0..30)
        .map(|i| IndicatorFacts {
            title: long(i),
            level: Some(Level::GettingBetter),
            previous: Some(Level::GettingStarted),
            set_at: Some(at(11, 2)),
        })
        .collect();
    facts.barriers = (0..40)
        .map(|i| BarrierFacts {
            id: i,
            category: "people".into(),
            text: long(usize::try_from(i).expect("i")),
            raised_at: at(10, 1),
            step: None,
        })
        .collect();
    facts.next_steps = (0..30)
        .map(|i| NamedNextStep {
            person: "P".repeat(200),
            confirmed_at: at(11, 30),
            text: long(i),
            shared: true,
        })
        .collect();
    if let Some(session) = &mut facts.session {
        session.agreements = (0..10)
            .map(|i| AgreementFate {
                text: "a".repeat(200) + &i.to_string(),
                step: Some((StepId::new(100), Some(StepStatus::Planned))),
            })
            .collect();
    }
    let message = render(&facts);
    assert!(message.within_limits(), "{message:?}");
    let total: usize = message.embeds.iter().map(Embed::chars).sum();
    assert!(total <= EMBED_TOTAL, "{total}");
    for embed in &message.embeds {
        assert!(embed.description.chars().count() <= EMBED_DESCRIPTION);
    }
    let steps = &message.embeds[2].description;
    assert!(steps.starts_with("25 steps in all: 25 in progress\n**Overdue (25):**\n• #1 "));
    assert!(
        steps.ends_with("more; `/step list overdue:true` has them all"),
        "{steps}"
    );
    for embed in &message.embeds[1..] {
        assert!(
            embed.description.contains("… and "),
            "{}: {}",
            embed.title,
            embed.description
        );
    }
}

#[test]
fn lines_within_counts_what_does_not_fit() {
    let lines: Vec<String> = (0..10)
        .map(|i| format!("line {i} {}", "y".repeat(40)))
        .collect();
    let text = lines_within(&lines, 200, "see more");
    assert!(text.chars().count() <= 200, "{text}");
    let shown = text.lines().count() - 1;
    assert!(
        text.ends_with(&format!("… and {} more; see more", 10 - shown)),
        "{text}"
    );
    assert_eq!(lines_within(&lines[..2], 500, "x"), lines[..2].join("\n"));
}
