-- Lists and joint reward and punishment (SQLite). Paired with postgres/0003_lists.sql.

-- Organisations by their legal representative: the check finds the organisations a listed
-- person represents.
CREATE INDEX records_legal_rep ON records (legal_rep_key) WHERE legal_rep_key IS NOT NULL;

-- Changes that may concern subscribers (triggered alerts): list entries added, corrected or
-- ended, serious penalties. Written in the transaction of the change; marked once alerts for it
-- exist.
CREATE TABLE record_events (
    seq          INTEGER PRIMARY KEY,
    subject_key  TEXT NOT NULL,
    record_key   BLOB NOT NULL,
    version_no   INTEGER NOT NULL,
    class_code   TEXT NOT NULL,
    change       TEXT NOT NULL,
    severity     TEXT,
    source_unit  TEXT NOT NULL,
    at           TEXT NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX record_events_record ON record_events (subject_key, record_key);
CREATE INDEX record_events_pending ON record_events (seq) WHERE processed = 0;

-- record_versions.change also takes 'exited', 'revoked', 'expired' (list exits): SQLite cannot
-- alter a CHECK constraint, so migrate.rs widens it in the schema text in this same transaction.
