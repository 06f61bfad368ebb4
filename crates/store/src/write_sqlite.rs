//! The write path on SQLite: rows are taken in key order (so that the B-trees are walked forward
//! once per batch, not at random) through prepared statements bound directly, in the
//! submission's single transaction. Outcomes come back in the rows' own order.

use chrono::SecondsFormat;
use domain::record::{ChangeKind, SubjectKind};
use rusqlite::{OptionalExtension, params};

use crate::model::*;
use crate::write::SubmissionWriter;
use crate::{Store, StoreError};

/// Subjects remembered per submission (registered flag, name). Bounded: cleared when full.
const SUBJECT_CACHE: usize = 200_000;

/// Secondary indexes that a large submission drops inside its transaction and rebuilds before it
/// commits. Kept up row by row they are random B-tree inserts that outgrow the page cache (each
/// row then costs page reads and spills to the WAL); rebuilt, they are one sort each. The write
/// path itself reads only primary keys. Readers keep seeing the committed indexes (WAL snapshot),
/// and a crash rolls the drop back with the rest of the submission.
pub(crate) const DEFERRABLE_INDEXES: [&str; 11] = [
    "records_class_date",
    "records_unit_date",
    "records_division_date",
    "records_legal_rep",
    "records_class_updated",
    "records_repairable",
    "records_public",
    "records_under_objection",
    "records_decision",
    "record_versions_by_subject",
    "record_versions_by_submission",
];

/// Rows after which a submission rebuilds the indexes rather than maintain them. Measured here
/// (2 cores, 16 KiB pages): maintaining them costs about 30 µs a row at 1 M records and more as
/// they outgrow the cache; rebuilding costs about 12 µs per record in the store. So a submission
/// defers once it has brought half as many rows as the store held, and never below 200,000 rows
/// (small submissions keep the plain path).
pub(crate) fn defer_threshold(versions_in_store: i64) -> u64 {
    (versions_in_store.max(0) as u64 / 2).max(200_000)
}

/// A head that a source unit's correction may not revive: repaired, or a list entry that left
/// the list (withdrawn records may be sent again).
pub(crate) fn ended(change: &str) -> Option<ChangeKind> {
    change
        .parse::<ChangeKind>()
        .ok()
        .filter(|c| c.ends() && *c != ChangeKind::Withdrawn)
}

