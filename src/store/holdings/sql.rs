//! What `holdings::of_person` reads: one query per kind of record, `$1` the server and `$2`
//! the person, each selecting only the person's part of a record.

pub(super) const MEMBER: &str = "SELECT display_name, CAST(dm_channel_id AS TEXT) AS dm_channel_id,
        dm_unreachable_at AS dms_closed_since, created_at AS first_seen_at, updated_at
     FROM members WHERE server_id = $1 AND user_id = $2";

pub(super) const ROLES: &str = "SELECT r.role, sc.name AS school
     FROM member_roles r LEFT JOIN schools sc ON sc.id = r.school_id
     WHERE r.server_id = $1 AND r.user_id = $2";

pub(super) const CHECKINS: &str =
    "SELECT s.id AS checkin_id, sc.name AS school, s.flow_title AS flow,
        s.status, (s.started_by = $2) AS started_by_you, s.started_at, s.expires_at, s.finished_at
     FROM checkin_sessions s JOIN schools sc ON sc.id = s.school_id
     WHERE s.server_id = $1 AND s.person_id = $2
     ORDER BY s.started_at, s.id";

pub(super) const ANSWERS: &str =
    "SELECT s.id AS checkin_id, sc.name AS school, s.flow_title AS flow,
        (s.status <> 'confirmed') AS draft, a.position AS question, a.purpose, a.step_id,
        a.category, a.answer,
        CASE WHEN a.mark = 'skipped' THEN 'left out'
             WHEN a.mark IS NOT NULL THEN 'nothing in the way'
             WHEN a.shared = 0 THEN 'private'
             ELSE 'plan' END AS goes_to,
        a.about, a.answered_at
     FROM checkin_answers a
     JOIN checkin_sessions s ON s.id = a.session_id
     JOIN schools sc ON sc.id = s.school_id
     WHERE s.server_id = $1 AND s.person_id = $2
     ORDER BY s.started_at, s.id, a.position";

pub(super) const STEPS: &str =
    "SELECT s.id AS step_id, sc.name AS school, f.indicator_id AS indicator,
        s.title, s.status, s.due_on,
        EXISTS (SELECT 1 FROM step_owners o WHERE o.step_id = s.id AND o.user_id = $2) AS you_own,
        (s.created_by = $2) AS you_created, s.created_at, s.updated_at
     FROM action_steps s
     JOIN schools sc ON sc.id = s.school_id
     JOIN focus_indicators f ON f.id = s.focus_id
     WHERE s.server_id = $1
       AND (s.created_by = $2
            OR EXISTS (SELECT 1 FROM step_owners o WHERE o.step_id = s.id AND o.user_id = $2))
     ORDER BY s.created_at, s.id";

// An (un)assignment's note is the id of whom it (un)assigned: kept only when that was them.
pub(super) const STEP_UPDATES: &str =
    "SELECT u.id AS update_id, u.step_id, sc.name AS school, u.kind,
        u.old_status, u.new_status,
        CASE WHEN u.kind IN ('assigned', 'unassigned') AND u.note <> CAST($2 AS TEXT) THEN NULL
             ELSE u.note END AS note,
        u.field, u.old_value, u.new_value, u.checkin_id, u.at
     FROM step_updates u
     JOIN action_steps s ON s.id = u.step_id
     JOIN schools sc ON sc.id = s.school_id
     WHERE s.server_id = $1 AND u.author_id = $2
     ORDER BY u.at, u.id";

pub(super) const BARRIERS: &str =
    "SELECT b.id AS barrier_id, sc.name AS school, b.step_id, b.category,
        CASE WHEN b.raised_by = $2 THEN b.text END AS text,
        (b.raised_by = $2) AS you_raised, b.raised_at,
        COALESCE(b.resolved_by = $2, FALSE) AS you_resolved, b.resolved_at,
        CASE WHEN b.resolved_by = $2 THEN b.resolution END AS resolution,
        b.checkin_id
     FROM barriers b JOIN schools sc ON sc.id = b.school_id
     WHERE b.server_id = $1 AND (b.raised_by = $2 OR b.resolved_by = $2)
     ORDER BY b.raised_at, b.id";

