-- Credit repair and objections (cases), their events and evidence, repair reminders, messages to
-- subjects, units and the credit office, the outbox of email/SMS, the sharing feed to the province,
-- and the jobs table the scheduler polls. In the credit store, so that an approved repair ends its
-- record in the same transaction. Paired with postgres/0005_cases.sql.

CREATE TABLE cases (
    case_id          INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('repair', 'objection')),
    record_id        TEXT NOT NULL,
    subject_key      TEXT NOT NULL,
    record_key       BLOB NOT NULL,
    class_code       TEXT NOT NULL,
    record_version   INTEGER NOT NULL,
    unit             TEXT NOT NULL,
    state            TEXT NOT NULL,
    opened_by        TEXT NOT NULL,
    opened_side      TEXT NOT NULL,
    opened_at        TEXT NOT NULL,
    opened_on        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    commitment       TEXT,
    performed        INTEGER,
    deadline         TEXT,
    deadline_step    TEXT,
    answer_due       TEXT,
    decided_at       TEXT,
    decided_on       TEXT,
    decision_reason  TEXT,
    outcome          TEXT,
    escalated        INTEGER NOT NULL DEFAULT 0,
    late_steps       INTEGER NOT NULL DEFAULT 0,
    -- Working days the case waited for the subject (returned, awaiting material): not handling time.
    waiting_days     INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL,
    events           INTEGER NOT NULL
);
-- One open case of a kind per record: the same application twice is refused.
CREATE UNIQUE INDEX cases_one_open ON cases (kind, record_id)
    WHERE state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials');
CREATE INDEX cases_unit ON cases (unit, state);
CREATE INDEX cases_subject ON cases (subject_key, case_id);
CREATE INDEX cases_deadline ON cases (deadline) WHERE deadline IS NOT NULL;

-- Every transition, never changed.
CREATE TABLE case_events (
    case_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    side        TEXT NOT NULL,
    unit        TEXT,
    at          TEXT NOT NULL,
    note        TEXT,
    PRIMARY KEY (case_id, seq)
);
CREATE TRIGGER case_events_immutable_u BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are never changed'); END;
CREATE TRIGGER case_events_immutable_d BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are never deleted'); END;

-- Evidence as received (sealed with SM4), with its SM3 digest.
CREATE TABLE case_files (
    file_id     INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    byte_size   INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX case_files_case ON case_files (case_id);
CREATE TRIGGER case_files_immutable_u BEFORE UPDATE ON case_files
BEGIN SELECT RAISE(ABORT, 'evidence is kept as received'); END;
CREATE TRIGGER case_files_immutable_d BEFORE DELETE ON case_files
BEGIN SELECT RAISE(ABORT, 'evidence is kept as received'); END;

-- 闹铃式: one reminder per record that became repairable, with its pre-review; the deciding unit's
-- worklist item until an application is made.
CREATE TABLE reminders (
    subject_key      TEXT NOT NULL,
    record_key       BLOB NOT NULL,
    record_id        TEXT NOT NULL,
    unit             TEXT NOT NULL,
    repairable_from  TEXT NOT NULL,
    pre_review       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (subject_key, record_key)
);
CREATE INDEX reminders_unit ON reminders (unit, repairable_from);
CREATE INDEX records_repairable ON records (repairable_from) WHERE repairable_from IS NOT NULL;

-- Console messages: to a subject, a unit, or the credit office ('office').
CREATE TABLE messages (
    message_id  INTEGER PRIMARY KEY,
    to_kind     TEXT NOT NULL CHECK (to_kind IN ('subject', 'unit', 'office')),
    to_key      TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    case_id     INTEGER,
    record_id   TEXT,
    dedupe      TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE INDEX messages_to ON messages (to_kind, to_key, message_id);

-- Email/SMS through a pluggable sender: one row per message, claimed with a lease, sent once;
-- 'unaddressed' when nobody acting for the recipient has left a phone number or address.
CREATE TABLE outbox (
    outbox_id     INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    dedupe        TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'unaddressed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    locked_by     TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE state = 'pending';

-- Decisions shared to the provincial/national platform (共享).
CREATE TABLE sharing_feed (
    feed_id     INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    case_id     INTEGER NOT NULL,
    record_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, case_id)
);

-- The scheduler's jobs: each kind and key once; claimed with a lease, so a job whose runner died
-- is taken again after the lease, and a finished job is never run again.
CREATE TABLE jobs (
    job_id       INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    job_key      TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '',
    run_at       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    done_at      TEXT,
    UNIQUE (kind, job_key)
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('pending', 'running');
