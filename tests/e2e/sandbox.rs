//! The sandbox's prompt drives every plan command against its seeded school.

use coachbot::sandbox::Sandbox;

async fn say(sandbox: &mut Sandbox, line: &str) -> String {
    let (text, quit) = sandbox.handle(line).await;
    assert!(!quit);
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_plan_is_worked_from_the_prompt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as terry").await;
    let listed = say(&mut sandbox, "/step list").await;
    assert!(
        listed.contains("Put monthly partnership meetings on the calendar"),
        "{listed}"
    );
    assert!(listed.contains("3 steps"), "{listed}");

    let added = say(
        &mut sandbox,
        r#"/step add title:"Share walkthrough notes with the team" indicator:12a owner:@terry owner2:@jordan due:"in 2 weeks""#,
    )
    .await;
    assert!(
        added.contains("Added step **#4 · Share walkthrough notes with the team**"),
        "{added}"
    );
    assert!(
        added.contains("coachbot → #lincoln-leadership"),
        "announced: {added}"
    );

    let form = say(
        &mut sandbox,
        "/step update step:4 status:blocked barrier_category:resources",
    )
    .await;
    assert!(form.contains("opened a form"), "{form}");
    let sent = say(
        &mut sandbox,
        r#"form barrier:"No shared drive for the notes yet""#,
    )
    .await;
    assert!(sent.contains("is now **blocked**"), "{sent}");

    let barriers = say(&mut sandbox, "/barrier list").await;
    assert!(
        barriers.contains("No shared drive for the notes yet"),
        "{barriers}"
    );
    let resolved = say(
        &mut sandbox,
        r#"/barrier resolve barrier:2 note:"IT set one up""#,
    )
    .await;
    assert!(resolved.contains("is resolved"), "{resolved}");
    let level = say(
        &mut sandbox,
        r#"/indicator level indicator:12a level:"Getting Started" note:"First meeting held""#,
    )
    .await;
    assert!(level.contains("is at **Getting Started**"), "{level}");
    let shown = say(&mut sandbox, "/step show step:4").await;
    assert!(shown.contains("planned → blocked"), "{shown}");
    assert!(
        sandbox.emu.violations().is_empty(),
        "{:?}",
        sandbox.emu.violations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkin_is_answered_with_dm_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as casey").await;
    let started = say(&mut sandbox, "/checkin start person:@pat flow:wellbeing").await;
    assert!(
        started.contains("coachbot → DM with Pat Lee") && started.contains("Question 1 of 3"),
        "{started}"
    );
    say(&mut sandbox, "as pat").await;
    let second = say(&mut sandbox, "dm Tired but hopeful").await;
    assert!(second.contains("Question 2 of 3"), "{second}");
    say(&mut sandbox, "dm The team's energy; the paperwork").await;
    let heard = say(&mut sandbox, "dm A quiet hour on Fridays").await;
    assert!(
        heard.contains("Here is what I heard") && heard.contains("“Tired but hopeful”"),
        "{heard}"
    );
    let confirm = heard
        .split_whitespace()
        .find(|w| w.starts_with("ci:") && w.ends_with(":confirm)"))
        .map(|w| w.trim_end_matches(')').to_owned())
        .expect("a Confirm button");
    let saved = say(&mut sandbox, &format!("click {confirm}")).await;
    assert!(saved.contains("Saved."), "{saved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_makes_a_schedule_fire_and_a_nudge_go_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as casey").await;
    let preview = say(
        &mut sandbox,
        r#"/checkin schedule flow:wellbeing when:"daily 08:00" person:@pat"#,
    )
    .await;
    let save = preview
        .split_whitespace()
        .find(|w| w.starts_with("schedule:") && w.ends_with(":save)"))
        .map(|w| w.trim_end_matches(')').to_owned())
        .unwrap_or_else(|| panic!("a Save button in {preview}"));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let saved = say(&mut sandbox, &format!("click {save}")).await;
    // #1 is Casey's seeded digest.
    assert!(saved.contains("Saved schedule **#2**"), "{saved}");

    // A day on: Pat's check-in, and Casey's seeded morning digest.
    let day = say(&mut sandbox, "clock +1d").await;
    assert!(
        day.contains("2 fired")
            && day.contains("DM with Casey Morgan")
            && day.contains("DM with Pat Lee")
            && day.contains("Question 1 of 3"),
        "{day}"
    );
    let next = say(&mut sandbox, "clock +1d").await;
    assert!(next.contains("A gentle nudge"), "{next}");
    assert_eq!(next.matches("A gentle nudge").count(), 1, "{next}");
}

/// A burst of changes fills the school channel's five messages in five seconds: the rest of
/// the announcements are left for later, the prompt says so, and moving the clock sends each
/// once, in the order the steps were made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_left_for_later_are_told_and_sent_when_the_clock_moves() {
    const BURST: usize = 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    let quiet = say(&mut sandbox, "as terry").await;
    assert!(!quiet.contains("for later"), "nothing waits yet: {quiet}");
    let person = |handle: &str| sandbox.demo.person(handle).expect("a demo person").user_id;
    let (terry, jordan) = (person("@terry"), person("@jordan"));
    let general = sandbox
        .demo
        .channel("#general")
        .expect("the demo's #general");
    let channel = sandbox
        .demo
        .channel("#lincoln-leadership")
        .expect("the demo's #lincoln-leadership");
    let before = sandbox.emu.messages_in(channel).len();
    // The team adds steps faster than the prompt can type them.
    for n in 0..BURST - 1 {
        let options = [
            ("title", serde_json::json!(format!("Burst step {n}"))),
            ("indicator", serde_json::json!("12a")),
            ("owner", serde_json::json!(jordan.to_string())),
            ("due", serde_json::json!("in 2 weeks")),
        ];
        let interaction = sandbox
            .emu
            .slash_command(terry, general, "step add", &options)
            .expect("the emulator builds the interaction");
        let reply = sandbox
            .emu
            .reply(&interaction, std::time::Duration::from_secs(10))
            .await
            .expect("an answer");
        assert!(reply.content.starts_with("Added step"), "{}", reply.content);
    }
    let last = say(
        &mut sandbox,
        &format!(
            r#"/step add title:"Burst step {}" indicator:12a owner:@jordan due:"in 2 weeks""#,
            BURST - 1
        ),
    )
    .await;
    assert!(last.contains("Added step"), "{last}");
    assert!(
        last.contains("messages wait for later") && last.contains("`clock +1m`"),
        "the prompt tells of what waits: {last}"
    );
    let again = say(&mut sandbox, "people").await;
    assert!(
        !again.contains("for later"),
        "told once, until the number changes: {again}"
    );
    assert!(
        sandbox.emu.messages_in(channel).len() - before < BURST,
        "the channel's limit held some back"
    );

    let moved = say(&mut sandbox, "clock +1m").await;
    assert!(moved.contains("#lincoln-leadership"), "{moved}");
    // The prompt shows each once too, though a command's own delivery (still waiting for the
    // channel's window) and the round the clock ran may both have sent one: Discord drops
    // the repeat by its nonce and answers with the first.
    for n in 0..BURST {
        let shown = moved.matches(&format!("“Burst step {n}”")).count();
        assert!(shown <= 1, "Burst step {n} shown {shown} times: {moved}");
    }
    let titles: Vec<String> = sandbox.emu.messages_in(channel)[before..]
        .iter()
        .filter_map(|m| m["content"].as_str())
        .filter_map(|c| c.split('“').nth(1))
        .filter_map(|c| c.split('”').next())
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = (0..BURST).map(|n| format!("Burst step {n}")).collect();
    assert_eq!(titles, expected, "each announced once, in order");
}

