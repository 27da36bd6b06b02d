//! Who sees each check-in answer: the person chooses, answer by answer, between the plan
//! (the school's team, its coaches, district leaders) and private (them and their coach);
//! "nothing in the way", Skip and stop; which step a general answer is about.

use coachbot::domain::ids::UserId;
use coachbot::emulator::Reply;
use coachbot::store::{barriers, checkins};
use serde_json::json;

use crate::dm::*;
use crate::e2e;
use crate::support::TestBot;

/// Everything a reply shows: its text and its embeds.
fn shown(reply: &Reply) -> String {
    let mut all = reply.content.clone();
    for embed in &reply.embeds {
        all.push('\n');
        all.push_str(&embed.to_string());
    }
    all
}

/// A district leader of the server (every school), set up as an admin would.
async fn district_leader(bot: &TestBot) -> u64 {
    let ids = &bot.ids;
    let role = bot
        .emu
        .add_role(
            ids.guild,
            "District",
            coachbot::emulator::world::permissions::EVERYONE_DEFAULT,
        )
        .expect("role");
    let dana = bot.emu.add_user("Dana Ruiz");
    bot.emu
        .add_member(ids.guild, dana, &[role])
        .expect("member");
    let reply = bot
        .command(
            ids.owner,
            ids.general,
            "setup role",
            &[
                ("discord_role", json!(role)),
                ("coachbot_role", json!("district leader")),
            ],
        )
        .await;
    assert!(reply.content.starts_with("Done"), "{}", reply.content);
    dana
}

e2e! {
    /// Pat keeps one progress answer private and shares the barrier; the rest stay as the flow
    /// set them. The team and the district leader see only what was shared; the coach sees
    /// everything in the history and the export; the reflection said where each would go.
    async fn each_answer_goes_where_the_principal_chose(bot) {
        let plan = bot.plan().await;
        let (pat, general) = (plan.pat, bot.ids.general);
        let dana = district_leader(bot).await;
        let steps = two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        let first = checkins::get(&bot.db, session).await.expect("get").expect("session");
        assert_eq!(first.open_step_ids().expect("steps"), steps.to_vec());
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        let heard = reflection.content().unwrap_or_default().to_owned();
        let team_log = |step| format!("→ step #{step}'s log, seen by the Lincoln Elementary team");
        assert!(heard.contains(&team_log(steps[0])) && heard.contains(&team_log(steps[1])), "progress on a step goes to its log by default: {heard}");
        assert_eq!(heard.matches("→ only you and Casey Morgan").count(), 3, "the rest stays between Pat and the coach: {heard}");

        // Pat keeps answer 2 private: the reflection is sent again, the old one loses its buttons.
        let mark = bot.emu.call_count();
        click(bot, pat, &reflection, &button_id(&reflection, "keep:1")).await;
        let second = bot_dm(bot, pat, mark, "Here is what I heard").await;
        assert_eq!(seen_message(bot, pat, &reflection)["components"], json!([]), "only the latest reflection can be confirmed");
        assert_eq!(second.content().unwrap_or_default().matches("→ only you and Casey Morgan").count(), 4);
        // … and shares the barrier, on the step chosen for it.
        let mark = bot.emu.call_count();
        click(bot, pat, &second, &button_id(&second, "share:3")).await;
        let third = bot_dm(bot, pat, mark, "Here is what I heard").await;
        let last = third.content().unwrap_or_default();
        assert!(last.contains(&format!("→ a barrier on step #{}, seen by the Lincoln Elementary team", steps[1])), "{last}");
        let saved = click(bot, pat, &third, &button_id(&third, "confirm")).await;
        assert!(saved.content.contains("Saved. 1 step update and 1 barrier went onto your plan"), "{}", saved.content);

        let private = [ANSWERS[0], ANSWERS[1], ANSWERS[4]];
        // The team member and the district leader: the shared answers, never the private ones.
        for who in [plan.terry, dana] {
            let listed = shown(&bot.command(who, general, "barrier list", &[]).await);
            assert!(listed.contains(ANSWERS[3]), "the shared barrier is on the plan: {listed}");
            let mut seen = listed;
            for step in steps {
                seen.push_str(&shown(&bot.command(who, general, "step show", &[("step", json!(step.to_string()))]).await));
            }
            assert!(seen.contains(ANSWERS[2]), "the shared progress is in the log: {seen}");
            for text in private {
                assert!(!seen.contains(text), "a private answer reached {who}: {text}");
            }
        }
        // The coach: both, marked.
        let history = shown(&bot.command(plan.casey, general, "checkin history", &[("person", json!(pat))]).await);
        assert!(history.contains(&format!("“{}” · private", ANSWERS[1])), "{history}");
        assert!(history.contains(&format!("“{}” · shared as a barrier on step #{}", ANSWERS[3], steps[1])), "{history}");
        // The coach's export carries both, with where each went.
        let export = bot.command(plan.casey, general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let file = |kind: &str| {
            export.call.attachments.iter()
                .find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with(&format!("-{kind}.csv"))))
                .map(|f| String::from_utf8(f.bytes.clone()).expect("UTF-8"))
                .unwrap_or_default()
        };
        let answers = file("checkin-answers");
        assert!(answers.lines().any(|l| l.contains(ANSWERS[1]) && l.contains(",private,")), "{answers}");
        assert!(answers.lines().any(|l| l.contains(ANSWERS[3]) && l.contains(",plan,")), "{answers}");
        let updates = file("updates");
        assert!(updates.contains(ANSWERS[2]) && !updates.contains(ANSWERS[1]), "{updates}");
        // The summary counts what was shared and shows no private text.
        let summary = shown(&bot.command(plan.casey, general, "summary preview", &[("school", json!("Lincoln Elementary"))]).await);
        for text in private {
            assert!(!summary.contains(text), "{summary}");
        }
        let on_plan = barriers::list(&bot.db, bot.ids.server(), Some(plan.lincoln), true).await.expect("barriers");
        assert_eq!(on_plan.iter().map(|b| (b.step_id, b.text.as_str())).collect::<Vec<_>>(), [(Some(steps[1]), ANSWERS[3])]);
    }
}

