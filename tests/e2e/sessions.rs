//! `/session log|list|show` and **Make it a step**: a coach logs a one-to-one with its agreed
//! next steps; who may read it (the principal, not the team unless shared, never another
//! school's coach); an agreed next step becomes one step however often it is clicked; the
//! export's `sessions.csv` goes only to that school's coach; bad input saves nothing.

use chrono::{Days, NaiveDate};
use coachbot::domain::coaching::CoachingSession;
use coachbot::domain::ids::{SchoolId, UserId};
use coachbot::emulator::{Interaction, Reply};
use coachbot::store::{coaching, steps};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::{Plan, TestBot, WAIT};

const LINCOLN: &str = "Lincoln Elementary";

/// Lincoln's today (America/Chicago) by the bot's clock.
fn today(bot: &TestBot) -> NaiveDate {
    bot.app()
        .now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive()
}

/// A coach of Washington Middle only: (the coach, their Discord role).
async fn washington_coach(bot: &TestBot) -> u64 {
    let ids = &bot.ids;
    let role = bot
        .emu
        .add_role(ids.guild, "Washington Coach", 0)
        .expect("role");
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
    let wally = bot.emu.add_user("Wally Brooks");
    bot.emu
        .add_member(ids.guild, wally, &[role])
        .expect("member");
    wally
}

/// Runs `/session log` and returns the interaction and the bot's first answer (the form, or
/// an error).
async fn log(bot: &TestBot, who: u64, options: &[(&str, Value)]) -> (Interaction, Reply) {
    let interaction = bot
        .emu
        .slash_command(who, bot.ids.general, "session log", options)
        .expect("interaction");
    let reply = bot.reply(&interaction).await;
    (interaction, reply)
}

/// Sends the session form the command opened, and returns what follows.
async fn send_form(
    bot: &TestBot,
    who: u64,
    (interaction, form): &(Interaction, Reply),
    fields: &[(&str, &str)],
) -> Reply {
    assert_eq!(form.kind, 9, "a form opens: {:?}", form.call.body);
    let id = form
        .call
        .body
        .as_ref()
        .and_then(|b| b["data"]["custom_id"].as_str())
        .expect("modal id")
        .to_owned();
    // As a person would: the form is read before it is sent (poise waits for it from when it
    // opened, a moment after Discord shows it).
    bot.human_pause().await;
    let mark = bot.emu.call_count();
    bot.emu
        .submit_modal(who, bot.ids.general, &id, fields)
        .expect("submit");
    let reply = bot
        .emu
        .next_message(interaction, mark, WAIT)
        .await
        .expect("a reply");
    bot.announcements_sent().await;
    reply
}

async fn sessions_of(bot: &TestBot, school: Option<SchoolId>) -> Vec<CoachingSession> {
    coaching::list(&bot.db, bot.ids.server(), school, 100)
        .await
        .expect("sessions")
}

async fn show(bot: &TestBot, who: u64, id: i64) -> Reply {
    bot.command(
        who,
        bot.ids.general,
        "session show",
        &[("id", json!(id.to_string()))],
    )
    .await
}

async fn list(bot: &TestBot, who: u64) -> Reply {
    bot.command(who, bot.ids.general, "session list", &[]).await
}

/// The channel and id of the message a reply created (a follow-up answers with it), or else
/// the newest message with the button `custom`.
fn message_of(bot: &TestBot, reply: &Reply, custom: &str) -> (u64, u64) {
    let number = |key: &str| {
        reply
            .call
            .response
            .as_ref()
            .and_then(|created| created[key].as_str().and_then(|v| v.parse().ok()))
    };
    match (number("channel_id"), number("id")) {
        (Some(channel), Some(id)) => (channel, id),
        _ => bot
            .emu
            .find_component(custom)
            .expect("a Make it a step button"),
    }
}

