//! `/assessment import|list|compare` and `coachbot assessment import`: a coach imports a CSV of
//! results, reads the strengths and target areas, makes a target a focus with one click; a bad
//! file saves nothing and names each row to fix; two administrations compare with a chart.

use coachbot::domain::assessment::ResultRow;
use coachbot::domain::ids::SchoolId;
use coachbot::store::{assessments, indicators};
use serde_json::{Value, json};

use crate::e2e;
use crate::support::{Plan, TestBot};

const SAMPLE: &str = "prompts/sample-assessment.csv";

/// What a row says, without where it is stored.
fn facts(rows: &[ResultRow]) -> Vec<(String, String, u8, Option<i64>, i64)> {
    rows.iter()
        .map(|r| {
            (
                r.indicator_id.clone(),
                r.group.clone(),
                r.level.rank(),
                r.respondents,
                r.row_number,
            )
        })
        .collect()
}

/// The sample file's rows as a reader of the file sees them: (indicator, group, level, n, row).
fn sample_facts() -> Vec<(String, String, u8, Option<i64>, i64)> {
    let text = std::fs::read_to_string(SAMPLE).expect("the sample file");
    text.lines()
        .skip(1)
        .zip(2..)
        .map(|(line, row)| {
            let cells: Vec<&str> = line.split(',').collect();
            let level = [
                "Getting Aware",
                "Getting Ready",
                "Getting Started",
                "Getting Better",
                "Keep Improving",
            ]
            .iter()
            .position(|l| *l == cells[3])
            .expect("a level name") as u8
                + 1;
            (
                cells[0].to_owned(),
                cells[1].to_owned(),
                level,
                cells[2].parse().ok(),
                row,
            )
        })
        .collect()
}

async fn import(
    bot: &TestBot,
    user: u64,
    file_name: &str,
    bytes: &[u8],
    options: &[(&str, Value)],
) -> coachbot::emulator::Reply {
    let file = bot.emu.upload(file_name, bytes);
    let mut all = vec![("file", json!(file))];
    all.extend(options.iter().cloned());
    bot.command(user, bot.ids.general, "assessment import", &all)
        .await
}

async fn saved(bot: &TestBot, school: SchoolId) -> usize {
    assessments::list(&bot.db, bot.ids.server(), school)
        .await
        .expect("list")
        .len()
}

