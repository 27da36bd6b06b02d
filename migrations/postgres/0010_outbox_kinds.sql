-- The program decides what an outbox kind means: a kind it does not know (written by a newer
-- version, say) is marked failed with a logged error, never sent as something else. The
-- column keeps no list of kinds, so a new kind (announcements, now) needs no migration.

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
