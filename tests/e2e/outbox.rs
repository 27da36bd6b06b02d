//! The outbox sender against Discord's failures: a 429's `retry_after` is waited out exactly,
//! a run of 5xx is retried with backoff and then delivered once, a global 429 holds every
//! send, and a delivered row keeps the id of the message Discord created.

use chrono::{DateTime, TimeDelta, Utc};
use coachbot::config::Sending as Settings;
use coachbot::discord::Options;
use coachbot::domain::ids::UserId;
use coachbot::domain::outbox::OutboxMessage;
use coachbot::emulator::{Fault, FaultKind};
use coachbot::outbox::{DeliverOutcome, Scheduler};
use coachbot::store::outbox::NewRow;

use crate::e2e;
use crate::schedules::schedule_for_pat;
use crate::support::{Plan, TestBot, WAIT, checkin_due, dm_questions};

/// Requests that post a message in `channel`.
fn posts_in(bot: &TestBot, channel: u64) -> Vec<coachbot::emulator::RecordedCall> {
    let path = format!("/channels/{channel}/messages");
    bot.emu
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == path)
        .collect()
}

/// Pat's daily check-in, fired at its first time and queued; the next `times` message posts
/// meet `kind`. Returns the first time and the scheduler.
async fn queued_then_fault(
    bot: &TestBot,
    plan: &Plan,
    times: u32,
    kind: FaultKind,
) -> (DateTime<Utc>, Scheduler) {
    let schedule = schedule_for_pat(bot, plan, "daily 08:00").await;
    let first = schedule.next_fire_at.expect("first");
    let scheduler = bot.scheduler();
    assert_eq!(scheduler.tick(first).await.expect("tick").queued, 1);
    bot.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/channels/".into(),
        times,
        kind,
    });
    (first, scheduler)
}

e2e! {
    /// Discord says "retry after 12.5 s" to the first question: the check-in has started,
    /// and the question's row is not tried again a moment before, is not counted as a failed
    /// attempt, and is delivered once when the time comes, with the message id recorded.
    async fn a_429s_retry_after_is_honoured(bot) {
        let plan = bot.plan().await;
        // The body says 12.5 s; the header (whole seconds) says 13: the body's figure is used.
        let limited = FaultKind::RateLimited { retry_after: 12.5, global: false };
        let (first, scheduler) = queued_then_fault(bot, &plan, 1, limited).await;
        assert_eq!(scheduler.deliver(first).await.expect("deliver"), DeliverOutcome { sent: 1, ..DeliverOutcome::default() }, "the check-in started");
        let row = crate::support::prompt_rows(bot).await.remove(0);
        assert_eq!(row.status, "pending");
        assert_eq!(row.not_before, first + TimeDelta::milliseconds(12_500), "next attempt exactly when Discord said");
        assert_eq!(row.attempts, 0, "a 429 is not a failed attempt");

        let calls = bot.emu.calls().len();
        let early = first + TimeDelta::milliseconds(12_499);
        assert_eq!(scheduler.deliver(early).await.expect("deliver"), DeliverOutcome::default());
        assert_eq!(bot.emu.calls().len(), calls, "no request before retry_after");

        let on_time = first + TimeDelta::milliseconds(12_500);
        assert_eq!(scheduler.deliver(on_time).await.expect("deliver"), DeliverOutcome { sent: 1, ..DeliverOutcome::default() });
        assert_eq!(dm_questions(bot, plan.pat).await, 1);
        let dm = bot.emu.dm_channel_of(plan.pat).expect("a DM");
        let posted = bot.emu.messages_in(dm);
        let question_id: i64 = posted.last().and_then(|m| m["id"].as_str()).and_then(|id| id.parse().ok()).expect("a message id");
        let row = crate::support::prompt_rows(bot).await.remove(0);
        assert_eq!((row.status.key(), row.message_id), ("sent", Some(question_id)), "the message id is recorded");
        assert_eq!(posts_in(bot, dm).len(), 2, "one refused, one delivered");
    }
}

