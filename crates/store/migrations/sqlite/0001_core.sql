-- Core of the credit store (SQLite). Reviewed in pair with postgres/0001_core.sql.
-- Dates are ISO text (YYYY-MM-DD), times RFC 3339 UTC text, booleans 0/1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One file or API call of records from a source unit, kept as received.
CREATE TABLE submissions (
    submission_id  INTEGER PRIMARY KEY,
    source_unit    TEXT NOT NULL,
    class_code     TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('file', 'api')),
    file_name      TEXT,
    format         TEXT NOT NULL,
    digest         TEXT NOT NULL,
    byte_size      INTEGER NOT NULL,
    headers        TEXT NOT NULL,
    header_map     TEXT NOT NULL,
    actor          TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    rule_version   TEXT NOT NULL,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    accepted       INTEGER NOT NULL DEFAULT 0,
    rejected       INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL DEFAULT 0,
    corrected      INTEGER NOT NULL DEFAULT 0,
    linked         INTEGER NOT NULL DEFAULT 0,
    suspect        INTEGER NOT NULL DEFAULT 0,
    on_time        INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'committed' CHECK (status IN ('committed', 'withdrawn')),
    status_reason  TEXT
);
CREATE INDEX submissions_unit ON submissions (source_unit, submission_id);
CREATE INDEX submissions_digest ON submissions (digest);

-- The bytes as received, in chunks (each SM4-GCM sealed: they hold ID numbers).
CREATE TABLE submission_chunks (
    submission_id INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (submission_id, seq)
);

-- Every rejected row: which fields and why, and its cells as received (sealed).
CREATE TABLE rejections (
    submission_id INTEGER NOT NULL,
    row_no        INTEGER NOT NULL,
    problems      TEXT NOT NULL,
    raw_sealed    BLOB NOT NULL,
    PRIMARY KEY (submission_id, row_no)
);

-- Subject master: organisations by USCC, natural persons by a keyed hash of their ID number.
CREATE TABLE subjects (
    subject_key  TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('organisation', 'individual_business', 'natural_person')),
    name         TEXT NOT NULL,
    uscc         TEXT,
    id_type      TEXT,
    id_sealed    BLOB,
    id_masked    TEXT,
    division     TEXT,
    id_suspect   INTEGER NOT NULL DEFAULT 0,
    id_note      TEXT,
    registered   INTEGER NOT NULL DEFAULT 0,
    reg_type     TEXT,
    reg_status   TEXT,
    industry     TEXT,
    first_unit   TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Names a subject was reported under besides the one in `subjects`, for 重错码 governance.
CREATE TABLE subject_names (
    subject_key  TEXT NOT NULL,
    name         TEXT NOT NULL,
    first_unit   TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    PRIMARY KEY (subject_key, name)
);
CREATE INDEX subject_names_by_name ON subject_names (name, subject_key);

-- The current state of each record (its head), clustered by subject; the history is in
-- record_versions. A record is named by its subject and key: `<subject_key>-<hex key>`.
CREATE TABLE records (
    record_key       BLOB NOT NULL,
    class_code       TEXT NOT NULL,
    subject_key      TEXT NOT NULL,
    source_unit      TEXT NOT NULL,
    division         TEXT,
    current_version  INTEGER NOT NULL,
    current_hash     BLOB NOT NULL,
    change           TEXT NOT NULL,
    last_submission  INTEGER NOT NULL,
    last_row         INTEGER NOT NULL,
    decided_on       TEXT,
    published        INTEGER NOT NULL,
    public_ends      TEXT,
    repairable_from  TEXT,
    under_objection  INTEGER NOT NULL DEFAULT 0,
    legal_rep_key    TEXT,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (subject_key, record_key)
) WITHOUT ROWID;

-- Every version of every record, never changed once written.
CREATE TABLE record_versions (
    version_id       INTEGER PRIMARY KEY,
    record_key       BLOB NOT NULL,
    version_no       INTEGER NOT NULL,
    subject_key      TEXT NOT NULL,
    class_code       TEXT NOT NULL,
    source_unit      TEXT NOT NULL,
    change           TEXT NOT NULL CHECK (change IN ('created', 'corrected', 'withdrawn', 'repaired')),
    reason           TEXT,
    actor            TEXT NOT NULL,
    recorded_at      TEXT NOT NULL,
    submission_id    INTEGER,
    row_no           INTEGER,
    content_hash     BLOB NOT NULL,
    decided_on       TEXT,
    published        INTEGER NOT NULL,
    repairable_from  TEXT,
    public_ends      TEXT,
    severity         TEXT,
    regime           TEXT,
    rule_version     TEXT,
    on_time          INTEGER,
    linked           INTEGER NOT NULL,
    id_suspect       INTEGER NOT NULL,
    payload          TEXT NOT NULL,
    sealed           BLOB
);
CREATE UNIQUE INDEX record_versions_by_subject ON record_versions (subject_key, record_key, version_no);
CREATE INDEX record_versions_by_submission ON record_versions (submission_id);

CREATE TRIGGER record_versions_immutable_u BEFORE UPDATE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are never changed: write a new version'); END;
CREATE TRIGGER record_versions_immutable_d BEFORE DELETE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are never deleted'); END;
CREATE TRIGGER submission_chunks_immutable_u BEFORE UPDATE ON submission_chunks
BEGIN SELECT RAISE(ABORT, 'submissions are kept as received'); END;
CREATE TRIGGER submission_chunks_immutable_d BEFORE DELETE ON submission_chunks
BEGIN SELECT RAISE(ABORT, 'submissions are kept as received'); END;
