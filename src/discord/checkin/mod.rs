//! `/checkin`: start a check-in in someone's DM, see open ones, read past ones, skip one.
//! Answers are between the person and their coach: nothing here posts to a channel.

pub mod buttons;

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Caller, Names, Need};
use super::{Context, Error, complete};
use crate::app::App;
use crate::checkin::{Begin, NUDGE_HOURS, Opened, open};

use crate::domain::checkin::{self, Destination, Mark};
use crate::domain::flow;
use crate::domain::ids::{SchoolId, UserId};
use crate::domain::roles::Role;
use crate::domain::text;
use crate::error::UserError;
use crate::store::barriers;
use crate::store::checkins::{self, SessionStatus};
use crate::store::schedules;
use crate::store::schools::{self, School};

/// Check-ins: a short conversation in DM about what has moved and what is in the way
#[poise::command(
    slash_command,
    guild_only,
    subcommands("start", "schedule", "status", "history", "skip"),
    subcommand_required
)]
pub async fn checkin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The flow picked (by id) or typed (by title).
fn find_flow<'d>(data: &'d App, typed: &str) -> Result<&'d flow::Flow, UserError> {
    let typed = typed.trim();
    data.checkins
        .flows
        .iter()
        .find(|f| f.id == typed || f.title.eq_ignore_ascii_case(typed))
        .ok_or_else(|| UserError::UnknownFlow {
            given: text::clip(typed, 40),
        })
}

/// The school of a check-in with `person`: one where their Discord roles (as the command
/// carries them, so current) make them a principal or a team member, the named one if given.
/// Someone else's check-in is never about a school they are not part of; a person checking in
/// with themselves may name any school.
async fn school_of(
    ctx: Context<'_>,
    caller: &Caller,
    person: &serenity::Member,
    named: Option<&str>,
) -> Result<School, Error> {
    let db = &ctx.data().db;
    let name = person.display_name().to_owned();
    let roles: Vec<u64> = person.roles.iter().map(|r| r.get()).collect();
    let mut ids: Vec<SchoolId> = caller
        .settings
        .grants_for(&roles)
        .iter()
        .filter(|g| matches!(g.role, Role::Principal | Role::Team))
        .filter_map(|g| g.school_id)
        .collect();
    ids.sort();
    ids.dedup();
    let is_self = UserId::from(person.user.id) == caller.user_id;
    if let Some(named) = named.map(str::trim).filter(|n| !n.is_empty()) {
        let school = schools::find_by_name(db, caller.guild_id, named)
            .await?
            .ok_or_else(|| UserError::UnknownSchool {
                name: text::clip(named, 100),
            })?;
        if !is_self && !ids.contains(&school.id) {
            return Err(UserError::PersonNotAtSchool {
                name,
                school: school.name,
            }
            .into());
        }
        return Ok(school);
    }
    match ids.as_slice() {
        [] => Err(UserError::PersonWithoutSchool { name }.into()),
        [one] => schools::get(db, caller.guild_id, *one)
            .await?
            .ok_or_else(|| UserError::PersonWithoutSchool { name }.into()),
        several => {
            let mut names = Vec::new();
            for id in several {
                if let Some(school) = schools::get(db, caller.guild_id, *id).await? {
                    names.push(school.name);
                }
            }
            Err(UserError::PersonInSeveralSchools {
                name,
                schools: text::join_within(
                    &names,
                    ", ",
                    1500,
                    "start typing in the `school` box to find the others",
                ),
            }
            .into())
        }
    }
}

