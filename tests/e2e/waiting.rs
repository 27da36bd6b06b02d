//! One open check-in per person per server: a check-in from a second server waits until the
//! one in conversation ends; a scheduled check-in that finds the person's previous one open
//! waits in the outbox, or is missed (and the coach's digest says why); a check-in that runs
//! out tells the person once.

use chrono::{TimeDelta, Utc};
use coachbot::domain::ids::{ServerId, UserId};
use coachbot::emulator::world::permissions;
use coachbot::outbox::DeliverOutcome;
use coachbot::store::{checkins, outbox, schedules};
use serde_json::json;

use crate::dm::{ANSWERS, answer, start_weekly, two_steps};
use crate::e2e;
use crate::support::{Plan, TestBot, WAIT, checkin_due, dm_questions};

/// A second server (another district) where Pat is also a principal; returns its id and its
/// channel's.
async fn hillside_with_pat(bot: &TestBot, plan: &Plan) -> (u64, u64) {
    let emu = &bot.emu;
    let owner = emu.add_user("Olga Elsewhere");
    let guild = emu.add_guild("Hillside District", owner);
    let there = emu.add_text_channel(guild, "general").expect("channel");
    let principals = emu
        .add_role(guild, "Hillside Principal", permissions::EVERYONE_DEFAULT)
        .expect("role");
    emu.add_member(guild, plan.pat, &[principals])
        .expect("member");
    emu.wait_for_call(0, std::time::Duration::from_millis(200), |_| false)
        .await;
    let reply = bot
        .command(
            owner,
            there,
            "setup school",
            &[
                ("name", json!("Hillside Elementary")),
                ("time_zone", json!("America/Chicago")),
            ],
        )
        .await;
    assert!(reply.content.contains("Added"), "{}", reply.content);
    let reply = bot
        .command(
            owner,
            there,
            "setup role",
            &[
                ("discord_role", json!(principals)),
                ("coachbot_role", json!("principal")),
                ("school", json!("Hillside Elementary")),
            ],
        )
        .await;
    assert!(reply.content.starts_with("Done"), "{}", reply.content);
    (guild, there)
}

/// Pat starts Hillside's wellbeing check-in for themselves; returns the reply's text.
async fn start_in_hillside(bot: &TestBot, plan: &Plan, there: u64) -> String {
    bot.command(
        plan.pat,
        there,
        "checkin start",
        &[("person", json!(plan.pat)), ("flow", json!("wellbeing"))],
    )
    .await
    .content
}

/// How many of the bot's DMs to `person` contain `needle`.
fn dms_containing(bot: &TestBot, person: u64, needle: &str) -> usize {
    bot.emu.dm_channel_of(person).map_or(0, |dm| {
        bot.emu
            .messages_in(dm)
            .iter()
            .filter(|m| m["content"].as_str().is_some_and(|c| c.contains(needle)))
            .count()
    })
}

const WELLBEING_FIRST: &str = "How are you arriving at work this week?";

e2e! {
    /// Pat is in the weekly check-in of Riverbend when Hillside starts one: it is stored open
    /// but waits (the reply says so without naming the other server; no question goes out).
    /// Pat's DMs answer Riverbend's. When Pat stops it, Hillside's first question arrives at
    /// once, and the next DM answers Hillside's.
    async fn a_second_servers_checkin_waits_for_the_first_to_end(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let first = start_weekly(bot, &plan, pat).await;
        let (hillside, there) = hillside_with_pat(bot, &plan).await;

        let reply = start_in_hillside(bot, &plan, there).await;
        assert!(reply.starts_with("Queued **Wellbeing check** for Pat Lee"), "{reply}");
        assert!(reply.contains("as soon as that one ends"), "{reply}");
        assert!(!reply.contains("Riverbend"), "the other server is not named: {reply}");
        let second = checkins::open_in_server(&bot.db, ServerId::new(hillside), UserId::new(pat))
            .await.expect("read").expect("Hillside's check-in is stored open");
        assert_eq!(second.prompts, 0);
        assert_eq!(dm_questions(bot, pat).await, 1, "only Riverbend's first question went out");
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 0);

        // Pat's DMs answer the check-in in conversation: Riverbend's.
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        assert_eq!(checkins::answers(&bot.db, first).await.expect("answers").len(), 1);
        assert!(checkins::answers(&bot.db, second.id).await.expect("answers").is_empty());
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 0);

        // Pat stops it: Hillside's first question arrives.
        answer(bot, pat, "stop", WELLBEING_FIRST).await;
        let ended = checkins::get(&bot.db, first).await.expect("read").expect("session");
        assert_eq!(ended.status.key(), "skipped");
        let now_open = checkins::open_for(&bot.db, UserId::new(pat)).await.expect("read").expect("in conversation");
        assert_eq!(now_open.id, second.id);

        answer(bot, pat, "Tired, but glad it is Friday", "Question 2 of 3").await;
        let answers = checkins::answers(&bot.db, second.id).await.expect("answers");
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].answer, "Tired, but glad it is Friday");
        assert!(checkins::answers(&bot.db, first).await.expect("answers").is_empty(), "the stopped one kept nothing");
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 1, "its first question went out once");
    }
}

