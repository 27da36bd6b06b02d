//! `/cycle show` and `/cycle advance`: a school moved round the six stages by its principal
//! and coach, with notes, going back only with a note; what entering the debrief and planning
//! shows; the digest's flags for a stage gone on too long and a school without a plan; and
//! the moves in `cycle.csv`.

use chrono::{NaiveDate, TimeDelta, Utc};
use coachbot::domain::assessment::ResultRow;
use coachbot::domain::cycle::Stage;
use coachbot::domain::framework::Level;
use coachbot::domain::ids::{SchoolId, UserId};
use coachbot::domain::schedule::CronSpec;
use coachbot::emulator::Reply;
use coachbot::store::assessments::{self, Imported, NewAdministration};
use coachbot::store::schools::School;
use coachbot::store::steps::{self, NewStep};
use coachbot::store::{cycle, indicators, schedules, schools};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::TestBot;

fn title(reply: &Reply) -> String {
    reply
        .embeds
        .first()
        .and_then(|e| e["title"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn description(reply: &Reply) -> String {
    reply
        .embeds
        .first()
        .and_then(|e| e["description"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn school(bot: &TestBot, name: &str) -> School {
    schools::find_by_name(&bot.db, bot.ids.server(), name)
        .await
        .expect("schools")
        .expect("the school")
}

async fn moves(bot: &TestBot, name: &str) -> Vec<Stage> {
    let school = school(bot, name).await;
    cycle::history(&bot.db, &school)
        .await
        .expect("history")
        .iter()
        .map(|e| e.stage)
        .collect()
}

async fn advance(bot: &TestBot, user: u64, options: &[(&str, Value)]) -> Reply {
    bot.command(user, bot.ids.general, "cycle advance", options)
        .await
}

/// An administration of the survey at `school`, saved as an import would.
async fn assessment(bot: &TestBot, school: SchoolId, name: &str, levels: &[(&str, Level)]) {
    let rows: Vec<ResultRow> = levels
        .iter()
        .enumerate()
        .map(|(i, (id, level))| ResultRow {
            row_number: i64::try_from(i).expect("row") + 2,
            indicator_id: (*id).to_owned(),
            group: String::new(),
            level: *level,
            score: None,
            scale_max: None,
            respondents: Some(24),
        })
        .collect();
    let new = NewAdministration {
        server_id: bot.ids.server(),
        school_id: school,
        name,
        administered: NaiveDate::from_ymd_opt(2026, 9, 14).expect("date"),
        file_name: "fall.csv",
        imported_by: UserId::new(bot.ids.owner),
    };
    let saved = assessments::save(&bot.db, &new, &rows, Utc::now())
        .await
        .expect("saved");
    assert!(matches!(saved, Imported::Saved(_)), "{saved:?}");
}

e2e! {
    /// Lincoln goes round the six stages, moved by its principal and its coach with notes; a
    /// team member and another school's member are refused; going back needs a note; `/cycle
    /// show` lists the stages with their dates and every move with who made it and why; the
    /// export's cycle.csv has the same moves.
    async fn a_school_goes_round_the_cycle_moved_by_its_leaders_with_notes(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let lincoln = json!("Lincoln Elementary");

        // Before any move: assess, since the school was set up.
        let shown = bot.command(plan.terry, ids.general, "cycle show", &[]).await;
        assert!(shown.ephemeral);
        assert_eq!(title(&shown), "Coaching cycle at Lincoln Elementary");
        let text = description(&shown);
        assert!(text.starts_with("▶ **1. Assess** · since "), "{text}");
        assert!(text.contains("→ 2. Data debrief · next"), "{text}");
        assert!(text.contains("**What usually happens next:** Import the results with `/assessment import`"), "{text}");
        assert!(text.contains("**Assess** · when the school was set up"), "{text}");

        // A team member, another school's team member and someone with no role are refused;
        // nothing is saved.
        let refused = advance(bot, plan.terry, &[]).await;
        assert!(refused.ephemeral && refused.content.contains("Only the school's principal, its coaches and admins can move a school through the coaching cycle"), "{}", refused.content);
        let refused = advance(bot, plan.wendy, &[("school", lincoln.clone())]).await;
        assert!(refused.ephemeral && refused.content.contains("Only Lincoln Elementary's principal"), "{}", refused.content);
        let refused = advance(bot, ids.nobody, &[("school", lincoln.clone())]).await;
        assert!(refused.ephemeral, "{}", refused.content);
        assert_eq!(moves(bot, "Lincoln Elementary").await, [Stage::Assess]);

        // The `to` box suggests stages.
        let typed = bot.emu.autocomplete(plan.pat, ids.general, "cycle advance", &[("to", json!("impl"))], "to").expect("autocomplete");
        let choices = bot.reply(&typed).await.choices;
        assert_eq!(choices, [("4. Implement action steps".to_owned(), json!("implement"))]);

        // The principal moves on to the debrief (the next stage, as no `to` is given).
        let moved = advance(bot, plan.pat, &[("note", json!("Survey closed with 24 responses"))]).await;
        assert!(moved.ephemeral);
        assert_eq!(title(&moved), "Lincoln Elementary is now in 2. Data debrief");
        let text = description(&moved);
        assert!(text.starts_with("Moved from **Assess** (after less than a day).\n**Note:** Survey closed with 24 responses"), "{text}");
        assert!(text.contains("No assessment is imported for Lincoln Elementary yet: import the results with `/assessment import`"), "{text}");

        // The coach moves through planning to implementing, by name or by label.
        for (to, expected) in [("plan", "3. Action planning"), ("Implement action steps", "4. Implement action steps")] {
            let moved = advance(bot, plan.casey, &[("school", lincoln.clone()), ("to", json!(to)), ("note", json!(format!("on to {to}")))]).await;
            assert_eq!(title(&moved), format!("Lincoln Elementary is now in {expected}"), "{}", moved.content);
        }

        // Back to planning: refused without a note, saved with one.
        let refused = advance(bot, plan.casey, &[("school", lincoln.clone()), ("to", json!("plan"))]).await;
        assert!(refused.ephemeral && refused.content.contains("moving it back to **Action planning** needs a note"), "{}", refused.content);
        let refused = advance(bot, plan.casey, &[("school", lincoln.clone()), ("to", json!("later"))]).await;
        assert!(refused.content.contains("`later` is not a stage of the coaching cycle"), "{}", refused.content);
        let too_long = advance(bot, plan.casey, &[("school", lincoln.clone()), ("to", json!("plan")), ("note", json!("x".repeat(301)))]).await;
        assert!(too_long.content.contains("The note is 301 characters long; the limit is 300"), "{}", too_long.content);
        assert_eq!(moves(bot, "Lincoln Elementary").await.len(), 4, "nothing saved by the refusals");
        let back = advance(bot, plan.casey, &[("school", lincoln.clone()), ("to", json!("plan")), ("note", json!("=the steps need owners first"))]).await;
        assert_eq!(title(&back), "Lincoln Elementary is now in 3. Action planning", "{}", back.content);

        // On round: implement, support, re-assess (with its reminder), and the next round's debrief.
        for expected in ["4. Implement action steps", "5. Ongoing support and coaching", "6. Re-assess", "2. Data debrief"] {
            let moved = advance(bot, plan.pat, &[("note", json!(format!("moving to {expected}")))]).await;
            assert_eq!(title(&moved), format!("Lincoln Elementary is now in {expected}"), "{}", moved.content);
            if expected == "6. Re-assess" {
                let text = description(&moved);
                assert!(text.contains("import the new results with `/assessment import`; then `/assessment compare` shows what moved"), "{text}");
            }
        }
        let stages = moves(bot, "Lincoln Elementary").await;
        assert_eq!(stages, [Stage::Assess, Stage::Debrief, Stage::Plan, Stage::Implement, Stage::Plan, Stage::Implement, Stage::Support, Stage::Reassess, Stage::Debrief]);
        let history = cycle::history(&bot.db, &school(bot, "Lincoln Elementary").await).await.expect("history");
        assert_eq!(history[1].moved_by, Some(UserId::new(plan.pat)));
        assert_eq!(history[4].moved_by, Some(UserId::new(plan.casey)));
        assert_eq!(history[4].note.as_deref(), Some("=the steps need owners first"));

        // `/cycle show`: the second round, the stages with their dates, every move by name.
        let shown = bot.command(plan.terry, ids.general, "cycle show", &[]).await;
        assert_eq!(title(&shown), "Coaching cycle at Lincoln Elementary, round 2");
        let text = description(&shown);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("✓ 1. Assess · the re-assessment"), "{text}");
        assert!(lines[1].starts_with("▶ **2. Data debrief** · since "), "{text}");
        assert_eq!(lines[2], "→ 3. Action planning · next", "{text}");
        assert!(text.contains("**Data debrief** · Pat Lee · “moving to 2. Data debrief”"), "{text}");
        assert!(text.contains("**Action planning** · Casey Morgan · “=the steps need owners first”"), "{text}");
        assert!(text.contains("**Assess** · when the school was set up"), "{text}");
        // Washington's member sees Washington, not Lincoln.
        let refused = bot.command(plan.wendy, ids.general, "cycle show", &[("school", lincoln.clone())]).await;
        assert!(refused.ephemeral && refused.embeds.is_empty(), "{}", refused.content);

        // The export: cycle.csv holds the start and every move, formulas defused.
        let exported = bot.command(plan.casey, ids.general, "export", &[("school", lincoln.clone())]).await;
        assert!(exported.content.contains("9 coaching-cycle stages"), "{}", exported.content);
        let file = exported.call.attachments.iter().find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with("-cycle.csv"))).expect("cycle.csv");
        let mut reader = csv::Reader::from_reader(file.bytes.as_slice());
        let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_owned).collect();
        assert_eq!(headers, ["school", "stage", "stage_label", "began_at", "moved_by", "moved_by_id", "note"]);
        let rows: Vec<Vec<String>> = reader.records().map(|r| r.expect("row").iter().map(str::to_owned).collect()).collect();
        assert_eq!(rows.len(), 9);
        assert_eq!(rows[0][..3], ["Lincoln Elementary", "assess", "Assess"]);
        assert_eq!((rows[0][4].as_str(), rows[0][5].as_str()), ("", ""), "nobody moved the start");
        assert_eq!(rows[1][4..], ["Pat Lee".to_owned(), plan.pat.to_string(), "Survey closed with 24 responses".to_owned()]);
        assert_eq!(rows[4][1], "plan");
        assert_eq!(rows[4][6], "'=the steps need owners first");
        assert!(rows.iter().all(|r| r[0] == "Lincoln Elementary"), "Washington's start is not Lincoln's");
    }
}

e2e! {
    /// Entering the debrief shows the latest assessment's strengths and targets; entering
    /// planning shows which targets are already focus indicators and how to make the others
    /// one; without an assessment the debrief says to import one.
    async fn entering_the_debrief_and_planning_shows_the_latest_results(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        assessment(bot, plan.lincoln, "Spring 2026", &[("11", Level::GettingReady), ("12a", Level::GettingReady), ("12b", Level::GettingReady)]).await;
        assessment(bot, plan.lincoln, "Fall 2026", &[("11", Level::GettingBetter), ("12a", Level::GettingReady), ("12b", Level::GettingAware)]).await;

        let moved = advance(bot, plan.casey, &[("school", json!("Lincoln Elementary"))]).await;
        assert_eq!(title(&moved), "Lincoln Elementary is now in 2. Data debrief", "{}", moved.content);
        let text = description(&moved);
        assert!(text.contains("**Latest assessment:** **Fall 2026** (Mon 14 Sep 2026)"), "{text}");
        let strengths = text.split("**Strengths**\n").nth(1).and_then(|t| t.split("**Target areas**").next()).unwrap_or_default();
        assert!(strengths.starts_with("• 11 · ") && strengths.contains("4 (Getting Better)"), "{text}");
        let targets = text.split("**Target areas**\n").nth(1).unwrap_or_default();
        let targets: Vec<&str> = targets.lines().take_while(|l| l.starts_with("• ")).collect();
        assert_eq!(targets.len(), 2, "{text}");
        assert!(targets[0].starts_with("• 12b · ") && targets[0].ends_with("1 (Getting Aware)"), "{text}");
        assert!(targets[1].starts_with("• 12a · ") && targets[1].ends_with("2 (Getting Ready)"), "{text}");

        // Planning: 12a is Lincoln's focus already (the plan made it one); 12b is not.
        let moved = advance(bot, plan.casey, &[("school", json!("Lincoln Elementary"))]).await;
        assert_eq!(title(&moved), "Lincoln Elementary is now in 3. Action planning", "{}", moved.content);
        let text = description(&moved);
        assert!(text.contains("**Target areas** from **Fall 2026** (Mon 14 Sep 2026), which could become focus indicators:"), "{text}");
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("• ")).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("• 12b · ") && lines[0].ends_with("not a focus yet → `/indicator focus indicator:12b`"), "{text}");
        assert!(lines[1].starts_with("• 12a · ") && lines[1].ends_with("already a focus"), "{text}");
        // A Make focus button for 12b only (12a is a focus already); a click makes it one.
        let school = plan.lincoln.get();
        bot.human_pause().await;
        assert!(bot.emu.find_component(&format!("focus:{school}:12a")).is_none(), "no button for a focus");
        let make_12b = format!("focus:{school}:12b");
        let (channel, message) = bot.emu.find_component(&make_12b).expect("a Make focus button for 12b");
        let made = bot.reply(&bot.emu.click_button(plan.casey, channel, message, &make_12b).expect("click")).await;
        assert!(made.ephemeral && made.content.contains("is now a focus indicator of **Lincoln Elementary**"), "{}", made.content);
        let focus: Vec<String> = coachbot::store::indicators::for_school(&bot.db, bot.ids.server(), plan.lincoln).await.expect("focus")
            .into_iter().map(|f| f.indicator_id).collect();
        assert!(focus.contains(&"12b".to_owned()), "{focus:?}");

        // Washington has no assessment: its debrief says to import one.
        let moved = advance(bot, ids.owner, &[("school", json!("Washington Middle"))]).await;
        assert_eq!(title(&moved), "Washington Middle is now in 2. Data debrief", "{}", moved.content);
        assert!(description(&moved).contains("No assessment is imported for Washington Middle yet: import the results with `/assessment import`"), "{}", description(&moved));
    }
}

