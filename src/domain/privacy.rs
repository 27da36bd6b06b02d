//! Privacy rights and retention, pure: what an audit entry says, how long each kind of record is
//! kept, and the stand-in that takes a forgotten person's place in shared records.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::ids::UserId;
use crate::error::UserError;

/// How a forgotten person reads wherever a shared record named them.
pub const FORMER_MEMBER: &str = "a former member";

pub use super::ids::FORMER_MEMBER_CEILING;

/// What was done with people's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A school's or the server's records exported (`/export`, `coachbot export`).
    Export,
    /// A person took a copy of what coachbot holds about them (`/privacy export`).
    PrivacyExport,
    /// A person's data erased (`/privacy forget`).
    Forget,
    /// A Discord role mapped to a coachbot role, or the mapping removed (`/setup role`).
    RoleMapping,
    /// How long records are kept changed (`/setup retention`).
    Retention,
    /// The daily purge removed records past their retention.
    Purge,
}

impl AuditAction {
    pub const ALL: [AuditAction; 6] = [
        AuditAction::Export,
        AuditAction::PrivacyExport,
        AuditAction::Forget,
        AuditAction::RoleMapping,
        AuditAction::Retention,
        AuditAction::Purge,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Export => "export",
            AuditAction::PrivacyExport => "privacy_export",
            AuditAction::Forget => "forget",
            AuditAction::RoleMapping => "role_mapping",
            AuditAction::Retention => "retention",
            AuditAction::Purge => "purge",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    /// How the action reads in the audit list.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Export => "export",
            AuditAction::PrivacyExport => "personal export",
            AuditAction::Forget => "forget",
            AuditAction::RoleMapping => "role mapping",
            AuditAction::Retention => "retention change",
            AuditAction::Purge => "purge",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where an audited action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditVia {
    /// A slash command or button in Discord.
    Discord,
    /// The operator's `coachbot` command line.
    CommandLine,
    /// The bot's own scheduler (the daily purge).
    Scheduler,
}

impl AuditVia {
    pub const ALL: [AuditVia; 3] = [
        AuditVia::Discord,
        AuditVia::CommandLine,
        AuditVia::Scheduler,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditVia::Discord => "discord",
            AuditVia::CommandLine => "command_line",
            AuditVia::Scheduler => "scheduler",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            AuditVia::Discord => "in Discord",
            AuditVia::CommandLine => "on the command line",
            AuditVia::Scheduler => "by the daily purge",
        }
    }
}

/// One audited action, to be recorded or as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who did it; `None` for the bot itself or the command line.
    pub actor: Option<UserId>,
    pub via: AuditVia,
    pub action: AuditAction,
    /// What it covered, in words that name no person: a school's name, "server", a kind of
    /// record, a role mapping.
    pub scope: String,
    /// Whom it was about, when it was about one person (a stand-in once they are forgotten).
    pub subject: Option<UserId>,
    /// Whether check-in answers were included (exports).
    pub with_answers: bool,
    /// How many rows went (purges).
    pub row_count: Option<i64>,
}

impl AuditEntry {
    /// One line of the audit list: when (UTC), what, its scope, who did it and where, about
    /// whom, and whether answers were in it. People appear as mentions (a forgotten person as
    /// "a former member"), which Discord shows as names without pinging anyone.
    pub fn line(&self) -> String {
        let mut line = format!(
            "`{}` **{}** · {}",
            self.at.format("%Y-%m-%d %H:%M UTC"),
            self.action.label(),
            self.scope
        );
        match self.actor {
            Some(actor) => {
                line.push_str(&format!(" · by {} {}", actor.mention(), self.via.label()))
            }
            None => line.push_str(&format!(" · {}", self.via.label())),
        }
        if let Some(subject) = self.subject {
            line.push_str(&format!(" · about {}", subject.mention()));
        }
        if self.with_answers {
            line.push_str(" · check-in answers included");
        }
        if let Some(rows) = self.row_count {
            line.push_str(&format!(" · {} removed", super::text::plural(rows, "row")));
        }
        line
    }
}

/// The scope of a role-mapping audit entry: "Discord role <@&123> → principal at Lincoln
/// Elementary (added)"; `school` None reads "across the server". The role shows as its name.
pub fn role_mapping_scope(
    discord_role_id: u64,
    role: super::roles::Role,
    school: Option<&str>,
    added: bool,
) -> String {
    let at = school.map_or_else(|| "across the server".to_owned(), |s| format!("at {s}"));
    let change = if added { "added" } else { "removed" };
    format!(
        "Discord role <@&{discord_role_id}> → {} {at} ({change})",
        role.label()
    )
}

/// The kinds of record the daily purge removes once they are older than the server keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PurgeKind {
    /// Check-in answers (drafts included) of check-ins that ended before the cut-off.
    Answers,
    /// Outbox rows sent (or given up) before the cut-off, with the files they carried.
    Outbox,
    /// The record of each schedule's runs.
    ScheduleRuns,
}

impl PurgeKind {
    pub const ALL: [PurgeKind; 3] = [
        PurgeKind::Answers,
        PurgeKind::Outbox,
        PurgeKind::ScheduleRuns,
    ];

