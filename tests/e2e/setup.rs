//! `/setup school`, `/setup role`, `/help`, and the role checks behind them.

use coachbot::domain::ids::UserId;
use coachbot::store::schools;
use serde_json::json;

use crate::e2e;

e2e! {
    /// An admin adds a school: the reply is ephemeral and the row holds what was asked.
    async fn an_admin_adds_a_school(bot) {
        let ids = &bot.ids;
        let reply = bot
            .command(ids.owner, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("America/Chicago")),
                ("channel", json!(ids.lincoln_channel)),
            ])
            .await;
        assert!(reply.ephemeral, "the confirmation is only for the admin: {reply:?}");
        assert!(reply.content.contains("Added **Lincoln Elementary**"), "{}", reply.content);
        assert!(reply.content.contains("America/Chicago"), "{}", reply.content);
        assert!(reply.mentions_disabled, "replies never ping");

        let stored = schools::list(&bot.db, ids.server()).await.expect("schools");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].name, "Lincoln Elementary");
        assert_eq!(stored[0].time_zone.name(), "America/Chicago");
        assert_eq!(stored[0].channel_id, Some(ids.lincoln_channel as i64));

        // Running it again changes the school instead of adding a second one, and only what
        // was given: the channel stays.
        let reply = bot
            .command(ids.owner, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("america/new_york")),
            ])
            .await;
        assert!(reply.content.contains("Updated **Lincoln Elementary**"), "{}", reply.content);
        let stored = schools::list(&bot.db, ids.server()).await.expect("schools");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].time_zone.name(), "America/New_York");
        assert_eq!(stored[0].channel_id, Some(ids.lincoln_channel as i64));
    }
}

e2e! {
    /// An unknown time zone is refused with a valid example, and nothing is written.
    async fn an_unknown_time_zone_is_refused(bot) {
        let ids = &bot.ids;
        let reply = bot
            .command(ids.owner, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("Mars/Olympus_Mons")),
            ])
            .await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("`Mars/Olympus_Mons` is not a time zone"), "{}", reply.content);
        assert!(reply.content.contains("America/Chicago"), "gives a valid example: {}", reply.content);
        assert!(schools::list(&bot.db, ids.server()).await.expect("schools").is_empty());
    }
}

e2e! {
    /// A member without the admin role is refused by the bot's own check; nothing is written.
    async fn a_member_without_the_admin_role_is_refused(bot) {
        let ids = &bot.ids;
        let reply = bot
            .command(ids.nobody, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("America/Chicago")),
            ])
            .await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("Only coachbot admins can change coachbot's settings"), "{}", reply.content);
        assert!(reply.content.contains("/setup role"), "says what to do: {}", reply.content);
        assert!(schools::list(&bot.db, ids.server()).await.expect("schools").is_empty());
    }
}

e2e! {
    /// `/setup role` makes a Discord role an admin role; its holder can then set up schools.
    async fn a_mapped_role_grants_its_coachbot_role(bot) {
        let ids = &bot.ids;
        let refused = bot
            .command(ids.staffer, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("America/Chicago")),
            ])
            .await;
        assert!(refused.content.contains("Only coachbot admins"), "{}", refused.content);

        let reply = bot
            .command(ids.owner, ids.general, "setup role", &[
                ("discord_role", json!(ids.staff_role)),
                ("coachbot_role", json!("admin")),
            ])
            .await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("now counts as a coachbot admin across the server"), "{}", reply.content);
        let mappings = coachbot::store::members::mappings(&bot.db, ids.server()).await.expect("mappings");
        assert_eq!(mappings.len(), 1);
        assert_eq!(mappings[0].discord_role_id, ids.staff_role);

        let reply = bot
            .command(ids.staffer, ids.general, "setup school", &[
                ("name", json!("Lincoln Elementary")),
                ("time_zone", json!("America/Chicago")),
            ])
            .await;
        assert!(reply.content.contains("Added **Lincoln Elementary**"), "{}", reply.content);
        let roles = coachbot::store::members::roles_of(&bot.db, ids.server(), UserId::new(ids.staffer)).await.expect("roles");
        assert_eq!(roles.len(), 1, "the member's roles are recorded: {roles:?}");
    }
}

