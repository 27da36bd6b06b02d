-- One report schedule per target (issue M): a coach has one digest schedule, a channel one
-- summary schedule per school (or for the whole server). `/digest schedule` and
-- `/summary schedule` replace the schedule they supersede, but two at once on PostgreSQL
-- could both insert; these indexes make the second one update the first instead.
-- Duplicates saved before this are removed first, keeping the newest of each target.
DELETE FROM schedules s
 WHERE s.kind = 'digest'
   AND EXISTS (SELECT 1 FROM schedules n
                WHERE n.kind = 'digest' AND n.server_id = s.server_id
                  AND n.person_id = s.person_id AND n.id > s.id);
DELETE FROM schedules s
 WHERE s.kind = 'summary'
   AND EXISTS (SELECT 1 FROM schedules n
                WHERE n.kind = 'summary' AND n.server_id = s.server_id
                  AND n.channel_id = s.channel_id
                  AND COALESCE(n.school_id, 0) = COALESCE(s.school_id, 0) AND n.id > s.id);
CREATE UNIQUE INDEX schedules_one_digest ON schedules (server_id, person_id) WHERE kind = 'digest';
CREATE UNIQUE INDEX schedules_one_summary ON schedules (server_id, channel_id, (COALESCE(school_id, 0)))
    WHERE kind = 'summary';
