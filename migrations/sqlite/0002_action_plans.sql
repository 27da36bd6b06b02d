-- Action plans: a server's own framework, focus indicators with level history, action steps
-- with owners and an append-only update log, and barriers.

CREATE TABLE frameworks (
    server_id   INTEGER PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    source      TEXT    NOT NULL,             -- the TOML as loaded, validated before storing
    loaded_by   INTEGER NOT NULL,
    loaded_at   TEXT    NOT NULL
);

CREATE TABLE focus_indicators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id     INTEGER NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    indicator_id  TEXT    NOT NULL,
    level         TEXT    CHECK (level IN ('getting_aware', 'getting_ready', 'getting_started', 'getting_better', 'keep_improving')),
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    UNIQUE (school_id, indicator_id)
);

CREATE TABLE indicator_levels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    focus_id    INTEGER NOT NULL REFERENCES focus_indicators (id) ON DELETE CASCADE,
    level       TEXT    NOT NULL CHECK (level IN ('getting_aware', 'getting_ready', 'getting_started', 'getting_better', 'keep_improving')),
    note        TEXT,
    set_by      INTEGER NOT NULL,
    set_at      TEXT    NOT NULL
);
CREATE INDEX indicator_levels_focus ON indicator_levels (focus_id, set_at);

CREATE TABLE action_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id   INTEGER NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    focus_id    INTEGER NOT NULL REFERENCES focus_indicators (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    due_on      TEXT    NOT NULL,             -- a date in the school's time zone
    status      TEXT    NOT NULL CHECK (status IN ('planned', 'in_progress', 'blocked', 'done', 'dropped')),
    resources   TEXT,
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX action_steps_school ON action_steps (server_id, school_id, status);

CREATE TABLE step_owners (
    step_id  INTEGER NOT NULL REFERENCES action_steps (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (step_id, user_id)
);
CREATE INDEX step_owners_user ON step_owners (user_id);

-- Append-only: who did what to a step, and when.
CREATE TABLE step_updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id     INTEGER NOT NULL REFERENCES action_steps (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('created', 'progress', 'assigned', 'unassigned')),
    note        TEXT,
    old_status  TEXT,
    new_status  TEXT
);
CREATE INDEX step_updates_step ON step_updates (step_id, at);

CREATE TABLE barriers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id    INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id    INTEGER NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    step_id      INTEGER REFERENCES action_steps (id) ON DELETE SET NULL,
    category     TEXT    NOT NULL CHECK (category IN ('time', 'people', 'resources', 'policy', 'knowledge', 'other')),
    text         TEXT    NOT NULL,
    raised_by    INTEGER NOT NULL,
    raised_at    TEXT    NOT NULL,
    resolved_by  INTEGER,
    resolved_at  TEXT,
    resolution   TEXT
);
CREATE INDEX barriers_school ON barriers (server_id, school_id, resolved_at);
