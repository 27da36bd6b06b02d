//! One send budget for the bot token across processes: three worker processes on one
//! PostgreSQL database deliver 3,000 due check-ins through an emulator that enforces
//! Discord's rate limits, and together they never pass the budget; plus the store that
//! hands out the budget's send slots, on both backends.
//!
//! Its own test binary (the e2e tests are one binary, `tests/e2e/main.rs`): the three
//! processes send at Discord's pace for two or three minutes, and cargo runs test binaries one
//! after another, so this never starves the e2e tests' timeouts. It shares their helpers.

#[allow(dead_code)]
#[path = "e2e/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "e2e/process.rs"]
mod process;

use std::time::{Duration, Instant};

use coachbot::store::{Backend, Db, send_budget};

use process::{BotProcess, Launch};
use support::{PgTestDb, WAIT, dm_questions};

/// How many due check-ins the three workers share.
const JOBS: usize = 3_000;

/// The slots the budget hands out, reserved by several tasks at once (as several processes
/// would): each slot once, none earlier than the database's time of granting, all `spacing`
/// apart; after a global 429 (`hold`) no slot comes before the pause is over.
async fn slots_are_handed_out_once(db: Db) {
    let spacing = Duration::from_millis(25);
    let spacing_us = 25_000;
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut grants = Vec::new();
                for _ in 0..20 {
                    grants.push(
                        send_budget::reserve(&db, 4, spacing)
                            .await
                            .expect("slots are reserved"),
                    );
                }
                grants
            })
        })
        .collect();
    let mut slots = Vec::new();
    for task in tasks {
        for grant in task.await.expect("the task ends") {
            assert_eq!((grant.count, grant.spacing_us), (4, spacing_us));
            assert!(
                grant.first_at_us >= grant.granted_at_us,
                "never a slot in the past: {grant:?}"
            );
            slots.extend((0..4).map(|i| grant.first_at_us + i * spacing_us));
        }
    }
    slots.sort_unstable();
    assert_eq!(slots.len(), 3 * 20 * 4);
    for pair in slots.windows(2) {
        assert!(
            pair[1] - pair[0] >= spacing_us,
            "two slots closer than the spacing: {pair:?}"
        );
    }
    let last = *slots.last().expect("slots");
    assert_eq!(
        send_budget::next_free_us(&db).await.expect("the budget"),
        last + spacing_us
    );

    send_budget::hold(&db, Duration::from_secs(30))
        .await
        .expect("the budget is held");
    let after = send_budget::reserve(&db, 1, spacing).await.expect("a slot");
    assert!(
        after.first_at_us >= after.granted_at_us + 29_000_000,
        "no slot before the pause is over: {after:?}"
    );
    db.close().await;
}

#[tokio::test]
async fn the_budget_hands_out_each_slot_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}", dir.path().join("budget.db").display());
    let db = Db::open(&url).await.expect("the database opens");
    slots_are_handed_out_once(db).await;
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL: set TEST_DATABASE_URL when building the tests"
)]
async fn the_budget_hands_out_each_slot_once_on_postgres() {
    let Some(pg) = PgTestDb::create().await else {
        return;
    };
    let db = Db::open(&pg.url).await.expect("the database opens");
    slots_are_handed_out_once(db).await;
}

