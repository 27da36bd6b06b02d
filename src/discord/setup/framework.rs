//! `/setup framework`: a district loads its own framework file. It is checked before it
//! replaces anything, and refused if it drops an indicator that the server's records use.

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use super::super::{Context, Error, caller, scope};
use crate::domain::framework::Framework;
use crate::domain::text;
use crate::error::UserError;
use crate::store::frameworks::{self, IndicatorUse, Loaded, NewFramework, Use};

/// Largest framework file accepted.
const FRAMEWORK_MAX_BYTES: u32 = 256 * 1024;

/// Room for the list of indicators in use, within a message with the refusal's sentences.
const USES_BUDGET: usize = 1500;
/// Room for the indicator ids in the reply that says the framework was loaded.
const IDS_BUDGET: usize = 1400;

/// Load your district's own framework file (TOML); it is checked before it replaces anything
#[poise::command(slash_command, guild_only, check = "caller::admin")]
pub(super) async fn framework(
    ctx: Context<'_>,
    #[description = "The framework file (.toml, shaped like prompts/framework.toml)"]
    file: serenity::Attachment,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    if file.size > FRAMEWORK_MAX_BYTES {
        return Err(UserError::FileTooLarge {
            size: u64::from(file.size),
            max: u64::from(FRAMEWORK_MAX_BYTES),
        }
        .into());
    }
    let bytes = file
        .download()
        .await
        .context("downloading the attached framework file")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        UserError::BadFramework(
            "That file is not text. Attach the framework as a .toml file.".to_owned(),
        )
    })?;
    let parsed = Framework::parse(&text).map_err(|errors| {
        UserError::BadFramework(text::clip(
            &format!(
                "The framework was not loaded; the current one stays. Fix these and attach it again: {}.",
                errors.0.join("; ")
            ),
            text::MESSAGE_CONTENT,
        ))
    })?;
    let loaded = frameworks::save(
        &ctx.data().db,
        &NewFramework {
            server_id: guild_id.into(),
            server_name: &scope::server_name(ctx, guild_id),
            source: &text,
            parsed: &parsed,
            loaded_by: ctx.author().id.into(),
        },
        ctx.data().now(),
    )
    .await?;
    match loaded {
        Loaded::Saved => scope::say(ctx, loaded_reply(&parsed)).await,
        Loaded::InUse(uses) => Err(in_use(&uses).into()),
    }
}

/// What the admin reads once the framework is saved: within one message however many
/// indicators it has.
fn loaded_reply(framework: &Framework) -> String {
    let ids: Vec<&str> = framework.indicators().map(|i| i.id.as_str()).collect();
    text::clip(
        &format!(
            "Loaded and saved **{}**: {} and {} ({}). It is the \
             framework for this server from now on.",
            framework.name,
            text::plural(framework.practices.len(), "practice"),
            text::plural(ids.len(), "indicator"),
            text::join_within(&ids, ", ", IDS_BUDGET, "`/indicator list` shows them all"),
        ),
        text::MESSAGE_CONTENT,
    )
}

/// The refusal: each dropped indicator with what uses it, one line each, bounded.
fn in_use(uses: &[IndicatorUse]) -> UserError {
    // Indicators in their first spelling, each with its uses, in the order given.
    let mut by_indicator: Vec<(&str, Vec<String>)> = Vec::new();
    for one in uses {
        let what = match &one.what {
            Use::Focus {
                school,
                steps,
                levels,
            } => format!(
                "focus of **{school}** ({}, {})",
                text::plural(*steps, "step"),
                text::plural(*levels, "level record")
            ),
            Use::Assessment { name, school } => format!("assessment *{name}* of **{school}**"),
        };
        match by_indicator
            .iter_mut()
            .find(|(id, _)| id.eq_ignore_ascii_case(&one.indicator_id))
        {
            Some((_, whats)) => whats.push(what),
            None => by_indicator.push((&one.indicator_id, vec![what])),
        }
    }
    let lines: Vec<String> = by_indicator
        .iter()
        .map(|(id, whats)| {
            format!(
                "• `{}`: {}",
                text::clip(id, 20),
                text::join_within(whats, "; ", 300, "")
            )
        })
        .collect();
    UserError::FrameworkDropsIndicators {
        count: by_indicator.len(),
        uses: scope::fit_lines_see(
            &lines,
            USES_BUDGET,
            "`/indicator list` with `school` shows a school's focus",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_for_a_large_framework_fits_one_message() {
        let mut file = String::from("name = \"Sixty\"\n");
        for p in 0..6 {
            file.push_str(&format!(
                "[[practice]]\nid = \"p{p}\"\nname = \"Practice {p}\"\n"
            ));
            for i in 0..10 {
                file.push_str(&format!(
                    "[[practice.indicator]]\nid = \"indicator-{p}-{i}-{}\"\nname = \"N\"\n[practice.indicator.levels]\n",
                    "x".repeat(6)
                ));
                for level in crate::domain::framework::Level::ALL {
                    file.push_str(&format!("{} = \"d\"\n", level.key()));
                }
            }
        }
        let framework = Framework::parse(&file).expect("valid");
        let reply = loaded_reply(&framework);
        assert!(reply.chars().count() <= text::MESSAGE_CONTENT, "{reply}");
        assert!(reply.contains("Loaded and saved") && reply.contains("60 indicators"));
    }

    #[test]
    fn the_refusal_fits_one_message_and_groups_by_indicator() {
        let mut uses = Vec::new();
        for i in 0..80 {
            uses.push(IndicatorUse {
                indicator_id: format!("ind{i}"),
                what: Use::Focus {
                    school: "S".repeat(90),
                    steps: 3,
                    levels: 1,
                },
            });
        }
        uses.push(IndicatorUse {
            indicator_id: "IND0".to_owned(),
            what: Use::Assessment {
                name: "Fall 2026".to_owned(),
                school: "Lincoln".to_owned(),
            },
        });
        let message = in_use(&uses).to_string();
        assert!(
            message.chars().count() <= text::MESSAGE_CONTENT,
            "{message}"
        );
        assert!(message.contains("80 indicators"), "{message}");
        assert!(
            message.contains("(3 steps, 1 level record); assessment *Fall 2026*"),
            "{message}"
        );
        assert!(message.contains("more; `/indicator list`"), "{message}");
        assert!(message.contains("nothing was saved"), "{message}");
    }
}
