//! `/privacy forget`: erase what coachbot holds about the caller (or, for an admin, about
//! someone who has left), after a confirmation button that says what goes and what stays.
//! The erasing is one transaction (`store::forget`); the rule for afterwards is in
//! `domain::forget`.

use anyhow::Context as _;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error, caller};
use crate::app::App;
use crate::domain::forget::{self, Click};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::privacy::FORMER_MEMBER;
use crate::domain::roles::Access;
use crate::domain::text::clip;
use crate::error::UserError;
use crate::store::forget::Forgetter;
use crate::store::{forget as store, members};

/// Erase what coachbot holds about you in this server (asks you to confirm first)
#[poise::command(slash_command, guild_only)]
pub async fn forget(
    ctx: Context<'_>,
    #[description = "Admins: someone who has left the server (their name or user id)"]
    person: Option<String>,
) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    let data = ctx.data();
    let person_id = match person.as_deref() {
        None => caller.user_id,
        Some(given) => named(data, caller.guild_id, given).await?,
    };
    let is_self = person_id == caller.user_id;
    let name = members::name(&data.db, caller.guild_id, person_id)
        .await?
        .unwrap_or_else(|| person.clone().unwrap_or_default());
    if !is_self {
        check_admin_may(data, &caller.access, caller.guild_id, person_id, &name).await?;
        if !store::holds_anything(&data.db, caller.guild_id, person_id).await? {
            return Err(UserError::NothingToForget {
                given: clip(person.as_deref().unwrap_or_default(), 40),
            }
            .into());
        }
    }
    let buttons = serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(forget::forget_button_id(
            caller.guild_id,
            person_id,
            caller.user_id,
        ))
        .label(if is_self {
            "Erase my data"
        } else {
            "Erase their data"
        })
        .style(serenity::ButtonStyle::Danger),
        serenity::CreateButton::new(forget::keep_button_id(caller.user_id))
            .label("Keep everything")
            .style(serenity::ButtonStyle::Secondary),
    ]);
    ctx.send(
        CreateReply::default()
            .content(confirmation(is_self, &name))
            .components(vec![buttons])
            .allowed_mentions(serenity::CreateAllowedMentions::new())
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The person an admin named: a mention or user id, or a name as coachbot last saw it.
async fn named(data: &App, server: ServerId, given: &str) -> Result<UserId, Error> {
    let raw = given.trim();
    let digits = raw
        .trim_start_matches("<@")
        .trim_start_matches('!')
        .trim_end_matches('>');
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(id) = digits.parse::<u64>()
            && !UserId::new(id).is_former_member()
        {
            return Ok(UserId::new(id));
        }
        return Err(UserError::NothingToForget {
            given: clip(raw, 40),
        }
        .into());
    }
    let wanted = raw.trim_start_matches('@').trim().to_lowercase();
    let names = members::names(&data.db, server).await?;
    let found: Vec<UserId> = names
        .iter()
        .filter(|(id, name)| !id.is_former_member() && name.trim().to_lowercase() == wanted)
        .map(|(id, _)| *id)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(UserError::NothingToForget {
            given: clip(raw, 40),
        }
        .into()),
        _ => Err(UserError::AmbiguousOwner {
            given: clip(raw, 40),
        }
        .into()),
    }
}

/// An admin may forget someone else only once they have left: asked of Discord now.
async fn check_admin_may(
    data: &App,
    access: &Access,
    server: ServerId,
    person: UserId,
    name: &str,
) -> Result<(), Error> {
    if !access.may_forget(false, true) {
        return Err(UserError::NotPermitted {
            needed: "coachbot admins",
            action: "erase the data of someone who has left (anyone can erase their own with \
                     `/privacy forget`)",
        }
        .into());
    }
    let they_left = data
        .outbound
        .member_roles(server, person)
        .await
        .context("asking Discord whether the person is still a member")?
        .is_none();
    if !access.may_forget(false, they_left) {
        return Err(UserError::ForgetStillMember {
            name: clip(name, 40),
        }
        .into());
    }
    Ok(())
}

