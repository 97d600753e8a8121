-- Foundation schema (PostgreSQL). Times are Unix seconds (UTC) in *_at columns.
-- Kept in step with migrations/sqlite/0001_foundation.sql.

CREATE TABLE operators (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT    NOT NULL,
    email       TEXT,
    phone       TEXT,
    ente        TEXT    NOT NULL,
    ambito      TEXT    NOT NULL,
    telegram_id BIGINT  UNIQUE,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX operators_email ON operators (email);

CREATE TABLE mediators (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT    NOT NULL,
    phone        TEXT,
    email        TEXT,
    telegram_id  BIGINT  UNIQUE,
    gender       TEXT,
    languages    TEXT    NOT NULL,           -- comma-separated language codes
    ambiti       TEXT    NOT NULL,           -- '|'-separated Ambito names
    availability TEXT,                       -- weekly availability; NULL = any time
    share_phone  BOOLEAN NOT NULL DEFAULT FALSE, -- the mediator agreed to give requesters their phone
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    paused       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE coordinators (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT   NOT NULL,
    telegram_id BIGINT UNIQUE,
    email       TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE invites (
    code                TEXT   PRIMARY KEY,
    person_kind         TEXT   NOT NULL,
    person_id           BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    used_at             BIGINT,
    used_by_telegram_id BIGINT,
    created_at          BIGINT NOT NULL
);

CREATE TABLE request_counters (
    year     BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE requests (
    id                   BIGSERIAL PRIMARY KEY,
    code                 TEXT    NOT NULL UNIQUE,
    status               TEXT    NOT NULL,
    channel              TEXT    NOT NULL,
    operator_id          BIGINT  REFERENCES operators (id),
    requester_name       TEXT,
    requester_email      TEXT,
    requester_phone      TEXT,
    requester_chat_id    BIGINT,
    ente                 TEXT,
    ambito               TEXT,
    language             TEXT,
    intervention         TEXT,
    modality             TEXT,
    date                 TEXT,               -- local date YYYY-MM-DD
    start_time           TEXT,               -- local time HH:MM
    duration_minutes     BIGINT,
    starts_at            BIGINT,             -- the same appointment as an instant
    ends_at              BIGINT,
    deadline             TEXT,               -- written translation: YYYY-MM-DD
    comune               TEXT,
    comune_istat         TEXT,
    address              TEXT,
    urgent               BOOLEAN NOT NULL DEFAULT FALSE,
    mediator_gender      TEXT,
    case_ref             TEXT,
    notes                TEXT,
    missing              TEXT    NOT NULL DEFAULT '',  -- comma-separated field names
    draft                TEXT,               -- the extractor's full draft (JSON)
    assigned_mediator_id BIGINT  REFERENCES mediators (id),
    late_cancellation    BOOLEAN NOT NULL DEFAULT FALSE,
    source_message_id    TEXT,               -- the email Message-ID the request came from
    subject              TEXT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    queued_at            BIGINT,
    assigned_at          BIGINT,
    confirmed_at         BIGINT,
    closed_at            BIGINT,
    anonymised_at        BIGINT
);
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_operator ON requests (operator_id);

CREATE TABLE inbound_messages (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT   NOT NULL,
    external_id TEXT   NOT NULL,            -- Message-ID (or content hash), Telegram update_id
    request_id  BIGINT REFERENCES requests (id),
    kind        TEXT   NOT NULL,            -- classification
    status      TEXT   NOT NULL,            -- processed | quarantined | oversized | ignored | held
    sender      TEXT,
    subject     TEXT,
    size_bytes  BIGINT NOT NULL DEFAULT 0,
    raw         BYTEA,                       -- purged after retention.raw_days
    body        TEXT,                       -- purged after retention.raw_days
    error       TEXT,
    received_at BIGINT NOT NULL,
    purged_at   BIGINT,
    UNIQUE (channel, external_id)
);

CREATE TABLE offers (
    id                  BIGSERIAL PRIMARY KEY,
    request_id          BIGINT NOT NULL REFERENCES requests (id),
    mediator_id         BIGINT NOT NULL REFERENCES mediators (id),
    wave                BIGINT NOT NULL,
    state               TEXT   NOT NULL,    -- open | accepted | declined | expired | withdrawn
    decline_reason      TEXT,
    outbox_id           BIGINT,             -- the message that carried the offer
    telegram_message_id BIGINT,
    sent_at             BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    responded_at        BIGINT,
    UNIQUE (request_id, mediator_id)
);
CREATE INDEX offers_open ON offers (state, expires_at);

CREATE TABLE assignments (
    id             BIGSERIAL PRIMARY KEY,
    request_id     BIGINT NOT NULL REFERENCES requests (id),
    mediator_id    BIGINT NOT NULL REFERENCES mediators (id),
    offer_id       BIGINT REFERENCES offers (id),
    assigned_by    TEXT   NOT NULL,         -- offer | coordinator:<id> | cli
    status         TEXT   NOT NULL,         -- active | cancelled | done | not_done
    worked_minutes BIGINT,
    outcome_at     BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX assignments_one_active ON assignments (request_id) WHERE status = 'active';

CREATE TABLE evaluations (
    id         BIGSERIAL PRIMARY KEY,
    request_id BIGINT  NOT NULL UNIQUE REFERENCES requests (id),
    score      BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment    TEXT,
    created_at BIGINT  NOT NULL
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    channel         TEXT    NOT NULL,       -- telegram | email
    idempotency_key TEXT    NOT NULL UNIQUE,
    request_id      BIGINT  REFERENCES requests (id),
    payload         TEXT    NOT NULL,       -- JSON crate::outbox::Payload
    status          TEXT    NOT NULL,       -- pending | sending | sent | dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    external_id     TEXT,                   -- Telegram message_id, email Message-ID
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE timers (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    request_id BIGINT  REFERENCES requests (id),
    ref_id     BIGINT,
    due_at     BIGINT  NOT NULL,
    status     TEXT    NOT NULL,            -- pending | done | cancelled
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    fired_at   BIGINT
);
CREATE INDEX timers_due ON timers (status, due_at);

CREATE TABLE dialogues (
    chat_id     BIGINT PRIMARY KEY,
    person_kind TEXT   NOT NULL,
    person_id   BIGINT NOT NULL,
    state       TEXT   NOT NULL,            -- JSON
    updated_at  BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,             -- operator:<id> | mediator:<id> | coordinator:<id> | process:<name> | cli
    request_id BIGINT REFERENCES requests (id),
    action     TEXT   NOT NULL,
    detail     TEXT
);
CREATE INDEX audit_request ON audit_events (request_id);

CREATE TABLE cursors (
    name       TEXT   PRIMARY KEY,          -- e.g. imap:INBOX, telegram:offset
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
