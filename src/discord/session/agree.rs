//! **Make it a step**: a button under each agreed next step of a session (`agree:<agreement
//! id>`, so it works after a restart) that opens a form asking the step's owner, due date and
//! focus indicator, as `/step add` does. Who may click is checked at the click and again at
//! the form: those who may change the school's plan and read the session. The step is made
//! and the agreement linked in one transaction, so a second click makes no second step.

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use super::owner;
use crate::app::App;
use crate::domain::coaching::{Agreement, CoachingSession};
use crate::domain::dates;
use crate::domain::ids::ServerId;
use crate::domain::plan;
use crate::domain::roles::Access;
use crate::domain::text::{self, MESSAGE_CONTENT, clip};
use crate::error::UserError;
use crate::store::members;
use crate::store::outbox::Announcement;
use crate::store::schools::{self, School};
use crate::store::steps::{self, NewStep};
use crate::store::{coaching as sessions, indicators, servers};

/// The prefix of every Make it a step button's id.
pub const PREFIX: &str = "agree:";
/// The prefix of the form it opens.
pub const MODAL_PREFIX: &str = "agree-step:";

/// Discord's limits: five buttons a row, 80 characters a label.
const PER_ROW: usize = 5;
const LABEL: usize = 80;

/// A **Make it a step** button for each agreement (a session has at most 10), five to a row.
pub(super) fn buttons(agreements: &[Agreement]) -> Vec<serenity::CreateActionRow> {
    let buttons: Vec<serenity::CreateButton> = agreements
        .iter()
        .map(|a| {
            serenity::CreateButton::new(format!("{PREFIX}{}", a.id))
                .label(clip(
                    &format!("Make it a step: {}. {}", a.position, a.text),
                    LABEL,
                ))
                .style(serenity::ButtonStyle::Primary)
        })
        .collect();
    buttons
        .chunks(PER_ROW)
        .take(5)
        .map(|row| serenity::CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// Who may turn a session's agreements into steps: those who may change the school's plan
/// and read the session (its coaches and principals; its team when it was shared with them).
pub(super) fn may_make_steps(access: &Access, session: &CoachingSession) -> bool {
    access.can_edit_plan(session.school_id)
        && access.may_read_session(session.school_id, session.shared, false)
}

fn agreement_id(custom_id: &str, prefix: &str) -> Option<i64> {
    custom_id.strip_prefix(prefix)?.parse().ok()
}

/// The clicker's access, from the roles Discord sent with the interaction.
async fn access_of(
    data: &App,
    server: ServerId,
    member: Option<&serenity::Member>,
) -> anyhow::Result<Access> {
    let Some(member) = member else {
        return Ok(Access {
            grants: Vec::new(),
            discord_admin: false,
        });
    };
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    Ok(Access {
        grants: members::grants_for(&data.db, server, &roles).await?,
        discord_admin: member.permissions.is_some_and(|p| p.administrator()),
    })
}

/// The agreement, its session and school, if `access` may make it a step; else what to say.
async fn agreement_for(
    data: &App,
    server: ServerId,
    access: &Access,
    id: i64,
) -> anyhow::Result<Result<(Agreement, CoachingSession, School), String>> {
    let gone = || "That agreed next step is no longer here.".to_owned();
    let Some((agreement, session)) = sessions::agreement(&data.db, server, id).await? else {
        return Ok(Err(gone()));
    };
    let Some(school) = schools::get(&data.db, server, session.school_id).await? else {
        return Ok(Err(gone()));
    };
    if !may_make_steps(access, &session) {
        return Ok(Err(format!(
            "Only {}'s coaches and principals (and its team, for a session shared with them) can \
             make a session's agreed next steps into steps.",
            school.name
        )));
    }
    if let Some(step) = agreement.step {
        return Ok(Err(format!(
            "That agreed next step is already step #{step}: `/step show step:{step}` shows it."
        )));
    }
    Ok(Ok((agreement, session, school)))
}

/// A click on Make it a step: the form opens for those who may, with the owner (the person
/// the session was with) and the indicator (the school's only focus, if so) filled in.
pub async fn on_click(
    ctx: &serenity::Context,
    data: &App,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let (Some(id), Some(guild_id)) = (agreement_id(&click.data.custom_id, PREFIX), click.guild_id)
    else {
        return say_first(
            ctx,
            click,
            "This button only works in the server it was sent in.",
        )
        .await;
    };
    let server: ServerId = guild_id.into();
    let access = access_of(data, server, click.member.as_ref()).await?;
    let (agreement, session, school) = match agreement_for(data, server, &access, id).await? {
        Ok(found) => found,
        Err(why) => return say_first(ctx, click, &why).await,
    };
    let names = members::names(&data.db, server).await?;
    let owner = match session.people.as_slice() {
        [one] => names.get(one).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let focus = indicators::for_school(&data.db, server, school.id).await?;
    let indicator = match focus.as_slice() {
        [one] => one.indicator_id.clone(),
        _ => String::new(),
    };
    let input = |label: &str, id: &str, value: &str, placeholder: &str| {
        let mut input = serenity::CreateInputText::new(serenity::InputTextStyle::Short, label, id)
            .placeholder(placeholder)
            .max_length(100)
            .required(true);
        if !value.is_empty() {
            input = input.value(clip(value, 100));
        }
        serenity::CreateActionRow::InputText(input)
    };
    let modal = serenity::CreateModal::new(
        format!("{MODAL_PREFIX}{}", agreement.id),
        clip(&format!("Make it a step: {}", agreement.text), 45),
    )
    .components(vec![
        input(
            "Who owns it (their name here)",
            "owner",
            &owner,
            "Terry Okafor",
        ),
        input(
            "When it is due",
            "due",
            "",
            "12/05, next friday, Dec 5, in 2 weeks",
        ),
        input(
            "The focus indicator it serves",
            "indicator",
            &indicator,
            "12a",
        ),
    ]);
    click
        .create_response(ctx, serenity::CreateInteractionResponse::Modal(modal))
        .await
        .context("opening the Make it a step form")
}

/// The Make it a step form, sent: the step is made (and announced as `/step add`'s are) and
/// the agreement linked, or the person is told what to change; nothing is half-written.
pub async fn on_form(
    ctx: &serenity::Context,
    data: &App,
    form: &serenity::ModalInteraction,
) -> anyhow::Result<()> {
    form.defer_ephemeral(ctx)
        .await
        .context("acknowledging the Make it a step form")?;
    let (text, key) = match made(ctx, data, form).await {
        Ok(Ok(done)) => done,
        Ok(Err(why)) => (why, None),
        Err(error) => match error.downcast_ref::<UserError>() {
            Some(user_error) => (user_error.to_string(), None),
            None => {
                let _ = say_after(
                    ctx,
                    form,
                    "Something went wrong on my side, and no step was made. Please try again in \
                     a minute.",
                )
                .await;
                return Err(error);
            }
        },
    };
    say_after(ctx, form, &text).await?;
    if let Some(key) = key
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

/// Makes the step: the reply and the announcement's key, or what to say instead.
async fn made(
    ctx: &serenity::Context,
    data: &App,
    form: &serenity::ModalInteraction,
) -> anyhow::Result<Result<(String, Option<String>), String>> {
    let (Some(id), Some(guild_id)) = (
        agreement_id(&form.data.custom_id, MODAL_PREFIX),
        form.guild_id,
    ) else {
        return Ok(Err(
            "This form only works in the server it was sent in.".to_owned()
        ));
    };
    let server: ServerId = guild_id.into();
    let access = access_of(data, server, form.member.as_ref()).await?;
    let (agreement, session, school) = match agreement_for(data, server, &access, id).await? {
        Ok(found) => found,
        Err(why) => return Ok(Err(why)),
    };
    let field = |name: &str| {
        form.data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .find_map(|c| match c {
                serenity::ActionRowComponent::InputText(input) if input.custom_id == name => {
                    input.value.clone()
                }
                _ => None,
            })
            .unwrap_or_default()
    };
    let title = plan::step_title(&agreement.text)?;
    let framework = data.frameworks.of(&data.db, server).await?;
    let raw_indicator = field("indicator");
    let indicator = framework
        .indicator(raw_indicator.trim())
        .cloned()
        .ok_or_else(|| UserError::UnknownIndicator {
            given: clip(raw_indicator.trim(), 40),
        })?;
    let focus = indicators::find(&data.db, server, school.id, &indicator.id)
        .await?
        .ok_or_else(|| UserError::NotAFocus {
            indicator: indicator.title(),
            school: school.name.clone(),
        })?;
    let now = data.now();
    let today = now.with_timezone(&school.zone()).date_naive();
    let order = servers::date_order(&data.db, server).await?;
    let due_on = dates::parse_due_in(&field("due"), today, school.time_zone.name(), order)?;
    let names = members::names(&data.db, server).await?;
    let owner = owner::named(&field("owner"), &names)?;
    owner::check(ctx, data, guild_id, &school, owner, &names).await?;
    let owner_name = names
        .get(&owner)
        .cloned()
        .unwrap_or_else(|| owner.mention());
    let line = |id: i64| {
        format!(
            "New step #{id} for {}: “{title}”, owned by {owner_name}, due {}.",
            indicator.id,
            text::day(due_on)
        )
    };
    let key = format!("announce:{}", form.id);
    let announcement = school.channel_id.map(|channel| Announcement {
        server_id: school.server_id,
        channel_id: crate::store::discord_id(channel),
        key: key.clone(),
        text: &line,
        held: None,
        not_before: None,
    });
    let step = steps::add_for_agreement(
        &data.db,
        &NewStep {
            server_id: server,
            school_id: school.id,
            focus_id: focus.id,
            title: &title,
            due_on,
            resources: None,
            owners: &[owner],
            author: form.user.id.into(),
        },
        agreement.id,
        now,
        announcement.as_ref(),
    )
    .await?;
    Ok(Ok((
        format!(
            "Made step **#{} · {}** under {} for {}, from session #{}'s agreed next step {}. \
             Owner: {owner_name}. Due {}.",
            step.id,
            step.title,
            indicator.title(),
            school.name,
            session.id,
            agreement.position,
            dates::as_read(step.due_on, today)
        ),
        announcement.map(|_| key),
    )))
}

/// The first answer to a click, for the clicker alone.
async fn say_first(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(clip(text, MESSAGE_CONTENT))
        .allowed_mentions(serenity::CreateAllowedMentions::new())
        .ephemeral(true);
    click
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await
        .context("answering a Make it a step click")
}

/// The answer to a form already acknowledged.
async fn say_after(
    ctx: &serenity::Context,
    form: &serenity::ModalInteraction,
    text: &str,
) -> anyhow::Result<()> {
    form.edit_response(
        ctx,
        serenity::EditInteractionResponse::new()
            .content(clip(text, MESSAGE_CONTENT))
            .allowed_mentions(serenity::CreateAllowedMentions::new()),
    )
    .await
    .context("answering the Make it a step form")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_carry_the_agreement() {
        assert_eq!(agreement_id("agree:42", PREFIX), Some(42));
        assert_eq!(agreement_id("agree:x", PREFIX), None);
        assert_eq!(agreement_id("agree-step:7", MODAL_PREFIX), Some(7));
    }
}
