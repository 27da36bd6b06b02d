//! Members kept in sync with the Server Members intent (the whole list asked for over the
//! gateway, then GUILD_MEMBER_ADD / UPDATE / REMOVE), `/setup status`, the confirmation before
//! a role covers every school, `/help` per role, and `/setup school` changing only what is
//! given.

use coachbot::domain::ids::UserId;
use coachbot::store::{member_list, schedules, schools};
use serde_json::json;

use crate::e2e;
use crate::support::{Plan, TestBot, WAIT, dm_questions, queued};

/// The coachbot roles `user` holds as the store has them now, as `role@school`.
async fn roles_held(bot: &TestBot, user: u64) -> Vec<String> {
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

/// Waits until `user` holds exactly `expected` (the member list and member events arrive on
/// the gateway, beside the commands).
async fn roles_become(bot: &TestBot, user: u64, expected: &[String]) {
    let deadline = tokio::time::Instant::now() + WAIT;
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

/// Casey schedules a daily wellbeing check-in for all of Lincoln (no person), clicking Save.
async fn schedule_for_lincoln(bot: &TestBot, plan: &Plan) -> schedules::Schedule {
    let interaction = bot
        .emu
        .slash_command(
            plan.casey,
            bot.ids.general,
            "checkin schedule",
            &[
                ("flow", json!("wellbeing")),
                ("when", json!("daily 08:00")),
                ("school", json!("Lincoln Elementary")),
            ],
        )
        .expect("interaction");
    let preview = bot.reply(&interaction).await;
    assert!(
        preview
            .content
            .contains("the principals and team of Lincoln Elementary"),
        "{}",
        preview.content
    );
    bot.human_pause().await;
    let save = format!("schedule:{}:save", interaction.id);
    let (channel, message) = bot.emu.find_component(&save).expect("a Save button");
    let saved = bot
        .reply(
            &bot.emu
                .click_button(plan.casey, channel, message, &save)
                .expect("click"),
        )
        .await;
    assert!(
        saved.content.starts_with("Saved schedule"),
        "{}",
        saved.content
    );
    schedules::list(&bot.db, bot.ids.server(), None)
        .await
        .expect("schedules")
        .pop()
        .expect("the schedule")
}

/// The people a school-wide schedule queued a check-in for at `occurrence`.
async fn asked_at(
    bot: &TestBot,
    schedule: i64,
    occurrence: chrono::DateTime<chrono::Utc>,
) -> Vec<u64> {
    let prefix = format!("checkin:{schedule}:{}:", occurrence.timestamp());
    let mut people: Vec<u64> = queued(bot)
        .await
        .into_iter()
        .filter(|r| r.key.starts_with(&prefix))
        .filter_map(|r| r.person_id.map(|p| p.get()))
        .collect();
    people.sort_unstable();
    people
}

e2e! {
    /// Lincoln's principal Pat has never used a command; Pat's Discord role maps to principal
    /// at Lincoln. The member list the bot asked for says so: the school-wide check-in reaches
    /// Pat. Pat then leaves the server (GUILD_MEMBER_REMOVE) and Jordan loses the team role
    /// (GUILD_MEMBER_UPDATE): the next check-in goes to neither, and still to Terry.
    async fn a_school_wide_checkin_reaches_a_principal_who_never_used_a_command(bot) {
        let plan = bot.plan().await;
        let lincoln = plan.lincoln.get();
        roles_become(bot, plan.pat, &[format!("principal@{lincoln}")]).await;
        // The team's roles come from the same member list, recorded in their own writes.
        for member in [plan.terry, plan.jordan] {
            roles_become(bot, member, &[format!("team@{lincoln}")]).await;
        }
        let synced = member_list::synced_at(&bot.db, bot.ids.server()).await.expect("synced");
        assert!(synced.is_some(), "the whole member list arrived");
        // Nobody and the staffer are recorded too, with no role.
        assert!(roles_held(bot, bot.ids.nobody).await.is_empty());

        let schedule = schedule_for_lincoln(bot, &plan).await;
        let first = schedule.next_fire_at.expect("first");
        let scheduler = bot.scheduler();
        scheduler.tick(first).await.expect("tick");
        let mut expected = vec![plan.terry, plan.jordan, plan.pat];
        expected.sort_unstable();
        assert_eq!(asked_at(bot, schedule.id, first).await, expected);
        scheduler.deliver(first).await.expect("deliver");
        assert_eq!(dm_questions(bot, plan.pat).await, 1, "Pat is asked the first question in DM");

        bot.emu.remove_member(bot.ids.guild, plan.pat).expect("Pat leaves");
        bot.emu.set_member_roles(bot.ids.guild, plan.jordan, &[]).expect("Jordan loses the role");
        roles_become(bot, plan.pat, &[]).await;
        roles_become(bot, plan.jordan, &[]).await;

        let schedule = schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules").pop().expect("schedule");
        let second = schedule.next_fire_at.expect("second");
        assert!(second > first);
        scheduler.tick(second).await.expect("tick");
        assert_eq!(asked_at(bot, schedule.id, second).await, [plan.terry], "only Terry still holds a role at Lincoln");
        scheduler.deliver(second).await.expect("deliver");
        assert_eq!(dm_questions(bot, plan.pat).await, 1, "nothing more went to Pat");
    }
}

e2e! {
    /// A member who joins with a mapped role is recorded with it at once (GUILD_MEMBER_ADD),
    /// before any command.
    async fn a_member_who_joins_with_a_mapped_role_holds_it_at_once(bot) {
        let plan = bot.plan().await;
        let team = bot.emu.member_roles(bot.ids.guild, plan.terry).expect("Terry's roles");
        let kim = bot.emu.add_user("Kim Park");
        bot.emu.add_member(bot.ids.guild, kim, &team).expect("Kim joins");
        roles_become(bot, kim, &[format!("team@{}", plan.lincoln.get())]).await;
        let name = coachbot::store::members::name(&bot.db, bot.ids.server(), UserId::new(kim)).await.expect("name");
        assert_eq!(name.as_deref(), Some("Kim Park"));
    }
}

e2e! {
    /// `/setup status` shows an admin each school with its channel, time zone and coaches, the
    /// role mappings and that the member list is synced, and what is missing with the command
    /// that fixes it: Washington has no coach, no principal role and no channel. A team member
    /// is refused and sees none of it.
    async fn setup_status_lists_what_is_missing_with_the_fix(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        // Casey coaches every school; a school of its own coach makes "no coach" visible.
        let coaches = bot.emu.member_roles(ids.guild, plan.casey).expect("roles");
        let removed = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(coaches[0])), ("coachbot_role", json!("coach")), ("remove", json!(true)),
        ]).await;
        assert!(removed.content.starts_with("Done"), "{}", removed.content);
        let mapped = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(coaches[0])), ("coachbot_role", json!("coach")), ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
        roles_become(bot, plan.casey, &[format!("coach@{}", plan.lincoln.get())]).await;

        let refused = bot.command(plan.terry, ids.general, "setup status", &[]).await;
        assert!(refused.ephemeral);
        assert!(refused.text().contains("Only coachbot admins"), "{}", refused.text());
        assert!(!refused.text().contains("Washington"), "{}", refused.text());

        let reply = bot.command(ids.owner, ids.general, "setup status", &[]).await;
        assert!(reply.ephemeral, "only the admin sees it");
        let text = reply.text();
        assert!(text.contains(&format!("**Lincoln Elementary**: <#{}>, America/Chicago, coach: Casey Morgan", ids.lincoln_channel)), "{text}");
        assert!(text.contains("**Washington Middle**: no channel, America/Denver, no coach"), "{text}");
        assert!(text.contains("Server Members intent: **on**"), "{text}");
        assert!(text.contains("→ principal (Lincoln Elementary)"), "{text}");
        assert!(text.contains("**Washington Middle** has no coach."), "{text}");
        assert!(text.contains("`/setup role discord_role:@<coaches' role> coachbot_role:coach school:Washington Middle`"), "{text}");
        assert!(text.contains("No Discord role is mapped to principal at **Washington Middle**"), "{text}");
        assert!(text.contains("`/setup school name:Washington Middle channel:#<channel>`"), "{text}");
        assert!(!text.contains("**Lincoln Elementary** has no"), "Lincoln lacks nothing: {text}");
        let chars = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
        let total: usize = reply.embeds.iter().map(|e| chars(&e["title"]) + chars(&e["description"])).sum();
        assert!(total <= 6000, "{total} characters of embeds");
    }
}

