//! Repair and objection cases: opening one, moving it with a guarded transition (state checked in
//! the same statement that changes it), its events and evidence, and what a transition writes
//! beside it in the same transaction — the record's end (repaired or withdrawn), the 异议处理中
//! label, messages, outbox rows, jobs and the sharing feed. Also the repair reminders (闹铃式)
//! and the statistics' raw rows. The rules (which transition, which deadline) are the caller's.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::conn::{Backend, Conn, Row, Val, skip_locked};
use crate::model::parse_record_id;
use crate::withdraw::{Withdrawal, end_on};
use crate::{Store, StoreError};

/// A record as a case sees it: its head and current version.
#[derive(Debug, Clone, Serialize)]
pub struct RecordHead {
    pub record_id: String,
    pub subject_key: String,
    #[serde(skip)]
    pub record_key: Vec<u8>,
    pub class_code: String,
    pub source_unit: String,
    pub version: i64,
    pub change: String,
    pub decided_on: Option<NaiveDate>,
    pub published: bool,
    pub repairable_from: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    pub severity: Option<String>,
    pub regime: Option<String>,
    pub under_objection: bool,
    /// The current version's payload (sensitive items masked).
    pub payload: String,
    /// When the current version was recorded (a repair's, a withdrawal's, an exit's day).
    pub changed_at: DateTime<Utc>,
}

const HEAD_COLUMNS: &str = "r.subject_key, r.record_key, r.class_code, r.source_unit,
    r.current_version, r.change, r.decided_on, r.published, r.repairable_from, r.public_ends,
    v.severity, v.regime, r.under_objection, v.payload, v.recorded_at";

/// The current heads of the records whose `column` (a fixed column name, not input) is `value`,
/// class by class, newest decision first, at most `limit` of each class.
fn heads_where(
    c: &mut dyn Conn,
    column: &str,
    value: &str,
    classes: &[&str],
    limit: i64,
) -> Result<Vec<RecordHead>, StoreError> {
    let mut out = Vec::new();
    // A subject's records by the primary key (subject first): `r.class_code = $2` let SQLite,
    // without statistics, walk the whole class by date for the ORDER BY and look for the
    // subject in it (every penalty of a 10 M store for one subject's file). A unit's by its
    // (unit, class, date) index.
    let class_cond = if column == "r.subject_key" {
        "r.class_code || '' = $2"
    } else {
        "r.class_code = $2"
    };
    for class in classes {
        let rows = c.query(
            &format!(
                "SELECT {HEAD_COLUMNS} FROM records r JOIN record_versions v
                   ON v.subject_key = r.subject_key AND v.record_key = r.record_key
                  AND v.version_no = r.current_version
                 WHERE {column} = $1 AND {class_cond}
                 ORDER BY r.decided_on DESC LIMIT $3"
            ),
            &[value.into(), (*class).into(), Val::Int(limit)],
        )?;
        for r in &rows {
            out.push(head_from(r)?);
        }
    }
    Ok(out)
}

fn head_from(r: &Row) -> Result<RecordHead, StoreError> {
    let subject_key = r.text(0)?;
    let record_key = r.bytes(1)?;
    Ok(RecordHead {
        record_id: crate::model::record_id(&subject_key, &record_key),
        subject_key,
        record_key,
        class_code: r.text(2)?,
        source_unit: r.text(3)?,
        version: r.i64(4)?,
        change: r.text(5)?,
        decided_on: r.opt_date(6)?,
        published: r.bool(7)?,
        repairable_from: r.opt_date(8)?,
        public_ends: r.opt_date(9)?,
        severity: r.opt_text(10)?,
        regime: r.opt_text(11)?,
        under_objection: r.bool(12)?,
        payload: r.text(13)?,
        changed_at: r.time(14)?,
    })
}

/// A case as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一件信用修复或异议案件。")]
pub struct Case {
    pub case_id: i64,
    /// repair 或 objection.
    pub kind: String,
    pub record_id: String,
    pub subject_key: String,
    pub class_code: String,
    // The record's version when the case was opened.
    /// 立案时该记录的版本号。
    pub record_version: i64,
    // The unit that must act: the deciding unit (repair) or the source unit (objection).
    /// 须办理的单位：信用修复为认定单位，异议为数据报送单位。
    pub unit: String,
    pub state: String,
    pub opened_by: String,
    /// subject（主体申请）、unit（主动异议）或 office.
    pub opened_side: String,
    pub opened_at: DateTime<Utc>,
    pub opened_on: NaiveDate,
    pub reason: String,
    pub commitment: Option<String>,
    // The deciding unit's confirmation that the penalty was performed.
    /// 认定单位对行政处罚是否已履行的确认（尚未确认时为空）。
    pub performed: Option<bool>,
    // The current step's last day to act on time.
    /// 当前环节按时办理的最后日期（YYYY-MM-DD）。
    pub deadline: Option<NaiveDate>,
    pub deadline_step: Option<String>,
    // Objections: the day by which the subject must have the answer.
    /// 异议案件：须答复主体的最后日期（YYYY-MM-DD）。
    pub answer_due: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    // Escalation of the current step to the credit office: 0 none, 1 near its deadline, 2 overdue.
    /// 当前环节提请信用办督办的程度：0 未提请，1 临近期限，2 已逾期。
    pub escalated: i64,
    // Steps taken after their deadline.
    /// 超过期限办理的环节数。
    pub late_steps: i64,
    // Working days spent waiting for the subject (not counted as handling time).
    /// 等待主体补充材料的工作日数（不计入办理时限）。
    pub waiting_days: i64,
    pub updated_at: DateTime<Utc>,
    pub events: i64,
    // The decision: approved / rejected (repair); corrected / record_withdrawn / maintained.
    /// 办理结果：信用修复为 approved（准予修复）或 rejected（不予修复）；异议为 corrected（更正）、record_withdrawn（撤销记录）或 maintained（维持）。
    pub outcome: Option<String>,
}

