-- Nudges: a check-in left unanswered gets one gentle reminder; the outbox carries them.

ALTER TABLE schedules ADD COLUMN nudge_hours BIGINT NOT NULL DEFAULT 24;
ALTER TABLE checkin_sessions ADD COLUMN nudge_hours BIGINT NOT NULL DEFAULT 24;
ALTER TABLE checkin_sessions ADD COLUMN nudged_at TIMESTAMPTZ;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('checkin_start', 'nudge'));