e2e! {
    /// Mapping a principal or team role without a school asks first, saying it covers every
    /// school; Cancel saves nothing, Save saves it. A coach mapping without a school does not
    /// ask. A non-admin cannot map at all.
    async fn a_principal_role_for_every_school_asks_first(bot) {
        let ids = &bot.ids;
        for (name, zone) in [("Lincoln Elementary", "America/Chicago"), ("Washington Middle", "America/Denver")] {
            bot.command(ids.owner, ids.general, "setup school", &[("name", json!(name)), ("time_zone", json!(zone))]).await;
        }
        let options = [("discord_role", json!(ids.staff_role)), ("coachbot_role", json!("principal"))];
        let refused = bot.command(ids.staffer, ids.general, "setup role", &options).await;
        assert!(refused.content.contains("Only coachbot admins"), "{}", refused.content);

        let interaction = bot.emu.slash_command(ids.owner, ids.general, "setup role", &options).expect("interaction");
        let preview = bot.reply(&interaction).await;
        assert!(preview.ephemeral);
        assert!(preview.content.contains("at **every school**"), "{}", preview.content);
        assert!(preview.content.contains("2 schools now (Lincoln Elementary, Washington Middle)"), "{}", preview.content);
        assert!(coachbot::store::members::mappings(&bot.db, ids.server()).await.expect("mappings").is_empty(), "nothing saved before the click");
        bot.human_pause().await;
        let cancel = format!("setuprole:{}:cancel", interaction.id);
        let (channel, message) = bot.emu.find_component(&cancel).expect("a Cancel button");
        let cancelled = bot.reply(&bot.emu.click_button(ids.owner, channel, message, &cancel).expect("click")).await;
        assert!(cancelled.content.contains("Nothing was saved"), "{}", cancelled.content);
        assert!(coachbot::store::members::mappings(&bot.db, ids.server()).await.expect("mappings").is_empty());

        let interaction = bot.emu.slash_command(ids.owner, ids.general, "setup role", &options).expect("interaction");
        bot.reply(&interaction).await;
        bot.human_pause().await;
        let save = format!("setuprole:{}:save", interaction.id);
        let (channel, message) = bot.emu.find_component(&save).expect("a Save button");
        let saved = bot.reply(&bot.emu.click_button(ids.owner, channel, message, &save).expect("click")).await;
        assert!(saved.content.contains("now counts as a principal across the server"), "{}", saved.content);
        let mappings = coachbot::store::members::mappings(&bot.db, ids.server()).await.expect("mappings");
        assert_eq!(mappings.len(), 1);
        assert_eq!(mappings[0].school_id, None);
        // The staffer holds it now, by the member list asked for again after the change.
        roles_become(bot, ids.staffer, &["principal@all".to_owned()]).await;

        let coach = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)), ("coachbot_role", json!("coach")),
        ]).await;
        assert!(coach.content.starts_with("Done"), "a coach of every school is not asked: {}", coach.content);
    }
}

