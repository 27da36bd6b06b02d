//! `/help`: what coachbot does and the commands this server has, from the registered list:
//! first those the caller's roles allow, then one short line about the rest.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::{Context, Error, caller, scope};
use crate::domain::roles::{Access, Role};
use crate::domain::text::{EMBED_FIELD_VALUE, EMBED_TOTAL};

/// Who a command is for, as `/help` groups them. The commands check for themselves; this
/// only decides what each person sees first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Everyone with a role at a school: principals, team, coaches, district leaders, admins.
    SchoolPeople,
    /// Those who change a school's plan: principals, team, coaches, admins.
    PlanPeople,
    /// Those who move a school through the coaching cycle: principals, coaches, admins.
    Leaders,
    /// Coaches and admins.
    Coaches,
    Admins,
}

impl Audience {
    /// Who `/help` says a command is for, by its full name (`step add`, `setup status`…).
    pub fn of(qualified_name: &str) -> Self {
        let mut words = qualified_name.split_whitespace();
        let group = words.next().unwrap_or_default();
        let sub = words.next().unwrap_or_default();
        match (group, sub) {
            ("help", _) => Self::Everyone,
            ("privacy", "audit") => Self::Admins,
            ("privacy", _) => Self::Everyone,
            ("setup", "feed") => Self::Coaches,
            ("setup", _) => Self::Admins,
            ("goal", _) => Self::Leaders,
            ("step" | "barrier" | "indicator", "list" | "show") => Self::SchoolPeople,
            ("step" | "barrier" | "indicator" | "followup", _) => Self::PlanPeople,
            ("checkin", "start" | "history" | "skip") => Self::PlanPeople,
            ("cycle", "advance") => Self::Leaders,
            ("assessment", "import") => Self::Coaches,
            ("brief", _) => Self::Coaches,
            ("session", "log") => Self::Coaches,
            ("checkin" | "schedule" | "digest" | "summary" | "export", _) => Self::Coaches,
            _ => Self::SchoolPeople,
        }
    }

    /// Whether someone with `access` is among those the command is for.
    pub fn admits(self, access: &Access) -> bool {
        let any = |roles: &[Role]| roles.iter().any(|r| access.has(*r));
        access.is_admin()
            || match self {
                Self::Everyone => true,
                Self::SchoolPeople => {
                    any(&[Role::Principal, Role::Team, Role::Coach, Role::District])
                }
                Self::PlanPeople => any(&[Role::Principal, Role::Team, Role::Coach]),
                Self::Leaders => any(&[Role::Principal, Role::Coach]),
                Self::Coaches => access.has(Role::Coach),
                Self::Admins => false,
            }
    }
}