/// Clicks Make it a step for `agreement` on the message `on` (a reply only `who` sees) and
/// returns the form's id (or the answer instead).
async fn click_make(bot: &TestBot, who: u64, on: &Reply, agreement: i64) -> Result<String, Reply> {
    let custom = format!("agree:{agreement}");
    let (channel, message) = message_of(bot, on, &custom);
    let click = bot
        .emu
        .click_button(who, channel, message, &custom)
        .expect("click");
    let answer = bot.reply(&click).await;
    if answer.kind == 9 {
        Ok(answer
            .call
            .body
            .as_ref()
            .and_then(|b| b["data"]["custom_id"].as_str())
            .expect("modal id")
            .to_owned())
    } else {
        Err(answer)
    }
}

const AGREED: &str = "- Share the walkthrough tool with grade leads\n2. Draft the data-meeting agenda\n• Ask HR about substitute cover";

e2e! {
    /// Casey logs a one-to-one with Pat and three agreed next steps: the reply shows it with a
    /// Make it a step button each. Pat (the principal) reads it; Terry (team), Wally (another
    /// school's coach) and a member without a role get the same "no such session" as for a
    /// session that does not exist. Make it a step makes one step owned by Terry, announced in
    /// Lincoln's channel, even when the form is sent twice at once; show then says what became
    /// of each. The export's sessions.csv comes with Casey's export of Lincoln only.
    async fn a_one_to_one_is_private_and_its_agreements_become_steps(bot) {
        let Plan { pat, terry, casey, lincoln, .. } = bot.plan().await;
        let wally = washington_coach(bot).await;
        let ids = &bot.ids;
        let next = today(bot).checked_add_days(Days::new(14)).expect("date");
        let form = log(bot, casey, &[
            ("school", json!(LINCOLN)), ("type", json!("one to one")), ("with", json!(pat)),
        ]).await;
        assert!(sessions_of(bot, None).await.is_empty(), "nothing is saved before the form is sent");
        let logged = send_form(bot, casey, &form, &[
            ("worked_on", "Planning the walkthrough cycle for grade 3"),
            ("noticed", "Teachers ask for feedback =sooner"),
            ("agreed", AGREED),
            ("next", &next.to_string()),
        ]).await;
        assert!(logged.ephemeral, "the log is the coach's");
        let text = logged.text();
        assert!(logged.content.contains("Logged session **#"), "{text}");
        assert!(text.contains("one-to-one coaching") && text.contains("With Pat Lee"), "{text}");
        assert!(text.contains("1. Share the walkthrough tool with grade leads (not a step yet)"), "{text}");
        assert!(text.contains("3. Ask HR about substitute cover"), "{text}");
        assert!(text.contains("Planning the walkthrough cycle") && text.contains("**Next meeting:**"), "{text}");

        let stored = sessions_of(bot, Some(lincoln)).await;
        assert_eq!(stored.len(), 1);
        let session = &stored[0];
        assert_eq!((session.held_on, session.next_meeting_on, session.shared), (today(bot), Some(next), false));
        assert_eq!(session.people, [UserId::new(pat)]);
        assert_eq!(session.logged_by, UserId::new(casey));
        let agreements = coaching::agreements(&bot.db, session.id).await.expect("agreements");
        assert_eq!(agreements.iter().map(|a| a.text.as_str()).collect::<Vec<_>>(),
            ["Share the walkthrough tool with grade leads", "Draft the data-meeting agenda", "Ask HR about substitute cover"]);
        let buttons = logged.components.iter().flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["custom_id"].as_str().map(str::to_owned)).collect::<Vec<_>>();
        assert_eq!(buttons, agreements.iter().map(|a| format!("agree:{}", a.id)).collect::<Vec<_>>());
        let id = session.id.get();

        // Who reads it.
        let read = show(bot, pat, id).await;
        assert!(read.ephemeral && read.text().contains("Planning the walkthrough cycle"), "{}", read.text());
        assert!(list(bot, pat).await.text().contains(&format!("**#{id}**")), "the principal lists it");
        let nothing = show(bot, casey, 999_999).await.content;
        assert!(nothing.contains("There is no session #999999 that you can read"), "{nothing}");
        for who in [terry, wally, ids.nobody] {
            let refused = show(bot, who, id).await;
            assert!(refused.ephemeral, "refusals are private");
            assert_eq!(refused.content, nothing.replace("999999", &id.to_string()), "the same answer as for no session");
            assert!(!refused.text().contains("walkthrough"), "{}", refused.text());
        }
        for who in [terry, wally] {
            let listed = list(bot, who).await;
            assert!(!listed.text().contains(&format!("#{id}")) && listed.text().contains("No sessions you may read"), "{}", listed.text());
        }

        // Make it a step: the form sent twice at once makes one step.
        let first = agreements[0].id;
        let form_a = click_make(bot, casey, &logged, first).await.expect("a form");
        let form_b = click_make(bot, casey, &logged, first).await.expect("a second form");
        assert_eq!(form_a, form_b);
        let due = today(bot).checked_add_days(Days::new(10)).expect("date").to_string();
        let fields = [("owner", "Terry Okafor"), ("due", due.as_str()), ("indicator", "12a")];
        let general = ids.general;
        let sent_a = bot.emu.submit_modal(casey, general, &form_a, &fields).expect("submit");
        let sent_b = bot.emu.submit_modal(casey, general, &form_b, &fields).expect("submit again");
        let (made_a, made_b) = tokio::join!(bot.reply(&sent_a), bot.reply(&sent_b));
        bot.announcements_sent().await;
        let answers = [made_a.content.clone(), made_b.content.clone()];
        assert!(made_a.ephemeral && made_b.ephemeral);
        assert_eq!(answers.iter().filter(|a| a.starts_with("Made step **#")).count(), 1, "{answers:?}");
        assert_eq!(answers.iter().filter(|a| a.contains("already")).count(), 1, "{answers:?}");
        let linked = coaching::agreements(&bot.db, session.id).await.expect("agreements");
        let step_id = linked[0].step.expect("the agreement is linked to its step");
        assert!(linked[1].step.is_none() && linked[2].step.is_none());
        let step = steps::get(&bot.db, ids.server(), step_id).await.expect("get").expect("the step");
        assert_eq!((step.title.as_str(), step.indicator_id.as_str(), step.school_id), ("Share the walkthrough tool with grade leads", "12a", lincoln));
        assert_eq!(steps::owners(&bot.db, step_id).await.expect("owners"), [UserId::new(terry)]);
        let lincoln_steps = steps::list(&bot.db, ids.server(), &steps::StepFilter { school_id: Some(lincoln), owner: None, indicator_id: None, status: None, overdue_on: None }).await.expect("steps");
        assert_eq!(lincoln_steps.len(), 1, "one step, not two");
        let announced = bot.emu.calls().into_iter().filter(|c| c.method == "POST" && c.path == format!("/channels/{}/messages", ids.lincoln_channel))
            .filter_map(|c| c.body.and_then(|b| b["content"].as_str().map(str::to_owned)))
            .filter(|t| t.contains(&format!("New step #{step_id}"))).count();
        assert_eq!(announced, 1, "announced once, as /step add's are");
        let again = click_make(bot, casey, &logged, first).await.expect_err("no form for a step already made");
        assert!(again.ephemeral && again.content.contains(&format!("already step #{step_id}")), "{}", again.content);

        // An owner nobody knows, or someone without a role at Lincoln: a clear answer, no step.
        let second = agreements[1].id;
        let form_c = click_make(bot, casey, &logged, second).await.expect("a form");
        let unknown = bot.emu.submit_modal(casey, general, &form_c, &[("owner", "Someone Else"), ("due", due.as_str()), ("indicator", "12a")]).expect("submit");
        let unknown = bot.reply(&unknown).await;
        assert!(unknown.ephemeral && unknown.content.contains("I do not know who `Someone Else` is"), "{}", unknown.content);
        assert!(coaching::agreements(&bot.db, session.id).await.expect("agreements")[1].step.is_none());

        // The principal reads what became of each, and may make the others steps too.
        let read = show(bot, pat, id).await;
        assert!(read.text().contains(&format!("1. Share the walkthrough tool with grade leads → step #{step_id} (planned)")), "{}", read.text());
        assert!(read.text().contains("2. Draft the data-meeting agenda (not a step yet)"), "{}", read.text());
        let form_d = click_make(bot, pat, &read, second).await.expect("the principal's form");
        let made = bot.emu.submit_modal(pat, general, &form_d, &[("owner", "Pat Lee"), ("due", due.as_str()), ("indicator", "12a")]).expect("submit");
        let made = bot.reply(&made).await;
        assert!(made.content.starts_with("Made step **#"), "{}", made.content);
        bot.announcements_sent().await;

        // The export: sessions.csv with Casey's export of Lincoln, not with Wally's or an admin's.
        let wally_form = log(bot, wally, &[("school", json!("Washington Middle")), ("type", json!("walkthrough"))]).await;
        send_form(bot, wally, &wally_form, &[("worked_on", "Washington walkthrough notes")]).await;
        let casey_export = bot.command(casey, ids.general, "export", &[("school", json!(LINCOLN))]).await;
        let sessions_csv = attachment(&casey_export, "sessions").expect("Casey's export has sessions.csv");
        assert_eq!(sessions_csv.len(), 1, "{sessions_csv:?}");
        assert_eq!(sessions_csv[0]["worked_on"], "Planning the walkthrough cycle for grade 3");
        assert_eq!(sessions_csv[0]["with"], "Pat Lee");
        assert_eq!(sessions_csv[0]["kind"], "one_to_one");
        let agreed_csv = attachment(&casey_export, "session-agreements").expect("and its agreements");
        assert_eq!(agreed_csv.len(), 3);
        assert_eq!(agreed_csv[0]["step_id"], step_id.get().to_string());
        assert!(casey_export.content.contains("1 coaching session"), "{}", casey_export.content);
        let wally_export = bot.command(wally, ids.general, "export", &[("school", json!("Washington Middle"))]).await;
        let wallys = attachment(&wally_export, "sessions").expect("Wally's own session");
        assert!(wallys.len() == 1 && wallys[0]["worked_on"] == "Washington walkthrough notes", "{wallys:?}");
        assert!(attachments_text(&wally_export).iter().all(|t| !t.contains("Planning the walkthrough")));
        let admin_export = bot.command(ids.owner, ids.general, "export", &[]).await;
        assert!(!admin_export.call.attachments.is_empty(), "the admin gets the records");
        assert!(attachment(&admin_export, "sessions").is_none() && attachment(&admin_export, "session-agreements").is_none());
        assert!(attachments_text(&admin_export).iter().all(|t| !t.contains("Planning the walkthrough")));
    }
}

