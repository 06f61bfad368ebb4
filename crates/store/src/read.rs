//! Reading the store: submissions and their rejections, subjects, records with their versions,
//! counts, quality figures and 重错码 findings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::conn::{Backend, Conn, Row, Val};
use crate::model::*;
use crate::{Store, StoreError};

const SUBMISSION_COLUMNS: &str = "submission_id, source_unit, class_code, channel, file_name,
    format, digest, byte_size, headers, header_map, actor, received_at, rule_version, rows_read,
    accepted, rejected, unchanged, created, corrected, linked, suspect, on_time, status,
    status_reason, notices, unknown_columns";

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Decode(e.to_string()))
}

fn counts_at(r: &Row, at: usize) -> Result<Counts, StoreError> {
    let n = |i: usize| r.i64(at + i).map(|v| v as u64);
    Ok(Counts {
        rows_read: n(0)?,
        accepted: n(1)?,
        rejected: n(2)?,
        unchanged: n(3)?,
        created: n(4)?,
        corrected: n(5)?,
        linked: n(6)?,
        suspect: n(7)?,
        on_time: n(8)?,
    })
}

fn submission_from(r: &Row) -> Result<Submission, StoreError> {
    Ok(Submission {
        submission_id: r.i64(0)?,
        source_unit: r.text(1)?,
        class_code: r.text(2)?,
        channel: r.text(3)?,
        file_name: r.opt_text(4)?,
        format: r.text(5)?,
        digest: r.text(6)?,
        byte_size: r.i64(7)?,
        headers: json(&r.text(8)?)?,
        header_map: json(&r.text(9)?)?,
        actor: r.text(10)?,
        received_at: r.time(11)?,
        rule_version: r.text(12)?,
        counts: counts_at(r, 13)?,
        status: r.text(22)?,
        status_reason: r.opt_text(23)?,
        notices: r.opt_text(24)?.map_or(Ok(Vec::new()), |t| json(&t))?,
        unknown_columns: r.opt_text(25)?.map_or(Ok(Vec::new()), |t| json(&t))?,
    })
}

const VERSION_COLUMNS: &str = "record_key, class_code, source_unit, version_no, change, reason,
    actor, recorded_at, submission_id, row_no, decided_on, published, repairable_from,
    public_ends, severity, regime, rule_version, on_time, linked, id_suspect, payload";

fn version_from(r: &mut Row) -> Result<Version, StoreError> {
    Ok(Version {
        version_no: r.i64(3)?,
        change: r.text(4)?.parse().map_err(StoreError::Decode)?,
        reason: r.take_opt_text(5)?,
        actor: r.take_text(6)?,
        recorded_at: r.time(7)?,
        submission_id: r.opt_i64(8)?,
        row_no: r.opt_i64(9)?,
        decided_on: r.opt_date(10)?,
        published: r.bool(11)?,
        repairable_from: r.opt_date(12)?,
        public_ends: r.opt_date(13)?,
        severity: r.take_opt_text(14)?,
        regime: r.take_opt_text(15)?,
        rule_version: r.take_opt_text(16)?,
        on_time: match r.get(17) {
            Val::Null => None,
            _ => Some(r.bool(17)?),
        },
        linked: r.bool(18)?,
        id_suspect: r.bool(19)?,
        payload: r.take_text(20)?,
        sealed: None,
    })
}

/// Groups version rows (ordered by record, then version) into records.
fn group_versions(subject: &str, rows: Vec<Row>) -> Result<Vec<StoredRecord>, StoreError> {
    let mut out: Vec<StoredRecord> = Vec::new();
    for mut r in rows {
        let key = match r.get(0) {
            Val::Bytes(b) => record_id(subject, b),
            _ => record_id(subject, &r.bytes(0)?),
        };
        let v = version_from(&mut r)?;
        match out.last_mut() {
            Some(last) if last.record_id == key => {
                // The unit of the latest version holds the record now (a record the feed
                // brought is handed to the city's unit that reports it).
                last.source_unit = r.take_text(2)?;
                last.versions.push(v);
            }
            _ => out.push(StoredRecord {
                record_id: key,
                class_code: r.take_text(1)?,
                source_unit: r.take_text(2)?,
                under_objection: false,
                versions: vec![v],
            }),
        }
    }
    Ok(out)
}

