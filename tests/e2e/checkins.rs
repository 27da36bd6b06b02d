//! Check-ins in DM: one question at a time, barrier categories, the reflection, Confirm,
//! a restart in the middle, and the form path.

use coachbot::domain::ids::UserId;
use coachbot::emulator::RecordedCall;
use coachbot::store::checkins;
use serde_json::json;
use std::time::Duration;

use crate::dm::*;
use crate::e2e;
use crate::support::{TestBot, WAIT};

e2e! {
    /// A principal with two open steps answers the weekly check-in in DM. Nothing is saved to
    /// the plan until Confirm; then progress, the barrier and the next step are rows.
    async fn the_weekly_checkin_becomes_updates_after_confirm(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        let steps = two_steps(bot, &plan, pat, "Pat:").await;
        let mark = bot.emu.call_count();
        let session = start_weekly(bot, &plan, pat).await;
        let first = bot_dm(bot, pat, mark, "Question 1 of 5").await;
        let text = first.content().unwrap_or_default();
        assert!(text.starts_with("Hi Pat Lee, this is your weekly check-in for Lincoln Elementary"), "the opener comes first: {text}");
        assert!(text.contains("what has moved for you and the team?"), "{text}");
        assert_eq!(first.body.as_ref().expect("body")["allowed_mentions"]["parse"], json!([]));

        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        let heard = reflection.content().unwrap_or_default().to_owned();
        for said in ANSWERS {
            assert!(heard.contains(&format!("“{said}”")), "the reflection quotes “{said}”: {heard}");
        }
        assert!(heard.contains("(time)"), "{heard}");

        // Before Confirm: answers are kept, the plan is untouched.
        assert_eq!(checkins::answers(&bot.db, session).await.expect("answers").len(), 5);
        let (notes, barriers) = outcomes_of(bot, steps).await;
        assert!(notes.iter().all(Vec::is_empty), "{notes:?}");
        assert!(barriers.is_empty(), "{barriers:?}");

        let reflection = share_all(bot, pat, &reflection).await;
        let saved = click(bot, pat, &reflection, &button_id(&reflection, "confirm")).await;
        assert!(saved.content.contains("Saved. 3 step updates and 1 barrier"), "{}", saved.content);
        // The follow-up buttons replace Confirm: "in 2 weeks" comes back to the last step.
        let follow = saved.components.iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
            .find(|id| id.ends_with("fu:14"))
            .expect("a follow-up button");
        let dm = bot.emu.dm_channel_of(pat).expect("dm");
        let reflection_id: u64 = reflection.response.as_ref().and_then(|r| r["id"].as_str()).and_then(|s| s.parse().ok()).expect("id");
        bot.human_pause().await;
        let interaction = bot.emu.click_button(pat, dm, reflection_id, &follow).expect("click");
        let scheduled = bot.reply(&interaction).await;
        assert!(scheduled.content.contains("I will check in with you again on"), "{}", scheduled.content);
        let followup = coachbot::store::schedules::list(&bot.db, bot.ids.server(), None).await.expect("list").pop().expect("a follow-up");
        assert_eq!((followup.step_id, followup.person_id, followup.flow_id.as_deref()), (Some(steps[1]), Some(UserId::new(pat)), Some("step_followup")));
        let (notes, barriers) = outcomes_of(bot, steps).await;
        assert_eq!(notes[0], [ANSWERS[1]]);
        assert_eq!(notes[1], [ANSWERS[2].to_owned(), format!("Next step: {}", ANSWERS[4])]);
        assert_eq!(barriers, [(Some(1), "time".to_owned(), ANSWERS[3].to_owned())]);
        let stored = checkins::get(&bot.db, session).await.expect("get").expect("session");
        assert_eq!(stored.status.key(), "confirmed");

        // Answers never reach a channel.
        for call in bot.emu.calls() {
            if call.path.starts_with(&format!("/channels/{}", bot.ids.lincoln_channel)) {
                let body = call.body.map(|b| b.to_string()).unwrap_or_default();
                assert!(ANSWERS.iter().all(|a| !body.contains(a)), "a check-in answer was posted: {body}");
            }
        }
    }
}

