-- When an account's last wrong password was given: failures count toward the lock only while
-- they come close together (five typos months apart locked the account). Accounts keep NULL
-- until their next failure. Paired with sqlite/1010.
ALTER TABLE accounts ADD COLUMN last_failed_at TIMESTAMPTZ;
