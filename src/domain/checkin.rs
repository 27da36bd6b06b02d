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

/// Why a check-in never started (its first question never went out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotStarted {
    /// A scheduled check-in: the person was still in the previous one in this server until
    /// it could no longer start.
    Previous,
    /// It waited, stored, while the person was in a check-in of another server, and ran out.
    Elsewhere,
}

impl NotStarted {
    /// The word stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            NotStarted::Previous => "previous",
            NotStarted::Elsewhere => "elsewhere",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [NotStarted::Previous, NotStarted::Elsewhere]
            .into_iter()
            .find(|r| r.key() == raw)
    }
}

/// Longest answer kept: a Discord message.
pub const ANSWER_MAX: usize = 2000;

/// An answer that is not an answer to write down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The person left the question out.
    Skipped,
    /// A barrier question answered "nothing in the way": no barrier is made.
    Nothing,
}

impl Mark {
    pub fn key(self) -> &'static str {
        match self {
            Mark::Skipped => "skipped",
            Mark::Nothing => "nothing",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Mark::Skipped, Mark::Nothing]
            .into_iter()
            .find(|m| m.key() == raw)
    }
}

/// Which step a general answer (a barrier, a next step) is about, chosen by the person when
/// they have several open steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum About {
    /// The plan as a whole, no one step.
    Plan,
    Step(StepId),
}

impl About {
    /// The word stored: `plan` or the step's id.
    pub fn key(self) -> String {
        match self {
            About::Plan => "plan".to_owned(),
            About::Step(id) => id.get().to_string(),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        if raw == "plan" {
            return Some(About::Plan);
        }
        raw.parse::<i64>()
            .ok()
            .map(|id| About::Step(StepId::new(id)))
    }
}

/// An answer given so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    pub position: usize,
    pub answer: String,
    /// For barrier answers: the category chosen with the buttons.
    pub category: Option<String>,
    /// Whether it goes onto the plan when confirmed (else it stays between the person and
    /// their coach).
    pub shared: bool,
    pub mark: Option<Mark>,
    pub about: Option<About>,
}

impl Answered {
    /// A plain answer, private.
    pub fn new(position: usize, answer: &str) -> Self {
        Self {
            position,
            answer: answer.to_owned(),
            category: None,
            shared: false,
            mark: None,
            about: None,
        }
    }
}

/// What the check-in needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The question at this position has no answer yet.
    Ask(usize),
    /// The barrier answer at this position needs its category.
    Categorize(usize),
    /// The answer at this position needs to say which of the person's steps it is about.
    Which(usize),
    /// Everything is answered: reflect back and ask for confirmation.
    Review,
}

/// Whether the answer to `asked` must say which step it concerns: a general barrier, next step
/// or resource, when the person has more than one open step.
fn needs_which(asked: &Asked, answer: &Answered, open_steps: &[StepId]) -> bool {
    answer.mark.is_none()
        && asked.step_id.is_none()
        && matches!(
            asked.purpose,
            Purpose::Barrier | Purpose::NextStep | Purpose::Resource
        )
        && open_steps.len() > 1
}

/// The first question that is not complete.
pub fn next(plan: &[Asked], answers: &[Answered], open_steps: &[StepId]) -> Next {
    for (position, asked) in plan.iter().enumerate() {
        match answers.iter().find(|a| a.position == position) {
            None => return Next::Ask(position),
            Some(a)
                if asked.purpose == Purpose::Barrier
                    && a.mark.is_none()
                    && a.category.is_none() =>
            {
                return Next::Categorize(position);
            }
            Some(a) if a.about.is_none() && needs_which(asked, a, open_steps) => {
                return Next::Which(position);
            }
            Some(_) => {}
        }
    }
    Next::Review
}

/// The step an answer is about: its question's, else the one the person chose, else their only
/// open step. None for the plan as a whole.
pub fn step_of(asked: &Asked, answer: &Answered, open_steps: &[StepId]) -> Option<StepId> {
    if asked.step_id.is_some() {
        return asked.step_id;
    }
    match answer.about {
        Some(About::Step(id)) => Some(id),
        Some(About::Plan) => None,
        None => match open_steps {
            [only] => Some(*only),
            _ => None,
        },
    }
}

/// What a check-in's answers can be about: the person's open steps when it began, and, for a
/// deep-dive about one, the existing barrier.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    pub steps: &'a [StepId],
    pub barrier: Option<i64>,
}

/// Where a confirmed answer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Between the person and their coach: `/checkin history` and the coach's export only.
    Private,
    /// A note in this step's log.
    StepLog(StepId),
    /// A barrier on this step, or on the plan as a whole.
    Barrier(Option<StepId>),
    /// A root-cause note on the existing barrier the check-in is about.
    BarrierNote(i64),
}

