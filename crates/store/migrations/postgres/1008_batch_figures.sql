-- A batch's figures as single checks count them: the codes actually checked (a code of a kind the
-- matter does not apply to is valid but not checked), punishments and incentives apart (a red-list
-- incentive was counted as a hit). Batches stored before keep NULL checked (read as valid) and no
-- incentives. Paired with sqlite/1008.
ALTER TABLE batches ADD COLUMN checked BIGINT;
ALTER TABLE batches ADD COLUMN incentives BIGINT NOT NULL DEFAULT 0;
