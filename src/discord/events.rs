//! Gateway events that are not commands: DMs and check-in buttons and forms.

use poise::serenity_prelude as serenity;

use super::checkin::{buttons, conversation};
use super::{Data, Error};

pub(super) async fn handle(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let data = framework.user_data().await;
    let result = match event {
        // Every READY (the first, and each new session after a reconnect) may follow DMs the
        // bot never received: read what each open check-in missed.
        serenity::FullEvent::Ready { .. } => conversation::catch_up(&ctx.http, data).await,
        serenity::FullEvent::Message { new_message }
            if new_message.guild_id.is_none() && !new_message.author.bot =>
        {
            conversation::on_dm(&ctx.http, data, new_message).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } if component.data.custom_id.starts_with("ci:") => {
            buttons::on_component(ctx, data, component).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } if modal.data.custom_id.starts_with("ci:") => buttons::on_modal(ctx, data, modal).await,
        _ => Ok(()),
    };
    if let Err(error) = &result {
        tracing::error!(
            error = format!("{error:#}"),
            "handling a check-in event failed"
        );
    }
    Ok(())
}
