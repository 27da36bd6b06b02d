//! A principal's growth goal: set with `/goal set`, asked about in the monthly reflection
//! (only when there is one), the answer kept as a note; private to the principal and their
//! school's coach.

use coachbot::domain::ids::UserId;
use coachbot::store::{checkins, goals};
use serde_json::json;

use crate::dm::*;
use crate::e2e;
use crate::support::TestBot;

const GOAL: &str = "Give every teacher feedback within a day of each visit";
const ON_THE_GOAL: &str = "Feedback went out within a day for 9 of 12 visits";

/// A coach of Washington Middle only, set up as an admin would.
async fn washington_coach(bot: &TestBot) -> u64 {
    let ids = &bot.ids;
    let role = bot
        .emu
        .add_role(
            ids.guild,
            "Washington Coach",
            coachbot::emulator::world::permissions::EVERYONE_DEFAULT,
        )
        .expect("role");
    let sam = bot.emu.add_user("Sam Reyes");
    bot.emu.add_member(ids.guild, sam, &[role]).expect("member");
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
    sam
}

/// Casey starts Pat's monthly reflection; returns the first question as Pat got it.
async fn start_monthly(bot: &TestBot, casey: u64, pat: u64) -> String {
    let mark = bot.emu.call_count();
    let reply = bot
        .command(
            casey,
            bot.ids.general,
            "checkin start",
            &[
                ("person", json!(pat)),
                ("flow", json!("monthly_reflection")),
            ],
        )
        .await;
    assert!(
        reply.content.starts_with("Started **Monthly reflection**"),
        "{}",
        reply.content
    );
    bot_dm(bot, pat, mark, "Question 1 of")
        .await
        .content()
        .unwrap_or_default()
        .to_owned()
}

e2e! {
    /// Without a goal the monthly reflection has no question about one. Pat sets a goal (a team
    /// member cannot); the next monthly reflection asks about it by name, and Pat's answer is
    /// kept as a note on the goal; `/goal update` adds another; `/goal show` lists both.
    async fn the_monthly_reflection_asks_about_the_goal_and_keeps_the_answer(bot) {
        let plan = bot.plan().await;
        let (pat, casey, general) = (plan.pat, plan.casey, bot.ids.general);
        let first = start_monthly(bot, casey, pat).await;
        assert!(first.contains("Question 1 of 4"), "no goal, no goal question: {first}");
        let open = checkins::open_for(&bot.db, UserId::new(pat)).await.expect("read").expect("open");
        assert!(open.questions().expect("questions").iter().all(|q| !q.about_goal && !q.text.contains("growth goal")));
        answer(bot, pat, "stop", "Stopped.").await;

        let refused = bot.command(plan.terry, general, "goal set", &[("text", json!("Run better meetings"))]).await;
        assert!(refused.ephemeral);
        assert!(refused.content.starts_with("Only principals can set a growth goal."), "{}", refused.content);
        let long = bot.command(pat, general, "goal set", &[("text", json!("x".repeat(301)))]).await;
        assert!(long.content.contains("the limit is 300"), "{}", long.content);
        let unknown = bot.command(pat, general, "goal set", &[("text", json!(GOAL)), ("indicator", json!("99z"))]).await;
        assert!(unknown.content.contains("is not an indicator"), "{}", unknown.content);
        assert!(goals::open(&bot.db, bot.ids.server(), UserId::new(pat)).await.expect("read").is_none(), "nothing half-written");

        let set = bot.command(pat, general, "goal set", &[("text", json!(GOAL)), ("indicator", json!("12a"))]).await;
        assert!(set.ephemeral);
        assert!(set.content.starts_with(&format!("Your growth goal is set: “{GOAL}”. It serves 12a")), "{}", set.content);
        assert!(set.content.contains("Only you and your coach can read it"), "{}", set.content);

        let first = start_monthly(bot, casey, pat).await;
        assert!(first.contains("Question 1 of 5"), "{first}");
        answer(bot, pat, "The staff meeting on Friday", "Question 2 of 5").await;
        answer(bot, pat, "Newer teachers, who get fewer visits", "Question 3 of 5").await;
        let asked = answer(bot, pat, "That the team runs it without me", "Question 4 of 5").await;
        let asked = asked.content().unwrap_or_default();
        assert!(asked.contains(&format!("Your growth goal is “{GOAL}”. What has moved on it this month")), "{asked}");
        answer(bot, pat, ON_THE_GOAL, "Question 5 of 5").await;
        let reflection = answer(bot, pat, "Walkthroughs with the team", "Here is what I heard").await;
        let heard = reflection.content().unwrap_or_default();
        assert!(heard.contains(&format!("4. On your growth goal: “{ON_THE_GOAL}”\n    → only you and Casey Morgan, and a note on your goal")), "{heard}");
        let saved = click(bot, pat, &reflection, &button_id(&reflection, "confirm")).await;
        assert!(saved.content.contains("Saved. 0 step updates and 0 barriers went onto your plan"), "{}", saved.content);

        let goal = goals::open(&bot.db, bot.ids.server(), UserId::new(pat)).await.expect("read").expect("the goal");
        assert_eq!(goal.indicator_id.as_deref(), Some("12a"));
        let notes = goals::notes(&bot.db, goal.id).await.expect("notes");
        assert_eq!(notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(), [ON_THE_GOAL]);

        let updated = bot.command(pat, general, "goal update", &[("note", json!("Shared the tracker with the team"))]).await;
        assert!(updated.content.starts_with("Noted on your growth goal"), "{}", updated.content);
        let shown = bot.command(pat, general, "goal show", &[]).await;
        assert!(shown.ephemeral);
        assert!(shown.content.starts_with("**Your growth goal**"), "{}", shown.content);
        assert!(shown.content.contains(GOAL) && shown.content.contains("Towards 12a"), "{}", shown.content);
        let newest = shown.content.find("Shared the tracker").expect("the update");
        let older = shown.content.find(ON_THE_GOAL).expect("the reflection's answer");
        assert!(newest < older, "newest first: {}", shown.content);
    }
}

