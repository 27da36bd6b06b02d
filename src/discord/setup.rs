//! `/setup`: schools and role mappings (admins only).

use chrono::Utc;
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::{Context, Error, access};
use crate::domain::roles::Role;
use crate::domain::school::{SchoolName, TimeZoneName, suggest_time_zones};
use crate::domain::text;
use crate::error::UserError;
use crate::store::members::{self, NewMapping};
use crate::store::schools::{self, Saved, SchoolSetup};

/// Set up coachbot for this server: schools and who may do what (admins)
#[poise::command(
    slash_command,
    guild_only,
    subcommands("school", "role"),
    subcommand_required
)]
pub async fn setup(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Add a school, or change its time zone or channel
#[poise::command(slash_command, guild_only, check = "access::admin")]
async fn school(
    ctx: Context<'_>,
    #[description = "The school's name, as people say it"] name: String,
    #[description = "The school's time zone, e.g. America/Chicago"]
    #[autocomplete = "autocomplete_time_zone"]
    time_zone: String,
    #[description = "Channel for the school's announcements (optional)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let name = SchoolName::parse(&name)?;
    let time_zone = TimeZoneName::parse(&time_zone)?;
    let server_name = server_name(ctx, guild_id);
    let now = Utc::now();
    let (school, saved) = schools::save(
        &ctx.data().db,
        &SchoolSetup {
            server_id: guild_id.get(),
            server_name: &server_name,
            name: &name,
            time_zone,
            channel_id: channel.as_ref().map(|c| c.id.get()),
        },
        now,
    )
    .await?;
    let local = now.with_timezone(&time_zone.tz()).format("%H:%M on %A");
    let verb = match saved {
        Saved::Added => "Added",
        Saved::Updated => "Updated",
    };
    let channel_line = match school.channel_id {
        Some(id) => format!("Announcements go to <#{id}>."),
        None => "No announcement channel yet; run this again with `channel` to add one.".to_owned(),
    };
    let reply = format!(
        "{verb} **{}**. Time zone: {time_zone} (it is {local} there). {channel_line}",
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
#[poise::command(slash_command, guild_only, check = "access::admin")]
async fn role(
    ctx: Context<'_>,
    #[description = "The Discord role people already have"] discord_role: serenity::Role,
    #[description = "What that role may do in coachbot"] coachbot_role: RoleChoice,
    #[description = "Only for this school (leave empty for every school)"]
    #[autocomplete = "autocomplete_school"]
    school: Option<String>,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    if discord_role.id.get() == guild_id.get() {
        return Err(UserError::EveryoneRole.into());
    }
    let db = &ctx.data().db;
    let school = match school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Some(
            schools::find_by_name(db, guild_id.get(), name)
                .await?
                .ok_or_else(|| UserError::UnknownSchool {
                    name: text::clip(name, 100),
                })?,
        ),
        None => None,
    };
    let role = Role::from(coachbot_role);
    let server_name = server_name(ctx, guild_id);
    let added = members::map_role(
        db,
        &NewMapping {
            server_id: guild_id.get(),
            server_name: &server_name,
            discord_role_id: discord_role.id.get(),
            role,
            school_id: school.as_ref().map(|s| s.id),
            created_by: ctx.author().id.get(),
        },
        Utc::now(),
    )
    .await?;
    let scope = school.as_ref().map_or_else(
        || "across the server".to_owned(),
        |s| format!("for **{}**", s.name),
    );
    let reply = if added {
        format!(
            "Done: everyone with <@&{}> now counts as a {} {scope}.",
            discord_role.id,
            role.label()
        )
    } else {
        format!(
            "No change: <@&{}> already counts as a {} {scope}.",
            discord_role.id,
            role.label()
        )
    };
    ctx.send(CreateReply::default().content(reply).ephemeral(true))
        .await?;
    Ok(())
}

fn server_name(ctx: Context<'_>, guild_id: serenity::GuildId) -> String {
    ctx.guild()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| format!("server {guild_id}"))
}

async fn autocomplete_time_zone(
    _ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let choices: Vec<serenity::AutocompleteChoice> = suggest_time_zones(partial, text::CHOICES)
        .into_iter()
        .map(|name| serenity::AutocompleteChoice::new(name, name))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_school(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let names = schools::names_matching(&ctx.data().db, guild_id.get(), partial, text::CHOICES)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(error = format!("{error:#}"), "school autocomplete failed");
            Vec::new()
        });
    let choices: Vec<serenity::AutocompleteChoice> = names
        .into_iter()
        .map(|name| serenity::AutocompleteChoice::new(text::clip(&name, text::CHOICE_NAME), name))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
