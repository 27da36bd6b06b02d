-- One send budget for the bot token (issue M): every process on this database takes its send
-- slots from this one row, so together they stay under Discord's global limit (per token, not
-- per process). `next_at_us` is the first free slot, in microseconds since 1970 on the
-- database's clock; a process reserves a few slots at a time by moving it forward in one
-- UPDATE (`store::send_budget`). One database serves one bot token, hence one row.
CREATE TABLE send_budget (
    name        TEXT   PRIMARY KEY CHECK (name = 'discord'),
    next_at_us  BIGINT NOT NULL
);
INSERT INTO send_budget (name, next_at_us) VALUES ('discord', 0);
