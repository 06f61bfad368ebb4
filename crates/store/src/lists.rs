//! List entries after listing: rectification deadlines, early exit, revocation, expiry — each a
//! new version with who, when and why — and what the check index reads: the entries in force,
//! the organisations a listed person represents, and the record events subscribers hear of.

use chrono::{DateTime, NaiveDate, Utc};
use domain::lists::{EntryFacts, ListAction, check_action};
use domain::record::ChangeKind;
use serde::Serialize;

use crate::conn::{Conn, Row, Val};
use crate::model::{parse_record_id, record_id};
use crate::watch::SubmissionStamp;
use crate::{Store, StoreError};

/// Who changes an entry, and why.
#[derive(Debug, Clone)]
pub struct ListChange<'a> {
    /// The deciding unit acting (None: the credit office or the platform itself).
    pub unit: Option<&'a str>,
    /// The unit the entry names as its 认定单位 (its deciding-unit item), when that is not the
    /// unit that reported it: it may act on the entry too.
    pub named_unit: Option<&'a str>,
    pub actor: &'a str,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
    pub today: NaiveDate,
    /// The list classes that reward (the red lists, as the catalog says): no punishment on
    /// them to rectify.
    pub rewarding: &'a [&'a str],
}

/// An entry as the check index keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    pub record_id: String,
    pub subject_key: String,
    pub class_code: String,
    pub source_unit: String,
    pub listed_on: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub category: Option<String>,
    /// The entry's state: the current version's number and content hash (`v<n>-<hex>`). An
    /// exception holds only while it stays the same: any later version — a rectification, a
    /// correction, even one back to earlier content — ends it.
    pub hash: String,
    pub change: String,
    pub under_objection: bool,
    pub payload: String,
    pub updated_at: DateTime<Utc>,
    /// The legal representative the entry itself names (its ID number, as a person's key).
    pub legal_rep_key: Option<String>,
}

/// Which penalties a whole read of the check index takes: decided on or after `decided_from`,
/// and carrying one of `categories` (处罚类别, matched in the record's category column) or a
/// fine in its payload item `fine.0` of at least `fine.1` 元. The index judges each penalty again
/// exactly; this only keeps the millions that cannot qualify out of the read.
#[derive(Debug, Clone)]
pub struct PenaltyFilter {
    pub decided_from: NaiveDate,
    pub categories: Vec<String>,
    /// The fine's payload item and the least fine, in 元 as the store writes amounts
    /// (`2000000.00`: two decimals, no leading zeros).
    pub fine: Option<(String, String)>,
    /// Also every record past its first version (corrected, withdrawn, repaired): what a
    /// refresh reads, since one of them may be a penalty held that no longer qualifies.
    pub and_later_versions: bool,
}

impl PenaltyFilter {
    /// ` AND …` with its parameters pushed after `params`.
    fn condition(&self, backend: crate::Backend, params: &mut Vec<Val>) -> String {
        params.push(self.decided_from.into());
        let mut sql = format!("r.decided_on >= ${}", params.len());
        let mut any = Vec::new();
        for c in &self.categories {
            params.push(format!("%{c}%").into());
            any.push(format!("r.category LIKE ${}", params.len()));
        }
        if let Some((item, least)) = &self.fine {
            if item.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                // Amounts are written in one form (two decimals, no leading zeros), so a longer
                // one is larger and one as long compares as text, exactly (byte order in both).
                let x = match backend {
                    crate::Backend::Sqlite => format!("json_extract(v.payload, '$.{item}')"),
                    crate::Backend::Postgres => {
                        format!("((v.payload::json ->> '{item}') COLLATE \"C\")")
                    }
                };
                params.push(Val::Int(least.len() as i64));
                let len = params.len();
                params.push(least.as_str().into());
                let n = params.len();
                any.push(format!(
                    "(length({x}) > ${len} OR length({x}) = ${len} AND {x} >= ${n})"
                ));
            } else {
                // An item name that cannot be written into the query: no prefilter on it.
                any.push("1 = 1".into());
            }
        }
        if !any.is_empty() {
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        if self.and_later_versions {
            format!(" AND ({sql} OR r.current_version > 1)")
        } else {
            format!(" AND {sql}")
        }
    }
}

