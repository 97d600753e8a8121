-- Who did not come, on an assignment recorded as not done (issue 16): 'family' (the family did
-- not come) or 'mediator' (the mediator did not come); NULL when not said.
ALTER TABLE assignments ADD COLUMN no_show TEXT;
