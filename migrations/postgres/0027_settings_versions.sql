-- What every command reads about its server (role mappings, schools, the date order) is kept
-- in each process between commands (`store::settings`), with this number beside it: the
-- triggers below raise it in the same transaction as any change to those rows, so a command
-- reads one number to know whether what its process keeps is still true, whichever process
-- made the change. No foreign key: a server's number may outlive it.
CREATE TABLE settings_versions (
    server_id  BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL
);

CREATE FUNCTION settings_changed() RETURNS trigger AS $$
DECLARE
    server BIGINT;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        -- Each branch is planned only when taken: `servers` rows have no server_id.
        IF TG_TABLE_NAME = 'servers' THEN
            server := NEW.id;
        ELSE
            server := NEW.server_id;
        END IF;
        INSERT INTO settings_versions (server_id, version) VALUES (server, 1)
        ON CONFLICT (server_id) DO UPDATE SET version = settings_versions.version + 1;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF TG_TABLE_NAME = 'servers' THEN
            server := OLD.id;
        ELSE
            server := OLD.server_id;
        END IF;
        INSERT INTO settings_versions (server_id, version) VALUES (server, 1)
        ON CONFLICT (server_id) DO UPDATE SET version = settings_versions.version + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER role_mappings_changed AFTER INSERT OR UPDATE OR DELETE ON role_mappings
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
CREATE TRIGGER schools_changed AFTER INSERT OR UPDATE OR DELETE ON schools
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
CREATE TRIGGER servers_date_order_changed AFTER UPDATE OF date_order ON servers
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
CREATE TRIGGER servers_deleted AFTER DELETE ON servers
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
