//! A person's turns on the buttons and forms of their check-in: a barrier's category, Confirm,
//! Correct, the form that answers several questions at once, and skipping. Each is stored
//! before anything is said; what to say next is `advance`'s.

use chrono::{DateTime, Utc};

use super::Engine;
use super::conversation::new_answer;
use super::prompt::id_prefix;
use crate::domain::checkin::{self, About, Answered, Mark, Next, Outcome};
use crate::domain::flow::Purpose;
use crate::domain::message::{Form, FormInput};
use crate::domain::plan::BarrierCategory;
use crate::domain::text::clip;
use crate::store::checkins::{self, CheckinSession, NewAnswer, SessionStatus};

/// Questions a form can hold (Discord's limit on inputs per modal).
pub const FORM_INPUTS: usize = 5;

/// What Confirm came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// Saved: these became step updates, barriers and notes on the barrier in question.
    Saved {
        updates: usize,
        barriers: usize,
        notes: usize,
    },
    /// Questions are still unanswered: nothing was saved.
    NotReady,
}

/// The answers given so far.
pub(crate) async fn answered(engine: &Engine, session_id: i64) -> anyhow::Result<Vec<Answered>> {
    Ok(checkins::answers(&engine.db, session_id)
        .await?
        .iter()
        .map(|a| a.answered())
        .collect())
}

/// The barrier answer at `position` is of this kind.
pub async fn categorize(
    engine: &Engine,
    session: &CheckinSession,
    position: usize,
    category: BarrierCategory,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    checkins::set_category(&engine.db, session.id, position, category.key(), now).await
}

/// Confirm: the answers become step updates and barriers (and, about an existing barrier,
/// its root-cause notes; about the person's growth goal, notes on it; for the school's team
/// feed, one post of what was shared), and the check-in closes, in one transaction; nothing
/// when questions are still open.
pub async fn confirm(
    engine: &Engine,
    session: &CheckinSession,
    now: DateTime<Utc>,
) -> anyhow::Result<Confirmed> {
    let plan = session.questions()?;
    let steps = session.open_step_ids()?;
    let answers = answered(engine, session.id).await?;
    if checkin::next(&plan, &answers, &steps) != Next::Review {
        return Ok(Confirmed::NotReady);
    }
    let outcomes = checkin::outcomes(&plan, &answers, &session.subject(&steps));
    let goal_notes = checkin::goal_notes(&plan, &answers);
    checkins::confirm_with(&engine.db, session, &outcomes, &goal_notes, now).await?;
    let count = |kind: fn(&Outcome) -> bool| outcomes.iter().filter(|o| kind(o)).count();
    Ok(Confirmed::Saved {
        updates: count(|o| matches!(o, Outcome::StepUpdate { .. })),
        barriers: count(|o| matches!(o, Outcome::Barrier { .. })),
        notes: count(|o| matches!(o, Outcome::BarrierNote { .. })),
    })
}

/// The positions of the answers given, to pick the one to change.
pub async fn answered_positions(engine: &Engine, session_id: i64) -> anyhow::Result<Vec<usize>> {
    Ok(answered(engine, session_id)
        .await?
        .iter()
        .map(|a| a.position)
        .collect())
}

/// Correct: the answer at `position` is asked again; the next DM replaces it.
pub async fn correct(
    engine: &Engine,
    session: &CheckinSession,
    position: usize,
) -> anyhow::Result<()> {
    checkins::set_correcting(&engine.db, session.id, Some(position)).await
}