e2e! {
    /// Three 502s in a row for the first question: each is retried after a longer wait (2 s,
    /// 4 s, 8 s), then the question goes out once.
    async fn a_run_of_server_errors_is_retried_then_delivered(bot) {
        let plan = bot.plan().await;
        let (first, scheduler) = queued_then_fault(bot, &plan, 3, FaultKind::ServerError { status: 502 }).await;
        let mut at = first;
        for (attempt, backoff) in [2, 4, 8].into_iter().enumerate() {
            let round = scheduler.deliver(at).await.expect("deliver");
            // The first round starts the check-in; its question's row is what is retried.
            let expected = if attempt == 0 { DeliverOutcome { sent: 1, ..DeliverOutcome::default() } } else { DeliverOutcome { retried: 1, ..DeliverOutcome::default() } };
            assert_eq!(round, expected, "attempt {attempt}");
            let row = crate::support::prompt_rows(bot).await.remove(0);
            assert_eq!(row.not_before, at + TimeDelta::seconds(backoff), "backoff doubles");
            assert!(row.last_error.as_deref().is_some_and(|e| e.contains("502")), "{:?}", row.last_error);
            assert_eq!(scheduler.deliver(row.not_before - TimeDelta::milliseconds(1)).await.expect("deliver"), DeliverOutcome::default(), "not before the backoff");
            at = row.not_before;
        }
        assert_eq!(scheduler.deliver(at).await.expect("deliver"), DeliverOutcome { sent: 1, ..DeliverOutcome::default() });
        let row = crate::support::prompt_rows(bot).await.remove(0);
        assert_eq!((row.status.key(), row.attempts), ("sent", 4));
        assert_eq!(dm_questions(bot, plan.pat).await, 1, "delivered once");
        let dm = bot.emu.dm_channel_of(plan.pat).expect("a DM");
        assert_eq!(posts_in(bot, dm).iter().map(|c| c.status).collect::<Vec<_>>(), [502, 502, 502, 200]);
        let opened = bot.emu.calls().iter().filter(|c| c.path == "/users/@me/channels").count();
        assert_eq!(opened, 1, "the DM channel is opened once and stored");
    }
}

e2e! {
    /// The running bot meets a global 429 with retry_after 1.5 s: nothing at all goes out
    /// before it has passed (the emulator's clock), then both check-ins are delivered once.
    async fn a_global_rate_limit_holds_every_send(bot) {
        let plan = bot.plan().await;
        bot.stop().await;
        for person in [plan.pat, plan.terry] {
            checkin_due(bot, &plan, person, Utc::now() - TimeDelta::minutes(1)).await;
        }
        bot.emu.inject_fault(Fault {
            method: Some("POST".into()),
            path_prefix: "/channels/".into(),
            times: 1,
            kind: FaultKind::RateLimited { retry_after: 1.5, global: true },
        });
        let from = bot.emu.calls().len();
        bot.start_with(Options::default()).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while (dm_questions(bot, plan.pat).await, dm_questions(bot, plan.terry).await) != (1, 1) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!((dm_questions(bot, plan.pat).await, dm_questions(bot, plan.terry).await), (1, 1));
        let posts: Vec<_> = bot.emu.calls_since(from).into_iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/channels/") && c.path.ends_with("/messages"))
            .collect();
        let limited = posts.iter().find(|c| c.status == 429).expect("the 429");
        for later in posts.iter().filter(|c| c.index > limited.index) {
            let waited = later.at.duration_since(limited.at);
            assert!(waited >= std::time::Duration::from_millis(1500), "a send {waited:?} after a global 429 of 1.5 s");
        }
        assert_eq!(posts.iter().filter(|c| c.status == 200).count(), 2, "each check-in once");
    }
}

