-- Schools' breaks join what each process keeps about a server between commands
-- (`store::settings`): `/step add` and `/step edit` warn about a due date in a break without
-- a query of their own. Any change to a break raises the server's settings version.
CREATE TRIGGER school_breaks_changed AFTER INSERT OR UPDATE OR DELETE ON school_breaks
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
