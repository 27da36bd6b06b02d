//! The check-in conversation as a test drives it: steps to ask about, a weekly check-in
//! started by the coach, the person's DMs and clicks, and what each becomes.

use coachbot::domain::ids::{StepId, UserId};
use coachbot::emulator::RecordedCall;
use coachbot::store::barriers;
use coachbot::store::checkins;
use coachbot::store::steps::{self, StepFilter};
use serde_json::{Value, json};

use crate::support::{Plan, TestBot, WAIT};

/// The answers the tests give, in order of the weekly flow's questions for two open steps.
pub const ANSWERS: [&str; 5] = [
    "We met twice as a team and agreed the agenda",
    "The first partnership meeting is booked for the 4th",
    "Two teachers volunteered to pilot the notes template",
    "Not enough time in the schedule to meet",
    "Book the library for Tuesday's meeting",
];

/// Two steps owned by `owner`, added by a team member; returns their ids in due order.
pub async fn two_steps(bot: &TestBot, plan: &Plan, owner: u64, prefix: &str) -> [StepId; 2] {
    let mut ids = Vec::new();
    for (title, due) in [
        ("partnership meetings", "in 1 week"),
        ("notes template", "in 3 weeks"),
    ] {
        let reply = bot
            .command(
                plan.terry,
                bot.ids.general,
                "step add",
                &[
                    ("title", json!(format!("{prefix} {title}"))),
                    ("indicator", json!("12a")),
                    ("owner", json!(owner)),
                    ("due", json!(due)),
                ],
            )
            .await;
        assert!(reply.content.starts_with("Added step"), "{}", reply.content);
        let all = steps::list(&bot.db, bot.ids.server(), &StepFilter::default())
            .await
            .expect("steps");
        ids.push(all.iter().map(|s| s.id).max().expect("a step"));
    }
    [ids[0], ids[1]]
}

/// Starts the weekly check-in for `person` as the coach; returns the session id.
pub async fn start_weekly(bot: &TestBot, plan: &Plan, person: u64) -> i64 {
    let reply = bot
        .command(
            plan.casey,
            bot.ids.general,
            "checkin start",
            &[("person", json!(person)), ("flow", json!("weekly"))],
        )
        .await;
    assert!(reply.ephemeral);
    assert!(
        reply
            .content
            .starts_with("Started **Weekly step check-in**"),
        "{}",
        reply.content
    );
    checkins::open_for(&bot.db, UserId::new(person))
        .await
        .expect("open")
        .expect("a session")
        .id
}

/// The bot's next DM to `person` (after `mark`) whose text contains `needle`.
pub async fn bot_dm(bot: &TestBot, person: u64, mark: usize, needle: &str) -> RecordedCall {
    let dm = bot.emu.dm_channel_of(person).expect("a DM channel");
    let path = format!("/channels/{dm}/messages");
    let wanted = needle.to_owned();
    bot.emu
        .wait_for_call(mark, WAIT, move |c| {
            c.method == "POST" && c.path == path && c.content().is_some_and(|t| t.contains(&wanted))
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no DM containing “{needle}”; sent: {:?}",
                bot.emu
                    .calls_since(mark)
                    .iter()
                    .filter_map(|c| c.content().map(str::to_owned))
                    .collect::<Vec<_>>()
            )
        })
}

/// The person answers in DM; returns the bot's next prompt containing `next`.
pub async fn answer(bot: &TestBot, person: u64, text: &str, next: &str) -> RecordedCall {
    let mark = bot.emu.call_count();
    bot.emu.send_dm(person, text);
    bot_dm(bot, person, mark, next).await
}

/// Clicks a button on a message the bot sent, and waits for the answer to the click.
pub async fn click(
    bot: &TestBot,
    person: u64,
    prompt: &RecordedCall,
    custom_id: &str,
) -> coachbot::emulator::Reply {
    let dm = bot.emu.dm_channel_of(person).expect("a DM channel");
    let message: u64 = prompt
        .response
        .as_ref()
        .and_then(|r| r["id"].as_str())
        .and_then(|s| s.parse().ok())
        .expect("a message id");
    let interaction = bot
        .emu
        .click_button(person, dm, message, custom_id)
        .expect("click");
    bot.reply(&interaction).await
}

/// The id of the message a bot call posted.
pub fn message_id(call: &RecordedCall) -> u64 {
    call.response
        .as_ref()
        .and_then(|r| r["id"].as_str())
        .and_then(|s| s.parse().ok())
        .expect("a message id")
}

/// The message `posted` as `person` sees it now, after every edit.
pub fn seen_message(bot: &TestBot, person: u64, posted: &RecordedCall) -> Value {
    let dm = bot.emu.dm_channel_of(person).expect("a DM channel");
    let id = message_id(posted).to_string();
    bot.emu
        .messages_seen_by(dm, person)
        .into_iter()
        .find(|m| m["id"] == json!(id))
        .expect("the message is still there")
}

