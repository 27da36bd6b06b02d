//! Action plans: focus indicators, steps, barriers; roles, isolation and bad input.

use coachbot::domain::ids::{StepId, UserId};
use coachbot::store::steps::{self, StepFilter};
use coachbot::store::{Db, barriers, frameworks, indicators};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::{Plan, TestBot, WAIT};

/// A command's options, as a test writes them.
type Options = Vec<(&'static str, Value)>;

/// Adds a step as `user` and returns its id.
async fn add_step(bot: &TestBot, user: u64, title: &str, owners: &[u64]) -> StepId {
    let mut options = vec![
        ("title", json!(title)),
        ("indicator", json!("12a")),
        ("owner", json!(owners[0])),
        ("due", json!("in 2 weeks")),
    ];
    if let Some(second) = owners.get(1) {
        options.push(("owner2", json!(second)));
    }
    let reply = bot
        .command(user, bot.ids.general, "step add", &options)
        .await;
    assert!(reply.ephemeral);
    assert!(reply.content.starts_with("Added step"), "{}", reply.content);
    steps::list(&bot.db, bot.ids.server(), &StepFilter::default())
        .await
        .expect("steps")
        .iter()
        .map(|s| s.id)
        .max()
        .expect("a step")
}

async fn update_count(bot: &TestBot, step: StepId) -> usize {
    let step = steps::get(&bot.db, bot.ids.server(), step)
        .await
        .expect("get")
        .expect("step");
    steps::updates(&bot.db, &step).await.expect("updates").len()
}

/// The messages the bot posted in a channel (request bodies), in order.
fn posted_in(bot: &TestBot, channel: u64) -> Vec<Value> {
    let path = format!("/channels/{channel}/messages");
    bot.emu
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == path)
        .filter_map(|c| c.body)
        .collect()
}

e2e! {
    /// A team member adds a step with two owners; another owner moves it to in progress, then
    /// done; `/step show` lists the three updates with their authors and times.
    async fn a_step_with_two_owners_moves_to_done(bot) {
        let Plan { terry, jordan, .. } = bot.plan().await;
        let general = bot.ids.general;
        let step = add_step(bot, terry, "Schedule monthly partnership meetings", &[terry, jordan]).await;
        let reply = bot.command(jordan, general, "step update", &[
            ("step", json!(step.to_string())),
            ("status", json!("in progress")),
            ("note", json!("Dates proposed to the district office")),
        ]).await;
        assert!(reply.content.contains("is now **in progress**"), "{}", reply.content);
        let reply = bot.command(jordan, general, "step done", &[("step", json!(format!("#{step}")))]).await;
        assert!(reply.content.contains("is now **done**"), "{}", reply.content);

        let shown = bot.command(terry, general, "step show", &[("step", json!(step.to_string()))]).await;
        assert!(shown.ephemeral);
        let log = shown.embeds[0]["description"].as_str().expect("a log").to_owned();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 3, "{log}");
        assert!(lines[0].contains("Terry Okafor") && lines[0].contains("added the step"), "{log}");
        let today = chrono::Utc::now().with_timezone(&chrono_tz::America::Chicago);
        assert!(lines.iter().all(|l| l.starts_with(&today.format("%a %-d %b").to_string())), "each update has its local time: {log}");
        assert!(lines[1].contains("Jordan Silva") && lines[1].contains("planned → in progress: Dates proposed"), "{log}");
        assert!(lines[2].contains("Jordan Silva") && lines[2].contains("in progress → done"), "{log}");
        assert!(shown.text().contains("Terry Okafor and Jordan Silva"), "owners: {}", shown.text());

        let stored = steps::get(&bot.db, bot.ids.server(), step).await.expect("get").expect("step");
        assert_eq!(stored.status.key(), "done");
        let updates = steps::updates(&bot.db, &stored).await.expect("updates");
        let authors: Vec<u64> = updates.iter().map(|u| u.author_id.get()).collect();
        assert_eq!(authors, [terry, jordan, jordan]);
        let statuses: Vec<Option<&str>> = updates.iter().map(|u| u.new_status.as_deref()).collect();
        assert_eq!(statuses, [Some("planned"), Some("in_progress"), Some("done")]);
        assert_eq!(steps::owners(&bot.db, step).await.expect("owners"), {
            let mut both = vec![UserId::new(terry), UserId::new(jordan)];
            both.sort_unstable();
            both
        });
        // The school's channel heard about each change, pinging no one.
        let posted = posted_in(bot, bot.ids.lincoln_channel);
        assert!(posted.len() >= 3, "{posted:?}");
        assert!(posted.iter().all(|m| m["allowed_mentions"]["parse"] == json!([])));
    }
}