e2e! {
    /// Pat's goal: Pat and Lincoln's coach read it; Lincoln's team, Washington's coach and an
    /// admin are refused; someone without a goal is told how to set one.
    async fn only_the_principal_and_their_coach_read_the_goal(bot) {
        let plan = bot.plan().await;
        let (pat, general) = (plan.pat, bot.ids.general);
        let sam = washington_coach(bot).await;
        let none = bot.command(pat, general, "goal show", &[]).await;
        assert!(none.content.starts_with("You have no growth goal yet."), "{}", none.content);
        let none = bot.command(plan.casey, general, "goal show", &[("person", json!(pat))]).await;
        assert!(none.content.starts_with("Pat Lee has no growth goal yet"), "{}", none.content);
        let set = bot.command(pat, general, "goal set", &[("text", json!(GOAL))]).await;
        assert!(set.content.starts_with("Your growth goal is set"), "{}", set.content);

        let coach = bot.command(plan.casey, general, "goal show", &[("person", json!(pat))]).await;
        assert!(coach.ephemeral);
        assert!(coach.content.starts_with("**Pat Lee's growth goal**") && coach.content.contains(GOAL), "{}", coach.content);
        for who in [plan.terry, sam, bot.ids.owner] {
            let refused = bot.command(who, general, "goal show", &[("person", json!(pat))]).await;
            assert!(refused.ephemeral);
            assert!(
                refused.content.starts_with("Only the principal themselves and their school's coaches can read a principal's growth goal."),
                "{who}: {}", refused.content
            );
            assert!(!refused.content.contains(GOAL));
        }
        let nobody = bot.command(bot.ids.nobody, general, "goal show", &[("person", json!(pat))]).await;
        assert!(nobody.content.contains("no coachbot role") && !nobody.content.contains(GOAL), "{}", nobody.content);
        // Setting a new goal ends the last: one open goal.
        let again = bot.command(pat, general, "goal set", &[("text", json!("Listen first in every meeting"))]).await;
        assert!(again.content.contains(&format!("It replaces your last goal (“{GOAL}”)")), "{}", again.content);
        let open = goals::open(&bot.db, bot.ids.server(), UserId::new(pat)).await.expect("read").expect("goal");
        assert_eq!(open.text, "Listen first in every meeting");
    }
}
