//! Several processes, one truth: what two processes (or two connections, each with its own
//! pool, as two processes have) do at once to the same row leaves it as one process alone
//! would. A stale lease cannot finish an outbox row, concurrent step updates log the status
//! each one really changed, concurrent digest schedules leave one schedule, and a worker and
//! the gateway process never both start a person's check-in.

use chrono::{TimeDelta, Utc};
use coachbot::app::App;
use coachbot::checkin::{self, Begin, Opened};
use coachbot::domain::ids::UserId;
use coachbot::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use coachbot::domain::roles::{Grant, Role};
use coachbot::domain::school::TimeZoneName;
use coachbot::emulator::world::permissions;
use coachbot::outbox::DeliverOutcome;
use coachbot::store::member_list::{self, ListedMember};
use coachbot::store::members::{self, MemberSighting, NewMapping};
use coachbot::store::outbox::{self, Finished, Held, NewRow, OutboxMessage, OutboxStatus};
use coachbot::store::schedules::{self, ReportKind};
use coachbot::store::steps::{self, Change};
use coachbot::store::{Backend, Db, checkins, schools};

use crate::dm::two_steps;
use crate::e2e;
use crate::support::{self, TestBot, checkin_due, dm_questions};

/// Another process on the test's database: a pool of its own and an `App` of its own (its
/// own in-process check-in locks), sharing only the database and the emulator with the bot.
async fn other_process(bot: &TestBot) -> (Db, App) {
    let db = Db::connect(&bot.url)
        .await
        .expect("a second pool on the test's database");
    let app = bot.app_on(&db);
    (db, app)
}

e2e! {
    /// A command's announcement is written already leased to the sender that will send it
    /// (no second write to claim it). That sender gets it back as it is; another process
    /// can neither claim it nor send it in its rounds while the lease runs, and sends it,
    /// once, when the lease has run out (the writer stopped before sending).
    async fn a_row_written_held_is_left_to_its_sender_until_the_lease_runs_out(bot) {
        bot.plan().await;
        let (b_db, b) = other_process(bot).await;
        let channel = bot.ids.lincoln_channel;
        let text = "New step #1 for 12a: held for its sender.";
        let now = Utc::now();
        let lease = TimeDelta::seconds(30);
        let key = "announce:held-row";
        let mut row = NewRow::new(
            key,
            bot.ids.server(),
            None,
            &OutboxMessage::Announcement { channel_id: channel, text: text.into() },
            now,
        )
        .expect("an announcement");
        row.held = Some(Held { owner: "process-a".into(), until: now + lease });
        outbox::enqueue(&bot.db, &[row], now).await.expect("queued");

        let held = outbox::claim_key(&bot.db, key, now, "process-a", now + lease).await.expect("A claims");
        let held = held.expect("the row is A's as written");
        assert_eq!(held.lease_owner.as_deref(), Some("process-a"));
        assert!(
            outbox::claim_key(&b_db, key, now, "process-b", now + lease).await.expect("B claims").is_none(),
            "while A's lease runs, B cannot take the row"
        );
        let round = b.scheduler().deliver(now).await.expect("B's round");
        assert_eq!(round.sent, 0, "B's round leaves A's row alone: {round:?}");
        let shown = |bot: &TestBot| {
            bot.emu.messages_in(channel).iter().filter(|m| m["content"].as_str() == Some(text)).count()
        };
        assert_eq!(shown(bot), 0);
        let stored = outbox::by_key(&bot.db, key).await.expect("read").expect("row");
        assert_eq!((stored.status, stored.lease_owner.as_deref()), (OutboxStatus::Pending, Some("process-a")));

        let later = now + lease + TimeDelta::seconds(1);
        let round = b.scheduler().deliver(later).await.expect("B's later round");
        assert_eq!(round.sent, 1, "A's lease ran out: B sends the row: {round:?}");
        assert_eq!(shown(bot), 1, "the channel shows it once");
        let stored = outbox::by_key(&bot.db, key).await.expect("read").expect("row");
        assert_eq!(stored.status, OutboxStatus::Sent);
        assert!(stored.message_id.is_some());
        assert!(
            outbox::claim_key(&bot.db, key, later, "process-a", later + lease).await.expect("A again").is_none(),
            "a sent row is nobody's to send again"
        );
        b_db.close().await;
    }
}