/// Start a check-in with someone in DM (their coach, or the person themselves)
#[poise::command(slash_command, guild_only)]
async fn start(
    ctx: Context<'_>,
    #[description = "Who the check-in is with"] person: serenity::Member,
    #[description = "Which check-in"]
    #[autocomplete = "autocomplete_flow"]
    flow: String,
    #[description = "Their school (when they have more than one)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "A barrier to look at underneath (a barrier deep-dive): #12"]
    #[autocomplete = "complete::barrier"]
    barrier: Option<String>,
) -> Result<(), Error> {
    // The first question goes out by DM (and may wait for the person's lock) before the
    // reply: answer Discord first, every reply here is for the caller alone.
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let data = ctx.data();
    let chosen = find_flow(data, &flow)?;
    let barrier = barrier.filter(|b| !b.trim().is_empty());
    if barrier.is_some() && chosen.about != Some(flow::About::Barrier) {
        return Err(not_about_barrier(data, chosen).into());
    }
    let name = person.display_name().to_owned();
    let school = school_of(ctx, &caller, &person, school.as_deref()).await?;
    let is_self = UserId::from(person.user.id) == caller.user_id;
    if !caller.access.may_start_checkin(school.id, is_self) {
        return Err(UserError::NotTheirCoach {
            name,
            action: "start their check-ins",
        }
        .into());
    }
    let barrier = match barrier {
        Some(raw) => Some(barrier_at(ctx, &caller, &raw, &school, &name).await?),
        None => None,
    };
    let now = data.now();
    scope::note_member(ctx, person.user.id.into(), &name).await?;
    // Their DM may be under way here or in another process, or a worker may be starting
    // their scheduled check-in: one turn at a time.
    let turn = data.checkins.turn(person.user.id.into()).await?;
    let opened = open(
        &data.checkins,
        &Begin {
            guild_id: caller.guild_id,
            school: &school,
            person_id: person.user.id.into(),
            person_name: &name,
            flow: chosen,
            started_by: caller.user_id,
            origin: None,
            nudge_hours: NUDGE_HOURS,
            only_step: None,
            dm_channel: None,
            barrier: barrier.as_ref(),
        },
        now,
    )
    .await?;
    drop(turn);
    let (questions, waiting) = questions_asked(opened, &name, &school)?;
    let questions = text::plural(questions, "question");
    if waiting {
        // The other check-in may be in another server: it is not named.
        let said = format!(
            "Queued **{}** for {name}: {questions}. They are in another check-in right now, so its first question goes out in DM as soon as that one ends.",
            chosen.title
        );
        return scope::say(ctx, said).await;
    }
    let said = match &barrier {
        Some(b) => format!(
            "Started **{}** with {name} in DM about barrier #{}: {questions}. What they notice underneath it is added to the barrier as root-cause notes when they confirm; the rest stays between them and their coach.",
            chosen.title, b.id
        ),
        None => format!(
            "Started **{}** with {name} in DM: {questions}. Before anything is saved they see where each answer will go: progress on a step to its log, everything else only to them and their coach unless they share it. Nothing is saved until they confirm.",
            chosen.title
        ),
    };
    scope::say(ctx, said).await
}

/// Why `barrier` does not go with this flow, naming the flows it goes with.
fn not_about_barrier(data: &App, chosen: &flow::Flow) -> UserError {
    let choices: Vec<String> = data
        .checkins
        .flows
        .iter()
        .filter(|f| f.about == Some(flow::About::Barrier))
        .map(|f| format!("*{}*", f.title))
        .collect();
    UserError::FlowNotAboutBarrier {
        flow: chosen.title.clone(),
        choices: if choices.is_empty() {
            "none is installed".to_owned()
        } else {
            text::join_within(
                &choices,
                ", ",
                1000,
                "start typing in the `flow` box to see them",
            )
        },
    }
}

/// The barrier a check-in with `name` at `school` is about: one of this server's, in a plan
/// the caller may read (else it is unknown, so its existence is not revealed), at the school.
async fn barrier_at(
    ctx: Context<'_>,
    caller: &Caller,
    raw: &str,
    school: &School,
    name: &str,
) -> Result<barriers::Barrier, Error> {
    let db = &ctx.data().db;
    let unknown = || UserError::UnknownBarrier {
        given: text::clip(raw.trim(), 40),
    };
    let id = crate::domain::plan::number_ref(raw).map_err(|_| unknown())?;
    let found = barriers::get(db, caller.guild_id, id)
        .await?
        .filter(|b| caller.access.can_read_plan(b.school_id))
        .ok_or_else(unknown)?;
    if found.school_id != school.id {
        let barrier_school = schools::get(db, caller.guild_id, found.school_id)
            .await?
            .ok_or_else(unknown)?;
        return Err(UserError::BarrierAtAnotherSchool {
            barrier: found.id,
            barrier_school: barrier_school.name,
            name: name.to_owned(),
            school: school.name.clone(),
        }
        .into());
    }
    if let Some(at) = found.resolved_at {
        return Err(UserError::DeepDiveOnResolvedBarrier {
            barrier: found.id,
            on: scope::local_time(at, scope::zone(school)),
        }
        .into());
    }
    Ok(found)
}