/// The columns `subject_from` reads, in its order.
const SUBJECT_COLUMNS: &str = "subject_key, kind, name, uscc, id_type, id_masked, id_sealed,
    division, id_suspect, id_note, registered, reg_type, reg_status, industry, first_seen";

/// `columns` (a comma-separated list) each prefixed with the table alias `alias`.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|col| format!("{alias}.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject_from(r: &Row) -> Result<Subject, StoreError> {
    Ok(Subject {
        key: r.text(0)?,
        kind: r.text(1)?.parse().map_err(StoreError::Decode)?,
        name: r.text(2)?,
        uscc: r.opt_text(3)?,
        id_type: r.opt_text(4)?,
        id_masked: r.opt_text(5)?,
        id_sealed: r.opt_bytes(6)?,
        division: r.opt_text(7)?,
        id_suspect: r.bool(8)?,
        id_note: r.opt_text(9)?,
        registered: r.bool(10)?,
        reg_type: r.opt_text(11)?,
        reg_status: r.opt_text(12)?,
        industry: r.opt_text(13)?,
        first_seen: r.time(14)?,
    })
}

/// A rejection from `row_no, problems, raw_sealed`.
fn rejection_from(r: &Row) -> Result<StoredRejection, StoreError> {
    Ok(StoredRejection {
        row_no: r.i64(0)?,
        problems: json(&r.text(1)?)?,
        raw_sealed: r.bytes(2)?,
    })
}

