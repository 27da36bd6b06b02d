//! Keeping steps current: `/step edit` with its log, owners who hold a role at the school,
//! a blocked step moving again when its last barrier clears, `/step list` hiding closed steps,
//! and dates read as the server writes them.

use coachbot::domain::dates;
use coachbot::domain::ids::{SchoolId, StepId, UserId};
use coachbot::domain::text::day;
use coachbot::emulator::world::permissions;
use coachbot::store::outbox::Announcement;
use coachbot::store::steps::{self, NewStep, StepFilter};
use coachbot::store::{Db, indicators};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::{Plan, TestBot};

/// A command's options, as a test writes them.
type Options = Vec<(&'static str, Value)>;

/// Today where Lincoln is (America/Chicago).
fn lincoln_today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive()
}

/// Adds a step owned by `owner` as `user`; the reply, and the step's id when it was added.
async fn add(bot: &TestBot, user: u64, title: &str, owner: u64) -> (String, Option<StepId>) {
    let before = steps::count(&bot.db, bot.ids.server())
        .await
        .expect("count");
    let reply = bot
        .command(
            user,
            bot.ids.general,
            "step add",
            &[
                ("title", json!(title)),
                ("indicator", json!("12a")),
                ("owner", json!(owner)),
                ("due", json!("in 2 weeks")),
            ],
        )
        .await;
    assert!(reply.ephemeral);
    let after = steps::count(&bot.db, bot.ids.server())
        .await
        .expect("count");
    if after == before {
        return (reply.content, None);
    }
    let id = steps::list(&bot.db, bot.ids.server(), &StepFilter::default())
        .await
        .expect("steps")
        .iter()
        .map(|s| s.id)
        .max();
    (reply.content, id)
}

async fn step_of(bot: &TestBot, id: StepId) -> steps::ActionStep {
    steps::get(&bot.db, bot.ids.server(), id)
        .await
        .expect("get")
        .expect("step")
}

async fn log_of(bot: &TestBot, id: StepId) -> Vec<steps::StepUpdate> {
    steps::updates(&bot.db, &step_of(bot, id).await)
        .await
        .expect("updates")
}

e2e! {
    /// A team member changes a step's title and due date ("next friday") in one edit: the
    /// reply says the day it read, each change is a line of the step's log (who, from what to
    /// what), and `/step show` lists both.
    async fn step_edit_changes_the_due_date_and_title_both_in_the_log(bot) {
        let Plan { terry, jordan, casey, .. } = bot.plan().await;
        let (_, step) = add(bot, terry, "Draft the partnership agenda", terry).await;
        let step = step.expect("added");
        let before = step_of(bot, step).await;
        let today = lincoln_today();
        let next_friday = dates::parse_due("next friday", today, "America/Chicago").expect("a date");

        let reply = bot.command(jordan, bot.ids.general, "step edit", &[
            ("step", json!(step.to_string())),
            ("title", json!("Draft and share the partnership agenda")),
            ("due", json!("next friday")),
        ]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("is edited"), "{}", reply.content);
        assert!(reply.content.contains(&format!("→ **{}**", day(next_friday))), "the day it was read as: {}", reply.content);
        assert!(reply.content.contains("“Draft the partnership agenda” → “Draft and share the partnership agenda”"), "{}", reply.content);

        let after = step_of(bot, step).await;
        assert_eq!(after.title, "Draft and share the partnership agenda");
        assert_eq!(after.due_on, next_friday);
        let edits: Vec<steps::StepUpdate> = log_of(bot, step).await.into_iter().filter(|u| u.kind == "edited").collect();
        assert_eq!(edits.len(), 2, "{edits:?}");
        let title = edits.iter().find(|u| u.field.as_deref() == Some("title")).expect("the title's change");
        assert_eq!(title.author_id, UserId::new(jordan));
        assert_eq!(title.old_value.as_deref(), Some("Draft the partnership agenda"));
        assert_eq!(title.new_value.as_deref(), Some("Draft and share the partnership agenda"));
        let due = edits.iter().find(|u| u.field.as_deref() == Some("due")).expect("the due date's change");
        assert_eq!(due.author_id, UserId::new(jordan));
        assert_eq!(due.old_value, Some(before.due_on.to_string()));
        assert_eq!(due.new_value, Some(next_friday.to_string()));

        let shown = bot.command(terry, bot.ids.general, "step show", &[("step", json!(step.to_string()))]).await;
        let log = shown.embeds[0]["description"].as_str().expect("a log").to_owned();
        assert!(log.contains("**Jordan Silva** · changed the title: “Draft the partnership agenda” → “Draft and share the partnership agenda”"), "{log}");
        assert!(log.contains(&format!("**Jordan Silva** · changed the due date: {} → {}", day(before.due_on), day(next_friday))), "{log}");

        let export = bot.command(casey, bot.ids.general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let updates = export.call.attachments.iter()
            .find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with("-updates.csv")))
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .expect("the export has the step logs");
        assert!(updates.lines().next().is_some_and(|h| h.ends_with(",field,old_value,new_value")), "{updates}");
        assert!(updates.contains(",title,Draft the partnership agenda,Draft and share the partnership agenda"), "{updates}");

        // The same values again change nothing and log nothing.
        let again = bot.command(jordan, bot.ids.general, "step edit", &[
            ("step", json!(step.to_string())),
            ("due", json!("next friday")),
        ]).await;
        assert!(again.content.starts_with("Nothing changed"), "{}", again.content);
        assert_eq!(log_of(bot, step).await.iter().filter(|u| u.kind == "edited").count(), 2);
    }
}

