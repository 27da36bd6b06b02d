//! `/brief`: the page a coach reads before visiting a school. For a seeded Lincoln (steps in
//! several statuses, some overdue; two focus indicators with level history; an open barrier;
//! confirmed check-ins naming next steps; a logged session whose agreement became a step) it
//! shows each part; with 25 long steps it stays within Discord's limits; only the school's
//! coach may read it.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use coachbot::domain::coaching::{SessionKind, SessionNotes};
use coachbot::domain::flow::Asked;
use coachbot::domain::ids::{SchoolId, StepId, UserId};
use coachbot::domain::text::{EMBED_DESCRIPTION, EMBED_TITLE, EMBED_TOTAL, MESSAGE_CONTENT};
use coachbot::emulator::Reply;
use coachbot::emulator::world::permissions;
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::checkins::{self, NewAnswer};
use coachbot::store::coaching::{self, NewSession};
use coachbot::store::steps::{self, Change, NewStep};
use coachbot::store::{Db, indicators, schools};
use serde_json::json;

use crate::e2e;
use crate::support::{Plan, TestBot};

/// Today where Lincoln is (America/Chicago).
fn lincoln_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive()
}

/// The embed titled `title` in the reply, as text.
fn part(reply: &Reply, title: &str) -> String {
    reply
        .embeds
        .iter()
        .find(|e| e["title"].as_str() == Some(title))
        .and_then(|e| e["description"].as_str())
        .unwrap_or_else(|| panic!("no part {title} in {:?} / {}", reply.embeds, reply.content))
        .to_owned()
}

