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

CREATE FUNCTION connecting_latency_bucket(d BIGINT) RETURNS INTEGER
LANGUAGE SQL IMMUTABLE AS $$ SELECT CASE WHEN d <= 60 THEN 0 WHEN d <= 300 THEN 1 WHEN d <= 900 THEN 2 WHEN d <= 1800 THEN 3 WHEN d <= 3600 THEN 4 WHEN d <= 7200 THEN 5 WHEN d <= 14400 THEN 6 WHEN d <= 28800 THEN 7 WHEN d <= 86400 THEN 8 WHEN d <= 259200 THEN 9 ELSE 10 END $$;

CREATE FUNCTION connecting_observe_latency() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stamp BIGINT;
    old_stamp BIGINT;
    d BIGINT;
BEGIN
    IF TG_ARGV[0] = 'assignment' THEN
        stamp := NEW.assigned_at; old_stamp := OLD.assigned_at;
    ELSE
        stamp := NEW.confirmed_at; old_stamp := OLD.confirmed_at;
    END IF;
    IF stamp IS NOT NULL AND (old_stamp IS NULL OR old_stamp <> stamp) THEN
        d := stamp - NEW.created_at;
        INSERT INTO latency_observations (kind, channel, bucket, n, total_seconds)
        VALUES (TG_ARGV[0], NEW.channel, connecting_latency_bucket(d), 1, GREATEST(d, 0))
        ON CONFLICT (kind, channel, bucket)
        DO UPDATE SET n = latency_observations.n + 1,
                      total_seconds = latency_observations.total_seconds + EXCLUDED.total_seconds;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER requests_observe_assignment AFTER UPDATE OF assigned_at ON requests
FOR EACH ROW EXECUTE FUNCTION connecting_observe_latency('assignment');
CREATE TRIGGER requests_observe_confirmation AFTER UPDATE OF confirmed_at ON requests
FOR EACH ROW EXECUTE FUNCTION connecting_observe_latency('confirmation');

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