/// The most requests in any one-second window of `times` (sorted).
fn busiest_second(times: &[Instant]) -> usize {
    let mut most = 0;
    let mut start = 0;
    for (end, at) in times.iter().enumerate() {
        while *at >= times[start] + Duration::from_secs(1) {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

#[test]
fn the_busiest_second_is_counted_over_every_window() {
    let t = Instant::now();
    let at = |ms: u64| t + Duration::from_millis(ms);
    assert_eq!(busiest_second(&[]), 0);
    assert_eq!(busiest_second(&[at(0), at(999), at(1000)]), 2);
    assert_eq!(busiest_second(&[at(0), at(600), at(1100), at(1500)]), 3);
}

/// Three worker processes on one PostgreSQL database deliver 3,000 due check-ins through an
/// emulator with Discord's rate limits on: the emulator refuses nothing (no 429), and in every
/// one-second window of the requests it recorded that count against the token's global
/// limit, the three together stay within the budget (`COACHBOT_SEND_PER_SECOND`, 45 by
/// default). Each person is asked once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "three processes share one budget through PostgreSQL: set TEST_DATABASE_URL when building the tests"
)]
async fn three_workers_share_one_send_budget() {
    let Some(bot) = support::spawn_bot(Backend::Postgres, support::HttpPath::Proxy).await else {
        return;
    };
    let rules = bot.emu.rules();
    assert!(rules.rate_limits, "Discord's rate limits are on");
    println!("emulator: {}", rules.describe());
    let plan = bot.plan().await;
    // Everyone has written to the bot before: their DM channels are known, so a check-in costs
    // two requests (reading the person's roles, sending the first question).
    let people = support::team_checkins_due(&bot, &plan, "Budget team", JOBS, true).await;

    let from = bot.emu.calls().len();
    let launch = Launch {
        worker: true,
        lease_secs: 30,
        ..Launch::default()
    };
    let workers: Vec<BotProcess> = (0..3).map(|_| BotProcess::start(&bot, &launch)).collect();
    for worker in &workers {
        worker.wait_for_log("worker is ready", WAIT).await;
    }
    let logs = || {
        workers
            .iter()
            .map(BotProcess::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };

    let Db::Postgres(pool) = &bot.db else {
        panic!("a PostgreSQL database")
    };
    let count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(pool)
            .await
            .expect("a count")
    };
    // The questions and the plan's announcements are rows too: all of them out.
    let not_sent = "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND not_before <= now()";
    let jobs = i64::try_from(JOBS).unwrap_or(i64::MAX);
    // They must go on to the end: the test fails when they stop making progress for two
    // minutes, not when a loaded machine makes them slow.
    let mut progress = (0, tokio::time::Instant::now());
    loop {
        let sent =
            count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND kind = 'checkin_start'")
                .await;
        if sent == jobs && count(not_sent).await == 0 {
            break;
        }
        if sent > progress.0 {
            progress = (sent, tokio::time::Instant::now());
        }
        assert!(
            progress.1.elapsed() < Duration::from_secs(120),
            "the workers stopped at {sent} sent:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let calls = bot.emu.calls_since(from);
    let refused: Vec<String> = calls
        .iter()
        .filter(|c| c.status == 429)
        .map(|c| format!("{} {}: {:?}", c.method, c.path, c.response))
        .collect();
    assert!(refused.is_empty(), "Discord refused: {refused:#?}");
    let mut times: Vec<Instant> = calls
        .iter()
        .filter(|c| coachbot::emulator::counts_against_global_limit(&c.method, &c.path))
        .map(|c| c.at)
        .collect();
    times.sort_unstable();
    assert!(
        times.len() >= 2 * JOBS,
        "each check-in read the roles and sent a question: {}",
        times.len()
    );
    let busiest = busiest_second(&times);
    let budget = coachbot::config::PER_SECOND;
    let took = times[times.len() - 1] - times[0];
    eprintln!(
        "{} requests from three workers in {took:.1?}: {:.1} a second, {busiest} in the busiest second (budget {budget})",
        times.len(),
        times.len() as f64 / took.as_secs_f64()
    );
    assert!(
        busiest <= budget,
        "{busiest} requests in one second, over the budget of {budget}"
    );

    let mut not_once = Vec::new();
    for person in &people {
        let asked = dm_questions(&bot, *person).await;
        if asked != 1 {
            not_once.push((*person, asked));
        }
    }
    assert!(not_once.is_empty(), "asked other than once: {not_once:?}");
    for worker in workers {
        worker.kill9().await;
    }
    // No 429 or any other refusal reached the emulator's problems either.
    bot.finish().await;
}