fn chars(value: &serde_json::Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Asserts the reply is within every limit Discord sets on a message.
fn assert_within_limits(reply: &Reply) {
    assert!(reply.content.chars().count() <= MESSAGE_CONTENT);
    assert!(reply.embeds.len() <= 10, "{}", reply.embeds.len());
    let mut total = 0;
    for embed in &reply.embeds {
        assert!(chars(&embed["title"]) <= EMBED_TITLE);
        assert!(chars(&embed["description"]) <= EMBED_DESCRIPTION);
        total += chars(&embed["title"]) + chars(&embed["description"]);
    }
    assert!(total <= EMBED_TOTAL, "{total}");
}

async fn brief(bot: &TestBot, user: u64, school: &str) -> Reply {
    bot.command(user, bot.ids.general, "brief", &[("school", json!(school))])
        .await
}

/// A step at Lincoln on 12a owned by Terry, with `status` and due `days` from today.
async fn step(bot: &TestBot, plan: &Plan, title: &str, days: i64, status: &str) -> StepId {
    let focus = indicators::find(&bot.db, bot.ids.server(), plan.lincoln, "12a")
        .await
        .expect("focus")
        .expect("12a is Lincoln's focus");
    let added = steps::add(
        &bot.db,
        &NewStep {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            focus_id: focus.id,
            title,
            due_on: lincoln_today() + TimeDelta::days(days),
            resources: None,
            owners: &[UserId::new(plan.terry)],
            author: UserId::new(plan.casey),
        },
        Utc::now(),
        None,
    )
    .await
    .expect("a step");
    if status != "planned" {
        steps::update(
            &bot.db,
            &added,
            &Change {
                note: None,
                status: Some(status),
                barrier: None,
                author: UserId::new(plan.terry),
            },
            Utc::now(),
            None,
        )
        .await
        .expect("a status");
    }
    added.id
}

/// A check-in by `person` at `school` with one next-step answer, confirmed at `at` (or left
/// open when `at` is None).
async fn checkin(
    bot: &TestBot,
    school: SchoolId,
    person: u64,
    answer: &str,
    shared: bool,
    at: Option<DateTime<Utc>>,
) {
    let started = at.unwrap_or_else(Utc::now) - TimeDelta::minutes(10);
    let session = checkins::start(
        &bot.db,
        &checkins::NewSession {
            server_id: bot.ids.server(),
            school_id: school,
            person_id: UserId::new(person),
            flow_id: "weekly",
            flow_title: "Weekly step check-in",
            opener: None,
            plan: &[] as &[Asked],
            started_by: UserId::new(person),
            expires_at: started + TimeDelta::days(2),
            origin: None,
            nudge_hours: 0,
            dm_channel_id: None,
            barrier_id: None,
            steps: &[],
        },
        started,
    )
    .await
    .expect("a check-in")
    .expect("a new one");
    checkins::record_answers(
        &bot.db,
        session.id,
        &[NewAnswer {
            position: 0,
            purpose: "next_step",
            step_id: None,
            answer,
            message_id: None,
            shared,
            mark: None,
        }],
        started,
    )
    .await
    .expect("an answer");
    if let Some(at) = at {
        assert!(
            checkins::confirm(&bot.db, &session, &[], at)
                .await
                .expect("confirmed")
        );
    }
}

/// Records that an agreed next step became `step` (as the session's **Make it a step** does).
async fn agreement_became(db: &Db, agreement: i64, step: StepId) {
    let sql = "UPDATE session_agreements SET step_id = $1 WHERE id = $2";
    match db {
        Db::Sqlite(pool) => {
            sqlx::query(sql)
                .bind(step.get())
                .bind(agreement)
                .execute(pool)
                .await
                .expect("linked");
        }
        Db::Postgres(pool) => {
            sqlx::query(sql)
                .bind(step.get())
                .bind(agreement)
                .execute(pool)
                .await
                .expect("linked");
        }
    }
}

/// A coach of Washington Middle only.
async fn washington_coach(bot: &TestBot) -> u64 {
    let ids = &bot.ids;
    let role = bot
        .emu
        .add_role(ids.guild, "Washington Coach", permissions::EVERYONE_DEFAULT)
        .expect("role");
    let coach = bot.emu.add_user("Robin Washington-Coach");
    bot.emu
        .add_member(ids.guild, coach, &[role])
        .expect("member");
    let reply = bot
        .command(
            ids.owner,
            ids.general,
            "setup role",
            &[
                ("discord_role", json!(role)),
                ("coachbot_role", json!("coach")),
                ("school", json!("Washington Middle")),
            ],
        )
        .await;
    assert!(reply.content.starts_with("Done"), "{}", reply.content);
    coach
}

e2e! {
    /// Only Lincoln's coach reads its brief: its principal, a team member, another school's
    /// coach, an admin without the coach role and someone with no role are refused with the
    /// reason; Washington's coach reads Washington's, which says per part that there is
    /// nothing yet.
    async fn only_the_schools_coach_reads_its_brief(bot) {
        let plan = bot.plan().await;
        let other_coach = washington_coach(bot).await;
        for who in [plan.pat, plan.terry, other_coach, bot.ids.owner, bot.ids.nobody] {
            let refused = brief(bot, who, "Lincoln Elementary").await;
            assert!(refused.ephemeral, "{}", refused.content);
            assert!(refused.embeds.is_empty());
            assert!(
                refused.content.starts_with("Only Lincoln Elementary's coach can read its visit brief"),
                "{}",
                refused.content
            );
        }
        let unknown = brief(bot, plan.casey, "Nowhere High").await;
        assert!(unknown.ephemeral && unknown.embeds.is_empty(), "{}", unknown.content);

        let own = brief(bot, other_coach, "Washington Middle").await;
        assert!(own.ephemeral);
        assert!(own.content.starts_with("**Visit brief: Washington Middle**"), "{}", own.content);
        assert_eq!(own.embeds.len(), 6);
        assert!(part(&own, "Cycle stage").starts_with("**1. Assess** since "));
        assert!(part(&own, "Focus indicators").starts_with("No focus indicators yet"));
        assert!(part(&own, "Action steps").starts_with("No action steps yet"));
        assert_eq!(part(&own, "Open barriers"), "No open barriers.");
        assert!(part(&own, "Next steps named in check-ins").starts_with("No confirmed check-in names a next step yet"));
        assert!(part(&own, "Last coaching session").starts_with("No coaching session logged yet"));
        // Without naming the school, a coach of one school gets theirs.
        let default = bot.command(other_coach, bot.ids.general, "brief", &[]).await;
        assert!(default.content.starts_with("**Visit brief: Washington Middle**"), "{}", default.content);
    }
}

e2e! {
    /// A seeded Lincoln: the brief shows the stage, both focus indicators with level and
    /// trend, steps by status with the overdue ones named (id, title, due, owner), the open
    /// barrier with its age and category, the next steps named in each person's last
    /// confirmed check-in (private ones too; not an older one, not an unconfirmed one, not
    /// another school's), and the last session's agreements with what became of each.
    async fn a_seeded_school_brief_shows_each_part(bot) {
        let plan = bot.plan().await;
        let (server, casey) = (bot.ids.server(), UserId::new(plan.casey));
        let now = Utc::now();
        // Pat and Terry use a command, so their names are known.
        for who in [plan.pat, plan.terry] {
            let refused = brief(bot, who, "Lincoln Elementary").await;
            assert!(refused.content.starts_with("Only"), "{}", refused.content);
        }

        // Two focus indicators with level history: 12a up, 12b down.
        let focus_12a = indicators::find(&bot.db, server, plan.lincoln, "12a").await.expect("find").expect("12a");
        let (focus_12b, _) = indicators::focus(&bot.db, server, plan.lincoln, "12b", casey, now, None).await.expect("12b");
        for (focus, level, ago) in [
            (&focus_12a, "getting_ready", 20),
            (&focus_12a, "getting_started", 2),
            (&focus_12b, "getting_better", 15),
            (&focus_12b, "getting_started", 1),
        ] {
            indicators::set_level(&bot.db, focus, level, None, casey, now - TimeDelta::days(ago), None).await.expect("level");
        }

        // Steps in several statuses; two open ones overdue, one done past its date.
        let late = step(bot, &plan, "Draft the data-meeting agenda", -3, "in_progress").await;
        let blocked = step(bot, &plan, "Agree PLC norms", -1, "blocked").await;
        let done = step(bot, &plan, "Share the walkthrough tool", -10, "done").await;
        let ahead = step(bot, &plan, "Plan the spring walkthroughs", 14, "planned").await;

        barriers::add(&bot.db, &NewBarrier {
            server_id: server,
            school_id: plan.lincoln,
            step_id: Some(blocked),
            category: "time",
            text: "No common planning time for grade leads",
            raised_by: UserId::new(plan.terry),
        }, now - TimeDelta::days(4), None).await.expect("barrier");

        // Check-ins: Pat's older and latest (private), Terry's (shared), Jordan's still open,
        // Wendy's at Washington.
        let washington = schools::find_by_name(&bot.db, server, "Washington Middle").await.expect("find").expect("Washington").id;
        checkin(bot, plan.lincoln, plan.pat, "An older plan of Pat's", false, Some(now - TimeDelta::days(8))).await;
        checkin(bot, plan.lincoln, plan.pat, "Meet the grade leads about PLC time", false, Some(now - TimeDelta::days(1))).await;
        checkin(bot, plan.lincoln, plan.terry, "Pilot the agenda with grade 3", true, Some(now - TimeDelta::days(2))).await;
        checkin(bot, plan.lincoln, plan.jordan, "Jordan's unconfirmed idea", false, None).await;
        checkin(bot, washington, plan.wendy, "Wendy's Washington plan", false, Some(now - TimeDelta::days(1))).await;

        // A one-to-one two days ago with two agreements, one of which became a step.
        let notes = SessionNotes::parse("The data-meeting agenda", "Grade leads want more time", "- Draft the data-meeting agenda\n- Ask HR about coverage").expect("notes");
        let next = lincoln_today() + TimeDelta::days(7);
        let (session, agreements) = coaching::log(&bot.db, &NewSession {
            server_id: server,
            school_id: plan.lincoln,
            kind: SessionKind::OneToOne,
            held_on: lincoln_today() - TimeDelta::days(2),
            logged_by: casey,
            notes: &notes,
            next_meeting_on: Some(next),
            shared: false,
            people: &[UserId::new(plan.pat)],
        }, now - TimeDelta::days(2)).await.expect("a session");
        agreement_became(&bot.db, agreements[0].id, late).await;

        let reply = brief(bot, plan.casey, "Lincoln Elementary").await;
        assert!(reply.ephemeral);
        assert!(reply.mentions_disabled);
        assert_within_limits(&reply);
        assert!(reply.content.starts_with("**Visit brief: Lincoln Elementary**"), "{}", reply.content);
        let titles: Vec<&str> = reply.embeds.iter().filter_map(|e| e["title"].as_str()).collect();
        assert_eq!(titles, ["Cycle stage", "Focus indicators", "Action steps", "Open barriers", "Next steps named in check-ins", "Last coaching session"]);

        assert!(part(&reply, "Cycle stage").starts_with("**1. Assess** since "));

        let text = part(&reply, "Focus indicators");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("• 12a · ") && lines[0].contains(": **Getting Started** (↑ from Getting Ready, set "), "{text}");
        assert!(lines[1].starts_with("• 12b · ") && lines[1].contains(": **Getting Started** (↓ from Getting Better, set "), "{text}");

        let text = part(&reply, "Action steps");
        assert!(text.starts_with("4 steps in all: 1 planned · 1 in progress · 1 blocked · 1 done\n**Overdue (2):**\n"), "{text}");
        let due = coachbot::domain::text::day(lincoln_today() - TimeDelta::days(3));
        assert!(text.contains(&format!("• #{late} Draft the data-meeting agenda · due {due} · in progress · Terry Okafor")), "{text}");
        assert!(text.contains(&format!("• #{blocked} Agree PLC norms · due ")), "{text}");
        assert!(!text.contains(&format!("#{done} ")) && !text.contains(&format!("#{ahead} ")), "{text}");

        let text = part(&reply, "Open barriers");
        assert!(text.starts_with("• #") && text.ends_with(&format!("**time** · open 4 days · on step #{blocked} · “No common planning time for grade leads”")), "{text}");

        let text = part(&reply, "Next steps named in check-ins");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("• Pat Lee (") && lines[0].ends_with(", private): “Meet the grade leads about PLC time”"), "{text}");
        assert!(lines[1].starts_with("• Terry Okafor (") && lines[1].ends_with(", shared): “Pilot the agenda with grade 3”"), "{text}");
        for absent in ["older plan", "unconfirmed", "Wendy"] {
            assert!(!text.contains(absent), "{text}");
        }

        let text = part(&reply, "Last coaching session");
        assert!(text.starts_with(&format!(
            "One-to-one coaching on {} (session #{}) · **Next meeting:** {}\n**Agreed:**\n",
            coachbot::domain::text::day(session.held_on), session.id, coachbot::domain::text::day(next)
        )), "{text}");
        assert!(text.contains(&format!("• “Draft the data-meeting agenda” → step #{late}, in progress")), "{text}");
        assert!(text.contains("• “Ask HR about coverage” not made a step"), "{text}");

        // Reading it changed nothing: the same steps.
        assert_eq!(steps::count(&bot.db, server).await.expect("count"), 4);
    }
}

