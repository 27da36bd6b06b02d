-- Where each check-in answer goes, chosen by the person: shared to the plan (a step update or
-- a barrier the school's team can read) or kept private (the person and their coach).
ALTER TABLE checkin_answers ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
-- 'skipped' (the person left the question out) or 'nothing' (nothing in the way): no outcome.
ALTER TABLE checkin_answers ADD COLUMN mark TEXT CHECK (mark IN ('skipped', 'nothing'));
-- Which step a general answer is about, when the person has several: 'plan' or a step id.
ALTER TABLE checkin_answers ADD COLUMN about TEXT;
-- The person's open steps when the check-in began (JSON: [{"id":4,"title":"…"}]).
ALTER TABLE checkin_sessions ADD COLUMN steps TEXT;
