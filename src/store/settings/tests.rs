use chrono::Utc;

use super::*;
use crate::domain::calendar::Span;
use crate::domain::ids::UserId;
use crate::domain::roles::Role;
use crate::store::calendar::NewBreak;
use crate::store::members::NewMapping;
use crate::store::testing::{self, mapping_audit};

/// A fresh SQLite file opened (migrated) by one pool, and a second pool on it: another
/// process on the same file, through which the tests make their changes.
async fn two_pools() -> (tempfile::TempDir, Db, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("settings.db").display());
    let db = Db::open(&url).await.expect("open");
    let other = Db::connect(&url).await.expect("second pool");
    (dir, db, other)
}

#[tokio::test]
async fn a_change_made_through_another_pool_is_seen_by_the_next_read() {
    let (_dir, db, other) = two_pools().await;
    let server = ServerId::new(1);
    let settings = Settings::default();
    let now = Utc::now();
    let before = settings.of(&db, server).await.expect("settings");
    assert!(before.schools.is_empty() && before.mappings.is_empty());
    assert_eq!(before.date_order, DateOrder::default());
    assert_eq!(
        settings.of(&db, server).await.expect("kept").schools.len(),
        0
    );

    let school = testing::school(&other, server, "Lincoln Elementary").await;
    let team = Grant {
        role: Role::Team,
        school_id: Some(school.id),
    };
    let mapping = NewMapping {
        server_id: server,
        server_name: "Server",
        discord_role_id: 77,
        role: Role::Team,
        school_id: Some(school.id),
        created_by: UserId::new(5),
    };
    assert!(
        members::map_role(&other, &mapping, now, &mapping_audit())
            .await
            .expect("mapped")
    );
    servers::set_date_order(&other, server, "Server", DateOrder::DayMonth, now)
        .await
        .expect("order");

    let after = settings.of(&db, server).await.expect("settings");
    assert_eq!(after.schools.len(), 1);
    assert_eq!(after.date_order, DateOrder::DayMonth);
    assert_eq!(after.grants_for(&[77]), vec![team]);
    assert!(after.grants_for(&[78]).is_empty());

    // Taking the mapping away is seen as soon: the role grants nothing any more.
    assert!(
        members::unmap_role(&other, server, 77, team, &mapping_audit())
            .await
            .expect("unmapped")
    );
    let removed = settings.of(&db, server).await.expect("settings");
    assert!(
        removed.grants_for(&[77]).is_empty(),
        "a removed mapping grants nothing"
    );
    assert_eq!(removed.schools.len(), 1);

    // A break added, then removed, elsewhere: the next read covers its dates, then not.
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
    let winter = calendar::add(
        &other,
        &NewBreak {
            server_id: server,
            school_id: school.id,
            span: Span {
                from: day(21),
                to: day(31),
            },
            label: "Winter break",
            created_by: UserId::new(5),
        },
        now,
    )
    .await
    .expect("break");
    let with_break = settings.of(&db, server).await.expect("settings");
    let covering = with_break.break_covering(school.id, day(24));
    assert_eq!(covering.map(|b| b.label.as_str()), Some("Winter break"));
    assert!(with_break.break_covering(school.id, day(20)).is_none());
    calendar::delete(&other, server, winter.id)
        .await
        .expect("deleted");
    let without = settings.of(&db, server).await.expect("settings");
    assert!(without.break_covering(school.id, day(24)).is_none());

    // A focus chosen elsewhere is found by the next read; a level recorded on it changes
    // nothing kept.
    assert!(without.focus(school.id, "1a").is_none());
    let (chosen, new) =
        indicators::focus(&other, server, school.id, "1a", UserId::new(5), now, None)
            .await
            .expect("focused");
    assert!(new);
    let focused = settings.of(&db, server).await.expect("settings");
    let kept = focused.focus(school.id, "1a").expect("the focus is kept");
    assert_eq!((kept.id, kept.indicator_id.as_str()), (chosen.id, "1a"));
    assert!(focused.focus(school.id, "1b").is_none());
    let before_level = version(&db, server, None, &[]).await.expect("version").0;
    indicators::set_level(
        &other,
        &chosen,
        "getting_started",
        None,
        UserId::new(5),
        now,
        None,
    )
    .await
    .expect("level");
    assert_eq!(
        version(&db, server, None, &[]).await.expect("version").0,
        before_level,
        "a level recorded leaves the settings as kept"
    );

    // Another server's settings are its own.
    let elsewhere = settings.of(&db, ServerId::new(2)).await.expect("settings");
    assert!(elsewhere.schools.is_empty() && elsewhere.mappings.is_empty());
    assert!(elsewhere.focus(school.id, "1a").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_find_the_settings_stale_together_wait_for_one_read() {
    let (_dir, db, other) = two_pools().await;
    let server = ServerId::new(1);
    let settings = Settings::default();
    let burst = || {
        futures::future::try_join_all((0..40).map(|_| {
            let (settings, db) = (settings.clone(), db.clone());
            async move { settings.of(&db, server).await }
        }))
    };

    let first = burst().await.expect("settings");
    assert!(first.iter().all(|s| s.schools.is_empty()));
    assert_eq!(settings.reloads(), 1, "the first burst reads them once");
    burst().await.expect("settings");
    assert_eq!(settings.reloads(), 1, "kept: nothing read again");

    testing::school(&other, server, "Lincoln Elementary").await;
    let after = burst().await.expect("settings");
    assert!(
        after.iter().all(|s| s.schools.len() == 1),
        "every command sees the new school"
    );
    assert_eq!(settings.reloads(), 2, "the change is read once");
}
