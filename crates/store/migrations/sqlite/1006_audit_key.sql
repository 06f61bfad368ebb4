-- Which key the audit chain is keyed under: a keyed hash of a fixed label (domain::audit::key_id),
-- written by the first process that keys the chain, so that a process given another key file is
-- refused when it starts instead of writing entries that can never verify. Paired with
-- postgres/1006.
CREATE TABLE audit_key (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    key_id  TEXT NOT NULL,
    since   TEXT NOT NULL
);
