-- Why an exception was taken back, beside who and when (an officer revoking one changes every
-- verdict it set aside). Exceptions revoked before keep NULL. Paired with postgres/1009.
ALTER TABLE check_exceptions ADD COLUMN revoke_reason TEXT;