/// How many questions a check-in opened by hand asks and whether it waits for another, or
/// why it did not open.
fn questions_asked(
    opened: Opened,
    name: &str,
    school: &School,
) -> Result<(usize, bool), UserError> {
    let name = name.to_owned();
    match opened {
        Opened::Asked { questions } => Ok((questions, false)),
        Opened::Waiting { questions } => Ok((questions, true)),
        Opened::Busy { started_at } => {
            let started = scope::local_time(started_at, scope::zone(school));
            Err(UserError::CheckinOpen { name, started })
        }
        Opened::NothingToAsk => Err(UserError::NothingToAsk { name }),
        Opened::DmFailed => Err(UserError::DmFailed { name }),
    }
}

/// The school a check-in schedule is for: the person's, or the one named (or the caller's),
/// if the caller runs its check-ins.
async fn school_to_schedule(
    ctx: Context<'_>,
    caller: &Caller,
    person: Option<&serenity::Member>,
    named: Option<&str>,
) -> Result<School, Error> {
    let school = match person {
        Some(person) => school_of(ctx, caller, person, named).await?,
        None => scope::school(caller, named, Need::Read, "schedule its check-ins")?,
    };
    if caller.access.may_run_checkins(school.id) {
        Ok(school)
    } else {
        Err(UserError::NotPermitted {
            needed: "coaches and admins",
            action: "schedule check-ins",
        }
        .into())
    }
}

/// Saves a check-in schedule and wakes the scheduler.
async fn save_schedule(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    person_id: Option<UserId>,
    chosen: &flow::Flow,
    spec: &crate::domain::schedule::CronSpec,
    first: chrono::DateTime<chrono::Utc>,
) -> Result<schedules::Schedule, Error> {
    let data = ctx.data();
    let saved = schedules::create(
        &data.db,
        &schedules::NewSchedule {
            server_id: caller.guild_id,
            school_id: school.id,
            person_id,
            flow_id: &chosen.id,
            spec: &spec.source,
            time_zone: school.time_zone.name(),
            next_fire_at: Some(first),
            created_by: caller.user_id,
            step_id: None,
        },
        data.now(),
    )
    .await?;
    data.wake.notify_one();
    Ok(saved)
}

/// Check in on a repeating time, with one person or a whole school (coaches)
#[poise::command(slash_command, guild_only)]
async fn schedule(
    ctx: Context<'_>,
    #[description = "Which check-in"]
    #[autocomplete = "autocomplete_flow"]
    flow: String,
    #[description = "When: weekdays 8am, mondays 3:30pm, every 2 weeks on tuesday 16:00, or cron"]
    when: String,
    #[description = "One person (leave empty for the school's principals and team)"] person: Option<
        serenity::Member,
    >,
    #[description = "Which school (defaults to the person's, or yours)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    // Answer Discord first; every reply here is for the caller alone.
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let data = ctx.data();
    let chosen = find_flow(data, &flow)?;
    let school = school_to_schedule(ctx, &caller, person.as_ref(), school.as_deref()).await?;
    let zone = scope::zone(&school);
    let now = data.now();
    let spec =
        crate::domain::schedule::CronSpec::parse(&when, now.with_timezone(&zone).date_naive())?;
    spec.at_most_hourly()?;
    schedules::ensure_room(&data.db, caller.guild_id).await?;
    let first = spec.first_after(zone, now)?;
    let upcoming = spec.upcoming(zone, now, 5);
    let who = person.as_ref().map_or_else(
        || format!("the principals and team of {}", school.name),
        |p| p.display_name().to_owned(),
    );
    if let Some(person) = &person {
        scope::note_member(ctx, person.user.id.into(), person.display_name()).await?;
    }
    let preview = format!(
        "**{}** with {who}, `{}` in {}. The next five times:\n{}\nSave it?",
        chosen.title,
        spec.source,
        school.time_zone,
        scope::upcoming_lines(&upcoming, zone)
    );
    let Some((click, save)) = scope::ask_to_save(ctx, "schedule", preview).await? else {
        return Ok(());
    };
    let text = if save {
        let person_id = person.as_ref().map(|p| UserId::from(p.user.id));
        let saved = save_schedule(ctx, &caller, &school, person_id, chosen, &spec, first).await?;
        format!(
            "Saved schedule **#{}**: {} with {who}, `{}`. First on {}. See `/schedule list`.",
            saved.id,
            chosen.title,
            spec.source,
            first.with_timezone(&zone).format("%a %-d %b %H:%M %Z")
        )
    } else {
        "Nothing was saved.".to_owned()
    };
    scope::settle(ctx, &click, text).await
}

