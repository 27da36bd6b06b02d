//! Snoozing digest items: the **Snooze an item for a week…** button under a digest lists the
//! coach's snoozable items as buttons (at most 25; the rest after some are snoozed); a click on
//! one keeps it out of their digest for a week. The ids carry the server and the coach, so the
//! buttons work in a DM and after a restart; only that coach may press them.

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::domain::digest::snooze::{self, Click, ITEM_PREFIX, MENU_PREFIX};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::message::Button;
use crate::domain::text::{MESSAGE_CONTENT, clip};
use crate::error::UserError;
use crate::reports::build_digest;
use crate::store::snoozes;

/// Whether a component's id is one of the digest's.
pub fn is_snooze_button(custom_id: &str) -> bool {
    custom_id.starts_with(MENU_PREFIX) || custom_id.starts_with(ITEM_PREFIX)
}

/// A click on the digest's snooze button or on one item: answered privately.
pub async fn on_click(
    ctx: &serenity::Context,
    data: &App,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let clicker: UserId = click.user.id.into();
    let id = click.data.custom_id.as_str();
    let (text, buttons) = match snooze::claim(id, clicker) {
        Click::Menu { server } => menu(data, server, clicker).await?,
        Click::Item { server, item } => (snoozed(data, server, clicker, item).await?, Vec::new()),
        Click::NotTheirs => (UserError::NotYourDigest.to_string(), Vec::new()),
        Click::Unknown => (
            "This button is from an older digest; `/digest preview` shows the digest now."
                .to_owned(),
            Vec::new(),
        ),
    };
    let mut message = serenity::CreateInteractionResponseMessage::new()
        .content(clip(&text, MESSAGE_CONTENT))
        .allowed_mentions(serenity::CreateAllowedMentions::new())
        .ephemeral(true);
    if !buttons.is_empty() {
        message = message.components(crate::outbound::components(&buttons));
    }
    click
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

/// The coach's snoozable items now, a button each.
async fn menu(
    data: &App,
    server: ServerId,
    coach: UserId,
) -> anyhow::Result<(String, Vec<Vec<Button>>)> {
    let now = data.now();
    let digest = build_digest(
        &data.db,
        &data.frameworks,
        server,
        coach,
        chrono_tz::UTC,
        now,
    )
    .await?;
    let items = digest.snoozable();
    if items.is_empty() {
        return Ok((
            "Nothing in your digest can be snoozed now (steps due soon or overdue, barriers, \
             check-ins missed in a row and schools without a plan can)."
                .to_owned(),
            Vec::new(),
        ));
    }
    let (rows, left) = snooze::item_buttons(server, coach, &items);
    let mut text = format!(
        "Choose what to snooze until {}. It stays out of your digest for a week, then comes \
         back if it still needs you.",
        snooze::until(now).format("%a %-d %b")
    );
    if left > 0 {
        text.push_str(&format!(
            " ({left} more not shown: snooze some of these, then press the digest's snooze \
             button again.)"
        ));
    }
    Ok((text, rows))
}

/// Snoozes one item for the coach.
async fn snoozed(
    data: &App,
    server: ServerId,
    coach: UserId,
    item: &str,
) -> anyhow::Result<String> {
    let now = data.now();
    let until = snooze::until(now);
    snoozes::snooze(&data.db, server, coach, item, until, now).await?;
    Ok(format!(
        "Snoozed {} until {}: it is left out of your digest until then, and comes back after \
         if it still needs you.",
        snooze::describe(item),
        until.format("%a %-d %b")
    ))
}
