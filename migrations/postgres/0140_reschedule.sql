-- Rescheduling and the unfilled notice (issue 15). A change of date or time under the notice
-- period is flagged (late_change), as a late cancellation is. After a rescheduled request goes
-- back to the queue, offers count from a new wave (offers_from_wave: the last wave before),
-- so mediators asked for the old time may be asked again. unfilled_notice_at: when the
-- requester was told that no mediator is confirmed yet (once per appointment time).
ALTER TABLE requests ADD COLUMN late_change BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN offers_from_wave BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN unfilled_notice_at BIGINT;
CREATE INDEX requests_unfilled ON requests (starts_at) WHERE unfilled_notice_at IS NULL;

-- A mediator asked for the old time may be offered the new one: one offer per mediator and
-- request is now one *open* offer.
ALTER TABLE offers DROP CONSTRAINT offers_request_id_mediator_id_key;
CREATE INDEX offers_request_mediator ON offers (request_id, mediator_id);
CREATE UNIQUE INDEX offers_one_open ON offers (request_id, mediator_id) WHERE state = 'open';
