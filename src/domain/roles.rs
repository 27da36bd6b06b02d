//! Who may do what. A person's coachbot roles come from their Discord roles (mapped by an
//! admin with `/setup role`); Discord administrators and the server owner are always admins.

use std::fmt;

use super::ids::SchoolId;
use crate::error::UserError;

/// A coachbot role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Principal,
    Team,
    Coach,
    District,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Principal,
        Role::Team,
        Role::Coach,
        Role::District,
        Role::Admin,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Principal => "principal",
            Role::Team => "team",
            Role::Coach => "coach",
            Role::District => "district",
            Role::Admin => "admin",
        }
    }

    /// How the role reads in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Role::Principal => "principal",
            Role::Team => "leadership-team member",
            Role::Coach => "coach",
            Role::District => "district leader",
            Role::Admin => "coachbot admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, UserError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| UserError::UnknownRole {
                given: raw.trim().to_owned(),
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One role a person holds, for one school or the whole server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    pub role: Role,
    /// `None`: across the server (a district leader, an admin, a coach of every school).
    pub school_id: Option<SchoolId>,
}

/// What a schedule is for, as far as who may change it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleTarget {
    /// A coach's digest; `own` when it is the caller's.
    Digest { own: bool },
    /// A school's check-ins or summary.
    School(SchoolId),
    /// A summary of every school in the server.
    Server,
}

/// Everything a person may do in one server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub grants: Vec<Grant>,
    /// Discord's Administrator permission (or server ownership).
    pub discord_admin: bool,
}

impl Access {
    pub fn is_admin(&self) -> bool {
        self.discord_admin || self.grants.iter().any(|g| g.role == Role::Admin)
    }

