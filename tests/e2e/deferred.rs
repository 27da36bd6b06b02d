//! Commands that build files or charts answer Discord at once (a deferred response, type 5)
//! and send what they built after it, so Discord's three seconds are never at risk however
//! long the building takes: `/summary post`, `/export`, `/assessment compare`.

use coachbot::emulator::{Interaction, Reply};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::{Plan, TestBot};

/// Runs a slash command and checks, on the calls the emulator recorded for its token, that
/// the bot's first answer was one deferred callback (type 5) and that the message the person
/// finally sees came after it; returns that message.
async fn deferred(bot: &TestBot, user: u64, invocation: &str, options: &[(&str, Value)]) -> Reply {
    let interaction: Interaction = bot
        .emu
        .slash_command(user, bot.ids.general, invocation, options)
        .expect("the emulator builds the interaction");
    let reply = bot.reply(&interaction).await;
    bot.announcements_sent().await;
    let on_token: Vec<_> = bot
        .emu
        .calls_since(interaction.mark)
        .into_iter()
        .filter(|c| c.path.contains(&interaction.token))
        .collect();
    let callback = format!(
        "/interactions/{}/{}/callback",
        interaction.id, interaction.token
    );
    let first = on_token.first().expect("the bot answered the interaction");
    assert_eq!(
        first.path, callback,
        "{invocation}: the first answer is the callback"
    );
    let body = first.body.clone().unwrap_or(Value::Null);
    assert_eq!(
        body["type"],
        json!(5),
        "{invocation}: deferred first: {body}"
    );
    assert_eq!(
        on_token.iter().filter(|c| c.path == callback).count(),
        1,
        "{invocation}: one callback"
    );
    assert_eq!(reply.kind, 5, "{invocation}");
    assert!(
        reply.call.index > first.index && reply.call.path.starts_with("/webhooks/"),
        "{invocation}: the reply follows the deferral: {}",
        reply.call.path
    );
    reply
}

e2e! {
    /// `/summary post`, `/export` and `/assessment compare` each defer first, then the whole
    /// reply follows: the summary's confirmation, the export's files, the comparison's chart.
    async fn commands_that_build_files_or_charts_defer_first(bot) {
        let Plan { casey, pat, .. } = bot.plan().await;
        let school = ("school", json!("Lincoln Elementary"));

        let posted = deferred(bot, casey, "summary post", std::slice::from_ref(&school)).await;
        assert!(posted.ephemeral, "the confirmation is for the coach");
        assert!(
            posted.content.contains("The summary of Lincoln Elementary is on its way to"),
            "{}",
            posted.content
        );

        let exported = deferred(bot, casey, "export", std::slice::from_ref(&school)).await;
        assert!(exported.ephemeral);
        assert!(
            exported.content.starts_with("The records of **Lincoln Elementary** as of now:"),
            "{}",
            exported.content
        );
        let files: Vec<_> = exported.call.attachments.iter().filter_map(|f| f.filename.clone()).collect();
        assert!(files.iter().any(|f| f.starts_with("lincoln-elementary-") && f.ends_with("-steps.csv")), "{files:?}");

        for (name, csv, day) in [
            ("Fall 2026", &b"Indicator,Score (of 4)\n11,3\n12A,1.5\n12b,1\n"[..], "2026-10-15"),
            ("Winter check", &b"Indicator,Score (of 4)\n11,2\n12A,3.5\n12b,0.5\n"[..], "2026-11-20"),
        ] {
            let file = bot.emu.upload("results.csv", csv);
            let options = [
                ("file", json!(file)),
                school.clone(),
                ("administered", json!(day)),
                ("name", json!(name)),
            ];
            let imported = bot.command(casey, bot.ids.general, "assessment import", &options).await;
            assert!(imported.content.contains(&format!("Imported **{name}**")), "{}", imported.content);
        }
        let compared = deferred(bot, pat, "assessment compare", std::slice::from_ref(&school)).await;
        assert!(compared.ephemeral);
        assert!(compared.text().contains("Lincoln Elementary: Fall 2026 → Winter check"), "{}", compared.text());
        assert!(
            compared.call.attachments.iter().any(|f| f.filename.as_deref() == Some("lincoln-elementary-compare-2026-11-20.png")),
            "the chart comes with the reply"
        );
    }
}