impl Store {
    pub fn submission(&self, id: i64) -> Result<Option<Submission>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE submission_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| submission_from(&r))
            .transpose()
        })
    }

    /// Submissions, newest first, optionally of one unit.
    pub fn submissions(
        &self,
        unit: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Submission>, StoreError> {
        self.submissions_before(unit, None, limit)
    }

    /// Submissions newest first, those numbered below `before` when given (the next page).
    pub fn submissions_before(
        &self,
        unit: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Submission>, StoreError> {
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {SUBMISSION_COLUMNS} FROM submissions
                     WHERE ($1 = '' OR source_unit = $1) AND submission_id < $2
                     ORDER BY submission_id DESC LIMIT $3"
                ),
                &[
                    unit.unwrap_or("").into(),
                    Val::Int(before.unwrap_or(i64::MAX)),
                    Val::Int(limit),
                ],
            )?;
            rows.iter().map(submission_from).collect()
        })
    }

    /// [`Store::submissions_before`] of any of `units` (none: no submissions).
    pub fn submissions_of_before(
        &self,
        units: &[String],
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Submission>, StoreError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            let mut params = vec![Val::Int(before.unwrap_or(i64::MAX)), Val::Int(limit)];
            let list: Vec<String> = units
                .iter()
                .map(|u| {
                    params.push(u.as_str().into());
                    format!("${}", params.len())
                })
                .collect();
            let rows = c.query(
                &format!(
                    "SELECT {SUBMISSION_COLUMNS} FROM submissions
                     WHERE source_unit IN ({}) AND submission_id < $1
                     ORDER BY submission_id DESC LIMIT $2",
                    list.join(", ")
                ),
                &params,
            )?;
            rows.iter().map(submission_from).collect()
        })
    }

    pub fn rejections(&self, submission_id: i64) -> Result<Vec<StoredRejection>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT row_no, problems, raw_sealed FROM rejections WHERE submission_id = $1 ORDER BY row_no",
                &[Val::Int(submission_id)],
            )?
            .iter()
            .map(rejection_from)
            .collect()
        })
    }

    /// The rows of a submission that wrote a version (created or corrected), in row order.
    pub fn submission_rows(
        &self,
        submission_id: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AcceptedRow>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT v.row_no, v.subject_key, v.record_key, v.change, v.id_suspect,
                        CASE WHEN v.id_suspect THEN s.id_note END
                 FROM record_versions v LEFT JOIN subjects s ON s.subject_key = v.subject_key
                 WHERE v.submission_id = $1 ORDER BY v.row_no LIMIT $2 OFFSET $3",
                &[Val::Int(submission_id), Val::Int(limit), Val::Int(offset)],
            )?
            .iter()
            .map(|r| {
                Ok(AcceptedRow {
                    row_no: r.i64(0)?,
                    record_id: record_id(&r.text(1)?, &r.bytes(2)?),
                    change: r.text(3)?,
                    id_suspect: r.bool(4)?,
                    id_note: r.opt_text(5)?,
                })
            })
            .collect()
        })
    }

    /// The first `limit` rows a submission wrote, in row order, with their content and their
    /// record's state now.
    pub fn submission_entries(
        &self,
        submission_id: i64,
        limit: i64,
    ) -> Result<Vec<SubmissionEntry>, StoreError> {
        self.read(|c| {
            c.query(
                // (Restored: this row's version withdrawn, then put back as it was.)
                &format!(
                    "SELECT v.row_no, v.subject_key, v.record_key, v.change, v.payload, v.decided_on,
                        r.change, r.current_version = v.version_no, v.id_suspect, s.id_note,
                        r.current_version = v.version_no + 1,
                        r.current_version = v.version_no + 2 AND EXISTS (
                            SELECT 1 FROM record_versions x WHERE x.subject_key = v.subject_key
                              AND x.record_key = v.record_key AND x.version_no = r.current_version
                              AND x.submission_id IS NULL AND x.reason LIKE '{}%')
                     FROM record_versions v
                     JOIN records r ON r.subject_key = v.subject_key AND r.record_key = v.record_key
                     LEFT JOIN subjects s ON s.subject_key = v.subject_key
                     WHERE v.submission_id = $1 ORDER BY v.row_no LIMIT $2",
                    crate::RESTORE_REASON
                ),
                &[Val::Int(submission_id), Val::Int(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(SubmissionEntry {
                    row: AcceptedRow {
                        row_no: r.i64(0)?,
                        record_id: record_id(&r.text(1)?, &r.bytes(2)?),
                        change: r.text(3)?,
                        // Why a person's row did not link (a number whose area code was not in
                        // use in its birth year…), for the unit's batch page.
                        id_suspect: r.bool(8)?,
                        id_note: r.bool(8)?.then(|| r.opt_text(9)).transpose()?.flatten(),
                    },
                    payload: r.text(4)?,
                    decided_on: r.opt_date(5)?,
                    now: r.text(6)?,
                    current: r.bool(7)?,
                    latest_before_end: r.bool(10)?,
                    restored: r.bool(11)?,
                })
            })
            .collect()
        })
    }

    /// A submission's rejections after row `after`, in row order, at most `limit` (for reading
    /// them all a page at a time).
    pub fn rejections_after(
        &self,
        submission_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredRejection>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT row_no, problems, raw_sealed FROM rejections
                 WHERE submission_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3",
                &[Val::Int(submission_id), Val::Int(after), Val::Int(limit)],
            )?
            .iter()
            .map(rejection_from)
            .collect()
        })
    }

    /// A page of a submission's rejections, in row order.
    pub fn rejections_page(
        &self,
        submission_id: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<StoredRejection>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT row_no, problems, raw_sealed FROM rejections WHERE submission_id = $1
                 ORDER BY row_no LIMIT $2 OFFSET $3",
                &[Val::Int(submission_id), Val::Int(limit), Val::Int(offset)],
            )?
            .iter()
            .map(rejection_from)
            .collect()
        })
    }

    /// The submission's bytes as received, chunk by chunk (sealed).
    pub fn submission_chunks(&self, submission_id: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT data FROM submission_chunks WHERE submission_id = $1 ORDER BY seq",
                &[Val::Int(submission_id)],
            )?
            .iter()
            .map(|r| r.bytes(0))
            .collect()
        })
    }

    /// Whether `unit` reported any record of the subject (withdrawn ones too): what a unit's
    /// officer must show before the platform tells it a person's full ID number.
    pub fn unit_reported_on(&self, unit: &str, subject_key: &str) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_one(
                "SELECT 1 FROM records WHERE subject_key = $1 AND source_unit = $2 LIMIT 1",
                &[subject_key.into(), unit.into()],
            )?
            .is_some())
        })
    }

    /// Whether any record of the subject stands other than withdrawn: a subject known only
    /// from records withdrawn as reported in error is not one the portal names.
    pub fn reported_not_withdrawn(&self, key: &str) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_one(
                "SELECT 1 FROM records WHERE subject_key = $1 AND change <> 'withdrawn' LIMIT 1",
                &[key.into()],
            )?
            .is_some())
        })
    }

    pub fn subject(&self, key: &str) -> Result<Option<Subject>, StoreError> {
        self.read(|c| subject_on(c, key))
    }

    /// The names of those of `keys` that are subjects of the store, by key: a batch review asks
    /// this once for the natural persons it checks (the name index holds organisations only).
    pub fn subject_names(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.read(|c| {
            let mut out = std::collections::HashMap::new();
            for chunk in keys.chunks(500) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let params: Vec<Val> = chunk.iter().map(|&k| k.into()).collect();
                let sql = format!(
                    "SELECT subject_key, name FROM subjects WHERE subject_key IN ({})",
                    marks.join(", ")
                );
                for r in c.query(&sql, &params)? {
                    out.insert(r.text(0)?, r.text(1)?);
                }
            }
            Ok(out)
        })
    }

    /// A subject's records with every version recorded up to `until` (all when None).
    pub fn subject_records(
        &self,
        key: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|c| records_on(c, key, until))
    }

    /// A subject and its records up to `until` together (None when the store does not know the
    /// subject): what a credit file is made of.
    ///
    /// On PostgreSQL this is one query, since each round trip to the server costs as much as the
    /// lookup itself (the service's file requests were bound by them); on SQLite, where a query
    /// is a function call, it is the three plain ones.
    pub fn subject_file(
        &self,
        key: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<(Subject, Vec<StoredRecord>)>, StoreError> {
        self.read(|c| match c.backend() {
            Backend::Sqlite => {
                let Some(subject) = subject_on(c, key)? else {
                    return Ok(None);
                };
                Ok(Some((subject, records_on(c, key, until)?)))
            }
            Backend::Postgres => subject_file_in_one(c, key, until),
        })
    }

    /// [`Store::subject_file`] for a caller on an async runtime: on PostgreSQL the query is
    /// driven on that runtime (no blocking-pool hand-off); on SQLite, whose reads are function
    /// calls of a few hundred microseconds, it is read in place.
    pub async fn subject_file_async(
        &self,
        key: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<(Subject, Vec<StoredRecord>)>, StoreError> {
        let Some(reads) = &self.async_reads else {
            return self.subject_file(key, until);
        };
        let (sql, params) = subject_file_query(key, until);
        subject_file_from(key, reads.query(sql, &params).await?)
    }

    /// One record with all its versions, by its id (`<subject_key>-<hex key>`).
    pub fn record(&self, id: &str) -> Result<Option<(String, StoredRecord)>, StoreError> {
        let Some((subject, key)) = parse_record_id(id) else {
            return Ok(None);
        };
        self.read(|c| {
            let Some(head) = c.query_one(
                "SELECT under_objection FROM records WHERE subject_key = $1 AND record_key = $2",
                &[subject.as_str().into(), Val::Bytes(key.clone())],
            )?
            else {
                return Ok(None);
            };
            let rows = c.query(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM record_versions
                     WHERE subject_key = $1 AND record_key = $2 ORDER BY version_no"
                ),
                &[subject.as_str().into(), Val::Bytes(key)],
            )?;
            let mut rec = group_versions(&subject, rows)?;
            Ok(rec.pop().map(|mut r| {
                r.under_objection = head.bool(0).unwrap_or(false);
                (subject.clone(), r)
            }))
        })
    }

    /// Subjects per kind (one scan of the subject master; what the portal's figures need).
    pub fn subjects_by_kind(&self) -> Result<Vec<NamedCount>, StoreError> {
        self.read(|c| {
            named_counts(
                c,
                "SELECT kind, COUNT(*) FROM subjects GROUP BY kind ORDER BY kind",
            )
        })
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        let subjects_by_kind = self.subjects_by_kind()?;
        self.read(|c| {
            let one = |c: &mut dyn Conn, sql: &str| -> Result<i64, StoreError> {
                c.query_one(sql, &[])?.map_or(Ok(0), |r| r.i64(0))
            };
            let records_by_class = named_counts(
                c,
                "SELECT class_code, COUNT(*) FROM records WHERE change IN ('created', 'corrected')
                 GROUP BY class_code ORDER BY class_code",
            )?;
            Ok(Stats {
                subjects: subjects_by_kind.iter().map(|k| k.count).sum(),
                subjects_by_kind,
                records: records_by_class.iter().map(|k| k.count).sum(),
                records_by_class,
                versions: Some(one(c, "SELECT COUNT(*) FROM record_versions")?),
                submissions: Some(one(c, "SELECT COUNT(*) FROM submissions")?),
            })
        })
    }

    /// Quality at intake, per unit: the batches received and not withdrawn since (a withdrawn
    /// batch's rows were counted as 入库 though the unit took them back), with the withdrawn
    /// ones counted apart. The formal monthly rates are `month_figures_recount`'s.
    pub fn quality_by_unit(&self, unit: Option<&str>) -> Result<Vec<UnitQuality>, StoreError> {
        self.read(|c| {
            // Withdrawn batches are counted apart, not in the figures: what the unit took back
            // is not 入库 (its rows stayed in the unit's 入库 when the batch was withdrawn).
            let live = |col: &str| {
                format!("CAST(SUM(CASE WHEN status <> 'withdrawn' THEN {col} ELSE 0 END) AS BIGINT)")
            };
            let sql = format!(
                "SELECT source_unit, CAST(SUM(CASE WHEN status <> 'withdrawn' THEN 1 ELSE 0 END) AS BIGINT),
                    {}, {}, {}, {}, {}, {}, {}, {}, {},
                    CAST(SUM(CASE WHEN status = 'withdrawn' THEN 1 ELSE 0 END) AS BIGINT)
                 FROM submissions WHERE ($1 = '' OR source_unit = $1)
                 GROUP BY source_unit ORDER BY source_unit",
                live("rows_read"),
                live("accepted"),
                live("rejected"),
                live("unchanged"),
                live("created"),
                live("corrected"),
                live("linked"),
                live("suspect"),
                live("on_time"),
            );
            let sql = sql.as_str();
            c.query(sql, &[unit.unwrap_or("").into()])?
                .iter()
                .map(|r| {
                    Ok(UnitQuality {
                        source_unit: r.text(0)?,
                        submissions: r.i64(1)?,
                        counts: counts_at(r, 2)?,
                        withdrawn_submissions: r.i64(11)?,
                    })
                })
                .collect()
        })
    }

    /// 重错码: codes reported with several names, and names reported with several codes — those
    /// not covered by an officer's review (`review_code_conflict`): a finding whose names (or
    /// codes) are all among those a review covered has been looked into; one reported since is
    /// new. At most `limit` of each kind.
    pub fn code_conflicts(&self, limit: i64) -> Result<Vec<CodeConflict>, StoreError> {
        self.code_conflicts_among(limit, None)
    }

    /// The codes reported under several names ([`Store::code_conflicts`], 一码多名) where
    /// `unit` reported one of the names first: what that unit should look into and correct at
    /// its source. Driven by the few codes with another name; names with several codes are
    /// left to the office's report (finding them groups every subject by name: 16 s on a
    /// million subjects, too slow for a unit's home page).
    pub fn code_conflicts_of_unit(
        &self,
        unit: &str,
        limit: i64,
    ) -> Result<Vec<CodeConflict>, StoreError> {
        self.code_conflicts_among(limit, Some(unit))
    }

    fn code_conflicts_among(
        &self,
        limit: i64,
        unit: Option<&str>,
    ) -> Result<Vec<CodeConflict>, StoreError> {
        self.read(|c| {
            let reviewed = reviews_by_anchor(c)?;
            // Reviewed findings are read too and set aside below: read that many more.
            let fetch = limit.saturating_add(reviewed.values().map(|v| v.len() as i64).sum());
            let covered = |kind: &str, anchor: &str, members: &[String]| {
                reviewed
                    .get(&(kind.to_string(), anchor.to_string()))
                    .is_some_and(|sets| {
                        sets.iter()
                            .any(|set| members.iter().all(|m| set.contains(m)))
                    })
            };
            let mut out = Vec::new();
            let mut by_key = conflicts_by_code(c, fetch, None, unit)?;
            by_key.retain(|k, (names, _)| !covered(ONE_CODE, k, names));
            for (k, (names, units)) in by_key.into_iter().take(limit as usize) {
                out.push(CodeConflict {
                    kind: ONE_CODE.into(),
                    subject_keys: vec![k],
                    names,
                    units,
                });
            }
            if unit.is_some() {
                return Ok(out);
            }
            let mut by_name = conflicts_by_name(c, fetch, None)?;
            by_name.retain(|n, (keys, _)| !covered(ONE_NAME, n, keys));
            for (name, (keys, units)) in by_name.into_iter().take(limit as usize) {
                out.push(CodeConflict {
                    kind: ONE_NAME.into(),
                    subject_keys: keys,
                    names: vec![name],
                    units,
                });
            }
            Ok(out)
        })
    }

    /// Records that an officer looked into the 重错码 finding of `kind` at `anchor` (the code of
    /// a one-code finding, the name of a one-name one) as it stands now; refused when there is no
    /// such finding. Returns the names (or codes) the review covers.
    pub fn review_code_conflict(
        &self,
        kind: &str,
        anchor: &str,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.review_code_conflict_then(kind, anchor, actor, reason, at, &|| Ok(()))
    }

    /// [`Store::review_code_conflict`], running `before_commit` in its transaction.
    pub fn review_code_conflict_then(
        &self,
        kind: &str,
        anchor: &str,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<Vec<String>, StoreError> {
        self.write(|c| {
            let members = match kind {
                ONE_CODE => conflicts_by_code(c, 1, Some(anchor), None)?
                    .remove(anchor)
                    .map(|(names, _)| names),
                ONE_NAME => conflicts_by_name(c, 1, Some(anchor))?
                    .remove(anchor)
                    .map(|(keys, _)| keys),
                _ => None,
            };
            let mut members = members
                .filter(|m| m.len() > 1)
                .ok_or_else(|| StoreError::NotFound("没有该重错码问题（可能已处理）".into()))?;
            members.sort();
            members.dedup();
            c.execute(
                "INSERT INTO code_conflict_reviews (kind, anchor, members, actor, reviewed_at, reason)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    kind.into(),
                    anchor.into(),
                    serde_json::to_string(&members)
                        .map_err(|e| StoreError::Decode(e.to_string()))?
                        .into(),
                    actor.into(),
                    at.into(),
                    reason.into(),
                ],
            )?;
            before_commit()?;
            Ok(members)
        })
    }

    /// The latest reviews of 重错码 findings, newest first.
    pub fn code_conflict_reviews(&self, limit: i64) -> Result<Vec<ConflictReview>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT kind, anchor, members, actor, reviewed_at, reason FROM code_conflict_reviews
                 ORDER BY reviewed_at DESC LIMIT $1",
                &[Val::Int(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(ConflictReview {
                    kind: r.text(0)?,
                    anchor: r.text(1)?,
                    members: json(&r.text(2)?)?,
                    actor: r.text(3)?,
                    reviewed_at: r.time(4)?,
                    reason: r.text(5)?,
                })
            })
            .collect()
        })
    }
}