fn date(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

impl SubmissionWriter<'_> {
    pub(crate) fn apply_sqlite(
        &mut self,
        rows: &[PreparedRow],
    ) -> Result<Vec<RowOutcome>, StoreError> {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| {
            (rows[a].subject.key.as_str(), &rows[a].record_key)
                .cmp(&(rows[b].subject.key.as_str(), &rows[b].record_key))
        });
        self.applied += rows.len() as u64;
        if self.defer_after.is_some_and(|n| self.applied >= n) {
            self.defer_indexes()?;
        }
        let mut out: Vec<Option<RowOutcome>> = vec![None; rows.len()];
        let now = self.now.to_rfc3339_opts(SecondsFormat::Micros, true);
        for i in order {
            let (outcome, linked, on_time) = self.apply_sqlite_one(&rows[i], &now)?;
            if let Some(linked) = linked {
                self.count(&rows[i], &outcome, linked, on_time);
            }
            out[i] = Some(outcome);
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or(RowOutcome::Unchanged))
            .collect())
    }

    /// Drops the deferrable indexes inside the transaction, keeping their definitions for commit.
    fn defer_indexes(&mut self) -> Result<(), StoreError> {
        self.defer_after = None;
        let conn = self
            .conn
            .sqlite()
            .ok_or_else(|| StoreError::Sqlite("not an SQLite connection".into()))?;
        for name in DEFERRABLE_INDEXES {
            let sql: Option<String> = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(sql) = sql {
                conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
                self.deferred.push(sql);
            }
        }
        Ok(())
    }

    /// Returns the outcome, whether the row linked to a known subject when it was accepted, and
    /// whether it is on time (judged again for a correction).
    fn apply_sqlite_one(
        &mut self,
        row: &PreparedRow,
        now: &str,
    ) -> Result<(RowOutcome, Option<bool>, Option<bool>), StoreError> {
        let sid = self.submission_id;
        let key = &row.subject.key;
        let rk: &[u8] = &row.record_key;
        let conn = self
            .conn
            .sqlite()
            .ok_or_else(|| StoreError::Sqlite("not an SQLite connection".into()))?;
        let head = conn
            .prepare_cached(
                "SELECT current_version, current_hash, last_submission, last_row, source_unit, change
                 FROM records WHERE subject_key = ?1 AND record_key = ?2",
            )?
            .query_row(params![key, rk], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let same = |h: &[u8]| h == row.content_hash.as_slice();
        let (outcome, version_no, reason) = match &head {
            None => (RowOutcome::Created, 1, None),
            Some((_, hash, last_sub, last_row, _, _)) if *last_sub == sid => {
                let first_row = *last_row as u64;
                let o = if same(hash) {
                    RowOutcome::Duplicate { first_row }
                } else {
                    RowOutcome::Conflict { first_row }
                };
                return Ok((o, None, None));
            }
            Some((_, _, _, _, owner, _)) if *owner != self.source_unit && self.feed => {
                // Counted as taken and unchanged; the record's subject is known.
                return Ok((
                    RowOutcome::KeptLocal {
                        owner: owner.clone(),
                    },
                    Some(true),
                    row.on_time,
                ));
            }
            Some((_, _, _, _, owner, _))
                if *owner != self.source_unit && !self.feed_units.contains(owner) =>
            {
                return Ok((
                    RowOutcome::NotOwner {
                        owner: owner.clone(),
                    },
                    None,
                    None,
                ));
            }
            // A record of the feed's reported by the city's unit is corrected even with the same
            // content: handed over to the unit (its version and head now carry it). A withdrawn
            // record sent again as it was stays withdrawn: a system that re-sends all it holds
            // (a nightly full export, a retry) must not publish again what its unit withdrew.
            Some((_, hash, _, _, owner, change)) if same(hash) && *owner == self.source_unit => {
                if change == "withdrawn" {
                    self.withdrawn_resent += 1;
                }
                (RowOutcome::Unchanged, 0, None)
            }
            Some((_, _, _, _, _, change)) if ended(change).is_some() => {
                return Ok((
                    RowOutcome::Ended(ended(change).unwrap_or(ChangeKind::Repaired)),
                    None,
                    None,
                ));
            }
            Some((v, _, _, _, _, change)) => (
                RowOutcome::Corrected,
                v + 1,
                Some(if change == "withdrawn" {
                    "撤回后重新报送"
                } else {
                    "报送单位更正"
                }),
            ),
        };
        if reason == Some("报送单位更正")
            && let Some(case_id) = self.overruled(row)?
        {
            return Ok((RowOutcome::Overruled { case_id }, None, None));
        }
        if reason == Some("撤回后重新报送") {
            self.reported_again
                .push((row.subject.key.clone(), row.record_key.to_vec()));
        }
        // A list entry's correction keeps the deciding unit's rectification deadline.
        let carried = if reason == Some("报送单位更正") {
            self.carried_payload(row, version_no - 1)?
        } else {
            None
        };
        // A correction of the unit's own record (not a feed record handed over to it).
        let on_time = match &head {
            Some((v, _, _, _, owner, _))
                if outcome == RowOutcome::Corrected && *owner == self.source_unit =>
            {
                self.rejudge_correction(row, *v, reason == Some("撤回后重新报送"))?
            }
            _ => row.on_time,
        };
        let renames = outcome == RowOutcome::Corrected && self.name_changed(row, version_no - 1)?;
        let registered = self.ensure_subject_sqlite(row, now, renames)?;
        let linked = registered
            || row.registration.is_some()
            || (row.subject.kind == SubjectKind::NaturalPerson && !row.subject.id_suspect);
        let conn = self
            .conn
            .sqlite()
            .ok_or_else(|| StoreError::Sqlite("not an SQLite connection".into()))?;
        if outcome == RowOutcome::Unchanged {
            conn.prepare_cached(
                "UPDATE records SET last_submission = ?1, last_row = ?2,
                    decision_key = COALESCE(decision_key, ?5)
                 WHERE subject_key = ?3 AND record_key = ?4",
            )?
            .execute(params![
                sid,
                row.row_no as i64,
                key,
                rk,
                row.decision_key.as_ref().map(|k| k.as_slice())
            ])?;
            return Ok((outcome, Some(linked), on_time));
        }
        let change = if outcome == RowOutcome::Created {
            "created"
        } else {
            "corrected"
        };
        let decided = date(row.decided_on);
        let ends = date(row.public_ends);
        let repairable = date(row.repairable_from);
        conn.prepare_cached(
            "INSERT INTO record_versions (record_key, version_no, subject_key, class_code,
                source_unit, change, reason, actor, recorded_at, submission_id, row_no,
                content_hash, decided_on, published, repairable_from, public_ends, severity,
                regime, rule_version, on_time, linked, id_suspect, payload, sealed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )?
        .execute(params![
            rk,
            version_no,
            key,
            self.class_code,
            self.source_unit,
            change,
            reason,
            self.actor,
            now,
            sid,
            row.row_no as i64,
            row.content_hash.as_slice(),
            decided,
            row.published,
            repairable,
            ends,
            row.severity,
            row.regime,
            row.rule_version,
            on_time,
            linked,
            row.subject.id_suspect,
            carried.as_deref().unwrap_or(&row.payload),
            row.sealed,
        ])?;
        conn.prepare_cached(
            "INSERT INTO records (record_key, class_code, subject_key, source_unit, division,
                current_version, current_hash, change, last_submission, last_row, decided_on,
                published, public_ends, repairable_from, legal_rep_key, updated_at, category,
                decision_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18)
             ON CONFLICT (subject_key, record_key) DO UPDATE SET
                decision_key = COALESCE(records.decision_key, excluded.decision_key),
                current_version = excluded.current_version, current_hash = excluded.current_hash,
                change = excluded.change, last_submission = excluded.last_submission,
                last_row = excluded.last_row, decided_on = excluded.decided_on,
                published = excluded.published, public_ends = excluded.public_ends,
                repairable_from = excluded.repairable_from, legal_rep_key = excluded.legal_rep_key,
                updated_at = excluded.updated_at, category = excluded.category,
                source_unit = excluded.source_unit",
        )?
        .execute(params![
            rk,
            self.class_code,
            key,
            self.source_unit,
            self.division,
            version_no,
            row.content_hash.as_slice(),
            change,
            sid,
            row.row_no as i64,
            decided,
            row.published,
            ends,
            repairable,
            row.legal_rep_key,
            now,
            row.category,
            row.decision_key.as_ref().map(|k| k.as_slice()),
        ])?;
        Ok((outcome, Some(linked), on_time))
    }

    /// Creates the subject on first sight, notes a new name for it, applies registration facts.
    /// Returns whether the subject is registered (known to the registration authority).
    /// Creates or updates the row's subject; returns whether it is registered. `corrects`: the
    /// row corrects the name on a record ([`SubmissionWriter::name_changed`]), so its name is
    /// the unit's latest word on the subject's name — taken as the name of a subject no
    /// registration names when the subject carries this unit's name (kept with the one it
    /// replaces).
    fn ensure_subject_sqlite(
        &mut self,
        row: &PreparedRow,
        now: &str,
        corrects: bool,
    ) -> Result<bool, StoreError> {
        let s = &row.subject;
        let unit = self.source_unit.clone();
        let cached = self.subjects.get(&s.key).cloned();
        let conn = self
            .conn
            .sqlite()
            .ok_or_else(|| StoreError::Sqlite("not an SQLite connection".into()))?;
        let note_name = |conn: &rusqlite::Connection, name: &str| -> Result<(), StoreError> {
            conn.prepare_cached(
                "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (subject_key, name) DO NOTHING",
            )?
            .execute(params![s.key, name, unit, now])?;
            Ok(())
        };
        let known = match cached {
            Some(c) => Some(c),
            None => conn
                .prepare_cached("SELECT registered, name FROM subjects WHERE subject_key = ?1")?
                .query_row(params![s.key], |r| {
                    Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?))
                })
                .optional()?,
        };
        let (mut registered, mut name) = match known {
            Some(k) => k,
            None => {
                conn.prepare_cached(
                    "INSERT INTO subjects (subject_key, kind, name, uscc, id_type, id_sealed,
                        id_masked, division, id_suspect, id_note, first_unit, first_seen, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                )?
                .execute(params![
                    s.key,
                    s.kind.as_str(),
                    s.name,
                    s.uscc,
                    s.id_type,
                    s.id_sealed,
                    s.id_masked,
                    s.division,
                    s.id_suspect,
                    s.id_note,
                    unit,
                    now
                ])?;
                (false, s.name.clone())
            }
        };
        if name != s.name {
            note_name(conn, &s.name)?;
        }
        let misnamed = registered
            && row.registration.is_none()
            && s.kind != SubjectKind::NaturalPerson
            && domain::text::person_name_key(&name) != domain::text::person_name_key(&s.name);
        // A name written otherwise only (spaces, width, dots) renames nothing; nor does another
        // unit's correction (its spelling of the name is not the one the subject carries: an
        // amount corrected by each unit in turn flipped the name between theirs).
        if corrects
            && !registered
            && row.registration.is_none()
            && domain::text::person_name_key(&name) != domain::text::person_name_key(&s.name)
            && conn
                .prepare_cached("SELECT first_unit FROM subjects WHERE subject_key = ?1")?
                .query_row(params![s.key], |r| r.get::<_, String>(0))
                .optional()?
                .is_some_and(|first| first == unit)
        {
            // The name it replaces is kept as it was first reported.
            conn.prepare_cached(
                "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                 SELECT subject_key, name, first_unit, first_seen FROM subjects WHERE subject_key = ?1
                 ON CONFLICT (subject_key, name) DO NOTHING",
            )?
            .execute(params![s.key])?;
            conn.prepare_cached(
                "UPDATE subjects SET name = ?1, updated_at = ?2 WHERE subject_key = ?3",
            )?
            .execute(params![s.name, now, s.key])?;
            name = s.name.clone();
        }
        if let Some(reg) = &row.registration {
            if name != s.name {
                // The registered name becomes the subject's name; keep the one it replaces.
                note_name(conn, &name)?;
            }
            conn.prepare_cached(
                "UPDATE subjects SET registered = 1, name = ?1, reg_type = ?2, reg_status = ?3,
                    industry = ?4, division = COALESCE(?5, division), updated_at = ?6
                 WHERE subject_key = ?7",
            )?
            .execute(params![
                s.name,
                reg.reg_type,
                reg.reg_status,
                reg.industry,
                s.division,
                now,
                s.key
            ])?;
            registered = true;
            name = s.name.clone();
        }
        if self.subjects.len() >= SUBJECT_CACHE {
            self.subjects.clear();
        }
        self.subjects.insert(s.key.clone(), (registered, name));
        if misnamed {
            self.name_doubt(row.row_no);
        }
        Ok(registered)
    }
}

