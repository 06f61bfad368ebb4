-- 重错码 a credit officer has looked into (the unit corrected it; two names of one company, both
-- right): who, when, why, and the names (one code) or codes (one name) it covered, as a sorted
-- JSON array. The finding leaves the list while those are all it holds; a name or code reported
-- since brings it back. Reviews are only added. Paired with sqlite/0011.
CREATE TABLE code_conflict_reviews (
    kind         TEXT NOT NULL,
    anchor       TEXT NOT NULL,
    members      TEXT NOT NULL,
    actor        TEXT NOT NULL,
    reviewed_at  TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX code_conflict_reviews_by_anchor ON code_conflict_reviews (kind, anchor);
