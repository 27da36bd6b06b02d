//! Scheduled check-ins: the preview and Save, ticks with a fixed `now`, downtime, the outbox
//! sender's failures, and the loop picking up what came due while the bot was down.

use chrono::{DateTime, TimeDelta, Utc};
use coachbot::discord::Options;
use coachbot::domain::ids::UserId;
use coachbot::outbox::{DeliverOutcome, TickOutcome};
use coachbot::store::schedules;
use coachbot::store::{checkins, outbox};
use serde_json::json;

use crate::e2e;
use crate::support::{Plan, TestBot, WAIT, checkin_due, dm_questions};

/// A coach schedules a check-in for Pat through the command, clicking Save on the preview.
pub(crate) async fn schedule_for_pat(
    bot: &TestBot,
    plan: &Plan,
    when: &str,
) -> schedules::Schedule {
    let interaction = bot
        .emu
        .slash_command(
            plan.casey,
            bot.ids.general,
            "checkin schedule",
            &[
                ("flow", json!("wellbeing")),
                ("when", json!(when)),
                ("person", json!(plan.pat)),
            ],
        )
        .expect("interaction");
    let preview = bot.reply(&interaction).await;
    assert!(preview.ephemeral);
    assert!(
        preview.content.contains("The next five times"),
        "{}",
        preview.content
    );
    assert_eq!(
        preview.content.matches("\n• ").count(),
        5,
        "{}",
        preview.content
    );
    let save = format!("schedule:{}:save", interaction.id);
    bot.human_pause().await;
    let (channel, message) = bot.emu.find_component(&save).expect("a Save button");
    let click = bot
        .emu
        .click_button(plan.casey, channel, message, &save)
        .expect("click");
    let saved = bot.reply(&click).await;
    assert!(
        saved.content.starts_with("Saved schedule **#"),
        "{}",
        saved.content
    );
    let all = schedules::list(&bot.db, bot.ids.server(), None)
        .await
        .expect("schedules");
    all.last().cloned().expect("a schedule")
}

e2e! {
    /// Each occurrence fires once: a second tick at the same time queues nothing, a second
    /// delivery sends nothing, and the first question reaches the person's DM once.
    async fn a_scheduled_checkin_fires_once_per_occurrence(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "daily 08:00").await;
        let first: DateTime<Utc> = schedule.next_fire_at.expect("a first fire");
        let local = first.with_timezone(&chrono_tz::America::Chicago);
        assert_eq!(local.format("%H:%M").to_string(), "08:00", "computed in the school's zone");

        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(first - TimeDelta::minutes(1)).await.expect("tick"), TickOutcome::default());
        assert_eq!(scheduler.tick(first).await.expect("tick"), TickOutcome { fired: 1, missed: 0, queued: 1, ..TickOutcome::default() });
        assert_eq!(scheduler.tick(first).await.expect("tick"), TickOutcome::default(), "nothing fires twice");
        assert_eq!(scheduler.deliver(first).await.expect("deliver"), DeliverOutcome { sent: 1, ..DeliverOutcome::default() });
        assert_eq!(scheduler.deliver(first).await.expect("deliver"), DeliverOutcome::default());
        assert_eq!(dm_questions(bot, plan.pat).await, 1);

        let session = checkins::open_for(&bot.db, UserId::new(plan.pat)).await.expect("open").expect("a session");
        assert!(session.origin.as_deref().is_some_and(|o| o.starts_with(&format!("checkin:{}:", schedule.id))));
        let stored = schedules::get(&bot.db, bot.ids.server(), schedule.id).await.expect("get").expect("schedule");
        assert_eq!(stored.next_fire_at, Some(first + TimeDelta::days(1)));
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        assert_eq!(runs, [(first, "fired".to_owned())]);
    }
}

