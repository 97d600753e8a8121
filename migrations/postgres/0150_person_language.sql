-- Each person's language (issue 15): 'it' or 'en'; NULL speaks [intake] language.
-- Kept in step with migrations/sqlite/0150_person_language.sql.
ALTER TABLE operators ADD COLUMN language TEXT;
ALTER TABLE mediators ADD COLUMN language TEXT;
ALTER TABLE coordinators ADD COLUMN language TEXT;
