//! coachbot under load: the server it serves (schools, teams, coaches), set up through its
//! own commands, and the bot itself on one backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use coachbot::app::App;
use coachbot::clock::Clock;
use coachbot::config::Sending;
use coachbot::domain::ids::{SchoolId, ServerId};
use coachbot::domain::text::thousands;
use coachbot::emulator::world::permissions;
use coachbot::emulator::{Emulator, Reply, Rules};
use coachbot::store::{Db, db_id};
use serde_json::{Value, json};

use super::common::{Backend, Fresh};
use super::{
    Bot, Check, IN_FLIGHT, Invocation, KEEP, LARGE, Level, Make, SMALL, WAIT, row, token,
    warm_drive, warm_up,
};

/// The server the coachbot runs use: three schools, their teams and the coaches.
pub(super) struct World {
    pub(super) guild: u64,
    pub(super) general: u64,
    /// Lincoln's team: they add steps there, owned by each other.
    pub(super) lincoln_team: Vec<u64>,
    /// Coaches of every school: they list the plans.
    pub(super) coaches: Vec<u64>,
}

/// `/step add` by Lincoln's team in turn, each step owned by the next of them, every title
/// new.
pub(super) fn step_add(world: &Arc<World>) -> Make {
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
pub(super) struct Roles {
    pub(super) owner: u64,
    lincoln_channel: u64,
    lincoln: u64,
    small: u64,
    large: u64,
    coach: u64,
    small_team: Vec<u64>,
    large_team: Vec<u64>,
}

pub(super) fn build_world(emu: &Emulator) -> anyhow::Result<(World, Roles)> {
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
pub(super) struct Coachbot {
    pub(super) name: &'static str,
    pub(super) bot: Bot,
    db: Db,
    fresh: Fresh,
    world: Arc<World>,
}

impl Coachbot {
    /// Opens a fresh database, connects coachbot to its own emulator and sets the server up
    /// through its commands; with `lists`, seeds the two schools `/step list` reads.
    pub(super) async fn start(
        backend: &Backend,
        rules: &Rules,
        lists: bool,
    ) -> anyhow::Result<Self> {
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
                coachbot::store::schools::named(&schools, name)
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
    pub(super) async fn written(&self) -> anyhow::Result<(usize, usize)> {
        let steps = coachbot::store::steps::count(&self.db, self.server()).await?;
        let rows = coachbot::store::outbox::all(&self.db, self.server()).await?;
        let announced = rows.iter().filter(|r| r.kind == "announcement").count();
        Ok((usize::try_from(steps)?, announced))
    }

    /// `/step list` by the coaches, on the 20-step school and the 5,000-step one, `reads`
    /// commands a level (one round each, warmed up): per level, the 20-step and the 5,000-step
    /// figures.
    pub(super) async fn lists(&self, reads: usize) -> anyhow::Result<Vec<(Level, Level)>> {
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
    pub(super) fn print_lists(&self, lists: &[(Level, Level)], bare: &[Level]) {
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

    pub(super) async fn stop(self) -> anyhow::Result<()> {
        self.bot.stop().await;
        drop(self.db);
        self.fresh.close().await
    }
}