e2e! {
    /// The second check-in's first question quotes the next step named in the first.
    async fn the_second_checkin_quotes_the_last_next_step(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        start_weekly(bot, &plan, pat).await;
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        click(bot, pat, &reflection, &button_id(&reflection, "confirm")).await;

        let mark = bot.emu.call_count();
        start_weekly(bot, &plan, pat).await;
        let first = bot_dm(bot, pat, mark, "Question 1 of 5").await;
        let text = first.content().unwrap_or_default();
        assert!(text.contains(&format!("Last time, your next step was: “{}”. What has moved since then?", ANSWERS[4])), "{text}");
    }
}

e2e! {
    /// The bot stops after question 2 and starts again: question 3 comes next, nothing is
    /// asked twice, and the DM sent while it was down is recorded as the answer.
    async fn a_restart_mid_checkin_resumes_at_the_next_question(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;

        bot.stop().await;
        let missed = bot.emu.send_dm(pat, ANSWERS[1]);
        assert!(bot.emu.missed().iter().any(|(t, _)| t == "MESSAGE_CREATE"), "the DM went out while the bot was down");
        let mark = bot.emu.call_count();
        bot.start().await;
        bot_dm(bot, pat, mark, "Question 3 of 5").await;

        let answers = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1].answer, ANSWERS[1]);
        assert_eq!(answers[1].message_id, Some(missed as i64));
        let dm = bot.emu.dm_channel_of(pat).expect("dm");
        let asked = |n: usize| {
            bot.emu.messages_in(dm).iter()
                .filter(|m| m["content"].as_str().is_some_and(|c| c.contains(&format!("Question {n} of 5"))))
                .count()
        };
        // Give a duplicate the chance to appear before counting.
        bot.emu.wait_for_call(bot.emu.call_count(), std::time::Duration::from_millis(300), |_| false).await;
        assert_eq!((asked(1), asked(2), asked(3)), (1, 1, 1), "each question was asked once");
        answer(bot, pat, ANSWERS[2], "Question 4 of 5").await;
    }
}