e2e! {
    /// Bad edits are refused with what to do, and nothing is written: nothing to change, a
    /// title over the limit, a due date in the past ("yesterday"), an unknown indicator, and
    /// someone of another school. The indicator and resources change when they are right.
    async fn step_edit_refuses_bad_input_and_writes_nothing(bot) {
        let Plan { terry, wendy, .. } = bot.plan().await;
        let (_, step) = add(bot, terry, "Plan the walkthrough schedule", terry).await;
        let step = step.expect("added");
        let before = step_of(bot, step).await;
        let log_before = log_of(bot, step).await.len();
        let edit = |options: Options| {
            let mut all = vec![("step", json!(step.to_string()))];
            all.extend(options);
            all
        };
        let yesterday = lincoln_today().pred_opt().expect("a day");
        let cases: Vec<(u64, Options, String)> = vec![
            (terry, edit(vec![]), "Nothing to change: give a new `title`, `due`, `indicator` or `resources`".into()),
            (terry, edit(vec![("title", json!("x".repeat(201)))]), "step title is 201 characters long; the limit is 200".into()),
            (terry, edit(vec![("due", json!("yesterday"))]), format!("{} is in the past", day(yesterday))),
            (terry, edit(vec![("due", json!("someday"))]), "could not read `someday` as a date".into()),
            (terry, edit(vec![("indicator", json!("99z"))]), "`99z` is not an indicator".into()),
            (terry, edit(vec![("indicator", json!("12b"))]), "is not one of Lincoln Elementary's focus indicators".into()),
            (wendy, edit(vec![("title", json!("Not my school"))]), "Only Lincoln Elementary's principal, leadership team, coach or a coachbot admin can change its steps".into()),
            (bot.ids.nobody, edit(vec![("title", json!("No role"))]), "no coachbot role".into()),
            // A right title with a wrong date: neither is written.
            (terry, edit(vec![("title", json!("A fine new title")), ("due", json!("2020-01-01"))]), "is in the past".into()),
        ];
        for (user, options, expected) in cases {
            let reply = bot.command(user, bot.ids.general, "step edit", &options).await;
            assert!(reply.ephemeral, "errors are private");
            assert!(reply.content.contains(&expected), "expected “{expected}” in “{}”", reply.content);
        }
        assert_eq!(step_of(bot, step).await, before, "the step is unchanged");
        assert_eq!(log_of(bot, step).await.len(), log_before, "nothing logged");

        // 12b as a focus, then the step moves to it and gets its resources.
        let reply = bot.command(terry, bot.ids.general, "indicator focus", &[("indicator", json!("12b"))]).await;
        assert!(reply.content.contains("now focuses on"), "{}", reply.content);
        let reply = bot.command(terry, bot.ids.general, "step edit", &edit(vec![
            ("indicator", json!("12b")), ("resources", json!("Two substitute days")),
        ])).await;
        assert!(reply.content.contains("indicator: 12a → 12b"), "{}", reply.content);
        assert!(reply.content.contains("resources needed: nothing → “Two substitute days”"), "{}", reply.content);
        let after = step_of(bot, step).await;
        assert_eq!(after.indicator_id, "12b");
        assert_eq!(after.resources.as_deref(), Some("Two substitute days"));
        let reply = bot.command(terry, bot.ids.general, "step edit", &edit(vec![("resources", json!("none"))])).await;
        assert!(reply.content.contains("resources needed: “Two substitute days” → nothing"), "{}", reply.content);
        assert_eq!(step_of(bot, step).await.resources, None);
    }
}

