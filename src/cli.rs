//! The command line: `run`, `migrate`, `emulator`, `prompts`, `schedule`, `export`,
//! `assessment`, `sandbox`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::clock::Clock;
use crate::config::{Config, Token};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use crate::emulator::Emulator;
use crate::sandbox;
use crate::store::Db;

#[derive(Debug, Parser)]
#[command(
    name = "coachbot",
    version,
    about = "A Discord bot that keeps a school's coaching work moving between visits"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What a standing emulator (`coachbot emulator`, the sandbox's) keeps of its record by default:
/// enough to look back on a conversation, bounded so it runs for hours in constant memory.
const KEEP_RECENT: usize = 1_000;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot (needs DISCORD_TOKEN; DISCORD_API_URL points it at an emulator)
    Run {
        /// Send scheduled messages only, without the gateway connection: run any number of
        /// these beside one full `run`, all on one PostgreSQL database
        #[arg(long)]
        worker: bool,
        /// Run only these gateway shards, `0-3` or `2` (needs --total-shards); default: the
        /// shard count Discord recommends, all in this process
        #[arg(long, value_name = "FIRST-LAST", conflicts_with = "worker")]
        shards: Option<String>,
        /// How many shards the whole bot runs across all its processes
        #[arg(long, value_name = "N", conflicts_with = "worker")]
        total_shards: Option<u32>,
    },
    /// Create the database if needed, apply migrations, and exit
    Migrate,
    /// Run the local Discord emulator alone, with the demo server, and print its URL
    Emulator {
        /// Port on 127.0.0.1 (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Start with no servers or people instead of the demo server
        #[arg(long)]
        empty: bool,
        /// Requests and messages per channel it keeps (the oldest are let go), so it runs in
        /// constant memory
        #[arg(long, default_value_t = KEEP_RECENT)]
        keep: usize,
    },
    /// Check the prompt files: the framework and the check-in flows
    Prompts {
        #[command(subcommand)]
        action: PromptsAction,
    },
    /// Work with schedules from the command line
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Write the records of a school (or of every school in a server) as CSV files
    Export {
        /// The Discord server (guild) id; may be left out when the database holds one server
        #[arg(long)]
        server: Option<u64>,
        /// One school, by its name (default: every school)
        #[arg(long)]
        school: Option<String>,
        /// The folder to write the files into (created if needed)
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Also write this person's own check-in answers (their Discord user id), to hand to
        /// them: answers go only to the person and their coach
        #[arg(long, value_name = "USER_ID")]
        answers_of: Option<u64>,
    },
    /// Work with a school's assessment results
    Assessment {
        #[command(subcommand)]
        action: AssessmentAction,
    },
    /// Try coachbot on this machine: emulator, bot and a demo server, driven from a prompt
    Sandbox {
        /// The sandbox's own SQLite file
        #[arg(long, default_value = "coachbot-sandbox.db")]
        database: PathBuf,
        /// Start over: delete the sandbox's database first
        #[arg(long)]
        fresh: bool,
        /// Requests and messages per channel its emulator keeps (the oldest are let go)
        #[arg(long, default_value_t = KEEP_RECENT)]
        keep: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum PromptsAction {
    /// Report errors and warnings; exit 0 when clean, 1 with warnings only, 2 with errors
    Check {
        /// A prompts folder, or one flow file (default: the prompts folder in use)
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssessmentAction {
    /// Import a CSV file of results (as `/assessment import` does): columns `indicator`,
    /// `level` (1-5 or a level name) or `score`, and optionally `group` and `n`
    Import {
        /// The CSV file
        file: PathBuf,
        /// The school, by its name
        #[arg(long)]
        school: String,
        /// The Discord server (guild) id; may be left out when the database holds one server
        #[arg(long)]
        server: Option<u64>,
        /// When it was given, `2026-11-15` (default: today in the school's time zone)
        #[arg(long)]
        administered: Option<chrono::NaiveDate>,
        /// What to call it (default: the season and year, e.g. `Fall 2026`)
        #[arg(long)]
        name: Option<String>,
        /// The top of the score scale, when the file gives scores without one
        #[arg(long)]
        scale: Option<f64>,
        /// The Discord user id to record as the importer (default 0: the command line)
        #[arg(long, default_value_t = 0)]
        by: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Print the next fire times of a schedule, local and UTC (ISO 8601), one a line
    Preview {
        /// `weekdays 08:00`, `mondays 15:30`, `every 2 weeks on tuesday 16:00`, or cron
        when: String,
        /// IANA time zone, e.g. America/Chicago
        #[arg(long)]
        tz: String,
        /// Start after this local date-time (`2025-03-08T12:00`); default: now
        #[arg(long)]
        from: Option<String>,
        /// How many fire times
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
}

/// `coachbot schedule preview`: the lines it prints.
pub fn schedule_preview(
    when: &str,
    tz: &str,
    from: Option<&str>,
    count: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<String>> {
    use crate::domain::schedule::{CronSpec, place};
    use crate::domain::school::TimeZoneName;
    let zone = TimeZoneName::parse(tz)?.tz();
    let start = match from {
        Some(text) => {
            let naive = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(text.trim(), f).ok())
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .ok_or_else(|| {
                    anyhow::anyhow!("--from `{text}` should look like 2025-03-08T12:00")
                })?;
            place(zone, naive)
                .ok_or_else(|| anyhow::anyhow!("--from `{text}` is not a time in {tz}"))?
        }
        None => now,
    };
    let today = start.with_timezone(&zone).date_naive();
    let spec = CronSpec::parse(when, today)?;
    let upcoming = spec.upcoming(zone, start, count);
    if upcoming.is_empty() && count > 0 {
        anyhow::bail!(
            "`{}` never fires after {}: no date matches it (such as 30 February); check the day and month fields",
            spec.source,
            start.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
        );
    }
    Ok(upcoming
        .into_iter()
        .map(|at| {
            format!(
                "{}  {}",
                at.with_timezone(&zone)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            )
        })
        .collect())
}

/// Runs a command; the number is the process's exit code.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<u8> {
    if let Command::Prompts {
        action: PromptsAction::Check { path },
    } = &cli.command
    {
        let path = path.clone().unwrap_or_else(crate::prompts::dir);
        let report = crate::prompts::check_path(&path)?;
        let mut out = std::io::stdout().lock();
        for error in &report.errors {
            writeln!(out, "error: {error}")?;
        }
        for warning in &report.warnings {
            writeln!(out, "warning: {warning}")?;
        }
        writeln!(
            out,
            "{}: {} flow(s), {} error(s), {} warning(s)",
            path.display(),
            report.flows.len(),
            report.errors.len(),
            report.warnings.len()
        )?;
        return Ok(report.exit_code());
    }
    if let Command::Schedule {
        action:
            ScheduleAction::Preview {
                when,
                tz,
                from,
                count,
            },
    } = &cli.command
    {
        let mut out = std::io::stdout().lock();
        for line in schedule_preview(
            when,
            tz,
            from.as_deref(),
            *count,
            crate::clock::Clock::system().now(),
        )? {
            writeln!(out, "{line}")?;
        }
        return Ok(0);
    }
    run_service(cli, config).await.map(|()| 0)
}

async fn run_service(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Prompts { .. } | Command::Schedule { .. } => Ok(()),
        Command::Run {
            worker,
            shards,
            total_shards,
        } => {
            let shards = crate::discord::ShardRange::from_args(shards.as_deref(), total_shards)?;
            let token = config.token()?;
            let db = Db::open(&config.database_url).await?;
            if let Some(url) = &config.discord_api_url {
                tracing::info!(%url, "talking to a Discord emulator instead of Discord");
            }
            let api_url = config.discord_api_url.as_deref();
            let app = App::load(db, token, api_url, config.sending, Clock::system())?;
            let gateway = crate::metrics::Gateway::default();
            if let Some(addr) = config.metrics_addr {
                let handle = crate::metrics::install()?;
                let watched = (!worker).then(|| gateway.clone());
                crate::metrics::serve(addr, handle, app.db.clone(), app.clock.clone(), watched)
                    .await?;
            }
            if worker {
                run_worker(app).await
            } else {
                run_bot(app, token, api_url, shards, &gateway).await
            }
        }
        Command::Migrate => {
            let db = Db::open(&config.database_url).await?;
            db.close().await;
            tracing::info!("database is up to date");
            Ok(())
        }
        Command::Emulator { port, empty, keep } => {
            let emulator = Emulator::start_with(
                crate::emulator::spec::SpecValidator::locate()
                    .map(|p| crate::emulator::spec::SpecValidator::load(&p))
                    .transpose()?,
                port,
                true,
            )
            .await?;
            emulator.keep_recent(keep);
            if !empty {
                sandbox::seed_world(&emulator)?;
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "Discord emulator listening at {}", emulator.api_url())?;
            writeln!(
                out,
                "Run the bot against it with: DISCORD_API_URL={} DISCORD_TOKEN=any coachbot run",
                emulator.api_url()
            )?;
            if !emulator.spec_loaded() {
                writeln!(
                    out,
                    "(Discord's OpenAPI document was not found: set DISCORD_OPENAPI_SPEC to check requests against it)"
                )?;
            }
            out.flush()?;
            drop(out);
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            Ok(())
        }
        Command::Sandbox {
            database,
            fresh,
            keep,
        } => sandbox::run(&database, fresh, keep).await,
        Command::Assessment {
            action:
                AssessmentAction::Import {
                    file,
                    school,
                    server,
                    administered,
                    name,
                    scale,
                    by,
                },
        } => {
            let db = Db::open(&config.database_url).await?;
            let options = ImportOptions {
                server,
                school: &school,
                administered,
                name: name.as_deref(),
                scale,
                by,
            };
            let imported = import_assessment(&db, &file, &options, Clock::system().now()).await;
            db.close().await;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", imported?)?;
            Ok(())
        }
        Command::Export {
            server,
            school,
            out,
            answers_of,
        } => {
            let db = Db::open(&config.database_url).await?;
            let written = export(&db, server, school.as_deref(), &out, answers_of).await;
            db.close().await;
            let mut stdout = std::io::stdout().lock();
            for (path, rows) in written? {
                writeln!(stdout, "{} ({rows} rows)", path.display())?;
            }
            Ok(())
        }
    }
}

/// What `coachbot assessment import` was told besides the file.
#[derive(Clone, Debug)]
pub struct ImportOptions<'a> {
    pub server: Option<u64>,
    pub school: &'a str,
    pub administered: Option<chrono::NaiveDate>,
    pub name: Option<&'a str>,
    pub scale: Option<f64>,
    /// The importer's Discord user id; 0 for the command line.
    pub by: u64,
}

/// `coachbot assessment import`: the same checks and rows as `/assessment import`; returns
/// what it prints (what was saved, strengths and targets).
pub async fn import_assessment(
    db: &Db,
    file: &std::path::Path,
    options: &ImportOptions<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    use crate::domain::assessment_file;
    let (server_id, _) = one_server(db, options.server).await?;
    let school = crate::store::schools::find_by_name(db, server_id, options.school.trim())
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "server {server_id} has no school named `{}`",
                options.school
            )
        })?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    let file_name = file.file_name().map_or_else(
        || "assessment.csv".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    if size > assessment_file::MAX_BYTES as u64 {
        anyhow::bail!(
            "{}",
            assessment_file::Problems(vec![assessment_file::too_large(size)])
                .describe(&file_name, usize::MAX)
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = options
        .name
        .map(|n| crate::domain::text::one_line("name", n, assessment_file::NAME_MAX))
        .transpose()?;
    let today = now.with_timezone(&school.zone()).date_naive();
    let framework = crate::store::frameworks::Frameworks::new(crate::prompts::default_framework()?)
        .of(db, server_id)
        .await?;
    let request = crate::assessment_import::Request {
        school: &school,
        bytes: &bytes,
        file_name: &file_name,
        administered: options.administered.unwrap_or(today),
        name: name.as_deref(),
        scale: options.scale,
        today,
    };
    let by = crate::domain::ids::UserId::new(options.by);
    let (saved, results) =
        crate::assessment_import::save(db, &framework, &request, by, now).await?;
    Ok(
        crate::assessment_import::imported_text(&school, &saved, &results, &framework)
            .replace("**", "")
            .replace('`', ""),
    )
}

/// The server a command-line action is about: the one given, or the database's only one.
async fn one_server(
    db: &Db,
    server: Option<u64>,
) -> anyhow::Result<(crate::domain::ids::ServerId, String)> {
    let known = crate::store::export::servers(db).await?;
    match server {
        Some(id) => known
            .into_iter()
            .find(|(s, _)| s.get() == id)
            .ok_or_else(|| anyhow::anyhow!("coachbot has no records for server {id}")),
        None => match known.as_slice() {
            [only] => Ok(only.clone()),
            [] => anyhow::bail!("the database holds no server yet"),
            many => anyhow::bail!(
                "the database holds {} servers; pick one with --server: {}",
                many.len(),
                many.iter()
                    .map(|(id, name)| format!("{id} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// `coachbot export`: writes the files into `out`; returns each path with its row count.
pub async fn export(
    db: &Db,
    server: Option<u64>,
    school: Option<&str>,
    out: &std::path::Path,
    answers_of: Option<u64>,
) -> anyhow::Result<Vec<(PathBuf, usize)>> {
    use crate::store::export::Answers;
    let now = Clock::system().now();
    let (server_id, server_name) = one_server(db, server).await?;
    let school = match school {
        Some(name) => Some(
            crate::store::schools::find_by_name(db, server_id, name.trim())
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("server {server_id} has no school named `{name}`")
                })?,
        ),
        None => None,
    };
    let answers = answers_of.map_or(Answers::Withheld, |person| {
        Answers::OfPerson(crate::domain::ids::UserId::new(person))
    });
    let files = crate::export::build(
        db,
        &crate::store::frameworks::Frameworks::new(crate::prompts::default_framework()?),
        server_id,
        school.as_ref().map(|s| s.id),
        &answers,
        school.as_ref().map_or(&server_name, |s| &s.name),
        now.date_naive(),
    )
    .await?;
    // No export leaves without its audit entry.
    crate::store::audit::record(
        db,
        server_id,
        &AuditEntry {
            at: now,
            actor: None,
            via: AuditVia::CommandLine,
            action: AuditAction::Export,
            scope: school
                .as_ref()
                .map_or_else(|| "server".to_owned(), |s| s.name.clone()),
            subject: answers_of.map(crate::domain::ids::UserId::new),
            with_answers: answers_of.is_some(),
            row_count: None,
        },
    )
    .await?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::with_capacity(files.len());
    for file in files {
        let path = out.join(&file.name);
        // A whole file or none: written aside (owner-only: it may hold check-in answers), then
        // renamed into place.
        let partial = out.join(format!(".{}.partial", file.name));
        crate::owner_only::write(&partial, &file.bytes)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path)
            .with_context(|| format!("moving {} into place", path.display()))?;
        written.push((path, file.rows));
    }
    Ok(written)
}

/// Runs the full bot until Ctrl-C: gateway (the `shards` given, or as many as Discord
/// recommends), commands, and the scheduler loop. Without the Server Members intent (Discord
/// closes with 4014) it says what to switch on and runs without it.
async fn run_bot(
    app: App,
    token: &Token,
    api_url: Option<&str>,
    shards: Option<crate::discord::ShardRange>,
    gateway: &crate::metrics::Gateway,
) -> anyhow::Result<()> {
    let mut options = crate::discord::Options::default();
    loop {
        let range =
            crate::discord::shards::plan(&crate::outbound::http_client(token, api_url), shards)
                .await?;
        options.shards = Some(range);
        let mut client = crate::discord::client(app.clone(), token, api_url, options).await?;
        gateway.watch(client.shard_manager.clone(), range.first..=range.last);
        let shards = client.shard_manager.clone();
        let stop = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("shutting down");
                shards.shutdown_all().await;
            }
        });
        let result = crate::discord::shards::start(&mut client, range).await;
        stop.abort();
        match result {
            Err(error) if options.members && crate::discord::intent_refused(&error) => {
                tracing::warn!("{}", crate::discord::MEMBERS_INTENT_OFF);
                options.members = false;
            }
            Err(error) if crate::discord::token_refused(&error) => {
                anyhow::bail!("{}", crate::discord::TOKEN_REFUSED)
            }
            other => return other.context("running the Discord client"),
        }
    }
}

/// Runs only the scheduler and outbox sender, over REST, without a gateway connection: the
/// extra processes of a PostgreSQL deployment. DMs (check-in answers) go to the one full bot.
async fn run_worker(app: App) -> anyhow::Result<()> {
    tracing::info!("coachbot worker is ready: delivering scheduled messages");
    tokio::select! {
        () = app.scheduler().run() => Ok(()),
        signal = tokio::signal::ctrl_c() => {
            signal.context("waiting for Ctrl-C")?;
            tracing::info!("shutting down");
            Ok(())
        }
    }
}
