//! `coachbot sandbox`: the emulator, the bot and a seeded demo server on a SQLite file, and a
//! prompt where a person types slash commands and DMs as one of the seeded people and reads
//! the bot's replies as text.

mod answers;
mod parse;
mod render;
mod seed;
mod seed_cycle;
mod seed_sessions;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use tokio::task::JoinHandle;

pub use parse::{Line, parse};
pub use seed::{DIGEST_ZONE, Demo, Person, seed_database, seed_world};

use crate::config::Config;
use crate::emulator::Emulator;
use crate::emulator::spec::SpecValidator;
use crate::store::Db;

/// A running sandbox: emulator, bot, demo server, and who is typing where.
pub struct Sandbox {
    pub emu: Emulator,
    pub demo: Demo,
    pub db: Db,
    me: usize,
    channel: u64,
    /// The form the bot opened last: its id, and the channel it was opened in.
    form: Option<(String, u64)>,
    /// How many messages waiting for later the prompt last told of.
    waiting_told: i64,
    /// The channel messages the prompt has shown, newest last (at most [`answers::SHOWN_KEPT`]).
    shown: std::collections::VecDeque<u64>,
    /// Where files the bot attaches (charts, exports) are saved, to open.
    files: std::path::PathBuf,
    /// The SQLite file.
    database: std::path::PathBuf,
    /// The bot's process: its clock is the sandbox's (see `clock`).
    app: crate::app::App,
    bot: JoinHandle<()>,
    shards: std::sync::Arc<serenity::all::ShardManager>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.bot.abort();
    }
}

