//! `/privacy forget`: a person erases what coachbot holds about them after a confirmation
//! that says what goes and what stays; an admin does it for someone who has left. Afterwards
//! no table holds their id or name, shared records read "a former member", the summary's
//! aggregates are unchanged, and nothing is sent to them or recorded about them again until
//! they use a command themselves.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use coachbot::domain::ids::{StepId, UserId};
use coachbot::emulator::{Interaction, Reply};
use coachbot::store::checkins::{self, NewAnswer, NewSession};
use coachbot::store::steps::{self, StepFilter};
use coachbot::store::{Db, members, schedules};
use serde_json::{Value, json};

use crate::dm::answer;
use crate::e2e;
use crate::support::{Plan, TestBot, WAIT, checkin_due, dm_questions};

const DANA: &str = "Dana Whitfield";

/// Dana Whitfield: a second principal at Lincoln (holding Pat's Discord role).
async fn dana(bot: &TestBot, plan: &Plan) -> u64 {
    let roles = bot
        .emu
        .member_roles(bot.ids.guild, plan.pat)
        .expect("Pat's roles");
    let dana = bot.emu.add_user(DANA);
    bot.emu
        .add_member(bot.ids.guild, dana, &roles)
        .expect("member");
    dana
}

/// Runs a command and checks it did what it says (no refusal).
async fn ok(bot: &TestBot, who: u64, command: &str, options: &[(&str, Value)], expect: &str) {
    let reply = bot.command(who, bot.ids.general, command, options).await;
    assert!(
        !reply.text().starts_with("Only ") && reply.text().contains(expect),
        "{command}: {}",
        reply.text()
    );
}

/// The newest step's id.
async fn newest_step(bot: &TestBot) -> StepId {
    steps::list(&bot.db, bot.ids.server(), &StepFilter::default())
        .await
        .expect("steps")
        .iter()
        .map(|s| s.id)
        .max()
        .expect("a step")
}

/// Casey logs a one-to-one with `with` through the session form.
async fn one_to_one(bot: &TestBot, casey: u64, with: u64, fields: &[(&str, &str)]) {
    let interaction: Interaction = bot
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
    let form: Reply = bot.reply(&interaction).await;
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
        .submit_modal(casey, bot.ids.general, &id, fields)
        .expect("submit");
    let logged = bot
        .emu
        .next_message(&interaction, mark, WAIT)
        .await
        .expect("a reply");
    assert!(
        logged.content.contains("Logged session **#"),
        "{}",
        logged.text()
    );
    bot.announcements_sent().await;
}

