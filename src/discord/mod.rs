//! The thin Discord layer: poise commands grouped by feature, one error handler, and the
//! serenity client wired to Discord or to the local emulator.

mod assessment;
mod away;
mod barrier;
mod brief;
mod calendar;
mod caller;
pub mod checkin;
mod complete;
mod cycle;
mod dates;
mod digest;
mod digest_snooze;
mod errors;
mod events;
mod export;
mod feed;
pub mod followup;
mod goal;
mod help;
mod indicator;
mod member_list;
mod privacy;
mod reminders;
mod schedule;
pub(crate) mod scope;
mod session;
mod setup;
pub mod shards;
mod step;
mod summary;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::config::Token;

pub use caller::resolve_access;
pub use shards::ShardRange;

/// Errors inside commands: `UserError`s are shown to the person, the rest are logged.
pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, App, Error>;

/// How the bot process runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Run the scheduler loop (tests drive `Scheduler::tick` themselves instead).
    pub scheduler: bool,
    /// Ask for the Server Members intent, so role changes reach the bot as they happen.
    pub members: bool,
    /// The shards this process runs, for the "ready" line (`None`: one unsharded connection).
    pub shards: Option<ShardRange>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scheduler: true,
            members: true,
            shards: None,
        }
    }
}

/// The gateway intents coachbot asks for. Check-in answers arrive as DMs, whose content
/// Discord always delivers; the one privileged intent, Server Members (`members`), brings
/// each server's member list (asked for with opcode 8, see `member_list`), arrivals, role
/// changes and departures (GUILD_MEMBER_ADD / UPDATE / REMOVE), so school-wide check-ins
/// reach everyone with a mapped role and access follows Discord's roles without waiting for
/// the person's next command.
pub fn intents(members: bool) -> serenity::GatewayIntents {
    let base = serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::DIRECT_MESSAGES;
    if members {
        base | serenity::GatewayIntents::GUILD_MEMBERS
    } else {
        base
    }
}

/// What to say when Discord refuses the Server Members intent (close 4014).
pub const MEMBERS_INTENT_OFF: &str = "Discord refused the Server Members intent: switch it on \
     for this application (Developer Portal, Bot, Privileged Gateway Intents) so role changes \
     reach coachbot at once and school-wide check-ins reach everyone with a mapped role; until \
     then roles are read when people use a command";

/// What to say when Discord refuses the bot token.
pub const TOKEN_REFUSED: &str = "Discord refused the bot token: check DISCORD_TOKEN (or \
     DISCORD_TOKEN_FILE) against the Bot page of your application in the Developer Portal";

/// Whether a client stopped because Discord refused its token (401 on REST, close 4004).
pub fn token_refused(error: &serenity::Error) -> bool {
    match error {
        serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => true,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            response.status_code == serenity::StatusCode::UNAUTHORIZED
        }
        _ => false,
    }
}

/// Whether a client stopped because Discord refused a privileged intent (close 4014).
pub fn intent_refused(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents)
    )
}

/// Every command coachbot registers.
pub fn commands() -> Vec<poise::Command<App, Error>> {
    vec![
        setup::setup(),
        indicator::indicator(),
        assessment::assessment(),
        step::step(),
        barrier::barrier(),
        checkin::checkin(),
        followup::followup(),
        schedule::schedule(),
        digest::digest(),
        summary::summary(),
        export::export(),
        away::away(),
        calendar::calendar(),
        cycle::cycle(),
        brief::brief(),
        reminders::reminders(),
        feed::feed(),
        goal::goal(),
        help::help(),
        // Coaching sessions (issue K).
        session::session(),
        // Privacy rights (issue L).
        privacy::privacy(),
    ]
}

