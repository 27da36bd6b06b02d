-- Follow-ups on a step (one-shot schedules with a step), and notices to coaches (e.g. a
-- person whose DMs are closed) carried by the outbox.

ALTER TABLE schedules ADD COLUMN step_id BIGINT REFERENCES action_steps (id) ON DELETE CASCADE;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('checkin_start', 'nudge', 'notice'));