e2e! {
    /// After three days down, one message goes out (the latest occurrence, within the grace
    /// window) and the others are recorded as missed; past the window, nothing is sent.
    async fn downtime_sends_once_and_records_the_rest_as_missed(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "daily 08:00").await;
        let first = schedule.next_fire_at.expect("first");
        let scheduler = bot.scheduler();
        let back = first + TimeDelta::days(3) + TimeDelta::minutes(30);
        assert_eq!(scheduler.tick(back).await.expect("tick"), TickOutcome { fired: 1, missed: 3, queued: 1, ..TickOutcome::default() });
        assert_eq!(crate::support::queued(bot).await.len(), 1);
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        let outcomes: Vec<&str> = runs.iter().map(|(_, o)| o.as_str()).collect();
        assert_eq!(outcomes, ["missed", "missed", "missed", "fired"]);

        // 26 hours down over the daily schedule: the one occurrence inside the grace window is
        // sent, the one before it is recorded as missed.
        let next = schedules::get(&bot.db, bot.ids.server(), schedule.id).await.expect("get").expect("s").next_fire_at.expect("next");
        let after_26h = next + TimeDelta::hours(25);
        let round = scheduler.tick(after_26h).await.expect("tick");
        assert_eq!((round.fired, round.missed, round.queued), (1, 1, 1), "{round:?}");
        assert_eq!(crate::support::queued(bot).await.len(), 2);
        let back = after_26h;

        let much_later = back + TimeDelta::days(2) + TimeDelta::hours(5);
        assert_eq!(scheduler.tick(much_later).await.expect("tick"), TickOutcome { fired: 0, missed: 2, queued: 0, ..TickOutcome::default() });
        assert_eq!(crate::support::queued(bot).await.len(), 2, "nothing more was queued");
    }
}

e2e! {
    /// Closed DMs (Discord error 50007) mark the person unreachable: no retries.
    async fn closed_dms_mark_the_person_unreachable(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "daily 08:00").await;
        let first = schedule.next_fire_at.expect("first");
        bot.emu.close_dms(plan.pat);
        // Discord answers the question with 50007, Cannot send messages to this user.
        bot.emu.expect_error(50_007);
        let scheduler = bot.scheduler();
        scheduler.tick(first).await.expect("tick");
        assert_eq!(scheduler.deliver(first).await.expect("deliver"), DeliverOutcome { unreachable: 1, ..DeliverOutcome::default() });
        let rows = crate::support::queued(bot).await;
        assert_eq!(rows[0].status, "unreachable");
        assert!(rows[0].last_error.as_deref().is_some_and(|e| e.contains("50007") || e.contains("Cannot send")), "{:?}", rows[0].last_error);
        // Their coach is told, once.
        assert_eq!(rows.iter().filter(|r| r.kind == "notice").count(), 1, "one notice for the one coach");
        let again = scheduler.deliver(first + TimeDelta::hours(1)).await.expect("deliver");
        assert_eq!((again.sent, again.unreachable, again.retried), (1, 0, 0), "the notice goes out; no retries for the person");
        let coach_dm = bot.emu.dm_channel_of(plan.casey).expect("the coach's DM");
        let told: Vec<String> = bot.emu.messages_in(coach_dm).iter().filter_map(|m| m["content"].as_str().map(str::to_owned)).collect();
        assert!(told.iter().any(|t| t.contains("I could not reach Pat Lee by direct message")), "{told:?}");

        // A check-in after the first has run out is not knocked on the closed DMs again (no
        // request to Pat at all), and the coach is not told twice.
        let pat_dm = bot.emu.dm_channel_of(plan.pat).expect("Pat's DM");
        let mark = bot.emu.call_count();
        let later = first + TimeDelta::days(8);
        let second = scheduler.tick(later).await.expect("tick");
        assert_eq!(second.queued, 1, "{second:?}");
        let round = scheduler.deliver(later).await.expect("deliver");
        assert_eq!(round.unreachable, 1, "{round:?}");
        let knocked = bot.emu.calls_since(mark).iter().filter(|c| c.path == format!("/channels/{pat_dm}/messages")).count();
        assert_eq!(knocked, 0, "nothing was sent to closed DMs");
        scheduler.deliver(later + TimeDelta::hours(1)).await.expect("deliver");
        let notices = crate::support::queued(bot).await.into_iter().filter(|r| r.kind == "notice").count();
        assert_eq!(notices, 1, "one notice for the spell of closed DMs");
        assert_eq!(bot.emu.messages_in(coach_dm).len(), told.len(), "Casey heard once");

        // Pat opens their DMs and writes to the bot: the spell is over, the next check-in goes.
        bot.emu.open_dms(plan.pat);
        let pat = UserId::new(plan.pat);
        assert!(coachbot::store::members::unreachable_since(&bot.db, bot.ids.server(), pat).await.expect("flag").is_some());
        let mark = bot.emu.call_count();
        bot.emu.send_dm(plan.pat, "hello, are you there?");
        bot.emu.wait_for_call(mark, WAIT, move |c| c.method == "POST" && c.path == format!("/channels/{pat_dm}/messages")).await.expect("the bot answers Pat");
        let deadline = tokio::time::Instant::now() + WAIT;
        while coachbot::store::members::unreachable_since(&bot.db, bot.ids.server(), pat).await.expect("flag").is_some() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(coachbot::store::members::unreachable_since(&bot.db, bot.ids.server(), pat).await.expect("flag").is_none(), "writing to the bot clears the mark");
        let last = first + TimeDelta::days(16);
        scheduler.tick(last).await.expect("tick");
        let third = scheduler.deliver(last).await.expect("deliver");
        assert_eq!(third.sent, 1, "{third:?}");
        assert!(coachbot::store::members::unreachable_since(&bot.db, bot.ids.server(), pat).await.expect("flag").is_none(), "Pat is reachable");
    }
}

