//! Check-in flows: ordered, open-ended questions as data, checked before use, and the
//! rendering of a flow into the questions one person is asked.

mod leading;

use std::collections::HashSet;
use std::fmt;

use super::ids::StepId;
use serde::Deserialize;

/// What a question is for, which decides what its answer becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// What has moved on a step: becomes a step update.
    Progress,
    /// What is in the way: becomes a barrier (its category asked with buttons).
    Barrier,
    /// What would help: becomes a step update noting the resource.
    Resource,
    /// What they will try next: becomes a step update, and is quoted next time.
    NextStep,
    Reflection,
    Wellbeing,
    Equity,
}

impl Purpose {
    pub fn key(self) -> &'static str {
        match self {
            Purpose::Progress => "progress",
            Purpose::Barrier => "barrier",
            Purpose::Resource => "resource",
            Purpose::NextStep => "next_step",
            Purpose::Reflection => "reflection",
            Purpose::Wellbeing => "wellbeing",
            Purpose::Equity => "equity",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Purpose::Progress,
            Purpose::Barrier,
            Purpose::Resource,
            Purpose::NextStep,
            Purpose::Reflection,
            Purpose::Wellbeing,
            Purpose::Equity,
        ]
        .into_iter()
        .find(|p| p.key() == raw)
    }
}

/// Where an answer goes once confirmed, unless the person changes it on the reflection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// Onto the plan: a step update or a barrier the school's team can read.
    Plan,
    /// Kept between the person and their coach.
    #[default]
    Private,
}

impl Purpose {
    /// Whether an answer of this purpose can go onto the plan at all: progress and next steps
    /// need a step to be logged on; barriers can be the whole plan's; reflections never go.
    pub fn can_share(self, step: Option<StepId>) -> bool {
        match self {
            Purpose::Barrier => true,
            Purpose::Progress | Purpose::NextStep | Purpose::Resource => step.is_some(),
            Purpose::Reflection | Purpose::Wellbeing | Purpose::Equity => false,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub purpose: Purpose,
    pub text: String,
    /// Used instead of `text` when `text` quotes `{last_next_step}` and there is none yet.
    #[serde(default)]
    pub text_without_history: Option<String>,
    /// Ask once for each of the person's open steps.
    #[serde(default)]
    pub per_step: bool,
    /// Where the answer goes unless the person changes it: `"plan"` or `"private"` (the
    /// default).
    #[serde(default)]
    pub share: Share,
    /// Used instead of `text` when the check-in is about an existing barrier (a flow with
    /// `about = "barrier"`); it may quote `{barrier}`.
    #[serde(default)]
    pub text_about_barrier: Option<String>,
    /// Asked only when the person has an open growth goal (`/goal set`); it may quote
    /// `{goal}`, and its answer, private, is also kept as a note on the goal.
    #[serde(default)]
    pub about_goal: bool,
}

/// What a flow can be about, besides the person's own steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum About {
    /// One existing barrier, picked with `/checkin start … barrier:#12`: the barrier question
    /// is left out, and the reflection answers become the barrier's root-cause notes.
    Barrier,
}

/// Answers to a barrier question that mean nothing is in the way, so no barrier is made: an
/// answer counts when, with these phrases and filler words taken out, nothing is left.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NothingPhrases {
    #[serde(default)]
    pub phrases: Vec<String>,
    #[serde(default)]
    pub filler: Vec<String>,
}

