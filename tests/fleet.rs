//! Two bot processes on one PostgreSQL database share 10,000 due check-ins; one is killed
//! with SIGKILL mid-way and the other finishes its work when the lease runs out. Each person
//! is asked once.
//!
//! Its own test binary (the e2e tests are one binary, `tests/e2e/main.rs`): cargo runs test
//! binaries one after another, so this minute or two of full load never starves the e2e
//! tests' timeouts. It shares their helpers.

#[allow(dead_code)]
#[path = "e2e/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "e2e/process.rs"]
mod process;

use std::time::Duration;

use coachbot::store::{Backend, Db};

use process::{BotProcess, Launch};
use support::{WAIT, dm_questions};

/// How many of 10,000 due check-ins two processes share.
const FLEET_JOBS: usize = 10_000;

/// Two processes (the gateway bot and a worker) on one PostgreSQL database with 10,000 due
/// check-ins: the worker is killed with SIGKILL while it holds claimed rows; the other process
/// takes them over when the lease runs out. Each person is asked once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL: set TEST_DATABASE_URL when building the tests"
)]
async fn two_processes_deliver_ten_thousand_checkins_once() {
    let Some(bot) = support::spawn_bot(Backend::Postgres, support::HttpPath::Proxy).await else {
        return;
    };
    // What is tested is that nothing is lost or sent twice when a process dies, at a pace far
    // above Discord's (to keep the test short): the emulator's rate limits are off for it.
    let rules = coachbot::emulator::Rules::without_rate_limits();
    println!("emulator: {}", rules.describe());
    bot.emu.set_rules(rules);
    let plan = bot.plan().await;
    let people = support::team_checkins_due(&bot, &plan, "Fleet team", FLEET_JOBS, false).await;

    let fast = Launch {
        lease_secs: 3,
        per_second: Some(5_000),
        ..Launch::default()
    };
    let gateway = BotProcess::start(&bot, &fast);
    let worker = BotProcess::start(
        &bot,
        &Launch {
            worker: true,
            ..fast.clone()
        },
    );
    gateway.wait_for_log("coachbot is ready", WAIT).await;
    worker.wait_for_log("worker is ready", WAIT).await;

    let Db::Postgres(pool) = &bot.db else {
        panic!("a PostgreSQL database")
    };
    let count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(pool)
            .await
            .expect("a count")
    };
    // Mid-way: a third delivered, and the worker holding rows it has claimed but not sent.
    let held_by_worker = format!(
        "SELECT id FROM outbox WHERE status = 'pending' AND lease_owner LIKE 'process-{}-%'",
        worker.pid
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let orphans: Vec<i64> = loop {
        let sent =
            count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND kind = 'checkin_start'")
                .await;
        if sent >= i64::try_from(FLEET_JOBS / 3).unwrap_or(i64::MAX) {
            let held: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(held_by_worker.clone()))
                .fetch_all(pool)
                .await
                .expect("held rows");
            if !held.is_empty() {
                break held;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stuck at {sent} sent:\n{}\n{}",
            gateway.log(),
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    worker.kill9().await;
    let sent_by_then =
        count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND kind = 'checkin_start'").await;
    assert!(
        sent_by_then < i64::try_from(FLEET_JOBS).unwrap_or(i64::MAX),
        "killed mid-way"
    );

    // The survivor must go on to the end: it fails when it stops making progress for two
    // minutes, not when a loaded machine makes it slow.
    let mut progress = (sent_by_then, tokio::time::Instant::now());
    loop {
        let sent =
            count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND kind = 'checkin_start'")
                .await;
        if sent == i64::try_from(FLEET_JOBS).unwrap_or(i64::MAX) {
            break;
        }
        if sent > progress.0 {
            progress = (sent, tokio::time::Instant::now());
        }
        assert!(
            progress.1.elapsed() < Duration::from_secs(120),
            "the survivor stopped at {sent}:\n{}",
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The plan's channel announcements are rows too; the check-ins are the rest.
    let rows = support::queued(&bot).await;
    assert_eq!(rows.len(), FLEET_JOBS, "one row per person");
    assert!(rows.iter().all(|r| r.status == "sent"));
    // The dead worker held check-in starts, or the question rows its engine was sending.
    let every = coachbot::store::outbox::all(&bot.db, bot.ids.server())
        .await
        .expect("the outbox");
    for orphan in &orphans {
        let row = every.iter().find(|r| r.id == *orphan).expect("the orphan");
        assert_eq!(
            row.status, "sent",
            "the dead worker's row was taken over: {row:?}"
        );
    }
    assert!(
        every
            .iter()
            .filter(|r| r.kind == "prompt")
            .all(|r| r.status == "sent"),
        "every question row went out"
    );
    let fired = count("SELECT COUNT(*) FROM schedule_runs WHERE outcome = 'fired'").await;
    assert_eq!(
        fired,
        i64::try_from(FLEET_JOBS).unwrap_or(i64::MAX),
        "each schedule fired once"
    );
    let mut asked_twice = Vec::new();
    for person in &people {
        let asked = dm_questions(&bot, *person).await;
        if asked != 1 {
            asked_twice.push((*person, asked));
        }
    }
    assert!(
        asked_twice.is_empty(),
        "asked other than once: {asked_twice:?}"
    );
    gateway.kill9().await;
    eprintln!(
        "10,000 check-ins: the worker was killed at {sent_by_then} sent holding {} rows; the other process finished",
        orphans.len()
    );
    bot.finish().await;
}