/// What the confirmation says: exactly what goes and what stays.
fn confirmation(is_self: bool, name: &str) -> String {
    let (whose, who, they) = if is_self {
        ("your", "you".to_owned(), "you")
    } else {
        ("their", format!("**{}**", clip(name, 60)), "they")
    };
    let after = if is_self {
        "Afterwards coachbot records nothing about you from your Discord roles and sends you \
         nothing here, even if you keep a role it reads, until you use a coachbot command here \
         yourself. To stop being part of a school's check-ins for good, ask an admin to take \
         the role away as well."
    } else {
        "Afterwards coachbot records nothing about them and sends them nothing here, even if \
         they come back with a role it reads, until they use a coachbot command here \
         themselves."
    };
    format!(
        "**Erase what coachbot holds about {who} in this server?**\n\
         **Goes, for good:** {whose} check-in answers and drafts; coaches' private notes from \
         one-to-one sessions with {who_plain} and {whose} place in sessions; {whose} growth \
         goals and their notes; {whose} DM channel id and stored name; {whose} schedules, away \
         periods, opt-outs and role grants; messages to {who_plain}, sent or waiting.\n\
         **Stays, in the school's shared plan, shown as \"{FORMER_MEMBER}\":** steps {they} \
         created or own, updates {they} wrote, barriers {they} raised, levels {they} set, \
         cycle moves. Check-ins still count in summaries, without their answers.\n\
         {after}\n\
         This cannot be undone. The audit records that a forget was done, naming no one.",
        who_plain = if is_self { "you" } else { "them" },
    )
}

/// Handles a click on a forget confirmation button (custom ids under
/// [`super::COMPONENT_PREFIX`]).
pub async fn on_click(
    ctx: &serenity::Context,
    app: &App,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<()> {
    let clicker: UserId = click.user.id.into();
    let parsed = forget::parse_click(&click.data.custom_id);
    let Some(actor) = parsed.actor() else {
        return answer(
            ctx,
            click,
            "This button is from an older version of coachbot: run `/privacy forget` again.",
        )
        .await;
    };
    if actor != clicker {
        return answer(ctx, click, &UserError::NotYourForget.to_string()).await;
    }
    let Click::Forget { server, person, .. } = parsed else {
        return settle(
            ctx,
            click,
            "Nothing was erased: everything stays as it was.",
        )
        .await;
    };
    if click.guild_id.map(ServerId::from) != Some(server) {
        return answer(ctx, click, &UserError::NotYourForget.to_string()).await;
    }
    let is_self = person == clicker;
    let by = if is_self {
        Forgetter::Themselves
    } else {
        // Still an admin, and they have still left: asked again at the click.
        let access = click_access(app, server, click).await?;
        let name = members::name(&app.db, server, person)
            .await?
            .unwrap_or_default();
        if let Err(error) = check_admin_may(app, &access, server, person, &name).await {
            let refusal = error.downcast::<UserError>()?;
            return answer(ctx, click, &refusal.to_string()).await;
        }
        Forgetter::Admin(clicker)
    };
    click.defer(ctx).await.context("acknowledging a forget")?;
    let mut names = Vec::new();
    if is_self {
        names.push(click.user.name.clone());
        names.extend(click.user.global_name.clone());
        names.extend(click.member.as_ref().and_then(|m| m.nick.clone()));
    }
    let forgotten = store::forget(&app.db, server, person, &names, by, app.now()).await?;
    let text = match (forgotten, is_self) {
        (Some(_), true) => format!(
            "Done. coachbot no longer holds your check-in answers, drafts, goals, private \
             session notes, schedules, name or DM channel in this server. In the school's \
             shared plan you read as \"{FORMER_MEMBER}\". Nothing will be sent to you here \
             unless you use a coachbot command again."
        ),
        (Some(_), false) => format!(
            "Done. coachbot no longer holds their check-in answers, drafts, goals, private \
             session notes, schedules, name or DM channel in this server. In the school's \
             shared plan they read as \"{FORMER_MEMBER}\". Nothing will be sent to them here. \
             `/privacy audit` lists the forget."
        ),
        (None, true) => "I held nothing about you in this server, so nothing was erased.".into(),
        (None, false) => "I held nothing about them in this server, so nothing was erased.".into(),
    };
    click
        .edit_response(
            ctx,
            serenity::EditInteractionResponse::new()
                .content(text)
                .components(Vec::new()),
        )
        .await
        .context("saying the forget is done")?;
    Ok(())
}

/// The clicker's coachbot roles in the server, from the member Discord sent with the click.
async fn click_access(
    app: &App,
    server: ServerId,
    click: &serenity::ComponentInteraction,
) -> anyhow::Result<Access> {
    let Some(member) = click.member.as_ref() else {
        return Ok(Access::default());
    };
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    Ok(Access {
        grants: members::grants_for(&app.db, server, &roles).await?,
        discord_admin: member.permissions.is_some_and(|p| p.administrator()),
    })
}

/// A private answer to the clicker, leaving the confirmation as it is.
async fn answer(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .allowed_mentions(serenity::CreateAllowedMentions::new())
        .ephemeral(true);
    click
        .create_response(ctx, serenity::CreateInteractionResponse::Message(message))
        .await
        .context("answering a forget button")
}

/// Replaces the confirmation with `text`, its buttons gone.
async fn settle(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: &str,
) -> anyhow::Result<()> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .components(Vec::new());
    click
        .create_response(
            ctx,
            serenity::CreateInteractionResponse::UpdateMessage(message),
        )
        .await
        .context("answering a forget button")
}
