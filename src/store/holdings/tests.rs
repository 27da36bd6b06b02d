use chrono::Utc;

use super::*;
use crate::domain::roles::Role;
use crate::store::members::{self, MemberSighting, NewMapping};
use crate::store::testing;

#[tokio::test]
async fn a_copy_lists_server_wide_roles_first_then_schools_in_reading_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("holdings.db").display());
    let db = Db::open(&url).await.expect("open");
    let (server, person, now) = (ServerId::new(1), UserId::new(9), Utc::now());
    // Discord role 100 + i makes the person a team member of the i-th school; 200 a coach.
    let names = ["Zeta Academy", "école Nord", "Adams High"];
    let mut discord_roles = vec![200];
    for (i, name) in names.iter().enumerate() {
        let school = testing::school(&db, server, name).await;
        discord_roles.push(100 + i as u64);
        map(&db, 100 + i as u64, Role::Team, Some(school.id)).await;
    }
    map(&db, 200, Role::Coach, None).await;
    // Seen in a command: recorded with the roles their Discord roles grant.
    let seen = MemberSighting {
        server_id: server,
        server_name: "Server",
        user_id: person,
        display_name: "Robin",
        discord_roles: &discord_roles,
        grants: &[],
    };
    assert!(members::record(&db, &seen, now).await.expect("recorded"));

    let held = of_person(&db, server, person).await.expect("holdings");
    let roles: Vec<(&str, Option<&str>)> = held
        .roles
        .iter()
        .map(|r| (r.role.as_str(), r.school.as_deref()))
        .collect();
    assert_eq!(
        roles,
        [
            ("coach", None),
            ("team", Some("Adams High")),
            ("team", Some("école Nord")),
            ("team", Some("Zeta Academy")),
        ]
    );
}

async fn map(db: &Db, discord_role_id: u64, role: Role, school_id: Option<SchoolId>) {
    let mapping = NewMapping {
        server_id: ServerId::new(1),
        server_name: "Server",
        discord_role_id,
        role,
        school_id,
        created_by: UserId::new(1),
    };
    assert!(
        members::map_role(db, &mapping, Utc::now(), &testing::mapping_audit())
            .await
            .expect("mapped")
    );
}
