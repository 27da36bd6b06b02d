//! `cargo bench --bench commands`: the slash-command path, end to end through the local
//! Discord emulator, with 1, 50 and 200 commands in flight.
//!
//! - a bare poise bot whose one command only replies: what serenity, poise and the emulator
//!   cost on this machine, the yardstick for the rest;
//! - the same bare bot, its command declared with `/step add`'s options and sent them (the
//!   same interaction, members and roles as coachbot's): what that interaction alone costs
//!   Discord's side, serenity and poise, so that the second ratio is what coachbot adds;
//! - coachbot's `/step add` (a team member adds a step to their school, owned by a teammate):
//!   each must be acknowledged, stored, and leave its announcement row in the outbox;
//! - coachbot's `/step list` by a coach, for a school of 20 steps and one of 5,000.
//!
//! For each: commands/s, the ratio to the bare bot's rate at the same number in flight (for
//! `/step add` also to the bare bot with its options), and the time from the interaction to its
//! acknowledgement (p50, p99). SQLite always; PostgreSQL too when `BENCH_DATABASE_URL` (or
//! `TEST_DATABASE_URL`) names a server. The emulator's rate limits are off (the bot is
//! measured, not Discord's pacing) and the output says so; the scheduler loop is off, as in
//! the tests (each command delivers its own announcement).
//!
//! The machine is shared and noisy, so the bare replies and `/step add` are measured in
//! rounds: every bot is up at once, each round runs each level on every bot back to back
//! (after a few unmeasured commands at that pace), and the table gives each figure's median
//! over the rounds, and each ratio's median over the rounds' own ratios. `/step list` runs
//! once a level, before them (also warmed up first), on the schools as seeded.
//!
//! `-- --quick` sends fewer commands per level; `-- --writes` runs only the bare replies and
//! `/step add` (for profiling the write path).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use coachbot::app::App;
use coachbot::clock::Clock;
use coachbot::config::{Config, Sending, Token};
use coachbot::domain::ids::{SchoolId, ServerId};
use coachbot::domain::text::thousands;
use coachbot::emulator::world::permissions;
use coachbot::emulator::{Emulator, Reply, Rules};
use coachbot::store::{Db, db_id};
use common::{Backend, Fresh, ms};
use poise::serenity_prelude as serenity;
use serde_json::{Value, json};