e2e! {
    /// Process A claims a notice and stalls past its lease; process B takes the row over.
    /// A's late "sent" (or its failure) changes nothing and A is told its lease was lost;
    /// B's "sent" is what the row says.
    async fn a_stale_lease_cannot_finish_an_outbox_row(bot) {
        // The server's row (an outbox row belongs to a server) comes with its first schools.
        bot.plan().await;
        let (b_db, _b) = other_process(bot).await;
        let a_db = &bot.db;
        let now = Utc::now();
        let row = NewRow::new(
            "notice:stale-lease",
            bot.ids.server(),
            Some(UserId::new(bot.ids.owner)),
            &OutboxMessage::Notice { text: "Your digest is ready.".into(), school_id: None },
            now,
        )
        .expect("a notice");
        outbox::enqueue(a_db, &[row], now).await.expect("queued");

        let lease = TimeDelta::seconds(30);
        let key = "notice:stale-lease";
        let a_row = outbox::claim_key(a_db, key, now, "process-a", now + lease).await.expect("A claims");
        let a_row = a_row.expect("A holds the row");
        assert!(
            outbox::claim_key(&b_db, key, now, "process-b", now + lease).await.expect("B claims").is_none(),
            "while A's lease runs, B cannot take the row"
        );

        let later = now + lease + TimeDelta::seconds(1);
        let b_row = outbox::claim_key(&b_db, key, later, "process-b", later + lease).await.expect("B claims");
        let b_row = b_row.expect("A's lease ran out: B takes the row over");

        let a_row = &a_row;
        assert_eq!(
            outbox::mark_sent(a_db, a_row, Some(1_111), later).await.expect("A finishes"),
            Finished::LeaseLost
        );
        let retry = coachbot::domain::outbox::Retry::At { at: later, counts: true, global: false };
        assert_eq!(
            outbox::record_failure(a_db, a_row, retry, "500 from A's send", later).await.expect("A fails"),
            Finished::LeaseLost
        );
        let stored = outbox::by_key(a_db, "notice:stale-lease").await.expect("read").expect("row");
        assert_eq!(stored.status, OutboxStatus::Pending, "A marked nothing");
        assert_eq!(stored.lease_owner.as_deref(), Some("process-b"), "the row is still B's");
        assert_eq!((stored.attempts, stored.message_id, stored.last_error), (0, None, None));

        assert_eq!(
            outbox::mark_sent(&b_db, &b_row, Some(2_222), later).await.expect("B finishes"),
            Finished::Recorded
        );
        let stored = outbox::by_key(a_db, "notice:stale-lease").await.expect("read").expect("row");
        assert_eq!(stored.status, OutboxStatus::Sent);
        assert_eq!(stored.message_id, Some(2_222), "B's message is the one recorded");
        assert_eq!(stored.lease_owner, None);
        b_db.close().await;
    }
}

