//! `/setup`: schools, role mappings and the framework (admins only).

use poise::CreateReply;
use poise::serenity_prelude as serenity;

mod feed;
mod framework;
mod retention;
mod status;

use super::{Context, Error, caller, complete, scope};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia, role_mapping_scope};
use crate::domain::roles::{Grant, Role};
use crate::domain::school::{SchoolName, TimeZoneName};
use crate::domain::text;
use crate::error::UserError;
use crate::store::members::{self, NewMapping};
use crate::store::schools::{self, Changed, ChannelChange, Saved, SchoolChange};

/// Set up coachbot for this server: schools and who may do what (admins)
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "school",
        "role",
        "roles",
        "status::status",
        "framework::framework",
        "feed::feed",
        "retention::retention",
        "super::dates::dates"
    ),
    subcommand_required
)]
pub async fn setup(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Add a school, or change its time zone or channel (only what you give changes)
#[poise::command(slash_command, guild_only, check = "caller::admin")]
async fn school(
    ctx: Context<'_>,
    #[description = "The school's name, as people say it"] name: String,
    #[description = "The school's time zone, e.g. America/Chicago (needed for a new school)"]
    #[autocomplete = "complete::time_zone"]
    time_zone: Option<String>,
    #[description = "Channel for the school's announcements (optional)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
    #[description = "True to stop posting announcements in the school's channel"]
    no_channel: Option<bool>,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let name = SchoolName::parse(&name)?;
    let time_zone = time_zone
        .as_deref()
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(TimeZoneName::parse)
        .transpose()?;
    let channel = match (channel, no_channel) {
        (Some(_), Some(true)) => return Err(UserError::ChannelAndNoChannel.into()),
        (Some(c), _) => ChannelChange::Set(c.id.get()),
        (None, Some(true)) => ChannelChange::Clear,
        (None, _) => ChannelChange::Keep,
    };
    let server_name = server_name(ctx, guild_id);
    let now = ctx.data().now();
    let changed = schools::change(
        &ctx.data().db,
        &SchoolChange {
            server_id: guild_id.into(),
            server_name: &server_name,
            name: &name,
            time_zone,
            channel,
        },
        now,
    )
    .await?;
    let (school, saved) = match changed {
        Changed::Saved(school, saved) => (school, saved),
        Changed::NameDiffersInCase { existing } => {
            return Err(UserError::SchoolNameCase {
                given: name.as_str().to_owned(),
                existing,
            }
            .into());
        }
        Changed::NeedsTimeZone => {
            return Err(UserError::SchoolNeedsTimeZone {
                name: name.as_str().to_owned(),
            }
            .into());
        }
    };
    let zone = school.time_zone;
    let local = now.with_timezone(&zone.tz()).format("%H:%M on %A");
    let verb = match saved {
        Saved::Added => "Added",
        Saved::Updated => "Updated",
    };
    let channel_line = match school.channel_id {
        Some(id) => format!("Announcements go to <#{id}>."),
        None => "No announcement channel yet; run this again with `channel` to add one.".to_owned(),
    };
    let reply = format!(
        "{verb} **{}**. Time zone: {zone} (it is {local} there). {channel_line}",
        school.name
    );
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// The coachbot roles a Discord role can carry.
#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum RoleChoice {
    #[name = "principal"]
    Principal,
    #[name = "leadership team"]
    Team,
    #[name = "coach"]
    Coach,
    #[name = "district leader"]
    District,
    #[name = "admin"]
    Admin,
}

impl From<RoleChoice> for Role {
    fn from(choice: RoleChoice) -> Self {
        match choice {
            RoleChoice::Principal => Role::Principal,
            RoleChoice::Team => Role::Team,
            RoleChoice::Coach => Role::Coach,
            RoleChoice::District => Role::District,
            RoleChoice::Admin => Role::Admin,
        }
    }
}

/// Let everyone with a Discord role act as principal, team, coach, district leader or admin
#[poise::command(slash_command, guild_only, check = "caller::admin")]
async fn role(
    ctx: Context<'_>,
    #[description = "The Discord role people already have"] discord_role: serenity::Role,
    #[description = "What that role may do in coachbot"] coachbot_role: RoleChoice,
    #[description = "Only for this school (leave empty for every school)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
    #[description = "True to remove this mapping instead of adding it"] remove: Option<bool>,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    if discord_role.id.get() == guild_id.get() && remove != Some(true) {
        return Err(UserError::EveryoneRole.into());
    }
    let db = &ctx.data().db;
    let school = match school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Some(
            schools::find_by_name(db, guild_id.into(), name)
                .await?
                .ok_or_else(|| UserError::UnknownSchool {
                    name: text::clip(name, 100),
                })?,
        ),
        None => None,
    };
    let role = Role::from(coachbot_role);
    let scope = school.as_ref().map_or_else(
        || "across the server".to_owned(),
        |s| format!("for **{}**", s.name),
    );
    if remove == Some(true) {
        let grant = Grant {
            role,
            school_id: school.as_ref().map(|s| s.id),
        };
        let audit = mapping_audit(
            ctx,
            discord_role.id.get(),
            role,
            school.as_ref().map(|s| s.name.as_str()),
            false,
        );
        let removed =
            members::unmap_role(db, guild_id.into(), discord_role.id.get(), grant, &audit).await?;
        if removed {
            // Whoever holds the same role through another mapping gets it back.
            super::member_list::request(ctx.serenity_context(), guild_id).await;
        }
        let reply = if removed {
            format!(
                "Done: <@&{}> no longer counts as a {} {scope}. Whoever had that only through this role has lost it now.",
                discord_role.id,
                role.label()
            )
        } else {
            format!(
                "No change: <@&{}> did not count as a {} {scope}. `/setup roles` lists what is mapped.",
                discord_role.id,
                role.label()
            )
        };
        ctx.send(CreateReply::default().content(reply).ephemeral(true))
            .await?;
        return Ok(());
    }
    let mapping = NewMapping {
        server_id: guild_id.into(),
        server_name: &server_name(ctx, guild_id),
        discord_role_id: discord_role.id.get(),
        role,
        school_id: school.as_ref().map(|s| s.id),
        created_by: ctx.author().id.into(),
    };
    if school.is_none() && matches!(role, Role::Principal | Role::Team) {
        return confirm_every_school(ctx, &mapping).await;
    }
    let reply = save_mapping(ctx, &mapping).await?;
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