e2e! {
    /// The coach imports the sample file: the reply names the strength (11) and the targets
    /// (12b, 12a) with their levels, the rows stored are the file's, and **Make focus** makes
    /// 12b a focus (12a already is one). A team member cannot import.
    async fn import_names_strengths_and_targets_and_make_focus_adds_one(bot) {
        let Plan { lincoln, casey, terry, .. } = bot.plan().await;
        let bytes = std::fs::read(SAMPLE).expect("the sample file");
        let school = ("school", json!("Lincoln Elementary"));

        let refused = import(bot, terry, "sample-assessment.csv", &bytes, std::slice::from_ref(&school)).await;
        assert!(refused.ephemeral && refused.content.contains("Only the school's coaches and coachbot admins can import"), "{}", refused.content);
        assert_eq!(saved(bot, lincoln).await, 0);

        let reply = import(bot, casey, "sample-assessment.csv", &bytes, &[
            school.clone(), ("administered", json!("2026-10-15")), ("name", json!("Fall 2026")),
        ]).await;
        assert!(reply.ephemeral);
        let text = &reply.content;
        assert!(text.contains("Imported **Fall 2026** for **Lincoln Elementary**"), "{text}");
        assert!(text.contains("3 indicators from `sample-assessment.csv`"), "{text}");
        let strengths = text.find("**Strengths**").expect("strengths");
        let targets = text.find("**Target areas**").expect("targets");
        assert!(text[strengths..targets].contains("`11` Coaching informs professional learning: 3.2 (Getting Started)"), "{text}");
        assert!(text[targets..].contains("`12b`") && text[targets..].contains(": 1.2 (Getting Aware)"), "{text}");
        assert!(text[targets..].contains("`12a`") && text[targets..].contains(": 2.2 (Getting Ready)"), "{text}");

        let (administration, rows) = assessments::latest(&bot.db, bot.ids.server(), lincoln).await.expect("latest").expect("saved");
        assert_eq!(administration.name, "Fall 2026");
        assert_eq!(administration.administered.to_string(), "2026-10-15");
        assert_eq!(facts(&rows), sample_facts(), "the rows are the file's");

        let make_12b = format!("focus:{}:12b", lincoln.get());
        let make_12a = format!("focus:{}:12a", lincoln.get());
        bot.human_pause().await;
        let (channel, message) = bot.emu.find_component(&make_12b).expect("a Make focus button for 12b");
        assert!(bot.emu.find_component(&make_12a).is_some(), "a button for each target");
        let click = bot.emu.click_button(casey, channel, message, &make_12b).expect("click");
        let made = bot.reply(&click).await;
        assert!(made.ephemeral && made.content.contains("is now a focus indicator of **Lincoln Elementary**"), "{}", made.content);
        bot.announcements_sent().await;
        let focus: Vec<String> = indicators::for_school(&bot.db, bot.ids.server(), lincoln).await.expect("focus")
            .into_iter().map(|f| f.indicator_id).collect();
        assert!(focus.contains(&"12b".to_owned()), "{focus:?}");
        let again = bot.reply(&bot.emu.click_button(casey, channel, message, &make_12a).expect("click")).await;
        assert!(again.content.contains("is already a focus indicator"), "{}", again.content);

        // The same name again is refused, and nothing more is saved.
        let twice = import(bot, casey, "again.csv", &bytes, &[school, ("name", json!("fall 2026"))]).await;
        assert!(twice.content.contains("already has an assessment called") || twice.content.contains("Nothing"), "{}", twice.content);
        assert_eq!(saved(bot, lincoln).await, 1);
        let listed = bot.command(casey, bot.ids.general, "assessment list", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(listed.text().contains("**Fall 2026** · given Thu 15 Oct 2026"), "{}", listed.text());
        // A school's name typed by hand in another case is the same school.
        let typed = bot.command(casey, bot.ids.general, "assessment list", &[("school", json!("lincoln ELEMENTARY"))]).await;
        assert_eq!(typed.text(), listed.text());

        // The export carries the rows, defused.
        let export = bot.command(casey, bot.ids.general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let file = export.call.attachments.iter().find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with("-assessments.csv"))).expect("assessments.csv");
        let mut reader = csv::Reader::from_reader(file.bytes.as_slice());
        assert_eq!(reader.records().count(), rows.len());
    }
}

e2e! {
    /// Each bad file is refused with the row to fix, and nothing is saved: an unknown
    /// indicator, level 7, a repeated row, an empty file, a file that is not UTF-8, 2 MiB.
    async fn bad_files_are_refused_row_by_row_and_save_nothing(bot) {
        let Plan { lincoln, casey, .. } = bot.plan().await;
        let school = ("school", json!("Lincoln Elementary"));
        let cases: [(&str, Vec<u8>, &[&str]); 6] = [
            ("unknown.csv", b"indicator,level\n11,3\n13,2\n".to_vec(), &["row 3: `13` is not an indicator", "11, 12a, 12b"]),
            ("seven.csv", b"indicator,level\n11,3\n12a,7\n".to_vec(), &["row 3: level `7` is out of range"]),
            ("twice.csv", b"indicator,group,level\n11,teachers,3\n12a,,2\n11,Teachers,4\n".to_vec(), &["row 4: repeats row 2"]),
            ("empty.csv", Vec::new(), &["The file is empty"]),
            ("latin1.csv", b"indicator,group,level\n11,,3\n12a,\xe9quipe,2\n".to_vec(), &["row 3: this is not UTF-8"]),
            ("big.csv", vec![b'1'; 2 << 20], &["the most I accept is 1 MiB"]),
        ];
        for (name, bytes, needles) in cases {
            let reply = import(bot, casey, name, &bytes, std::slice::from_ref(&school)).await;
            assert!(reply.ephemeral, "{name}");
            assert!(reply.content.contains("Nothing was imported"), "{name}: {}", reply.content);
            for needle in needles {
                assert!(reply.content.contains(needle), "{name}: {}", reply.content);
            }
            assert!(reply.content.chars().count() <= 2000);
            assert_eq!(saved(bot, lincoln).await, 0, "{name}: nothing saved");
        }
        let rows = assessments::list_all(&bot.db, bot.ids.server()).await.expect("all");
        assert!(rows.is_empty());
    }
}

