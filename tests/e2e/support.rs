//! `TestBot::spawn(backend)`: the emulator with a small server, the real bot, a fresh database
//! (a temp SQLite file, or a uniquely named PostgreSQL database dropped afterwards).

use coachbot::domain::ids::{SchoolId, ServerId, UserId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use coachbot::app::App;
use coachbot::clock::Clock;
use coachbot::config::{Config, Sending, Token};
use coachbot::discord::Options;
use coachbot::emulator::world::permissions;
use coachbot::emulator::{Emulator, Interaction, Reply};
use coachbot::store::{Backend, Db, db_id};
use serde_json::Value;
use sqlx::Connection as _;
use tokio::task::JoinHandle;

/// How long a test waits for the bot before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// Asks `probe` every 50 ms until it answers `Ok`, for at most [`WAIT`]: the value it gave.
/// Its `Err` says how things stand; when time runs out the test fails with "never {what}"
/// and the last of those.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(state) => assert!(
                tokio::time::Instant::now() < deadline,
                "never {what}:\n{state}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `count` people on Lincoln's team in Discord (a role mapped to it, so a scheduled check-in
/// that reads their roles as they are now finds them there), each with a member row and a
/// check-in schedule that came due a minute ago. With `known_dms`, the bot has written to
/// each before (their DM channels are stored). Stops the test's bot first: the processes
/// under test do the sending. PostgreSQL only (the rows go in with `UNNEST`).
#[allow(dead_code)] // for the fleet and budget tests, their own binaries
pub async fn team_checkins_due(
    bot: &TestBot,
    plan: &Plan,
    role_name: &str,
    count: usize,
    known_dms: bool,
) -> Vec<u64> {
    let team = bot
        .emu
        .add_role(bot.ids.guild, role_name, permissions::EVERYONE_DEFAULT)
        .expect("role");
    let mapped = bot
        .command(
            bot.ids.owner,
            bot.ids.general,
            "setup role",
            &[
                ("discord_role", serde_json::json!(team)),
                ("coachbot_role", serde_json::json!("leadership team")),
                ("school", serde_json::json!("Lincoln Elementary")),
            ],
        )
        .await;
    assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
    bot.stop().await;
    let mut people = Vec::with_capacity(count);
    let mut dms: Vec<Option<i64>> = Vec::with_capacity(count);
    for i in 0..count {
        let person = bot.emu.add_user(&format!("Person {i}"));
        bot.emu
            .add_member(bot.ids.guild, person, &[team])
            .expect("member");
        dms.push(known_dms.then(|| db_id(bot.emu.open_dm(person))));
        people.push(person);
    }
    let Db::Postgres(pool) = &bot.db else {
        panic!("a PostgreSQL database")
    };
    let now = chrono::Utc::now();
    let ids: Vec<i64> = people.iter().copied().map(db_id).collect();
    sqlx::query(
        "INSERT INTO members (server_id, user_id, display_name, dm_channel_id, created_at, updated_at)
         SELECT $1, p, 'Person ' || p, dm, $2, $2 FROM UNNEST($3::bigint[], $4::bigint[]) AS t (p, dm)",
    )
    .bind(db_id(bot.ids.guild))
    .bind(now)
    .bind(&ids)
    .bind(&dms)
    .execute(pool)
    .await
    .expect("members");
    sqlx::query(
        "INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone,
                                next_fire_at, created_by, created_at, updated_at)
         SELECT $1, $2, 'checkin', p, 'wellbeing', 'daily 08:00', 'America/Chicago', $3, $4, $5, $5
         FROM UNNEST($6::bigint[]) AS p",
    )
    .bind(db_id(bot.ids.guild))
    .bind(plan.lincoln)
    .bind(now - chrono::TimeDelta::minutes(1))
    .bind(db_id(plan.casey))
    .bind(now)
    .bind(&ids)
    .execute(pool)
    .await
    .expect("due schedules");
    people
}

/// The environment variable naming the PostgreSQL server for tests.
pub const PG_ENV: &str = "TEST_DATABASE_URL";

/// Ids of the server every test starts with.
pub struct Ids {
    pub guild: u64,
    pub general: u64,
    pub lincoln_channel: u64,
    /// Owns the server: a Discord administrator, so a coachbot admin.
    pub owner: u64,
    /// A member with no role at all.
    pub nobody: u64,
    /// A Discord role nothing is mapped to yet.
    pub staff_role: u64,
    /// A member holding `staff_role`.
    pub staffer: u64,
}