const IN_FLIGHT: [usize; 3] = [1, 50, 200];
/// Steps of the two schools `/step list` reads.
const SMALL: usize = 20;
const LARGE: usize = 5_000;
/// Calls and messages a channel the emulator keeps: enough for every command in flight.
const KEEP: usize = 5_000;
/// How long one command may take before the run counts it as failed.
const WAIT: Duration = Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    // Commands per level and round: writes and the bare replies, then reads.
    let (writes, mut reads) = if quick { (300, 100) } else { (2_000, 400) };
    if std::env::args().any(|a| a == "--writes") {
        reads = 0;
    }
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    runtime.block_on(async move {
        let rules = Rules::without_rate_limits();
        println!(
            "coachbot command-path benchmark ({}): {} rounds of {} commands a level ({} for \
             /step list, one round)",
            if quick { "quick" } else { "full" },
            ROUNDS,
            writes,
            reads
        );
        println!("emulator: {}", rules.describe());
        // Every bot is up before the first command, and each round runs each level on all
        // of them back to back: a noisy spell on the machine touches every bot alike, not
        // whichever one it fell on.
        let ping = bare_bot(&rules, Bare::Ping).await?;
        let same = bare_bot(&rules, Bare::StepAdd).await?;
        let mut coachbots = Vec::new();
        for backend in common::backends() {
            coachbots.push(Coachbot::start(&backend, &rules, reads > 0).await?);
        }
        // The lists first, on the schools as seeded: what they measure is the size of the
        // school listed, not the tens of thousands of steps the rounds below add to another.
        let mut lists = Vec::new();
        for coachbot in &coachbots {
            lists.push(if reads > 0 {
                coachbot.lists(reads).await?
            } else {
                Vec::new()
            });
        }
        let mut before = Vec::new();
        for coachbot in &coachbots {
            before.push(coachbot.written().await?);
        }
        // rounds[level] = one Round per round.
        let mut rounds: Vec<Vec<Round>> = IN_FLIGHT.iter().map(|_| Vec::new()).collect();
        for _ in 0..ROUNDS {
            for (level, in_flight) in IN_FLIGHT.into_iter().enumerate() {
                let ping = ping.drive(in_flight, writes).await?;
                let same = same.drive(in_flight, writes).await?;
                let mut adds = Vec::new();
                for coachbot in &coachbots {
                    adds.push(coachbot.bot.drive(in_flight, writes).await?);
                }
                rounds[level].push(Round { ping, same, adds });
            }
        }
        println!();
        header();
        let median_of = |level: &[Round], pick: &dyn Fn(&Round) -> &Level| {
            Level::median(level.iter().map(pick))
        };
        let bare: Vec<Level> = rounds.iter().map(|l| median_of(l, &|r| &r.ping)).collect();
        for level in &bare {
            row("(any)", "bare reply", level, None, None);
        }
        for level in &rounds {
            let same = median_of(level, &|r| &r.same);
            let ratio = median(level.iter().map(|r| r.same.per_second / r.ping.per_second));
            row("(any)", "bare, /step add's options", &same, Some(ratio), None);
        }
        for (i, coachbot) in coachbots.iter().enumerate() {
            for level in &rounds {
                let add = median_of(level, &|r| &r.adds[i]);
                let vs = |to: &dyn Fn(&Round) -> &Level| {
                    median(level.iter().map(|r| r.adds[i].per_second / to(r).per_second))
                };
                let (vs_bare, vs_same) = (vs(&|r| &r.ping), vs(&|r| &r.same));
                row(coachbot.name, "/step add", &add, Some(vs_bare), Some(vs_same));
            }
            let (stored, announced) = coachbot.written().await?;
            let (stored, announced) = (stored - before[i].0, announced - before[i].1);
            let sent = coachbot.bot.sent.load(Ordering::Relaxed);
            anyhow::ensure!(
                stored == sent && announced == sent,
                "every /step add is stored and announced: {stored} stored, {announced} announcement rows for {sent}"
            );
        }
        ping.stop().await;
        same.stop().await;
        for (coachbot, lists) in coachbots.iter().zip(&lists) {
            coachbot.print_lists(lists, &bare);
        }
        for coachbot in coachbots {
            coachbot.stop().await?;
        }
        Ok(())
    })
}

/// Rounds of every level on every bot; the table gives each figure's median over them.
const ROUNDS: usize = 3;

