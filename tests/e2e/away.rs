//! Away, school breaks and owner reminders: `/away`, `/calendar`, `/reminders`, and what the
//! scheduler does with them (skipped, not missed; reminders once each).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use coachbot::domain::ids::UserId;
use coachbot::domain::schedule::CronSpec;
use coachbot::emulator::world::permissions;
use coachbot::store::schedules::{self, NewSchedule};
use coachbot::store::{away, calendar};
use serde_json::json;

use crate::e2e;
use crate::schedules::schedule_for_pat;
use crate::support::{Plan, TestBot, dm_questions};

const CHICAGO: chrono_tz::Tz = chrono_tz::America::Chicago;

fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&CHICAGO).date_naive()
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// 08:00 in Chicago on `date`.
fn eight_on(date: NaiveDate) -> DateTime<Utc> {
    let spec = CronSpec::parse("daily 08:00", date).expect("spec");
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(CHICAGO)
        .earliest()
        .expect("a local midnight")
        .with_timezone(&Utc);
    spec.next_after(CHICAGO, midnight).expect("08:00 that day")
}

/// Everything `user` was sent by DM, oldest first.
fn dms(bot: &TestBot, user: u64) -> Vec<String> {
    bot.emu
        .dm_channel_of(user)
        .map(|dm| {
            bot.emu
                .messages_in(dm)
                .iter()
                .filter_map(|m| m["content"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A coach of Washington Middle only, mapped through `/setup role`.
async fn map_washington_coach(bot: &TestBot) -> u64 {
    let ids = &bot.ids;
    let role = bot
        .emu
        .add_role(ids.guild, "Washington Coach", permissions::EVERYONE_DEFAULT)
        .expect("role");
    let wally = bot.emu.add_user("Wally Park");
    bot.emu
        .add_member(ids.guild, wally, &[role])
        .expect("member");
    let reply = bot
        .command(
            bot.ids.owner,
            bot.ids.general,
            "setup role",
            &[
                ("discord_role", json!(role)),
                ("coachbot_role", json!("coach")),
                ("school", json!("Washington Middle")),
            ],
        )
        .await;
    assert!(reply.content.starts_with("Done"), "{}", reply.content);
    wally
}

e2e! {
    /// Pat, away on the day their weekly check-in fires: no DM, the run recorded as skipped:
    /// away (and Pat's check-in as skipped, not missed); the digest says "away until"; the
    /// week after, the check-in goes as usual.
    async fn a_person_away_on_their_checkin_day_is_skipped_not_missed(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "mondays 08:00").await;
        let first = schedule.next_fire_at.expect("a first time");
        let today = local_date(Utc::now());
        let last_day = local_date(first);
        let reply = bot.command(plan.pat, bot.ids.general, "away add", &[
            ("from", json!("today")), ("to", json!(iso(last_day))), ("note", json!("conference")),
        ]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.starts_with("You are away"), "{}", reply.content);
        let periods = away::list(&bot.db, bot.ids.server(), Some(UserId::new(plan.pat)), today).await.expect("away");
        assert_eq!(periods.len(), 1);
        assert_eq!((periods[0].starts_on, periods[0].ends_on), (today, last_day));

        let scheduler = bot.scheduler();
        let ticked = scheduler.tick(first).await.expect("tick");
        assert_eq!((ticked.fired, ticked.queued, ticked.skipped, ticked.missed), (1, 0, 1, 0), "{ticked:?}");
        scheduler.deliver(first).await.expect("deliver");
        assert_eq!(dm_questions(bot, plan.pat).await, 0, "no check-in reached Pat");
        assert!(crate::support::queued(bot).await.iter().all(|r| r.kind != "checkin_start"));
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        assert_eq!(runs, [(first, "skipped_away".to_owned())]);
        let skipped = away::skipped(&bot.db, schedule.id).await.expect("skips");
        assert_eq!(skipped, [(UserId::new(plan.pat), first, "away".to_owned())]);

        // The coach's digest: Pat away until the Monday, and no missed check-in.
        let preview = bot.command(plan.casey, bot.ids.general, "digest preview", &[]).await;
        let text = format!("{} {:?}", preview.content, preview.embeds);
        let until = last_day.format("%a %-d %b").to_string();
        assert!(text.contains(&format!("Pat Lee is away until {until}")), "{text}");
        assert!(!text.contains("Check-ins missed"), "{text}");

        // A week on, Pat is back: the check-in goes.
        let next = first + TimeDelta::days(7);
        let ticked = scheduler.tick(next).await.expect("tick");
        assert_eq!((ticked.fired, ticked.queued, ticked.skipped), (1, 1, 0), "{ticked:?}");
        scheduler.deliver(next).await.expect("deliver");
        assert_eq!(dm_questions(bot, plan.pat).await, 1);
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        assert_eq!(runs[1], (next, "fired".to_owned()));
    }
}

/// A school-wide daily check-in at Lincoln, next due at `at`.
async fn school_wide_at(bot: &TestBot, plan: &Plan, at: DateTime<Utc>) -> schedules::Schedule {
    schedules::create(
        &bot.db,
        &NewSchedule {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            person_id: None,
            flow_id: "wellbeing",
            spec: "daily 08:00",
            time_zone: "America/Chicago",
            next_fire_at: Some(at),
            created_by: UserId::new(plan.casey),
            step_id: None,
        },
        Utc::now(),
    )
    .await
    .expect("a school-wide schedule")
}

e2e! {
    /// A break on Lincoln's calendar: its school-wide check-in is recorded as skipped: break,
    /// nobody is asked, nothing counts as missed. Only the school's coaches and admins change
    /// the calendar: a team member and another school's coach are refused, nothing saved.
    async fn a_school_break_skips_its_school_wide_checkin(bot) {
        let plan = bot.plan().await;
        let wally = map_washington_coach(bot).await;
        let at = eight_on(local_date(Utc::now()) + TimeDelta::days(3));
        let day = local_date(at);
        let schedule = school_wide_at(bot, &plan, at).await;
        let options = [
            ("school", json!("Lincoln Elementary")), ("from", json!(iso(day))),
            ("to", json!(iso(day + TimeDelta::days(1)))), ("label", json!("Winter break")),
        ];

        // May not: a team member of the school, another school's coach.
        for who in [plan.terry, wally] {
            let refused = bot.command(who, bot.ids.general, "calendar add", &options).await;
            assert!(refused.ephemeral);
            assert!(refused.content.contains("Only the school's coaches and admins can change its calendar"), "{}", refused.content);
        }
        let none = calendar::list(&bot.db, bot.ids.server(), None, day - TimeDelta::days(30)).await.expect("breaks");
        assert!(none.is_empty(), "nothing saved: {none:?}");
        // Bad dates: refused, nothing saved.
        let backwards = bot.command(plan.casey, bot.ids.general, "calendar add", &[
            ("school", json!("Lincoln Elementary")), ("from", json!(iso(day + TimeDelta::days(2)))),
            ("to", json!(iso(day))), ("label", json!("Backwards")),
        ]).await;
        assert!(backwards.content.contains("after it ends"), "{}", backwards.content);
        // May: Wally for his own school; Casey (coach of every school) for Lincoln.
        let own = bot.command(wally, bot.ids.general, "calendar add", &[
            ("school", json!("Washington Middle")), ("from", json!(iso(day))),
            ("to", json!(iso(day))), ("label", json!("Teacher day")),
        ]).await;
        assert!(own.content.starts_with("Added break"), "{}", own.content);
        let added = bot.command(plan.casey, bot.ids.general, "calendar add", &options).await;
        assert!(added.content.starts_with("Added break"), "{}", added.content);
        let breaks = calendar::list(&bot.db, bot.ids.server(), Some(plan.lincoln), day - TimeDelta::days(1)).await.expect("breaks");
        assert_eq!(breaks.len(), 1);
        assert_eq!((breaks[0].starts_on, breaks[0].ends_on, breaks[0].label.as_str()), (day, day + TimeDelta::days(1), "Winter break"));
        let listed = bot.command(plan.terry, bot.ids.general, "calendar list", &[]).await;
        let text = format!("{:?}", listed.embeds);
        assert!(text.contains("Winter break") && !text.contains("Teacher day"), "Terry sees Lincoln's: {text}");
        // Wally may not remove Lincoln's break.
        let id = format!("#{}", breaks[0].id);
        let refused = bot.command(wally, bot.ids.general, "calendar remove", &[("break", json!(id))]).await;
        assert!(refused.content.contains("Only the school's coaches and admins"), "{}", refused.content);

        // The break day: the school-wide check-in asks nobody, and is recorded as skipped.
        let scheduler = bot.scheduler();
        let ticked = scheduler.tick(at).await.expect("tick");
        assert_eq!((ticked.fired, ticked.queued, ticked.missed), (1, 0, 0), "{ticked:?}");
        assert!(ticked.skipped >= 1, "the school's people are skipped: {ticked:?}");
        scheduler.deliver(at).await.expect("deliver");
        assert_eq!(dm_questions(bot, plan.terry).await, 0);
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        assert_eq!(runs, [(at, "skipped_break".to_owned())]);
        let skipped = away::skipped(&bot.db, schedule.id).await.expect("skips");
        assert!(skipped.iter().any(|(p, _, why)| *p == UserId::new(plan.terry) && why == "break"), "{skipped:?}");
        let preview = bot.command(plan.casey, bot.ids.general, "digest preview", &[]).await;
        let text = format!("{} {:?}", preview.content, preview.embeds);
        assert!(!text.contains("Check-ins missed"), "{text}");

        // After the break the check-in goes again; removing a break is the coach's.
        let removed = bot.command(plan.casey, bot.ids.general, "calendar remove", &[("break", json!(id))]).await;
        assert!(removed.content.starts_with("Removed break"), "{}", removed.content);
        let after = at + TimeDelta::days(2);
        let ticked = scheduler.tick(after).await.expect("tick");
        assert!(ticked.queued >= 1 && ticked.skipped == 0, "{ticked:?}");
    }
}

e2e! {
    /// Who may mark someone away: the person, their school's coach (and admins). A team member
    /// may not mark someone else, nor may another school's coach; bad windows are refused.
    /// Nothing is saved by a refusal.
    async fn away_for_someone_else_is_their_coaches_to_mark(bot) {
        let plan = bot.plan().await;
        let wally = map_washington_coach(bot).await;
        let today = local_date(Utc::now());
        let options = [("from", json!("today")), ("to", json!(iso(today + TimeDelta::days(3)))), ("person", json!(plan.pat))];
        for who in [plan.terry, wally] {
            let refused = bot.command(who, bot.ids.general, "away add", &options).await;
            assert!(refused.ephemeral);
            assert!(refused.content.contains("Only the person themselves, their school's coaches and admins can mark someone away"), "{}", refused.content);
        }
        let backwards = bot.command(plan.pat, bot.ids.general, "away add", &[
            ("from", json!(iso(today + TimeDelta::days(3)))), ("to", json!(iso(today + TimeDelta::days(1)))),
        ]).await;
        assert!(backwards.content.contains("after it ends"), "{}", backwards.content);
        let past = bot.command(plan.pat, bot.ids.general, "away add", &[
            ("from", json!("2020-01-01")), ("to", json!("2020-01-03")),
        ]).await;
        assert!(past.content.contains("in the past"), "{}", past.content);
        let none = away::list(&bot.db, bot.ids.server(), None, today - TimeDelta::days(3650)).await.expect("away");
        assert!(none.is_empty(), "nothing saved: {none:?}");

        let marked = bot.command(plan.casey, bot.ids.general, "away add", &options).await;
        assert!(marked.content.starts_with("Pat Lee is away"), "{}", marked.content);
        let periods = away::list(&bot.db, bot.ids.server(), None, today).await.expect("away");
        assert_eq!(periods.len(), 1);
        assert_eq!((periods[0].person_id, periods[0].created_by), (UserId::new(plan.pat), UserId::new(plan.casey)));
        let id = format!("#{}", periods[0].id);

        // The lists: Casey sees Pat's; Terry sees none of someone else's.
        let casey_list = bot.command(plan.casey, bot.ids.general, "away list", &[]).await;
        assert!(format!("{:?}", casey_list.embeds).contains("Pat Lee"), "{:?}", casey_list.embeds);
        let terry_list = bot.command(plan.terry, bot.ids.general, "away list", &[]).await;
        assert!(!format!("{:?}", terry_list.embeds).contains("Pat Lee"), "{:?}", terry_list.embeds);
        // Ending it: not Terry's or Wally's to end; Pat's own.
        for who in [plan.terry, wally] {
            let refused = bot.command(who, bot.ids.general, "away cancel", &[("away", json!(id))]).await;
            assert!(refused.content.contains("Only the person themselves"), "{}", refused.content);
        }
        let ended = bot.command(plan.pat, bot.ids.general, "away cancel", &[("away", json!(id))]).await;
        assert!(ended.content.starts_with("Ended away period"), "{}", ended.content);
        assert!(away::list(&bot.db, bot.ids.server(), None, today).await.expect("away").is_empty());
    }
}

/// Terry adds a step (with Jordan as second owner) due on `due`: the reply.
async fn add_step(bot: &TestBot, plan: &Plan, title: &str, due: NaiveDate) -> String {
    bot.command(
        plan.terry,
        bot.ids.general,
        "step add",
        &[
            ("title", json!(title)),
            ("indicator", json!("12a")),
            ("owner", json!(plan.terry)),
            ("owner2", json!(plan.jordan)),
            ("due", json!(iso(due))),
        ],
    )
    .await
    .content
}

e2e! {
    /// Owners get a DM two days before a step is due and once when it is overdue, each once;
    /// none on a day they are away (it comes the next morning of its window); `/reminders off`
    /// stops them. A step due during a break is saved with a warning.
    async fn owners_are_reminded_before_the_due_date_and_once_overdue(bot) {
        let plan = bot.plan().await;
        let today = local_date(Utc::now());
        let due = today + TimeDelta::days(10);
        let reply = add_step(bot, &plan, "Weekly learning walks", due).await;
        assert!(reply.starts_with("Added step"), "{reply}");
        assert!(!reply.contains("⚠️"), "{reply}");
        let step = coachbot::store::steps::list(&bot.db, bot.ids.server(), &Default::default()).await.expect("steps")
            .iter().map(|s| s.id).max().expect("a step");

        // A due date in a break is saved, with a warning.
        let break_day = today + TimeDelta::days(20);
        let added = bot.command(plan.casey, bot.ids.general, "calendar add", &[
            ("school", json!("Lincoln Elementary")), ("from", json!(iso(break_day))),
            ("to", json!(iso(break_day))), ("label", json!("Staff day")),
        ]).await;
        assert!(added.content.starts_with("Added break"), "{}", added.content);
        let warned = add_step(bot, &plan, "Family night", break_day).await;
        assert!(warned.starts_with("Added step") && warned.contains("⚠️") && warned.contains("Staff day"), "{warned}");
        // Moving a step's due date into the break warns the same way; the edit is saved.
        let edited = bot.command(plan.terry, bot.ids.general, "step edit", &[
            ("step", json!(format!("#{step}"))), ("due", json!(iso(break_day))),
        ]).await;
        assert!(edited.content.contains("is edited") && edited.content.contains("⚠️") && edited.content.contains("Staff day"), "{}", edited.content);
        let moved = bot.command(plan.terry, bot.ids.general, "step edit", &[
            ("step", json!(format!("#{step}"))), ("due", json!(iso(due))),
        ]).await;
        assert!(moved.content.contains("is edited") && !moved.content.contains("⚠️"), "{}", moved.content);

        let scheduler = bot.scheduler();
        let soon = eight_on(due - TimeDelta::days(2));
        assert_eq!(scheduler.tick(soon - TimeDelta::minutes(1)).await.expect("tick").reminded, 0, "not before 08:00");
        assert_eq!(scheduler.tick(soon).await.expect("tick").reminded, 2, "Terry and Jordan");
        assert_eq!(scheduler.tick(soon + TimeDelta::hours(1)).await.expect("tick").reminded, 0, "once");
        let sent = scheduler.deliver(soon).await.expect("deliver");
        assert_eq!(sent.sent, 2, "{sent:?}");
        let due_label = due.format("%a %-d %b %Y").to_string();
        for person in [plan.terry, plan.jordan] {
            let got = dms(bot, person);
            assert_eq!(got.len(), 1, "{got:?}");
            assert!(got[0].contains(&format!("#{step} · Weekly learning walks")) && got[0].contains(&due_label) && got[0].contains(&format!("/step update step:#{step}")), "{got:?}");
        }
        assert_eq!(scheduler.tick(soon + TimeDelta::days(1)).await.expect("tick").reminded, 0, "the day before: already sent");

        // Jordan switches reminders off; Terry is away the first day it is overdue.
        let off = bot.command(plan.jordan, bot.ids.general, "reminders off", &[]).await;
        assert!(off.content.starts_with("Step reminders are off"), "{}", off.content);
        let overdue_day = due + TimeDelta::days(1);
        let marked = bot.command(plan.terry, bot.ids.general, "away add", &[
            ("from", json!(iso(overdue_day))), ("to", json!(iso(overdue_day))),
        ]).await;
        assert!(marked.content.starts_with("You are away"), "{}", marked.content);
        let overdue = eight_on(overdue_day);
        assert_eq!(scheduler.tick(overdue).await.expect("tick").reminded, 0, "none while away, none when off");
        scheduler.deliver(overdue).await.expect("deliver");
        assert_eq!(dms(bot, plan.terry).len(), 1);

        // Back the next morning: Terry gets the overdue one, once; Jordan nothing.
        let back = overdue + TimeDelta::days(1);
        assert_eq!(scheduler.tick(back).await.expect("tick").reminded, 1);
        scheduler.deliver(back).await.expect("deliver");
        assert_eq!(scheduler.tick(back + TimeDelta::days(1)).await.expect("tick").reminded, 0, "once");
        let got = dms(bot, plan.terry);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].contains("was due") && got[1].contains(&format!("#{step} · Weekly learning walks")), "{got:?}");
        assert_eq!(dms(bot, plan.jordan).len(), 1, "Jordan's reminders are off");
        let keys: Vec<String> = coachbot::store::outbox::all(&bot.db, bot.ids.server()).await.expect("outbox")
            .into_iter().filter(|r| r.kind == "reminder").map(|r| r.key).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(keys.contains(&format!("reminder:{step}:{}:overdue", plan.terry)), "{keys:?}");

        // Back on: Jordan's reminders for the next step come again.
        let on = bot.command(plan.jordan, bot.ids.general, "reminders on", &[]).await;
        assert!(on.content.starts_with("Step reminders are on"), "{}", on.content);
        assert!(!coachbot::store::reminders::is_off(&bot.db, bot.ids.server(), UserId::new(plan.jordan)).await.expect("off"));
    }
}

e2e! {
    /// A check-in already queued (or waiting for an earlier one) when its person marks
    /// themselves away is not started while they are away: recorded as skipped.
    async fn a_queued_checkin_is_not_started_while_its_person_is_away(bot) {
        let plan = bot.plan().await;
        let schedule = schedule_for_pat(bot, &plan, "daily 08:00").await;
        let first = schedule.next_fire_at.expect("a first time");
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(first).await.expect("tick").queued, 1);
        let day = iso(local_date(first));
        let reply = bot.command(plan.pat, bot.ids.general, "away add", &[("from", json!(day)), ("to", json!(day))]).await;
        assert!(reply.content.starts_with("You are away"), "{}", reply.content);
        let round = scheduler.deliver(first).await.expect("deliver");
        assert_eq!((round.sent, round.skipped), (0, 1), "{round:?}");
        assert_eq!(dm_questions(bot, plan.pat).await, 0);
        let skipped = away::skipped(&bot.db, schedule.id).await.expect("skips");
        assert_eq!(skipped, [(UserId::new(plan.pat), first, "away".to_owned())]);
    }
}
