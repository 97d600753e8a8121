-- Moved meetings of a series ask their mediator (issue 15): the meetings waiting for her answer
-- to their new time carry the answer's timer (kind meetings_answer, ref_id: the mediator).
ALTER TABLE occurrences ADD COLUMN question_timer_id BIGINT;
