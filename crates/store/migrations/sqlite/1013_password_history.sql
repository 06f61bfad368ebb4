-- Passwords an account used before (their Argon2id hashes, never the passwords): a new password
-- may not be one of the last few, or the 90-day change is undone by switching away and back
-- (GB/T 22239-2019 8.1.4.1 a). Paired with postgres/1013.
CREATE TABLE password_history (
    account_id    INTEGER NOT NULL REFERENCES accounts (account_id),
    password_hash TEXT NOT NULL,
    replaced_at   TEXT NOT NULL
);
CREATE INDEX password_history_account ON password_history (account_id, replaced_at);
