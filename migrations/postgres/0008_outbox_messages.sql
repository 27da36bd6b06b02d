-- The outbox keeps the id of the message Discord created for a row, and a member's DM channel
-- is stored once it is opened, so later messages go straight to it.
ALTER TABLE outbox ADD COLUMN message_id BIGINT;
ALTER TABLE members ADD COLUMN dm_channel_id BIGINT;
