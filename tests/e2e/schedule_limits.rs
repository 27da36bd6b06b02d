//! Limits on schedules: a check-in at most once an hour, at most 500 active schedules per
//! server, and times of day as people write them ("8am", "8:30 pm").

use coachbot::domain::ids::UserId;
use coachbot::store::schedules::{self, NewSchedule};
use serde_json::json;

use crate::e2e;
use crate::schedules::schedule_for_pat;
use crate::support::{Plan, TestBot};

async fn schedule_count(bot: &TestBot) -> usize {
    schedules::list(&bot.db, bot.ids.server(), None)
        .await
        .expect("schedules")
        .len()
}

e2e! {
    /// `* * * * *`, `* * * * * *` and `*/10 * * * *` are refused as check-in schedules, with
    /// why; "weekdays 8am" is accepted and fires at 08:00 where the school is; a coach's
    /// digest takes "8:30 pm".
    async fn a_checkin_every_minute_is_refused_and_8am_is_accepted(bot) {
        let plan = bot.plan().await;
        for (when, why) in [
            ("* * * * *", "fires every minute"),
            ("* * * * * *", "fires more than once a minute"),
            ("*/10 * * * *", "fires more than once an hour"),
        ] {
            let refused = bot.command(plan.casey, bot.ids.general, "checkin schedule", &[
                ("flow", json!("wellbeing")), ("when", json!(when)), ("person", json!(plan.pat)),
            ]).await;
            assert!(refused.ephemeral);
            assert!(refused.content.contains(why) && refused.content.contains("at most once an hour"), "{when}: {}", refused.content);
            assert!(refused.components.is_empty(), "no Save offered: {:?}", refused.components);
        }
        assert_eq!(schedule_count(bot).await, 0, "nothing written");

        let saved = schedule_for_pat(bot, &plan, "weekdays 8am").await;
        let first = saved.next_fire_at.expect("a first fire");
        assert_eq!(first.with_timezone(&chrono_tz::America::Chicago).format("%H:%M").to_string(), "08:00");
        assert_eq!(saved.spec, "weekdays 8am");

        let digest = bot.command(plan.casey, bot.ids.general, "digest schedule", &[("when", json!("mondays 8:30 pm"))]).await;
        assert!(!digest.content.contains("could not read"), "{}", digest.content);
        let all = schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules");
        let digest = all.iter().find(|s| s.kind == "digest").expect("the digest's schedule");
        let next = digest.next_fire_at.expect("a next fire");
        assert_eq!(next.with_timezone(&chrono_tz::America::Chicago).format("%a %H:%M").to_string(), "Mon 20:30");
    }
}

e2e! {
    /// A server with 500 active schedules is told so, with what to do, before any preview;
    /// nothing more is written. Pausing one makes room again.
    async fn a_server_has_at_most_500_active_schedules(bot) {
        let plan: Plan = bot.plan().await;
        let at = chrono::Utc::now() + chrono::TimeDelta::days(1);
        for _ in 0..500 {
            schedules::create(&bot.db, &NewSchedule {
                server_id: bot.ids.server(),
                school_id: plan.lincoln,
                person_id: Some(UserId::new(plan.pat)),
                flow_id: "wellbeing",
                spec: "daily 08:00",
                time_zone: "America/Chicago",
                next_fire_at: Some(at),
                created_by: UserId::new(plan.casey),
                step_id: None,
            }, chrono::Utc::now()).await.expect("room for 500");
        }
        let refused = bot.command(plan.casey, bot.ids.general, "checkin schedule", &[
            ("flow", json!("wellbeing")), ("when", json!("weekdays 8am")), ("person", json!(plan.pat)),
        ]).await;
        assert!(refused.ephemeral);
        assert!(refused.content.contains("already has 500 active schedules") && refused.content.contains("/schedule list"), "{}", refused.content);
        assert!(refused.components.is_empty(), "no Save offered");
        let refused = bot.command(plan.casey, bot.ids.general, "digest schedule", &[("when", json!("weekdays 7am"))]).await;
        assert!(refused.content.contains("already has 500 active schedules"), "{}", refused.content);
        assert_eq!(schedule_count(bot).await, 500);

        let first = schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules")[0].id;
        let paused = bot.command(plan.casey, bot.ids.general, "schedule pause", &[("schedule", json!(first.to_string()))]).await;
        assert!(paused.content.contains("is paused"), "{}", paused.content);
        let saved = schedule_for_pat(bot, &plan, "weekdays 8am").await;
        assert_eq!(saved.spec, "weekdays 8am");
        assert_eq!(schedule_count(bot).await, 501, "500 active and one paused");
    }
}
