//! The indicator summary: `/summary post` queues it, the scheduler composes it (text, embed and
//! a PNG chart) and posts it to the leadership channel as a multipart request.

use chrono::{TimeDelta, Utc};
use coachbot::domain::assessment::ResultRow;
use coachbot::domain::cycle::Stage;
use coachbot::domain::framework::Level;
use coachbot::domain::ids::UserId;
use coachbot::store::assessments::{self, NewAdministration};
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::steps::{self, NewStep};
use coachbot::store::{Db, cycle, indicators, summaries};
use serde_json::json;

use crate::e2e;

/// The name of Lincoln's summary chart today (its date in Lincoln's time zone).
fn lincoln_chart() -> String {
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive();
    format!("lincoln-elementary-summary-{today}.png")
}

e2e! {
    /// Lincoln's summary counts steps and barriers and shows 12a's level, names no one
    /// anywhere in what was sent, and withholds the one category raised by too few people.
    async fn a_school_summary_names_no_one_and_withholds_small_groups(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let now = Utc::now();
        let focus = indicators::find(&bot.db, ids.server(), plan.lincoln, "12a").await.expect("find").expect("12a");
        indicators::set_level(&bot.db, &focus, "getting_ready", None, UserId::new(plan.casey), now - TimeDelta::days(30), None).await.expect("level");
        indicators::set_level(&bot.db, &focus, "getting_started", None, UserId::new(plan.casey), now - TimeDelta::days(5), None).await.expect("level");
        for (title, owner) in [("Terry Okafor leads walkthroughs", plan.terry), ("Jordan Silva runs data talks", plan.jordan)] {
            steps::add(&bot.db, &NewStep {
                server_id: ids.server(), school_id: plan.lincoln, focus_id: focus.id, title,
                due_on: now.date_naive() + TimeDelta::days(10), resources: None, owners: &[UserId::new(owner)], author: UserId::new(owner),
            }, now, None).await.expect("step");
        }
        // Five people name time; only Pat names people (and names Terry in it).
        let extra: Vec<u64> = (0..2).map(|i| {
            let id = bot.emu.add_user(&format!("Helper {i}"));
            bot.emu.add_member(ids.guild, id, &[]).expect("member");
            id
        }).collect();
        let mut raisers = vec![plan.terry, plan.jordan, plan.pat];
        raisers.extend(&extra);
        for (i, by) in raisers.iter().enumerate() {
            barriers::add(&bot.db, &NewBarrier {
                server_id: ids.server(), school_id: plan.lincoln, step_id: None, category: "time",
                text: &format!("No time for the walkthroughs, says person {i}"), raised_by: UserId::new(*by),
            }, now - TimeDelta::days(4), None).await.expect("barrier");
        }
        barriers::add(&bot.db, &NewBarrier {
            server_id: ids.server(), school_id: plan.lincoln, step_id: None, category: "people",
            text: "Terry Okafor is overloaded", raised_by: UserId::new(plan.pat),
        }, now - TimeDelta::days(2), None).await.expect("barrier");

        // A team member may not post it; nothing is queued.
        let refused = bot.command(plan.terry, ids.general, "summary post", &[]).await;
        assert!(refused.ephemeral && refused.content.contains("Only the school's coaches and admins"), "{}", refused.content);
        assert!(crate::support::queued(bot).await.is_empty());

        let asked = bot.command(plan.casey, ids.general, "summary post", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(asked.ephemeral && asked.content.contains("on its way"), "{}", asked.content);
        let scheduler = bot.scheduler();
        let before = bot.emu.call_count();
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").composed, 1);
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").sent, 1);

        let posts: Vec<_> = bot.emu.calls_since(before).into_iter()
            .filter(|c| c.method == "POST" && c.path == format!("/channels/{}/messages", ids.lincoln_channel))
            .collect();
        assert_eq!(posts.len(), 1, "one post");
        let post = &posts[0];
        assert!(post.violations.is_empty(), "{:?}", post.violations);
        // The chart: one PNG, attached as a multipart part, shown in the embed.
        assert_eq!(post.attachments.len(), 1);
        let chart = &post.attachments[0];
        // Named for what it shows and when (Lincoln's date).
        let file = lincoln_chart();
        assert_eq!(chart.filename.as_deref(), Some(file.as_str()));
        assert_eq!(chart.content_type.as_deref(), Some("image/png"));
        let decoded = png::Decoder::new(std::io::Cursor::new(chart.bytes.clone())).read_info().expect("a valid PNG");
        assert!(decoded.info().width >= 600 && decoded.info().height >= 300);
        let body = post.body.clone().expect("payload_json");
        let embed = &body["embeds"][0];
        assert_eq!(embed["image"]["url"], format!("attachment://{file}"));
        let text = embed["description"].as_str().expect("a description");
        assert!(text.contains("12a"), "{text}");
        assert!(text.contains("12a Leader partnerships: Getting Started (3 of 5); first summary"), "{text}");
        assert!(text.contains("2 planned · 0 in progress"), "{text}");
        assert!(text.contains("time: 5 open, 4 days on average"), "{text}");
        assert!(text.contains("people: withheld (raised by fewer than 5 people, or it would let such a figure be worked out)"), "{text}");
        assert!(body["allowed_mentions"]["parse"].as_array().is_some_and(Vec::is_empty));
        // No member's name or id anywhere in what was sent: text, embed, or the chart file.
        let sent = serde_json::to_string(&body).expect("json");
        let people = [plan.terry, plan.jordan, plan.pat, plan.casey, plan.wendy, extra[0], extra[1]];
        for person in people {
            let name = bot.emu.name_of(person).expect("a name");
            for needle in [name.clone(), name.split(' ').next().unwrap_or_default().to_owned(), person.to_string()] {
                assert!(!sent.contains(&needle), "the summary mentions {needle}: {sent}");
                assert!(!chart.bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "the chart carries {needle}");
            }
        }
        // The rows: composed and sent once, with the message id; the summary on record.
        let rows = crate::support::queued(bot).await;
        assert_eq!(rows.iter().map(|r| (r.kind.as_str(), r.status.key())).collect::<Vec<_>>(), [("summary", "sent"), ("message", "sent")]);
        assert_eq!(rows[1].message_id, post.response.as_ref().and_then(|m| m["id"].as_str()).and_then(|id| id.parse().ok()));

        // The next summary says how the level moved since this one.
        indicators::set_level(&bot.db, &focus, "getting_better", None, UserId::new(plan.casey), Utc::now(), None).await.expect("level");
        let preview = bot.command(plan.casey, ids.general, "summary preview", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(preview.ephemeral);
        let previewed = preview.embeds[0]["description"].as_str().unwrap_or_default().to_owned();
        assert!(previewed.contains("Getting Better (4 of 5); up from Getting Started"), "{previewed}");
        assert!(preview.call.attachments.iter().any(|a| a.filename.as_deref() == Some(lincoln_chart().as_str())));
    }
}

e2e! {
    /// With threads on (an admin's setting), a summary is a short message in the channel with
    /// a thread opened on it, and the summary and chart inside the thread. Sending the post
    /// again after a crash finds the thread (Discord's 160004) and leaves one of everything.
    async fn a_summary_goes_in_a_thread_when_the_server_prefers_threads(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let refused = bot.command(plan.casey, ids.general, "summary settings", &[("threads", json!(true))]).await;
        assert!(refused.ephemeral && refused.content.contains("Only coachbot admins"), "{}", refused.content);
        assert!(!summaries::settings(&bot.db, ids.server()).await.expect("settings").threads);
        let set = bot.command(ids.owner, ids.general, "summary settings", &[("threads", json!(true))]).await;
        assert!(set.ephemeral && set.content.contains("fewer than 5 people, and are posted each in a thread of its own"), "{}", set.content);
        assert!(summaries::settings(&bot.db, ids.server()).await.expect("settings").threads);

        let asked = bot.command(plan.casey, ids.general, "summary post", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(asked.content.contains("on its way"), "{}", asked.content);
        let scheduler = bot.scheduler();
        let before = bot.emu.call_count();
        let in_channel = bot.emu.messages_in(ids.lincoln_channel).len();
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").composed, 1);
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").sent, 2, "the starter, then the summary");

        let calls: Vec<_> = bot.emu.calls_since(before).into_iter().filter(|c| c.method == "POST").collect();
        assert_eq!(calls.len(), 3, "{:?}", calls.iter().map(|c| &c.path).collect::<Vec<_>>());
        assert!(calls.iter().all(|c| c.violations.is_empty() && c.status < 300), "{:?}", calls.iter().map(|c| (&c.path, c.status, &c.violations)).collect::<Vec<_>>());
        let starter = calls[0].response.as_ref().and_then(|m| m["id"].as_str()).expect("the starter's id").to_owned();
        assert_eq!(calls[0].path, format!("/channels/{}/messages", ids.lincoln_channel));
        let opening = calls[0].body.as_ref().and_then(|b| b["content"].as_str()).unwrap_or_default().to_owned();
        assert!(opening.contains("Lincoln Elementary") && opening.contains("in this thread"), "{opening}");
        assert_eq!(calls[1].path, format!("/channels/{}/messages/{starter}/threads", ids.lincoln_channel));
        let name = calls[1].body.as_ref().and_then(|b| b["name"].as_str()).unwrap_or_default().to_owned();
        assert!(name.contains("Lincoln Elementary") && name.chars().count() <= 100, "{name}");
        assert_eq!(calls[2].path, format!("/channels/{starter}/messages"), "the summary goes in the thread");
        assert_eq!(calls[2].attachments.len(), 1);
        assert_eq!(calls[2].attachments[0].filename.as_deref(), Some(lincoln_chart().as_str()));
        let thread: u64 = starter.parse().expect("an id");
        assert_eq!(bot.emu.messages_in(ids.lincoln_channel).len(), in_channel + 1, "only the starter in the channel");
        assert_eq!(bot.emu.messages_in(thread).len(), 1);

        let rows = crate::support::queued(bot).await;
        assert_eq!(rows.iter().map(|r| (r.kind.as_str(), r.status.key())).collect::<Vec<_>>(), [("summary", "sent"), ("message", "sent"), ("message", "sent")]);
        assert_eq!(rows[1].message_id, Some(thread.cast_signed()));

        // A crash after Discord took the summary but before it was marked sent: sent again, it
        // finds the thread and Discord drops the repeat by its nonce.
        let post_key = rows[2].key.clone();
        let forget = "UPDATE outbox SET status = 'pending', sent_at = NULL, message_id = NULL WHERE key = $1";
        match &bot.db {
            Db::Sqlite(pool) => { sqlx::query(forget).bind(&post_key).execute(pool).await.expect("forgotten"); }
            Db::Postgres(pool) => { sqlx::query(forget).bind(&post_key).execute(pool).await.expect("forgotten"); }
        }
        let again = bot.emu.call_count();
        // Discord refuses a second thread on the starter (160004); the bot takes the thread it has.
        bot.emu.expect_error(160_004);
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").sent, 1);
        let retried: Vec<_> = bot.emu.calls_since(again).into_iter().filter(|c| c.method == "POST").collect();
        assert_eq!(retried.len(), 2);
        assert_eq!(retried[0].status, 400, "the thread exists: {:?}", retried[0].response);
        assert!(retried[0].violations.is_empty() && retried[1].violations.is_empty());
        assert_eq!(bot.emu.messages_in(thread).len(), 1, "one summary in the thread");
        assert_eq!(bot.emu.messages_in(ids.lincoln_channel).len(), in_channel + 1, "one starter");
        let row = crate::support::queued(bot).await.into_iter().find(|r| r.key == post_key).expect("the post");
        assert_eq!(row.status, "sent");
    }
}

/// One category's figures as the leadership channel reads them: each school's count (None:
/// withheld; a school whose summary does not list the category shows 0) and the all-schools
/// count.
type Read = (Vec<Option<usize>>, Option<usize>);

/// The open-barrier count a summary's text shows for each category (None: withheld).
fn barrier_lines(text: &str) -> std::collections::BTreeMap<String, Option<usize>> {
    text.lines()
        .skip_while(|l| !l.starts_with("**Open barriers"))
        .filter_map(|l| l.strip_prefix("• "))
        .filter_map(|l| l.split_once(": "))
        .map(|(category, rest)| {
            let count = if rest.starts_with("withheld") {
                None
            } else {
                Some(
                    rest.split(' ')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .expect("a count"),
                )
            };
            (category.to_owned(), count)
        })
        .collect()
}

/// The withheld figures a reader of every summary could work out: the total less the shown
/// school figures leaves the withheld ones' sum, which gives one withheld figure alone away,
/// and several when it leaves each exactly one (a listed figure is at least one); a withheld
/// total with every school shown is their sum.
fn derivable(figures: &std::collections::BTreeMap<String, Read>) -> Vec<String> {
    let mut found = Vec::new();
    for (category, (cells, total)) in figures {
        let hidden = cells.iter().filter(|c| c.is_none()).count();
        let shown: usize = cells.iter().flatten().sum();
        match total {
            Some(total) if hidden == 1 => {
                found.push(format!("{category}: one withheld = {total} − {shown}"))
            }
            Some(total) if hidden > 1 && total - shown == hidden => {
                found.push(format!("{category}: {hidden} withheld sum to {hidden}"))
            }
            None if hidden == 0 => found.push(format!("{category}: the total = {shown}")),
            _ => {}
        }
    }
    found
}

e2e! {
    /// Three schools, minimum group 5, every summary posted to the same leadership channel.
    /// A small figure at one school takes the next-smallest school's figure with it, figures of
    /// one barrier each take a shown one, a small total is withheld with its school, and a
    /// category with nothing small shows everything. From what the channel shows, no withheld
    /// figure can be worked out by subtraction, and no one is named.
    async fn no_withheld_figure_can_be_worked_out_from_the_summaries_together(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let added = bot.command(ids.owner, ids.general, "setup school", &[("name", json!("Roosevelt High")), ("time_zone", json!("America/New_York"))]).await;
        assert!(added.content.contains("Added"), "{}", added.content);
        let schools = coachbot::store::schools::list(&bot.db, ids.server()).await.expect("schools");
        let names = ["Lincoln Elementary", "Washington Middle", "Roosevelt High"];
        let school_ids: Vec<_> = names.iter().map(|n| schools.iter().find(|s| s.name == *n).expect("school").id).collect();
        // Every barrier raised by a different person: counts are people.
        let now = Utc::now();
        let mut people = Vec::new();
        for (category, counts) in [("time", [6, 7, 2]), ("people", [1, 1, 5]), ("resources", [5, 5, 6]), ("policy", [0, 0, 2])] {
            for (school, n) in school_ids.iter().zip(counts) {
                for _ in 0..n {
                    let person = bot.emu.add_user(&format!("Staffer {}", people.len() + 1));
                    bot.emu.add_member(ids.guild, person, &[]).expect("member");
                    people.push(person);
                    barriers::add(&bot.db, &NewBarrier {
                        server_id: ids.server(), school_id: *school, step_id: None, category,
                        text: &format!("A {category} barrier named by staffer {}", people.len()), raised_by: UserId::new(person),
                    }, now - TimeDelta::days(3), None).await.expect("barrier");
                }
            }
        }

        // Each school's summary and the all-schools one, to the same channel.
        for school in names.iter().map(|n| Some(*n)).chain([None]) {
            let mut options = vec![("channel", json!(ids.general))];
            if let Some(name) = school {
                options.push(("school", json!(name)));
            }
            let asked = bot.command(plan.casey, ids.general, "summary post", &options).await;
            assert!(asked.ephemeral && asked.content.contains("on its way"), "{}", asked.content);
        }
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").composed, 4);
        let mut sent = 0;
        for _ in 0..10 {
            if sent == 4 { break; }
            sent += scheduler.deliver(Utc::now()).await.expect("deliver").sent;
        }
        assert_eq!(sent, 4);

        // What the channel shows, by the summary's title.
        let mut texts = std::collections::BTreeMap::new();
        for message in bot.emu.messages_in(ids.general) {
            let Some(embed) = message["embeds"].get(0) else { continue };
            let title = embed["title"].as_str().unwrap_or_default().to_owned();
            if let Some(of) = title.strip_prefix("Indicator summary: ") {
                let text = embed["description"].as_str().expect("a description").to_owned();
                let sent = serde_json::to_string(&message).expect("json");
                for person in &people {
                    let name = bot.emu.name_of(*person).expect("a name");
                    assert!(!sent.contains(&name) && !sent.contains(&person.to_string()), "{of} names {name}: {sent}");
                }
                assert!(embed["footer"]["text"].as_str().is_some_and(|f| f.contains("worked out by subtraction")), "{embed}");
                texts.insert(of.to_owned(), text);
            }
        }
        assert_eq!(texts.len(), 4, "{:?}", texts.keys().collect::<Vec<_>>());
        let all = barrier_lines(&texts["all 3 schools"]);
        let by_school: Vec<_> = names.iter().map(|n| barrier_lines(&texts[*n])).collect();
        let figures: std::collections::BTreeMap<String, Read> = all.iter().map(|(category, total)| {
            let cells = by_school.iter().map(|s| s.get(category).copied().unwrap_or(Some(0))).collect();
            (category.clone(), (cells, *total))
        }).collect();

        // Time: Roosevelt's 2 is small; Lincoln's 6 goes with it, or 15 − 7 would give it away.
        assert_eq!(figures["time"], (vec![None, Some(7), None], Some(15)));
        // People: 1 and 1 would be known from 7 − 5; Roosevelt's 5 goes with them.
        assert_eq!(figures["people"], (vec![None, None, None], Some(7)));
        // Resources: nothing small, nothing withheld.
        assert_eq!(figures["resources"], (vec![Some(5), Some(5), Some(6)], Some(16)));
        // Policy: two people in all, withheld everywhere.
        assert_eq!(figures["policy"], (vec![Some(0), Some(0), None], None));
        assert_eq!(derivable(&figures), Vec::<String>::new());
        assert!(texts["Lincoln Elementary"].contains("time: withheld (raised by fewer than 5 people, or it would let such a figure be worked out)"), "{}", texts["Lincoln Elementary"]);
        assert!(texts["Washington Middle"].contains("time: 7 open, 3 days on average"), "{}", texts["Washington Middle"]);
    }
}

/// An administration of the survey at `school`: `(indicator, level 1-5)` for everyone.
async fn assessed(
    bot: &crate::support::TestBot,
    school: coachbot::domain::ids::SchoolId,
    name: &str,
    administered: chrono::NaiveDate,
    levels: &[(&str, u8)],
) {
    let rows: Vec<ResultRow> = levels
        .iter()
        .zip(2..)
        .map(|((indicator, rank), row_number)| ResultRow {
            row_number,
            indicator_id: (*indicator).to_owned(),
            group: String::new(),
            level: Level::ALL[usize::from(*rank) - 1],
            score: None,
            scale_max: None,
            respondents: Some(20),
        })
        .collect();
    let new = NewAdministration {
        server_id: bot.ids.server(),
        school_id: school,
        name,
        administered,
        file_name: "results.csv",
        imported_by: UserId::new(bot.ids.owner),
    };
    let saved = assessments::save(&bot.db, &new, &rows, Utc::now())
        .await
        .expect("saved");
    assert!(
        matches!(saved, assessments::Imported::Saved(_)),
        "{saved:?}"
    );
}

e2e! {
    /// The summary of every school counts the schools at each level of a focus indicator
    /// (never a mean turned into a level name: 2 and 3 would have read "2.5 (Getting
    /// Started)"), the schools per stage of the cycle, and per indicator how many schools
    /// moved up, stayed or moved down between their last two assessments. The chart is named
    /// for the server and the date, and is a PNG.
    async fn the_whole_server_summary_shows_how_many_schools_sit_at_each_level(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let added = bot.command(ids.owner, ids.general, "setup school", &[("name", json!("Roosevelt High")), ("time_zone", json!("America/New_York"))]).await;
        assert!(added.content.contains("Added"), "{}", added.content);
        let schools = coachbot::store::schools::list(&bot.db, ids.server()).await.expect("schools");
        let school = |name: &str| schools.iter().find(|s| s.name == name).expect("school").clone();
        let (lincoln, washington, roosevelt) = (school("Lincoln Elementary"), school("Washington Middle"), school("Roosevelt High"));
        let now = Utc::now();
        let by = UserId::new(plan.casey);
        for (school, level) in [(&lincoln, Some("getting_ready")), (&washington, Some("getting_started")), (&roosevelt, None)] {
            let (focus, _) = indicators::focus(&bot.db, ids.server(), school.id, "12a", by, now, None).await.expect("focus");
            if let Some(level) = level {
                indicators::set_level(&bot.db, &focus, level, None, by, now - TimeDelta::days(3), None).await.expect("level");
            }
        }
        // Lincoln moves on to implementing, Washington to its data debrief; Roosevelt assesses.
        for (school, stages) in [(&lincoln, &[Stage::Debrief, Stage::Plan, Stage::Implement][..]), (&washington, &[Stage::Debrief][..])] {
            for stage in stages {
                cycle::advance(&bot.db, school, *stage, by, Some("on we go"), now).await.expect("advanced");
            }
        }
        let (fall, spring) = (now.date_naive() - TimeDelta::days(200), now.date_naive() - TimeDelta::days(10));
        assessed(bot, lincoln.id, "Fall", fall, &[("12a", 2), ("12b", 3)]).await;
        assessed(bot, lincoln.id, "Spring", spring, &[("12a", 3), ("12b", 3)]).await;
        assessed(bot, washington.id, "Fall", fall, &[("12a", 3), ("12b", 2)]).await;
        assessed(bot, washington.id, "Spring", spring, &[("12a", 2), ("12b", 4)]).await;
        assessed(bot, roosevelt.id, "Fall", fall, &[("12a", 1), ("12b", 1)]).await;

        let preview = bot.command(plan.casey, ids.general, "summary preview", &[]).await;
        assert!(preview.ephemeral, "{}", preview.content);
        let embed = &preview.embeds[0];
        assert_eq!(embed["title"], "Indicator summary: all 3 schools");
        let text = embed["description"].as_str().expect("a description").to_owned();
        assert!(text.chars().count() <= 4096);
        assert!(text.contains("• 12a Leader partnerships: 1 Getting Ready · 1 Getting Started · 1 no level yet; first summary"), "{text}");
        for mean in ["2.5", "(Getting"] {
            assert!(!text.contains(mean), "a mean in {text}");
        }
        assert!(text.contains("**Schools by stage:** 1 Assess · 1 Data debrief · 1 Implement action steps"), "{text}");
        assert!(text.contains("(2 with two assessments)"), "{text}");
        assert!(text.contains("• 12a Leader partnerships: 1 up · 0 same · 1 down"), "{text}");
        assert!(text.contains("• 12b Instructional coaching: 1 up · 1 same · 0 down"), "{text}");

        // The chart: named for the server and today (UTC, the server's summary), a PNG.
        let server = summaries::facts(&bot.db, ids.server(), None, std::collections::BTreeMap::new()).await.expect("facts").server_name;
        let file = format!("{}-summary-{}.png", coachbot::export::slug(&server), Utc::now().date_naive());
        assert_eq!(embed["image"]["url"], format!("attachment://{file}"));
        let chart = preview.call.attachments.iter().find(|a| a.filename.as_deref() == Some(file.as_str())).expect("the chart, by its name");
        let decoded = png::Decoder::new(std::io::Cursor::new(chart.bytes.clone())).read_info().expect("a valid PNG");
        assert!(decoded.info().width >= 1000 && decoded.info().height >= 600);

        // Posted and then previewed again: the distribution is compared with the last one.
        let asked = bot.command(plan.casey, ids.general, "summary post", &[("channel", json!(ids.general))]).await;
        assert!(asked.content.contains("on its way"), "{}", asked.content);
        let scheduler = bot.scheduler();
        assert_eq!(scheduler.deliver(Utc::now()).await.expect("deliver").composed, 1);
        let (focus, _) = indicators::focus(&bot.db, ids.server(), roosevelt.id, "12a", by, now, None).await.expect("focus");
        indicators::set_level(&bot.db, &focus, "getting_aware", None, by, Utc::now(), None).await.expect("level");
        let again = bot.command(plan.casey, ids.general, "summary preview", &[]).await;
        let text = again.embeds[0]["description"].as_str().unwrap_or_default().to_owned();
        assert!(text.contains("• 12a Leader partnerships: 1 Getting Aware · 1 Getting Ready · 1 Getting Started; last summary: 1 Getting Ready · 1 Getting Started · 1 no level yet"), "{text}");
    }
}
