-- The address an email row goes to, so the cap on automatic mails per recipient is counted in
-- the store: shared by every instance and kept across restarts.
ALTER TABLE outbox ADD COLUMN recipient TEXT;
CREATE INDEX outbox_recipient_sent ON outbox (recipient, sent_at);