const ONE_CODE: &str = "one_code_many_names";
const ONE_NAME: &str = "one_name_many_codes";

/// Every (code, name) pair: the subject's own name and the others it was reported under.
const PAIRS: &str = "(SELECT subject_key, name, first_unit, first_seen FROM subjects
     UNION SELECT subject_key, name, first_unit, first_seen FROM subject_names)";

/// 重错码 findings by their code (or name): the names (or codes) under it, and the units that
/// reported them.
type Findings = BTreeMap<String, (Vec<String>, Vec<String>)>;

/// Reviews by (kind, anchor): the member sets each covered.
type Reviews = BTreeMap<(String, String), Vec<Vec<String>>>;

fn reviews_by_anchor(c: &mut dyn Conn) -> Result<Reviews, StoreError> {
    let mut out = Reviews::new();
    for r in c.query(
        "SELECT kind, anchor, members FROM code_conflict_reviews",
        &[],
    )? {
        out.entry((r.text(0)?, r.text(1)?))
            .or_default()
            .push(json(&r.text(2)?)?);
    }
    Ok(out)
}

/// Codes with several names (the first `limit` codes, or only `only`, or those where `unit`
/// reported a name first): code → (names, units).
fn conflicts_by_code(
    c: &mut dyn Conn,
    limit: i64,
    only: Option<&str>,
    unit: Option<&str>,
) -> Result<Findings, StoreError> {
    // The few codes with another name first, then each one's names by its key: joined in one
    // statement, SQLite built the (code, name) pairs of every subject to join them.
    let keys = c.query(
        "SELECT DISTINCT subject_key FROM subject_names
         WHERE ($2 = '' OR subject_key = $2)
           AND ($3 = ''
                OR EXISTS (SELECT 1 FROM subjects u
                           WHERE u.subject_key = subject_names.subject_key AND u.first_unit = $3)
                OR EXISTS (SELECT 1 FROM subject_names u
                           WHERE u.subject_key = subject_names.subject_key AND u.first_unit = $3))
         ORDER BY subject_key LIMIT $1",
        &[
            Val::Int(limit),
            only.unwrap_or("").into(),
            unit.unwrap_or("").into(),
        ],
    )?;
    let mut rows = Vec::new();
    for k in keys {
        let key = k.text(0)?;
        rows.extend(c.query(
            "SELECT subject_key, name, first_unit FROM
               (SELECT subject_key, name, first_unit, first_seen FROM subjects
                WHERE subject_key = $1
                UNION SELECT subject_key, name, first_unit, first_seen FROM subject_names
                WHERE subject_key = $1) n
             ORDER BY first_seen, name",
            &[key.into()],
        )?);
    }
    findings(rows)
}