/// Where the answer would go if shared, or None when it cannot go onto the plan (a
/// reflection, progress with no step, a skipped question, nothing in the way). In a check-in
/// about an existing barrier, what the person notices underneath it (the reflections) goes
/// onto that barrier as root-cause notes.
pub fn shareable(asked: &Asked, answer: &Answered, subject: &Subject<'_>) -> Option<Destination> {
    if answer.mark.is_some() {
        return None;
    }
    if let (Purpose::Reflection, Some(barrier)) = (asked.purpose, subject.barrier) {
        return Some(Destination::BarrierNote(barrier));
    }
    let step = step_of(asked, answer, subject.steps);
    if !asked.purpose.can_share(step) {
        return None;
    }
    Some(match asked.purpose {
        Purpose::Barrier => Destination::Barrier(step),
        _ => Destination::StepLog(step?),
    })
}

/// Where the answer goes as things stand.
pub fn destination(asked: &Asked, answer: &Answered, subject: &Subject<'_>) -> Destination {
    match shareable(asked, answer, subject) {
        Some(place) if answer.shared => place,
        _ => Destination::Private,
    }
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

/// Turns the answers shared to the plan into step updates and barriers, each on the step it is
/// about (never on whichever step was asked about last). Private answers, reflections,
/// skipped questions and "nothing in the way" become nothing: they stay in the check-in.
pub fn outcomes(plan: &[Asked], answers: &[Answered], subject: &Subject<'_>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (position, asked) in plan.iter().enumerate() {
        let Some(answer) = answers.iter().find(|a| a.position == position) else {
            continue;
        };
        let text = answer.answer.clone();
        match destination(asked, answer, subject) {
            Destination::Private => {}
            Destination::BarrierNote(barrier_id) => {
                out.push(Outcome::BarrierNote { barrier_id, text });
            }
            Destination::Barrier(step_id) => out.push(Outcome::Barrier {
                step_id,
                category: answer
                    .category
                    .clone()
                    .unwrap_or_else(|| "other".to_owned()),
                text,
            }),
            Destination::StepLog(step_id) => {
                let note = match asked.purpose {
                    Purpose::NextStep => format!("{NEXT_STEP_PREFIX}{text}"),
                    Purpose::Resource => format!("{RESOURCE_PREFIX}{text}"),
                    _ => text,
                };
                out.push(Outcome::StepUpdate { step_id, note });
            }
        }
    }
    out
}