/// Open check-ins at your school, and how far along they are (coaches)
#[poise::command(slash_command, guild_only)]
async fn status(
    ctx: Context<'_>,
    #[description = "Which school (defaults to yours; coaches of every school see all)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let school = match school.as_deref() {
        Some(name) => Some(scope::school(
            &caller,
            Some(name),
            Need::Read,
            "see its check-ins",
        )?),
        None if caller.access.server_wide() => None,
        None => Some(scope::school(
            &caller,
            None,
            Need::Read,
            "see its check-ins",
        )?),
    };
    let open = checkins::open_in(db, caller.guild_id, school.as_ref().map(|s| s.id)).await?;
    let visible: Vec<_> = open
        .into_iter()
        .filter(|s| caller.access.may_run_checkins(s.school_id))
        .collect();
    if visible.is_empty() && !caller.access.is_coach_or_admin() {
        return Err(UserError::NotPermitted {
            needed: "coaches",
            action: "see open check-ins",
        }
        .into());
    }
    let names = Names::load(ctx, caller.guild_id).await?;
    let all_schools = schools::list(db, caller.guild_id).await?;
    let zone_of = |school_id: SchoolId| {
        all_schools
            .iter()
            .find(|s| s.id == school_id)
            .map_or(chrono_tz::UTC, scope::zone)
    };
    let mut lines = Vec::new();
    for session in &visible {
        let asked = session.questions()?.len();
        let answered = checkins::answers(db, session.id).await?.len();
        let stage = if session.prompts == 0 {
            // Stored, waiting for another of their check-ins (perhaps another server's).
            "waiting for their other check-in to end".to_owned()
        } else if answered >= asked {
            "waiting for them to confirm".to_owned()
        } else {
            format!("{answered} of {asked} answered")
        };
        lines.push(format!(
            "{} · {} · {stage} · started {}",
            names.of(session.person()),
            session.flow_title,
            scope::local_time(session.started_at, zone_of(session.school_id))
        ));
    }
    scope::send_list_see(
        ctx,
        "Open check-ins",
        &lines,
        "No check-ins are open.",
        "give `school` to narrow it",
    )
    .await
}

/// A person's past check-ins and their answers (the person and their coach only)
#[poise::command(slash_command, guild_only)]
async fn history(
    ctx: Context<'_>,
    #[description = "Whose check-ins (defaults to yours)"] person: Option<serenity::User>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let person_id = person.as_ref().map_or(caller.user_id, |p| p.id.into());
    let names = Names::load(ctx, caller.guild_id).await?;
    let name = person
        .as_ref()
        .map_or_else(|| names.of(person_id), scope::user_name);
    let sessions: Vec<_> = checkins::of_person(db, caller.guild_id, person_id)
        .await?
        .into_iter()
        .filter(|s| {
            caller
                .access
                .may_see_checkin(s.school_id, person_id == caller.user_id)
        })
        .collect();
    if person_id != caller.user_id && sessions.is_empty() && !caller.access.has(Role::Coach) {
        return Err(UserError::NotTheirCoach {
            name,
            action: "read their check-ins",
        }
        .into());
    }
    let all_schools = schools::list(db, caller.guild_id).await?;
    let mut lines = Vec::new();
    for session in &sessions {
        lines.extend(session_lines(db, session, &all_schools).await?);
    }
    scope::send_list_see(
        ctx,
        &format!("Check-ins with {name}"),
        &lines,
        &format!("{name} has no check-ins here yet."),
        "their coach's `/export` has every answer",
    )
    .await
}