/// Entries in force that changed, and (subject, record id) of entries that ended.
pub type EntryChanges = (Vec<ListEntry>, Vec<(String, String)>);

/// A record event (see `record_events`).
#[derive(Debug, Clone, Serialize)]
pub struct RecordEvent {
    pub seq: i64,
    pub subject_key: String,
    pub record_id: String,
    pub version_no: i64,
    pub class_code: String,
    pub change: String,
    pub severity: Option<String>,
    pub source_unit: String,
    pub at: DateTime<Utc>,
    /// The change of this record's event before this one, if any: whether subscribers last
    /// heard of it as in force or as ended.
    pub previous: Option<String>,
    /// The version's decision date and payload (masked), for what the alert says of it.
    pub decided_on: Option<NaiveDate>,
    pub payload: Option<String>,
    /// The legal representative the record names (a list entry of an organisation).
    pub legal_rep_key: Option<String>,
}

fn entry_from(r: &Row) -> Result<ListEntry, StoreError> {
    let subject = r.text(0)?;
    let key = r.bytes(1)?;
    Ok(ListEntry {
        record_id: record_id(&subject, &key),
        subject_key: subject,
        class_code: r.text(2)?,
        source_unit: r.text(3)?,
        listed_on: r.opt_date(4)?,
        valid_to: r.opt_date(5)?,
        category: r.opt_text(6)?,
        hash: format!("v{}-{}", r.i64(12)?, hex::encode(r.bytes(7)?)),
        change: r.text(8)?,
        under_objection: r.bool(9)?,
        payload: r.text(10)?,
        updated_at: r.time(11)?,
        legal_rep_key: r.opt_text(13)?,
    })
}

const ENTRY_COLUMNS: &str =
    "r.subject_key, r.record_key, r.class_code, r.source_unit, r.decided_on,
    r.public_ends, r.category, r.current_hash, r.change, r.under_objection, v.payload, r.updated_at,
    r.current_version, r.legal_rep_key";

/// The parameters `$1` (`first`) and `$2…` (the list class codes), and the placeholders of the
/// codes for an `IN (…)`.
fn first_and_lists(first: Val, lists: &[&str]) -> (Vec<String>, Vec<Val>) {
    let list = (0..lists.len()).map(|i| format!("${}", i + 2)).collect();
    let mut params = vec![first];
    params.extend(lists.iter().map(|c| Val::from(*c)));
    (list, params)
}

/// Entries in force (created or corrected), and the ids of those that ended.
fn split_entries(rows: &[Row]) -> Result<EntryChanges, StoreError> {
    let mut live = Vec::new();
    let mut ended = Vec::new();
    for r in rows {
        let e = entry_from(r)?;
        if e.change == "created" || e.change == "corrected" {
            live.push(e);
        } else {
            ended.push((e.subject_key, e.record_id));
        }
    }
    Ok((live, ended))
}