pub fn button_id(call: &RecordedCall, starting: &str) -> String {
    button_ids(call)
        .into_iter()
        .find(|id| id.contains(starting))
        .unwrap_or_else(|| panic!("no button {starting} on {:?}", call.body))
}

/// Answers the whole weekly flow in DM up to the reflection; returns the reflection message.
pub async fn answer_all_in_dm(bot: &TestBot, person: u64, titles: [&str; 2]) -> RecordedCall {
    answer(
        bot,
        person,
        ANSWERS[0],
        // The indicator by its id and its name in the framework.
        &format!(
            "Question 2 of 5**\nWhat has happened with “{}” (12a Leader partnerships, due",
            titles[0]
        ),
    )
    .await;
    answer(
        bot,
        person,
        ANSWERS[1],
        &format!("Question 3 of 5**\nWhat has happened with “{}”", titles[1]),
    )
    .await;
    answer(bot, person, ANSWERS[2], "Question 4 of 5").await;
    let kinds = answer(bot, person, ANSWERS[3], "What kind of barrier").await;
    let mark = bot.emu.call_count();
    let chosen = click(bot, person, &kinds, &button_id(&kinds, "cat:3:time")).await;
    assert_eq!(chosen.kind, 6, "the click is acknowledged before the work");
    let seen = seen_message(bot, person, &kinds);
    let content = seen["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("Noted: a **time** barrier"),
        "the person sees the choice on the question: {content}"
    );
    assert_eq!(
        seen["components"],
        json!([]),
        "the category buttons are gone"
    );
    let which = bot_dm(bot, person, mark, "Which of your steps is answer 4 about?").await;
    let question = choose_last_step(bot, person, &which, "Question 5 of 5").await;
    assert!(question.content().is_some());
    let which = answer(
        bot,
        person,
        ANSWERS[4],
        "Which of your steps is answer 5 about?",
    )
    .await;
    choose_last_step(bot, person, &which, "Here is what I heard").await
}

/// Answers "which step is that about?" with the person's last open step; returns the bot's
/// next DM containing `next`.
pub async fn choose_last_step(
    bot: &TestBot,
    person: u64,
    which: &RecordedCall,
    next: &str,
) -> RecordedCall {
    let ids = button_ids(which);
    let last = ids
        .iter()
        .rfind(|id| id.contains(":about:") && !id.ends_with(":plan"))
        .expect("a button per step")
        .clone();
    let mark = bot.emu.call_count();
    click(bot, person, which, &last).await;
    bot_dm(bot, person, mark, next).await
}

/// Every button id on a message the bot sent.
pub fn button_ids(call: &RecordedCall) -> Vec<String> {
    call.body
        .as_ref()
        .and_then(|b| b["components"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

pub async fn outcomes_of(
    bot: &TestBot,
    step_ids: [StepId; 2],
) -> (Vec<Vec<String>>, Vec<(Option<usize>, String, String)>) {
    let mut notes = Vec::new();
    for id in step_ids {
        let step = steps::get(&bot.db, bot.ids.server(), id)
            .await
            .expect("get")
            .expect("step");
        notes.push(
            steps::updates(&bot.db, &step)
                .await
                .expect("updates")
                .into_iter()
                .filter(|u| u.kind == "progress")
                .filter_map(|u| u.note)
                .collect(),
        );
    }
    let barriers = barriers::list(&bot.db, bot.ids.server(), None, true)
        .await
        .expect("barriers")
        .into_iter()
        .filter(|b| b.step_id.is_some_and(|s| step_ids.contains(&s)))
        .map(|b| {
            (
                b.step_id
                    .and_then(|s| step_ids.iter().position(|x| *x == s)),
                b.category,
                b.text,
            )
        })
        .collect();
    (notes, barriers)
}

/// Shares every answer to the plan on the reflection, then confirms the reflection sent
/// again; returns the answer to Confirm.
pub async fn share_all_and_confirm(
    bot: &TestBot,
    person: u64,
    reflection: &RecordedCall,
) -> coachbot::emulator::Reply {
    let again = share_all(bot, person, reflection).await;
    click(bot, person, &again, &button_id(&again, "confirm")).await
}

/// Shares every answer to the plan on the reflection; returns the reflection sent again.
pub async fn share_all(bot: &TestBot, person: u64, reflection: &RecordedCall) -> RecordedCall {
    let mark = bot.emu.call_count();
    click(bot, person, reflection, &button_id(reflection, "shareall")).await;
    bot_dm(bot, person, mark, "Here is what I heard").await
}