/// Names of organisations with several codes (the first `limit` names, or only `only`):
/// name → (codes, units).
fn conflicts_by_name(
    c: &mut dyn Conn,
    limit: i64,
    only: Option<&str>,
) -> Result<Findings, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT n.name, n.subject_key, n.first_unit FROM {PAIRS} n
             JOIN (SELECT name FROM {PAIRS} p WHERE subject_key NOT LIKE 'P%'
                     AND ($2 = '' OR name = $2) GROUP BY name
                   HAVING COUNT(DISTINCT subject_key) > 1 ORDER BY name LIMIT $1) m
               ON m.name = n.name
             WHERE n.subject_key NOT LIKE 'P%'
             ORDER BY n.name, n.subject_key"
        ),
        &[Val::Int(limit), only.unwrap_or("").into()],
    )?;
    findings(rows)
}

/// Rows of (anchor, member, unit) gathered by anchor.
fn findings(rows: Vec<Row>) -> Result<Findings, StoreError> {
    let mut out = Findings::new();
    for r in rows {
        let e = out.entry(r.text(0)?).or_default();
        // A pair can stand in both tables (a subject renamed): one finding lists it once.
        let member = r.text(1)?;
        if !e.0.contains(&member) {
            e.0.push(member);
        }
        let unit = r.text(2)?;
        if !e.1.contains(&unit) {
            e.1.push(unit);
        }
    }
    Ok(out)
}

