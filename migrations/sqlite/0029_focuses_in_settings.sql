-- Which indicators each school focuses on joins what each process keeps about a server between
-- commands (`store::settings`): `/step add` and `/step edit` find a step's focus without a
-- query of their own. A focus added or removed raises the server's settings version; a level
-- recorded on one does not (what is kept is the focus, not its level).
CREATE TRIGGER focus_indicators_inserted AFTER INSERT ON focus_indicators BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER focus_indicators_moved AFTER UPDATE OF server_id, school_id, indicator_id
    ON focus_indicators BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER focus_indicators_deleted AFTER DELETE ON focus_indicators BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
