-- Where a person is told of reminders and decisions (SMS, email): sealed with SM4 like ID numbers,
-- found by the subject or unit the account acts for. Paired with sqlite/1003_contacts.sql.
ALTER TABLE accounts ADD COLUMN phone_sealed BYTEA;
ALTER TABLE accounts ADD COLUMN email_sealed BYTEA;
CREATE INDEX accounts_subject ON accounts (subject_key) WHERE subject_key IS NOT NULL;
CREATE INDEX accounts_unit ON accounts (unit) WHERE unit IS NOT NULL;
