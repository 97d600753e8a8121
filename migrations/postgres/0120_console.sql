-- The web console: one-time login links (sent by the bot to a coordinator or an operator, or
-- printed by `connecting console link`) and the sessions they open. Only SHA-256 hashes of the
-- tokens are kept: a copy of the database opens nothing.
CREATE TABLE IF NOT EXISTS console_links (
    token_hash  TEXT    PRIMARY KEY,
    person_kind TEXT    NOT NULL,            -- coordinator | operator
    person_id   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX IF NOT EXISTS console_links_person ON console_links (person_kind, person_id, created_at);

CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash   TEXT    PRIMARY KEY,
    person_kind  TEXT    NOT NULL,
    person_id    BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,           -- absolute expiry
    ended_at     BIGINT                      -- log-out
);
CREATE INDEX IF NOT EXISTS console_sessions_expiry ON console_sessions (expires_at);
