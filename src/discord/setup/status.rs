//! `/setup status` (admins): each school with its channel, time zone and coaches; the role
//! mappings; whether the member list is kept (Server Members intent); how long records are kept
//! (`/setup retention`); and what is missing, each with the command that fixes it.

use chrono::{DateTime, Utc};
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error, caller, scope};
use crate::domain::ids::SchoolId;
use crate::domain::privacy::Retention;
use crate::domain::roles::Role;
use crate::domain::text;
use crate::error::UserError;
use crate::store::members::{self, RoleMapping};
use crate::store::{member_list, retention, schools};

/// What is set up and what is missing, with the commands that fix it (admins)
#[poise::command(slash_command, guild_only, check = "caller::admin")]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let server = guild_id.into();
    let db = &ctx.data().db;
    let all = schools::list(db, server).await?;
    let mappings = members::mappings(db, server).await?;
    let names = members::names(db, server).await?;
    let mut schools = Vec::with_capacity(all.len());
    for school in &all {
        let coaches = members::coaches_of(db, server, school.id).await?;
        schools.push(SchoolState {
            id: school.id,
            name: school.name.clone(),
            time_zone: school.time_zone.name(),
            channel_id: school.channel_id,
            coaches: coaches
                .iter()
                .map(|c| names.get(c).cloned().unwrap_or_else(|| format!("<@{c}>")))
                .collect(),
        });
    }
    let state = ServerState {
        schools,
        mappings,
        members_synced_at: member_list::synced_at(db, server).await?,
        retention: retention::get(db, server).await?,
    };
    let embeds = render(&state, &school_names(&all));
    let mut reply = CreateReply::default().ephemeral(true);
    for embed in embeds {
        reply = reply.embed(embed);
    }
    ctx.send(reply).await?;
    Ok(())
}

fn school_names(all: &[schools::School]) -> Vec<(SchoolId, String)> {
    all.iter().map(|s| (s.id, s.name.clone())).collect()
}

/// One school as `/setup status` shows it.
#[derive(Clone, Debug)]
pub struct SchoolState {
    pub id: SchoolId,
    pub name: String,
    pub time_zone: &'static str,
    pub channel_id: Option<i64>,
    /// Display names of the people who coach it (by their roles as last seen).
    pub coaches: Vec<String>,
}

/// What `/setup status` reads.
#[derive(Clone, Debug)]
pub struct ServerState {
    pub schools: Vec<SchoolState>,
    pub mappings: Vec<RoleMapping>,
    pub members_synced_at: Option<DateTime<Utc>>,
    /// How long records are kept (`/setup retention`).
    pub retention: Retention,
}

/// Something missing, and the command (or setting) that fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    pub fix: String,
}

/// What is missing, in the order an admin would fix it.
pub fn missing(state: &ServerState) -> Vec<Missing> {
    let mut out = Vec::new();
    if state.members_synced_at.is_none() {
        out.push(Missing {
            what: "The Server Members intent is off (or the member list has not arrived yet): \
                   school-wide check-ins reach only people coachbot has seen use a command."
                .to_owned(),
            fix: "Developer Portal → your application → Bot → Privileged Gateway Intents → \
                  switch on Server Members Intent, then restart coachbot."
                .to_owned(),
        });
    }
    if state.schools.is_empty() {
        out.push(Missing {
            what: "No school yet.".to_owned(),
            fix: "`/setup school name:<school> time_zone:America/Chicago channel:#<channel>`"
                .to_owned(),
        });
    }
    let covers = |mapping: &RoleMapping, role: Role, school: SchoolId| {
        mapping.role == role && mapping.school_id.is_none_or(|s| s == school)
    };
    for school in &state.schools {
        let name = &school.name;
        if school.coaches.is_empty() {
            let mapped = state
                .mappings
                .iter()
                .find(|m| covers(m, Role::Coach, school.id));
            out.push(match mapped {
                Some(m) => Missing {
                    what: format!(
                        "**{name}** has no coach: nobody holds <@&{}> yet.",
                        m.discord_role_id
                    ),
                    fix: format!(
                        "Give <@&{}> to the coach in Discord (Server Settings → Members).",
                        m.discord_role_id
                    ),
                },
                None => Missing {
                    what: format!("**{name}** has no coach."),
                    fix: format!(
                        "`/setup role discord_role:@<coaches' role> coachbot_role:coach school:{name}`"
                    ),
                },
            });
        }
        if !state
            .mappings
            .iter()
            .any(|m| covers(m, Role::Principal, school.id))
        {
            out.push(Missing {
                what: format!("No Discord role is mapped to principal at **{name}**."),
                fix: format!(
                    "`/setup role discord_role:@<principal's role> coachbot_role:principal school:{name}`"
                ),
            });
        }
        if school.channel_id.is_none() {
            out.push(Missing {
                what: format!("**{name}** has no announcement channel."),
                fix: format!("`/setup school name:{name} channel:#<channel>`"),
            });
        }
    }
    out
}

