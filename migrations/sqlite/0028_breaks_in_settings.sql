-- Schools' breaks join what each process keeps about a server between commands
-- (`store::settings`): `/step add` and `/step edit` warn about a due date in a break without
-- a query of their own. Any change to a break raises the server's settings version.
CREATE TRIGGER school_breaks_inserted AFTER INSERT ON school_breaks BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER school_breaks_updated AFTER UPDATE ON school_breaks BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER school_breaks_deleted AFTER DELETE ON school_breaks BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
