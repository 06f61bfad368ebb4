//! The set-based write path on PostgreSQL: a batch's keys and head fields are copied (binary
//! `COPY`) into a staging table, classified against the heads and the subject master in one
//! statement, the subject master is written with a few set-based statements, and the versions
//! and new heads go in by binary `COPY` from here — instead of several round trips per row. Same
//! outcomes as the row-by-row path, which the tests check on both backends.

use std::collections::HashMap;

use crate::StoreError;
use crate::conn::{Conn, Val};
use crate::model::*;
use crate::write::SubmissionWriter;

const STAGE_COLUMNS: &[&str] = &[
    "ord",
    "row_no",
    "record_key",
    "content_hash",
    "subject_key",
    "kind",
    "name",
    "uscc",
    "id_type",
    "id_sealed",
    "id_masked",
    "s_division",
    "id_suspect",
    "id_note",
    "legal_rep_key",
    "decided_on",
    "published",
    "repairable_from",
    "public_ends",
    "severity",
    "regime",
    "rule_version",
    "on_time",
    "is_registration",
    "reg_type",
    "reg_status",
    "industry",
    "category",
    "decision_key",
];

const VERSION_COLUMNS: &[&str] = &[
    "record_key",
    "version_no",
    "subject_key",
    "class_code",
    "source_unit",
    "change",
    "reason",
    "actor",
    "recorded_at",
    "submission_id",
    "row_no",
    "content_hash",
    "decided_on",
    "published",
    "repairable_from",
    "public_ends",
    "severity",
    "regime",
    "rule_version",
    "on_time",
    "linked",
    "id_suspect",
    "payload",
    "sealed",
];

const HEAD_COLUMNS: &[&str] = &[
    "record_key",
    "class_code",
    "subject_key",
    "source_unit",
    "division",
    "current_version",
    "current_hash",
    "change",
    "last_submission",
    "last_row",
    "decided_on",
    "published",
    "public_ends",
    "repairable_from",
    "legal_rep_key",
    "updated_at",
    "category",
    "decision_key",
];

const CREATE_STAGE: &str = "CREATE TEMP TABLE IF NOT EXISTS xy_stage (
    ord BIGINT PRIMARY KEY, row_no BIGINT, record_key BYTEA, content_hash BYTEA, subject_key TEXT, kind TEXT,
    name TEXT, uscc TEXT, id_type TEXT, id_sealed BYTEA, id_masked TEXT, s_division TEXT,
    id_suspect BOOLEAN, id_note TEXT, legal_rep_key TEXT, decided_on DATE, published BOOLEAN,
    repairable_from DATE, public_ends DATE, severity TEXT, regime TEXT, rule_version TEXT,
    on_time BOOLEAN, is_registration BOOLEAN, reg_type TEXT,
    reg_status TEXT, industry TEXT, category TEXT, decision_key BYTEA);
    CREATE TEMP TABLE IF NOT EXISTS xy_class (
    ord BIGINT PRIMARY KEY, outcome TEXT, version_no BIGINT, first_row BIGINT, owner TEXT, old_change TEXT,
    subject_state TEXT, linked BOOLEAN)";

/// Join settings for statements that must probe the store's tables by key: the planner's hash
/// and merge joins read the whole of `records` or `subjects` for a batch. `JOINS_AS_CONFIGURED`
/// gives the statements that join only the batch's own tables their usual choice back.
pub(crate) const JOINS_BY_KEY: &str =
    "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";
pub(crate) const JOINS_AS_CONFIGURED: &str =
    "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT";

/// Rows of a submission after which, while the record indexes stay up (another session was
/// connected), the record tables are first analysed inside its transaction; then at twice as
/// many, and so on. The planner has no statistics of the rows this transaction added (a new
/// store's first import has none at all): it took the decision lookup of each batch for a
/// scan of every row of the unit, and a 10 M-row import with a server connected slowed to
/// under two thousand rows a second. An analysis samples 30,000 rows (a few hundred ms).
pub(crate) const FIRST_ANALYSE: u64 = 100_000;

