-- `/privacy forget` (issue L): people coachbot was asked to forget and must not record or
-- write to again in a server until they themselves use a coachbot command there. Only a keyed
-- hash of (server, person) is kept (`domain::forget::contact_key`), never the person's id:
-- member sync and the outbox compute the same hash and leave them alone.
CREATE TABLE forgotten_contacts (
    server_id     BIGINT  NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    contact       TEXT    NOT NULL,   -- hex SHA-256, see `domain::forget::contact_key`
    forgotten_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, contact)
);
