//! Writing a submission: one transaction from the submission row to the last rejected row, so a
//! crash leaves all of it or none; each row becomes a new record, a new version of a record, an
//! unchanged confirmation, or a rejection.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::record::SubjectKind;

use crate::conn::{Backend, Conn, Val};
use crate::model::*;
use crate::pool::PoolGuard;
use crate::{Store, StoreError};

/// Subjects seen in this submission: registered flag and canonical name. Bounded: cleared when full.
const SUBJECT_CACHE: usize = 200_000;

pub struct SubmissionWriter<'a> {
    conn: PoolGuard<'a>,
    pub submission_id: i64,
    source_unit: String,
    class_code: String,
    division: Option<String>,
    actor: String,
    now: DateTime<Utc>,
    counts: Counts,
    chunks: i64,
    subjects: HashMap<String, (bool, String)>,
}

impl Store {
    /// Starts a submission: its row is written now, its records as they come, all committed
    /// together by [`SubmissionWriter::commit`]. Dropping the writer rolls everything back.
    pub fn begin_submission(
        &self,
        s: &NewSubmission,
        unit_division: Option<&str>,
    ) -> Result<SubmissionWriter<'_>, StoreError> {
        let mut conn = self.writer()?;
        conn.begin()?;
        let headers =
            serde_json::to_string(&s.headers).map_err(|e| StoreError::Decode(e.to_string()))?;
        let map =
            serde_json::to_string(&s.header_map).map_err(|e| StoreError::Decode(e.to_string()))?;
        let row = conn.query_one(
            "INSERT INTO submissions (source_unit, class_code, channel, file_name, format, digest,
                byte_size, headers, header_map, actor, received_at, rule_version)
             VALUES ($1, $2, $3, $4, $5, '', 0, $6, $7, $8, $9, $10)
             RETURNING submission_id",
            &[
                s.source_unit.as_str().into(),
                s.class_code.as_str().into(),
                s.channel.as_str().into(),
                s.file_name.clone().into(),
                s.format.as_str().into(),
                headers.into(),
                map.into(),
                s.actor.as_str().into(),
                s.received_at.into(),
                s.rule_version.as_str().into(),
            ],
        )?;
        let submission_id = row
            .ok_or_else(|| StoreError::Decode("no submission id returned".into()))?
            .i64(0)?;
        Ok(SubmissionWriter {
            conn,
            submission_id,
            source_unit: s.source_unit.clone(),
            class_code: s.class_code.clone(),
            division: unit_division.map(str::to_string),
            actor: s.actor.clone(),
            now: s.received_at,
            counts: Counts::default(),
            chunks: 0,
            subjects: HashMap::new(),
        })
    }

    /// A committed submission of the same bytes from the same unit for the same class, if any.
    pub fn find_same_submission(
        &self,
        digest: &str,
        source_unit: &str,
        class_code: &str,
    ) -> Result<Option<Submission>, StoreError> {
        let id = self.read(|c| {
            c.query_one(
                "SELECT submission_id FROM submissions
                 WHERE digest = $1 AND source_unit = $2 AND class_code = $3 AND status = 'committed'
                 ORDER BY submission_id LIMIT 1",
                &[digest.into(), source_unit.into(), class_code.into()],
            )
        })?;
        match id {
            Some(r) => self.submission(r.i64(0)?),
            None => Ok(None),
        }
    }
}

struct Head {
    version: i64,
    hash: Vec<u8>,
    last_submission: i64,
    last_row: i64,
    source_unit: String,
    change: String,
}

