//! A check-in in progress, derived from its answers: which question comes next, and what the
//! confirmed answers turn into. Pure: the conversation layer stores and sends.

use super::flow::{Asked, Purpose};
use super::ids::StepId;

/// Where a check-in stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    /// Being answered.
    Open,
    /// The person confirmed what they said: it is saved to the plan.
    Confirmed,
    /// Closed without saving, by the person or their coach.
    Skipped,
    /// Ran out of time.
    Expired,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 4] = [
        SessionStatus::Open,
        SessionStatus::Confirmed,
        SessionStatus::Skipped,
        SessionStatus::Expired,
    ];

    /// The word stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Confirmed => "confirmed",
            SessionStatus::Skipped => "skipped",
            SessionStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == raw)
    }
}

impl std::fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// Longest answer kept: a Discord message.
pub const ANSWER_MAX: usize = 2000;

/// An answer given so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    pub position: usize,
    pub answer: String,
    /// For barrier answers: the category chosen with the buttons.
    pub category: Option<String>,
}

/// What the check-in needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The question at this position has no answer yet.
    Ask(usize),
    /// The barrier answer at this position needs its category.
    Categorize(usize),
    /// Everything is answered: reflect back and ask for confirmation.
    Review,
}

/// The first question that is not complete.
pub fn next(plan: &[Asked], answers: &[Answered]) -> Next {
    for (position, asked) in plan.iter().enumerate() {
        match answers.iter().find(|a| a.position == position) {
            None => return Next::Ask(position),
            Some(a) if asked.purpose == Purpose::Barrier && a.category.is_none() => {
                return Next::Categorize(position);
            }
            Some(_) => {}
        }
    }
    Next::Review
}

/// What a confirmed answer becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A note in a step's log, written by the person.
    StepUpdate { step_id: StepId, note: String },
    /// A barrier against a step (or the school when `step_id` is none).
    Barrier {
        step_id: Option<StepId>,
        category: String,
        text: String,
    },
    /// A root-cause note on the existing barrier a check-in is about.
    BarrierNote { barrier_id: i64, text: String },
}

/// The note an answer becomes on the plan, after its purpose's prefix.
const NEXT_STEP_PREFIX: &str = "Next step: ";
const RESOURCE_PREFIX: &str = "What would help: ";

/// The longest answer to a question of this purpose that the plan can hold whole: what
/// becomes a step update or a barrier has the plan's limit (less the note's prefix); what
/// stays in the check-in, a Discord message. Longer answers are refused with this number,
/// never cut.
pub fn answer_limit(purpose: Purpose) -> usize {
    use crate::domain::plan::NOTE_MAX;
    match purpose {
        Purpose::Progress | Purpose::Barrier => NOTE_MAX,
        Purpose::NextStep => NOTE_MAX - NEXT_STEP_PREFIX.chars().count(),
        Purpose::Resource => NOTE_MAX - RESOURCE_PREFIX.chars().count(),
        Purpose::Reflection | Purpose::Wellbeing | Purpose::Equity => ANSWER_MAX,
    }
}

/// Turns the answers into step updates and barriers. Progress on a step, and the next step
/// or resources for the step in question (the question's own, or the last step asked about),
/// become step updates; barriers become barriers. Reflections stay in the check-in.
pub fn outcomes(plan: &[Asked], answers: &[Answered]) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut in_question: Option<StepId> = None;
    for (position, asked) in plan.iter().enumerate() {
        if asked.step_id.is_some() {
            in_question = asked.step_id;
        }
        let Some(answer) = answers.iter().find(|a| a.position == position) else {
            continue;
        };
        let text = answer.answer.clone();
        match asked.purpose {
            Purpose::Progress => {
                if let Some(step_id) = asked.step_id {
                    out.push(Outcome::StepUpdate {
                        step_id,
                        note: text,
                    });
                }
            }
            Purpose::NextStep => {
                if let Some(step_id) = asked.step_id.or(in_question) {
                    out.push(Outcome::StepUpdate {
                        step_id,
                        note: format!("{NEXT_STEP_PREFIX}{text}"),
                    });
                }
            }
            Purpose::Resource => {
                if let Some(step_id) = asked.step_id.or(in_question) {
                    out.push(Outcome::StepUpdate {
                        step_id,
                        note: format!("{RESOURCE_PREFIX}{text}"),
                    });
                }
            }
            Purpose::Barrier => out.push(Outcome::Barrier {
                step_id: asked.step_id.or(in_question),
                category: answer
                    .category
                    .clone()
                    .unwrap_or_else(|| "other".to_owned()),
                text,
            }),
            Purpose::Reflection | Purpose::Wellbeing | Purpose::Equity => {}
        }
    }
    out
}

/// What a check-in about an existing barrier adds to it: each reflection answer (what the
/// person notices underneath) becomes a root-cause note, in the order asked. Kept apart from
/// [`outcomes`], which a check-in about a barrier still runs for its other answers.
pub fn barrier_notes(plan: &[Asked], answers: &[Answered], barrier_id: i64) -> Vec<Outcome> {
    plan.iter()
        .enumerate()
        .filter(|(_, asked)| asked.purpose == Purpose::Reflection)
        .filter_map(|(position, _)| answers.iter().find(|a| a.position == position))
        .map(|answer| Outcome::BarrierNote {
            barrier_id,
            text: answer.answer.clone(),
        })
        .collect()
}

