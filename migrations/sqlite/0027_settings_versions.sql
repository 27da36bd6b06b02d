-- What every command reads about its server (role mappings, schools, the date order) is kept
-- in each process between commands (`store::settings`), with this number beside it: the
-- triggers below raise it in the same transaction as any change to those rows, so a command
-- reads one number to know whether what its process keeps is still true, whichever process
-- (sharing PostgreSQL) made the change. No foreign key: a server's number may outlive it.
CREATE TABLE settings_versions (
    server_id  INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL
);

CREATE TRIGGER role_mappings_inserted AFTER INSERT ON role_mappings BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER role_mappings_updated AFTER UPDATE ON role_mappings BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER role_mappings_deleted AFTER DELETE ON role_mappings BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER schools_inserted AFTER INSERT ON schools BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER schools_updated AFTER UPDATE ON schools BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER schools_deleted AFTER DELETE ON schools BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.server_id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER servers_date_order_updated AFTER UPDATE OF date_order ON servers BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER servers_deleted AFTER DELETE ON servers BEGIN
    INSERT INTO settings_versions (server_id, version) VALUES (OLD.id, 1)
    ON CONFLICT (server_id) DO UPDATE SET version = version + 1;
END;