e2e! {
    /// Many ends recorded at once (on SQLite, written together while the write turn is
    /// busy, several rows a statement) each land on their own row, and only where the
    /// process ending it holds the lease: a hundred rows, every other one taken over by
    /// process B, all ended by A at once while another write holds the turn. A's fifty
    /// rows are sent with the message A gave each; B's fifty are untouched, and A hears
    /// that it lost those leases. A row ended twice at once is recorded once.
    async fn ends_recorded_at_once_each_land_on_their_own_row(bot) {
        bot.plan().await;
        let (b_db, _b) = other_process(bot).await;
        let a_db = &bot.db;
        let now = Utc::now();
        let lease = TimeDelta::seconds(30);
        let later = now + lease + TimeDelta::seconds(1);
        let key = |n: usize| format!("notice:at-once-{n}");
        let rows: Vec<NewRow> = (0..100)
            .map(|n| {
                let text = format!("Notice {n}");
                let message = OutboxMessage::Notice { text, school_id: None };
                NewRow::new(key(n), bot.ids.server(), Some(UserId::new(bot.ids.owner)), &message, now)
                    .expect("a notice")
            })
            .collect();
        outbox::enqueue(a_db, &rows, now).await.expect("queued");
        let mut claimed = Vec::new();
        for n in 0..100 {
            let row = outbox::claim_key(a_db, &key(n), now, "process-a", now + lease).await.expect("A claims");
            let row = row.expect("A holds the row");
            if n % 2 == 1 {
                let taken = outbox::claim_key(&b_db, &key(n), later, "process-b", later + lease).await;
                taken.expect("B claims").expect("A's lease ran out: B takes the odd rows");
            }
            claimed.push(row);
        }

        // Another write holds the turn while A's ends queue behind it.
        let holder = sqlx_hold(a_db).await;
        let ends = claimed.iter().enumerate().map(|(n, row)| {
            let message = 10_000 + u64::try_from(n).expect("small");
            outbox::mark_sent(a_db, row, Some(message), later)
        });
        let twice = outbox::mark_sent(a_db, &claimed[0], Some(99), later);
        let ends = async { tokio::join!(futures::future::join_all(ends), twice) };
        let released = async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            holder.release().await;
        };
        let ((ends, twice), ()) = tokio::join!(ends, released);
        for (n, end) in ends.into_iter().enumerate() {
            let end = end.expect("A's end is recorded or refused");
            let expected = if n % 2 == 0 { Finished::Recorded } else { Finished::LeaseLost };
            assert_eq!(end, expected, "row {n}");
        }
        assert_eq!(twice.expect("the second end of row 0"), Finished::LeaseLost, "row 0 is ended once");
        for n in 0..100 {
            let stored = outbox::by_key(a_db, &key(n)).await.expect("read").expect("row");
            if n % 2 == 0 {
                assert_eq!(stored.status, OutboxStatus::Sent, "row {n}");
                let message = 10_000 + i64::try_from(n).expect("small");
                assert_eq!(stored.message_id, Some(message), "row {n} has its own message");
                assert_eq!((stored.lease_owner, stored.attempts), (None, 1), "row {n}");
            } else {
                assert_eq!(stored.status, OutboxStatus::Pending, "row {n}");
                assert_eq!(stored.lease_owner.as_deref(), Some("process-b"), "row {n} is B's");
                assert_eq!((stored.message_id, stored.attempts), (None, 0), "row {n}");
            }
        }
        b_db.close().await;
    }
}

