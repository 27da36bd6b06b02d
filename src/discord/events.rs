//! Gateway events that are not commands: DMs and check-in buttons and forms.

use poise::serenity_prelude as serenity;

use super::Error;
use super::checkin::buttons;
use crate::app::App;
use crate::checkin::{self, Dm};

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
