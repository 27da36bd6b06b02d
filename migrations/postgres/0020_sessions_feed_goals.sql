-- The coach's own record (issue K): coaching sessions with what was agreed, digest items a coach
-- snoozed, a school's opt-in team feed and who opted out of it, and principals' growth goals.

-- One coaching session a coach logged with a school: a one-to-one with its principal, a
-- leadership-team meeting, a walkthrough, … Private to the school's coaches and principals,
-- and to the people who were in it, unless `shared` (then its team reads it too).
CREATE TABLE coaching_sessions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id        BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id        BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('one_to_one', 'leadership_team', 'walkthrough', 'data_team', 'partnership', 'other')),
    held_on          DATE    NOT NULL,         -- the school's local date
    logged_by        BIGINT  NOT NULL,
    worked_on        TEXT    NOT NULL,
    noticed          TEXT    NOT NULL DEFAULT '',
    next_meeting_on  DATE,                     -- the school's local date, when one was set
    shared           BOOLEAN NOT NULL DEFAULT FALSE,
    logged_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX coaching_sessions_school ON coaching_sessions (server_id, school_id, held_on, id);

-- Who the session was with (besides the coach who logged it).
CREATE TABLE coaching_session_people (
    session_id  BIGINT  NOT NULL REFERENCES coaching_sessions (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX coaching_session_people_user ON coaching_session_people (user_id);

-- The next steps agreed in a session, one a line, in order; `step_id` once one became a step.
CREATE TABLE session_agreements (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  BIGINT  NOT NULL REFERENCES coaching_sessions (id) ON DELETE CASCADE,
    position    BIGINT  NOT NULL,
    text        TEXT    NOT NULL,
    step_id     BIGINT  REFERENCES action_steps (id) ON DELETE SET NULL,
    UNIQUE (session_id, position)
);

-- A digest item a coach put off (a button on the digest): it does not show until `until`.
-- `item` names the thing (a step, a barrier, a missed check-in's person and flow, …).
CREATE TABLE digest_snoozes (
    server_id   BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    coach_id    BIGINT  NOT NULL,
    item        TEXT    NOT NULL,
    until       TIMESTAMPTZ NOT NULL,
    snoozed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, coach_id, item)
);

-- A school's team feed: after each confirmed check-in, what the person shared to the plan is
-- posted to this channel. Off (no row) by default.
CREATE TABLE school_feeds (
    school_id   BIGINT PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    server_id   BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    channel_id  BIGINT  NOT NULL,
    set_by      BIGINT  NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL
);

-- People who turned the feed off for themselves (`/feed off`); `/feed on` deletes the row.
CREATE TABLE feed_optouts (
    server_id  BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, user_id)
);

-- A principal's own leadership goal, private to them and their coach. Setting a new one ends
-- the last (`ended_at`); at most one is open per person and server.
CREATE TABLE growth_goals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id       BIGINT  NOT NULL,
    text          TEXT    NOT NULL,
    indicator_id  TEXT,
    set_at        TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX growth_goals_open ON growth_goals (server_id, user_id) WHERE ended_at IS NULL;

-- Notes on a goal's progress (`/goal update`, and the monthly reflection's answer).
CREATE TABLE goal_notes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    goal_id  BIGINT  NOT NULL REFERENCES growth_goals (id) ON DELETE CASCADE,
    note     TEXT    NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX goal_notes_goal ON goal_notes (goal_id, at);