e2e! {
    /// The same for the two places that finish a row with more than a status: composing a
    /// report into its messages, and recording a scheduled check-in as missed. After B took
    /// the row over, A's late write leaves nothing behind (no message queued, no miss
    /// recorded, the row still B's); B's write is the one that lands, once.
    async fn a_stale_lease_cannot_compose_a_report_or_record_a_miss(bot) {
        let plan = bot.plan().await;
        let (b_db, _b) = other_process(bot).await;
        let a_db = &bot.db;
        let server = bot.ids.server();
        let now = Utc::now();
        let lease = TimeDelta::seconds(30);
        let later = now + lease + TimeDelta::seconds(1);
        let notice = |key: &str| {
            NewRow::new(
                key,
                server,
                Some(UserId::new(plan.casey)),
                &OutboxMessage::Notice { text: "Your digest is ready.".into(), school_id: None },
                now,
            )
            .expect("a row")
        };
        let (report, missed) = ("digest:stale-compose", "checkin:stale-miss");
        outbox::enqueue(a_db, &[notice(report), notice(missed)], now).await.expect("queued");
        let mut a_rows = Vec::new();
        let mut b_rows = Vec::new();
        for key in [report, missed] {
            let a_row = outbox::claim_key(a_db, key, now, "process-a", now + lease).await.expect("A claims");
            a_rows.push(a_row.expect("A holds the row"));
            let b_row = outbox::claim_key(&b_db, key, later, "process-b", later + lease).await.expect("B claims");
            b_rows.push(b_row.expect("A's lease ran out: B takes the row over"));
        }

        let message = notice("digest:stale-compose:message:1");
        let composed = |db_row: &outbox::OutboxRow, owner| coachbot::store::reports::Composed {
            row_id: db_row.id,
            row_key: report,
            lease_owner: owner,
            server_id: server,
            messages: std::slice::from_ref(&message),
            files: &[],
        };
        let digest = coachbot::store::reports::Report::Digest { coach: UserId::new(plan.casey) };
        assert_eq!(
            coachbot::store::reports::compose(a_db, &composed(&a_rows[0], "process-a"), &digest, later)
                .await
                .expect("A composes"),
            Finished::LeaseLost
        );
        assert!(outbox::by_key(a_db, &message.key).await.expect("read").is_none(), "A queued nothing");
        let stored = outbox::by_key(a_db, report).await.expect("read").expect("row");
        assert_eq!((stored.status, stored.lease_owner.as_deref()), (OutboxStatus::Pending, Some("process-b")));

        let miss = checkins::Miss {
            key: missed,
            server_id: server,
            school_id: plan.lincoln,
            person_id: UserId::new(plan.pat),
            flow_title: "Weekly check-in",
            due_at: now,
            reason: checkins::NotStarted::Previous,
        };
        let misses = async || -> i64 {
            match &bot.db {
                Db::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM checkin_misses").fetch_one(pool).await,
                Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM checkin_misses").fetch_one(pool).await,
            }
            .expect("misses")
        };
        assert_eq!(
            checkins::record_miss(a_db, a_rows[1].id, "process-a", &miss, later).await.expect("A records"),
            Finished::LeaseLost
        );
        assert_eq!(misses().await, 0, "A recorded no miss");
        let stored = outbox::by_key(a_db, missed).await.expect("read").expect("row");
        assert_eq!((stored.status, stored.lease_owner.as_deref()), (OutboxStatus::Pending, Some("process-b")));

        assert_eq!(
            coachbot::store::reports::compose(&b_db, &composed(&b_rows[0], "process-b"), &digest, later)
                .await
                .expect("B composes"),
            Finished::Recorded
        );
        assert!(outbox::by_key(a_db, &message.key).await.expect("read").is_some(), "B's message is queued");
        assert_eq!(outbox::by_key(a_db, report).await.expect("read").expect("row").status, OutboxStatus::Sent);
        assert_eq!(
            checkins::record_miss(&b_db, b_rows[1].id, "process-b", &miss, later).await.expect("B records"),
            Finished::Recorded
        );
        assert_eq!(misses().await, 1);
        assert_eq!(outbox::by_key(a_db, missed).await.expect("read").expect("row").status, OutboxStatus::Sent);
        b_db.close().await;
    }
}

e2e! {
    /// Two connections update one step at the same moment, 50 times over, each to a status
    /// the step does not have: the log reads as a chain (each update's old status is the
    /// status the update before it set), and the step ends with the last one logged.
    async fn concurrent_step_updates_log_the_status_each_one_changed(bot) {
        let plan = bot.plan().await;
        let [step_id, _] = two_steps(bot, &plan, plan.terry, "Race:").await;
        let (b_db, _b) = other_process(bot).await;
        let author = UserId::new(plan.terry);
        let change = |status| Change { note: Some("moving"), status: Some(status), barrier: None, author };
        let statuses = ["planned", "in_progress", "done"];
        for _ in 0..50 {
            let step = steps::get(&bot.db, bot.ids.server(), step_id).await.expect("read").expect("step");
            let [first, second] = match step.status.key() {
                "planned" => [statuses[1], statuses[2]],
                "in_progress" => [statuses[0], statuses[2]],
                _ => [statuses[0], statuses[1]],
            };
            let now = Utc::now();
            let (to_first, to_second) = (change(first), change(second));
            let (a, b) = tokio::join!(
                steps::update(&bot.db, &step, &to_first, now, None),
                steps::update(&b_db, &step, &to_second, now, None),
            );
            a.expect("A's update");
            b.expect("B's update");
        }
        let step = steps::get(&bot.db, bot.ids.server(), step_id).await.expect("read").expect("step");
        let log: Vec<_> = steps::updates(&bot.db, &step)
            .await
            .expect("the log")
            .into_iter()
            .filter(|u| u.kind == "progress")
            .collect();
        assert_eq!(log.len(), 100);
        let mut current = "planned".to_owned();
        for (n, update) in log.iter().enumerate() {
            let (Some(old), Some(new)) = (&update.old_status, &update.new_status) else {
                panic!("update {n} changed the status but logged no change: {update:?}");
            };
            assert_eq!(old, &current, "update {n} logged an old status the step no longer had");
            current.clone_from(new);
        }
        assert_eq!(step.status.key(), current, "the step holds the last status logged");
        b_db.close().await;
    }
}