e2e! {
    /// Owners hold a role at the step's school: someone with no role, or of another school,
    /// is refused by `/step add` and `/step assign`; the principal, the team and the coach are
    /// accepted; a step has at most five owners.
    async fn owners_must_hold_a_role_at_the_school(bot) {
        let Plan { terry, jordan, wendy, pat, casey, .. } = bot.plan().await;
        let steps_before = steps::count(&bot.db, bot.ids.server()).await.expect("count");
        for (owner, name) in [(bot.ids.nobody, "Nadia Nobody"), (wendy, "Wendy Chen"), (bot.ids.owner, "Olive Owner")] {
            let (reply, added) = add(bot, terry, "A step for the wrong person", owner).await;
            assert!(added.is_none(), "{reply}");
            assert!(reply.contains(&format!("{name} has no role at Lincoln Elementary")), "{reply}");
        }
        assert_eq!(steps::count(&bot.db, bot.ids.server()).await.expect("count"), steps_before);

        // The principal may own a step.
        let (reply, step) = add(bot, terry, "Share walkthrough notes", pat).await;
        assert!(reply.starts_with("Added step"), "{reply}");
        let step = step.expect("added");

        for refused in [bot.ids.nobody, wendy] {
            let reply = bot.command(terry, bot.ids.general, "step assign", &[
                ("step", json!(step.to_string())), ("member", json!(refused)),
            ]).await;
            assert!(reply.content.contains("has no role at Lincoln Elementary"), "{}", reply.content);
        }
        assert_eq!(steps::owners(&bot.db, step).await.expect("owners"), [UserId::new(pat)]);

        // The team and the coach may; then two more of the team, and the sixth is one too many.
        let helpers = bot.emu.add_role(bot.ids.guild, "Lincoln Helpers", permissions::EVERYONE_DEFAULT).expect("role");
        let reply = bot.command(bot.ids.owner, bot.ids.general, "setup role", &[
            ("discord_role", json!(helpers)), ("coachbot_role", json!("leadership team")), ("school", json!("Lincoln Elementary")),
        ]).await;
        assert!(reply.content.starts_with("Done"), "{}", reply.content);
        let mut more = Vec::new();
        for name in ["Hana Helper", "Ivo Helper"] {
            let id = bot.emu.add_user(name);
            bot.emu.add_member(bot.ids.guild, id, &[helpers]).expect("member");
            more.push(id);
        }
        for owner in [terry, casey, more[0], more[1]] {
            let reply = bot.command(terry, bot.ids.general, "step assign", &[
                ("step", json!(step.to_string())), ("member", json!(owner)),
            ]).await;
            assert!(reply.content.contains("now owns step"), "{}", reply.content);
        }
        assert_eq!(steps::owners(&bot.db, step).await.expect("owners").len(), 5);
        let reply = bot.command(terry, bot.ids.general, "step assign", &[
            ("step", json!(step.to_string())), ("member", json!(jordan)),
        ]).await;
        assert!(reply.content.contains("already has 5 owners, the most a step can have"), "{}", reply.content);
        assert_eq!(steps::owners(&bot.db, step).await.expect("owners").len(), 5);
        let shown = bot.command(terry, bot.ids.general, "step show", &[("step", json!(step.to_string()))]).await;
        assert!(shown.text().contains("Pat Lee") && shown.text().contains("Ivo Helper"), "{}", shown.text());
    }
}

