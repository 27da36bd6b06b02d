//! `/metrics` and `/healthz` of a real `coachbot run` process: after a scripted minute of
//! activity against the emulator (commands, a scheduled check-in delivered, a DM answer), the
//! named metrics are there with the values that activity gives them; `/healthz` says 200, and
//! 503 with the reason while the gateway is away and once the database is gone.
//!
//! Its own test binary, like `tests/fleet.rs`: a process of its own beside the emulator, which
//! shares the e2e tests' helpers.

#[allow(dead_code)]
#[path = "e2e/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "e2e/process.rs"]
mod process;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use chrono::{TimeDelta, Utc};
use coachbot::store::Backend;
use serde_json::json;

use process::{BotProcess, Launch};
use support::{Plan, TestBot, WAIT};

/// One sample of the Prometheus text format: `name{label="value",...} value`.
#[derive(Clone, Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads the text format's samples (comment lines skipped). Label values here never hold a
/// quote or a comma: they are the program's own words and numbers.
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value after the series");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').expect("labels end with }");
                    let labels = inner
                        .split(',')
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once('=').expect("label=value");
                            (key.to_owned(), value.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
                None => (series, BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().expect("a number"),
            };
            Sample {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

/// The samples of `name` whose labels include every pair of `with`.
fn samples<'a>(all: &'a [Sample], name: &str, with: &[(&str, &str)]) -> Vec<&'a Sample> {
    all.iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|l| l == v))
        })
        .collect()
}

/// The sum of the samples of `name` with those labels; panics when there is none.
fn total(all: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    let found = samples(all, name, with);
    assert!(!found.is_empty(), "no {name} {with:?} in the metrics");
    found.iter().map(|s| s.value).sum()
}

