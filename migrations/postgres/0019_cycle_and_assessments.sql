-- The coaching cycle and its data. Each school moves through six stages (assess, debrief,
-- plan, implement, support, reassess); every move is kept. An assessment is one
-- administration of the school-wide survey, imported from a CSV: its rows are levels per
-- indicator (optionally per respondent group).

-- One row per stage a school entered. A school with no row is in `assess` since it was set up.
CREATE TABLE cycle_stages (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id   BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id   BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    stage       TEXT    NOT NULL CHECK (stage IN ('assess', 'debrief', 'plan', 'implement', 'support', 'reassess')),
    began_at    TIMESTAMPTZ NOT NULL,
    moved_by    BIGINT  NOT NULL,
    note        TEXT
);
CREATE INDEX cycle_stages_school ON cycle_stages (server_id, school_id, began_at, id);

-- One administration: a school's results on a date, under a name ("Fall 2026").
CREATE TABLE assessments (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    school_id     BIGINT  NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    administered  DATE    NOT NULL,            -- the local date it was given
    file_name     TEXT    NOT NULL,            -- the file it came from, for the record
    imported_by   BIGINT  NOT NULL,
    imported_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (school_id, name)
);
CREATE INDEX assessments_school ON assessments (server_id, school_id, administered);

-- A row of the file: the level on one indicator, for everyone (respondent_group '') or one
-- group of respondents. `score` and `scale_max` keep the raw score when the file gave one.
CREATE TABLE assessment_results (
    assessment_id     BIGINT  NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    row_number        BIGINT  NOT NULL,
    indicator_id      TEXT    NOT NULL,
    respondent_group  TEXT    NOT NULL DEFAULT '',
    level             BIGINT   NOT NULL CHECK (level BETWEEN 1 AND 5),
    score             DOUBLE PRECISION,
    scale_max         DOUBLE PRECISION,
    respondents       BIGINT,
    PRIMARY KEY (assessment_id, indicator_id, respondent_group)
);
CREATE INDEX assessment_results_indicator ON assessment_results (indicator_id);
