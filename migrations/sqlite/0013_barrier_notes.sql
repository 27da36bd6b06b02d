-- Notes on a barrier: what lies underneath it (root causes), from a barrier deep-dive that was
-- about that barrier. Each note names its server, so no query crosses servers.
CREATE TABLE barrier_notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    barrier_id  INTEGER NOT NULL REFERENCES barriers (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('root_cause')),
    text        TEXT    NOT NULL,
    author_id   INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    checkin_id  INTEGER REFERENCES checkin_sessions (id) ON DELETE SET NULL
);
CREATE INDEX barrier_notes_barrier ON barrier_notes (server_id, barrier_id, at);
-- The existing barrier a check-in is about, if any.
ALTER TABLE checkin_sessions ADD COLUMN barrier_id INTEGER REFERENCES barriers (id) ON DELETE SET NULL;
