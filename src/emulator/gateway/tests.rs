use super::*;
use crate::emulator::Emulator;

fn identify_frame(token: &str, intent_bits: u64) -> Value {
    json!({"op": 2, "d": {"token": token, "intents": intent_bits, "properties": {}}})
}

/// The frames a connection has been sent so far (and the close, if any).
fn drain(rx: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(item) = rx.try_recv() {
        out.push(match item {
            Outgoing::Frame(frame) => frame,
            Outgoing::Close(code, _) => json!({"close": code}),
        });
    }
    out
}

fn events(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| f.get("t").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

async fn emulator() -> Emulator {
    Emulator::start_with(None, 0, false)
        .await
        .expect("the emulator starts")
}

#[tokio::test]
async fn a_token_other_than_the_worlds_fails_with_4004() {
    let emu = emulator().await;
    emu.set_token("right");
    let (tx, _rx) = mpsc::unbounded_channel();
    let refused = identify(&emu.shared, 1, &tx, &identify_frame("Bot wrong", 1));
    assert_eq!(refused.err().map(|c| c.0), Some(4004));
    let accepted = identify(&emu.shared, 1, &tx, &identify_frame("Bot right", 1));
    assert!(accepted.is_ok());
    let (tx, _rx) = mpsc::unbounded_channel();
    assert_eq!(
        identify(&emu.shared, 2, &tx, &identify_frame("", 1))
            .err()
            .map(|c| c.0),
        Some(4004)
    );
}

#[tokio::test]
async fn privileged_intents_not_enabled_fail_with_4014() {
    let emu = emulator().await;
    emu.set_privileged_intents(intents::MESSAGE_CONTENT);
    let (tx, _rx) = mpsc::unbounded_channel();
    let wanted = intents::GUILDS | intents::GUILD_MEMBERS;
    let refused = identify(&emu.shared, 1, &tx, &identify_frame("t", wanted));
    assert_eq!(refused.err().map(|c| c.0), Some(4014));
    let allowed = intents::GUILDS | intents::MESSAGE_CONTENT;
    assert!(identify(&emu.shared, 1, &tx, &identify_frame("t", allowed)).is_ok());
    assert_eq!(
        identify(&emu.shared, 1, &tx, &identify_frame("t", 1 << 40))
            .err()
            .map(|c| c.0),
        Some(4013)
    );
}

#[tokio::test]
async fn guild_create_lists_only_the_bot_without_guild_presences() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
    let frames = drain(&mut rx);
    let create = frames
        .iter()
        .find(|f| f["t"] == "GUILD_CREATE")
        .expect("a GUILD_CREATE");
    let members = create["d"]["members"].as_array().expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["user"]["id"], json!(emu.bot_id().to_string()));
    assert_eq!(create["d"]["member_count"], json!(2));
    assert_eq!(create["d"]["id"], json!(guild.to_string()));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let wanted = intents::GUILDS | intents::GUILD_PRESENCES;
    identify(&emu.shared, 2, &tx, &identify_frame("t", wanted)).expect("identify");
    let frames = drain(&mut rx);
    let create = frames
        .iter()
        .find(|f| f["t"] == "GUILD_CREATE")
        .expect("a GUILD_CREATE");
    assert_eq!(create["d"]["members"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn member_events_reach_only_sessions_with_guild_members() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let person = emu.add_user("Pat");
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
    drain(&mut rx);
    emu.add_member(guild, person, &[]).expect("member");
    assert!(events(&drain(&mut rx)).is_empty());

    let (tx, mut rx) = mpsc::unbounded_channel();
    let wanted = intents::GUILDS | intents::GUILD_MEMBERS;
    identify(&emu.shared, 2, &tx, &identify_frame("t", wanted)).expect("identify");
    drain(&mut rx);
    let role = emu.add_role(guild, "Coach", 0).expect("role");
    emu.set_member_roles(guild, person, &[role]).expect("roles");
    emu.remove_member(guild, person).expect("removed");
    emu.add_member(guild, person, &[]).expect("back");
    assert_eq!(
        events(&drain(&mut rx)),
        [
            "GUILD_ROLE_CREATE",
            "GUILD_MEMBER_UPDATE",
            "GUILD_MEMBER_REMOVE",
            "GUILD_MEMBER_ADD"
        ]
    );
}

#[tokio::test]
async fn resume_replays_what_the_session_missed_then_resumed() {
    let emu = emulator().await;
    let person = emu.add_user("Pat");
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(
        &emu.shared,
        1,
        &tx,
        &identify_frame("t", intents::DIRECT_MESSAGES),
    )
    .expect("identify");
    let ready = drain(&mut rx);
    let session = ready[0]["d"]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    let seq = ready.last().and_then(|f| f["s"].as_u64()).expect("seq");
    // The connection drops without a close frame: the session stays resumable.
    emu.shared.gateway.disconnected(1, None);
    emu.send_dm(person, "while you were away");
    assert_eq!(emu.missed().len(), 1);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let frame = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}});
    resume(&emu.shared, 2, &tx, &frame).expect("resume");
    let frames = drain(&mut rx);
    assert_eq!(events(&frames), ["MESSAGE_CREATE", "RESUMED"]);
    assert_eq!(frames[0]["s"], json!(seq + 1));
    assert!(emu.missed().is_empty(), "delivered by the RESUME");
    assert_eq!(emu.resumed_count(), 1);

    // A session that was closed with 1000 is gone: op 9.
    emu.shared.gateway.disconnected(2, Some(1000));
    let (tx, mut rx) = mpsc::unbounded_channel();
    resume(&emu.shared, 3, &tx, &frame).expect("answered");
    assert_eq!(drain(&mut rx), [json!({"op": 9, "d": false})]);
}

