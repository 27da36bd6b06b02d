//! A barrier deep-dive about a barrier already on the plan: its root causes are noted on that
//! barrier (no new barrier), `/barrier show` lists them to those who read the school's plan,
//! and a deep-dive that cannot be about the barrier named is refused with nothing written or
//! sent.

use coachbot::domain::ids::UserId;
use coachbot::domain::plan::BarrierNoteKind;
use coachbot::store::{barriers, checkins};
use serde_json::json;

use crate::dm::{answer, bot_dm, button_id, click, seen_message};
use crate::e2e;
use crate::support::TestBot;

/// What Pat says underneath the barrier, in order: two reflections, a resource, a next step.
const DEEP: [&str; 4] = [
    "Cover duty is assigned on the day, so the block is the first thing to go",
    "The cover rota was built in June, before the team met at all",
    "Our deputy built last year's rota and knows the constraints",
    "Ask the deputy for half an hour on Thursday",
];

/// Names a barrier as `user` at their school; returns its number.
async fn name_barrier(bot: &TestBot, user: u64, text: &str) -> i64 {
    let reply = bot
        .command(
            user,
            bot.ids.general,
            "barrier add",
            &[("text", json!(text)), ("category", json!("time"))],
        )
        .await;
    assert!(
        reply.content.starts_with("Barrier **#"),
        "{}",
        reply.content
    );
    barriers::list(&bot.db, bot.ids.server(), None, true)
        .await
        .expect("barriers")
        .iter()
        .map(|b| b.id)
        .max()
        .expect("a barrier")
}

/// A barrier in another server (another district, with its own school); returns its number.
async fn other_servers_barrier(bot: &TestBot) -> i64 {
    let emu = &bot.emu;
    let owner = emu.add_user("Olga Elsewhere");
    let other = emu.add_guild("Hillside District", owner);
    let there = emu.add_text_channel(other, "general").expect("channel");
    emu.wait_for_call(0, std::time::Duration::from_millis(200), |_| false)
        .await;
    let reply = bot
        .command(
            owner,
            there,
            "setup school",
            &[
                ("name", json!("Hillside Elementary")),
                ("time_zone", json!("America/Chicago")),
            ],
        )
        .await;
    assert!(reply.content.contains("Added"), "{}", reply.content);
    let reply = bot
        .command(
            owner,
            there,
            "barrier add",
            &[
                ("text", json!("Hillside's own barrier")),
                ("category", json!("people")),
                ("school", json!("Hillside Elementary")),
            ],
        )
        .await;
    assert!(
        reply.content.starts_with("Barrier **#"),
        "{}",
        reply.content
    );
    let server = coachbot::domain::ids::ServerId::new(other);
    barriers::list(&bot.db, server, None, true)
        .await
        .expect("barriers")[0]
        .id
}

/// Every barrier in the server.
async fn barrier_count(bot: &TestBot) -> usize {
    barriers::list(&bot.db, bot.ids.server(), None, true)
        .await
        .expect("barriers")
        .len()
}

