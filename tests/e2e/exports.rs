//! `/export` and `coachbot export`: CSV files a standard reader parses, holding exactly the
//! rows of the school (or server) asked for; check-in answers only for the person's coach (or
//! the person); no file at all for someone without the role.

use coachbot::domain::ids::{SchoolId, ServerId, StepId, UserId};
use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use coachbot::domain::school::{SchoolName, TimeZoneName};
use coachbot::emulator::Attachment;
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::checkins::{self, NewAnswer, NewSession};
use coachbot::store::indicators;
use coachbot::store::schools::{self, SchoolSetup};
use coachbot::store::steps::{self, StepFilter};
use serde_json::json;

use crate::e2e;
use crate::support::{Plan, TestBot};

type Row = HashMap<String, String>;
type Options = Vec<(&'static str, serde_json::Value)>;

/// Every row of a CSV file, by header, read with the `csv` crate.
fn rows(bytes: &[u8]) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().expect("a header row").clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("a well-formed row");
            assert_eq!(record.len(), headers.len(), "every row has every column");
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The attached file whose name ends with `-{kind}.csv`, parsed.
fn file(files: &[Attachment], kind: &str) -> Vec<Row> {
    let suffix = format!("-{kind}.csv");
    let found = files
        .iter()
        .find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with(&suffix)))
        .unwrap_or_else(|| panic!("no {suffix} among {:?}", names(files)));
    rows(&found.bytes)
}

fn names(files: &[Attachment]) -> Vec<String> {
    files.iter().filter_map(|f| f.filename.clone()).collect()
}

fn by_id(rows: Vec<Row>, column: &str) -> HashMap<i64, Row> {
    rows.into_iter()
        .map(|r| (r[column].parse().expect("an id"), r))
        .collect()
}

/// A finished check-in with one answer, or (when `confirm` is false) one left open.
async fn checkin(bot: &TestBot, school_id: SchoolId, person: u64, answer: &str, confirm: bool) {
    let now = Utc::now();
    let session = checkins::start(
        &bot.db,
        &NewSession {
            server_id: bot.ids.server(),
            school_id,
            person_id: UserId::new(person),
            flow_id: "weekly",
            flow_title: "Weekly step check-in",
            opener: None,
            plan: &[],
            started_by: UserId::new(person),
            expires_at: now + TimeDelta::days(2),
            origin: None,
            nudge_hours: 24,
            dm_channel_id: None,
            barrier_id: None,
            steps: &[],
        },
        now,
    )
    .await
    .expect("start")
    .expect("a new session");
    let answer = NewAnswer {
        position: 1,
        purpose: "progress",
        step_id: None,
        answer,
        message_id: None,
        shared: false,
        mark: None,
    };
    checkins::record_answers(&bot.db, session.id, &[answer], now)
        .await
        .expect("answer");
    if confirm {
        assert!(
            checkins::confirm(&bot.db, &session, &[], now)
                .await
                .expect("confirm")
        );
    }
}