/// The morning brings Casey's digest once; the summary chart and an export are saved as files
/// that, like the sandbox's database and its write-ahead log, only their owner may read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_morning_brings_caseys_digest_and_the_summary_chart_is_saved_to_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    let morning = say(&mut sandbox, "clock morning").await;
    assert!(
        morning.contains("1 fired")
            && morning.contains("DM with Casey Morgan")
            && morning.contains("Lincoln Elementary"),
        "{morning}"
    );
    let again = say(&mut sandbox, "clock +1h").await;
    assert!(
        !again.contains("DM with Casey"),
        "one digest a morning: {again}"
    );

    say(&mut sandbox, "as casey").await;
    let preview = say(
        &mut sandbox,
        r#"/summary preview school:"Lincoln Elementary""#,
    )
    .await;
    // Named for the school and the day it shows: lincoln-elementary-summary-2026-12-01.png.
    let name = preview
        .split("[file: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no file in {preview}"))
        .to_owned();
    assert!(
        name.starts_with("lincoln-elementary-summary-20") && name.ends_with(".png"),
        "{preview}"
    );
    let chart = dir.path().join("coachbot-sandbox-files").join(&name);
    assert!(
        preview.contains(&format!("saved to {}", chart.display())),
        "{preview}"
    );
    let bytes = std::fs::read(&chart).expect("the chart was saved");
    let decoded = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    assert!(decoded.info().width >= 600);

    let exported = say(&mut sandbox, r#"/export school:"Lincoln Elementary""#).await;
    let steps = std::fs::read_dir(dir.path().join("coachbot-sandbox-files"))
        .expect("the files folder")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with("-steps.csv"))
        .unwrap_or_else(|| panic!("no steps file saved: {exported}"));
    let rows = csv::Reader::from_path(steps.path())
        .expect("a CSV file")
        .records()
        .count();
    assert_eq!(rows, 3, "the demo's three steps: {exported}");
    // On disk, only their owner may read them: the database, the chart, the export.
    #[cfg(unix)]
    for path in [
        dir.path().join("sandbox.db"),
        dir.path().join("sandbox.db-wal"),
        chart,
        steps.path(),
    ] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .expect("the file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{} is mode {mode:o}", path.display());
    }
    assert!(
        sandbox.emu.violations().is_empty(),
        "{:?}",
        sandbox.emu.violations()
    );
}

