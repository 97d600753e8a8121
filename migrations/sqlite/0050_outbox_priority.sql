-- Messages answering a person who is using the bot right now go out before bulk work
-- (offers, acknowledgements, reminders): 1 = interactive, 0 = normal.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_due_priority ON outbox (status, priority, next_attempt_at);
