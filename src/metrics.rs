//! What an operator watches: Prometheus metrics at `/metrics` and a health check at
//! `/healthz`, served by each process when `COACHBOT_METRICS_ADDR` is set.
//!
//! Counters and histograms are recorded where things happen (a command in the adapter, a send
//! in `outbound`, an outbox row in `outbox`) through the `metrics` crate's global recorder;
//! what the database knows (the backlog, the oldest due work, open check-ins) and what the
//! gateway's shards are doing are read when `/metrics` is scraped, so every process, a worker
//! included, reports them as they are now. Labels carry only the program's own words, command
//! names and shard ids: never a person's text, name or id.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serenity::gateway::{ConnectionStage, ShardManager};
use serenity::model::id::ShardId;

use crate::clock::Clock;
use crate::store::{Db, gauges};

/// Slash commands by name and how they ended (`result`).
pub const COMMANDS: &str = "coachbot_commands_total";
/// Seconds from a command's arrival to the end of its handling (reply included), by name.
pub const COMMAND_SECONDS: &str = "coachbot_command_duration_seconds";
/// Outbox rows waiting to be sent, by kind.
pub const OUTBOX_BACKLOG: &str = "coachbot_outbox_backlog";
/// Outbox rows handled by a delivery round, by how each ended.
pub const OUTBOX_ROWS: &str = "coachbot_outbox_rows_total";
/// Messages posted to Discord, by Discord's answer.
pub const SENDS: &str = "coachbot_sends_total";
/// 429 answers from Discord, by scope (`global` or `route`).
pub const RATE_LIMITED: &str = "coachbot_discord_rate_limited_total";
/// Seconds since the oldest due schedule or ready outbox row became due; 0 when none waits.
pub const SCHEDULER_LAG: &str = "coachbot_scheduler_lag_seconds";
/// 1 when a gateway shard is connected, 0 otherwise, by shard id.
pub const SHARD_CONNECTED: &str = "coachbot_shard_connected";
/// Check-ins someone is in the middle of.
pub const OPEN_CHECKINS: &str = "coachbot_open_checkins";

/// Bytes SQLite holds in this process (page caches, prepared statements); SQLite only.
pub const SQLITE_MEMORY: &str = "coachbot_sqlite_memory_bytes";

/// How long `/healthz` and a scrape wait for the database before calling it gone.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Command durations in seconds: Discord wants a first answer within 3.
const COMMAND_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0,
];

/// Installs the process's recorder (once per process) and describes each metric.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(COMMAND_SECONDS.to_owned()), COMMAND_BUCKETS)
        .context("setting the command latency buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    describe_counter!(COMMANDS, "Slash commands handled, by command and result");
    describe_histogram!(
        COMMAND_SECONDS,
        metrics::Unit::Seconds,
        "Time to handle a slash command, reply included"
    );
    describe_gauge!(OUTBOX_BACKLOG, "Outbox rows waiting to be sent, by kind");
    describe_counter!(
        OUTBOX_ROWS,
        "Outbox rows a delivery round handled, by how each ended"
    );
    describe_counter!(SENDS, "Messages posted to Discord, by Discord's answer");
    describe_counter!(RATE_LIMITED, "429 answers from Discord, by scope");
    describe_gauge!(
        SCHEDULER_LAG,
        metrics::Unit::Seconds,
        "Now minus the oldest due schedule or ready outbox row (0 when none waits)"
    );
    describe_gauge!(SHARD_CONNECTED, "1 when the gateway shard is connected");
    describe_gauge!(OPEN_CHECKINS, "Check-ins someone is in the middle of");
    describe_gauge!(
        SQLITE_MEMORY,
        metrics::Unit::Bytes,
        "Memory SQLite holds in this process: page caches and prepared statements"
    );
    // Shown at 0 from the start, so an alert on their rate has a series before the first.
    for scope in ["global", "route"] {
        counter!(RATE_LIMITED, "scope" => scope).increment(0);
    }
    for result in ["sent", "retried", "failed", "unreachable"] {
        counter!(OUTBOX_ROWS, "result" => result).increment(0);
    }
    Ok(handle)
}

