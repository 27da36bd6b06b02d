//! The bare poise bots: one whose command takes no options, one whose command takes
//! `/step add`'s; both only reply. A third takes `/step add`'s options and writes one row to
//! a SQLite file before it replies: the least any command that stores what it was told costs
//! on this stack.

use std::sync::Arc;

use anyhow::Context as _;
use coachbot::emulator::{Emulator, Rules};
use poise::serenity_prelude as serenity;

use super::world::{build_world, step_add};
use super::{Bot, Check, Invocation, KEEP, Make, token, warm_up};

type BareContext<'a> = poise::Context<'a, Option<Arc<Stored>>, anyhow::Error>;

/// Where the storing bare bot writes: a SQLite file set up as coachbot's is (WAL, `NORMAL`
/// sync), one table of four columns.
pub(super) struct Stored {
    pool: sqlx::SqlitePool,
    _dir: tempfile::TempDir,
}

impl Stored {
    async fn open() -> anyhow::Result<Self> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let dir = tempfile::tempdir().context("a directory for the bare bot's file")?;
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("bare.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .context("opening the bare bot's file")?;
        sqlx::query(
            "CREATE TABLE steps (id INTEGER PRIMARY KEY, title TEXT NOT NULL, \
             indicator TEXT NOT NULL, owner INTEGER NOT NULL, due TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool, _dir: dir })
    }

    /// The rows written: one a command.
    pub(super) async fn rows(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM steps")
            .fetch_one(&self.pool)
            .await?)
    }
}

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
pub(super) enum Bare {
    Ping,
    StepAdd,
    /// `/step add`'s options, and one row written before the reply.
    StepAddStored,
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
    if let Some(stored) = ctx.data() {
        sqlx::query("INSERT INTO steps (title, indicator, owner, due) VALUES ($1, $2, $3, $4)")
            .bind(&title)
            .bind(&indicator)
            .bind(owner.id.get() as i64)
            .bind(&due)
            .execute(&stored.pool)
            .await?;
    }
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

/// The bare bot on coachbot's server (the same members and roles), warmed up, and the file
/// the storing one writes to.
pub(super) async fn bare_bot(
    rules: &Rules,
    bare: Bare,
) -> anyhow::Result<(Bot, Option<Arc<Stored>>)> {
    let emu = Arc::new(Emulator::start_with_rules(None, 0, false, rules.clone()).await?);
    // Thousands of commands: keep only recent calls and messages, as a long sandbox does.
    emu.keep_recent(KEEP);
    let (world, roles) = build_world(&emu)?;
    let (owner, general) = (roles.owner, world.general);
    let stored = match bare {
        Bare::StepAddStored => Some(Arc::new(Stored::open().await?)),
        Bare::Ping | Bare::StepAdd => None,
    };
    let data = stored.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: match bare {
                Bare::Ping => vec![ping()],
                Bare::StepAdd | Bare::StepAddStored => vec![step()],
            },
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(data)
            })
        })
        .build();
    let http = coachbot::outbound::http_client(&token()?, Some(emu.api_url()));
    let client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .context("building the bare bot")?;
    let (make, check): (Make, Check) = match bare {
        Bare::StepAdd | Bare::StepAddStored => (step_add(&Arc::new(world)), |r| {
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
    Ok((bot, stored))
}
