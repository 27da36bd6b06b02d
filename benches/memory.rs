//! `cargo bench --bench memory`: how much memory the bot holds (resident set, RSS).
//!
//! 1. Idle: `coachbot run` in a process of its own, connected to a Discord emulator in this
//!    one that holds the demo server, with the demo plan in its database, once it has settled.
//!    Target: 30 MB at most.
//! 2. The same process after it has started 10,000 check-ins (10,000 people due one in the same
//!    minute; each is asked its first question and left open).
//! 3. Long use of the sandbox (`coachbot sandbox`, the emulator and the bot in one process):
//!    the same working cycle typed over and over (steps added and listed, a check-in started,
//!    answered and stopped, a digest previewed, the clock moved on two hours), its RSS read
//!    after every cycle, with `--keep 100` so the emulator's record reaches its bound within
//!    the run. It must level off: the figure printed last is the growth over the second half.
//!    Each cycle ends with the sandbox's `memory` line, which says how much of the process
//!    SQLite holds (its page caches and prepared statements, which grow with the database up
//!    to their caps), so the rest, the program's own, is shown apart.
//!
//! Reads `/proc/<pid>/status`, so Linux only. `-- --quick` runs fewer sandbox cycles. The
//! emulator's rate limits are off and the bot's send budget is raised, so part 2 measures
//! memory rather than Discord's pacing; the output says so.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use coachbot::domain::ids::ServerId;
use coachbot::emulator::{Emulator, Rules};
use coachbot::store::{Db, db_id};

const BIN: &str = env!("CARGO_BIN_EXE_coachbot");
const CHECKINS: usize = 10_000;
/// The sandbox's `--keep`: requests and messages per channel its emulator holds. Smaller
/// than the default 1,000, so that the run reaches the bound and shows it level off.
const SANDBOX_KEEP: usize = 100;
/// How long the bot may take to come up, or to start every check-in.
const WAIT: Duration = Duration::from_secs(300);

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    if !Path::new("/proc/self/status").is_file() {
        println!("memory benchmark: /proc is not available here, nothing measured");
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    let dir = tempfile::tempdir()?;
    println!(
        "coachbot memory benchmark ({}), debug or release as cargo built it",
        if quick { "quick" } else { "full" }
    );
    runtime.block_on(bot_alone(dir.path()))?;
    sandbox(dir.path(), if quick { 40 } else { 200 })?;
    Ok(())
}