/// A principal or team mapping without a school covers every school: the admin is asked
/// first, and nothing is saved unless they click Save.
async fn confirm_every_school(ctx: Context<'_>, mapping: &NewMapping<'_>) -> Result<(), Error> {
    let all = schools::list(&ctx.data().db, mapping.server_id).await?;
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let now_covers = if names.is_empty() {
        "There are no schools yet; it will cover each one added.".to_owned()
    } else {
        format!(
            "That is {} now ({}) and each one added later.",
            text::plural(names.len(), "school"),
            text::join_within(&names, ", ", 1000, "`/setup status` lists them all")
        )
    };
    let preview = format!(
        "Without a school, everyone with <@&{}> counts as a {} at **every school**: they could \
         read and change every school's plan. {now_covers}\n\
         To map it for one school, run `/setup role` again with `school`. Save it for every school?",
        mapping.discord_role_id,
        mapping.role.label()
    );
    let Some((click, save)) = scope::ask_to_save(ctx, "setuprole", preview).await? else {
        return Ok(());
    };
    let text = if save {
        save_mapping(ctx, mapping).await?
    } else {
        "Nothing was saved.".to_owned()
    };
    scope::settle(ctx, &click, text).await
}

/// Saves the mapping, asks Discord for the member list again so everyone's roles follow it,
/// and says what changed.
async fn save_mapping(ctx: Context<'_>, mapping: &NewMapping<'_>) -> Result<String, Error> {
    let school_name = match mapping.school_id {
        Some(id) => Some(
            schools::get(&ctx.data().db, mapping.server_id, id)
                .await?
                .map_or_else(|| "a removed school".to_owned(), |s| s.name),
        ),
        None => None,
    };
    let audit = mapping_audit(
        ctx,
        mapping.discord_role_id,
        mapping.role,
        school_name.as_deref(),
        true,
    );
    let added = members::map_role(&ctx.data().db, mapping, ctx.data().now(), &audit).await?;
    let scope = school_name.as_deref().map_or_else(
        || "across the server".to_owned(),
        |name| format!("for **{name}**"),
    );
    Ok(if added {
        super::member_list::request(ctx.serenity_context(), mapping.server_id.into()).await;
        format!(
            "Done: everyone with <@&{}> now counts as a {} {scope}.",
            mapping.discord_role_id,
            mapping.role.label()
        )
    } else {
        format!(
            "No change: <@&{}> already counts as a {} {scope}.",
            mapping.discord_role_id,
            mapping.role.label()
        )
    })
}

/// The audit entry of a mapping added or removed by the caller, saved with the change.
fn mapping_audit(
    ctx: Context<'_>,
    discord_role_id: u64,
    role: Role,
    school: Option<&str>,
    added: bool,
) -> AuditEntry {
    AuditEntry {
        at: ctx.data().now(),
        actor: Some(ctx.author().id.into()),
        via: AuditVia::Discord,
        action: AuditAction::RoleMapping,
        scope: role_mapping_scope(discord_role_id, role, school, added),
        subject: None,
        with_answers: false,
        row_count: None,
    }
}

/// List which Discord roles count as what in coachbot (admins)
#[poise::command(slash_command, guild_only, check = "caller::admin")]
async fn roles(ctx: Context<'_>) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let db = &ctx.data().db;
    let mappings = members::mappings(db, guild_id.into()).await?;
    let all_schools = schools::list(db, guild_id.into()).await?;
    let reply = if mappings.is_empty() {
        "No Discord role is mapped yet: `/setup role` maps one (only admins and Discord administrators can use coachbot until then).".to_owned()
    } else {
        let lines: Vec<String> = mappings
            .iter()
            .map(|m| {
                let scope = m.school_id.map_or_else(
                    || "every school".to_owned(),
                    |id| {
                        all_schools
                            .iter()
                            .find(|s| s.id == id)
                            .map_or_else(|| "a removed school".to_owned(), |s| s.name.clone())
                    },
                );
                format!("• <@&{}> → {} ({scope})", m.discord_role_id, m.role.label())
            })
            .collect();
        format!(
            "Role mappings ({}):\n{}\nRemove one with `/setup role … remove:true`.",
            lines.len(),
            scope::fit_lines(&lines, text::MESSAGE_CONTENT - 200)
        )
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

fn server_name(ctx: Context<'_>, guild_id: serenity::GuildId) -> String {
    scope::server_name(ctx, guild_id)
}
