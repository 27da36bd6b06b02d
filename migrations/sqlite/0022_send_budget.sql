-- One send budget for the bot token (issue M). On SQLite one process sends, and its own
-- throttle is the budget; the table exists so that both backends have the same store
-- (`store::send_budget`). `next_at_us` is the first free slot, in microseconds since 1970.
CREATE TABLE send_budget (
    name        TEXT    PRIMARY KEY CHECK (name = 'discord'),
    next_at_us  INTEGER NOT NULL
);
INSERT INTO send_budget (name, next_at_us) VALUES ('discord', 0);
