//! The one error handler: a `UserError` becomes an ephemeral reply in the person's words;
//! anything else is logged with its cause chain and answered with an apology and a reference.

use poise::{CreateReply, FrameworkError};

use super::{Context, Error};
use crate::app::App;
use crate::error::UserError;

pub(super) async fn on_error(error: FrameworkError<'_, App, Error>) {
    crate::metrics::command_ended(command_result(&error));
    match error {
        FrameworkError::Command { error, ctx, .. } => answer(ctx, &error).await,
        FrameworkError::CommandCheckFailed {
            error: Some(error),
            ctx,
            ..
        } => answer(ctx, &error).await,
        FrameworkError::CommandCheckFailed {
            error: None, ctx, ..
        } => {
            say(ctx, "You may not use this command here.").await;
        }
        FrameworkError::GuildOnly { ctx, .. } => {
            say(ctx, &UserError::ServerOnly.to_string()).await;
        }
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let what = input.map_or_else(|| "one of the options".to_owned(), |i| format!("`{i}`"));
            tracing::debug!(%error, "argument parse failed");
            say(
                ctx,
                &format!("I could not read {what}. Please pick the value from the list Discord offers and try again."),
            )
            .await;
        }
        FrameworkError::Setup { error, .. } => {
            tracing::error!(error = format!("{error:#}"), "start-up failed");
        }
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                tracing::error!(%error, "error while handling an error");
            }
        }
    }
}

/// How a command that met `error` ended, for the commands metric.
fn command_result(error: &FrameworkError<'_, App, Error>) -> crate::metrics::CommandResult {
    use crate::metrics::CommandResult;
    match error {
        FrameworkError::Command { error, .. } if error.downcast_ref::<UserError>().is_some() => {
            CommandResult::UserError
        }
        FrameworkError::CommandCheckFailed { .. } | FrameworkError::GuildOnly { .. } => {
            CommandResult::Refused
        }
        FrameworkError::ArgumentParse { .. } => CommandResult::BadInput,
        _ => CommandResult::Error,
    }
}

async fn answer(ctx: Context<'_>, error: &Error) {
    if let Some(user_error) = error.downcast_ref::<UserError>() {
        say(ctx, &user_error.to_string()).await;
        return;
    }
    let reference = ctx.id();
    tracing::error!(
        command = %ctx.command().qualified_name,
        reference,
        error = format!("{error:#}"),
        "command failed"
    );
    say(
        ctx,
        &format!(
            "Something went wrong on my side, and nothing was saved. Please try again in a \
             minute; if it keeps happening, give your admin this reference: {reference}."
        ),
    )
    .await;
}

async fn say(ctx: Context<'_>, text: &str) {
    // Every error arrives: one over Discord's limit would not be shown at all.
    let text = crate::domain::text::clip(text, crate::domain::text::MESSAGE_CONTENT);
    let reply = CreateReply::default().content(text).ephemeral(true);
    if let Err(error) = ctx.send(reply).await {
        tracing::warn!(%error, "could not send an error reply");
    }
}
