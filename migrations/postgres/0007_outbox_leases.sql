-- Several bot processes share the outbox: a row is leased to one of them while it is sent;
-- if that process dies, the lease runs out and another takes the row over.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