/// One check-in as `/checkin history` shows it: when and how it ended, then each question
/// with its answer.
async fn session_lines(
    db: &crate::store::Db,
    session: &checkins::CheckinSession,
    schools: &[School],
) -> Result<Vec<String>, Error> {
    let zone = schools
        .iter()
        .find(|s| s.id == session.school_id)
        .map_or(chrono_tz::UTC, scope::zone);
    let plan = session.questions()?;
    let mut lines = vec![format!(
        "**{}** · {} · {}",
        session.flow_title,
        scope::local_time(session.started_at, zone),
        session.status
    )];
    let steps = session.open_step_ids()?;
    for row in checkins::answers(db, session.id).await? {
        let answer = row.answered();
        let Some(asked) = plan.get(answer.position) else {
            continue;
        };
        let said = match answer.mark {
            Some(Mark::Skipped) => "(left out)".to_owned(),
            Some(Mark::Nothing) => format!("“{}” (nothing in the way)", answer.answer),
            None => format!(
                "“{}” · {}",
                answer.answer,
                match checkin::destination(asked, &answer, &session.subject(&steps)) {
                    Destination::Private => "private (the person and their coach)".to_owned(),
                    Destination::StepLog(id) => format!("shared to step #{id}'s log"),
                    Destination::Barrier(Some(id)) => format!("shared as a barrier on step #{id}"),
                    Destination::Barrier(None) => "shared as a barrier on the plan".to_owned(),
                    Destination::BarrierNote(id) => {
                        format!("shared as a root-cause note on barrier #{id}")
                    }
                }
            ),
        };
        lines.push(format!("> {}\n{said}", text::clip(&asked.text, 120)));
    }
    Ok(lines)
}

/// Close someone's open check-in without saving it (the person or their coach)
#[poise::command(slash_command, guild_only)]
async fn skip(
    ctx: Context<'_>,
    #[description = "Whose check-in (defaults to yours)"] person: Option<serenity::User>,
) -> Result<(), Error> {
    let caller = scope::caller(ctx).await?;
    let db = &ctx.data().db;
    let person_id = person.as_ref().map_or(caller.user_id, |p| p.id.into());
    let name = person
        .as_ref()
        .map_or_else(|| "You".to_owned(), scope::user_name);
    let session = checkins::open_in_server(db, caller.guild_id, person_id)
        .await?
        .ok_or_else(|| UserError::NoOpenCheckin { name: name.clone() })?;
    if !caller
        .access
        .may_see_checkin(session.school_id, person_id == caller.user_id)
    {
        return Err(UserError::NotTheirCoach {
            name,
            action: "skip their check-ins",
        }
        .into());
    }
    let now = ctx.data().now();
    checkins::finish(db, session.id, SessionStatus::Skipped, now).await?;
    {
        // Their next waiting check-in (of any server) starts now.
        let engine = &ctx.data().checkins;
        let _turn = engine.turn(person_id).await?;
        crate::checkin::start_waiting(engine, person_id, now).await?;
    }
    ctx.send(
        CreateReply::default()
            .content(format!(
                "Closed **{}** for {name}; nothing from it was saved to the plan.",
                session.flow_title
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

async fn autocomplete_flow(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let typed = partial.trim().to_lowercase();
    let choices: Vec<serenity::AutocompleteChoice> = ctx
        .data()
        .checkins
        .flows
        .iter()
        .filter(|f| f.id.contains(&typed) || f.title.to_lowercase().contains(&typed))
        .take(text::CHOICES)
        .map(|f| {
            serenity::AutocompleteChoice::new(text::clip(&f.title, text::CHOICE_NAME), f.id.clone())
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
