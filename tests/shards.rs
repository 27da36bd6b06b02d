//! Two gateway processes split one bot's servers by shard: shards 0-1 and 2-3 of 4, on one
//! PostgreSQL database. Each server's commands are answered by the process that holds its
//! shard, DMs (check-in answers) reach the process with shard 0, and a scheduled check-in in
//! every server is sent once.
//!
//! Its own test binary, like `tests/fleet.rs`: it runs two `coachbot run` processes, whose
//! shards start 5 seconds apart (serenity's pace between IDENTIFYs).

#[allow(dead_code)]
#[path = "e2e/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "e2e/process.rs"]
mod process;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use coachbot::domain::ids::{ServerId, UserId};
use coachbot::emulator::world::permissions;
use coachbot::store::Backend;
use serde_json::json;

use process::{BotProcess, Launch};
use support::{WAIT, dm_questions};

const SHARDS: u64 = 4;

/// One server of the test, on shard `shard`.
struct Server {
    shard: u64,
    guild: u64,
    channel: u64,
    owner: u64,
    principal: u64,
}

/// Long enough for two processes to start two shards each, 5 seconds apart, on a busy machine.
const STARTUP: Duration = Duration::from_secs(90);

/// Two gateway processes with shards 0-1 and 2-3 of 4 on one PostgreSQL database, a server on
/// every shard: each server's `/help` is dispatched on its shard and answered by the process
/// that holds it; a principal's DM answer (from a server on shard 2) reaches shard 0's
/// process; the scheduled check-in of each server's principal is sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL: two processes share one database (set TEST_DATABASE_URL when building the tests)"
)]
async fn two_gateway_processes_split_the_servers_by_shard() {
    let Some(bot) = support::spawn_bot(Backend::Postgres, support::HttpPath::Proxy).await else {
        return;
    };
    bot.emu.set_recommended_shards(SHARDS, SHARDS);
    // Each server is set up through the test's own (unsharded) bot, as an admin would.
    let mut servers = Vec::new();
    for shard in 0..SHARDS {
        servers.push(set_up_server(&bot, shard).await);
    }
    bot.stop().await;
    // The coach scheduled a daily check-in for each principal earlier; it is due now.
    for server in &servers {
        let schools = coachbot::store::schools::list(&bot.db, ServerId::new(server.guild))
            .await
            .expect("schools");
        coachbot::store::schedules::create(
            &bot.db,
            &coachbot::store::schedules::NewSchedule {
                server_id: ServerId::new(server.guild),
                school_id: schools[0].id,
                person_id: Some(UserId::new(server.principal)),
                flow_id: "wellbeing",
                spec: "daily 08:00",
                time_zone: "America/Chicago",
                next_fire_at: Some(Utc::now() - TimeDelta::minutes(1)),
                created_by: UserId::new(server.owner),
                step_id: None,
            },
            Utc::now(),
        )
        .await
        .expect("a scheduled check-in");
    }

    let log = Some("info,coachbot::discord=debug,serenity=warn,sqlx=warn");
    let low = BotProcess::start(
        &bot,
        &Launch {
            shards: Some("0-1"),
            total_shards: Some(4),
            log,
            ..Launch::default()
        },
    );
    let high = BotProcess::start(
        &bot,
        &Launch {
            shards: Some("2-3"),
            total_shards: Some(4),
            log,
            ..Launch::default()
        },
    );
    low.wait_for_log("coachbot is ready on shards 0-1 of 4", STARTUP)
        .await;
    high.wait_for_log("coachbot is ready on shards 2-3 of 4", STARTUP)
        .await;
    let deadline = tokio::time::Instant::now() + STARTUP;
    while bot.emu.connected_shards().len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "shards connected: {:?}\n{}\n{}",
            bot.emu.connected_shards(),
            low.log(),
            high.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts: Vec<u64> = bot.emu.connected_shards().iter().map(|s| s.count).collect();
    assert_eq!(
        counts,
        [4, 4, 4, 4],
        "all four shards of 4, nothing unsharded"
    );

    // Commands: each on its server's shard, answered by the process that holds it.
    for server in &servers {
        let interaction = bot
            .emu
            .slash_command(server.owner, server.channel, "help", &[])
            .expect("the emulator builds the interaction");
        let reply = bot.reply(&interaction).await;
        assert!(!reply.content.is_empty() || !reply.embeds.is_empty());
        let shard = bot
            .emu
            .interaction_shard(interaction.id)
            .expect("dispatched");
        assert_eq!(
            (shard.id, shard.count),
            (server.shard, SHARDS),
            "server on shard {}",
            server.shard
        );
        let (owner, other) = if server.shard < 2 {
            (&low, &high)
        } else {
            (&high, &low)
        };
        let needle = format!("interaction={}", interaction.id);
        let line = handled(owner, &needle).await;
        assert!(line.contains(&format!("shard={}", server.shard)), "{line}");
        assert!(
            !plain(&other.log()).contains(&needle),
            "the other process never saw it:\n{}",
            other.log()
        );
    }

    // The scheduled check-ins: one first question to each principal.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for server in &servers {
        while dm_questions(&bot, server.principal).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no check-in reached the principal of shard {}'s server:\n{}\n{}",
                server.shard,
                low.log(),
                high.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A DM answer from the principal of a server on shard 2 arrives on shard 0, and shard 0's
    // process carries the conversation on.
    let answering = &servers[2];
    let dm = bot
        .emu
        .dm_channel_of(answering.principal)
        .expect("a DM channel");
    let mark = bot.emu.call_count();
    let message = bot
        .emu
        .send_dm(answering.principal, "Tired but steady, thank you");
    let posted = format!("/channels/{dm}/messages");
    bot.emu
        .wait_for_call(mark, Duration::from_secs(30), move |c| {
            c.method == "POST"
                && c.path == posted
                && c.body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("Question 2 of"))
        })
        .await
        .unwrap_or_else(|| panic!("no second question:\n{}\n{}", low.log(), high.log()));
    let on = bot
        .emu
        .dispatched_on_shards()
        .into_iter()
        .find(|d| d.event == "MESSAGE_CREATE" && d.data["id"] == json!(message.to_string()))
        .expect("the DM was dispatched");
    assert_eq!(on.shard.id, 0, "DMs go to shard 0");
    let needle = format!("message_id={message}");
    let line = handled(&low, &needle).await;
    assert!(line.contains("shard=0"), "{line}");
    assert!(!plain(&high.log()).contains(&needle), "{}", high.log());

    // Sent once: both processes ran their scheduler on the one database.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for server in &servers {
        assert_eq!(
            dm_questions(&bot, server.principal).await,
            1,
            "the principal of shard {}'s server",
            server.shard
        );
    }
    let coachbot::store::Db::Postgres(pool) = &bot.db else {
        panic!("a PostgreSQL database")
    };
    let fired: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM schedule_runs WHERE outcome = 'fired'")
            .fetch_one(pool)
            .await
            .expect("a count");
    assert_eq!(fired, 4, "each server's schedule fired once");

    let problems = bot.emu.take_problems();
    assert!(problems.is_empty(), "{problems:#?}");
    low.kill9().await;
    high.kill9().await;
    bot.finish().await;
}