/// A confirmed check-in of `person` at Lincoln with one answer, written to the store.
async fn confirmed_checkin(bot: &TestBot, plan: &Plan, person: u64, text: &str) {
    let now = Utc::now();
    let session = checkins::start(
        &bot.db,
        &NewSession {
            server_id: bot.ids.server(),
            school_id: plan.lincoln,
            person_id: UserId::new(person),
            flow_id: "wellbeing",
            flow_title: "Wellbeing check",
            opener: None,
            plan: &[],
            started_by: UserId::new(plan.casey),
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
        purpose: "wellbeing",
        step_id: None,
        answer: text,
        message_id: None,
        shared: false,
        mark: None,
    };
    checkins::record_answers(&bot.db, session.id, &[answer], now)
        .await
        .expect("answer");
    assert!(
        checkins::confirm(&bot.db, &session, &[], now)
            .await
            .expect("confirm")
    );
}

/// Dana's history at Lincoln: a step she owns with Terry (with an update and a barrier), a
/// step of Terry's that names her, a level she set, her growth goal, an away period, a
/// one-to-one with Casey, a confirmed check-in, and her daily check-in, whose first run is in
/// progress (one answer, a draft). Returns her step and when her schedule fires next.
async fn history(bot: &TestBot, plan: &Plan, dana: u64) -> (StepId, chrono::DateTime<Utc>) {
    ok(
        bot,
        dana,
        "step add",
        &[
            ("title", json!("Walkthrough rota with Terry")),
            ("indicator", json!("12a")),
            ("owner", json!(dana)),
            ("owner2", json!(plan.terry)),
            ("due", json!("in 2 weeks")),
        ],
        "Added step",
    )
    .await;
    let step = newest_step(bot).await;
    ok(
        bot,
        plan.terry,
        "step add",
        &[
            ("title", json!(format!("Ask {DANA} for the rota"))),
            ("indicator", json!("12a")),
            ("owner", json!(plan.terry)),
            ("due", json!("in 3 weeks")),
        ],
        "Added step",
    )
    .await;
    ok(
        bot,
        dana,
        "step update",
        &[
            ("step", json!(step.to_string())),
            ("status", json!("in progress")),
            ("note", json!("First walkthrough done")),
        ],
        "is now **in progress**",
    )
    .await;
    ok(
        bot,
        dana,
        "barrier add",
        &[
            ("text", json!("No cover for walkthroughs")),
            ("category", json!("time")),
            ("step", json!(step.to_string())),
        ],
        "",
    )
    .await;
    ok(
        bot,
        dana,
        "indicator level",
        &[
            ("indicator", json!("12a")),
            ("level", json!("Getting Started")),
            ("note", json!("Two walkthroughs held")),
        ],
        "is at **Getting Started**",
    )
    .await;
    ok(
        bot,
        dana,
        "goal set",
        &[("text", json!("Visit every classroom each month"))],
        "Your growth goal is set",
    )
    .await;
    ok(
        bot,
        dana,
        "away add",
        &[("from", json!("tomorrow")), ("to", json!("in 2 weeks"))],
        "",
    )
    .await;
    one_to_one(
        bot,
        plan.casey,
        dana,
        &[
            ("worked_on", &format!("Walkthrough plan with {DANA}")),
            ("noticed", "Tired; wants fewer meetings"),
        ],
    )
    .await;
    confirmed_checkin(bot, plan, dana, "Tired but hopeful about the rota").await;
    // Her daily check-in fires; the first answer is a draft until she confirms.
    let now = Utc::now();
    checkin_due(bot, plan, dana, now).await;
    let scheduler = bot.scheduler();
    scheduler.tick(now).await.expect("tick");
    scheduler.deliver(now).await.expect("deliver");
    assert_eq!(dm_questions(bot, dana).await, 1, "she is asked in DM");
    answer(bot, dana, "Arriving tired, honestly", "**Question 2 of").await;
    let at = schedules::list(&bot.db, bot.ids.server(), None)
        .await
        .expect("schedules")
        .iter()
        .find(|s| s.person_id == Some(UserId::new(dana)))
        .and_then(|s| s.next_fire_at)
        .expect("her next check-in");
    (step, at)
}

/// Every table and column (SQLite: `sqlite_master` and `pragma_table_info`; PostgreSQL:
/// `information_schema.columns` of the test's schema) whose value, read as text, contains one
/// of `needles` (any case): `table.column (rows)`.
async fn traces(bot: &TestBot, needles: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    let columns: Vec<(String, String)> = match &bot.db {
        Db::Sqlite(pool) => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
                    .expect("tables");
            let mut columns = Vec::new();
            for table in tables {
                let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .expect("columns");
                columns.extend(names.into_iter().map(|c| (table.clone(), c)));
            }
            columns
        }
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()",
        )
        .fetch_all(pool)
        .await
        .expect("columns"),
    };
    assert!(
        columns.len() > 150,
        "every column of the schema: {}",
        columns.len()
    );
    for (table, column) in columns {
        for needle in needles {
            let sql = format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE $1"
            );
            let pattern = format!("%{}%", needle.to_lowercase());
            let count: i64 = match &bot.db {
                Db::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(pattern)
                    .fetch_one(pool)
                    .await
                    .expect("count"),
                Db::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(pattern)
                    .fetch_one(pool)
                    .await
                    .expect("count"),
            };
            if count > 0 {
                hits.push(format!("{table}.{column} ({count} rows hold `{needle}`)"));
            }
        }
    }
    hits
}

/// How many check-ins the server holds.
async fn checkin_count(bot: &TestBot) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM checkin_sessions";
    match &bot.db {
        Db::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
    }
    .expect("count")
}

/// The text of a `/step show` as Terry reads it.
async fn step_shown(bot: &TestBot, plan: &Plan, step: StepId) -> String {
    bot.command(
        plan.terry,
        bot.ids.general,
        "step show",
        &[("step", json!(step.to_string()))],
    )
    .await
    .text()
}

/// The Lincoln summary preview's text, as Casey reads it.
async fn summary(bot: &TestBot, plan: &Plan) -> String {
    let preview = bot
        .command(
            plan.casey,
            bot.ids.general,
            "summary preview",
            &[("school", json!("Lincoln Elementary"))],
        )
        .await;
    assert!(preview.ephemeral);
    preview.text()
}

/// `/privacy forget` as `who` (for `person`, when given): the confirmation and where it is.
async fn ask(bot: &TestBot, who: u64, person: Option<&str>) -> Reply {
    let options: Vec<(&str, Value)> = person
        .map(|p| vec![("person", json!(p))])
        .unwrap_or_default();
    bot.command(who, bot.ids.general, "privacy forget", &options)
        .await
}

