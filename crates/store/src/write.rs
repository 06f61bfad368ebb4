//! Writing a submission: one transaction from the submission row to the last rejected row, so a
//! crash leaves all of it or none; each row becomes a new record, a new version of a record, an
//! unchanged confirmation, or a rejection.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::record::SubjectKind;

use crate::conn::{Backend, Conn, Val};
use crate::model::*;
use crate::pool::PoolGuard;
use crate::{Store, StoreError};

/// Accepted rows after which a submission on PostgreSQL refreshes the record tables' statistics.
const ANALYZE_AFTER_ROWS: u64 = 100_000;

pub struct SubmissionWriter<'a> {
    pub(crate) conn: PoolGuard<'a>,
    pub submission_id: i64,
    pub(crate) source_unit: String,
    pub(crate) feed: bool,
    pub(crate) feed_units: Vec<String>,
    pub(crate) class_code: String,
    pub(crate) division: Option<String>,
    pub(crate) actor: String,
    pub(crate) now: DateTime<Utc>,
    counts: Counts,
    chunks: i64,
    /// Per month of decision: accepted, linked, on time, rejected (for `publicity_monthly`).
    monthly: std::collections::BTreeMap<String, [i64; 4]>,
    /// The unit's rejected decisions of this class not accepted since (`open_rejections`),
    /// loaded when the first row is applied; and those this submission accepts, closed at commit.
    open_decisions: Option<HashSet<[u8; 16]>>,
    closed_decisions: Vec<[u8; 16]>,
    /// Decisions this submission took (bounded: see `TAKEN_KEPT`): a bad row of one of them
    /// later in the file is not a decision left out.
    taken_decisions: HashSet<[u8; 16]>,
    /// Records reported again after a withdrawal: back in the monitoring rollup at commit.
    pub(crate) reported_again: Vec<(String, Vec<u8>)>,
    /// Rows that repeated a withdrawn record as it was withdrawn (left withdrawn).
    pub(crate) withdrawn_resent: u64,
    /// Rows of organisations whose name is not the one their code is registered under: how
    /// many, and the first few row numbers (a code copied from a neighbouring row published the
    /// record on another company's file, with no word to the unit).
    pub(crate) name_doubts: (u64, Vec<u64>),
    /// Subjects seen in this submission (registered flag, name); bounded, see write_sqlite.
    pub(crate) subjects: HashMap<String, (bool, String)>,
    /// Record events for subscribers: None, every version (lists), or serious ones (penalties).
    events: Option<bool>,
    /// Rows applied so far, and after how many the secondary indexes are rebuilt at commit
    /// instead of kept up row by row (`None` once deferred, or on PostgreSQL outside a
    /// `BulkLoad`).
    pub(crate) applied: u64,
    pub(crate) defer_after: Option<u64>,
    /// The indexes dropped inside this transaction, as `CREATE INDEX` statements to run at commit.
    pub(crate) deferred: Vec<String>,
    /// PostgreSQL: whether to look for other connected processes again just before the drop
    /// (not when a test forces the large path with `Store::defer_indexes_after`).
    pub(crate) recheck_others: bool,
    /// PostgreSQL: after how many applied rows the record tables are analysed again within the
    /// transaction (doubling), while their indexes stay up.
    pub(crate) analyse_at: u64,
    /// Messages for the unit (`notices`), and how many were left out past [`NOTES_KEPT`].
    notices: Vec<String>,
    notes_left_out: u64,
    /// What `commit` keeps with the submission for its unit: the notices and the passed-over
    /// columns, as JSON arrays (`keep_notes`).
    kept_notes: Option<(String, String)>,
    /// Records withdrawn because this submission filed their decision under the right subject.
    pub superseded: u64,
    /// Records that may be superseded, judged at the end (`settle_superseded`).
    candidates: Vec<Candidate>,
    /// The class's records corrected on an upheld objection: (subject key, record key) → (the
    /// version the objection was to, the case). Read when the first correction meets one.
    upheld: Option<Upheld>,
    /// The class's records withdrawn on an upheld objection, by (subject key, decision key):
    /// (record key, case). Read at the first lookup of a submission's decisions.
    revoked: Option<Revoked>,
}

/// (subject key, record key) → (the version an upheld objection was to, its case).
type Upheld = HashMap<(String, Vec<u8>), (i64, i64)>;

/// (subject key, decision key) → (record key, the objection that withdrew it).
type Revoked = HashMap<(String, Vec<u8>), (Vec<u8>, i64)>;

/// A record of this unit filing a decision of this submission under another subject.
struct Candidate {
    old_subject: String,
    old_key: Vec<u8>,
    /// Whether the record's own content names the row's party.
    old_named_so: bool,
    row_no: u64,
    subject: String,
    /// The row's record (under the corrected code).
    record_key: RecordKey,
    /// The last day a report of the decision was on time.
    on_time_until: Option<NaiveDate>,
    person: bool,
    name: String,
    /// The old record is this subject's own, its number's year bracketed the other way
    /// (〔2026〕 then （2026）): the same decision reported again, not another party.
    written_otherwise: bool,
    /// The old record is this subject's own, withdrawn on an upheld objection (the case): the
    /// decision written otherwise must not bring it back.
    revoked_by: Option<i64>,
}

impl Candidate {
    /// Row `r` against the record `old_key` of `old_subject` filing the same decision.
    fn of(r: &PreparedRow, old_subject: String, old_key: Vec<u8>, old_named_so: bool) -> Self {
        Candidate {
            written_otherwise: r.subject.key == old_subject,
            old_subject,
            old_key,
            old_named_so,
            row_no: r.row_no,
            subject: r.subject.key.clone(),
            record_key: r.record_key,
            on_time_until: r.on_time_until,
            person: r.subject.kind == SubjectKind::NaturalPerson,
            name: r.subject.name.clone(),
            revoked_by: None,
        }
    }
}

/// Records a submission keeps to judge at its end; past this, only their number is told.
const CANDIDATES_KEPT: usize = 10_000;

/// Notices a submission keeps for its unit; past this, only their number.
const NOTES_KEPT: usize = 100;

/// Decisions taken that a submission remembers (16 bytes each; 2 M ≈ 80 MB at most): past that,
/// a bad row repeating an accepted decision further down a very large file counts as rejected.
const TAKEN_KEPT: usize = 2_000_000;

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
        // One submission at a time per unit and class on PostgreSQL (SQLite has one writer): the
        // same file sent twice at once — a source system retrying after a timeout — is then a
        // repeat of the first, not a key conflict with its uncommitted rows.
        if conn.backend() == Backend::Postgres {
            conn.query_one(
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) l",
                &[format!("submission/{}/{}", s.source_unit, s.class_code).into()],
            )?;
        }
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
        let defer_after = match (conn.backend(), self.index_deferral_override()) {
            (_, Some(rows)) => Some(rows),
            (backend, None) => {
                // On PostgreSQL the drop takes the tables' exclusive lock until commit, so only
                // an operator's import that has the database to itself (a `BulkLoad`; the drop
                // looks again) sets indexes aside; on SQLite readers keep the committed indexes.
                if backend == Backend::Postgres && !self.pg_bulk() {
                    None
                } else {
                    let versions = conn
                        .query_one(
                            "SELECT COALESCE(MAX(version_id), 0) FROM record_versions",
                            &[],
                        )?
                        .map_or(Ok(0), |r| r.i64(0))?;
                    Some(crate::write_sqlite::defer_threshold(versions))
                }
            }
        };
        Ok(SubmissionWriter {
            conn,
            submission_id,
            source_unit: s.source_unit.clone(),
            feed: s.feed,
            feed_units: s.feed_units.clone(),
            class_code: s.class_code.clone(),
            division: unit_division.map(str::to_string),
            actor: s.actor.clone(),
            now: s.received_at,
            counts: Counts::default(),
            chunks: 0,
            monthly: Default::default(),
            open_decisions: None,
            closed_decisions: Vec::new(),
            taken_decisions: HashSet::new(),
            reported_again: Vec::new(),
            withdrawn_resent: 0,
            name_doubts: (0, Vec::new()),
            subjects: HashMap::new(),
            events: None,
            applied: 0,
            defer_after,
            deferred: Vec::new(),
            recheck_others: self.index_deferral_override().is_none(),
            analyse_at: crate::write_pg::FIRST_ANALYSE,
            notices: Vec::new(),
            notes_left_out: 0,
            kept_notes: None,
            superseded: 0,
            candidates: Vec::new(),
            upheld: None,
            revoked: None,
        })
    }
}