e2e! {
    /// A coach runs `/digest schedule` twice at the same moment (two processes): one digest
    /// schedule remains, holding one of the two times asked for. Twenty times over.
    async fn concurrent_digest_schedules_leave_one(bot) {
        let plan = bot.plan().await;
        let (b_db, _b) = other_process(bot).await;
        let coach = UserId::new(plan.casey);
        let zone = TimeZoneName::parse("America/Chicago").expect("zone");
        let kind = ReportKind::Digest { coach };
        for _ in 0..20 {
            let now = Utc::now();
            let (a, b) = tokio::join!(
                schedules::schedule_report(&bot.db, bot.ids.server(), kind, "weekdays 07:00", &zone, coach, now),
                schedules::schedule_report(&b_db, bot.ids.server(), kind, "weekdays 07:30", &zone, coach, now),
            );
            a.expect("A's schedule");
            b.expect("B's schedule");
            let digests: Vec<_> = schedules::list(&bot.db, bot.ids.server(), None)
                .await
                .expect("schedules")
                .into_iter()
                .filter(|s| s.kind == "digest" && s.person_id == Some(coach))
                .collect();
            assert_eq!(digests.len(), 1, "{digests:#?}");
            assert!(["weekdays 07:00", "weekdays 07:30"].contains(&digests[0].spec.as_str()));
        }
        b_db.close().await;
    }
}

e2e! {
    /// Each process keeps a server's role mappings between commands. A mapping added, then
    /// removed, by another process (its own pool, as the other gateway process or an admin's
    /// command line would) is what this process's very next command follows: the staffer can
    /// list Lincoln's steps once their role is mapped, and is refused once it is not.
    async fn a_role_mapped_or_unmapped_by_another_process_counts_at_the_next_command(bot) {
        let plan = bot.plan().await;
        let (other_db, _other) = other_process(bot).await;
        let server = bot.ids.server();
        let general = bot.ids.general;
        let staff_role = bot
            .emu
            .add_role(bot.ids.guild, "Lincoln Staff", permissions::EVERYONE_DEFAULT)
            .expect("role");
        let sam = bot.emu.add_user("Sam Rivera");
        bot.emu.add_member(bot.ids.guild, sam, &[staff_role]).expect("member");
        let no_role = "no coachbot role";

        // This process reads (and keeps) the settings in which the role counts for nothing.
        let refused = bot.command(sam, general, "step list", &[]).await;
        assert!(refused.content.contains(no_role), "{}", refused.content);

        let admin = UserId::new(bot.ids.owner);
        let audit = |scope: &str| mapping_audit(admin, scope);
        let mapping = NewMapping {
            server_id: server,
            server_name: "Test District",
            discord_role_id: staff_role,
            role: Role::Team,
            school_id: Some(plan.lincoln),
            created_by: admin,
        };
        let mapped = members::map_role(&other_db, &mapping, Utc::now(), &audit("Lincoln Staff mapped"))
            .await
            .expect("the other process maps the role");
        assert!(mapped);
        let listed = bot.command(sam, general, "step list", &[]).await;
        assert!(listed.text().contains("Steps of Lincoln Elementary"), "{}", listed.text());

        let grant = Grant { role: Role::Team, school_id: Some(plan.lincoln) };
        let unmapped = members::unmap_role(&other_db, server, staff_role, grant, &audit("Lincoln Staff unmapped"))
            .await
            .expect("the other process unmaps the role");
        assert!(unmapped);
        let refused = bot.command(sam, general, "step list", &[]).await;
        assert!(refused.content.contains(no_role), "{}", refused.content);
        assert!(!refused.text().contains("Steps of"), "{}", refused.text());
        other_db.close().await;
    }
}

