//! Discord's rules of time, state and rate as the emulator enforces them: each test asserts
//! the HTTP status and JSON error code Discord answers with.

use std::time::Duration;

use coachbot::emulator::rules::Rules;
use coachbot::emulator::{Emulator, ProblemKind};
use serde_json::{Value, json};

const TOKEN: &str = "test-token";

/// An answer: status, headers and JSON body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn code(&self) -> Option<u64> {
        self.body.get("code").and_then(Value::as_u64)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(emu: &Emulator) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/api/v10", emu.api_url()),
            token: Some(TOKEN.to_owned()),
        }
    }

    fn anonymous(emu: &Emulator) -> Self {
        Self {
            token: None,
            ..Self::new(emu)
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bot {token}"));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the emulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn multipart(&self, path: &str, payload: &Value, files: &[(&str, Vec<u8>)]) -> Answer {
        let boundary = "emulatorrulesboundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n").as_bytes(),
        );
        for (index, (name, bytes)) in files.iter().enumerate() {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files[{index}]\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bot {TOKEN}"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("the emulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

/// A server with a channel, a person, and a `/ping` command (with an autocomplete option)
/// registered as the bot would.
struct Scene {
    emu: Emulator,
    client: Client,
    person: u64,
    channel: u64,
    app: u64,
}

async fn scene_with(rules: Rules) -> Scene {
    let emu = Emulator::start_with_rules(None, 0, false, rules)
        .await
        .expect("the emulator starts");
    let person = emu.add_user("Pat");
    let guild = emu.add_guild("Server", person);
    let channel = emu.add_text_channel(guild, "general").expect("channel");
    let client = Client::new(&emu);
    let app = emu.application_id();
    let registered = client
        .send(
            reqwest::Method::PUT,
            &format!("/applications/{app}/commands"),
            Some(&json!([{"name": "ping", "description": "Ping", "options": [
                {"type": 3, "name": "word", "description": "A word", "autocomplete": true}
            ]}])),
        )
        .await;
    assert_eq!(registered.status, 200);
    Scene {
        emu,
        client,
        person,
        channel,
        app,
    }
}

async fn scene() -> Scene {
    scene_with(Rules::default()).await
}

impl Scene {
    fn command(&self) -> coachbot::emulator::Interaction {
        self.emu
            .slash_command(self.person, self.channel, "ping", &[])
            .expect("a command")
    }

    async fn callback(
        &self,
        interaction: &coachbot::emulator::Interaction,
        body: &Value,
    ) -> Answer {
        self.client
            .post(
                &format!(
                    "/interactions/{}/{}/callback",
                    interaction.id, interaction.token
                ),
                body,
            )
            .await
    }

    fn webhook(&self, interaction: &coachbot::emulator::Interaction) -> String {
        format!("/webhooks/{}/{}", self.app, interaction.token)
    }

    /// The bot posts a message with these components; returns its id.
    async fn post_components(&self, components: Value) -> u64 {
        let posted = self
            .client
            .post(
                &format!("/channels/{}/messages", self.channel),
                &json!({"content": "pick one", "components": components}),
            )
            .await;
        assert_eq!(posted.status, 200, "{}", posted.body);
        posted.body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id")
    }
}

fn button(custom_id: &str, disabled: bool) -> Value {
    json!({"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id, "disabled": disabled})
}

#[tokio::test]
async fn an_initial_response_after_three_seconds_is_an_unknown_interaction() {
    let scene = scene().await;
    let late = scene.command();
    scene.emu.advance(Duration::from_millis(3100));
    let answer = scene
        .callback(&late, &json!({"type": 4, "data": {"content": "too late"}}))
        .await;
    assert_eq!((answer.status, answer.code()), (404, Some(10062)));
    // The token died with it: no follow-up either.
    let follow = scene
        .client
        .post(&scene.webhook(&late), &json!({"content": "still?"}))
        .await;
    assert_eq!((follow.status, follow.code()), (404, Some(10015)));
}

#[tokio::test]
async fn a_second_initial_response_is_already_acknowledged() {
    let scene = scene().await;
    let interaction = scene.command();
    let first = scene
        .callback(
            &interaction,
            &json!({"type": 4, "data": {"content": "pong"}}),
        )
        .await;
    assert_eq!(first.status, 204);
    let second = scene
        .callback(
            &interaction,
            &json!({"type": 4, "data": {"content": "pong again"}}),
        )
        .await;
    assert_eq!((second.status, second.code()), (400, Some(40060)));
}

#[tokio::test]
async fn follow_ups_need_an_initial_response_and_a_token_younger_than_fifteen_minutes() {
    let scene = scene().await;
    let interaction = scene.command();
    let early = scene
        .client
        .post(&scene.webhook(&interaction), &json!({"content": "first?"}))
        .await;
    assert_eq!((early.status, early.code()), (404, Some(10015)));
    let early_edit = scene
        .client
        .patch(
            &format!("{}/messages/@original", scene.webhook(&interaction)),
            &json!({"content": "edit?"}),
        )
        .await;
    assert_eq!((early_edit.status, early_edit.code()), (404, Some(10015)));

    assert_eq!(
        scene
            .callback(&interaction, &json!({"type": 5}))
            .await
            .status,
        204
    );
    let edited = scene
        .client
        .patch(
            &format!("{}/messages/@original", scene.webhook(&interaction)),
            &json!({"content": "done"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let follow = scene
        .client
        .post(
            &scene.webhook(&interaction),
            &json!({"content": "and more"}),
        )
        .await;
    assert_eq!(follow.status, 200);

    scene.emu.advance(Duration::from_secs(15 * 60 + 1));
    let expired = scene
        .client
        .post(
            &scene.webhook(&interaction),
            &json!({"content": "much later"}),
        )
        .await;
    assert_eq!((expired.status, expired.code()), (401, Some(50027)));
    let expired_edit = scene
        .client
        .patch(
            &format!("{}/messages/@original", scene.webhook(&interaction)),
            &json!({"content": "much later"}),
        )
        .await;
    assert_eq!(
        (expired_edit.status, expired_edit.code()),
        (401, Some(50027))
    );
}

#[tokio::test]
async fn callback_types_must_fit_the_kind_of_interaction() {
    let scene = scene().await;
    // Autocomplete takes only choices (8); choices answer only autocomplete.
    let typed = scene
        .emu
        .autocomplete(
            scene.person,
            scene.channel,
            "ping",
            &[("word", json!("he"))],
            "word",
        )
        .expect("autocomplete");
    let wrong = scene
        .callback(&typed, &json!({"type": 4, "data": {"content": "no"}}))
        .await;
    assert_eq!((wrong.status, wrong.code()), (400, Some(50035)));
    let choices = json!({"type": 8, "data": {"choices": [{"name": "hello", "value": "hello"}]}});
    assert_eq!(scene.callback(&typed, &choices).await.status, 204);
    let command = scene.command();
    assert_eq!(scene.callback(&command, &choices).await.status, 400);
    // UPDATE_MESSAGE and DEFERRED_UPDATE_MESSAGE only for components.
    let update = json!({"type": 7, "data": {"content": "changed"}});
    assert_eq!(scene.callback(&command, &update).await.status, 400);
    let deferred_update = json!({"type": 6});
    let command = scene.command();
    assert_eq!(scene.callback(&command, &deferred_update).await.status, 400);

    // A modal cannot answer a modal submit; a submit from a command cannot update a message.
    let modal = json!({"type": 9, "data": {"custom_id": "form", "title": "Form", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "label": "Answer", "style": 1}]}
    ]}});
    assert_eq!(
        scene.callback(&command, &modal).await.status,
        204,
        "a refused callback is no answer: the command may still open a modal"
    );
}

#[tokio::test]
async fn modal_submits_answer_only_with_messages_or_updates_of_their_component_message() {
    let scene = scene().await;
    let modal = json!({"type": 9, "data": {"custom_id": "form", "title": "Form", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "label": "Answer", "style": 1}]}
    ]}});
    let command = scene.command();
    assert_eq!(scene.callback(&command, &modal).await.status, 204);
    let submit = scene
        .emu
        .submit_modal(scene.person, scene.channel, "form", &[("answer", "fine")])
        .expect("submitted");
    assert_eq!(
        scene.callback(&submit, &modal).await.status,
        400,
        "no modal on a modal"
    );
    let update = json!({"type": 7, "data": {"content": "changed"}});
    assert_eq!(
        scene.callback(&submit, &update).await.status,
        400,
        "this modal came from a command, not a component"
    );

    // From a button: the submit may update the button's message.
    let message = scene
        .post_components(json!([{"type": 1, "components": [button("open", false)]}]))
        .await;
    let click = scene
        .emu
        .click_button(scene.person, scene.channel, message, "open")
        .expect("click");
    assert_eq!(scene.callback(&click, &modal).await.status, 204);
    let submit = scene
        .emu
        .submit_modal(scene.person, scene.channel, "form", &[("answer", "fine")])
        .expect("submitted");
    assert_eq!(scene.callback(&submit, &update).await.status, 204);
    let stored = scene.emu.messages_in(scene.channel);
    assert_eq!(
        stored.last().map(|m| m["content"].clone()),
        Some(json!("changed"))
    );
}

