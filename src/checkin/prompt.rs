//! What the check-in says next, as data: a question (with the form button), the barrier
//! categories, the reflection with Confirm / Correct, the follow-up choices. The Discord layer
//! and the outbound sender render these; the ids of their buttons come back as clicks.

use super::Engine;
use crate::domain::checkin::{self, Answered, Destination};
use crate::domain::flow;
use crate::domain::ids::StepId;
use crate::domain::message::{Button, ButtonStyle, Prompt};
use crate::domain::plan::BarrierCategory;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::store::checkins::{CheckinSession, OpenStep};
use crate::store::{members, schools, steps};

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
    if first {
        if let Some(opener) = &session.opener {
            text.push_str(opener);
            text.push_str("\n\n");
        }
        text.push_str(who_sees(plan));
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "**Question {} of {}**\n{}",
        position + 1,
        plan.len(),
        asked.text
    ));
    let prefix = id_prefix(session.id);
    let mut buttons = vec![Button::new(
        format!("{prefix}form:{position}"),
        if first {
            "Answer in a form instead"
        } else {
            "Answer the rest in a form"
        },
        ButtonStyle::Secondary,
    )];
    if asked.purpose == flow::Purpose::Barrier {
        buttons.push(Button::new(
            format!("{prefix}nothing:{position}"),
            "Nothing in the way",
            ButtonStyle::Secondary,
        ));
    }
    buttons.push(Button::new(
        format!("{prefix}skipq:{position}"),
        "Skip this question",
        ButtonStyle::Secondary,
    ));
    buttons.push(Button::new(
        format!("{prefix}stop"),
        "Stop (save nothing)",
        ButtonStyle::Secondary,
    ));
    text.push_str("\n-# Reply here in your own words. Type `stop` to end without saving anything.");
    vec![Prompt::text(&text).with_buttons(buttons, 5)]
}

/// Who will see the answers, as the questions stand: said before the first question.
pub fn who_sees(plan: &[flow::Asked]) -> &'static str {
    if plan.iter().any(|a| a.share == flow::Share::Plan) {
        "What you say about progress on a step goes to that step's log, which your school's team can read; everything else stays between you and your coach unless you choose to share it. Before anything is saved you will see where each answer goes, and can change it."
    } else {
        "Your answers stay between you and your coach unless you choose to share one to the plan. Before anything is saved you will see where each answer goes, and can change it."
    }
}

/// "Which step is that about?": a button per open step and one for the plan as a whole.
pub fn which_step(session: &CheckinSession, steps: &[OpenStep], position: usize) -> Prompt {
    let prefix = id_prefix(session.id);
    let mut buttons: Vec<Button> = steps
        .iter()
        .take(24)
        .map(|s| {
            Button::new(
                format!("{prefix}about:{position}:{}", s.id),
                clip(&format!("#{} {}", s.id, s.title), 80),
                ButtonStyle::Secondary,
            )
        })
        .collect();
    buttons.push(Button::new(
        format!("{prefix}about:{position}:plan"),
        "The plan as a whole",
        ButtonStyle::Secondary,
    ));
    Prompt::text(&format!(
        "Which of your steps is answer {} about?",
        position + 1
    ))
    .with_buttons(buttons, 5)
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
    Prompt::text(
        "Thank you. What kind of barrier is that, mostly? Pick a button, or type the word.",
    )
    .with_buttons(buttons, 3)
}

/// The ask for a corrected answer.
pub fn correction(position: usize, before: &str) -> Prompt {
    Prompt::text(&format!(
        "What should answer {} say instead? Reply here with the new wording.\nIt was: “{}”",
        position + 1,
        clip(before, 1500)
    ))
}

