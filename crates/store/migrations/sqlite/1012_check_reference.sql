-- The business system's own number for the matter a check was made for (办件编号): ties the
-- check to its case for 逢办必查, and makes a retry of the same check (same unit, number,
-- subject and matter) answer with the check already recorded instead of a second one owed
-- feedback. Paired with postgres/1012.
ALTER TABLE checks ADD COLUMN reference TEXT;
CREATE INDEX checks_reference ON checks (unit, reference) WHERE reference IS NOT NULL;