/// What coachbot does, and the commands your roles allow
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    // In a DM there are no roles: every command is listed.
    let access = match ctx.guild_id() {
        Some(_) => Some(caller::peek_access(ctx).await?),
        None => None,
    };
    let mut embed = serenity::CreateEmbed::new().title("coachbot").description(
        "coachbot keeps your school's coaching work moving between your coach's visits: \
         check-ins in DM, action steps and barriers kept by the team, reminders for coaches, \
         and summaries for the leadership channel.\n\nAdmins start with `/setup school`, then \
         `/setup role` so that people's Discord roles say who is a principal, team member, \
         coach or district leader; `/setup status` shows what is still missing.",
    );
    let mut others: Vec<String> = Vec::new();
    // Discord refuses an embed over 6,000 characters in all: once the described groups would
    // pass that (keeping room for two closing fields), the rest of the caller's commands are
    // listed by name only.
    let mut used = embed_text_len(&embed);
    let budget = EMBED_TOTAL.saturating_sub(2 * (EMBED_FIELD_VALUE + 40));
    let mut more_of_mine: Vec<String> = Vec::new();
    for command in &ctx.framework().options().commands {
        let subs: Vec<&poise::Command<_, _>> = if command.subcommands.is_empty() {
            vec![command]
        } else {
            command.subcommands.iter().collect()
        };
        let (mine, rest): (Vec<_>, Vec<_>) = subs.into_iter().partition(|sub| {
            access
                .as_ref()
                .is_none_or(|a| Audience::of(&sub.qualified_name).admits(a))
        });
        if !mine.is_empty() {
            let lines: Vec<String> = mine
                .iter()
                .map(|sub| line(&sub.qualified_name, sub.description.as_deref()))
                .collect();
            let name = format!("/{}", command.name);
            let value = scope::fit_lines(&lines, EMBED_FIELD_VALUE);
            let len = name.chars().count() + value.chars().count();
            if more_of_mine.is_empty() && used + len <= budget {
                used += len;
                embed = embed.field(name, value, false);
            } else {
                more_of_mine.extend(mine.iter().map(|sub| format!("`/{}`", sub.qualified_name)));
            }
        }
        others.extend(rest.iter().map(|sub| format!("`/{}`", sub.qualified_name)));
    }
    if !more_of_mine.is_empty() {
        embed = embed.field(
            "More of your commands",
            crate::domain::text::clip(
                &format!(
                    "{}. Each command's own box in Discord says what it does.",
                    more_of_mine.join(", ")
                ),
                EMBED_FIELD_VALUE,
            ),
            false,
        );
    }
    if !others.is_empty() {
        let nobody = access.as_ref().is_some_and(|a| !a.has_any_role());
        let why = if nobody {
            "You have no coachbot role yet: ask a server admin to map your Discord role with \
             `/setup role`. Then, depending on your role"
        } else {
            "For other roles"
        };
        let joined = others.join(", ");
        embed = embed.field(
            "Other commands",
            crate::domain::text::clip(&format!("{why}: {joined}."), EMBED_FIELD_VALUE),
            false,
        );
    }
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// The characters of the title and description `embed` holds so far.
fn embed_text_len(embed: &serenity::CreateEmbed) -> usize {
    let value = serde_json::to_value(embed).unwrap_or_default();
    ["title", "description"]
        .iter()
        .map(|key| value[*key].as_str().map_or(0, |s| s.chars().count()))
        .sum()
}

fn line(name: &str, description: Option<&str>) -> String {
    format!("`/{name}`: {}", description.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::SchoolId;
    use crate::domain::roles::Grant;

    fn with(role: Role) -> Access {
        Access {
            grants: vec![Grant {
                role,
                school_id: Some(SchoolId::new(1)),
            }],
            discord_admin: false,
        }
    }

    #[test]
    fn the_brief_is_listed_for_coaches() {
        assert!(Audience::of("brief").admits(&with(Role::Coach)));
        assert!(!Audience::of("brief").admits(&with(Role::Principal)));
        assert!(!Audience::of("brief").admits(&with(Role::Team)));
    }

    #[test]
    fn each_role_sees_its_own_commands() {
        let team = with(Role::Team);
        assert!(Audience::of("step add").admits(&team));
        assert!(Audience::of("help").admits(&team));
        assert!(!Audience::of("setup status").admits(&team));
        assert!(!Audience::of("digest schedule").admits(&team));
        assert!(Audience::of("cycle show").admits(&team));
        assert!(!Audience::of("cycle advance").admits(&team));
        assert!(Audience::of("cycle advance").admits(&with(Role::Principal)));
        let coach = with(Role::Coach);
        assert!(Audience::of("digest schedule").admits(&coach));
        assert!(!Audience::of("setup role").admits(&coach));
        let district = with(Role::District);
        assert!(Audience::of("step list").admits(&district));
        assert!(!Audience::of("step add").admits(&district));
        let admin = Access {
            grants: Vec::new(),
            discord_admin: true,
        };
        assert!(Audience::of("setup status").admits(&admin));
        assert!(!Audience::of("step list").admits(&Access::default()));
    }
}