/// The form with the unanswered questions from `from` on (at most five), or None when they
/// are all answered.
pub async fn form(
    engine: &Engine,
    session: &CheckinSession,
    from: usize,
) -> anyhow::Result<Option<Form>> {
    let plan = session.questions()?;
    let answered = answered_positions(engine, session.id).await?;
    let open: Vec<usize> = (from..plan.len())
        .filter(|p| !answered.contains(p))
        .take(FORM_INPUTS)
        .collect();
    let Some(first) = open.first() else {
        return Ok(None);
    };
    let inputs = open
        .iter()
        .filter_map(|p| plan.get(*p).map(|a| (p, a)))
        .map(|(p, asked)| FormInput {
            id: format!("q{p}"),
            label: clip(&format!("{}. {}", p + 1, asked.text), 45),
            placeholder: clip(&asked.text, 100),
            max_length: checkin::answer_limit(asked.purpose),
        })
        .collect();
    let left = plan.len().saturating_sub(answered.len());
    Ok(Some(Form {
        id: format!("{}form:{first}", id_prefix(session.id)),
        title: clip(
            &format!("{} ({} of {left} left)", session.flow_title, open.len()),
            45,
        ),
        inputs,
    }))
}

/// A submitted form: its answers (`(input id, text)`) stored exactly as DM answers would be;
/// empty ones and inputs the form never had are left out.
pub async fn answer_form(
    engine: &Engine,
    session: &CheckinSession,
    given: &[(String, String)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let plan = session.questions()?;
    let flow = engine.flows.iter().find(|f| f.id == session.flow_id);
    // The form's fields carry each question's limit, so Discord sends nothing longer; an
    // answer that is longer anyway is not cut, it stays unanswered and is asked again.
    let answers: Vec<NewAnswer<'_>> = given
        .iter()
        .filter_map(|(id, value)| {
            let position = id.strip_prefix('q')?.parse::<usize>().ok()?;
            let asked = plan.get(position)?;
            let value = value.trim();
            let fits =
                !value.is_empty() && value.chars().count() <= checkin::answer_limit(asked.purpose);
            fits.then(|| new_answer(flow, position, asked, value, None))
        })
        .collect();
    checkins::record_answers(&engine.db, session.id, &answers, now).await
}

/// The question at `position` is left out (`Skip`), or, for a barrier question, answered
/// "nothing in the way": stored as such, so nothing comes of it.
pub async fn mark(
    engine: &Engine,
    session: &CheckinSession,
    position: usize,
    mark: Mark,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let plan = session.questions()?;
    let Some(asked) = plan.get(position) else {
        return Ok(false);
    };
    if mark == Mark::Nothing && asked.purpose != Purpose::Barrier {
        return Ok(false);
    }
    let answer = match mark {
        Mark::Skipped => "",
        Mark::Nothing => "Nothing in the way",
    };
    checkins::record_answers(
        &engine.db,
        session.id,
        &[NewAnswer {
            mark: Some(mark),
            ..new_answer(None, position, asked, answer, None)
        }],
        now,
    )
    .await?;
    Ok(true)
}

/// Shares the answers at `positions` to the plan, or keeps them private; only answers that
/// can go onto the plan change. Returns how many changed.
pub async fn share(
    engine: &Engine,
    session: &CheckinSession,
    positions: Option<&[usize]>,
    shared: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let plan = session.questions()?;
    let steps = session.open_step_ids()?;
    let answers = answered(engine, session.id).await?;
    let changing: Vec<usize> = answers
        .iter()
        .filter(|a| positions.is_none_or(|p| p.contains(&a.position)))
        .filter(|a| a.shared != shared)
        .filter(|a| {
            plan.get(a.position)
                .is_some_and(|q| checkin::shareable(q, a, &session.subject(&steps)).is_some())
        })
        .map(|a| a.position)
        .collect();
    checkins::set_shared(&engine.db, session.id, &changing, shared, now).await?;
    Ok(changing.len())
}

/// The answer at `position` is about this step (or the plan as a whole); false when the step
/// is not one of the person's open steps.
pub async fn about(
    engine: &Engine,
    session: &CheckinSession,
    position: usize,
    about: About,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    if let About::Step(id) = about
        && !session.open_step_ids()?.contains(&id)
    {
        return Ok(false);
    }
    checkins::set_about(&engine.db, session.id, position, about, now).await?;
    Ok(true)
}

/// Closes an open check-in without saving it; false when it was not open.
pub async fn skip(engine: &Engine, session_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    checkins::finish(&engine.db, session_id, SessionStatus::Skipped, now).await
}
