-- Away and calendar: a person's absence and a school's breaks. What is due in them is skipped
-- (recorded as such), never counted as missed. Owner reminders can be switched off per person.

-- A person away, from one local date to another (both included, in their school's zone).
CREATE TABLE away_periods (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL,
    starts_on   TEXT    NOT NULL,
    ends_on     TEXT    NOT NULL,
    note        TEXT,
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX away_periods_person ON away_periods (server_id, person_id, ends_on);
CREATE INDEX away_periods_ends ON away_periods (ends_on);

-- A school's break (winter break, a holiday), local dates, both included.
CREATE TABLE school_breaks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id   INTEGER NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    starts_on   TEXT    NOT NULL,
    ends_on     TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX school_breaks_school ON school_breaks (server_id, school_id, ends_on);
CREATE INDEX school_breaks_ends ON school_breaks (ends_on);

-- A scheduled check-in not sent to one person because they were away or their school on a
-- break: the record of it, never a miss.
CREATE TABLE checkin_skips (
    key           TEXT    PRIMARY KEY,     -- the outbox key the check-in would have had
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    schedule_id   INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL,
    occurrence_at TEXT    NOT NULL,
    reason        TEXT    NOT NULL CHECK (reason IN ('away', 'break')),
    recorded_at   TEXT    NOT NULL
);
CREATE INDEX checkin_skips_server ON checkin_skips (server_id, recorded_at);

-- People who switched owner reminders off, per server.
CREATE TABLE reminder_optouts (
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL,
    set_at      TEXT    NOT NULL,
    PRIMARY KEY (server_id, person_id)
);

-- A run can now be skipped (everyone away, or the school on a break). SQLite cannot change a
-- CHECK in place: rebuild the table (nothing references it).
CREATE TABLE schedule_runs_new (
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence_at  TEXT    NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('fired', 'missed', 'skipped_away', 'skipped_break')),
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (schedule_id, occurrence_at)
);
INSERT INTO schedule_runs_new SELECT schedule_id, occurrence_at, outcome, recorded_at FROM schedule_runs;
DROP TABLE schedule_runs;
ALTER TABLE schedule_runs_new RENAME TO schedule_runs;