e2e! {
    /// `/help` shows each person the commands their roles allow first: a team member sees the
    /// step commands and not `/setup status` among theirs; an admin sees `/setup status`; someone
    /// with no role is told how to get one.
    async fn help_shows_your_commands_first(bot) {
        let plan = bot.plan().await;
        let field = |reply: &coachbot::emulator::Reply, name: &str| -> Option<String> {
            reply.embeds.first()?["fields"].as_array()?.iter()
                .find(|f| f["name"] == json!(name))
                .and_then(|f| f["value"].as_str().map(str::to_owned))
        };
        let team = bot.command(plan.terry, bot.ids.general, "help", &[]).await;
        assert!(team.ephemeral);
        assert!(field(&team, "/step").is_some_and(|v| v.contains("`/step add`")), "{:?}", team.embeds);
        assert!(field(&team, "/setup").is_none(), "setup is not among Terry's: {:?}", team.embeds);
        assert!(field(&team, "Other commands").is_some_and(|v| v.contains("`/setup status`")), "{:?}", team.embeds);
        let fields: Vec<String> = team.embeds[0]["fields"].as_array().expect("fields").iter().map(|f| f["name"].as_str().unwrap_or_default().to_owned()).collect();
        assert_eq!(fields.last().map(String::as_str), Some("Other commands"), "the rest come last: {fields:?}");

        let admin = bot.command(bot.ids.owner, bot.ids.general, "help", &[]).await;
        assert!(field(&admin, "/setup").is_some_and(|v| v.contains("`/setup status`")), "{:?}", admin.embeds);
        assert!(field(&admin, "Other commands").is_none(), "an admin may use every command");
        let everything = serde_json::to_string(&admin.embeds).unwrap_or_default();
        for group in ["/setup", "/step", "/session", "/privacy"] {
            assert!(everything.contains(group), "the admin's help names {group}: {everything}");
        }

        let nobody = bot.command(bot.ids.nobody, bot.ids.general, "help", &[]).await;
        assert!(field(&nobody, "Other commands").is_some_and(|v| v.contains("no coachbot role yet") && v.contains("/setup role")), "{:?}", nobody.embeds);
        let chars = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
        for reply in [&team, &admin, &nobody] {
            let total: usize = reply.embeds.iter().map(|e| {
                chars(&e["title"]) + chars(&e["description"])
                    + e["fields"].as_array().map_or(0, |fs| fs.iter().map(|f| chars(&f["name"]) + chars(&f["value"])).sum())
            }).sum();
            assert!(total <= 6000, "{total}");
        }
    }
}

