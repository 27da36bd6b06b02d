-- One open check-in per person per server (no longer one across all servers). A person's DMs
-- are one channel whatever the server, so only one open check-in is in conversation at a
-- time: the oldest whose first prompt went out (prompts > 0). The others wait, unprompted.
DROP INDEX checkin_sessions_one_open;
CREATE UNIQUE INDEX checkin_sessions_one_open ON checkin_sessions (server_id, person_id) WHERE status = 'open';
CREATE INDEX checkin_sessions_person_open ON checkin_sessions (person_id, status, id);

-- Scheduled check-ins that never started, and why (the digest shows them to the coach).
CREATE TABLE checkin_misses (
    key          TEXT    PRIMARY KEY,      -- the outbox key of the scheduled check-in
    server_id    BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id    BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    person_id    BIGINT  NOT NULL,
    flow_title   TEXT    NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    reason       TEXT    NOT NULL CHECK (reason IN ('previous', 'elsewhere')),
    recorded_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX checkin_misses_server ON checkin_misses (server_id, recorded_at);