/// Packs lines into messages of at most `max` characters, never cutting a line unless a single
/// line is longer than a message (then it is split at character boundaries, nothing dropped).
pub fn split_message(lines: &[String], max: usize) -> Vec<String> {
    let mut messages = Vec::new();
    let mut current = String::new();
    for line in lines {
        let pieces: Vec<String> = if line.chars().count() > max {
            line.chars()
                .collect::<Vec<_>>()
                .chunks(max)
                .map(|c| c.iter().collect())
                .collect()
        } else {
            vec![line.clone()]
        };
        for piece in pieces {
            let needed = piece.chars().count() + usize::from(!current.is_empty());
            if current.chars().count() + needed > max && !current.is_empty() {
                messages.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_answer_fits_what_it_becomes() {
        use crate::domain::plan::NOTE_MAX;
        assert_eq!(answer_limit(Purpose::Barrier), NOTE_MAX);
        assert_eq!(answer_limit(Purpose::Progress), NOTE_MAX);
        let next = "x".repeat(answer_limit(Purpose::NextStep));
        let plan = [Asked {
            purpose: Purpose::NextStep,
            step_id: Some(StepId::new(1)),
            text: "What next?".into(),
        }];
        let answers = [Answered {
            position: 0,
            answer: next,
            category: None,
        }];
        let made = outcomes(&plan, &answers);
        let [Outcome::StepUpdate { note, .. }] = made.as_slice() else {
            panic!("one step update");
        };
        assert_eq!(
            note.chars().count(),
            NOTE_MAX,
            "the longest next step fills the note exactly"
        );
        assert_eq!(answer_limit(Purpose::Wellbeing), ANSWER_MAX);
    }
    use super::*;

    fn asked(purpose: Purpose, step_id: Option<StepId>) -> Asked {
        Asked {
            purpose,
            text: String::new(),
            step_id,
        }
    }

    fn answered(position: usize, answer: &str, category: Option<&str>) -> Answered {
        Answered {
            position,
            answer: answer.into(),
            category: category.map(str::to_owned),
        }
    }

    #[test]
    fn the_next_question_is_the_first_incomplete_one() {
        let plan = [
            asked(Purpose::Progress, Some(StepId::new(1))),
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
        ];
        assert_eq!(next(&plan, &[]), Next::Ask(0));
        assert_eq!(next(&plan, &[answered(0, "a", None)]), Next::Ask(1));
        assert_eq!(
            next(&plan, &[answered(0, "a", None), answered(1, "b", None)]),
            Next::Categorize(1)
        );
        let all = [
            answered(0, "a", None),
            answered(1, "b", Some("time")),
            answered(2, "c", None),
        ];
        assert_eq!(next(&plan, &all), Next::Review);
    }

    #[test]
    fn answers_become_updates_and_barriers_on_the_step_in_question() {
        let plan = [
            asked(Purpose::Progress, Some(StepId::new(1))),
            asked(Purpose::Progress, Some(StepId::new(2))),
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
            asked(Purpose::Wellbeing, None),
        ];
        let answers = [
            answered(0, "one", None),
            answered(1, "two", None),
            answered(2, "no time", Some("time")),
            answered(3, "ask the office", None),
            answered(4, "tired", None),
        ];
        assert_eq!(
            outcomes(&plan, &answers),
            [
                Outcome::StepUpdate {
                    step_id: StepId::new(1),
                    note: "one".into()
                },
                Outcome::StepUpdate {
                    step_id: StepId::new(2),
                    note: "two".into()
                },
                Outcome::Barrier {
                    step_id: Some(StepId::new(2)),
                    category: "time".into(),
                    text: "no time".into()
                },
                Outcome::StepUpdate {
                    step_id: StepId::new(2),
                    note: "Next step: ask the office".into()
                },
            ]
        );
    }

    #[test]
    fn reflections_become_notes_on_the_barrier_in_question() {
        let plan = [
            asked(Purpose::Reflection, None),
            asked(Purpose::Reflection, None),
            asked(Purpose::Resource, None),
            asked(Purpose::NextStep, None),
        ];
        let answers = [
            answered(1, "the timetable was set in June", None),
            answered(0, "cover duty eats the block", None),
            answered(2, "the deputy", None),
            answered(3, "ask for a swap", None),
        ];
        assert_eq!(
            barrier_notes(&plan, &answers, 12),
            [
                Outcome::BarrierNote {
                    barrier_id: 12,
                    text: "cover duty eats the block".into()
                },
                Outcome::BarrierNote {
                    barrier_id: 12,
                    text: "the timetable was set in June".into()
                },
            ]
        );
        assert!(
            outcomes(&plan, &answers).is_empty(),
            "no step in question, no barrier asked: nothing else"
        );
    }

    #[test]
    fn messages_are_split_without_losing_text() {
        let lines = vec!["a".repeat(1500), "b".repeat(1500), "c".repeat(4500)];
        let messages = split_message(&lines, 2000);
        assert!(messages.iter().all(|m| m.chars().count() <= 2000));
        let total: usize = messages.iter().map(|m| m.replace('\n', "").len()).sum();
        assert_eq!(total, 7500);
    }
}