e2e! {
    /// An occurrence that came due while the bot was down is sent once when it starts, if
    /// still within the grace window; the loop does it without being asked.
    async fn the_loop_sends_what_came_due_while_down(bot) {
        let plan = bot.plan().await;
        bot.stop().await;
        checkin_due(bot, &plan, plan.pat, Utc::now() - TimeDelta::minutes(10)).await;
        bot.start_with(Options::default()).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while dm_questions(bot, plan.pat).await == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(dm_questions(bot, plan.pat).await, 1);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(dm_questions(bot, plan.pat).await, 1, "sent once");
    }
}

e2e! {
    /// Only coaches and admins schedule; a bad "when" is refused; list, pause, resume, delete.
    async fn schedules_are_managed_by_coaches(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let refused = bot.command(plan.terry, general, "checkin schedule", &[
            ("flow", json!("weekly")), ("when", json!("weekdays 08:00")),
        ]).await;
        assert!(refused.content.contains("Only coaches and admins can schedule check-ins"), "{}", refused.content);
        let bad = bot.command(plan.casey, general, "checkin schedule", &[
            ("flow", json!("weekly")), ("when", json!("every blue moon")), ("person", json!(plan.pat)),
        ]).await;
        assert!(bad.ephemeral && bad.content.contains("could not read `every blue moon` as a schedule"), "{}", bad.content);
        let bad = bot.command(plan.casey, general, "checkin schedule", &[
            ("flow", json!("weekly")), ("when", json!("61 8 * * *")), ("person", json!(plan.pat)),
        ]).await;
        assert!(bad.content.contains("as a schedule"), "{}", bad.content);
        let never = bot.command(plan.casey, general, "checkin schedule", &[
            ("flow", json!("weekly")), ("when", json!("0 0 30 2 *")), ("person", json!(plan.pat)),
        ]).await;
        assert!(never.ephemeral && never.content.contains("it never fires"), "{}", never.content);
        assert!(schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").is_empty(), "nothing written");

        let schedule = schedule_for_pat(bot, &plan, "mondays 15:30").await;
        let listed = bot.command(plan.casey, general, "schedule list", &[]).await;
        assert!(listed.text().contains(&format!("**#{}** wellbeing · Pat Lee · `mondays 15:30` America/Chicago · next Mon", schedule.id)), "{}", listed.text());
        let paused = bot.command(plan.casey, general, "schedule pause", &[("schedule", json!(schedule.id.to_string()))]).await;
        assert!(paused.content.contains("is paused"), "{}", paused.content);
        let scheduler = bot.scheduler();
        let due = schedule.next_fire_at.expect("next");
        assert_eq!(scheduler.tick(due).await.expect("tick"), TickOutcome::default(), "a paused schedule does not fire");
        let resumed = bot.command(plan.casey, general, "schedule resume", &[("schedule", json!(format!("#{}", schedule.id)))]).await;
        assert!(resumed.content.contains("is running again"), "{}", resumed.content);
        let refused = bot.command(plan.terry, general, "schedule delete", &[("schedule", json!(schedule.id.to_string()))]).await;
        assert!(refused.content.contains("Only"), "{}", refused.content);
        let deleted = bot.command(plan.casey, general, "schedule delete", &[("schedule", json!(schedule.id.to_string()))]).await;
        assert!(deleted.content.contains("is deleted"), "{}", deleted.content);
        assert!(schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").is_empty());
    }
}

e2e! {
    /// An unanswered check-in gets one gentle nudge after its hours, and is recorded as
    /// missed (expired) when its time runs out.
    async fn an_unanswered_checkin_is_nudged_once_then_expires(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "mondays 15:30").await;
        let first = schedule.next_fire_at.expect("first");
        let scheduler = bot.scheduler();
        scheduler.tick(first).await.expect("tick");
        scheduler.deliver(first).await.expect("deliver");

        let early = scheduler.tick(first + TimeDelta::hours(23)).await.expect("tick");
        assert_eq!(early.nudged, 0);
        let due = scheduler.tick(first + TimeDelta::hours(24) + TimeDelta::minutes(1)).await.expect("tick");
        assert_eq!(due.nudged, 1);
        let sent = scheduler.deliver(first + TimeDelta::hours(24) + TimeDelta::minutes(1)).await.expect("deliver");
        assert_eq!(sent.sent, 1);
        let dm = bot.emu.dm_channel_of(plan.pat).expect("dm");
        let nudges = || bot.emu.messages_in(dm).iter().filter(|m| m["content"].as_str().is_some_and(|c| c.contains("A gentle nudge"))).count();
        assert_eq!(nudges(), 1);
        let again = scheduler.tick(first + TimeDelta::hours(48)).await.expect("tick");
        assert_eq!(again.nudged, 0, "one nudge only");
        scheduler.deliver(first + TimeDelta::hours(48)).await.expect("deliver");
        assert_eq!(nudges(), 1);
        // Pat answers one question, then nothing more.
        let mark = bot.emu.call_count();
        bot.emu.send_dm(plan.pat, "Tired, but the team is holding up");
        let path = format!("/channels/{dm}/messages");
        bot.emu.wait_for_call(mark, WAIT, move |c| c.method == "POST" && c.path == path).await.expect("the next question");
        let session = checkins::open_for(&bot.db, UserId::new(plan.pat)).await.expect("open").expect("a session").id;
        assert_eq!(checkins::answers(&bot.db, session).await.expect("answers").len(), 1);

        let later = scheduler.tick(first + TimeDelta::days(8)).await.expect("tick");
        assert_eq!(later.expired, 1);
        let sessions = checkins::of_person(&bot.db, bot.ids.server(), UserId::new(plan.pat)).await.expect("sessions");
        assert_eq!(sessions[0].status.key(), "expired");
        assert!(checkins::answers(&bot.db, session).await.expect("answers").is_empty(), "the draft went with it");
    }
}

e2e! {
    /// `/followup` comes back to one step on a given day: its owners get a short check-in
    /// about that step only, once.
    async fn a_followup_checks_in_on_one_step_once(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let reply = bot.command(plan.terry, general, "step add", &[
            ("title", json!("Share the walkthrough rota")), ("indicator", json!("12a")),
            ("owner", json!(plan.terry)), ("owner2", json!(plan.jordan)), ("due", json!("in 3 weeks")),
        ]).await;
        assert!(reply.content.starts_with("Added step"), "{}", reply.content);
        let step = coachbot::store::steps::list(&bot.db, bot.ids.server(), &Default::default()).await.expect("steps")[0].id;
        let past = bot.command(plan.terry, general, "followup", &[("step", json!(step.to_string())), ("when", json!("2020-01-01"))]).await;
        assert!(past.content.contains("is in the past"), "{}", past.content);
        let reply = bot.command(plan.terry, general, "followup", &[
            ("step", json!(step.to_string())), ("when", json!("in 2 weeks")), ("at", json!("16:00")),
        ]).await;
        assert!(reply.content.starts_with("I will check in with Terry Okafor and Jordan Silva about **#"), "{}", reply.content);
        let schedule = schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").pop().expect("a follow-up");
        assert_eq!(schedule.step_id, Some(step));
        assert!(schedule.spec.starts_with("once "), "{}", schedule.spec);
        let at = schedule.next_fire_at.expect("when");

        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(at).await.expect("tick").queued, 2, "one for each owner");
        assert_eq!(scheduler.deliver(at).await.expect("deliver").sent, 2);
        for person in [plan.terry, plan.jordan] {
            let dm = bot.emu.dm_channel_of(person).expect("dm");
            let asked: Vec<String> = bot.emu.messages_in(dm).iter().filter_map(|m| m["content"].as_str().map(str::to_owned)).collect();
            assert!(asked.iter().any(|c| c.contains("What has happened with “Share the walkthrough rota” since we last talked about it?")), "{asked:?}");
            assert!(asked.iter().any(|c| c.contains("Question 1 of 3")), "only that step is asked about: {asked:?}");
        }
        assert_eq!(scheduler.tick(at + TimeDelta::days(30)).await.expect("tick").queued, 0, "a follow-up fires once");
        let stored = schedules::get(&bot.db, bot.ids.server(), schedule.id).await.expect("get").expect("schedule");
        assert_eq!(stored.next_fire_at, None);
    }
}