impl Ids {
    /// The test server as the store knows it.
    pub fn server(&self) -> ServerId {
        ServerId::new(self.guild)
    }
}

/// How the bot's REST requests reach the emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpPath {
    /// serenity's proxy setting, to the emulator's plain port; serenity's rate limiter off
    /// (it would send to Discord itself). Every test but those that say otherwise.
    Proxy,
    /// Production's path: no proxy, serenity's rate limiter on, `https://discord.com`
    /// resolved to the emulator's TLS port (`Emulator::tls_client`).
    Production,
}

/// A bot process (its `App`, client task and shards).
struct Running {
    app: App,
    /// The serenity client's own HTTP client (poise's replies go through it).
    http: Arc<serenity::all::Http>,
    client: JoinHandle<()>,
    shards: Arc<serenity::all::ShardManager>,
}

fn token() -> Token {
    Config::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "test-token".to_owned()))
        .expect("config")
        .token()
        .expect("token")
        .clone()
}

/// A serenity HTTP client to the emulator along `path`.
fn http(emu: &Emulator, path: HttpPath) -> serenity::all::Http {
    match path {
        HttpPath::Proxy => coachbot::outbound::http_client(&token(), Some(emu.api_url())),
        HttpPath::Production => coachbot::outbound::http_client_through(
            &token(),
            emu.tls_client().expect("the emulator's TLS client builds"),
        ),
    }
}

/// The `App` of a bot process on the test's database and emulator.
fn app(emu: &Emulator, db: &Db, sending: Sending, path: HttpPath) -> App {
    App::with_http(
        db.clone(),
        Arc::new(http(emu, path)),
        sending,
        Clock::system(),
    )
    .expect("prompt files load")
}

async fn start_client(emu: &Emulator, db: &Db, options: Options, path: HttpPath) -> Running {
    let app = app(emu, db, Sending::default(), path);
    let mut client = coachbot::discord::client_with_http(app.clone(), http(emu, path), options)
        .await
        .expect("the client builds");
    let http = client.http.clone();
    let shards = client.shard_manager.clone();
    let client = tokio::spawn(async move {
        if let Err(error) = client.start().await {
            eprintln!("client stopped: {error:#}");
        }
    });
    Running {
        app,
        http,
        client,
        shards,
    }
}

pub struct TestBot {
    pub emu: Emulator,
    pub db: Db,
    /// The database's URL, for bot processes started beside the test.
    pub url: String,
    pub ids: Ids,
    /// How the bot's requests reach the emulator, for every process a test starts.
    pub http_path: HttpPath,
    running: std::sync::Mutex<Option<Running>>,
    _sqlite_dir: Option<tempfile::TempDir>,
    _pg: Option<PgTestDb>,
}

/// Starts the emulator, the bot (its requests taking `http_path`) and a fresh database;
/// `None` (with a note on stderr) when the backend is not available.
pub async fn spawn_bot(backend: Backend, http_path: HttpPath) -> Option<TestBot> {
    let (url, sqlite_dir, pg) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temp dir");
            let url = format!("sqlite://{}", dir.path().join("coachbot.db").display());
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let pg = PgTestDb::create().await?;
            (pg.url.clone(), None, Some(pg))
        }
    };
    let emu = Emulator::start().await.expect("the emulator starts");
    if !emu.spec_loaded() {
        eprintln!(
            "note: Discord's OpenAPI document was not found (set DISCORD_OPENAPI_SPEC): \
                 requests are not checked against it in this run"
        );
    }
    let ids = build_world(&emu);
    let db = Db::open(&url)
        .await
        .expect("the database opens and migrates");
    // Tests drive the scheduler one tick at a time; the loop runs only where a test asks.
    let running = start_client(
        &emu,
        &db,
        Options {
            scheduler: false,
            ..Options::default()
        },
        http_path,
    )
    .await;
    emu.wait_for_commands(WAIT)
        .await
        .expect("the bot registers its commands");
    Some(TestBot {
        emu,
        db,
        url,
        ids,
        http_path,
        running: std::sync::Mutex::new(Some(running)),
        _sqlite_dir: sqlite_dir,
        _pg: pg,
    })
}