/// The sandbox's clock moves all of the bot, not only its scheduler: a step due the day after
/// tomorrow is overdue once the clock is three days on, `/step list overdue:true` says so,
/// and Casey's digest preview is dated on the sandbox's day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_moves_commands_and_previews_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as terry").await;
    let added = say(
        &mut sandbox,
        r#"/step add title:"Print the observation forms" indicator:12a owner:@terry due:"in 2 days""#,
    )
    .await;
    assert!(added.contains("Added step **#4"), "{added}");
    let overdue = say(&mut sandbox, "/step list overdue:true").await;
    assert!(
        !overdue.contains("Print the observation forms"),
        "not overdue yet: {overdue}"
    );

    let moved = say(&mut sandbox, "clock +3d").await;
    assert!(moved.contains("The sandbox's clock says"), "{moved}");
    let overdue = say(&mut sandbox, "/step list overdue:true").await;
    assert!(
        overdue.contains("Print the observation forms"),
        "overdue on the sandbox's clock: {overdue}"
    );

    say(&mut sandbox, "as casey").await;
    let preview = say(&mut sandbox, "/digest preview").await;
    let zone: chrono_tz::Tz = coachbot::sandbox::DIGEST_ZONE.parse().expect("a zone");
    let today = sandbox
        .now()
        .with_timezone(&zone)
        .format("%a %-d %b")
        .to_string();
    assert!(
        preview.contains(&format!("Coaching digest, {today}")),
        "dated on the sandbox's day ({today}): {preview}"
    );
    assert!(
        preview.contains("Print the observation forms"),
        "the overdue step is in the digest: {preview}"
    );
    assert!(
        sandbox.emu.violations().is_empty(),
        "{:?}",
        sandbox.emu.violations()
    );
}

/// A form opened by a button in DM is filled from the prompt in any channel; one Discord
/// would not send (a required field empty) stays open to fill again; the follow-up choices
/// after Confirm can be clicked and their form filled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_opened_from_dm_buttons_are_filled_from_the_prompt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as casey").await;
    say(&mut sandbox, "/checkin start person:@pat flow:weekly").await;
    say(&mut sandbox, "as pat").await;
    let form = say(&mut sandbox, "click ci:1:form:0").await;
    assert!(form.contains("opened a form"), "{form}");
    let refused = say(
        &mut sandbox,
        r#"form q0:"Met twice" q1:"Template picked" q2:"" q3:"Book the library""#,
    )
    .await;
    assert!(refused.contains("`q2` is empty"), "{refused}");
    let sent = say(
        &mut sandbox,
        r#"form q0:"Met twice" q1:"Template picked" q2:"Not enough time" q3:"Book the library""#,
    )
    .await;
    assert!(sent.contains("What kind of barrier"), "{sent}");
    let heard = say(&mut sandbox, "click ci:1:cat:2:time").await;
    assert!(
        heard.contains("Here is what I heard") && heard.contains("→ only you and Casey"),
        "{heard}"
    );
    let shared = say(&mut sandbox, "click ci:1:shareall").await;
    assert!(
        shared.contains("Every answer that can go onto the plan will")
            && shared.contains("→ a barrier on step #"),
        "the reflection is sent again with the new destinations: {shared}"
    );
    let saved = say(&mut sandbox, "click ci:1:confirm").await;
    assert!(
        saved.contains("Saved. 3 step updates and 1 barrier"),
        "{saved}"
    );
    let pick = say(&mut sandbox, "click ci:1:fu:pick").await;
    assert!(pick.contains("opened a form: Check in again"), "{pick}");
    let when = say(&mut sandbox, r#"form date:"in 3 weeks""#).await;
    assert!(when.contains("I will check in with you again on"), "{when}");
}