e2e! {
    /// Two level changes show in history, newest first, and the rows agree.
    async fn indicator_levels_keep_their_history(bot) {
        let Plan { terry, lincoln, .. } = bot.plan().await;
        let general = bot.ids.general;
        for (level, note) in [("Getting Ready", "Meeting time is on the calendar"), ("Getting Started", "First two meetings held")] {
            let reply = bot.command(terry, general, "indicator level", &[
                ("indicator", json!("12a")),
                ("level", json!(level)),
                ("note", json!(note)),
            ]).await;
            assert!(reply.content.contains(&format!("is at **{level}**")), "{}", reply.content);
        }
        let shown = bot.command(terry, general, "indicator show", &[("indicator", json!("12a"))]).await;
        let history = shown.embeds[0]["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"].as_str().is_some_and(|n| n.starts_with("History"))))
            .and_then(|f| f["value"].as_str())
            .expect("a history field")
            .to_owned();
        let lines: Vec<&str> = history.lines().collect();
        assert_eq!(lines.len(), 2, "{history}");
        assert!(lines[0].contains("Getting Started") && lines[0].contains("First two meetings"), "{history}");
        assert!(lines[1].contains("Getting Ready"), "{history}");
        assert!(shown.text().contains("Now at **Getting Started** (progress)"), "{}", shown.text());

        let listed = bot.command(terry, general, "indicator list", &[]).await;
        assert!(listed.text().contains("`12a` Leader partnerships ★ Getting Started"), "{}", listed.text());
        assert!(listed.text().contains("`12b` Instructional coaching\n") || listed.text().ends_with("`12b` Instructional coaching"), "{}", listed.text());

        let focus = indicators::find(&bot.db, bot.ids.server(), lincoln, "12a").await.expect("find").expect("focus");
        assert_eq!(focus.level.as_deref(), Some("getting_started"));
        let rows = indicators::history(&bot.db, &focus).await.expect("history");
        let levels: Vec<&str> = rows.iter().map(|r| r.level.as_str()).collect();
        assert_eq!(levels, ["getting_started", "getting_ready"]);
    }
}

e2e! {
    /// Setting a step to blocked opens a form for its barrier; nothing is saved until it is
    /// submitted. The barrier is listed open with its age, and resolving it keeps the note.
    async fn a_blocked_step_needs_its_barrier(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let general = bot.ids.general;
        let step = add_step(bot, terry, "Train district leaders on the coaching protocol", &[terry]).await;
        let updates_before = update_count(bot, step).await;
        let interaction = bot.emu.slash_command(terry, general, "step update", &[
            ("step", json!(step.to_string())),
            ("status", json!("blocked")),
            ("barrier_category", json!("time")),
        ]).expect("interaction");
        let form = bot.reply(&interaction).await;
        assert_eq!(form.kind, 9, "a modal opens: {:?}", form.call.body);
        let stored = steps::get(&bot.db, bot.ids.server(), step).await.expect("get").expect("step");
        assert_eq!(stored.status.key(), "planned", "nothing is saved before the form is sent");
        assert_eq!(update_count(bot, step).await, updates_before);
        assert!(barriers::list(&bot.db, bot.ids.server(), None, true).await.expect("barriers").is_empty());

        let modal_id = form.call.body.as_ref().and_then(|b| b["data"]["custom_id"].as_str()).expect("modal id").to_owned();
        let mark = bot.emu.call_count();
        bot.human_pause().await;
        bot.emu.submit_modal(terry, general, &modal_id, &[("barrier", "No substitute cover for the training day")]).expect("submit");
        let done = bot.emu.next_message(&interaction, mark, WAIT).await.expect("a follow-up");
        assert!(done.ephemeral);
        assert!(done.content.contains("is now **blocked**") && done.content.contains("barrier is recorded (time)"), "{}", done.content);

        let open = barriers::open_for_step(&bot.db, bot.ids.server(), step).await.expect("open");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].category, "time");
        assert_eq!(open[0].text, "No substitute cover for the training day");
        assert_eq!(steps::get(&bot.db, bot.ids.server(), step).await.expect("get").expect("step").status.key(), "blocked");

        let listed = bot.command(terry, general, "barrier list", &[]).await;
        assert!(listed.text().contains("No substitute cover") && listed.text().contains("open less than a day"), "{}", listed.text());

        let resolved = bot.command(terry, general, "barrier resolve", &[
            ("barrier", json!(open[0].id.to_string())),
            ("note", json!("The district funded two substitute days")),
        ]).await;
        assert!(resolved.content.contains("is resolved"), "{}", resolved.content);
        let row = barriers::get(&bot.db, bot.ids.server(), open[0].id).await.expect("get").expect("barrier");
        assert_eq!(row.resolution.as_deref(), Some("The district funded two substitute days"));
        assert!(row.resolved_at.is_some());
        assert_eq!(row.resolved_by, Some(UserId::new(terry)));
    }
}