    /// How the kind reads in the audit list (its `scope`).
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeKind::Answers => "check-in answers",
            PurgeKind::Outbox => "sent messages and files",
            PurgeKind::ScheduleRuns => "schedule runs",
        }
    }
}

/// How long a server keeps each kind of record, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub answers_days: u32,
    pub outbox_days: u32,
    pub runs_days: u32,
}

/// The longest any record may be kept: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3650;

impl Default for Retention {
    /// Check-in answers two years, sent messages and their files 30 days, schedule runs a year.
    fn default() -> Self {
        Self {
            answers_days: 730,
            outbox_days: 30,
            runs_days: 365,
        }
    }
}

impl Retention {
    /// This retention with the given changes, each checked (1 day to ten years).
    pub fn with_changes(
        self,
        answers_days: Option<i64>,
        outbox_days: Option<i64>,
        runs_days: Option<i64>,
    ) -> Result<Self, UserError> {
        let check = |field: &'static str, days: Option<i64>, current: u32| match days {
            None => Ok(current),
            Some(days) => u32::try_from(days)
                .ok()
                .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
                .ok_or(UserError::RetentionOutOfRange {
                    field,
                    given: days,
                    max: MAX_RETENTION_DAYS,
                }),
        };
        Ok(Self {
            answers_days: check("answers", answers_days, self.answers_days)?,
            outbox_days: check("outbox", outbox_days, self.outbox_days)?,
            runs_days: check("runs", runs_days, self.runs_days)?,
        })
    }

    /// How many days records of `kind` are kept.
    pub fn days(&self, kind: PurgeKind) -> u32 {
        match kind {
            PurgeKind::Answers => self.answers_days,
            PurgeKind::Outbox => self.outbox_days,
            PurgeKind::ScheduleRuns => self.runs_days,
        }
    }

    /// Records of `kind` from before this instant are past their retention at `now`.
    pub fn cutoff(&self, kind: PurgeKind, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.days(kind)))
    }
}

/// The day a purge that runs at `now` belongs to (UTC), so that it runs once a day across
/// every process.
pub fn purge_day(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        for via in AuditVia::ALL {
            assert_eq!(AuditVia::parse(via.as_str()), Some(via));
        }
        assert_eq!(AuditAction::parse("Export"), None);
    }

    #[test]
    fn a_discord_id_is_never_a_former_member() {
        // The first Discord id ever handed out (2015) is far above the stand-ins' range.
        assert!(!UserId::new(41_771_983_423_143_936).is_former_member());
        assert!(UserId::new(1).is_former_member());
        assert!(!UserId::new(FORMER_MEMBER_CEILING).is_former_member());
    }

    #[test]
    fn an_audit_line_says_what_who_and_whether_answers_were_in_it() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T08:05:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let export = AuditEntry {
            at,
            actor: Some(UserId::new(41_771_983_423_143_936)),
            via: AuditVia::Discord,
            action: AuditAction::Export,
            scope: "Lincoln Elementary".into(),
            subject: None,
            with_answers: true,
            row_count: None,
        };
        assert_eq!(
            export.line(),
            "`2026-12-02 08:05 UTC` **export** · Lincoln Elementary · by <@41771983423143936> \
             in Discord · check-in answers included"
        );
        let forget = AuditEntry {
            actor: None,
            via: AuditVia::CommandLine,
            action: AuditAction::Forget,
            scope: "one person".into(),
            subject: Some(UserId::new(3)),
            with_answers: false,
            ..export.clone()
        };
        assert!(
            forget
                .line()
                .ends_with("· on the command line · about a former member")
        );
        let purge = AuditEntry {
            actor: None,
            via: AuditVia::Scheduler,
            action: AuditAction::Purge,
            scope: PurgeKind::Answers.as_str().into(),
            subject: None,
            with_answers: false,
            row_count: Some(12),
            ..export
        };
        assert!(
            purge
                .line()
                .ends_with("check-in answers · by the daily purge · 12 rows removed")
        );
    }

    #[test]
    fn retention_defaults_and_changes() {
        let default = Retention::default();
        assert_eq!(
            (default.answers_days, default.outbox_days, default.runs_days),
            (730, 30, 365)
        );
        let changed = default
            .with_changes(Some(30), None, Some(90))
            .expect("in range");
        assert_eq!(
            (changed.answers_days, changed.outbox_days, changed.runs_days),
            (30, 30, 90)
        );
        for bad in [0, -1, 3651] {
            assert!(default.with_changes(Some(bad), None, None).is_err());
        }
        let now = DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            changed.cutoff(PurgeKind::Answers, now),
            now - Duration::days(30)
        );
    }

    #[test]
    fn a_role_mapping_scope_names_the_role_the_school_and_the_change() {
        use crate::domain::roles::Role;
        assert_eq!(
            role_mapping_scope(123, Role::Principal, Some("Lincoln"), true),
            "Discord role <@&123> → principal at Lincoln (added)"
        );
        assert_eq!(
            role_mapping_scope(9, Role::Coach, None, false),
            "Discord role <@&9> → coach across the server (removed)"
        );
    }
}
