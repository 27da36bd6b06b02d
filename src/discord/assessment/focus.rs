//! **Make focus**: a button under an assessment's target areas that makes the indicator one of
//! the school's focus indicators. Its id (`focus:<school id>:<indicator id>`) carries all it
//! needs, so it works after a restart; who may click is checked at the click, as for
//! `/indicator focus`.

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::domain::assessment::IndicatorResult;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::roles::Access;
use crate::domain::text::clip;
use crate::store::outbox::Announcement;
use crate::store::{indicators, members, schools};

/// The prefix of every Make focus button's id.
pub const PREFIX: &str = "focus:";

/// Discord's limits: five buttons a row, five rows a message, 80 characters a label.
const PER_ROW: usize = 5;
const ROWS: usize = 5;
const LABEL: usize = 80;

/// A **Make focus** button for each target (up to 25), five to a row.
pub fn make_focus_buttons(
    school_id: SchoolId,
    targets: &[IndicatorResult],
) -> Vec<serenity::CreateActionRow> {
    let buttons: Vec<serenity::CreateButton> = targets
        .iter()
        .take(PER_ROW * ROWS)
        .map(|t| {
            serenity::CreateButton::new(format!("{PREFIX}{}:{}", school_id.get(), t.indicator_id))
                .label(clip(&format!("Make {} a focus", t.indicator_id), LABEL))
                .style(serenity::ButtonStyle::Primary)
        })
        .collect();
    buttons
        .chunks(PER_ROW)
        .map(|row| serenity::CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// `focus:<school id>:<indicator id>` → its parts.
fn parse(custom_id: &str) -> Option<(SchoolId, &str)> {
    let rest = custom_id.strip_prefix(PREFIX)?;
    let (school, indicator) = rest.split_once(':')?;
    let school_id = SchoolId::new(school.parse().ok()?);
    (!indicator.is_empty()).then_some((school_id, indicator))
}

/// A click on Make focus: the indicator becomes a focus (announced in the school's channel)
/// when the person may change the school's plan; they are told either way, privately.
pub async fn on_make_focus(
    ctx: &serenity::Context,
    data: &App,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let text = match made_focus(data, click).await {
        Ok(text) => text,
        Err(error) => {
            let _ = answer(
                ctx,
                click,
                "Something went wrong; nothing was changed. Try `/indicator focus`.",
            )
            .await;
            return Err(error);
        }
    };
    answer(ctx, click, &text.0).await?;
    if let Some(key) = text.1
        && let Err(error) = data.scheduler().deliver_key(&key, data.now()).await
    {
        tracing::warn!(
            error = format!("{error:#}"),
            %key,
            "could not announce in the school's channel yet; the outbox will"
        );
    }
    Ok(())
}

/// What to tell the person, and the announcement's key when one was queued.
async fn made_focus(
    data: &App,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<(String, Option<String>)> {
    let (Some((school_id, indicator_id)), Some(guild_id), Some(member)) = (
        parse(&click.data.custom_id),
        click.guild_id,
        click.member.as_ref(),
    ) else {
        return Ok((
            "This button only works in the server it was sent in.".to_owned(),
            None,
        ));
    };
    let server: ServerId = guild_id.into();
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let access = Access {
        grants: members::grants_for(&data.db, server, &roles).await?,
        discord_admin: member.permissions.is_some_and(|p| p.administrator()),
    };
    let Some(school) = schools::get(&data.db, server, school_id).await? else {
        return Ok(("That school is no longer here.".to_owned(), None));
    };
    if !access.can_edit_plan(school.id) {
        return Ok((
            format!(
                "Only {}'s principal, leadership team, coach or a coachbot admin can choose its \
                 focus indicators.",
                school.name
            ),
            None,
        ));
    }
    let framework = data.frameworks.of(&data.db, server).await?;
    let Some(indicator) = framework.indicator(indicator_id) else {
        return Ok((
            format!(
                "`{}` is no longer in this server's framework; `/indicator list` shows the \
                 indicators.",
                clip(indicator_id, 40)
            ),
            None,
        ));
    };
    let user: UserId = click.user.id.into();
    let by = click
        .member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| click.user.global_name.clone())
        .unwrap_or_else(|| click.user.name.clone());
    let title = indicator.title();
    let line = |_: i64| format!("New focus indicator: {title} (added by {by}).");
    let key = format!("announce:{}", click.id);
    let announcement = school.channel_id.map(|channel| Announcement {
        server_id: school.server_id,
        channel_id: crate::store::discord_id(channel),
        key: key.clone(),
        text: &line,
        held: None,
        not_before: None,
    });
    let (_, added) = indicators::focus(
        &data.db,
        server,
        school.id,
        &indicator.id,
        user,
        data.now(),
        announcement.as_ref(),
    )
    .await?;
    Ok(if added {
        (
            format!(
                "**{}** is now a focus indicator of **{}**. Record where it stands with \
                 `/indicator level`, and plan steps with `/step add`.",
                indicator.title(),
                school.name
            ),
            announcement.map(|_| key),
        )
    } else {
        (
            format!(
                "**{}** is already a focus indicator of **{}**.",
                indicator.title(),
                school.name
            ),
            None,
        )
    })
}

async fn answer(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(clip(text, crate::domain::text::MESSAGE_CONTENT))
        .allowed_mentions(serenity::CreateAllowedMentions::new())
        .ephemeral(true);
    click
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_carry_the_school_and_the_indicator() {
        let targets = [IndicatorResult {
            indicator_id: "12a".into(),
            rank: 2.0,
            respondents: None,
        }];
        assert_eq!(make_focus_buttons(SchoolId::new(4), &targets).len(), 1);
        assert_eq!(parse("focus:4:12a"), Some((SchoolId::new(4), "12a")));
        assert_eq!(parse("focus:4:"), None);
        assert_eq!(parse("focus:x:12a"), None);
        let many: Vec<IndicatorResult> = (0..30).map(|_| targets[0].clone()).collect();
        assert_eq!(make_focus_buttons(SchoolId::new(4), &many).len(), 5);
    }
}
