-- Dispatch: escalation and cancellation facts on requests, the requester's evaluation channel,
-- and an index so a request's timers can be found and cancelled.

ALTER TABLE requests ADD COLUMN escalated_at BIGINT;
ALTER TABLE requests ADD COLUMN escalation_reason TEXT;
ALTER TABLE requests ADD COLUMN cancelled_by TEXT;
ALTER TABLE assignments ADD COLUMN outcome_by TEXT;
CREATE INDEX timers_request ON timers (request_id, status);
CREATE INDEX assignments_mediator ON assignments (mediator_id, status);
CREATE INDEX offers_request ON offers (request_id, state);