type Row = std::collections::HashMap<String, String>;

/// The rows of the export's `{kind}.csv`, if it came.
fn attachment(reply: &Reply, kind: &str) -> Option<Vec<Row>> {
    let suffix = format!("-{kind}.csv");
    let file = reply
        .call
        .attachments
        .iter()
        .find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with(&suffix)))?;
    let mut reader = csv::Reader::from_reader(file.bytes.as_slice());
    let headers = reader.headers().expect("headers").clone();
    Some(
        reader
            .records()
            .map(|r| {
                let r = r.expect("a row");
                headers
                    .iter()
                    .map(str::to_owned)
                    .zip(r.iter().map(str::to_owned))
                    .collect()
            })
            .collect(),
    )
}

fn attachments_text(reply: &Reply) -> Vec<String> {
    reply
        .call
        .attachments
        .iter()
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .collect()
}

e2e! {
    /// A session shared with the team: Terry (Lincoln's team) lists and reads it, Wendy
    /// (Washington's team) does not.
    async fn a_shared_session_is_read_by_the_team(bot) {
        let Plan { terry, wendy, casey, .. } = bot.plan().await;
        let form = log(bot, casey, &[
            ("school", json!(LINCOLN)), ("type", json!("leadership team")),
            ("share", json!("team (the leadership team reads it too)")),
        ]).await;
        let logged = send_form(bot, casey, &form, &[("worked_on", "Reviewed the 12a evidence together")]).await;
        assert!(logged.text().contains("Shared with the school's leadership team"), "{}", logged.text());
        assert!(logged.components.is_empty(), "no agreements, no buttons");
        let session = &sessions_of(bot, None).await[0];
        assert!(session.shared && session.people.is_empty());
        let id = session.id.get();
        assert!(show(bot, terry, id).await.text().contains("Reviewed the 12a evidence"));
        assert!(list(bot, terry).await.text().contains(&format!("**#{id}**")));
        assert!(show(bot, wendy, id).await.content.contains("that you can read"));
        assert!(!list(bot, wendy).await.text().contains(&format!("#{id}")));
    }
}

