//! The `coachbot` program itself: settings errors, `migrate`, `run` against `coachbot
//! emulator`, and the sandbox's prompt.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_coachbot");

/// A child process killed when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The program with a clean environment in an empty directory (so no `.env` is read).
fn coachbot(dir: &tempfile::TempDir) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .env_remove("DISCORD_TOKEN")
        .env_remove("DISCORD_TOKEN_FILE")
        .env_remove("DATABASE_URL")
        .env_remove("DISCORD_API_URL")
        .env_remove("COACHBOT_ALLOW_REMOTE_API")
        .env_remove("RUST_LOG")
        .env("COACHBOT_LOG", "info");
    command
}

/// Lines from a child's stream, read on a thread.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(
    rx: &mpsc::Receiver<String>,
    needle: &str,
    timeout: Duration,
) -> Result<String, Vec<String>> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    Err(seen)
}

/// The one line a failed run printed on stderr, and the whole of stderr for messages:
/// asserts the run failed and printed exactly one line.
fn one_line_failure(output: &std::process::Output) -> (String, String) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    (lines[0].to_owned(), stderr)
}

#[test]
fn run_without_a_token_names_the_variable_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = coachbot(&dir)
        .arg("run")
        .output()
        .expect("the program runs");
    let (line, stderr) = one_line_failure(&output);
    assert!(line.contains("DISCORD_TOKEN"), "{stderr}");
}