/// Clicks (or, `forged`, has someone else click) the confirmation's erase button.
async fn confirm(bot: &TestBot, who: u64, custom: &str, forged: bool) -> Reply {
    let (channel, message) = bot.emu.find_component(custom).expect("the erase button");
    bot.human_pause().await;
    let click = if forged {
        bot.emu.forge_click(who, channel, message, custom)
    } else {
        bot.emu.click_button(who, channel, message, custom)
    }
    .expect("click");
    bot.reply(&click).await
}

/// The confirmation message as `who` sees it now.
fn seen_now(bot: &TestBot, who: u64, message: u64) -> Value {
    bot.emu
        .messages_seen_by(bot.ids.general, who)
        .into_iter()
        .find(|m| m["id"].as_str() == Some(message.to_string().as_str()))
        .expect("the confirmation is still there")
}

e2e! {
    /// Dana, a principal with a rich history at Lincoln, runs `/privacy forget`. The
    /// confirmation says what goes and what stays; Terry's (forged) click on it is refused;
    /// Dana's click erases it all in one go and the message says it is done. Afterwards no
    /// table or column holds her id, her DM channel or her name; her step's log reads "a
    /// former member" to Terry; the summary preview is unchanged; her schedule's time passes
    /// with nothing sent to her; a role update from Discord does not record her again; the
    /// audit lists the forget naming no one. Her next command records her again.
    async fn a_person_forgets_themselves_and_no_row_holds_them(bot) {
        let plan = bot.plan().await;
        let dana = dana(bot, &plan).await;
        let (step, at) = history(bot, &plan, dana).await;
        let dm = bot.emu.dm_channel_of(dana).expect("Dana's DM channel");
        let needles = [dana.to_string(), dm.to_string(), DANA.to_owned()];
        assert!(!traces(bot, &needles).await.is_empty(), "the history is held before");
        assert!(step_shown(bot, &plan, step).await.contains(DANA));
        let summary_before = summary(bot, &plan).await;
        let checkins_before = checkin_count(bot).await;
        assert_eq!(checkins_before, 2);

        let asked = ask(bot, dana, None).await;
        assert!(asked.ephemeral);
        for words in [
            "check-in answers and drafts", "private notes from one-to-one sessions", "growth goals",
            "DM channel id and stored name", "schedules, away periods, opt-outs and role grants",
            "Stays, in the school's shared plan, shown as \"a former member\"", "barriers you raised",
            "levels you set", "count in summaries", "until you use a coachbot command here yourself",
        ] {
            assert!(asked.content.contains(words), "“{words}” in: {}", asked.content);
        }
        let custom = format!("privacy:forget:{}:{dana}:{dana}", bot.ids.guild);
        let (_, message) = bot.emu.find_component(&custom).expect("the erase button");
        assert!(bot.emu.find_component(&format!("privacy:keep:{dana}")).is_some(), "and a cancel button");

        let refused = confirm(bot, plan.terry, &custom, true).await;
        assert!(refused.content.starts_with("This confirmation was for someone else"), "{}", refused.content);
        assert!(!traces(bot, &needles).await.is_empty(), "nothing was erased");

        let done = confirm(bot, dana, &custom, false).await;
        assert!(done.content.starts_with("Done."), "{}", done.content);
        let seen = seen_now(bot, dana, message);
        assert!(seen["content"].as_str().is_some_and(|c| c.starts_with("Done.") && c.contains("a former member")), "{seen}");
        assert!(seen["components"].as_array().is_none_or(Vec::is_empty), "the buttons are gone: {seen}");

        let left = traces(bot, &needles).await;
        assert!(left.is_empty(), "still held after the forget: {left:#?}");
        let shown = step_shown(bot, &plan, step).await;
        assert!(shown.contains("a former member") && !shown.contains(DANA), "{shown}");
        assert_eq!(summary(bot, &plan).await, summary_before, "the aggregates do not change");
        assert_eq!(checkin_count(bot).await, checkins_before, "her check-ins stay as rows, without answers");

        // Her schedule's time passes: nothing is sent to her.
        let before = bot.emu.messages_in(dm).len();
        let scheduler = bot.scheduler();
        scheduler.tick(at + TimeDelta::minutes(1)).await.expect("tick");
        scheduler.deliver(at + TimeDelta::minutes(1)).await.expect("deliver");
        assert_eq!(bot.emu.messages_in(dm).len(), before, "no DM to her");

        // Discord says her roles changed (she keeps the principal role): she is not recorded.
        let roles = bot.emu.member_roles(bot.ids.guild, dana).expect("roles");
        bot.emu.set_member_roles(bot.ids.guild, dana, &roles).expect("update");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let name = members::name(&bot.db, bot.ids.server(), UserId::new(dana)).await.expect("name");
        assert_eq!(name, None, "member sync does not record her again");
        assert!(traces(bot, &needles).await.is_empty());

        let audit = bot.command(bot.ids.owner, bot.ids.general, "privacy audit", &[]).await;
        assert!(
            audit.text().contains("**forget** · one person · by a former member in Discord · about a former member"),
            "{}", audit.text()
        );

        // Terry names her as an owner: the step is saved, but being named does not record
        // her again; the reply shows a mention where her name was.
        let named = bot.command(plan.terry, bot.ids.general, "step add", &[
            ("title", json!("Hand over the walkthrough rota")), ("indicator", json!("12a")),
            ("owner", json!(dana)), ("due", json!("in 2 weeks")),
        ]).await;
        assert!(named.content.starts_with("Added step"), "{}", named.content);
        assert!(named.content.contains(&format!("Owners: <@{dana}>.")) && !named.content.contains(DANA), "{}", named.content);
        let name = members::name(&bot.db, bot.ids.server(), UserId::new(dana)).await.expect("name");
        assert_eq!(name, None, "being named does not record her again");

        // Her own command is her return.
        bot.command(dana, bot.ids.general, "step list", &[]).await;
        let name = members::name(&bot.db, bot.ids.server(), UserId::new(dana)).await.expect("name");
        assert_eq!(name.as_deref(), Some(DANA));
    }
}