/// Budgets per embed, so that the reply stays within Discord's 6,000 characters of embeds.
const SCHOOLS_BUDGET: usize = 2000;
const ROLES_BUDGET: usize = 1400;
const MISSING_BUDGET: usize = 2200;

/// The reply: schools, roles and members, what is missing; within Discord's embed limits.
pub fn render(
    state: &ServerState,
    school_names: &[(SchoolId, String)],
) -> Vec<serenity::CreateEmbed> {
    let school_lines: Vec<String> = state
        .schools
        .iter()
        .map(|s| {
            let channel = s
                .channel_id
                .map_or_else(|| "no channel".to_owned(), |c| format!("<#{c}>"));
            let coaches = if s.coaches.is_empty() {
                "no coach".to_owned()
            } else {
                format!("coach: {}", s.coaches.join(", "))
            };
            text::clip(
                &format!("• **{}**: {channel}, {}, {coaches}", s.name, s.time_zone),
                400,
            )
        })
        .collect();
    let schools = if school_lines.is_empty() {
        "No school yet.".to_owned()
    } else {
        scope::fit_lines(&school_lines, SCHOOLS_BUDGET)
    };
    let mut role_lines: Vec<String> = state
        .mappings
        .iter()
        .map(|m| {
            let at = m.school_id.map_or_else(
                || "every school".to_owned(),
                |id| {
                    school_names
                        .iter()
                        .find(|(s, _)| *s == id)
                        .map_or_else(|| "a removed school".to_owned(), |(_, n)| n.clone())
                },
            );
            format!("• <@&{}> → {} ({at})", m.discord_role_id, m.role.label())
        })
        .collect();
    if role_lines.is_empty() {
        role_lines.push("No Discord role is mapped yet.".to_owned());
    }
    let intent = match state.members_synced_at {
        Some(at) => format!(
            "Server Members intent: **on** (member list synced {}).",
            at.format("%-d %b %H:%M UTC")
        ),
        None => {
            "Server Members intent: **off**, or the member list has not arrived yet.".to_owned()
        }
    };
    let kept = format!(
        "{} Change it with `/setup retention`.",
        super::retention::line(state.retention)
    );
    let roles = format!(
        "{}\n\n{intent}\n{kept}",
        scope::fit_lines(
            &role_lines,
            ROLES_BUDGET - intent.chars().count() - kept.chars().count() - 3
        )
    );
    let gaps = missing(state);
    let missing_text = if gaps.is_empty() {
        "Nothing: every school has a coach, a principal role and a channel.".to_owned()
    } else {
        let lines: Vec<String> = gaps
            .iter()
            .map(|m| format!("• {}\n  Fix: {}", m.what, m.fix))
            .collect();
        scope::fit_lines(&lines, MISSING_BUDGET)
    };
    vec![
        serenity::CreateEmbed::new()
            .title(format!("Schools ({})", state.schools.len()))
            .description(schools),
        serenity::CreateEmbed::new()
            .title("Roles, members and retention")
            .description(roles),
        serenity::CreateEmbed::new()
            .title(format!("What is missing ({})", gaps.len()))
            .description(missing_text),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lincoln(coaches: &[&str], channel: Option<i64>) -> SchoolState {
        SchoolState {
            id: SchoolId::new(1),
            name: "Lincoln Elementary".to_owned(),
            time_zone: "America/Chicago",
            channel_id: channel,
            coaches: coaches.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn a_school_without_a_coach_says_how_to_map_one() {
        let state = ServerState {
            schools: vec![lincoln(&[], Some(5))],
            mappings: vec![RoleMapping {
                discord_role_id: 9,
                role: Role::Principal,
                school_id: None,
            }],
            members_synced_at: Some(Utc::now()),
            retention: Retention::default(),
        };
        let gaps = missing(&state);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].what.contains("**Lincoln Elementary** has no coach"));
        assert!(
            gaps[0]
                .fix
                .contains("coachbot_role:coach school:Lincoln Elementary")
        );
    }

    #[test]
    fn nothing_missing_and_within_limits() {
        let state = ServerState {
            schools: vec![lincoln(&["Casey"], Some(5))],
            mappings: vec![RoleMapping {
                discord_role_id: 9,
                role: Role::Principal,
                school_id: Some(SchoolId::new(1)),
            }],
            members_synced_at: Some(Utc::now()),
            retention: Retention::default(),
        };
        assert!(missing(&state).is_empty());
        let many = ServerState {
            schools: (0..300)
                .map(|i| SchoolState {
                    id: SchoolId::new(i),
                    name: format!("School number {i} with a long name"),
                    ..lincoln(&[], None)
                })
                .collect(),
            mappings: Vec::new(),
            members_synced_at: None,
            retention: Retention::default(),
        };
        assert!(missing(&many).len() > 600);
        let total: usize = [SCHOOLS_BUDGET, ROLES_BUDGET, MISSING_BUDGET].iter().sum();
        assert!(total + 3 * 40 < text::EMBED_TOTAL);
    }
}