/// The `application_name` of this process's connections: unique to the process, not only to
/// its pid (two containers' processes may both be pid 1).
pub(crate) fn application_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        format!("xinyong:{}:{:016x}", std::process::id(), h.finish())
    })
    .clone()
}

/// Whether another process (a running server, another import, a person's psql) is connected to
/// this database: one would wait on the exclusive locks that setting indexes aside takes.
pub(crate) fn others_connected(conn: &mut dyn Conn) -> Result<bool, StoreError> {
    let n = conn
        .query_one(
            // Another role's sessions show no backend type to a role without pg_read_all_stats:
            // those count as connected processes too.
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
               AND (backend_type = 'client backend' OR backend_type IS NULL)
               AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $1",
            &[application_name().into()],
        )?
        .map_or(Ok(0), |r| r.i64(0))?;
    Ok(n > 0)
}

impl SubmissionWriter<'_> {
    /// Drops the deferrable secondary indexes inside the transaction, keeping their definitions
    /// for commit, as on SQLite (`write_sqlite::DEFERRABLE_INDEXES`): kept up row by row they cost
    /// more than the rows themselves (at 1 M records the head insert took 225 ms per 10,000 rows
    /// with them, 64 ms without; rebuilding all ten took 10 s). Only under a `BulkLoad` (see
    /// `SubmissionWriter` creation). The drop waits at most a few seconds for its lock; if
    /// someone holds the tables, the import keeps the indexes instead.
    fn defer_indexes_pg(&mut self) -> Result<(), StoreError> {
        self.defer_after = None;
        let recheck = self.recheck_others;
        let c = self.conn();
        // Whoever connected since the import began would wait on the drop's locks: look again.
        if recheck && others_connected(c)? {
            return Ok(());
        }
        let mut defs = Vec::new();
        for name in crate::write_sqlite::DEFERRABLE_INDEXES {
            if let Some(r) = c.query_one(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1",
                &[name.into()],
            )? {
                defs.push((name, r.text(0)?));
            }
        }
        c.batch("SAVEPOINT xy_defer; SET LOCAL lock_timeout = '5s'")?;
        let dropped = defs
            .iter()
            .try_for_each(|(name, _)| c.batch(&format!("DROP INDEX \"{name}\"")));
        match dropped {
            Ok(()) => {
                c.batch("SET LOCAL lock_timeout TO DEFAULT; RELEASE SAVEPOINT xy_defer")?;
                self.deferred = defs.into_iter().map(|(_, sql)| sql).collect();
            }
            Err(e) => {
                eprintln!("indexes kept up row by row (their lock was not free): {e}");
                c.batch("ROLLBACK TO SAVEPOINT xy_defer; SET LOCAL lock_timeout TO DEFAULT")?;
            }
        }
        Ok(())
    }

    pub(crate) fn apply_set(
        &mut self,
        rows: &[PreparedRow],
    ) -> Result<Vec<RowOutcome>, StoreError> {
        self.applied += rows.len() as u64;
        if self.defer_after.is_some_and(|n| self.applied >= n) {
            self.defer_indexes_pg()?;
        }
        if self.deferred.is_empty() && self.applied >= self.analyse_at {
            self.analyse_at = self.applied.saturating_mul(2);
            self.conn()
                .batch("ANALYZE records, record_versions, subjects")?;
        }
        let (sid, unit, class, division, actor, now) = self.parts();
        let (unit, class, division, actor) = (
            unit.to_string(),
            class.to_string(),
            division.map(str::to_string),
            actor.to_string(),
        );
        // Repeats inside the batch are settled here; the staging table holds each record once.
        let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
        let mut first: HashMap<&RecordKey, usize> = HashMap::with_capacity(rows.len());
        let mut stage = Vec::with_capacity(rows.len());
        let mut order = Vec::with_capacity(rows.len());
        let mut repeats = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(&j) = first.get(&r.record_key) {
                repeats.push((i, j));
                let first_row = rows[j].row_no;
                outcomes[i] = Some(if rows[j].content_hash == r.content_hash {
                    RowOutcome::Duplicate { first_row }
                } else {
                    RowOutcome::Conflict { first_row }
                });
                continue;
            }
            first.insert(&r.record_key, i);
            order.push(i);
        }
        // In key order, so that classifying probes the heads' primary key forward, page by page.
        order.sort_unstable_by(|&a, &b| {
            (rows[a].subject.key.as_str(), &rows[a].record_key)
                .cmp(&(rows[b].subject.key.as_str(), &rows[b].record_key))
        });
        for &i in &order {
            let r = &rows[i];
            let reg = r.registration.as_ref();
            stage.push(vec![
                Val::Int(i as i64),
                Val::Int(r.row_no as i64),
                Val::Bytes(r.record_key.to_vec()),
                Val::Bytes(r.content_hash.to_vec()),
                r.subject.key.as_str().into(),
                r.subject.kind.as_str().into(),
                r.subject.name.as_str().into(),
                r.subject.uscc.clone().into(),
                r.subject.id_type.clone().into(),
                r.subject.id_sealed.clone().into(),
                r.subject.id_masked.clone().into(),
                r.subject.division.clone().into(),
                r.subject.id_suspect.into(),
                r.subject.id_note.clone().into(),
                r.legal_rep_key.clone().into(),
                r.decided_on.into(),
                r.published.into(),
                r.repairable_from.into(),
                r.public_ends.into(),
                r.severity.clone().into(),
                r.regime.clone().into(),
                r.rule_version.clone().into(),
                r.on_time.into(),
                reg.is_some().into(),
                reg.and_then(|g| g.reg_type.clone()).into(),
                reg.and_then(|g| g.reg_status.clone()).into(),
                reg.and_then(|g| g.industry.clone()).into(),
                r.category.clone().into(),
                r.decision_key.map(|k| k.to_vec()).into(),
            ]);
        }
        let feed = self.feed;
        let feed_units = self.feed_units.clone();
        let c = self.conn();
        c.batch(CREATE_STAGE)?;
        // A batch's sorts and hashes fit in memory (the default 4 MB spilled them to files).
        c.batch("SET LOCAL work_mem = '64MB'")?;
        c.batch("TRUNCATE xy_stage; TRUNCATE xy_class")?;
        c.copy_in("xy_stage", STAGE_COLUMNS, &stage)?;
        // The staging table is not analysed (a sample cost 33 ms a batch): the joins below that
        // reach the store's tables are told how to go (by primary key), and the rest join the
        // batch's two temporary tables, whose sizes the planner reads from their pages.
        // Classify each staged row against the record's head (one narrow table, no updates of
        // the wide staging rows), probing the heads and subjects by primary key: a hash join
        // scans the whole of `records` for every batch, which the planner prefers up to a few
        // million records and which costs more per batch the larger the store.
        // Whether an accepted row links to a known subject is settled here too: the subject
        // rows this batch adds are unregistered unless the row itself is a registration. The
        // subject master below is probed the same way, the batch's rows joined by `ord`.
        c.batch(JOINS_BY_KEY)?;
        let classified = c.query(
            "INSERT INTO xy_class (ord, outcome, version_no, first_row, owner, old_change, subject_state,
                linked)
             SELECT s.ord,
                CASE
                    WHEN r.subject_key IS NULL THEN 'created'
                    WHEN r.last_submission = $1 THEN
                        CASE WHEN r.current_hash = s.content_hash THEN 'duplicate' ELSE 'conflict' END
                    WHEN r.source_unit <> $2 AND $3 THEN 'kept'
                    WHEN r.source_unit <> $2 AND NOT (r.source_unit = ANY($4::text[])) THEN 'not_owner'
                    -- The feed's record, reported by the city's unit: handed over to it.
                    WHEN r.source_unit <> $2
                        AND r.change NOT IN ('repaired', 'exited', 'revoked', 'expired')
                        THEN 'corrected'
                    -- A withdrawn record sent again as it was stays withdrawn.
                    WHEN r.current_hash = s.content_hash THEN 'unchanged'
                    WHEN r.change IN ('repaired', 'exited', 'revoked', 'expired') THEN 'ended'
                    ELSE 'corrected' END,
                COALESCE(r.current_version, 0) + 1, r.last_row, r.source_unit, r.change,
                CASE WHEN t.subject_key IS NULL THEN 'new' WHEN t.name = s.name THEN 'same'
                     ELSE 'renamed' END,
                COALESCE(t.registered, FALSE) OR s.is_registration
                    OR (s.kind = 'natural_person' AND NOT s.id_suspect)
             FROM xy_stage s
             LEFT JOIN records r ON r.subject_key = s.subject_key AND r.record_key = s.record_key
             LEFT JOIN subjects t ON t.subject_key = s.subject_key
             RETURNING ord, outcome, version_no, first_row, owner, old_change, linked",
            &[
                Val::Int(sid),
                unit.as_str().into(),
                Val::Bool(feed),
                Val::Array(feed_units.into_iter().map(Val::Text).collect()),
            ],
        )?;
        // Per row of the batch: its outcome, the version it becomes, whether it links, and
        // whether it comes back after a withdrawal.
        let mut written: Vec<Option<(i64, bool, bool)>> = vec![None; rows.len()];
        // Whether each row is on time: judged again for a correction (`rejudge_correction`).
        let mut on_time: Vec<Option<bool>> = rows.iter().map(|r| r.on_time).collect();
        let (mut corrected, mut unchanged) = (false, false);
        let mut overruled = Vec::new();
        for r in classified {
            let i = usize::try_from(r.i64(0)?)
                .ok()
                .filter(|&i| i < rows.len())
                .ok_or_else(|| StoreError::Decode("a classified row out of the batch".into()))?;
            let outcome = match r.text(1)?.as_str() {
                "created" => RowOutcome::Created,
                "corrected" => RowOutcome::Corrected,
                "unchanged" => RowOutcome::Unchanged,
                "kept" => RowOutcome::KeptLocal { owner: r.text(4)? },
                "duplicate" => RowOutcome::Duplicate {
                    first_row: r.i64(3)? as u64,
                },
                "conflict" => RowOutcome::Conflict {
                    first_row: r.i64(3)? as u64,
                },
                "ended" => RowOutcome::Ended(
                    crate::write_sqlite::ended(&r.opt_text(5)?.unwrap_or_default()).ok_or_else(
                        || StoreError::Decode("an ended record without its change".into()),
                    )?,
                ),
                _ => RowOutcome::NotOwner { owner: r.text(4)? },
            };
            // A correction of the unit's own record that would undo an upheld objection's.
            let outcome = match outcome {
                RowOutcome::Corrected
                    if r.opt_text(4)?.as_deref() == Some(unit.as_str())
                        && r.opt_text(5)?.as_deref() != Some("withdrawn") =>
                {
                    match self.overruled(&rows[i])? {
                        Some(case_id) => {
                            overruled.push(Val::Int(r.i64(0)?));
                            RowOutcome::Overruled { case_id }
                        }
                        None => RowOutcome::Corrected,
                    }
                }
                o => o,
            };
            // A kept row's subject has the city's record: known, as on SQLite.
            let linked = r.bool(6)? || matches!(outcome, RowOutcome::KeptLocal { .. });
            corrected |= outcome == RowOutcome::Corrected;
            unchanged |= outcome == RowOutcome::Unchanged;
            if outcome == RowOutcome::Unchanged && r.opt_text(5)?.as_deref() == Some("withdrawn") {
                self.withdrawn_resent += 1;
            }
            if matches!(outcome, RowOutcome::Created | RowOutcome::Corrected) {
                let rewritten = r.opt_text(5)?.as_deref() == Some("withdrawn");
                written[i] = Some((r.i64(2)?, linked, rewritten));
                // A correction of the unit's own record (not a feed record handed over to it).
                if outcome == RowOutcome::Corrected
                    && r.opt_text(4)?.as_deref() == Some(unit.as_str())
                {
                    on_time[i] = self.rejudge_correction(&rows[i], r.i64(2)? - 1, rewritten)?;
                }
            }
            if outcome.is_accepted() {
                self.count(&rows[i], &outcome, linked, on_time[i]);
            }
            outcomes[i] = Some(outcome);
        }
        // Rows that would undo an upheld objection's correction are not written (below, the
        // writes read the outcome from the batch's table).
        if !overruled.is_empty() {
            self.conn().execute(
                "UPDATE xy_class SET outcome = 'overruled' WHERE ord = ANY($1::bigint[])",
                &[Val::Array(overruled)],
            )?;
        }
        // A repeat of a row refused because the record is another unit's, or ended, is
        // refused for the same reason (as row by row on SQLite), not as a repeat.
        for (i, j) in repeats {
            match &outcomes[j] {
                Some(o @ (RowOutcome::NotOwner { .. } | RowOutcome::Ended(_))) => {
                    outcomes[i] = Some(o.clone());
                }
                // A feed row repeating a kept one is kept too (as on SQLite, where a kept row
                // leaves the record untouched, so its repeat meets the same record).
                Some(o @ RowOutcome::KeptLocal { .. }) => {
                    let o = o.clone();
                    self.count(&rows[i], &o, true, rows[i].on_time);
                    outcomes[i] = Some(o);
                }
                _ => {}
            }
        }
        // A list entry's correction keeps the deciding unit's rectification deadline.
        let mut carried: Vec<Option<String>> = vec![None; rows.len()];
        for (i, r) in rows.iter().enumerate() {
            if let Some((version_no, _, false)) = written[i]
                && outcomes[i] == Some(RowOutcome::Corrected)
            {
                carried[i] = self.carried_payload(r, version_no - 1)?;
            }
        }
        // Corrections of the name on a record: candidates to rename their subject (below).
        let mut renames: Vec<(&str, &str)> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some((version_no, _, _)) = written[i]
                && outcomes[i] == Some(RowOutcome::Corrected)
                && r.registration.is_none()
                && self.name_changed(r, version_no - 1)?
            {
                renames.retain(|(k, _)| *k != r.subject.key.as_str());
                renames.push((r.subject.key.as_str(), r.subject.name.as_str()));
            }
        }
        let c = self.conn();
        // The rest join the batch's two tables by hash, and probe subjects by key where they
        // must (`LATERAL … OFFSET 0` keeps the probe from being turned into a scan).
        c.batch(&format!("{JOINS_AS_CONFIGURED}; ANALYZE xy_class"))?;
        const ACCEPTED: &str = "c.outcome IN ('created', 'corrected', 'unchanged')";
        c.execute(
            &format!(
                "INSERT INTO subjects (subject_key, kind, name, uscc, id_type, id_sealed, id_masked,
                    division, id_suspect, id_note, first_unit, first_seen, updated_at)
                 SELECT DISTINCT ON (s.subject_key) s.subject_key, s.kind, s.name, s.uscc, s.id_type,
                    s.id_sealed, s.id_masked, s.s_division, s.id_suspect, s.id_note, $2::text,
                    $1::timestamptz, $1::timestamptz
                 FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                 WHERE {ACCEPTED} AND c.subject_state = 'new'
                 ORDER BY s.subject_key, s.ord
                 ON CONFLICT (subject_key) DO NOTHING"
            ),
            &[now.into(), unit.as_str().into()],
        )?;
        c.execute(
            &format!(
                "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                 SELECT DISTINCT s.subject_key, s.name, $1::text, $2::timestamptz
                 FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                 CROSS JOIN LATERAL (SELECT t.name FROM subjects t
                     WHERE t.subject_key = s.subject_key OFFSET 0) t
                 WHERE {ACCEPTED} AND c.subject_state <> 'same' AND t.name <> s.name
                 ON CONFLICT (subject_key, name) DO NOTHING"
            ),
            &[unit.as_str().into(), now.into()],
        )?;
        // Organisations named otherwise than their code is registered (a code copied from a
        // neighbouring row): read before this batch's registrations rename anyone, and told.
        let misnamed: Vec<usize> = c
            .query(
                &format!(
                    "SELECT s.ord, s.name, t.name FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                     CROSS JOIN LATERAL (SELECT t.name, t.registered FROM subjects t
                         WHERE t.subject_key = s.subject_key OFFSET 0) t
                     WHERE {ACCEPTED} AND c.subject_state = 'renamed' AND t.registered
                       AND NOT s.is_registration AND s.kind <> 'natural_person'"
                ),
                &[],
            )?
            .iter()
            .filter(|r| {
                matches!((r.text(1), r.text(2)), (Ok(a), Ok(b))
                    if domain::text::person_name_key(&a) != domain::text::person_name_key(&b))
            })
            .filter_map(|r| r.i64(0).ok().and_then(|o| usize::try_from(o).ok()))
            .filter(|&o| o < rows.len())
            .collect();
        // A correction renames a subject no registration names: the unit's latest word on it
        // (the name it replaces kept for 重错码). The batch's last correction of a subject wins,
        // as on SQLite; a name written otherwise only (spaces, width, dots) renames nothing.
        // Corrections are few: one subject at a time.
        for (key, name) in renames {
            let Some(t) = c.query_one(
                "SELECT name, registered, first_unit FROM subjects WHERE subject_key = $1",
                &[key.into()],
            )?
            else {
                continue;
            };
            let old = t.text(0)?;
            // Another unit's correction does not rename: its spelling is not the one the
            // subject carries (amounts corrected by each unit in turn flipped the name).
            if t.bool(1)?
                || t.text(2)? != unit.as_str()
                || domain::text::person_name_key(&old) == domain::text::person_name_key(name)
            {
                continue;
            }
            c.execute(
                "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                 SELECT subject_key, name, first_unit, first_seen FROM subjects WHERE subject_key = $1
                 ON CONFLICT (subject_key, name) DO NOTHING",
                &[key.into()],
            )?;
            c.execute(
                "UPDATE subjects SET name = $1, updated_at = $2::timestamptz WHERE subject_key = $3",
                &[name.into(), now.into(), key.into()],
            )?;
        }
        // Registrations (a batch is all of them or none) rename and register their subjects;
        // the update probes subjects by key, the batch's rows by `ord`.
        if rows.iter().any(|r| r.registration.is_some()) {
            // A registration renames the subject: keep the name it replaces.
            c.execute(
                &format!(
                    "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                     SELECT t.subject_key, t.name, t.first_unit, t.first_seen
                     FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                     CROSS JOIN LATERAL (SELECT t.subject_key, t.name, t.first_unit, t.first_seen
                         FROM subjects t WHERE t.subject_key = s.subject_key OFFSET 0) t
                     WHERE s.is_registration AND {ACCEPTED} AND t.name <> s.name
                     ON CONFLICT (subject_key, name) DO NOTHING"
                ),
                &[],
            )?;
            c.batch(JOINS_BY_KEY)?;
            c.execute(
                &format!(
                    "UPDATE subjects t SET registered = TRUE, name = g.name, reg_type = g.reg_type,
                        reg_status = g.reg_status, industry = g.industry,
                        division = COALESCE(g.s_division, t.division), updated_at = $1::timestamptz
                     FROM (SELECT DISTINCT ON (s.subject_key) s.subject_key, s.name, s.reg_type,
                              s.reg_status, s.industry, s.s_division
                           FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                           WHERE s.is_registration AND {ACCEPTED}
                           ORDER BY s.subject_key, s.ord DESC) g
                     WHERE t.subject_key = g.subject_key"
                ),
                &[now.into()],
            )?;
            c.batch(JOINS_AS_CONFIGURED)?;
        }
        // Versions and new heads go straight in by binary COPY (a multi-row insert, no staging
        // of the wide payloads): versions in the rows' order, heads in key order.
        let mut versions = Vec::new();
        let mut heads = Vec::new();
        let mut again = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let Some((version_no, linked, rewritten)) = written[i] else {
                continue;
            };
            let created = outcomes[i] == Some(RowOutcome::Created);
            if rewritten {
                again.push((r.subject.key.clone(), r.record_key.to_vec()));
            }
            versions.push(vec![
                Val::Bytes(r.record_key.to_vec()),
                Val::Int(version_no),
                r.subject.key.as_str().into(),
                class.as_str().into(),
                unit.as_str().into(),
                if created { "created" } else { "corrected" }.into(),
                match (created, rewritten) {
                    (true, _) => Val::Null,
                    (false, true) => "撤回后重新报送".into(),
                    (false, false) => "报送单位更正".into(),
                },
                actor.as_str().into(),
                now.into(),
                Val::Int(sid),
                Val::Int(r.row_no as i64),
                Val::Bytes(r.content_hash.to_vec()),
                r.decided_on.into(),
                r.published.into(),
                r.repairable_from.into(),
                r.public_ends.into(),
                r.severity.clone().into(),
                r.regime.clone().into(),
                r.rule_version.clone().into(),
                on_time[i].into(),
                linked.into(),
                r.subject.id_suspect.into(),
                carried[i].as_deref().unwrap_or(&r.payload).into(),
                r.sealed.clone().into(),
            ]);
        }
        for &i in &order {
            let r = &rows[i];
            if outcomes[i] != Some(RowOutcome::Created) {
                continue;
            }
            heads.push(vec![
                Val::Bytes(r.record_key.to_vec()),
                class.as_str().into(),
                r.subject.key.as_str().into(),
                unit.as_str().into(),
                division.clone().into(),
                Val::Int(written[i].map_or(1, |k| k.0)),
                Val::Bytes(r.content_hash.to_vec()),
                "created".into(),
                Val::Int(sid),
                Val::Int(r.row_no as i64),
                r.decided_on.into(),
                r.published.into(),
                r.public_ends.into(),
                r.repairable_from.into(),
                r.legal_rep_key.clone().into(),
                now.into(),
                r.category.clone().into(),
                r.decision_key.map(|k| k.to_vec()).into(),
            ]);
        }
        c.copy_in("record_versions", VERSION_COLUMNS, &versions)?;
        // New records are plain rows (an upsert's speculative insertion costs more per row); a
        // record created concurrently by another submission fails the primary key.
        c.copy_in("records", HEAD_COLUMNS, &heads)?;
        // Corrections update their heads from the staged rows; rows sent again unchanged note
        // this submission. Both probe the heads by key.
        if corrected || unchanged {
            c.batch(JOINS_BY_KEY)?;
        }
        if corrected {
            c.execute(
                "INSERT INTO records (record_key, class_code, subject_key, source_unit, division,
                    current_version, current_hash, change, last_submission, last_row, decided_on,
                    published, public_ends, repairable_from, legal_rep_key, updated_at, category,
                    decision_key)
                 SELECT s.record_key, $1::text, s.subject_key, $2::text, $3::text, c.version_no,
                    s.content_hash, c.outcome, $4::bigint, s.row_no, s.decided_on, s.published,
                    s.public_ends, s.repairable_from, s.legal_rep_key, $5::timestamptz, s.category,
                    s.decision_key
                 FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                 WHERE c.outcome = 'corrected'
                 ON CONFLICT (subject_key, record_key) DO UPDATE SET
                    decision_key = COALESCE(records.decision_key, excluded.decision_key),
                    current_version = excluded.current_version,
                    current_hash = excluded.current_hash, change = excluded.change,
                    last_submission = excluded.last_submission, last_row = excluded.last_row,
                    decided_on = excluded.decided_on, published = excluded.published,
                    public_ends = excluded.public_ends, repairable_from = excluded.repairable_from,
                    legal_rep_key = excluded.legal_rep_key, updated_at = excluded.updated_at,
                    category = excluded.category, source_unit = excluded.source_unit",
                &[
                    class.as_str().into(),
                    unit.as_str().into(),
                    division.into(),
                    Val::Int(sid),
                    now.into(),
                ],
            )?;
        }
        if unchanged {
            c.execute(
                "UPDATE records r SET last_submission = $1, last_row = s.row_no,
                    decision_key = COALESCE(r.decision_key, s.decision_key)
                 FROM xy_stage s JOIN xy_class c ON c.ord = s.ord
                 WHERE c.outcome = 'unchanged' AND r.subject_key = s.subject_key
                   AND r.record_key = s.record_key",
                &[Val::Int(sid)],
            )?;
        }
        if corrected || unchanged {
            c.batch(JOINS_AS_CONFIGURED)?;
        }
        self.reported_again.extend(again);
        let mut misnamed = misnamed;
        misnamed.sort_unstable();
        for o in misnamed {
            self.name_doubt(rows[o].row_no);
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| StoreError::Decode("a staged row was not classified".into())))
            .collect()
    }
}
