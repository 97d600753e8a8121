-- Telegram bot (SQLite): failed invite-code attempts, to rate-limit code guessing.
-- Kept in step with migrations/postgres/0030_telegram.sql.
CREATE TABLE telegram_invite_attempts (
    telegram_id BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX telegram_invite_attempts_by_user ON telegram_invite_attempts (telegram_id, at);
