//! What the store's own tests share: a school saved as `/setup school` saves one, and an
//! audit entry for a change a test makes.

use chrono::Utc;

use super::Db;
use super::schools::{self, School, SchoolSetup};
use crate::domain::ids::ServerId;
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use crate::domain::school::{SchoolName, TimeZoneName};

/// Saves the school `name` (Chicago time, no channel) in `server`, named "Server".
pub(crate) async fn school(db: &Db, server: ServerId, name: &str) -> School {
    let name = SchoolName::parse(name).expect("a school name");
    let setup = SchoolSetup {
        server_id: server,
        server_name: "Server",
        name: &name,
        time_zone: TimeZoneName::parse("America/Chicago").expect("a time zone"),
        channel_id: None,
    };
    let (school, _) = schools::save(db, &setup, Utc::now())
        .await
        .expect("school saved");
    school
}

/// An audit entry for a role mapping made on the command line.
pub(crate) fn mapping_audit() -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: None,
        via: AuditVia::CommandLine,
        action: AuditAction::RoleMapping,
        scope: "a test mapping".to_owned(),
        subject: None,
        with_answers: false,
        row_count: None,
    }
}
