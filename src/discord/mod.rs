//! The thin Discord layer: poise commands grouped by feature, one error handler, and the
//! serenity client wired to Discord or to the local emulator.

mod access;
mod barrier;
pub mod checkin;
mod complete;
mod digest;
mod errors;
mod events;
mod export;
pub mod followup;
mod help;
mod indicator;
mod schedule;
pub(crate) mod scope;
pub mod send;
mod setup;
mod step;
mod summary;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use std::sync::Arc;

use crate::config::Token;
use crate::domain::flow::Flow;
use crate::domain::framework::Framework;
use crate::store::Db;

pub use access::resolve_access;

/// Errors inside commands: `UserError`s are shown to the person, the rest are logged.
pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// What every command can reach. Cheap to clone: the scheduler holds a copy.
#[derive(Clone)]
pub struct Data {
    pub db: Db,
    /// The framework servers use until they load their own.
    pub default_framework: Arc<Framework>,
    /// The check-in flows from `prompts/checkins`, checked at start-up.
    pub flows: Arc<Vec<Flow>>,
    /// One lock per person for their check-in conversation.
    pub conversations: Arc<checkin::conversation::Conversations>,
    /// Wakes the scheduler when a schedule changes.
    pub wake: Arc<tokio::sync::Notify>,
    /// Sends that need Discord's whole answer (see `send`).
    pub rest: reqwest::Client,
}

impl Data {
    /// Loads and checks the prompt files (a broken file is an error, not a later surprise).
    pub fn load(db: Db) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            default_framework: Arc::new(crate::prompts::default_framework()?),
            flows: Arc::new(crate::prompts::flows()?),
            conversations: Arc::default(),
            wake: Arc::default(),
            rest: reqwest::Client::builder()
                .use_rustls_tls()
                .build()
                .context("building the HTTP client")?,
        })
    }
}

/// How the bot process runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Run the scheduler loop (tests drive `Scheduler::tick` themselves instead).
    pub scheduler: bool,
    /// How the outbox sender paces itself and leases rows.
    pub sending: crate::scheduler::Settings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scheduler: true,
            sending: crate::scheduler::Settings::default(),
        }
    }
}

/// The gateway intents coachbot asks for. None is privileged: check-in answers arrive as DMs,
/// whose content Discord always delivers.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::DIRECT_MESSAGES
}

/// Every command coachbot registers.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![
        setup::setup(),
        indicator::indicator(),
        step::step(),
        barrier::barrier(),
        checkin::checkin(),
        followup::followup(),
        schedule::schedule(),
        digest::digest(),
        summary::summary(),
        export::export(),
        help::help(),
    ]
}

fn framework_options() -> poise::FrameworkOptions<Data, Error> {
    poise::FrameworkOptions {
        commands: commands(),
        on_error: |error| Box::pin(errors::on_error(error)),
        event_handler: |framework, event| Box::pin(events::handle(framework, event)),
        // Replies carry user text: no reply may ping anyone.
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        // Owners get no bypass: coachbot's checks are about school data, not bot ownership.
        skip_checks_for_owners: false,
        initialize_owners: false,
        ..Default::default()
    }
}

/// An HTTP client for Discord, or for the emulator at `api_url`. With a proxy the rate limiter
/// must be off: serenity's limiter builds its requests without the proxy and would reach
/// Discord itself.
pub fn http_client(token: &Token, api_url: Option<&str>) -> serenity::Http {
    let mut builder = serenity::HttpBuilder::new(token.expose());
    if let Some(url) = api_url {
        builder = builder.proxy(url).ratelimiter_disabled(true);
    }
    builder.build()
}

/// Builds the client: poise framework, commands registered globally on READY.
pub async fn client(
    token: &Token,
    api_url: Option<&str>,
    db: Db,
) -> anyhow::Result<serenity::Client> {
    client_with(token, api_url, db, Options::default()).await
}

/// Builds the client with options.
pub async fn client_with(
    token: &Token,
    api_url: Option<&str>,
    db: Db,
    options: Options,
) -> anyhow::Result<serenity::Client> {
    // Prompt files are checked before connecting: a broken file stops start-up, not a command.
    let data = Data::load(db)?;
    let http = http_client(token, api_url);
    let framework = poise::Framework::builder()
        .options(framework_options())
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands)
                    .await
                    .context("registering slash commands")?;
                tracing::info!(
                    bot = %ready.user.name,
                    servers = ready.guilds.len(),
                    "coachbot is ready: slash commands registered"
                );
                if options.scheduler {
                    let scheduler = crate::scheduler::Scheduler::with_settings(
                        data.clone(),
                        ctx.http.clone(),
                        options.sending,
                    );
                    tokio::spawn(scheduler.run());
                }
                Ok(data)
            })
        })
        .build();
    serenity::ClientBuilder::new_with_http(http, intents())
        .framework(framework)
        .await
        .context("building the Discord client")
}

/// Runs the bot until Ctrl-C, then closes the gateway connection cleanly.
pub async fn run(
    token: &Token,
    api_url: Option<&str>,
    db: Db,
    sending: crate::scheduler::Settings,
) -> anyhow::Result<()> {
    let options = Options {
        scheduler: true,
        sending,
    };
    let mut client = client_with(token, api_url, db, options).await?;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down");
            shards.shutdown_all().await;
        }
    });
    client.start().await.context("running the Discord client")
}

/// Runs only the scheduler and outbox sender, over REST, without a gateway connection: the
/// extra processes of a PostgreSQL deployment. DMs (check-in answers) go to the one full bot.
pub async fn run_worker(
    token: &Token,
    api_url: Option<&str>,
    db: Db,
    sending: crate::scheduler::Settings,
) -> anyhow::Result<()> {
    let data = Data::load(db)?;
    let http = Arc::new(http_client(token, api_url));
    tracing::info!("coachbot worker is ready: delivering scheduled messages");
    tokio::select! {
        () = crate::scheduler::Scheduler::with_settings(data, http, sending).run() => Ok(()),
        signal = tokio::signal::ctrl_c() => {
            signal.context("waiting for Ctrl-C")?;
            tracing::info!("shutting down");
            Ok(())
        }
    }
}