e2e! {
    /// A user in two servers with the same school and step names never sees the other
    /// server's steps, indicators or members, in replies or in autocomplete.
    async fn servers_never_see_each_other(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let here = bot.ids.general;
        let step_here = add_step(bot, terry, "Plan the walkthrough schedule", &[terry]).await;

        // Another district: same school name, same step title, and an owner only it has.
        let emu = &bot.emu;
        let other_owner = emu.add_user("Olga Elsewhere");
        let other = emu.add_guild("Hillside District", other_owner);
        let there = emu.add_text_channel(other, "general").expect("channel");
        let bea = emu.add_user("Bea Hidden");
        let hillside_team = emu.add_role(other, "Hillside Team", coachbot::emulator::world::permissions::EVERYONE_DEFAULT).expect("role");
        emu.add_member(other, terry, &[]).expect("terry joins the other server too");
        emu.add_member(other, bea, &[hillside_team]).expect("member");
        bot.emu.wait_for_call(0, std::time::Duration::from_millis(200), |_| false).await;
        let reply = bot.command(other_owner, there, "setup school", &[
            ("name", json!("Lincoln Elementary")), ("time_zone", json!("America/Chicago")),
        ]).await;
        assert!(reply.content.contains("Added"), "{}", reply.content);
        bot.command(other_owner, there, "indicator focus", &[("indicator", json!("12a"))]).await;
        // Bea is on that Lincoln's team there, so she may own its steps.
        let reply = bot.command(other_owner, there, "setup role", &[
            ("discord_role", json!(hillside_team)), ("coachbot_role", json!("leadership team")), ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(reply.content.starts_with("Done"), "{}", reply.content);
        let reply = bot.command(other_owner, there, "step add", &[
            ("title", json!("Plan the walkthrough schedule")), ("indicator", json!("12a")),
            ("owner", json!(bea)), ("due", json!("friday")),
        ]).await;
        assert!(reply.content.starts_with("Added step"), "{}", reply.content);
        let step_there = steps::list(&bot.db, coachbot::domain::ids::ServerId::new(other), &StepFilter::default()).await.expect("steps")[0].id;
        assert_ne!(step_here, step_there);

        // Autocomplete in this server offers only this server's step.
        let typed = bot.emu.autocomplete(terry, here, "step show", &[("step", json!("walk"))], "step").expect("autocomplete");
        let choices = bot.reply(&typed).await.choices;
        let values: Vec<String> = choices.iter().map(|(_, v)| v.as_str().unwrap_or_default().to_owned()).collect();
        assert_eq!(values, [step_here.to_string()], "{choices:?}");

        // The other server's step is unknown here, even by id.
        let reply = bot.command(terry, here, "step show", &[("step", json!(step_there.to_string()))]).await;
        assert!(reply.content.contains("There is no step"), "{}", reply.content);

        // Lists name only this server's people.
        let listed = bot.command(terry, here, "step list", &[]).await;
        assert!(listed.text().contains(&format!("#{step_here}")), "{}", listed.text());
        assert!(!listed.text().contains(&format!("#{step_there}")), "{}", listed.text());
        assert!(!listed.text().contains("Bea Hidden"), "{}", listed.text());
        for call in bot.emu.calls() {
            let in_this_server = call.body.as_ref().is_some_and(|b| !b.to_string().contains("Hillside"));
            if call.path.contains(&format!("/channels/{here}")) && in_this_server {
                assert!(!call.body.as_ref().is_some_and(|b| b.to_string().contains("Bea Hidden")));
            }
        }

        // The other server's owner sees only theirs.
        let listed = bot.command(other_owner, there, "step list", &[]).await;
        assert!(listed.text().contains(&format!("#{step_there}")) && listed.text().contains("Bea Hidden"), "{}", listed.text());
        assert!(!listed.text().contains(&format!("#{step_here}")), "{}", listed.text());
        assert!(!listed.text().contains("Terry Okafor"), "{}", listed.text());
        // Indicators: the other server's own framework stays there.
        let shipped = std::fs::read_to_string("prompts/framework.toml").expect("shipped framework");
        let file = bot.emu.upload("hillside.toml", shipped.replace("id = \"12b\"", "id = \"12z\"").as_bytes());
        let reply = bot.command(other_owner, there, "setup framework", &[("file", json!(file))]).await;
        assert!(reply.content.contains("12z"), "{}", reply.content);
        let typed = bot.emu.autocomplete(terry, here, "indicator show", &[("indicator", json!("12"))], "indicator").expect("autocomplete");
        let values: Vec<Value> = bot.reply(&typed).await.choices.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, [json!("12a"), json!("12b")]);
        let reply = bot.command(terry, here, "indicator show", &[("indicator", json!("12z"))]).await;
        assert!(reply.content.contains("`12z` is not an indicator"), "{}", reply.content);

        let typed = bot.emu.autocomplete(other_owner, there, "step show", &[("step", json!(""))], "step").expect("autocomplete");
        let values: Vec<Value> = bot.reply(&typed).await.choices.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, [json!(step_there.to_string())]);
    }
}

