//! The emulator itself: its payloads are what serenity expects, it checks requests against
//! Discord's API, records everything, and injects faults.

use std::time::Duration;

use coachbot::config::Config;
use coachbot::emulator::{Emulator, Fault, FaultKind};
use serde_json::{Value, json};
use serenity::all as serenity;

use crate::e2e;
use crate::process::{BotProcess, Launch};
use crate::support::WAIT;

fn http(emu: &Emulator) -> serenity::Http {
    let token = Config::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "t".to_owned()))
        .expect("config")
        .token()
        .expect("token")
        .clone();
    coachbot::outbound::http_client(&token, Some(emu.api_url()))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{what} does not parse as serenity expects: {e}\n{value:#}"))
}

#[test]
fn the_rate_limiter_is_off_whenever_a_proxy_is_set() {
    let token = Config::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "t".to_owned()))
        .expect("config")
        .token()
        .expect("token")
        .clone();
    assert!(
        coachbot::outbound::http_client(&token, Some("http://127.0.0.1:9"))
            .ratelimiter
            .is_none()
    );
    assert!(
        coachbot::outbound::http_client(&token, None)
            .ratelimiter
            .is_some()
    );
    // Production's path under test: no proxy, so the limiter may be on.
    let through = coachbot::outbound::http_client_through(&token, reqwest::Client::new());
    assert!(through.ratelimiter.is_some() && through.proxy.is_none());
}