fn framework_options() -> poise::FrameworkOptions<App, Error> {
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

/// poise's framework, each event handled inside a span that says what it is and whose: a
/// command (its name, server, person and interaction), a click or a form (its id), a DM (the
/// person, the message id), and the gateway shard it arrived on. Never message text, answers
/// or tokens.
struct Traced(poise::Framework<App, Error>);

#[serenity::async_trait]
impl serenity::Framework for Traced {
    async fn init(&mut self, client: &serenity::Client) {
        self.0.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        let span = span_for(ctx.shard_id, &event);
        if span.is_none() {
            self.0.dispatch(ctx, event).await;
            return;
        }
        let command = command_name(&event);
        // At debug level, one line per command, click, form or DM once handled: with its
        // span it says which shard (and so which process) handled what.
        let handled = async move {
            self.0.dispatch(ctx, event).await;
            tracing::debug!("handled");
        };
        let handling = tracing::Instrument::instrument(handled, span);
        match command {
            Some(name) => crate::metrics::time_command(name, handling).await,
            None => handling.await,
        }
    }
}

/// A slash command's name with its subcommand (`step add`), for the commands metric.
fn command_name(event: &serenity::FullEvent) -> Option<String> {
    let serenity::FullEvent::InteractionCreate {
        interaction: serenity::Interaction::Command(command),
    } = event
    else {
        return None;
    };
    let sub = command.data.options.first().filter(|o| {
        matches!(
            o.value,
            serenity::CommandDataOptionValue::SubCommand(_)
                | serenity::CommandDataOptionValue::SubCommandGroup(_)
        )
    });
    Some(match sub {
        Some(sub) => format!("{} {}", command.data.name, sub.name),
        None => command.data.name.clone(),
    })
}

fn span_for(shard: serenity::ShardId, event: &serenity::FullEvent) -> tracing::Span {
    let shard = shard.0;
    use serenity::{FullEvent, Interaction};
    match event {
        FullEvent::InteractionCreate {
            interaction: Interaction::Command(command),
        } => {
            let sub = command
                .data
                .options
                .first()
                .filter(|o| {
                    matches!(
                        o.value,
                        serenity::CommandDataOptionValue::SubCommand(_)
                            | serenity::CommandDataOptionValue::SubCommandGroup(_)
                    )
                })
                .map_or("", |o| o.name.as_str());
            tracing::info_span!(
                "command",
                name = %command.data.name,
                sub,
                server = command.guild_id.map(serenity::GuildId::get),
                user = command.user.id.get(),
                interaction = command.id.get(),
                shard,
            )
        }
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(click),
        } => tracing::info_span!(
            "click",
            id = %click.data.custom_id,
            user = click.user.id.get(),
            interaction = click.id.get(),
            shard,
        ),
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(form),
        } => tracing::info_span!(
            "form",
            id = %form.data.custom_id,
            user = form.user.id.get(),
            interaction = form.id.get(),
            shard,
        ),
        FullEvent::Message { new_message } if new_message.guild_id.is_none() => {
            tracing::info_span!(
                "dm",
                user = new_message.author.id.get(),
                message_id = new_message.id.get(),
                shard,
            )
        }
        _ => tracing::Span::none(),
    }
}

/// Builds the client on `app`: poise framework, commands registered globally on READY, and
/// (unless `options` say otherwise) the scheduler loop started on the same `app`.
pub async fn client(
    app: App,
    token: &Token,
    api_url: Option<&str>,
    options: Options,
) -> anyhow::Result<serenity::Client> {
    client_with_http(app, crate::outbound::http_client(token, api_url), options).await
}

/// Like [`client`], on an `http` built by the caller (a test's production path:
/// `outbound::http_client_through`). The gateway's address comes from `GET /gateway` on it.
pub async fn client_with_http(
    app: App,
    http: serenity::Http,
    options: Options,
) -> anyhow::Result<serenity::Client> {
    let framework = poise::Framework::builder()
        .options(framework_options())
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands)
                    .await
                    .context("registering slash commands")?;
                // The first shard's READY: its servers, not the process's.
                let shards = options
                    .shards
                    .map_or_else(|| "0 of 1".to_owned(), |s| s.to_string());
                tracing::info!(
                    bot = %ready.user.name,
                    servers = ready.guilds.len(),
                    %shards,
                    "coachbot is ready on shards {shards}: slash commands registered"
                );
                if options.scheduler {
                    tokio::spawn(app.scheduler().run());
                }
                Ok(app)
            })
        })
        .build();
    serenity::ClientBuilder::new_with_http(http, intents(options.members))
        .type_map_insert::<member_list::MembersIntent>(options.members)
        .type_map_insert::<member_list::NextRequest>(std::sync::Arc::default())
        .framework(Traced(framework))
        .await
        .context("building the Discord client")
}
