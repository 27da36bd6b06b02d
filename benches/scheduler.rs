//! `cargo bench --bench scheduler`: the scheduler's figures for the README.
//!
//! 1. One scheduling round (`Scheduler::tick`) with 1,000,000 pending check-in schedules, and
//!    with 1,000 for the ratio: a round with nothing due, and a round that fires 50.
//! 2. Unthrottled delivery: 1,000 and then 10,000 check-ins due in the same minute, delivered
//!    to the local Discord emulator with its rate limits off (the bot has written to each
//!    person before, so each check-in is one request), and the ratio of the two rates: what
//!    the bot itself can do, and whether it slows as the backlog grows (target 1.5x at most).
//! 3. The same under the token's send budget (45 requests/s): wall time as a ratio to the
//!    floor (two requests a check-in, the person's roles and the question: 2 × count / 45).
//!
//! SQLite always; PostgreSQL too when `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`) names a
//! server. `-- --quick` runs 100,000 pending and a 1,000 check-in budgeted run (a 44 s
//! floor); both delivery sizes run either way. The machine is shared and noisy: rounds are
//! repeated and medians reported; read the ratios.

mod common;

use coachbot::domain::ids::{SchoolId, ServerId};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use coachbot::app::App;
use coachbot::clock::Clock;
use coachbot::config::Config;
use coachbot::config::Sending as Settings;
use coachbot::domain::text::thousands;
use coachbot::emulator::Emulator;
use coachbot::store::{Db, db_id};
use common::{Backend, Fresh, median, ms};

/// Runs `$body` with `$pool` bound to either engine's pool (as the store does inside).
macro_rules! on_backend {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

const SERVER: ServerId = ServerId::new(4_242_424_242);
/// Schedules due at the start of the busy rounds; each round fires at most 50.
const DUE: i64 = 2_500;
const ROUNDS: usize = 30;

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(async move {
        let pending_sizes: [i64; 2] = if quick {
            [1_000, 100_000]
        } else {
            [1_000, 1_000_000]
        };
        let budgeted: usize = if quick { 1_000 } else { 10_000 };
        let backends = common::backends();
        for backend in &backends {
            let mut rows = Vec::new();
            for pending in pending_sizes {
                let figures = tick_figures(backend, pending).await?;
                println!(
                    "{:<11} {:>12} {:>18} {:>20}",
                    backend.name(),
                    thousands(pending.unsigned_abs()),
                    format!("{:.2} ms", ms(figures.idle)),
                    format!("{:.2} ms", ms(figures.busy))
                );
                rows.push(figures);
            }
            println!(
                "{:<11} {:>12} {:>18} {:>20}",
                "",
                "ratio",
                format!("{:.2}x", rows[1].idle.as_secs_f64() / rows[0].idle.as_secs_f64()),
                format!("{:.2}x", rows[1].busy.as_secs_f64() / rows[0].busy.as_secs_f64())
            );
        }
        println!();
        println!(
            "2. Unthrottled delivery to the emulator (its rate limits off): check-ins due in the same minute"
        );
        println!(
            "{:<11} {:>16} {:>16} {:>34}",
            "backend", "1,000 due", "10,000 due", "ratio (rate at 1,000 / at 10,000)"
        );
        for backend in &backends {
            let small = deliver_all(backend, 1_000, 1_000_000).await?;
            let large = deliver_all(backend, 10_000, 1_000_000).await?;
            let rate = |count: f64, took: Duration| count / took.as_secs_f64();
            println!(
                "{:<11} {:>16} {:>16} {:>34}",
                backend.name(),
                format!("{:.0}/s", rate(1_000.0, small)),
                format!("{:.0}/s", rate(10_000.0, large)),
                format!("{:.2}x", rate(1_000.0, small) / rate(10_000.0, large))
            );
        }
        println!();
        let per_second = coachbot::config::PER_SECOND;
        println!(
            "3. {} check-ins due in the same minute, at the send budget of {per_second} requests/s",
            thousands(u64::try_from(budgeted).unwrap_or(u64::MAX))
        );
        // Each check-in is two requests: the person's roles as they are now, then the question.
        let floor = (2 * budgeted) as f64 / per_second as f64;
        for backend in &backends {
            let took = deliver_all(backend, budgeted, per_second).await?;
            println!(
                "{:<11} {:.1} s; floor {:.0} s; ratio {:.3}",
                backend.name(),
                took.as_secs_f64(),
                floor,
                took.as_secs_f64() / floor
            );
        }
        Ok(())
    })
}