e2e! {
    /// A role mapped for one school names that school; an unknown school is refused.
    async fn a_role_can_be_mapped_for_one_school(bot) {
        let ids = &bot.ids;
        bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Lincoln Elementary")),
            ("time_zone", json!("America/Chicago")),
        ])
        .await;
        let reply = bot
            .command(ids.owner, ids.general, "setup role", &[
                ("discord_role", json!(ids.staff_role)),
                ("coachbot_role", json!("leadership team")),
                ("school", json!("Lincoln Elementary")),
            ])
            .await;
        assert!(reply.content.contains("leadership-team member for **Lincoln Elementary**"), "{}", reply.content);

        let reply = bot
            .command(ids.owner, ids.general, "setup role", &[
                ("discord_role", json!(ids.staff_role)),
                ("coachbot_role", json!("coach")),
                ("school", json!("Nowhere High")),
            ])
            .await;
        assert!(reply.content.contains("no school called `Nowhere High`"), "{}", reply.content);
        let mappings = coachbot::store::members::mappings(&bot.db, ids.server()).await.expect("mappings");
        assert_eq!(mappings.len(), 1, "the refused mapping wrote nothing");
    }
}

e2e! {
    /// Time zone autocomplete offers IANA names matching what was typed.
    async fn time_zone_autocomplete_offers_iana_names(bot) {
        let ids = &bot.ids;
        let interaction = bot
            .emu
            .autocomplete(ids.owner, ids.general, "setup school", &[
                ("name", json!("Lincoln")),
                ("time_zone", json!("chica")),
            ], "time_zone")
            .expect("autocomplete");
        let reply = bot.reply(&interaction).await;
        assert_eq!(reply.kind, 8, "an autocomplete result");
        assert_eq!(reply.choices.first().map(|c| c.0.as_str()), Some("America/Chicago"));
        assert!(reply.choices.len() <= 25);
    }
}

