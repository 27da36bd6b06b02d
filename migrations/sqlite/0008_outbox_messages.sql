-- The outbox keeps the id of the message Discord created for a row, and a member's DM channel
-- is stored once it is opened, so later messages go straight to it.
ALTER TABLE outbox ADD COLUMN message_id INTEGER;
ALTER TABLE members ADD COLUMN dm_channel_id INTEGER;
-- The message that carried the prompt a session last sent, so a retry after a crash can
-- record it on the outbox row without sending it again.
ALTER TABLE checkin_sessions ADD COLUMN prompted_message_id INTEGER;
