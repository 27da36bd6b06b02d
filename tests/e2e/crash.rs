//! Crash tests: a real bot process is killed with SIGKILL at the worst moments of a delivery
//! and started again on the same database. Every due message is delivered, none twice (the
//! emulator's record says what people saw). Two processes sharing 10,000 check-ins are in
//! `tests/fleet.rs`.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use coachbot::emulator::RecordedCall;
use coachbot::store::checkins;
use coachbot::store::outbox::{self, OutboxRow};

use crate::e2e;
use crate::process::{BotProcess, Launch};
use crate::support::{TestBot, WAIT, checkin_due, dm_questions};

/// The lease the processes use here, so a dead one's rows are taken over quickly.
const LEASE_SECS: u64 = 2;

/// Three check-ins that came due a minute ago (Pat, Terry, Jordan), with the in-process bot
/// stopped so that real processes can take over.
async fn three_due_checkins(bot: &TestBot) -> Vec<u64> {
    let plan = bot.plan().await;
    bot.stop().await;
    let people = vec![plan.pat, plan.terry, plan.jordan];
    for person in &people {
        checkin_due(bot, &plan, *person, Utc::now() - TimeDelta::minutes(1)).await;
    }
    people
}

/// Waits until the emulator sees no bot on the gateway (a killed process's socket closed).
async fn gateway_closed(bot: &TestBot) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while bot.emu.bot_connected() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !bot.emu.bot_connected(),
        "the killed process left the gateway"
    );
}

/// Waits until every outbox row is sent; returns them.
async fn all_sent(bot: &TestBot, timeout: Duration) -> Vec<OutboxRow> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let rows = crate::support::queued(bot).await;
        if !rows.is_empty() && rows.iter().all(|r| r.status == "sent") {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all delivered: {:?}",
            rows.iter()
                .map(|r| (&r.key, &r.status, &r.last_error))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Message posts from the emulator's call `from` on, in order.
fn message_posts(bot: &TestBot, from: usize) -> Vec<RecordedCall> {
    bot.emu
        .calls_since(from)
        .into_iter()
        .filter(|c| {
            c.method == "POST" && c.path.starts_with("/channels/") && c.path.ends_with("/messages")
        })
        .collect()
}

/// Runs a process until it stops at `point`, kills it with SIGKILL, checks `at_the_kill`,
/// then runs a new process until everything is delivered. Returns the posts and the people.
async fn crash_then_restart(
    bot: &TestBot,
    point: &str,
    at_the_kill: impl AsyncFnOnce(&TestBot, Vec<RecordedCall>),
) -> (Vec<RecordedCall>, Vec<u64>) {
    let people = three_due_checkins(bot).await;
    let from = bot.emu.calls().len();
    let crashing = BotProcess::start(
        bot,
        &Launch {
            crash_point: Some(point),
            lease_secs: LEASE_SECS,
            ..Launch::default()
        },
    );
    crashing
        .wait_for_log(&format!("reached crash point {point}"), WAIT)
        .await;
    crashing.kill9().await;
    gateway_closed(bot).await;
    at_the_kill(bot, message_posts(bot, from)).await;

    let restarted = BotProcess::start(
        bot,
        &Launch {
            lease_secs: LEASE_SECS,
            ..Launch::default()
        },
    );
    restarted.wait_for_log("coachbot is ready", WAIT).await;
    let rows = all_sent(bot, WAIT + Duration::from_secs(LEASE_SECS * 2)).await;
    assert_eq!(rows.len(), people.len(), "one row per person");
    // Give a stray second send the time to show up before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for person in &people {
        assert_eq!(
            dm_questions(bot, *person).await,
            1,
            "each person gets the question once:\n{}",
            restarted.log()
        );
    }
    restarted.kill9().await;
    (message_posts(bot, from), people)
}

e2e! {
    /// Killed with rows claimed and nothing sent: the lease runs out, the new process sends
    /// each question once.
    async fn killed_after_claiming_before_sending(bot) {
        let (posts, people) = crash_then_restart(bot, "outbox-claimed", async |bot: &TestBot, posts: Vec<RecordedCall>| {
            let rows = crate::support::queued(bot).await;
            assert_eq!(rows.len(), 3);
            assert!(rows.iter().all(|r| r.status == "pending" && r.lease_owner.is_some()), "claimed, nothing marked sent");
            assert!(posts.is_empty(), "nothing sent before the kill");
        }).await;
        assert_eq!(posts.len(), people.len(), "one post each, no more");
    }
}

