//! Ending a record: withdrawal (撤回) by the source unit, of one record or of every record a
//! submission wrote, and repair (信用修复) once approved. Each gets a new version saying who,
//! when and why; nothing is deleted.

use chrono::{DateTime, Utc};

use crate::conn::{Conn, Val};
use crate::model::{Channel, parse_record_id, record_id};
use crate::{Store, StoreError};

/// Why a unit cannot withdraw a commitment a subject signed in its credit-repair application.
const CASE_COMMITMENT: &str = "这是信用主体在信用修复申请中签署的信用修复承诺，由平台登记在受理单位名下并已公开，报送单位不能撤回；如承诺有误，请联系市信用办";

/// Who withdraws and why.
/// How the reason of a version that restores a withdrawn record begins.
pub const RESTORE_REASON: &str = "撤回有误，恢复原记录：";

/// How the reason of a withdrawal begins when the decision itself was revoked or changed by
/// law (复议、诉讼撤销, 自行纠正): the record leaves publicity, but the decision was made and
/// reported in time, and still counts in 双公示 monitoring (a unit withdrawing a revoked
/// decision saw its 上报率 fall, and was told it had not reported it).
pub const REVOKED_REASON: &str = "决定已被依法撤销或变更：";

#[derive(Debug, Clone)]
pub struct Withdrawal<'a> {
    pub unit: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// Moves a record in or out of the 双公示 monitoring rollup (`publicity_monthly`): `delta` = -1
/// when it is withdrawn, +1 when it is reported again after a withdrawal. A record counts under
/// its first version's unit, with its first version's 关联, in the month of its current decision
/// date and with its current timeliness (a correction judges that again from the first receipt:
/// `SubmissionWriter::rejudge_correction`); records without a decision date are left alone.
pub(crate) fn recount_first_version(
    c: &mut dyn Conn,
    subject: &str,
    key: &[u8],
    delta: i64,
) -> Result<(), StoreError> {
    // A withdrawal of a decision revoked by law leaves it counted: neither that withdrawal
    // nor the record's coming back after it moves the count.
    // (The latest withdrawal: the one just written, or the one the record comes back from.)
    let revoked = c
        .query_one(
            "SELECT reason FROM record_versions
             WHERE subject_key = $1 AND record_key = $2 AND change = 'withdrawn'
             ORDER BY version_no DESC LIMIT 1",
            &[subject.into(), Val::Bytes(key.to_vec())],
        )?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten()
        .is_some_and(|why| why.starts_with(REVOKED_REASON));
    if revoked {
        return Ok(());
    }
    let Some(first) = c.query_one(
        "SELECT v1.source_unit, v1.class_code, vc.decided_on, v1.linked, vc.on_time
         FROM records r
         JOIN record_versions v1 ON v1.subject_key = r.subject_key
            AND v1.record_key = r.record_key AND v1.version_no = 1 AND v1.change = 'created'
         JOIN record_versions vc ON vc.subject_key = r.subject_key
            AND vc.record_key = r.record_key AND vc.version_no = r.current_version
         WHERE r.subject_key = $1 AND r.record_key = $2",
        &[subject.into(), Val::Bytes(key.to_vec())],
    )?
    else {
        return Ok(());
    };
    let Some(decided) = first.opt_date(2)? else {
        return Ok(());
    };
    let flag = |b: bool| Val::Int(delta * i64::from(b));
    c.execute(
        "INSERT INTO publicity_monthly (source_unit, class_code, month, accepted, linked, on_time, rejected)
         VALUES ($1, $2, $3, $4, $5, $6, 0)
         ON CONFLICT (source_unit, class_code, month) DO UPDATE SET
            accepted = publicity_monthly.accepted + excluded.accepted,
            linked = publicity_monthly.linked + excluded.linked,
            on_time = publicity_monthly.on_time + excluded.on_time",
        &[
            first.text(0)?.into(),
            first.text(1)?.into(),
            decided.format("%Y-%m").to_string().into(),
            Val::Int(delta),
            flag(first.bool(3)?),
            flag(first.bool(4)?),
        ],
    )?;
    Ok(())
}

