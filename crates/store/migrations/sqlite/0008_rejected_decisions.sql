-- 双公示 monitoring counts a rejected decision once, and no longer once the unit sends it again
-- and it is accepted (rules.md: 合规率 = accepted / reported). Paired with postgres/0008.
-- decision_key: SM3 of the class and the decision's document number (文书号), where readable;
-- counted_month: the month a rejection without a key counts in (its decision's month, or the
-- month it was received when its date could not be read); NULL when it does not count (a row
-- repeating one taken in the same file).
ALTER TABLE rejections ADD COLUMN decision_key TEXT;
ALTER TABLE rejections ADD COLUMN counted_month TEXT;
UPDATE rejections SET counted_month = substr(decided_on, 1, 7) WHERE decided_on IS NOT NULL;

-- Rejected decisions (by key) not accepted since, and the month each counts in.
CREATE TABLE open_rejections (
    source_unit   TEXT NOT NULL,
    class_code    TEXT NOT NULL,
    decision_key  TEXT NOT NULL,
    month         TEXT NOT NULL,
    PRIMARY KEY (source_unit, class_code, decision_key)
);
