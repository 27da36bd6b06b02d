//! `cargo bench --bench commands`: the slash-command path, end to end through the local
//! Discord emulator, with 1, 50 and 200 commands in flight.
//!
//! - a bare poise bot whose one command only replies: what serenity, poise and the emulator
//!   cost on this machine, the yardstick for the rest;
//! - the same bare bot, its command declared with `/step add`'s options and sent them (the
//!   same interaction, members and roles as coachbot's): what that interaction alone costs
//!   Discord's side, serenity and poise, so that the second ratio is what coachbot adds;
//! - the same bare bot, writing one row of the step to a SQLite file (set up as coachbot's
//!   is) before it replies: the least any command that stores what it was told costs here;
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

mod bare;
#[path = "../common/mod.rs"]
mod common;
mod cpu;
mod world;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bare::{Bare, bare_bot};
use coachbot::config::{Config, Token};
use coachbot::emulator::{Emulator, Reply, Rules};
use common::ms;
use poise::serenity_prelude as serenity;
use serde_json::Value;
use world::Coachbot;

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
        let (ping, _) = bare_bot(&rules, Bare::Ping).await?;
        let (same, _) = bare_bot(&rules, Bare::StepAdd).await?;
        let (stored, file) = bare_bot(&rules, Bare::StepAddStored).await?;
        let file = file.context("the storing bare bot has its file")?;
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
        let rows_before = file.rows().await?;
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
                let stored = stored.drive(in_flight, writes).await?;
                let mut adds = Vec::new();
                for coachbot in &coachbots {
                    adds.push(coachbot.bot.drive(in_flight, writes).await?);
                }
                rounds[level].push(Round {
                    ping,
                    same,
                    stored,
                    adds,
                });
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
        for level in &rounds {
            let with_row = median_of(level, &|r| &r.stored);
            let vs = |to: &dyn Fn(&Round) -> &Level| {
                median(level.iter().map(|r| r.stored.per_second / to(r).per_second))
            };
            let (vs_bare, vs_same) = (vs(&|r| &r.ping), vs(&|r| &r.same));
            row("SQLite", "bare, options + one row", &with_row, Some(vs_bare), Some(vs_same));
        }
        let rows = file.rows().await? - rows_before;
        let sent = stored.sent.load(Ordering::Relaxed);
        anyhow::ensure!(
            usize::try_from(rows).ok() == Some(sent),
            "the storing bare bot wrote a row a command: {rows} rows for {sent}"
        );
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
        stored.stop().await;
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
    stored: Level,
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
    /// The machine's CPU time per command (every process on it: the bot, the emulator and
    /// the load in this one, PostgreSQL's server), in milliseconds: steadier than the rate
    /// on a shared machine, and it tells the bot's own cost from the wait for its turn.
    cpu_ms: f64,
    /// How busy the machine's cores were meanwhile (1.0: every core all the time).
    busy: f64,
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
            cpu_ms: median(rounds.clone().map(|l| l.cpu_ms)),
            busy: median(rounds.clone().map(|l| l.busy)),
            failed: rounds.map(|l| l.failed).sum(),
        }
    }
}

fn header() {
    println!(
        "{:<11} {:<25} {:>9} {:>11} {:>8} {:>9} {:>9} {:>9} {:>8} {:>5} {:>7}",
        "backend",
        "command",
        "in flight",
        "commands/s",
        "vs bare",
        "vs same",
        "ack p50",
        "ack p99",
        "CPU/cmd",
        "busy",
        "failed"
    );
}

/// One line of the table: `bare` is the rate's ratio to the reply alone at the same number in
/// flight, `same` to the bare bot given the same command's options.
fn row(backend: &str, command: &str, level: &Level, bare: Option<f64>, same: Option<f64>) {
    let ratio =
        |to: Option<f64>| to.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", 100.0 * r));
    println!(
        "{:<11} {:<25} {:>9} {:>11.0} {:>8} {:>9} {:>9} {:>9} {:>8} {:>5} {:>7}",
        backend,
        command,
        level.in_flight,
        level.per_second,
        ratio(bare),
        ratio(same),
        format!("{:.1} ms", ms(level.p50)),
        format!("{:.1} ms", ms(level.p99)),
        format!("{:.2} ms", level.cpu_ms),
        format!("{:.0}%", 100.0 * level.busy),
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
    let cpu = cpu::Ticks::now();
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
    let cpu = cpu.since();
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    Ok(Level {
        in_flight,
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: at(50),
        p99: at(99),
        failed,
        cpu_ms: cpu.busy_ms() / total as f64,
        busy: cpu.busy_share(),
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