/// Ends a record with a new version: `withdrawn` (by its source unit) or `repaired` (by the
/// deciding unit or the credit office, after a repair is approved).
pub(crate) fn end_on(
    c: &mut dyn Conn,
    subject: &str,
    key: &[u8],
    w: &Withdrawal<'_>,
    change: &str,
) -> Result<(), StoreError> {
    let id = record_id(subject, key);
    let head = c
        .query_one(
            "SELECT source_unit, current_version, change FROM records
             WHERE subject_key = $1 AND record_key = $2",
            &[subject.into(), Val::Bytes(key.to_vec())],
        )?
        .ok_or_else(|| StoreError::NotFound(format!("记录{id}不存在")))?;
    let (owner, version, current) = (head.text(0)?, head.i64(1)?, head.text(2)?);
    // Another unit's record answers as one that does not exist: a unit may not learn from a
    // withdrawal what others reported, or that it exists.
    if change == "withdrawn" && owner != w.unit {
        return Err(StoreError::Concealed(format!("记录{id}不存在")));
    }
    match current.as_str() {
        "withdrawn" => return Err(StoreError::Refused(format!("记录{id}已撤回"))),
        "repaired" => return Err(StoreError::Refused(format!("记录{id}已修复"))),
        _ => {}
    }
    // The withdrawn version repeats the content of the version it ends.
    let n = c.execute(
        "INSERT INTO record_versions (record_key, version_no, subject_key, class_code, source_unit,
            change, reason, actor, recorded_at, submission_id, row_no, content_hash, decided_on,
            published, repairable_from, public_ends, severity, regime, rule_version, on_time,
            linked, id_suspect, payload, sealed)
         SELECT record_key, version_no + 1, subject_key, class_code, source_unit, $7, $1,
            $2, $3, NULL, NULL, content_hash, decided_on, published, repairable_from, public_ends,
            severity, regime, rule_version, on_time, linked, id_suspect, payload, sealed
         FROM record_versions WHERE subject_key = $4 AND record_key = $5 AND version_no = $6",
        &[
            w.reason.into(),
            w.actor.into(),
            w.at.into(),
            subject.into(),
            Val::Bytes(key.to_vec()),
            Val::Int(version),
            change.into(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Decode(format!(
            "record {id} has no version {version}"
        )));
    }
    // A withdrawn record no longer counts as reported and accepted in 双公示 monitoring (a
    // repaired one was reported, and still counts).
    if change == "withdrawn" {
        recount_first_version(c, subject, key, -1)?;
        end_open_cases(c, subject, key, &id, w, None)?;
        forget_withdrawn_names(c, subject, key)?;
        // An unregistered subject whose last record not withdrawn this was leaves the portal's
        // search: its update time tells the index to look at it again.
        c.execute(
            "UPDATE subjects SET updated_at = $3 WHERE subject_key = $1 AND NOT registered
               AND NOT EXISTS (SELECT 1 FROM records r WHERE r.subject_key = $1
                               AND r.change <> 'withdrawn' AND r.record_key <> $2)",
            &[subject.into(), Val::Bytes(key.to_vec()), w.at.into()],
        )?;
    }
    // Subscribers hear of the end of a record they heard of at its start (list entries,
    // serious penalties).
    c.execute(
        "INSERT INTO record_events (subject_key, record_key, version_no, class_code, change,
            severity, source_unit, at)
         SELECT subject_key, record_key, version_no, class_code, change, severity, source_unit,
            recorded_at
         FROM record_versions WHERE subject_key = $1 AND record_key = $2 AND version_no = $3
           AND EXISTS (SELECT 1 FROM record_events e WHERE e.subject_key = $1 AND e.record_key = $2)",
        &[subject.into(), Val::Bytes(key.to_vec()), Val::Int(version + 1)],
    )?;
    // The head says how the record ended: a repaired record must not come back when its unit
    // sends the same decision again, while a withdrawn one may be reported anew.
    c.execute(
        "UPDATE records SET current_version = $1, change = $5, updated_at = $2
         WHERE subject_key = $3 AND record_key = $4",
        &[
            Val::Int(version + 1),
            w.at.into(),
            subject.into(),
            Val::Bytes(key.to_vec()),
            change.into(),
        ],
    )?;
    Ok(())
}

