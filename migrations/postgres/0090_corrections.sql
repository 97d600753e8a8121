-- Corrections: a request's text (names, phones, e-mail and street addresses removed) with the
-- fields as a person corrected them, kept for `retention.raw_days` to measure the extractor on
-- real traffic (`connecting parse --eval-corrections`).
CREATE TABLE IF NOT EXISTS corrections (
    id BIGSERIAL PRIMARY KEY,
    request_id BIGINT,
    source TEXT NOT NULL,
    channel TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    text TEXT NOT NULL,
    expected TEXT NOT NULL,
    corrected TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_created ON corrections (created_at);