/// One round of one level: the bare bots' and each coachbot's `/step add`.
struct Round {
    ping: Level,
    same: Level,
    adds: Vec<Level>,
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What one level (N commands, C in flight) measured.
struct Level {
    in_flight: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

impl Level {
    /// Each figure's median over the rounds (failures are added up).
    fn median<'a>(rounds: impl Iterator<Item = &'a Level> + Clone) -> Level {
        let seconds = |pick: fn(&Level) -> Duration| {
            Duration::from_secs_f64(median(rounds.clone().map(|l| pick(l).as_secs_f64())))
        };
        Level {
            in_flight: rounds.clone().next().map_or(0, |l| l.in_flight),
            per_second: median(rounds.clone().map(|l| l.per_second)),
            p50: seconds(|l| l.p50),
            p99: seconds(|l| l.p99),
            failed: rounds.map(|l| l.failed).sum(),
        }
    }
}

fn header() {
    println!(
        "{:<11} {:<25} {:>9} {:>11} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "backend",
        "command",
        "in flight",
        "commands/s",
        "vs bare",
        "vs same",
        "ack p50",
        "ack p99",
        "failed"
    );
}

/// One line of the table: `bare` is the rate's ratio to the reply alone at the same number in
/// flight, `same` to the bare bot given the same command's options.
fn row(backend: &str, command: &str, level: &Level, bare: Option<f64>, same: Option<f64>) {
    let ratio =
        |to: Option<f64>| to.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", 100.0 * r));
    println!(
        "{:<11} {:<25} {:>9} {:>11.0} {:>8} {:>9} {:>9} {:>9} {:>7}",
        backend,
        command,
        level.in_flight,
        level.per_second,
        ratio(bare),
        ratio(same),
        format!("{:.1} ms", ms(level.p50)),
        format!("{:.1} ms", ms(level.p99)),
        level.failed
    );
}

/// One command to send: who, where, what, with which options.
struct Invocation {
    user: u64,
    channel: u64,
    name: &'static str,
    options: Vec<(&'static str, Value)>,
}

type Make = Arc<dyn Fn(usize) -> Invocation + Send + Sync>;
type Check = fn(&Reply) -> bool;

/// Sends `total` commands made by `make`, `in_flight` at a time; each counts as done when its
/// interaction is acknowledged, and as failed unless `check` accepts the reply.
async fn drive(
    emu: &Arc<Emulator>,
    in_flight: usize,
    total: usize,
    make: &Make,
    check: Check,
) -> anyhow::Result<Level> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight.min(total) {
        let (emu, next, make) = (emu.clone(), next.clone(), make.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let call = make(i);
                let sent = Instant::now();
                let interaction =
                    emu.slash_command(call.user, call.channel, call.name, &call.options)?;
                match emu.reply(&interaction, WAIT).await {
                    Ok(reply) if check(&reply) => {}
                    _ => failed += 1,
                }
                latencies.push(sent.elapsed());
            }
            anyhow::Ok((latencies, failed))
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for worker in workers {
        let (mine, lost) = worker.await.context("a load worker panicked")??;
        latencies.extend(mine);
        failed += lost;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    Ok(Level {
        in_flight,
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: at(50),
        p99: at(99),
        failed,
    })
}

/// Runs commands at the most in flight before measuring, as a bot that has been running a
/// while would have: the connection pool open to its size, caches and allocator warm. (A
/// burst after a quiet spell pays for opening connections once; that is not the steady cost.)
async fn warm_up(emu: &Arc<Emulator>, make: &Make, check: Check) -> anyhow::Result<()> {
    let most = IN_FLIGHT.iter().copied().max().unwrap_or(1);
    drive(emu, most, most * 2, make, check).await?;
    Ok(())
}

/// [`drive`] after a few unmeasured commands at the same pace: a burst after a quiet spell
/// (while the other bots ran) would otherwise pay for reopening connections and refilling
/// caches, which is not the steady cost. Also returns how many commands were sent in all.
async fn warm_drive(
    emu: &Arc<Emulator>,
    in_flight: usize,
    total: usize,
    make: &Make,
    check: Check,
) -> anyhow::Result<(Level, usize)> {
    let warm = (in_flight * 4).max(100);
    drive(emu, in_flight, warm, make, check).await?;
    let level = drive(emu, in_flight, total, make, check).await?;
    Ok((level, warm + total))
}

/// A bot under load: its emulator, the command it is sent and what a good answer is.
struct Bot {
    emu: Arc<Emulator>,
    make: Make,
    check: Check,
    shards: Arc<serenity::ShardManager>,
    task: tokio::task::JoinHandle<()>,
    /// Commands sent through [`Bot::drive`].
    sent: AtomicUsize,
}

impl Bot {
    /// Starts `client` on `emu`, waits for its commands and warms it up with `make`.
    async fn start(
        emu: Arc<Emulator>,
        mut client: serenity::Client,
        make: Make,
        check: Check,
    ) -> anyhow::Result<Self> {
        let shards = client.shard_manager.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = client.start().await {
                eprintln!("a bot under load stopped: {error:#}");
            }
        });
        emu.wait_for_commands(WAIT).await?;
        Ok(Self {
            emu,
            make,
            check,
            shards,
            task,
            sent: AtomicUsize::new(0),
        })
    }