e2e! {
    /// The form (a modal) produces the same rows as the DM path for the same answers.
    async fn the_form_gives_the_same_rows_as_the_dm(bot) {
        let plan = bot.plan().await;
        let (pat, terry) = (plan.pat, plan.terry);
        let pat_steps = two_steps(bot, &plan, pat, "Pat:").await;
        let terry_steps = two_steps(bot, &plan, terry, "Terry:").await;

        start_weekly(bot, &plan, pat).await;
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        share_all_and_confirm(bot, pat, &reflection).await;
        let by_dm = outcomes_of(bot, pat_steps).await;

        let mark = bot.emu.call_count();
        start_weekly(bot, &plan, terry).await;
        let first = bot_dm(bot, terry, mark, "Question 1 of 5").await;
        let form = click(bot, terry, &first, &button_id(&first, "form:0")).await;
        assert_eq!(form.kind, 9, "a form opens: {:?}", form.call.body);
        let data = &form.call.body.as_ref().expect("body")["data"];
        let inputs: Vec<String> = data["components"].as_array().into_iter().flatten()
            .filter_map(|row| row["components"][0]["custom_id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(inputs, ["q0", "q1", "q2", "q3", "q4"]);
        let fields: Vec<(&str, &str)> = inputs.iter().map(String::as_str).zip(ANSWERS).collect();
        let dm = bot.emu.dm_channel_of(terry).expect("dm");
        let mark = bot.emu.call_count();
        bot.emu.submit_modal(terry, dm, data["custom_id"].as_str().expect("modal id"), &fields).expect("submitted");
        let kinds = bot_dm(bot, terry, mark, "What kind of barrier").await;
        let mark = bot.emu.call_count();
        click(bot, terry, &kinds, &button_id(&kinds, "cat:3:time")).await;
        let which = bot_dm(bot, terry, mark, "Which of your steps is answer 4 about?").await;
        let which = choose_last_step(bot, terry, &which, "Which of your steps is answer 5 about?").await;
        let reflection = choose_last_step(bot, terry, &which, "Here is what I heard").await;
        share_all_and_confirm(bot, terry, &reflection).await;
        let by_form = outcomes_of(bot, terry_steps).await;

        assert_eq!(by_dm, by_form);
        assert_eq!(by_form.1.len(), 1);
    }
}

e2e! {
    /// Correct lets the person change one answer before confirming.
    async fn correct_changes_one_answer(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        let steps = two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        let choose = click(bot, pat, &reflection, &button_id(&reflection, "correct")).await;
        assert!(choose.content.contains("Which answer"), "{}", choose.content);
        let fix = choose.components.iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
            .find(|id| id.ends_with("fix:4"))
            .expect("a button for answer 5");
        let dm = bot.emu.dm_channel_of(pat).expect("dm");
        // The choice message is the interaction's reply: click on it where it was stored.
        let stored = bot.emu.messages_in(dm).into_iter().rev()
            .find(|m| m["content"].as_str().is_some_and(|c| c.contains("Which answer")))
            .expect("the choice is in the DM");
        let id: u64 = stored["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
        let mark = bot.emu.call_count();
        let interaction = bot.emu.click_button(pat, dm, id, &fix).expect("click");
        bot.reply(&interaction).await;
        bot_dm(bot, pat, mark, "What should answer 5 say instead?").await;
        let again = answer(bot, pat, "Book the hall instead", "Here is what I heard").await;
        assert!(again.content().unwrap_or_default().contains("“Book the hall instead”"));
        // What Pat sees: the newest reflection in the DM carries the corrected answer (a new
        // message, not the first reflection returned again for a reused nonce).
        let seen = bot.emu.messages_seen_by(dm, pat);
        let reflections: Vec<&str> = seen.iter()
            .filter_map(|m| m["content"].as_str())
            .filter(|c| c.contains("Here is what I heard"))
            .collect();
        assert_eq!(reflections.len(), 2, "the first reflection and the corrected one: {reflections:?}");
        assert!(reflections[1].contains("“Book the hall instead”") && !reflections[0].contains("Book the hall"), "{reflections:?}");
        // The first reflection's Confirm went when Correct was clicked: only the reflection
        // Pat has now can be confirmed.
        let first_id: u64 = reflection.response.as_ref().and_then(|r| r["id"].as_str()).and_then(|s| s.parse().ok()).expect("id");
        let old_confirm = button_id(&reflection, "confirm");
        assert!(bot.emu.click_button(pat, dm, first_id, &old_confirm).is_err(), "the old Confirm is no longer on the message");
        let first = seen_message(bot, pat, &reflection);
        assert!(!first["components"].to_string().contains(&old_confirm), "{}", first["components"]);
        share_all_and_confirm(bot, pat, &again).await;
        let (notes, _) = outcomes_of(bot, steps).await;
        assert_eq!(notes[1][1], "Next step: Book the hall instead");
        assert_eq!(checkins::get(&bot.db, session).await.expect("get").expect("s").status.key(), "confirmed");
    }
}

e2e! {
    /// Answers stay between the person and their coach: the coach sees status and history,
    /// a team member and a district leader do not; skip closes the check-in unsaved.
    async fn checkins_are_private_to_the_person_and_their_coach(bot) {
        let plan = bot.plan().await;
        let (pat, terry, casey) = (plan.pat, plan.terry, plan.casey);
        let steps = two_steps(bot, &plan, pat, "Pat:").await;
        start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        let general = bot.ids.general;

        let status = bot.command(casey, general, "checkin status", &[]).await;
        assert!(status.text().contains("Pat Lee · Weekly step check-in · 1 of 5 answered"), "{}", status.text());
        assert!(!status.text().contains(ANSWERS[0]), "status shows no answers");

        let history = bot.command(casey, general, "checkin history", &[("person", json!(pat))]).await;
        assert!(history.ephemeral);
        assert!(history.text().contains(ANSWERS[0]), "the coach reads the answers: {}", history.text());
        let own = bot.command(pat, general, "checkin history", &[]).await;
        assert!(own.text().contains(ANSWERS[0]), "the person reads their own: {}", own.text());

        let refused = bot.command(terry, general, "checkin history", &[("person", json!(pat))]).await;
        assert!(refused.content.contains("Only Pat Lee and their coach"), "{}", refused.content);
        assert!(!refused.text().contains(ANSWERS[0]));
        let refused = bot.command(terry, general, "checkin start", &[("person", json!(pat)), ("flow", json!("weekly"))]).await;
        assert!(refused.content.contains("Only Pat Lee and their coach can start their check-ins"), "{}", refused.content);
        let busy = bot.command(casey, general, "checkin start", &[("person", json!(pat)), ("flow", json!("wellbeing"))]).await;
        assert!(busy.content.contains("already in the middle of a check-in"), "{}", busy.content);

        let session = checkins::open_for(&bot.db, UserId::new(pat)).await.expect("open").expect("a session").id;
        let skipped = bot.command(pat, general, "checkin skip", &[]).await;
        assert!(skipped.content.contains("Closed **Weekly step check-in**"), "{}", skipped.content);
        assert!(checkins::open_for(&bot.db, UserId::new(pat)).await.expect("open").is_none());
        // The draft goes with it: the coach sees that it was skipped, not what was half said.
        assert!(checkins::answers(&bot.db, session).await.expect("answers").is_empty(), "the draft is deleted");
        let history = bot.command(casey, general, "checkin history", &[("person", json!(pat))]).await;
        assert!(!history.text().contains(ANSWERS[0]), "{}", history.text());
        let status = bot.command(casey, general, "checkin status", &[]).await;
        assert!(status.text().contains("No check-ins are open"), "{}", status.text());
        let (notes, barriers) = outcomes_of(bot, steps).await;
        assert!(notes.iter().all(Vec::is_empty) && barriers.is_empty());
    }
}

e2e! {
    /// The gateway closes mid check-in and a DM arrives before the bot is back: after it
    /// reconnects it reads the DM it missed and asks the next question.
    async fn a_gateway_close_loses_nothing(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        let readies = bot.emu.ready_count();
        // The network stays down until the DM is sent, however quickly the bot comes back.
        let down = bot.emu.hold_gateway();
        assert!(bot.emu.close_gateway(4000));
        let mark = bot.emu.call_count();
        bot.emu.send_dm(pat, ANSWERS[1]);
        assert!(bot.emu.missed().iter().any(|(t, _)| t == "MESSAGE_CREATE"), "the DM arrived while the bot was away");
        drop(down);
        bot.emu.wait_ready(readies + 1, std::time::Duration::from_secs(30)).await.expect("the bot reconnects");
        bot_dm(bot, pat, mark, "Question 3 of 5").await;
        let answers = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1].answer, ANSWERS[1]);
    }
}

e2e! {
    /// Pat sends twenty quick DMs, one after another. Every reply the bot writes goes through
    /// the one paced way out: Pat's DM channel never gets more than 5 of the bot's messages in
    /// any 5 seconds (Discord's per-channel limit), and every DM is answered.
    async fn quick_dm_answers_are_paced_in_their_channel(bot) {
        let plan = bot.plan().await;
        start_weekly(bot, &plan, plan.pat).await;
        let dm = bot.emu.dm_channel_of(plan.pat).expect("a DM channel");
        let path = format!("/channels/{dm}/messages");
        let mark = bot.emu.call_count();
        // Quick: a DM every 100 ms, far faster than Discord lets the bot reply in one channel.
        for n in 1..=20 {
            bot.emu.send_dm(plan.pat, &format!("Answer number {n}: the rota is drafted."));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let posts = |bot: &TestBot| -> Vec<RecordedCall> {
            bot.emu
                .calls_since(mark)
                .into_iter()
                .filter(|c| c.method == "POST" && c.path == path && c.status == 200)
                .collect()
        };
        // At 5 per 5 s, twenty replies take about 20 s.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
        while posts(bot).len() < 20 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let posts = posts(bot);
        assert!(posts.len() >= 20, "every DM is answered: {} replies", posts.len());
        let window = std::time::Duration::from_secs(5);
        for (i, first) in posts.iter().enumerate() {
            let within = posts[i..].iter().filter(|p| p.at.duration_since(first.at) < window).count();
            assert!(within <= 5, "{within} replies within 5 s of reply {i}");
        }
        let span = posts[posts.len() - 1].at.duration_since(posts[0].at);
        assert!(span >= std::time::Duration::from_secs(15), "paced, not sent in a burst: {span:?}");
    }
}

e2e! {
    /// A click that must wait for the person's lock (their last answer still being saved; a
    /// slow database would do the same) is acknowledged at once, so Discord's 3 seconds are
    /// never missed; the message then shows what was saved.
    async fn a_click_is_acknowledged_in_time_while_its_work_waits(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;

        let app = bot.app();
        let held = app.checkins.turn(UserId::new(pat)).await.expect("Pat's turn");
        let dm = bot.emu.dm_channel_of(pat).expect("dm");
        bot.human_pause().await;
        let mark = bot.emu.call_count();
        let interaction = bot.emu.click_button(pat, dm, message_id(&reflection), &button_id(&reflection, "confirm")).expect("click");
        let callback = format!("/interactions/{}/{}/callback", interaction.id, interaction.token);
        let ack = bot.emu.wait_for_call(mark, WAIT, move |c| c.path == callback).await.expect("the click is answered while the lock is held");
        assert_eq!(ack.body.as_ref().map(|b| b["type"].clone()), Some(json!(6)), "a deferred update");
        assert_eq!(ack.status, 204, "in time: {:?}", ack.response);
        // Discord's clock passes the 3 seconds while the work waits: an answer given only now
        // would be refused with 10062 (and fail this test at once).
        bot.emu.advance(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(checkins::get(&bot.db, session).await.expect("get").expect("s").status.key(), "open", "nothing is saved while the lock is held");
        drop(held);

        let saved = bot.reply(&interaction).await;
        assert!(saved.content.contains("Saved. 2 step updates"), "{}", saved.content);
        let seen = seen_message(bot, pat, &reflection);
        let content = seen["content"].as_str().unwrap_or_default();
        assert!(content.contains("Here is what I heard") && content.contains("Saved. 2 step updates"), "what Pat sees: {content}");
        assert!(seen["components"].to_string().contains("fu:14"), "the follow-up buttons replace Confirm: {}", seen["components"]);
        assert_eq!(checkins::get(&bot.db, session).await.expect("get").expect("s").status.key(), "confirmed");
    }
}

e2e! {
    /// A dropped connection is resumed: the DM the person sent while the bot was away is
    /// replayed by Discord on RESUME (no new session, no catch-up through the REST API) and
    /// answered.
    async fn a_resumed_session_answers_the_dm_sent_during_the_drop(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        let (readies, resumes) = (bot.emu.ready_count(), bot.emu.resumed_count());
        // The network stays down until the DM is sent: under load the bot could otherwise be
        // back before it, and get it live instead of on RESUME.
        let down = bot.emu.hold_gateway();
        assert!(bot.emu.drop_gateway(), "the bot was connected");
        let mark = bot.emu.call_count();
        bot.emu.send_dm(pat, ANSWERS[1]);
        assert!(bot.emu.missed().iter().any(|(t, _)| t == "MESSAGE_CREATE"), "the DM arrived while the bot was away");
        drop(down);
        bot.emu.wait_resumed(resumes + 1, Duration::from_secs(30)).await.expect("the bot resumes");
        bot_dm(bot, pat, mark, "Question 3 of 5").await;
        assert!(bot.emu.missed().iter().all(|(t, _)| t != "MESSAGE_CREATE"), "the RESUME delivered the DM");
        assert_eq!(bot.emu.ready_count(), readies, "the session was resumed, not identified again");
        let read_back = bot.emu.calls_since(mark).into_iter().filter(|c| c.method == "GET" && c.path.contains("/messages")).count();
        assert_eq!(read_back, 0, "nothing was read back through the REST API");
        let answers = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1].answer, ANSWERS[1]);
    }
}

e2e! {
    /// A coach of Washington cannot start, schedule or read the check-ins of Lincoln's
    /// principal: naming Washington is refused (Pat is not one of its people), and Pat's own
    /// school is not theirs. Nothing is sent, nothing is written.
    async fn a_coach_of_another_school_cannot_reach_a_principal(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let role = bot.emu.add_role(ids.guild, "Washington coaches", coachbot::emulator::world::permissions::EVERYONE_DEFAULT).expect("role");
        let mapped = bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(role)), ("coachbot_role", json!("coach")), ("school", json!("Washington Middle")),
        ]).await;
        assert!(mapped.content.starts_with("Done"), "{}", mapped.content);
        let wes = bot.emu.add_user("Wes Washington");
        bot.emu.add_member(ids.guild, wes, &[role]).expect("member");

        // Casey, who coaches Lincoln, runs a check-in with Pat that Pat confirms.
        two_steps(bot, &plan, plan.pat, "Pat:").await;
        let session = start_weekly(bot, &plan, plan.pat).await;
        let reflection = answer_all_in_dm(bot, plan.pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        click(bot, plan.pat, &reflection, &button_id(&reflection, "confirm")).await;
        let sessions_before = checkins::of_person(&bot.db, bot.ids.server(), UserId::new(plan.pat)).await.expect("sessions").len();
        let calls_before = bot.emu.call_count();

        let named = bot.command(wes, ids.general, "checkin start", &[
            ("person", json!(plan.pat)), ("flow", json!("weekly")), ("school", json!("Washington Middle")),
        ]).await;
        assert!(named.ephemeral && named.content.contains("Pat Lee is not a principal or leadership-team member at Washington Middle"), "{}", named.content);
        let theirs = bot.command(wes, ids.general, "checkin start", &[
            ("person", json!(plan.pat)), ("flow", json!("weekly")),
        ]).await;
        assert!(theirs.ephemeral && !theirs.content.starts_with("Started"), "{}", theirs.content);
        let scheduled = bot.command(wes, ids.general, "checkin schedule", &[
            ("flow", json!("wellbeing")), ("when", json!("daily 08:00")), ("person", json!(plan.pat)), ("school", json!("Washington Middle")),
        ]).await;
        assert!(scheduled.content.contains("is not a principal or leadership-team member at Washington Middle"), "{}", scheduled.content);
        let history = bot.command(wes, ids.general, "checkin history", &[("person", json!(plan.pat))]).await;
        assert!(history.ephemeral);
        assert!(ANSWERS.iter().all(|a| !history.text().contains(a)), "no answer of Pat's reaches Washington's coach: {}", history.text());

        let sessions = checkins::of_person(&bot.db, bot.ids.server(), UserId::new(plan.pat)).await.expect("sessions");
        assert_eq!(sessions.len(), sessions_before, "no check-in was opened");
        assert!(sessions.iter().any(|s| s.id == session));
        assert!(coachbot::store::schedules::list(&bot.db, bot.ids.server(), None).await.expect("schedules").is_empty(), "no schedule was saved");
        let dm = bot.emu.dm_channel_of(plan.pat).expect("dm");
        let dmed = bot.emu.calls_since(calls_before).iter().filter(|c| c.method == "POST" && c.path == format!("/channels/{dm}/messages")).count();
        assert_eq!(dmed, 0, "Pat was not messaged");

        // Pat joins Washington's team too: a check-in there never quotes Lincoln's next step.
        let mut roles = bot.emu.member_roles(ids.guild, plan.pat).expect("Pat's roles");
        roles.extend(bot.emu.member_roles(ids.guild, plan.wendy).expect("Wendy's roles"));
        bot.emu.set_member_roles(ids.guild, plan.pat, &roles).expect("roles");
        let mark = bot.emu.call_count();
        let started = bot.command(plan.casey, ids.general, "checkin start", &[
            ("person", json!(plan.pat)), ("flow", json!("weekly")), ("school", json!("Washington Middle")),
        ]).await;
        assert!(started.content.starts_with("Started"), "{}", started.content);
        let first = bot_dm(bot, plan.pat, mark, "Question 1 of").await;
        let text = first.content().unwrap_or_default();
        assert!(text.contains("Washington Middle") && !text.contains(ANSWERS[4]), "Lincoln's next step is not quoted at Washington: {text}");
    }
}