const CASE_COLUMNS: &str = "case_id, kind, record_id, subject_key, class_code, record_version,
    unit, state, opened_by, opened_side, opened_at, opened_on, reason, commitment, performed,
    deadline, deadline_step, answer_due, decided_at, decided_on, decision_reason, escalated,
    late_steps, updated_at, events, outcome, waiting_days";

fn opt_bool(r: &Row, i: usize) -> Result<Option<bool>, StoreError> {
    match r.get(i) {
        Val::Null => Ok(None),
        _ => r.bool(i).map(Some),
    }
}

fn case_from(r: &Row) -> Result<Case, StoreError> {
    Ok(Case {
        case_id: r.i64(0)?,
        kind: r.text(1)?,
        record_id: r.text(2)?,
        subject_key: r.text(3)?,
        class_code: r.text(4)?,
        record_version: r.i64(5)?,
        unit: r.text(6)?,
        state: r.text(7)?,
        opened_by: r.text(8)?,
        opened_side: r.text(9)?,
        opened_at: r.time(10)?,
        opened_on: r
            .opt_date(11)?
            .ok_or_else(|| StoreError::Decode("case without opened_on".into()))?,
        reason: r.text(12)?,
        commitment: r.opt_text(13)?,
        performed: opt_bool(r, 14)?,
        deadline: r.opt_date(15)?,
        deadline_step: r.opt_text(16)?,
        answer_due: r.opt_date(17)?,
        decided_at: r.opt_time(18)?,
        decided_on: r.opt_date(19)?,
        decision_reason: r.opt_text(20)?,
        escalated: r.i64(21)?,
        late_steps: r.i64(22)?,
        updated_at: r.time(23)?,
        events: r.i64(24)?,
        outcome: r.opt_text(25)?,
        waiting_days: r.i64(26)?,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseEvent {
    pub seq: i64,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub side: String,
    pub unit: Option<String>,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseFile {
    pub file_id: i64,
    pub name: String,
    pub media_type: String,
    pub byte_size: i64,
    // SM3 of the file as received.
    /// 收到的文件的 SM3 摘要。
    pub digest: String,
    pub uploaded_by: String,
    pub at: DateTime<Utc>,
}

fn file_from(r: &Row) -> Result<CaseFile, StoreError> {
    Ok(CaseFile {
        file_id: r.i64(0)?,
        name: r.text(1)?,
        media_type: r.text(2)?,
        byte_size: r.i64(3)?,
        digest: r.text(4)?,
        uploaded_by: r.text(5)?,
        at: r.time(6)?,
    })
}

/// An event to write.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub action: String,
    pub actor: String,
    pub side: String,
    pub unit: Option<String>,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// Evidence to keep (already sealed by the caller).
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub media_type: String,
    pub byte_size: i64,
    pub digest: String,
    pub sealed: Vec<u8>,
}

/// A console message; `dedupe` makes writing it twice harmless.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub to_kind: &'static str,
    pub to_key: String,
    pub title: String,
    pub body: String,
    pub case_id: Option<i64>,
    pub record_id: Option<String>,
    pub dedupe: String,
}

/// An email/SMS to send through the outbox.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    pub channel: &'static str,
    pub recipient: String,
    pub title: String,
    pub body: String,
    pub dedupe: String,
}

/// A job for the scheduler.
/// The job that withdraws the public commitment of a repair application ended without a repair
/// (run by the workflows' scheduler).
pub const COMMITMENT_LAPSE: &str = "commitment.lapse";

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub key: String,
    pub payload: String,
    pub run_at: DateTime<Utc>,
}