impl NothingPhrases {
    /// Whether `answer` says only that nothing is in the way ("Nothing really, all good this
    /// week"), not what is ("Nothing works with this timetable").
    pub fn matches(&self, answer: &str) -> bool {
        let normalise = |text: &str| -> Vec<String> {
            text.to_lowercase()
                .split(|c: char| !(c.is_alphanumeric() || c == '/' || c == '\''))
                .filter(|w| !w.is_empty())
                .map(|w| w.trim_matches('\'').to_owned())
                .collect()
        };
        let mut words = normalise(answer);
        if words.is_empty() {
            return false;
        }
        let mut found = false;
        let mut phrases: Vec<Vec<String>> = self.phrases.iter().map(|p| normalise(p)).collect();
        // Longest first, so "nothing really" is taken whole before "nothing".
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut i = 0;
        let mut left = Vec::new();
        'words: while i < words.len() {
            for phrase in phrases.iter().filter(|p| !p.is_empty()) {
                if words[i..].starts_with(phrase) {
                    found = true;
                    i += phrase.len();
                    continue 'words;
                }
            }
            left.push(std::mem::take(&mut words[i]));
            i += 1;
        }
        let filler: Vec<String> = self.filler.iter().map(|f| f.to_lowercase()).collect();
        found && left.iter().all(|w| filler.contains(w))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub opener: Option<String>,
    /// What the flow may be about: `about = "barrier"` lets it be started about one barrier.
    #[serde(default)]
    pub about: Option<About>,
    /// Used instead of `opener` when the check-in is about an existing barrier; it may quote
    /// `{barrier}`.
    #[serde(default)]
    pub opener_about_barrier: Option<String>,
    #[serde(rename = "question", default)]
    pub questions: Vec<Question>,
    /// Opens the reflection of what was heard, e.g. "Here is what I heard, {name}:".
    pub reflection: String,
    /// What counts as "nothing in the way" for this flow's barrier questions.
    #[serde(default)]
    pub nothing: NothingPhrases,
}

/// The placeholders a flow may use, those that only make sense per step, and those that only
/// make sense about an existing barrier.
pub const PLACEHOLDERS: [&str; 9] = [
    "name",
    "school",
    "step",
    "indicator",
    "indicator_name",
    "due",
    "last_next_step",
    "barrier",
    "goal",
];
const PER_STEP_ONLY: [&str; 4] = ["step", "indicator", "indicator_name", "due"];
const ABOUT_BARRIER_ONLY: [&str; 1] = ["barrier"];
/// Placeholders only a question with `about_goal = true` may quote.
const ABOUT_GOAL_ONLY: [&str; 1] = ["goal"];

/// Longest quote of a barrier's text in a question: enough to recognise it.
pub const BARRIER_QUOTE_MAX: usize = 300;

/// Openings of yes/no questions, which close a conversation instead of opening it.
const CLOSED_OPENINGS: [&str; 16] = [
    "did you",
    "have you",
    "has ",
    "is it",
    "is there",
    "are you",
    "are there",
    "do you",
    "does ",
    "can you",
    "could you",
    "will you",
    "would you",
    "was ",
    "were ",
    "should ",
];

/// Longest question or opener: it goes into one message with room to spare.
const TEXT_MAX: usize = 1000;
/// Modal input labels are capped at 45 characters; longer questions show in the placeholder.
pub const MAX_QUESTIONS: usize = 25;

/// What checking flow files found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub flows: Vec<Flow>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    /// 0 when clean, 1 when there are only warnings, 2 when there are errors.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if !self.warnings.is_empty() {
            1
        } else {
            0
        }
    }
}

/// Checks a set of flow files, given as `(name, text)`; duplicate ids across files are errors.
pub fn check(files: &[(String, String)]) -> Report {
    let mut report = Report::default();
    let mut ids = HashSet::new();
    for (name, text) in files {
        let flow: Flow = match toml::from_str(text) {
            Ok(flow) => flow,
            Err(error) => {
                report
                    .errors
                    .push(format!("{name}: not a valid flow: {}", error.message()));
                continue;
            }
        };
        let before = report.errors.len();
        lint(name, &flow, &mut report);
        if !ids.insert(flow.id.clone()) {
            report.errors.push(format!(
                "{name}: flow id `{}` is used by another file too",
                flow.id
            ));
        }
        if report.errors.len() == before {
            report.flows.push(flow);
        }
    }
    report
}