e2e! {
    /// Someone with no role cannot add or change steps; a team member cannot change another
    /// school's steps. Nothing is written.
    async fn roles_are_checked_by_the_bot(bot) {
        let Plan { terry, wendy, .. } = bot.plan().await;
        let general = bot.ids.general;
        let step = add_step(bot, terry, "Draft the partnership agenda", &[terry]).await;
        let before = steps::count(&bot.db, bot.ids.server()).await.expect("count");
        let updates_before = update_count(bot, step).await;

        let reply = bot.command(bot.ids.nobody, general, "step add", &[
            ("title", json!("Sneaky step")), ("indicator", json!("12a")),
            ("owner", json!(bot.ids.nobody)), ("due", json!("friday")),
        ]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("no coachbot role"), "{}", reply.content);

        let reply = bot.command(bot.ids.nobody, general, "step update", &[
            ("step", json!(step.to_string())), ("note", json!("not mine")),
        ]).await;
        assert!(reply.content.contains("no coachbot role") || reply.content.contains("Only Lincoln"), "{}", reply.content);

        let reply = bot.command(wendy, general, "step update", &[
            ("step", json!(step.to_string())), ("status", json!("done")),
        ]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("Only Lincoln Elementary's principal, leadership team, coach or a coachbot admin can change its steps"), "{}", reply.content);

        assert_eq!(steps::count(&bot.db, bot.ids.server()).await.expect("count"), before);
        assert_eq!(update_count(bot, step).await, updates_before);
        assert_eq!(steps::get(&bot.db, bot.ids.server(), step).await.expect("get").expect("step").status.key(), "planned");
    }
}