/// What a transition or an opening writes beside the case, in its transaction.
#[derive(Debug, Clone, Default)]
pub struct SideEffects {
    pub messages: Vec<NewMessage>,
    pub outbox: Vec<NewOutbox>,
    pub jobs: Vec<NewJob>,
    pub files: Vec<NewFile>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub kind: &'static str,
    pub record_id: String,
    /// The record version the pre-review saw: opening fails if the record changed since.
    pub record_version: i64,
    pub unit: String,
    pub state: &'static str,
    pub opened_by: String,
    pub opened_side: &'static str,
    pub opened_at: DateTime<Utc>,
    pub opened_on: NaiveDate,
    pub reason: String,
    pub commitment: Option<String>,
    pub deadline: Option<(NaiveDate, &'static str)>,
    pub answer_due: Option<NaiveDate>,
    pub event: NewEvent,
    pub effects: SideEffects,
}

/// How a transition ends the record, if it does.
#[derive(Debug, Clone)]
pub struct EndRecord {
    pub change: Ending,
    pub unit: String,
    pub actor: String,
    pub reason: String,
}

/// The version that ends the record.
#[derive(Debug, Clone)]
pub enum Ending {
    Repaired,
    Withdrawn,
    /// A list entry left early on application (提前移出), if its class is one of these (the list
    /// classes an entry may leave so; anything else is refused, whatever asked).
    Exited {
        lists: Vec<String>,
    },
}

/// A guarded transition: applied only if the case is still in `from`.
#[derive(Debug, Clone)]
pub struct Transition {
    pub case_id: i64,
    pub from: &'static str,
    pub to: &'static str,
    pub event: NewEvent,
    /// The next deadline (None clears it).
    pub deadline: Option<(NaiveDate, &'static str)>,
    /// The step was taken after the deadline that ran.
    pub late: bool,
    /// Working days the case had waited for the subject before this step.
    pub waited: i64,
    pub performed: Option<bool>,
    /// A decision: its day and reason.
    pub decided: Option<(NaiveDate, String)>,
    pub end_record: Option<EndRecord>,
    /// Objection outcome "corrected": the record must have a newer version than when opened.
    pub require_newer_version: bool,
    /// An objection closes: the record's 异议处理中 label is recomputed.
    pub objection_closes: bool,
    /// The decision goes to the sharing feed (kind, payload).
    pub share: Option<(&'static str, String)>,
    pub effects: SideEffects,
}

/// Filters for lists of cases.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub kind: Option<String>,
    pub unit: Option<String>,
    pub subject_key: Option<String>,
    /// Open cases only (not decided, not cancelled); with `overdue_on`, those past their deadline.
    pub open: bool,
    pub overdue_on: Option<NaiveDate>,
    pub limit: i64,
}

/// A row for the statistics.
#[derive(Debug, Clone)]
pub struct CaseStatRow {
    pub kind: String,
    pub unit: String,
    pub state: String,
    pub outcome: Option<String>,
    pub opened_on: NaiveDate,
    pub decided_on: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
    pub late_steps: i64,
    pub waiting_days: i64,
}

/// A record that became repairable and has no reminder yet.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub head: RecordHead,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    pub record_id: String,
    pub subject_key: String,
    pub unit: String,
    pub repairable_from: NaiveDate,
    // The pre-review (JSON of conditions).
    /// 预审结果（各项条件，JSON 格式）。
    pub pre_review: String,
    pub created_at: DateTime<Utc>,
    /// The record's class and current payload, to name it by its 文书号.
    #[serde(skip)]
    pub class_code: String,
    #[serde(skip)]
    pub payload: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message_id: i64,
    pub title: String,
    pub body: String,
    pub case_id: Option<i64>,
    pub record_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A decision shared to the provincial/national platform.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "报送至省级或国家平台的一项决定。")]
