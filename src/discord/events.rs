//! Gateway events that are not commands: DMs, check-in buttons and forms, member lists and
//! member changes.

use poise::serenity_prelude as serenity;

use super::Error;
use super::checkin::buttons;
use super::member_list;
use crate::app::App;
use crate::checkin::{self, Dm};
use crate::store::members::{self, MemberSighting};

pub(super) async fn handle(
    framework: poise::FrameworkContext<'_, App, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let data = framework.user_data().await;
    let result = match event {
        // Every READY (the first, and each new session after a reconnect) may follow DMs the
        // bot never received: read what each open check-in missed.
        serenity::FullEvent::Ready { .. } => checkin::catch_up(&data.checkins, data.now()).await,
        serenity::FullEvent::Message { new_message }
            if new_message.guild_id.is_none() && !new_message.author.bot =>
        {
            let dm = Dm {
                person: new_message.author.id.into(),
                channel: new_message.channel_id.get(),
                message_id: new_message.id.get(),
                text: &new_message.content,
            };
            checkin::on_dm(&data.checkins, &dm, data.now()).await
        }
        // With the Server Members intent: roles follow Discord's at once.
        serenity::FullEvent::GuildMemberUpdate { event, .. } => {
            member_changed(ctx, data, event).await
        }
        serenity::FullEvent::GuildCreate { guild, .. } => {
            member_list::on_guild_create(ctx, data, guild).await
        }
        serenity::FullEvent::GuildMembersChunk { chunk } => {
            member_list::on_chunk(ctx, data, chunk).await
        }
        serenity::FullEvent::GuildMemberAddition { new_member } => {
            member_list::on_join(ctx, data, new_member).await
        }
        serenity::FullEvent::GuildMemberRemoval { guild_id, user, .. } => {
            members::left(&data.db, (*guild_id).into(), user.id.into()).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if component.data.custom_id.starts_with("ci:") => {
            buttons::on_component(ctx, data, component).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if component
            .data
            .custom_id
            .starts_with(super::assessment::FOCUS_PREFIX) =>
        {
            super::assessment::on_make_focus(ctx, data, component).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if super::digest_snooze::is_snooze_button(&component.data.custom_id) => {
            super::digest_snooze::on_click(ctx, data, component).await
        }
        // The confirmation of `/privacy forget`.
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if component
            .data
            .custom_id
            .starts_with(super::privacy::COMPONENT_PREFIX) =>
        {
            super::privacy::on_click(ctx, data, component).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } if modal.data.custom_id.starts_with("ci:") => buttons::on_modal(ctx, data, modal).await,
        // Make it a step, under a coaching session's agreed next steps.
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if component
            .data
            .custom_id
            .starts_with(super::session::AGREE_PREFIX) =>
        {
            super::session::on_click(ctx, data, component).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } if modal
            .data
            .custom_id
            .starts_with(super::session::AGREE_FORM_PREFIX) =>
        {
            super::session::on_form(ctx, data, modal).await
        }
        _ => Ok(()),
    };
    if let Err(error) = &result {
        tracing::error!(
            error = format!("{error:#}"),
            "handling a gateway event failed"
        );
    }
    Ok(())
}

/// A member's roles or name changed: their coachbot roles are recomputed from Discord's.
async fn member_changed(
    ctx: &serenity::Context,
    data: &App,
    event: &serenity::GuildMemberUpdateEvent,
) -> anyhow::Result<()> {
    if event.user.bot {
        return Ok(());
    }
    let server_id = event.guild_id.into();
    let roles: Vec<u64> = event.roles.iter().map(|r| r.get()).collect();
    let grants = members::grants_for(&data.db, server_id, &roles).await?;
    let server_name = ctx
        .cache
        .guild(event.guild_id)
        .map(|g| g.name.clone())
        .unwrap_or_else(|| format!("server {}", event.guild_id));
    let display_name = event
        .nick
        .as_deref()
        .or(event.user.global_name.as_deref())
        .unwrap_or(&event.user.name);
    members::record(
        &data.db,
        &MemberSighting {
            server_id,
            server_name: &server_name,
            user_id: event.user.id.into(),
            display_name,
            discord_roles: &roles,
            grants: &grants,
        },
        data.now(),
    )
    .await?;
    Ok(())
}