/// Lincoln's plan with text that needs quoting, Washington's barrier, another server's barrier,
/// and two check-ins (Terry's confirmed at Lincoln, Wendy's still open at Washington).
async fn seed(bot: &TestBot, plan: &Plan) -> StepId {
    let general = bot.ids.general;
    let added = bot
        .command(
            plan.terry,
            general,
            "step add",
            &[
                ("title", json!("Walkthroughs, \"quick\" ones — ten minutes")),
                ("indicator", json!("12a")),
                ("owner", json!(plan.terry)),
                ("owner2", json!(plan.jordan)),
                ("due", json!("in 2 weeks")),
                ("resources", json!("=2 substitute days")),
            ],
        )
        .await;
    assert!(added.content.starts_with("Added step"), "{}", added.content);
    let step = steps::list(&bot.db, bot.ids.server(), &StepFilter::default())
        .await
        .expect("steps")[0]
        .id;
    let commands: [(u64, &str, Options, &str); 4] = [
        (
            plan.jordan,
            "step update",
            vec![
                ("step", json!(step.to_string())),
                ("status", json!("in progress")),
                ("note", json!("First round done,\nthe second on Friday")),
            ],
            "is now **in progress**",
        ),
        (
            plan.terry,
            "barrier add",
            vec![
                ("text", json!("The schedule is full; \"no\" slack at all")),
                ("category", json!("time")),
                ("step", json!(step.to_string())),
            ],
            "",
        ),
        (
            plan.terry,
            "indicator level",
            vec![
                ("indicator", json!("12a")),
                ("level", json!("Getting Started")),
                ("note", json!("Two meetings held, notes shared")),
            ],
            "is at **Getting Started**",
        ),
        (
            plan.wendy,
            "barrier add",
            vec![
                ("text", json!("Washington only: the bus schedule")),
                ("category", json!("policy")),
                ("school", json!("Washington Middle")),
            ],
            "",
        ),
    ];
    for (who, command, options, expect) in commands {
        let reply = bot.command(who, general, command, &options).await;
        assert!(
            !reply.content.contains("Only") && reply.content.contains(expect),
            "{command}: {}",
            reply.content
        );
    }
    let lincoln_barrier = barriers::list(&bot.db, bot.ids.server(), Some(plan.lincoln), false)
        .await
        .expect("barriers")[0]
        .id;
    let resolved = bot
        .command(
            plan.casey,
            general,
            "barrier resolve",
            &[
                ("barrier", json!(lincoln_barrier.to_string())),
                ("note", json!("PLC time moved, twice a month")),
            ],
        )
        .await;
    assert!(
        resolved.content.contains("is resolved"),
        "{}",
        resolved.content
    );

    // Another server's records, which no export of this one may carry.
    let other_server = bot.ids.guild + 1;
    let (other, _) = schools::save(
        &bot.db,
        &SchoolSetup {
            server_id: ServerId::new(other_server),
            server_name: "Elsewhere",
            name: &SchoolName::parse("Elsewhere High").expect("a name"),
            time_zone: TimeZoneName::parse("UTC").expect("a zone"),
            channel_id: None,
        },
        Utc::now(),
    )
    .await
    .expect("another server's school");
    barriers::add(
        &bot.db,
        &NewBarrier {
            server_id: ServerId::new(other_server),
            school_id: other.id,
            step_id: None,
            category: "other",
            text: "Other server secret",
            raised_by: UserId::new(plan.terry),
        },
        Utc::now(),
        None,
    )
    .await
    .expect("another server's barrier");

    let washington = schools::find_by_name(&bot.db, bot.ids.server(), "Washington Middle")
        .await
        .expect("find")
        .expect("Washington")
        .id;
    checkin(
        bot,
        plan.lincoln,
        plan.terry,
        "We met, and agreed \"next steps\"",
        true,
    )
    .await;
    checkin(
        bot,
        washington,
        plan.wendy,
        "A draft Wendy has not confirmed",
        false,
    )
    .await;
    step
}