/// A heartbeat's sequence lets the dispatches it acknowledges go from the resume buffer:
/// a long session holds only what a RESUME may still ask for. A RESUME from the
/// acknowledged sequence replays what came after; one from before it can no longer be
/// served (op 9), as on Discord.
#[tokio::test]
async fn a_heartbeat_lets_what_it_acknowledges_leave_the_resume_buffer() {
    let emu = emulator().await;
    let person = emu.add_user("Pat");
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(
        &emu.shared,
        1,
        &tx,
        &identify_frame("t", intents::DIRECT_MESSAGES),
    )
    .expect("identify");
    let ready = drain(&mut rx);
    let session = ready[0]["d"]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    let first = ready.last().and_then(|f| f["s"].as_u64()).expect("seq");
    for n in 0..50 {
        emu.send_dm(person, &format!("message {n}"));
    }
    let frames = drain(&mut rx);
    assert_eq!(frames.len(), 50);
    let buffered = |emu: &Emulator| {
        let state = emu.shared.gateway.state();
        state
            .sessions
            .get(&session)
            .map(|s| s.buffer.len())
            .expect("the session")
    };
    assert!(buffered(&emu) >= 50, "unacknowledged dispatches are kept");

    let acked = first + 40;
    emu.shared.gateway.acknowledged(1, acked);
    assert_eq!(
        buffered(&emu),
        10,
        "only the ten after the heartbeat's sequence remain"
    );
    emu.shared.gateway.acknowledged(1, u64::MAX);
    assert_eq!(
        buffered(&emu),
        0,
        "a sequence past the session's own lets all go"
    );

    emu.send_dm(person, "after the heartbeat");
    emu.shared.gateway.disconnected(1, None);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let from = first + 50;
    let frame = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": from}});
    resume(&emu.shared, 2, &tx, &frame).expect("resume");
    let frames = drain(&mut rx);
    assert_eq!(events(&frames), ["MESSAGE_CREATE", "RESUMED"]);
    assert_eq!(frames[0]["d"]["content"], json!("after the heartbeat"));

    emu.shared.gateway.disconnected(2, None);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stale = json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": first}});
    resume(&emu.shared, 3, &tx, &stale).expect("answered");
    assert_eq!(drain(&mut rx), [json!({"op": 9, "d": false})]);
}

