-- Privacy rights and retention (issue L): what was done with people's data and by whom, how
-- long each kind of record is kept, which day's purge has run, and the stand-ins that take a
-- forgotten person's place in the records the team shares.

-- One thing done with people's data: an export (`/export`, `coachbot export`, `/privacy
-- export`), a forget, a role-mapping change, a retention change, a purge. `actor_id` is who did
-- it (NULL for the bot's own purge or the command line); `subject_id` whom it was about, when it
-- was about one person. `scope` says what it covered in words that name no one (a school's
-- name, "server", a kind of record); `row_count` how many rows a purge removed.
CREATE TABLE audit_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    at            TIMESTAMPTZ NOT NULL,
    actor_id      BIGINT,
    via           TEXT    NOT NULL CHECK (via IN ('discord', 'command_line', 'scheduler')),
    action        TEXT    NOT NULL CHECK (action IN ('export', 'privacy_export', 'forget', 'role_mapping', 'retention', 'purge')),
    scope         TEXT    NOT NULL,
    subject_id    BIGINT,
    with_answers  BOOLEAN NOT NULL DEFAULT FALSE,
    row_count     BIGINT
);
CREATE INDEX audit_events_server ON audit_events (server_id, at, id);

-- How long a server keeps each kind of record, in days; no row means the defaults
-- (`domain::privacy::Retention::default`).
CREATE TABLE retention_settings (
    server_id     BIGINT  PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    answers_days  INTEGER NOT NULL CHECK (answers_days >= 1),
    outbox_days   INTEGER NOT NULL CHECK (outbox_days >= 1),
    runs_days     INTEGER NOT NULL CHECK (runs_days >= 1),
    set_by        BIGINT  NOT NULL,
    set_at        TIMESTAMPTZ NOT NULL
);

-- The daily purge runs once a day across every process: the process that inserts the day's
-- row runs it.
CREATE TABLE purge_days (
    day         DATE    PRIMARY KEY,           -- the UTC date
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

-- A forgotten person's stand-in: their place in shared records (steps they owned, updates
-- they wrote, barriers they raised) is taken by this id, which reads "a former member". The
-- ids are small numbers that no Discord id can be (`UserId::is_former_member`).
CREATE TABLE former_members (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    forgotten_at  TIMESTAMPTZ NOT NULL
);
