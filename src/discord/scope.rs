//! The small renderings every command shares (names, local times, lists, announcements) and
//! the server's framework. Who may act where is `caller`'s.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use poise::serenity_prelude as serenity;

pub use super::caller::{
    Caller, Need, caller, caller_naming, check, school, school_or_all, school_to_report,
};
use super::{Context, Error};
use crate::domain::framework::Framework;
use crate::store::frameworks;
use crate::store::members;
use crate::store::outbox::{Announcement, Held};
use crate::store::schools::School;

pub fn server_name(ctx: Context<'_>, guild_id: serenity::GuildId) -> String {
    ctx.guild()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| format!("server {guild_id}"))
}

/// The caller's server's framework: its own file if an admin loaded one, else the shipped
/// default. The caller's settings tell when it was loaded, so a kept one costs no query.
pub async fn framework(ctx: Context<'_>, caller: &Caller) -> Result<Arc<Framework>, Error> {
    ctx.data()
        .frameworks
        .at(
            &ctx.data().db,
            caller.guild_id,
            caller.settings.framework_loaded_at,
        )
        .await
}

/// The server's framework, for code that has no caller (autocomplete): one query to check it.
pub async fn framework_of(ctx: Context<'_>, guild_id: ServerId) -> Result<Arc<Framework>, Error> {
    frameworks::effective(&ctx.data().db, guild_id, &ctx.data().frameworks).await
}

/// The school's time zone.
pub fn zone(school: &School) -> Tz {
    school.zone()
}

/// Today's date where the school is.
pub fn today(school: &School, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone(school)).date_naive()
}

use crate::domain::ids::{ServerId, UserId};
pub use crate::domain::text::{day, local_time};

/// Display names for the server's members; unknown ids read as a mention (which, with
/// mentions disabled, shows the name in Discord without pinging).
pub struct Names(HashMap<UserId, String>);

impl FromIterator<(UserId, String)> for Names {
    fn from_iter<I: IntoIterator<Item = (UserId, String)>>(names: I) -> Self {
        Self(names.into_iter().collect())
    }
}

impl Names {
    pub async fn load(ctx: Context<'_>, guild_id: ServerId) -> Result<Self, Error> {
        Ok(Self(members::names(&ctx.data().db, guild_id).await?))
    }

    /// The names of these members only: for a reply that names a few people.
    pub async fn load_for(
        ctx: Context<'_>,
        guild_id: ServerId,
        user_ids: &[UserId],
    ) -> Result<Self, Error> {
        Ok(Self(
            members::names_of(&ctx.data().db, guild_id, user_ids).await?,
        ))
    }