e2e! {
    /// Every gateway dispatch and REST answer deserializes into serenity's model types, so a
    /// missing field fails here instead of being dropped silently by serenity.
    async fn payloads_deserialize_into_serenity_models(bot) {
        let ids = &bot.ids;
        let emu = &bot.emu;
        let http = http(emu);
        // Things people do: a command, autocomplete, a DM, a server message, a click, a modal.
        bot.command(ids.owner, ids.general, "help", &[]).await;
        let typed = emu
            .autocomplete(ids.owner, ids.general, "setup school", &[("time_zone", json!("euro"))], "time_zone")
            .expect("autocomplete");
        bot.reply(&typed).await;
        bot.command(ids.owner, ids.general, "setup role", &[
            ("discord_role", json!(ids.staff_role)),
            ("coachbot_role", json!("coach")),
        ]).await;
        emu.send_dm(ids.nobody, "hello coachbot");
        emu.send_guild_message(ids.general, ids.nobody, "hello everyone").expect("message");
        let with_button = http
            .send_message(serenity::ChannelId::new(ids.general), vec![], &json!({
                "content": "pick one",
                "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}],
            }))
            .await
            .expect("a message with a button");
        let click = emu.click_button(ids.nobody, ids.general, with_button.id.get(), "go").expect("click");
        // A form can only be submitted once it has been opened in answer to an interaction:
        // this test opens one on the click (coachbot does not know the button).
        let modal = json!({"type": 9, "data": {"custom_id": "form", "title": "A form", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "answer", "style": 1, "label": "Answer"}]},
        ]}});
        http.create_interaction_response(serenity::InteractionId::new(click.id), &click.token, &modal, vec![])
            .await
            .expect("the form opens");
        emu.submit_modal(ids.nobody, ids.general, "form", &[("answer", "fine")]).expect("modal");
        emu.add_text_channel(ids.guild, "late-channel").expect("channel");
        emu.add_role(ids.guild, "Late Role", 0).expect("role");

        // Wait until everything above has gone out on the gateway.
        let deadline = tokio::time::Instant::now() + WAIT;
        while emu.dispatched().iter().filter(|(t, _)| t == "INTERACTION_CREATE").count() < 5
            || !emu.dispatched().iter().any(|(t, _)| t == "GUILD_ROLE_CREATE")
        {
            assert!(tokio::time::Instant::now() < deadline, "dispatches did not go out: {:?}",
                emu.dispatched().iter().map(|(t, _)| t.clone()).collect::<Vec<_>>());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut kinds = std::collections::BTreeSet::new();
        for (event, payload) in emu.dispatched() {
            match event.as_str() {
                "READY" => { parse::<serenity::Ready>("READY", &payload); }
                "GUILD_CREATE" => { parse::<serenity::Guild>("GUILD_CREATE", &payload); }
                "INTERACTION_CREATE" => {
                    let interaction = parse::<serenity::Interaction>("INTERACTION_CREATE", &payload);
                    kinds.insert(format!("{:?}", interaction.kind()));
                }
                "MESSAGE_CREATE" => {
                    let message = parse::<serenity::Message>("MESSAGE_CREATE", &payload);
                    assert_eq!(message.content, "hello coachbot", "DM content is always delivered");
                }
                "CHANNEL_CREATE" => { parse::<serenity::GuildChannel>("CHANNEL_CREATE", &payload); }
                "GUILD_ROLE_CREATE" => { parse::<serenity::GuildRoleCreateEvent>("GUILD_ROLE_CREATE", &payload); }
                // The member list the bot asks for when it connects and after a role mapping.
                "GUILD_MEMBERS_CHUNK" => {
                    let chunk = parse::<serenity::GuildMembersChunkEvent>("GUILD_MEMBERS_CHUNK", &payload);
                    assert!(chunk.members.contains_key(&serenity::UserId::new(ids.nobody)), "every member is listed");
                }
                other => panic!("a dispatch this test does not know: {other}"),
            }
        }
        assert_eq!(kinds.len(), 4, "command, autocomplete, component and modal interactions: {kinds:?}");
        assert!(
            !emu.dispatched().iter().any(|(t, p)| t == "MESSAGE_CREATE" && p.get("guild_id").is_some()),
            "the bot has no GUILD_MESSAGES intent, so server messages are not dispatched"
        );

        // REST answers.
        let dm = http
            .create_private_channel(&json!({"recipient_id": ids.nobody.to_string()}))
            .await
            .expect("a DM channel");
        assert_eq!(dm.recipient.id.get(), ids.nobody);
        http.get_current_application_info().await.expect("application info");
        http.get_bot_gateway().await.expect("gateway info");
        http.get_current_user().await.expect("current user");
        for call in emu.calls() {
            let Some(response) = &call.response else { continue };
            if call.status >= 400 { continue }
            match (call.method.as_str(), call.route.as_deref().unwrap_or_default()) {
                ("POST", "/channels/{channel_id}/messages")
                | ("POST", "/webhooks/{webhook_id}/{webhook_token}")
                | ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original") => {
                    parse::<serenity::Message>("a message", response);
                }
                ("PUT", "/applications/{application_id}/commands") => {
                    parse::<Vec<serenity::Command>>("registered commands", response);
                }
                ("POST", "/users/@me/channels") => { parse::<serenity::PrivateChannel>("a DM channel", response); }
                ("GET", "/oauth2/applications/@me") => {
                    parse::<serenity::CurrentApplicationInfo>("application info", response);
                }
                ("GET", "/users/@me") => { parse::<serenity::CurrentUser>("the bot user", response); }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn spec_validation_catches_content_over_two_thousand_characters() {
    let emu = Emulator::start().await.expect("emulator");
    if !emu.spec_loaded() {
        eprintln!("skipping: Discord's OpenAPI document was not found (set DISCORD_OPENAPI_SPEC)");
        return;
    }
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let channel = emu.add_text_channel(guild, "general").expect("channel");
    let http = http(&emu);
    http.send_message(
        serenity::ChannelId::new(channel),
        vec![],
        &json!({"content": "fine"}),
    )
    .await
    .expect("a valid message");
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());

    let _ = http
        .send_message(
            serenity::ChannelId::new(channel),
            vec![],
            &json!({"content": "x".repeat(2001)}),
        )
        .await;
    let violations = emu.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("at most 2000"), "{violations:?}");

    let _ = http
        .send_message(
            serenity::ChannelId::new(channel),
            vec![],
            &json!({"content": "ok", "embeds": "not a list"}),
        )
        .await;
    assert_eq!(
        emu.violations().len(),
        2,
        "a wrong type breaks the schema: {:?}",
        emu.violations()
    );
}

