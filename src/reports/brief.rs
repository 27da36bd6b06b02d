//! Gathers a school's visit brief (`/brief`) from the store as of `now`: a fixed number of
//! queries however busy the school is. What it says is decided in `domain::brief`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::brief::{
    AgreementFate, BarrierFacts, BriefFacts, IndicatorFacts, NamedNextStep, SessionFacts, StepFacts,
};
use crate::domain::framework::{Framework, Level};
use crate::domain::ids::UserId;
use crate::domain::roles::Access;
use crate::store::schools::School;
use crate::store::{Db, barriers, coaching, cycle, indicators, members, next_steps, steps};

/// The facts of `school`'s brief for a caller with `access` (the school's coach: the command
/// checks `Access::may_brief` first; next-step answers are filtered again with
/// `Access::may_see_checkin`).
pub async fn gather(
    db: &Db,
    framework: &Framework,
    school: &School,
    access: &Access,
    caller: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<BriefFacts> {
    let (server, zone) = (school.server_id, school.zone());
    let today = now.with_timezone(&zone).date_naive();
    let names = members::names(db, server).await?;
    let name = |person: UserId| {
        names
            .get(&person)
            .cloned()
            .unwrap_or_else(|| person.mention())
    };
    let stage = cycle::current(db, school).await?;
    let indicators = focus(db, framework, school).await?;

    let all_steps = steps::list(
        db,
        server,
        &steps::StepFilter {
            school_id: Some(school.id),
            ..Default::default()
        },
    )
    .await?;
    let mut owners = steps::owners_at(db, server, school.id).await?;
    let status_of: HashMap<_, _> = all_steps.iter().map(|s| (s.id, s.status)).collect();
    let steps = all_steps
        .into_iter()
        .map(|s| StepFacts {
            owners: owners
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(name)
                .collect(),
            id: s.id,
            title: s.title,
            status: s.status,
            due_on: s.due_on,
        })
        .collect();

    let barriers = barriers::list(db, server, Some(school.id), false)
        .await?
        .into_iter()
        .map(|b| BarrierFacts {
            id: b.id,
            category: b.category,
            text: b.text,
            raised_at: b.raised_at,
            step: b.step_id,
        })
        .collect();

    let next_steps = next_steps::last_named(db, server, school.id)
        .await?
        .into_iter()
        .filter(|n| access.may_see_checkin(n.school_id, n.person_id == caller))
        .map(|n| NamedNextStep {
            person: name(n.person_id),
            confirmed_at: n.confirmed_at,
            text: n.answer,
            shared: n.shared != 0,
        })
        .collect();

    let session = match coaching::list(db, server, Some(school.id), 1).await?.pop() {
        Some(last) => {
            let agreements = coaching::agreements(db, last.id)
                .await?
                .into_iter()
                .map(|a| AgreementFate {
                    text: a.text,
                    step: a.step.map(|id| (id, status_of.get(&id).copied())),
                })
                .collect();
            Some(SessionFacts {
                id: last.id,
                kind: last.kind,
                held_on: last.held_on,
                agreements,
                next_meeting_on: last.next_meeting_on,
            })
        }
        None => None,
    };
    let next_meeting = coaching::next_meetings(db, server, today)
        .await?
        .remove(&school.id);

    Ok(BriefFacts {
        school: school.name.clone(),
        zone,
        now,
        stage,
        expected: framework.expected_days.clone(),
        indicators,
        steps,
        barriers,
        next_steps,
        session,
        next_meeting,
    })
}

/// The school's focus indicators, each with its level now and the one before it.
async fn focus(
    db: &Db,
    framework: &Framework,
    school: &School,
) -> anyhow::Result<Vec<IndicatorFacts>> {
    let focused = indicators::for_school(db, school.server_id, school.id).await?;
    let mut history: HashMap<i64, Vec<(Level, DateTime<Utc>)>> = HashMap::new();
    for (focus_id, level, at) in indicators::levels_at(db, school.server_id, school.id).await? {
        if let Some(level) = Level::parse(&level) {
            history.entry(focus_id).or_default().push((level, at));
        }
    }
    Ok(focused
        .into_iter()
        .map(|f| {
            let levels = history.remove(&f.id).unwrap_or_default();
            let last = levels.last();
            IndicatorFacts {
                title: framework
                    .indicator(&f.indicator_id)
                    .map_or_else(|| f.indicator_id.clone(), |i| i.title()),
                level: f.level.as_deref().and_then(Level::parse),
                previous: levels
                    .len()
                    .checked_sub(2)
                    .and_then(|i| levels.get(i))
                    .map(|(level, _)| *level),
                set_at: last.map(|(_, at)| *at),
            }
        })
        .collect())
}
