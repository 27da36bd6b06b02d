-- Workspaces, schools, people and roles. Times are UTC (TIMESTAMPTZ).

CREATE TABLE servers (
    id          BIGINT      PRIMARY KEY,      -- Discord guild id
    name        TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE schools (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id   BIGINT      NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name        TEXT        NOT NULL,
    time_zone   TEXT        NOT NULL,         -- IANA name, e.g. America/Chicago
    channel_id  BIGINT,                       -- Discord channel for announcements
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (server_id, name)
);

CREATE TABLE members (
    server_id     BIGINT      NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id       BIGINT      NOT NULL,       -- Discord user id
    display_name  TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, user_id)
);

-- A Discord role that grants a coachbot role, optionally for one school.
CREATE TABLE role_mappings (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id        BIGINT      NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    discord_role_id  BIGINT      NOT NULL,
    role             TEXT        NOT NULL CHECK (role IN ('principal', 'team', 'coach', 'district', 'admin')),
    school_id        BIGINT      REFERENCES schools (id) ON DELETE CASCADE,
    created_by       BIGINT      NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX role_mappings_unique
    ON role_mappings (server_id, discord_role_id, role, COALESCE(school_id, 0));

-- The coachbot roles a member holds, as last resolved from their Discord roles.
CREATE TABLE member_roles (
    server_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    role        TEXT   NOT NULL CHECK (role IN ('principal', 'team', 'coach', 'district', 'admin')),
    school_id   BIGINT REFERENCES schools (id) ON DELETE CASCADE,
    FOREIGN KEY (server_id, user_id) REFERENCES members (server_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX member_roles_unique
    ON member_roles (server_id, user_id, role, COALESCE(school_id, 0));
