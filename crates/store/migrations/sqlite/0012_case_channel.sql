-- A submission the platform registers for a case (the credit-repair commitment a subject signs
-- when it applies) has channel 'case': it is the subject's, not the unit's to withdraw. SQLite
-- cannot alter a CHECK constraint: migrate.rs widens it in the schema text (migration 13 then
-- moves the commitments registered before to the new channel). Paired with postgres/0012.
SELECT 1;
