-- Check-in prompts go out as outbox rows. Each prompt a session sends is numbered, so a
-- prompt sent again later in the same check-in (the reflection after a correction) is a new
-- row with a new key and a new nonce, never mistaken for the earlier one.
ALTER TABLE checkin_sessions ADD COLUMN prompts BIGINT NOT NULL DEFAULT 0;
