-- When coachbot last received a server's whole member list (GUILD_MEMBERS_CHUNK, with the
-- Server Members intent). NULL: never, or the bot connected since without the intent.
-- `/setup status` reads it to say whether the intent is on.
ALTER TABLE servers ADD COLUMN members_synced_at TIMESTAMPTZ;
