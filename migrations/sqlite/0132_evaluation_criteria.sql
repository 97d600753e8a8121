-- The evaluation on the cooperative's criteria (issue 16, `[evaluation] criteria`): one score
-- from 1 to 5 per criterion and request. The single score of older evaluations is kept as
-- 'overall', so old months keep their figures.
CREATE TABLE IF NOT EXISTS evaluation_scores (
    request_id INTEGER NOT NULL REFERENCES requests (id),
    criterion TEXT NOT NULL,
    score INTEGER NOT NULL,
    PRIMARY KEY (request_id, criterion)
);
INSERT INTO evaluation_scores (request_id, criterion, score)
    SELECT request_id, 'overall', score FROM evaluations;
-- A Telegram evaluation with a mark of 2 or less, waiting for the comment the requester writes
-- next (one per chat; the marks as their digits, in the order of the criteria).
CREATE TABLE IF NOT EXISTS evaluation_drafts (
    chat_id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    scores TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
