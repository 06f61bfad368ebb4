-- What a submission told its unit beyond its rows — a decision filed before under another
-- subject, a verdict counted without the year's holiday notice — and the columns it passed
-- over, kept with it (JSON arrays of text) so that the console's batch page and
-- GET /api/v1/submissions/{id} show them later, not only the reply to the upload. Paired with
-- postgres/0010. Submissions stored before have none (NULL).
ALTER TABLE submissions ADD COLUMN notices TEXT;
ALTER TABLE submissions ADD COLUMN unknown_columns TEXT;
