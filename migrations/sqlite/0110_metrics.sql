-- What a /metrics scrape reads, kept cheap however many requests are stored.
--
-- Counts: covering indexes, so that the GROUP BYs of a scrape read small index entries, never the
-- wide request rows (raw text, fields).
--
-- Latencies (request -> assignment, request -> confirmation): observed when they happen, not
-- rebuilt from every request at each scrape. A trigger adds each assignment or confirmation to
-- `latency_observations` (one row per kind, channel and histogram bucket, non-cumulative) in the
-- same transaction as the update that stamps `assigned_at` / `confirmed_at`; a scrape reads a
-- few dozen rows. The bucket bounds (seconds) are `metrics::BUCKETS`; bucket 10 is +Inf; a
-- negative latency (a clock step) counts in bucket 0 and adds 0 to the sum. Only updates are
-- observed: a restore inserts requests and this table's rows as they were, counting nothing twice.
-- Existing requests are counted once below.

CREATE INDEX IF NOT EXISTS requests_channel_status ON requests (channel, status);
CREATE INDEX IF NOT EXISTS offers_state ON offers (state);
CREATE INDEX IF NOT EXISTS outbox_channel_status ON outbox (channel, status, attempts);

CREATE TABLE latency_observations (
    kind          TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    n             BIGINT  NOT NULL,
    total_seconds BIGINT  NOT NULL,
    PRIMARY KEY (kind, channel, bucket)
);

CREATE TRIGGER requests_observe_assignment AFTER UPDATE OF assigned_at ON requests
WHEN NEW.assigned_at IS NOT NULL AND (OLD.assigned_at IS NULL OR OLD.assigned_at <> NEW.assigned_at)
BEGIN
    INSERT INTO latency_observations (kind, channel, bucket, n, total_seconds)
    VALUES ('assignment', NEW.channel, CASE WHEN (NEW.assigned_at - NEW.created_at) <= 60 THEN 0 WHEN (NEW.assigned_at - NEW.created_at) <= 300 THEN 1 WHEN (NEW.assigned_at - NEW.created_at) <= 900 THEN 2 WHEN (NEW.assigned_at - NEW.created_at) <= 1800 THEN 3 WHEN (NEW.assigned_at - NEW.created_at) <= 3600 THEN 4 WHEN (NEW.assigned_at - NEW.created_at) <= 7200 THEN 5 WHEN (NEW.assigned_at - NEW.created_at) <= 14400 THEN 6 WHEN (NEW.assigned_at - NEW.created_at) <= 28800 THEN 7 WHEN (NEW.assigned_at - NEW.created_at) <= 86400 THEN 8 WHEN (NEW.assigned_at - NEW.created_at) <= 259200 THEN 9 ELSE 10 END, 1, MAX((NEW.assigned_at - NEW.created_at), 0))
    ON CONFLICT (kind, channel, bucket)
    DO UPDATE SET n = n + 1, total_seconds = total_seconds + excluded.total_seconds;
END;

CREATE TRIGGER requests_observe_confirmation AFTER UPDATE OF confirmed_at ON requests
WHEN NEW.confirmed_at IS NOT NULL AND (OLD.confirmed_at IS NULL OR OLD.confirmed_at <> NEW.confirmed_at)
BEGIN
    INSERT INTO latency_observations (kind, channel, bucket, n, total_seconds)
    VALUES ('confirmation', NEW.channel, CASE WHEN (NEW.confirmed_at - NEW.created_at) <= 60 THEN 0 WHEN (NEW.confirmed_at - NEW.created_at) <= 300 THEN 1 WHEN (NEW.confirmed_at - NEW.created_at) <= 900 THEN 2 WHEN (NEW.confirmed_at - NEW.created_at) <= 1800 THEN 3 WHEN (NEW.confirmed_at - NEW.created_at) <= 3600 THEN 4 WHEN (NEW.confirmed_at - NEW.created_at) <= 7200 THEN 5 WHEN (NEW.confirmed_at - NEW.created_at) <= 14400 THEN 6 WHEN (NEW.confirmed_at - NEW.created_at) <= 28800 THEN 7 WHEN (NEW.confirmed_at - NEW.created_at) <= 86400 THEN 8 WHEN (NEW.confirmed_at - NEW.created_at) <= 259200 THEN 9 ELSE 10 END, 1, MAX((NEW.confirmed_at - NEW.created_at), 0))
    ON CONFLICT (kind, channel, bucket)
    DO UPDATE SET n = n + 1, total_seconds = total_seconds + excluded.total_seconds;
END;

INSERT INTO latency_observations (kind, channel, bucket, n, total_seconds)
SELECT 'assignment', channel, bucket, COUNT(*), SUM(d) FROM (
    SELECT channel, CASE WHEN (assigned_at - created_at) <= 60 THEN 0 WHEN (assigned_at - created_at) <= 300 THEN 1 WHEN (assigned_at - created_at) <= 900 THEN 2 WHEN (assigned_at - created_at) <= 1800 THEN 3 WHEN (assigned_at - created_at) <= 3600 THEN 4 WHEN (assigned_at - created_at) <= 7200 THEN 5 WHEN (assigned_at - created_at) <= 14400 THEN 6 WHEN (assigned_at - created_at) <= 28800 THEN 7 WHEN (assigned_at - created_at) <= 86400 THEN 8 WHEN (assigned_at - created_at) <= 259200 THEN 9 ELSE 10 END AS bucket, CASE WHEN (assigned_at - created_at) > 0 THEN (assigned_at - created_at) ELSE 0 END AS d
    FROM requests WHERE assigned_at IS NOT NULL) s
GROUP BY channel, bucket;

INSERT INTO latency_observations (kind, channel, bucket, n, total_seconds)
SELECT 'confirmation', channel, bucket, COUNT(*), SUM(d) FROM (
    SELECT channel, CASE WHEN (confirmed_at - created_at) <= 60 THEN 0 WHEN (confirmed_at - created_at) <= 300 THEN 1 WHEN (confirmed_at - created_at) <= 900 THEN 2 WHEN (confirmed_at - created_at) <= 1800 THEN 3 WHEN (confirmed_at - created_at) <= 3600 THEN 4 WHEN (confirmed_at - created_at) <= 7200 THEN 5 WHEN (confirmed_at - created_at) <= 14400 THEN 6 WHEN (confirmed_at - created_at) <= 28800 THEN 7 WHEN (confirmed_at - created_at) <= 86400 THEN 8 WHEN (confirmed_at - created_at) <= 259200 THEN 9 ELSE 10 END AS bucket, CASE WHEN (confirmed_at - created_at) > 0 THEN (confirmed_at - created_at) ELSE 0 END AS d
    FROM requests WHERE confirmed_at IS NOT NULL) s
GROUP BY channel, bucket;