fn lint(name: &str, flow: &Flow, report: &mut Report) {
    let at = |what: &str| format!("{name}: {what}");
    if flow.id.trim().is_empty()
        || !flow
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        report.errors.push(at(
            "the id must be letters, digits, - or _ (it is typed in commands)",
        ));
    }
    if flow.title.trim().is_empty() {
        report.errors.push(at("the title is empty"));
    }
    if flow.questions.is_empty() {
        report.errors.push(at("it has no [[question]]"));
    }
    if flow.questions.len() > MAX_QUESTIONS {
        report.errors.push(at(&format!(
            "it has {} questions; the most is {MAX_QUESTIONS}",
            flow.questions.len()
        )));
    }
    // Each text with where it is used: per step, and only about an existing barrier.
    let mut texts: Vec<(String, &str, bool, bool)> = Vec::new();
    if let Some(opener) = &flow.opener {
        texts.push(("the opener".into(), opener, false, false));
    }
    if let Some(opener) = &flow.opener_about_barrier {
        if opener.trim().is_empty() {
            report.errors.push(at("opener_about_barrier is empty"));
        }
        texts.push(("opener_about_barrier".into(), opener, false, true));
    }
    texts.push(("the reflection".into(), &flow.reflection, false, false));
    for (i, question) in flow.questions.iter().enumerate() {
        let label = format!("question {}", i + 1);
        if question.text.trim().is_empty() {
            report.errors.push(at(&format!("{label} is empty")));
        }
        texts.push((label.clone(), &question.text, question.per_step, false));
        if let Some(alt) = &question.text_without_history {
            if alt.trim().is_empty() {
                report
                    .errors
                    .push(at(&format!("{label}'s text_without_history is empty")));
            }
            texts.push((
                format!("{label} (without history)"),
                alt,
                question.per_step,
                false,
            ));
        }
        if let Some(alt) = &question.text_about_barrier {
            if alt.trim().is_empty() {
                report
                    .errors
                    .push(at(&format!("{label}'s text_about_barrier is empty")));
            }
            if question.purpose == Purpose::Barrier {
                report.errors.push(at(&format!(
                    "{label} asks for a barrier, which is left out when the check-in is about one: remove its text_about_barrier"
                )));
            }
            texts.push((
                format!("{label} (about a barrier)"),
                alt,
                question.per_step,
                true,
            ));
        }
        if question.share == Share::Plan && !shareable_purpose(flow, question.purpose) {
            report.errors.push(at(&format!(
                "{label} asks for a {} answer, which always stays between the person and their coach: remove share = \"plan\"",
                question.purpose
            )));
        }
        lint_goal(&label, question, &mut |e| report.errors.push(at(e)));
        if question.text.contains("{last_next_step}") && question.text_without_history.is_none() {
            report.errors.push(at(&format!(
                "{label} quotes {{last_next_step}}: add text_without_history for a first check-in"
            )));
        }
        let asked = std::iter::once(&question.text).chain(&question.text_about_barrier);
        for sentence in asked.flat_map(|t| t.split_inclusive(['?', '.', '!'])) {
            let lower = sentence.trim().to_lowercase();
            if sentence.trim_end().ends_with('?')
                && CLOSED_OPENINGS.iter().any(|o| lower.starts_with(o))
            {
                report.warnings.push(at(&format!(
                    "{label} is a yes/no question (“{}”): ask it openly, starting with What or How, e.g. “What …?”",
                    sentence.trim()
                )));
            }
        }
        for (which, text) in std::iter::once((label.clone(), question.text.as_str())).chain(
            question
                .text_without_history
                .as_deref()
                .map(|alt| (format!("{label} (without history)"), alt)),
        ) {
            for sentence in text.split_inclusive(['?', '.', '!']) {
                if !sentence.trim_end().ends_with('?') {
                    continue;
                }
                if let Some(pattern) = leading::find(sentence) {
                    report.warnings.push(at(&format!(
                        "{which} is a leading question (“{}”): it assumes {}; ask without the assumption, e.g. “{}”",
                        sentence.trim(),
                        pattern.assumes,
                        pattern.instead
                    )));
                }
            }
        }
    }
    lint_about(flow, &texts, &mut |e| report.errors.push(at(e)));
    let goal_texts: Vec<&str> = flow
        .questions
        .iter()
        .filter(|q| q.about_goal)
        .flat_map(|q| std::iter::once(q.text.as_str()).chain(q.text_without_history.as_deref()))
        .collect();
    for (label, text, per_step, about_barrier) in texts {
        if text.chars().count() > TEXT_MAX {
            report
                .errors
                .push(at(&format!("{label} is over {TEXT_MAX} characters")));
        }
        for placeholder in placeholders(text) {
            if !PLACEHOLDERS.contains(&placeholder.as_str()) {
                report.errors.push(at(&format!(
                    "{label} uses {{{placeholder}}}, which is not a placeholder (use {})",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                )));
            } else if PER_STEP_ONLY.contains(&placeholder.as_str()) && !per_step {
                report.errors.push(at(&format!(
                    "{label} uses {{{placeholder}}} but is not asked per step (add per_step = true)"
                )));
            } else if ABOUT_BARRIER_ONLY.contains(&placeholder.as_str()) && !about_barrier {
                report.errors.push(at(&format!(
                    "{label} uses {{{placeholder}}}, which only opener_about_barrier and text_about_barrier may quote"
                )));
            } else if ABOUT_GOAL_ONLY.contains(&placeholder.as_str())
                && !goal_texts.iter().any(|t| std::ptr::eq(*t, text))
            {
                report.errors.push(at(&format!(
                    "{label} uses {{{placeholder}}}, which only a question with about_goal = true may quote (it is asked only when the person has a goal)"
                )));
            }
        }
    }
}