#[tokio::test]
async fn request_guild_members_answers_with_chunks() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let pat = emu.add_user("Pat");
    emu.add_member(guild, pat, &[]).expect("member");
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(&emu.shared, 1, &tx, &identify_frame("t", intents::GUILDS)).expect("identify");
    drain(&mut rx);
    let all = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "", "limit": 0}});
    assert_eq!(
        request_members(&emu.shared, 1, &all).err().map(|c| c.0),
        Some(4013),
        "the whole list needs GUILD_MEMBERS"
    );
    let by_name = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "pa", "limit": 10, "nonce": "n1"}});
    request_members(&emu.shared, 1, &by_name).expect("answered");
    let frames = drain(&mut rx);
    assert_eq!(events(&frames), ["GUILD_MEMBERS_CHUNK"]);
    let chunk = &frames[0]["d"];
    assert_eq!(chunk["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(chunk["nonce"], json!("n1"));
    assert_eq!(
        (chunk["chunk_index"].clone(), chunk["chunk_count"].clone()),
        (json!(0), json!(1))
    );
}

#[tokio::test]
async fn a_member_request_on_an_ended_session_goes_unanswered() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let guild = emu.add_guild("Server", owner);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let all_intents = intents::GUILDS | intents::GUILD_MEMBERS;
    identify(&emu.shared, 1, &tx, &identify_frame("t", all_intents)).expect("identify");
    drain(&mut rx);
    assert!(emu.shared.gateway.close(4000), "the session was live");
    drain(&mut rx);
    let all = json!({"op": 8, "d": {"guild_id": guild.to_string(), "query": "", "limit": 0}});
    assert!(
        request_members(&emu.shared, 1, &all).is_ok(),
        "the close is in flight: no second close"
    );
    assert!(
        drain(&mut rx).is_empty(),
        "and no chunk for an ended session"
    );
}
fn sharded_identify(shard: u64, count: u64) -> Value {
    json!({"op": 2, "d": {
        "token": "t",
        "intents": intents::GUILDS | intents::GUILD_MEMBERS | intents::DIRECT_MESSAGES,
        "properties": {},
        "shard": [shard, count],
    }})
}

#[tokio::test]
async fn a_wrong_shard_closes_with_4010_and_an_overfull_one_with_4011() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    emu.add_guild_on_shard("A", owner, 0, 2);
    emu.add_guild_on_shard("B", owner, 0, 2);
    let (tx, _rx) = mpsc::unbounded_channel();
    for wrong in [json!([2, 2]), json!([0, 0]), json!([0]), json!("0,1")] {
        let frame = json!({"op": 2, "d": {"token": "t", "intents": 1, "shard": wrong}});
        assert_eq!(
            identify(&emu.shared, 1, &tx, &frame).err().map(|c| c.0),
            Some(4010),
            "{wrong}"
        );
    }
    emu.set_guilds_per_shard(1);
    assert_eq!(
        identify(&emu.shared, 1, &tx, &sharded_identify(0, 2))
            .err()
            .map(|c| c.0),
        Some(4011),
        "two servers on shard 0 of 2"
    );
    assert!(identify(&emu.shared, 2, &tx, &sharded_identify(1, 2)).is_ok());
    assert_eq!(
        identify(&emu.shared, 3, &tx, &identify_frame("t", 1))
            .err()
            .map(|c| c.0),
        Some(4011),
        "unsharded, both servers land on one shard"
    );
}