fn apply(
    c: &mut dyn Conn,
    subject: &str,
    key: &[u8],
    lists: &[&str],
    action: &ListAction,
    ch: &ListChange<'_>,
) -> Result<bool, StoreError> {
    let id = record_id(subject, key);
    let head = c
        .query_one(
            "SELECT r.class_code, r.source_unit, r.current_version, r.change, r.decided_on,
                r.public_ends, v.payload, v.reason
             FROM records r JOIN record_versions v ON v.subject_key = r.subject_key
                AND v.record_key = r.record_key AND v.version_no = r.current_version
             WHERE r.subject_key = $1 AND r.record_key = $2",
            &[subject.into(), Val::Bytes(key.to_vec())],
        )?
        .ok_or_else(|| StoreError::NotFound(format!("记录{id}不存在")))?;
    let (class, owner, version) = (head.text(0)?, head.text(1)?, head.i64(2)?);
    if !lists.contains(&class.as_str()) {
        // To a unit, a record that is not a list entry is not there: what else it holds, and
        // that it exists, stays unsaid.
        return Err(if ch.unit.is_some() {
            StoreError::NotFound(format!("记录{id}不存在"))
        } else {
            StoreError::Refused(format!("记录{id}不是名单信息"))
        });
    }
    if let Some(u) = ch.unit
        && u != owner
        && ch.named_unit != Some(u)
    {
        return Err(StoreError::NotYours(format!(
            "该名单由{}认定，只有认定单位（或市信用办）可以{}",
            ch.named_unit.unwrap_or(&owner),
            action.label()
        )));
    }
    let change: ChangeKind = head
        .text(3)?
        .parse()
        .map_err(|e: String| StoreError::Decode(e))?;
    let facts = EntryFacts {
        change,
        listed_on: head.opt_date(4)?,
        valid_to: head.opt_date(5)?,
        rewards: ch.rewarding.contains(&class.as_str()),
    };
    check_action(facts, action, ch.reason, ch.today).map_err(StoreError::Refused)?;
    let reason = match action {
        ListAction::Rectify { deadline } => {
            format!(
                "{}{deadline}）：{}",
                domain::lists::RECTIFY_REASON,
                ch.reason.trim()
            )
        }
        ListAction::Expire => format!(
            "有效期至{}届满，到期移出",
            facts.valid_to.map(|d| d.to_string()).unwrap_or_default()
        ),
        other => format!("{}：{}", other.label(), ch.reason.trim()),
    };
    // A rectification keeps the content as reported and adds the deadline; the content hash
    // stays that of the report, so a resend of the same entry is still "unchanged".
    let payload = match action {
        ListAction::Rectify { deadline } => {
            let mut v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&head.text(6)?)
                    .map_err(|e| StoreError::Decode(e.to_string()))?;
            // The same deadline with the same words again (a form sent twice, a retry) is
            // already recorded: no second version, and no second alert to subscribers.
            let set = v.get("MD_ZGQX").and_then(|d| d.as_str());
            if set == Some(deadline.to_string().as_str())
                && head.opt_text(7)?.as_deref() == Some(reason.as_str())
            {
                return Ok(false);
            }
            v.insert(
                "MD_ZGQX".into(),
                serde_json::Value::String(deadline.to_string()),
            );
            Some(serde_json::to_string(&v).map_err(|e| StoreError::Decode(e.to_string()))?)
        }
        _ => None,
    };
    let kind = action.change();
    let n = c.execute(
        "INSERT INTO record_versions (record_key, version_no, subject_key, class_code, source_unit,
            change, reason, actor, recorded_at, submission_id, row_no, content_hash, decided_on,
            published, repairable_from, public_ends, severity, regime, rule_version, on_time,
            linked, id_suspect, payload, sealed)
         SELECT record_key, version_no + 1, subject_key, class_code, source_unit, $7, $1,
            $2, $3, NULL, NULL, content_hash, decided_on, published, repairable_from, public_ends,
            severity, regime, rule_version, on_time, linked, id_suspect, COALESCE($8, payload), sealed
         FROM record_versions WHERE subject_key = $4 AND record_key = $5 AND version_no = $6",
        &[
            reason.as_str().into(),
            ch.actor.into(),
            ch.at.into(),
            subject.into(),
            Val::Bytes(key.to_vec()),
            Val::Int(version),
            kind.as_str().into(),
            payload.into(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Decode(format!(
            "record {id} has no version {version}"
        )));
    }
    c.execute(
        "UPDATE records SET current_version = $1, change = $2, updated_at = $3
         WHERE subject_key = $4 AND record_key = $5",
        &[
            Val::Int(version + 1),
            kind.as_str().into(),
            ch.at.into(),
            subject.into(),
            Val::Bytes(key.to_vec()),
        ],
    )?;
    c.execute(
        "INSERT INTO record_events (subject_key, record_key, version_no, class_code, change,
            severity, source_unit, at)
         SELECT subject_key, record_key, version_no, class_code, change, severity, source_unit,
            recorded_at
         FROM record_versions WHERE subject_key = $1 AND record_key = $2 AND version_no = $3",
        &[
            subject.into(),
            Val::Bytes(key.to_vec()),
            Val::Int(version + 1),
        ],
    )?;
    // An entry that left its list leaves nothing for an open application to leave it to decide
    // (the case that approved it is past its open states already).
    if kind.ends() {
        crate::withdraw::end_open_cases(
            c,
            subject,
            key,
            &id,
            &crate::withdraw::Withdrawal {
                unit: ch.unit.unwrap_or(&owner),
                actor: ch.actor,
                reason: &reason,
                at: ch.at,
            },
            Some(crate::withdraw::ListEnd {
                kind,
                by: match (action, ch.unit) {
                    (ListAction::Expire, _) => crate::withdraw::EndedBy::Platform,
                    (_, Some(_)) => crate::withdraw::EndedBy::Unit,
                    (_, None) => crate::withdraw::EndedBy::Office,
                },
            }),
        )?;
    }
    Ok(true)
}

