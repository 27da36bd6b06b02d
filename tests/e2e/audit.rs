//! `/privacy audit`: what was done with people's data, for admins only. Exports from Discord
//! and from the command line, and role mappings added and removed, each with when, what,
//! who and where; `days` narrows the list.

use chrono::TimeDelta;
use coachbot::domain::ids::UserId;
use coachbot::domain::privacy::{AuditAction, AuditVia};
use coachbot::emulator::Reply;
use coachbot::store::audit;
use serde_json::json;

use crate::e2e;
use crate::support::TestBot;

/// `/privacy audit` as `user`, with `days` when given.
async fn audit_as(bot: &TestBot, user: u64, days: Option<u32>) -> Reply {
    let options: Vec<(&str, serde_json::Value)> =
        days.map(|d| ("days", json!(d))).into_iter().collect();
    bot.command(user, bot.ids.general, "privacy audit", &options)
        .await
}

/// The lines of the audit embed's description.
fn lines(reply: &Reply) -> Vec<String> {
    assert!(
        reply.ephemeral,
        "the audit is only for the admin who asks: {reply:?}"
    );
    let embed = reply
        .embeds
        .first()
        .unwrap_or_else(|| panic!("an embed: {reply:?}"));
    embed["description"]
        .as_str()
        .expect("a description")
        .lines()
        .map(str::to_owned)
        .collect()
}

e2e! {
    /// An admin exports Lincoln in Discord and the operator exports it with Terry's answers
    /// on the command line; the admin maps a Discord role and later removes the mapping.
    /// `/privacy audit` lists each with its scope and who did it, newest first; `days:5`
    /// shows only what happened in the last five days; a mapping that changed nothing is not
    /// recorded; a coach and a team member are refused.
    async fn an_admin_reads_exports_and_role_mappings_in_the_audit(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let owner = UserId::new(ids.owner).mention();

        let exported = bot.command(ids.owner, ids.general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(!exported.call.attachments.is_empty(), "{}", exported.content);
        let dir = tempfile::tempdir().expect("a temp dir");
        coachbot::cli::export(&bot.db, Some(ids.guild), Some("Lincoln Elementary"), dir.path(), Some(plan.terry))
            .await
            .expect("the command-line export");
        let mapped = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)),
            ("coachbot_role", json!("coach")),
            ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
        let again = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)),
            ("coachbot_role", json!("coach")),
            ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(again.content.starts_with("No change"), "{}", again.content);

        let added = format!("Discord role <@&{}> → coach at Lincoln Elementary (added)", ids.staff_role);
        let listed = lines(&audit_as(bot, ids.owner, None).await);
        // The plan's four mappings, this one (once), and the two exports.
        assert_eq!(listed.len(), 7, "{listed:#?}");
        assert!(listed[0].contains(&format!("**role mapping** · {added} · by {owner} in Discord")), "{listed:#?}");
        assert!(
            listed[1].ends_with(&format!(
                "**export** · Lincoln Elementary · on the command line · about {} · check-in answers included",
                UserId::new(plan.terry).mention()
            )),
            "{listed:#?}"
        );
        assert!(listed[2].ends_with(&format!("**export** · Lincoln Elementary · by {owner} in Discord")), "{listed:#?}");
        assert_eq!(listed.iter().filter(|l| l.contains("**role mapping**")).count(), 5, "{listed:#?}");
        assert!(listed.iter().any(|l| l.contains("→ coach across the server (added)")), "the plan's coaches: {listed:#?}");

        // The rows themselves: who, how, about whom.
        let since = bot.app().clock.now() - TimeDelta::days(1);
        let rows = audit::list(&bot.db, ids.server(), since, 100).await.expect("the audit");
        let cli = &rows[1];
        assert_eq!((cli.action, cli.via, cli.actor), (AuditAction::Export, AuditVia::CommandLine, None));
        assert_eq!((cli.subject, cli.with_answers), (Some(UserId::new(plan.terry)), true));
        let discord = &rows[2];
        assert_eq!((discord.action, discord.via, discord.actor), (AuditAction::Export, AuditVia::Discord, Some(UserId::new(ids.owner))));
        assert_eq!((discord.scope.as_str(), discord.subject, discord.with_answers), ("Lincoln Elementary", None, false));

        // Ten days on, the mapping goes: `days:5` shows only that.
        bot.app().clock.advance(TimeDelta::days(10));
        let removed = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)),
            ("coachbot_role", json!("coach")),
            ("school", json!("Lincoln Elementary")),
            ("remove", json!(true)),
        ]).await;
        assert!(removed.content.starts_with("Done"), "{}", removed.content);
        let recent = audit_as(bot, ids.owner, Some(5)).await;
        assert!(recent.embeds[0]["title"].as_str().is_some_and(|t| t.contains("5 days")), "{recent:?}");
        let recent = lines(&recent);
        assert_eq!(recent.len(), 1, "{recent:#?}");
        assert!(
            recent[0].contains(&format!(
                "**role mapping** · Discord role <@&{}> → coach at Lincoln Elementary (removed) · by {owner} in Discord",
                ids.staff_role
            )),
            "{recent:#?}"
        );
        assert_eq!(lines(&audit_as(bot, ids.owner, Some(30)).await).len(), 8);

        // Only admins read it.
        for who in [plan.casey, plan.terry] {
            let refused = audit_as(bot, who, None).await;
            assert!(refused.ephemeral, "{refused:?}");
            assert!(refused.embeds.is_empty(), "{refused:?}");
            assert!(refused.content.contains("Only coachbot admins can read the audit"), "{}", refused.content);
        }
    }
}
