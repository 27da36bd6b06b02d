//! Starting a check-in: the questions this person will be asked, stored as a session.
//! Used by `/checkin start` and by the scheduler.

use chrono::{Duration, Utc};

use crate::domain::flow::{self, StepContext, Vars};
use crate::domain::ids::{ServerId, StepId, UserId};
use crate::store::checkins::{self, NewSession};
use crate::store::frameworks;
use crate::store::schools::School;
use crate::store::steps::{self, StepFilter};

/// How long a check-in stays open for answers.
pub const OPEN_FOR_DAYS: i64 = 7;

/// What starting a check-in needs.
pub struct Begin<'a> {
    pub guild_id: ServerId,
    pub school: &'a School,
    pub person_id: UserId,
    pub person_name: &'a str,
    pub flow: &'a flow::Flow,
    pub started_by: UserId,
    /// The outbox key of a scheduled check-in.
    pub origin: Option<&'a str>,
    /// Hours without an answer before the one nudge.
    pub nudge_hours: i64,
    /// For a follow-up: ask about this step only (whatever its status).
    pub only_step: Option<StepId>,
    /// The DM channel with the person, when the caller already has it.
    pub dm_channel: Option<u64>,
    /// The existing barrier the check-in is about (checked by the caller: same server and
    /// school, a flow with `about = "barrier"`).
    pub barrier: Option<&'a crate::store::barriers::Barrier>,
}

/// Hours an unanswered check-in waits for its nudge, unless its schedule says otherwise.
pub const NUDGE_HOURS: i64 = 24;

/// What came of starting a check-in.
pub enum Begun {
    /// A new session (or, for a retried outbox row, the one it started before) and its
    /// number of questions.
    Started(checkins::CheckinSession, usize),
    /// The person already has an open check-in in this server.
    Busy(checkins::CheckinSession),
    /// The flow has nothing to ask them (it asks about open steps, and they own none).
    NothingToAsk,
}

/// Stores a new check-in session with the questions this person will be asked; sending the
/// first one is [`conversation::advance`]'s job.
pub async fn begin(
    engine: &super::Engine,
    request: &Begin<'_>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Begun> {
    let db = &engine.db;
    // A follow-up is about its one step (whoever owns it), while the step is open at the
    // check-in's school; any other check-in about the person's own open steps.
    let candidates = match request.only_step {
        Some(id) => steps::get(db, request.guild_id, id)
            .await?
            .filter(|s| s.school_id == request.school.id)
            .into_iter()
            .collect(),
        None => {
            steps::list(
                db,
                request.guild_id,
                &StepFilter {
                    school_id: Some(request.school.id),
                    owner: Some(request.person_id),
                    ..StepFilter::default()
                },
            )
            .await?
        }
    };
    let framework = frameworks::effective(db, request.guild_id, &engine.frameworks).await?;
    let open_steps = candidates
        .into_iter()
        .filter(|s| s.status.is_open())
        .map(|s| StepContext {
            id: s.id,
            title: s.title,
            indicator_name: framework
                .indicators()
                .find(|i| i.id == s.indicator_id)
                .map_or_else(|| s.indicator_id.clone(), |i| i.name.clone()),
            indicator: s.indicator_id,
            due: crate::domain::text::day(s.due_on),
        })
        .collect::<Vec<_>>();
    let last = checkins::last_next_step(db, request.guild_id, request.school.id, request.person_id)
        .await?;
    let goal = crate::store::goals::open(db, request.guild_id, request.person_id).await?;
    let vars = Vars {
        name: request.person_name,
        school: &request.school.name,
        last_next_step: last.as_deref(),
        barrier: request.barrier.map(|b| b.text.as_str()),
        goal: goal.as_ref().map(|g| g.text.as_str()),
    };
    let plan = flow::plan(request.flow, &vars, &open_steps);
    if plan.is_empty() {
        return Ok(Begun::NothingToAsk);
    }
    let opener = flow::opener(request.flow, &vars);
    let steps: Vec<checkins::OpenStep> = open_steps
        .iter()
        .map(|s| checkins::OpenStep {
            id: s.id,
            title: s.title.clone(),
        })
        .collect();
    let started = checkins::start(
        db,
        &NewSession {
            server_id: request.guild_id,
            school_id: request.school.id,
            person_id: request.person_id,
            flow_id: &request.flow.id,
            flow_title: &request.flow.title,
            opener: opener.as_deref(),
            plan: &plan,
            started_by: request.started_by,
            expires_at: now + Duration::days(OPEN_FOR_DAYS),
            origin: request.origin,
            nudge_hours: request.nudge_hours,
            dm_channel_id: request.dm_channel,
            steps: &steps,
            barrier_id: request.barrier.map(|b| b.id),
        },
        now,
    )
    .await?;
    Ok(match started {
        Ok(session) => Begun::Started(session, plan.len()),
        Err(open) if open.origin.is_some() && open.origin.as_deref() == request.origin => {
            let questions = open.questions()?.len();
            Begun::Started(open, questions)
        }
        Err(open) => Begun::Busy(open),
    })
}

/// What starting a check-in by hand came to.
pub enum Opened {
    /// The first question is in their DMs; this many questions in all.
    Asked { questions: usize },
    /// Stored, and waiting: they are in a check-in of another server; its first question
    /// goes out when that one ends.
    Waiting { questions: usize },
    /// They already have an open check-in in this server, started then.
    Busy { started_at: chrono::DateTime<Utc> },
    /// The flow has nothing to ask them.
    NothingToAsk,
    /// Their DMs could not be reached: the check-in is closed again.
    DmFailed,
}

/// Starts a check-in now and sends its first question (`/checkin start`). When the question
/// cannot be sent, the check-in is closed, so nothing waits on a DM that never arrived. While
/// the person is in a check-in of another server, it is stored and waits for that one to end.
pub async fn open(
    engine: &super::Engine,
    request: &Begin<'_>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Opened> {
    let (session, questions) = match begin(engine, request, now).await? {
        Begun::Started(session, questions) => (session, questions),
        Begun::Busy(open) => {
            return Ok(Opened::Busy {
                started_at: open.started_at,
            });
        }
        Begun::NothingToAsk => return Ok(Opened::NothingToAsk),
    };
    if waits(engine, &session).await? {
        return Ok(Opened::Waiting { questions });
    }
    if let Err(error) = super::advance(engine, session.id, now).await {
        tracing::warn!(
            error = format!("{error:#}"),
            session = session.id,
            "could not send the first question"
        );
        checkins::finish(
            &engine.db,
            session.id,
            checkins::SessionStatus::Expired,
            now,
        )
        .await?;
        return Ok(Opened::DmFailed);
    }
    if waits(engine, &session).await? {
        // Another check-in of theirs went into conversation meanwhile.
        return Ok(Opened::Waiting { questions });
    }
    Ok(Opened::Asked { questions })
}

/// Whether `session` has not started and waits for another of the person's check-ins, the
/// one in conversation.
pub async fn waits(
    engine: &super::Engine,
    session: &checkins::CheckinSession,
) -> anyhow::Result<bool> {
    let current = checkins::get(&engine.db, session.id).await?;
    if current.as_ref().is_some_and(|s| s.prompts > 0) {
        return Ok(false);
    }
    Ok(checkins::open_for(&engine.db, session.person_id)
        .await?
        .is_some_and(|other| other.id != session.id))
}
