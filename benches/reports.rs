//! `cargo bench --bench reports`: how long the coach's digest, the indicator summary (with its
//! chart) and an export take to build for a coach of 200 schools with 20 steps each, and for
//! 20 schools, for the ratio. SQLite always; PostgreSQL too when `BENCH_DATABASE_URL` (or
//! `TEST_DATABASE_URL`) names a server.
//!
//! Each school has two focus indicators with three levels each over the last months, 20 steps
//! (overdue, due soon, later; some in progress, blocked or done, each with its log), three
//! barriers (new, a week old, a month old) and one unanswered check-in. Each figure is the
//! median of `ROUNDS` builds from the database, rendering included (the digest split into
//! Discord messages, the summary's PNG drawn). `-- --quick` runs fewer rounds. The machine is
//! shared and noisy: read the ratios.

mod common;

use coachbot::domain::ids::{ServerId, UserId};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use coachbot::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use coachbot::domain::roles::{Grant, Role};
use coachbot::reports::{build_digest, build_summary};
use coachbot::store::barriers::NewBarrier;
use coachbot::store::checkins::{self, NewSession};
use coachbot::store::export::Answers;
use coachbot::store::members::{self, MemberSighting, NewMapping};
use coachbot::store::schools;
use coachbot::store::steps::{self, Change, NewStep};
use coachbot::store::{Db, barriers, indicators};
use common::{Fresh, median, ms};

const SERVER: ServerId = ServerId::new(4_343_434_343);
const COACH: UserId = UserId::new(1_000);
/// The Discord role that makes someone a coach here.
const COACHES_ROLE: u64 = 2_000;
/// Team members per school (owners and barrier raisers), ids from 10,000 up.
const PEOPLE: u64 = 6;
const STEPS: i64 = 20;
const SIZES: [usize; 2] = [20, 200];

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 5 } else { 15 };
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(async move {
        println!("coachbot reports benchmark: schools x {STEPS} steps, median of {rounds} builds");
        println!();
        println!(
            "{:<11} {:>8} {:>10} {:>18} {:>18} {:>18} {:>12}",
            "backend",
            "schools",
            "seed",
            "digest (msgs)",
            "summary, server",
            "summary, school",
            "export"
        );
        for backend in common::backends() {
            let mut figures = Vec::new();
            for schools in SIZES {
                let fresh = Fresh::open(&backend).await?;
                let started = Instant::now();
                let now = Utc::now();
                seed(&fresh.db, schools, now).await?;
                let seeded = started.elapsed();
                let f = measure(&fresh.db, rounds, now).await?;
                println!(
                    "{:<11} {:>8} {:>10} {:>18} {:>18} {:>18} {:>12}",
                    backend.name(),
                    schools,
                    format!("{:.1} s", seeded.as_secs_f64()),
                    format!("{:.1} ms ({})", ms(f.digest), f.messages),
                    format!("{:.1} ms", ms(f.summary_server)),
                    format!("{:.1} ms", ms(f.summary_school)),
                    format!("{:.1} ms", ms(f.export)),
                );
                figures.push(f);
                fresh.close().await?;
            }
            let ratio = |pick: fn(&Figures) -> Duration| {
                format!(
                    "{:.2}x",
                    pick(&figures[1]).as_secs_f64() / pick(&figures[0]).as_secs_f64()
                )
            };
            println!(
                "{:<11} {:>8} {:>10} {:>18} {:>18} {:>18} {:>12}",
                "",
                "ratio",
                "",
                ratio(|f| f.digest),
                ratio(|f| f.summary_server),
                ratio(|f| f.summary_school),
                ratio(|f| f.export),
            );
        }
        Ok(())
    })
}

struct Figures {
    digest: Duration,
    /// Discord messages the digest splits into.
    messages: usize,
    summary_server: Duration,
    summary_school: Duration,
    export: Duration,
}

async fn measure(db: &Db, rounds: usize, now: DateTime<Utc>) -> anyhow::Result<Figures> {
    let framework =
        coachbot::store::frameworks::Frameworks::new(coachbot::prompts::default_framework()?);
    let zone = chrono_tz::America::Chicago;
    let one_school = schools::list(db, SERVER).await?[0].id;
    let mut samples: [Vec<Duration>; 4] = Default::default();
    let mut messages = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let digest = build_digest(db, &framework, SERVER, COACH, zone, now).await?;
        messages = digest.render().len();
        samples[0].push(started.elapsed());

        let started = Instant::now();
        let (summary, png) = build_summary(db, &framework, SERVER, None, now).await?;
        std::hint::black_box((summary.render(), png));
        samples[1].push(started.elapsed());

        let started = Instant::now();
        let (summary, png) = build_summary(db, &framework, SERVER, Some(one_school), now).await?;
        std::hint::black_box((summary.render(), png));
        samples[2].push(started.elapsed());

        let started = Instant::now();
        let files = coachbot::export::build(
            db,
            &framework,
            SERVER,
            None,
            &Answers::Withheld,
            "Bench District",
            now.date_naive(),
        )
        .await?;
        std::hint::black_box(files);
        samples[3].push(started.elapsed());
    }
    let [digest, summary_server, summary_school, export] = samples.map(median);
    Ok(Figures {
        digest,
        messages,
        summary_server,
        summary_school,
        export,
    })
}

