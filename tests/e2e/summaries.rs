//! The indicator summary: `/summary post` queues it, the scheduler composes it (text, embed and
//! a PNG chart) and posts it to the leadership channel as a multipart request.

use chrono::{TimeDelta, Utc};
use coachbot::store::barriers::{self, NewBarrier};
use coachbot::store::steps::{self, NewStep};
use coachbot::store::{indicators, outbox};
use serde_json::json;

use crate::e2e;

e2e! {
    /// Lincoln's summary counts steps and barriers and shows 12a's level, names no one
    /// anywhere in what was sent, and withholds the one category raised by too few people.
    async fn a_school_summary_names_no_one_and_withholds_small_groups(bot) {
        let plan = bot.plan().await;
        let ids = &bot.ids;
        let now = Utc::now();
        let focus = indicators::find(&bot.db, ids.guild, plan.lincoln, "12a").await.expect("find").expect("12a");
        indicators::set_level(&bot.db, &focus, "getting_ready", None, plan.casey, now - TimeDelta::days(30)).await.expect("level");
        indicators::set_level(&bot.db, &focus, "getting_started", None, plan.casey, now - TimeDelta::days(5)).await.expect("level");
        for (title, owner) in [("Terry Okafor leads walkthroughs", plan.terry), ("Jordan Silva runs data talks", plan.jordan)] {
            steps::add(&bot.db, &NewStep {
                server_id: ids.guild, school_id: plan.lincoln, focus_id: focus.id, title,
                due_on: now.date_naive() + TimeDelta::days(10), resources: None, owners: &[owner], author: owner,
            }, now).await.expect("step");
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
                server_id: ids.guild, school_id: plan.lincoln, step_id: None, category: "time",
                text: &format!("No time for the walkthroughs, says person {i}"), raised_by: *by,
            }, now - TimeDelta::days(4)).await.expect("barrier");
        }
        barriers::add(&bot.db, &NewBarrier {
            server_id: ids.guild, school_id: plan.lincoln, step_id: None, category: "people",
            text: "Terry Okafor is overloaded", raised_by: plan.pat,
        }, now - TimeDelta::days(2)).await.expect("barrier");

        // A team member may not post it; nothing is queued.
        let refused = bot.command(plan.terry, ids.general, "summary post", &[]).await;
        assert!(refused.ephemeral && refused.content.contains("Only the school's coaches and admins"), "{}", refused.content);
        assert!(outbox::all(&bot.db, ids.guild).await.expect("outbox").is_empty());

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
        assert_eq!(chart.filename.as_deref(), Some("summary-chart.png"));
        assert_eq!(chart.content_type.as_deref(), Some("image/png"));
        let decoded = png::Decoder::new(std::io::Cursor::new(chart.bytes.clone())).read_info().expect("a valid PNG");
        assert!(decoded.info().width >= 600 && decoded.info().height >= 300);
        let body = post.body.clone().expect("payload_json");
        let embed = &body["embeds"][0];
        assert_eq!(embed["image"]["url"], "attachment://summary-chart.png");
        let text = embed["description"].as_str().expect("a description");
        assert!(text.contains("12a"), "{text}");
        assert!(text.contains("3.0 (Getting Started), first summary"), "{text}");
        assert!(text.contains("2 planned · 0 in progress"), "{text}");
        assert!(text.contains("time: 5 open, 4 days on average"), "{text}");
        assert!(text.contains("people: withheld (raised by fewer than 5 people)"), "{text}");
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
        let rows = outbox::all(&bot.db, ids.guild).await.expect("outbox");
        assert_eq!(rows.iter().map(|r| (r.kind.as_str(), r.status.as_str())).collect::<Vec<_>>(), [("summary", "sent"), ("message", "sent")]);
        assert_eq!(rows[1].message_id, post.response.as_ref().and_then(|m| m["id"].as_str()).and_then(|id| id.parse().ok()));

        // The next summary says how the level moved since this one.
        indicators::set_level(&bot.db, &focus, "getting_better", None, plan.casey, Utc::now()).await.expect("level");
        let preview = bot.command(plan.casey, ids.general, "summary preview", &[("school", json!("Lincoln Elementary"))]).await;
        assert!(preview.ephemeral);
        let previewed = preview.embeds[0]["description"].as_str().unwrap_or_default().to_owned();
        assert!(previewed.contains("4.0 (Getting Better), up from 3.0"), "{previewed}");
        assert!(preview.call.attachments.iter().any(|a| a.filename.as_deref() == Some("summary-chart.png")));
    }
}
