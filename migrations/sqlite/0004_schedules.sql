-- Durable schedules, their runs, and the outbox: every message the scheduler will send is a
-- row before it is sent, under a unique key per schedule and occurrence.

CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id       INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id       INTEGER NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('checkin')),
    person_id       INTEGER,                  -- NULL: the school's principals and team
    flow_id         TEXT    NOT NULL,
    spec            TEXT    NOT NULL,         -- as people wrote it (normalised for presets)
    time_zone       TEXT    NOT NULL,
    next_fire_at    TEXT,                     -- UTC; NULL when nothing is due any more
    paused          INTEGER NOT NULL DEFAULT 0,
    grace_minutes   INTEGER NOT NULL DEFAULT 120,
    created_by      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX schedules_due ON schedules (paused, next_fire_at);

-- One row per occurrence: fired (its outbox rows exist) or missed (too late to send).
CREATE TABLE schedule_runs (
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence_at  TEXT    NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('fired', 'missed')),
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (schedule_id, occurrence_at)
);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,    -- schedule, occurrence and person: sent once
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('checkin_start')),
    payload       TEXT    NOT NULL,           -- JSON
    person_id     INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unreachable')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT    NOT NULL,
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    sent_at       TEXT
);
CREATE INDEX outbox_pending ON outbox (status, not_before);

-- A check-in started by the outbox remembers the row, so a retry after a crash finds it.
ALTER TABLE checkin_sessions ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX checkin_sessions_origin ON checkin_sessions (origin);

-- People whose DMs are closed (Discord error 50007), so the scheduler stops trying.
ALTER TABLE members ADD COLUMN dm_unreachable_at TEXT;