#[test]
fn a_malformed_setting_is_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = coachbot(&dir)
        .arg("migrate")
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .expect("the program runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn migrate_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = coachbot(&dir)
        .arg("migrate")
        .env("DATABASE_URL", "sqlite://fresh.db")
        .output()
        .expect("the program runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("fresh.db").is_file());
    #[cfg(unix)]
    assert_eq!(
        mode(&dir.path().join("fresh.db")),
        0o600,
        "only its owner may read it"
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A database file left readable by other users (an older coachbot made them 0644) is made
/// owner-only when the program opens it, and the log says so.
#[cfg(unix)]
#[test]
fn an_existing_database_readable_by_others_is_made_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("old.db");
    std::fs::write(&db, b"").expect("an empty database");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let output = coachbot(&dir)
        .arg("migrate")
        .env("DATABASE_URL", "sqlite://old.db")
        .output()
        .expect("the program runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(mode(&db), 0o600);
    assert!(
        stderr.contains("was readable by other users (mode 644)"),
        "{stderr}"
    );
}

/// `.env` is read from the working directory only: one in a parent directory (here with a
/// setting that would fail) is not read, and the same file beside the program is.
#[test]
fn a_dotenv_in_a_parent_directory_is_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=mysql://from-the-parent\n",
    )
    .expect("a .env");
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).expect("a folder");
    let output = coachbot(&dir)
        .current_dir(&inner)
        .arg("migrate")
        .output()
        .expect("the program runs");
    assert!(
        output.status.success(),
        "the parent's .env was read: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(inner.join("coachbot.db").is_file(), "the default database");

    let output = coachbot(&dir)
        .arg("migrate")
        .output()
        .expect("the program runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the working directory's .env is read"
    );
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

/// `DISCORD_API_URL` receives the bot token: a host other than this machine over plain http
/// is refused in one line that names the variable and says what to do, even with
/// `COACHBOT_ALLOW_REMOTE_API=1`.
#[test]
fn the_sandbox_refuses_a_database_url_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = coachbot(&dir)
        .args([
            "sandbox",
            "--database",
            "postgres://postgres@127.0.0.1:5432/test",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("the program runs");
    let (line, stderr) = one_line_failure(&output);
    assert!(
        line.contains("give --database a file path such as coachbot-sandbox.db"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the directory")
        .collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
}

#[test]
fn a_remote_plain_http_api_url_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    for allow in ["0", "1"] {
        let output = coachbot(&dir)
            .arg("run")
            .env("DISCORD_TOKEN", "local-test-token")
            .env("DISCORD_API_URL", "http://example.com")
            .env("COACHBOT_ALLOW_REMOTE_API", allow)
            .output()
            .expect("the program runs");
        let (line, stderr) = one_line_failure(&output);
        assert!(line.contains("DISCORD_API_URL is refused"), "{stderr}");
        let what_to_do = if allow == "1" {
            "use https://"
        } else {
            "point it at a local emulator"
        };
        assert!(line.contains(what_to_do), "{stderr}");
        assert!(!stderr.contains("local-test-token"), "{stderr}");
    }
    assert!(
        !dir.path().join("coachbot.db").exists(),
        "nothing was started"
    );
}

#[test]
fn run_connects_to_the_emulator_registers_commands_and_logs_ready() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut emulator = Running(
        coachbot(&dir)
            .args(["emulator", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts"),
    );
    let out = lines_of(emulator.0.stdout.take().expect("stdout"));
    let line = wait_for_line(&out, "listening at", Duration::from_secs(30))
        .expect("the emulator prints its URL");
    let url = line.rsplit(' ').next().expect("a URL").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let mut bot = Running(
        coachbot(&dir)
            .arg("run")
            .env("DISCORD_TOKEN", "local-test-token")
            .env("DISCORD_API_URL", &url)
            .env("DATABASE_URL", "sqlite://bot.db")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the bot starts"),
    );
    let log = lines_of(bot.0.stderr.take().expect("stderr"));
    let ready = wait_for_line(&log, "coachbot is ready", Duration::from_secs(60));
    assert!(
        ready.is_ok(),
        "the bot never said it was ready; it logged: {ready:?}"
    );
    assert!(
        ready
            .unwrap_or_default()
            .contains("slash commands registered")
    );
    assert!(
        !format!(
            "{:?}",
            wait_for_line(&log, "local-test-token", Duration::from_millis(200))
        )
        .contains("Ok("),
        "the token is never logged"
    );
}

#[test]
fn a_worker_process_starts_without_the_gateway() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = Running(
        coachbot(&dir)
            .args(["run", "--worker"])
            .env("DISCORD_TOKEN", "local-test-token")
            .env("DISCORD_API_URL", "http://127.0.0.1:9")
            .env("DATABASE_URL", "sqlite://worker.db")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the worker starts"),
    );
    let log = lines_of(worker.0.stderr.take().expect("stderr"));
    let ready = wait_for_line(&log, "worker is ready", Duration::from_secs(30));
    assert!(ready.is_ok(), "{ready:?}");
}

#[test]
fn the_sandbox_prompt_answers_setup_school() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Running(
        coachbot(&dir)
            .arg("sandbox")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sandbox starts"),
    );
    let out = lines_of(sandbox.0.stdout.take().expect("stdout"));
    wait_for_line(&out, "Ready:", Duration::from_secs(60)).expect("the sandbox gets ready");
    let mut stdin = sandbox.0.stdin.take().expect("stdin");
    writeln!(
        stdin,
        r#"/setup school name:"Jefferson High" time_zone:America/Chicago channel:#general"#
    )
    .expect("typed");
    stdin.flush().expect("flushed");
    let reply = wait_for_line(&out, "Jefferson High", Duration::from_secs(30));
    assert!(
        reply
            .as_ref()
            .is_ok_and(|l| l.contains("Added **Jefferson High**")),
        "the bot's reply is shown at the prompt: {reply:?}"
    );
    // `memory` says what the process holds, SQLite's part of it, and the file's size.
    writeln!(stdin, "memory").expect("typed");
    stdin.flush().expect("flushed");
    let memory = wait_for_line(&out, "Memory:", Duration::from_secs(30)).expect("memory answers");
    let megabytes = |marker: &str| -> f64 {
        let (_, tail) = memory.split_once(marker).expect(marker);
        tail.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    let (resident, sqlite, file) = (
        megabytes("Memory: "),
        megabytes("SQLite holds "),
        megabytes("Database: "),
    );
    assert!(
        resident > 1.0 && sqlite > 0.0 && sqlite < resident,
        "{memory}"
    );
    let on_disk = std::fs::metadata(dir.path().join("coachbot-sandbox.db"))
        .expect("the file")
        .len() as f64
        / 1_048_576.0;
    assert!(
        file >= on_disk - 0.05,
        "the file's size, write-ahead log included: {memory} ({on_disk:.2} MB without it)"
    );
    writeln!(stdin, "quit").expect("typed");
    drop(stdin);
    let status = sandbox.0.wait().expect("the sandbox exits");
    assert!(status.success());
    assert!(
        dir.path().join("coachbot-sandbox.db").is_file(),
        "the sandbox keeps a SQLite file"
    );
}

#[test]
fn prompts_check_exit_code_says_clean_warnings_or_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = env!("CARGO_MANIFEST_DIR").to_owned() + "/prompts";
    let clean = coachbot(&dir)
        .args(["prompts", "check", &shipped])
        .output()
        .expect("runs");
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );

    let flow = |question: &str| {
        format!(
            "id = \"x\"\ntitle = \"X\"\nreflection = \"Heard:\"\n[[question]]\npurpose = \"progress\"\ntext = \"{question}\"\n"
        )
    };
    let closed = dir.path().join("closed.toml");
    std::fs::write(&closed, flow("Did you meet the team?")).expect("written");
    let warned = coachbot(&dir)
        .args(["prompts", "check"])
        .arg(&closed)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&warned.stdout);
    assert_eq!(warned.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("warning:") && stdout.contains("What or How"),
        "{stdout}"
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, flow("What about {teacher}?")).expect("written");
    let failed = coachbot(&dir)
        .args(["prompts", "check"])
        .arg(&broken)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error:") && stdout.contains("{teacher}"),
        "{stdout}"
    );
}