e2e! {
    /// A role mapping removed while this process records the member list and a member's
    /// sighting (made from settings read before the removal): whichever write comes first,
    /// the coachbot role goes with the mapping and is not given back. Forty times over, all
    /// three at once, the removal from another process.
    async fn a_removed_mapping_is_not_given_back_by_a_member_list_recorded_meanwhile(bot) {
        let plan = bot.plan().await;
        let (other_db, _other) = other_process(bot).await;
        let server = bot.ids.server();
        let staffer = UserId::new(bot.ids.staffer);
        let staff_role = bot.ids.staff_role;
        let admin = UserId::new(bot.ids.owner);
        let grant = Grant { role: Role::Coach, school_id: Some(plan.lincoln) };
        let audit = || mapping_audit(admin, "Lincoln Staff");
        let mapping = NewMapping {
            server_id: server,
            server_name: "Test District",
            discord_role_id: staff_role,
            role: grant.role,
            school_id: grant.school_id,
            created_by: admin,
        };
        let listed = |round: usize| {
            [ListedMember {
                user_id: staffer,
                display_name: format!("Sam Staffer {round}"),
                discord_roles: vec![staff_role],
            }]
        };
        for round in 0..40 {
            let now = Utc::now();
            assert!(members::map_role(&bot.db, &mapping, now, &audit()).await.expect("mapped"));
            member_list::record_chunk(&bot.db, server, "Test District", &listed(round), true, now)
                .await
                .expect("the list before");
            assert_eq!(members::roles_of(&bot.db, server, staffer).await.expect("roles"), [grant]);

            // A new name each round, so the sighting writes rather than finding itself recorded.
            let (chunk, name) = (listed(round + 100), format!("Sam {round}"));
            let sighting = MemberSighting {
                server_id: server,
                server_name: "Test District",
                user_id: staffer,
                display_name: &name,
                discord_roles: &[staff_role],
                grants: &[grant],
            };
            let removal = audit();
            let (listed_now, seen, unmapped) = tokio::join!(
                member_list::record_chunk(&bot.db, server, "Test District", &chunk, true, now),
                members::record(&bot.db, &sighting, now),
                members::unmap_role(&other_db, server, staff_role, grant, &removal),
            );
            listed_now.expect("the list meanwhile");
            seen.expect("the sighting meanwhile");
            assert!(unmapped.expect("unmapped"), "round {round}: the mapping was there to remove");
            assert!(
                members::roles_of(&bot.db, server, staffer).await.expect("roles").is_empty(),
                "round {round}: the removed mapping's role came back"
            );
        }
        other_db.close().await;
    }
}

/// The audit entry of a role mapping changed by `admin` from the command line.
fn mapping_audit(admin: UserId, scope: &str) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: Some(admin),
        via: AuditVia::CommandLine,
        action: AuditAction::RoleMapping,
        scope: scope.to_owned(),
        subject: None,
        with_answers: false,
        row_count: None,
    }
}

/// Whether some connection waits for an advisory lock (a person's turn) on this database.
async fn someone_waits_for_a_turn(db: &Db) -> bool {
    let Db::Postgres(pool) = db else {
        return false;
    };
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                        WHERE l.locktype = 'advisory' AND NOT l.granted
                          AND d.datname = current_database())",
    )
    .fetch_one(pool)
    .await
    .expect("pg_locks")
}