/// Takes a list entry off its list on the subject's approved application (a repair case's
/// decision, in that case's transaction): the same 提前移出 version and record event as the
/// deciding unit's own exit, so checks, subscribers and the history read it alike.
pub(crate) fn exit_on_application(
    c: &mut dyn Conn,
    subject: &str,
    key: &[u8],
    lists: &[String],
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lists: Vec<&str> = lists.iter().map(String::as_str).collect();
    apply(
        c,
        subject,
        key,
        &lists,
        &ListAction::Exit,
        &ListChange {
            // The case was routed to the deciding unit, which decided it.
            unit: None,
            named_unit: None,
            actor,
            reason,
            at,
            today: domain::clock::beijing(at).date_naive(),
            rewarding: &[],
        },
    )
    .map(|_| ())
}

/// Each class's newest change stamp, the newest submission id, and how many of the thousand
/// ids up to it have committed ([`Store::changes_stamp`]).
pub type ChangesStamp = (Vec<Option<DateTime<Utc>>>, i64, i64);

impl Store {
    /// Applies an action to a list entry (`lists`: the list class codes); false when it was
    /// already so (the same rectification deadline, with the same words, again).
    pub fn list_action(
        &self,
        id: &str,
        lists: &[&str],
        action: &ListAction,
        ch: &ListChange<'_>,
    ) -> Result<bool, StoreError> {
        self.list_action_then(id, lists, action, ch, &|| Ok(()))
    }