impl Sandbox {
    /// Starts everything on the SQLite file at `database` (deleted first when `fresh`).
    pub async fn start(database: &Path, fresh: bool) -> anyhow::Result<Self> {
        if fresh {
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", database.display());
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).with_context(|| format!("removing {path}")),
                }
            }
        }
        let spec = SpecValidator::locate()
            .map(|path| SpecValidator::load(&path))
            .transpose()?;
        let emu = Emulator::start_with(spec, 0, true).await?;
        let demo = seed_world(&emu)?;
        let db = Db::open(&format!("sqlite://{}", database.display())).await?;
        let clock = crate::clock::Clock::system();
        seed_database(&db, &demo, clock.now()).await?;
        // DM channels belong to the emulator run that opened them; this one is new.
        crate::store::checkins::forget_dm_channels(&db).await?;
        let token =
            Config::from_lookup(|key| (key == "DISCORD_TOKEN").then(|| "sandbox".to_owned()))?
                .token()?
                .clone();
        // The sandbox drives the scheduler itself, on its own clock (see `clock`).
        let options = crate::discord::Options {
            scheduler: false,
            ..crate::discord::Options::default()
        };
        let app = crate::app::App::load(
            db.clone(),
            &token,
            Some(emu.api_url()),
            crate::config::Sending::default(),
            clock,
        )?;
        let mut client =
            crate::discord::client(app.clone(), &token, Some(emu.api_url()), options).await?;
        let shards = client.shard_manager.clone();
        let bot = tokio::spawn(async move {
            if let Err(error) = client.start().await {
                tracing::error!(error = format!("{error:#}"), "the sandbox's bot stopped");
            }
        });
        emu.wait_for_commands(Duration::from_secs(30)).await?;
        let channel = demo.channel("general").context("demo channel #general")?;
        // The admin types first: setting things up is where everyone starts.
        Ok(Self {
            emu,
            demo,
            db,
            me: 0,
            channel,
            form: None,
            waiting_told: 0,
            shown: std::collections::VecDeque::new(),
            files: database
                .parent()
                .unwrap_or(Path::new("."))
                .join("coachbot-sandbox-files"),
            database: database.to_path_buf(),
            app,
            bot,
            shards,
        })
    }

    fn me(&self) -> &Person {
        &self.demo.people[self.me]
    }

    /// The prompt: who is typing, and where.
    pub fn prompt(&self) -> String {
        format!(
            "{} in {}> ",
            self.me().handle,
            self.emu.channel_label(self.channel)
        )
    }

    /// Handles one typed line; returns what to print, and whether to stop.
    pub async fn handle(&mut self, typed: &str) -> (String, bool) {
        let line = match parse(typed) {
            Ok(line) => line,
            Err(message) => return (format!("? {message}"), false),
        };
        let result = match line {
            Line::Nothing => Ok(String::new()),
            Line::Quit => return (String::new(), true),
            Line::Clock(step) => self.clock(step.as_deref()).await,
            Line::Help => Ok(HELP.to_owned()),
            Line::Memory => Ok(self.memory()),
            Line::People => Ok(self.people()),
            Line::As(handle) => self.become_person(&handle),
            Line::In(channel) => match self.demo.channel(&channel) {
                Some(id) => {
                    self.channel = id;
                    Ok(format!(
                        "now typing in #{}",
                        channel.trim_start_matches('#')
                    ))
                }
                None => Err(anyhow::anyhow!(
                    "no channel {channel}; try one of: {}",
                    self.demo
                        .channels
                        .iter()
                        .map(|(n, _)| format!("#{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            Line::Slash {
                invocation,
                options,
            } => self.slash(&invocation, &options).await,
            Line::Dm(text) => {
                let mark = self.emu.call_count();
                self.emu.send_dm(self.me().user_id, &text);
                Ok(self.answers_since(mark).await)
            }
            Line::Click(custom_id) => self.click(&custom_id).await,
            Line::Form(fields) => self.fill_form(&fields).await,
        };
        match result {
            Ok(mut text) => {
                if let Some(note) = self.waiting_note().await {
                    text.push('\n');
                    text.push_str(&note);
                }
                (text, false)
            }
            Err(error) => (format!("? {error:#}"), false),
        }
    }

    /// A line on the messages the outbox holds for later, when their number has changed since
    /// the last line said: the sandbox's scheduler runs only when `clock` moves time on, so
    /// without it they would never show. (A running bot sends them by itself, once their
    /// channel has room.)
    async fn waiting_note(&mut self) -> Option<String> {
        let waiting = crate::store::outbox::waiting_later(&self.db, self.now())
            .await
            .ok()?;
        if waiting == std::mem::replace(&mut self.waiting_told, waiting) || waiting == 0 {
            return None;
        }
        let (messages, them) = if waiting == 1 {
            ("1 message waits".to_owned(), "it")
        } else {
            (format!("{waiting} messages wait"), "them")
        };
        Some(format!(
            "({messages} for later: a channel is at Discord's limit of 5 in 5 seconds, or a \
             send will be tried again. Type `clock +1m` to move time on and send {them}.)"
        ))
    }

    /// The sandbox's time: the bot's clock, which `clock` moves.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.now()
    }

    /// Moves the clock on as a running bot would live through it: each due time in between
    /// is ticked in turn, so nothing is "missed" just because the clock jumped.
    /// The process's resident memory, the part of it SQLite holds (its page caches and
    /// prepared statements, which grow with the database up to their caps), the database
    /// file's size, and how much the emulator keeps.
    fn memory(&self) -> String {
        let megabytes = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1_048_576.0);
        let resident = resident_bytes().map_or_else(|| "unknown".to_owned(), megabytes);
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", self.database.display())).map_or(0, |m| m.len())
        };
        let (file, wal) = (size(""), size("-wal"));
        format!(
            "Memory: {resident} resident, of which SQLite holds {} (its page caches and prepared statements). Database: {} on disk, {} of it the write-ahead log.",
            megabytes(crate::store::sqlite_memory()),
            megabytes(file + wal),
            megabytes(wal),
        )
    }

    async fn clock(&mut self, step: Option<&str>) -> anyhow::Result<String> {
        let from = self.now();
        match step {
            Some("morning") => self.app.clock.advance(next_morning(from) - from),
            Some(step) => self
                .app
                .clock
                .advance(parse::clock_step(step).map_err(|e| anyhow::anyhow!(e))?),
            None => {}
        }
        let now = self.now();
        let mark = self.emu.call_count();
        let mut ticked = crate::outbox::TickOutcome::default();
        let mut delivered = crate::outbox::DeliverOutcome::default();
        let mut at = from;
        let scheduler = self.app.scheduler();
        for _ in 0..10_000 {
            let round = scheduler.tick(at).await?;
            let sent = scheduler.deliver(at).await?;
            ticked.fired += round.fired;
            ticked.missed += round.missed;
            ticked.nudged += round.nudged;
            ticked.expired += round.expired;
            delivered.sent += sent.sent;
            if at >= now {
                break;
            }
            let next = [
                crate::store::schedules::next_due(&self.db).await?,
                crate::store::outbox::next_ready(&self.db).await?,
                self.next_nudge_or_expiry(at).await?,
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t > at)
            .min();
            at = next.map_or(now, |t| t.min(now));
        }
        let mut out = format!(
            "The sandbox's clock says {} UTC.",
            now.format("%a %-d %b %Y %H:%M")
        );
        if ticked != crate::outbox::TickOutcome::default()
            || delivered != crate::outbox::DeliverOutcome::default()
        {
            out.push_str(&format!(
                " Scheduler: {} fired, {} missed, {} nudged, {} expired; {} sent.",
                ticked.fired, ticked.missed, ticked.nudged, ticked.expired, delivered.sent
            ));
        }
        if self.emu.call_count() > mark {
            out.push('\n');
            out.push_str(&self.answers_since(mark).await);
        }
        Ok(out)
    }

    /// When the next open check-in is due a nudge or runs out, after `at`.
    async fn next_nudge_or_expiry(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
        let open = crate::store::checkins::all_open(&self.db).await?;
        Ok(open
            .iter()
            .flat_map(|s| {
                let nudge = s
                    .nudged_at
                    .is_none()
                    .then(|| s.updated_at + chrono::TimeDelta::hours(s.nudge_hours));
                nudge.into_iter().chain([s.expires_at])
            })
            .filter(|t| *t > at)
            .min())
    }

    fn people(&self) -> String {
        let mut out = String::from("People in the demo server (type `as <name>`):");
        for (i, person) in self.demo.people.iter().enumerate() {
            let marker = if i == self.me { "*" } else { " " };
            out.push_str(&format!(
                "\n {marker} {:<7} {} — {}",
                person.handle, person.name, person.about
            ));
        }
        out
    }

    fn become_person(&mut self, handle: &str) -> anyhow::Result<String> {
        let index = self
            .demo
            .people
            .iter()
            .position(|p| {
                p.handle
                    .eq_ignore_ascii_case(handle.trim_start_matches('@'))
            })
            .with_context(|| format!("no one called {handle}; type `people` to see who is here"))?;
        self.me = index;
        Ok(format!(
            "you are now {} ({})",
            self.me().name,
            self.me().about
        ))
    }

    async fn slash(
        &mut self,
        invocation: &str,
        options: &[(String, String)],
    ) -> anyhow::Result<String> {
        let values: Vec<(&str, Value)> = options
            .iter()
            .map(|(key, value)| (key.as_str(), self.value(value)))
            .collect();
        let mark = self.emu.call_count();
        self.emu
            .slash_command(self.me().user_id, self.channel, invocation, &values)?;
        Ok(self.answers_since(mark).await)
    }

    async fn fill_form(&mut self, fields: &[(String, String)]) -> anyhow::Result<String> {
        let (custom_id, channel) = self
            .form
            .clone()
            .context("no form is open; the bot opens one when it needs more from you")?;
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mark = self.emu.call_count();
        // A form Discord would not send (a required field left empty) stays open to fill again.
        self.emu
            .submit_modal(self.me().user_id, channel, &custom_id, &pairs)?;
        self.form = None;
        Ok(self.answers_since(mark).await)
    }

    /// `#channel`, `@person` and `@Role` become ids, `<path` uploads a file; anything else
    /// stays text.
    fn value(&self, typed: &str) -> Value {
        if let Some(path) = typed.strip_prefix('<') {
            return match std::fs::read(path) {
                Ok(bytes) => {
                    let name = std::path::Path::new(path)
                        .file_name()
                        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
                    json!(self.emu.upload(&name, &bytes).to_string())
                }
                Err(error) => {
                    tracing::warn!(%error, path, "could not read the file to attach");
                    json!(typed)
                }
            };
        }
        if typed.starts_with('#')
            && let Some(id) = self.demo.channel(typed)
        {
            return json!(id.to_string());
        }
        if typed.starts_with('@') {
            if let Some(person) = self.demo.person(typed) {
                return json!(person.user_id.to_string());
            }
            if let Some(role) = self.demo.role(typed) {
                return json!(role.to_string());
            }
        }
        json!(typed)
    }

    async fn click(&mut self, custom_id: &str) -> anyhow::Result<String> {
        let (channel, message) = self
            .emu
            .find_component(custom_id)
            .with_context(|| format!("no button `{custom_id}` on any message"))?;
        let mark = self.emu.call_count();
        self.emu
            .click_button(self.me().user_id, channel, message, custom_id)?;
        // A form the click opens belongs to the button's channel (a DM, say).
        Ok(self.answers_in(mark, channel).await)
    }
}

