//! The team feed: a school's coach turns it on to a channel; after each confirmed check-in,
//! what the person shared to the plan (never a private answer) is posted there once. Off by
//! default; `/feed off` stops one person's posts.

use coachbot::domain::ids::StepId;
use coachbot::store::outbox;
use serde_json::json;

use crate::dm::*;
use crate::e2e;
use crate::support::{Plan, TestBot};

/// Pat answers the weekly check-in about the two steps, keeps answer 2 private (so only the
/// progress on the second step, `ANSWERS[2]`, is shared) and confirms; returns the check-in's id.
async fn checkin_sharing_one_answer(bot: &TestBot, plan: &Plan) -> i64 {
    let pat = plan.pat;
    let session = start_weekly(bot, plan, pat).await;
    let reflection = answer_all_in_dm(
        bot,
        pat,
        ["Pat: partnership meetings", "Pat: notes template"],
    )
    .await;
    let mark = bot.emu.call_count();
    click(bot, pat, &reflection, &button_id(&reflection, "keep:1")).await;
    let again = bot_dm(bot, pat, mark, "Here is what I heard").await;
    let saved = click(bot, pat, &again, &button_id(&again, "confirm")).await;
    assert!(
        saved
            .content
            .contains("Saved. 1 step update and 0 barriers"),
        "{}",
        saved.content
    );
    session
}

/// The feed rows the outbox holds (posted or not).
async fn feed_rows(bot: &TestBot) -> Vec<outbox::OutboxRow> {
    outbox::all(&bot.db, bot.ids.server())
        .await
        .expect("the outbox")
        .into_iter()
        .filter(|r| r.key.starts_with("feed:"))
        .collect()
}

/// What the bot posted in `channel`.
fn posted_in(bot: &TestBot, channel: u64) -> Vec<String> {
    bot.emu
        .messages_in(channel)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}

async fn set_feed(bot: &TestBot, who: u64, channel: Option<u64>) -> coachbot::emulator::Reply {
    let mut options = vec![("school", json!("Lincoln Elementary"))];
    if let Some(channel) = channel {
        options.push(("channel", json!(channel)));
    }
    bot.command(who, bot.ids.general, "setup feed", &options)
        .await
}

e2e! {
    /// Casey turns Lincoln's feed on (a team member and someone with no role cannot); Pat
    /// confirms a check-in with one answer shared and the others private: one message in the
    /// feed channel names Pat, quotes the shared answer and the step it touched, and nothing
    /// private. Turning the feed off says so.
    async fn a_confirmed_checkin_posts_only_what_was_shared(bot) {
        let plan = bot.plan().await;
        let team_channel = bot.emu.add_text_channel(bot.ids.guild, "lincoln-team").expect("channel");
        for who in [plan.terry, bot.ids.nobody] {
            let refused = set_feed(bot, who, Some(team_channel)).await;
            assert!(refused.ephemeral);
            assert!(refused.content.contains("Only the school's coaches and admins can turn its team feed on or off")
                || refused.content.contains("no coachbot role"), "{}", refused.content);
        }
        assert!(posted_in(bot, team_channel).is_empty());
        let on = set_feed(bot, plan.casey, Some(team_channel)).await;
        assert!(on.ephemeral);
        assert!(on.content.starts_with("The team feed of **Lincoln Elementary** is on"), "{}", on.content);
        assert!(on.content.contains("never their private answers"), "{}", on.content);

        let steps: [StepId; 2] = two_steps(bot, &plan, plan.pat, "Pat:").await;
        let session = checkin_sharing_one_answer(bot, &plan).await;
        let rows = feed_rows(bot).await;
        assert_eq!(rows.len(), 1, "one post per check-in");
        assert_eq!(rows[0].key, format!("feed:{session}"));
        assert_eq!(rows[0].status, outbox::OutboxStatus::Sent);
        let posts = posted_in(bot, team_channel);
        assert_eq!(posts.len(), 1, "{posts:?}");
        let post = &posts[0];
        assert!(post.starts_with("**Pat Lee** shared from their Weekly step check-in:"), "{post}");
        assert!(post.contains(&format!("On step #{} “Pat: notes template”: {}", steps[1], ANSWERS[2])), "{post}");
        assert!(post.ends_with(&format!("Steps touched: #{}", steps[1])), "{post}");
        for private in [ANSWERS[0], ANSWERS[1], ANSWERS[3], ANSWERS[4]] {
            assert!(!post.contains(private), "a private answer reached the feed: {post}");
        }
        assert!(!post.contains("private"), "not even a count of private answers: {post}");
        assert!(post.chars().count() <= 2000);

        let off = set_feed(bot, plan.casey, None).await;
        assert!(off.content.starts_with("The team feed of **Lincoln Elementary** is off"), "{}", off.content);
        let again = set_feed(bot, plan.casey, None).await;
        assert!(again.content.contains("was already off"), "{}", again.content);
    }
}

e2e! {
    /// Without `/setup feed` nothing is posted; with the feed on, Pat's `/feed off` stops Pat's
    /// posts (and `/feed on` says what it means).
    async fn the_feed_is_off_by_default_and_feed_off_stops_a_persons_posts(bot) {
        let plan = bot.plan().await;
        let team_channel = bot.emu.add_text_channel(bot.ids.guild, "lincoln-team").expect("channel");
        two_steps(bot, &plan, plan.pat, "Pat:").await;
        let lincoln_before = posted_in(bot, bot.ids.lincoln_channel).len();
        checkin_sharing_one_answer(bot, &plan).await;
        assert!(feed_rows(bot).await.is_empty(), "off by default: nothing queued");
        let lincoln_after = posted_in(bot, bot.ids.lincoln_channel);
        assert!(lincoln_after[lincoln_before..].iter().all(|m| !m.contains(ANSWERS[2])), "{lincoln_after:?}");

        set_feed(bot, plan.casey, Some(team_channel)).await;
        let off = bot.command(plan.pat, bot.ids.general, "feed off", &[]).await;
        assert!(off.ephemeral);
        assert!(off.content.starts_with("Your check-ins are no longer posted to your school's team feed."), "{}", off.content);
        checkin_sharing_one_answer(bot, &plan).await;
        assert!(feed_rows(bot).await.is_empty(), "Pat opted out: nothing queued");
        assert!(posted_in(bot, team_channel).is_empty());

        let on = bot.command(plan.pat, bot.ids.general, "feed on", &[]).await;
        assert!(on.content.starts_with("Your check-ins are posted to your school's team feed"), "{}", on.content);
        assert!(on.content.contains("never your private answers"), "{}", on.content);
        let nobody = bot.command(bot.ids.nobody, bot.ids.general, "feed off", &[]).await;
        assert!(nobody.content.contains("no coachbot role"), "{}", nobody.content);
    }
}