    /// `total` commands, `in_flight` at a time, warmed up ([`warm_drive`]).
    async fn drive(&self, in_flight: usize, total: usize) -> anyhow::Result<Level> {
        let (level, sent) = warm_drive(&self.emu, in_flight, total, &self.make, self.check).await?;
        self.sent.fetch_add(sent, Ordering::Relaxed);
        Ok(level)
    }

    async fn stop(self) {
        self.task.abort();
        self.shards.shutdown_all().await;
    }
}

fn token() -> anyhow::Result<Token> {
    let config = Config::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "bench-token".to_owned()))?;
    Ok(config.token()?.clone())
}

// ----- the bare bot -----

type BareContext<'a> = poise::Context<'a, (), anyhow::Error>;

/// Replies, and does nothing else.
#[poise::command(slash_command)]
async fn ping(ctx: BareContext<'_>) -> Result<(), anyhow::Error> {
    ctx.send(
        poise::CreateReply::default()
            .content("pong")
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Which bare bot: see the module's text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bare {
    Ping,
    StepAdd,
}

// `/step add`'s options and a one-line reply: what the same interaction costs serenity,
// poise and the emulator when the bot does nothing with it. (The descriptions are Discord's
// command text, at most 100 characters, hence these plain comments.)
/// Steps
#[poise::command(slash_command, subcommands("bare_add"))]
async fn step(_ctx: BareContext<'_>) -> Result<(), anyhow::Error> {
    Ok(())
}

/// Add a step
#[allow(clippy::too_many_arguments)]
#[poise::command(slash_command, rename = "add")]
async fn bare_add(
    ctx: BareContext<'_>,
    #[description = "What"] title: String,
    #[description = "Indicator"] indicator: String,
    #[description = "Owner"] owner: serenity::User,
    #[description = "Due"] due: String,
    #[description = "Owner"] owner2: Option<serenity::User>,
    #[description = "Owner"] owner3: Option<serenity::User>,
    #[description = "Resources"] resources: Option<String>,
    #[description = "School"] school: Option<String>,
) -> Result<(), anyhow::Error> {
    let _ = (owner2, owner3, resources, school);
    ctx.send(
        poise::CreateReply::default()
            .content(format!(
                "Added step {title} under {indicator} for {}, due {due}",
                owner.name
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The bare bot on coachbot's server (the same members and roles), warmed up.
async fn bare_bot(rules: &Rules, bare: Bare) -> anyhow::Result<Bot> {
    let emu = Arc::new(Emulator::start_with_rules(None, 0, false, rules.clone()).await?);
    // Thousands of commands: keep only recent calls and messages, as a long sandbox does.
    emu.keep_recent(KEEP);
    let (world, roles) = build_world(&emu)?;
    let (owner, general) = (roles.owner, world.general);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: match bare {
                Bare::Ping => vec![ping()],
                Bare::StepAdd => vec![step()],
            },
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(())
            })
        })
        .build();
    let http = coachbot::outbound::http_client(&token()?, Some(emu.api_url()));
    let client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .context("building the bare bot")?;
    let (make, check): (Make, Check) = match bare {
        Bare::StepAdd => (step_add(&Arc::new(world)), |r| {
            r.content.starts_with("Added step")
        }),
        Bare::Ping => (
            Arc::new(move |_| Invocation {
                user: owner,
                channel: general,
                name: "ping",
                options: Vec::new(),
            }),
            |r| r.content == "pong",
        ),
    };
    let bot = Bot::start(emu, client, make, check).await?;
    warm_up(&bot.emu, &bot.make, bot.check).await?;
    Ok(bot)
}

// ----- coachbot -----

/// The server the coachbot runs use: three schools, their teams and the coaches.
struct World {
    guild: u64,
    general: u64,
    /// Lincoln's team: they add steps there, owned by each other.
    lincoln_team: Vec<u64>,
    /// Coaches of every school: they list the plans.
    coaches: Vec<u64>,
}

/// `/step add` by Lincoln's team in turn, each step owned by the next of them, every title
/// new.
fn step_add(world: &Arc<World>) -> Make {
    let (world, added) = (world.clone(), Arc::new(AtomicUsize::new(0)));
    Arc::new(move |_| {
        let n = added.fetch_add(1, Ordering::Relaxed);
        let team = &world.lincoln_team;
        Invocation {
            user: team[n % team.len()],
            channel: world.general,
            name: "step add",
            options: vec![
                ("title", json!(format!("Bench step {n}"))),
                ("indicator", json!("12a")),
                ("owner", json!(team[(n + 1) % team.len()])),
                ("due", json!("in 2 weeks")),
            ],
        }
    })
}

/// Sends one command and waits for its answer (for setting up).
async fn command(
    emu: &Emulator,
    user: u64,
    channel: u64,
    name: &str,
    options: &[(&str, Value)],
) -> anyhow::Result<Reply> {
    let interaction = emu.slash_command(user, channel, name, options)?;
    emu.reply(&interaction, WAIT)
        .await
        .with_context(|| format!("/{name} had no answer"))
}

/// The Discord side: the server, its channels, roles and people (before the bot connects).
struct Roles {
    owner: u64,
    lincoln_channel: u64,
    lincoln: u64,
    small: u64,
    large: u64,
    coach: u64,
    small_team: Vec<u64>,
    large_team: Vec<u64>,
}

fn build_world(emu: &Emulator) -> anyhow::Result<(World, Roles)> {
    let owner = emu.add_user("Olive Owner");
    let guild = emu.add_guild("Bench District", owner);
    let general = emu.add_text_channel(guild, "general")?;
    let lincoln_channel = emu.add_text_channel(guild, "lincoln-leadership")?;
    let role = |name: &str| emu.add_role(guild, name, permissions::EVERYONE_DEFAULT);
    let people = |prefix: &str, count: usize, role: u64| -> anyhow::Result<Vec<u64>> {
        (0..count)
            .map(|i| {
                let id = emu.add_user(&format!("{prefix} {i}"));
                emu.add_member(guild, id, &[role])?;
                Ok(id)
            })
            .collect()
    };
    let (lincoln_role, small_role, large_role, coach_role) = (
        role("Lincoln Team")?,
        role("Small Team")?,
        role("Large Team")?,
        role("Coaches")?,
    );
    let lincoln_team = people("Lincoln teacher", 20, lincoln_role)?;
    let small_team = people("Small teacher", 1, small_role)?;
    let large_team = people("Large teacher", 1, large_role)?;
    let coaches = people("Coach", 20, coach_role)?;
    Ok((
        World {
            guild,
            general,
            lincoln_team,
            coaches,
        },
        Roles {
            owner,
            lincoln_channel,
            lincoln: lincoln_role,
            small: small_role,
            large: large_role,
            coach: coach_role,
            small_team,
            large_team,
        },
    ))
}

/// Sets the server up through coachbot's own commands, as an admin and the teams would.
async fn set_up(emu: &Emulator, world: &World, roles: &Roles) -> anyhow::Result<()> {
    let (owner, general, lincoln_channel) = (roles.owner, world.general, roles.lincoln_channel);
    let (lincoln_role, small_role, large_role, coach_role) =
        (roles.lincoln, roles.small, roles.large, roles.coach);
    for (name, channel) in [
        ("Lincoln Elementary", Some(lincoln_channel)),
        ("Small School", None),
        ("Large School", None),
    ] {
        let mut options = vec![
            ("name", json!(name)),
            ("time_zone", json!("America/Chicago")),
        ];
        if let Some(channel) = channel {
            options.push(("channel", json!(channel)));
        }
        let reply = command(emu, owner, general, "setup school", &options).await?;
        anyhow::ensure!(reply.content.contains("Added"), "{}", reply.content);
    }
    for (discord_role, coachbot_role, school) in [
        (lincoln_role, "leadership team", Some("Lincoln Elementary")),
        (small_role, "leadership team", Some("Small School")),
        (large_role, "leadership team", Some("Large School")),
        (coach_role, "coach", None),
    ] {
        let mut options = vec![
            ("discord_role", json!(discord_role)),
            ("coachbot_role", json!(coachbot_role)),
        ];
        if let Some(school) = school {
            options.push(("school", json!(school)));
        }
        let reply = command(emu, owner, general, "setup role", &options).await?;
        anyhow::ensure!(reply.content.starts_with("Done"), "{}", reply.content);
    }
    for member in [
        world.lincoln_team[0],
        roles.small_team[0],
        roles.large_team[0],
    ] {
        let reply = command(
            emu,
            member,
            general,
            "indicator focus",
            &[("indicator", json!("12a"))],
        )
        .await?;
        anyhow::ensure!(
            reply.content.contains("now focuses on"),
            "{}",
            reply.content
        );
    }
    Ok(())
}

/// Gives `school` `count` steps under its focus indicator, owned by `owner`, due over the next
/// four months; one in ten is done (hidden from the list), the rest open.
async fn seed_steps(
    db: &Db,
    server: ServerId,
    school: SchoolId,
    owner: u64,
    count: usize,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let today = now.date_naive();
    macro_rules! seed {
        ($pool:expr) => {{
            let focus: i64 =
                sqlx::query_scalar("SELECT id FROM focus_indicators WHERE school_id = $1")
                    .bind(school)
                    .fetch_one($pool)
                    .await?;
            let mut tx = $pool.begin().await?;
            for i in 0..count {
                let status = match i % 10 {
                    9 => "done",
                    3 | 6 => "in_progress",
                    _ => "planned",
                };
                let step: i64 = sqlx::query_scalar(
                    "INSERT INTO action_steps (server_id, school_id, focus_id, title, due_on,
                                               status, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                )
                .bind(server)
                .bind(school)
                .bind(focus)
                .bind(format!("Walkthrough of grade-level team meeting {i}"))
                .bind(today + TimeDelta::days((i % 120) as i64))
                .bind(status)
                .bind(db_id(owner))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO step_owners (step_id, user_id) VALUES ($1, $2)")
                    .bind(step)
                    .bind(db_id(owner))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }};
    }
    match db {
        Db::Sqlite(pool) => seed!(pool),
        Db::Postgres(pool) => {
            seed!(pool);
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(())
}

/// coachbot on one backend, set up and warmed up with `/step add`.
struct Coachbot {
    name: &'static str,
    bot: Bot,
    db: Db,
    fresh: Fresh,
    world: Arc<World>,
}

impl Coachbot {
    /// Opens a fresh database, connects coachbot to its own emulator and sets the server up
    /// through its commands; with `lists`, seeds the two schools `/step list` reads.
    async fn start(backend: &Backend, rules: &Rules, lists: bool) -> anyhow::Result<Self> {
        let fresh = Fresh::open(backend).await?;
        let db = fresh.db.clone();
        let emu = Arc::new(Emulator::start_with_rules(None, 0, false, rules.clone()).await?);
        emu.keep_recent(KEEP);
        let (world, roles) = build_world(&emu)?;
        let token = token()?;
        let http = || coachbot::outbound::http_client(&token, Some(emu.api_url()));
        let app = App::with_http(
            db.clone(),
            Arc::new(http()),
            Sending::default(),
            Clock::system(),
        )?;
        let options = coachbot::discord::Options {
            scheduler: false,
            ..Default::default()
        };
        let client = coachbot::discord::client_with_http(app, http(), options).await?;
        let world = Arc::new(world);
        let added_ok: Check = |r| r.content.starts_with("Added step");
        let bot = Bot::start(emu, client, step_add(&world), added_ok).await?;
        set_up(&bot.emu, &world, &roles).await?;
        let coachbot = Self {
            name: backend.name(),
            bot,
            db,
            fresh,
            world,
        };
        if lists {
            let world = &coachbot.world;
            let server = coachbot.server();
            let schools = coachbot::store::schools::list(&coachbot.db, server).await?;
            let id_of = |name: &str| {
                schools
                    .iter()
                    .find(|s| s.name == name)
                    .map(|s| s.id)
                    .context("a school set up above")
            };
            let db = &coachbot.db;
            seed_steps(db, server, id_of("Small School")?, world.coaches[0], SMALL).await?;
            let seeded = Instant::now();
            seed_steps(db, server, id_of("Large School")?, world.coaches[0], LARGE).await?;
            eprintln!(
                "({}: {} steps seeded in {:.1} s)",
                coachbot.name,
                thousands(LARGE as u64),
                seeded.elapsed().as_secs_f64()
            );
        }
        let bot = &coachbot.bot;
        warm_up(&bot.emu, &bot.make, bot.check).await?;
        Ok(coachbot)
    }

    fn server(&self) -> ServerId {
        ServerId::new(self.world.guild)
    }

    /// Steps stored and announcement rows in the outbox (sent or not), in the server.
    async fn written(&self) -> anyhow::Result<(usize, usize)> {
        let steps = coachbot::store::steps::count(&self.db, self.server()).await?;
        let rows = coachbot::store::outbox::all(&self.db, self.server()).await?;
        let announced = rows.iter().filter(|r| r.kind == "announcement").count();
        Ok((usize::try_from(steps)?, announced))
    }

    /// `/step list` by the coaches, on the 20-step school and the 5,000-step one, `reads`
    /// commands a level (one round each, warmed up): per level, the 20-step and the 5,000-step
    /// figures.
    async fn lists(&self, reads: usize) -> anyhow::Result<Vec<(Level, Level)>> {
        let list = |school: &'static str| -> Make {
            let world = self.world.clone();
            Arc::new(move |i| Invocation {
                user: world.coaches[i % world.coaches.len()],
                channel: world.general,
                name: "step list",
                options: vec![("school", json!(school))],
            })
        };
        let listed: Check = |r| {
            r.embeds
                .first()
                .and_then(|e| e.get("title"))
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("Steps of"))
        };
        let emu = &self.bot.emu;
        let mut levels = Vec::new();
        for level in IN_FLIGHT {
            let (small, _) = warm_drive(emu, level, reads, &list("Small School"), listed).await?;
            let (large, _) = warm_drive(emu, level, reads, &list("Large School"), listed).await?;
            levels.push((small, large));
        }
        Ok(levels)
    }

    /// The table's lines for [`Coachbot::lists`]' figures, against the bare reply's `bare`.
    fn print_lists(&self, lists: &[(Level, Level)], bare: &[Level]) {
        let large_name = format!("/step list, {} steps", thousands(LARGE as u64));
        for ((small, large), bare) in lists.iter().zip(bare) {
            let vs = |l: &Level| Some(l.per_second / bare.per_second);
            row(self.name, "/step list, 20 steps", small, vs(small), None);
            row(self.name, &large_name, large, vs(large), None);
        }
        for (s, l) in lists {
            println!(
                "{:<11} /step list {} vs {} steps, {} in flight: {:.2}x the time a command (p50 {:.2}x)",
                self.name,
                thousands(LARGE as u64),
                SMALL,
                s.in_flight,
                s.per_second / l.per_second,
                l.p50.as_secs_f64() / s.p50.as_secs_f64()
            );
        }
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.bot.stop().await;
        drop(self.db);
        self.fresh.close().await
    }
}