/// A server with one school; returns the school's id.
async fn school(db: &Db, now: DateTime<Utc>) -> anyhow::Result<SchoolId> {
    common::add_school(db, SERVER, "Bench Elementary", now).await
}

/// Adds `count` personal check-in schedules for people `first_person..`, the first firing at
/// `first` and each next one `spacing_ms` later.
async fn add_schedules(
    db: &Db,
    school: SchoolId,
    first_person: i64,
    count: i64,
    first: DateTime<Utc>,
    spacing_ms: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(pool) => {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
                 INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone,
                                        next_fire_at, created_by, created_at, updated_at)
                 SELECT $2, $3, 'checkin', $4 + i, 'wellbeing', 'daily 08:00', 'America/Chicago',
                        strftime('%Y-%m-%dT%H:%M:%f+00:00', $5 + i * $6 / 1000.0, 'unixepoch'),
                        1, $7, $7
                 FROM n",
            )
            .bind(count)
            .bind(SERVER)
            .bind(school)
            .bind(first_person)
            .bind(first.timestamp_millis() as f64 / 1000.0)
            .bind(spacing_ms)
            .bind(now)
            .execute(pool)
            .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone,
                                        next_fire_at, created_by, created_at, updated_at)
                 SELECT $2, $3, 'checkin', $4 + i, 'wellbeing', 'daily 08:00', 'America/Chicago',
                        $5 + i * $6 * INTERVAL '1 millisecond', 1, $7, $7
                 FROM generate_series(0, $1 - 1) AS i",
            )
            .bind(count)
            .bind(SERVER)
            .bind(school)
            .bind(first_person)
            .bind(first)
            .bind(spacing_ms)
            .bind(now)
            .execute(pool)
            .await?;
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(())
}

/// A process's `App` sending to `api_url` (the emulator) or to a closed port.
fn app(db: &Db, api_url: &str, sending: Settings) -> anyhow::Result<App> {
    let config = Config::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "bench-token".to_owned()))?;
    App::load(
        db.clone(),
        config.token()?,
        Some(api_url),
        sending,
        Clock::system(),
    )
}

struct TickFigures {
    idle: Duration,
    busy: Duration,
}

async fn tick_figures(backend: &Backend, pending: i64) -> anyhow::Result<TickFigures> {
    let fresh = Fresh::open(backend).await?;
    let db = &fresh.db;
    let now = Utc::now();
    let school = school(db, now).await?;
    // The due ones at `now`; the pending ones over the days after.
    add_schedules(
        db,
        school,
        1_000_000_000,
        DUE,
        now - TimeDelta::minutes(1),
        0,
        now,
    )
    .await?;
    let spacing = (7 * 24 * 3600 * 1000 / pending).max(1);
    add_schedules(
        db,
        school,
        2_000_000_000,
        pending,
        now + TimeDelta::hours(1),
        spacing,
        now,
    )
    .await?;
    let scheduler = app(db, "http://127.0.0.1:9", Settings::default())?.scheduler();

    let mut idle = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let outcome = scheduler.tick(now - TimeDelta::minutes(2)).await?;
        idle.push(started.elapsed());
        anyhow::ensure!(outcome.fired == 0, "nothing should be due yet");
    }
    let mut busy = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let outcome = scheduler.tick(now).await?;
        busy.push(started.elapsed());
        anyhow::ensure!(outcome.fired == 50, "a round fires 50: {outcome:?}");
    }
    fresh.close().await?;
    Ok(TickFigures {
        idle: median(idle),
        busy: median(busy),
    })
}

