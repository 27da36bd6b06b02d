-- The program decides what an outbox kind means: a kind it does not know (written by a newer
-- version, say) is marked failed with a logged error, never sent as something else. The
-- column keeps no list of kinds, so a new kind (announcements, now) needs no migration.

CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    person_id     INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unreachable')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT    NOT NULL,
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    sent_at       TEXT,
    lease_owner   TEXT,
    lease_until   TEXT,
    message_id    INTEGER
);
INSERT INTO outbox_new SELECT id, key, server_id, kind, payload, person_id, status, attempts,
    not_before, last_error, created_at, sent_at, lease_owner, lease_until, message_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (status, not_before);