/// 07:30 in the demo's time zone, the first after `now`: just after Casey's digest.
fn next_morning(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let zone = seed::DIGEST_ZONE
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::America::Chicago);
    let local = now.with_timezone(&zone);
    let half_seven = chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default();
    // Today's half past seven only when the 07:00 digest of today is still ahead: started
    // between 07:00 and 07:30, "morning" is tomorrow's, so the digest comes.
    let seven = chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default();
    let day = if local.time() < seven {
        local.date_naive()
    } else {
        local.date_naive() + chrono::Days::new(1)
    };
    crate::domain::schedule::place(zone, day.and_time(half_seven))
        .unwrap_or(now + chrono::TimeDelta::days(1))
}

/// This process's resident set, from `/proc` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

const HELP: &str = r#"Type what a person would do in Discord (try `as terry` first, a Lincoln team member):
  /step list
  /step add title:"Share walkthrough notes" indicator:12a owner:@terry due:"in 2 weeks"
  /step update step:1 status:"in progress" note:"Dates agreed"
  /step update step:2 status:blocked barrier_category:time     (then: form barrier:"...")
  /step show step:1          /barrier list          /indicator show indicator:12a
  /indicator level indicator:12a level:"Getting Started" note:"First meeting held"
  /setup school name:"Jefferson High" time_zone:America/Chicago channel:#general   (as alex)
  /setup framework file:<prompts/framework.toml      (as alex; <path attaches a file)
  /help
  dm <text>          send the bot a direct message
  click <id>         click a button the bot showed
  form field:"text"  fill in and send the form the bot opened
  as <person>        type as someone else (see `people`)
  in #channel        type in another channel
  people             who is in the demo server
  clock [+3d|+2h|+30m]  show the sandbox's time, or move it on: due schedules fire, nudges go out
  clock morning      move on to 07:30 in Chicago: Casey's daily digest arrives by DM
  /summary preview school:"Lincoln Elementary"     (as casey; the chart is saved to a file)
  /export school:"Lincoln Elementary"              (as casey; CSV files saved next to the chart)
  /brief school:"Lincoln Elementary"               (as casey; the page before a visit)
  memory             what the sandbox holds in memory, and its database's size
  quit               leave (the sandbox's database stays for next time)"#;

/// The interactive loop on stdin/stdout; the emulator keeps the most recent `keep` calls and
/// messages per channel, so an afternoon of use runs in constant memory.
pub async fn run(database: &Path, fresh: bool, keep: usize) -> anyhow::Result<()> {
    // A database URL (what `coachbot run` takes) would be made into a file of that name.
    if database.to_string_lossy().contains("://") {
        anyhow::bail!(
            "the sandbox keeps its demo server in a SQLite file of its own: give --database a \
             file path such as coachbot-sandbox.db (a database URL is for `coachbot run`)"
        );
    }
    let mut out = std::io::stdout();
    writeln!(
        out,
        "Starting the coachbot sandbox (database: {}) …",
        database.display()
    )?;
    let mut sandbox = Sandbox::start(database, fresh).await?;
    sandbox.emu.keep_recent(keep);
    writeln!(
        out,
        "Ready: a demo server \"{}\" with two schools. Type `help` for what you can do, `people` for who is here.",
        seed::SERVER_NAME
    )?;
    if !sandbox.emu.spec_loaded() {
        writeln!(
            out,
            "(Discord's OpenAPI document was not found: requests are not checked against it)"
        )?;
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        write!(out, "{}", sandbox.prompt())?;
        out.flush()?;
        let Some(typed) = lines.next_line().await.context("reading the prompt")? else {
            writeln!(out)?;
            break;
        };
        let (text, quit) = sandbox.handle(&typed).await;
        if !text.is_empty() {
            writeln!(out, "{text}")?;
        }
        if quit {
            break;
        }
    }
    let violations = sandbox.emu.violations();
    if !violations.is_empty() {
        writeln!(out, "Requests that Discord would have refused:")?;
        for violation in violations {
            writeln!(out, "  {violation}")?;
        }
    }
    // The bot stops before its database closes: no event finds the pool gone.
    sandbox.shards.shutdown_all().await;
    sandbox.bot.abort();
    sandbox.db.close().await;
    Ok(())
}