e2e! {
    /// Bad input is refused with a message that says what to do, and nothing is written.
    async fn bad_input_is_refused_and_nothing_is_written(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let general = bot.ids.general;
        let step = add_step(bot, terry, "A real step", &[terry]).await;
        let steps_before = steps::count(&bot.db, bot.ids.server()).await.expect("count");
        let updates_before = update_count(bot, step).await;
        let add = |title: String, indicator: &str, due: &str| vec![
            ("title", json!(title)), ("indicator", json!(indicator)),
            ("owner", json!(terry)), ("due", json!(due)),
        ];

        let cases: Vec<(&str, Options, &str)> = vec![
            ("step update", vec![("step", json!("#99999")), ("note", json!("hello"))], "There is no step `#99999`"),
            ("step add", add("x".repeat(201), "12a", "friday"), "step title is 201 characters long; the limit is 200"),
            ("step add", add("Fine title".into(), "12a", "2020-01-01"), "Wed 1 Jan 2020 is in the past"),
            ("step add", add("Fine title".into(), "99z", "friday"), "`99z` is not an indicator"),
            ("step add", add("Fine title".into(), "12a", "someday"), "could not read `someday` as a date"),
            ("step add", add("Fine title".into(), "11", "friday"), "is not one of Lincoln Elementary's focus indicators"),
            ("step update", vec![("step", json!(step.to_string())), ("note", json!("y".repeat(1001)))], "note is 1001 characters long; the limit is 1000"),
            ("step update", vec![("step", json!(step.to_string()))], "Nothing to change"),
            ("barrier resolve", vec![("barrier", json!("#4242")), ("note", json!("done"))], "There is no barrier"),
        ];
        for (command, options, expected) in cases {
            let reply = bot.command(terry, general, command, &options).await;
            assert!(reply.ephemeral, "{command}: errors are private");
            assert!(reply.content.contains(expected), "{command}: expected “{expected}” in “{}”", reply.content);
        }

        // A framework file with a duplicate indicator id.
        let shipped = std::fs::read_to_string("prompts/framework.toml").expect("shipped framework");
        let broken = shipped.replace("id = \"12b\"", "id = \"12a\"");
        let file = bot.emu.upload("district.toml", broken.as_bytes());
        let reply = bot.command(bot.ids.owner, general, "setup framework", &[("file", json!(file))]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("was not loaded") && reply.content.contains("12a is used twice"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source"), None);

        assert_eq!(steps::count(&bot.db, bot.ids.server()).await.expect("count"), steps_before);
        assert_eq!(update_count(bot, step).await, updates_before);
        assert!(barriers::list(&bot.db, bot.ids.server(), None, true).await.expect("barriers").is_empty());
    }
}

e2e! {
    /// "@everyone" in a step title pings no one: the reply and the announcement both carry
    /// mentions disabled.
    async fn everyone_in_a_step_title_pings_no_one(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let mark = bot.emu.call_count();
        add_step(bot, terry, "@everyone come to the data meeting", &[terry]).await;
        let lincoln = format!("/channels/{}/messages", bot.ids.lincoln_channel);
        let announced = bot
            .emu
            .wait_for_call(mark, WAIT, move |c| {
                c.path == lincoln
                    && c.content().is_some_and(|t| t.contains("@everyone"))
            })
            .await
            .expect("an announcement");
        let body = announced.body.expect("a body");
        assert!(body["content"].as_str().is_some_and(|c| c.contains("@everyone come")), "{body}");
        assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body}");
        let reply = bot.emu.calls_since(mark).into_iter().find(|c| c.path.contains("/callback")).expect("a reply");
        assert_eq!(reply.body.expect("body")["data"]["allowed_mentions"]["parse"], json!([]));
    }
}

e2e! {
    /// A district loads its own framework; its new indicator can be focused and completed.
    async fn a_server_loads_its_own_framework(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let general = bot.ids.general;
        let shipped = std::fs::read_to_string("prompts/framework.toml").expect("shipped framework");
        let own = shipped.replace("id = \"12b\"", "id = \"12c\"").replace("name = \"Leadership for Learning: practices 11 and 12\"", "name = \"Riverbend rubric\"");
        let file = bot.emu.upload("riverbend.toml", own.as_bytes());
        let reply = bot.command(bot.ids.owner, general, "setup framework", &[("file", json!(file))]).await;
        assert!(reply.content.contains("Loaded and saved **Riverbend rubric**") && reply.content.contains("12c"), "{}", reply.content);
        assert!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").is_some());

        let typed = bot.emu.autocomplete(terry, general, "indicator focus", &[("indicator", json!("12"))], "indicator").expect("autocomplete");
        let values: Vec<Value> = bot.reply(&typed).await.choices.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, [json!("12a"), json!("12c")]);
        let reply = bot.command(terry, general, "indicator focus", &[("indicator", json!("12c"))]).await;
        assert!(reply.content.contains("now focuses on **12c"), "{}", reply.content);
        let reply = bot.command(bot.ids.staffer, general, "setup framework", &[("file", json!(file))]).await;
        assert!(reply.content.contains("Only coachbot admins"), "{}", reply.content);
    }
}

