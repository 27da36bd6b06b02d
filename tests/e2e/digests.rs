//! The coach's digest: scheduled with `/digest schedule`, fired by the scheduler, composed into
//! messages in the outbox and sent by DM; `/digest preview` shows it now.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use coachbot::domain::ids::{SchoolId, StepId, UserId};
use coachbot::domain::schedule::CronSpec;
use coachbot::emulator::world::permissions;
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::steps::{self, NewStep};
use coachbot::store::{indicators, schedules, schools};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::TestBot;

/// A school set up through `/setup school`, with a team role and a member on it.
struct Seeded {
    id: SchoolId,
    member: u64,
}

async fn school(bot: &TestBot, name: &str, coach_role: u64) -> Seeded {
    let ids = &bot.ids;
    let reply = bot
        .command(
            ids.owner,
            ids.general,
            "setup school",
            &[
                ("name", json!(name)),
                ("time_zone", json!("America/Chicago")),
            ],
        )
        .await;
    assert!(reply.content.contains("Added"), "{}", reply.content);
    let team_role = bot
        .emu
        .add_role(
            ids.guild,
            &format!("{name} Team"),
            permissions::EVERYONE_DEFAULT,
        )
        .expect("role");
    let member = bot.emu.add_user(&format!("{name} Lead"));
    bot.emu
        .add_member(ids.guild, member, &[team_role])
        .expect("member");
    for (role, coachbot_role) in [(team_role, "leadership team"), (coach_role, "coach")] {
        let reply = bot
            .command(
                ids.owner,
                ids.general,
                "setup role",
                &[
                    ("discord_role", json!(role)),
                    ("coachbot_role", json!(coachbot_role)),
                    ("school", json!(name)),
                ],
            )
            .await;
        assert!(reply.content.starts_with("Done"), "{}", reply.content);
    }
    let id = schools::find_by_name(&bot.db, ids.server(), name)
        .await
        .expect("schools")
        .expect("the school")
        .id;
    Seeded { id, member }
}

async fn overdue_step(
    bot: &TestBot,
    school: SchoolId,
    owner: u64,
    title: &str,
    due_on: NaiveDate,
) -> StepId {
    let (focus, _) = indicators::focus(
        &bot.db,
        bot.ids.server(),
        school,
        "12a",
        UserId::new(owner),
        Utc::now(),
        None,
    )
    .await
    .expect("a focus");
    steps::add(
        &bot.db,
        &NewStep {
            server_id: bot.ids.server(),
            school_id: school,
            focus_id: focus.id,
            title,
            due_on,
            resources: None,
            owners: &[UserId::new(owner)],
            author: UserId::new(owner),
        },
        Utc::now(),
        None,
    )
    .await
    .expect("a step")
    .id
}

async fn barrier(bot: &TestBot, school: SchoolId, by: u64, text: &str, at: DateTime<Utc>) -> i64 {
    barriers::add(
        &bot.db,
        &NewBarrier {
            server_id: bot.ids.server(),
            school_id: school,
            step_id: None,
            category: "time",
            text,
            raised_by: UserId::new(by),
        },
        at,
        None,
    )
    .await
    .expect("a barrier")
    .id
}