impl SubmissionWriter<'_> {
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Replaces the header of the submission (JSON records may bring new keys as they come).
    pub fn set_headers(
        &mut self,
        headers: &[String],
        map: &[Option<String>],
    ) -> Result<(), StoreError> {
        let h = serde_json::to_string(headers).map_err(|e| StoreError::Decode(e.to_string()))?;
        let m = serde_json::to_string(map).map_err(|e| StoreError::Decode(e.to_string()))?;
        self.conn.execute(
            "UPDATE submissions SET headers = $1, header_map = $2 WHERE submission_id = $3",
            &[h.into(), m.into(), Val::Int(self.submission_id)],
        )?;
        Ok(())
    }

    /// Keeps a piece of the submission as received (sealed by the caller).
    pub fn add_chunk(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO submission_chunks (submission_id, seq, data) VALUES ($1, $2, $3)",
            &[
                Val::Int(self.submission_id),
                Val::Int(self.chunks),
                data.into(),
            ],
        )?;
        self.chunks += 1;
        Ok(())
    }

    /// Writes validated rows in order and says what became of each.
    pub fn apply(&mut self, rows: &[PreparedRow]) -> Result<Vec<RowOutcome>, StoreError> {
        if self.conn.backend() == Backend::Postgres && rows.len() >= 64 {
            return self.apply_set(rows);
        }
        rows.iter().map(|r| self.apply_one(r)).collect()
    }

    fn head(&mut self, key: &RecordKey) -> Result<Option<Head>, StoreError> {
        let row = self.conn.query_one(
            "SELECT current_version, current_hash, last_submission, last_row, source_unit, change
             FROM records WHERE record_key = $1",
            &[Val::Bytes(key.to_vec())],
        )?;
        row.map(|r| {
            Ok(Head {
                version: r.i64(0)?,
                hash: r.bytes(1)?,
                last_submission: r.i64(2)?,
                last_row: r.i64(3)?,
                source_unit: r.text(4)?,
                change: r.text(5)?,
            })
        })
        .transpose()
    }

    fn apply_one(&mut self, row: &PreparedRow) -> Result<RowOutcome, StoreError> {
        let head = self.head(&row.record_key)?;
        let (outcome, version_no) = match &head {
            None => (RowOutcome::Created, 1),
            Some(h) if h.last_submission == self.submission_id => {
                let first_row = h.last_row as u64;
                if h.hash == row.content_hash {
                    (RowOutcome::Duplicate { first_row }, 0)
                } else {
                    (RowOutcome::Conflict { first_row }, 0)
                }
            }
            Some(h) if h.source_unit != self.source_unit => (
                RowOutcome::NotOwner {
                    owner: h.source_unit.clone(),
                },
                0,
            ),
            Some(h) if h.hash == row.content_hash && h.change != "withdrawn" => {
                (RowOutcome::Unchanged, 0)
            }
            Some(h) => (RowOutcome::Corrected, h.version + 1),
        };
        if !outcome.is_accepted() {
            return Ok(outcome);
        }
        let registered = self.ensure_subject(row)?;
        let linked = registered
            || row.registration.is_some()
            || (row.subject.kind == SubjectKind::NaturalPerson && !row.subject.id_suspect);
        self.count(row, &outcome, linked);
        if outcome == RowOutcome::Unchanged {
            self.conn.execute(
                "UPDATE records SET last_submission = $1, last_row = $2 WHERE record_key = $3",
                &[
                    Val::Int(self.submission_id),
                    Val::Int(row.row_no as i64),
                    Val::Bytes(row.record_key.to_vec()),
                ],
            )?;
            return Ok(outcome);
        }
        let (change, reason) = match (&outcome, head.as_ref().map(|h| h.change.as_str())) {
            (RowOutcome::Created, _) => ("created", None),
            (_, Some("withdrawn")) => ("corrected", Some("撤回后重新报送")),
            _ => ("corrected", Some("报送单位更正")),
        };
        self.conn.execute(
            "INSERT INTO record_versions (record_key, version_no, subject_key, class_code,
                source_unit, change, reason, actor, recorded_at, submission_id, row_no,
                content_hash, decided_on, published, repairable_from, public_ends, severity,
                regime, rule_version, on_time, linked, id_suspect, payload, sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19, $20, $21, $22, $23, $24)",
            &[
                Val::Bytes(row.record_key.to_vec()),
                Val::Int(version_no),
                row.subject.key.as_str().into(),
                self.class_code.as_str().into(),
                self.source_unit.as_str().into(),
                change.into(),
                reason.into(),
                self.actor.as_str().into(),
                self.now.into(),
                Val::Int(self.submission_id),
                Val::Int(row.row_no as i64),
                Val::Bytes(row.content_hash.to_vec()),
                row.decided_on.into(),
                row.published.into(),
                row.repairable_from.into(),
                row.public_ends.into(),
                row.severity.clone().into(),
                row.regime.clone().into(),
                row.rule_version.clone().into(),
                row.on_time.into(),
                linked.into(),
                row.subject.id_suspect.into(),
                row.payload.as_str().into(),
                row.sealed.clone().into(),
            ],
        )?;
        self.conn.execute(
            "INSERT INTO records (record_key, class_code, subject_key, source_unit, division,
                current_version, current_hash, change, last_submission, last_row, decided_on,
                published, public_ends, repairable_from, legal_rep_key, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (record_key) DO UPDATE SET
                current_version = excluded.current_version, current_hash = excluded.current_hash,
                change = excluded.change, last_submission = excluded.last_submission,
                last_row = excluded.last_row, decided_on = excluded.decided_on,
                published = excluded.published, public_ends = excluded.public_ends,
                repairable_from = excluded.repairable_from, legal_rep_key = excluded.legal_rep_key,
                updated_at = excluded.updated_at",
            &[
                Val::Bytes(row.record_key.to_vec()),
                self.class_code.as_str().into(),
                row.subject.key.as_str().into(),
                self.source_unit.as_str().into(),
                self.division.clone().into(),
                Val::Int(version_no),
                Val::Bytes(row.content_hash.to_vec()),
                change.into(),
                Val::Int(self.submission_id),
                Val::Int(row.row_no as i64),
                row.decided_on.into(),
                row.published.into(),
                row.public_ends.into(),
                row.repairable_from.into(),
                row.legal_rep_key.clone().into(),
                self.now.into(),
            ],
        )?;
        Ok(outcome)
    }

    fn count(&mut self, row: &PreparedRow, outcome: &RowOutcome, linked: bool) {
        let c = &mut self.counts;
        c.rows_read += 1;
        c.accepted += 1;
        match outcome {
            RowOutcome::Created => c.created += 1,
            RowOutcome::Corrected => c.corrected += 1,
            _ => c.unchanged += 1,
        }
        c.linked += linked as u64;
        c.suspect += row.subject.id_suspect as u64;
        c.on_time += (row.on_time == Some(true)) as u64;
    }

    /// Creates the subject on first sight, notes a new name for it, applies registration facts.
    /// Returns whether the subject is registered (known to the registration authority).
    fn ensure_subject(&mut self, row: &PreparedRow) -> Result<bool, StoreError> {
        let s = &row.subject;
        let cached = match self.subjects.get(&s.key) {
            Some(c) => Some(c.clone()),
            None => self
                .conn
                .query_one(
                    "SELECT registered, name FROM subjects WHERE subject_key = $1",
                    &[s.key.as_str().into()],
                )?
                .map(|r| Ok::<_, StoreError>((r.bool(0)?, r.text(1)?)))
                .transpose()?,
        };
        let (mut registered, mut name) = match cached {
            Some(c) => c,
            None => {
                self.conn.execute(
                    "INSERT INTO subjects (subject_key, kind, name, uscc, id_type, id_sealed,
                        id_masked, division, id_suspect, id_note, first_seen, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                    &[
                        s.key.as_str().into(),
                        s.kind.as_str().into(),
                        s.name.as_str().into(),
                        s.uscc.clone().into(),
                        s.id_type.clone().into(),
                        s.id_sealed.clone().into(),
                        s.id_masked.clone().into(),
                        s.division.clone().into(),
                        s.id_suspect.into(),
                        s.id_note.clone().into(),
                        self.now.into(),
                    ],
                )?;
                self.note_name(&s.key, &s.name)?;
                (false, s.name.clone())
            }
        };
        if name != s.name {
            self.note_name(&s.key, &s.name)?;
        }
        if let Some(reg) = &row.registration {
            self.conn.execute(
                "UPDATE subjects SET registered = $1, name = $2, reg_type = $3, reg_status = $4,
                    industry = $5, division = COALESCE($6, division), updated_at = $7
                 WHERE subject_key = $8",
                &[
                    true.into(),
                    s.name.as_str().into(),
                    reg.reg_type.clone().into(),
                    reg.reg_status.clone().into(),
                    reg.industry.clone().into(),
                    s.division.clone().into(),
                    self.now.into(),
                    s.key.as_str().into(),
                ],
            )?;
            registered = true;
            name = s.name.clone();
        }
        if self.subjects.len() >= SUBJECT_CACHE {
            self.subjects.clear();
        }
        self.subjects.insert(s.key.clone(), (registered, name));
        Ok(registered)
    }

    fn note_name(&mut self, key: &str, name: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
             VALUES ($1, $2, $3, $4) ON CONFLICT (subject_key, name) DO NOTHING",
            &[
                key.into(),
                name.into(),
                self.source_unit.as_str().into(),
                self.now.into(),
            ],
        )?;
        Ok(())
    }

    /// Records rejected rows with their problems.
    pub fn reject(&mut self, rejections: &[Rejection]) -> Result<(), StoreError> {
        if rejections.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<Val>> = rejections
            .iter()
            .map(|r| {
                let problems = serde_json::to_string(&r.problems).unwrap_or_else(|_| "[]".into());
                vec![
                    Val::Int(self.submission_id),
                    Val::Int(r.row_no as i64),
                    problems.into(),
                    Val::Bytes(r.raw_sealed.clone()),
                ]
            })
            .collect();
        self.conn.copy_in(
            "rejections",
            &["submission_id", "row_no", "problems", "raw_sealed"],
            &rows,
        )?;
        self.counts.rows_read += rejections.len() as u64;
        self.counts.rejected += rejections.len() as u64;
        Ok(())
    }

    /// Writes the digest and size of the bytes as received and the counts, and commits the
    /// whole submission.
    pub fn commit(mut self, digest: &str, byte_size: u64) -> Result<(i64, Counts), StoreError> {
        let c = self.counts;
        self.conn.execute(
            "UPDATE submissions SET rows_read = $1, accepted = $2, rejected = $3, unchanged = $4,
                created = $5, corrected = $6, linked = $7, suspect = $8, on_time = $9,
                digest = $11, byte_size = $12
             WHERE submission_id = $10",
            &[
                Val::Int(c.rows_read as i64),
                Val::Int(c.accepted as i64),
                Val::Int(c.rejected as i64),
                Val::Int(c.unchanged as i64),
                Val::Int(c.created as i64),
                Val::Int(c.corrected as i64),
                Val::Int(c.linked as i64),
                Val::Int(c.suspect as i64),
                Val::Int(c.on_time as i64),
                Val::Int(self.submission_id),
                digest.into(),
                Val::Int(byte_size as i64),
            ],
        )?;
        self.conn.commit()?;
        Ok((self.submission_id, c))
    }

    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The connection inside the submission's transaction (for the set-based PostgreSQL path).
    pub(crate) fn conn(&mut self) -> &mut dyn Conn {
        &mut *self.conn
    }

    pub(crate) fn parts(&self) -> (i64, &str, &str, Option<&str>, &str, DateTime<Utc>) {
        (
            self.submission_id,
            &self.source_unit,
            &self.class_code,
            self.division.as_deref(),
            &self.actor,
            self.now,
        )
    }

    pub(crate) fn add_counts(&mut self, add: Counts) {
        let c = &mut self.counts;
        c.rows_read += add.rows_read;
        c.accepted += add.accepted;
        c.unchanged += add.unchanged;
        c.created += add.created;
        c.corrected += add.corrected;
        c.linked += add.linked;
        c.suspect += add.suspect;
        c.on_time += add.on_time;
    }
}