e2e! {
    /// A scheduled check-in that finds Pat's previous one still open in the same server
    /// waits in the outbox (no question goes out, the row stays pending); when Pat stops the
    /// previous one, the row is due at once and its first question goes out.
    async fn a_scheduled_checkin_that_finds_the_person_busy_starts_when_that_one_ends(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let first = start_weekly(bot, &plan, pat).await;
        let at = Utc::now();
        checkin_due(bot, &plan, pat, at).await;
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(at).await.expect("tick").queued, 1);
        assert_eq!(scheduler.deliver(at).await.expect("deliver"), DeliverOutcome { waiting: 1, ..DeliverOutcome::default() });
        let row = crate::support::queued(bot).await.remove(0);
        assert_eq!(row.status, outbox::OutboxStatus::Pending, "the row waits");
        assert!(row.not_before > at);
        assert_eq!(dm_questions(bot, pat).await, 1);
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 0);

        answer(bot, pat, "stop", "Stopped.").await;
        let now = Utc::now();
        let round = scheduler.deliver(now).await.expect("deliver");
        assert_eq!(round.sent, 1, "{round:?}");
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 1);
        let session = checkins::open_for(&bot.db, UserId::new(pat)).await.expect("read").expect("a session");
        assert_ne!(session.id, first);
        assert_eq!(session.origin.as_deref(), Some(row.key.as_str()));
        assert_eq!(outbox::by_key(&bot.db, &row.key).await.expect("read").expect("row").status, outbox::OutboxStatus::Sent);
    }
}

e2e! {
    /// A scheduled check-in that cannot start before the schedule's next occurrence (Pat is
    /// still in the previous one) is recorded as missed, and Casey's digest says why.
    async fn a_scheduled_checkin_that_never_starts_is_missed_in_the_digest(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        start_weekly(bot, &plan, pat).await;
        let at = Utc::now();
        checkin_due(bot, &plan, pat, at).await;
        let scheduler = bot.scheduler();
        scheduler.tick(at).await.expect("tick");
        assert_eq!(scheduler.deliver(at).await.expect("deliver").waiting, 1);
        let wellbeing = schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules").remove(0);
        let next = wellbeing.next_fire_at.expect("the next occurrence");

        assert_eq!(scheduler.tick(next).await.expect("tick").queued, 1);
        assert_eq!(
            scheduler.deliver(next).await.expect("deliver"),
            DeliverOutcome { waiting: 1, missed: 1, ..DeliverOutcome::default() },
            "the first is missed, the next one waits in its turn"
        );
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 0, "it never started");

        let reply = bot.command(plan.casey, bot.ids.general, "digest schedule", &[]).await;
        assert!(reply.content.contains("Your digest is set"), "{}", reply.content);
        let digest = schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules")
            .into_iter().find(|s| s.kind == "digest").expect("the digest schedule");
        let due = digest.next_fire_at.expect("a fire time");
        scheduler.tick(due).await.expect("tick");
        assert_eq!(scheduler.deliver(due).await.expect("deliver").composed, 1);
        scheduler.deliver(due).await.expect("deliver");
        let dm = bot.emu.dm_channel_of(plan.casey).expect("Casey's DM");
        // The digest's schools are embeds; what it lists is in their descriptions.
        let text: String = bot.emu.messages_in(dm).iter()
            .flat_map(|m| m["embeds"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["description"].as_str().map(str::to_owned))
            .collect::<Vec<_>>().join("\n");
        assert!(
            text.contains("**Wellbeing check** with Pat Lee on") && text.contains("did not start: Pat Lee was still in the previous one"),
            "{text}"
        );
    }
}