/// The embeds of every message the bot posted in `channel`.
fn embeds_in(bot: &TestBot, channel: u64) -> Vec<Value> {
    bot.emu
        .messages_in(channel)
        .iter()
        .flat_map(|m| m["embeds"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn text_of(embed: &Value) -> String {
    embed["description"].as_str().unwrap_or_default().to_owned()
}

e2e! {
    /// Cora coaches Adams, Baker and Carver; Dunbar is someone else's. Each of her schools has
    /// one thing that needs her: the digest says exactly that, per school, and nothing of Dunbar.
    async fn a_coachs_digest_lists_exactly_what_needs_her_in_her_own_schools(bot) {
        let ids = &bot.ids;
        let role = |name: &str| bot.emu.add_role(ids.guild, name, permissions::EVERYONE_DEFAULT).expect("role");
        let (cora_roles, dan_role) = ([role("Coach Adams"), role("Coach Baker"), role("Coach Carver")], role("Coach Dunbar"));
        let adams = school(bot, "Adams Elementary", cora_roles[0]).await;
        let baker = school(bot, "Baker Middle", cora_roles[1]).await;
        let carver = school(bot, "Carver High", cora_roles[2]).await;
        let dunbar = school(bot, "Dunbar Academy", dan_role).await;
        let cora = bot.emu.add_user("Cora Coach");
        bot.emu.add_member(ids.guild, cora, &cora_roles).expect("member");

        // Someone who coaches nothing is refused, and nothing is saved.
        let refused = bot.command(adams.member, ids.general, "digest schedule", &[]).await;
        assert!(refused.ephemeral);
        assert!(refused.content.contains("Only coaches can get a coaching digest"), "{}", refused.content);

        let reply = bot.command(cora, ids.general, "digest schedule", &[]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("`weekdays 07:00` in America/Chicago"), "{}", reply.content);
        assert!(reply.content.contains("3 schools: Adams Elementary, Baker Middle, Carver High"), "{}", reply.content);
        let saved = schedules::list(&bot.db, ids.server(), None).await.expect("schedules");
        assert_eq!(saved.len(), 1, "{saved:?}");
        assert_eq!((saved[0].kind.as_str(), saved[0].person_id), ("digest", Some(UserId::new(cora))));
        let first = saved[0].next_fire_at.expect("a next time");

        // A week after the first digest time, at its occurrence.
        let zone = chrono_tz::America::Chicago;
        let spec = CronSpec::parse("weekdays 07:00", first.with_timezone(&zone).date_naive()).expect("spec");
        let at = spec.next_after(zone, first + TimeDelta::days(7) - TimeDelta::minutes(1)).expect("a week later");
        let today = at.with_timezone(&zone).date_naive();

        // Adams: a step three days overdue. Baker: a check-in that ran out unanswered.
        // Carver: a barrier raised an hour ago and one open for twenty days.
        let step = overdue_step(bot, adams.id, adams.member, "Weekly learning walks", today - TimeDelta::days(3)).await;
        let started = bot.command(cora, ids.general, "checkin start", &[("person", json!(baker.member)), ("flow", json!("wellbeing"))]).await;
        assert!(started.content.starts_with("Started"), "{}", started.content);
        let new_barrier = barrier(bot, carver.id, carver.member, "No common planning time", at - TimeDelta::hours(1)).await;
        let old_barrier = barrier(bot, carver.id, carver.member, "Substitute coverage", at - TimeDelta::days(20)).await;
        // Dunbar has the same kinds of trouble, and none of it is Cora's.
        let dunbar_step = overdue_step(bot, dunbar.id, dunbar.member, "Dunbar family nights", today - TimeDelta::days(5)).await;
        barrier(bot, dunbar.id, dunbar.member, "Dunbar budget freeze", at - TimeDelta::hours(2)).await;

        let scheduler = bot.scheduler();
        let ticked = scheduler.tick(at).await.expect("tick");
        assert_eq!((ticked.fired, ticked.expired), (1, 1), "{ticked:?}");
        let composed = scheduler.deliver(at).await.expect("deliver");
        assert_eq!(composed.composed, 1, "{composed:?}");
        let sent = scheduler.deliver(at).await.expect("deliver");
        assert_eq!(sent.sent, 1, "{sent:?}");

        let dm = bot.emu.dm_channel_of(cora).expect("Cora's DM");
        let messages = bot.emu.messages_in(dm);
        assert_eq!(messages.len(), 1);
        let header = messages[0]["content"].as_str().unwrap_or_default();
        assert!(header.contains("3 of your 3 schools need you"), "{header}");
        // The wins come first (the new barriers), then a school an embed.
        let embeds = embeds_in(bot, dm);
        let titles: Vec<&str> = embeds.iter().filter_map(|e| e["title"].as_str()).collect();
        assert!(titles[0].starts_with("Since your last digest"), "{titles:?}");
        assert_eq!(titles[1..], ["Adams Elementary", "Baker Middle", "Carver High"]);
        assert!(text_of(&embeds[0]).starts_with(&format!("**1 new barrier:** #{new_barrier} Carver High (time)")), "{}", text_of(&embeds[0]));
        // Each school's rhythm and counts in two lines, then its details.
        let details = |embed: &Value| text_of(embed).lines().skip(2).collect::<Vec<_>>().join("\n");
        assert!(text_of(&embeds[1]).lines().nth(1).is_some_and(|l| l == "Counts: 1 step overdue"), "{}", text_of(&embeds[1]));
        let (a, b, c) = (details(&embeds[1]), details(&embeds[2]), details(&embeds[3]));
        // Adams: the overdue step, and nothing else.
        assert!(a.starts_with("**Overdue steps**\n"), "{a}");
        assert_eq!(a.lines().count(), 2, "{a}");
        assert!(a.contains(&format!("#{step} **Weekly learning walks**")) && a.contains("3 days ago") && a.contains(&format!("`/step update step:#{step}`")), "{a}");
        // Baker: the missed check-in, by name, and nothing else.
        assert!(b.starts_with("**Check-ins missed**\n"), "{b}");
        assert_eq!(b.lines().count(), 2, "{b}");
        assert!(b.contains("Baker Middle Lead") && b.contains("ran out without an answer") && b.contains("`/checkin start`"), "{b}");
        // Carver: the new barrier and the old one, each under its heading.
        assert_eq!(c.lines().collect::<Vec<_>>().len(), 4, "{c}");
        assert!(c.starts_with("**New barriers**\n"), "{c}");
        assert!(c.contains(&format!("#{new_barrier} (time) No common planning time")), "{c}");
        assert!(c.contains("**Barriers open more than 14 days**"), "{c}");
        assert!(c.contains(&format!("#{old_barrier} (time) Substitute coverage: open 20 days")), "{c}");
        let everything = serde_json::to_string(&messages).expect("json");
        assert!(!everything.contains("Dunbar") && !everything.contains(&format!("step:#{dunbar_step}`")), "{everything}");

        // The rows: the digest row and its one message sent, the message id recorded, and
        // the digest on record for the next one.
        let rows = crate::support::queued(bot).await;
        // (The lead whose check-in ran out is told so by a message row of their own.)
        let digest_rows: Vec<_> = rows.iter().filter(|r| r.key.starts_with("digest:")).collect();
        assert_eq!(digest_rows.len(), 2, "{digest_rows:?}");
        assert!(rows.iter().any(|r| r.key.starts_with("expired:") && r.kind == "message"), "{rows:?}");
        assert!(digest_rows.iter().all(|r| r.status == "sent"));
        let message_row = digest_rows.iter().find(|r| r.kind == "message").expect("the message row");
        assert_eq!(message_row.message_id, messages[0]["id"].as_str().and_then(|id| id.parse::<i64>().ok()));
        assert_eq!(coachbot::store::digests::last_built(&bot.db, ids.server(), UserId::new(cora)).await.expect("last"), Some(at));

        // Nothing is sent twice: another round finds nothing to do.
        assert_eq!(scheduler.deliver(at + TimeDelta::minutes(1)).await.expect("deliver"), coachbot::outbox::DeliverOutcome::default());
        assert_eq!(bot.emu.messages_in(dm).len(), 1);

        // The preview shows the same schools, to her alone, and records nothing.
        let preview = bot.command(cora, ids.general, "digest preview", &[]).await;
        assert!(preview.ephemeral);
        assert!(preview.content.contains("Coaching digest"), "{}", preview.content);
        assert_eq!(coachbot::store::digests::last_built(&bot.db, ids.server(), UserId::new(cora)).await.expect("last"), Some(at));
    }
}

e2e! {
    /// A coach of 200 schools, each with overdue steps: the digest is split across as many
    /// messages as it takes, each within Discord's limits, and no school is left out.
    async fn a_digest_for_two_hundred_schools_splits_within_discords_limits(bot) {
        let ids = &bot.ids;
        let coaches = bot.emu.add_role(ids.guild, "Coaches", permissions::EVERYONE_DEFAULT).expect("role");
        let reply = bot.command(ids.owner, ids.general, "setup role", &[("discord_role", json!(coaches)), ("coachbot_role", json!("coach"))]).await;
        assert!(reply.content.starts_with("Done"), "{}", reply.content);
        let coach = bot.emu.add_user("Casey Caseload");
        bot.emu.add_member(ids.guild, coach, &[coaches]).expect("member");
        let now = Utc::now();
        let zone = coachbot::domain::school::TimeZoneName::parse("America/New_York").expect("zone");
        let mut steps_written = Vec::new();
        for n in 0..200 {
            let name = coachbot::domain::school::SchoolName::parse(&format!("School {n:03} of the Riverbend Unified District")).expect("name");
            let (saved, _) = schools::save(&bot.db, &schools::SchoolSetup { server_id: ids.server(), server_name: "Riverbend District", name: &name, time_zone: zone, channel_id: None }, now).await.expect("school");
            for k in 0..3 {
                let title = format!("Step {k} at school {n:03}: {}", "observe classrooms and debrief with the team ".repeat(3));
                steps_written.push(overdue_step(bot, saved.id, coach, title.trim(), now.date_naive() - TimeDelta::days(10 + k)).await);
            }
        }
        let reply = bot.command(coach, ids.general, "digest schedule", &[("when", json!("daily 06:30")), ("time_zone", json!("America/New_York"))]).await;
        assert!(reply.content.contains("200 schools"), "{}", reply.content.chars().take(300).collect::<String>());
        let first = schedules::list(&bot.db, ids.server(), None).await.expect("schedules")[0].next_fire_at.expect("next");

        let scheduler = bot.scheduler();
        scheduler.tick(first).await.expect("tick");
        assert_eq!(scheduler.deliver(first).await.expect("deliver").composed, 1);
        let mut sent = 0;
        loop {
            let outcome = scheduler.deliver(first).await.expect("deliver");
            if outcome.sent == 0 {
                break;
            }
            sent += outcome.sent;
        }
        let dm = bot.emu.dm_channel_of(coach).expect("a DM");
        let messages = bot.emu.messages_in(dm);
        assert_eq!(messages.len(), sent);
        assert!(messages.len() > 1, "one message cannot hold 200 schools");
        for (i, message) in messages.iter().enumerate() {
            let content = message["content"].as_str().unwrap_or_default();
            assert!(content.chars().count() <= 2000);
            assert!(content.ends_with(&format!("(part {} of {})", i + 1, messages.len())), "{content}");
            let embeds = message["embeds"].as_array().expect("embeds");
            assert!(embeds.len() <= 10, "{} embeds", embeds.len());
            let total: usize = embeds.iter().map(|e| e["title"].as_str().unwrap_or_default().chars().count() + text_of(e).chars().count()).sum();
            assert!(total <= 6000, "{total} characters of embeds in one message");
            assert!(embeds.iter().all(|e| text_of(e).chars().count() <= 4096));
        }
        let everything: String = embeds_in(bot, dm).iter().map(text_of).collect::<Vec<_>>().join("\n");
        for step in &steps_written {
            assert!(everything.contains(&format!("`/step update step:#{step}`")), "step #{step} is missing");
        }
        let titles: Vec<String> = embeds_in(bot, dm).iter().filter_map(|e| e["title"].as_str().map(str::to_owned)).filter(|t| !t.ends_with("(continued)")).collect();
        assert_eq!(titles.len(), 200);
    }
}

e2e! {
    /// A coach whose Discord role is taken away gets no further digest, even when the bot
    /// never heard of it (it was down when the role went): before composing, the digest asks
    /// Discord for the coach's roles as they are now.
    async fn a_coach_whose_role_is_taken_away_gets_no_further_digest(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let reply = bot.command(plan.casey, ids.general, "digest schedule", &[]).await;
        assert!(reply.content.contains("Your digest is set"), "{}", reply.content);
        let fire_time = || async {
            schedules::list(&bot.db, ids.server(), None).await.expect("schedules").remove(0).next_fire_at.expect("a next time")
        };
        let first = fire_time().await;
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(first).await.expect("tick").fired, 1);
        assert_eq!(scheduler.deliver(first).await.expect("deliver").composed, 1);
        assert!(scheduler.deliver(first).await.expect("deliver").sent >= 1);
        let dm = bot.emu.dm_channel_of(plan.casey).expect("Casey's DM");
        let delivered = bot.emu.messages_in(dm).len();
        assert!(delivered >= 1);

        // The bot is down when Casey's coach role goes: the member update never reaches it.
        bot.stop().await;
        bot.emu.set_member_roles(ids.guild, plan.casey, &[]).expect("roles");
        let held = coachbot::store::members::roles_of(&bot.db, ids.server(), UserId::new(plan.casey)).await.expect("roles");
        assert!(!held.is_empty(), "the store still has the role it last saw");

        let next = fire_time().await;
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(next).await.expect("tick").fired, 1);
        let round = scheduler.deliver(next).await.expect("deliver");
        assert_eq!((round.composed, round.skipped), (0, 1), "{round:?}");
        assert_eq!(scheduler.deliver(next).await.expect("deliver").sent, 0);
        assert_eq!(bot.emu.messages_in(dm).len(), delivered, "nothing more reached Casey");
        let held = coachbot::store::members::roles_of(&bot.db, ids.server(), UserId::new(plan.casey)).await.expect("roles");
        assert!(held.is_empty(), "the roles Discord gave now are on record: {held:?}");
    }
}
