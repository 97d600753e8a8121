-- The email channel's own mark and records.
-- local_secrets: keys made here and never shown; 'email_mark' signs our Message-IDs (HMAC), so a
-- message is ours only if it carries a mark nobody else can make (never by its domain).
CREATE TABLE IF NOT EXISTS local_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO local_secrets (name, value, created_at)
VALUES ('email_mark',
        replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
        CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))
ON CONFLICT (name) DO NOTHING;
-- Why an inbound message created no request (a code: auto_reply, own_message, from_invalid,
-- unknown_sender, ...); shown in words by `connecting inbound list`.
ALTER TABLE inbound_messages ADD COLUMN reason TEXT;
-- 1: an answer to a registered operator's own mail, never held by the per-recipient cap of
-- automatic mails (which is there to stop loops) and not counted in it.
ALTER TABLE outbox ADD COLUMN cap_exempt BIGINT NOT NULL DEFAULT 0;