pub struct FeedItem {
    pub feed_id: i64,
    // repair_decision.
    /// 类型：repair_decision（信用修复决定）。
    pub kind: String,
    pub case_id: i64,
    pub record_id: String,
    // The decision as JSON: case, record, subject, deciding unit, outcome, date, reason.
    /// 决定内容（JSON）：案件、记录、主体、认定单位、结果、日期和理由。
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

fn feed_from(r: &Row) -> Result<FeedItem, StoreError> {
    Ok(FeedItem {
        feed_id: r.i64(0)?,
        kind: r.text(1)?,
        case_id: r.i64(2)?,
        record_id: r.text(3)?,
        payload: r.text(4)?,
        created_at: r.time(5)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub outbox_id: i64,
    pub channel: String,
    pub recipient: String,
    pub title: String,
    pub body: String,
    pub dedupe: String,
    pub attempts: i64,
}

pub(crate) fn insert_effects(
    c: &mut dyn Conn,
    e: &SideEffects,
    case_id: Option<i64>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for m in &e.messages {
        c.execute(
            "INSERT INTO messages (to_kind, to_key, title, body, case_id, record_id, dedupe, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe) DO NOTHING",
            &[
                m.to_kind.into(),
                m.to_key.as_str().into(),
                m.title.as_str().into(),
                m.body.as_str().into(),
                m.case_id.or(case_id).into(),
                m.record_id.clone().into(),
                m.dedupe.as_str().into(),
                at.into(),
            ],
        )?;
    }
    for o in &e.outbox {
        c.execute(
            "INSERT INTO outbox (channel, recipient, title, body, dedupe, next_attempt, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (dedupe) DO NOTHING",
            &[
                o.channel.into(),
                o.recipient.as_str().into(),
                o.title.as_str().into(),
                o.body.as_str().into(),
                o.dedupe.as_str().into(),
                at.into(),
            ],
        )?;
    }
    for j in &e.jobs {
        crate::jobs::enqueue(c, j, at)?;
    }
    if let Some(case_id) = case_id {
        for f in &e.files {
            c.execute(
                "INSERT INTO case_files (case_id, name, media_type, byte_size, digest, sealed, uploaded_by, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    Val::Int(case_id),
                    f.name.as_str().into(),
                    f.media_type.as_str().into(),
                    Val::Int(f.byte_size),
                    f.digest.as_str().into(),
                    Val::Bytes(f.sealed.clone()),
                    actor.into(),
                    at.into(),
                ],
            )?;
        }
    }
    Ok(())
}

pub(crate) fn insert_event(
    c: &mut dyn Conn,
    case_id: i64,
    seq: i64,
    from: Option<&str>,
    to: &str,
    e: &NewEvent,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO case_events (case_id, seq, action, from_state, to_state, actor, side, unit, at, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            Val::Int(case_id),
            Val::Int(seq),
            e.action.as_str().into(),
            from.into(),
            to.into(),
            e.actor.as_str().into(),
            e.side.as_str().into(),
            e.unit.clone().into(),
            e.at.into(),
            e.note.clone().into(),
        ],
    )?;
    Ok(())
}

/// Sets the record's 异议处理中 label from its open objections.
pub(crate) fn relabel(
    c: &mut dyn Conn,
    subject: &str,
    key: &[u8],
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let open = c
        .query_one(
            "SELECT COUNT(*) FROM cases WHERE kind = 'objection' AND record_id = $1
               AND state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials')",
            &[id.into()],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    c.execute(
        "UPDATE records SET under_objection = $1, updated_at = $2 WHERE subject_key = $3 AND record_key = $4",
        &[Val::Bool(open > 0), at.into(), subject.into(), Val::Bytes(key.to_vec())],
    )?;
    Ok(())
}

fn head_on(c: &mut dyn Conn, subject: &str, key: &[u8]) -> Result<Option<RecordHead>, StoreError> {
    c.query_one(
        &format!(
            "SELECT {HEAD_COLUMNS} FROM records r JOIN record_versions v
               ON v.subject_key = r.subject_key AND v.record_key = r.record_key
              AND v.version_no = r.current_version
             WHERE r.subject_key = $1 AND r.record_key = $2"
        ),
        &[subject.into(), Val::Bytes(key.to_vec())],
    )?
    .map(|r| head_from(&r))
    .transpose()
}

impl Store {
    /// A record's head and current version.
    /// The records a unit filed under a decision (its class and the key of its 文书号, see
    /// `domain::monitoring::decision_key`), by id: a decision may name several parties.
    pub fn records_of_decision(
        &self,
        unit: &str,
        class_code: &str,
        key: &[u8; 16],
    ) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT subject_key, record_key FROM records
                 WHERE source_unit = $1 AND class_code = $2 AND decision_key = $3
                 ORDER BY subject_key",
                &[unit.into(), class_code.into(), Val::Bytes(key.to_vec())],
            )?
            .iter()
            .map(|r| Ok(crate::record_id(&r.text(0)?, &r.bytes(1)?)))
            .collect()
        })
    }

    pub fn record_head(&self, id: &str) -> Result<Option<RecordHead>, StoreError> {
        let Some((subject, key)) = parse_record_id(id) else {
            return Ok(None);
        };
        self.read(|c| head_on(c, &subject, &key))
    }

    /// A unit's records of the given classes (its list entries, ended ones too), newest decision
    /// first, at most `limit` of each class: the deciding unit's own list page.
    pub fn unit_heads(
        &self,
        unit: &str,
        classes: &[&str],
        limit: i64,
    ) -> Result<Vec<RecordHead>, StoreError> {
        self.read(|c| heads_where(c, "r.source_unit", unit, classes, limit))
    }

    /// A subject's dishonesty records in force (penalties and list entries not ended), for its
    /// "my records" page.
    pub fn subject_heads(
        &self,
        subject: &str,
        classes: &[&str],
    ) -> Result<Vec<RecordHead>, StoreError> {
        self.read(|c| heads_where(c, "r.subject_key", subject, classes, i64::MAX))
    }

    /// Opens a case; fails if the record changed since its pre-review or already has an open
    /// case of this kind.
    pub fn open_case(&self, n: &NewCase) -> Result<i64, StoreError> {
        self.open_case_then(n, &|_| Ok(()))
    }

    /// [`Store::open_case`], running `before_commit` with the new case's id in its transaction.
    pub fn open_case_then(
        &self,
        n: &NewCase,
        before_commit: &dyn Fn(i64) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        let (subject, key) = parse_record_id(&n.record_id)
            .ok_or_else(|| StoreError::NotFound(format!("记录编号“{}”格式不对", n.record_id)))?;
        self.write(|c| {
            let head = head_on(c, &subject, &key)?
                .ok_or_else(|| StoreError::NotFound(format!("记录{}不存在", n.record_id)))?;
            if head.version != n.record_version {
                return Err(StoreError::Refused(
                    "该记录在预审后已有新版本，请刷新后重新提交".into(),
                ));
            }
            let inserted = c.query_one(
                "INSERT INTO cases (kind, record_id, subject_key, record_key, class_code, record_version,
                    unit, state, opened_by, opened_side, opened_at, opened_on, reason, commitment,
                    deadline, deadline_step, answer_due, updated_at, events)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $11, 1)
                 RETURNING case_id",
                &[
                    n.kind.into(),
                    n.record_id.as_str().into(),
                    subject.as_str().into(),
                    Val::Bytes(key.clone()),
                    head.class_code.as_str().into(),
                    Val::Int(n.record_version),
                    n.unit.as_str().into(),
                    n.state.into(),
                    n.opened_by.as_str().into(),
                    n.opened_side.into(),
                    n.opened_at.into(),
                    n.opened_on.into(),
                    n.reason.as_str().into(),
                    n.commitment.clone().into(),
                    n.deadline.map(|d| d.0).into(),
                    n.deadline.map(|d| d.1).into(),
                    n.answer_due.into(),
                ],
            );
            let case_id = match inserted {
                Ok(Some(r)) => r.i64(0)?,
                Ok(None) => return Err(StoreError::Decode("no case id returned".into())),
                Err(StoreError::Constraint(_)) => {
                    return Err(StoreError::Refused(format!(
                        "该记录已有办理中的{}申请，请勿重复提交",
                        if n.kind == "repair" { "信用修复" } else { "异议" }
                    )));
                }
                Err(e) => return Err(e),
            };
            insert_event(c, case_id, 1, None, n.state, &n.event)?;
            insert_effects(c, &n.effects, Some(case_id), &n.opened_by, n.opened_at)?;
            if n.kind == "objection" {
                relabel(c, &subject, &key, &n.record_id, n.opened_at)?;
            }
            before_commit(case_id)?;
            Ok(case_id)
        })
    }

    /// Applies a transition if the case is still where the caller saw it.
    pub fn transition_case(&self, t: &Transition) -> Result<(), StoreError> {
        self.transition_case_then(t, &|| Ok(()))
    }

    /// [`Store::transition_case`], running `before_commit` in its transaction.
    pub fn transition_case_then(
        &self,
        t: &Transition,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let (decided_on, reason) = match &t.decided {
                Some((d, r)) => (Val::Date(*d), Val::Text(r.clone())),
                None => (Val::Null, Val::Null),
            };
            let n = c.execute(
                "UPDATE cases SET state = $1, deadline = $2, deadline_step = $3,
                    performed = COALESCE($4, performed),
                    decided_at = CASE WHEN $12 = 1 THEN $6 ELSE decided_at END,
                    decided_on = COALESCE($5, decided_on),
                    decision_reason = COALESCE($7, decision_reason),
                    outcome = CASE WHEN $12 = 1 THEN $1 ELSE outcome END,
                    late_steps = late_steps + $8, escalated = $9, updated_at = $6,
                    waiting_days = waiting_days + $13,
                    events = events + 1
                 WHERE case_id = $10 AND state = $11",
                &[
                    t.to.into(),
                    t.deadline.map(|d| d.0).into(),
                    t.deadline.map(|d| d.1).into(),
                    t.performed.into(),
                    decided_on,
                    t.event.at.into(),
                    reason,
                    Val::Int(t.late as i64),
                    Val::Int(0),
                    Val::Int(t.case_id),
                    t.from.into(),
                    Val::Int(t.decided.is_some() as i64),
                    Val::Int(t.waited),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Refused(
                    "申请状态已变化（他人已办理），请刷新后重试".into(),
                ));
            }
            let row = c
                .query_one(
                    "SELECT events, record_id, record_version FROM cases WHERE case_id = $1",
                    &[Val::Int(t.case_id)],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("申请{}不存在", t.case_id)))?;
            let (seq, record_id, opened_version) = (row.i64(0)?, row.text(1)?, row.i64(2)?);
            insert_event(c, t.case_id, seq, Some(t.from), t.to, &t.event)?;
            let (subject, key) = parse_record_id(&record_id)
                .ok_or_else(|| StoreError::Decode(format!("bad record id {record_id}")))?;
            if t.require_newer_version {
                let head = head_on(c, &subject, &key)?
                    .ok_or_else(|| StoreError::NotFound(format!("记录{record_id}不存在")))?;
                // A correction, not any later version: a repair or a withdrawal since is no
                // correction, and the subject would be told its objection corrected the record.
                let corrected = head.version > opened_version
                    && c.query_one(
                        "SELECT 1 FROM record_versions WHERE subject_key = $1 AND record_key = $2
                            AND version_no > $3 AND change = 'corrected'",
                        &[
                            subject.as_str().into(),
                            Val::Bytes(key.to_vec()),
                            Val::Int(opened_version),
                        ],
                    )?
                    .is_some()
                    && matches!(head.change.as_str(), "created" | "corrected");
                if !corrected {
                    return Err(StoreError::Refused(
                        "该记录尚无更正后的新版本：请先通过报送（文件或接口）更正该记录，再登记“更正”"
                            .into(),
                    ));
                }
            }
            if let Some(end) = &t.end_record {
                let change = match &end.change {
                    Ending::Exited { lists } => {
                        crate::lists::exit_on_application(
                            c,
                            &subject,
                            &key,
                            lists,
                            &end.actor,
                            &end.reason,
                            t.event.at,
                        )?;
                        None
                    }
                    Ending::Repaired => Some("repaired"),
                    Ending::Withdrawn => Some("withdrawn"),
                };
                if let Some(change) = change {
                    end_on(
                        c,
                        &subject,
                        &key,
                        &Withdrawal {
                            unit: &end.unit,
                            actor: &end.actor,
                            reason: &end.reason,
                            at: t.event.at,
                        },
                        change,
                    )?;
                }
            }
            if t.objection_closes {
                relabel(c, &subject, &key, &record_id, t.event.at)?;
            }
            if let Some((kind, payload)) = &t.share {
                c.execute(
                    "INSERT INTO sharing_feed (kind, case_id, record_id, payload, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, case_id) DO NOTHING",
                    &[
                        (*kind).into(),
                        Val::Int(t.case_id),
                        record_id.as_str().into(),
                        payload.as_str().into(),
                        t.event.at.into(),
                    ],
                )?;
            }
            insert_effects(c, &t.effects, Some(t.case_id), &t.event.actor, t.event.at)?;
            before_commit()
        })
    }

    /// Adds evidence to an open case (supplementary material) without changing its state, if
    /// the files since the unit last returned it or asked for materials stay within `max_files`
    /// — counted in the transaction that adds them, with the case row locked, so that uploads
    /// sent at once cannot each pass a count taken before the other's.
    pub fn add_case_files(
        &self,
        case_id: i64,
        files: &[NewFile],
        actor: &str,
        at: DateTime<Utc>,
        max_files: usize,
    ) -> Result<(), StoreError> {
        self.add_case_files_then(case_id, files, actor, at, max_files, &|| Ok(()))
    }

    /// [`Store::add_case_files`], running `before_commit` in its transaction.
    pub fn add_case_files_then(
        &self,
        case_id: i64,
        files: &[NewFile],
        actor: &str,
        at: DateTime<Utc>,
        max_files: usize,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let lock = if c.backend() == Backend::Postgres {
                " FOR UPDATE"
            } else {
                ""
            };
            c.query_one(
                &format!(
                    "SELECT case_id FROM cases WHERE case_id = $1
                       AND state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials'){lock}"
                ),
                &[Val::Int(case_id)],
            )?
            .ok_or_else(|| StoreError::Refused("申请已办结，不能再补充材料".into()))?;
            let held = c
                .query_one(
                    "SELECT COUNT(*) FROM case_files f WHERE f.case_id = $1
                       AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = $1
                             AND e.action IN ('return', 'request_materials') AND e.at >= f.at)",
                    &[Val::Int(case_id)],
                )?
                .map_or(Ok(0), |r| r.i64(0))? as usize;
            if held + files.len() > max_files {
                return Err(StoreError::Refused(format!(
                    "证明材料最多{max_files}个文件，已有{held}个，本次{}个",
                    files.len()
                )));
            }
            insert_effects(
                c,
                &SideEffects {
                    files: files.to_vec(),
                    ..Default::default()
                },
                Some(case_id),
                actor,
                at,
            )?;
            before_commit()
        })
    }

    pub fn case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| case_from(&r))
            .transpose()
        })
    }

    /// The open case of a kind on a record, if any.
    pub fn open_case_of(&self, kind: &str, record_id: &str) -> Result<Option<Case>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!(
                    "SELECT {CASE_COLUMNS} FROM cases WHERE kind = $1 AND record_id = $2
                       AND state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials')"
                ),
                &[kind.into(), record_id.into()],
            )?
            .map(|r| case_from(&r))
            .transpose()
        })
    }

    pub fn cases(&self, f: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        self.read(|c| {
            let open = "state IN ('submitted', 'returned', 'under_review', 'forwarded', 'awaiting_materials', 'approved', 'rejected')";
            let sql = format!(
                "SELECT {CASE_COLUMNS} FROM cases
                 WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR unit = $2) AND ($3 = '' OR subject_key = $3)
                   AND ($4 = 0 OR {open})
                   AND ($5 = 0 OR (deadline IS NOT NULL AND deadline < $6))
                 ORDER BY case_id DESC LIMIT $7"
            );
            let today = f.overdue_on.unwrap_or_default();
            c.query(
                &sql,
                &[
                    f.kind.clone().unwrap_or_default().into(),
                    f.unit.clone().unwrap_or_default().into(),
                    f.subject_key.clone().unwrap_or_default().into(),
                    Val::Int(f.open as i64),
                    Val::Int(f.overdue_on.is_some() as i64),
                    today.into(),
                    Val::Int(if f.limit > 0 { f.limit } else { 200 }),
                ],
            )?
            .iter()
            .map(case_from)
            .collect()
        })
    }

    pub fn case_events(&self, id: i64) -> Result<Vec<CaseEvent>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT seq, action, from_state, to_state, actor, side, unit, at, note
                 FROM case_events WHERE case_id = $1 ORDER BY seq",
                &[Val::Int(id)],
            )?
            .iter()
            .map(|r| {
                Ok(CaseEvent {
                    seq: r.i64(0)?,
                    action: r.text(1)?,
                    from_state: r.opt_text(2)?,
                    to_state: r.text(3)?,
                    actor: r.text(4)?,
                    side: r.text(5)?,
                    unit: r.opt_text(6)?,
                    at: r.time(7)?,
                    note: r.opt_text(8)?,
                })
            })
            .collect()
        })
    }

    pub fn case_files(&self, id: i64) -> Result<Vec<CaseFile>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT file_id, name, media_type, byte_size, digest, uploaded_by, at
                 FROM case_files WHERE case_id = $1 ORDER BY file_id",
                &[Val::Int(id)],
            )?
            .iter()
            .map(file_from)
            .collect()
        })
    }

    /// One evidence file's metadata and sealed content.
    pub fn case_file(
        &self,
        case_id: i64,
        file_id: i64,
    ) -> Result<Option<(CaseFile, Vec<u8>)>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT file_id, name, media_type, byte_size, digest, uploaded_by, at, sealed
                 FROM case_files WHERE case_id = $1 AND file_id = $2",
                &[Val::Int(case_id), Val::Int(file_id)],
            )?
            .map(|r| Ok((file_from(&r)?, r.bytes(7)?)))
            .transpose()
        })
    }

    /// Raw rows for statistics: cases opened in `[from, to]`.
    pub fn case_stat_rows(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CaseStatRow>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT kind, unit, state, opened_on, decided_on, deadline, late_steps, outcome, waiting_days FROM cases
                 WHERE opened_on >= $1 AND opened_on <= $2",
                &[from.into(), to.into()],
            )?
            .iter()
            .map(|r| {
                Ok(CaseStatRow {
                    kind: r.text(0)?,
                    unit: r.text(1)?,
                    state: r.text(2)?,
                    opened_on: r
                        .opt_date(3)?
                        .ok_or_else(|| StoreError::Decode("case without opened_on".into()))?,
                    decided_on: r.opt_date(4)?,
                    deadline: r.opt_date(5)?,
                    late_steps: r.i64(6)?,
                    outcome: r.opt_text(7)?,
                    waiting_days: r.i64(8)?,
                })
            })
            .collect()
        })
    }

    // ----- reminders (闹铃式) -----

    /// Penalties repairable by `today`, still in force and public, without a reminder or a
    /// repair application, after `after` in the scan's order (repairable from, subject, record);
    /// at most `limit`.
    pub fn due_reminders(
        &self,
        today: NaiveDate,
        after: Option<&RecordHead>,
        limit: i64,
    ) -> Result<Vec<RecordHead>, StoreError> {
        // Keyset paging on the index order (repairable_from, subject_key, record_key): a scan
        // over millions of due records reads each once, instead of walking every record already
        // reminded again on each page.
        let origin = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
        let (from, subject, key) = match after {
            Some(h) => (
                h.repairable_from.unwrap_or(origin),
                h.subject_key.clone(),
                h.record_key.clone(),
            ),
            None => (origin, String::new(), Vec::new()),
        };
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {HEAD_COLUMNS} FROM records r JOIN record_versions v
                       ON v.subject_key = r.subject_key AND v.record_key = r.record_key
                      AND v.version_no = r.current_version
                     WHERE r.repairable_from <= $1
                       AND (r.repairable_from, r.subject_key, r.record_key) > ($3, $4, $5)
                       AND r.class_code = 'CF' AND r.change IN ('created', 'corrected')
                       AND (r.public_ends IS NULL OR r.public_ends >= $1)
                       AND NOT EXISTS (SELECT 1 FROM reminders m
                            WHERE m.subject_key = r.subject_key AND m.record_key = r.record_key)
                       AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.kind = 'repair'
                            AND k.subject_key = r.subject_key AND k.record_key = r.record_key)
                     ORDER BY r.repairable_from, r.subject_key, r.record_key LIMIT $2"
                ),
                &[
                    today.into(),
                    Val::Int(limit),
                    from.into(),
                    subject.into(),
                    key.into(),
                ],
            )?
            .iter()
            .map(head_from)
            .collect()
        })
    }

    /// Writes a reminder and what it sends, once per record: the second call changes nothing.
    /// Returns whether it was new.
    pub fn remind(
        &self,
        head: &RecordHead,
        unit: &str,
        pre_review: &str,
        effects: &SideEffects,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            let n = c.execute(
                "INSERT INTO reminders (subject_key, record_key, record_id, unit, repairable_from, pre_review, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subject_key, record_key) DO NOTHING",
                &[
                    head.subject_key.as_str().into(),
                    Val::Bytes(head.record_key.clone()),
                    head.record_id.as_str().into(),
                    unit.into(),
                    head.repairable_from.into(),
                    pre_review.into(),
                    at.into(),
                ],
            )?;
            if n == 1 {
                insert_effects(c, effects, None, "system:reminder", at)?;
            }
            Ok(n == 1)
        })
    }

    /// A summary message to a unit about the day's reminders (once per dedupe key).
    pub fn remind_unit(&self, m: &NewMessage, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|c| {
            insert_effects(
                c,
                &SideEffects {
                    messages: vec![m.clone()],
                    ..Default::default()
                },
                None,
                "system:reminder",
                at,
            )
        })
    }

    /// A unit's reminders (pre-reviewed items) without an application yet, oldest first: only
    /// those whose record is still public on `today` (not withdrawn, repaired or past its
    /// window — nothing to repair then).
    pub fn reminders(
        &self,
        unit: Option<&str>,
        today: NaiveDate,
        limit: i64,
    ) -> Result<Vec<Reminder>, StoreError> {
        Ok(self.reminders_page(unit, today, limit, 0)?.0)
    }

    /// [`Store::reminders`] from the `offset`-th on, with how many there are in all (a
    /// worklist cut at its first page hid the rest, unsaid).
    pub fn reminders_page(
        &self,
        unit: Option<&str>,
        today: NaiveDate,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Reminder>, i64), StoreError> {
        self.read(|c| {
            // The record, by its id: the subject's key, '-', the record key in lowercase hex.
            let hex = match c.backend() {
                Backend::Sqlite => "lower(hex(r.record_key))",
                Backend::Postgres => "encode(r.record_key, 'hex')",
            };
            let joined = format!(
                "FROM reminders m
                 JOIN records r ON r.subject_key = m.subject_key
                     AND m.record_id = r.subject_key || '-' || {hex}"
            );
            let filter = "WHERE ($1 = '' OR m.unit = $1)
                   AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.kind = 'repair' AND k.record_id = m.record_id)
                   AND r.published = $2 AND r.change IN ('created', 'corrected')
                   AND (r.public_ends IS NULL OR r.public_ends >= $3)";
            let base = [unit.unwrap_or("").into(), Val::Bool(true), today.into()];
            let total = c
                .query_one(&format!("SELECT COUNT(*) {joined} {filter}"), &base)?
                .map(|r| r.i64(0))
                .transpose()?
                .unwrap_or(0);
            let mut params = base.to_vec();
            params.extend([Val::Int(limit), Val::Int(offset.max(0))]);
            let rows = c.query(
                &format!(
                    "SELECT m.record_id, m.subject_key, m.unit, m.repairable_from, m.pre_review, m.created_at,
                        r.class_code, v.payload
                     {joined}
                     JOIN record_versions v ON v.subject_key = r.subject_key
                         AND v.record_key = r.record_key AND v.version_no = r.current_version
                     {filter}
                     ORDER BY m.repairable_from, m.record_id LIMIT $4 OFFSET $5"
                ),
                &params,
            )?;
            let list = rows
            .iter()
            .map(|r| {
                Ok(Reminder {
                    record_id: r.text(0)?,
                    subject_key: r.text(1)?,
                    unit: r.text(2)?,
                    repairable_from: r
                        .opt_date(3)?
                        .ok_or_else(|| StoreError::Decode("reminder without date".into()))?,
                    pre_review: r.text(4)?,
                    created_at: r.time(5)?,
                    class_code: r.text(6)?,
                    payload: r.text(7)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((list, total))
        })
    }

    // ----- escalation -----

    /// Cases whose running deadline is on or before `limit_day` and not yet escalated as near, or
    /// before `today` and not yet escalated as overdue.
    pub fn cases_to_escalate(
        &self,
        limit_day: NaiveDate,
        today: NaiveDate,
    ) -> Result<Vec<Case>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {CASE_COLUMNS} FROM cases
                     WHERE deadline IS NOT NULL AND deadline <= $1
                       AND (escalated = 0 OR (escalated = 1 AND deadline < $2))
                     ORDER BY deadline LIMIT 1000"
                ),
                &[limit_day.into(), today.into()],
            )?
            .iter()
            .map(case_from)
            .collect()
        })
    }

    /// Marks a case escalated to `stage` (1 near, 2 overdue) for its current step and writes the
    /// messages, once per stage.
    pub fn escalate_case(
        &self,
        case_id: i64,
        deadline: NaiveDate,
        stage: i64,
        effects: &SideEffects,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE cases SET escalated = $1 WHERE case_id = $2 AND deadline = $3 AND escalated < $1",
                &[Val::Int(stage), Val::Int(case_id), deadline.into()],
            )?;
            if n == 1 {
                insert_effects(c, effects, Some(case_id), "system:escalation", at)?;
            }
            Ok(n == 1)
        })
    }

    // ----- messages and outbox -----

    pub fn messages(
        &self,
        to_kind: &str,
        to_key: &str,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.messages_where(to_kind, to_key, limit, "")
    }

    /// A unit's messages without those about repairs (a repair case's, and the reminders about
    /// a record, which carry no case): what its reporters and reviewers see.
    pub fn messages_without_repairs(
        &self,
        to_kind: &str,
        to_key: &str,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.messages_where(
            to_kind,
            to_key,
            limit,
            "AND (CASE WHEN m.case_id IS NULL THEN m.record_id IS NULL
                 ELSE EXISTS (SELECT 1 FROM cases k WHERE k.case_id = m.case_id
                    AND k.kind = 'objection') END)",
        )
    }

    fn messages_where(
        &self,
        to_kind: &str,
        to_key: &str,
        limit: i64,
        condition: &str,
    ) -> Result<Vec<Message>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT m.message_id, m.title, m.body, m.case_id, m.record_id, m.created_at
                     FROM messages m WHERE m.to_kind = $1 AND m.to_key = $2 {condition}
                     ORDER BY m.message_id DESC LIMIT $3"
                ),
                &[to_kind.into(), to_key.into(), Val::Int(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(Message {
                    message_id: r.i64(0)?,
                    title: r.text(1)?,
                    body: r.text(2)?,
                    case_id: r.opt_i64(3)?,
                    record_id: r.opt_text(4)?,
                    created_at: r.time(5)?,
                })
            })
            .collect()
        })
    }

    /// Claims pending outbox rows due now for `worker`: each is leased until `lease_until`, so
    /// another replica (or this one after a restart) takes it only if this sender dies, and only
    /// the holder of the lease records the send.
    pub fn claim_outbox(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.write(|c| {
            let lock = skip_locked(c);
            let rows = c.query(
                &format!(
                    // A case's step first: the day's reminders (thousands after a scan) must
                    // not hold an applicant's 受理 or 准予 message back for minutes.
                    "SELECT outbox_id, channel, recipient, title, body, dedupe, attempts FROM outbox
                     WHERE state = 'pending' AND next_attempt <= $1
                     ORDER BY CASE WHEN dedupe LIKE 'remind:%' THEN 1 ELSE 0 END, outbox_id
                     LIMIT $2{lock}"
                ),
                &[now.into(), Val::Int(limit)],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let id = r.i64(0)?;
                c.execute(
                    "UPDATE outbox SET next_attempt = $1, attempts = attempts + 1, locked_by = $2
                     WHERE outbox_id = $3",
                    &[lease_until.into(), worker.into(), Val::Int(id)],
                )?;
                out.push(OutboxMessage {
                    outbox_id: id,
                    channel: r.text(1)?,
                    recipient: r.text(2)?,
                    title: r.text(3)?,
                    body: r.text(4)?,
                    dedupe: r.text(5)?,
                    attempts: r.i64(6)? + 1,
                });
            }
            Ok(out)
        })
    }

    /// Records a send by the lease holder: sent, or failed with the next try (None: give up).
    /// Returns false when the row was no longer this worker's.
    pub fn outbox_result(
        &self,
        id: i64,
        worker: &str,
        error: Option<&str>,
        next: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            let (state, next_attempt) = match (error, next) {
                (None, _) => ("sent", at),
                (Some(_), Some(n)) => ("pending", n),
                (Some(_), None) => ("failed", at),
            };
            let n = c.execute(
                "UPDATE outbox SET state = $1, next_attempt = $2, last_error = $3,
                    sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END, locked_by = NULL
                 WHERE outbox_id = $5 AND state = 'pending' AND locked_by = $6",
                &[
                    state.into(),
                    next_attempt.into(),
                    error.map(str::to_string).into(),
                    at.into(),
                    Val::Int(id),
                    worker.into(),
                ],
            )?;
            Ok(n == 1)
        })
    }

    /// Nobody to send to (no account with a phone number or address): kept, not retried.
    pub fn outbox_unaddressed(
        &self,
        id: i64,
        worker: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            Ok(c.execute(
                "UPDATE outbox SET state = 'unaddressed', last_error = $1, next_attempt = $2, locked_by = NULL
                 WHERE outbox_id = $3 AND state = 'pending' AND locked_by = $4",
                &[reason.into(), at.into(), Val::Int(id), worker.into()],
            )? == 1)
        })
    }

    /// Outbox counts by state (pending, sent, failed).
    pub fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.i64(1)?)))
            .collect()
        })
    }

    /// The sharing feed after `after` (oldest first): what the provincial exchange pulls next.
    pub fn sharing_feed_after(&self, after: i64, limit: i64) -> Result<Vec<FeedItem>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT feed_id, kind, case_id, record_id, payload, created_at FROM sharing_feed
                 WHERE feed_id > $1 ORDER BY feed_id LIMIT $2",
                &[Val::Int(after), Val::Int(limit)],
            )?
            .iter()
            .map(feed_from)
            .collect()
        })
    }
}