impl TestBot {
    /// Stops the bot process, as a crash or a deploy would; the database and emulator stay.
    pub async fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(running) = running {
            running.client.abort();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), running.shards.shutdown_all()).await;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.emu.bot_connected() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!self.emu.bot_connected(), "the bot did not disconnect");
    }

    /// Starts a new bot process on the same database and waits until it is ready.
    pub async fn start(&self) {
        self.start_with(Options {
            scheduler: false,
            ..Options::default()
        })
        .await;
    }

    /// Starts a new bot process with these options.
    pub async fn start_with(&self, options: Options) {
        let before = self.emu.ready_count();
        let running = start_client(&self.emu, &self.db, options, self.http_path).await;
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(running);
        self.emu
            .wait_ready(before + 1, WAIT)
            .await
            .expect("the bot connects again");
    }

    /// The moment a person takes before clicking what just appeared. poise registers its
    /// collectors (e.g. for a modal) right after sending; a person is never faster.
    pub async fn human_pause(&self) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// The running bot process's `App` (the one its commands and events use); while the
    /// bot is stopped, the `App` of a process that has no gateway connection.
    pub fn app(&self) -> App {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|r| r.app.clone())
            .unwrap_or_else(|| app(&self.emu, &self.db, Sending::default(), self.http_path))
    }

    /// Another process's `App` on `db` (e.g. a second pool on the test's database): its own
    /// scheduler, check-in engine and in-process locks, the same emulator.
    pub fn app_on(&self, db: &Db) -> App {
        app(&self.emu, db, Sending::default(), self.http_path)
    }

    /// The running bot's serenity HTTP client (the one poise answers through).
    pub fn client_http(&self) -> Option<Arc<serenity::all::Http>> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|r| r.http.clone())
    }

    /// The running bot's scheduler, to drive with a fixed `now`.
    pub fn scheduler(&self) -> coachbot::outbox::Scheduler {
        self.app().scheduler()
    }

    /// The scheduler of another process on the same database, with its own pace and lease.
    pub fn scheduler_with(&self, sending: Sending) -> coachbot::outbox::Scheduler {
        app(&self.emu, &self.db, sending, self.http_path).scheduler()
    }

    /// Runs a slash command as `user` in `channel` and waits for the reply.
    pub async fn command(
        &self,
        user: u64,
        channel: u64,
        invocation: &str,
        options: &[(&str, Value)],
    ) -> Reply {
        let interaction = self
            .emu
            .slash_command(user, channel, invocation, options)
            .expect("the emulator builds the interaction");
        let reply = self.reply(&interaction).await;
        self.announcements_sent().await;
        reply
    }

    /// Waits (a little, at most) until the channel announcements a command queued have gone
    /// out: they follow the reply, and a test that counts rows or messages next must not race
    /// them. Announcements that failed and wait for a retry, or that were written due later
    /// for a busy channel, are not waited for.
    pub async fn announcements_sent(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let now = chrono::Utc::now();
            let in_flight = coachbot::store::outbox::all(&self.db, self.ids.server())
                .await
                .expect("the outbox")
                .iter()
                .any(|r| {
                    r.kind == "announcement"
                        && r.status == "pending"
                        && r.last_error.is_none()
                        && (r.lease_owner.is_some() || r.not_before <= now)
                });
            if !in_flight || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn reply(&self, interaction: &Interaction) -> Reply {
        self.emu
            .reply(interaction, WAIT)
            .await
            .expect("the bot answers")
    }

    /// Checks what every e2e test must leave true: no request Discord would reject, no route
    /// the emulator does not know. Then stops the bot.
    pub async fn finish(self) {
        let violations = self.emu.violations();
        assert!(
            violations.is_empty(),
            "requests broke Discord's API: {violations:#?}"
        );
        let unhandled: Vec<String> = self
            .emu
            .unhandled()
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect();
        assert!(
            unhandled.is_empty(),
            "the bot called routes the emulator does not know: {unhandled:?}"
        );
        let problems: Vec<String> = self
            .emu
            .take_problems()
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        assert!(
            problems.is_empty(),
            "the emulator refused requests the test did not expect: {problems:#?}"
        );
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(running) = running {
            running.client.abort();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), running.shards.shutdown_all()).await;
        }
        self.db.close().await;
    }
}

fn build_world(emu: &Emulator) -> Ids {
    let owner = emu.add_user("Olive Owner");
    let guild = emu.add_guild("Riverbend District", owner);
    let general = emu.add_text_channel(guild, "general").expect("channel");
    let lincoln_channel = emu
        .add_text_channel(guild, "lincoln-leadership")
        .expect("channel");
    let nobody = emu.add_user("Nadia Nobody");
    emu.add_member(guild, nobody, &[]).expect("member");
    let staff_role = emu
        .add_role(guild, "Staff", permissions::EVERYONE_DEFAULT)
        .expect("role");
    let staffer = emu.add_user("Sam Staffer");
    emu.add_member(guild, staffer, &[staff_role])
        .expect("member");
    Ids {
        guild,
        general,
        lincoln_channel,
        owner,
        nobody,
        staff_role,
        staffer,
    }
}

