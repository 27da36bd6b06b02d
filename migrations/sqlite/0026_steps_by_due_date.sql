-- A school's list reads its first screen in due-date order (`steps::page`): with this index
-- it reads those rows alone, however many steps the school has, instead of sorting them all.
CREATE INDEX action_steps_due ON action_steps (server_id, school_id, due_on, id);
