-- Check-in sessions: one person answering one flow in DM. The questions as asked are kept
-- with the session, so a restart resumes at the same question.

CREATE TABLE checkin_sessions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id        BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id        BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    person_id        BIGINT  NOT NULL,
    flow_id          TEXT    NOT NULL,
    flow_title       TEXT    NOT NULL,
    opener           TEXT,                    -- sent before the first question
    plan             TEXT    NOT NULL,        -- JSON: the questions as this person is asked them
    status           TEXT    NOT NULL CHECK (status IN ('open', 'confirmed', 'skipped', 'expired')),
    correcting       BIGINT ,                 -- the answer being corrected, if any
    prompted         TEXT,                    -- the last prompt sent: q3 (question), k3 (category), review, fix
    dm_channel_id    BIGINT ,
    last_message_id  BIGINT ,                 -- the person's last DM that was handled
    started_by       BIGINT  NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
-- DMs are shared by every server: a person has at most one open check-in anywhere.
CREATE UNIQUE INDEX checkin_sessions_one_open ON checkin_sessions (person_id) WHERE status = 'open';
CREATE INDEX checkin_sessions_school ON checkin_sessions (server_id, school_id, status);

CREATE TABLE checkin_answers (
    session_id   BIGINT  NOT NULL REFERENCES checkin_sessions (id) ON DELETE CASCADE,
    position     BIGINT  NOT NULL,
    purpose      TEXT    NOT NULL,
    step_id      BIGINT ,
    answer       TEXT    NOT NULL,
    category     TEXT,
    message_id   BIGINT ,
    answered_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, position)
);

-- What a confirmed check-in turned into.
ALTER TABLE step_updates ADD COLUMN checkin_id BIGINT  REFERENCES checkin_sessions (id) ON DELETE SET NULL;
ALTER TABLE barriers ADD COLUMN checkin_id BIGINT  REFERENCES checkin_sessions (id) ON DELETE SET NULL;
