-- How a server reads a date such as 12/05: month first (5 December, the default) or day
-- first (12 May). Set with `/setup dates`.
ALTER TABLE servers ADD COLUMN date_order TEXT NOT NULL DEFAULT 'month_day'
    CHECK (date_order IN ('month_day', 'day_month'));

-- `/step edit`: a step's log records each change to its title, due date, indicator or
-- resources as kind 'edited', with the field and its value before and after. SQLite cannot
-- change a CHECK constraint in place, so the log is copied into a table that allows it
-- (nothing references step_updates).
CREATE TABLE step_updates_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id     INTEGER NOT NULL REFERENCES action_steps (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('created', 'progress', 'assigned', 'unassigned', 'edited')),
    note        TEXT,
    old_status  TEXT,
    new_status  TEXT,
    checkin_id  INTEGER REFERENCES checkin_sessions (id) ON DELETE SET NULL,
    field       TEXT    CHECK (field IN ('title', 'due', 'indicator', 'resources')),
    old_value   TEXT,
    new_value   TEXT
);
INSERT INTO step_updates_new (id, step_id, author_id, at, kind, note, old_status, new_status, checkin_id)
    SELECT id, step_id, author_id, at, kind, note, old_status, new_status, checkin_id FROM step_updates;
DROP TABLE step_updates;
ALTER TABLE step_updates_new RENAME TO step_updates;
CREATE INDEX step_updates_step ON step_updates (step_id, at);
