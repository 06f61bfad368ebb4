-- Where a person is told of reminders and decisions (SMS, email): sealed with SM4 like ID numbers,
-- found by the subject or unit the account acts for. Paired with postgres/1003_contacts.sql.
ALTER TABLE accounts ADD COLUMN phone_sealed BLOB;
ALTER TABLE accounts ADD COLUMN email_sealed BLOB;
CREATE INDEX accounts_subject ON accounts (subject_key) WHERE subject_key IS NOT NULL;
CREATE INDEX accounts_unit ON accounts (unit) WHERE unit IS NOT NULL;