e2e! {
    /// Casey starts a deep-dive with Pat about barrier #N. The opener quotes it, the "what is
    /// the barrier" question is left out, and after Confirm Pat's reflections are root-cause
    /// notes on #N: no new barrier. A Lincoln team member reads them in `/barrier show`; a
    /// Washington team member is told there is no such barrier.
    async fn a_deep_dive_on_a_barrier_notes_its_root_causes(bot) {
        let plan = bot.plan().await;
        let (pat, terry, casey, wendy) = (plan.pat, plan.terry, plan.casey, plan.wendy);
        let barrier = name_barrier(bot, terry, "No cover for the planning block").await;
        let before = barrier_count(bot).await;

        // The barrier box offers the open barriers of the plans the caller reads.
        let typed = bot.emu.autocomplete(casey, bot.ids.general, "checkin start", &[
            ("person", json!(pat)), ("flow", json!("barrier_deep_dive")), ("barrier", json!("planning")),
        ], "barrier").expect("autocomplete");
        let choices = bot.reply(&typed).await.choices;
        assert_eq!(choices, [(format!("#{barrier} · [time] No cover for the planning block"), json!(barrier.to_string()))]);

        let mark = bot.emu.call_count();
        let started = bot.command(casey, bot.ids.general, "checkin start", &[
            ("person", json!(pat)), ("flow", json!("barrier_deep_dive")), ("barrier", json!(format!("#{barrier}"))),
        ]).await;
        assert!(started.ephemeral);
        assert!(started.content.starts_with(&format!("Started **Barrier deep-dive** with Pat Lee in DM about barrier #{barrier}: 4 questions")), "{}", started.content);
        let first = bot_dm(bot, pat, mark, "Question 1 of 4").await;
        let text = first.content().unwrap_or_default();
        assert!(text.contains("look at one barrier on your plan: “No cover for the planning block”"), "the opener names it: {text}");
        assert!(text.contains("What do you notice is underneath this barrier?"), "{text}");
        assert!(!text.contains("What is the barrier you most want"), "{text}");

        answer(bot, pat, DEEP[0], "Question 2 of 4").await;
        answer(bot, pat, DEEP[1], "Question 3 of 4").await;
        answer(bot, pat, DEEP[2], "Question 4 of 4").await;
        let reflection = answer(bot, pat, DEEP[3], "Here is what I heard").await;
        let heard = reflection.content().unwrap_or_default();
        assert!(heard.contains(&format!("→ a root-cause note on barrier #{barrier}, seen by the Lincoln Elementary team")), "told before Confirm: {heard}");
        assert!(barriers::notes(&bot.db, bot.ids.server(), barrier).await.expect("notes").is_empty(), "nothing before Confirm");

        click(bot, pat, &reflection, &button_id(&reflection, "confirm")).await;
        let seen = seen_message(bot, pat, &reflection);
        let content = seen["content"].as_str().unwrap_or_default();
        assert!(content.contains(&format!("Saved. 2 root-cause notes on barrier #{barrier} and 0 step updates went onto your plan")), "what Pat sees: {content}");

        let session = checkins::of_person(&bot.db, bot.ids.server(), UserId::new(pat)).await.expect("sessions").remove(0);
        assert_eq!((session.status.key(), session.barrier_id), ("confirmed", Some(barrier)));
        let notes = barriers::notes(&bot.db, bot.ids.server(), barrier).await.expect("notes");
        let rows: Vec<(BarrierNoteKind, &str, UserId, Option<i64>)> = notes.iter()
            .map(|n| (n.kind, n.text.as_str(), n.author_id, n.checkin_id))
            .collect();
        assert_eq!(rows, [
            (BarrierNoteKind::RootCause, DEEP[0], UserId::new(pat), Some(session.id)),
            (BarrierNoteKind::RootCause, DEEP[1], UserId::new(pat), Some(session.id)),
        ]);
        assert_eq!(barrier_count(bot).await, before, "no new barrier");

        let shown = bot.command(terry, bot.ids.general, "barrier show", &[("barrier", json!(barrier.to_string()))]).await;
        assert!(shown.ephemeral);
        let text = shown.text();
        for expected in [
            format!("Barrier #{barrier} · time"),
            "No cover for the planning block".to_owned(),
            "**State:** open less than a day".to_owned(),
            "**Against:** the whole school (Lincoln Elementary)".to_owned(),
            "**Named by:** Terry Okafor".to_owned(),
            "raised by Terry Okafor".to_owned(),
            format!("Pat Lee: {}", DEEP[0]),
        ] {
            assert!(text.contains(&expected), "/barrier show has “{expected}”: {text}");
        }
        let (first, second) = (text.find(DEEP[0]).expect("first"), text.find(DEEP[1]).expect("second"));
        assert!(first < second, "newest last: {text}");
        assert!(!text.contains(DEEP[2]) && !text.contains(DEEP[3]), "only root causes are on the barrier: {text}");

        let export = bot.command(casey, bot.ids.general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let notes_file = export.call.attachments.iter()
            .find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with("-barrier-notes.csv")))
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .expect("the export has the barrier notes");
        assert!(notes_file.contains(DEEP[0]) && notes_file.contains(DEEP[1]), "{notes_file}");
        assert!(!notes_file.contains(DEEP[2]) && !notes_file.contains(DEEP[3]), "only the root causes: {notes_file}");

        for given in [barrier.to_string(), "#9999".to_owned()] {
            let hidden = bot.command(wendy, bot.ids.general, "barrier show", &[("barrier", json!(given))]).await;
            assert!(hidden.ephemeral);
            assert!(hidden.content.starts_with(&format!("There is no barrier `{given}` here.")), "{}", hidden.content);
            assert!(!hidden.text().contains("planning block") && !hidden.text().contains(DEEP[0]), "{}", hidden.text());
        }
    }
}