e2e! {
    /// `/step list` filters: mine, status, overdue.
    async fn step_list_filters(bot) {
        let Plan { terry, jordan, lincoln, .. } = bot.plan().await;
        let general = bot.ids.general;
        let mine = add_step(bot, terry, "Terry's step", &[terry]).await;
        let theirs = add_step(bot, terry, "Jordan's step", &[jordan]).await;
        bot.command(jordan, general, "step update", &[("step", json!(theirs.to_string())), ("status", json!("in progress"))]).await;

        let listed = bot.command(terry, general, "step list", &[("mine", json!(true))]).await;
        assert!(listed.text().contains(&format!("#{mine}**")) && !listed.text().contains(&format!("#{theirs}**")), "{}", listed.text());
        let listed = bot.command(terry, general, "step list", &[("status", json!("in progress"))]).await;
        assert!(listed.text().contains(&format!("#{theirs}**")) && !listed.text().contains(&format!("#{mine}**")), "{}", listed.text());

        // Time passes: Terry's step is now a week late.
        let late = chrono::Utc::now().date_naive() - chrono::Days::new(7);
        match &bot.db {
            Db::Sqlite(pool) => { sqlx::query("UPDATE action_steps SET due_on = $1 WHERE id = $2").bind(late).bind(mine).execute(pool).await.expect("moved"); }
            Db::Postgres(pool) => { sqlx::query("UPDATE action_steps SET due_on = $1 WHERE id = $2").bind(late).bind(mine).execute(pool).await.expect("moved"); }
        }
        let listed = bot.command(terry, general, "step list", &[("overdue", json!(true))]).await;
        assert!(listed.text().contains(&format!("#{mine}**")) && !listed.text().contains(&format!("#{theirs}**")), "{}", listed.text());
        assert!(steps::list(&bot.db, bot.ids.server(), &StepFilter { school_id: Some(lincoln), overdue_on: Some(chrono::Utc::now().date_naive()), ..StepFilter::default() })
            .await.expect("overdue").iter().all(|s| s.id == mine));
    }
}

e2e! {
    /// Step autocomplete offers what the person may read, found in SQL: a team member sees
    /// their school's steps and not the other school's, a coach of every school sees both, a
    /// person with no role sees none; the typed text is matched as typed (a `%` is a percent
    /// sign, not a wildcard), and a step number's first digits find it.
    async fn step_autocomplete_offers_only_the_plans_you_may_read(bot) {
        let Plan { terry, wendy, casey, .. } = bot.plan().await;
        let here = bot.ids.general;
        let full = add_step(bot, terry, "Share 100% of walkthrough notes", &[terry]).await;
        let plain = add_step(bot, terry, "Score 1000 walkthrough forms", &[terry]).await;
        let reply = bot.command(wendy, here, "indicator focus", &[("indicator", json!("12a"))]).await;
        assert!(!reply.content.is_empty());
        let theirs = add_step(bot, wendy, "Walkthrough rota for Washington", &[wendy]).await;
        let offered = |user: u64, typed: String| async move {
            let asked = bot.emu.autocomplete(user, here, "step show", &[("step", json!(typed))], "step").expect("autocomplete");
            bot.reply(&asked).await.choices.into_iter().map(|(_, v)| v.as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()
        };
        let ids = |steps: &[StepId]| steps.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(offered(terry, "walk".into()).await, ids(&[full, plain]));
        assert_eq!(offered(wendy, "WALK".into()).await, ids(&[theirs]));
        let mut all = offered(casey, "walkthrough".into()).await;
        all.sort();
        let mut expected = ids(&[full, plain, theirs]);
        expected.sort();
        assert_eq!(all, expected);
        assert_eq!(offered(terry, "100%".into()).await, ids(&[full]));
        assert_eq!(offered(terry, "10_0".into()).await, Vec::<String>::new());
        assert_eq!(offered(terry, format!("#{plain}")).await, ids(&[plain]));
        assert_eq!(offered(bot.ids.nobody, "walk".into()).await, Vec::<String>::new());
        // Letters beyond ASCII match in any case, on SQLite (whose `LOWER` folds only ASCII)
        // as on PostgreSQL, and still only within what the person may read.
        let accented = add_step(bot, terry, "Élèves : relire les objectifs", &[terry]).await;
        assert_eq!(offered(terry, "élèves".into()).await, ids(&[accented]));
        assert_eq!(offered(terry, "ÉLÈVES".into()).await, ids(&[accented]));
        assert_eq!(offered(terry, "relire".into()).await, ids(&[accented]));
        assert_eq!(offered(wendy, "élèves".into()).await, Vec::<String>::new());
    }
}
