-- Workspaces, schools, people and roles. Times are UTC, stored as RFC 3339 text.

CREATE TABLE servers (
    id          INTEGER PRIMARY KEY,          -- Discord guild id
    name        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);

CREATE TABLE schools (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    time_zone   TEXT    NOT NULL,             -- IANA name, e.g. America/Chicago
    channel_id  INTEGER,                      -- Discord channel for announcements
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (server_id, name)
);

CREATE TABLE members (
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,           -- Discord user id
    display_name  TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (server_id, user_id)
);

-- A Discord role that grants a coachbot role, optionally for one school.
CREATE TABLE role_mappings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id        INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    discord_role_id  INTEGER NOT NULL,
    role             TEXT    NOT NULL CHECK (role IN ('principal', 'team', 'coach', 'district', 'admin')),
    school_id        INTEGER REFERENCES schools (id) ON DELETE CASCADE,
    created_by       INTEGER NOT NULL,
    created_at       TEXT    NOT NULL
);
CREATE UNIQUE INDEX role_mappings_unique
    ON role_mappings (server_id, discord_role_id, role, COALESCE(school_id, 0));

-- The coachbot roles a member holds, as last resolved from their Discord roles.
CREATE TABLE member_roles (
    server_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('principal', 'team', 'coach', 'district', 'admin')),
    school_id   INTEGER REFERENCES schools (id) ON DELETE CASCADE,
    FOREIGN KEY (server_id, user_id) REFERENCES members (server_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX member_roles_unique
    ON member_roles (server_id, user_id, role, COALESCE(school_id, 0));
