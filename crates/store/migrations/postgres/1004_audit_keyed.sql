-- The audit chain is keyed (HMAC-SM3 under a key from the key file kept outside the store) from
-- the first entry a keyed platform appends; entries before keep their plain SM3 hashes and say
-- so here (domain::audit: scheme 1 = SM3, 2 = HMAC-SM3). Adding a column with a constant
-- default rewrites no row, so the triggers that refuse updates of audit rows are not touched.
-- Paired with sqlite/1004.
ALTER TABLE audit_log ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