e2e! {
    /// Each mistake gets a clear private answer and nothing is saved: an empty "worked on",
    /// eleven agreements, a date in the future, a next meeting before the session, someone of
    /// another school as `with`; and only the school's coach may log.
    async fn bad_sessions_are_refused_and_nothing_is_saved(bot) {
        let Plan { terry, wendy, casey, .. } = bot.plan().await;
        let lincoln = || ("school", json!(LINCOLN));
        let one_to_one = || ("type", json!("one to one"));

        let blank = log(bot, casey, &[lincoln(), one_to_one()]).await;
        let blank = send_form(bot, casey, &blank, &[("worked_on", "   ")]).await;
        assert!(blank.ephemeral && blank.content.contains("what we worked on is empty"), "{}", blank.content);

        let eleven = (1..=11).map(|i| format!("Step {i}")).collect::<Vec<_>>().join("\n");
        let many = log(bot, casey, &[lincoln(), one_to_one()]).await;
        let many = send_form(bot, casey, &many, &[("worked_on", "Planning"), ("agreed", &eleven)]).await;
        assert!(many.ephemeral && many.content.contains("What we agreed has 11 lines") && many.content.contains("at most 10"), "{}", many.content);

        let future = today(bot).checked_add_days(Days::new(3)).expect("date").to_string();
        let (_, ahead) = log(bot, casey, &[lincoln(), one_to_one(), ("date", json!(future))]).await;
        assert!(ahead.kind != 9 && ahead.ephemeral && ahead.content.contains("after today"), "no form: {}", ahead.content);

        let held = today(bot).checked_sub_days(Days::new(3)).expect("date");
        let before = held.checked_sub_days(Days::new(2)).expect("date").to_string();
        let early = log(bot, casey, &[lincoln(), one_to_one(), ("date", json!(held.to_string()))]).await;
        let early = send_form(bot, casey, &early, &[("worked_on", "Planning"), ("next", &before)]).await;
        assert!(early.ephemeral && early.content.contains("is before the session itself"), "{}", early.content);

        let (_, elsewhere) = log(bot, casey, &[lincoln(), one_to_one(), ("with", json!(wendy))]).await;
        assert!(elsewhere.ephemeral && elsewhere.content.contains("does not hold a role at Lincoln Elementary"), "{}", elsewhere.content);

        let (_, team) = log(bot, terry, &[lincoln(), one_to_one()]).await;
        assert!(team.ephemeral && team.content.contains("Only the school's coaches can log its coaching sessions"), "{}", team.content);
        let (_, admin) = log(bot, bot.ids.owner, &[lincoln(), one_to_one()]).await;
        assert!(admin.ephemeral && admin.content.contains("Only the school's coaches"), "{}", admin.content);

        assert!(sessions_of(bot, None).await.is_empty(), "nothing was saved");
    }
}