#[tokio::test]
async fn each_shard_gets_its_own_servers_and_dms_go_to_shard_0() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let guilds: Vec<u64> = (0..4)
        .map(|shard| emu.add_guild_on_shard(&format!("S{shard}"), owner, shard, 4))
        .collect();
    for (shard, guild) in guilds.iter().enumerate() {
        assert_eq!(super::super::shard_of(*guild, 4), shard as u64);
    }
    let mut receivers = Vec::new();
    for shard in 0..4 {
        let (tx, mut rx) = mpsc::unbounded_channel();
        identify(&emu.shared, shard + 1, &tx, &sharded_identify(shard, 4)).expect("identify");
        let frames = drain(&mut rx);
        assert_eq!(frames[0]["d"]["shard"], json!([shard, 4]));
        let listed: Vec<Value> = frames[0]["d"]["guilds"]
            .as_array()
            .expect("guilds")
            .iter()
            .map(|g| g["id"].clone())
            .collect();
        let mine = json!(guilds[shard as usize].to_string());
        assert_eq!(
            listed,
            std::slice::from_ref(&mine),
            "READY lists shard {shard}'s server"
        );
        let created: Vec<Value> = frames
            .iter()
            .filter(|f| f["t"] == "GUILD_CREATE")
            .map(|f| f["d"]["id"].clone())
            .collect();
        assert_eq!(created, [mine]);
        receivers.push(rx);
    }
    let pat = emu.add_user("Pat");
    emu.add_member(guilds[2], pat, &[]).expect("member");
    emu.send_dm(pat, "hello");
    let got: Vec<Vec<String>> = receivers.iter_mut().map(|rx| events(&drain(rx))).collect();
    assert_eq!(got[0], ["MESSAGE_CREATE"], "the DM, on shard 0");
    assert!(got[1].is_empty() && got[3].is_empty());
    assert_eq!(
        got[2],
        ["GUILD_MEMBER_ADD"],
        "the server's event, on its shard"
    );
    assert_eq!(emu.connected_shards().len(), 4);
    let shards: Vec<(String, u64)> = emu
        .dispatched_on_shards()
        .into_iter()
        .filter(|d| d.event != "READY" && d.event != "GUILD_CREATE")
        .map(|d| (d.event, d.shard.id))
        .collect();
    assert_eq!(
        shards,
        [
            ("GUILD_MEMBER_ADD".to_owned(), 2),
            ("MESSAGE_CREATE".to_owned(), 0)
        ]
    );
}

#[tokio::test]
async fn member_requests_are_answered_only_on_the_servers_shard() {
    let emu = emulator().await;
    let owner = emu.add_user("Owner");
    let on_one = emu.add_guild_on_shard("One", owner, 1, 2);
    let (tx0, mut rx0) = mpsc::unbounded_channel();
    identify(&emu.shared, 1, &tx0, &sharded_identify(0, 2)).expect("identify");
    let (tx1, mut rx1) = mpsc::unbounded_channel();
    identify(&emu.shared, 2, &tx1, &sharded_identify(1, 2)).expect("identify");
    drain(&mut rx0);
    drain(&mut rx1);
    let all = json!({"op": 8, "d": {"guild_id": on_one.to_string(), "query": "", "limit": 0}});
    request_members(&emu.shared, 1, &all).expect("not a close");
    assert!(drain(&mut rx0).is_empty() && drain(&mut rx1).is_empty());
    let problems = emu.take_problems();
    assert!(
        problems
            .iter()
            .any(|p| p.kind == ProblemKind::Violation && p.message.contains("shard [0, 2]")),
        "{problems:?}"
    );
    request_members(&emu.shared, 2, &all).expect("answered");
    assert_eq!(events(&drain(&mut rx1)), ["GUILD_MEMBERS_CHUNK"]);
}

#[tokio::test]
async fn a_new_session_replaces_only_its_own_shards() {
    let emu = emulator().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    identify(&emu.shared, 1, &tx, &sharded_identify(0, 2)).expect("identify");
    identify(&emu.shared, 2, &tx, &sharded_identify(1, 2)).expect("identify");
    identify(&emu.shared, 3, &tx, &sharded_identify(1, 2)).expect("again");
    drain(&mut rx);
    let shards: Vec<u64> = emu.connected_shards().iter().map(|s| s.id).collect();
    assert_eq!(shards, [0, 1]);
    assert!(emu.close_shard(1, 4000));
    assert_eq!(drain(&mut rx), [json!({"close": 4000})]);
    assert!(emu.bot_connected(), "shard 0 is still up");
}

#[tokio::test]
async fn gateway_bot_recommends_the_configured_shards() {
    let emu = emulator().await;
    emu.set_recommended_shards(4, 2);
    let body = emu
        .shared
        .gateway
        .sharding()
        .gateway_bot(&emu.shared.gateway_url);
    let parsed: serenity::model::gateway::BotGateway =
        serde_json::from_value(body).expect("serenity reads it");
    assert_eq!(parsed.shards, 4);
    assert_eq!(parsed.session_start_limit.max_concurrency, 2);
}