/// The gateway process is in Pat's turn (as while it handles Pat's DM, or starts Pat's
/// check-in for the coach) when a worker, on its own pool, comes to start Pat's scheduled
/// check-in: the worker waits for the turn; the gateway starts its check-in and asks its
/// first question; then the worker finds Pat busy and keeps its row for later. One session
/// is open, one first question went out. PostgreSQL only: with SQLite there is one process,
/// and its in-process lock is the whole story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL (a lock across processes): set TEST_DATABASE_URL when building the tests"
)]
async fn a_worker_and_the_gateway_never_both_start_a_persons_checkin() {
    let Some(bot) = support::spawn_bot(Backend::Postgres, support::HttpPath::Proxy).await else {
        return;
    };
    let plan = bot.plan().await;
    let pat = plan.pat;
    two_steps(&bot, &plan, pat, "Pat:").await;
    let at = Utc::now();
    checkin_due(&bot, &plan, pat, at).await;
    let (worker_db, worker) = other_process(&bot).await;
    let scheduler = worker.scheduler();
    assert_eq!(scheduler.tick(at).await.expect("tick").queued, 1);

    let gateway = bot.app().checkins;
    let turn = gateway.turn(UserId::new(pat)).await.expect("Pat's turn");
    let delivering = tokio::spawn(async move { scheduler.deliver(at).await });
    support::eventually("the worker waiting for Pat's turn", || async {
        if someone_waits_for_a_turn(&bot.db).await {
            Ok(())
        } else {
            Err("no connection waits for an advisory lock".to_owned())
        }
    })
    .await;
    assert_eq!(
        dm_questions(&bot, pat).await,
        0,
        "the worker asked nothing yet"
    );

    let school = schools::get(&bot.db, bot.ids.server(), plan.lincoln)
        .await
        .expect("read")
        .expect("Lincoln");
    let flow = gateway
        .flows
        .iter()
        .find(|f| f.id == "weekly")
        .expect("the weekly flow");
    let opened = checkin::open(
        &gateway,
        &Begin {
            guild_id: bot.ids.server(),
            school: &school,
            person_id: UserId::new(pat),
            person_name: "Pat Lee",
            flow,
            started_by: UserId::new(plan.casey),
            origin: None,
            nudge_hours: checkin::NUDGE_HOURS,
            only_step: None,
            dm_channel: None,
            barrier: None,
        },
        at,
    )
    .await
    .expect("the gateway starts Pat's check-in");
    assert!(matches!(opened, Opened::Asked { .. }));
    drop(turn);

    let round = delivering
        .await
        .expect("the worker's round")
        .expect("deliver");
    assert_eq!(
        round,
        DeliverOutcome {
            waiting: 1,
            ..DeliverOutcome::default()
        },
        "the worker found Pat in a check-in and kept its row"
    );
    assert_eq!(
        dm_questions(&bot, pat).await,
        1,
        "one first question went out"
    );
    let open = checkins::open_in_server(&bot.db, bot.ids.server(), UserId::new(pat))
        .await
        .expect("read")
        .expect("Pat's check-in");
    assert_eq!(
        open.flow_id, "weekly",
        "the gateway's check-in is the one open"
    );
    worker_db.close().await;
    bot.finish().await;
}

/// A schedule row as saved before migration 0024: kind, person, channel, school, spec.
type OldRow = (
    &'static str,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    &'static str,
);