impl SubmissionWriter<'_> {
    /// A committed submission of the same bytes from the same unit for the same class, if any.
    /// Read in this submission's own transaction (it cannot match itself: its digest is written
    /// at commit), so that no second connection waits on a bulk import's locks.
    pub fn find_same_submission(
        &mut self,
        digest: &str,
        source_unit: &str,
        class_code: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_one(
                "SELECT submission_id FROM submissions
                 WHERE digest = $1 AND source_unit = $2 AND class_code = $3 AND status = 'committed'
                 ORDER BY submission_id LIMIT 1",
                &[digest.into(), source_unit.into(), class_code.into()],
            )?
            .map(|r| r.i64(0))
            .transpose()
    }

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

    /// Writes validated rows in order and says what became of each: row by row with prepared
    /// statements on SQLite, set-based on PostgreSQL.
    pub fn apply(&mut self, rows: &[PreparedRow]) -> Result<Vec<RowOutcome>, StoreError> {
        if self.open_decisions.is_none() && rows.iter().any(|r| r.decision_key.is_some()) {
            let open = self
                .conn
                .query(
                    "SELECT decision_key FROM open_rejections WHERE source_unit = $1 AND class_code = $2",
                    &[
                        self.source_unit.as_str().into(),
                        self.class_code.as_str().into(),
                    ],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<String>, _>>()?
                .iter()
                .filter_map(|k| hex::decode(k).ok()?.try_into().ok())
                .collect();
            self.open_decisions = Some(open);
        }
        let moved = self.windows_from_first_publication(rows)?;
        let rows = moved.as_deref().unwrap_or(rows);
        let misnamed = self.misnamed_persons(rows)?;
        let outcomes = if !misnamed.contains(&true) {
            self.apply_backend(rows)?
        } else {
            let kept: Vec<PreparedRow> = rows
                .iter()
                .zip(&misnamed)
                .filter(|(_, m)| !**m)
                .map(|(r, _)| r.clone())
                .collect();
            let mut applied = self.apply_backend(&kept)?.into_iter();
            let mut out = Vec::with_capacity(rows.len());
            for m in misnamed {
                out.push(if m {
                    RowOutcome::NameMismatch
                } else {
                    applied
                        .next()
                        .ok_or_else(|| StoreError::Decode("row outcome missing".into()))?
                });
            }
            out
        };
        // Only rows the store took may end a record filed under another code.
        let taken: Vec<&PreparedRow> = rows
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| {
                matches!(
                    o,
                    RowOutcome::Created | RowOutcome::Corrected | RowOutcome::Unchanged
                )
            })
            .map(|(r, _)| r)
            .collect();
        self.find_superseded(&taken)?;
        Ok(outcomes)
    }

    fn apply_backend(&mut self, rows: &[PreparedRow]) -> Result<Vec<RowOutcome>, StoreError> {
        match self.conn.backend() {
            Backend::Sqlite => self.apply_sqlite(rows),
            Backend::Postgres => self.apply_set(rows),
        }
    }

    /// For each row, whether it is a new record about a natural person under a name the platform
    /// has never held for that ID number. The number is the key, and a mistyped one is
    /// someone else's: the record would be published on that person's file. Every name the
    /// person has been reported under counts (a correction may write a name otherwise — the
    /// name put right, or changed at law — and records under it are then taken), compared as
    /// written apart from spaces, middle dots, width and case. Organisations change their names;
    /// persons' records are the ones held.
    fn misnamed_persons(&mut self, rows: &[PreparedRow]) -> Result<Vec<bool>, StoreError> {
        let mut out = vec![false; rows.len()];
        let persons: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].subject.kind == SubjectKind::NaturalPerson)
            .collect();
        if persons.is_empty() {
            return Ok(out);
        }
        // Names on file (as this transaction sees them, earlier batches included), then the
        // first name a person is given in this batch.
        let mut names: HashMap<String, HashSet<String>> = HashMap::new();
        let keys: Vec<&str> = {
            let mut seen = HashSet::new();
            persons
                .iter()
                .map(|&i| rows[i].subject.key.as_str())
                .filter(|k| seen.insert(*k))
                .collect()
        };
        const NAMES: &str = "SELECT subject_key, name FROM subjects WHERE subject_key = ANY($1::text[])
             UNION ALL SELECT subject_key, name FROM subject_names WHERE subject_key = ANY($1::text[])";
        let found = match self.conn.backend() {
            Backend::Postgres => self.conn.query(
                NAMES,
                &[Val::Array(keys.iter().map(|k| Val::from(*k)).collect())],
            )?,
            Backend::Sqlite => {
                let mut all = Vec::new();
                for k in keys {
                    all.extend(self.conn.query(
                        "SELECT subject_key, name FROM subjects WHERE subject_key = $1
                         UNION ALL SELECT subject_key, name FROM subject_names WHERE subject_key = $1",
                        &[k.into()],
                    )?);
                }
                all
            }
        };
        for r in found {
            names
                .entry(r.text(0)?)
                .or_default()
                .insert(domain::text::person_name_key(&r.text(1)?));
        }
        // New records are judged once the batch's corrections have given their names, wherever
        // they stand in it.
        let mut new_records = Vec::new();
        for i in persons {
            let r = &rows[i];
            let name = domain::text::person_name_key(&r.subject.name);
            match names.get_mut(&r.subject.key) {
                None => {
                    names.insert(r.subject.key.clone(), HashSet::from([name]));
                }
                Some(known) if known.contains(&name) => {}
                Some(known) => {
                    let correction = self
                        .conn
                        .query_one(
                            "SELECT 1 FROM records WHERE subject_key = $1 AND record_key = $2",
                            &[
                                r.subject.key.as_str().into(),
                                Val::Bytes(r.record_key.to_vec()),
                            ],
                        )?
                        .is_some();
                    if correction {
                        known.insert(name);
                    } else {
                        new_records.push((i, name));
                    }
                }
            }
        }
        for (i, name) in new_records {
            out[i] = !names
                .get(&rows[i].subject.key)
                .is_some_and(|known| known.contains(&name));
        }
        Ok(out)
    }

    /// Looks for records of this unit that file a decision of `rows` (same class and 文书号)
    /// under another subject, for [`Self::settle_superseded`] to judge once the whole
    /// submission is in: a record the submission itself reports again is a party of the
    /// decision, not a mistake, and that is known only at the end.
    ///
    /// Not while the record indexes are set aside (a bulk load: the lookup would have no index).
    fn find_superseded(&mut self, rows: &[&PreparedRow]) -> Result<(), StoreError> {
        // Repaired records too: the unit is told of one under another code.
        const SAME_DECISION: &str = "SELECT r.subject_key, r.record_key, r.decision_key, v.payload
             FROM records r
             JOIN record_versions v ON v.subject_key = r.subject_key
                AND v.record_key = r.record_key AND v.version_no = r.current_version
             WHERE r.source_unit = $1 AND r.class_code = $2 AND r.last_submission <> $3
               AND r.change IN ('created', 'corrected', 'repaired') AND ";
        if !self.deferred.is_empty() || !rows.iter().any(|r| r.decision_key.is_some()) {
            return Ok(());
        }
        let base = [
            Val::from(self.source_unit.as_str()),
            Val::from(self.class_code.as_str()),
            Val::Int(self.submission_id),
        ];
        let mut found = Vec::new();
        match self.conn.backend() {
            Backend::Postgres => {
                let keys: Vec<Val> = rows
                    .iter()
                    .flat_map(|r| {
                        [
                            r.decision_key,
                            r.decision_key_otherwise,
                            r.decision_key_as_written,
                        ]
                    })
                    .flatten()
                    .map(|k| Val::Bytes(k.to_vec()))
                    .collect();
                let mut params = base.to_vec();
                params.push(Val::Array(keys));
                // Version rows by their key, not a hash of all of them (see `apply_set`'s
                // analysis of the tables as a large submission fills them).
                self.conn.batch(crate::write_pg::JOINS_BY_KEY)?;
                found = self.conn.query(
                    &format!("{SAME_DECISION} r.decision_key = ANY($4::bytea[])"),
                    &params,
                )?;
                self.conn.batch(crate::write_pg::JOINS_AS_CONFIGURED)?;
            }
            Backend::Sqlite => {
                // Many keys per statement (in pieces of fixed sizes, so that a few statement
                // texts are prepared once), not a query per row.
                let mut asked = HashSet::new();
                let keys: Vec<[u8; 16]> = rows
                    .iter()
                    .flat_map(|r| {
                        [
                            r.decision_key,
                            r.decision_key_otherwise,
                            r.decision_key_as_written,
                        ]
                    })
                    .flatten()
                    .filter(|k| asked.insert(*k))
                    .collect();
                let mut at = 0;
                for n in crate::multi_row_pieces(keys.len()) {
                    let list: Vec<String> = (0..n).map(|i| format!("${}", i + 4)).collect();
                    let mut params = base.to_vec();
                    params.extend(keys[at..at + n].iter().map(|k| Val::Bytes(k.to_vec())));
                    found.extend(self.conn.query(
                        &format!("{SAME_DECISION} r.decision_key IN ({})", list.join(", ")),
                        &params,
                    )?);
                    at += n;
                }
            }
        }
        for f in &found {
            let (subject, key, decision) = (f.text(0)?, f.bytes(1)?, f.bytes(2)?);
            let payload: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&f.text(3)?).unwrap_or_default();
            let same = |k: Option<[u8; 16]>| k.is_some_and(|k| k[..] == decision[..]);
            for r in rows.iter().filter(|r| {
                if r.subject.key != subject {
                    same(r.decision_key) || same(r.decision_key_as_written)
                } else {
                    // The same subject's record of the decision under another writing of its
                    // number (its year's brackets, 第, zeros before the serial).
                    same(r.decision_key_otherwise)
                        || (same(r.decision_key) && r.record_key[..] != key[..])
                }
            }) {
                if self.candidates.len() >= CANDIDATES_KEPT {
                    self.notes_left_out += 1;
                    continue;
                }
                let named_so = payload
                    .values()
                    .any(|v| v.as_str() == Some(r.subject.name.as_str()));
                self.candidates
                    .push(Candidate::of(r, subject.clone(), key.clone(), named_so));
            }
        }
        // This subject's records of the decision withdrawn on an upheld objection (异议成立，
        // 记录已撤销): a writing of its number not seen before would publish it again. Few:
        // read once per submission.
        if self.revoked.is_none() {
            let mut revoked = HashMap::new();
            for r in self.conn.query(
                "SELECT r.subject_key, r.decision_key, r.record_key, k.case_id FROM cases k
                 JOIN records r ON r.subject_key = k.subject_key AND r.record_key = k.record_key
                 WHERE k.kind = 'objection' AND k.state = 'record_withdrawn'
                   AND k.class_code = $1 AND r.decision_key IS NOT NULL",
                &[self.class_code.as_str().into()],
            )? {
                revoked.insert((r.text(0)?, r.bytes(1)?), (r.bytes(2)?, r.i64(3)?));
            }
            self.revoked = Some(revoked);
        }
        // (Usually none: then no row is looked up.)
        let Some(m) = self.revoked.as_ref().filter(|m| !m.is_empty()) else {
            return Ok(());
        };
        let mut found = Vec::new();
        for r in rows {
            let hit = [
                r.decision_key,
                r.decision_key_otherwise,
                r.decision_key_as_written,
            ]
            .into_iter()
            .flatten()
            .find_map(|k| m.get(&(r.subject.key.clone(), k.to_vec())))
            .filter(|(old_key, _)| old_key[..] != r.record_key[..]);
            if let Some((old_key, case)) = hit {
                let mut c = Candidate::of(r, r.subject.key.clone(), old_key.clone(), true);
                c.revoked_by = Some(*case);
                found.push(c);
            }
        }
        self.candidates.extend(found);
        Ok(())
    }

    /// Judges the records [`Self::find_superseded`] found, once the submission's rows are all
    /// in (the importer calls it before it decides whether the submission repeats an earlier
    /// one; `commit` calls it if nobody did). A record this submission reported again, or that
    /// has ended since, is left alone. The record under the other subject is withdrawn, saying
    /// why — a penalty must not stay on the file of a company it was never about — when the
    /// unit has corrected the code: the same organisation's name, which is not the name the
    /// old code is registered under, under a code not registered to another name. Otherwise
    /// (another name: maybe a second party of the decision, 一案多人; a person, whose name
    /// proves nothing; a new code registered to someone else) the unit is told, and nothing is
    /// withdrawn.
    pub fn settle_superseded(&mut self) -> Result<(), StoreError> {
        let candidates = std::mem::take(&mut self.candidates);
        let mut ended = HashSet::new();
        for c in candidates {
            let id = record_id(&c.old_subject, &c.old_key);
            if ended.contains(&id) {
                continue;
            }
            if let Some(case) = c.revoked_by {
                self.refuse_new_writing(&c, &id, &format!("该决定已在第{case}号异议中核实后撤销"))?;
                continue;
            }
            let Some(old) = self.conn.query_one(
                "SELECT r.change, r.last_submission, s.registered, s.name, s.kind
                 FROM records r LEFT JOIN subjects s ON s.subject_key = r.subject_key
                 WHERE r.subject_key = $1 AND r.record_key = $2",
                &[c.old_subject.as_str().into(), Val::Bytes(c.old_key.clone())],
            )?
            else {
                continue;
            };
            let change = old.text(0)?;
            if old.i64(1)? == self.submission_id
                || !matches!(change.as_str(), "created" | "corrected" | "repaired")
            {
                continue;
            }
            if c.written_otherwise {
                self.settle_written_otherwise(&c, &id, &change)?;
                ended.insert(id);
                continue;
            }
            if change == "repaired" {
                self.note(format!(
                    "第{}行：同一文书号此前由本单位报送在另一主体名下的记录（{id}）已信用修复，本行已入库；如系同一决定，请核对主体代码，必要时撤回本行记录",
                    c.row_no
                ));
                continue;
            }
            let old_person =
                old.opt_text(4)?.as_deref() == Some(SubjectKind::NaturalPerson.as_str());
            if old_person != c.person {
                continue;
            }
            let new = self.conn.query_one(
                "SELECT registered, name FROM subjects WHERE subject_key = $1",
                &[c.subject.as_str().into()],
            )?;
            let same_name = c.old_named_so || old.opt_text(3)?.as_deref() == Some(&c.name);
            // The old code registered under this very name: it was right, the new one is not.
            let old_right = old.bool(2)? && old.opt_text(3)?.as_deref() == Some(&c.name);
            // The new code registered under another name: the new row is the doubtful one.
            let new_doubtful = match &new {
                Some(n) => n.bool(0)? && n.opt_text(1)?.as_deref() != Some(&c.name),
                None => false,
            };
            if c.person || !same_name || old_right || new_doubtful {
                let why = if c.person {
                    "自然人仅凭姓名无法判断是否为同一人"
                } else if !same_name {
                    "名称不同，可能是同一决定的另一当事人"
                } else {
                    "两个主体代码的登记名称与本行不能对应"
                };
                self.note(format!(
                    "第{}行：同一文书号此前由本单位报送在另一主体名下（记录{id}），{why}，未作处理；如系更正主体代码，请核对后撤回原记录",
                    c.row_no
                ));
                continue;
            }
            let reason = format!(
                "主体代码更正：同一文书号由本单位第{}号报送批次第{}行报送在“{}”名下",
                self.submission_id, c.row_no, c.name
            );
            self.replace_old_record(&c, &id, &reason)?;
            ended.insert(id.clone());
            self.superseded += 1;
            self.note(format!(
                "第{}行：同一文书号此前由本单位报送在另一主体代码下（记录{id}），名称相同，视为主体代码更正，原记录已撤回",
                c.row_no
            ));
        }
        Ok(())
    }

    /// Withdraws the old record a row of this submission replaces, saying why. The decision
    /// was reported when the old record was: the new one is judged on time from that first
    /// receipt (read before the old record ends), as a correction of content is.
    fn replace_old_record(
        &mut self,
        c: &Candidate,
        id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (unit, actor) = (self.source_unit.clone(), self.actor.clone());
        let w = crate::withdraw::Withdrawal {
            unit: &unit,
            actor: &actor,
            reason,
            at: self.now,
        };
        let first_receipt = self
            .conn
            .query_one(
                "SELECT recorded_at FROM record_versions
                 WHERE subject_key = $1 AND record_key = $2 AND version_no = 1",
                &[c.old_subject.as_str().into(), Val::Bytes(c.old_key.clone())],
            )?
            .map(|r| r.time(0))
            .transpose()?;
        crate::withdraw::end_on(&mut *self.conn, &c.old_subject, &c.old_key, &w, "withdrawn")?;
        if let (Some(received), Some(until)) = (first_receipt, c.on_time_until)
            && domain::clock::beijing(received).date_naive() <= until
        {
            self.judge_on_time_from(c, id)?;
        }
        Ok(())
    }

    /// A decision this subject's record already reports, sent again with its number's year
    /// bracketed the other way (盐环罚（2026）221号 after 盐环罚〔2026〕221号): the new row is
    /// the unit's writing now, and the old record is withdrawn saying so — two records would
    /// publish one penalty twice. A repaired old record stays (withdrawing it would publish
    /// the decision again unrepaired): the unit is told to withdraw the new row.
    fn settle_written_otherwise(
        &mut self,
        c: &Candidate,
        id: &str,
        change: &str,
    ) -> Result<(), StoreError> {
        if change == "repaired" {
            self.note(format!(
                "第{}行：该主体已有同一决定的记录（{id}，文书号写法不同），且已信用修复；本行已入库，如系同一决定，请撤回本行记录",
                c.row_no
            ));
            return Ok(());
        }
        // A case on the old record decides it, not another writing of its number: an open
        // application or objection (the withdrawal would end it unanswered), or an objection
        // upheld by correcting it (a stale export written otherwise would undo the correction).
        let case = self
            .conn
            .query_one(
                "SELECT case_id, state FROM cases WHERE record_id = $1
                   AND (state IN ('submitted', 'returned', 'under_review', 'forwarded',
                                  'awaiting_materials')
                        OR (kind = 'objection' AND state = 'corrected'))
                 ORDER BY case_id DESC LIMIT 1",
                &[id.into()],
            )?
            .map(|r| Ok::<_, StoreError>((r.i64(0)?, r.text(1)?)))
            .transpose()?;
        if let Some((case, state)) = case {
            let why = if state == "corrected" {
                format!("该记录已在第{case}号异议中核实更正")
            } else {
                format!("该记录有正在办理的申请（第{case}号）")
            };
            return self.refuse_new_writing(c, id, &why);
        }
        let reason = format!(
            "文书号写法更正：同一决定由本单位第{}号报送批次第{}行重报（文书号写法不同），以新报送的记录为准",
            self.submission_id, c.row_no
        );
        self.replace_old_record(c, id, &reason)?;
        // The platform withdrew it, not the unit: the old writing sent again as it was (a
        // business system exporting 〔2026〕 again after a clerk re-keyed （2026）) comes back
        // as a report again and replaces the other, instead of staying withdrawn as a record
        // the unit withdrew would — both writings withdrawn left the penalty on no file. The
        // head's hash no longer matches any content, so the row reads as a correction.
        self.conn.execute(
            "UPDATE records SET current_hash = $3 WHERE subject_key = $1 AND record_key = $2",
            &[
                c.old_subject.as_str().into(),
                Val::Bytes(c.old_key.clone()),
                Val::Bytes(vec![0; 16]),
            ],
        )?;
        self.superseded += 1;
        self.note(format!(
            "第{}行：该主体已有同一决定的记录（{id}），仅文书号写法不同（年份的括号写法、“第”字或序号前补零），视为同一决定重报，原记录已撤回，以本行为准",
            c.row_no
        ));
        Ok(())
    }

    /// The row's record, a writing of the number of a decision whose record `id` a case decided
    /// (`why`), is withdrawn at once by the platform, saying so: the case's outcome stands and
    /// the decision is not published twice. The row stays taken (its content kept, its record
    /// withdrawn): sent again as it is, it stays withdrawn.
    fn refuse_new_writing(&mut self, c: &Candidate, id: &str, why: &str) -> Result<(), StoreError> {
        // Sent again as it was after the platform withdrew it: it stays withdrawn, unsaid.
        let now = self
            .conn
            .query_one(
                "SELECT change FROM records WHERE subject_key = $1 AND record_key = $2",
                &[c.subject.as_str().into(), Val::Bytes(c.record_key.to_vec())],
            )?
            .map(|r| r.text(0))
            .transpose()?;
        if !matches!(now.as_deref(), Some("created" | "corrected")) {
            return Ok(());
        }
        let (unit, actor) = (self.source_unit.clone(), self.actor.clone());
        let reason = format!(
            "{why}（{id}），以其他文书号写法重报的本记录不予公示（报送批次{}第{}行）",
            self.submission_id, c.row_no
        );
        let w = crate::withdraw::Withdrawal {
            unit: &unit,
            actor: &actor,
            reason: &reason,
            at: self.now,
        };
        crate::withdraw::end_on(&mut *self.conn, &c.subject, &c.record_key, &w, "withdrawn")?;
        self.note(format!(
            "第{}行：与已有记录（{id}）是同一决定，仅文书号写法不同；{why}，本行记录已由平台撤回、不予公示。如需更正该记录，请按原文书号写法报送",
            c.row_no
        ));
        Ok(())
    }

    /// Rows of this submission that put a record back to what an earlier version said, undoing
    /// a correction a later batch of the unit made (a whole month exported again from a system
    /// that never took the correction in): told by row, with the batch whose correction it
    /// undid, so that the unit can send the correction again if the undoing was not meant. Not
    /// looked for in a bulk load (its indexes are set aside until commit; a first load undoes
    /// nothing).
    pub fn note_reverted_corrections(&mut self) -> Result<(), StoreError> {
        if self.counts.corrected == 0 || !self.deferred.is_empty() {
            return Ok(());
        }
        let rows = self.conn.query(
            "SELECT v.row_no, MAX(p.version_no), l.version_no, l.submission_id
             FROM record_versions v
             JOIN record_versions l ON l.subject_key = v.subject_key AND l.record_key = v.record_key
                AND l.version_no = v.version_no - 1 AND l.change = 'corrected'
                AND l.submission_id IS NOT NULL AND l.submission_id <> v.submission_id
             JOIN record_versions p ON p.subject_key = v.subject_key AND p.record_key = v.record_key
                AND p.version_no < l.version_no AND p.content_hash = v.content_hash
             WHERE v.submission_id = $1 AND v.change = 'corrected'
             GROUP BY v.row_no, l.version_no, l.submission_id
             ORDER BY v.row_no
             LIMIT 100",
            &[Val::Int(self.submission_id)],
        )?;
        for r in rows {
            let (row, back_to, undone, by) = (r.i64(0)?, r.i64(1)?, r.i64(2)?, r.i64(3)?);
            self.note(format!(
                "第{row}行：该记录恢复为第{back_to}版的内容，撤销了报送批次{by}所做的更正（第{undone}版）；如非本意，请重新报送更正后的内容"
            ));
        }
        Ok(())
    }

    /// The objection case whose upheld correction the row, a correction of the unit's own
    /// record, would undo: its content is that of a version from before the objection
    /// ([`RowOutcome::Overruled`]). Objections are few: the class's upheld ones are read once.
    pub(crate) fn overruled(&mut self, row: &PreparedRow) -> Result<Option<i64>, StoreError> {
        if self.upheld.is_none() {
            let mut upheld = HashMap::new();
            for r in self.conn.query(
                "SELECT subject_key, record_key, record_version, case_id FROM cases
                 WHERE kind = 'objection' AND state = 'corrected' AND class_code = $1
                 ORDER BY case_id",
                &[self.class_code.as_str().into()],
            )? {
                upheld.insert((r.text(0)?, r.bytes(1)?), (r.i64(2)?, r.i64(3)?));
            }
            self.upheld = Some(upheld);
        }
        // (Usually none: then no key is built.)
        let Some(upheld) = self.upheld.as_ref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let key = (row.subject.key.clone(), row.record_key.to_vec());
        let Some(&(opened, case_id)) = upheld.get(&key) else {
            return Ok(None);
        };
        let before = self.conn.query_one(
            "SELECT 1 FROM record_versions WHERE subject_key = $1 AND record_key = $2
                AND version_no <= $3 AND content_hash = $4",
            &[
                key.0.as_str().into(),
                Val::Bytes(key.1),
                Val::Int(opened),
                Val::Bytes(row.content_hash.to_vec()),
            ],
        )?;
        Ok(before.map(|_| case_id))
    }

    /// Counts a row whose organisation's name is not its registered one ([`Self::name_doubts`]).
    pub(crate) fn name_doubt(&mut self, row_no: u64) {
        self.name_doubts.0 += 1;
        if self.name_doubts.1.len() < 10 {
            self.name_doubts.1.push(row_no);
        }
    }

    /// Keeps a message for the unit, at most [`NOTES_KEPT`] (then one saying how many more).
    fn note(&mut self, text: String) {
        if self.notices.len() < NOTES_KEPT {
            self.notices.push(text);
        } else {
            self.notes_left_out += 1;
        }
    }

    /// What the unit should know about this submission beyond its rows' outcomes: records it
    /// superseded under another subject's code, decisions filed under two subjects, records it
    /// brought back after they were withdrawn with a correction, and those sent again as they
    /// were withdrawn (left withdrawn).
    pub fn notices(&self) -> Vec<String> {
        let mut out = self.notices.clone();
        if self.notes_left_out > 0 {
            out.push(format!("另有{}条同类提示未列出", self.notes_left_out));
        }
        let (n, rows) = &self.name_doubts;
        if *n > 0 {
            out.push(format!(
                "{n}行所填名称与其统一社会信用代码的登记名称不同（已入库，记在登记名称的主体名下）：{}；请核对代码是否填错，如为该主体的曾用名可不处理",
                domain::text::rows_named(*n, rows)
            ));
        }
        if !self.reported_again.is_empty() {
            out.push(format!(
                "本批次重新报送了{}条此前已撤回的记录，这些记录已恢复公示；如非本意，请撤回本批次或逐条撤回",
                self.reported_again.len()
            ));
        }
        out.extend(self.still_withdrawn_notice());
        out
    }

    /// Records this submission sent as they were when withdrawn: they stay withdrawn. Told
    /// also to a byte-identical re-send, since the withdrawal may have come after the batch it
    /// repeats (whose other notes it does not repeat).
    pub fn still_withdrawn_notice(&self) -> Option<String> {
        (self.withdrawn_resent > 0).then(|| format!(
            "本批次有{}条记录此前已撤回，内容与撤回时相同，仍为撤回状态、不恢复公示（重复报送已撤回的记录不予恢复）；如撤回有误，请在原报送批次页面对该记录点“撤回有误，恢复”（接口：POST /api/v1/records/{{记录编号}}/restore）",
            self.withdrawn_resent
        ))
    }

    /// A window counted from publication (SAMR Order 45: `ends` = publication date + period)
    /// runs from the record's first publication, so that a correction of a record already
    /// public does not start its period again (a record withdrawn and reported anew is published
    /// anew). Returns the rows with their windows moved back, when any is.
    ///
    /// Not while this submission has set the record indexes aside (a bulk load, where the
    /// lookup would have no index): such a load's corrections keep the import's date.
    fn windows_from_first_publication(
        &mut self,
        rows: &[PreparedRow],
    ) -> Result<Option<Vec<PreparedRow>>, StoreError> {
        const FIRST: &str = "SELECT MIN(v.recorded_at) FROM record_versions v
             WHERE v.subject_key = $1 AND v.record_key = $2 AND v.published = $3
               AND v.version_no > COALESCE((SELECT MAX(w.version_no) FROM record_versions w
                   WHERE w.subject_key = $1 AND w.record_key = $2 AND w.change = 'withdrawn'), 0)";
        if !self.deferred.is_empty() {
            return Ok(None);
        }
        let mut moved: Option<Vec<PreparedRow>> = None;
        for (i, r) in rows.iter().enumerate() {
            let Some(on) = r.published_on.filter(|_| r.published) else {
                continue;
            };
            let first = self
                .conn
                .query_one(
                    FIRST,
                    &[
                        r.subject.key.as_str().into(),
                        Val::Bytes(r.record_key.to_vec()),
                        Val::Bool(true),
                    ],
                )?
                .map(|row| row.opt_time(0))
                .transpose()?
                .flatten()
                .map(|t| domain::clock::beijing(t).date_naive());
            let Some(first) = first.filter(|f| *f < on) else {
                continue;
            };
            let m = moved.get_or_insert_with(|| rows.to_vec());
            m[i].public_ends = r.public_ends.map(|e| {
                let months = (e.year() - on.year()) * 12 + e.month() as i32 - on.month() as i32;
                domain::calendar::add_months(first, months.max(0) as u32)
            });
            if r.repairable_from == Some(on) {
                m[i].repairable_from = Some(first);
            }
            m[i].published_on = Some(first);
        }
        Ok(moved)
    }

    /// Counts an accepted row; `on_time` is the row's, judged again for a correction
    /// ([`Self::rejudge_correction`]).
    pub(crate) fn count(
        &mut self,
        row: &PreparedRow,
        outcome: &RowOutcome,
        linked: bool,
        on_time: Option<bool>,
    ) {
        if *outcome == RowOutcome::Created
            && let Some(d) = row.decided_on
        {
            self.add_to_month(d, 1, linked, on_time);
        }
        // A decision rejected earlier and accepted now — new, corrected or sent again as it
        // stands — no longer counts as rejected.
        if let Some(k) = row.decision_key {
            if let Some(open) = self.open_decisions.as_mut()
                && open.remove(&k)
            {
                self.closed_decisions.push(k);
            }
            if self.taken_decisions.len() < TAKEN_KEPT {
                self.taken_decisions.insert(k);
            }
        }
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
        c.on_time += (on_time == Some(true)) as u64;
    }

    /// Adds a record to (`delta` 1) or takes it from (-1) its decision's month in the rollup.
    fn add_to_month(
        &mut self,
        decided: NaiveDate,
        delta: i64,
        linked: bool,
        on_time: Option<bool>,
    ) {
        let m = self
            .monthly
            .entry(decided.format("%Y-%m").to_string())
            .or_default();
        m[0] += delta;
        m[1] += delta * i64::from(linked);
        m[2] += delta * i64::from(on_time == Some(true));
    }

    /// A correction of this unit's own record (version `previous` the current one): its
    /// timeliness judged again from the record's first receipt — a correction is not a late
    /// report — against the corrected decision's period; and, unless it comes back after a
    /// withdrawal (counted again at commit), the record moved in the 双公示 rollup from the
    /// month and timeliness it counted as to those it has now. A record counts once, in the
    /// month of its current decision date, with its first version's 关联. Returns the on-time
    /// the new version carries.
    pub(crate) fn rejudge_correction(
        &mut self,
        row: &PreparedRow,
        previous: i64,
        again: bool,
    ) -> Result<Option<bool>, StoreError> {
        let Some(until) = row.on_time_until else {
            return Ok(row.on_time);
        };
        let Some(before) = self.conn.query_one(
            "SELECT v1.linked, v1.recorded_at, vc.on_time, vc.decided_on
             FROM record_versions v1 JOIN record_versions vc ON vc.subject_key = v1.subject_key
                AND vc.record_key = v1.record_key AND vc.version_no = $3
             WHERE v1.subject_key = $1 AND v1.record_key = $2 AND v1.version_no = 1
               AND v1.change = 'created'",
            &[
                row.subject.key.as_str().into(),
                Val::Bytes(row.record_key.to_vec()),
                Val::Int(previous),
            ],
        )?
        else {
            return Ok(row.on_time);
        };
        let linked = before.bool(0)?;
        let received = domain::clock::beijing(before.time(1)?).date_naive();
        let on_time = Some(received <= until);
        if !again {
            if let Some(d) = before.opt_date(3)? {
                let was = Some(before.bool(2)?);
                self.add_to_month(d, -1, linked, was);
            }
            if let Some(d) = row.decided_on {
                self.add_to_month(d, 1, linked, on_time);
            }
        }
        Ok(on_time)
    }

    /// The record a code correction reported (under the right code), counted late on the day of
    /// the correction, was reported on time under the wrong code: a new version of it says so
    /// (content as it stands, on time), and the 双公示 rollup moves it from late to on time.
    fn judge_on_time_from(&mut self, c: &Candidate, old_id: &str) -> Result<(), StoreError> {
        let key = Val::Bytes(c.record_key.to_vec());
        let Some(head) = self.conn.query_one(
            "SELECT r.current_version, vc.on_time, vc.decided_on, v1.linked
             FROM records r
             JOIN record_versions vc ON vc.subject_key = r.subject_key
                AND vc.record_key = r.record_key AND vc.version_no = r.current_version
             JOIN record_versions v1 ON v1.subject_key = r.subject_key
                AND v1.record_key = r.record_key AND v1.version_no = 1
             WHERE r.subject_key = $1 AND r.record_key = $2
               AND r.change IN ('created', 'corrected') AND v1.change = 'created'",
            &[c.subject.as_str().into(), key.clone()],
        )?
        else {
            return Ok(());
        };
        if head.bool(1)? {
            return Ok(());
        }
        let version = head.i64(0)?;
        let reason =
            format!("主体代码更正：原记录{old_id}已按时报送，本记录按其首次报送时间判断为按时");
        self.conn.execute(
            "INSERT INTO record_versions (record_key, version_no, subject_key, class_code, source_unit,
                change, reason, actor, recorded_at, submission_id, row_no, content_hash, decided_on,
                published, repairable_from, public_ends, severity, regime, rule_version, on_time,
                linked, id_suspect, payload, sealed)
             SELECT record_key, version_no + 1, subject_key, class_code, source_unit, 'corrected',
                $1, $2, $3, submission_id, row_no, content_hash, decided_on, published,
                repairable_from, public_ends, severity, regime, rule_version, $6, linked,
                id_suspect, payload, sealed
             FROM record_versions WHERE subject_key = $4 AND record_key = $5 AND version_no = $7",
            &[
                reason.into(),
                self.actor.as_str().into(),
                self.now.into(),
                c.subject.as_str().into(),
                key.clone(),
                Val::Bool(true),
                Val::Int(version),
            ],
        )?;
        self.conn.execute(
            "UPDATE records SET current_version = $1, change = 'corrected', updated_at = $2
             WHERE subject_key = $3 AND record_key = $4",
            &[
                Val::Int(version + 1),
                self.now.into(),
                c.subject.as_str().into(),
                key,
            ],
        )?;
        if let Some(d) = head.opt_date(2)? {
            let linked = head.bool(3)?;
            self.add_to_month(d, -1, linked, Some(false));
            self.add_to_month(d, 1, linked, Some(true));
        }
        Ok(())
    }

    /// Whether a record of this unit and class files the decision `key` (or the same number
    /// with its year bracketed the other way, `otherwise`) and stands (not withdrawn): it counts
    /// as reported and accepted already.
    fn decision_stands(
        &mut self,
        key: [u8; 16],
        otherwise: Option<[u8; 16]>,
    ) -> Result<bool, StoreError> {
        Ok(!self
            .conn
            .query(
                "SELECT 1 FROM records WHERE source_unit = $1 AND class_code = $2
                   AND decision_key IN ($3, $4) AND change IN ('created', 'corrected', 'repaired')
                 LIMIT 1",
                &[
                    self.source_unit.as_str().into(),
                    self.class_code.as_str().into(),
                    Val::Bytes(key.to_vec()),
                    Val::Bytes(otherwise.unwrap_or(key).to_vec()),
                ],
            )?
            .is_empty())
    }

    /// Records rejected rows with their problems.
    pub fn reject(&mut self, rejections: &[Rejection]) -> Result<(), StoreError> {
        if rejections.is_empty() {
            return Ok(());
        }
        // Each rejected decision counts once, in its decision's month (or, when its date cannot
        // be read, in the month it was received); one already rejected and not accepted since
        // is not counted again.
        let today = domain::clock::beijing(self.now).date_naive();
        let received = today.format("%Y-%m").to_string();
        let mut counted: Vec<Option<String>> = Vec::with_capacity(rejections.len());
        for r in rejections {
            // A date in the future (refused as such) counts in the month received too.
            let month = r
                .decided_on
                .filter(|d| *d <= today)
                .map(|d| d.format("%Y-%m").to_string())
                .unwrap_or_else(|| received.clone());
            let taken = r
                .decision_key
                .is_some_and(|k| self.taken_decisions.contains(&k));
            let counts = match (r.decision_key, r.refused_decision && !taken) {
                (_, false) => false,
                (None, true) => true,
                // A resend refused of a decision the unit reported before and that stands is
                // not one more reported decision (not while the indexes are set aside).
                (Some(k), true)
                    if self.deferred.is_empty()
                        && self.decision_stands(k, r.decision_key_otherwise)? =>
                {
                    false
                }
                (Some(k), true) => {
                    let added = self.conn.execute(
                        "INSERT INTO open_rejections (source_unit, class_code, decision_key, month)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (source_unit, class_code, decision_key) DO NOTHING",
                        &[
                            self.source_unit.as_str().into(),
                            self.class_code.as_str().into(),
                            hex::encode(k).into(),
                            month.as_str().into(),
                        ],
                    )? == 1;
                    if added && let Some(open) = self.open_decisions.as_mut() {
                        open.insert(k);
                    }
                    added
                }
            };
            if counts {
                self.monthly.entry(month.clone()).or_default()[3] += 1;
            }
            counted.push((counts && r.decision_key.is_none()).then_some(month));
        }
        let rows: Vec<Vec<Val>> = rejections
            .iter()
            .zip(counted)
            .map(|(r, month)| {
                let problems = serde_json::to_string(&r.problems).unwrap_or_else(|_| "[]".into());
                vec![
                    Val::Int(self.submission_id),
                    Val::Int(r.row_no as i64),
                    problems.into(),
                    Val::Bytes(r.raw_sealed.clone()),
                    r.decided_on.into(),
                    r.decision_key.map(hex::encode).into(),
                    month.into(),
                ]
            })
            .collect();
        self.conn.copy_in(
            "rejections",
            &[
                "submission_id",
                "row_no",
                "problems",
                "raw_sealed",
                "decided_on",
                "decision_key",
                "counted_month",
            ],
            &rows,
        )?;
        self.counts.rows_read += rejections.len() as u64;
        self.counts.rejected += rejections.len() as u64;
        Ok(())
    }

    /// A list entry's correction from its source unit keeps the rectification deadline the
    /// deciding unit set (MD_ZGQX), which the unit's file does not carry: the payload to write
    /// for a corrected row, when it differs from the row's own.
    /// Whether a correction changes the subject's name the corrected record carried (its
    /// version `previous` named it otherwise): only then is the row's name the unit's word on
    /// the subject's name — a correction of an amount says nothing of it, whatever spelling
    /// the row carries. (The name item is found as the one whose value is the subject's name.)
    pub(crate) fn name_changed(
        &mut self,
        row: &PreparedRow,
        previous: i64,
    ) -> Result<bool, StoreError> {
        let new = crate::model::payload_pairs(&row.payload);
        let Some((item, _)) = new
            .iter()
            .find(|(_, v)| domain::text::subject_name(v) == row.subject.name)
        else {
            return Ok(false);
        };
        let Some(old) = self.conn.query_one(
            "SELECT payload FROM record_versions
             WHERE subject_key = $1 AND record_key = $2 AND version_no = $3",
            &[
                row.subject.key.as_str().into(),
                Val::Bytes(row.record_key.to_vec()),
                Val::Int(previous),
            ],
        )?
        else {
            return Ok(false);
        };
        Ok(crate::model::payload_pairs(&old.text(0)?)
            .into_iter()
            .find(|(k, _)| k == item)
            .is_some_and(|(_, was)| {
                domain::text::person_name_key(&was)
                    != domain::text::person_name_key(&row.subject.name)
            }))
    }

    pub(crate) fn carried_payload(
        &mut self,
        row: &PreparedRow,
        current_version: i64,
    ) -> Result<Option<String>, StoreError> {
        const DEADLINE: &str = "MD_ZGQX";
        if self.events != Some(false) || row.payload.contains(&format!("\"{DEADLINE}\"")) {
            return Ok(None);
        }
        let Some(old) = self.conn.query_one(
            "SELECT payload FROM record_versions
             WHERE subject_key = $1 AND record_key = $2 AND version_no = $3",
            &[
                row.subject.key.as_str().into(),
                Val::Bytes(row.record_key.to_vec()),
                Val::Int(current_version),
            ],
        )?
        else {
            return Ok(None);
        };
        let Some(deadline) = crate::model::payload_pairs(&old.text(0)?)
            .into_iter()
            .find(|(k, _)| k == DEADLINE)
            .map(|(_, v)| v)
        else {
            return Ok(None);
        };
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.payload).map_err(|e| StoreError::Decode(e.to_string()))?;
        map.insert(DEADLINE.into(), serde_json::Value::String(deadline));
        Ok(Some(serde_json::Value::Object(map).to_string()))
    }

    /// Asks for record events (what subscribers are alerted of) for the versions this submission
    /// writes: all of them (list entries) or only serious ones (penalties).
    pub fn watch(&mut self, serious_only: bool) {
        self.events = Some(serious_only);
    }

    /// What the submission keeps for its unit beyond its rows: the notices its import gave and
    /// the columns it passed over (shown with the submission later, not only in the reply).
    pub fn keep_notes(&mut self, notices: &[String], unknown_columns: &[String]) {
        let arr = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        self.kept_notes = Some((arr(notices), arr(unknown_columns)));
    }

    /// Writes the digest and size of the bytes as received and the counts, and commits the
    /// whole submission.
    pub fn commit(mut self, digest: &str, byte_size: u64) -> Result<(i64, Counts), StoreError> {
        self.settle_superseded()?;
        // Indexes set aside for a large submission come back first: the events below read them.
        // Their sort spills to temporary files, not memory, and its in-memory runs are sized by
        // the page cache, which is made small for it: memory stays bounded however large the
        // submission (the pages the import dirtied are written out as the cache shrinks).
        let deferred = std::mem::take(&mut self.deferred);
        let bulk_loaded = !deferred.is_empty();
        if bulk_loaded && self.conn.backend() == Backend::Postgres {
            // Sorts of this size belong in memory (the default 64 MB spills to files).
            self.conn
                .batch("SET LOCAL maintenance_work_mem = '512MB'")?;
            deferred.iter().try_for_each(|sql| self.conn.batch(sql))?;
        } else if bulk_loaded {
            let cache = self
                .conn
                .query_one("PRAGMA cache_size", &[])?
                .map_or(Ok(-2000), |r| r.i64(0))?;
            self.conn
                .batch("PRAGMA temp_store = FILE; PRAGMA cache_size = -65536")?;
            let rebuilt = deferred.iter().try_for_each(|sql| self.conn.batch(sql));
            // The connection goes back to the pool either way: its settings too.
            self.conn.batch(&format!(
                "PRAGMA temp_store = MEMORY; PRAGMA cache_size = {cache}"
            ))?;
            rebuilt?;
        }
        let c = self.counts;
        self.conn.execute(
            "UPDATE submissions SET rows_read = $1, accepted = $2, rejected = $3, unchanged = $4,
                created = $5, corrected = $6, linked = $7, suspect = $8, on_time = $9,
                digest = $11, byte_size = $12, notices = $13, unknown_columns = $14
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
                self.kept_notes.as_ref().map(|(n, _)| n.as_str()).into(),
                self.kept_notes.as_ref().map(|(_, u)| u.as_str()).into(),
            ],
        )?;
        for (subject, key) in std::mem::take(&mut self.reported_again) {
            crate::withdraw::recount_first_version(&mut *self.conn, &subject, &key, 1)?;
            // Back on the portal's search if its withdrawal had taken it off (the index reads
            // subjects changed since it last looked).
            self.conn.execute(
                "UPDATE subjects SET updated_at = $2 WHERE subject_key = $1 AND NOT registered",
                &[subject.as_str().into(), self.now.into()],
            )?;
        }
        for k in std::mem::take(&mut self.closed_decisions) {
            let closed = self.conn.query(
                "DELETE FROM open_rejections WHERE source_unit = $1 AND class_code = $2 AND decision_key = $3
                 RETURNING month",
                &[
                    self.source_unit.as_str().into(),
                    self.class_code.as_str().into(),
                    hex::encode(k).into(),
                ],
            )?;
            for r in closed {
                self.monthly.entry(r.text(0)?).or_default()[3] -= 1;
            }
        }
        for (month, m) in std::mem::take(&mut self.monthly) {
            self.conn.execute(
                "INSERT INTO publicity_monthly (source_unit, class_code, month, accepted, linked, on_time, rejected)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (source_unit, class_code, month) DO UPDATE SET
                    accepted = publicity_monthly.accepted + excluded.accepted,
                    linked = publicity_monthly.linked + excluded.linked,
                    on_time = publicity_monthly.on_time + excluded.on_time,
                    rejected = publicity_monthly.rejected + excluded.rejected",
                &[
                    self.source_unit.as_str().into(),
                    self.class_code.as_str().into(),
                    month.into(),
                    Val::Int(m[0]),
                    Val::Int(m[1]),
                    Val::Int(m[2]),
                    Val::Int(m[3]),
                ],
            )?;
        }
        if let Some(serious_only) = self.events {
            self.conn.execute(
                "INSERT INTO record_events (subject_key, record_key, version_no, class_code, change,
                    severity, source_unit, at)
                 SELECT subject_key, record_key, version_no, class_code, change, severity,
                    source_unit, recorded_at
                 FROM record_versions WHERE submission_id = $1 AND ($2 = 0 OR severity = '严重')
                 ORDER BY row_no",
                &[Val::Int(self.submission_id), Val::Int(serious_only as i64)],
            )?;
        }
        self.conn.commit()?;
        // A large submission changes the tables' shape faster than autovacuum notices: fresh
        // statistics now, or the planner misjudges every lookup until it does. After a bulk
        // load (indexes set aside) the tables are vacuumed too: until then every first read of
        // a new row looks up its transaction's fate and dirties its page (hint bits), and no
        // page is known all-visible — the service's first hours after a load pay for both
        // (1 M records: 1.3 s of VACUUM here; requests/s after it about 10% higher, noisy).
        // The submission is committed whatever happens here: a failure is only reported.
        let pg = self.conn.backend() == Backend::Postgres;
        let refresh = if pg && bulk_loaded {
            Some("VACUUM (ANALYZE) records, record_versions, subjects")
        } else if pg && c.accepted >= ANALYZE_AFTER_ROWS {
            Some("ANALYZE records; ANALYZE record_versions; ANALYZE subjects")
        } else {
            None
        };
        if let Some(sql) = refresh
            && let Err(e) = self.conn.batch(sql)
        {
            eprintln!(
                "submission {}: statistics not refreshed: {e}",
                self.submission_id
            );
        }
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
}