e2e! {
    /// Lincoln has implemented its plan for 125 days (the framework expects 120); Washington
    /// moved to implementing ten days ago without a plan. Casey's digest, 125 days on, flags
    /// both, each with what to do.
    async fn the_digest_flags_a_long_implementation_and_a_school_without_a_plan(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        // Lincoln's plan: its focus on 12a gets a step.
        let focus = indicators::find(&bot.db, ids.server(), plan.lincoln, "12a").await.expect("focus").expect("12a");
        let step = steps::add(&bot.db, &NewStep {
            server_id: ids.server(),
            school_id: plan.lincoln,
            focus_id: focus.id,
            title: "Learning walks every Tuesday",
            due_on: Utc::now().date_naive() + TimeDelta::days(400),
            resources: None,
            owners: &[UserId::new(plan.terry)],
            author: UserId::new(plan.terry),
        }, Utc::now(), None).await.expect("a step").id;
        let moved = advance(bot, plan.casey, &[("school", json!("Lincoln Elementary")), ("to", json!("implement"))]).await;
        assert_eq!(title(&moved), "Lincoln Elementary is now in 4. Implement action steps", "{}", moved.content);

        let reply = bot.command(plan.casey, ids.general, "digest schedule", &[]).await;
        assert!(reply.content.contains("Your digest is set"), "{}", reply.content);
        let first = schedules::list(&bot.db, ids.server(), None).await.expect("schedules")[0].next_fire_at.expect("next");
        let zone = chrono_tz::America::Chicago;
        let spec = CronSpec::parse("weekdays 07:00", first.with_timezone(&zone).date_naive()).expect("spec");
        let at = spec.next_after(zone, Utc::now() + TimeDelta::days(125)).expect("125 days on");
        let days = (at - Utc::now()).num_days();
        let washington = school(bot, "Washington Middle").await;
        cycle::advance(&bot.db, &washington, Stage::Implement, UserId::new(plan.casey), None, at - TimeDelta::days(10)).await.expect("moved");

        let scheduler = bot.scheduler();
        assert_eq!(scheduler.tick(at).await.expect("tick").fired, 1);
        assert_eq!(scheduler.deliver(at).await.expect("deliver").composed, 1);
        while scheduler.deliver(at).await.expect("deliver").sent > 0 {}
        let dm = bot.emu.dm_channel_of(plan.casey).expect("Casey's DM");
        let embeds: Vec<Value> = bot.emu.messages_in(dm).iter().flat_map(|m| m["embeds"].as_array().cloned().unwrap_or_default()).collect();
        let section = |name: &str| embeds.iter().filter(|e| e["title"].as_str().is_some_and(|t| t.starts_with(name))).filter_map(|e| e["description"].as_str()).collect::<Vec<_>>().join("\n");
        let lincoln = section("Lincoln Elementary");
        assert!(lincoln.contains("**Coaching cycle**"), "{lincoln}");
        assert!(lincoln.contains(&format!("In **Implement action steps** for {days} days (usually 120) → `/cycle show`, then `/cycle advance`")), "{lincoln}");
        assert!(!lincoln.contains("No plan"), "Lincoln has step #{step}: {lincoln}");
        let washington = section("Washington Middle");
        assert!(washington.contains("No plan: in **Implement action steps** with no focus indicator that has a step → `/indicator focus`, then `/step add`"), "{washington}");
        assert!(!washington.contains("days (usually"), "ten days is within the usual time: {washington}");
    }
}
