-- Durable schedules, their runs, and the outbox: every message the scheduler will send is a
-- row before it is sent, under a unique key per schedule and occurrence.

CREATE TABLE schedules (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id       BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id       BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('checkin')),
    person_id       BIGINT ,                  -- NULL: the school's principals and team
    flow_id         TEXT    NOT NULL,
    spec            TEXT    NOT NULL,         -- as people wrote it (normalised for presets)
    time_zone       TEXT    NOT NULL,
    next_fire_at    TIMESTAMPTZ,                   -- UTC; NULL when nothing is due any more
    paused          BIGINT  NOT NULL DEFAULT 0,
    grace_minutes   BIGINT  NOT NULL DEFAULT 120,
    created_by      BIGINT  NOT NULL,
    created_at      TIMESTAMPTZ    NOT NULL,
    updated_at      TIMESTAMPTZ    NOT NULL
);
CREATE INDEX schedules_due ON schedules (paused, next_fire_at);

-- One row per occurrence: fired (its outbox rows exist) or missed (too late to send).
CREATE TABLE schedule_runs (
    schedule_id    BIGINT  NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence_at  TIMESTAMPTZ    NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('fired', 'missed')),
    recorded_at    TIMESTAMPTZ    NOT NULL,
    PRIMARY KEY (schedule_id, occurrence_at)
);

CREATE TABLE outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,    -- schedule, occurrence and person: sent once
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('checkin_start')),
    payload       TEXT    NOT NULL,           -- JSON
    person_id     BIGINT ,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unreachable')),
    attempts      BIGINT  NOT NULL DEFAULT 0,
    not_before    TIMESTAMPTZ    NOT NULL,
    last_error    TEXT,
    created_at    TIMESTAMPTZ    NOT NULL,
    sent_at       TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (status, not_before);

-- A check-in started by the outbox remembers the row, so a retry after a crash finds it.
ALTER TABLE checkin_sessions ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX checkin_sessions_origin ON checkin_sessions (origin);

-- People whose DMs are closed (Discord error 50007), so the scheduler stops trying.
ALTER TABLE members ADD COLUMN dm_unreachable_at TIMESTAMPTZ;
