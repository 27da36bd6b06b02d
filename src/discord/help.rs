//! `/help`: what coachbot does and the commands this server has, from the registered list.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::{Context, Error, scope};
use crate::domain::text::EMBED_FIELD_VALUE;

/// What coachbot does, and its commands
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    let mut embed = serenity::CreateEmbed::new().title("coachbot").description(
        "coachbot keeps your school's coaching work moving between your coach's visits: \
         check-ins in DM, action steps and barriers kept by the team, reminders for coaches, \
         and summaries for the leadership channel.\n\nAdmins start with `/setup school`, then \
         `/setup role` so that people's Discord roles say who is a principal, team member, \
         coach or district leader.",
    );
    for command in &ctx.framework().options().commands {
        let lines: Vec<String> = if command.subcommands.is_empty() {
            vec![line(
                &command.qualified_name,
                command.description.as_deref(),
            )]
        } else {
            command
                .subcommands
                .iter()
                .map(|sub| line(&sub.qualified_name, sub.description.as_deref()))
                .collect()
        };
        embed = embed.field(
            format!("/{}", command.name),
            scope::fit_lines(&lines, EMBED_FIELD_VALUE),
            false,
        );
    }
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

fn line(name: &str, description: Option<&str>) -> String {
    format!("`/{name}`: {}", description.unwrap_or_default())
}