/// Every version of a subject's records recorded up to `until`, grouped by record, with the
/// heads' objection flags.
fn records_on(
    c: &mut dyn Conn,
    key: &str,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<StoredRecord>, StoreError> {
    let rows = match until {
        Some(t) => c.query(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM record_versions
                 WHERE subject_key = $1 AND recorded_at <= $2
                 ORDER BY record_key, version_no"
            ),
            &[key.into(), t.into()],
        )?,
        None => c.query(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM record_versions WHERE subject_key = $1
                 ORDER BY record_key, version_no"
            ),
            &[key.into()],
        )?,
    };
    let mut records = group_versions(key, rows)?;
    let objections = c.query(
        "SELECT record_key FROM records WHERE subject_key = $1 AND under_objection",
        &[key.into()],
    )?;
    for o in objections {
        let k = record_id(key, &o.bytes(0)?);
        if let Some(r) = records.iter_mut().find(|r| r.record_id == k) {
            r.under_objection = true;
        }
    }
    Ok(records)
}

/// [`Store::subject_file`] as one query on PostgreSQL: each version row carries its head's
/// objection flag and the subject's columns; a subject without records gives one row whose
/// version columns are null. The subject's objected records come from a partial index, once per
/// file (`OFFSET 0` keeps the subquery from being flattened into a probe per version row); the
/// rows are put in order here rather than by PostgreSQL sorting ~1 KB rows. `[0]` reads every
/// version, `[1]` those recorded up to `$2`.
static SUBJECT_FILE_SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
    let (versions, subject) = (
        qualified("v", VERSION_COLUMNS),
        qualified("s", SUBJECT_COLUMNS),
    );
    let sql = |cond: &str| {
        format!(
            "SELECT {versions}, COALESCE(v.record_key = ANY (s.objected), FALSE), {subject}
             FROM (SELECT t.*, ARRAY(SELECT h.record_key FROM records h
                                      WHERE h.subject_key = t.subject_key AND h.under_objection)
                          AS objected
                   FROM subjects t WHERE t.subject_key = $1 OFFSET 0) s
             LEFT JOIN record_versions v ON v.subject_key = s.subject_key{cond}"
        )
    };
    [sql(""), sql(" AND v.recorded_at <= $2")]
});

