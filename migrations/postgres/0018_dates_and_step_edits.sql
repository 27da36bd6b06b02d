-- How a server reads a date such as 12/05: month first (5 December, the default) or day
-- first (12 May). Set with `/setup dates`.
ALTER TABLE servers ADD COLUMN date_order TEXT NOT NULL DEFAULT 'month_day'
    CHECK (date_order IN ('month_day', 'day_month'));

-- `/step edit`: a step's log records each change to its title, due date, indicator or
-- resources as kind 'edited', with the field and its value before and after.
ALTER TABLE step_updates DROP CONSTRAINT step_updates_kind_check;
ALTER TABLE step_updates ADD CONSTRAINT step_updates_kind_check
    CHECK (kind IN ('created', 'progress', 'assigned', 'unassigned', 'edited'));
ALTER TABLE step_updates ADD COLUMN field TEXT CHECK (field IN ('title', 'due', 'indicator', 'resources'));
ALTER TABLE step_updates ADD COLUMN old_value TEXT;
ALTER TABLE step_updates ADD COLUMN new_value TEXT;