/// `schools` schools as the module comment describes, and a coach of every one.
async fn seed(db: &Db, schools: usize, now: DateTime<Utc>) -> anyhow::Result<()> {
    let today = now.date_naive();
    for n in 0..schools {
        let school = common::add_school(
            db,
            SERVER,
            &format!("School {n:03} of the Bench District"),
            now,
        )
        .await?;
        let person =
            |k: u64| UserId::new(10_000 + u64::try_from(n).unwrap_or(0) * PEOPLE + k % PEOPLE);
        let mut focus = Vec::new();
        for (i, indicator) in ["11", "12a"].into_iter().enumerate() {
            let (f, _) =
                indicators::focus(db, SERVER, school, indicator, person(0), now, None).await?;
            for (k, level) in ["getting_aware", "getting_ready", "getting_started"]
                .into_iter()
                .enumerate()
            {
                let days = i64::try_from(90 - 30 * k + i).unwrap_or(0);
                indicators::set_level(
                    db,
                    &f,
                    level,
                    None,
                    person(1),
                    now - TimeDelta::days(days),
                    None,
                )
                .await?;
            }
            focus.push(f);
        }
        for k in 0..STEPS {
            let owner = person(u64::try_from(k).unwrap_or(0));
            let title = format!("Step {k}: observe classrooms and debrief with the team");
            let step = steps::add(
                db,
                &NewStep {
                    server_id: SERVER,
                    school_id: school,
                    focus_id: focus[usize::try_from(k % 2).unwrap_or(0)].id,
                    title: &title,
                    due_on: today + TimeDelta::days(3 * k - 15),
                    resources: None,
                    owners: &[owner],
                    author: owner,
                },
                now - TimeDelta::days(40),
                None,
            )
            .await?;
            let status = match k % 5 {
                1 => Some("in_progress"),
                3 => Some("done"),
                _ => None,
            };
            if let Some(status) = status {
                let change = Change {
                    note: Some("Moved along at the team meeting"),
                    status: Some(status),
                    barrier: None,
                    author: owner,
                };
                steps::update(db, &step, &change, now - TimeDelta::days(10), None).await?;
            }
        }
        for (k, (category, days)) in [("time", 1), ("resources", 7), ("people", 30)]
            .into_iter()
            .enumerate()
        {
            barriers::add(
                db,
                &NewBarrier {
                    server_id: SERVER,
                    school_id: school,
                    step_id: None,
                    category,
                    text: "Not enough time in the schedule to meet",
                    raised_by: person(u64::try_from(k).unwrap_or(0)),
                },
                now - TimeDelta::days(days),
                None,
            )
            .await?;
        }
        checkins::start(
            db,
            &NewSession {
                server_id: SERVER,
                school_id: school,
                person_id: person(2),
                flow_id: "weekly",
                flow_title: "Weekly step check-in",
                opener: None,
                plan: &[],
                started_by: COACH,
                expires_at: now + TimeDelta::hours(12),
                origin: None,
                nudge_hours: 24,
                dm_channel_id: None,
                barrier_id: None,
                steps: &[],
            },
            now - TimeDelta::days(2),
        )
        .await?
        .map_err(|_| anyhow::anyhow!("a check-in was already open"))?;
    }
    // The coach holds their role through a mapping, as on a real server.
    let coaches = [COACHES_ROLE];
    let audit = AuditEntry {
        at: now,
        actor: Some(COACH),
        via: AuditVia::CommandLine,
        action: AuditAction::RoleMapping,
        scope: "Bench Coaches".to_owned(),
        subject: None,
        with_answers: false,
        row_count: None,
    };
    let mapping = NewMapping {
        server_id: SERVER,
        server_name: "Bench District",
        discord_role_id: COACHES_ROLE,
        role: Role::Coach,
        school_id: None,
        created_by: COACH,
    };
    members::map_role(db, &mapping, now, &audit).await?;
    members::record(
        db,
        &MemberSighting {
            server_id: SERVER,
            server_name: "Bench District",
            user_id: COACH,
            display_name: "Casey Caseload",
            discord_roles: &coaches,
            grants: &[Grant {
                role: Role::Coach,
                school_id: None,
            }],
        },
        now,
    )
    .await?;
    Ok(())
}
