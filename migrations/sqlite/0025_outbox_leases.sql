-- Renewing a process's leases (`outbox::renew`, every few seconds while a round works) finds
-- the rows by their holder; without this it read every pending row each time, so a large
-- backlog made every heartbeat slower.
CREATE INDEX outbox_leased ON outbox (lease_owner) WHERE lease_owner IS NOT NULL;