impl Store {
    /// Gives records stored before migration 0009 their decision's key (for telling a decision
    /// filed under two subjects), from their current version's items, and keys anew those
    /// whose number has a 第 or zeros before its serial (keyed as written before the key read
    /// such a serial plainly): `classes` names each monitored class's key items (the 文书号).
    /// Returns how many were given one. Run by `xinyong migrate`; pages through the records by
    /// key, so it reads each once.
    pub fn backfill_decision_keys(
        &self,
        classes: &[(String, Vec<String>)],
    ) -> Result<u64, StoreError> {
        // A 第, or a zero after a year's closing bracket (in any of the ways units write one).
        let written = ["第".to_string()]
            .into_iter()
            .chain(
                ["〕", ")", "）", "]", "】", "］", "〗"]
                    .iter()
                    .flat_map(|b| ["0", "０"].map(|z| format!("{b}{z}"))),
            )
            .map(|p| format!("v.payload LIKE '%{p}%'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut done = 0;
        for (class, items) in classes {
            let mut after: (String, Vec<u8>) = (String::new(), Vec::new());
            loop {
                let page = self.read(|c| {
                    c.query(
                        &format!(
                            "SELECT r.subject_key, r.record_key, v.payload, r.decision_key
                             FROM records r
                             JOIN record_versions v ON v.subject_key = r.subject_key
                                AND v.record_key = r.record_key AND v.version_no = r.current_version
                             WHERE r.class_code = $1 AND (r.decision_key IS NULL OR {written})
                               AND (r.subject_key > $2 OR (r.subject_key = $2 AND r.record_key > $3))
                             ORDER BY r.subject_key, r.record_key LIMIT 5000"
                        ),
                        &[
                            class.as_str().into(),
                            after.0.as_str().into(),
                            Val::Bytes(after.1.clone()),
                        ],
                    )
                })?;
                let Some(last) = page.last() else {
                    break;
                };
                after = (last.text(0)?, last.bytes(1)?);
                let mut keyed = Vec::new();
                for r in &page {
                    let payload: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(&r.text(2)?).unwrap_or_default();
                    let values: Vec<&str> = items
                        .iter()
                        .map(|i| payload.get(i).and_then(|v| v.as_str()).unwrap_or_default())
                        .collect();
                    if let Some(k) = domain::monitoring::decision_key(class, &values)
                        && r.opt_bytes(3)?.is_none_or(|stored| stored[..] != k[..])
                    {
                        keyed.push((r.text(0)?, r.bytes(1)?, k));
                    }
                }
                done += self.write(|c| {
                    let mut n = 0;
                    for (subject, key, k) in &keyed {
                        n += c.execute(
                            "UPDATE records SET decision_key = $1
                             WHERE subject_key = $2 AND record_key = $3",
                            &[
                                Val::Bytes(k.to_vec()),
                                subject.as_str().into(),
                                Val::Bytes(key.clone()),
                            ],
                        )?;
                    }
                    Ok(n)
                })?;
            }
        }
        Ok(done)
    }
}