/// `/healthz` once it stops answering 200: its status and body.
async fn unhealthy(addr: SocketAddr) -> (u16, String) {
    support::eventually("/healthz unhealthy", || async {
        match get(addr, "/healthz").await {
            (200, body) => Err(body),
            answer => Ok(answer),
        }
    })
    .await
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// A port on 127.0.0.1 that nothing listens on.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The commands the scripted minute sends.
const COMMANDS: [&str; 3] = ["help", "step list", "step add"];

/// A scripted minute against a real `coachbot run` with metrics on: a check-in scheduled
/// for Pat comes due and is delivered, Terry runs three commands (adding a step announces
/// it in Lincoln's channel), Pat answers the first question in DM and gets the second.
async fn scripted_minute(bot: &TestBot, plan: &Plan) -> (BotProcess, SocketAddr) {
    bot.stop().await;
    support::checkin_due(bot, plan, plan.pat, Utc::now() - TimeDelta::minutes(1)).await;
    let addr = free_addr();
    let bot_process = BotProcess::start(
        bot,
        &Launch {
            metrics_addr: Some(addr),
            ..Launch::default()
        },
    );
    bot_process.wait_for_log("coachbot is ready", WAIT).await;
    support::eventually("Pat's scheduled check-in came", || async {
        match support::dm_questions(bot, plan.pat).await {
            0 => Err(bot_process.log()),
            _ => Ok(()),
        }
    })
    .await;
    for invocation in COMMANDS {
        let options = if invocation == "step add" {
            vec![
                ("title", json!("Share the walkthrough rota")),
                ("indicator", json!("12a")),
                ("owner", json!(plan.terry)),
                ("due", json!("friday")),
            ]
        } else {
            Vec::new()
        };
        let interaction = bot
            .emu
            .slash_command(plan.terry, bot.ids.general, invocation, &options)
            .expect("the emulator builds the interaction");
        let reply = bot.reply(&interaction).await;
        assert!(!reply.text().is_empty(), "/{invocation} is answered");
    }
    let dm = bot.emu.dm_channel_of(plan.pat).expect("Pat's DM channel");
    bot.emu.send_dm(plan.pat, "The rota is drafted and shared.");
    support::eventually("Pat's answer followed by the next question", || async {
        let asked = bot.emu.messages_in(dm).iter().any(|m| {
            m["content"]
                .as_str()
                .is_some_and(|c| c.contains("**Question 2 of"))
        });
        if asked {
            Ok(())
        } else {
            Err(bot_process.log())
        }
    })
    .await;
    (bot_process, addr)
}

/// Scrapes until the outbox backlog is empty (the step's announcement follows its reply),
/// then checks every named metric against what the scripted minute did.
async fn metrics_after_the_minute(bot: &TestBot, addr: SocketAddr) {
    let metrics = support::eventually("an empty outbox", || async {
        let (status, body) = get(addr, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        let metrics = parse(&body);
        if total(&metrics, "coachbot_outbox_backlog", &[]) == 0.0 {
            println!("/metrics after the scripted minute:\n{body}");
            Ok(metrics)
        } else {
            Err(body)
        }
    })
    .await;
    for invocation in COMMANDS {
        assert!(
            total(
                &metrics,
                "coachbot_commands_total",
                &[("command", invocation)]
            ) >= 1.0,
            "/{invocation} is counted"
        );
        assert!(
            total(
                &metrics,
                "coachbot_command_duration_seconds_count",
                &[("command", invocation)]
            ) >= 1.0,
            "/{invocation} is timed"
        );
    }
    assert!(total(&metrics, "coachbot_commands_total", &[]) >= COMMANDS.len() as f64);
    assert!(
        total(
            &metrics,
            "coachbot_commands_total",
            &[("command", "step add"), ("result", "ok")]
        ) >= 1.0
    );
    let buckets = samples(&metrics, "coachbot_command_duration_seconds_bucket", &[]);
    assert!(
        buckets
            .iter()
            .any(|b| b.labels.get("le").is_some_and(|le| le == "+Inf")),
        "latency is a histogram with buckets"
    );
    // Every kind the program writes has a backlog series, and none waits.
    for kind in coachbot::domain::outbox::KINDS {
        assert_eq!(
            total(&metrics, "coachbot_outbox_backlog", &[("kind", kind)]),
            0.0,
            "{kind}"
        );
    }
    // Question 1, the step's announcement, question 2: at least three messages went out.
    assert!(total(&metrics, "coachbot_sends_total", &[("result", "sent")]) >= 3.0);
    // The scheduled check-in's row and the announcement's row were delivered by the outbox.
    assert!(
        total(
            &metrics,
            "coachbot_outbox_rows_total",
            &[("result", "sent")]
        ) >= 2.0
    );
    // As many 429s as the emulator answered: none.
    let answered_429 = bot.emu.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(
        total(&metrics, "coachbot_discord_rate_limited_total", &[]),
        answered_429 as f64
    );
    // Nothing is overdue: the schedule's next time is tomorrow, the outbox is empty.
    assert_eq!(total(&metrics, "coachbot_scheduler_lag_seconds", &[]), 0.0);
    assert_eq!(
        total(&metrics, "coachbot_shard_connected", &[("shard", "0")]),
        1.0
    );
    // Pat is between question 1 and question 2.
    assert_eq!(total(&metrics, "coachbot_open_checkins", &[]), 1.0);
    // SQLite's own memory is shown for a SQLite process: some, and less than its caps allow
    // (8 connections × 2 MB of pages, plus prepared statements); none for PostgreSQL.
    let sqlite = samples(&metrics, "coachbot_sqlite_memory_bytes", &[]);
    match bot.db.backend() {
        Backend::Sqlite => {
            let bytes = sqlite.first().map_or(0.0, |s| s.value);
            assert!(
                bytes > 0.0 && bytes < 64.0 * 1_048_576.0,
                "SQLite holds {bytes} bytes"
            );
        }
        Backend::Postgres => assert!(sqlite.is_empty(), "no SQLite gauge on PostgreSQL"),
    }

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}

/// On SQLite: the metrics after a scripted minute, and a healthy process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_process_shows_its_metrics_after_a_scripted_minute() {
    let Some(bot) = support::spawn_bot(Backend::Sqlite, support::HttpPath::Proxy).await else {
        return;
    };
    let plan = bot.plan().await;
    let (bot_process, addr) = scripted_minute(&bot, &plan).await;
    metrics_after_the_minute(&bot, addr).await;
    refusals_are_counted_by_how_they_ended(&bot, &plan, addr).await;
    unhealthy_while_its_shard_is_away(&bot, addr).await;
    bot_process.kill9().await;
    bot.finish().await;
}

/// The gateway connection is lost and Discord's gateway refuses the bot's reconnections (an
/// outage): `/healthz` answers 503 naming the shard, the shard's gauge reads 0, and both
/// recover once the gateway takes the bot back.
async fn unhealthy_while_its_shard_is_away(bot: &TestBot, addr: SocketAddr) {
    let down = bot.emu.refuse_gateway();
    assert!(bot.emu.close_gateway(4000), "the bot was connected");
    let (status, body) = unhealthy(addr).await;
    println!("/healthz with the gateway away: {status}\n{body}");
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body, "gateway: shard 0 not connected\n",
        "only the shard is down"
    );
    let metrics = parse(&get(addr, "/metrics").await.1);
    assert_eq!(
        total(&metrics, "coachbot_shard_connected", &[("shard", "0")]),
        0.0,
        "the shard's gauge says it is away"
    );

    drop(down);
    support::eventually("/healthz healthy again", || async {
        match get(addr, "/healthz").await {
            (200, body) if body == "ok\n" => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    let metrics = parse(&get(addr, "/metrics").await.1);
    assert_eq!(
        total(&metrics, "coachbot_shard_connected", &[("shard", "0")]),
        1.0,
        "the shard's gauge says it is back"
    );
}

/// Commands that do not go through are counted under how they ended, not as `ok`: a step
/// title over Discord's limit (the person is told what to change) and `/setup school` from a
/// team member who is not an admin.
async fn refusals_are_counted_by_how_they_ended(bot: &TestBot, plan: &Plan, addr: SocketAddr) {
    let count = |metrics: &[Sample], command: &str, result: &str| {
        samples(
            metrics,
            "coachbot_commands_total",
            &[("command", command), ("result", result)],
        )
        .iter()
        .map(|s| s.value)
        .sum::<f64>()
    };
    let before = parse(&get(addr, "/metrics").await.1);
    for (invocation, options) in [
        (
            "step add",
            vec![
                ("title", json!("A".repeat(300))),
                ("indicator", json!("12a")),
                ("owner", json!(plan.terry)),
                ("due", json!("friday")),
            ],
        ),
        (
            "setup school",
            vec![
                ("name", json!("Jefferson High")),
                ("time_zone", json!("America/Chicago")),
            ],
        ),
    ] {
        let interaction = bot
            .emu
            .slash_command(plan.terry, bot.ids.general, invocation, &options)
            .expect("the emulator builds the interaction");
        let reply = bot.reply(&interaction).await;
        println!("/{invocation} by Terry: {}", reply.text());
        assert!(reply.ephemeral, "a refusal is seen only by Terry");
    }
    // A command is counted when its handling ends, just after its reply went out.
    let expected = [("step add", "user_error"), ("setup school", "refused")];
    let after = support::eventually("the refusals counted", || async {
        let body = get(addr, "/metrics").await.1;
        let after = parse(&body);
        if expected.iter().all(|(command, result)| {
            count(&after, command, result) > count(&before, command, result)
        }) {
            Ok(after)
        } else {
            Err(body)
        }
    })
    .await;
    for (command, result) in expected {
        assert_eq!(
            count(&after, command, result) - count(&before, command, result),
            1.0,
            "/{command} counted as {result}"
        );
    }
    assert_eq!(
        count(&after, "step add", "ok"),
        count(&before, "step add", "ok"),
        "a refused /step add is not counted as ok"
    );
}

/// On PostgreSQL: the same, then the process's database is dropped under it (its
/// connections ended), and `/healthz` answers 503 saying the database is what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL: set TEST_DATABASE_URL when building the tests"
)]
async fn postgres_process_shows_its_metrics_and_is_unhealthy_without_its_database() {
    let Some(bot) = support::spawn_bot(Backend::Postgres, support::HttpPath::Proxy).await else {
        return;
    };
    let plan = bot.plan().await;
    let (bot_process, addr) = scripted_minute(&bot, &plan).await;
    metrics_after_the_minute(&bot, addr).await;

    let admin_url = std::env::var(support::PG_ENV).expect("TEST_DATABASE_URL");
    let name = bot
        .url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .expect("the test database's name")
        .to_owned();
    bot.db.close().await;
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("PostgreSQL is reachable");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("the database is dropped");
    let (status, body) = unhealthy(addr).await;
    println!("/healthz without the database: {status}\n{body}");
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("database: "), "{body}");
    assert!(
        !body.contains("gateway"),
        "the shards are still connected: {body}"
    );
    // Asked again, still 503: the database is gone, not one request unlucky.
    let (status, body) = get(addr, "/healthz").await;
    println!("and again: {status}\n{body}");
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("database: "), "{body}");
    bot_process.kill9().await;
    bot.finish().await;
}