e2e! {
    /// The coach's export of Lincoln round-trips every row of the school (text with commas,
    /// quotes and line breaks intact, formulas defused) and carries confirmed check-in answers;
    /// an admin's export of the server has every school but no answers; the team, the principal
    /// and a member without a role get no file; `coachbot export` writes the same files.
    async fn exports_round_trip_and_answers_go_only_to_the_coach(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let step = seed(bot, &plan).await;
        let lincoln = json!("Lincoln Elementary");

        for (who, needle) in [
            (plan.terry, "Only the school's coaches and admins can export its records"),
            (plan.pat, "Only the school's coaches and admins can export its records"),
            (ids.nobody, "You have no coachbot role"),
        ] {
            let refused = bot.command(who, ids.general, "export", &[("school", lincoln.clone())]).await;
            assert!(refused.ephemeral && refused.content.contains(needle), "{}", refused.content);
            assert!(refused.call.attachments.is_empty(), "no file for a refused export");
        }
        let unknown = bot.command(plan.casey, ids.general, "export", &[("school", json!("Nowhere"))]).await;
        assert!(unknown.ephemeral && unknown.content.contains("There is no school called `Nowhere`"), "{}", unknown.content);

        // The coach's export of Lincoln.
        let reply = bot.command(plan.casey, ids.general, "export", &[("school", lincoln.clone())]).await;
        assert!(reply.ephemeral, "an export is for the one who asked");
        assert!(reply.content.contains("1 step, 2 updates, 1 barrier, 1 indicator level"), "{}", reply.content);
        assert!(reply.content.contains("1 check-in answer from confirmed check-ins"), "{}", reply.content);
        let files = reply.call.attachments.clone();
        let listed = names(&files);
        assert_eq!(listed.len(), 8, "{listed:?}");
        for (name, kind) in listed.iter().zip(["steps", "updates", "barriers", "barrier-notes", "indicator-levels", "cycle", "checkin-answers", "assessments"]) {
            assert!(name.starts_with("lincoln-elementary-") && name.ends_with(&format!("-{kind}.csv")), "{name}");
        }
        for f in &files {
            let text = String::from_utf8(f.bytes.clone()).expect("UTF-8");
            assert!(!text.contains("Washington only") && !text.contains("Other server secret"), "{text}");
            assert!(!text.contains("has not confirmed"), "an unconfirmed check-in stays private: {text}");
        }

        // Steps: every one of the school's, field for field.
        let step_rows = by_id(file(&files, "steps"), "step_id");
        let stored = steps::list(&bot.db, ids.server(), &StepFilter { school_id: Some(plan.lincoln), ..StepFilter::default() }).await.expect("steps");
        assert_eq!(step_rows.len(), stored.len());
        for s in &stored {
            let row = &step_rows[&s.id.get()];
            assert_eq!(row["school"], "Lincoln Elementary");
            assert_eq!(row["indicator"], s.indicator_id);
            assert!(!row["indicator_name"].is_empty());
            assert_eq!(row["title"], s.title);
            assert_eq!(row["status"], s.status.key());
            assert_eq!(row["due_on"], s.due_on.to_string());
            assert_eq!(row["resources"], format!("'{}", s.resources.as_deref().unwrap_or_default()), "a formula is defused");
            let mut owners: Vec<String> = steps::owners(&bot.db, s.id).await.expect("owners").iter().map(UserId::to_string).collect();
            owners.sort();
            let mut exported: Vec<String> = row["owner_ids"].split(' ').map(str::to_owned).collect();
            exported.sort();
            assert_eq!(exported, owners);
            assert_eq!(row["owners"], "Terry Okafor; Jordan Silva");
            assert_eq!(row["created_by_id"], s.created_by.to_string());
            assert_eq!(row["created_at"], time(s.created_at));
            assert_eq!(row["updated_at"], time(s.updated_at));
        }
        assert_eq!(step_rows[&step.get()]["title"], "Walkthroughs, \"quick\" ones — ten minutes");

        // Updates: the step's whole log.
        let update_rows = by_id(file(&files, "updates"), "update_id");
        let log = steps::updates(&bot.db, &stored[0]).await.expect("updates");
        assert_eq!(update_rows.len(), log.len());
        for u in &log {
            let row = &update_rows[&u.id];
            assert_eq!(row["step_id"], u.step_id.to_string());
            assert_eq!(row["kind"], u.kind);
            assert_eq!(row["author_id"], u.author_id.to_string());
            assert_eq!(row["at"], time(u.at));
            assert_eq!(row["note"], u.note.clone().unwrap_or_default());
            assert_eq!(row["old_status"], u.old_status.clone().unwrap_or_default());
            assert_eq!(row["new_status"], u.new_status.clone().unwrap_or_default());
        }
        assert!(update_rows.values().any(|r| r["note"] == "First round done,\nthe second on Friday"));

        // Barriers, resolved ones included.
        let barrier_rows = by_id(file(&files, "barriers"), "barrier_id");
        let stored = barriers::list(&bot.db, ids.server(), Some(plan.lincoln), true).await.expect("barriers");
        assert_eq!(barrier_rows.len(), stored.len());
        for b in &stored {
            let row = &barrier_rows[&b.id];
            assert_eq!(row["text"], b.text);
            assert_eq!(row["category"], b.category);
            assert_eq!(row["step_id"], b.step_id.map(|s| s.to_string()).unwrap_or_default());
            assert_eq!(row["raised_by"], "Terry Okafor");
            assert_eq!(row["raised_at"], time(b.raised_at));
            assert_eq!(row["status"], "resolved");
            assert_eq!(row["resolved_by"], "Casey Morgan");
            assert_eq!(row["resolved_at"], b.resolved_at.map(time).unwrap_or_default());
            assert_eq!(row["resolution"], b.resolution.clone().unwrap_or_default());
        }

        // Indicator levels: the history.
        let focus = indicators::find(&bot.db, ids.server(), plan.lincoln, "12a").await.expect("find").expect("12a");
        let history = indicators::history(&bot.db, &focus).await.expect("history");
        let level_rows = file(&files, "indicator-levels");
        assert_eq!(level_rows.len(), history.len());
        for (row, change) in level_rows.iter().zip(&history) {
            assert_eq!(row["indicator"], "12a");
            assert_eq!(row["level"], change.level);
            assert_eq!(row["level_label"], "Getting Started");
            assert_eq!(row["note"], change.note.clone().unwrap_or_default());
            assert_eq!(row["set_by_id"], change.set_by.to_string());
            assert_eq!(row["set_at"], time(change.set_at));
        }

        // Check-in answers: Terry's confirmed one, to his coach.
        let answers = file(&files, "checkin-answers");
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["person_id"], plan.terry.to_string());
        assert_eq!(answers[0]["answer"], "We met, and agreed \"next steps\"");
        assert_eq!(answers[0]["status"], "confirmed");

        // An admin who coaches no one: every school of this server, and no answers.
        let all = bot.command(ids.owner, ids.general, "export", &[]).await;
        assert!(all.ephemeral && all.content.contains("Check-in answers are not included"), "{}", all.content);
        let server_files = all.call.attachments.clone();
        assert_eq!(names(&server_files).len(), 7, "{:?}", names(&server_files));
        let barriers_all = file(&server_files, "barriers");
        assert_eq!(barriers_all.len(), 2);
        assert!(barriers_all.iter().any(|r| r["school"] == "Washington Middle" && r["text"] == "Washington only: the bus schedule"));
        assert!(server_files.iter().all(|f| !String::from_utf8_lossy(&f.bytes).contains("Other server secret")));

        // `coachbot export`: the same files from the command line, and a person's own answers.
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = dir.path().to_owned();
        let (url, guild, wendy) = (bot.url.clone(), ids.guild, plan.wendy);
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_coachbot"))
                .args(["export", "--server", &guild.to_string(), "--school", "Lincoln Elementary", "--out"])
                .arg(&out)
                .args(["--answers-of", &wendy.to_string()])
                .env("DATABASE_URL", &url)
                .env_remove("DISCORD_TOKEN")
                .output()
                .expect("coachbot runs")
        })
        .await
        .expect("joined");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout.lines().count(), 7, "Wendy has no answers at Lincoln: {stdout}");
        for f in files.iter().filter(|f| !names(std::slice::from_ref(f))[0].ends_with("-checkin-answers.csv")) {
            let name = f.filename.clone().expect("a name");
            let written = std::fs::read(dir.path().join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(written, f.bytes, "{name} is the same from Discord and the command line");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(dir.path().join(&name)).expect("written").permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{name}: only its owner may read it");
            }
            assert!(stdout.contains(&name), "{stdout}");
        }
        let whole = tempfile::tempdir().expect("a temp dir");
        let ambiguous = coachbot::cli::export(&bot.db, None, None, whole.path(), None).await.expect_err("two servers");
        assert!(ambiguous.to_string().contains("pick one with --server"), "{ambiguous}");
        assert_eq!(std::fs::read_dir(whole.path()).expect("dir").count(), 0, "nothing written");
        let written = coachbot::cli::export(&bot.db, Some(ids.guild), None, whole.path(), Some(plan.wendy)).await.expect("export");
        assert_eq!(written.len(), 8, "{written:?}");
        let (path, count) = &written[6];
        assert!(path.to_string_lossy().ends_with("-checkin-answers.csv") && *count == 1, "{written:?}");
        let wendys = rows(&std::fs::read(path).expect("the answers file"));
        assert_eq!(wendys.len(), 1);
        assert_eq!(wendys[0]["answer"], "A draft Wendy has not confirmed");
        assert_eq!(wendys[0]["status"], "open");
    }
}
