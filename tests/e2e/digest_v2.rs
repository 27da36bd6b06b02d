//! The coach's digest, version 2: wins since the last digest first; each school's rhythm
//! (stage, last contact, response rate, next session); check-ins missed in a row until
//! answered; a school with no plan named; items snoozed for a week with the digest's button,
//! by that coach only.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use coachbot::domain::checkin::SessionStatus;
use coachbot::domain::coaching::{SessionKind, SessionNotes};
use coachbot::domain::cycle::Stage;
use coachbot::domain::ids::{StepId, UserId};
use coachbot::emulator::Reply;
use coachbot::emulator::world::permissions;
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::coaching::{self, NewSession};
use coachbot::store::steps::{self, NewStep};
use coachbot::store::{checkins, cycle, indicators, schedules, schools, snoozes};
use serde_json::{Value, json};

use crate::dm::{answer, bot_dm, button_id, click};
use crate::e2e;
use crate::support::{Plan, TestBot};

const ZONE: Tz = chrono_tz::America::Chicago;

/// One check-in of the scripted history, as the test saw it happen.
struct Event {
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    status: SessionStatus,
}

/// Casey starts Pat's wellbeing check-in; returns its id.
async fn start_wellbeing(bot: &TestBot, plan: &Plan) -> i64 {
    let reply = bot
        .command(
            plan.casey,
            bot.ids.general,
            "checkin start",
            &[("person", json!(plan.pat)), ("flow", json!("wellbeing"))],
        )
        .await;
    assert!(reply.content.starts_with("Started"), "{}", reply.content);
    checkins::open_for(&bot.db, UserId::new(plan.pat))
        .await
        .expect("open")
        .expect("a session")
        .id
}

/// Pat answers the wellbeing check-in and confirms it.
async fn pat_confirms(bot: &TestBot, plan: &Plan) -> Event {
    let mark = bot.emu.call_count();
    let id = start_wellbeing(bot, plan).await;
    bot_dm(bot, plan.pat, mark, "How are you arriving").await;
    answer(bot, plan.pat, "Steady, thanks", "giving you energy").await;
    answer(bot, plan.pat, "The data team", "sustainable").await;
    let reflection = answer(bot, plan.pat, "A quiet Friday", "Here is what I heard").await;
    let saved = click(
        bot,
        plan.pat,
        &reflection,
        &button_id(&reflection, "confirm"),
    )
    .await;
    assert!(saved.content.contains("Saved"), "{}", saved.content);
    event(bot, id).await
}

/// Pat lets a wellbeing check-in run out: asked, then eight days pass.
async fn pat_misses(bot: &TestBot, plan: &Plan) -> Event {
    let id = start_wellbeing(bot, plan).await;
    bot.app().clock.advance(TimeDelta::days(8));
    bot.scheduler().tick(bot.app().now()).await.expect("tick");
    event(bot, id).await
}

async fn event(bot: &TestBot, id: i64) -> Event {
    let session = checkins::get(&bot.db, id)
        .await
        .expect("get")
        .expect("the session");
    Event {
        started_at: session.started_at,
        finished_at: session.finished_at,
        status: session.status,
    }
}

/// The response rate line as the test computes it from its own events: asked = started in
/// the 30 days before `at` and over; answered = confirmed.
fn rate_line(events: &[Event], at: DateTime<Utc>) -> String {
    let asked: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.started_at > at - TimeDelta::days(30)
                && e.started_at <= at
                && e.status != SessionStatus::Open
        })
        .collect();
    let confirmed = asked
        .iter()
        .filter(|e| e.status == SessionStatus::Confirmed)
        .count();
    let percent = (confirmed as f64 * 100.0 / asked.len() as f64).round();
    format!(
        "{confirmed} of {} check-ins answered in 30 days ({percent}%)",
        asked.len()
    )
}

/// The last contact as the test computes it: the later of the session's day and the day (in
/// the school's zone) of the last confirmed check-in.
fn contact_line(events: &[Event], session_on: NaiveDate) -> String {
    let confirmed = events
        .iter()
        .filter(|e| e.status == SessionStatus::Confirmed)
        .filter_map(|e| e.finished_at)
        .max()
        .map(|at| at.with_timezone(&ZONE).date_naive());
    match confirmed {
        Some(day) if day > session_on => format!(
            "last contact {} (a confirmed check-in)",
            day.format("%a %-d %b")
        ),
        _ => format!(
            "last contact {} ({})",
            session_on.format("%a %-d %b"),
            SessionKind::OneToOne.label()
        ),
    }
}