/// "Here is what I heard": the answers reflected back with where each will go, split over as
/// many messages as they need. Under the last: Confirm, Correct, Share all, and a button per
/// answer that can go onto the plan, to share it or keep it private.
pub async fn reflection(
    engine: &Engine,
    session: &CheckinSession,
    plan: &[flow::Asked],
    answers: &[Answered],
) -> anyhow::Result<Vec<Prompt>> {
    let flow = engine.flows.iter().find(|f| f.id == session.flow_id);
    let steps = session.open_steps()?;
    let step_ids: Vec<StepId> = steps.iter().map(|s| s.id).collect();
    let mut titles: Vec<(StepId, String)> = steps.iter().map(|s| (s.id, s.title.clone())).collect();
    for step_id in plan.iter().filter_map(|a| a.step_id) {
        if !titles.iter().any(|(id, _)| *id == step_id)
            && let Some(step) = steps::get(&engine.db, session.server(), step_id).await?
        {
            titles.push((step.id, step.title));
        }
    }
    let school = schools::get(&engine.db, session.server(), session.school_id)
        .await?
        .map_or_else(|| "your school".to_owned(), |s| s.name);
    let names = members::names(&engine.db, session.server()).await?;
    let coaches: Vec<String> = members::coaches_of(&engine.db, session.server(), session.school_id)
        .await?
        .into_iter()
        .filter(|c| *c != session.person())
        .map(|c| {
            names
                .get(&c)
                .cloned()
                .unwrap_or_else(|| "your coach".to_owned())
        })
        .collect();
    let private = format!("only you and {}", and_list(&coaches, "your coach"));
    let words = |place: Destination| match place {
        Destination::Private => private.clone(),
        Destination::StepLog(id) => {
            format!("step #{id}'s log, seen by the {school} team, its coaches and district leaders")
        }
        Destination::Barrier(Some(id)) => format!(
            "a barrier on step #{id}, seen by the {school} team, its coaches and district leaders"
        ),
        Destination::Barrier(None) => format!(
            "a barrier on {school}'s plan, seen by the {school} team, its coaches and district leaders"
        ),
        Destination::BarrierNote(id) => format!(
            "a root-cause note on barrier #{id}, seen by the {school} team, its coaches and district leaders"
        ),
    };
    let mut heard = Vec::new();
    let mut toggles = Vec::new();
    let mut any_private = false;
    let prefix = id_prefix(session.id);
    for answer in answers {
        let Some(asked) = plan.get(answer.position) else {
            continue;
        };
        let place = checkin::destination(asked, answer, &session.subject(&step_ids));
        if checkin::shareable(asked, answer, &session.subject(&step_ids)).is_some() {
            let number = answer.position + 1;
            toggles.push(if answer.shared {
                Button::new(
                    format!("{prefix}keep:{}", answer.position),
                    format!("Keep {number} private"),
                    ButtonStyle::Secondary,
                )
            } else {
                any_private = true;
                Button::new(
                    format!("{prefix}share:{}", answer.position),
                    format!("Share {number} to the plan"),
                    ButtonStyle::Secondary,
                )
            });
        }
        let mut shown = asked.clone();
        shown.step_id = checkin::step_of(asked, answer, &step_ids);
        heard.push((
            answer.position,
            flow::Heard {
                asked: shown,
                answer: answer.answer.clone(),
                category: answer.category.clone(),
                skipped: answer.mark == Some(checkin::Mark::Skipped),
                destination: words(place),
            },
        ));
    }
    let stem_flow = flow.cloned().unwrap_or_else(|| flow::Flow {
        id: session.flow_id.clone(),
        title: session.flow_title.clone(),
        opener: None,
        about: None,
        opener_about_barrier: None,
        questions: Vec::new(),
        reflection: "Here is what I heard:".to_owned(),
        nothing: flow::NothingPhrases::default(),
    });
    let name = names.get(&session.person()).cloned().unwrap_or_default();
    let vars = flow::Vars {
        name: &name,
        school: &school,
        last_next_step: None,
        barrier: None,
        goal: None,
    };
    let mut lines = flow::reflect(&stem_flow, &vars, &heard, &titles);
    if let Some(id) = session.barrier_id {
        lines.push(format!(
            "This check-in is about barrier #{id}: what you noticed underneath it goes onto the barrier as root-cause notes, which your school's team can read, unless you keep it private."
        ));
    }
    lines.push(format!(
        "Is that right? **Confirm** saves each answer where its arrow says. Use the buttons to share an answer to the plan or keep it private ({private}), or **Correct** to change one."
    ));
    let mut prompts: Vec<Prompt> = checkin::split_message(&lines, MESSAGE_CONTENT)
        .iter()
        .map(|text| Prompt::text(text))
        .collect();
    let mut first_row = vec![
        Button::new(format!("{prefix}confirm"), "Confirm", ButtonStyle::Success),
        Button::new(
            format!("{prefix}correct"),
            "Correct",
            ButtonStyle::Secondary,
        ),
    ];
    if any_private {
        first_row.push(Button::new(
            format!("{prefix}shareall"),
            "Share all to the plan",
            ButtonStyle::Secondary,
        ));
    }
    let mut rows = vec![first_row];
    // Four rows of five: a reflection with more answers to place than that shares the rest
    // with "Share all", or keeps them private.
    rows.extend(toggles.chunks(5).take(4).map(<[Button]>::to_vec));
    if let Some(last) = prompts.pop() {
        prompts.push(last.with_rows(rows));
    }
    Ok(prompts)
}

/// "Casey", "Casey and Jo", "Casey, Jo and Sam"; `none` when empty.
fn and_list(names: &[String], none: &str) -> String {
    match names {
        [] => none.to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
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
