-- A record of a monitored class (行政许可, 行政处罚) knows its decision (class and 文书号, the
-- same key as `rejections.decision_key`, as bytes), so that a unit that sends a decision again
-- under another subject's code (the code was what was wrong) supersedes the record it filed
-- under the wrong subject. Paired with postgres/0009. Records stored before this migration have
-- none (their key is a digest of the 文书号, which SQL cannot recompute): they are not superseded.
ALTER TABLE records ADD COLUMN decision_key BLOB;
CREATE INDEX records_decision ON records (source_unit, class_code, decision_key)
    WHERE decision_key IS NOT NULL;