e2e! {
    /// School names come in the order people read them, with letter case and accents set
    /// aside, on both engines: in autocomplete (which also matches what was typed without
    /// them) and in `/setup status`. (Each engine's own
    /// order put every capital before every small letter, and "É" after "Z".)
    async fn schools_are_listed_in_reading_order(bot) {
        let ids = &bot.ids;
        for name in ["Washington Middle", "école Nord", "adams High", "Lincoln Elementary", "Zion Academy"] {
            let reply = bot
                .command(ids.owner, ids.general, "setup school", &[
                    ("name", json!(name)),
                    ("time_zone", json!("America/Chicago")),
                ])
                .await;
            assert!(reply.content.contains("Added"), "{}", reply.content);
        }
        let expected = ["adams High", "école Nord", "Lincoln Elementary", "Washington Middle", "Zion Academy"];
        let interaction = bot
            .emu
            .autocomplete(ids.owner, ids.general, "step list", &[("school", json!(""))], "school")
            .expect("autocomplete");
        let offered = bot.reply(&interaction).await;
        let offered: Vec<&str> = offered.choices.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(offered, expected);
        // Typed without the accent, or in capitals, the name is still offered.
        for typed in ["ecole", "ÉCOLE N"] {
            let interaction = bot
                .emu
                .autocomplete(ids.owner, ids.general, "step list", &[("school", json!(typed))], "school")
                .expect("autocomplete");
            let offered = bot.reply(&interaction).await;
            let offered: Vec<&str> = offered.choices.iter().map(|c| c.0.as_str()).collect();
            assert_eq!(offered, ["école Nord"], "typed {typed:?}");
        }

        let status = bot.command(ids.owner, ids.general, "setup status", &[]).await;
        let text = status.text();
        let at: Vec<usize> = expected
            .iter()
            .map(|name| text.find(&format!("**{name}**")).unwrap_or_else(|| panic!("{name} in {text}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "in reading order: {text}");
    }
}

e2e! {
    /// "@everyone" in a school name pings no one.
    async fn everyone_in_a_name_pings_no_one(bot) {
        let ids = &bot.ids;
        let reply = bot
            .command(ids.owner, ids.general, "setup school", &[
                ("name", json!("@everyone Academy")),
                ("time_zone", json!("Europe/London")),
            ])
            .await;
        assert!(reply.content.contains("@everyone Academy"));
        assert!(reply.mentions_disabled, "allowed_mentions must be empty: {:?}", reply.call.body);
    }
}

e2e! {
    /// `/help` lists the commands, from the registered list.
    async fn help_lists_the_commands(bot) {
        let ids = &bot.ids;
        let reply = bot.command(ids.nobody, ids.general, "help", &[]).await;
        assert!(reply.ephemeral);
        for name in ["/setup school", "/setup role", "/digest schedule", "/summary preview", "/help"] {
            assert!(reply.text().contains(name), "{name} missing from {}", reply.text());
        }
        // Discord refuses a message whose embeds hold more than 6,000 characters.
        let chars = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
        let total: usize = reply.embeds.iter().map(|e| {
            chars(&e["title"]) + chars(&e["description"])
                + e["fields"].as_array().map_or(0, |fields| fields.iter().map(|f| chars(&f["name"]) + chars(&f["value"])).sum())
        }).sum();
        assert!(total <= 6000, "/help holds {total} characters of embeds");
    }
}

/// The coachbot roles `user` holds as the store has them now, as `role@school`.
async fn roles_held(bot: &crate::support::TestBot, user: u64) -> Vec<String> {
    coachbot::store::members::roles_of(&bot.db, bot.ids.server(), UserId::new(user))
        .await
        .expect("roles")
        .into_iter()
        .map(|g| {
            format!(
                "{}@{}",
                g.role.as_str(),
                g.school_id
                    .map_or("all".to_owned(), |s| s.get().to_string())
            )
        })
        .collect()
}

/// Waits until `user` holds exactly `expected`.
async fn roles_become(bot: &crate::support::TestBot, user: u64, expected: &[String]) {
    let deadline = tokio::time::Instant::now() + crate::support::WAIT;
    loop {
        let held = roles_held(bot, user).await;
        if held == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "roles of {user} stayed {held:?}, expected {expected:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

e2e! {
    /// With the Server Members intent, a role given or taken in Discord reaches coachbot at
    /// once (GUILD_MEMBER_UPDATE, GUILD_MEMBER_REMOVE): a member's coachbot roles follow
    /// without waiting for their next command, so a coach whose role is taken away is no
    /// longer a coach, and a member who leaves holds nothing.
    async fn role_changes_in_discord_reach_coachbot_at_once(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let lincoln = plan.lincoln.get();
        bot.command(plan.casey, ids.general, "step list", &[]).await;
        assert_eq!(roles_held(bot, plan.casey).await, ["coach@all"]);
        let coaches = bot.emu.member_roles(ids.guild, plan.casey).expect("Casey's roles");

        bot.emu.set_member_roles(ids.guild, plan.casey, &[]).expect("roles");
        roles_become(bot, plan.casey, &[]).await;

        // Pat, Lincoln's principal, becomes a coach too: both roles, before any command.
        let mut pats = bot.emu.member_roles(ids.guild, plan.pat).expect("Pat's roles");
        pats.extend(coaches);
        bot.emu.set_member_roles(ids.guild, plan.pat, &pats).expect("roles");
        roles_become(bot, plan.pat, &["coach@all".to_owned(), format!("principal@{lincoln}")]).await;

        assert_eq!(roles_held(bot, plan.terry).await, [format!("team@{lincoln}")]);
        bot.emu.remove_member(ids.guild, plan.terry).expect("removed");
        roles_become(bot, plan.terry, &[]).await;
    }
}

e2e! {
    /// `/setup roles` lists the mappings (admins only); `/setup role … remove:true` takes one
    /// away, and with it the coachbot role of everyone who held it through that mapping.
    async fn a_role_mapping_is_listed_and_removed(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let refused = bot.command(plan.terry, ids.general, "setup roles", &[]).await;
        assert!(refused.ephemeral && !refused.content.contains("Role mappings"), "{}", refused.content);
        let mapped = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)), ("coachbot_role", json!("coach")), ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
        bot.command(ids.staffer, ids.general, "step list", &[]).await;
        let lincoln = plan.lincoln.get();
        assert_eq!(roles_held(bot, ids.staffer).await, [format!("coach@{lincoln}")]);

        let listed = bot.command(ids.owner, ids.general, "setup roles", &[]).await;
        assert!(listed.ephemeral);
        assert!(listed.content.contains(&format!("<@&{}> → coach (Lincoln Elementary)", ids.staff_role)), "{}", listed.content);
        assert!(listed.content.contains("Role mappings (5)"), "{}", listed.content);

        let removed = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)), ("coachbot_role", json!("coach")), ("school", json!("Lincoln Elementary")), ("remove", json!(true)),
        ]).await;
        assert!(removed.ephemeral && removed.content.starts_with("Done") && removed.content.contains("no longer counts as a coach"), "{}", removed.content);
        assert!(roles_held(bot, ids.staffer).await.is_empty(), "the coach role went with the mapping");
        assert_eq!(
            roles_held(bot, plan.terry).await,
            [format!("team@{lincoln}")],
            "other mappings' roles stay"
        );
        let listed = bot.command(ids.owner, ids.general, "setup roles", &[]).await;
        assert!(!listed.content.contains(&format!("<@&{}>", ids.staff_role)) && listed.content.contains("Role mappings (4)"), "{}", listed.content);
        let again = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)), ("coachbot_role", json!("coach")), ("school", json!("Lincoln Elementary")), ("remove", json!(true)),
        ]).await;
        assert!(again.content.starts_with("No change"), "{}", again.content);
        let still = bot.command(ids.staffer, ids.general, "digest preview", &[]).await;
        assert!(still.ephemeral && !still.text().contains("Lincoln Elementary"), "{}", still.text());
    }
}
