-- Indexes that let a /metrics scrape read only small index entries, never the wide request rows
-- (raw text, fields): every aggregate the scrape runs is answered from one of these (covering)
-- indexes. Measured by `cargo bench --bench metrics` with 100,000 requests.
CREATE INDEX IF NOT EXISTS requests_channel_status ON requests (channel, status);
CREATE INDEX IF NOT EXISTS requests_assign_latency ON requests (channel, assigned_at, created_at) WHERE assigned_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS requests_confirm_latency ON requests (channel, confirmed_at, created_at) WHERE confirmed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS offers_state ON offers (state);
CREATE INDEX IF NOT EXISTS outbox_channel_status ON outbox (channel, status, attempts);
