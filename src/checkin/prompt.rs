//! What the check-in says next, as data: a question (with the form button), the barrier
//! categories, the reflection with Confirm / Correct, the follow-up choices. The Discord layer
//! and the outbound sender render these; the ids of their buttons come back as clicks.

use super::Engine;
use crate::domain::checkin::{self, Answered};
use crate::domain::flow;
use crate::domain::message::{Button, ButtonStyle, Prompt};
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::checkins::CheckinSession;
use crate::store::{members, steps};

/// Buttons of the check-in carry `ci:<session>:<action>`.
pub fn id_prefix(session: i64) -> String {
    format!("ci:{session}:")
}

/// The session and action a check-in button or form id carries.
pub fn parse_custom_id(custom_id: &str) -> Option<(i64, &str)> {
    let rest = custom_id.strip_prefix("ci:")?;
    let (id, action) = rest.split_once(':')?;
    Some((id.parse().ok()?, action))
}

/// The question at `position`, with the opener before the first one.
pub fn question(
    session: &CheckinSession,
    plan: &[flow::Asked],
    position: usize,
    first: bool,
) -> Vec<Prompt> {
    let Some(asked) = plan.get(position) else {
        return Vec::new();
    };
    let mut text = String::new();
    if first && let Some(opener) = &session.opener {
        text.push_str(opener);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "**Question {} of {}**\n{}",
        position + 1,
        plan.len(),
        asked.text
    ));
    let form = Button::new(
        format!("{}form:{position}", id_prefix(session.id)),
        if first {
            "Answer in a form instead"
        } else {
            "Answer the rest in a form"
        },
        ButtonStyle::Secondary,
    );
    vec![Prompt::text(&text).with_buttons(vec![form], 1)]
}

/// The barrier categories, for the barrier answer at `position`.
pub fn categories(session: &CheckinSession, position: usize) -> Prompt {
    let buttons = BarrierCategory::ALL
        .iter()
        .map(|c| {
            Button::new(
                format!("{}cat:{position}:{}", id_prefix(session.id), c.key()),
                c.key(),
                ButtonStyle::Secondary,
            )
        })
        .collect();
    Prompt::text("Thank you. What kind of barrier is that, mostly?").with_buttons(buttons, 3)
}

/// The ask for a corrected answer.
pub fn correction(position: usize, before: &str) -> Prompt {
    Prompt::text(&format!(
        "What should answer {} say instead? Reply here with the new wording.\nIt was: “{}”",
        position + 1,
        clip(before, 1500)
    ))
}

/// "Here is what I heard": the answers reflected back, split over as many messages as they
/// need, Confirm / Correct under the last.
pub async fn reflection(
    engine: &Engine,
    session: &CheckinSession,
    plan: &[flow::Asked],
    answers: &[Answered],
) -> anyhow::Result<Vec<Prompt>> {
    let flow = engine.flows.iter().find(|f| f.id == session.flow_id);
    let mut titles = Vec::new();
    for step_id in plan.iter().filter_map(|a| a.step_id) {
        if let Some(step) = steps::get(&engine.db, session.server(), step_id).await? {
            titles.push((step.id, step.title));
        }
    }
    let heard: Vec<(flow::Asked, String, Option<String>)> = answers
        .iter()
        .filter_map(|a| {
            plan.get(a.position)
                .map(|q| (q.clone(), a.answer.clone(), a.category.clone()))
        })
        .collect();
    let stem_flow = flow.cloned().unwrap_or_else(|| flow::Flow {
        id: session.flow_id.clone(),
        title: session.flow_title.clone(),
        opener: None,
        about: None,
        opener_about_barrier: None,
        questions: Vec::new(),
        reflection: "Here is what I heard:".to_owned(),
    });
    let name = members::names(&engine.db, session.server())
        .await?
        .remove(&session.person())
        .unwrap_or_default();
    let vars = flow::Vars {
        name: &name,
        school: "",
        last_next_step: None,
        barrier: None,
    };
    let mut lines = flow::reflect(&stem_flow, &vars, &heard, &titles);
    if let Some(id) = session.barrier_id {
        // Where these answers go, before Confirm: the team reads the barrier's notes.
        lines.push(format!(
            "On Confirm, what you noticed is added to barrier #{id} as root-cause notes, which your school's team can read."
        ));
    }
    lines.push(
        "Is that right? **Confirm** to save it, or **Correct** to change one answer.".to_owned(),
    );
    let mut prompts: Vec<Prompt> = checkin::split_message(&lines, MESSAGE_CONTENT)
        .iter()
        .map(|text| Prompt::text(text))
        .collect();
    let prefix = id_prefix(session.id);
    let buttons = vec![
        Button::new(format!("{prefix}confirm"), "Confirm", ButtonStyle::Success),
        Button::new(
            format!("{prefix}correct"),
            "Correct",
            ButtonStyle::Secondary,
        ),
    ];
    if let Some(last) = prompts.pop() {
        prompts.push(last.with_buttons(buttons, 5));
    }
    Ok(prompts)
}

/// "Check in again in 1 week / 2 weeks / pick a date", offered after Confirm.
pub fn follow_up_choices(session_id: i64) -> Vec<Button> {
    let prefix = id_prefix(session_id);
    vec![
        Button::new(
            format!("{prefix}fu:7"),
            "Check in again in 1 week",
            ButtonStyle::Secondary,
        ),
        Button::new(
            format!("{prefix}fu:14"),
            "In 2 weeks",
            ButtonStyle::Secondary,
        ),
        Button::new(
            format!("{prefix}fu:pick"),
            "Pick a date",
            ButtonStyle::Secondary,
        ),
    ]
}

/// One button per answer, to pick the one to change.
pub fn answers_to_fix(session_id: i64, positions: &[usize]) -> Vec<Button> {
    positions
        .iter()
        .take(25)
        .map(|p| {
            Button::new(
                format!("{}fix:{p}", id_prefix(session_id)),
                format!("{}", p + 1),
                ButtonStyle::Secondary,
            )
        })
        .collect()
}
