//! Retention: `/setup retention` (admins), and the daily purge the scheduler runs once a day
//! across every process, removing check-in answers, sent messages with their files, and
//! schedule runs past their retention, each purge recorded in `/privacy audit`.

use chrono::{DateTime, TimeDelta, Utc};
use coachbot::config::Sending;
use coachbot::domain::ids::UserId;
use coachbot::store::outbox::{NewRow, OutboxMessage};
use coachbot::store::{Db, checkins, outbox, retention, schedules};
use serde_json::json;

use crate::dm::*;
use crate::e2e;
use crate::support::TestBot;

/// One number from the test's database.
async fn count(bot: &TestBot, sql: &'static str) -> i64 {
    match &bot.db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("a count")
}

/// `count` old sent announcements, as if the bot had posted them at `at`.
async fn old_sent_rows(bot: &TestBot, count: usize, at: DateTime<Utc>) {
    let sql = "INSERT INTO outbox (key, server_id, kind, payload, status, not_before, created_at, sent_at)
               VALUES ($1, $2, 'announcement', '{\"channel_id\":1,\"text\":\"old\"}', 'sent', $3, $3, $3)";
    for n in 0..count {
        let key = format!("old:{n}");
        match &bot.db {
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(key)
                .bind(bot.ids.server())
                .bind(at)
                .execute(pool)
                .await
                .map(|_| ()),
            Db::Postgres(pool) => sqlx::query(sql)
                .bind(key)
                .bind(bot.ids.server())
                .bind(at)
                .execute(pool)
                .await
                .map(|_| ()),
        }
        .expect("an old row");
    }
}

