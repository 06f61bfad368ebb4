-- 信易贷授权查询: a subject authorises a financial institution (known by its own 统一社会信用代码)
-- to read its credit file for a credit decision (授信融资) until a day it chooses, and may
-- withdraw that at any time. Paired with postgres/1005.
CREATE TABLE authorisations (
    auth_id       INTEGER PRIMARY KEY,
    subject_key   TEXT NOT NULL,
    subject_label TEXT NOT NULL,
    institution   TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    until         TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_by    TEXT
);
CREATE INDEX authorisations_subject ON authorisations (subject_key, institution);
CREATE INDEX authorisations_institution ON authorisations (institution, granted_at);