e2e! {
    /// Two bot processes share the outbox: each row is sent by one of them, once; a row
    /// claimed by a process that died is taken over when its lease runs out.
    async fn two_processes_share_the_outbox(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        // Five people on Lincoln's team, one scheduled check-in for all of them.
        let emu = &bot.emu;
        let team_role = emu.add_role(bot.ids.guild, "More Team", coachbot::emulator::world::permissions::EVERYONE_DEFAULT).expect("role");
        bot.command(bot.ids.owner, general, "setup role", &[
            ("discord_role", json!(team_role)), ("coachbot_role", json!("leadership team")), ("school", json!("Lincoln Elementary")),
        ]).await;
        let mut people = vec![plan.terry, plan.jordan];
        for name in ["Ana", "Ben", "Cy"] {
            let id = emu.add_user(name);
            emu.add_member(bot.ids.guild, id, &[team_role]).expect("member");
            people.push(id);
        }
        for person in &people {
            // Seen once (any command), so coachbot knows their school role.
            bot.command(*person, general, "step list", &[]).await;
        }
        let interaction = emu.slash_command(plan.casey, general, "checkin schedule", &[
            ("flow", json!("wellbeing")), ("when", json!("daily 08:00")), ("school", json!("Lincoln Elementary")),
        ]).expect("interaction");
        bot.reply(&interaction).await;
        bot.human_pause().await;
        let save = format!("schedule:{}:save", interaction.id);
        let (channel, message) = emu.find_component(&save).expect("save");
        bot.reply(&emu.click_button(plan.casey, channel, message, &save).expect("click")).await;
        let schedule = schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").pop().expect("schedule");
        let first = schedule.next_fire_at.expect("first");

        let (a, b) = (bot.scheduler(), bot.scheduler());
        let queued = a.tick(first).await.expect("tick").queued;
        assert!(queued >= 5, "{queued}");
        // A third process claims one row and dies before sending it.
        let dead = outbox::claim(&bot.db, first, "dead-process", first + a.lease(), 1).await.expect("claim");
        assert_eq!(dead.len(), 1);
        let (ra, rb) = tokio::join!(a.deliver(first), b.deliver(first));
        let (ra, rb) = (ra.expect("a"), rb.expect("b"));
        assert_eq!(ra.sent + ra.skipped + rb.sent + rb.skipped, queued - 1, "every other row once: {ra:?} {rb:?}");
        let later = first + a.lease() + TimeDelta::seconds(1);
        let taken_over = b.deliver(later).await.expect("deliver");
        assert_eq!(taken_over.sent + taken_over.skipped, 1, "the dead process's row is taken over");
        for person in people {
            assert!(dm_questions(bot, person).await <= 1, "no one is asked twice");
        }
        let rows = crate::support::queued(bot).await;
        assert!(rows.iter().all(|r| r.status == "sent"), "{:?}", rows.iter().map(|r| &r.status).collect::<Vec<_>>());
    }
}

