-- Each meeting of a series followed up on its own (issue 15): the reminders and the question
-- after the end are timers of one meeting (timers.occurrence_id; ref_id: the mediator who holds
-- it when it was scheduled), and what happened at each meeting is recorded on it: done or not,
-- the minutes worked, who did not come, who said so and when.
ALTER TABLE timers ADD COLUMN occurrence_id BIGINT REFERENCES occurrences (id);
ALTER TABLE occurrences ADD COLUMN outcome TEXT;            -- done | not_done
ALTER TABLE occurrences ADD COLUMN worked_minutes BIGINT;
ALTER TABLE occurrences ADD COLUMN no_show TEXT;            -- family | mediator
ALTER TABLE occurrences ADD COLUMN outcome_by TEXT;
ALTER TABLE occurrences ADD COLUMN outcome_at BIGINT;