e2e! {
    /// Resolving the last open barrier of a blocked step offers to move it back to in
    /// progress; the click is in the step's log. With another barrier still open, no offer.
    async fn resolving_the_last_barrier_offers_to_move_the_step_again(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let general = bot.ids.general;
        let (_, step) = add(bot, terry, "Train district leaders", terry).await;
        let step = step.expect("added");
        let mut barrier_ids = Vec::new();
        for text in ["No substitute cover", "The training room is booked"] {
            let reply = bot.command(terry, general, "barrier add", &[
                ("text", json!(text)), ("category", json!("time")), ("step", json!(step.to_string())),
            ]).await;
            assert!(reply.ephemeral, "{}", reply.content);
            let open = coachbot::store::barriers::open_for_step(&bot.db, bot.ids.server(), step).await.expect("open");
            barrier_ids.push(open.last().expect("a barrier").id);
        }
        let reply = bot.command(terry, general, "step update", &[
            ("step", json!(step.to_string())), ("status", json!("blocked")),
        ]).await;
        assert!(reply.content.contains("is now **blocked**"), "{}", reply.content);

        // One of two resolved: the step is still held up, nothing offered.
        let first = bot.command(terry, general, "barrier resolve", &[
            ("barrier", json!(barrier_ids[0].to_string())), ("note", json!("Cover found")),
        ]).await;
        assert!(first.content.contains("is resolved"), "{}", first.content);
        assert!(first.components.is_empty(), "{:?}", first.components);

        // The last one: the offer, and the click moves it.
        let interaction = bot.emu.slash_command(terry, general, "barrier resolve", &[
            ("barrier", json!(barrier_ids[1].to_string())), ("note", json!("Moved to the library")),
        ]).expect("interaction");
        let offer = bot.reply(&interaction).await;
        assert!(offer.ephemeral);
        assert!(offer.content.contains("is resolved") && offer.content.contains("no open barrier left and is still blocked"), "{}", offer.content);
        let yes = format!("reopen:{}:yes", interaction.id);
        bot.human_pause().await;
        let (channel, message) = bot.emu.find_component(&yes).expect("a button to move it");
        let click = bot.emu.click_button(terry, channel, message, &yes).expect("click");
        let moved = bot.reply(&click).await;
        assert!(moved.content.contains("is now **in progress**"), "{}", moved.content);
        assert!(moved.components.is_empty(), "the buttons are gone");
        assert_eq!(step_of(bot, step).await.status.key(), "in_progress");
        let last = log_of(bot, step).await.pop().expect("a log entry");
        assert_eq!(last.author_id, UserId::new(terry));
        assert_eq!((last.old_status.as_deref(), last.new_status.as_deref()), (Some("blocked"), Some("in_progress")));
        assert_eq!(last.note, Some(format!("Barrier #{} was resolved.", barrier_ids[1])));
    }
}

e2e! {
    /// `/step list` shows open steps, says how many done or dropped ones it hides and how to
    /// see them; `status: done` shows the done one.
    async fn step_list_hides_done_and_dropped_steps(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let (_, open) = add(bot, terry, "Still going", terry).await;
        let (_, finished) = add(bot, terry, "All finished", terry).await;
        let (open, finished) = (open.expect("added"), finished.expect("added"));
        let reply = bot.command(terry, bot.ids.general, "step done", &[("step", json!(finished.to_string()))]).await;
        assert!(reply.content.contains("is now **done**"), "{}", reply.content);

        let listed = bot.command(terry, bot.ids.general, "step list", &[]).await;
        assert!(listed.text().contains(&format!("**#{open}** Still going")), "{}", listed.text());
        assert!(!listed.text().contains("All finished"), "{}", listed.text());
        assert!(listed.text().contains("1 done or dropped step hidden: add `status: done` or `status: dropped` to see them"), "{}", listed.text());

        let done = bot.command(terry, bot.ids.general, "step list", &[("status", json!("done"))]).await;
        assert!(done.text().contains(&format!("**#{finished}** All finished")), "{}", done.text());
        assert!(!done.text().contains("Still going") && !done.text().contains("hidden"), "{}", done.text());
    }
}