    pub fn of(&self, user_id: UserId) -> String {
        self.0
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| user_id.mention())
    }

    pub fn list(&self, ids: &[UserId]) -> String {
        let names: Vec<String> = ids.iter().map(|id| self.of(*id)).collect();
        match names.as_slice() {
            [] => "no one".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// Answers the caller alone (an ephemeral reply).
pub async fn say(ctx: Context<'_>, text: String) -> Result<(), Error> {
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// A line for the school's channel about the change a store call is about to make, which the
/// store queues in the change's own transaction; None when the school has no channel. `text`
/// gets the id of what the change made or changed.
///
/// When the channel has room soon, the row is written leased to the sender [`announce`] makes,
/// which sends it at once without a claim. When it has not (a burst of changes in one school
/// has filled its 5 messages in 5 seconds and the line behind them), the row is written due
/// when the channel will have room, for the outbox's rounds: the command then makes no
/// further trip to the database for it.
pub async fn announcement<'a>(
    ctx: Context<'_>,
    school: &School,
    text: &'a (dyn Fn(i64) -> String + Send + Sync),
) -> Option<Announcement<'a>> {
    let channel = school.channel_id?;
    let data = ctx.data();
    let channel_id = crate::store::discord_id(channel);
    let now = data.now();
    let key = format!("announce:{}", ctx.id());
    let not_before = data.outbound.due_later(channel_id, &key, now).await;
    let held = not_before.is_none().then(|| Held {
        owner: crate::store::outbox::lease_owner(),
        until: now + data.sending.lease_span(),
    });
    Some(Announcement {
        server_id: school.server_id,
        channel_id,
        key,
        text,
        held,
        not_before,
    })
}

/// Sends the announcement a change queued, now, so nobody waits for the scheduler's next
/// round. It is saved: if this fails, or the process stops first, the outbox sends it later,
/// once.
pub async fn announce(ctx: Context<'_>, announcement: Option<&Announcement<'_>>) {
    let Some(announcement) = announcement else {
        return;
    };
    crate::crash_point::reach("announcement-queued");
    // Written for the outbox's rounds (its channel is busy): nothing to send now.
    let Some(held) = &announcement.held else {
        return;
    };
    let data = ctx.data();
    let scheduler = data.scheduler_holding(held.owner.clone());
    if let Err(error) = scheduler.deliver_key(&announcement.key, data.now()).await {
        tracing::warn!(
            error = format!("{error:#}"),
            key = %announcement.key,
            "could not announce in the school's channel yet; the outbox will"
        );
    }
}

/// Remembers a member the caller named (their display name), so lists and digests can call
/// them by name.
pub async fn note_member(ctx: Context<'_>, user_id: UserId, name: &str) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(crate::error::UserError::ServerOnly)?;
    crate::store::members::note(
        &ctx.data().db,
        guild_id.into(),
        &server_name(ctx, guild_id),
        user_id,
        name,
        ctx.data().now(),
    )
    .await
}

/// How long a preview waits for Save or Cancel.
const PREVIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Shows `preview` to the caller alone with Save and Cancel under it, and waits up to five
/// minutes for their click: the click and whether it was Save, or None when no one clicked.
/// The buttons' ids are `<what>:<interaction id>:save|cancel`.
pub async fn ask_to_save(
    ctx: Context<'_>,
    what: &str,
    preview: String,
) -> Result<Option<(serenity::ComponentInteraction, bool)>, Error> {
    let prefix = format!("{what}:{}:", ctx.id());
    let buttons = vec![
        serenity::CreateButton::new(format!("{prefix}save"))
            .label("Save")
            .style(serenity::ButtonStyle::Success),
        serenity::CreateButton::new(format!("{prefix}cancel"))
            .label("Cancel")
            .style(serenity::ButtonStyle::Secondary),
    ];
    // Listen for the click before the buttons exist, so a quick click is not missed.
    let filter_prefix = prefix.clone();
    let mut clicks = Box::pin(
        serenity::ComponentInteractionCollector::new(ctx.serenity_context())
            .author_id(ctx.author().id)
            .timeout(PREVIEW_WAIT)
            .filter(move |i| i.data.custom_id.starts_with(&filter_prefix))
            .stream(),
    );
    ctx.send(
        poise::CreateReply::default()
            .content(crate::domain::text::clip(
                &preview,
                crate::domain::text::MESSAGE_CONTENT,
            ))
            .components(vec![serenity::CreateActionRow::Buttons(buttons)])
            .ephemeral(true),
    )
    .await?;
    Ok(futures::StreamExt::next(&mut clicks).await.map(|click| {
        let save = click.data.custom_id.ends_with("save");
        (click, save)
    }))
}

/// Replaces a preview's text with `text` and takes its buttons away.
pub async fn settle(
    ctx: Context<'_>,
    click: &serenity::ComponentInteraction,
    text: String,
) -> Result<(), Error> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .components(Vec::new());
    click
        .create_response(
            ctx,
            serenity::CreateInteractionResponse::UpdateMessage(message),
        )
        .await?;
    Ok(())
}

/// The times a schedule fires next, one a line, as the school reads them.
pub fn upcoming_lines(upcoming: &[DateTime<Utc>], zone: Tz) -> String {
    upcoming
        .iter()
        .map(|at| {
            format!(
                "• {}",
                at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M %Z")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends a private list: a title, the lines (or `empty` when there are none), fitted to an
/// embed, saying how many did not fit instead of cutting silently.
pub async fn send_list(
    ctx: Context<'_>,
    title: &str,
    lines: &[String],
    empty: &str,
) -> Result<(), Error> {
    send_list_see(ctx, title, lines, empty, "").await
}

/// Like [`send_list`], saying where to see what did not fit (`see`).
pub async fn send_list_see(
    ctx: Context<'_>,
    title: &str,
    lines: &[String],
    empty: &str,
    see: &str,
) -> Result<(), Error> {
    let body = if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines_see(lines, crate::domain::text::EMBED_DESCRIPTION - 100, see)
    };
    let embed = serenity::CreateEmbed::new()
        .title(crate::domain::text::clip(
            title,
            crate::domain::text::EMBED_TITLE,
        ))
        .description(body);
    ctx.send(poise::CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// How a Discord user is called: their display name, else their user name.
pub fn user_name(user: &serenity::User) -> String {
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}

/// Appends `lines` to a block of at most `max` characters, saying how many did not fit
/// instead of cutting silently.
pub fn fit_lines(lines: &[String], max: usize) -> String {
    fit_lines_see(lines, max, "")
}

/// Like [`fit_lines`], and says where to see the lines that did not fit (`see`, e.g.
/// "narrow it with `school`"), when there are any.
pub fn fit_lines_see(lines: &[String], max: usize, see: &str) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let left = lines.len() - index;
        let more = if see.is_empty() {
            format!("… and {left} more")
        } else {
            format!("… and {left} more; {see}")
        };
        if out.chars().count() + line.chars().count() + 1 + more.chars().count() + 1 > max {
            out.push_str(&more);
            return crate::domain::text::clip(&out, max);
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}