fn subject_file_in_one(
    c: &mut dyn Conn,
    key: &str,
    until: Option<DateTime<Utc>>,
) -> Result<Option<(Subject, Vec<StoredRecord>)>, StoreError> {
    let (sql, params) = subject_file_query(key, until);
    subject_file_from(key, c.query(sql, &params)?)
}

/// [`SUBJECT_FILE_SQL`] for `until` (every version, or those recorded up to it), with its
/// parameters.
fn subject_file_query(key: &str, until: Option<DateTime<Utc>>) -> (&'static str, Vec<Val>) {
    match until {
        None => (SUBJECT_FILE_SQL[0].as_str(), vec![key.into()]),
        Some(t) => (SUBJECT_FILE_SQL[1].as_str(), vec![key.into(), t.into()]),
    }
}

/// The subject and its records from the rows of [`SUBJECT_FILE_SQL`].
fn subject_file_from(
    key: &str,
    mut rows: Vec<Row>,
) -> Result<Option<(Subject, Vec<StoredRecord>)>, StoreError> {
    // Each row: the version columns, the objection flag, then the subject's columns.
    let objection_at = VERSION_COLUMNS.split(',').count();
    fn by_key_and_version(r: &Row) -> (&[u8], i64) {
        let key = match r.get(0) {
            Val::Bytes(b) => b.as_slice(),
            _ => &[],
        };
        (key, r.i64(3).unwrap_or(0))
    }
    rows.sort_unstable_by(|a, b| by_key_and_version(a).cmp(&by_key_and_version(b)));
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let subject = subject_from(&Row(first
        .0
        .get(objection_at + 1..)
        .unwrap_or_default()
        .to_vec()))?;
    let mut objected = std::collections::HashSet::new();
    let mut versions = Vec::with_capacity(rows.len());
    for r in rows {
        // A subject without records: its one row has no version.
        if matches!(r.get(0), Val::Null) {
            continue;
        }
        if matches!(r.get(objection_at), Val::Bool(true)) {
            objected.insert(record_id(key, &r.bytes(0)?));
        }
        versions.push(r);
    }
    let mut records = group_versions(key, versions)?;
    for r in &mut records {
        r.under_objection = objected.contains(&r.record_id);
    }
    Ok(Some((subject, records)))
}

pub(crate) fn subject_on(c: &mut dyn Conn, key: &str) -> Result<Option<Subject>, StoreError> {
    c.query_one(
        &format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE subject_key = $1"),
        &[key.into()],
    )?
    .map(|r| subject_from(&r))
    .transpose()
}

/// Rows of (name, count), as a query grouping by a name gives them.
fn named_counts(c: &mut dyn Conn, sql: &str) -> Result<Vec<NamedCount>, StoreError> {
    c.query(sql, &[])?
        .iter()
        .map(|r| {
            Ok(NamedCount {
                name: r.text(0)?,
                count: r.i64(1)?,
            })
        })
        .collect()
}