/// Delivers `count` check-ins that came due in the same minute; the wall time from the first
/// round to the last message.
async fn deliver_all(
    backend: &Backend,
    count: usize,
    per_second: usize,
) -> anyhow::Result<Duration> {
    // The bot's own pace is what is measured: the emulator's rate limits are off.
    let emu = Emulator::start_with_rules(
        None,
        0,
        false,
        coachbot::emulator::Rules::without_rate_limits(),
    )
    .await?;
    // A long run keeps only recent calls, as the sandbox does.
    emu.keep_recent(1_000);
    let fresh = Fresh::open(backend).await?;
    let db = &fresh.db;
    let now = Utc::now();
    // The server in Discord, with a team role mapped to the school: a scheduled check-in
    // reads the person's roles as they are now, and asks a team member its questions.
    let owner = emu.add_user("Olive Owner");
    let guild = emu.add_guild("Bench District", owner);
    let team = emu.add_role(
        guild,
        "Bench Team",
        coachbot::emulator::world::permissions::EVERYONE_DEFAULT,
    )?;
    let server = ServerId::new(guild);
    let school = common::add_school(db, server, "Bench Elementary", now).await?;
    on_backend!(db, pool => {
        sqlx::query(
            "INSERT INTO role_mappings (server_id, discord_role_id, role, school_id, created_by, created_at)
             VALUES ($1, $2, 'team', $3, $4, $5)",
        )
        .bind(server)
        .bind(db_id(team))
        .bind(school)
        .bind(db_id(owner))
        .bind(now)
        .execute(pool)
        .await?;
    });
    let people: Vec<(u64, u64)> = (0..count)
        .map(|i| {
            let person = emu.add_user(&format!("Person {i}"));
            emu.add_member(guild, person, &[team])?;
            Ok((person, emu.open_dm(person)))
        })
        .collect::<anyhow::Result<_>>()?;
    // People the bot has written to before: a member row with their DM channel.
    let persons: Vec<i64> = people.iter().map(|(p, _)| db_id(*p)).collect();
    let dms: Vec<i64> = people.iter().map(|(_, dm)| db_id(*dm)).collect();
    let due = now - TimeDelta::seconds(30);
    on_backend!(db, pool => {
        let mut tx = pool.begin().await?;
        for (person, dm) in persons.iter().zip(&dms) {
            sqlx::query(
                "INSERT INTO members (server_id, user_id, display_name, created_at, updated_at, dm_channel_id)
                 VALUES ($1, $2, 'Person', $3, $3, $4)",
            )
            .bind(server)
            .bind(person)
            .bind(now)
            .bind(dm)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone,
                                        next_fire_at, created_by, created_at, updated_at)
                 VALUES ($1, $2, 'checkin', $3, 'wellbeing', 'daily 08:00', 'America/Chicago', $4, 1, $5, $5)",
            )
            .bind(server)
            .bind(school)
            .bind(person)
            .bind(due)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });

    let scheduler = app(
        db,
        emu.api_url(),
        Settings {
            per_second,
            ..Settings::default()
        },
    )?
    .scheduler();
    let started = Instant::now();
    let mut sent = 0;
    while sent < count {
        let at = Utc::now();
        scheduler.tick(at).await?;
        let round = scheduler.deliver(at).await?;
        anyhow::ensure!(
            round.failed == 0 && round.unreachable == 0 && round.skipped == 0,
            "every check-in goes out: {round:?}"
        );
        sent += round.sent;
    }
    let elapsed = started.elapsed();
    let asked = people
        .iter()
        .map(|(_, dm)| emu.messages_in(*dm).len())
        .sum::<usize>();
    anyhow::ensure!(
        asked == count,
        "each person asked once: {asked} for {count}"
    );
    fresh.close().await?;
    Ok(elapsed)
}