e2e! {
    /// A plan of more than a thousand open steps: `/step list` shows its first screen by due
    /// date and says there are over 1,000 rather than counting every one, in the footer and
    /// at the end of the screen; the done ones it hides are counted as before.
    async fn a_list_of_over_a_thousand_steps_says_over_1000(bot) {
        let Plan { terry, lincoln, .. } = bot.plan().await;
        let server = bot.ids.server();
        let focus = indicators::find(&bot.db, server, lincoln, "12a").await.expect("read").expect("12a is Lincoln's focus");
        let today = lincoln_today();
        let author = UserId::new(terry);
        let mut first = None;
        for n in 0..1_003_i64 {
            let title = format!("Classroom visit {n}");
            let step = steps::add(&bot.db, &steps::NewStep {
                server_id: server, school_id: lincoln, focus_id: focus.id, title: &title,
                due_on: today + chrono::TimeDelta::days(1 + n / 10), resources: None, owners: &[author], author,
            }, chrono::Utc::now(), None).await.expect("a step");
            first.get_or_insert(step.id);
        }
        let first = first.expect("steps");

        let listed = bot.command(terry, bot.ids.general, "step list", &[]).await;
        let embed = listed.embeds.first().expect("the list's embed");
        assert_eq!(embed["footer"]["text"].as_str(), Some("over 1,000 steps"), "{embed}");
        let text = listed.text();
        assert!(text.contains(&format!("**#{first}** Classroom visit 0 ")), "{text}");
        assert!(text.contains("… and more (over 1,000 in all); narrow it with"), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.chars().count() <= 4096, "{} characters", text.chars().count());

        // Narrowed to one status, the count is exact again.
        let done = bot.command(terry, bot.ids.general, "step done", &[("step", json!(first.to_string()))]).await;
        assert!(done.content.contains("is now **done**"), "{}", done.content);
        let listed = bot.command(terry, bot.ids.general, "step list", &[("status", json!("done"))]).await;
        assert_eq!(listed.embeds[0]["footer"]["text"].as_str(), Some("1 step"), "{}", listed.text());
        let listed = bot.command(terry, bot.ids.general, "step list", &[]).await;
        assert!(listed.text().contains("1 done or dropped step hidden"), "{}", listed.text());
        assert_eq!(listed.embeds[0]["footer"]["text"].as_str(), Some("over 1,000 steps"));
    }
}

e2e! {
    /// "12/05" is 5 December until an admin says the server writes the day first; then it is
    /// 12 May. The reply says the weekday and date it was read as.
    async fn twelve_slash_five_follows_the_servers_date_order(bot) {
        let Plan { terry, .. } = bot.plan().await;
        let today = lincoln_today();
        let add_due = |due: &'static str| async move {
            bot.command(terry, bot.ids.general, "step add", &[
                ("title", json!(format!("Due {due}"))), ("indicator", json!("12a")),
                ("owner", json!(terry)), ("due", json!(due)),
            ]).await
        };
        let month_first = dates::parse_due_in("12/05", today, "America/Chicago", dates::DateOrder::MonthDay).expect("a date");
        let reply = add_due("12/05").await;
        assert!(reply.content.contains(&format!("Due {}", dates::as_read(month_first, today))), "{}", reply.content);

        let reply = bot.command(terry, bot.ids.general, "setup dates", &[("order", json!("day first (12/05 is 12 May)"))]).await;
        assert!(reply.content.contains("Only coachbot admins"), "admins only: {}", reply.content);
        let reply = bot.command(bot.ids.owner, bot.ids.general, "setup dates", &[("order", json!("day first (12/05 is 12 May)"))]).await;
        assert!(reply.content.contains("now read day first"), "{}", reply.content);

        let day_first = dates::parse_due_in("12/05", today, "America/Chicago", dates::DateOrder::DayMonth).expect("a date");
        assert_eq!(day_first.format("%d %m").to_string(), "12 05");
        let reply = add_due("12/05").await;
        assert!(reply.content.contains(&format!("Due {}", dates::as_read(day_first, today))), "{}", reply.content);
        let stored: Vec<chrono::NaiveDate> = steps::list(&bot.db, bot.ids.server(), &StepFilter::default()).await.expect("steps").iter().map(|s| s.due_on).collect();
        assert!(stored.contains(&month_first) && stored.contains(&day_first), "{stored:?}");
    }
}