/// "A principal's week" from the README, line for line: the weekly check-in with its arrows,
/// the barrier shared, Confirm, the team seeing only what was shared, the coach seeing all,
/// and the follow-up a week later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principals_week_from_the_readme() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as casey").await;
    let opened = say(&mut sandbox, "/checkin start person:@pat flow:weekly").await;
    assert!(
        opened.contains(
            "everything else stays between you and your coach unless you choose to share it"
        ),
        "the first message says who will see what: {opened}"
    );
    say(&mut sandbox, "as pat").await;
    say(
        &mut sandbox,
        "dm We met twice as a team and agreed the agenda",
    )
    .await;
    say(
        &mut sandbox,
        "dm The template is picked; two teachers are piloting it",
    )
    .await;
    let kinds = say(&mut sandbox, "dm Cover duty keeps eating our PLC time").await;
    assert!(kinds.contains("click ci:1:cat:2:time"), "{kinds}");
    say(&mut sandbox, "click ci:1:cat:2:time").await;
    let heard = say(
        &mut sandbox,
        "dm Ask the office to protect Wednesday's block",
    )
    .await;
    assert!(
        heard.contains("→ step #2's log, seen by the Lincoln Elementary team")
            && heard.matches("→ only you and Casey Morgan").count() == 3,
        "{heard}"
    );
    let shared = say(&mut sandbox, "click ci:1:share:2").await;
    assert!(
        shared.contains("→ a barrier on step #2, seen by the Lincoln Elementary team"),
        "{shared}"
    );
    let saved = say(&mut sandbox, "click ci:1:confirm").await;
    assert!(
        saved.contains("Saved. 1 step update and 1 barrier went onto your plan"),
        "{saved}"
    );
    let again = say(&mut sandbox, "click ci:1:fu:7").await;
    assert!(
        again.contains("I will check in with you again on"),
        "{again}"
    );

    say(&mut sandbox, "as terry").await;
    let listed = say(&mut sandbox, "/barrier list").await;
    assert!(
        listed.contains("Cover duty keeps eating our PLC time")
            && listed.contains("named by Pat Lee"),
        "{listed}"
    );
    let step = say(&mut sandbox, "/step show step:2").await;
    assert!(step.contains("two teachers are piloting it"), "{step}");
    for private in ["agreed the agenda", "protect Wednesday's block"] {
        assert!(
            !listed.contains(private) && !step.contains(private),
            "{private}"
        );
    }

    say(&mut sandbox, "as casey").await;
    let history = say(&mut sandbox, "/checkin history person:@pat").await;
    assert!(
        history.contains("“We met twice as a team and agreed the agenda” · private")
            && history.contains(
                "“Cover duty keeps eating our PLC time” · shared as a barrier on step #2"
            ),
        "{history}"
    );

    // The follow-up is due a week on at 09:00 at Lincoln; a week and a day always passes it,
    // whatever the time of day the test starts.
    let week = say(&mut sandbox, "clock +8d").await;
    assert!(
        week.contains("What has happened with “Pick one template for coaching notes”"),
        "the follow-up arrives, about its step: {week}"
    );
    assert!(
        sandbox.emu.violations().is_empty(),
        "{:?}",
        sandbox.emu.violations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lincoln_starts_with_a_winter_break() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sandbox = Sandbox::start(&dir.path().join("sandbox.db"), true)
        .await
        .expect("the sandbox starts");
    say(&mut sandbox, "as casey").await;
    let listed = say(&mut sandbox, "/calendar list").await;
    assert!(
        listed.contains("Lincoln Elementary") && listed.contains("Winter break"),
        "{listed}"
    );
}
