-- A submission the platform registers for a case (the credit-repair commitment a subject signs
-- when it applies) has channel 'case': it is the subject's, not the unit's to withdraw. Paired
-- with sqlite/0012 (which widens the same CHECK in migrate.rs).
ALTER TABLE submissions DROP CONSTRAINT submissions_channel_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_channel_check
    CHECK (channel IN ('file', 'api', 'case'));