#[tokio::test]
async fn multipart_bodies_are_recorded_with_their_files() {
    let emu = Emulator::start().await.expect("emulator");
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let channel = emu.add_text_channel(guild, "general").expect("channel");
    let message = serenity::CreateMessage::new().content("a chart").add_file(
        serenity::CreateAttachment::bytes(b"\x89PNG fake".to_vec(), "chart.png"),
    );
    serenity::ChannelId::new(channel)
        .send_message(&http(&emu), message)
        .await
        .expect("sent with a file");
    let call = emu
        .calls()
        .into_iter()
        .find(|c| c.path.ends_with("/messages"))
        .expect("recorded");
    assert_eq!(call.content(), Some("a chart"));
    assert_eq!(call.attachments.len(), 1);
    assert_eq!(call.attachments[0].filename.as_deref(), Some("chart.png"));
    assert_eq!(call.attachments[0].bytes, b"\x89PNG fake");
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test]
async fn unknown_routes_are_recorded_as_unhandled() {
    let emu = Emulator::start().await.expect("emulator");
    let result = http(&emu).get_guild_roles(serenity::GuildId::new(42)).await;
    assert!(result.is_err());
    let unhandled = emu.unhandled();
    assert_eq!(unhandled.len(), 1);
    assert_eq!(unhandled[0].path, "/guilds/42/roles");
}

#[tokio::test]
async fn faults_answer_instead_of_the_route_then_wear_off() {
    let emu = Emulator::start().await.expect("emulator");
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let channel =
        serenity::ChannelId::new(emu.add_text_channel(guild, "general").expect("channel"));
    let http = http(&emu);
    emu.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/channels/".into(),
        times: 1,
        kind: FaultKind::RateLimited {
            retry_after: 1.5,
            global: false,
        },
    });
    emu.inject_fault(Fault {
        method: None,
        path_prefix: "/channels/".into(),
        times: 1,
        kind: FaultKind::ServerError { status: 502 },
    });
    let limited = http
        .send_message(channel, vec![], &json!({"content": "one"}))
        .await;
    let Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))) = limited
    else {
        panic!("expected a 429, got {limited:?}");
    };
    assert_eq!(response.status_code.as_u16(), 429);
    let call = emu.calls().pop().expect("recorded");
    assert_eq!(
        call.response
            .as_ref()
            .and_then(|r| r.get("retry_after"))
            .and_then(Value::as_f64),
        Some(1.5)
    );

    let failed = http
        .send_message(channel, vec![], &json!({"content": "two"}))
        .await;
    assert!(
        matches!(failed, Err(serenity::Error::Http(_))),
        "{failed:?}"
    );
    assert_eq!(emu.calls().pop().map(|c| c.status), Some(502));

    http.send_message(channel, vec![], &json!({"content": "three"}))
        .await
        .expect("the faults wore off");
    assert_eq!(emu.messages_in(channel.get()).len(), 1);
}

#[tokio::test]
async fn closed_dms_answer_with_discord_error_50007() {
    let emu = Emulator::start().await.expect("emulator");
    let person = emu.add_user("Closed");
    emu.close_dms(person);
    let http = http(&emu);
    let dm = http
        .create_private_channel(&json!({"recipient_id": person.to_string()}))
        .await
        .expect("a DM channel opens");
    let sent = http
        .send_message(dm.id, vec![], &json!({"content": "hi"}))
        .await;
    let Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))) = sent
    else {
        panic!("expected 50007, got {sent:?}");
    };
    assert_eq!(response.error.code, 50007);
}