/// Parts 1 and 2: `coachbot run` against an emulator in this process.
async fn bot_alone(dir: &Path) -> anyhow::Result<()> {
    let rules = Rules::without_rate_limits();
    let emu = Emulator::start_with_rules(None, 0, false, rules.clone()).await?;
    emu.keep_recent(1_000);
    let demo = coachbot::sandbox::seed_world(&emu)?;
    let database = dir.join("bot.db");
    let url = format!("sqlite://{}", database.display());
    let db = Db::open(&url).await?;
    let now = Utc::now();
    coachbot::sandbox::seed_database(&db, &demo, now).await?;

    println!();
    println!("1. `coachbot run` idle, the demo server connected, emulator in another process");
    let mark = emu.call_count();
    let mut bot = BotProcess::start(&url, emu.api_url(), dir)?;
    emu.wait_for_call(mark, WAIT, |c| {
        c.method == "PUT" && c.path.ends_with("/commands")
    })
    .await
    .context("the bot never registered its commands")?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = bot.settled_rss().await?;
    let (anonymous, mapped) = rss_split(bot.child.id())?;
    println!(
        "   RSS {} (target 30 MB): {} the process's own, {} its program's pages, shared and clean",
        megabytes(idle),
        megabytes(anonymous),
        megabytes(mapped)
    );
    bot.stop();

    println!();
    println!(
        "2. The same, after starting {} check-ins ({})",
        coachbot::domain::text::thousands(CHECKINS as u64),
        rules.describe()
    );
    let server = demo.server();
    let school = coachbot::store::schools::list(&db, server)
        .await?
        .into_iter()
        .find(|s| s.name == "Lincoln Elementary")
        .map(|s| s.id)
        .context("the demo has Lincoln Elementary")?;
    // On Lincoln's team in Discord: a scheduled check-in reads the person's roles first.
    let team = demo
        .role("Lincoln Team")
        .context("the demo's Lincoln Team role")?;
    due_checkins(&emu, &db, (demo.guild, team), school, now).await?;
    let mut bot = BotProcess::start(&url, emu.api_url(), dir)?;
    let started = Instant::now();
    loop {
        let open = open_checkins(&db, server).await?;
        if open >= CHECKINS as i64 {
            break;
        }
        if started.elapsed() > WAIT {
            anyhow::bail!(
                "only {open} of {CHECKINS} check-ins started in {} s; the end of the bot's log:\n{}",
                WAIT.as_secs(),
                bot.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    let busy = bot.settled_rss().await?;
    println!(
        "   RSS {} with {} check-ins open (all started in {:.0} s); {} over idle",
        megabytes(busy),
        coachbot::domain::text::thousands(CHECKINS as u64),
        took.as_secs_f64(),
        megabytes(busy.saturating_sub(idle))
    );
    bot.stop();
    db.close().await;
    Ok(())
}

/// A `coachbot run` child process; killed when dropped.
struct BotProcess {
    child: Child,
    log: PathBuf,
}

impl BotProcess {
    fn start(database_url: &str, api_url: &str, dir: &Path) -> anyhow::Result<Self> {
        let log = dir.join(format!("bot-{}.log", Utc::now().timestamp_millis()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(BIN)
            .arg("run")
            .env("DATABASE_URL", database_url)
            .env("DISCORD_API_URL", api_url)
            .env("DISCORD_TOKEN", "bench-token")
            // The emulator's rate limits are off: part 2 measures memory, not pacing.
            .env("COACHBOT_SEND_PER_SECOND", "1000")
            .env_remove("COACHBOT_METRICS_ADDR")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting coachbot run")?;
        Ok(Self { child, log })
    }

    /// The median of five readings a second apart.
    async fn settled_rss(&mut self) -> anyhow::Result<u64> {
        let mut readings = Vec::new();
        for _ in 0..5 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "coachbot run exited ({status}); the end of its log:\n{}",
                    self.log_tail()
                );
            }
            readings.push(rss_of(self.child.id())?);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        readings.sort_unstable();
        Ok(readings[readings.len() / 2])
    }

    /// The last lines the process logged.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// 10,000 people on Lincoln's team, whom the bot has written to before, each due a check-in
/// half a minute ago.
async fn due_checkins(
    emu: &Emulator,
    db: &Db,
    (guild, team): (u64, u64),
    school: coachbot::domain::ids::SchoolId,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let server = ServerId::new(guild);
    let Db::Sqlite(pool) = db else {
        anyhow::bail!("the memory benchmark runs on SQLite");
    };
    let mut tx = pool.begin().await?;
    for i in 0..CHECKINS {
        let person = emu.add_user(&format!("Teacher {i}"));
        emu.add_member(guild, person, &[team])?;
        let dm = emu.open_dm(person);
        sqlx::query(
            "INSERT INTO members (server_id, user_id, display_name, created_at, updated_at, dm_channel_id)
             VALUES ($1, $2, 'Teacher', $3, $3, $4)",
        )
        .bind(server)
        .bind(db_id(person))
        .bind(now)
        .bind(db_id(dm))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone,
                                    next_fire_at, created_by, created_at, updated_at)
             VALUES ($1, $2, 'checkin', $3, 'wellbeing', 'daily 08:00', 'America/Chicago', $4, 1, $5, $5)",
        )
        .bind(server)
        .bind(school)
        .bind(db_id(person))
        .bind(Utc::now() - TimeDelta::seconds(30))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn open_checkins(db: &Db, server: ServerId) -> anyhow::Result<i64> {
    let Db::Sqlite(pool) = db else {
        anyhow::bail!("the memory benchmark runs on SQLite");
    };
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM checkin_sessions WHERE server_id = $1 AND status = 'open'",
    )
    .bind(server)
    .fetch_one(pool)
    .await?)
}

/// Part 3: the sandbox, one working cycle typed `cycles` times.
fn sandbox(dir: &Path, cycles: usize) -> anyhow::Result<()> {
    println!();
    println!(
        "3. `coachbot sandbox --keep {SANDBOX_KEEP}`, the same working cycle typed {cycles} times (12 lines each)"
    );
    let mut child = Command::new(BIN)
        .arg("sandbox")
        .arg("--fresh")
        .arg("--database")
        .arg(dir.join("sandbox.db"))
        .arg("--keep")
        .arg(SANDBOX_KEEP.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting coachbot sandbox")?;
    let pid = child.id();
    let mut stdin = child.stdin.take().context("the sandbox's input")?;
    let stdout = child.stdout.take().context("the sandbox's output")?;
    // Each cycle ends with `memory`, whose answer says the cycle was worked through and how
    // much of the process SQLite holds (its page caches and prepared statements).
    let (done, cycle_done) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(report) = MemoryLine::parse(&line)
                && done.send(report).is_err()
            {
                break;
            }
        }
    });
    let mut samples = Vec::with_capacity(cycles);
    let mut reports = Vec::with_capacity(cycles);
    let started = Instant::now();
    for n in 0..cycles {
        let cycle = format!(
            "as terry\n\
             /step add title:\"Walkthrough round {n}\" indicator:12a owner:@jordan due:\"in 2 weeks\"\n\
             /step list\n\
             as casey\n\
             /checkin start person:@pat flow:weekly\n\
             as pat\n\
             dm We met twice as a team and agreed the agenda\n\
             dm stop\n\
             as casey\n\
             /digest preview\n\
             clock +2h\n\
             memory\n"
        );
        stdin
            .write_all(cycle.as_bytes())
            .context("typing into the sandbox")?;
        stdin.flush()?;
        let report = cycle_done
            .recv_timeout(Duration::from_secs(120))
            .with_context(|| format!("the sandbox did not finish cycle {n}"))?;
        samples.push(rss_of(pid)?);
        reports.push(report);
    }
    let elapsed = started.elapsed();
    let _ = stdin.write_all(b"quit\n");
    drop(stdin);
    let _ = child.wait();
    let _ = reader.join();

    let at = |fraction: usize| samples[(samples.len() * fraction / 10).min(samples.len() - 1)];
    println!("   {} lines in {:.0} s", cycles * 12, elapsed.as_secs_f64());
    println!(
        "   RSS after cycle 1: {}; at 10%: {}; 50%: {}; 100%: {}; highest {}",
        megabytes(samples[0]),
        megabytes(at(1)),
        megabytes(at(5)),
        megabytes(at(10)),
        megabytes(samples.iter().copied().max().unwrap_or(0))
    );
    println!(
        "   growth over the second half: {} ({:.1} KB a cycle)",
        megabytes(at(10).saturating_sub(at(5))),
        at(10).saturating_sub(at(5)) as f64 / 1024.0 / (cycles - cycles / 2) as f64
    );
    let report = |fraction: usize| reports[(reports.len() * fraction / 10).min(reports.len() - 1)];
    println!(
        "   of it SQLite (page caches, statements) after cycle 1: {}; at 10%: {}; 50%: {}; 100%: {}",
        megabytes(reports[0].sqlite),
        megabytes(report(1).sqlite),
        megabytes(report(5).sqlite),
        megabytes(report(10).sqlite),
    );
    println!(
        "   the database file after cycle 1: {}; at 50%: {}; 100%: {}",
        megabytes(reports[0].database),
        megabytes(report(5).database),
        megabytes(report(10).database),
    );
    // What is not SQLite's: the program, the emulator and their heaps.
    let rest = |i: usize| samples[i].saturating_sub(reports[i].sqlite);
    let (half, last) = (samples.len() / 2, samples.len() - 1);
    println!(
        "   RSS less SQLite's part: {} after cycle 1, {} halfway, {} at the end ({:.1} KB a cycle over the second half)",
        megabytes(rest(0)),
        megabytes(rest(half)),
        megabytes(rest(last)),
        rest(last).saturating_sub(rest(half)) as f64 / 1024.0 / (last - half).max(1) as f64
    );
    Ok(())
}

