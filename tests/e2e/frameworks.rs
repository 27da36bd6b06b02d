//! A district's own framework: reloads that would orphan records are refused, large ones
//! load with a reply that fits, processes see a reload at once and parse a file only when it
//! changed; "which school?" fits a message however many schools there are; framework text a
//! spreadsheet would run is defused in the export.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use coachbot::domain::assessment::ResultRow;
use coachbot::domain::framework::{Framework, Level};
use coachbot::domain::ids::UserId;
use coachbot::domain::school::{SchoolName, TimeZoneName};
use coachbot::emulator::Reply;
use coachbot::store::assessments::{self, Imported, NewAdministration};
use coachbot::store::frameworks::{self, Frameworks, Loaded, NewFramework};
use coachbot::store::schools::{self, SchoolSetup};
use serde_json::json;

use crate::e2e;
use crate::support::TestBot;

const SHIPPED: &str = include_str!("../../prompts/framework.toml");

/// Loads `text` as the server's framework, as its owner (an admin) would.
async fn load(bot: &TestBot, text: &str) -> Reply {
    let file = bot.emu.upload("district.toml", text.as_bytes());
    bot.command(
        bot.ids.owner,
        bot.ids.general,
        "setup framework",
        &[("file", json!(file))],
    )
    .await
}

/// A framework file of `practices` × `per_practice` indicators with long ids.
fn large_framework(practices: usize, per_practice: usize) -> String {
    let mut file = String::from("name = \"Riverbend district rubric\"\n");
    for p in 0..practices {
        file.push_str(&format!(
            "[[practice]]\nid = \"p{p}\"\nname = \"Practice {p}\"\narea = \"Area\"\nsummary = \"What it is.\"\n"
        ));
        for i in 0..per_practice {
            file.push_str(&format!(
                "[[practice.indicator]]\nid = \"rb-{p:02}-{i:02}-indicator\"\nname = \"Indicator {p}.{i}\"\n[practice.indicator.levels]\n"
            ));
            for level in Level::ALL {
                file.push_str(&format!(
                    "{} = \"What {} looks like.\"\n",
                    level.key(),
                    level.label()
                ));
            }
        }
    }
    file
}

type Row = HashMap<String, String>;

fn csv_rows(bytes: &[u8]) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().expect("a header row").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