e2e! {
    /// Killed after Discord accepted a question but before its row was marked sent: the new
    /// process takes the row over when its lease runs out and sends it again with the same
    /// nonce, and Discord (the emulator) keeps the first; no one sees a question twice.
    async fn killed_after_discord_accepted_before_recording(bot) {
        let (posts, people) = crash_then_restart(bot, "prompt-sent", async |bot: &TestBot, posts: Vec<RecordedCall>| {
            assert_eq!(posts.len(), 1, "one question went out before the kill");
            assert_eq!(posts[0].status, 200);
            let rows = crate::support::queued(bot).await;
            assert!(rows.iter().all(|r| r.status == "pending"), "nothing marked sent");
            let open = checkins::all_open(&bot.db).await.expect("sessions");
            assert_eq!(open.len(), 1, "the session it started is stored");
            assert_eq!(open[0].prompted.as_deref(), Some("q0"), "the question is queued with the session");
            let prompts = crate::support::prompt_rows(bot).await;
            assert_eq!(prompts.len(), 1, "one prompt row");
            assert!(prompts[0].status == "pending" && prompts[0].message_id.is_none(), "not marked sent: {prompts:?}");
        }).await;
        let prompts = crate::support::prompt_rows(bot).await;
        assert_eq!(prompts.len(), people.len(), "one prompt row each");
        assert!(prompts.iter().all(|r| r.status == "sent" && r.message_id.is_some()), "{prompts:?}");
        assert_eq!(posts.len(), people.len() + 1, "the unrecorded question was posted again");
        let first = &posts[0];
        let again = posts.iter().skip(1).find(|c| c.path == first.path).expect("the resend");
        let nonce = |c: &RecordedCall| c.body.as_ref().and_then(|b| b["nonce"].as_str().map(str::to_owned));
        assert_eq!(nonce(again), nonce(first), "the same nonce");
        assert_eq!(again.body.as_ref().map(|b| b["enforce_nonce"].clone()), Some(serde_json::json!(true)));
        let id = |c: &RecordedCall| c.response.as_ref().map(|r| r["id"].clone());
        assert_eq!(id(again), id(first), "Discord answered with the first message");
    }
}

e2e! {
    /// Killed after the question was sent and recorded but before its outbox row was marked
    /// sent: the new process finds the session by the row's key and sends nothing again.
    async fn killed_after_recording_before_marking_the_row_sent(bot) {
        let (posts, people) = crash_then_restart(bot, "outbox-sent", async |bot: &TestBot, posts: Vec<RecordedCall>| {
            assert_eq!(posts.len(), 1);
            let rows = crate::support::queued(bot).await;
            assert!(rows.iter().all(|r| r.status == "pending"), "nothing marked sent");
            let open = checkins::all_open(&bot.db).await.expect("sessions");
            assert_eq!(open.len(), 1);
            assert_eq!(open[0].prompted.as_deref(), Some("q0"), "the question is recorded as asked");
        }).await;
        assert_eq!(posts.len(), people.len(), "no second post at all");
        let rows = crate::support::queued(bot).await;
        assert!(rows.iter().all(|r| r.message_id.is_some()), "each row knows its message, the crashed one too");
    }
}

e2e! {
    /// A step is added and the process is killed with SIGKILL right after the step and its
    /// channel announcement were committed, before the announcement went out. The next
    /// process sends it, and the leadership channel shows it exactly once.
    async fn an_announcement_committed_before_a_crash_arrives_once(bot) {
        let plan = bot.plan().await;
        bot.stop().await;
        let channel = bot.ids.lincoln_channel;
        let announced = |bot: &TestBot| {
            bot.emu
                .messages_in(channel)
                .iter()
                .filter(|m| m["content"].as_str().is_some_and(|c| c.contains("Share the walkthrough rota")))
                .count()
        };
        let crashing = BotProcess::start(
            bot,
            &Launch { crash_point: Some("announcement-queued"), lease_secs: LEASE_SECS, ..Launch::default() },
        );
        crashing.wait_for_log("coachbot is ready", WAIT).await;
        // Terry adds a step; the process stops right after saving it, before it announces.
        bot.emu
            .slash_command(plan.terry, bot.ids.general, "step add", &[
                ("title", serde_json::json!("Share the walkthrough rota")),
                ("indicator", serde_json::json!("12a")),
                ("owner", serde_json::json!(plan.terry)),
                ("due", serde_json::json!("friday")),
            ])
            .expect("the emulator builds the interaction");
        crashing.wait_for_log("reached crash point announcement-queued", WAIT).await;
        crashing.kill9().await;
        gateway_closed(bot).await;

        let step = coachbot::store::steps::list(&bot.db, bot.ids.server(), &Default::default())
            .await
            .expect("steps")
            .into_iter()
            .find(|s| s.title == "Share the walkthrough rota")
            .expect("the step was saved before the kill");
        let rows = outbox::all(&bot.db, bot.ids.server()).await.expect("outbox");
        let row = rows.iter().find(|r| r.kind == "announcement" && r.status == "pending").expect("its announcement is queued, not sent");
        assert!(row.payload.contains(&format!("New step #{}", step.id)), "{}", row.payload);
        assert_eq!(announced(bot), 0, "nothing reached the channel before the kill");

        let restarted = BotProcess::start(bot, &Launch { lease_secs: LEASE_SECS, ..Launch::default() });
        restarted.wait_for_log("coachbot is ready", WAIT).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while announced(bot) == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Give a stray second send the time to show up before counting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(announced(bot), 1, "the announcement arrives once:\n{}", restarted.log());
        let row = outbox::by_key(&bot.db, &row.key).await.expect("read").expect("the row");
        assert_eq!(row.status, "sent");
        assert!(row.message_id.is_some(), "the message id is recorded");
        let shown = bot.emu.messages_in(channel);
        let line = shown.iter().filter_map(|m| m["content"].as_str()).find(|c| c.contains("Share the walkthrough rota")).expect("the line");
        assert_eq!(line, format!("New step #{} for 12a: “Share the walkthrough rota”, owned by Terry Okafor, due {}.", step.id, coachbot::domain::text::day(step.due_on)));
        restarted.kill9().await;
    }
}