/// How a slash command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandResult {
    Ok,
    /// A `UserError`: the person was told what to change.
    UserError,
    /// Refused by a check: not allowed here, or not for this person.
    Refused,
    /// An option Discord sent could not be read.
    BadInput,
    /// Something failed on the bot's side.
    Error,
}

impl CommandResult {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::UserError => "user_error",
            Self::Refused => "refused",
            Self::BadInput => "bad_input",
            Self::Error => "error",
        }
    }
}

tokio::task_local! {
    /// How the command being handled on this task ended, as the error handler saw it.
    static COMMAND_RESULT: Cell<CommandResult>;
}

/// Runs `handling` (one slash command's dispatch), then counts it by `name` and result and
/// records how long it took. The error handler, which runs inside, says how it ended.
pub async fn time_command<F: Future>(name: String, handling: F) -> F::Output {
    let started = Instant::now();
    let (output, result) = COMMAND_RESULT
        .scope(Cell::new(CommandResult::Ok), async {
            let output = handling.await;
            (output, COMMAND_RESULT.with(Cell::get))
        })
        .await;
    histogram!(COMMAND_SECONDS, "command" => name.clone()).record(started.elapsed().as_secs_f64());
    counter!(COMMANDS, "command" => name, "result" => result.label()).increment(1);
    output
}

/// The command being handled on this task ended so (called by the error handler).
pub fn command_ended(result: CommandResult) {
    let _outside_a_command = COMMAND_RESULT.try_with(|cell| cell.set(result));
}

/// A message posted to Discord got this answer (`sent`, `rate_limited`, `dms_closed`,
/// `server_error`, `network`, `rejected`).
pub fn sent(result: &'static str) {
    counter!(SENDS, "result" => result).increment(1);
}

/// Discord answered 429.
pub fn rate_limited(global: bool) {
    counter!(RATE_LIMITED, "scope" => if global { "global" } else { "route" }).increment(1);
}

/// A delivery round ended `count` outbox rows so (`sent`, `retried`, `failed`...).
pub fn outbox_rows(result: &'static str, count: usize) {
    if count > 0 {
        counter!(OUTBOX_ROWS, "result" => result).increment(count as u64);
    }
}

/// The gateway's shards, as `/healthz` and `/metrics` read them: the running client's shard
/// manager (a new client after a refused intent replaces the old one) and the shards this
/// process is to run.
#[derive(Clone, Default)]
pub struct Gateway(Arc<Mutex<Option<Watched>>>);

#[derive(Clone)]
struct Watched {
    manager: Arc<ShardManager>,
    shards: RangeInclusive<u32>,
}

impl Gateway {
    /// From now on, the shards are `manager`'s, which is to run `shards`.
    pub fn watch(&self, manager: Arc<ShardManager>, shards: RangeInclusive<u32>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Watched { manager, shards });
    }

    /// Each shard this process runs, by id, and whether it is connected. A shard serenity is
    /// starting again (after its connection failed) has no runner meanwhile: it is listed,
    /// not connected.
    async fn shards(&self) -> BTreeMap<u32, bool> {
        let watched = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(Watched { manager, shards }) = watched else {
            return BTreeMap::new();
        };
        let runners = manager.runners.lock().await;
        shards
            .map(|id| {
                let connected = runners
                    .get(&ShardId(id))
                    .is_some_and(|info| info.stage == ConnectionStage::Connected);
                (id, connected)
            })
            .collect()
    }
}

/// What the endpoints read from.
struct Probe {
    db: Db,
    clock: Clock,
    handle: PrometheusHandle,
    /// `None` in a worker, which holds no gateway connection.
    gateway: Option<Gateway>,
}