#[test]
fn schedule_preview_prints_local_and_utc_fire_times_across_dst() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let output = coachbot(&dir)
            .args(["schedule", "preview"])
            .args(args)
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&[
        "30 2 * * *",
        "--tz",
        "America/New_York",
        "--from",
        "2025-03-08T12:00",
        "--count",
        "2",
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "2025-03-09T03:00:00-04:00  2025-03-09T07:00:00+00:00\n2025-03-10T02:30:00-04:00  2025-03-10T06:30:00+00:00\n"
    );
    let (_, out, _) = run(&[
        "30 1 * * *",
        "--tz",
        "America/New_York",
        "--from",
        "2025-11-01T12:00",
        "--count",
        "2",
    ]);
    assert_eq!(
        out,
        "2025-11-02T01:30:00-04:00  2025-11-02T05:30:00+00:00\n2025-11-03T01:30:00-05:00  2025-11-03T06:30:00+00:00\n"
    );
    let (code, _, err) = run(&["weekdays 08:00", "--tz", "Mars/Olympus"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("Mars/Olympus"), "{err}");
}

/// A spec that matches no date (30 February) is not a silent empty preview: the program exits
/// non-zero with one line saying why; a time such as "8am" reads in a preset.
#[test]
fn schedule_preview_of_a_spec_that_never_fires_exits_non_zero_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = coachbot(&dir)
        .args(["schedule", "preview", "0 0 30 2 *", "--tz", "UTC"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing printed as fire times");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains("0 0 30 2 *") && lines[0].contains("never fires"),
        "{stderr}"
    );

    let output = coachbot(&dir)
        .args([
            "schedule",
            "preview",
            "weekdays 8am",
            "--tz",
            "America/Chicago",
            "--from",
            "2026-11-23T06:00",
            "--count",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "2026-11-23T08:00:00-06:00  2026-11-23T14:00:00+00:00\n"
    );
}