e2e! {
    /// A step made by another writer between two `/step add`s takes the id the next `/step
    /// add` would have used: on SQLite another process on the same file, or an import; on
    /// PostgreSQL, whose ids come from a sequence this process draws a block of at a time, a
    /// writer after the sequence went back (a database restored from an older backup). That
    /// one is still saved whole under the next free id, and its reply, its owners, its log
    /// and the announcement the school's channel shows all name the id it was saved under.
    async fn a_step_made_elsewhere_between_two_adds_leaves_the_next_one_whole(bot) {
        let plan = bot.plan().await;
        let (_, first) = add(bot, plan.terry, "Walkthrough round one", plan.jordan).await;
        let first = first.expect("added");
        let focus = indicators::find(&bot.db, bot.ids.server(), plan.lincoln, "12a")
            .await
            .expect("find")
            .expect("12a");
        let elsewhere = insert_elsewhere(bot, plan.lincoln, focus.id, plan.terry, first.get()).await;
        assert_eq!(elsewhere, first.get() + 1, "made after the first, with the id next to it");

        let (reply, second) = add(bot, plan.terry, "Walkthrough round two", plan.jordan).await;
        let second = second.expect("the second add is saved");
        assert_eq!(second.get(), elsewhere + 1, "the next free id");
        assert!(reply.contains(&format!("**#{second} · Walkthrough round two**")), "{reply}");
        assert_eq!(steps::owners(&bot.db, second).await.expect("owners"), [UserId::new(plan.jordan)]);
        let log = log_of(bot, second).await;
        assert_eq!(log.iter().map(|u| u.kind.as_str()).collect::<Vec<_>>(), ["created"]);
        bot.announcements_sent().await;
        let shown: Vec<String> = bot
            .emu
            .messages_in(bot.ids.lincoln_channel)
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .filter(|t| t.starts_with("New step #"))
            .collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[1].starts_with(&format!("New step #{second} for 12a: “Walkthrough round two”")), "{shown:?}");
    }
}

