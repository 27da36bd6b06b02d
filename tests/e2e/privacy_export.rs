//! `/privacy export`: a person's own copy of what coachbot holds about them in the server, by
//! DM through the outbox: one JSON file and the same records as CSV files; nothing about anyone
//! else; audited.

use std::collections::BTreeMap;

use chrono::Duration;
use coachbot::domain::ids::UserId;
use coachbot::domain::privacy::AuditAction;
use coachbot::store::audit;
use serde_json::{Value, json};

use crate::dm::*;
use crate::e2e;
use crate::support::{TestBot, checkin_due};

const PAT_DRAFT: &str = "Tired but hopeful, the draft of an unconfirmed check-in";
const PAT_SESSION: &str = "Planning Pat's walkthrough cycle";
const PAT_AGREED: &str = "Share the walkthrough tool";
const PAT_GOAL: &str = "Give every teacher feedback within a day";
const PAT_LEVEL_NOTE: &str = "=two of three meetings held";
const TERRY_SAID: [&str; 3] = [
    "Terry arrives exhausted, a private answer",
    "Terry is drained by the bus duty rota",
    "Terry needs one free period",
];
const TERRY_SESSION: &str = "Terry's private coaching about the rota";
const TERRY_LEVEL_NOTE: &str = "Terry's view of the level";

/// Casey logs a one-to-one at Lincoln with `with`, working on `worked_on`, one agreement.
async fn log_session(bot: &TestBot, casey: u64, with: u64, worked_on: &str, agreed: &str) {
    let interaction = bot
        .emu
        .slash_command(
            casey,
            bot.ids.general,
            "session log",
            &[
                ("school", json!("Lincoln Elementary")),
                ("type", json!("one to one")),
                ("with", json!(with)),
            ],
        )
        .expect("interaction");
    let form = bot.reply(&interaction).await;
    assert_eq!(form.kind, 9, "a form opens: {:?}", form.call.body);
    let id = form
        .call
        .body
        .as_ref()
        .and_then(|b| b["data"]["custom_id"].as_str())
        .expect("modal id")
        .to_owned();
    bot.human_pause().await;
    let mark = bot.emu.call_count();
    bot.emu
        .submit_modal(
            casey,
            bot.ids.general,
            &id,
            &[
                ("worked_on", worked_on),
                ("noticed", "Noticed in the session"),
                ("agreed", agreed),
            ],
        )
        .expect("submit");
    let logged = bot
        .emu
        .next_message(&interaction, mark, crate::support::WAIT)
        .await
        .expect("a reply");
    assert!(
        logged.content.contains("Logged session"),
        "{}",
        logged.content
    );
    bot.announcements_sent().await;
}

/// Casey starts the wellbeing check-in of `person`; returns its first question.
async fn start_wellbeing(bot: &TestBot, casey: u64, person: u64) {
    let mark = bot.emu.call_count();
    let reply = bot
        .command(
            casey,
            bot.ids.general,
            "checkin start",
            &[("person", json!(person)), ("flow", json!("wellbeing"))],
        )
        .await;
    assert!(reply.content.starts_with("Started"), "{}", reply.content);
    bot_dm(bot, person, mark, "Question 1 of 3").await;
}

