-- Follow-ups on a step (one-shot schedules with a step), and notices to coaches (e.g. a
-- person whose DMs are closed) carried by the outbox.

ALTER TABLE schedules ADD COLUMN step_id INTEGER REFERENCES action_steps (id) ON DELETE CASCADE;

CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('checkin_start', 'nudge', 'notice')),
    payload       TEXT    NOT NULL,
    person_id     INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unreachable')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT    NOT NULL,
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    sent_at       TEXT
);
INSERT INTO outbox_new SELECT id, key, server_id, kind, payload, person_id, status, attempts,
    not_before, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (status, not_before);
