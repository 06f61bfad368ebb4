-- 双公示 monitoring counts a rejected decision once, and no longer once the unit sends it again
-- and it is accepted (rules.md: 合规率 = accepted / reported). Paired with sqlite/0008.
ALTER TABLE rejections ADD COLUMN decision_key TEXT;
ALTER TABLE rejections ADD COLUMN counted_month TEXT;
UPDATE rejections SET counted_month = to_char(decided_on, 'YYYY-MM') WHERE decided_on IS NOT NULL;

CREATE TABLE open_rejections (
    source_unit   TEXT NOT NULL,
    class_code    TEXT NOT NULL,
    decision_key  TEXT NOT NULL,
    month         TEXT NOT NULL,
    PRIMARY KEY (source_unit, class_code, decision_key)
);