/// Serves `/metrics` and `/healthz` at `addr` in the background; fails at once if `addr`
/// cannot be bound. On the axum the crate already uses for its emulator: the exporter's own
/// listener serves only metrics, not a health check that needs the database and the shards.
pub async fn serve(
    addr: SocketAddr,
    handle: PrometheusHandle,
    db: Db,
    clock: Clock,
    gateway: Option<Gateway>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on COACHBOT_METRICS_ADDR {addr}"))?;
    let bound = listener
        .local_addr()
        .context("reading the metrics address")?;
    let probe = Arc::new(Probe {
        db,
        clock,
        handle,
        gateway,
    });
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(metrics_page))
        .route("/healthz", axum::routing::get(health_page))
        .with_state(probe);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics server stopped");
        }
    });
    tracing::info!(address = %bound, "serving /metrics and /healthz");
    Ok(bound)
}

async fn metrics_page(State(probe): State<Arc<Probe>>) -> impl IntoResponse {
    if let Err(error) = refresh(&probe).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "metrics from the database are stale"
        );
    }
    if let Some(gateway) = &probe.gateway {
        for (shard, connected) in gateway.shards().await {
            gauge!(SHARD_CONNECTED, "shard" => shard.to_string())
                .set(f64::from(u8::from(connected)));
        }
    }
    probe.handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        probe.handle.render(),
    )
}

/// The gauges the database knows, as they are now.
async fn refresh(probe: &Probe) -> anyhow::Result<()> {
    let now = probe.clock.now();
    let (backlog, oldest, open) = tokio::time::timeout(DATABASE_TIMEOUT, async {
        anyhow::Ok((
            gauges::backlog(&probe.db).await?,
            gauges::oldest_due(&probe.db, now).await?,
            gauges::open_checkins(&probe.db).await?,
        ))
    })
    .await
    .context("the database did not answer in time")??;
    // Every kind the program writes is shown, at 0 when none waits, so an alert on a kind
    // has a series to read before its first backlog.
    let mut by_kind: BTreeMap<&str, i64> = crate::domain::outbox::KINDS
        .iter()
        .map(|kind| (*kind, 0))
        .collect();
    for (kind, count) in &backlog {
        by_kind.insert(kind.as_str(), *count);
    }
    for (kind, count) in by_kind {
        gauge!(OUTBOX_BACKLOG, "kind" => kind.to_owned()).set(count as f64);
    }
    let lag = oldest.map_or(0.0, |due| {
        (now - due).to_std().unwrap_or_default().as_secs_f64()
    });
    gauge!(SCHEDULER_LAG).set(lag);
    gauge!(OPEN_CHECKINS).set(open as f64);
    if matches!(probe.db, Db::Sqlite(_)) {
        gauge!(SQLITE_MEMORY).set(crate::store::sqlite_memory() as f64);
    }
    Ok(())
}

/// 200 `ok` when the database answers and (in a gateway process) every shard is connected;
/// 503 with each reason on its own line otherwise.
async fn health_page(State(probe): State<Arc<Probe>>) -> impl IntoResponse {
    let mut problems = Vec::new();
    match tokio::time::timeout(DATABASE_TIMEOUT, gauges::ping(&probe.db)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => problems.push(format!("database: {error:#}")),
        Err(_) => problems.push(format!(
            "database: no answer within {} seconds",
            DATABASE_TIMEOUT.as_secs()
        )),
    }
    if let Some(gateway) = &probe.gateway {
        let shards = gateway.shards().await;
        let down: Vec<String> = shards
            .iter()
            .filter(|(_, connected)| !**connected)
            .map(|(shard, _)| shard.to_string())
            .collect();
        if shards.is_empty() {
            problems.push("gateway: no shard has connected yet".to_owned());
        } else if !down.is_empty() {
            problems.push(format!("gateway: shard {} not connected", down.join(", ")));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", problems.join("\n")),
        )
    }
}