e2e! {
    /// "Nothing really, all good" and the Nothing in the way button make no barrier; Skip
    /// leaves a question out; `stop` ends the check-in and keeps nothing.
    async fn nothing_skip_and_stop_save_nothing_unasked(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        let second = answer(bot, pat, ANSWERS[1], "Question 3 of 5").await;
        // Skip on question 3.
        let mark = bot.emu.call_count();
        click(bot, pat, &second, &button_id(&second, "skipq:2")).await;
        let barrier_question = bot_dm(bot, pat, mark, "Question 4 of 5").await;
        assert!(button_ids(&barrier_question).iter().any(|id| id.ends_with("nothing:3")), "a barrier question offers Nothing in the way");
        // "Nothing really, all good this week": no category asked, no step asked.
        let fifth = answer(bot, pat, "Nothing really, all good this week", "Question 5 of 5").await;
        let which = answer(bot, pat, ANSWERS[4], "Which of your steps is answer 5 about?").await;
        let mark = bot.emu.call_count();
        click(bot, pat, &which, &button_id(&which, "about:4:plan")).await;
        let reflection = bot_dm(bot, pat, mark, "Here is what I heard").await;
        let heard = reflection.content().unwrap_or_default().to_owned();
        assert!(heard.contains("3. What has moved") && heard.contains("(left out)"), "{heard}");
        assert!(fifth.content().is_some());
        assert!(!button_ids(&reflection).iter().any(|id| id.ends_with("shareall")), "nothing left that could be shared");
        let done = click(bot, pat, &reflection, &button_id(&reflection, "confirm")).await;
        assert!(done.content.contains("1 step update and 0 barriers"), "{}", done.content);
        assert!(barriers::list(&bot.db, bot.ids.server(), None, true).await.expect("barriers").is_empty(), "nothing in the way makes no barrier");
        assert_eq!(checkins::get(&bot.db, session).await.expect("get").expect("s").status.key(), "confirmed");

        // The button says the same; `stop` ends the next check-in and deletes its draft.
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        answer(bot, pat, ANSWERS[1], "Question 3 of 5").await;
        let barrier_question = answer(bot, pat, ANSWERS[2], "Question 4 of 5").await;
        let mark = bot.emu.call_count();
        click(bot, pat, &barrier_question, &button_id(&barrier_question, "nothing:3")).await;
        bot_dm(bot, pat, mark, "Question 5 of 5").await;
        let stored = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!(stored.last().and_then(|a| a.mark.as_deref()), Some("nothing"));
        let mark = bot.emu.call_count();
        bot.emu.send_dm(pat, "Stop");
        bot_dm(bot, pat, mark, "Stopped. Nothing from this check-in was saved").await;
        let closed = checkins::get(&bot.db, session).await.expect("get").expect("s");
        assert_eq!(closed.status.key(), "skipped");
        assert!(checkins::answers(&bot.db, session).await.expect("answers").is_empty(), "the draft is deleted");
        assert!(checkins::open_for(&bot.db, UserId::new(pat)).await.expect("open").is_none());
        assert!(barriers::list(&bot.db, bot.ids.server(), None, true).await.expect("barriers").is_empty(), "`stop` is not a barrier");
    }
}

e2e! {
    /// With two open steps, a barrier said to be about "the plan as a whole" is filed on the
    /// school's plan, on no step.
    async fn a_barrier_about_the_plan_as_a_whole_is_on_no_step(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        answer(bot, pat, ANSWERS[1], "Question 3 of 5").await;
        answer(bot, pat, ANSWERS[2], "Question 4 of 5").await;
        let kinds = answer(bot, pat, ANSWERS[3], "What kind of barrier").await;
        let mark = bot.emu.call_count();
        click(bot, pat, &kinds, &button_id(&kinds, "cat:3:time")).await;
        let which = bot_dm(bot, pat, mark, "Which of your steps is answer 4 about?").await;
        let mark = bot.emu.call_count();
        click(bot, pat, &which, &button_id(&which, "about:3:plan")).await;
        let fifth = bot_dm(bot, pat, mark, "Question 5 of 5").await;
        let which = answer(bot, pat, ANSWERS[4], "Which of your steps is answer 5 about?").await;
        let mark = bot.emu.call_count();
        click(bot, pat, &which, &button_id(&which, "about:4:plan")).await;
        let reflection = bot_dm(bot, pat, mark, "Here is what I heard").await;
        assert!(fifth.content().is_some());
        let mark = bot.emu.call_count();
        click(bot, pat, &reflection, &button_id(&reflection, "share:3")).await;
        let again = bot_dm(bot, pat, mark, "Here is what I heard").await;
        let heard = again.content().unwrap_or_default();
        assert!(heard.contains("→ a barrier on Lincoln Elementary's plan"), "{heard}");
        click(bot, pat, &again, &button_id(&again, "confirm")).await;
        let filed = barriers::list(&bot.db, bot.ids.server(), Some(plan.lincoln), true).await.expect("barriers");
        let pats: Vec<_> = filed.iter().filter(|b| b.text == ANSWERS[3]).map(|b| b.step_id).collect();
        assert_eq!(pats, [None], "on the plan, on no step");
    }
}
