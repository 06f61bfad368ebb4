-- A credit file shows which of its records are under objection. Few records ever are: a partial
-- index answers "which of this subject's records" without visiting each record's head.
CREATE INDEX records_under_objection ON records (subject_key, record_key) WHERE under_objection;
