-- Rescheduling and the unfilled notice (issue 15). A change of date or time under the notice
-- period is flagged (late_change), as a late cancellation is. After a rescheduled request goes
-- back to the queue, offers count from a new wave (offers_from_wave: the last wave before),
-- so mediators asked for the old time may be asked again. unfilled_notice_at: when the
-- requester was told that no mediator is confirmed yet (once per appointment time).
ALTER TABLE requests ADD COLUMN late_change BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN offers_from_wave BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN unfilled_notice_at BIGINT;
CREATE INDEX requests_unfilled ON requests (starts_at) WHERE unfilled_notice_at IS NULL;

-- A mediator asked for the old time may be offered the new one: one offer per mediator and
-- request is now one *open* offer (the table is rebuilt without its UNIQUE; the foreign key
-- from assignments.offer_id is checked at commit, when the rebuilt table has the same ids).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE offers_copy AS SELECT id, request_id, mediator_id, wave, state, decline_reason,
    outbox_id, telegram_message_id, sent_at, expires_at, responded_at FROM offers;
DROP TABLE offers;
CREATE TABLE offers (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id          BIGINT NOT NULL REFERENCES requests (id),
    mediator_id         BIGINT NOT NULL REFERENCES mediators (id),
    wave                INTEGER NOT NULL,
    state               TEXT   NOT NULL,    -- open | accepted | declined | expired | withdrawn
    decline_reason      TEXT,
    outbox_id           BIGINT,             -- the message that carried the offer
    telegram_message_id BIGINT,
    sent_at             BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    responded_at        BIGINT
);
INSERT INTO offers (id, request_id, mediator_id, wave, state, decline_reason, outbox_id,
                    telegram_message_id, sent_at, expires_at, responded_at)
    SELECT id, request_id, mediator_id, wave, state, decline_reason, outbox_id,
           telegram_message_id, sent_at, expires_at, responded_at FROM offers_copy;
DROP TABLE offers_copy;
CREATE INDEX offers_open ON offers (state, expires_at);
CREATE INDEX offers_request ON offers (request_id, state);
CREATE INDEX offers_state ON offers (state);
CREATE INDEX offers_request_mediator ON offers (request_id, mediator_id);
CREATE UNIQUE INDEX offers_one_open ON offers (request_id, mediator_id) WHERE state = 'open';