#[tokio::test]
async fn submit_modal_takes_its_fields_from_the_modal_that_was_opened() {
    let scene = scene().await;
    assert!(
        scene
            .emu
            .submit_modal(scene.person, scene.channel, "form", &[("answer", "x")])
            .is_err(),
        "no modal was opened"
    );
    let command = scene.command();
    let modal = json!({"type": 9, "data": {"custom_id": "form", "title": "Form", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "label": "Answer", "style": 1}]},
        {"type": 1, "components": [{"type": 4, "custom_id": "note", "label": "Note", "style": 2, "required": false}]}
    ]}});
    assert_eq!(scene.callback(&command, &modal).await.status, 204);
    let error = scene
        .emu
        .submit_modal(scene.person, scene.channel, "form", &[("colour", "red")])
        .expect_err("a field never on the form");
    assert!(error.to_string().contains("colour"), "{error}");
    scene
        .emu
        .submit_modal(scene.person, scene.channel, "form", &[("answer", "fine")])
        .expect("the optional note may stay empty");
    assert!(
        scene
            .emu
            .submit_modal(scene.person, scene.channel, "form", &[("answer", "again")])
            .is_err(),
        "a modal is submitted once"
    );
}

#[tokio::test]
async fn clicks_need_an_enabled_component_that_is_on_the_message() {
    let scene = scene().await;
    let message = scene
        .post_components(
            json!([{"type": 1, "components": [button("yes", false), button("no", true)]}]),
        )
        .await;
    assert!(
        scene
            .emu
            .click_button(scene.person, scene.channel, message, "maybe")
            .is_err()
    );
    assert!(
        scene
            .emu
            .click_button(scene.person, scene.channel, message, "no")
            .is_err()
    );
    let click = scene
        .emu
        .click_button(scene.person, scene.channel, message, "yes")
        .expect("click");
    // UPDATE_MESSAGE changes the stored message: the old button is gone.
    let update = json!({"type": 7, "data": {"content": "thanks", "components": [
        {"type": 1, "components": [button("undo", false)]}
    ]}});
    assert_eq!(scene.callback(&click, &update).await.status, 204);
    assert!(
        scene
            .emu
            .click_button(scene.person, scene.channel, message, "yes")
            .is_err()
    );
    let undo = scene
        .emu
        .click_button(scene.person, scene.channel, message, "undo")
        .expect("the new button");
    // DEFERRED_UPDATE_MESSAGE, then an edit of @original edits the button's message.
    assert_eq!(scene.callback(&undo, &json!({"type": 6})).await.status, 204);
    let edited = scene
        .client
        .patch(
            &format!("{}/messages/@original", scene.webhook(&undo)),
            &json!({"content": "undone", "components": []}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.body["id"], json!(message.to_string()));
    let stored = scene.emu.messages_in(scene.channel);
    let stored = stored
        .iter()
        .find(|m| m["id"] == json!(message.to_string()))
        .expect("stored");
    assert_eq!(stored["content"], json!("undone"));
    assert_eq!(stored["components"], json!([]));

    // And the channel route edits it too.
    let patched = scene
        .client
        .patch(
            &format!("/channels/{}/messages/{message}", scene.channel),
            &json!({"content": "final"}),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        scene
            .emu
            .messages_in(scene.channel)
            .iter()
            .find(|m| m["id"] == json!(message.to_string()))
            .map(|m| m["content"].clone()),
        Some(json!("final"))
    );
}

#[tokio::test]
async fn ephemeral_answers_are_seen_only_by_the_person_they_answer() {
    let scene = scene().await;
    let other = scene.emu.add_user("Sam");
    let interaction = scene.command();
    let answer = json!({"type": 4, "data": {"content": "just for you", "flags": 64}});
    assert_eq!(scene.callback(&interaction, &answer).await.status, 204);
    let seen = |user| {
        scene
            .emu
            .messages_seen_by(scene.channel, user)
            .iter()
            .any(|m| m["content"] == json!("just for you"))
    };
    assert!(seen(scene.person));
    assert!(!seen(other));
    let history = scene
        .client
        .get(&format!("/channels/{}/messages", scene.channel))
        .await;
    assert_eq!(history.body, json!([]), "not in the channel's history");
}

#[tokio::test]
async fn enforce_nonce_dedupes_per_channel_within_the_window() {
    let scene = scene().await;
    let path = format!("/channels/{}/messages", scene.channel);
    let body = json!({"content": "once", "nonce": "n-1", "enforce_nonce": true});
    let first = scene.client.post(&path, &body).await;
    let again = scene.client.post(&path, &body).await;
    assert_eq!(first.body["id"], again.body["id"]);
    // Without enforce_nonce, Discord posts again.
    let loose = json!({"content": "once", "nonce": "n-1"});
    let other = scene.client.post(&path, &loose).await;
    assert_ne!(first.body["id"], other.body["id"]);
    // After the window, the nonce makes a new message.
    scene.emu.advance(Duration::from_secs(5 * 60 + 1));
    let later = scene.client.post(&path, &body).await;
    assert_eq!(later.status, 200);
    assert_ne!(first.body["id"], later.body["id"]);
    assert_eq!(scene.emu.messages_in(scene.channel).len(), 3);
}

#[tokio::test]
async fn five_messages_per_channel_per_five_seconds_then_429_with_discords_headers() {
    let scene = scene().await;
    let path = format!("/channels/{}/messages", scene.channel);
    for remaining in (0..5).rev() {
        let sent = scene.client.post(&path, &json!({"content": "hi"})).await;
        assert_eq!(sent.status, 200);
        assert_eq!(sent.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            sent.header("x-ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
        for header in [
            "x-ratelimit-reset",
            "x-ratelimit-reset-after",
            "x-ratelimit-bucket",
        ] {
            assert!(sent.header(header).is_some(), "{header}");
        }
    }
    scene.emu.expect_status(429, 1);
    let limited = scene.client.post(&path, &json!({"content": "hi"})).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-scope"), Some("user"));
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.body["global"], json!(false));
    assert!(
        limited.body["retry_after"]
            .as_f64()
            .is_some_and(|s| s > 0.0 && s <= 5.0)
    );
    assert!(limited.body["message"].is_string());
    assert!(scene.emu.take_problems().is_empty(), "the 429 was expected");
    scene.emu.advance(Duration::from_secs(5));
    assert_eq!(
        scene
            .client
            .post(&path, &json!({"content": "hi"}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn fifty_one_requests_in_one_second_meet_the_global_limit_with_its_headers() {
    let scene = scene().await;
    // A burst that the machine stretched past one second proves nothing: it is tried again.
    for _ in 0..3 {
        scene.emu.advance(Duration::from_secs(2));
        let started = std::time::Instant::now();
        let mut answers = Vec::new();
        for _ in 0..51 {
            answers.push(scene.client.get("/users/@me").await);
        }
        if started.elapsed() >= Duration::from_millis(900) {
            continue;
        }
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert!(
            statuses[..50].iter().all(|s| *s == 200),
            "fifty in a second are allowed: {statuses:?}"
        );
        let limited = &answers[50];
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("x-ratelimit-scope"), Some("global"));
        assert_eq!(limited.header("x-ratelimit-global"), Some("true"));
        assert!(limited.header("retry-after").is_some());
        assert_eq!(limited.body["global"], json!(true));
        let retry_after = limited.body["retry_after"].as_f64().expect("retry_after");
        assert!(
            retry_after > 0.0 && retry_after <= 1.0,
            "until the second is over: {retry_after}"
        );
        assert!(answers[49].header("x-ratelimit-limit").is_some());
        return;
    }
    panic!("three bursts of 51 requests each took a second or more on this machine");
}

#[tokio::test]
async fn the_global_limit_spares_interaction_callbacks() {
    let scene = scene_with(Rules {
        global_per_second: 3,
        ..Rules::default()
    })
    .await;
    // The command registration used one request of this second's three.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(scene.client.get("/users/@me").await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = scene.client.get("/users/@me").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-scope"), Some("global"));
    assert_eq!(limited.header("x-ratelimit-global"), Some("true"));
    assert_eq!(limited.body["global"], json!(true));
    let interaction = scene.command();
    let answered = scene
        .callback(
            &interaction,
            &json!({"type": 4, "data": {"content": "pong"}}),
        )
        .await;
    assert_eq!(
        answered.status, 204,
        "callbacks are not bound to the global limit"
    );
}

#[tokio::test]
async fn limits_can_be_turned_off_and_say_so() {
    let scene = scene_with(Rules::without_rate_limits()).await;
    assert!(scene.emu.rules().describe().contains("rate limits off"));
    let path = format!("/channels/{}/messages", scene.channel);
    for _ in 0..12 {
        assert_eq!(
            scene
                .client
                .post(&path, &json!({"content": "hi"}))
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn too_many_invalid_requests_are_refused_for_everything() {
    let scene = scene_with(Rules {
        invalid_request_limit: 3,
        ..Rules::default()
    })
    .await;
    let anonymous = Client::anonymous(&scene.emu);
    for _ in 0..3 {
        let refused = anonymous.get("/users/@me").await;
        assert_eq!((refused.status, refused.code()), (401, Some(0)));
        assert_eq!(refused.body["message"], json!("401: Unauthorized"));
    }
    let banned = scene.client.get("/users/@me").await;
    assert_eq!(banned.status, 429);
    assert_eq!(banned.body["global"], json!(true));
    scene.emu.advance(Duration::from_secs(10 * 60));
    assert_eq!(scene.client.get("/users/@me").await.status, 200);
}

#[tokio::test]
async fn injected_faults_still_answer_first() {
    let scene = scene().await;
    scene.emu.inject_fault(coachbot::emulator::Fault {
        method: Some("POST".into()),
        path_prefix: "/channels/".into(),
        times: 1,
        kind: coachbot::emulator::FaultKind::SharedRateLimited { retry_after: 2.0 },
    });
    let path = format!("/channels/{}/messages", scene.channel);
    let limited = scene.client.post(&path, &json!({"content": "hi"})).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-scope"), Some("shared"));
    assert!(
        scene.emu.take_problems().is_empty(),
        "a fault is what the test asked for"
    );
    assert_eq!(
        scene
            .client
            .post(&path, &json!({"content": "hi"}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn uploads_up_to_ten_mebibytes_and_ten_files() {
    let scene = scene().await;
    let path = format!("/channels/{}/messages", scene.channel);
    let three_mib = vec![7u8; 3 * 1024 * 1024];
    let sent = scene
        .client
        .multipart(
            &path,
            &json!({"content": "a chart"}),
            &[("chart.png", three_mib)],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body["attachments"][0]["size"], json!(3 * 1024 * 1024));

    let too_big = vec![7u8; 10 * 1024 * 1024 + 1];
    let refused = scene
        .client
        .multipart(&path, &json!({"content": "big"}), &[("big.bin", too_big)])
        .await;
    assert_eq!((refused.status, refused.code()), (413, Some(40005)));
    let twelve_mib = vec![7u8; 12 * 1024 * 1024];
    scene.emu.advance(Duration::from_secs(5));
    let refused = scene
        .client
        .multipart(
            &path,
            &json!({"content": "big"}),
            &[("export.zip", twelve_mib)],
        )
        .await;
    assert_eq!((refused.status, refused.code()), (413, Some(40005)));

    let files: Vec<(&str, Vec<u8>)> = (0..11).map(|_| ("f.txt", b"x".to_vec())).collect();
    scene.emu.advance(Duration::from_secs(5));
    let refused = scene
        .client
        .multipart(&path, &json!({"content": "many"}), &files)
        .await;
    assert_eq!((refused.status, refused.code()), (400, Some(50035)));
}

#[tokio::test]
async fn messages_discord_would_refuse_are_refused() {
    let scene = scene_with(Rules::without_rate_limits()).await;
    let path = format!("/channels/{}/messages", scene.channel);
    let empty = scene.client.post(&path, &json!({"content": ""})).await;
    assert_eq!((empty.status, empty.code()), (400, Some(50006)));
    let row = json!({"type": 1, "components": [button("a", false)]});
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"type": 1, "components": [button(&format!("b{i}"), false)]}))
        .collect();
    let six_rows = scene.client.post(&path, &json!({"components": rows})).await;
    assert_eq!((six_rows.status, six_rows.code()), (400, Some(50035)));
    let duplicate = scene
        .client
        .post(&path, &json!({"components": [row.clone(), row]}))
        .await;
    assert_eq!((duplicate.status, duplicate.code()), (400, Some(50035)));
    let long =
        json!({"embeds": [{"description": "x".repeat(4096)}, {"description": "y".repeat(2000)}]});
    let long = scene.client.post(&path, &long).await;
    assert_eq!((long.status, long.code()), (400, Some(50035)));
    let unnamed = json!({"embeds": [{"title": "t", "fields": [{"name": "", "value": "v"}]}]});
    let unnamed = scene.client.post(&path, &unnamed).await;
    assert_eq!((unnamed.status, unnamed.code()), (400, Some(50035)));
    let problems = scene.emu.take_problems();
    assert_eq!(problems.len(), 5, "each refusal is reported: {problems:?}");
    assert!(problems.iter().all(|p| p.kind == ProblemKind::ErrorAnswer));
}

#[tokio::test]
async fn requests_need_a_bot_token_and_dms_need_a_real_user() {
    let scene = scene().await;
    let refused = Client::anonymous(&scene.emu).get("/users/@me").await;
    assert_eq!((refused.status, refused.code()), (401, Some(0)));
    scene.emu.set_token("the-real-one");
    assert_eq!(
        scene.client.get("/users/@me").await.status,
        401,
        "another token"
    );
    scene.emu.set_token(TOKEN);
    let nobody = scene
        .client
        .post("/users/@me/channels", &json!({"recipient_id": "424242"}))
        .await;
    assert_eq!((nobody.status, nobody.code()), (404, Some(10013)));
    let dm = scene
        .client
        .post(
            "/users/@me/channels",
            &json!({"recipient_id": scene.person.to_string()}),
        )
        .await;
    assert_eq!(dm.status, 200);
}

#[tokio::test]
async fn problems_reach_a_subscriber_at_once_unless_expected() {
    let scene = scene().await;
    let mut problems = scene.emu.subscribe_problems();
    scene.emu.expect_error(10062);
    let late = scene.command();
    scene.emu.advance(Duration::from_secs(4));
    scene
        .callback(&late, &json!({"type": 4, "data": {"content": "late"}}))
        .await;
    assert!(problems.try_recv().is_err(), "10062 was expected");
    let again = scene.command();
    scene.emu.advance(Duration::from_secs(4));
    scene
        .callback(&again, &json!({"type": 4, "data": {"content": "late"}}))
        .await;
    let problem = problems.try_recv().expect("reported at once");
    assert_eq!((problem.status, problem.code), (404, Some(10062)));
    assert_eq!(scene.emu.take_problems().len(), 1);
    assert!(scene.emu.take_problems().is_empty(), "taken");
}

#[tokio::test]
async fn the_emulators_answers_carry_the_fields_discord_requires() {
    let Some(path) = coachbot::emulator::spec::SpecValidator::locate() else {
        eprintln!("skipping: Discord's OpenAPI document was not found (set DISCORD_OPENAPI_SPEC)");
        return;
    };
    let spec = coachbot::emulator::spec::SpecValidator::load(&path).expect("the spec loads");
    let emu = Emulator::start_with(Some(spec), 0, false)
        .await
        .expect("emulator");
    let person = emu.add_user("Pat");
    let guild = emu.add_guild("Server", person);
    let channel = emu.add_text_channel(guild, "general").expect("channel");
    let client = Client::new(&emu);
    client
        .post(
            &format!("/channels/{channel}/messages"),
            &json!({"content": "hi"}),
        )
        .await;
    client
        .post(
            "/users/@me/channels",
            &json!({"recipient_id": person.to_string()}),
        )
        .await;
    client
        .get(&format!("/channels/{channel}/messages?limit=10"))
        .await;
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

/// A bounded emulator (the sandbox's, `coachbot emulator`'s) keeps the newest calls and the
/// newest messages of each channel, and its marks stay valid: a long run holds constant memory
/// and a waiter still finds the call it waits for.
#[tokio::test]
async fn a_bounded_record_keeps_the_newest_calls_and_messages() {
    let scene = scene_with(Rules::without_rate_limits()).await;
    scene.emu.keep_recent(3);
    let before = scene.emu.call_count();
    for n in 0..10 {
        let posted = scene
            .client
            .post(
                &format!("/channels/{}/messages", scene.channel),
                &json!({"content": format!("message {n}")}),
            )
            .await;
        assert_eq!(posted.status, 200, "{}", posted.body);
    }
    assert_eq!(scene.emu.call_count(), before + 10, "every call is counted");
    let held: Vec<usize> = scene.emu.calls().iter().map(|c| c.index).collect();
    assert_eq!(held, [before + 7, before + 8, before + 9]);
    let kept: Vec<String> = scene
        .emu
        .messages_in(scene.channel)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(kept, ["message 7", "message 8", "message 9"]);
    // No bot is connected: the DMs' events wait as missed, and only the newest are kept.
    for n in 0..20 {
        scene.emu.send_dm(scene.person, &format!("dm {n}"));
    }
    let dm = scene.emu.dm_channel_of(scene.person).expect("a DM channel");
    assert_eq!(scene.emu.messages_in(dm).len(), 3);
    let missed = scene.emu.missed().len();
    assert!(
        (3..=6).contains(&missed),
        "between keep and twice keep events are held: {missed}"
    );

    let mark = scene.emu.call_count();
    let path = format!("/channels/{}/messages", scene.channel);
    let waiting = scene
        .emu
        .wait_for_call(mark, Duration::from_secs(10), move |c| {
            c.path == path && c.content() == Some("the one")
        });
    let post = async {
        for content in ["not this", "the one"] {
            scene
                .client
                .post(
                    &format!("/channels/{}/messages", scene.channel),
                    &json!({ "content": content }),
                )
                .await;
        }
    };
    let (found, ()) = tokio::join!(waiting, post);
    assert_eq!(
        found.map(|c| c.index),
        Some(mark + 1),
        "the waiter is woken by its call"
    );
}