/// The other names a subject was reported under (`subject_names`, the 重错码 findings) that no
/// record of it in force still carries, once one is withdrawn: a finding that came only from
/// a withdrawn row leaves with it (it stayed, and only "marked verified" would clear it). The
/// record ended here is read as ended (its head moves after this). A name is looked for in the
/// records' payloads with brackets as the master keeps them (`text::subject_name`); a name
/// that is part of another's keeps its finding.
fn forget_withdrawn_names(c: &mut dyn Conn, subject: &str, key: &[u8]) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM subject_names WHERE subject_key = $1 AND NOT EXISTS (
             SELECT 1 FROM records r
             JOIN record_versions v ON v.subject_key = r.subject_key
               AND v.record_key = r.record_key AND v.version_no = r.current_version
             WHERE r.subject_key = $1 AND r.record_key <> $2 AND r.change <> 'withdrawn'
               AND REPLACE(REPLACE(v.payload, '(', '（'), ')', '）')
                   LIKE '%' || subject_names.name || '%')",
        &[subject.into(), Val::Bytes(key.to_vec())],
    )?;
    Ok(())
}

impl Store {
    pub fn withdraw_record(&self, id: &str, w: &Withdrawal<'_>) -> Result<(), StoreError> {
        self.withdraw_record_then(id, w, &|| Ok(()))
    }