e2e! {
    /// After a restart, a check-in whose missed DMs cannot be read (Discord fails on that
    /// channel) does not keep the others from being caught up.
    async fn catch_up_continues_past_a_checkin_that_fails(bot) {
        let plan = bot.plan().await;
        two_steps(bot, &plan, plan.pat, "Pat:").await;
        two_steps(bot, &plan, plan.terry, "Terry:").await;
        let pats = start_weekly(bot, &plan, plan.pat).await;
        let terrys = start_weekly(bot, &plan, plan.terry).await;
        assert!(pats < terrys, "Pat's check-in is caught up first");
        bot.stop().await;
        bot.emu.send_dm(plan.pat, ANSWERS[0]);
        bot.emu.send_dm(plan.terry, ANSWERS[0]);
        let pat_dm = bot.emu.dm_channel_of(plan.pat).expect("dm");
        bot.emu.inject_fault(coachbot::emulator::Fault {
            method: Some("GET".into()),
            path_prefix: format!("/channels/{pat_dm}/messages"),
            times: 3,
            kind: coachbot::emulator::FaultKind::ServerError { status: 500 },
        });
        let mark = bot.emu.call_count();
        bot.start().await;
        bot_dm(bot, plan.terry, mark, "Question 2 of").await;
        assert_eq!(checkins::answers(&bot.db, terrys).await.expect("answers").len(), 1, "Terry's answer was read");
        assert!(checkins::answers(&bot.db, pats).await.expect("answers").is_empty(), "Pat's waits for the next connection");
    }
}