#[tokio::test]
async fn enforce_nonce_returns_the_first_message_instead_of_posting_twice() {
    let emu = Emulator::start().await.expect("emulator");
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let channel =
        serenity::ChannelId::new(emu.add_text_channel(guild, "general").expect("channel"));
    let http = http(&emu);
    let body = json!({"content": "once", "nonce": "outbox-42", "enforce_nonce": true});
    let first = http
        .send_message(channel, vec![], &body)
        .await
        .expect("first");
    let second = http
        .send_message(channel, vec![], &body)
        .await
        .expect("second");
    assert_eq!(first.id, second.id);
    assert_eq!(emu.messages_in(channel.get()).len(), 1);
}

e2e! {
    /// A gateway close makes the bot reconnect, identify again, and keep answering.
    async fn the_bot_reconnects_after_the_gateway_closes(bot) {
        let ids = &bot.ids;
        assert!(bot.emu.close_gateway(4000), "the bot was connected");
        bot.emu.wait_ready(2, Duration::from_secs(30)).await.expect("the bot identifies again");
        let reply = bot.command(ids.nobody, ids.general, "help", &[]).await;
        assert!(reply.text().contains("/setup school"));
    }
}

e2e! {
    /// Discord asks the bot to reconnect (op 7): it resumes its session instead of
    /// identifying again, and keeps answering.
    async fn the_bot_resumes_when_discord_asks_it_to_reconnect(bot) {
        let ids = &bot.ids;
        let (readies, resumes) = (bot.emu.ready_count(), bot.emu.resumed_count());
        assert!(bot.emu.request_reconnect(), "the bot was connected");
        bot.emu.wait_resumed(resumes + 1, Duration::from_secs(30)).await.expect("the bot resumes");
        assert_eq!(bot.emu.ready_count(), readies, "no second IDENTIFY");
        let reply = bot.command(ids.nobody, ids.general, "help", &[]).await;
        assert!(reply.text().contains("/setup school"), "{}", reply.text());
    }
}

e2e! {
    /// Without the Server Members intent switched on for the application, Discord closes the
    /// gateway with 4014: `coachbot run` says what to switch on, connects without it, and
    /// answers commands.
    async fn without_the_members_intent_the_bot_says_so_and_runs_without_it(bot) {
        bot.stop().await;
        bot.emu.set_privileged_intents(0);
        bot.emu.expect_status(4014, 1);
        let readies = bot.emu.ready_count();
        let process = BotProcess::start(bot, &Launch::default());
        let said = process.wait_for_log("Server Members intent", WAIT).await;
        assert!(said.contains("Privileged Gateway Intents"), "{said}");
        bot.emu.wait_ready(readies + 1, WAIT).await.expect("it connects without the intent");
        let reply = bot.command(bot.ids.nobody, bot.ids.general, "help", &[]).await;
        assert!(reply.text().contains("/setup school"), "{}", reply.text());
        // It did not ask for the whole member list (Discord would close the gateway), and
        // `/setup status` tells the admin what to switch on.
        let status = bot.command(bot.ids.owner, bot.ids.general, "setup status", &[]).await;
        assert!(status.text().contains("Server Members intent: **off**"), "{}", status.text());
        assert!(status.text().contains("Privileged Gateway Intents"), "{}", status.text());
        assert_eq!(bot.emu.ready_count(), readies + 1, "no further reconnect");
        process.kill9().await;
    }
}

e2e! {
    /// A token Discord refuses (401, or a gateway close with 4004) stops `coachbot run` with
    /// a message that says what to check, instead of retrying for ever.
    async fn a_refused_token_stops_the_bot_and_says_what_to_check(bot) {
        bot.stop().await;
        bot.emu.set_token("the-token-of-another-application");
        bot.emu.expect_status(401, 10);
        bot.emu.expect_status(4004, 1);
        let mut process = BotProcess::start(bot, &Launch::default());
        let status = process.exit(WAIT).await;
        assert!(!status.success(), "{status:?}");
        let log = process.log();
        assert!(log.contains("Discord refused the bot token: check DISCORD_TOKEN"), "{log}");
    }
}