/// A question about the person's growth goal stays between them and their coach, and is not
/// asked per step (it is one goal).
fn lint_goal(label: &str, question: &Question, error: &mut dyn FnMut(&str)) {
    if !question.about_goal {
        return;
    }
    if question.share == Share::Plan {
        error(&format!(
            "{label} is about the person's growth goal, which stays between them and their coach: remove share = \"plan\""
        ));
    }
    if question.per_step {
        error(&format!(
            "{label} is about the person's growth goal, one goal: remove per_step = true"
        ));
    }
    if question.text_about_barrier.is_some() {
        error(&format!(
            "{label} is about the person's growth goal: remove its text_about_barrier"
        ));
    }
}

/// Whether a question of this purpose can ever send its answer to the plan: wellbeing and
/// equity answers never do, and reflections only as root-cause notes of a barrier.
fn shareable_purpose(flow: &Flow, purpose: Purpose) -> bool {
    match purpose {
        Purpose::Wellbeing | Purpose::Equity => false,
        Purpose::Reflection => flow.about == Some(About::Barrier),
        Purpose::Progress | Purpose::NextStep | Purpose::Resource | Purpose::Barrier => true,
    }
}

/// A flow about a barrier names it and asks what lies underneath; texts about a barrier
/// belong only to such a flow.
fn lint_about(flow: &Flow, texts: &[(String, &str, bool, bool)], error: &mut dyn FnMut(&str)) {
    let about_texts: Vec<&str> = texts.iter().filter(|t| t.3).map(|t| t.1).collect();
    match flow.about {
        None if !about_texts.is_empty() => error(
            "opener_about_barrier and text_about_barrier are used only when the flow says about = \"barrier\"",
        ),
        None => {}
        Some(About::Barrier) => {
            if !about_texts.iter().any(|t| t.contains("{barrier}")) {
                error(
                    "about = \"barrier\": quote {barrier} in opener_about_barrier (or a question's text_about_barrier), so the person knows which barrier it is",
                );
            }
            if !flow
                .questions
                .iter()
                .any(|q| q.purpose == Purpose::Reflection)
            {
                error(
                    "about = \"barrier\": add a question with purpose = \"reflection\" (its answers become the barrier's root-cause notes)",
                );
            }
        }
    }
}

/// The `{names}` in a text.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start + 1..];
        let Some(end) = tail.find('}') else { break };
        out.push(tail[..end].to_owned());
        rest = &tail[end + 1..];
    }
    out
}

/// What placeholders stand for in one person's check-in.
#[derive(Clone, Debug, Default)]
pub struct Vars<'a> {
    pub name: &'a str,
    pub school: &'a str,
    pub last_next_step: Option<&'a str>,
    /// The text of the existing barrier the check-in is about, if any.
    pub barrier: Option<&'a str>,
    /// The person's open growth goal, if any: questions `about_goal` are asked only then.
    pub goal: Option<&'a str>,
}

