-- The console's language filter lists the languages of the stored requests; with this index
-- it reads one entry per language (a skip scan), not every request (benches/web_queue.rs).
-- Kept in step with migrations/postgres/0161_request_language_index.sql.
CREATE INDEX requests_language ON requests (language);