/// Migration 0024 keeps one report schedule per target: on a database where duplicates were
/// saved before it (two digests for one coach, two summaries for one channel and school), it
/// keeps the newest of each, leaves other coaches, channels, schools and every check-in
/// schedule alone, and from then on refuses a second digest for the same coach.
async fn the_one_report_schedule_migration_keeps_the_newest(db: Db, migration: &str) {
    let now = Utc::now();
    let (server, other_coach, coach) = (
        coachbot::domain::ids::ServerId::new(880_000_000_000_000_001),
        8,
        7,
    );
    let name = coachbot::domain::school::SchoolName::parse("Lincoln Elementary").expect("name");
    let (school, _) = schools::save(
        &db,
        &schools::SchoolSetup {
            server_id: server,
            server_name: "Riverbend District",
            name: &name,
            time_zone: TimeZoneName::parse("America/Chicago").expect("zone"),
            channel_id: None,
        },
        now,
    )
    .await
    .expect("a school");
    // As the database was before 0024: no unique indexes.
    let school_id = Some(school.id);
    // kind, person (a digest's coach), channel (a summary's), school (1: Lincoln), spec
    let rows: [OldRow; 9] = [
        ("digest", coach.into(), None, None, "old digest"),
        ("digest", coach.into(), None, None, "new digest"),
        (
            "digest",
            other_coach.into(),
            None,
            None,
            "other coach's digest",
        ),
        ("summary", None, Some(100), None, "old server summary"),
        ("summary", None, Some(100), None, "new server summary"),
        ("summary", None, Some(100), Some(1), "school summary"),
        ("summary", None, Some(200), None, "other channel's summary"),
        ("checkin", None, None, Some(1), "check-in"),
        ("checkin", None, None, Some(1), "same check-in again"),
    ];
    on_each(
        &db,
        "DROP INDEX schedules_one_digest; DROP INDEX schedules_one_summary",
    )
    .await;
    for (kind, person, channel, school, spec) in rows {
        let school = school.and(school_id);
        let flow = (kind == "checkin").then_some("weekly");
        let insert =
            "INSERT INTO schedules (server_id, school_id, kind, person_id, channel_id, flow_id,
                                             spec, time_zone, created_by, created_at, updated_at)
                      VALUES ($1, $2, $3, $4, $5, $6, $7, 'America/Chicago', 1, $8, $8)";
        match &db {
            Db::Sqlite(pool) => sqlx::query(insert)
                .bind(server)
                .bind(school)
                .bind(kind)
                .bind(person)
                .bind(channel)
                .bind(flow)
                .bind(spec)
                .bind(now)
                .execute(pool)
                .await
                .map(drop),
            Db::Postgres(pool) => sqlx::query(insert)
                .bind(server)
                .bind(school)
                .bind(kind)
                .bind(person)
                .bind(channel)
                .bind(flow)
                .bind(spec)
                .bind(now)
                .execute(pool)
                .await
                .map(drop),
        }
        .expect("a schedule saved as before 0024");
    }
    on_each(&db, migration).await;
    let kept: Vec<String> = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT spec FROM schedules ORDER BY id")
                .fetch_all(pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT spec FROM schedules ORDER BY id")
                .fetch_all(pool)
                .await
        }
    }
    .expect("the schedules");
    assert_eq!(
        kept,
        [
            "new digest",
            "other coach's digest",
            "new server summary",
            "school summary",
            "other channel's summary",
            "check-in",
            "same check-in again",
        ]
    );
    let now = Utc::now();
    let again = schedules::create_report(
        &db,
        &schedules::NewReport {
            server_id: server,
            kind: ReportKind::Digest {
                coach: UserId::new(coach.cast_unsigned()),
            },
            spec: "weekdays 06:30",
            time_zone: "America/Chicago",
            next_fire_at: None,
            created_by: UserId::new(1),
        },
        now,
    )
    .await
    .expect("the coach's digest is replaced");
    assert_eq!(again.spec, "weekdays 06:30");
    let digests: i64 = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM schedules WHERE kind = 'digest' AND person_id = 7",
            )
            .fetch_one(pool)
            .await
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM schedules WHERE kind = 'digest' AND person_id = 7",
            )
            .fetch_one(pool)
            .await
        }
    }
    .expect("the coach's digests");
    assert_eq!(digests, 1);
    db.close().await;
}

/// Runs SQL statements as they stand (a migration file, a few DDL statements).
async fn on_each(db: &Db, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db {
        Db::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
    }
    .expect("the SQL runs");
}

#[tokio::test]
async fn migration_0024_keeps_the_newest_report_schedule_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let db = Db::open(&url).await.expect("the database opens");
    the_one_report_schedule_migration_keeps_the_newest(
        db,
        include_str!("../../migrations/sqlite/0024_one_report_schedule.sql"),
    )
    .await;
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "runs on PostgreSQL: set TEST_DATABASE_URL when building the tests"
)]
async fn migration_0024_keeps_the_newest_report_schedule_on_postgres() {
    let Some(pg) = support::PgTestDb::create().await else {
        return;
    };
    let db = Db::open(&pg.url).await.expect("the database opens");
    the_one_report_schedule_migration_keeps_the_newest(
        db,
        include_str!("../../migrations/postgres/0024_one_report_schedule.sql"),
    )
    .await;
}

/// A transaction on a connection of its own that holds the outbox: SQLite's write lock, or
/// on PostgreSQL a lock on every outbox row. Writes to the outbox wait until it is released.
enum Holder {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

async fn sqlx_hold(db: &Db) -> Holder {
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await.expect("a connection");
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .expect("the write lock");
            Holder::Sqlite(conn)
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await.expect("a connection");
            sqlx::raw_sql("BEGIN; SELECT id FROM outbox FOR UPDATE")
                .execute(&mut *conn)
                .await
                .expect("the outbox's rows locked");
            Holder::Postgres(conn)
        }
    }
}

impl Holder {
    async fn release(self) {
        match self {
            Holder::Sqlite(mut conn) => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(drop),
            Holder::Postgres(mut conn) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(drop)
            }
        }
        .expect("released");
    }
}