/// One of the person's open steps, for per-step questions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepContext {
    pub id: StepId,
    pub title: String,
    /// The indicator's id (`12a`) and its name in the server's framework.
    pub indicator: String,
    pub indicator_name: String,
    pub due: String,
}

/// A question as this person is asked it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Asked {
    pub purpose: Purpose,
    pub text: String,
    /// The step a per-step question is about.
    pub step_id: Option<StepId>,
    /// Where its answer goes unless the person changes it (check-ins begun before this was
    /// stored keep their answers private).
    #[serde(default)]
    pub share: Share,
    /// A question about the person's growth goal: its answer is also kept as a goal note.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub about_goal: bool,
}

fn fill(template: &str, vars: &Vars<'_>, step: Option<&StepContext>) -> String {
    let mut out = template
        .replace("{name}", vars.name)
        .replace("{school}", vars.school)
        .replace(
            "{last_next_step}",
            vars.last_next_step.map_or("", |quoted| quoted.trim()),
        );
    if let Some(step) = step {
        out = out
            .replace("{step}", &step.title)
            .replace("{indicator_name}", &step.indicator_name)
            .replace("{indicator}", &step.indicator)
            .replace("{due}", &step.due);
    }
    // Last, so neither a barrier's nor a goal's own text is ever read as placeholders: both
    // are put in at once.
    let barrier = vars.barrier.map_or_else(String::new, |b| {
        super::text::clip(b.trim(), BARRIER_QUOTE_MAX)
    });
    let goal = vars.goal.map_or("", str::trim);
    out.split("{barrier}")
        .map(|part| part.replace("{goal}", goal))
        .collect::<Vec<_>>()
        .join(&barrier)
}

/// The questions this person will be asked, in order: per-step questions once for each open
/// step (skipped when there is none). About an existing barrier (`vars.barrier`), the question
/// asking for a barrier is left out and `text_about_barrier` is asked where a question has one.
pub fn plan(flow: &Flow, vars: &Vars<'_>, steps: &[StepContext]) -> Vec<Asked> {
    let mut out = Vec::new();
    for question in &flow.questions {
        if vars.barrier.is_some() && question.purpose == Purpose::Barrier {
            continue;
        }
        if question.about_goal && vars.goal.is_none() {
            continue;
        }
        let template = match (
            &question.text_without_history,
            vars.last_next_step,
            &question.text_about_barrier,
            vars.barrier,
        ) {
            (_, _, Some(about), Some(_)) => about,
            (Some(alt), None, _, _) if question.text.contains("{last_next_step}") => alt,
            _ => &question.text,
        };
        if question.per_step {
            for step in steps {
                out.push(Asked {
                    purpose: question.purpose,
                    text: fill(template, vars, Some(step)),
                    step_id: Some(step.id),
                    share: question.share,
                    about_goal: false,
                });
            }
        } else {
            out.push(Asked {
                purpose: question.purpose,
                text: fill(template, vars, None),
                step_id: None,
                share: question.share,
                about_goal: question.about_goal,
            });
        }
    }
    out
}

/// The opener, filled in: `opener_about_barrier` when the check-in is about a barrier.
pub fn opener(flow: &Flow, vars: &Vars<'_>) -> Option<String> {
    let about = vars.barrier.and(flow.opener_about_barrier.as_deref());
    about
        .or(flow.opener.as_deref())
        .map(|o| fill(o, vars, None))
}

/// One answer as the reflection shows it.
#[derive(Clone, Debug)]
pub struct Heard {
    pub asked: Asked,
    pub answer: String,
    pub category: Option<String>,
    /// The question was left out (`Skip`).
    pub skipped: bool,
    /// Where it will go, in plain words ("step #4's log, seen by the Lincoln team").
    pub destination: String,
}

