//! The demo server the sandbox (and `coachbot emulator`) starts with: a district, two
//! schools, a coach, principals, team members, a district leader and an admin.

use anyhow::Context as _;
use chrono::Utc;

use crate::domain::calendar::Span;
use crate::domain::framework::Level;
use crate::domain::ids::{SchoolId, ServerId, UserId};
use crate::domain::plan::{BarrierCategory, StepStatus};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia, role_mapping_scope};
use crate::domain::roles::Role;
use crate::domain::school::{SchoolName, TimeZoneName};
use crate::emulator::Emulator;
use crate::emulator::world::permissions;
use crate::store::barriers::NewBarrier;
use crate::store::members::{self, NewMapping};
use crate::store::schedules::{self, ReportKind};
use crate::store::schools::{self, SchoolSetup};
use crate::store::steps::{self, Change, NewStep};
use crate::store::{Db, calendar, indicators};

pub const SERVER_NAME: &str = "Riverbend District";
/// Casey's morning digest, so that `clock morning` shows one.
pub const DIGEST_WHEN: &str = "daily 07:00";
pub const DIGEST_ZONE: &str = "America/Chicago";

/// A seeded person: the handle typed after `as`.
#[derive(Clone, Debug)]
pub struct Person {
    pub handle: &'static str,
    pub name: &'static str,
    pub about: &'static str,
    pub user_id: u64,
}

impl Person {
    /// The person as the store knows them.
    pub fn id(&self) -> UserId {
        UserId::new(self.user_id)
    }
}

#[derive(Clone, Debug)]
pub struct Demo {
    pub guild: u64,
    pub people: Vec<Person>,
    /// `(name without #, id)`
    pub channels: Vec<(String, u64)>,
    /// `(Discord role name, id)`
    pub roles: Vec<(String, u64)>,
}

impl Demo {
    /// The demo server as the store knows it.
    pub fn server(&self) -> ServerId {
        ServerId::new(self.guild)
    }

    pub fn person(&self, handle: &str) -> Option<&Person> {
        self.people.iter().find(|p| {
            p.handle
                .eq_ignore_ascii_case(handle.trim_start_matches('@'))
        })
    }

    pub fn channel(&self, name: &str) -> Option<u64> {
        let name = name.trim_start_matches('#');
        self.channels
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| *id)
    }

    pub fn role(&self, name: &str) -> Option<u64> {
        let name = name.trim_start_matches('@');
        self.roles
            .iter()
            .find(|(n, _)| {
                n.eq_ignore_ascii_case(name) || n.replace(' ', "-").eq_ignore_ascii_case(name)
            })
            .map(|(_, id)| *id)
    }

    fn role_id(&self, name: &str) -> anyhow::Result<u64> {
        self.role(name)
            .with_context(|| format!("demo role {name} missing"))
    }

    fn channel_id(&self, name: &str) -> anyhow::Result<u64> {
        self.channel(name)
            .with_context(|| format!("demo channel {name} missing"))
    }
}

/// Discord roles of the demo server and the coachbot role each carries (school by name).
const ROLE_MAP: [(&str, Role, Option<&str>); 7] = [
    ("Coachbot Admins", Role::Admin, None),
    ("Coaches", Role::Coach, None),
    ("District Leaders", Role::District, None),
    (
        "Lincoln Principal",
        Role::Principal,
        Some("Lincoln Elementary"),
    ),
    ("Lincoln Team", Role::Team, Some("Lincoln Elementary")),
    (
        "Washington Principal",
        Role::Principal,
        Some("Washington Middle"),
    ),
    ("Washington Team", Role::Team, Some("Washington Middle")),
];

/// `(school, time zone, channel)`
const SCHOOLS: [(&str, &str, &str); 2] = [
    (
        "Lincoln Elementary",
        "America/Chicago",
        "lincoln-leadership",
    ),
    (
        "Washington Middle",
        "America/Denver",
        "washington-leadership",
    ),
];

/// `(handle, name, about, Discord roles)`
const PEOPLE: [(&str, &str, &str, &[&str]); 8] = [
    (
        "alex",
        "Alex Rivera",
        "server owner and coachbot admin",
        &["Coachbot Admins"],
    ),
    (
        "casey",
        "Casey Morgan",
        "leadership coach for both schools",
        &["Coaches"],
    ),
    (
        "pat",
        "Pat Lee",
        "principal, Lincoln Elementary",
        &["Lincoln Principal"],
    ),
    (
        "terry",
        "Terry Okafor",
        "leadership team, Lincoln Elementary",
        &["Lincoln Team"],
    ),
    (
        "jordan",
        "Jordan Silva",
        "leadership team, Lincoln Elementary",
        &["Lincoln Team"],
    ),
    (
        "wendy",
        "Wendy Chen",
        "principal, Washington Middle",
        &["Washington Principal"],
    ),
    (
        "dana",
        "Dana Brooks",
        "district leader",
        &["District Leaders"],
    ),
    ("sam", "Sam Patel", "teacher with no coachbot role", &[]),
];