e2e! {
    /// Lincoln focuses on 12a, with a step and a level record, and its Fall 2026 assessment
    /// has results on 12a and 11. A framework without 12a, or without 11, is refused, listing
    /// what uses it, and the stored framework stays as it was; one that keeps both (12a in
    /// capitals) and drops 12c, which nothing uses, loads.
    async fn a_reload_that_drops_an_indicator_in_use_is_refused(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let added = bot.command(plan.terry, general, "step add", &[
            ("title", json!("Draft the partnership agenda")), ("indicator", json!("12a")),
            ("owner", json!(plan.terry)), ("due", json!("in 2 weeks")),
        ]).await;
        assert!(added.content.starts_with("Added step"), "{}", added.content);
        let levelled = bot.command(plan.terry, general, "indicator level", &[
            ("indicator", json!("12a")), ("level", json!("Getting Ready")),
        ]).await;
        assert!(levelled.content.contains("Getting Ready"), "{}", levelled.content);
        let first = SHIPPED.replace("id = \"12b\"", "id = \"12c\"");
        assert!(load(bot, &first).await.content.contains("Loaded and saved"));
        let result = |row_number: i64, indicator: &str| ResultRow {
            row_number, indicator_id: indicator.to_owned(), group: String::new(),
            level: Level::GettingStarted, score: None, scale_max: None, respondents: None,
        };
        let imported = assessments::save(&bot.db, &NewAdministration {
            server_id: bot.ids.server(), school_id: plan.lincoln, name: "Fall 2026",
            administered: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date"),
            file_name: "fall.csv", imported_by: UserId::new(plan.casey),
        }, &[result(1, "12a"), result(2, "11")], Utc::now()).await.expect("imported");
        assert!(matches!(imported, Imported::Saved(_)));

        let without = first.replace("id = \"12a\"", "id = \"12z\"");
        let reply = load(bot, &without).await;
        assert!(reply.ephemeral);
        assert!(reply.content.contains("was not loaded, and nothing was saved"), "{}", reply.content);
        assert!(reply.content.contains("leaves out 1 indicator that is in use"), "{}", reply.content);
        assert!(reply.content.contains("• `12a`: focus of **Lincoln Elementary** (1 step, 1 level record); assessment *Fall 2026* of **Lincoln Elementary**"), "{}", reply.content);
        assert!(reply.content.contains("Keep those indicator ids in the file"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").as_deref(), Some(first.as_str()));
        let shown = bot.command(plan.terry, general, "indicator show", &[("indicator", json!("12a"))]).await;
        assert!(shown.text().contains("Leader partnerships"), "{}", shown.text());
        // 11 is used by the assessment alone.
        let reply = load(bot, &first.replace("id = \"11\"", "id = \"11x\"")).await;
        assert!(reply.content.contains("• `11`: assessment *Fall 2026* of **Lincoln Elementary**"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").as_deref(), Some(first.as_str()));

        // Keeping 12a (in capitals) and dropping 12c, which nothing uses, is fine.
        let kept = SHIPPED.replace("id = \"12a\"", "id = \"12A\"").replace("id = \"12b\"", "id = \"12d\"");
        let reply = load(bot, &kept).await;
        assert!(reply.content.contains("Loaded and saved") && reply.content.contains("12d"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").as_deref(), Some(kept.as_str()));
    }
}

e2e! {
    /// A framework of 60 indicators with long ids: the reply fits one message, says it was
    /// saved (and it was), and counts the ids it could not show.
    async fn a_framework_of_sixty_indicators_loads_with_a_reply_that_fits(bot) {
        let text = large_framework(6, 10);
        assert_eq!(Framework::parse(&text).expect("valid").indicators().count(), 60);
        let reply = load(bot, &text).await;
        assert!(reply.ephemeral);
        assert!(reply.content.chars().count() <= 2000, "{} characters", reply.content.chars().count());
        assert!(reply.content.contains("Loaded and saved **Riverbend district rubric**: 6 practices and 60 indicators"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").as_deref(), Some(text.as_str()));
        // The next command works with it.
        let listed = bot.command(bot.ids.owner, bot.ids.general, "indicator list", &[]).await;
        assert!(listed.text().contains("rb-00-00-indicator"), "{}", listed.text());

        // Twice as many: the ids that do not fit are counted, and where to see them said.
        let text = large_framework(12, 10);
        let reply = load(bot, &text).await;
        assert!(reply.content.chars().count() <= 2000, "{} characters", reply.content.chars().count());
        assert!(reply.content.contains("12 practices and 120 indicators"), "{}", reply.content);
        assert!(reply.content.contains("more; `/indicator list` shows them all"), "{}", reply.content);
        assert_eq!(frameworks::source(&bot.db, bot.ids.server()).await.expect("source").as_deref(), Some(text.as_str()));
    }
}

e2e! {
    /// Thirty schools with 90-character names: "which school?" still arrives, within
    /// Discord's limit, saying how many it left out and how to find them.
    async fn which_school_fits_a_message_with_thirty_long_school_names(bot) {
        for i in 0..30 {
            let name = format!("{i:02} {}", "Longfellow Academy of Science and the Arts ".repeat(3));
            let name = SchoolName::parse(&name.chars().take(90).collect::<String>()).expect("a name");
            schools::save(&bot.db, &SchoolSetup {
                server_id: bot.ids.server(),
                server_name: "Riverbend District",
                name: &name,
                time_zone: TimeZoneName::parse("America/Chicago").expect("a zone"),
                channel_id: None,
            }, Utc::now()).await.expect("a school");
        }
        let reply = bot.command(bot.ids.owner, bot.ids.general, "indicator focus", &[("indicator", json!("12a"))]).await;
        assert!(reply.ephemeral);
        assert!(reply.content.chars().count() <= 2000, "{} characters", reply.content.chars().count());
        assert!(reply.content.contains("add the `school` option to say which (00 Longfellow"), "{}", reply.content);
        assert!(reply.content.contains("more; start typing in the `school` box to find the others"), "{}", reply.content);
    }
}

e2e! {
    /// Two processes on one database: each parses the server's framework once and reuses it
    /// while it is unchanged; a reload by one is seen by the other at its next use, even when
    /// both loads carry the same time.
    async fn a_parsed_framework_is_kept_until_the_stored_one_changes(bot) {
        let server = bot.ids.server();
        let (a, b) = (Frameworks::new(Framework::parse(SHIPPED).expect("shipped")), Frameworks::new(Framework::parse(SHIPPED).expect("shipped")));
        let default = a.of(&bot.db, server).await.expect("framework");
        assert!(Arc::ptr_eq(&default, a.default_framework()), "no file loaded: the default");

        let save = |text: String, at: chrono::DateTime<Utc>| async move {
            let parsed = Framework::parse(&text).expect("valid");
            let loaded = frameworks::save(&bot.db, &NewFramework {
                server_id: server, server_name: "Riverbend District", source: &text,
                parsed: &parsed, loaded_by: UserId::new(bot.ids.owner),
            }, at).await.expect("saved");
            assert_eq!(loaded, Loaded::Saved);
        };
        let at = Utc::now();
        save(SHIPPED.replace("id = \"12b\"", "id = \"12c\""), at).await;
        let first = a.of(&bot.db, server).await.expect("framework");
        assert!(first.indicator("12c").is_some());
        let again = a.of(&bot.db, server).await.expect("framework");
        assert!(Arc::ptr_eq(&first, &again), "unchanged: parsed once, reused");
        let other = b.of(&bot.db, server).await.expect("framework");
        assert!(other.indicator("12c").is_some());

        // Reloaded (by the bot, at the very same time): both processes see it next time.
        save(SHIPPED.replace("id = \"12b\"", "id = \"12e\""), at).await;
        for process in [&a, &b] {
            let now = process.of(&bot.db, server).await.expect("framework");
            assert!(now.indicator("12e").is_some() && now.indicator("12c").is_none(), "the reload is seen");
            assert!(!Arc::ptr_eq(&now, &first));
        }
        // And the running bot's own commands use it.
        let listed = bot.command(bot.ids.owner, bot.ids.general, "indicator list", &[]).await;
        assert!(listed.text().contains("`12e`"), "{}", listed.text());
        let reply = load(bot, &SHIPPED.replace("id = \"12b\"", "id = \"12f\"")).await;
        assert!(reply.content.contains("Loaded and saved"), "{}", reply.content);
        let listed = bot.command(bot.ids.owner, bot.ids.general, "indicator list", &[]).await;
        assert!(listed.text().contains("`12f`") && !listed.text().contains("`12e`"), "{}", listed.text());
    }
}

e2e! {
    /// A framework whose indicator id and name start like spreadsheet formulas: the coach's
    /// export writes them with a leading `'` in the steps and indicator-levels files.
    async fn framework_text_is_defused_in_the_export(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let own = SHIPPED
            .replace("id = \"12b\"", "id = \"@12b\"")
            .replace("name = \"Instructional coaching\"", "name = \"=SUM(1,2) coaching\"");
        let reply = load(bot, &own).await;
        assert!(reply.content.contains("Loaded and saved"), "{}", reply.content);
        let name = Framework::parse(&own).expect("valid").indicator("@12b").expect("@12b").name.clone();
        assert!(name.starts_with('='), "{name}");
        let focused = bot.command(plan.terry, general, "indicator focus", &[("indicator", json!("@12b"))]).await;
        assert!(focused.content.contains("now focuses on"), "{}", focused.content);
        bot.command(plan.terry, general, "indicator level", &[("indicator", json!("@12b")), ("level", json!("Getting Started"))]).await;
        let added = bot.command(plan.terry, general, "step add", &[
            ("title", json!("Form the teacher team")), ("indicator", json!("@12b")),
            ("owner", json!(plan.terry)), ("due", json!("in 2 weeks")),
        ]).await;
        assert!(added.content.starts_with("Added step"), "{}", added.content);

        let reply = bot.command(plan.casey, general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let files = reply.call.attachments.clone();
        for kind in ["steps", "indicator-levels"] {
            let suffix = format!("-{kind}.csv");
            let file = files.iter().find(|f| f.filename.as_deref().is_some_and(|n| n.ends_with(&suffix))).expect("the file");
            let rows = csv_rows(&file.bytes);
            let row = rows.iter().find(|r| r["indicator"].contains("12b")).unwrap_or_else(|| panic!("a 12b row in {kind}: {rows:?}"));
            assert_eq!(row["indicator"], "'@12b", "{kind}");
            assert_eq!(row["indicator_name"], format!("'{name}"), "{kind}");
        }
    }
}