e2e! {
    via Production;
    /// In production serenity's own rate limiter is on: it reads Discord's `X-RateLimit-*`
    /// headers and waits. Here the bot runs that path (no proxy, `https://discord.com` is the
    /// emulator's TLS port) and posts seven times in Lincoln's channel within seconds (the new
    /// focus and six new steps), past Discord's 5 per 5 s: every announcement arrives once and
    /// the emulator answers no 429. Then seven messages in a row through the bot's client go
    /// to #general: serenity itself waits out the window the headers gave, about 5 s, instead
    /// of drawing a 429.
    async fn serenity_s_own_rate_limiter_keeps_a_busy_channel_within_discord_s_limits(bot) {
        let emu = &bot.emu;
        let app = bot.app();
        let client_http = bot.client_http().expect("the bot is running");
        for (who, http) in [("the outbound sender", app.outbound.http()), ("the client", &*client_http)] {
            assert!(http.ratelimiter.is_some(), "{who}: serenity's rate limiter is on");
            assert!(http.proxy.is_none(), "{who}: no proxy, requests go to https://discord.com");
        }
        eprintln!("serenity's rate limiter is on; https://discord.com is the emulator at {}", emu.tls_addr());

        let plan = bot.plan().await;
        let lincoln = bot.ids.lincoln_channel;
        let titles: Vec<String> = (1..=6).map(|n| format!("Walkthrough round {n}")).collect();
        for title in &titles {
            let reply = bot.command(plan.terry, bot.ids.general, "step add", &[
                ("title", json!(title)), ("indicator", json!("12a")),
                ("owner", json!(plan.terry)), ("due", json!("in 2 weeks")),
            ]).await;
            assert!(reply.content.starts_with("Added step"), "{}", reply.content);
        }
        // The sixth and seventh wait for the channel's window to pass.
        let deadline = tokio::time::Instant::now() + WAIT;
        while emu.messages_in(lincoln).len() < 7 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let posted: Vec<String> = emu
            .messages_in(lincoln)
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(posted.len(), 7, "the focus and six steps, each once: {posted:#?}");
        assert!(posted[0].contains("12a"), "{posted:#?}");
        for title in &titles {
            let times = posted.iter().filter(|c| c.contains(&format!("“{title}”"))).count();
            assert_eq!(times, 1, "{title} announced once: {posted:#?}");
        }
        // serenity read the emulator's headers: the channel's bucket allows 5.
        let limiter = app.outbound.http().ratelimiter.as_ref().expect("the limiter");
        let bucket = serenity::Route::ChannelMessages { channel_id: serenity::ChannelId::new(lincoln) }
            .ratelimiting_bucket();
        let limit = match limiter.routes().read().await.get(&bucket) {
            Some(route) => route.lock().await.limit(),
            None => panic!("serenity's limiter never saw Lincoln's channel"),
        };
        assert_eq!(limit, 5, "serenity knows Discord's limit for the channel");

        // serenity's own wait, with nothing of coachbot's in front of it.
        let general = serenity::ChannelId::new(bot.ids.general);
        let started = std::time::Instant::now();
        for n in 1..=7 {
            general
                .say(&*client_http, format!("Reminder {n}"))
                .await
                .expect("serenity waits for the window instead of drawing a 429");
        }
        let took = started.elapsed();
        eprintln!("seven messages in one channel through serenity's limiter took {took:?}");
        assert!(took >= Duration::from_millis(4500), "serenity waited out the 5 s window: {took:?}");
        let reminders = emu
            .messages_in(bot.ids.general)
            .iter()
            .filter(|m| m["content"].as_str().is_some_and(|c| c.starts_with("Reminder ")))
            .count();
        assert_eq!(reminders, 7);

        let refused: Vec<String> = emu
            .calls()
            .iter()
            .filter(|c| c.status == 429)
            .map(|c| format!("{} {}", c.method, c.path))
            .collect();
        assert!(refused.is_empty(), "no request drew a 429: {refused:?}");
    }
}