e2e! {
    /// A round that takes longer than its lease (three check-ins at one request a second,
    /// with a 2 s lease) renews it as it goes: a second process looking in meanwhile takes
    /// nothing, and each person is asked once.
    async fn a_long_round_keeps_its_lease(bot) {
        let plan = bot.plan().await;
        let first = Utc::now() + TimeDelta::hours(1);
        for person in [plan.pat, plan.terry, plan.jordan] {
            checkin_due(bot, &plan, person, first).await;
        }
        let slow = bot.scheduler_with(Settings { lease: std::time::Duration::from_secs(2), per_second: 1 });
        let other = bot.scheduler();
        assert_eq!(slow.tick(first).await.expect("tick").queued, 3);
        let look_in = std::time::Duration::from_millis(2_500);
        let (slow_round, other_round) = tokio::join!(slow.deliver(first), async {
            tokio::time::sleep(look_in).await;
            // On the round's clock, the lease it took at `first` has run out by now.
            other.deliver(first + TimeDelta::from_std(look_in).expect("span")).await
        });
        assert_eq!(other_round.expect("deliver"), DeliverOutcome::default(), "the leases were renewed");
        assert_eq!(slow_round.expect("deliver").sent, 3);
        for person in [plan.pat, plan.terry, plan.jordan] {
            assert_eq!(dm_questions(bot, person).await, 1);
        }
    }
}

/// Queues `message` for `person` (a DM) or a channel, due now.
async fn queue(bot: &TestBot, key: &str, person: Option<u64>, message: &OutboxMessage) {
    let now = Utc::now();
    let row = NewRow::new(
        key,
        bot.ids.server(),
        person.map(UserId::new),
        message,
        now - TimeDelta::seconds(1),
    )
    .expect("a row");
    coachbot::store::outbox::enqueue(&bot.db, &[row], now)
        .await
        .expect("queued");
}

/// Another process with the bot's token sends to `path` until Discord says 429 (at most 100
/// requests): the bucket is then empty.
/// Another process with the same token spends a whole second's global budget at once, at the
/// start of a fresh second: a second after the last request, then 52 requests together (50
/// go, 2 are refused). Sent one by one on a loaded machine, 50 requests can take most of the
/// second, and the outbox's next request would land in the next one.
async fn spend_second(bot: &TestBot) {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10/users/@me", bot.emu.api_url());
    let requests = (0..52).map(|_| {
        let request = client
            .get(url.clone())
            .header("Authorization", "Bot test-token");
        async move { request.send().await.expect("sent").status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(
        statuses
            .iter()
            .all(|s| s.is_success() || *s == reqwest::StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&reqwest::StatusCode::TOO_MANY_REQUESTS),
        "52 requests at once and no 429: {statuses:?}"
    );
}

async fn spend(bot: &TestBot, method: reqwest::Method, path: &str) {
    let client = reqwest::Client::new();
    for i in 0..100 {
        let mut request = client
            .request(
                method.clone(),
                format!("{}/api/v10{path}", bot.emu.api_url()),
            )
            .header("Authorization", "Bot test-token");
        if method == reqwest::Method::POST {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::json!({"content": format!("another process, {i}")}).to_string());
        }
        let status = request.send().await.expect("sent").status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return;
        }
        assert!(
            status.is_success(),
            "the other process's request {i} got {status}"
        );
    }
    panic!("100 requests to {path} and no 429");
}

/// The outbox's POSTs to `path` and what the emulator answered.
fn posts_to(bot: &TestBot, path: &str, content: &str) -> Vec<coachbot::emulator::RecordedCall> {
    bot.emu
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == path && c.content() == Some(content))
        .collect()
}