/// What the sandbox's `memory` line says, in bytes.
#[derive(Clone, Copy, Debug)]
struct MemoryLine {
    sqlite: u64,
    database: u64,
}

impl MemoryLine {
    /// `Memory: 84.2 MB resident, of which SQLite holds 3.1 MB (…). Database: 1.2 MB on disk, …`
    fn parse(line: &str) -> Option<Self> {
        // The prompt may come first on the line.
        let (_, rest) = line.split_once("Memory: ")?;
        let after = |marker: &str| -> Option<u64> {
            let (_, tail) = rest.split_once(marker)?;
            let number: f64 = tail.split_whitespace().next()?.parse().ok()?;
            Some((number * 1_048_576.0) as u64)
        };
        Some(Self {
            sqlite: after("SQLite holds ")?,
            database: after("Database: ")?,
        })
    }
}

/// The resident set of a process, in bytes.
fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS in /proc/<pid>/status")?
        .parse()?;
    Ok(kb * 1024)
}

/// The resident set split: anonymous (the process's own heap and stacks) and file-backed (the
/// program and libraries, shared with other processes and dropped first under pressure).
fn rss_split(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .with_context(|| format!("{name} in /proc/<pid>/status"))?
            .parse()?;
        Ok(kb * 1024)
    };
    Ok((field("RssAnon:")?, field("RssFile:")?))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}