    /// Whether the person holds `role` anywhere in the server.
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Whether the person holds `role` for `school` (or server-wide).
    pub fn has_for_school(&self, role: Role, school_id: SchoolId) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.school_id.is_none_or(|s| s == school_id))
    }

    /// Whether the person holds any coachbot role at all.
    pub fn has_any_role(&self) -> bool {
        self.is_admin() || !self.grants.is_empty()
    }

    /// Principal, team, coach (of that school or all) or admin: may change the school's plan.
    pub fn can_edit_plan(&self, school_id: SchoolId) -> bool {
        self.is_admin()
            || [Role::Principal, Role::Team, Role::Coach]
                .into_iter()
                .any(|role| self.has_for_school(role, school_id))
    }

    /// Whether the person may own steps of the school: its principal, a member of its
    /// leadership team, or its coach (of that school or every school). Being an admin or a
    /// district leader is not enough: owners do the work.
    pub fn may_own_steps(&self, school_id: SchoolId) -> bool {
        [Role::Principal, Role::Team, Role::Coach]
            .into_iter()
            .any(|role| self.has_for_school(role, school_id))
    }

    /// Those who may change the plan, and district leaders: may read it.
    pub fn can_read_plan(&self, school_id: SchoolId) -> bool {
        self.can_edit_plan(school_id) || self.has_for_school(Role::District, school_id)
    }

    /// Admins, and coaches of the school (of every school, for `None`): may post its summary
    /// and export its records.
    pub fn can_report(&self, school_id: Option<SchoolId>) -> bool {
        self.is_admin()
            || match school_id {
                Some(id) => self.has_for_school(Role::Coach, id),
                None => self.coaches_every_school(),
            }
    }

    /// A coach of this school (or of every school): the one who reads its people's check-ins.
    pub fn coaches(&self, school_id: SchoolId) -> bool {
        self.has_for_school(Role::Coach, school_id)
    }

    /// A coach of every school in the server.
    pub fn coaches_every_school(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == Role::Coach && g.school_id.is_none())
    }

    /// Starting a check-in with someone of `school_id`: their coach, or the person themselves
    /// when they are on the school's plan.
    pub fn may_start_checkin(&self, school_id: SchoolId, with_self: bool) -> bool {
        self.coaches(school_id) || (with_self && self.can_edit_plan(school_id))
    }

    /// Scheduling check-ins at a school, and seeing its open ones: its coaches and admins.
    pub fn may_run_checkins(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id) || self.is_admin()
    }

    /// Setting a follow-up on a step of `school_id`: its coaches and admins, and the step's
    /// own owners (a team member who does not own it may not send its check-ins to anyone).
    pub fn may_set_followup(&self, school_id: SchoolId, owns_step: bool) -> bool {
        owns_step || self.may_run_checkins(school_id)
    }

    /// Reading or closing a check-in: the person it is with, or their coach. Not an admin, not
    /// a district leader: answers are between the person and their coach.
    pub fn may_see_checkin(&self, school_id: SchoolId, is_own: bool) -> bool {
        is_own || self.coaches(school_id)
    }

    /// Changing a schedule (pause, resume, delete): admins; a coach for the check-ins and
    /// summaries of their schools (a server-wide summary needs a coach of every school); a
    /// digest only its own coach.
    pub fn may_change_schedule(&self, target: ScheduleTarget) -> bool {
        if self.is_admin() {
            return true;
        }
        match target {
            ScheduleTarget::Digest { own } => own,
            ScheduleTarget::School(school) => self.coaches(school),
            ScheduleTarget::Server => self.coaches_every_school(),
        }
    }

    /// Marking someone away (or ending it, or seeing it): the person themselves when they
    /// hold any role here; a coach of one of the schools they belong to (`their_schools`); an
    /// admin. Not a team member for someone else, not another school's coach.
    pub fn may_mark_away(&self, their_schools: &[SchoolId], is_self: bool) -> bool {
        (is_self && self.has_any_role())
            || self.is_admin()
            || their_schools.iter().any(|school| self.coaches(*school))
    }

    /// Adding or removing a school's breaks: its coaches and admins.
    pub fn may_change_calendar(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id) || self.is_admin()
    }

    /// Moving a school through the coaching cycle (`/cycle advance`): its principal, its
    /// coaches and admins. Not its leadership team, who do the plan's work, nor a district
    /// leader, who reads it.
    pub fn may_move_cycle(&self, school_id: SchoolId) -> bool {
        self.is_admin()
            || self.coaches(school_id)
            || self.has_for_school(Role::Principal, school_id)
    }

    /// Importing a school's assessment results: its coaches and admins (the data shapes the
    /// plan, so it comes from the one who leads the debrief). Reading and comparing them is
    /// `can_read_plan`.
    pub fn may_import_assessment(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id) || self.is_admin()
    }

    /// Logging a coaching session with a school: its coaches. Not an admin or a district
    /// leader: a session is the coach's record of their own work.
    pub fn may_log_session(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id)
    }

    /// Reading a coaching session of `school_id`: its coaches and principals, and whoever was
    /// in it (`was_in_it`); its leadership team only when the session was shared with them.
    /// Never an admin or a district leader for that alone: what is said in coaching stays
    /// between the coach and the people coached.
    pub fn may_read_session(&self, school_id: SchoolId, shared: bool, was_in_it: bool) -> bool {
        was_in_it
            || self.coaches(school_id)
            || self.has_for_school(Role::Principal, school_id)
            || (shared && self.has_for_school(Role::Team, school_id))
    }

    /// The brief before a visit (`/brief`): the school's coaches, who may read everything it
    /// gathers (check-in answers included).
    pub fn may_brief(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id)
    }

    /// Turning a school's team feed on or off, or moving it: its coaches and admins.
    pub fn may_set_feed(&self, school_id: SchoolId) -> bool {
        self.coaches(school_id) || self.is_admin()
    }

    /// Reading a principal's growth goal: the principal themselves, and a coach of one of
    /// their schools (`their_schools`). Not an admin, not their team, not a district leader.
    pub fn may_see_goal(&self, their_schools: &[SchoolId], is_own: bool) -> bool {
        is_own || their_schools.iter().any(|school| self.coaches(*school))
    }

    /// Taking a copy of what coachbot holds about oneself (`/privacy export`): anyone, with a
    /// role or without (someone whose role was removed may still be in the records).
    pub fn may_export_own_data(&self) -> bool {
        true
    }

    /// Erasing a person's data (`/privacy forget`): the person themselves; an admin for
    /// someone who has left the server (`they_left`), never for someone still here, who
    /// decides for themselves.
    pub fn may_forget(&self, is_self: bool, they_left: bool) -> bool {
        is_self || (self.is_admin() && they_left)
    }

    /// Reading the audit of exports, forgets, role mappings and purges (`/privacy audit`), and
    /// changing how long records are kept (`/setup retention`): admins.
    pub fn may_govern_data(&self) -> bool {
        self.is_admin()
    }

    /// Lists of schedules and open check-ins, and digests: coaches and admins.
    pub fn is_coach_or_admin(&self) -> bool {
        self.is_admin() || self.has(Role::Coach)
    }

    /// Whether some grant covers every school (admin, or a server-wide coach or district leader).
    pub fn server_wide(&self) -> bool {
        self.is_admin() || self.grants.iter().any(|g| g.school_id.is_none())
    }

    /// The schools named in the person's grants, without repeats.
    pub fn school_ids(&self) -> Vec<SchoolId> {
        let mut ids: Vec<SchoolId> = self.grants.iter().filter_map(|g| g.school_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Refuses unless the person is an admin.
    pub fn require_admin(&self, action: &'static str) -> Result<(), UserError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(UserError::NotPermitted {
                needed: "coachbot admins",
                action,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(grants: &[(Role, Option<i64>)]) -> Access {
        Access {
            grants: grants
                .iter()
                .map(|(role, school_id)| Grant {
                    role: *role,
                    school_id: school_id.map(SchoolId::new),
                })
                .collect(),
            discord_admin: false,
        }
    }

    const LINCOLN: i64 = 1;
    const WASHINGTON: i64 = 2;

    #[test]
    fn a_coaching_session_is_read_by_its_coach_its_principal_and_who_was_in_it() {
        let lincoln = SchoolId::new(LINCOLN);
        let coach = with(&[(Role::Coach, Some(LINCOLN))]);
        assert!(coach.may_log_session(lincoln));
        assert!(coach.may_read_session(lincoln, false, false));
        assert!(with(&[(Role::Principal, Some(LINCOLN))]).may_read_session(lincoln, false, false));
        let team = with(&[(Role::Team, Some(LINCOLN))]);
        assert!(!team.may_read_session(lincoln, false, false), "not shared");
        assert!(
            team.may_read_session(lincoln, true, false),
            "shared with the team"
        );
        assert!(team.may_read_session(lincoln, false, true), "was in it");
        assert!(!team.may_log_session(lincoln));
        let other_coach = with(&[(Role::Coach, Some(WASHINGTON))]);
        assert!(!other_coach.may_log_session(lincoln));
        assert!(!other_coach.may_read_session(lincoln, true, false));
        let admin = with(&[(Role::Admin, None)]);
        assert!(
            !admin.may_read_session(lincoln, true, false),
            "an admin alone"
        );
        assert!(!admin.may_log_session(lincoln));
        assert!(!with(&[(Role::District, None)]).may_read_session(lincoln, true, false));
        assert!(
            !with(&[]).may_read_session(lincoln, true, false),
            "a removed role"
        );
    }

    #[test]
    fn the_brief_is_the_coachs_and_the_feed_is_set_by_coaches_and_admins() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_brief(lincoln));
        assert!(with(&[(Role::Coach, None)]).may_brief(lincoln));
        assert!(!with(&[(Role::Coach, Some(WASHINGTON))]).may_brief(lincoln));
        assert!(!with(&[(Role::Principal, Some(LINCOLN))]).may_brief(lincoln));
        assert!(!with(&[(Role::Admin, None)]).may_brief(lincoln));
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_set_feed(lincoln));
        assert!(with(&[(Role::Admin, None)]).may_set_feed(lincoln));
        assert!(!with(&[(Role::Team, Some(LINCOLN))]).may_set_feed(lincoln));
        assert!(!with(&[(Role::Coach, Some(WASHINGTON))]).may_set_feed(lincoln));
    }

    #[test]
    fn a_growth_goal_is_seen_by_its_principal_and_their_coach_only() {
        let lincoln = SchoolId::new(LINCOLN);
        let theirs = [lincoln];
        assert!(with(&[(Role::Principal, Some(LINCOLN))]).may_see_goal(&theirs, true));
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_see_goal(&theirs, false));
        assert!(!with(&[(Role::Coach, Some(WASHINGTON))]).may_see_goal(&theirs, false));
        assert!(!with(&[(Role::Team, Some(LINCOLN))]).may_see_goal(&theirs, false));
        assert!(!with(&[(Role::Admin, None)]).may_see_goal(&theirs, false));
        assert!(!with(&[(Role::District, None)]).may_see_goal(&theirs, false));
    }

    #[test]
    fn assessments_are_imported_by_the_schools_coach_or_an_admin() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_import_assessment(lincoln));
        assert!(with(&[(Role::Coach, None)]).may_import_assessment(lincoln));
        assert!(with(&[(Role::Admin, None)]).may_import_assessment(lincoln));
        assert!(
            !with(&[(Role::Coach, Some(WASHINGTON))]).may_import_assessment(lincoln),
            "another school's coach"
        );
        assert!(!with(&[(Role::Team, Some(LINCOLN))]).may_import_assessment(lincoln));
        assert!(!with(&[(Role::Principal, Some(LINCOLN))]).may_import_assessment(lincoln));
        assert!(!with(&[(Role::District, None)]).may_import_assessment(lincoln));
        assert!(!with(&[]).may_import_assessment(lincoln));
    }

    #[test]
    fn a_steps_owner_holds_a_role_at_its_school() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Team, Some(LINCOLN))]).may_own_steps(lincoln));
        assert!(with(&[(Role::Principal, Some(LINCOLN))]).may_own_steps(lincoln));
        assert!(
            with(&[(Role::Coach, None)]).may_own_steps(lincoln),
            "a coach of every school"
        );
        assert!(
            !with(&[(Role::Team, Some(WASHINGTON))]).may_own_steps(lincoln),
            "another school's"
        );
        assert!(!with(&[]).may_own_steps(lincoln), "no role");
        assert!(!with(&[(Role::District, None)]).may_own_steps(lincoln));
        assert!(!with(&[(Role::Admin, None)]).may_own_steps(lincoln));
        let discord_admin = Access {
            grants: Vec::new(),
            discord_admin: true,
        };
        assert!(!discord_admin.may_own_steps(lincoln));
    }

    #[test]
    fn a_follow_up_is_set_by_the_schools_coach_an_admin_or_the_steps_owner() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_set_followup(lincoln, false));
        assert!(with(&[(Role::Admin, None)]).may_set_followup(lincoln, false));
        let team = with(&[(Role::Team, Some(LINCOLN))]);
        assert!(team.may_set_followup(lincoln, true), "an owner");
        assert!(
            !team.may_set_followup(lincoln, false),
            "a team member who does not own it"
        );
        assert!(
            !with(&[(Role::Coach, Some(WASHINGTON))]).may_set_followup(lincoln, false),
            "another school's coach"
        );
        assert!(!with(&[]).may_set_followup(lincoln, false), "no role");
    }

    #[test]
    fn a_check_in_is_started_by_the_coach_or_the_person_on_the_plan() {
        let coach = with(&[(Role::Coach, Some(LINCOLN))]);
        assert!(coach.may_start_checkin(SchoolId::new(LINCOLN), false));
        assert!(
            !coach.may_start_checkin(SchoolId::new(WASHINGTON), false),
            "another school's coach"
        );
        let team = with(&[(Role::Team, Some(LINCOLN))]);
        assert!(
            team.may_start_checkin(SchoolId::new(LINCOLN), true),
            "their own check-in"
        );
        assert!(
            !team.may_start_checkin(SchoolId::new(LINCOLN), false),
            "someone else's"
        );
        let district = with(&[(Role::District, None)]);
        assert!(!district.may_start_checkin(SchoolId::new(LINCOLN), true));
        assert!(
            !Access::default().may_start_checkin(SchoolId::new(LINCOLN), true),
            "a removed role"
        );
    }

    #[test]
    fn check_ins_are_run_by_the_schools_coaches_and_admins() {
        assert!(with(&[(Role::Coach, None)]).may_run_checkins(SchoolId::new(WASHINGTON)));
        assert!(with(&[(Role::Admin, None)]).may_run_checkins(SchoolId::new(LINCOLN)));
        assert!(!with(&[(Role::Coach, Some(LINCOLN))]).may_run_checkins(SchoolId::new(WASHINGTON)));
        assert!(
            !with(&[(Role::Principal, Some(LINCOLN))]).may_run_checkins(SchoolId::new(LINCOLN))
        );
        assert!(!Access::default().may_run_checkins(SchoolId::new(LINCOLN)));
    }

    #[test]
    fn answers_are_seen_by_the_person_and_their_coach_only() {
        let coach = with(&[(Role::Coach, Some(LINCOLN))]);
        assert!(coach.may_see_checkin(SchoolId::new(LINCOLN), false));
        assert!(
            !coach.may_see_checkin(SchoolId::new(WASHINGTON), false),
            "another school's"
        );
        let admin = Access {
            grants: Vec::new(),
            discord_admin: true,
        };
        assert!(
            !admin.may_see_checkin(SchoolId::new(LINCOLN), false),
            "admins do not read answers"
        );
        assert!(!with(&[(Role::District, None)]).may_see_checkin(SchoolId::new(LINCOLN), false));
        assert!(
            Access::default().may_see_checkin(SchoolId::new(LINCOLN), true),
            "one's own"
        );
    }

    #[test]
    fn schedules_are_changed_by_whom_they_belong_to() {
        let coach = with(&[(Role::Coach, Some(LINCOLN))]);
        assert!(coach.may_change_schedule(ScheduleTarget::School(SchoolId::new(LINCOLN))));
        assert!(!coach.may_change_schedule(ScheduleTarget::School(SchoolId::new(WASHINGTON))));
        assert!(
            !coach.may_change_schedule(ScheduleTarget::Server),
            "needs every school"
        );
        assert!(with(&[(Role::Coach, None)]).may_change_schedule(ScheduleTarget::Server));
        assert!(coach.may_change_schedule(ScheduleTarget::Digest { own: true }));
        assert!(!coach.may_change_schedule(ScheduleTarget::Digest { own: false }));
        assert!(
            with(&[(Role::Admin, None)]).may_change_schedule(ScheduleTarget::Digest { own: false })
        );
        assert!(
            !with(&[(Role::Team, Some(LINCOLN))])
                .may_change_schedule(ScheduleTarget::School(SchoolId::new(LINCOLN)))
        );
    }

    #[test]
    fn someone_is_marked_away_by_themselves_their_coach_or_an_admin() {
        let lincoln = [SchoolId::new(LINCOLN)];
        let team = with(&[(Role::Team, Some(LINCOLN))]);
        assert!(team.may_mark_away(&lincoln, true), "themselves");
        assert!(
            !team.may_mark_away(&lincoln, false),
            "a team member, for someone else"
        );
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_mark_away(&lincoln, false));
        assert!(
            !with(&[(Role::Coach, Some(WASHINGTON))]).may_mark_away(&lincoln, false),
            "another school's coach"
        );
        assert!(with(&[(Role::Coach, None)]).may_mark_away(&lincoln, false));
        assert!(with(&[(Role::Admin, None)]).may_mark_away(&[], false));
        assert!(!Access::default().may_mark_away(&lincoln, true), "no role");
        assert!(
            !with(&[(Role::District, None)]).may_mark_away(&lincoln, false),
            "a district leader"
        );
    }

    #[test]
    fn a_schools_calendar_is_changed_by_its_coaches_and_admins() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_change_calendar(lincoln));
        assert!(with(&[(Role::Admin, None)]).may_change_calendar(lincoln));
        assert!(!with(&[(Role::Coach, Some(WASHINGTON))]).may_change_calendar(lincoln));
        assert!(!with(&[(Role::Principal, Some(LINCOLN))]).may_change_calendar(lincoln));
        assert!(!with(&[(Role::Team, Some(LINCOLN))]).may_change_calendar(lincoln));
    }

    #[test]
    fn the_cycle_is_moved_by_the_schools_principal_coach_or_an_admin() {
        let lincoln = SchoolId::new(LINCOLN);
        assert!(with(&[(Role::Principal, Some(LINCOLN))]).may_move_cycle(lincoln));
        assert!(with(&[(Role::Coach, Some(LINCOLN))]).may_move_cycle(lincoln));
        assert!(
            with(&[(Role::Coach, None)]).may_move_cycle(lincoln),
            "a coach of every school"
        );
        assert!(with(&[(Role::Admin, None)]).may_move_cycle(lincoln));
        assert!(
            !with(&[(Role::Team, Some(LINCOLN))]).may_move_cycle(lincoln),
            "the leadership team"
        );
        assert!(
            !with(&[(Role::Principal, Some(WASHINGTON))]).may_move_cycle(lincoln),
            "another school's principal"
        );
        assert!(
            !with(&[(Role::Coach, Some(WASHINGTON))]).may_move_cycle(lincoln),
            "another school's coach"
        );
        assert!(!with(&[(Role::District, None)]).may_move_cycle(lincoln));
        assert!(!Access::default().may_move_cycle(lincoln), "no role");
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("janitor").is_err());
    }

    #[test]
    fn admin_comes_from_a_grant_or_discord() {
        assert!(!Access::default().is_admin());
        assert!(
            Access {
                grants: vec![],
                discord_admin: true
            }
            .is_admin()
        );
        let admin = Access {
            grants: vec![Grant {
                role: Role::Admin,
                school_id: None,
            }],
            discord_admin: false,
        };
        assert!(admin.is_admin());
    }

    #[test]
    fn plans_are_edited_by_the_school_and_read_by_the_district() {
        let team = Access {
            grants: vec![Grant {
                role: Role::Team,
                school_id: Some(SchoolId::new(1)),
            }],
            discord_admin: false,
        };
        assert!(team.can_edit_plan(SchoolId::new(1)));
        assert!(!team.can_edit_plan(SchoolId::new(2)));
        assert!(!team.server_wide());
        let district = Access {
            grants: vec![Grant {
                role: Role::District,
                school_id: None,
            }],
            discord_admin: false,
        };
        assert!(!district.can_edit_plan(SchoolId::new(1)));
        assert!(district.can_read_plan(SchoolId::new(1)));
        assert!(!Access::default().has_any_role());
    }

    #[test]
    fn school_grants_apply_to_their_school_only() {
        let access = Access {
            grants: vec![Grant {
                role: Role::Team,
                school_id: Some(SchoolId::new(1)),
            }],
            discord_admin: false,
        };
        assert!(access.has_for_school(Role::Team, SchoolId::new(1)));
        assert!(!access.has_for_school(Role::Team, SchoolId::new(2)));
        let district = Access {
            grants: vec![Grant {
                role: Role::District,
                school_id: None,
            }],
            discord_admin: false,
        };
        assert!(district.has_for_school(Role::District, SchoolId::new(7)));
    }

    #[test]
    fn privacy_rights_from_both_sides() {
        let nobody = with(&[]);
        let principal = with(&[(Role::Principal, Some(1))]);
        let coach = with(&[(Role::Coach, Some(1))]);
        let admin = with(&[(Role::Admin, None)]);

        // Anyone takes a copy of their own data, with a role or without.
        assert!(nobody.may_export_own_data());
        assert!(principal.may_export_own_data());

        // Anyone forgets themselves; an admin forgets only someone who has left.
        assert!(nobody.may_forget(true, false));
        assert!(principal.may_forget(true, false));
        assert!(admin.may_forget(false, true));
        assert!(!admin.may_forget(false, false));
        assert!(!coach.may_forget(false, true));
        assert!(!principal.may_forget(false, true));

        // Only admins read the audit and set retention.
        assert!(admin.may_govern_data());
        for other in [&nobody, &principal, &coach] {
            assert!(!other.may_govern_data());
        }
        let discord_admin = Access {
            grants: vec![],
            discord_admin: true,
        };
        assert!(discord_admin.may_govern_data());
    }
}