    /// [`Store::list_action`], running `before_commit` in its transaction.
    pub fn list_action_then(
        &self,
        id: &str,
        lists: &[&str],
        action: &ListAction,
        ch: &ListChange<'_>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<bool, StoreError> {
        let (subject, key) = parse_record_id(id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{id}”格式不对")))?;
        self.write(|c| {
            let changed = apply(c, &subject, &key, lists, action, ch)?;
            before_commit()?;
            Ok(changed)
        })
    }

    /// Moves off their lists the entries whose validity ended before `today`, each in its own
    /// transaction, telling `expired` each one's id as it commits; returns how many.
    pub fn expire_due(
        &self,
        lists: &[&str],
        ch: &ListChange<'_>,
        expired: &mut dyn FnMut(String),
    ) -> Result<usize, StoreError> {
        let (list, params) = first_and_lists(ch.today.into(), lists);
        let due: Vec<(String, Vec<u8>)> = self.read(|c| {
            c.query(
                &format!(
                    "SELECT subject_key, record_key FROM records
                     WHERE class_code IN ({}) AND change IN ('created', 'corrected')
                       AND public_ends IS NOT NULL AND public_ends < $1",
                    list.join(", ")
                ),
                &params,
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.bytes(1)?)))
            .collect()
        })?;
        let mut done = 0;
        for (s, k) in due {
            self.write(|c| apply(c, &s, &k, lists, &ListAction::Expire, ch))?;
            // Told as soon as it commits: a later entry's failure loses none of the earlier.
            expired(record_id(&s, &k));
            done += 1;
        }
        Ok(done)
    }

    /// List entries in force (not ended) of the given classes changed after `since`, with their
    /// current content; and, with `ended`, the ids of entries that ended after `since`.
    pub fn list_entries_since(
        &self,
        lists: &[&str],
        since: DateTime<Utc>,
    ) -> Result<EntryChanges, StoreError> {
        self.entries_changed(lists, since, "", None)
    }

    /// Penalties (`class`: CF) changed after `since`, split as [`Store::list_entries_since`]
    /// splits entries; with `only`, those alone that could meet it (the few of millions of
    /// penalties a measure is triggered by).
    pub fn penalties_since(
        &self,
        class: &str,
        since: DateTime<Utc>,
        only: Option<&PenaltyFilter>,
    ) -> Result<EntryChanges, StoreError> {
        self.entries_changed(&[class], since, "", only)
    }

    /// The newest change stamped on a class's records (by its index on class and time stamp):
    /// where a filtered whole read of it leaves its cursor, so that the next refresh does not
    /// read again the many changes the filter passed over.
    pub fn class_changed_last(&self, class: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT MAX(updated_at) FROM records WHERE class_code = $1",
                &[class.into()],
            )?
            .map_or(Ok(None), |r| r.opt_time(0))
        })
    }

    /// What the list index's follower compares from one second to the next: the newest change
    /// stamp of each class's records (one index seek each) and the newest submission (a late
    /// one may carry an older stamp). Unchanged, there is nothing new to read.
    pub fn changes_stamp(&self, classes: &[&str]) -> Result<ChangesStamp, StoreError> {
        let stamps = classes
            .iter()
            .map(|c| self.class_changed_last(c))
            .collect::<Result<Vec<_>, _>>()?;
        // The newest id, and how many of the last thousand have committed: an import begun
        // earlier (a lower id, an older stamp) that commits later moves the count.
        let (newest, recent) = self.read(|c| {
            let max = c
                .query_one("SELECT MAX(submission_id) FROM submissions", &[])?
                .map_or(Ok(0), |r| r.i64(0))?;
            let recent = c
                .query_one(
                    "SELECT COUNT(*) FROM submissions WHERE submission_id > $1",
                    &[Val::Int(max - 1000)],
                )?
                .map_or(Ok(0), |r| r.i64(0))?;
            Ok((max, recent))
        })?;
        Ok((stamps, newest, recent))
    }

    /// [`Store::list_entries_since`] for the changes no submission made (an officer's list
    /// action, a single withdrawal, an objection's label on the head): what the check index
    /// reads back behind its cursor.
    pub fn list_actions_since(
        &self,
        lists: &[&str],
        since: DateTime<Utc>,
    ) -> Result<EntryChanges, StoreError> {
        self.entries_changed(
            lists,
            since,
            " AND (v.submission_id IS NULL OR r.updated_at > v.recorded_at)",
            None,
        )
    }

    fn entries_changed(
        &self,
        lists: &[&str],
        since: DateTime<Utc>,
        and: &str,
        only: Option<&PenaltyFilter>,
    ) -> Result<EntryChanges, StoreError> {
        let (list, mut params) = first_and_lists(since.into(), lists);
        let and = match only {
            Some(f) => format!("{and}{}", f.condition(self.backend(), &mut params)),
            None => and.to_string(),
        };
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {ENTRY_COLUMNS}
                     FROM records r JOIN record_versions v ON v.subject_key = r.subject_key
                        AND v.record_key = r.record_key AND v.version_no = r.current_version
                     WHERE r.class_code IN ({}) AND r.updated_at > $1{and}",
                    list.join(", ")
                ),
                &params,
            )?;
            split_entries(&rows)
        })
    }

    /// Submissions of the given classes above `after`: their ids, the time stamp their records
    /// carry, and whether they were withdrawn ([`crate::watch`]).
    pub fn list_submissions(
        &self,
        lists: &[&str],
        after: i64,
    ) -> Result<Vec<SubmissionStamp>, StoreError> {
        let (list, params) = first_and_lists(Val::Int(after), lists);
        self.stamps(
            &format!(
                "SELECT submission_id, received_at, status FROM submissions
                 WHERE (submission_id > $1 OR status = 'withdrawn') AND class_code IN ({})",
                list.join(", ")
            ),
            &params,
        )
    }

    /// Every submission above `after`: id, the time stamp its records and subjects carry, and
    /// whether it was withdrawn (the name index's late-commit check, [`crate::watch`]).
    pub fn submission_stamps(&self, after: i64) -> Result<Vec<SubmissionStamp>, StoreError> {
        self.stamps(
            "SELECT submission_id, received_at, status FROM submissions
             WHERE submission_id > $1 OR status = 'withdrawn'",
            &[Val::Int(after)],
        )
    }

    fn stamps(&self, sql: &str, params: &[Val]) -> Result<Vec<SubmissionStamp>, StoreError> {
        self.read(|c| {
            c.query(sql, params)?
                .iter()
                .map(|r| Ok((r.i64(0)?, r.time(1)?, r.text(2)? == "withdrawn")))
                .collect()
        })
    }

    /// The entries a submission wrote — and, with `carried`, those it sent again unchanged
    /// and was the last to send (what withdrawing it ends) — with their current content, split
    /// as `list_entries_since` splits them.
    pub fn list_entries_of_submission(
        &self,
        lists: &[&str],
        submission_id: i64,
        carried: bool,
    ) -> Result<EntryChanges, StoreError> {
        let (list, params) = first_and_lists(Val::Int(submission_id), lists);
        let mut sql = format!(
            "SELECT {ENTRY_COLUMNS}
             FROM record_versions w
             JOIN records r ON r.subject_key = w.subject_key AND r.record_key = w.record_key
             JOIN record_versions v ON v.subject_key = r.subject_key
                AND v.record_key = r.record_key AND v.version_no = r.current_version
             WHERE w.submission_id = $1 AND r.class_code IN ({})",
            list.join(", ")
        );
        if carried {
            // No index on the last sender: the list records are walked (a withdrawal is rare).
            sql.push_str(&format!(
                " UNION ALL SELECT {ENTRY_COLUMNS}
                 FROM records r JOIN record_versions v ON v.subject_key = r.subject_key
                    AND v.record_key = r.record_key AND v.version_no = r.current_version
                 WHERE r.last_submission = $1 AND r.class_code IN ({})",
                list.join(", ")
            ));
        }
        self.read(|c| split_entries(&c.query(&sql, &params)?))
    }

    /// Organisations (from their registration records) whose legal representative is one of
    /// `persons`: (organisation key, person key).
    pub fn represented_by(&self, persons: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        // `class_code || ''`: without statistics SQLite would walk every registration by class
        // instead of the few by representative.
        self.reps_where(
            persons,
            "legal_rep_key IN ({}) AND legal_rep_key IS NOT NULL AND class_code || '' = 'DJ'",
        )
    }

    /// The legal representatives of organisations, from their registration records.
    pub fn legal_reps_of(&self, orgs: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        // By the records' primary key (subject first): with `class_code = 'DJ'` and no
        // statistics SQLite walked every registration by class for each 500 keys — a server
        // on a store of a million organisations took six minutes to build its list index.
        self.reps_where(
            orgs,
            "subject_key IN ({}) AND class_code || '' = 'DJ' AND legal_rep_key IS NOT NULL",
        )
    }

    /// (organisation, legal representative) pairs of current registrations whose keys are in
    /// `keys`, by `condition` (its `{}` the list of keys), 500 keys a query.
    fn reps_where(
        &self,
        keys: &[String],
        condition: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let params: Vec<Val> = chunk.iter().map(|p| Val::from(p.as_str())).collect();
            let sql = format!(
                "SELECT subject_key, legal_rep_key FROM records
                 WHERE {} AND change IN ('created', 'corrected')",
                condition.replace("{}", &list.join(", "))
            );
            for r in self.read(|c| c.query(&sql, &params))? {
                out.push((r.text(0)?, r.text(1)?));
            }
        }
        Ok(out)
    }

    /// Registration records changed after `since` with a legal representative: (org, person),
    /// and the latest change time among them (where the next look starts).
    #[allow(clippy::type_complexity)]
    pub fn legal_reps_changed(
        &self,
        since: DateTime<Utc>,
    ) -> Result<(Vec<(String, Option<String>)>, Option<DateTime<Utc>>), StoreError> {
        self.read(|c| {
            let mut newest: Option<DateTime<Utc>> = None;
            let mut out = Vec::new();
            for r in c.query(
                "SELECT subject_key, CASE WHEN change IN ('created', 'corrected') THEN legal_rep_key END,
                    updated_at
                 FROM records WHERE class_code = 'DJ' AND updated_at > $1",
                &[since.into()],
            )? {
                let t = r.time(2)?;
                newest = Some(newest.map_or(t, |n| n.max(t)));
                out.push((r.text(0)?, r.opt_text(1)?));
            }
            Ok((out, newest))
        })
    }

    /// Record events not yet turned into alerts, oldest first.
    pub fn pending_events(&self, limit: i64) -> Result<Vec<RecordEvent>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT e.seq, e.subject_key, e.record_key, e.version_no, e.class_code, e.change,
                    e.severity, e.source_unit, e.at,
                    (SELECT p.change FROM record_events p
                     WHERE p.subject_key = e.subject_key AND p.record_key = e.record_key
                       AND p.seq < e.seq ORDER BY p.seq DESC LIMIT 1),
                    v.decided_on, v.payload, r.legal_rep_key
                 FROM record_events e
                 LEFT JOIN record_versions v ON v.subject_key = e.subject_key
                    AND v.record_key = e.record_key AND v.version_no = e.version_no
                 LEFT JOIN records r ON r.subject_key = e.subject_key AND r.record_key = e.record_key
                 WHERE e.processed = $1 ORDER BY e.seq LIMIT $2",
                &[Val::Bool(false), Val::Int(limit)],
            )?
            .iter()
            .map(|r| {
                let subject = r.text(1)?;
                Ok(RecordEvent {
                    seq: r.i64(0)?,
                    record_id: record_id(&subject, &r.bytes(2)?),
                    subject_key: subject,
                    version_no: r.i64(3)?,
                    class_code: r.text(4)?,
                    change: r.text(5)?,
                    severity: r.opt_text(6)?,
                    source_unit: r.text(7)?,
                    at: r.time(8)?,
                    previous: r.opt_text(9)?,
                    decided_on: r.opt_date(10)?,
                    payload: r.opt_text(11)?,
                    legal_rep_key: r.opt_text(12)?,
                })
            })
            .collect()
        })
    }

    /// Marks exactly the events that were read. Not "every event up to the last one read": on
    /// PostgreSQL sequence numbers are handed out before commit, so an import still running can
    /// commit an event with a smaller number after the read, and it must stay pending.
    pub fn mark_events_processed(&self, seqs: &[i64]) -> Result<(), StoreError> {
        self.write(|c| {
            for chunk in seqs.chunks(500) {
                let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let mut params = vec![Val::Bool(true)];
                params.extend(chunk.iter().map(|&s| Val::Int(s)));
                c.execute(
                    &format!(
                        "UPDATE record_events SET processed = $1 WHERE seq IN ({})",
                        list.join(", ")
                    ),
                    &params,
                )?;
            }
            Ok(())
        })
    }

    /// Dishonesty records per subject decided since `from` in `classes`, for subjects with at
    /// least `threshold` (the 累计失信 warning). Only records made public count: a 轻微 penalty
    /// that is not published is not a dishonesty record.
    pub fn accumulated(
        &self,
        classes: &[&str],
        from: NaiveDate,
        threshold: i64,
        limit: i64,
    ) -> Result<(Vec<(String, i64)>, i64), StoreError> {
        let list: Vec<String> = (0..classes.len()).map(|i| format!("${}", i + 5)).collect();
        let mut params: Vec<Val> = vec![
            from.into(),
            Val::Int(threshold),
            Val::Int(limit),
            Val::Bool(true),
        ];
        params.extend(classes.iter().map(|c| Val::from(*c)));
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT subject_key, COUNT(*), COUNT(*) OVER () FROM records
                     WHERE class_code IN ({}) AND change IN ('created', 'corrected') AND decided_on >= $1
                       AND published = $4
                     GROUP BY subject_key HAVING COUNT(*) >= $2
                     ORDER BY COUNT(*) DESC, subject_key LIMIT $3",
                    list.join(", ")
                ),
                &params,
            )?
            .iter()
            .try_fold((Vec::new(), 0), |(mut out, _), r| {
                out.push((r.text(0)?, r.i64(1)?));
                Ok((out, r.i64(2)?))
            })
        })
    }
}