e2e! {
    /// `/setup school` changes only what is given: without `channel` the channel stays, and
    /// `no_channel` removes it. "jefferson high" next to "Jefferson High" is refused, and so is
    /// `EST`, with the IANA zone to use; nothing is written by a refusal.
    async fn setup_school_changes_only_what_is_given(bot) {
        let ids = &bot.ids;
        let added = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Jefferson High")), ("time_zone", json!("America/Chicago")), ("channel", json!(ids.lincoln_channel)),
        ]).await;
        assert!(added.content.contains("Added **Jefferson High**"), "{}", added.content);

        let zone_only = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Jefferson High")), ("time_zone", json!("America/New_York")),
        ]).await;
        assert!(zone_only.content.contains("Updated **Jefferson High**"), "{}", zone_only.content);
        assert!(zone_only.content.contains(&format!("Announcements go to <#{}>", ids.lincoln_channel)), "{}", zone_only.content);
        let stored = schools::list(&bot.db, ids.server()).await.expect("schools");
        assert_eq!(stored[0].time_zone.name(), "America/New_York");
        assert_eq!(stored[0].channel_id, Some(ids.lincoln_channel as i64), "the channel stays");

        let channel_only = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Jefferson High")), ("channel", json!(ids.general)),
        ]).await;
        assert!(channel_only.content.contains("America/New_York"), "the zone stays: {}", channel_only.content);
        let stored = schools::list(&bot.db, ids.server()).await.expect("schools");
        assert_eq!(stored[0].channel_id, Some(ids.general as i64));

        let clash = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("jefferson high")), ("time_zone", json!("America/Chicago")),
        ]).await;
        assert!(clash.ephemeral);
        assert!(clash.content.contains("already a school called **Jefferson High**"), "{}", clash.content);
        let est = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Jefferson High")), ("time_zone", json!("EST")),
        ]).await;
        assert!(est.ephemeral);
        assert!(est.content.contains("`EST` is an abbreviation") && est.content.contains("`America/New_York`"), "{}", est.content);
        let new_without_zone = bot.command(ids.owner, ids.general, "setup school", &[("name", json!("Adams Middle"))]).await;
        assert!(new_without_zone.content.contains("give its time zone too"), "{}", new_without_zone.content);
        let stored = schools::list(&bot.db, ids.server()).await.expect("schools");
        assert_eq!(stored.len(), 1, "the refusals wrote nothing");
        assert_eq!(stored[0].time_zone.name(), "America/New_York");

        let cleared = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("Jefferson High")), ("no_channel", json!(true)),
        ]).await;
        assert!(cleared.content.contains("No announcement channel yet"), "{}", cleared.content);
        assert_eq!(schools::list(&bot.db, ids.server()).await.expect("schools")[0].channel_id, None);

        // Letters beyond ASCII fold too, on SQLite as on PostgreSQL.
        let accented = bot.command(ids.owner, ids.general, "setup school", &[
            ("name", json!("École Émile-Nelligan")), ("time_zone", json!("America/Toronto")),
        ]).await;
        assert!(accented.content.contains("Added **École Émile-Nelligan**"), "{}", accented.content);
        for other_case in ["école émile-nelligan", "ÉCOLE ÉMILE-NELLIGAN"] {
            let refused = bot.command(ids.owner, ids.general, "setup school", &[
                ("name", json!(other_case)), ("time_zone", json!("America/Toronto")),
            ]).await;
            assert!(refused.ephemeral);
            assert!(refused.content.contains("already a school called **École Émile-Nelligan**"), "{}", refused.content);
        }
        let names: Vec<String> = schools::list(&bot.db, ids.server()).await.expect("schools")
            .into_iter().map(|s| s.name).collect();
        assert_eq!(names.len(), 2, "the other spellings wrote nothing: {names:?}");
    }
}
