//! Real `coachbot` processes beside a test: the built binary, pointed at the test's emulator
//! and database, killed with SIGKILL (as `kill -9` does) when the test says or when dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use crate::support::TestBot;

const BIN: &str = env!("CARGO_BIN_EXE_coachbot");

/// A running `coachbot run` (or `run --worker`) process and the log lines it has written.
pub struct BotProcess {
    child: Child,
    pub pid: u32,
    lines: Arc<Mutex<Vec<String>>>,
    /// Reads its stderr into `lines` until the process closes it.
    reader: Option<tokio::task::JoinHandle<()>>,
    /// Its working directory: empty, so no `.env` is read.
    _dir: tempfile::TempDir,
}

/// How to start a bot process.
#[derive(Clone, Debug, Default)]
pub struct Launch<'a> {
    /// `run --worker`: the outbox sender without a gateway connection.
    pub worker: bool,
    /// `COACHBOT_CRASH_POINT`: where the process stops until killed.
    pub crash_point: Option<&'a str>,
    /// `COACHBOT_OUTBOX_LEASE_SECS`.
    pub lease_secs: u64,
    /// `COACHBOT_SEND_PER_SECOND` (the default 40 when `None`).
    pub per_second: Option<u64>,
    /// `COACHBOT_METRICS_ADDR`: where it serves `/metrics` and `/healthz` (off when `None`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `--shards`: the gateway shards this process runs (`0-1`); needs `total_shards`.
    pub shards: Option<&'a str>,
    /// `--total-shards`: how many shards the whole bot runs.
    pub total_shards: Option<u32>,
    /// `COACHBOT_LOG` instead of the default `info,serenity=warn,sqlx=warn`.
    pub log: Option<&'a str>,
}

impl BotProcess {
    /// Starts the process against the bot's emulator and database.
    pub fn start(bot: &TestBot, launch: &Launch<'_>) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut command = Command::new(BIN);
        command
            .arg("run")
            .current_dir(dir.path())
            .env("DISCORD_TOKEN", "test-token")
            .env("DISCORD_API_URL", bot.emu.api_url())
            .env("DATABASE_URL", &bot.url)
            .env(
                "COACHBOT_PROMPTS",
                concat!(env!("CARGO_MANIFEST_DIR"), "/prompts"),
            )
            .env(
                "COACHBOT_LOG",
                launch.log.unwrap_or("info,serenity=warn,sqlx=warn"),
            )
            .env(
                "COACHBOT_OUTBOX_LEASE_SECS",
                launch.lease_secs.max(2).to_string(),
            )
            .env_remove("DISCORD_TOKEN_FILE")
            .env_remove("RUST_LOG")
            .env_remove("COACHBOT_CRASH_POINT")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if launch.worker {
            command.arg("--worker");
        }
        if let Some(shards) = launch.shards {
            command.args(["--shards", shards]);
        }
        if let Some(total) = launch.total_shards {
            command.args(["--total-shards", &total.to_string()]);
        }
        if let Some(point) = launch.crash_point {
            command.env("COACHBOT_CRASH_POINT", point);
        }
        if let Some(rate) = launch.per_second {
            command.env("COACHBOT_SEND_PER_SECOND", rate.to_string());
        }
        match launch.metrics_addr {
            Some(addr) => command.env("COACHBOT_METRICS_ADDR", addr.to_string()),
            None => command.env_remove("COACHBOT_METRICS_ADDR"),
        };
        let mut child = command.spawn().expect("the coachbot binary starts");
        let pid = child.id().expect("a pid");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = lines.clone();
        let reader = tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Self {
            child,
            pid,
            lines,
            reader: Some(reader),
            _dir: dir,
        }
    }

    /// Waits for a log line containing `needle`; panics with the log after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "process {} never logged `{needle}`:\n{}",
                self.pid,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Waits for the process to exit on its own; its exit status.
    pub async fn exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => {
                // Its last lines may still be on their way from the pipe.
                if let Some(reader) = self.reader.take() {
                    let _ = tokio::time::timeout(timeout, reader).await;
                }
                status.expect("the process ends")
            }
            Err(_) => panic!("process {} is still running:\n{}", self.pid, self.log()),
        }
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL is sent");
        let status = self.child.wait().await.expect("the process ends");
        assert!(!status.success(), "killed, not exited: {status:?}");
    }
}
