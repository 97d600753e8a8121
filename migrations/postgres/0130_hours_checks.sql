-- The requester's check of the hours a mediator recorded (issue 16): one row per assignment
-- marked done with hours. status: asked (waiting for the requester), confirmed, disputed (the
-- requester gave another figure, requester_minutes), settled (a coordinator chose the figure
-- to bill, billed_minutes), unverified (no answer within account.confirm_within_days: the
-- mediator's figure counts, flagged).
CREATE TABLE IF NOT EXISTS hours_checks (
    assignment_id BIGINT PRIMARY KEY REFERENCES assignments (id),
    request_id BIGINT NOT NULL REFERENCES requests (id),
    mediator_minutes BIGINT NOT NULL,
    status TEXT NOT NULL,
    requester_minutes BIGINT,
    billed_minutes BIGINT,
    asked_at BIGINT NOT NULL,
    answered_at BIGINT,
    settled_by TEXT
);
CREATE INDEX IF NOT EXISTS hours_checks_request ON hours_checks (request_id);