e2e! {
    /// Two administrations: the principal's compare shows each indicator's change and which
    /// focus indicators moved, with a PNG chart named for the school and the later date.
    /// Another school's team member cannot compare Lincoln's.
    async fn compare_shows_the_change_per_indicator_with_a_chart(bot) {
        let Plan { casey, pat, wendy, .. } = bot.plan().await;
        let school = ("school", json!("Lincoln Elementary"));
        let fall = std::fs::read(SAMPLE).expect("the sample file");
        import(bot, casey, "fall.csv", &fall, &[school.clone(), ("administered", json!("2026-10-15")), ("name", json!("Fall 2026"))]).await;
        let winter = b"Indicator,Score (of 4)\n11,2\n12A,3.5\n12b,0.5\n";
        let second = import(bot, casey, "winter.csv", winter, &[school.clone(), ("administered", json!("2026-11-20")), ("name", json!("Winter check"))]).await;
        assert!(second.content.contains("Imported **Winter check**"), "{}", second.content);

        let refused = bot.command(wendy, bot.ids.general, "assessment compare", std::slice::from_ref(&school)).await;
        assert!(refused.ephemeral && refused.content.contains("Only Lincoln Elementary's"), "{}", refused.content);
        assert!(refused.call.attachments.is_empty());

        let reply = bot.command(pat, bot.ids.general, "assessment compare", &[school]).await;
        assert!(reply.ephemeral);
        let text = reply.text();
        assert!(text.contains("Lincoln Elementary: Fall 2026 → Winter check"), "{text}");
        assert!(text.contains("`11` Coaching informs professional learning: 3.2 (Getting Started) → 3 (Getting Started) ↓"), "{text}");
        assert!(text.contains("`12a`") && text.contains("2.2 (Getting Ready) → 5 (Keep Improving) ↑"), "{text}");
        assert!(text.contains("1.2 (Getting Aware) → 1 (Getting Aware) ↓"), "{text}");
        assert!(text.contains("↑ `12a` moved up"), "the focus indicator's move: {text}");
        let png = reply.call.attachments.iter().find(|f| f.filename.as_deref() == Some("lincoln-elementary-compare-2026-11-20.png")).expect("the chart, named for the school and date");
        let decoded = png::Decoder::new(std::io::Cursor::new(png.bytes.clone())).read_info().expect("a PNG");
        assert!(decoded.info().width >= 800 && decoded.info().height > 200);
    }
}

e2e! {
    /// `coachbot assessment import` reads the sample file into the same rows as the command.
    async fn the_command_line_saves_the_same_rows_as_the_command(bot) {
        let Plan { lincoln, casey, .. } = bot.plan().await;
        let bytes = std::fs::read(SAMPLE).expect("the sample file");
        import(bot, casey, "sample-assessment.csv", &bytes, &[("school", json!("Lincoln Elementary")), ("administered", json!("2026-10-15"))]).await;
        let options = coachbot::cli::ImportOptions {
            server: None, school: "Washington Middle", administered: chrono::NaiveDate::from_ymd_opt(2026, 10, 15),
            name: None, scale: None, by: 0,
        };
        let printed = coachbot::cli::import_assessment(&bot.db, std::path::Path::new(SAMPLE), &options, chrono::Utc::now()).await.expect("imported");
        assert!(printed.contains("Imported Fall 2026 for Washington Middle") && printed.contains("Target areas"), "{printed}");
        let schools = coachbot::store::schools::list(&bot.db, bot.ids.server()).await.expect("schools");
        let washington = schools.iter().find(|s| s.name == "Washington Middle").expect("Washington").id;
        let (by_command, command_rows) = assessments::latest(&bot.db, bot.ids.server(), lincoln).await.expect("latest").expect("saved");
        let (by_cli, cli_rows) = assessments::latest(&bot.db, bot.ids.server(), washington).await.expect("latest").expect("saved");
        assert_eq!(facts(&command_rows), facts(&cli_rows));
        assert_eq!((by_command.name.as_str(), by_cli.name.as_str()), ("Fall 2026", "Fall 2026"));
        let again = coachbot::cli::import_assessment(&bot.db, std::path::Path::new(SAMPLE), &options, chrono::Utc::now()).await.expect("a second, under the dated name");
        assert!(again.contains("Imported Assessment 2026-10-15"), "{again}");
        let bad = tempfile::NamedTempFile::new().expect("a temp file");
        std::fs::write(bad.path(), "indicator,level\n99,3\n").expect("written");
        let refused = coachbot::cli::import_assessment(&bot.db, bad.path(), &options, chrono::Utc::now()).await.expect_err("refused");
        assert!(format!("{refused:#}").contains("row 2: `99` is not an indicator"), "{refused:#}");
    }
}
