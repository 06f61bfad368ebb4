-- Platform security data (SQLite): accounts, sessions, API tokens and the audit trail. On SQLite
-- this lives in its own file beside the credit store, so that a long import (which holds the
-- credit store's single write lock) never delays a login or an audit entry. Paired with
-- postgres/1001_platform.sql.

CREATE TABLE accounts (
    account_id     INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    unit           TEXT,
    subject_key    TEXT,
    password_hash  TEXT NOT NULL,
    must_change    INTEGER NOT NULL DEFAULT 1,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    disabled_at    TEXT,
    password_changed_at TEXT
);

CREATE TABLE sessions (
    session_hash   BLOB PRIMARY KEY,
    account_id     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    client         TEXT,
    revoked_at     TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE api_tokens (
    token_id       INTEGER PRIMARY KEY,
    token_hash     BLOB NOT NULL UNIQUE,
    prefix         TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    unit           TEXT,
    subject_key    TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    last_used_at   TEXT
);

-- The audit trail: an SM3 hash chain, entry n covering entry n-1.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    role         TEXT NOT NULL,
    unit         TEXT,
    action       TEXT NOT NULL,
    object       TEXT,
    outcome      TEXT NOT NULL,
    request_id   TEXT,
    client       TEXT,
    detail       TEXT,
    prev_hash    BLOB NOT NULL,
    hash         BLOB NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- Signed checkpoints of the chain (SM2, distinguishing ID 1234567812345678).
CREATE TABLE audit_checkpoints (
    seq_upto       INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    hash           BLOB NOT NULL,
    signature      BLOB NOT NULL,
    public_key     BLOB NOT NULL,
    key_fingerprint TEXT NOT NULL
);

CREATE TRIGGER audit_log_immutable_u BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END;
CREATE TRIGGER audit_log_immutable_d BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are never deleted'); END;
CREATE TRIGGER audit_checkpoints_immutable_u BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are never changed'); END;
CREATE TRIGGER audit_checkpoints_immutable_d BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are never deleted'); END;