e2e! {
    /// Discord's own limits as the emulator enforces them, with no injected fault: another
    /// process with the same token has used the channel's 5 messages in 5 s, then the 50
    /// requests of this second. The outbox meets a route 429 and then a global one, waits
    /// each out as Discord says, and every row arrives once.
    async fn the_outbox_honours_discords_route_and_global_limits(bot) {
        let plan = bot.plan().await;
        let channel = bot.ids.lincoln_channel;
        let scheduler = bot.scheduler();
        bot.emu.expect_status(429, 20);

        // The route: the channel's bucket is empty; a DM is not held by it.
        spend(bot, reqwest::Method::POST, &format!("/channels/{channel}/messages")).await;
        let line = "Step #1 “Book the library” is now done (Terry Okafor).";
        queue(bot, "limits:line", None, &OutboxMessage::Announcement { channel_id: channel, text: line.to_owned() }).await;
        queue(bot, "limits:pat", Some(plan.pat), &dm_to_person("A note for Pat")).await;
        let round = scheduler.deliver(Utc::now()).await.expect("deliver");
        assert_eq!((round.sent, round.retried, round.failed), (1, 1, 0), "the DM went; the line waits: {round:?}");
        let channel_path = format!("/channels/{channel}/messages");
        let refused = posts_to(bot, &channel_path, line);
        assert_eq!(refused.iter().map(|c| c.status).collect::<Vec<_>>(), [429]);
        let body = refused[0].response.clone().expect("a 429 body");
        assert_eq!(body["global"], serde_json::json!(false), "a route limit: {body}");

        // The global limit: 50 requests this second, then the outbox's next DM (queued
        // first, so that nothing slow stands between the spending and the delivery).
        queue(bot, "limits:terry", Some(plan.terry), &dm_to_person("A note for Terry")).await;
        spend_second(bot).await;
        scheduler.deliver(Utc::now()).await.expect("deliver");
        let global = bot.emu.calls().into_iter().find(|c| c.method == "POST" && c.status == 429 && c.response.as_ref().is_some_and(|r| r["global"] == serde_json::json!(true)))
            .expect("the outbox met the global limit");

        // Rounds as the running bot would make them, until everything is out.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            scheduler.deliver(Utc::now()).await.expect("deliver");
            let rows = coachbot::store::outbox::all(&bot.db, bot.ids.server()).await.expect("rows");
            let ours: Vec<_> = rows.iter().filter(|r| r.key.starts_with("limits:")).collect();
            if ours.iter().all(|r| r.status == "sent") {
                assert!(ours.iter().all(|r| r.attempts <= 1), "a 429 is not a failed attempt: {ours:?}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "rows still waiting: {ours:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        // Each once, and none before Discord said.
        let posted = posts_to(bot, &channel_path, line);
        assert_eq!(posted.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 200], "the line: refused once, then sent once");
        let waited = posted[1].at.duration_since(posted[0].at).as_secs_f64();
        let retry_after = body["retry_after"].as_f64().expect("retry_after");
        assert!(waited + 0.05 >= retry_after, "sent {waited:.2} s after a 429 that said {retry_after} s");
        assert_eq!(bot.emu.messages_in(channel).iter().filter(|m| m["content"] == serde_json::json!(line)).count(), 1);
        for (person, text) in [(plan.pat, "A note for Pat"), (plan.terry, "A note for Terry")] {
            let dm = bot.emu.dm_channel_of(person).expect("a DM channel");
            let seen = bot.emu.messages_in(dm).iter().filter(|m| m["content"] == serde_json::json!(text)).count();
            assert_eq!(seen, 1, "{text}: delivered once");
        }
        let after_global = bot.emu.calls().into_iter().filter(|c| c.index > global.index && c.method == "POST").map(|c| c.at.duration_since(global.at).as_secs_f64()).fold(f64::INFINITY, f64::min);
        let global_after = global.response.as_ref().and_then(|r| r["retry_after"].as_f64()).expect("retry_after");
        assert!(after_global + 0.05 >= global_after, "a POST {after_global:.2} s after a global 429 that said {global_after} s");
    }
}

/// A DM to the row's person (any member, not only a coach).
fn dm_to_person(text: &str) -> OutboxMessage {
    OutboxMessage::Message(coachbot::outbox::Outgoing {
        channel_id: None,
        body: coachbot::domain::message::MessageBody {
            content: text.to_owned(),
            ..Default::default()
        },
        thread: None,
    })
}
