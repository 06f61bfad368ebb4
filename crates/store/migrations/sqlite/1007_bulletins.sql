-- The monthly 双公示 bulletin (月通报) as the credit office issued it: the workbook kept byte for
-- byte with its SM3 and the platform's SM2 signature, so that what was sent to the units can be
-- shown later whatever the figures have become since. A month may be issued again (a corrected
-- bulletin: a new version, with its reason); nothing issued is changed or deleted.
-- Paired with postgres/1007.
CREATE TABLE bulletins (
    bulletin_id    INTEGER PRIMARY KEY,
    month          TEXT NOT NULL,
    version        INTEGER NOT NULL,
    issued_at      TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    reason         TEXT,
    summary        TEXT NOT NULL,
    rule_version   TEXT NOT NULL,
    workbook       BLOB NOT NULL,
    sm3            TEXT NOT NULL,
    signed_message TEXT NOT NULL,
    signature      BLOB NOT NULL,
    UNIQUE (month, version)
);
CREATE TRIGGER bulletins_immutable_u BEFORE UPDATE ON bulletins
BEGIN SELECT RAISE(ABORT, 'issued bulletins are never changed'); END;
CREATE TRIGGER bulletins_immutable_d BEFORE DELETE ON bulletins
BEGIN SELECT RAISE(ABORT, 'issued bulletins are never deleted'); END;
