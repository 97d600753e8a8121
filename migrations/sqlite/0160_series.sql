-- Series of appointments (issue 15, "Series of appointments"). A request that is a series
-- keeps its rule as iCalendar RRULE text (FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=8) and one row
-- per occurrence: its place in the series (seq, from 1), its start as the rule gives it
-- (recurrence_id: the invitation's RECURRENCE-ID and EXDATE), its start and end now (a moved
-- occurrence differs from its recurrence_id), its state and the mediator who takes it.
ALTER TABLE requests ADD COLUMN series_rule TEXT;
CREATE TABLE occurrences (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    BIGINT  NOT NULL REFERENCES requests (id),
    seq           BIGINT  NOT NULL,
    recurrence_id BIGINT  NOT NULL,
    starts_at     BIGINT  NOT NULL,
    ends_at       BIGINT  NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active',   -- active | cancelled | moved
    mediator_id   BIGINT  REFERENCES mediators (id),
    updated_at    BIGINT  NOT NULL,
    UNIQUE (request_id, seq)
);
CREATE INDEX occurrences_starts ON occurrences (starts_at);

-- A meeting the series' mediator cannot take is offered on its own (offers.occurrence_id); one
-- open offer per mediator and request becomes one per mediator, request and meeting.
ALTER TABLE offers ADD COLUMN occurrence_id BIGINT REFERENCES occurrences (id);
DROP INDEX offers_one_open;
CREATE UNIQUE INDEX offers_one_open ON offers (request_id, mediator_id, COALESCE(occurrence_id, 0))
    WHERE state = 'open';