/// "Here is what I heard": the flow's stem, then each answer quoted in the person's own words,
/// labelled by what it was about, with where it will go. Nothing is paraphrased or invented.
pub fn reflect(
    flow: &Flow,
    vars: &Vars<'_>,
    heard: &[(usize, Heard)],
    step_titles: &[(StepId, String)],
) -> Vec<String> {
    let mut lines = vec![fill(&flow.reflection, vars, None)];
    for (position, heard) in heard {
        let asked = &heard.asked;
        let about = asked
            .step_id
            .and_then(|id| step_titles.iter().find(|(s, _)| *s == id))
            .map(|(_, title)| format!(" on “{title}”"))
            .unwrap_or_default();
        let label = match asked.purpose {
            Purpose::Progress => format!("What has moved{about}"),
            Purpose::Barrier => format!(
                "What is in the way{about}{}",
                heard
                    .category
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ),
            Purpose::Resource => format!("What would help{about}"),
            Purpose::NextStep => format!("Your next step{about}"),
            Purpose::Reflection if asked.about_goal => "On your growth goal".to_owned(),
            Purpose::Reflection => "What you noticed".to_owned(),
            Purpose::Wellbeing => "How you are".to_owned(),
            Purpose::Equity => "Who is served".to_owned(),
        };
        if heard.skipped {
            lines.push(format!("{}. {label}: (left out)", position + 1));
        } else {
            let noted = if asked.about_goal {
                ", and a note on your goal"
            } else {
                ""
            };
            lines.push(format!(
                "{}. {label}: “{}”\n    → {}{noted}",
                position + 1,
                heard.answer,
                heard.destination
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(question: &str) -> String {
        format!(
            r#"id = "t"
title = "Test"
reflection = "Here is what I heard, {{name}}:"
[[question]]
purpose = "progress"
text = "{question}"
"#
        )
    }

    fn one(text: &str) -> Report {
        check(&[("t.toml".to_owned(), text.to_owned())])
    }

    #[test]
    fn a_good_flow_is_clean() {
        let report = one(&flow("What has moved since we last spoke, {name}?"));
        assert_eq!(report.errors, Vec::<String>::new());
        assert_eq!(report.warnings, Vec::<String>::new());
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn unknown_placeholders_and_empty_questions_are_errors() {
        let report = one(&flow("What about {teacher}?"));
        assert!(
            report.errors.iter().any(|e| e.contains("{teacher}")),
            "{report:?}"
        );
        assert_eq!(report.exit_code(), 2);
        let report = one(&flow("  "));
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("question 1 is empty")),
            "{report:?}"
        );
        let report = one(&flow("What about {step}?"));
        assert!(
            report.errors.iter().any(|e| e.contains("per_step")),
            "{report:?}"
        );
    }

    #[test]
    fn answers_that_always_stay_private_cannot_be_set_to_go_to_the_plan() {
        for purpose in ["wellbeing", "equity", "reflection"] {
            let text = flow("How are you doing, {name}?").replace(
                "purpose = \"progress\"",
                &format!("purpose = \"{purpose}\"\nshare = \"plan\""),
            );
            let report = one(&text);
            assert!(
                report
                    .errors
                    .iter()
                    .any(|e| e.contains(purpose) && e.contains("remove share")),
                "{purpose}: {report:?}"
            );
        }
        let progress = flow("What has moved, {name}?").replace(
            "purpose = \"progress\"",
            "purpose = \"progress\"\nshare = \"plan\"",
        );
        assert_eq!(one(&progress).errors, Vec::<String>::new());
    }

    #[test]
    fn closed_questions_are_warnings_with_an_open_suggestion() {
        let report = one(&flow("Did you meet with the team?"));
        assert!(report.errors.is_empty(), "{report:?}");
        assert!(
            report.warnings[0].contains("yes/no") && report.warnings[0].contains("What or How"),
            "{report:?}"
        );
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn nothing_in_the_way_is_told_from_a_barrier() {
        let nothing = NothingPhrases {
            phrases: [
                "nothing",
                "no",
                "all good",
                "n/a",
                "nothing really",
                "not much",
            ]
            .map(str::to_owned)
            .to_vec(),
            filler: [
                "really", "this", "week", "is", "in", "the", "way", "right", "now",
            ]
            .map(str::to_owned)
            .to_vec(),
        };
        for said in [
            "Nothing really, all good this week",
            "nothing",
            "N/A",
            "No, nothing is in the way right now.",
            "All good!",
        ] {
            assert!(nothing.matches(said), "{said}");
        }
        for said in [
            "Nothing works with this timetable",
            "No time to meet",
            "Not much time to plan",
            "",
            "The PLC keeps being cancelled",
        ] {
            assert!(!nothing.matches(said), "{said}");
        }
    }

    #[test]
    fn leading_questions_are_warnings_with_an_open_suggestion() {
        for (question, assumes, instead) in [
            (
                "How is {name} moving the walkthroughs forward?",
                "moving forward",
                "What has happened with it",
            ),
            (
                "What is getting in the way?",
                "something is in the way",
                "What, if anything, is getting in the way?",
            ),
            (
                "What’s in the way right now?",
                "something is in the way",
                "if anything",
            ),
            (
                "What's in the way?",
                "something is in the way",
                "if anything",
            ),
            (
                "Looking at the week. How much progress did the team make?",
                "progress",
                "What, if anything, has moved",
            ),
            (
                "Don't you think the team is ready?",
                "the answer it wants",
                "What do you make of it?",
            ),
        ] {
            let report = one(&flow(question));
            assert!(report.errors.is_empty(), "{report:?}");
            assert_eq!(report.warnings.len(), 1, "{question}: {report:?}");
            let warning = &report.warnings[0];
            assert!(
                warning.contains("question 1 is a leading question")
                    && warning.contains(assumes)
                    && warning.contains(instead),
                "{warning}"
            );
            assert_eq!(report.exit_code(), 1);
        }
    }

    #[test]
    fn open_questions_near_the_leading_patterns_are_clean() {
        for question in [
            "What, if anything, is getting in the way right now?",
            "What, if anything, is in the way of it now?",
            "How are you arriving at work this week?",
            "What has moved forward since we spoke, and how?",
            "How would you describe where the work is now?",
            "Who could help you show the team a way forward?",
        ] {
            let report = one(&flow(question));
            assert_eq!(report.warnings, Vec::<String>::new(), "{question}");
            assert_eq!(report.exit_code(), 0);
        }
    }

    #[test]
    fn duplicate_ids_across_files_are_errors() {
        let text = flow("What has moved?");
        let report = check(&[("a.toml".into(), text.clone()), ("b.toml".into(), text)]);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("b.toml: flow id `t`")),
            "{report:?}"
        );
    }

    #[test]
    fn per_step_questions_repeat_and_history_is_quoted() {
        let text = r#"id = "w"
title = "Weekly"
reflection = "Here is what I heard:"
[[question]]
purpose = "progress"
per_step = true
text = "What has moved on {step} (due {due})?"
[[question]]
purpose = "next_step"
text = "Last time you planned to {last_next_step}. What will you try next?"
text_without_history = "What will you try next?"
"#;
        let report = one(text);
        assert!(report.errors.is_empty(), "{report:?}");
        let flow = &report.flows[0];
        let steps = [
            StepContext {
                id: StepId::new(1),
                title: "A".into(),
                indicator: "12a".into(),
                indicator_name: "Partnerships".into(),
                due: "Fri".into(),
            },
            StepContext {
                id: StepId::new(2),
                title: "B".into(),
                indicator: "11".into(),
                indicator_name: "Coaching".into(),
                due: "Mon".into(),
            },
        ];
        let first = plan(
            flow,
            &Vars {
                name: "Pat",
                school: "Lincoln",
                last_next_step: None,
                barrier: None,
                goal: None,
            },
            &steps,
        );
        let texts: Vec<&str> = first.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "What has moved on A (due Fri)?",
                "What has moved on B (due Mon)?",
                "What will you try next?"
            ]
        );
        let again = plan(
            flow,
            &Vars {
                name: "Pat",
                school: "Lincoln",
                last_next_step: Some("call the office"),
                barrier: None,
                goal: None,
            },
            &steps,
        );
        assert_eq!(
            again[2].text,
            "Last time you planned to call the office. What will you try next?"
        );
    }

    const DEEP_DIVE: &str = r#"id = "d"
title = "Deep"
about = "barrier"
opener = "Let's look at one thing, {name}."
opener_about_barrier = "Let's look at “{barrier}”, {name}."
reflection = "Here is what I heard:"
[[question]]
purpose = "barrier"
text = "What is in the way?"
[[question]]
purpose = "reflection"
text = "What is underneath that?"
text_about_barrier = "What is underneath this barrier?"
[[question]]
purpose = "next_step"
text = "What will you try?"
"#;

    #[test]
    fn about_a_barrier_its_question_is_left_out_and_it_is_quoted() {
        let report = one(DEEP_DIVE);
        assert_eq!(report.errors, Vec::<String>::new());
        let flow = &report.flows[0];
        let mut vars = Vars {
            name: "Pat",
            ..Vars::default()
        };
        let texts = |vars: &Vars<'_>| -> Vec<String> {
            plan(flow, vars, &[]).into_iter().map(|a| a.text).collect()
        };
        assert_eq!(
            texts(&vars),
            [
                "What is in the way?",
                "What is underneath that?",
                "What will you try?"
            ]
        );
        assert_eq!(
            opener(flow, &vars).as_deref(),
            Some("Let's look at one thing, Pat.")
        );
        let long = format!(
            "No {{name}} cover for the planning block {}",
            "x".repeat(400)
        );
        vars.barrier = Some(&long);
        assert_eq!(
            texts(&vars),
            ["What is underneath this barrier?", "What will you try?"]
        );
        let opened = opener(flow, &vars).expect("an opener");
        assert!(
            opened.starts_with("Let's look at “No {name} cover for the planning block xxx"),
            "quoted as typed, never read as placeholders: {opened}"
        );
        assert!(opened.contains("…”, Pat."), "clipped: {opened}");
    }

    #[test]
    fn barrier_texts_are_checked() {
        let without_about = DEEP_DIVE.replace("about = \"barrier\"\n", "");
        let report = one(&without_about);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("only when the flow says about = \"barrier\"")),
            "{report:?}"
        );
        let quoted_elsewhere = DEEP_DIVE.replace("one thing, {name}", "{barrier}");
        let report = one(&quoted_elsewhere);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("the opener uses {barrier}")),
            "{report:?}"
        );
        let unnamed = DEEP_DIVE.replace("“{barrier}”", "it");
        let report = one(&unnamed);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("quote {barrier} in opener_about_barrier")),
            "{report:?}"
        );
        let no_reflection =
            DEEP_DIVE.replace("purpose = \"reflection\"", "purpose = \"wellbeing\"");
        let report = one(&no_reflection);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("add a question with purpose = \"reflection\"")),
            "{report:?}"
        );
        let unknown = DEEP_DIVE.replace("about = \"barrier\"", "about = \"steps\"");
        assert_eq!(one(&unknown).exit_code(), 2);
    }

    const ABOUT_GOAL: &str = r#"id = "m"
