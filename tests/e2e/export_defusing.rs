//! No cell of any export file can run as a spreadsheet formula, whoever wrote its text: a
//! district's framework whose indicator id and name start like formulas, carried through a
//! focus, a step, a level and an imported assessment, and what people typed.

use serde_json::json;

use crate::e2e;

const SHIPPED: &str = include_str!("../../prompts/framework.toml");

/// How a cell may not start unless it is a number coachbot wrote (a negative score, say).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

e2e! {
    /// Indicator `=12b` named "=SUM(1,2) coaching": Terry focuses on it, sets a level and adds
    /// a step whose title starts with `-`; the coach imports an assessment on it with a group
    /// and a name that start with `@` and `+`, and exports. Every cell of every CSV file (the
    /// header rows too) starts with something else than `=`, `+`, `-`, `@`, a tab or a
    /// carriage return unless it is a number; the formula text is there, behind a `'`.
    async fn no_cell_of_any_export_file_starts_like_a_formula(bot) {
        let plan = bot.plan().await;
        let general = bot.ids.general;
        let own = SHIPPED
            .replace("id = \"12b\"", "id = \"=12b\"")
            .replace("name = \"Instructional coaching\"", "name = \"=SUM(1,2) coaching\"");
        let file = bot.emu.upload("district.toml", own.as_bytes());
        let loaded = bot.command(bot.ids.owner, general, "setup framework", &[("file", json!(file))]).await;
        assert!(loaded.content.contains("Loaded and saved"), "{}", loaded.content);

        let focused = bot.command(plan.terry, general, "indicator focus", &[("indicator", json!("=12b"))]).await;
        assert!(focused.content.contains("now focuses on"), "{}", focused.content);
        let level = bot.command(plan.terry, general, "indicator level", &[
            ("indicator", json!("=12b")), ("level", json!("Getting Started")), ("note", json!("+1 walkthrough")),
        ]).await;
        assert!(!level.content.is_empty() || !level.embeds.is_empty(), "{level:?}");
        let added = bot.command(plan.terry, general, "step add", &[
            ("title", json!("-2 subs for the team")), ("indicator", json!("=12b")),
            ("owner", json!(plan.terry)), ("due", json!("in 2 weeks")),
        ]).await;
        assert!(added.content.starts_with("Added step"), "{}", added.content);
        let results = b"indicator,group,n,level\n=12b,@teachers,24,Getting Started\n";
        let upload = bot.emu.upload("results.csv", results);
        let imported = bot.command(plan.casey, general, "assessment import", &[
            ("file", json!(upload)), ("school", json!("Lincoln Elementary")),
            ("administered", json!("2026-10-15")), ("name", json!("+Fall 2026")),
        ]).await;
        assert!(imported.content.contains("Imported"), "{}", imported.content);

        let export = bot.command(plan.casey, general, "export", &[("school", json!("Lincoln Elementary"))]).await;
        let files = &export.call.attachments;
        assert!(files.len() >= 7, "{}", export.content);
        let mut seen = Vec::new();
        for file in files {
            let name = file.filename.clone().unwrap_or_default();
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(file.bytes.as_slice());
            for record in reader.records() {
                let record = record.unwrap_or_else(|e| panic!("{name}: {e}"));
                for cell in record.iter() {
                    assert!(
                        !cell.starts_with(FORMULA_STARTS) || cell.parse::<f64>().is_ok(),
                        "{name}: the cell `{cell}` would run as a formula"
                    );
                    seen.push((name.clone(), cell.to_owned()));
                }
            }
        }
        let has = |suffix: &str, text: &str| seen.iter().any(|(n, c)| n.ends_with(suffix) && c == text);
        for kind in ["-steps.csv", "-indicator-levels.csv", "-assessments.csv"] {
            assert!(has(kind, "'=12b"), "the indicator id in {kind}");
            assert!(has(kind, "'=SUM(1,2) coaching"), "the indicator name in {kind}");
        }
        assert!(has("-steps.csv", "'-2 subs for the team"));
        assert!(has("-indicator-levels.csv", "'+1 walkthrough"));
        assert!(has("-assessments.csv", "'@teachers") && has("-assessments.csv", "'+Fall 2026"));
    }
}