e2e! {
    /// An answer longer than what it becomes on the plan is not cut: the bot says how long it
    /// is and what fits, and the question stays open until a shorter answer comes.
    async fn a_long_answer_is_asked_again_not_cut(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let session = start_weekly(bot, &plan, pat).await;
        answer(bot, pat, ANSWERS[0], "Question 2 of 5").await;
        let long = "We keep losing our planning block to cover duty. ".repeat(39);
        let said = answer(bot, pat, &long, "fewer words").await;
        let text = said.content().unwrap_or_default();
        let length = long.trim().chars().count();
        assert!(length > 1900, "a long answer, but one Discord lets through: {length}");
        assert!(text.contains(&format!("That answer is {length} characters, and what goes on the plan holds 1000")), "{text}");
        assert_eq!(checkins::answers(&bot.db, session).await.expect("answers").len(), 1, "nothing was kept of it");
        answer(bot, pat, ANSWERS[1], "Question 3 of 5").await;
        let answers = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!((answers.len(), answers[1].answer.as_str()), (2, ANSWERS[1]));
    }
}

e2e! {
    /// After a restart, a check-in with no answer yet reads only what the person wrote after
    /// its first question: a DM from before the check-in began is never taken as an answer.
    async fn catch_up_never_takes_a_dm_from_before_the_checkin(bot) {
        let plan = bot.plan().await;
        let pat = plan.pat;
        two_steps(bot, &plan, pat, "Pat:").await;
        let mark = bot.emu.call_count();
        bot.emu.send_dm(pat, "Is anyone there?");
        bot_dm(bot, pat, mark, "There is no check-in open right now").await;
        let session = start_weekly(bot, &plan, pat).await;

        bot.stop().await;
        bot.emu.send_dm(pat, ANSWERS[0]);
        let mark = bot.emu.call_count();
        bot.start().await;
        bot_dm(bot, pat, mark, "Question 2 of 5").await;
        let answers = checkins::answers(&bot.db, session).await.expect("answers");
        assert_eq!(answers.iter().map(|a| a.answer.as_str()).collect::<Vec<_>>(), [ANSWERS[0]], "only what came after the first question");
    }
}