/// A PostgreSQL database made for one test, dropped when this is dropped (even on panic).
pub struct PgTestDb {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgTestDb {
    pub async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var(PG_ENV) else {
            eprintln!(
                "skipping the PostgreSQL run: {PG_ENV} is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            return None;
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "coachbot_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000_000
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connecting to {PG_ENV}"))
            .expect("PostgreSQL is reachable at TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("the test database is created");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            url,
            admin_url,
            name,
        })
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime we may block: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await
                    {
                        eprintln!("could not drop test database {name}: {error}");
                    }
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let without_db = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && i > base.find("://").map_or(0, |p| p + 2) => {
            &base[..i]
        }
        _ => base,
    };
    match query {
        Some(q) => format!("{without_db}/{name}?{q}"),
        None => format!("{without_db}/{name}"),
    }
}

/// Declares an end-to-end test that runs once on SQLite and once on PostgreSQL. It starts with
/// `via Production;` for a bot on production's HTTP path ([`HttpPath::Production`]).
#[macro_export]
macro_rules! e2e {
    ($(#[$meta:meta])* async fn $name:ident($bot:ident) $body:block) => {
        $crate::e2e!(via Proxy; $(#[$meta])* async fn $name($bot) $body);
    };
    (via $path:ident; $(#[$meta:meta])* async fn $name:ident($bot:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($bot: &$crate::support::TestBot) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::run(coachbot::store::Backend::Sqlite, $crate::support::HttpPath::$path, |bot| Box::pin(body(bot))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(pg_tests),
                ignore = "PostgreSQL run: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) when building the tests"
            )]
            async fn postgres() {
                $crate::support::run(coachbot::store::Backend::Postgres, $crate::support::HttpPath::$path, |bot| Box::pin(body(bot))).await;
            }
        }
    };
}

pub async fn run(
    backend: Backend,
    http_path: HttpPath,
    test: impl for<'a> FnOnce(
        &'a TestBot,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>,
) {
    let Some(bot) = spawn_bot(backend, http_path).await else {
        return;
    };
    // A request Discord would refuse fails the test where it happens, not at the end.
    let mut problems = bot.emu.subscribe_problems();
    tokio::select! {
        () = test(&bot) => {}
        problem = next_problem(&mut problems) => {
            let body = problem
                .call
                .and_then(|index| bot.emu.calls().get(index).and_then(|c| c.body.clone()));
            panic!("the emulator refused a request the test did not expect: {problem}\nrequest body: {body:#?}");
        }
    }
    bot.finish().await;
}

/// The next problem the emulator reports (one a test expected is never reported).
async fn next_problem(
    problems: &mut tokio::sync::broadcast::Receiver<coachbot::emulator::Problem>,
) -> coachbot::emulator::Problem {
    loop {
        match problems.recv().await {
            Ok(problem) => return problem,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Two schools with their teams, a coach, and Lincoln focusing on 12a — set up through the
/// bot's own commands, as an admin would.
pub struct Plan {
    pub lincoln: SchoolId,
    pub terry: u64,
    pub jordan: u64,
    pub wendy: u64,
    /// Lincoln's principal.
    pub pat: u64,
    /// The coach of every school.
    pub casey: u64,
}

impl TestBot {
    pub async fn plan(&self) -> Plan {
        let ids = &self.ids;
        let emu = &self.emu;
        let role = |name: &str| {
            emu.add_role(ids.guild, name, permissions::EVERYONE_DEFAULT)
                .expect("role")
        };
        let (lincoln_team, washington_team, coaches, lincoln_principal) = (
            role("Lincoln Team"),
            role("Washington Team"),
            role("Coaches"),
            role("Lincoln Principal"),
        );
        let person = |name: &str, roles: &[u64]| {
            let id = emu.add_user(name);
            emu.add_member(ids.guild, id, roles).expect("member");
            id
        };
        let terry = person("Terry Okafor", &[lincoln_team]);
        let jordan = person("Jordan Silva", &[lincoln_team]);
        let wendy = person("Wendy Chen", &[washington_team]);
        let casey = person("Casey Morgan", &[coaches]);
        let pat = person("Pat Lee", &[lincoln_principal]);
        for (name, zone, channel) in [
            (
                "Lincoln Elementary",
                "America/Chicago",
                Some(ids.lincoln_channel),
            ),
            ("Washington Middle", "America/Denver", None),
        ] {
            let mut options = vec![
                ("name", serde_json::json!(name)),
                ("time_zone", serde_json::json!(zone)),
            ];
            if let Some(channel) = channel {
                options.push(("channel", serde_json::json!(channel)));
            }
            let reply = self
                .command(ids.owner, ids.general, "setup school", &options)
                .await;
            assert!(reply.content.contains("Added"), "{}", reply.content);
        }
        for (discord_role, role, school) in [
            (lincoln_team, "leadership team", Some("Lincoln Elementary")),
            (
                washington_team,
                "leadership team",
                Some("Washington Middle"),
            ),
            (coaches, "coach", None),
            (lincoln_principal, "principal", Some("Lincoln Elementary")),
        ] {
            let mut options = vec![
                ("discord_role", serde_json::json!(discord_role)),
                ("coachbot_role", serde_json::json!(role)),
            ];
            if let Some(school) = school {
                options.push(("school", serde_json::json!(school)));
            }
            let reply = self
                .command(ids.owner, ids.general, "setup role", &options)
                .await;
            assert!(reply.content.starts_with("Done"), "{}", reply.content);
        }
        let mark = emu.call_count();
        let reply = self
            .command(
                terry,
                ids.general,
                "indicator focus",
                &[("indicator", serde_json::json!("12a"))],
            )
            .await;
        assert!(
            reply.content.contains("now focuses on"),
            "{}",
            reply.content
        );
        // The announcement follows the reply: wait for it, so that what a test counts from
        // here on does not include it.
        let announced = format!("/channels/{}/messages", ids.lincoln_channel);
        emu.wait_for_call(mark, WAIT, move |c| {
            c.method == "POST" && c.path == announced
        })
        .await
        .expect("the new focus is announced in Lincoln's channel");
        let schools = coachbot::store::schools::list(&self.db, ids.server())
            .await
            .expect("schools");
        let id_of = |name: &str| {
            schools
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.id)
                .expect("school")
        };
        Plan {
            lincoln: id_of("Lincoln Elementary"),
            terry,
            jordan,
            wendy,
            pat,
            casey,
        }
    }
}

/// How many times `person` was sent the first question of a check-in in their DM.
pub async fn dm_questions(bot: &TestBot, person: u64) -> usize {
    bot.emu
        .dm_channel_of(person)
        .map(|dm| {
            bot.emu
                .messages_in(dm)
                .iter()
                .filter(|m| {
                    m["content"]
                        .as_str()
                        .is_some_and(|c| c.contains("**Question 1 of"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// A daily wellbeing check-in for `person` at Lincoln whose next time is `at`, written straight
/// to the store (as if a coach had scheduled it earlier).
pub async fn checkin_due(
    bot: &TestBot,
    plan: &Plan,
    person: u64,
    at: chrono::DateTime<chrono::Utc>,
) {
    coachbot::store::schedules::create(
        &bot.db,
        &coachbot::store::schedules::NewSchedule {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            person_id: Some(UserId::new(person)),
            flow_id: "wellbeing",
            spec: "daily 08:00",
            time_zone: "America/Chicago",
            next_fire_at: Some(at),
            created_by: UserId::new(plan.casey),
            step_id: None,
        },
        chrono::Utc::now(),
    )
    .await
    .expect("a scheduled check-in");
}

/// The outbox rows of the test's server, leaving out the channel announcements that plan
/// commands queue and the check-in prompts the conversation queues (both sent at once): what
/// the scheduler queued and composed.
pub async fn queued(bot: &TestBot) -> Vec<coachbot::store::outbox::OutboxRow> {
    coachbot::store::outbox::all(&bot.db, bot.ids.server())
        .await
        .expect("the outbox")
        .into_iter()
        .filter(|row| row.kind != "announcement" && row.kind != "prompt")
        .collect()
}

/// The check-in prompt rows of the test's server, oldest first.
pub async fn prompt_rows(bot: &TestBot) -> Vec<coachbot::store::outbox::OutboxRow> {
    coachbot::store::outbox::all(&bot.db, bot.ids.server())
        .await
        .expect("the outbox")
        .into_iter()
        .filter(|row| row.kind == "prompt")
        .collect()
}