/// A large import by a process that has the SQLite store to itself (the `import` command): the
/// store leaves WAL for a rollback journal until the guard is dropped. In WAL mode every page a
/// submission writes is written twice — into the WAL, then copied back by the checkpoint (a
/// quarter of a large import's CPU went to the kernel copying those bytes); with a rollback
/// journal, pages new to the file are written once and only pages that held data before are
/// copied, once, into the journal. Atomicity is the journal's: a process killed mid-import leaves
/// a hot journal that the next opener rolls back. The switch needs every other connection to
/// the store closed: when a server or another command has it open, nothing changes and the
/// import runs in WAL as usual (`bulk_load` gives `None`). While it lasts, another process that
/// opens the store waits for its busy timeout (10 s) and then reports the store busy.
///
/// On PostgreSQL the guard is given when no other process is connected to the database, and lets
/// a large submission set the record tables' secondary indexes aside (`write_pg`): a server
/// never takes it, so its readers never wait on those locks.
pub struct BulkLoad<'a> {
    store: &'a Store,
}

impl Store {
    /// Takes the store for one process's bulk import; `None` when the store is in use
    /// elsewhere.
    pub fn bulk_load(&self) -> Result<Option<BulkLoad<'_>>, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            let mut c = self.writer()?;
            if crate::write_pg::others_connected(&mut *c)? {
                return Ok(None);
            }
            self.pg_bulk
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Some(BulkLoad { store: self }));
        }
        self.close_idle();
        let mut c = self.writer()?;
        // Someone else's open connection must not make us wait: then we simply stay in WAL.
        c.query("PRAGMA busy_timeout = 0", &[])?;
        let mode = c.query("PRAGMA journal_mode = DELETE", &[]);
        c.query(
            &format!("PRAGMA busy_timeout = {}", crate::sqlite::BUSY_TIMEOUT_MS),
            &[],
        )?;
        let mode = match mode {
            Ok(rows) => rows.first().map(|r| r.text(0)).transpose()?,
            Err(StoreError::Busy) => None,
            Err(e) => return Err(e),
        };
        if mode.as_deref() != Some("delete") {
            return Ok(None);
        }
        // NORMAL skips the journal's sync before the database is written, which in rollback
        // mode a power cut could turn into a damaged file; a bulk import commits rarely.
        c.batch("PRAGMA synchronous = FULL")?;
        Ok(Some(BulkLoad { store: self }))
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        if self.store.backend() == crate::Backend::Postgres {
            self.store
                .pg_bulk
                .store(false, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let back = self.store.writer().and_then(|mut c| {
            c.query("PRAGMA journal_mode = WAL", &[])?;
            c.batch("PRAGMA synchronous = NORMAL")
        });
        if let Err(e) = back {
            // The next connection to open the store sets WAL again.
            eprintln!("could not return the store to WAL after the import: {e}");
        }
    }
}