e2e! {
    /// A burst of changes in one school (a team adding sixteen steps, one after another)
    /// is more than its channel takes in Discord's 5 messages in 5 seconds. Every step is
    /// saved and answered; the announcements the channel can take within a command's patience
    /// go out from the command, the rest are written due when it will have room and are never
    /// tried before then (no claim, no error, no attempt); the outbox's rounds then post each
    /// one exactly once, all in the order the steps were made, and Discord answers none with
    /// a 429.
    async fn a_burst_of_steps_announces_each_once_within_the_channel_limit(bot) {
        const BURST: usize = 16;
        let plan = bot.plan().await;
        for n in 0..BURST {
            let options = [
                ("title", json!(format!("Burst step {n}"))),
                ("indicator", json!("12a")),
                ("owner", json!(plan.jordan)),
                ("due", json!("in 2 weeks")),
            ];
            let interaction = bot
                .emu
                .slash_command(plan.terry, bot.ids.general, "step add", &options)
                .expect("the emulator builds the interaction");
            let reply = bot.reply(&interaction).await;
            assert!(reply.content.starts_with("Added step"), "{}", reply.content);
            // The command's own announcement takes its place in the channel's line.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(steps::count(&bot.db, bot.ids.server()).await.expect("count"), BURST as i64);

        let burst_rows = || async {
            coachbot::store::outbox::all(&bot.db, bot.ids.server())
                .await
                .expect("the outbox")
                .into_iter()
                .filter(|r| r.kind == "announcement" && r.payload.contains("Burst step"))
                .collect::<Vec<_>>()
        };
        let rows = burst_rows().await;
        assert_eq!(rows.len(), BURST, "one announcement row a step");
        let later: Vec<_> = rows
            .iter()
            .filter(|r| r.status == "pending" && r.lease_owner.is_none() && r.not_before > r.created_at)
            .collect();
        assert!(!later.is_empty(), "a busy channel leaves some to the rounds: {rows:?}");
        for row in &later {
            assert_eq!((row.attempts, row.last_error.as_deref()), (0, None), "never tried: {row:?}");
        }

        // The rounds, as the scheduler runs them, until every announcement is out.
        let scheduler = bot.scheduler();
        let announced = |bot: &TestBot| -> Vec<String> {
            bot.emu
                .messages_in(bot.ids.lincoln_channel)
                .iter()
                .filter_map(|m| m["content"].as_str().map(str::to_owned))
                .filter(|t| t.starts_with("New step #"))
                .collect()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while announced(bot).len() < BURST {
            assert!(std::time::Instant::now() < deadline, "still unsent: {:?}", announced(bot));
            scheduler.deliver(chrono::Utc::now()).await.expect("a round");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let shown = announced(bot);
        let numbers: Vec<i64> = shown
            .iter()
            .filter_map(|t| t.trim_start_matches("New step #").split(' ').next()?.parse().ok())
            .collect();
        let mut in_order = numbers.clone();
        in_order.sort_unstable();
        in_order.dedup();
        assert_eq!(numbers.len(), BURST, "each once: {shown:?}");
        assert_eq!(numbers, in_order, "in the order the steps were made: {shown:?}");
        let rows = burst_rows().await;
        assert!(rows.iter().all(|r| r.status == "sent"), "{rows:?}");
        let limited = bot.emu.calls().into_iter().filter(|c| c.status == 429).count();
        assert_eq!(limited, 0, "no request met a 429");
    }
}

e2e! {
    /// A step that cannot be saved (its focus indicator is gone: another process removed it
    /// meanwhile) leaves nothing of itself, on either engine's one-trip insert: no owners, no
    /// log entry, no announcement. The next step is saved whole.
    async fn a_step_that_cannot_be_saved_leaves_nothing_of_itself(bot) {
        let plan = bot.plan().await;
        let server = bot.ids.server();
        let focus = indicators::find(&bot.db, server, plan.lincoln, "12a")
            .await
            .expect("find")
            .expect("12a");
        let owners = [UserId::new(plan.jordan)];
        let step = |focus_id: i64, title: &'static str| NewStep {
            server_id: server,
            school_id: plan.lincoln,
            focus_id,
            title,
            due_on: lincoln_today() + chrono::TimeDelta::days(14),
            resources: None,
            owners: &owners,
            author: UserId::new(plan.terry),
        };
        let line = |id: i64| format!("New step #{id}.");
        let announcement = |key: &str| Announcement {
            server_id: server,
            channel_id: bot.ids.lincoln_channel,
            key: key.to_owned(),
            text: &line,
            held: None,
            not_before: None,
        };
        let written = || async {
            (
                steps::count(&bot.db, server).await.expect("count"),
                rows_in(bot, "step_owners").await,
                rows_in(bot, "step_updates").await,
                coachbot::store::outbox::all(&bot.db, server).await.expect("outbox").len(),
            )
        };
        let before = written().await;
        let refused = steps::add(
            &bot.db,
            &step(focus.id + 1_000, "Under a removed focus"),
            chrono::Utc::now(),
            Some(&announcement("announce:refused")),
        )
        .await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(written().await, before, "nothing of it was written");

        let made = steps::add(
            &bot.db,
            &step(focus.id, "Under the focus"),
            chrono::Utc::now(),
            Some(&announcement("announce:made")),
        )
        .await
        .expect("the next step is saved");
        assert_eq!(steps::owners(&bot.db, made.id).await.expect("owners"), owners);
        assert_eq!(log_of(bot, made.id).await.len(), 1);
        let after = written().await;
        assert_eq!(after, (before.0 + 1, before.1 + 1, before.2 + 1, before.3 + 1));
    }
}

/// How many rows `table` holds, read on a connection of its own.
async fn rows_in(bot: &TestBot, table: &'static str) -> i64 {
    let db = Db::connect(&bot.url)
        .await
        .expect("a second pool on the test's database");
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    let count = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(&**pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(&**pool).await,
    }
    .expect("a count");
    db.close().await;
    count
}

/// Inserts a step as another writer would, on a connection of its own, outside `steps::add`,
/// with the id after `last` (on PostgreSQL the sequence is first set back to `last`, as a
/// restored backup would have it): its id.
async fn insert_elsewhere(
    bot: &TestBot,
    school: SchoolId,
    focus: i64,
    author: u64,
    last: i64,
) -> i64 {
    let db = Db::connect(&bot.url)
        .await
        .expect("a second pool on the test's database");
    if let Db::Postgres(pool) = &db {
        sqlx::query("SELECT setval(pg_get_serial_sequence('action_steps', 'id'), $1)")
            .bind(last)
            .execute(&**pool)
            .await
            .expect("the sequence is set back");
    }
    let now = chrono::Utc::now();
    let sql = "INSERT INTO action_steps
                   (server_id, school_id, focus_id, title, due_on, status, created_by, created_at, updated_at)
               VALUES ($1, $2, $3, 'Made elsewhere', $4, 'planned', $5, $6, $6) RETURNING id";
    let due = now.date_naive() + chrono::TimeDelta::days(20);
    let id = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar(sql)
                .bind(bot.ids.server())
                .bind(school)
                .bind(focus)
                .bind(due)
                .bind(UserId::new(author))
                .bind(now)
                .fetch_one(&**pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(sql)
                .bind(bot.ids.server())
                .bind(school)
                .bind(focus)
                .bind(due)
                .bind(UserId::new(author))
                .bind(now)
                .fetch_one(&**pool)
                .await
        }
    }
    .expect("a step made elsewhere");
    db.close().await;
    id
}
