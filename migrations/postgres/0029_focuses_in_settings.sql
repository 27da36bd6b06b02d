-- Which indicators each school focuses on joins what each process keeps about a server between
-- commands (`store::settings`): `/step add` and `/step edit` find a step's focus without a
-- query of their own. A focus added or removed raises the server's settings version; a level
-- recorded on one does not (what is kept is the focus, not its level).
CREATE TRIGGER focus_indicators_changed AFTER INSERT OR DELETE OR UPDATE OF server_id, school_id, indicator_id
    ON focus_indicators
    FOR EACH ROW EXECUTE FUNCTION settings_changed();
