//! `/help`: what coachbot does and the commands this server has, from the registered list.

use poise::CreateReply;

use super::{Context, Error};

/// What coachbot does, and its commands
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    let mut text = String::from(
        "**coachbot** keeps your school's coaching work moving between your coach's visits: \
         check-ins in DM, action steps and barriers kept by the team, reminders for coaches, \
         and summaries for the leadership channel.\n\n**Commands**\n",
    );
    for command in &ctx.framework().options().commands {
        if command.subcommands.is_empty() {
            line(
                &mut text,
                &command.qualified_name,
                command.description.as_deref(),
            );
        }
        for sub in &command.subcommands {
            line(&mut text, &sub.qualified_name, sub.description.as_deref());
        }
    }
    text.push_str(
        "\nAdmins start with `/setup school`, then `/setup role` so that people's Discord roles \
         say who is a principal, team member, coach or district leader.",
    );
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

fn line(out: &mut String, name: &str, description: Option<&str>) {
    out.push_str(&format!("`/{name}`: {}\n", description.unwrap_or_default()));
}