/// Builds the demo server in the emulator. The same ids every time when the emulator's ids
/// are deterministic.
pub fn seed_world(emu: &Emulator) -> anyhow::Result<Demo> {
    let mut people = Vec::new();
    for (handle, name, about, _) in PEOPLE {
        people.push(Person {
            handle,
            name,
            about,
            user_id: emu.add_user(name),
        });
    }
    let owner = people[0].user_id;
    let guild = emu.add_guild(SERVER_NAME, owner);
    let mut channels = Vec::new();
    for name in [
        "general",
        "lincoln-leadership",
        "washington-leadership",
        "district-leadership",
    ] {
        channels.push((name.to_owned(), emu.add_text_channel(guild, name)?));
    }
    let mut roles = Vec::new();
    for (name, _, _) in ROLE_MAP {
        roles.push((
            name.to_owned(),
            emu.add_role(guild, name, permissions::EVERYONE_DEFAULT)?,
        ));
    }
    let demo = Demo {
        guild,
        people,
        channels,
        roles,
    };
    for ((_, _, _, discord_roles), person) in PEOPLE.iter().zip(&demo.people) {
        let ids = discord_roles
            .iter()
            .map(|r| demo.role_id(r))
            .collect::<anyhow::Result<Vec<_>>>()?;
        emu.add_member(guild, person.user_id, &ids)?;
    }
    Ok(demo)
}

/// Casey's digest schedule, unless Casey already has one (theirs to change with `/digest`).
async fn seed_digest(db: &Db, demo: &Demo, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let casey = demo.person("casey").context("demo person casey")?;
    // Casey is known as a coach before typing anything, as after a first command.
    let roles = [demo.role_id("Coaches")?];
    let grants = members::grants_for(db, demo.server(), &roles).await?;
    members::record(
        db,
        &members::MemberSighting {
            server_id: demo.server(),
            server_name: SERVER_NAME,
            user_id: casey.id(),
            display_name: casey.name,
            discord_roles: &roles,
            grants: &grants,
        },
        now,
    )
    .await?;
    let casey = casey.id();
    let has_one = schedules::list(db, demo.server(), None)
        .await?
        .iter()
        .any(|s| s.kind == "digest" && s.person_id == Some(casey));
    if has_one {
        return Ok(());
    }
    schedules::schedule_report(
        db,
        demo.server(),
        ReportKind::Digest { coach: casey },
        DIGEST_WHEN,
        &TimeZoneName::parse(DIGEST_ZONE)?,
        casey,
        now,
    )
    .await?;
    Ok(())
}

/// Lincoln's small plan: two focus indicators, three steps (one blocked by a barrier).
/// Only on a database that has none yet.
async fn seed_plan(
    db: &Db,
    demo: &Demo,
    lincoln: SchoolId,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    if !indicators::for_school(db, demo.server(), lincoln)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let person = |handle: &str| {
        demo.person(handle)
            .map(Person::id)
            .with_context(|| format!("demo person {handle}"))
    };
    let (pat, terry, jordan) = (person("pat")?, person("terry")?, person("jordan")?);
    for handle in ["pat", "terry", "jordan"] {
        if let Some(p) = demo.person(handle) {
            members::note(db, demo.server(), SERVER_NAME, p.id(), p.name, now).await?;
        }
    }
    let (partnerships, _) =
        indicators::focus(db, demo.server(), lincoln, "12a", pat, now, None).await?;
    indicators::set_level(
        db,
        &partnerships,
        Level::GettingReady.key(),
        Some("Partnership time is on the calendar for the spring term"),
        pat,
        now,
        None,
    )
    .await?;
    let (coaching_notes, _) =
        indicators::focus(db, demo.server(), lincoln, "11", pat, now, None).await?;
    let today = now.with_timezone(&chrono_tz::America::Chicago).date_naive();
    let in_days = |days: u64| {
        today
            .checked_add_days(chrono::Days::new(days))
            .unwrap_or(today)
    };
    let plan = [
        (
            "Put monthly partnership meetings on the calendar",
            partnerships.id,
            vec![terry, jordan],
            in_days(14),
        ),
        (
            "Pick one template for coaching notes",
            coaching_notes.id,
            vec![pat],
            in_days(21),
        ),
        (
            "Arrange substitute cover for the coaching-protocol training",
            partnerships.id,
            vec![jordan],
            in_days(10),
        ),
    ];
    let mut added = Vec::new();
    for (title, focus_id, owners, due_on) in plan {
        added.push(
            steps::add(
                db,
                &NewStep {
                    server_id: demo.server(),
                    school_id: lincoln,
                    focus_id,
                    title,
                    due_on,
                    resources: None,
                    owners: &owners,
                    author: pat,
                },
                now,
                None,
            )
            .await?,
        );
    }
    if let [first, _, third] = added.as_slice() {
        let change = Change {
            note: Some("Proposed dates sent to the district office"),
            status: Some(StepStatus::InProgress.key()),
            barrier: None,
            author: terry,
        };
        steps::update(db, first, &change, now, None).await?;
        let change = Change {
            note: None,
            status: Some(StepStatus::Blocked.key()),
            barrier: Some(NewBarrier {
                server_id: demo.server(),
                school_id: lincoln,
                step_id: Some(third.id),
                category: BarrierCategory::Time.key(),
                text: "No substitutes are free until January",
                raised_by: jordan,
            }),
            author: jordan,
        };
        steps::update(db, third, &change, now, None).await?;
    }
    Ok(())
}

