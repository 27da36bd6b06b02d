//! The bare poise bots: one whose command takes no options, one whose command takes
//! `/step add`'s; both only reply.

use std::sync::Arc;

use anyhow::Context as _;
use coachbot::emulator::{Emulator, Rules};
use poise::serenity_prelude as serenity;

use super::world::{build_world, step_add};
use super::{Bot, Check, Invocation, KEEP, Make, token, warm_up};

type BareContext<'a> = poise::Context<'a, (), anyhow::Error>;

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

/// The bare bot on coachbot's server (the same members and roles), warmed up.
pub(super) async fn bare_bot(rules: &Rules, bare: Bare) -> anyhow::Result<Bot> {
    let emu = Arc::new(Emulator::start_with_rules(None, 0, false, rules.clone()).await?);
    // Thousands of commands: keep only recent calls and messages, as a long sandbox does.
    emu.keep_recent(KEEP);
    let (world, roles) = build_world(&emu)?;
    let (owner, general) = (roles.owner, world.general);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: match bare {
                Bare::Ping => vec![ping()],
                Bare::StepAdd => vec![step()],
            },
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(())
            })
        })
        .build();
    let http = coachbot::outbound::http_client(&token()?, Some(emu.api_url()));
    let client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .context("building the bare bot")?;
    let (make, check): (Make, Check) = match bare {
        Bare::StepAdd => (step_add(&Arc::new(world)), |r| {
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
    Ok(bot)
}