e2e! {
    /// A follow-up is set by the school's coach, an admin or the step's owner, and goes only
    /// to the step's owners or people of its school: a team member who does not own the step
    /// is refused, and so is an owner naming another school's principal. Nothing is saved.
    /// A follow-up with a principal who does not own the step asks about that step by name.
    async fn a_followup_stays_with_the_steps_school(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let reply = bot.command(plan.terry, general, "step add", &[
            ("title", json!("Draft the walkthrough rota")), ("indicator", json!("12a")),
            ("owner", json!(plan.terry)), ("due", json!("in 3 weeks")),
        ]).await;
        assert!(reply.content.starts_with("Added step"), "{}", reply.content);
        let step = coachbot::store::steps::list(&bot.db, bot.ids.server(), &Default::default()).await.expect("steps")[0].id;
        let options = |person: u64| vec![("step", json!(step.to_string())), ("when", json!("in 2 weeks")), ("person", json!(person))];

        let not_owner = bot.command(plan.jordan, general, "followup", &options(plan.terry)).await;
        assert!(not_owner.ephemeral && not_owner.content.contains("Only the school's coaches, admins and the step's owners can set a follow-up"), "{}", not_owner.content);
        let elsewhere = bot.command(plan.terry, general, "followup", &options(plan.wendy)).await;
        assert!(elsewhere.ephemeral && elsewhere.content.contains("Wendy Chen is not a principal or leadership-team member at Lincoln Elementary"), "{}", elsewhere.content);
        assert!(schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").is_empty(), "nothing was saved");

        let set = bot.command(plan.terry, general, "followup", &options(plan.pat)).await;
        assert!(set.content.starts_with("I will check in with Pat Lee about **#"), "{}", set.content);
        let schedule = schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").pop().expect("the follow-up");
        let at = schedule.next_fire_at.expect("when");
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(at).await.expect("tick").queued, 1);
        assert_eq!(scheduler.deliver(at).await.expect("deliver").sent, 1);
        let dm = bot.emu.dm_channel_of(plan.pat).expect("dm");
        let asked: Vec<String> = bot.emu.messages_in(dm).iter().filter_map(|m| m["content"].as_str().map(str::to_owned)).collect();
        assert!(asked.iter().any(|c| c.contains("What has happened with “Draft the walkthrough rota” since we last talked about it?")), "the step is named: {asked:?}");
    }
}