e2e! {
    /// When Pat's weekly check-in runs out unanswered, Pat is told once (later rounds send
    /// nothing more), and Hillside's check-in, which waited for it, starts right after, with
    /// its own week from then; one that never started is closed without a word when its own
    /// time runs out.
    async fn the_person_is_told_once_when_a_checkin_expires_and_the_next_starts(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let first = start_weekly(bot, &plan, pat).await;
        let (hillside, there) = hillside_with_pat(bot, &plan).await;
        let reply = start_in_hillside(bot, &plan, there).await;
        assert!(reply.starts_with("Queued"), "{reply}");
        let closed = "Your **Weekly step check-in** has closed";

        let scheduler = bot.scheduler();
        // The moment Riverbend's runs out; Hillside's, stored after it, has a little longer.
        let later = checkins::get(&bot.db, first).await.expect("read").expect("s").expires_at;
        assert_eq!(scheduler.tick(later).await.expect("tick").expired, 1);
        let dm = bot.emu.dm_channel_of(pat).expect("Pat's DM");
        let path = format!("/channels/{dm}/messages");
        bot.emu.wait_for_call(0, WAIT, move |c| c.method == "POST" && c.path == path && c.content().is_some_and(|t| t.contains(WELLBEING_FIRST)))
            .await.expect("Hillside's first question");
        assert_eq!(dms_containing(bot, pat, closed), 1);
        let contents: Vec<String> = bot.emu.messages_in(dm).iter().filter_map(|m| m["content"].as_str().map(str::to_owned)).collect();
        let told = contents.iter().position(|c| c.contains(closed)).expect("told");
        let asked = contents.iter().position(|c| c.contains(WELLBEING_FIRST)).expect("asked");
        assert!(told < asked, "told it closed before the next began: {contents:?}");
        assert_eq!(checkins::get(&bot.db, first).await.expect("read").expect("s").status.key(), "expired");

        // Later rounds tell nobody again.
        scheduler.deliver(later).await.expect("deliver");
        scheduler.tick(later + TimeDelta::hours(1)).await.expect("tick");
        scheduler.deliver(later + TimeDelta::hours(1)).await.expect("deliver");
        assert_eq!(dms_containing(bot, pat, closed), 1, "exactly one expiry message");
        let second = checkins::open_in_server(&bot.db, ServerId::new(hillside), UserId::new(pat))
            .await.expect("read").expect("Hillside's is open");
        assert!(second.expires_at > later + TimeDelta::days(6), "its week counts from its first question");

        // A check-in that never started says nothing when it runs out: Riverbend's next one
        // waits behind Hillside's, and both run out in the same round.
        let reply = bot.command(plan.casey, bot.ids.general, "checkin start", &[("person", json!(pat)), ("flow", json!("wellbeing"))]).await;
        assert!(reply.content.starts_with("Queued"), "{}", reply.content);
        let waiting = checkins::open_in_server(&bot.db, bot.ids.server(), UserId::new(pat)).await.expect("read").expect("stored");
        assert_eq!(waiting.prompts, 0);
        assert_eq!(scheduler.tick(later + TimeDelta::days(10)).await.expect("tick").expired, 2);
        scheduler.deliver(later + TimeDelta::days(10)).await.expect("deliver");
        assert_eq!(dms_containing(bot, pat, "Your **Wellbeing check** has closed"), 1, "only Hillside's, which had started");
    }
}

e2e! {
    /// Riverbend's check-in is closed while the bot is down (its coach skipped it from another
    /// process): when the bot starts again, its catch-up starts Hillside's waiting check-in,
    /// whose first question arrives once.
    async fn a_restart_starts_a_checkin_whose_predecessor_ended_while_down(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let first = start_weekly(bot, &plan, pat).await;
        let (hillside, there) = hillside_with_pat(bot, &plan).await;
        let reply = start_in_hillside(bot, &plan, there).await;
        assert!(reply.starts_with("Queued"), "{reply}");

        bot.stop().await;
        assert!(checkins::finish(&bot.db, first, checkins::SessionStatus::Skipped, Utc::now()).await.expect("closed"));
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 0);
        bot.start().await;

        let dm = bot.emu.dm_channel_of(pat).expect("Pat's DM");
        let path = format!("/channels/{dm}/messages");
        bot.emu.wait_for_call(0, WAIT, move |c| c.method == "POST" && c.path == path && c.content().is_some_and(|t| t.contains(WELLBEING_FIRST)))
            .await.expect("Hillside's first question after the restart");
        let second = checkins::open_for(&bot.db, UserId::new(pat)).await.expect("read").expect("in conversation");
        assert_eq!(second.server_id, ServerId::new(hillside));
        answer(bot, pat, "Rested after the weekend", "Question 2 of 3").await;
        assert_eq!(checkins::answers(&bot.db, second.id).await.expect("answers").len(), 1);
        assert_eq!(dms_containing(bot, pat, WELLBEING_FIRST), 1);
    }
}