e2e! {
    /// Lincoln with 25 overdue steps, each with a 200-character title: the brief is one
    /// message within Discord's limits, names the first overdue ones and counts the rest.
    async fn a_busy_school_brief_stays_within_discords_limits(bot) {
        let plan = bot.plan().await;
        let mut ids = Vec::new();
        for i in 0..25 {
            let title = format!("{i:02} {}", "Long step title about the walkthrough cycle ".repeat(5));
            let title: String = title.chars().take(200).collect();
            ids.push(step(bot, &plan, &title, -1 - i, "in_progress").await);
        }
        let reply = brief(bot, plan.casey, "Lincoln Elementary").await;
        assert!(reply.ephemeral);
        assert_within_limits(&reply);
        assert_eq!(reply.embeds.len(), 6);
        let text = part(&reply, "Action steps");
        assert!(text.starts_with("25 steps in all: 25 in progress\n**Overdue (25):**\n• #"), "{text}");
        let named = text.lines().filter(|l| l.starts_with("• #")).count();
        assert!(named >= 3, "{text}");
        assert!(text.ends_with(&format!("… and {} more; `/step list overdue:true` has them all", 25 - named)), "{text}");
        // Longest overdue first: by due date.
        assert!(text.contains(&format!("• #{} 24 Long step", ids[24])), "{text}");
    }
}