title = "Monthly"
reflection = "Here is what I heard:"
[[question]]
purpose = "reflection"
text = "What are you proud of, {name}?"
[[question]]
about_goal = true
purpose = "reflection"
text = "Your goal is “{goal}”. What has moved on it?"
"#;

    #[test]
    fn a_goal_question_is_asked_only_with_a_goal_and_quotes_it_as_typed() {
        let report = one(ABOUT_GOAL);
        assert_eq!(report.errors, Vec::<String>::new());
        let flow = &report.flows[0];
        let without = plan(flow, &Vars::default(), &[]);
        assert_eq!(without.len(), 1);
        assert!(!without[0].about_goal);
        let vars = Vars {
            name: "Pat",
            goal: Some(" Listen first {name} {barrier} "),
            ..Vars::default()
        };
        let with = plan(flow, &vars, &[]);
        assert_eq!(with.len(), 2);
        assert!(with[1].about_goal);
        assert_eq!(
            with[1].text,
            "Your goal is “Listen first {name} {barrier}”. What has moved on it?"
        );
    }

    #[test]
    fn the_goal_placeholder_belongs_to_private_goal_questions() {
        let report = one(&flow("What has moved on {goal}?"));
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("{goal}") && e.contains("about_goal = true")),
            "{report:?}"
        );
        let shared = ABOUT_GOAL.replace(
            "about_goal = true\npurpose = \"reflection\"",
            "about_goal = true\npurpose = \"progress\"\nshare = \"plan\"",
        );
        let report = one(&shared);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("growth goal") && e.contains("remove share")),
            "{report:?}"
        );
    }
}