e2e! {
    /// Before a scheduled check-in starts or a coach's notice goes, the person's roles are read
    /// as they are now: Pat, no longer Lincoln's principal (taken away while the bot was down),
    /// gets no check-in while Terry, still on the team, does; a coach whose role went gets no
    /// notice while Casey does.
    async fn scheduled_checkins_and_notices_follow_the_roles_as_they_are_now(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let now = Utc::now();
        let coaches = bot.emu.add_role(ids.guild, "Former coach", coachbot::emulator::world::permissions::EVERYONE_DEFAULT).expect("role");
        let reply = bot.command(ids.owner, ids.general, "setup role", &[("discord_role", json!(coaches)), ("coachbot_role", json!("coach"))]).await;
        assert!(reply.content.starts_with("Done"), "{}", reply.content);
        let jo = bot.emu.add_user("Jo Park");
        bot.emu.add_member(ids.guild, jo, &[coaches]).expect("member");
        // Seen once with the role, as the bot sees a member when they use a command.
        for coach in [jo, plan.casey] {
            let seen = bot.command(coach, ids.general, "checkin status", &[]).await;
            assert!(seen.ephemeral);
        }
        checkin_due(bot, &plan, plan.pat, now - TimeDelta::minutes(1)).await;
        checkin_due(bot, &plan, plan.terry, now - TimeDelta::minutes(1)).await;

        bot.stop().await;
        bot.emu.set_member_roles(ids.guild, plan.pat, &[]).expect("roles");
        bot.emu.set_member_roles(ids.guild, jo, &[]).expect("roles");
        let held = coachbot::store::members::roles_of(&bot.db, ids.server(), UserId::new(jo)).await.expect("roles");
        assert!(!held.is_empty(), "the store still has the role it last saw");
        outbox::notify_coaches(&bot.db, ids.server(), plan.lincoln, "notice:test", "Someone cannot be reached", now).await.expect("notice");

        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(now).await.expect("tick").fired, 2, "both schedules fire");
        for _ in 0..3 {
            scheduler.deliver(Utc::now()).await.expect("deliver");
        }
        assert_eq!(dm_questions(bot, plan.terry).await, 1, "Terry, still on the team, is asked");
        assert_eq!(dm_questions(bot, plan.pat).await, 0, "Pat, no longer principal, is not");
        assert!(checkins::open_for(&bot.db, UserId::new(plan.pat)).await.expect("open").is_none());
        let notice = |who: u64| bot.emu.dm_channel_of(who).map(|dm| bot.emu.messages_in(dm).iter().filter(|m| m["content"] == json!("Someone cannot be reached")).count()).unwrap_or(0);
        let rows: Vec<_> = outbox::all(&bot.db, ids.server()).await.expect("rows").into_iter().filter(|r| r.key.starts_with("notice:test")).map(|r| (r.key, r.status, r.last_error)).collect();
        assert_eq!(notice(plan.casey), 1, "the coach gets the notice: {rows:?}");
        assert_eq!(notice(jo), 0, "the former coach does not");
        let held = coachbot::store::members::roles_of(&bot.db, ids.server(), UserId::new(jo)).await.expect("roles");
        assert!(held.is_empty(), "the roles Discord gave now are on record: {held:?}");
    }
}