/// `/privacy export` as `who`, then the outbox delivered: returns the reply's text and the
/// files the DMs carried, by name, in the order sent.
async fn export(bot: &TestBot, who: u64) -> (String, Vec<(String, Vec<u8>)>) {
    let mark = bot.emu.call_count();
    let reply = bot
        .command(who, bot.ids.general, "privacy export", &[])
        .await;
    assert!(reply.ephemeral, "the reply is the caller's alone");
    let scheduler = bot.scheduler();
    for _ in 0..50 {
        scheduler
            .deliver(bot.app().now())
            .await
            .expect("the outbox delivers");
        let pending = coachbot::store::outbox::all(&bot.db, bot.ids.server())
            .await
            .expect("the outbox")
            .into_iter()
            .any(|r| r.key.starts_with("privacy-export:") && r.status == "pending");
        if !pending {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let dm = bot.emu.dm_channel_of(who).expect("a DM channel");
    let path = format!("/channels/{dm}/messages");
    let files: Vec<(String, Vec<u8>)> = bot
        .emu
        .calls_since(mark)
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == path && c.status == 200)
        .flat_map(|c| c.attachments)
        .map(|a| (a.filename.expect("a file name"), a.bytes))
        .collect();
    // The DM as the person sees it: a message per file.
    let stored = bot
        .emu
        .messages_in(dm)
        .into_iter()
        .filter(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert_eq!(stored, files.len(), "one message per file");
    (reply.content, files)
}

fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Each CSV file holds the same rows as its array in the JSON, cell for cell (formulas defused);
/// a kind without rows has no file. Returns the kinds that had a file.
fn csvs_match_json(document: &Value, files: &[(String, Vec<u8>)], prefix: &str) -> Vec<String> {
    let mut kinds = Vec::new();
    for (key, rows) in document.as_object().expect("an object") {
        let Some(rows) = rows.as_array() else {
            continue;
        };
        let name = format!("{prefix}-{}.csv", key.replace('_', "-"));
        let file = files.iter().find(|(n, _)| *n == name);
        if rows.is_empty() {
            assert!(file.is_none(), "{name}: no rows, no file");
            continue;
        }
        let (_, bytes) = file.unwrap_or_else(|| panic!("{name} is sent"));
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let headers: Vec<String> = reader
            .headers()
            .expect("a header row")
            .iter()
            .map(str::to_owned)
            .collect();
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
        assert_eq!(records.len(), rows.len(), "{name}: the same rows");
        for (row, record) in rows.iter().zip(&records) {
            let fields = row.as_object().expect("a record");
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            let mut sorted = headers.iter().collect::<Vec<_>>();
            sorted.sort();
            assert_eq!(keys, sorted, "{name}: the same columns as the JSON keys");
            for (header, cell) in headers.iter().zip(record.iter()) {
                let expected = match &fields[header] {
                    Value::Null => String::new(),
                    Value::String(s) => defused(s),
                    other => other.to_string(),
                };
                assert_eq!(cell, expected, "{name}: {header}");
            }
        }
        kinds.push(key.clone());
    }
    kinds
}

fn texts(rows: &Value, key: &str) -> Vec<String> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

e2e! {
    /// Pat (Lincoln's principal) has a history: two steps Terry added for Pat, a weekly
    /// check-in answered and shared (3 step updates, a barrier), a wellbeing check-in with one
    /// answer not yet confirmed (a draft), a level set on 12a, a one-to-one Casey logged with
    /// Pat, a growth goal and a scheduled check-in. Terry has the same kinds of things. Pat's
    /// `/privacy export` DMs one JSON file and a CSV per kind with rows: each part is exactly
    /// Pat's history, the CSVs carry the same rows (formulas defused), and no file holds
    /// Terry's or Casey's id, name, answers or session. The export is audited.
    async fn a_person_gets_everything_held_about_them_and_nothing_else(bot) {
        let plan = bot.plan().await;
        let (pat, terry, casey, general) = (plan.pat, plan.terry, plan.casey, bot.ids.general);
        let pat_steps = two_steps(bot, &plan, pat, "Pat:").await;
        two_steps(bot, &plan, terry, "Terry:").await;

        // Pat's weekly check-in, every answer shared to the plan, confirmed.
        let mark = bot.emu.call_count();
        start_weekly(bot, &plan, pat).await;
        bot_dm(bot, pat, mark, "Question 1 of 5").await;
        let reflection = answer_all_in_dm(bot, pat, ["Pat: partnership meetings", "Pat: notes template"]).await;
        let saved = share_all_and_confirm(bot, pat, &reflection).await;
        assert!(saved.content.contains("Saved. 3 step updates and 1 barrier"), "{}", saved.content);

        // Terry's wellbeing check-in, private, confirmed.
        start_wellbeing(bot, casey, terry).await;
        answer(bot, terry, TERRY_SAID[0], "Question 2 of 3").await;
        answer(bot, terry, TERRY_SAID[1], "Question 3 of 3").await;
        // Terry owns steps: the answer about resources is asked which one it is about.
        let which = answer(bot, terry, TERRY_SAID[2], "Which of your steps is answer 3 about?").await;
        let heard = choose_last_step(bot, terry, &which, "Here is what I heard").await;
        let confirmed = click(bot, terry, &heard, &button_id(&heard, "confirm")).await;
        assert!(confirmed.content.contains("Saved"), "{}", confirmed.content);

        // Pat's wellbeing check-in: one answer, not confirmed.
        start_wellbeing(bot, casey, pat).await;
        answer(bot, pat, PAT_DRAFT, "Question 2 of 3").await;

        for (who, note, level) in [(pat, PAT_LEVEL_NOTE, "Getting Better"), (terry, TERRY_LEVEL_NOTE, "Getting Started")] {
            let set = bot.command(who, general, "indicator level", &[
                ("indicator", json!("12a")), ("level", json!(level)), ("note", json!(note)),
            ]).await;
            assert!(set.content.contains("is at **"), "{}", set.content);
        }
        log_session(bot, casey, pat, PAT_SESSION, PAT_AGREED).await;
        log_session(bot, casey, terry, TERRY_SESSION, "Terry swaps the rota").await;
        let goal = bot.command(pat, general, "goal set", &[("text", json!(PAT_GOAL))]).await;
        assert!(goal.content.starts_with("Your growth goal is set"), "{}", goal.content);
        let later = bot.app().now() + Duration::days(30);
        checkin_due(bot, &plan, pat, later).await;
        checkin_due(bot, &plan, terry, later).await;

        let (said, files) = export(bot, pat).await;
        assert!(said.starts_with("I've sent your data by direct message"), "{said}");
        let today = bot.app().now().date_naive();
        let servers = coachbot::store::export::servers(&bot.db).await.expect("servers");
        let server_name = &servers.iter().find(|(id, _)| *id == bot.ids.server()).expect("the server").1;
        let prefix = format!("coachbot-my-data-{}-{today}", coachbot::export::slug(server_name));
        assert_eq!(files[0].0, format!("{prefix}.json"), "the JSON comes first");
        let document: Value = serde_json::from_slice(&files[0].1).expect("the JSON parses");

        assert_eq!(document["format"], json!(1));
        assert_eq!(document["person"], json!({ "id": pat.to_string(), "name": "Pat Lee" }));
        assert_eq!(document["server"]["id"], json!(bot.ids.guild.to_string()));
        assert!(document["exported_at"].as_str().is_some());
        let member = &document["member"][0];
        assert_eq!(member["display_name"], json!("Pat Lee"));
        let dm = bot.emu.dm_channel_of(pat).expect("a DM channel");
        assert_eq!(member["dm_channel_id"], json!(dm.to_string()));
        assert_eq!(member["dms_closed_since"], Value::Null);
        assert_eq!(document["roles"], json!([{ "role": "principal", "school": "Lincoln Elementary" }]));

        let checkins = document["checkins"].as_array().expect("checkins");
        assert_eq!(texts(&document["checkins"], "flow"), ["Weekly step check-in", "Wellbeing check"]);
        assert_eq!(texts(&document["checkins"], "status"), ["confirmed", "open"]);
        assert!(checkins.iter().all(|c| c["started_by_you"] == json!(false)));

        let answers = document["answers"].as_array().expect("answers");
        let mut expected: Vec<String> = ANSWERS.iter().map(|a| (*a).to_owned()).collect();
        expected.push(PAT_DRAFT.to_owned());
        assert_eq!(texts(&document["answers"], "answer"), expected);
        assert!(answers[..5].iter().all(|a| a["draft"] == json!(false)), "{answers:?}");
        assert!(answers[1..5].iter().all(|a| a["goes_to"] == json!("plan")), "shared to the plan: {answers:?}");
        assert_eq!((&answers[5]["draft"], &answers[5]["goes_to"]), (&json!(true), &json!("private")));
        assert_eq!(answers[3]["category"], json!("time"));

        let steps = document["steps"].as_array().expect("steps");
        assert_eq!(texts(&document["steps"], "title"), ["Pat: partnership meetings", "Pat: notes template"]);
        assert_eq!(steps.iter().map(|s| s["step_id"].clone()).collect::<Vec<_>>(), pat_steps.iter().map(|s| json!(s.get())).collect::<Vec<_>>());
        assert!(steps.iter().all(|s| s["you_own"] == json!(true) && s["you_created"] == json!(false)));

        let mut notes = texts(&document["step_updates"], "note");
        notes.sort();
        let mut expected = vec![ANSWERS[1].to_owned(), ANSWERS[2].to_owned(), format!("Next step: {}", ANSWERS[4])];
        expected.sort();
        assert_eq!(notes, expected);
        let barriers = document["barriers"].as_array().expect("barriers");
        assert_eq!(barriers.len(), 1);
        assert_eq!((&barriers[0]["text"], &barriers[0]["category"], &barriers[0]["you_raised"]), (&json!(ANSWERS[3]), &json!("time"), &json!(true)));
        assert_eq!(document["barrier_notes"], json!([]));

        let levels = document["indicator_levels"].as_array().expect("levels");
        assert_eq!(levels.len(), 1);
        assert_eq!((&levels[0]["indicator"], &levels[0]["level"], &levels[0]["note"]), (&json!("12a"), &json!("getting_better"), &json!(PAT_LEVEL_NOTE)));

        let sessions = document["coaching_sessions"].as_array().expect("sessions");
        assert_eq!(sessions.len(), 1);
        assert_eq!((&sessions[0]["worked_on"], &sessions[0]["you_were_in_it"], &sessions[0]["you_logged_it"]), (&json!(PAT_SESSION), &json!(true), &json!(false)));
        assert_eq!(texts(&document["session_agreements"], "agreed"), [PAT_AGREED]);
        assert_eq!(texts(&document["growth_goals"], "text"), [PAT_GOAL]);
        let schedules = document["schedules"].as_array().expect("schedules");
        assert_eq!(schedules.len(), 1);
        assert_eq!((&schedules[0]["flow"], &schedules[0]["created_by_you"]), (&json!("wellbeing"), &json!(false)));
        for empty in ["goal_notes", "away_periods", "opt_outs", "checkin_misses", "checkin_skips"] {
            assert_eq!(document[empty], json!([]), "{empty}");
        }

        let kinds = csvs_match_json(&document, &files, &prefix);
        assert_eq!(files.len(), 1 + kinds.len(), "the JSON and one CSV per kind with rows: {kinds:?}");
        let levels_csv = files.iter().find(|(n, _)| n.ends_with("-indicator-levels.csv")).expect("levels.csv");
        assert!(String::from_utf8_lossy(&levels_csv.1).contains(&format!("'{PAT_LEVEL_NOTE}")), "a formula is defused");

        // Nothing about anyone else, in any file.
        let mut others: Vec<String> = vec![terry.to_string(), casey.to_string(), "Terry Okafor".into(), "Casey Morgan".into(),
            "Terry:".into(), TERRY_SESSION.into(), TERRY_LEVEL_NOTE.into()];
        others.extend(TERRY_SAID.iter().map(|s| (*s).to_owned()));
        for (name, bytes) in &files {
            let text = String::from_utf8_lossy(bytes);
            for other in &others {
                assert!(!text.contains(other.as_str()), "{name} holds “{other}”");
            }
        }

        let entries = audit::list(&bot.db, bot.ids.server(), bot.app().now() - Duration::days(1), 50).await.expect("audit");
        let entry = entries.iter().find(|e| e.action == AuditAction::PrivacyExport).expect("the export is audited");
        assert_eq!((entry.actor, entry.subject, entry.with_answers), (Some(UserId::new(pat)), Some(UserId::new(pat)), true));
        assert_eq!(entry.scope, "their own records");
    }
}

e2e! {
    /// A member without any coachbot role gets a small copy: their member row, nothing else;
    /// the reply is theirs alone. Once their DMs are known to be closed, the reply says how to
    /// open them.
    async fn a_member_without_a_role_gets_a_small_copy(bot) {
        let nobody = bot.ids.nobody;
        let (said, files) = export(bot, nobody).await;
        assert!(said.starts_with("I've sent your data by direct message"), "{said}");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].ends_with(".json") && names[1].ends_with("-member.csv"), "{names:?}");
        let document: Value = serde_json::from_slice(&files[0].1).expect("the JSON parses");
        assert_eq!(document["person"]["id"], json!(nobody.to_string()));
        assert_eq!(document["member"].as_array().map(Vec::len), Some(1));
        let arrays: BTreeMap<&String, usize> = document.as_object().expect("object").iter()
            .filter_map(|(k, v)| v.as_array().map(|a| (k, a.len()))).collect();
        assert_eq!(arrays.values().sum::<usize>(), 1, "only the member row: {arrays:?}");
        assert_eq!(arrays.len(), 18, "every kind is there, empty: {arrays:?}");

        // Their DMs close: the copy meets the closed door (the outbox marks it, as for any DM),
        // and the next reply says how to open it.
        bot.emu.close_dms(nobody);
        bot.emu.expect_errors(50_007, 2);
        let reply = bot.command(nobody, bot.ids.general, "privacy export", &[]).await;
        assert!(!reply.content.contains("allow direct messages"), "not known yet: {}", reply.content);
        bot.scheduler().deliver(bot.app().now()).await.expect("the outbox delivers");
        let rows = coachbot::store::outbox::all(&bot.db, bot.ids.server()).await.expect("the outbox");
        assert!(rows.iter().any(|r| r.key.starts_with("privacy-export:") && r.status == "unreachable"), "the closed DMs are met");
        let reply = bot.command(nobody, bot.ids.general, "privacy export", &[]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("allow direct messages from server members"), "{}", reply.content);
    }
}