e2e! {
    /// `barrier:` is refused, with nothing written and nothing sent, when the barrier does
    /// not exist, is another school's (named as such to Lincoln's coach, unknown to a Lincoln
    /// team member who cannot read Washington's plan), or the flow is not a deep-dive.
    async fn a_deep_dive_that_cannot_be_about_the_barrier_is_refused(bot) {
        let plan = bot.plan().await;
        let (pat, terry, casey, wendy) = (plan.pat, plan.terry, plan.casey, plan.wendy);
        let lincoln = name_barrier(bot, terry, "No cover for the planning block").await;
        let washington = name_barrier(bot, wendy, "The bus timetable changed").await;
        let elsewhere_id = other_servers_barrier(bot).await;
        let settled = name_barrier(bot, terry, "The shared drive was locked").await;
        let resolved = bot.command(terry, bot.ids.general, "barrier resolve", &[("barrier", json!(format!("#{settled}"))), ("note", json!("IT unlocked it"))]).await;
        assert!(resolved.content.contains("is resolved"), "{}", resolved.content);
        let before = barrier_count(bot).await;
        let mark = bot.emu.call_count();
        let general = bot.ids.general;
        let start = |by: u64, person: u64, flow: &str, barrier: String| {
            let options = vec![("person", json!(person)), ("flow", json!(flow)), ("barrier", json!(barrier))];
            async move { bot.command(by, general, "checkin start", &options).await }
        };

        let unknown = start(casey, pat, "barrier_deep_dive", "#9999".into()).await;
        assert!(unknown.content.starts_with("There is no barrier `#9999` here."), "{}", unknown.content);
        let elsewhere = start(casey, pat, "barrier_deep_dive", format!("#{washington}")).await;
        assert!(elsewhere.content.contains(&format!("Barrier #{washington} is in Washington Middle's plan, and this check-in with Pat Lee is about Lincoln Elementary")), "{}", elsewhere.content);
        let other_server = start(casey, pat, "barrier_deep_dive", format!("#{elsewhere_id}")).await;
        assert!(other_server.content.starts_with(&format!("There is no barrier `#{elsewhere_id}` here.")), "{}", other_server.content);
        let shown = bot.command(casey, general, "barrier show", &[("barrier", json!(format!("#{elsewhere_id}")))]).await;
        assert!(shown.ephemeral && shown.content.starts_with(&format!("There is no barrier `#{elsewhere_id}` here.")), "{}", shown.content);
        assert!(!shown.text().contains("Hillside"), "{}", shown.text());
        let unreadable = start(terry, terry, "barrier_deep_dive", washington.to_string()).await;
        assert!(unreadable.content.starts_with(&format!("There is no barrier `{washington}` here.")), "not revealed: {}", unreadable.content);
        let on_resolved = start(casey, pat, "barrier_deep_dive", format!("#{settled}")).await;
        assert!(on_resolved.content.starts_with(&format!("Barrier #{settled} was resolved on ")) && on_resolved.content.contains("/barrier add"), "{}", on_resolved.content);
        let weekly = start(casey, pat, "weekly", format!("#{lincoln}")).await;
        assert!(weekly.content.contains("**Weekly step check-in** is not about one barrier") && weekly.content.contains("*Barrier deep-dive*"), "{}", weekly.content);
        for refused in [&unknown, &elsewhere, &other_server, &unreadable, &on_resolved, &weekly] {
            assert!(refused.ephemeral, "{}", refused.content);
        }

        for person in [pat, terry] {
            let sessions = checkins::of_person(&bot.db, bot.ids.server(), UserId::new(person)).await.expect("sessions");
            assert!(sessions.is_empty(), "no check-in was started: {sessions:?}");
        }
        assert_eq!(barrier_count(bot).await, before);
        for barrier in [lincoln, washington, settled] {
            assert!(barriers::notes(&bot.db, bot.ids.server(), barrier).await.expect("notes").is_empty());
        }
        let sent: Vec<String> = bot.emu.calls_since(mark).iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/channels/"))
            .map(|c| c.path.clone())
            .collect();
        assert!(sent.is_empty(), "nothing was sent to anyone: {sent:?}");
    }
}