/// The answers to questions about the person's growth goal, which are also kept as notes on
/// it (private, like every answer that does not go onto the plan). Skipped ones are left out.
pub fn goal_notes(plan: &[Asked], answers: &[Answered]) -> Vec<String> {
    plan.iter()
        .enumerate()
        .filter(|(_, asked)| asked.about_goal)
        .filter_map(|(position, _)| answers.iter().find(|a| a.position == position))
        .filter(|a| a.mark.is_none() && !a.answer.trim().is_empty())
        .map(|a| a.answer.trim().to_owned())
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
    use super::*;
    use crate::domain::flow::Share;

    fn asked(purpose: Purpose, step_id: Option<StepId>) -> Asked {
        Asked {
            purpose,
            text: String::new(),
            step_id,
            share: Share::Private,
            about_goal: false,
        }
    }

    fn answered(position: usize, answer: &str, category: Option<&str>) -> Answered {
        Answered {
            category: category.map(str::to_owned),
            shared: true,
            ..Answered::new(position, answer)
        }
    }

    #[test]
    fn an_answer_fits_what_it_becomes() {
        use crate::domain::plan::NOTE_MAX;
        assert_eq!(answer_limit(Purpose::Barrier), NOTE_MAX);
        assert_eq!(answer_limit(Purpose::Progress), NOTE_MAX);
        let next = "x".repeat(answer_limit(Purpose::NextStep));
        let plan = [asked(Purpose::NextStep, Some(StepId::new(1)))];
        let answers = [answered(0, &next, None)];
        let made = outcomes(
            &plan,
            &answers,
            &Subject {
                steps: &[StepId::new(1)],
                barrier: None,
            },
        );
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

    #[test]
    fn the_next_question_is_the_first_incomplete_one() {
        let plan = [
            asked(Purpose::Progress, Some(StepId::new(1))),
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
        ];
        let one = [StepId::new(1)];
        assert_eq!(next(&plan, &[], &one), Next::Ask(0));
        assert_eq!(next(&plan, &[answered(0, "a", None)], &one), Next::Ask(1));
        assert_eq!(
            next(
                &plan,
                &[answered(0, "a", None), answered(1, "b", None)],
                &one
            ),
            Next::Categorize(1)
        );
        let all = [
            answered(0, "a", None),
            answered(1, "b", Some("time")),
            answered(2, "c", None),
        ];
        assert_eq!(next(&plan, &all, &one), Next::Review);
    }

    #[test]
    fn with_two_open_steps_a_general_answer_asks_which_step() {
        let steps = [StepId::new(1), StepId::new(2)];
        let plan = [
            asked(Purpose::Progress, Some(StepId::new(1))),
            asked(Purpose::Progress, Some(StepId::new(2))),
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
        ];
        let mut answers = vec![
            answered(0, "one", None),
            answered(1, "two", None),
            answered(2, "no time", Some("time")),
        ];
        assert_eq!(next(&plan, &answers, &steps), Next::Which(2));
        answers[2].about = Some(About::Step(StepId::new(1)));
        answers.push(answered(3, "ask the office", None));
        assert_eq!(next(&plan, &answers, &steps), Next::Which(3));
        answers[3].about = Some(About::Plan);
        assert_eq!(next(&plan, &answers, &steps), Next::Review);
        assert_eq!(
            outcomes(
                &plan,
                &answers,
                &Subject {
                    steps: &steps,
                    barrier: None
                }
            ),
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
                    step_id: Some(StepId::new(1)),
                    category: "time".into(),
                    text: "no time".into()
                },
            ],
            "the barrier is on the step chosen, not the last one asked about; a next step for the plan as a whole stays in the check-in"
        );
    }

    #[test]
    fn only_shared_answers_reach_the_plan() {
        let steps = [StepId::new(1)];
        let plan = [
            asked(Purpose::Progress, Some(StepId::new(1))),
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
            asked(Purpose::Wellbeing, None),
        ];
        let mut answers = vec![
            answered(0, "one", None),
            answered(1, "no time", Some("time")),
            answered(2, "ask the office", None),
            answered(3, "tired", None),
        ];
        answers[0].shared = false;
        assert_eq!(
            outcomes(
                &plan,
                &answers,
                &Subject {
                    steps: &steps,
                    barrier: None
                }
            ),
            [
                Outcome::Barrier {
                    step_id: Some(StepId::new(1)),
                    category: "time".into(),
                    text: "no time".into()
                },
                Outcome::StepUpdate {
                    step_id: StepId::new(1),
                    note: "Next step: ask the office".into()
                },
            ]
        );
        assert_eq!(
            destination(
                &plan[0],
                &answers[0],
                &Subject {
                    steps: &steps,
                    barrier: None
                }
            ),
            Destination::Private
        );
        assert_eq!(
            shareable(
                &plan[3],
                &answers[3],
                &Subject {
                    steps: &steps,
                    barrier: None
                }
            ),
            None,
            "wellbeing never goes onto the plan"
        );
    }

    #[test]
    fn skipped_and_nothing_answers_make_nothing() {
        let plan = [
            asked(Purpose::Barrier, None),
            asked(Purpose::NextStep, None),
        ];
        let steps = [StepId::new(1), StepId::new(2)];
        let answers = [
            Answered {
                mark: Some(Mark::Nothing),
                ..answered(0, "nothing really", None)
            },
            Answered {
                mark: Some(Mark::Skipped),
                ..answered(1, "", None)
            },
        ];
        assert_eq!(next(&plan, &answers, &steps), Next::Review);
        assert!(
            outcomes(
                &plan,
                &answers,
                &Subject {
                    steps: &steps,
                    barrier: None
                }
            )
            .is_empty()
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
        let about = Subject {
            steps: &[],
            barrier: Some(12),
        };
        assert_eq!(
            outcomes(&plan, &answers, &about),
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
        let mut private = answers.clone();
        private[0].shared = false;
        assert_eq!(
            outcomes(&plan, &private, &about).len(),
            1,
            "a reflection kept private stays in the check-in"
        );
        assert!(
            outcomes(&plan, &answers, &Subject::default()).is_empty(),
            "without a barrier to be about, reflections stay in the check-in"
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

    #[test]
    fn answers_about_the_goal_become_its_notes_unless_skipped() {
        let mut plan = vec![
            asked(Purpose::Reflection, None),
            asked(Purpose::Reflection, None),
        ];
        plan[1].about_goal = true;
        let mut answers = vec![
            answered(0, "Proud of the team", None),
            answered(1, " Feedback within a day, mostly ", None),
        ];
        assert_eq!(
            goal_notes(&plan, &answers),
            ["Feedback within a day, mostly"]
        );
        answers[1].mark = Some(Mark::Skipped);
        assert!(goal_notes(&plan, &answers).is_empty());
        assert!(
            outcomes(&plan, &answers, &Subject::default()).is_empty(),
            "private, never on the plan"
        );
    }
}
