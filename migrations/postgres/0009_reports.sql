-- Coach digests and indicator summaries: schedules of their own kinds (a digest belongs to a
-- coach, not a school; a summary goes to a channel, for a school or the whole server), the
-- record of each one built (so the next can say what is new), and the outbox kinds that carry
-- them. A digest or summary row is composed into `message` rows, one per Discord message,
-- in one transaction; a message's file (the chart) is kept beside it.

ALTER TABLE schedules DROP CONSTRAINT schedules_kind_check;
ALTER TABLE schedules ADD CONSTRAINT schedules_kind_check CHECK (kind IN ('checkin', 'digest', 'summary'));
ALTER TABLE schedules ALTER COLUMN school_id DROP NOT NULL;
ALTER TABLE schedules ALTER COLUMN flow_id DROP NOT NULL;
ALTER TABLE schedules ADD COLUMN channel_id BIGINT;
ALTER TABLE schedules ADD CONSTRAINT schedules_checkin_target CHECK (kind <> 'checkin' OR (school_id IS NOT NULL AND flow_id IS NOT NULL));
ALTER TABLE schedules ADD CONSTRAINT schedules_digest_coach CHECK (kind <> 'digest' OR person_id IS NOT NULL);
ALTER TABLE schedules ADD CONSTRAINT schedules_summary_channel CHECK (kind <> 'summary' OR channel_id IS NOT NULL);

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('checkin_start', 'nudge', 'notice', 'digest', 'summary', 'message'));

-- A file sent with an outbox message (a summary's chart), by the row's key.
CREATE TABLE outbox_files (
    outbox_key  TEXT    NOT NULL,
    filename    TEXT    NOT NULL,
    bytes       BYTEA   NOT NULL,
    PRIMARY KEY (outbox_key, filename)
);

-- Each digest built for a coach: the next one lists barriers opened since.
CREATE TABLE coach_digests (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id   BIGINT      NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    coach_id    BIGINT      NOT NULL,
    outbox_key  TEXT        NOT NULL UNIQUE,
    built_at    TIMESTAMPTZ NOT NULL,
    messages    BIGINT      NOT NULL
);
CREATE INDEX coach_digests_coach ON coach_digests (server_id, coach_id, built_at);

-- Each summary posted: the next one says how each indicator's level changed since.
CREATE TABLE indicator_summaries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id   BIGINT      NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id   BIGINT      REFERENCES schools (id) ON DELETE CASCADE,   -- NULL: the whole server
    channel_id  BIGINT      NOT NULL,
    outbox_key  TEXT        NOT NULL UNIQUE,
    built_at    TIMESTAMPTZ NOT NULL,
    levels      TEXT        NOT NULL            -- JSON: the levels it reported
);
CREATE INDEX indicator_summaries_scope ON indicator_summaries (server_id, school_id, built_at);

-- Servers that prefer summaries in a thread, and the smallest group a figure may describe.
ALTER TABLE servers ADD COLUMN summary_threads BIGINT NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN min_group BIGINT NOT NULL DEFAULT 5;