    /// Puts back a record its unit withdrew by mistake: a new version repeating the content
    /// the withdrawal ended, with who, when and why — the content as it was, not altered to
    /// pass as a correction (sent again as it was, a withdrawn record stays withdrawn). Not a
    /// record the unit withdrew on an upheld objection (异议成立，记录已撤销), nor one the
    /// platform withdrew because the unit reported the decision again otherwise (that writing
    /// sent again brings it back). `before_commit` runs in its transaction.
    pub fn restore_record_then(
        &self,
        id: &str,
        w: &Withdrawal<'_>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        let (subject, key) = parse_record_id(id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{id}”格式不对")))?;
        self.write(|c| {
            let head = c
                .query_one(
                    "SELECT source_unit, current_version, change, current_hash FROM records
                     WHERE subject_key = $1 AND record_key = $2",
                    &[subject.as_str().into(), Val::Bytes(key.clone())],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("记录{id}不存在")))?;
            let (owner, version, change) = (head.text(0)?, head.i64(1)?, head.text(2)?);
            if owner != w.unit {
                return Err(StoreError::Concealed(format!("记录{id}不存在")));
            }
            if change != "withdrawn" {
                return Err(StoreError::Refused(format!(
                    "记录{id}未被撤回，无需恢复"
                )));
            }
            if head.bytes(3)?.iter().all(|b| *b == 0) {
                return Err(StoreError::Refused(format!(
                    "记录{id}是因本单位以另一种文书号写法重报同一决定而由平台撤回的，不能恢复；如需以原写法公示，请按原写法重新报送该行"
                )));
            }
            let upheld = c
                .query_one(
                    "SELECT case_id FROM cases WHERE kind = 'objection' AND record_id = $1
                        AND state = 'record_withdrawn'",
                    &[id.into()],
                )?
                .map(|r| r.i64(0))
                .transpose()?;
            if let Some(case) = upheld {
                return Err(StoreError::Refused(format!(
                    "记录{id}是在第{case}号异议中核实后撤销的，不能恢复；如确属错误，请联系市信用办"
                )));
            }
            let n = c.execute(
                "INSERT INTO record_versions (record_key, version_no, subject_key, class_code,
                    source_unit, change, reason, actor, recorded_at, submission_id, row_no,
                    content_hash, decided_on, published, repairable_from, public_ends, severity,
                    regime, rule_version, on_time, linked, id_suspect, payload, sealed)
                 SELECT record_key, version_no + 1, subject_key, class_code, source_unit,
                    'corrected', $1, $2, $3, NULL, NULL, content_hash, decided_on, published,
                    repairable_from, public_ends, severity, regime, rule_version, on_time, linked,
                    id_suspect, payload, sealed
                 FROM record_versions WHERE subject_key = $4 AND record_key = $5 AND version_no = $6",
                &[
                    format!("{RESTORE_REASON}{}", w.reason).into(),
                    w.actor.into(),
                    w.at.into(),
                    subject.as_str().into(),
                    Val::Bytes(key.clone()),
                    Val::Int(version),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Decode(format!(
                    "record {id} has no version {version}"
                )));
            }
            // Back in 双公示 monitoring, as a withdrawn record reported again is.
            recount_first_version(c, &subject, &key, 1)?;
            // Subscribers who heard of its withdrawal hear of it again.
            c.execute(
                "INSERT INTO record_events (subject_key, record_key, version_no, class_code,
                    change, severity, source_unit, at)
                 SELECT subject_key, record_key, version_no, class_code, change, severity,
                    source_unit, recorded_at
                 FROM record_versions WHERE subject_key = $1 AND record_key = $2 AND version_no = $3
                   AND EXISTS (SELECT 1 FROM record_events e WHERE e.subject_key = $1
                               AND e.record_key = $2)",
                &[
                    subject.as_str().into(),
                    Val::Bytes(key.clone()),
                    Val::Int(version + 1),
                ],
            )?;
            c.execute(
                "UPDATE records SET current_version = $1, change = 'corrected', updated_at = $2
                 WHERE subject_key = $3 AND record_key = $4",
                &[
                    Val::Int(version + 1),
                    w.at.into(),
                    subject.as_str().into(),
                    Val::Bytes(key.clone()),
                ],
            )?;
            // An unregistered subject known only from this record is back in the search.
            c.execute(
                "UPDATE subjects SET updated_at = $2 WHERE subject_key = $1 AND NOT registered",
                &[subject.as_str().into(), w.at.into()],
            )?;
            before_commit()
        })
    }

    /// [`Store::withdraw_record`], running `before_commit` in its transaction.
    pub fn withdraw_record_then(
        &self,
        id: &str,
        w: &Withdrawal<'_>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        let (subject, key) = parse_record_id(id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{id}”格式不对")))?;
        self.write(|c| {
            // A commitment the subject signed in its application (registered under the unit
            // that handles the case) is the subject's word, shown with the case: not the
            // unit's to withdraw. (Asked of the record's own batches only: the unit's.)
            let signed = c
                .query_one(
                    "SELECT 1 FROM record_versions v
                       JOIN submissions s ON s.submission_id = v.submission_id
                     WHERE v.subject_key = $1 AND v.record_key = $2 AND s.channel = 'case'
                       AND s.source_unit = $3",
                    &[
                        subject.as_str().into(),
                        Val::Bytes(key.clone()),
                        w.unit.into(),
                    ],
                )?
                .is_some();
            if signed {
                return Err(StoreError::Refused(CASE_COMMITMENT.into()));
            }
            end_on(c, &subject, &key, w, "withdrawn")?;
            before_commit()
        })
    }

    /// Withdraws the commitment a repair application signed, when the application ended without
    /// a repair (the platform's step: the unit may not withdraw the subject's word). False when
    /// it is withdrawn already.
    pub fn lapse_commitment(&self, id: &str, w: &Withdrawal<'_>) -> Result<bool, StoreError> {
        let (subject, key) = parse_record_id(id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{id}”格式不对")))?;
        self.write(|c| {
            let current = c
                .query_one(
                    "SELECT change FROM records WHERE subject_key = $1 AND record_key = $2",
                    &[subject.as_str().into(), Val::Bytes(key.clone())],
                )?
                .map(|r| r.text(0))
                .transpose()?;
            if !matches!(current.as_deref(), Some("created" | "corrected")) {
                return Ok(false);
            }
            end_on(c, &subject, &key, w, "withdrawn")?;
            Ok(true)
        })
    }

    /// Records an approved repair: the record leaves every public view in this transaction; its
    /// history stays. (`w.unit` is the deciding unit or the credit office that approved it.)
    pub fn repair_record(&self, id: &str, w: &Withdrawal<'_>) -> Result<(), StoreError> {
        let (subject, key) = parse_record_id(id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{id}”格式不对")))?;
        self.write(|c| end_on(c, &subject, &key, w, "repaired"))
    }

    /// Withdraws every record whose current version this submission wrote (created or
    /// corrected); says how many, and what it left: records a later batch has corrected since
    /// (their current version is that batch's). A withdrawal that would withdraw nothing because
    /// the batch only re-sent rows unchanged or its records were all corrected since is refused,
    /// naming both counts and the later batches, rather than marking the batch withdrawn.
    pub fn withdraw_submission(
        &self,
        submission_id: i64,
        w: &Withdrawal<'_>,
    ) -> Result<BatchWithdrawal, StoreError> {
        self.withdraw_submission_then(submission_id, w, &|| Ok(()))
    }

    /// [`Store::withdraw_submission`], running `before_commit` in its transaction.
    pub fn withdraw_submission_then(
        &self,
        submission_id: i64,
        w: &Withdrawal<'_>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<BatchWithdrawal, StoreError> {
        self.write(|c| {
            let sub = c
                .query_one(
                    "SELECT source_unit, status, channel, accepted, rejected FROM submissions WHERE submission_id = $1",
                    &[Val::Int(submission_id)],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("报送批次{submission_id}不存在")))?;
            // As when reading it: another unit's submission is not there for this unit.
            if sub.text(0)? != w.unit {
                return Err(StoreError::Concealed(format!("报送批次{submission_id}不存在")));
            }
            if sub.text(2)? == Channel::Case.as_str() {
                return Err(StoreError::Refused(CASE_COMMITMENT.into()));
            }
            if sub.text(1)? == "withdrawn" {
                return Err(StoreError::Refused(format!("报送批次{submission_id}已撤回")));
            }
            // A batch of which no row was accepted published nothing: there is nothing to take
            // back (it used to be marked withdrawn, answering "0 withdrawn").
            if sub.i64(3)? == 0 {
                return Err(StoreError::Refused(format!(
                    "报送批次{submission_id}没有入库的记录（{}行均已退回），无需撤回：改正退回的行后重新报送即可",
                    sub.i64(4)?
                )));
            }
            // The records it wrote (created or corrected) — what the batch changed. Rows it sent
            // again as they stood changed nothing: an earlier batch published those records, and
            // withdrawing this one leaves them (else undoing a re-send of a month's file took
            // the whole month off the portal). A batch that wrote nothing is refused, saying so.
            // Whose a record is: the batch of its latest version that came from a batch — a list
            // action (a rectification deadline) or a repair writes a version of no batch, and
            // does not take the record from the batch that reported it.
            const LAST_BATCH: &str = "(SELECT v.submission_id FROM record_versions v
                  WHERE v.subject_key = r.subject_key AND v.record_key = r.record_key
                    AND v.submission_id IS NOT NULL
                  ORDER BY v.version_no DESC LIMIT 1)";
            const OF_BATCH: &str = "FROM records r
                 JOIN (SELECT DISTINCT subject_key, record_key FROM record_versions
                       WHERE submission_id = $1) b
                   ON b.subject_key = r.subject_key AND b.record_key = r.record_key
                 WHERE r.change NOT IN ('withdrawn', 'repaired')";
            let keys = c.query(
                &format!(
                    "SELECT r.subject_key, r.record_key {OF_BATCH} AND {LAST_BATCH} = $1"
                ),
                &[Val::Int(submission_id)],
            )?;
            // Records it wrote that a later batch corrected: the correction is what is published
            // now, and it is that batch's to withdraw — left, but said. (Each record counts once,
            // under the batch of its latest version.)
            let later = c.query(
                &format!(
                    "SELECT t.last_batch, COUNT(*) FROM (SELECT {LAST_BATCH} AS last_batch {OF_BATCH}) t
                     WHERE t.last_batch <> $1 GROUP BY t.last_batch ORDER BY t.last_batch"
                ),
                &[Val::Int(submission_id)],
            )?;
            let mut left = BatchWithdrawal::default();
            for r in &later {
                left.left_corrected_later += u64::try_from(r.i64(1)?).unwrap_or(0);
                left.corrected_by.push(r.i64(0)?);
            }
            if keys.is_empty() {
                // (Reads the record heads without an index: a batch withdrawal is rare.)
                let resent = c
                    .query_one(
                        "SELECT COUNT(*) FROM records
                         WHERE last_submission = $1 AND change IN ('created', 'corrected')",
                        &[Val::Int(submission_id)],
                    )?
                    .map(|r| r.i64(0))
                    .transpose()?
                    .unwrap_or(0);
                // Rows re-sending records withdrawn or repaired before: they stayed as they were
                // (a batch of only those was marked withdrawn, having withdrawn nothing).
                let ended = c
                    .query_one(
                        "SELECT COUNT(*) FROM records
                         WHERE last_submission = $1 AND change NOT IN ('created', 'corrected')",
                        &[Val::Int(submission_id)],
                    )?
                    .map(|r| r.i64(0))
                    .transpose()?
                    .unwrap_or(0);
                {
                    let mut why = Vec::new();
                    if resent > 0 {
                        why.push(format!(
                            "{resent}条与此前批次报送的内容相同（原样重报），未改变任何记录"
                        ));
                    }
                    if ended > 0 {
                        why.push(format!(
                            "{ended}条是已撤回、已修复或已移出名单的记录，本批次未改变它们"
                        ));
                    }
                    if why.is_empty() && left.left_corrected_later == 0 {
                        why.push("本批次没有写入任何记录".into());
                    }
                    if left.left_corrected_later > 0 {
                        why.push(format!(
                            "{}条已被批次{}更正",
                            left.left_corrected_later,
                            left.batches()
                        ));
                    }
                    let whom = match (resent > 0, left.left_corrected_later > 0) {
                        (true, true) => "原批次或相应批次",
                        (true, false) => "原批次",
                        _ => "相应批次",
                    };
                    let tail = if resent > 0 || left.left_corrected_later > 0 {
                        format!(
                            "撤回本批次不会撤回它们；如需撤回这些记录，请撤回{whom}或逐条撤回"
                        )
                    } else {
                        "无需撤回".to_string()
                    };
                    return Err(StoreError::Refused(format!(
                        "报送批次{submission_id}没有可撤回的记录：其中{}，{tail}",
                        why.join("，")
                    )));
                }
            }
            for k in &keys {
                end_on(c, &k.text(0)?, &k.bytes(1)?, w, "withdrawn")?;
            }
            c.execute(
                "UPDATE submissions SET status = 'withdrawn', status_reason = $1 WHERE submission_id = $2",
                &[w.reason.into(), Val::Int(submission_id)],
            )?;
            left.withdrawn = keys.len() as u64;
            before_commit()?;
            Ok(left)
        })
    }
}