e2e! {
    /// `/privacy forget person:` is for admins, and only for someone who has left: Terry (team)
    /// and Casey (coach) are refused; the owner is refused while Dana is still a member, and
    /// after she leaves (GUILD_MEMBER_REMOVE) erases her data with the button. Someone coachbot
    /// holds nothing about is named as such.
    async fn an_admin_forgets_someone_who_has_left(bot) {
        let plan = bot.plan().await;
        let dana = dana(bot, &plan).await;
        ok(bot, dana, "step add", &[
            ("title", json!("Walkthrough rota with Terry")), ("indicator", json!("12a")),
            ("owner", json!(dana)), ("owner2", json!(plan.terry)), ("due", json!("in 2 weeks")),
        ], "Added step").await;
        let step = newest_step(bot).await;

        for who in [plan.terry, plan.casey] {
            let refused = ask(bot, who, Some(&dana.to_string())).await;
            assert!(refused.ephemeral);
            assert!(refused.content.starts_with("Only coachbot admins can erase the data of someone who has left"), "{}", refused.content);
        }
        let here = ask(bot, bot.ids.owner, Some(DANA)).await;
        assert!(here.content.contains("is still a member of this server"), "{}", here.content);
        assert!(bot.emu.find_component(&format!("privacy:forget:{}:{dana}:{}", bot.ids.guild, bot.ids.owner)).is_none());
        let nobody = ask(bot, bot.ids.owner, Some("Nobody Here")).await;
        assert!(nobody.content.starts_with("I hold nothing about `Nobody Here`"), "{}", nobody.content);

        bot.emu.remove_member(bot.ids.guild, dana).expect("Dana leaves");
        // Discord answers "Unknown Member" when asked about her: at the command and the click.
        bot.emu.expect_errors(10007, 2);
        let asked = ask(bot, bot.ids.owner, Some(DANA)).await;
        assert!(asked.content.contains(&format!("**{DANA}**")) && asked.content.contains("their check-in answers"), "{}", asked.content);
        let custom = format!("privacy:forget:{}:{dana}:{}", bot.ids.guild, bot.ids.owner);
        let done = confirm(bot, bot.ids.owner, &custom, false).await;
        assert!(done.content.starts_with("Done.") && done.content.contains("they read as"), "{}", done.content);

        let left = traces(bot, &[dana.to_string(), DANA.to_owned()]).await;
        assert!(left.is_empty(), "still held after the forget: {left:#?}");
        let shown = step_shown(bot, &plan, step).await;
        assert!(shown.contains("a former member") && !shown.contains(DANA), "{shown}");
        let audit = bot.command(bot.ids.owner, bot.ids.general, "privacy audit", &[]).await;
        assert!(
            audit.text().contains(&format!("**forget** · one person · by <@{}> in Discord · about a former member", bot.ids.owner)),
            "{}", audit.text()
        );
    }
}
