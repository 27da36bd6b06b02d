//! A past coaching session for Lincoln in the sandbox: last week's one-to-one of Casey (the
//! coach) with Pat (the principal), with two agreed next steps, the first already on the plan
//! as a step, so `/session list`, `/session show` and **Make it a step** have something to show.

use anyhow::Context as _;
use chrono::{DateTime, Days, TimeDelta, Utc};

use super::seed::Demo;
use crate::domain::coaching::{SessionKind, SessionNotes};
use crate::domain::ids::StepId;
use crate::store::Db;
use crate::store::coaching::{self, NewSession};
use crate::store::schools::School;
use crate::store::steps::{self, StepFilter};

/// The agreement that is already a step: the seed plan's first step has this title.
const PLANNED: &str = "Put monthly partnership meetings on the calendar";

/// Seeds the session, unless Lincoln has one already.
pub async fn seed_sessions(
    db: &Db,
    demo: &Demo,
    lincoln: &School,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let server = demo.server();
    if !coaching::list(db, server, Some(lincoln.id), 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let casey = demo.person("casey").context("demo person casey")?.id();
    let pat = demo.person("pat").context("demo person pat")?.id();
    let today = now.with_timezone(&lincoln.zone()).date_naive();
    let held_on = today.checked_sub_days(Days::new(7)).unwrap_or(today);
    let notes = SessionNotes::parse(
        "Where the partnership work stands before the spring term, and how to keep coaching \
         notes the same way across the team.",
        "Pat wants the district partner in the room more than once a term. Notes from the last \
         three meetings use three different templates.",
        &format!("{PLANNED}\nDraft a one-page protocol for coaching notes"),
    )?;
    let (_, agreements) = coaching::log(
        db,
        &NewSession {
            server_id: server,
            school_id: lincoln.id,
            kind: SessionKind::OneToOne,
            held_on,
            logged_by: casey,
            notes: &notes,
            next_meeting_on: today.checked_add_days(Days::new(7)),
            shared: false,
            people: &[pat],
        },
        now - TimeDelta::days(7),
    )
    .await?;
    let filter = StepFilter {
        school_id: Some(lincoln.id),
        owner: None,
        indicator_id: None,
        status: None,
        overdue_on: None,
    };
    let planned: Option<StepId> = steps::list(db, server, &filter)
        .await?
        .into_iter()
        .find(|s| s.title == PLANNED)
        .map(|s| s.id);
    if let (Some(step), Some(first)) = (planned, agreements.first()) {
        coaching::link_agreement(db, first.id, step).await?;
    }
    Ok(())
}