/// Lincoln's winter break (21 December to 1 January, the next one not over yet), unless
/// Lincoln has a break on its calendar already.
async fn seed_break(
    db: &Db,
    demo: &Demo,
    lincoln: SchoolId,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use chrono::Datelike as _;
    let today = now.with_timezone(&chrono_tz::America::Chicago).date_naive();
    let any = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).context("a date")?;
    if !calendar::list(db, demo.server(), Some(lincoln), any)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let winter = |year: i32| {
        Some(Span {
            from: chrono::NaiveDate::from_ymd_opt(year, 12, 21)?,
            to: chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
        })
    };
    let span = [today.year() - 1, today.year()]
        .into_iter()
        .filter_map(winter)
        .find(|span| span.to >= today)
        .context("a winter break date")?;
    let casey = demo.person("casey").context("demo person casey")?;
    calendar::add(
        db,
        &calendar::NewBreak {
            server_id: demo.server(),
            school_id: lincoln,
            span,
            label: "Winter break",
            created_by: casey.id(),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Gives the database the demo's schools and role mappings (idempotent).
pub async fn seed_database(db: &Db, demo: &Demo, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let mut school_ids = Vec::new();
    for (name, zone, channel) in SCHOOLS {
        let name = SchoolName::parse(name)?;
        let (school, _) = schools::save(
            db,
            &SchoolSetup {
                server_id: demo.server(),
                server_name: SERVER_NAME,
                name: &name,
                time_zone: TimeZoneName::parse(zone)?,
                channel_id: Some(demo.channel_id(channel)?),
            },
            now,
        )
        .await?;
        school_ids.push((school.name, school.id));
    }
    let lincoln = school_ids
        .iter()
        .find(|(n, _)| n == "Lincoln Elementary")
        .map(|(_, id)| *id)
        .context("the demo's Lincoln Elementary")?;
    seed_plan(db, demo, lincoln, now).await?;
    seed_break(db, demo, lincoln, now).await?;
    let lincoln_school = schools::get(db, demo.server(), lincoln)
        .await?
        .context("the demo's Lincoln Elementary")?;
    super::seed_cycle::seed_cycle(db, demo, &lincoln_school, now).await?;
    super::seed_sessions::seed_sessions(db, demo, &lincoln_school, now).await?;
    for (discord_role, role, school) in ROLE_MAP {
        let school_id =
            school.and_then(|s| school_ids.iter().find(|(n, _)| n == s).map(|(_, id)| *id));
        members::map_role(
            db,
            &NewMapping {
                server_id: demo.server(),
                server_name: SERVER_NAME,
                discord_role_id: demo.role_id(discord_role)?,
                role,
                school_id,
                created_by: demo.people[0].id(),
            },
            now,
            &AuditEntry {
                at: now,
                actor: None,
                via: AuditVia::CommandLine,
                action: AuditAction::RoleMapping,
                scope: role_mapping_scope(demo.role_id(discord_role)?, role, school, true),
                subject: None,
                with_answers: false,
                row_count: None,
            },
        )
        .await?;
    }
    seed_digest(db, demo, now).await
}