/// The process's "handled" line (at debug level, inside the event's span) that contains
/// `needle`, such as `interaction=123`; panics with the log after [`WAIT`].
async fn handled(process: &BotProcess, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = plain(&process.log());
        if let Some(line) = log
            .lines()
            .find(|l| l.contains(needle) && l.ends_with("handled"))
        {
            return line.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "process {} never logged `{needle}` … handled:\n{log}",
            process.pid
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A log without its colours (the terminal escapes around span fields).
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters, up to the final letter.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A server whose id puts it on `shard` of 4, with a school, a principal and a channel, set up
/// with the bot's own commands.
async fn set_up_server(bot: &support::TestBot, shard: u64) -> Server {
    let emu = &bot.emu;
    let owner = emu.add_user(&format!("Owner {shard}"));
    let guild = emu.add_guild_on_shard(&format!("District {shard}"), owner, shard, SHARDS);
    assert_eq!(coachbot::emulator::shard_of(guild, SHARDS), shard);
    let channel = emu.add_text_channel(guild, "leadership").expect("channel");
    let role = emu
        .add_role(guild, "Principals", permissions::EVERYONE_DEFAULT)
        .expect("role");
    let principal = emu.add_user(&format!("Principal {shard}"));
    emu.add_member(guild, principal, &[role]).expect("member");
    let school = format!("School {shard}");
    let added = bot
        .command(
            owner,
            channel,
            "setup school",
            &[
                ("name", json!(school)),
                ("time_zone", json!("America/Chicago")),
                ("channel", json!(channel)),
            ],
        )
        .await;
    assert!(added.content.contains("Added"), "{}", added.content);
    let mapped = bot
        .command(
            owner,
            channel,
            "setup role",
            &[
                ("discord_role", json!(role)),
                ("coachbot_role", json!("principal")),
                ("school", json!(school)),
            ],
        )
        .await;
    assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
    Server {
        shard,
        guild,
        channel,
        owner,
        principal,
    }
}

/// A shard range outside the total stops `coachbot run` with one line that says what is
/// wrong, before it opens the database or calls Discord.
#[tokio::test]
async fn a_shard_range_outside_the_total_is_one_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let database = dir.path().join("coachbot.db");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_coachbot"))
        .args(["run", "--shards", "2-4", "--total-shards", "4"])
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", "test-token")
        .env("DATABASE_URL", format!("sqlite://{}", database.display()))
        .env("DISCORD_API_URL", "http://127.0.0.1:9")
        .env_remove("RUST_LOG")
        .env_remove("COACHBOT_LOG")
        .output()
        .await
        .expect("the coachbot binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        ["error: --shards 2-4 does not fit in --total-shards 4: shard ids run from 0 to 3"],
        "{stderr}"
    );
    assert!(!database.exists(), "no database was created");
}