/// What `/privacy audit` shows an admin.
async fn audit(bot: &TestBot) -> String {
    let reply = bot
        .command(bot.ids.owner, bot.ids.general, "privacy audit", &[])
        .await;
    assert!(reply.ephemeral);
    reply
        .embeds
        .iter()
        .filter_map(|e| e["description"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits (a little) until what the bot queued while answering has gone out, so that the test
/// counts finished messages.
async fn all_sent(bot: &TestBot) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while outbox::all(&bot.db, bot.ids.server())
        .await
        .expect("outbox")
        .iter()
        .any(|r| r.status == "pending")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A weekly check-in Pat answers and confirms; its session id and how many answers it kept.
async fn answered_checkin(bot: &TestBot) -> (i64, usize) {
    let plan = bot.plan().await;
    two_steps(bot, &plan, plan.pat, "Pat:").await;
    let session = start_weekly(bot, &plan, plan.pat).await;
    let reflection = answer_all_in_dm(
        bot,
        plan.pat,
        ["Pat: partnership meetings", "Pat: notes template"],
    )
    .await;
    click(
        bot,
        plan.pat,
        &reflection,
        &button_id(&reflection, "confirm"),
    )
    .await;
    all_sent(bot).await;
    let stored = checkins::get(&bot.db, session)
        .await
        .expect("get")
        .expect("session");
    assert_eq!(stored.status.key(), "confirmed");
    let answers = checkins::answers(&bot.db, session)
        .await
        .expect("answers")
        .len();
    assert!(answers >= ANSWERS.len(), "{answers}");
    (session, answers)
}

e2e! {
    /// An admin keeps answers 30 days; others cannot change it and bad values change nothing.
    /// 31 days after a confirmed check-in the day's purge removes its answers and the sent
    /// messages (with their files) but not the check-in, its steps or a message still waiting;
    /// the audit lists each kind; a second round the same day removes nothing more.
    async fn answers_and_sent_messages_go_after_their_retention(bot) {
        let ids = &bot.ids;
        let shown = bot.command(ids.owner, ids.general, "setup retention", &[]).await;
        assert!(shown.ephemeral);
        assert!(shown.content.contains("check-in answers **730** days, sent messages and their files **30** days, schedule runs **365** days"), "{}", shown.content);

        let saved = bot.command(ids.owner, ids.general, "setup retention", &[("answers", json!(30))]).await;
        assert!(saved.content.starts_with("Saved. Kept: check-in answers **30** days, sent messages and their files **30** days"), "{}", saved.content);
        let (session, answers) = answered_checkin(bot).await;

        let refused = bot.command(ids.nobody, ids.general, "setup retention", &[("answers", json!(5))]).await;
        assert!(refused.ephemeral);
        assert!(refused.content.contains("Only coachbot admins can change how long records are kept"), "{}", refused.content);
        for bad in [0, 99_999] {
            let reply = bot.command(ids.owner, ids.general, "setup retention", &[("answers", json!(bad)), ("outbox", json!(7))]).await;
            assert!(reply.ephemeral);
            assert!(reply.content.contains(&format!("`answers` is {bad} days: keep records from 1 day to 3650 days")), "{}", reply.content);
        }
        let kept = retention::get(&bot.db, ids.server()).await.expect("retention");
        assert_eq!((kept.answers_days, kept.outbox_days, kept.runs_days), (30, 30, 365), "nothing changed");
        let status = bot.command(ids.owner, ids.general, "setup status", &[]).await;
        let status = status.embeds.iter().map(|e| e.to_string()).collect::<String>();
        assert!(status.contains("check-in answers **30** days"), "{status}");

        // A sent message with a file, and a message still waiting with its file.
        let sent = outbox::all(&bot.db, ids.server()).await.expect("outbox").into_iter().find(|r| r.status == "sent").expect("a sent row");
        let waiting = NewRow::new("waiting:1", ids.server(), Some(UserId::new(ids.nobody)), &OutboxMessage::Reminder { step_id: coachbot::domain::ids::StepId::new(1), text: "later".into() }, Utc::now() + TimeDelta::days(400)).expect("row");
        outbox::enqueue(&bot.db, &[waiting], Utc::now()).await.expect("queued");
        let file = "INSERT INTO outbox_files (outbox_key, filename, bytes) VALUES ($1, $2, $3)";
        for key in [&sent.key, &"waiting:1".to_owned()] {
            match &bot.db {
                Db::Sqlite(pool) => sqlx::query(file).bind(key).bind("chart.png").bind(vec![1u8, 2, 3]).execute(pool).await.map(|_| ()),
                Db::Postgres(pool) => sqlx::query(file).bind(key).bind("chart.png").bind(vec![1u8, 2, 3]).execute(pool).await.map(|_| ()),
            }
            .expect("a file");
        }
        let steps_before = count(bot, "SELECT COUNT(*) FROM action_steps").await;
        let sessions_before = count(bot, "SELECT COUNT(*) FROM checkin_sessions").await;

        let later = Utc::now() + TimeDelta::days(31);
        let scheduler = bot.scheduler();
        let round = scheduler.tick(later).await.expect("tick");
        assert!(round.purged > answers, "{round:?}");
        assert!(checkins::answers(&bot.db, session).await.expect("answers").is_empty(), "the answers are gone");
        let stored = checkins::get(&bot.db, session).await.expect("get").expect("the check-in stays");
        assert_eq!(stored.status.key(), "confirmed");
        assert_eq!(count(bot, "SELECT COUNT(*) FROM action_steps").await, steps_before);
        assert_eq!(count(bot, "SELECT COUNT(*) FROM checkin_sessions").await, sessions_before);
        let left = outbox::all(&bot.db, ids.server()).await.expect("outbox");
        assert_eq!(left.iter().map(|r| (r.key.as_str(), r.status.key())).collect::<Vec<_>>(), [("waiting:1", "pending")], "only the waiting message stays");
        assert_eq!(count(bot, "SELECT COUNT(*) FROM outbox_files WHERE outbox_key = 'waiting:1'").await, 1);
        assert_eq!(count(bot, "SELECT COUNT(*) FROM outbox_files").await, 1, "the sent message's file went with it");

        let listed = audit(bot).await;
        let purges: Vec<&str> = listed.lines().filter(|l| l.contains("**purge**")).collect();
        assert_eq!(purges.len(), 2, "answers and sent messages; no schedule run was old enough: {listed}");
        assert!(purges.iter().any(|l| l.contains(&format!("check-in answers · by the daily purge · {answers} rows removed"))), "{listed}");
        assert!(purges.iter().any(|l| l.contains("sent messages and files · by the daily purge")), "{listed}");
        assert!(listed.contains("**retention change** · answers 30 days, sent messages 30 days, schedule runs 365 days"), "{listed}");

        let again = scheduler.tick(later + TimeDelta::hours(1)).await.expect("tick");
        assert_eq!(again.purged, 0, "once a day");
        assert_eq!(count(bot, "SELECT COUNT(*) FROM audit_events WHERE action = 'purge'").await, 2);
    }
}

e2e! {
    /// Two processes reach a new day at once: one purges (in batches of 500), the other finds
    /// the day taken. One day row, one audit entry per kind.
    async fn two_processes_purge_once(bot) {
        let reply = bot.command(bot.ids.owner, bot.ids.general, "setup retention", &[("answers", json!(30))]).await;
        assert!(reply.content.starts_with("Saved."), "{}", reply.content);
        let (session, answers) = answered_checkin(bot).await;
        let now = Utc::now();
        old_sent_rows(bot, 1_100, now - TimeDelta::days(2)).await;
        let sent = count(bot, "SELECT COUNT(*) FROM outbox WHERE status <> 'pending'").await;

        let later = now + TimeDelta::days(31);
        let (one, two) = (bot.scheduler(), bot.scheduler_with(Sending::default()));
        let (a, b) = tokio::join!(one.tick(later), two.tick(later));
        let (a, b) = (a.expect("one tick"), b.expect("the other tick"));
        assert_eq!(a.purged.min(b.purged), 0, "{a:?} {b:?}");
        assert_eq!(a.purged + b.purged, answers + usize::try_from(sent).expect("count"), "{a:?} {b:?}");
        assert!(checkins::answers(&bot.db, session).await.expect("answers").is_empty());
        assert_eq!(count(bot, "SELECT COUNT(*) FROM purge_days").await, 1);
        assert_eq!(count(bot, "SELECT COUNT(*) FROM purge_days WHERE finished_at IS NOT NULL").await, 1);
        assert_eq!(count(bot, "SELECT COUNT(*) FROM audit_events WHERE action = 'purge'").await, 2);
        let listed = audit(bot).await;
        assert!(listed.contains(&format!("sent messages and files · by the daily purge · {sent} rows removed")), "{listed}");
    }
}

e2e! {
    /// Deleting a sent check-in never sends it again: even with its schedule wound back over
    /// the purged occurrence, the occurrence is far past the grace window, so at most the
    /// latest occurrence (a new key) fires and the rest are recorded as missed.
    async fn a_purged_occurrence_is_never_sent_again(bot) {
        let plan = bot.plan().await;
        let first = DateTime::from_timestamp(Utc::now().timestamp() + 3600, 0).expect("a time");
        crate::support::checkin_due(bot, &plan, plan.pat, first).await;
        let schedule = schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").pop().expect("the schedule");
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(first).await.expect("tick").queued, 1);
        scheduler.deliver(first).await.expect("deliver");
        let key = format!("checkin:{}:{}:{}", schedule.id, first.timestamp(), plan.pat);
        let row = outbox::by_key(&bot.db, &key).await.expect("row").expect("the occurrence's row");
        assert_eq!(row.status, "sent");

        // 31 days on: the row is purged (sent messages are kept 30 days). The schedule is
        // wound back to the purged occurrence, as if it had never moved on.
        let later = first + TimeDelta::days(31) + TimeDelta::hours(3);
        let rewind = "UPDATE schedules SET next_fire_at = $1";
        match &bot.db {
            Db::Sqlite(pool) => sqlx::query(rewind).bind(first).execute(pool).await.map(|_| ()),
            Db::Postgres(pool) => sqlx::query(rewind).bind(first).execute(pool).await.map(|_| ()),
        }
        .expect("wound back");
        let round = scheduler.tick(later).await.expect("tick");
        assert!(round.purged >= 1, "{round:?}");
        assert!(round.missed >= 31, "every occurrence since the purged one but the last is missed: {round:?}");
        assert!(outbox::by_key(&bot.db, &key).await.expect("row").is_none(), "the purged occurrence is not queued again");
        let runs = schedules::runs(&bot.db, schedule.id).await.expect("runs");
        assert_eq!(runs.first(), Some(&(first, "fired".to_owned())), "its run stays (runs are kept a year)");
    }
}
