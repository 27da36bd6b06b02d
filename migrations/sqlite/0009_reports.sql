-- Coach digests and indicator summaries: schedules of their own kinds (a digest belongs to a
-- coach, not a school; a summary goes to a channel, for a school or the whole server), the
-- record of each one built (so the next can say what is new), and the outbox kinds that carry
-- them. A digest or summary row is composed into `message` rows, one per Discord message,
-- in one transaction; a message's file (the chart) is kept beside it.

-- SQLite cannot relax NOT NULL or a CHECK in place. Rebuild `schedules` (and `schedule_runs`,
-- which refers to it) under their own names, keeping ids and the id sequence.
CREATE TABLE schedules_old AS SELECT * FROM schedules;
CREATE TABLE schedule_runs_old AS SELECT * FROM schedule_runs;
CREATE TABLE schedules_sequence_old AS SELECT seq FROM sqlite_sequence WHERE name = 'schedules';
DROP TABLE schedule_runs;
DROP TABLE schedules;

CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id       INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id       INTEGER REFERENCES schools (id) ON DELETE CASCADE,  -- NULL: a digest, or a server-wide summary
    kind            TEXT    NOT NULL CHECK (kind IN ('checkin', 'digest', 'summary')),
    person_id       INTEGER,                  -- check-in: NULL for the school's principals and team; digest: the coach
    flow_id         TEXT,                     -- check-ins only
    spec            TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    next_fire_at    TEXT,
    paused          INTEGER NOT NULL DEFAULT 0,
    grace_minutes   INTEGER NOT NULL DEFAULT 120,
    created_by      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    nudge_hours     INTEGER NOT NULL DEFAULT 24,
    step_id         INTEGER REFERENCES action_steps (id) ON DELETE CASCADE,
    channel_id      INTEGER,                  -- summaries: where they are posted
    CHECK (kind <> 'checkin' OR (school_id IS NOT NULL AND flow_id IS NOT NULL)),
    CHECK (kind <> 'digest' OR person_id IS NOT NULL),
    CHECK (kind <> 'summary' OR channel_id IS NOT NULL)
);
INSERT INTO schedules (id, server_id, school_id, kind, person_id, flow_id, spec, time_zone,
        next_fire_at, paused, grace_minutes, created_by, created_at, updated_at, nudge_hours, step_id)
    SELECT id, server_id, school_id, kind, person_id, flow_id, spec, time_zone,
        next_fire_at, paused, grace_minutes, created_by, created_at, updated_at, nudge_hours, step_id
    FROM schedules_old;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'schedules', seq FROM schedules_sequence_old
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'schedules');
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM schedules_sequence_old), 0))
    WHERE name = 'schedules';
CREATE INDEX schedules_due ON schedules (paused, next_fire_at);

CREATE TABLE schedule_runs (
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence_at  TEXT    NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('fired', 'missed')),
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (schedule_id, occurrence_at)
);
INSERT INTO schedule_runs SELECT schedule_id, occurrence_at, outcome, recorded_at FROM schedule_runs_old;
DROP TABLE schedule_runs_old;
DROP TABLE schedules_old;
DROP TABLE schedules_sequence_old;

CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('checkin_start', 'nudge', 'notice', 'digest', 'summary', 'message')),
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

-- A file sent with an outbox message (a summary's chart), by the row's key.
CREATE TABLE outbox_files (
    outbox_key  TEXT    NOT NULL,
    filename    TEXT    NOT NULL,
    bytes       BLOB    NOT NULL,
    PRIMARY KEY (outbox_key, filename)
);

-- Each digest built for a coach: the next one lists barriers opened since.
CREATE TABLE coach_digests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    coach_id    INTEGER NOT NULL,
    outbox_key  TEXT    NOT NULL UNIQUE,
    built_at    TEXT    NOT NULL,
    messages    INTEGER NOT NULL
);
CREATE INDEX coach_digests_coach ON coach_digests (server_id, coach_id, built_at);

-- Each summary posted: the next one says how each indicator's level changed since.
CREATE TABLE indicator_summaries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id   INTEGER REFERENCES schools (id) ON DELETE CASCADE,   -- NULL: the whole server
    channel_id  INTEGER NOT NULL,
    outbox_key  TEXT    NOT NULL UNIQUE,
    built_at    TEXT    NOT NULL,
    levels      TEXT    NOT NULL            -- JSON: the levels it reported
);
CREATE INDEX indicator_summaries_scope ON indicator_summaries (server_id, school_id, built_at);

-- Servers that prefer summaries in a thread, and the smallest group a figure may describe.
ALTER TABLE servers ADD COLUMN summary_threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN min_group INTEGER NOT NULL DEFAULT 5;
