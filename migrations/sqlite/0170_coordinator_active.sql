-- A coordinator can be removed (issue 14, `connecting coordinator remove`): out of service,
-- their name kept for the history; the Telegram account is freed (the column cleared) so it
-- can be someone's again. Kept in step with migrations/postgres/0160_coordinator_active.sql.
ALTER TABLE coordinators ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