pub(super) const BARRIER_NOTES: &str =
    "SELECT id AS note_id, barrier_id, kind, text, checkin_id, at
     FROM barrier_notes WHERE server_id = $1 AND author_id = $2
     ORDER BY at, id";

pub(super) const LEVELS: &str =
    "SELECT l.id AS level_id, sc.name AS school, f.indicator_id AS indicator,
        l.level, l.note, l.set_at
     FROM indicator_levels l
     JOIN focus_indicators f ON f.id = l.focus_id
     JOIN schools sc ON sc.id = f.school_id
     WHERE l.server_id = $1 AND l.set_by = $2
     ORDER BY l.set_at, l.id";

pub(super) const SESSIONS: &str = "SELECT cs.id AS session_id, cs.school_id, sc.name AS school,
        cs.kind, cs.held_on,
        EXISTS (SELECT 1 FROM coaching_session_people p WHERE p.session_id = cs.id AND p.user_id = $2)
            AS you_were_in_it,
        (cs.logged_by = $2) AS you_logged_it, cs.shared AS shared_with_team,
        cs.worked_on, cs.noticed, cs.next_meeting_on, cs.logged_at
     FROM coaching_sessions cs JOIN schools sc ON sc.id = cs.school_id
     WHERE cs.server_id = $1
       AND (cs.logged_by = $2 OR EXISTS (SELECT 1 FROM coaching_session_people p
                                         WHERE p.session_id = cs.id AND p.user_id = $2))
     ORDER BY cs.held_on, cs.id";

pub(super) const AGREEMENTS: &str = "SELECT a.session_id, a.position, a.text AS agreed, a.step_id
     FROM session_agreements a JOIN coaching_sessions cs ON cs.id = a.session_id
     WHERE cs.server_id = $1
       AND (cs.logged_by = $2 OR EXISTS (SELECT 1 FROM coaching_session_people p
                                         WHERE p.session_id = cs.id AND p.user_id = $2))
     ORDER BY a.session_id, a.position";

pub(super) const GOALS: &str =
    "SELECT id AS goal_id, text, indicator_id AS indicator, set_at, ended_at
     FROM growth_goals WHERE server_id = $1 AND user_id = $2
     ORDER BY set_at, id";

pub(super) const GOAL_NOTES: &str = "SELECT n.goal_id, n.note, n.at
     FROM goal_notes n JOIN growth_goals g ON g.id = n.goal_id
     WHERE g.server_id = $1 AND g.user_id = $2
     ORDER BY n.at, n.id";

pub(super) const SCHEDULES: &str = "SELECT s.id AS schedule_id, sc.name AS school, s.kind,
        s.flow_id AS flow, s.step_id, s.spec, s.time_zone, (s.paused <> 0) AS paused,
        s.next_fire_at, (s.created_by = $2) AS created_by_you, s.created_at, s.updated_at
     FROM schedules s LEFT JOIN schools sc ON sc.id = s.school_id
     WHERE s.server_id = $1 AND s.person_id = $2
     ORDER BY s.created_at, s.id";

pub(super) const AWAY: &str = "SELECT id AS away_id, starts_on, ends_on, note,
        (created_by = $2) AS set_by_you, created_at
     FROM away_periods WHERE server_id = $1 AND person_id = $2
     ORDER BY starts_on, id";

pub(super) const OPT_OUTS: &str = "SELECT opted_out_of, since FROM (
         SELECT 'team feed' AS opted_out_of, at AS since
         FROM feed_optouts WHERE server_id = $1 AND user_id = $2
         UNION ALL
         SELECT 'step reminders' AS opted_out_of, set_at AS since
         FROM reminder_optouts WHERE server_id = $1 AND person_id = $2
     ) AS opt_outs ORDER BY since, opted_out_of";

pub(super) const MISSES: &str =
    "SELECT sc.name AS school, m.flow_title AS flow, m.due_at, m.reason,
        m.recorded_at
     FROM checkin_misses m JOIN schools sc ON sc.id = m.school_id
     WHERE m.server_id = $1 AND m.person_id = $2
     ORDER BY m.recorded_at, m.key";

pub(super) const SKIPS: &str = "SELECT schedule_id, occurrence_at, reason, recorded_at
     FROM checkin_skips WHERE server_id = $1 AND person_id = $2
     ORDER BY recorded_at, key";
