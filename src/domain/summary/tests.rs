//! The summary's figures and how it reads.

use super::*;
use crate::domain::assessment::IndicatorResult;
use crate::domain::cycle::{Stage, StageEntry};
use crate::domain::text::EMBED_DESCRIPTION;
use chrono::TimeZone as _;

fn at(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 15, 0, 0)
        .single()
        .expect("time")
}

fn stage(school: i64, stage: Stage, day: u32) -> StageEntry {
    StageEntry {
        school_id: SchoolId::new(school),
        stage,
        began_at: at(day),
        moved_by: None,
        note: None,
    }
}

fn facts() -> SummaryFacts {
    SummaryFacts {
        school: Some((SchoolId::new(1), "Lincoln Elementary".into())),
        server_name: "Springfield District".into(),
        schools: 1,
        indicator_names: BTreeMap::from([("12a".into(), "Shared leadership".into())]),
        focus: vec![FocusLevel {
            school_id: SchoolId::new(1),
            indicator_id: "12a".into(),
            level: Some(Level::GettingBetter),
            history: vec![(at(1), Level::GettingReady), (at(10), Level::GettingBetter)],
        }],
        steps_by_status: BTreeMap::from([("planned".into(), 2), ("done".into(), 1)]),
        open_barriers: (0..6)
            .map(|i| BarrierFact {
                school_id: SchoolId::new(1),
                category: "time".into(),
                raised_at: at(1),
                raised_by: UserId::new(i),
            })
            .chain((0..2).map(|i| BarrierFact {
                school_id: SchoolId::new(1),
                category: "people".into(),
                raised_at: at(1),
                raised_by: UserId::new(i),
            }))
            .collect(),
        stages: vec![stage(1, Stage::Implement, 3)],
        assessed: Vec::new(),
        // A summary stored before schools were counted per level: a mean rank alone.
        previous: Some(
            serde_json::from_str(r#"{"levels":{"12a":3.0}}"#).expect("an old summary's levels"),
        ),
        min_group: MIN_GROUP,
    }
}

#[test]
fn figures_for_small_groups_are_withheld_and_say_so() {
    let summary = build(&facts(), at(21), at(21).date_naive());
    assert_eq!(summary.barriers.len(), 2);
    assert_eq!(summary.barriers[0].figure, Figure::Shown((6, 20)));
    assert_eq!(summary.barriers[1].figure, Figure::Withheld);
    assert_eq!(summary.themes, ["time"]);
    let text = summary.render().embeds[0].description.clone();
    assert!(
        text.contains(
            "people: withheld (raised by fewer than 5 people, or it would let such a figure be worked out)"
        ),
        "{text}"
    );
    assert!(
        text.contains("12a Shared leadership: Getting Better (4 of 5); up from Getting Started"),
        "{text}"
    );
    assert!(
        text.contains("2 planned · 0 in progress · 0 blocked · 1 done · 0 dropped"),
        "{text}"
    );
}

/// Three schools' summaries and the all-schools one, built from the same facts: for each
/// category, the count each shows (None: withheld; a school not listing it: 0).
fn figures(f: &SummaryFacts) -> BTreeMap<String, (Vec<Option<usize>>, Option<usize>)> {
    let shown = |school: Option<(SchoolId, String)>| {
        let facts = SummaryFacts {
            school,
            ..f.clone()
        };
        build(&facts, at(21), at(21).date_naive())
            .barriers
            .into_iter()
            .map(|line| {
                let count = match line.figure {
                    Figure::Shown((count, _)) => Some(count),
                    Figure::Withheld => None,
                };
                (line.category, count)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let total = shown(None);
    let schools: Vec<_> = (1..=3)
        .map(|i| shown(Some((SchoolId::new(i), format!("School {i}")))))
        .collect();
    total
        .into_iter()
        .map(|(category, all)| {
            let cells = schools
                .iter()
                .map(|s| s.get(&category).copied().unwrap_or(Some(0)))
                .collect();
            (category, (cells, all))
        })
        .collect()
}

#[test]
fn three_schools_summaries_agree_and_no_withheld_figure_can_be_worked_out() {
    // Time: 6, 7 and 2 people; people: 1, 1 and 5; resources: 5, 5, 6; policy: 2 at one.
    let mut f = facts();
    f.schools = 3;
    f.open_barriers.clear();
    let mut person = 0;
    for (category, counts) in [
        ("time", [6, 7, 2]),
        ("people", [1, 1, 5]),
        ("resources", [5, 5, 6]),
        ("policy", [0, 0, 2]),
    ] {
        for (school, n) in (1..=3).zip(counts) {
            for _ in 0..n {
                person += 1;
                f.open_barriers.push(BarrierFact {
                    school_id: SchoolId::new(school),
                    category: category.into(),
                    raised_at: at(1),
                    raised_by: UserId::new(person),
                });
            }
        }
    }
    let figures = figures(&f);
    assert_eq!(figures["time"], (vec![None, Some(7), None], Some(15)));
    assert_eq!(figures["people"], (vec![None, None, None], Some(7)));
    assert_eq!(
        figures["resources"],
        (vec![Some(5), Some(5), Some(6)], Some(16)),
        "nothing small, nothing withheld"
    );
    assert_eq!(figures["policy"], (vec![Some(0), Some(0), None], None));
    for (category, (cells, total)) in &figures {
        let hidden = cells.iter().filter(|c| c.is_none()).count();
        let shown: usize = cells.iter().flatten().sum();
        match total {
            // The total less the shown leaves the withheld ones' sum: one alone would be
            // known, and so would several if that left each exactly one.
            Some(total) => assert!(
                hidden == 0 || (hidden >= 2 && total - shown > hidden),
                "{category}: {cells:?} of {total}"
            ),
            None => assert!(hidden > 0, "{category}: the total is the sum of {cells:?}"),
        }
    }
}

fn result(id: &str, rank: f64) -> IndicatorResult {
    IndicatorResult {
        indicator_id: id.to_owned(),
        rank,
        respondents: None,
    }
}

/// Four schools focus on 12a (one without a level), three on the cycle, three assessed twice.
fn district() -> SummaryFacts {
    let mut f = facts();
    f.school = None;
    f.schools = 4;
    f.indicator_names = BTreeMap::from([
        ("12a".into(), "Leader partnerships".into()),
        ("12b".into(), "Instructional coaching".into()),
    ]);
    f.focus = [
        (1, Some(Level::GettingReady)),
        (2, Some(Level::GettingStarted)),
        (3, Some(Level::GettingStarted)),
        (4, None),
    ]
    .into_iter()
    .map(|(school, level)| FocusLevel {
        school_id: SchoolId::new(school),
        indicator_id: "12a".into(),
        level,
        history: level.map(|l| (at(2), l)).into_iter().collect(),
    })
    .collect();
    f.stages = vec![
        stage(1, Stage::Implement, 1),
        stage(2, Stage::Implement, 2),
        stage(3, Stage::Debrief, 3),
        stage(4, Stage::Assess, 3),
    ];
    f.assessed = [(1, 2.0, 3.0, 2.0), (2, 3.0, 3.0, 3.4), (3, 4.0, 3.0, 2.0)]
        .into_iter()
        .map(|(school, a_before, a_after, b_after)| AssessedSchool {
            school_id: SchoolId::new(school),
            before: vec![result("12a", a_before), result("12b", 1.0)],
            after: vec![result("12a", a_after), result("12b", b_after)],
        })
        .collect();
    f.previous = Some(Remembered {
        levels: BTreeMap::new(),
        schools: BTreeMap::from([(
            "12a".into(),
            Distribution {
                at: [0, 1, 1, 0, 0],
                unset: 2,
            },
        )]),
    });
    f
}

#[test]
fn across_schools_the_summary_counts_schools_per_level_never_a_mean() {
    let summary = build(&district(), at(21), at(21).date_naive());
    let text = summary.render().embeds[0].description.clone();
    assert!(
        text.contains("• 12a Leader partnerships: 1 Getting Ready · 2 Getting Started · 1 no level yet; last summary: 1 Getting Ready · 1 Getting Started · 2 no level yet"),
        "{text}"
    );
    // No mean anywhere, nor a mean's level name: 2.7 would have read "Getting Started".
    for mean in ["2.7", "2.6", "(Getting", "mean"] {
        assert!(!text.contains(mean), "{mean} in {text}");
    }
    assert!(
        text.contains("**Schools by stage:** 1 Assess · 1 Data debrief · 2 Implement action steps"),
        "{text}"
    );
    assert!(text.contains("(3 with two assessments)"), "{text}");
    assert!(
        text.contains("• 12a Leader partnerships: 1 up · 1 same · 1 down"),
        "{text}"
    );
    assert!(
        text.contains("• 12b Instructional coaching: 3 up · 0 same · 0 down"),
        "{text}"
    );
    // What is remembered reads back as the same distribution: no change next time.
    let stored = serde_json::to_string(&summary.remembered()).expect("json");
    let mut again = district();
    again.previous = Some(serde_json::from_str(&stored).expect("remembered"));
    let next = build(&again, at(22), at(22).date_naive());
    assert!(
        next.description()
            .contains("1 no level yet; no change since the last summary"),
        "{}",
        next.description()
    );
}

#[test]
fn one_school_shows_its_level_stage_and_its_two_results() {
    let mut f = facts();
    f.assessed = vec![AssessedSchool {
        school_id: SchoolId::new(1),
        before: vec![result("12a", 2.0)],
        after: vec![result("12a", 3.4)],
    }];
    let summary = build(&f, at(21), at(21).date_naive());
    let text = summary.description();
    assert!(
        text.contains(
            "**Coaching cycle:** Implement action steps (stage 4 of 6), since Tue 3 Nov 2026"
        ),
        "{text}"
    );
    assert!(
        text.contains("• 12a Shared leadership: ↑ 2 (Getting Ready) → 3.4 (Getting Started)"),
        "{text}"
    );
}

#[test]
fn the_chart_file_is_named_for_what_it_shows_and_when() {
    let school = build(&facts(), at(21), at(21).date_naive());
    assert_eq!(
        school.chart_file(),
        "lincoln-elementary-summary-2026-11-21.png"
    );
    let render = school.render();
    assert_eq!(
        render.embeds[0].image.as_deref(),
        Some("lincoln-elementary-summary-2026-11-21.png")
    );
    let all = build(&district(), at(21), at(21).date_naive());
    assert_eq!(
        all.chart_file(),
        "springfield-district-summary-2026-11-21.png"
    );
}

#[test]
fn a_summary_of_sixty_indicators_stays_within_the_embed_and_says_what_was_left_out() {
    let mut f = district();
    let long = "A long indicator name that goes on about leadership practice in detail";
    for i in 0..60 {
        let id = format!("{}", 100 + i);
        f.indicator_names.insert(id.clone(), format!("{long} {i}"));
        for school in 1..=4 {
            f.focus.push(FocusLevel {
                school_id: SchoolId::new(school),
                indicator_id: id.clone(),
                level: Level::ALL
                    .get(usize::try_from(school).expect("small") % 6)
                    .copied(),
                history: Vec::new(),
            });
        }
        for school in &mut f.assessed {
            school.before.push(result(&id, 2.0));
            school.after.push(result(&id, 3.0));
        }
    }
    let summary = build(&f, at(21), at(21).date_naive());
    assert_eq!(summary.indicators.len(), 61);
    let text = summary.description();
    assert!(text.chars().count() <= EMBED_DESCRIPTION, "{}", text.len());
    let shown = text
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("• "))
        .count();
    let said = format!(
        "… and {} more focus indicators: see the chart, or `/export` for every one.",
        61 - shown
    );
    assert!(shown > 5 && text.contains(&said), "{said} in {text}");
    assert!(text.contains("more indicators: see the chart"), "{text}");
    // Every section still there after the cut.
    for section in [
        "**Schools by stage:**",
        "**Action steps**",
        "**Open barriers by category**",
    ] {
        assert!(text.contains(section), "{section} in {text}");
    }
    let embed = &summary.render().embeds[0];
    assert!(embed.description.chars().count() <= EMBED_DESCRIPTION);
}
