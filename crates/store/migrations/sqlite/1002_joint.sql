-- Joint reward and punishment on the platform side (SQLite): checks and their feedback,
-- exceptions, batch reviews, subscriptions, webhooks and alerts. Paired with
-- postgres/1002_joint.sql. Kept beside accounts and the audit trail so that a long import never
-- delays a check.

CREATE TABLE checks (
    check_id      INTEGER PRIMARY KEY,
    checked_at    TEXT NOT NULL,
    actor         TEXT NOT NULL,
    unit          TEXT,
    channel       TEXT NOT NULL,
    batch_id      INTEGER,
    subject_key   TEXT NOT NULL,
    subject_label TEXT NOT NULL,
    matter        TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    measures      TEXT NOT NULL,
    entries       TEXT NOT NULL,
    suppressed    TEXT NOT NULL,
    rule_version  TEXT NOT NULL
);
CREATE INDEX checks_unit ON checks (unit, check_id);

CREATE TABLE check_feedback (
    check_id      INTEGER PRIMARY KEY,
    outcome       TEXT NOT NULL,
    measures      TEXT NOT NULL,
    reason        TEXT,
    actor         TEXT NOT NULL,
    unit          TEXT,
    at            TEXT NOT NULL
);

CREATE TABLE check_exceptions (
    exception_id  INTEGER PRIMARY KEY,
    subject_key   TEXT NOT NULL,
    matter        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    record_hash   TEXT NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    unit          TEXT,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_by    TEXT
);
CREATE INDEX check_exceptions_subject ON check_exceptions (subject_key, matter);

CREATE TABLE batches (
    batch_id      INTEGER PRIMARY KEY,
    created_at    TEXT NOT NULL,
    actor         TEXT NOT NULL,
    unit          TEXT,
    matter        TEXT NOT NULL,
    file_name     TEXT,
    rows_read     INTEGER NOT NULL DEFAULT 0,
    valid         INTEGER NOT NULL DEFAULT 0,
    invalid       INTEGER NOT NULL DEFAULT 0,
    duplicates    INTEGER NOT NULL DEFAULT 0,
    hits          INTEGER NOT NULL DEFAULT 0,
    result_digest TEXT,
    signature     BLOB,
    rule_version  TEXT NOT NULL
);

CREATE TABLE batch_files (
    batch_id      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (batch_id, kind, seq)
);

CREATE TABLE subscriptions (
    unit          TEXT NOT NULL,
    subject_key   TEXT NOT NULL,
    label         TEXT NOT NULL,
    note          TEXT,
    actor         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (unit, subject_key)
);
CREATE INDEX subscriptions_subject ON subscriptions (subject_key);

CREATE TABLE webhooks (
    unit          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    actor         TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE alerts (
    alert_id      INTEGER PRIMARY KEY,
    event_seq     INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    unit          TEXT NOT NULL,
    subject_key   TEXT NOT NULL,
    subject_label TEXT NOT NULL,
    event         TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    class_code    TEXT NOT NULL,
    detail        TEXT NOT NULL,
    delivery      TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT,
    last_error    TEXT,
    delivered_at  TEXT,
    feedback      TEXT,
    feedback_reason TEXT,
    feedback_actor TEXT,
    feedback_at   TEXT,
    UNIQUE (unit, event_seq)
);
CREATE INDEX alerts_unit ON alerts (unit, alert_id);
CREATE INDEX alerts_due ON alerts (next_attempt) WHERE delivery = 'pending';