/// The description of the embed titled `title` (or starting so) in `embeds`.
fn embed_text(embeds: &[Value], title: &str) -> String {
    embeds
        .iter()
        .filter(|e| e["title"].as_str().is_some_and(|t| t.starts_with(title)))
        .filter_map(|e| e["description"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fires and delivers the digest due at `at`; returns the message Casey got.
async fn digest_at(bot: &TestBot, casey: u64, at: DateTime<Utc>) -> Value {
    let scheduler = bot.scheduler();
    assert_eq!(scheduler.tick(at).await.expect("tick").fired, 1);
    assert_eq!(scheduler.deliver(at).await.expect("deliver").composed, 1);
    while scheduler.deliver(at).await.expect("deliver").sent > 0 {}
    let dm = bot.emu.dm_channel_of(casey).expect("Casey's DM");
    bot.emu.messages_in(dm).pop().expect("the digest")
}

fn embeds_of(message: &Value) -> Vec<Value> {
    message["embeds"].as_array().cloned().unwrap_or_default()
}

async fn add_step(bot: &TestBot, plan: &Plan, title: &str, due_on: NaiveDate) -> StepId {
    let focus = indicators::find(&bot.db, bot.ids.server(), plan.lincoln, "12a")
        .await
        .expect("focus")
        .expect("12a");
    steps::add(
        &bot.db,
        &NewStep {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            focus_id: focus.id,
            title,
            due_on,
            resources: None,
            owners: &[UserId::new(plan.terry)],
            author: UserId::new(plan.terry),
        },
        bot.app().now(),
        None,
    )
    .await
    .expect("a step")
    .id
}

async fn add_barrier(bot: &TestBot, plan: &Plan, text: &str) -> i64 {
    barriers::add(
        &bot.db,
        &NewBarrier {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            step_id: None,
            category: "time",
            text,
            raised_by: UserId::new(plan.terry),
        },
        bot.app().now(),
        None,
    )
    .await
    .expect("a barrier")
    .id
}

/// The preview Casey sees now: its text and embeds as one string.
async fn preview(bot: &TestBot, casey: u64) -> String {
    let reply = bot
        .command(casey, bot.ids.general, "digest preview", &[])
        .await;
    assert!(reply.ephemeral);
    format!(
        "{}\n{}",
        reply.content,
        reply
            .embeds
            .iter()
            .filter_map(|e| e["description"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    )
}

fn component_ids(reply: &Reply) -> Vec<String> {
    reply
        .components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

e2e! {
    /// Three weeks of Pat's wellbeing check-ins (one confirmed, then two let run out), a
    /// one-to-one session, two steps and a barrier; Washington in action planning with no plan.
    /// Day 1's digest: Pat "2 missed in a row", Washington's missing plan named, the rate and
    /// last contact as computed here. Then a step is done, Pat answers, a barrier is raised:
    /// day 2's wins are exactly those, Pat's streak is gone, the rate and contact moved.
    async fn day_two_lists_only_what_changed_and_a_streak_lasts_until_answered(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let mut events = vec![pat_confirms(bot, &plan).await];
        bot.app().clock.advance(TimeDelta::days(1));
        events.push(pat_misses(bot, &plan).await);
        events.push(pat_misses(bot, &plan).await);
        assert!(events[1..].iter().all(|e| e.status == SessionStatus::Expired));

        // A one-to-one session yesterday, meeting again in two weeks.
        let today = bot.app().now().with_timezone(&ZONE).date_naive();
        let held_on = today - TimeDelta::days(1);
        let next_on = today + TimeDelta::days(14);
        let notes = SessionNotes::parse("Walkthrough debrief", "", "").expect("notes");
        coaching::log(&bot.db, &NewSession {
            server_id: ids.server(), school_id: plan.lincoln, kind: SessionKind::OneToOne, held_on,
            logged_by: UserId::new(plan.casey), notes: &notes, next_meeting_on: Some(next_on), shared: false,
            people: &[UserId::new(plan.pat)],
        }, bot.app().now()).await.expect("a session");
        let soon = add_step(bot, &plan, "Share the walkthrough notes", today + TimeDelta::days(3)).await;
        let finish = add_step(bot, &plan, "Book the data room", today + TimeDelta::days(5)).await;
        let old_barrier = add_barrier(bot, &plan, "No cover for the data team").await;
        let washington = schools::find_by_name(&bot.db, ids.server(), "Washington Middle").await.expect("schools").expect("Washington");
        cycle::advance(&bot.db, &washington, Stage::Plan, UserId::new(plan.casey), None, bot.app().now()).await.expect("moved");

        let reply = bot.command(plan.casey, ids.general, "digest schedule", &[("when", json!("daily 07:00")), ("time_zone", json!("America/Chicago"))]).await;
        assert!(reply.content.contains("Your digest is set"), "{}", reply.content);
        let day1 = schedules::list(&bot.db, ids.server(), None).await.expect("schedules")
            .into_iter().find(|s| s.kind == "digest").and_then(|s| s.next_fire_at).expect("a fire time");

        // Day 1.
        let message = digest_at(bot, plan.casey, day1).await;
        let embeds = embeds_of(&message);
        let lincoln = embed_text(&embeds, "Lincoln Elementary");
        let streak = "**Wellbeing check** with Pat Lee: 2 missed in a row";
        assert!(lincoln.contains(streak), "{lincoln}");
        assert!(lincoln.contains(&rate_line(&events, day1)), "{} in {lincoln}", rate_line(&events, day1));
        assert!(lincoln.contains(&contact_line(&events, held_on)), "{} in {lincoln}", contact_line(&events, held_on));
        assert!(lincoln.contains(&format!("next session {}", next_on.format("%a %-d %b"))), "{lincoln}");
        // Counts in one line, before the details.
        let lines: Vec<&str> = lincoln.lines().collect();
        assert!(lines[1].starts_with("Counts: 1 check-in missed · 2 steps due soon · 1 new barrier"), "{lincoln}");
        let washington_text = embed_text(&embeds, "Washington Middle");
        assert!(washington_text.contains(&format!("No plan: in **{}**", Stage::Plan.label())), "{washington_text}");
        let wins1 = embed_text(&embeds, "Since your last digest");
        assert!(wins1.contains(&format!("#{old_barrier} Lincoln Elementary (time)")), "{wins1}");
        assert!(wins1.contains("**1 session logged:** Lincoln Elementary"), "{wins1}");
        // The snooze button is under the digest.
        let menu = format!("digest:snooze:{}:{}", ids.server().get(), plan.casey);
        assert!(message["components"].to_string().contains(&menu), "{message}");

        // Between day 1 and day 2: a step done, Pat answers, a new barrier.
        bot.app().clock.advance(day1 + TimeDelta::hours(1) - bot.app().now());
        let done = bot.command(plan.terry, ids.general, "step done", &[("step", json!(format!("#{finish}")))]).await;
        assert!(done.content.contains("is now **done**"), "{}", done.content);
        events.push(pat_confirms(bot, &plan).await);
        let new_barrier = add_barrier(bot, &plan, "The data room is booked out").await;

        // Day 2: only what changed since day 1 among the wins.
        let day2 = day1 + TimeDelta::days(1);
        let message = digest_at(bot, plan.casey, day2).await;
        let embeds = embeds_of(&message);
        let wins2 = embed_text(&embeds, "Since your last digest");
        assert!(wins2.contains(&format!("**1 step done:** #{finish} Book the data room (Lincoln Elementary)")), "{wins2}");
        assert!(wins2.contains("**1 check-in confirmed:** Pat Lee (Wellbeing check, Lincoln Elementary)"), "{wins2}");
        assert!(wins2.contains(&format!("**1 new barrier:** #{new_barrier} Lincoln Elementary (time)")), "{wins2}");
        assert!(!wins2.contains(&format!("#{old_barrier} ")) && !wins2.contains("session logged"), "day 1's news again: {wins2}");
        assert_eq!(wins2.lines().count(), 3, "{wins2}");
        let lincoln = embed_text(&embeds, "Lincoln Elementary");
        assert!(!lincoln.contains("missed in a row") && !lincoln.contains("Wellbeing check"), "Pat answered: {lincoln}");
        assert!(lincoln.contains(&rate_line(&events, day2)), "{} in {lincoln}", rate_line(&events, day2));
        assert!(lincoln.contains(&contact_line(&events, held_on)), "{} in {lincoln}", contact_line(&events, held_on));
        assert!(lincoln.contains("a confirmed check-in"), "{lincoln}");
        assert!(lincoln.contains(&format!("#{soon} **Share the walkthrough notes**")), "{lincoln}");
    }
}

e2e! {
    /// Casey snoozes a step from the digest's button: it stays out of the digest for a week
    /// (six days on: absent; eight: back). Another coach pressing Casey's button is refused and
    /// nothing is stored.
    async fn a_snoozed_item_stays_away_for_a_week_and_only_its_coach_may_snooze(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let today = bot.app().now().with_timezone(&ZONE).date_naive();
        let step = add_step(bot, &plan, "Share the walkthrough notes", today + TimeDelta::days(3)).await;
        let washington = schools::find_by_name(&bot.db, ids.server(), "Washington Middle").await.expect("schools").expect("Washington");
        cycle::advance(&bot.db, &washington, Stage::Implement, UserId::new(plan.casey), None, bot.app().now()).await.expect("moved");
        // Dana coaches Washington.
        let role = bot.emu.add_role(ids.guild, "Coach Washington", permissions::EVERYONE_DEFAULT).expect("role");
        let set = bot.command(ids.owner, ids.general, "setup role", &[("discord_role", json!(role)), ("coachbot_role", json!("coach")), ("school", json!("Washington Middle"))]).await;
        assert!(set.content.starts_with("Done"), "{}", set.content);
        let dana = bot.emu.add_user("Dana Reyes");
        bot.emu.add_member(ids.guild, dana, &[role]).expect("member");

        let reply = bot.command(plan.casey, ids.general, "digest schedule", &[("when", json!("daily 07:00")), ("time_zone", json!("America/Chicago"))]).await;
        assert!(reply.content.contains("Your digest is set"), "{}", reply.content);
        let first = schedules::list(&bot.db, ids.server(), None).await.expect("schedules")
            .into_iter().find(|s| s.kind == "digest").and_then(|s| s.next_fire_at).expect("a fire time");
        let message = digest_at(bot, plan.casey, first).await;
        let step_line = format!("#{step} **Share the walkthrough notes**");
        assert!(embed_text(&embeds_of(&message), "Lincoln Elementary").contains(&step_line));
        let menu = format!("digest:snooze:{}:{}", ids.server().get(), plan.casey);
        let dm = bot.emu.dm_channel_of(plan.casey).expect("Casey's DM");
        let digest_id: u64 = message["id"].as_str().and_then(|s| s.parse().ok()).expect("id");

        // Dana cannot reach Casey's button: the digest is in Casey's DM (Discord refuses the
        // click, as the emulator does; the bot refuses it too: see `snooze::claim`'s tests).
        bot.human_pause().await;
        assert!(bot.emu.click_button(dana, dm, digest_id, &menu).is_err());
        // Dana's own preview carries a button with her own id, and offers only her school.
        let hers = bot.command(dana, ids.general, "digest preview", &[]).await;
        let her_menu = format!("digest:snooze:{}:{dana}", ids.server().get());
        assert_eq!(component_ids(&hers), std::slice::from_ref(&her_menu), "{:?}", hers.components);
        let (her_channel, her_preview) = bot.emu.find_component(&her_menu).expect("Dana's button");
        let her_items = bot.reply(&bot.emu.click_button(dana, her_channel, her_preview, &her_menu).expect("click")).await;
        let offered = component_ids(&her_items);
        assert_eq!(offered, [format!("digest:item:{}:{dana}:noplan:{}", ids.server().get(), washington.id)], "{}", her_items.content);
        let item = format!("digest:item:{}:{}:step:{step}", ids.server().get(), plan.casey);

        // Casey presses it: a button per item, the step's and Washington's missing plan among them.
        let choices = bot.reply(&bot.emu.click_button(plan.casey, dm, digest_id, &menu).expect("click")).await;
        assert!(choices.ephemeral);
        assert!(choices.content.contains("Choose what to snooze until"), "{}", choices.content);
        let offered = component_ids(&choices);
        assert!(offered.contains(&item), "{offered:?}");
        assert!(offered.contains(&format!("digest:item:{}:{}:noplan:{}", ids.server().get(), plan.casey, washington.id)), "{offered:?}");
        let (channel, list) = bot.emu.find_component(&item).expect("the item buttons");
        // (The list is Casey's alone: Discord shows it to no one else.)
        let none = snoozes::snoozed(&bot.db, ids.server(), UserId::new(dana), bot.app().now()).await.expect("snoozed");
        let casey_none = snoozes::snoozed(&bot.db, ids.server(), UserId::new(plan.casey), bot.app().now()).await.expect("snoozed");
        assert!(none.is_empty() && casey_none.is_empty(), "{none:?} {casey_none:?}");

        let snoozed = bot.reply(&bot.emu.click_button(plan.casey, channel, list, &item).expect("click")).await;
        assert!(snoozed.ephemeral);
        assert!(snoozed.content.starts_with(&format!("Snoozed step #{step} until")), "{}", snoozed.content);
        let stored = snoozes::snoozed(&bot.db, ids.server(), UserId::new(plan.casey), bot.app().now()).await.expect("snoozed");
        assert_eq!(stored.into_iter().collect::<Vec<_>>(), [format!("step:{step}")]);

        let now = preview(bot, plan.casey).await;
        assert!(!now.contains(&step_line), "snoozed: {now}");
        // It was Lincoln's only item: Lincoln has nothing to report while it is snoozed.
        assert!(now.contains("Nothing to report: Lincoln Elementary"), "{now}");
        bot.app().clock.advance(TimeDelta::days(6));
        let six = preview(bot, plan.casey).await;
        assert!(!six.contains(&step_line), "six days on, still snoozed: {six}");
        bot.app().clock.advance(TimeDelta::days(2));
        let eight = preview(bot, plan.casey).await;
        assert!(eight.contains(&step_line), "eight days on, back: {eight}");
        assert!(!eight.contains("snoozed"), "{eight}");
    }
}