/// What a batch withdrawal did: the records it withdrew, and those it left because a later
/// batch corrected them since (those batches' numbers, ascending).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchWithdrawal {
    pub withdrawn: u64,
    pub left_corrected_later: u64,
    pub corrected_by: Vec<i64>,
}

impl BatchWithdrawal {
    /// The later batches' numbers as a clerk reads them: 12、15.
    pub fn batches(&self) -> String {
        self.corrected_by
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// Who ended a list entry: what an application on it is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndedBy {
    Unit,
    Office,
    Platform,
}

/// How a list entry left its list, for the applications it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListEnd {
    pub kind: domain::record::ChangeKind,
    pub by: EndedBy,
}

/// A record withdrawn while a repair or an objection on it is open leaves nothing to repair or
/// to object to: each such case ends with the withdrawal, in its transaction, and its subject is
/// told why (else the case sat at its step, ran late, and could only be answered falsely — 不予修复,
/// or an objection "corrected"). A case that withdrew the record itself is already decided.
///
/// The same when a list entry left its list (`list_end`): only the applications to leave it end,
/// which have nothing left to decide (an objection to the entry still has its history to answer
/// for), and the unit they were routed to is told.
pub(crate) fn end_open_cases(
    c: &mut dyn Conn,
    subject_key: &str,
    key: &[u8],
    id: &str,
    w: &Withdrawal<'_>,
    list_end: Option<ListEnd>,
) -> Result<(), StoreError> {
    use crate::cases::{NewEvent, NewMessage, NewOutbox, SideEffects};
    use domain::record::ChangeKind;
    let kinds = if list_end.is_some() {
        " AND kind = 'repair'"
    } else {
        ""
    };
    // Locked on PostgreSQL, so that a step taken on a case at this moment waits for this end
    // (or this end sees its outcome), instead of both numbering the next event alike.
    let lock = if c.backend() == crate::conn::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let open = c.query(
        &format!(
            "SELECT case_id, kind, state, subject_key, events, unit FROM cases WHERE record_id = $1
               AND state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials'){kinds}{lock}"
        ),
        &[id.into()],
    )?;
    if open.is_empty() {
        return Ok(());
    }
    let day = domain::clock::beijing(w.at).date_naive();
    let note = match list_end {
        Some(_) => format!("名单记录已变更（{}），申请终结", w.reason),
        None => format!("信息提供单位{}已撤回该记录：{}", w.unit, w.reason),
    };
    // What became of the entry, and who did it, said plainly to the applicant.
    let by = match list_end.map(|e| e.by) {
        Some(EndedBy::Office) => "市信用办",
        _ => "认定单位",
    };
    let became = match list_end.map(|e| e.kind) {
        Some(ChangeKind::Exited) => format!("已由{by}提前移出名单，相关惩戒措施随之终止"),
        Some(ChangeKind::Revoked) => format!("的认定已由{by}撤销，不再作为失信记录使用"),
        Some(ChangeKind::Expired) => "有效期届满，已到期移出名单，相关惩戒措施随之终止".into(),
        _ => "已移出名单".into(),
    };
    // An expiry is the platform's step, not a unit's.
    let (side, unit) = match list_end.map(|e| e.by) {
        Some(EndedBy::Platform) => ("system", None),
        Some(EndedBy::Office) => ("office", None),
        _ => ("unit", Some(w.unit)),
    };
    for r in &open {
        let (case_id, kind, state, subject, seq, routed) = (
            r.i64(0)?,
            r.text(1)?,
            r.text(2)?,
            r.text(3)?,
            r.i64(4)? + 1,
            r.text(5)?,
        );
        // Only from the state read: a step that moved it since (SQLite's one writer makes that
        // impossible there; PostgreSQL's lock above makes it wait) is left as it stands.
        let n = c.execute(
            "UPDATE cases SET state = 'ended', outcome = 'ended', deadline = NULL,
                deadline_step = NULL, decided_at = $1, decided_on = $2, decision_reason = $3,
                updated_at = $1, events = events + 1
             WHERE case_id = $4 AND state = $5",
            &[
                w.at.into(),
                Val::Date(day),
                note.as_str().into(),
                Val::Int(case_id),
                state.as_str().into(),
            ],
        )?;
        if n != 1 {
            continue;
        }
        let event = NewEvent {
            action: "end".into(),
            actor: w.actor.into(),
            side: side.into(),
            unit: unit.map(str::to_string),
            at: w.at,
            note: Some(note.clone()),
        };
        crate::cases::insert_event(c, case_id, seq, Some(&state), "ended", &event)?;
        // The subject is told as of any other step of its case: a console message and an SMS.
        let what = if kind == "repair" {
            "信用修复"
        } else {
            "异议"
        };
        let (title, body) = (
            format!("{what}申请已终结"),
            match list_end {
                Some(_) => format!(
                    "您的{what}申请（编号{case_id}）所涉名单记录{became}，本申请无需再办理，随之终结。说明：{}",
                    w.reason
                ),
                None => format!(
                    "您的{what}申请（编号{case_id}）所涉记录已由{}撤回，不再公示和共享，申请随之终结。撤回理由：{}",
                    // The platform's own step (a lapsed repair commitment) is not the unit's.
                    if w.actor.starts_with("system:") {
                        "平台"
                    } else {
                        "信息提供单位"
                    },
                    w.reason
                ),
            },
        );
        let dedupe = format!("case:{case_id}:{seq}");
        let mut messages = vec![NewMessage {
            to_kind: "subject",
            to_key: subject.clone(),
            title: title.clone(),
            body: body.clone(),
            case_id: Some(case_id),
            record_id: Some(id.to_string()),
            dedupe: dedupe.clone(),
        }];
        // The unit the application was routed to no longer has it to decide (an expiry is the
        // platform's step, not its own).
        if list_end.is_some() {
            messages.push(NewMessage {
                to_kind: "unit",
                to_key: routed,
                title: format!("{what}申请已终结"),
                body: format!(
                    "{what}申请（编号{case_id}）所涉名单记录已变更（{}），申请随之终结，无需再办理。",
                    w.reason
                ),
                case_id: Some(case_id),
                record_id: Some(id.to_string()),
                dedupe: format!("{dedupe}:unit"),
            });
        }
        // A repair application ended without a repair: the commitment it signed ends too, as
        // when one is refused or withdrawn (it stayed public as 履约中).
        let jobs = if kind == "repair" {
            vec![crate::cases::NewJob {
                kind: crate::cases::COMMITMENT_LAPSE,
                key: case_id.to_string(),
                payload: format!("所涉记录已变更，信用修复申请（编号{case_id}）随之终结"),
                run_at: w.at,
            }]
        } else {
            Vec::new()
        };
        let effects = SideEffects {
            // As every step of a case is told: by SMS and by e-mail.
            outbox: ["sms", "email"]
                .into_iter()
                .map(|channel| NewOutbox {
                    channel,
                    recipient: format!("subject:{subject}"),
                    title: title.clone(),
                    body: body.clone(),
                    dedupe: format!("{dedupe}:{channel}"),
                })
                .collect(),
            messages,
            jobs,
            ..Default::default()
        };
        crate::cases::insert_effects(c, &effects, Some(case_id), w.actor, w.at)?;
    }
    // The 异议处理中 label follows the objections still open (none after a withdrawal; those on
    // a list entry that left its list stay).
    crate::cases::relabel(c, subject_key, key, id, w.at)
}
