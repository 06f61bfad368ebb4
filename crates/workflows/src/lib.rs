//! Credit repair (信用修复“一件事”) and objections (异议) on top of the store.
//!
//! - [`Casework`]: pre-review of a repair, applications and objections with evidence, and every
//!   later step as a guarded transition (the domain's state machine says whether it may happen,
//!   the store writes it with its effects in one transaction: the record repaired or withdrawn,
//!   the 异议处理中 label, messages, outbox rows, the share job).
//! - [`scheduler`]: the jobs table polled by the server — the daily 闹铃式 reminder scan,
//!   escalation of items near their deadline, forwarding objections, sharing decisions — and the
//!   outbox delivered through a pluggable [`scheduler::Sender`].
//! - [`stats`]: applications, approvals, handling times in working days, overdue items.
//!
//! Who may act is checked here against the case (the subject's own records; the unit the case is
//! routed to — "谁认定、谁修复"; the credit office for any), beside the server's role table.

pub mod scheduler;
pub mod stats;

use chrono::{DateTime, NaiveDate, Utc};
use crypto::KeyRing;
use domain::clock::beijing;
use domain::publicity::Severity;
use domain::workflow::{
    Action, CaseKind, CaseState, Eligibility, ExitFacts, RepairFacts, Side, eligibility,
};
use rulebook::Rulebook;
use serde::Serialize;
use store::{
    Case, CaseEvent, CaseFile, EndRecord, Ending, NewCase, NewEvent, NewFile, NewJob, NewMessage,
    NewOutbox, RecordHead, SideEffects, Store, StoreError, Transition,
};

/// Said with a repair granted: the measures of the subject's other lists and records stand.
const OTHER_MEASURES: &str =
    "本主体其他名单或记录所对应的措施不受影响，现行适用的措施可在“我的信用记录”中查看。";

/// The class of administrative penalties, repaired through an application (as are the list
/// entries `list_exit` in workflows.toml names, which the repair takes off their list).
pub const PENALTY: &str = "CF";
/// The serious-dishonesty list (bars early end of market-regulation penalties).
pub const SERIOUS_LIST: &str = "YZSX";
/// 信用承诺及履约: the class the repair commitment is recorded in.
pub const COMMITMENT: &str = "CN";

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{0}")]
    NotFound(String),
    /// Another party's record or case, answered as not found (the refusal is audited).
    #[error("{0}")]
    Concealed(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request is well-formed but may not happen now (with the reason).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CaseError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => CaseError::NotFound(m),
            StoreError::Concealed(m) => CaseError::Concealed(m),
            StoreError::Refused(m) => CaseError::Refused(m),
            StoreError::NotYours(m) => CaseError::Forbidden(m),
            other => CaseError::Store(other),
        }
    }
}

/// What a subject refused a repair may do next (the message named only the reason).
const NEXT_AFTER_REFUSAL: &str = "可在纠正失信行为、履行相关义务后重新申请；对决定不服的，可依法申请行政复议或者提起行政诉讼，也可向市信用办反映。";
/// What a subject whose objection was not upheld may do next.
const NEXT_AFTER_MAINTAINED: &str = "如有新的证据，可再次提出异议；对处理结果不服的，可依法申请行政复议或者提起行政诉讼，也可向市信用办反映。";

/// Who acts.
#[derive(Debug, Clone)]
pub struct Actor {
    /// As written in events and audit entries (`account:…`, `token:…`, `system:…`).
    pub id: String,
    pub side: Side,
    /// The unit of a unit's officer.
    pub unit: Option<String>,
    /// The subject a subject's account acts for (its store key).
    pub subject_key: Option<String>,
    /// Whether a unit's officer handles repairs (谁认定、谁修复: the deciding officers). A unit's
    /// reporters and reviewers see its objections, not the subjects' repair applications and
    /// their evidence.
    pub repairs: bool,
}

impl Actor {
    pub fn system(what: &str) -> Actor {
        Actor {
            id: format!("system:{what}"),
            side: Side::System,
            unit: None,
            subject_key: None,
            repairs: true,
        }
    }
}

/// An uploaded evidence file.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A case with everything its page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "案件详情，包括案件页面显示的全部内容。")]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    pub kind_label: String,
    pub state_label: String,
    // The record's label on the portal while this case is open.
    /// 案件办理期间该记录在门户网站上的标注（如“异议处理中”）。
    pub record_label: Option<String>,
    pub events: Vec<CaseEvent>,
    pub files: Vec<CaseFile>,
    // Repairs: the pre-review as of today.
    /// 信用修复案件：截至今日的预审结果。
    #[schema(value_type = Object)]
    pub pre_review: Option<Eligibility>,
    // What the viewer may do now.
    /// 当前查看者此时可执行的操作代码。
    pub actions: Vec<String>,
    pub overdue: bool,
}

/// The service over one store and rule book.
pub struct Casework<'a> {
    pub store: &'a Store,
    pub rules: &'a Rulebook,
    pub keys: &'a KeyRing,
}

fn day_of(t: DateTime<Utc>) -> NaiveDate {
    beijing(t).date_naive()
}

/// The categories of a penalty (CF_CFLB), split as the source writes them.
fn categories(payload: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let text = v
        .get("CF_CFLB")
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string();
    text.split([';', '；', ',', '，', '、', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn payload_text(payload: &str, code: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    v.get(code)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}

/// A deadline as messages and pages show it: with a warning when its year's holiday notice is
/// not loaded (it was counted on weekends alone and may move).
pub fn deadline_text(calendar: &domain::calendar::WorkCalendar, d: Option<NaiveDate>) -> String {
    use chrono::Datelike;
    match d {
        Some(d) if !calendar.has_year(d.year()) => format!(
            "{d}（{}年节假日安排通知尚未载入，按周末和法定节日计算，以届时安排为准）",
            d.year()
        ),
        Some(d) => d.to_string(),
        None => String::new(),
    }
}

/// A case event's note with the deadline's calendar warning added, so that the case history
/// shows that its date was counted without the year's holiday notice.
fn with_warning(note: Option<String>, warning: Option<String>) -> Option<String> {
    let parts: Vec<String> = note
        .into_iter()
        .chain(warning)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("；"))
}

impl Casework<'_> {
    /// The unit that decides a repair of this record: the deciding authority it names (处罚机关)
    /// when that is a known unit, else the unit that reported it.
    pub fn deciding_unit(&self, head: &RecordHead) -> String {
        self.named_unit(head)
            .unwrap_or_else(|| head.source_unit.clone())
    }

    /// The known unit the record names as its deciding unit (its class's deciding-unit item:
    /// 处罚机关, a list's 认定单位), by the unit's own name however the record wrote it (short
    /// name, USCC, spacing): the case, its messages and reminders are routed by that name.
    pub fn named_unit(&self, head: &RecordHead) -> Option<String> {
        self.named_deciding_unit(head)
            .and_then(|n| self.rules.units.find(n.trim()))
            .map(|u| u.name.clone())
    }

    /// The deciding unit as the record writes it (its class's deciding-unit item), if it does.
    fn named_deciding_unit(&self, head: &RecordHead) -> Option<String> {
        self.rules
            .catalog
            .class_by_code(&head.class_code)
            .and_then(|c| c.item_by_role(domain::catalog::Role::DecidingUnit))
            .map(|item| payload_text(&head.payload, &item.code))
            .filter(|n| !n.trim().is_empty())
    }

    /// The least time an entry must stay on its list before it may leave early, where its class
    /// offers early exit and its deciding unit's rule sets one (workflows.toml
    /// `list_exit.minimum`): binding the subject's application and the unit's own exit alike.
    pub fn exit_minimum(&self, head: &RecordHead) -> Option<&domain::workflow::ListMinimum> {
        let rules = &self.rules.workflows.list_exit;
        if !rules.offers(&head.class_code) {
            return None;
        }
        let tags = self
            .rules
            .units
            .find(&self.deciding_unit(head))
            .map(|u| u.tags.clone())
            .unwrap_or_default();
        let texts: Vec<String> = ["MD_MDLX", "MD_RDYJ"]
            .iter()
            .map(|code| payload_text(&head.payload, code))
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        rules.minimum_for(&tags, &texts)
    }

    /// The name of the list `class` when a subject may apply to leave it early (workflows.toml
    /// `list_exit`).
    pub fn exit_list(&self, class: &str) -> Option<&str> {
        self.rules
            .workflows
            .list_exit
            .offers(class)
            .then(|| {
                self.rules
                    .catalog
                    .class_by_code(class)
                    .map(|c| c.name.as_str())
            })
            .flatten()
    }

    /// Whether a record of `class` is repaired through an application: a penalty, or an entry
    /// of a list that may be left early.
    pub fn repairable_class(&self, class: &str) -> bool {
        class == PENALTY || self.exit_list(class).is_some()
    }

    /// Whether a list entry was decided by a unit of the city that takes applications here:
    /// not the provincial feed's (the province or the nation decided it), not a court's, and a
    /// unit that may record the applicant's commitment. Err says where to apply instead.
    fn decided_here(&self, head: &RecordHead, unit: &str) -> Result<(), String> {
        let item = self.named_deciding_unit(head);
        let named = item.clone().unwrap_or_else(|| unit.to_string());
        let elsewhere = || {
            format!(
                "该名单由{named}认定，不是本市受理移出申请的单位，请向认定单位申请，或通过“信用中国”网站申请信用修复"
            )
        };
        // An entry naming a deciding unit the platform does not know (a provincial department)
        // was not decided by the unit that reported it: that unit cannot let it go.
        if item.is_some_and(|n| self.rules.units.find(&n).is_none()) {
            return Err(elsewhere());
        }
        let commitments = self.rules.catalog.class_by_code(COMMITMENT);
        match self.rules.units.find(unit) {
            Some(u)
                if !u.is_feed()
                    && !u.tags.iter().any(|t| t == "法院")
                    && commitments.is_some_and(|c| u.may_report(c)) =>
            {
                // A feed row naming a city unit is the province's copy: the city unit decides
                // only what it reported itself.
                if self
                    .rules
                    .units
                    .find(&head.source_unit)
                    .is_some_and(|s| s.is_feed())
                {
                    Err(elsewhere())
                } else {
                    Ok(())
                }
            }
            _ => Err(elsewhere()),
        }
    }

    fn on_serious_list(&self, subject: &str, today: NaiveDate) -> Result<bool, CaseError> {
        Ok(self
            .store
            .subject_heads(subject, &[SERIOUS_LIST])?
            .iter()
            .any(|h| {
                matches!(h.change.as_str(), "created" | "corrected")
                    && h.public_ends.is_none_or(|e| e >= today)
            }))
    }

    /// The pre-review of a repair of `head` as of `today`.
    pub fn pre_review(
        &self,
        head: &RecordHead,
        commitment_signed: bool,
        performed: Option<bool>,
        today: NaiveDate,
    ) -> Result<Eligibility, CaseError> {
        let cats = categories(&head.payload);
        let market = head.regime.as_deref() == Some(self.rules.publicity.market.id.as_str());
        let serious = market && self.on_serious_list(&head.subject_key, today)?;
        Ok(eligibility(
            &self.rules.publicity,
            &RepairFacts {
                is_penalty: head.class_code == PENALTY,
                change: &head.change,
                regime: head.regime.as_deref(),
                severity: head
                    .severity
                    .as_deref()
                    .and_then(|s| s.parse::<Severity>().ok()),
                published: head.published,
                repairable_from: head.repairable_from,
                public_ends: head.public_ends,
                categories: &cats,
                commitment_signed,
                performed,
                on_serious_list: serious,
                list_exit: self.exit_list(&head.class_code).map(|list| {
                    let rules = &self.rules.workflows.list_exit;
                    let unit = self.deciding_unit(head);
                    ExitFacts {
                        list,
                        confirm: &rules.confirm,
                        listed_on: head.decided_on,
                        minimum: self
                            .exit_minimum(head)
                            .map(|m| (m.months, m.basis.as_str())),
                        decided_here: self.decided_here(head, &unit),
                    }
                }),
            },
            today,
        ))
    }

    fn head(&self, record_id: &str) -> Result<RecordHead, CaseError> {
        self.store
            .record_head(record_id)?
            .ok_or_else(|| CaseError::NotFound(format!("记录{record_id}不存在")))
    }

    fn own_record(&self, actor: &Actor, head: &RecordHead) -> Result<(), CaseError> {
        match actor.side {
            Side::Subject if actor.subject_key.as_deref() == Some(head.subject_key.as_str()) => {
                Ok(())
            }
            // Another subject's record answers as a missing one: whether it exists (it may be
            // one the public does not see) is not this subject's to learn.
            Side::Subject => Err(CaseError::Concealed(format!(
                "记录{}不存在",
                head.record_id
            ))),
            _ => Ok(()),
        }
    }

    /// Checks and seals evidence files; `case` is the case they join (its files count against
    /// the limit too).
    fn evidence(&self, case: Option<i64>, files: &[Upload]) -> Result<Vec<NewFile>, CaseError> {
        let ev = &self.rules.workflows.evidence;
        // Files since the unit last returned the case or asked for materials: a replacement
        // for a file it found wanting must still fit.
        let held = match case {
            Some(id) if !files.is_empty() => {
                let asked = self
                    .store
                    .case_events(id)?
                    .iter()
                    .filter(|e| {
                        e.action == Action::Return.as_str()
                            || e.action == Action::RequestMaterials.as_str()
                    })
                    .map(|e| e.at)
                    .max();
                self.store
                    .case_files(id)?
                    .iter()
                    .filter(|f| asked.is_none_or(|t| f.at > t))
                    .count()
            }
            _ => 0,
        };
        if held + files.len() > ev.max_files {
            return Err(CaseError::Invalid(if held == 0 {
                format!("证明材料最多{}个文件，本次{}个", ev.max_files, files.len())
            } else {
                format!(
                    "证明材料最多{}个文件，已有{held}个，本次{}个",
                    ev.max_files,
                    files.len()
                )
            }));
        }
        files
            .iter()
            .map(|f| {
                let name: String = f
                    .name
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                if f.bytes.is_empty() {
                    return Err(CaseError::Invalid(format!("证明材料“{name}”是空文件")));
                }
                if f.bytes.len() as u64 > ev.max_bytes {
                    return Err(CaseError::Invalid(format!(
                        "证明材料“{name}”大小{:.1}MB，超过{}MB上限",
                        f.bytes.len() as f64 / 1048576.0,
                        ev.max_bytes / 1048576
                    )));
                }
                let media = self
                    .rules
                    .workflows
                    .evidence_type(&f.bytes)
                    .ok_or_else(|| {
                        CaseError::Invalid(format!(
                            "证明材料“{name}”不是PDF、PNG或JPEG文件（按文件内容识别）"
                        ))
                    })?;
                Ok(NewFile {
                    name,
                    media_type: media.into(),
                    byte_size: f.bytes.len() as i64,
                    digest: crypto::sm3_hex(&f.bytes),
                    sealed: self
                        .keys
                        .encrypt(&f.bytes)
                        .map_err(|e| CaseError::Store(StoreError::Decode(e.to_string())))?,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn notify_subject(
        &self,
        subject_key: &str,
        title: String,
        body: String,
        record_id: &str,
        dedupe: String,
        fx: &mut SideEffects,
        channels: &[&'static str],
    ) {
        // A case's steps go by SMS and by e-mail, to whichever the subject's accounts left (the
        // contact page offers both; one without an address is marked so, not retried); the
        // reminder scan's thousands by SMS.
        for &channel in channels {
            fx.outbox.push(NewOutbox {
                channel,
                recipient: format!("subject:{subject_key}"),
                title: title.clone(),
                body: body.clone(),
                dedupe: format!("{dedupe}:{channel}"),
            });
        }
        fx.messages.push(NewMessage {
            to_kind: "subject",
            to_key: subject_key.into(),
            title,
            body,
            case_id: None,
            record_id: Some(record_id.into()),
            dedupe,
        });
    }

    /// How a message names the record: a decision by its document number (a list entry by its
    /// 认定文书号); any other record plainly (an objection may be to a licence, which is no 失信
    /// record).
    fn record_name(&self, head: &RecordHead) -> String {
        let listed = self
            .exit_list(&head.class_code)
            .map(|l| format!("列入{l}的认定"));
        let (item, what) = match (head.class_code.as_str(), listed.as_deref()) {
            ("CF", _) => ("CF_WSH", "行政处罚决定"),
            ("XK", _) => ("XK_WSH", "行政许可决定"),
            (_, Some(what)) => ("MD_WSH", what),
            _ => ("", ""),
        };
        let no = if item.is_empty() {
            String::new()
        } else {
            payload_text(&head.payload, item)
        };
        match (no.is_empty(), head.class_code.as_str()) {
            (false, _) => format!("{what}（{no}）"),
            (true, "CF") => "该条行政处罚记录".into(),
            (true, _) => match self.exit_list(&head.class_code) {
                Some(list) => format!("该条{list}记录"),
                None => "该条记录".into(),
            },
        }
    }

    /// Records the subject's public repair commitment (信用修复型承诺) as a 信用承诺 record, through
    /// the same importer and validation as any report, received by the deciding unit. Returns its
    /// number (一诺一码). Signing the same commitment twice on a day changes nothing.
    /// A commitment number for a new application on `head` today that no commitment of the
    /// subject carries yet: one signed earlier the same day (an application refused or
    /// withdrawn, its commitment withdrawn with it) would otherwise be "signed" again as the
    /// same bytes — a repeat that changes nothing — leaving the new application with none.
    fn fresh_commitment_number(
        &self,
        head: &RecordHead,
        today: NaiveDate,
    ) -> Result<String, CaseError> {
        let taken: Vec<String> = self
            .store
            .subject_heads(&head.subject_key, &[COMMITMENT])?
            .iter()
            .flat_map(|h| {
                store::payload_items(&h.payload)
                    .into_iter()
                    .filter(|(code, _)| code.as_ref() == "CN_BH")
                    .map(|(_, v)| v.into_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let n = (1..)
            .find(|n| !taken.contains(&numbered(&head.record_id, today, *n)))
            .unwrap_or(1);
        Ok(numbered(&head.record_id, today, n))
    }

    fn sign_commitment(
        &self,
        actor: &Actor,
        head: &RecordHead,
        unit: &str,
        number: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let subject = self
            .store
            .subject(&head.subject_key)?
            .ok_or_else(|| CaseError::NotFound("信用主体不存在".into()))?;
        let today = day_of(now);
        let number = number.to_string();
        let (kind, uscc, id_type, id_number) = match subject.kind {
            domain::record::SubjectKind::NaturalPerson => {
                let plain = subject
                    .id_sealed
                    .as_ref()
                    .and_then(|s| self.keys.decrypt(s).ok())
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| CaseError::Invalid("无法读取承诺人的证件号码".into()))?;
                (
                    "自然人",
                    String::new(),
                    subject.id_type.clone().unwrap_or_else(|| "身份证".into()),
                    plain,
                )
            }
            domain::record::SubjectKind::IndividualBusiness => (
                "个体工商户",
                subject.uscc.clone().unwrap_or_default(),
                String::new(),
                String::new(),
            ),
            domain::record::SubjectKind::Organisation => (
                "法人及非法人组织",
                subject.uscc.clone().unwrap_or_default(),
                String::new(),
                String::new(),
            ),
        };
        let wf = &self.rules.workflows.commitment;
        let mut w = csv::Writer::from_writer(Vec::new());
        let row = [
            ("CN_XDR_MC", subject.name.clone()),
            ("CN_XDR_LB", kind.to_string()),
            ("CN_XDR_SHXYM", uscc),
            ("CN_XDR_ZJLX", id_type),
            ("CN_XDR_ZJHM", id_number),
            ("CN_BH", number.clone()),
            ("CN_LX", wf.kind.clone()),
            // Not the decision's number: the commitment stays public after the repair, the
            // penalty does not.
            (
                "CN_SX",
                // Nor the list: the commitment stays public after the entry leaves its list.
                match self.exit_list(&head.class_code) {
                    Some(_) => "申请信用修复（纠正失信行为、履行相关义务）".to_string(),
                    None => "申请信用修复（纠正失信行为、履行行政处罚决定）".to_string(),
                },
            ),
            ("CN_NR", wf.text.clone()),
            ("CN_RQ", today.to_string()),
            ("CN_SLDW", unit.to_string()),
            ("CN_LYZT", "履约中".to_string()),
        ];
        let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<Vec<u8>, csv::Error> {
            w.write_record(row.iter().map(|(k, _)| *k))?;
            w.write_record(row.iter().map(|(_, v)| v.as_str()))?;
            w.flush()?;
            Ok(w.get_ref().clone())
        };
        let bytes = write(&mut w).map_err(|e| CaseError::Invalid(e.to_string()))?;
        let clock = domain::clock::FixedClock::at(now);
        let summary = ingest::Importer {
            store: self.store,
            rules: self.rules,
            keys: self.keys,
            clock: &clock,
        }
        .import_reader(
            Some("信用修复承诺".into()),
            ingest::Format::Csv,
            bytes.as_slice(),
            &ingest::ImportOptions {
                unit: unit.into(),
                class: "信用承诺".into(),
                actor: actor.id.clone(),
                channel: store::Channel::Case,
            },
            &|_| {},
        )
        .map_err(|e| match e {
            ingest::IngestError::Store(s) => CaseError::Store(s),
            ingest::IngestError::Crypto(c) => CaseError::Store(StoreError::Decode(c.to_string())),
            other => CaseError::Invalid(format!("信用修复承诺未能登记：{other}")),
        })?;
        if summary.rejected > 0 {
            let reasons = summary
                .submission_id
                .map(|id| self.store.rejections(id))
                .transpose()?
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.problems)
                .map(|p| format!("{}：{}", p.name, p.reason))
                .collect::<Vec<_>>();
            return Err(CaseError::Invalid(format!(
                "信用修复承诺未能登记：{}",
                reasons.join("；")
            )));
        }
        Ok(())
    }

    /// A subject applies for the repair of one of its penalties, with the signed commitment and
    /// evidence. Refused with exactly what is missing when the pre-review finds a gap.
    pub fn apply_repair(
        &self,
        actor: &Actor,
        record_id: &str,
        commitment_signed: bool,
        statement: &str,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<i64, CaseError> {
        let none = |_| Ok(());
        self.apply_repair_then(
            actor,
            record_id,
            commitment_signed,
            statement,
            files,
            now,
            &none,
        )
    }

    /// [`Casework::apply_repair`], running `before_commit` with the new case's id in its
    /// transaction (the service writes the application's audit entry there).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_repair_then(
        &self,
        actor: &Actor,
        record_id: &str,
        commitment_signed: bool,
        statement: &str,
        files: &[Upload],
        now: DateTime<Utc>,
        before_commit: &dyn Fn(i64) -> Result<(), StoreError>,
    ) -> Result<i64, CaseError> {
        if !matches!(actor.side, Side::Subject | Side::Office) {
            return Err(CaseError::Forbidden(
                "信用修复由主体本人（或代办的市信用办）申请".into(),
            ));
        }
        let statement = statement.trim();
        if statement.chars().count() > 2000 {
            return Err(CaseError::Invalid("申请说明不能超过2000字".into()));
        }
        let head = self.head(record_id)?;
        self.own_record(actor, &head)?;
        let today = day_of(now);
        let pre = self.pre_review(&head, commitment_signed, None, today)?;
        if !pre.may_apply() {
            return Err(CaseError::Refused(format!(
                "暂不符合信用修复条件：{}",
                pre.missing()
                    .into_iter()
                    .filter(|m| !m.contains("待认定单位确认"))
                    .collect::<Vec<_>>()
                    .join("；")
            )));
        }
        let files = self.evidence(None, files)?;
        let unit = self.deciding_unit(&head);
        let wf = &self.rules.workflows;
        // Refuse a second application before a commitment is recorded for it.
        if self
            .store
            .open_case_of("repair", &head.record_id)?
            .is_some()
        {
            return Err(CaseError::Refused(
                "该记录已有办理中的信用修复申请，请勿重复提交".into(),
            ));
        }
        let number = self.fresh_commitment_number(&head, today)?;
        self.sign_commitment(actor, &head, &unit, &number, now)?;
        let counted = wf.deadline(
            &self.rules.calendar,
            CaseKind::Repair,
            CaseState::Submitted,
            today,
        );
        let warning = counted.as_ref().and_then(|d| d.warning.clone());
        let deadline = counted.map(|d| (d.due, d.step));
        let mut fx = SideEffects {
            files,
            ..Default::default()
        };
        fx.messages.push(NewMessage {
            to_kind: "unit",
            to_key: unit.clone(),
            title: "新的信用修复申请".into(),
            body: format!(
                "{}的信用修复申请已经平台预审，请于{}前受理或退回。",
                self.record_name(&head),
                deadline_text(&self.rules.calendar, deadline.map(|d| d.0))
            ),
            case_id: None,
            record_id: Some(head.record_id.clone()),
            dedupe: format!("repair-new:{}:{}", head.record_id, now.timestamp_micros()),
        });
        let id = self.store.open_case_then(
            &NewCase {
                kind: "repair",
                record_id: head.record_id.clone(),
                record_version: head.version,
                unit: unit.clone(),
                state: CaseState::Submitted.as_str(),
                opened_by: actor.id.clone(),
                opened_side: side_str(actor.side),
                opened_at: now,
                opened_on: today,
                reason: statement.into(),
                commitment: Some(format!(
                    "【{}，承诺编号{number}，已在信用门户该主体的“信用承诺”栏公开】{}",
                    wf.commitment.kind, wf.commitment.text
                )),
                deadline,
                answer_due: None,
                event: NewEvent {
                    action: Action::Submit.as_str().into(),
                    actor: actor.id.clone(),
                    side: side_str(actor.side).into(),
                    unit: actor.unit.clone(),
                    at: now,
                    note: with_warning(Some(pre.missing().join("；")), warning),
                },
                effects: fx,
            },
            before_commit,
        )?;
        if let Err(e) = self.sign_commitment(actor, &head, &unit, &number, now) {
            let _ = self.act(
                &Actor::system("commitment"),
                id,
                Action::Cancel,
                &format!("信用修复承诺未能登记：{e}"),
                None,
                now,
            );
            return Err(e);
        }
        Ok(id)
    }

    /// A subject objects to a record, or the source unit opens an objection on its own record
    /// (主动异议). The record is labelled 异议处理中 in the same transaction.
    pub fn object(
        &self,
        actor: &Actor,
        record_id: &str,
        reason: &str,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<i64, CaseError> {
        self.object_then(actor, record_id, reason, files, now, &|_| Ok(()))
    }

    /// [`Casework::object`], running `before_commit` with the new case's id in its transaction.
    pub fn object_then(
        &self,
        actor: &Actor,
        record_id: &str,
        reason: &str,
        files: &[Upload],
        now: DateTime<Utc>,
        before_commit: &dyn Fn(i64) -> Result<(), StoreError>,
    ) -> Result<i64, CaseError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CaseError::Invalid("请写明异议理由".into()));
        }
        if reason.chars().count() > 2000 {
            return Err(CaseError::Invalid("异议理由不能超过2000字".into()));
        }
        let head = self.head(record_id)?;
        self.own_record(actor, &head)?;
        // Only the source unit opens an objection on its own record (主动异议); to another unit
        // the record is not there (as for a withdrawal), before anything is said of its state.
        let by_unit = actor.side == Side::Unit;
        if by_unit && actor.unit.as_deref() != Some(head.source_unit.as_str()) {
            return Err(CaseError::Concealed(format!("记录{record_id}不存在")));
        }
        if matches!(head.change.as_str(), "withdrawn" | "repaired") {
            return Err(CaseError::Refused(
                "该记录已撤回或已修复，不再公示，无需提出异议".into(),
            ));
        }
        let files = self.evidence(None, files)?;
        let today = day_of(now);
        let wf = &self.rules.workflows;
        let cal = &self.rules.calendar;
        // A unit's own objection needs no forwarding: it starts at verification.
        let state = if by_unit {
            CaseState::Forwarded
        } else {
            CaseState::Submitted
        };
        let answer_due = wf.answer_due(cal, today);
        let counted = wf.deadline(cal, CaseKind::Objection, state, today);
        let warning = counted.as_ref().and_then(|d| d.warning.clone());
        let deadline = counted.map(|d| (d.due.min(answer_due), d.step));
        let mut fx = SideEffects {
            files,
            ..Default::default()
        };
        if !by_unit {
            fx.jobs.push(NewJob {
                kind: scheduler::FORWARD,
                key: format!("{}:{}", head.record_id, now.timestamp_micros()),
                // The case id is known only after the insert: the job finds the record's open
                // objection.
                payload: head.record_id.clone(),
                run_at: now,
            });
        }
        let id = self.store.open_case_then(
            &NewCase {
                kind: "objection",
                record_id: head.record_id.clone(),
                record_version: head.version,
                unit: head.source_unit.clone(),
                state: state.as_str(),
                opened_by: actor.id.clone(),
                opened_side: side_str(actor.side),
                opened_at: now,
                opened_on: today,
                reason: reason.into(),
                commitment: None,
                deadline,
                answer_due: Some(answer_due),
                event: NewEvent {
                    action: Action::Submit.as_str().into(),
                    actor: actor.id.clone(),
                    side: side_str(actor.side).into(),
                    unit: actor.unit.clone(),
                    at: now,
                    note: with_warning(by_unit.then(|| "主动异议".to_string()), warning),
                },
                effects: fx,
            },
            before_commit,
        )?;
        Ok(id)
    }

    /// Loads a case the actor may see.
    pub fn case_for(&self, actor: &Actor, id: i64) -> Result<Case, CaseError> {
        let case = self
            .store
            .case(id)?
            .ok_or_else(|| CaseError::NotFound(format!("申请{id}不存在")))?;
        let ok = match actor.side {
            Side::Subject => actor.subject_key.as_deref() == Some(case.subject_key.as_str()),
            Side::Unit => {
                actor.unit.as_deref() == Some(case.unit.as_str())
                    && (actor.repairs || case.kind != CaseKind::Repair.as_str())
            }
            Side::Office | Side::System => true,
        };
        if !ok {
            // Not found rather than forbidden: a case number says nothing to those not party to it.
            return Err(CaseError::Concealed(format!("申请{id}不存在")));
        }
        Ok(case)
    }

    /// The case with its history, files, pre-review and what `actor` may do now.
    pub fn view(&self, actor: &Actor, id: i64, now: DateTime<Utc>) -> Result<CaseView, CaseError> {
        let case = self.case_for(actor, id)?;
        let kind: CaseKind = case.kind.parse().map_err(CaseError::Invalid)?;
        let state: CaseState = case.state.parse().map_err(CaseError::Invalid)?;
        let today = day_of(now);
        // The conditions as they stand now, for a decision still to be made: once the case is
        // closed a granted repair would read "already repaired: not met" beside its grant (what
        // was checked at the decision is in its events).
        let pre_review = if kind == CaseKind::Repair && state.is_open() {
            match self.store.record_head(&case.record_id)? {
                Some(h) => {
                    Some(self.pre_review(&h, case.commitment.is_some(), case.performed, today)?)
                }
                None => None,
            }
        } else {
            None
        };
        let actions = domain::workflow::ALL_ACTIONS
            .iter()
            .filter(|a| **a != Action::Submit)
            .filter(|a| domain::workflow::transition(kind, state, **a, actor.side, "理由").is_ok())
            .filter(|a| **a != Action::Cancel || may_cancel(actor, &case))
            .map(|a| a.as_str().to_string())
            .collect();
        let mut events = self.store.case_events(id)?;
        let mut files = self.store.case_files(id)?;
        // An application with no evidence of rectification at all is pointed out to the
        // officer (the rules leave what proves it to the unit: not a bar, a line to check).
        let mut pre_review = pre_review;
        if let Some(p) = pre_review.as_mut()
            && files.is_empty()
            && self.exit_list(&case.class_code).is_none()
        {
            p.conditions.push(domain::workflow::Condition {
                name: "证明材料".into(),
                status: domain::workflow::ConditionStatus::Pending,
                detail: "申请人未上传履行或整改的证明材料：请核实履行情况，必要时要求补充材料"
                    .into(),
            });
        }
        // Order 45 第十四条 bars an early end after a violation of the same kind: the subject's
        // other penalties of the same 违法行为类型 decided since are named for the officer to
        // judge (the platform reads only what units reported).
        if let Some(p) = pre_review.as_mut()
            && let Some(h) = self.store.record_head(&case.record_id)?
            && h.regime.as_deref() == Some(self.rules.publicity.market.id.as_str())
        {
            let item = |payload: &str, code: &str| {
                store::payload_items(payload)
                    .into_iter()
                    .find(|(k, _)| k.as_ref() == code)
                    .map(|(_, v)| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            if let Some(kind) = item(&h.payload, "CF_WFXW") {
                let same: Vec<String> = self
                    .store
                    .subject_heads(&h.subject_key, &["CF"])?
                    .into_iter()
                    .filter(|o| o.record_id != h.record_id)
                    .filter(|o| matches!(o.change.as_str(), "created" | "corrected" | "repaired"))
                    .filter(|o| o.decided_on >= h.decided_on)
                    .filter(|o| item(&o.payload, "CF_WFXW").as_deref() == Some(kind.as_str()))
                    .map(|o| item(&o.payload, "CF_WSH").unwrap_or(o.record_id))
                    .collect();
                if !same.is_empty() {
                    p.conditions.push(domain::workflow::Condition {
                        name: "同类违法行为".into(),
                        status: domain::workflow::ConditionStatus::Pending,
                        detail: format!(
                            "该主体另有同类违法行为（{kind}）的处罚：{}，请核实是否属于“再次发生同类违法行为”",
                            same.join("、")
                        ),
                    });
                }
            }
        }
        let mut case = case;
        if actor.side == Side::Subject {
            // The applicant reads which office acted, not its staff's accounts: in the events,
            // who opened the case (a unit's own objection) and who gave each file.
            for e in &mut events {
                e.actor = match (e.side.as_str(), &e.unit) {
                    ("subject", _) => "申请人".into(),
                    ("system", _) => "平台".into(),
                    (_, Some(unit)) => unit.clone(),
                    _ => "市信用办".into(),
                };
            }
            // Files come from the side that opened the case only.
            for f in &mut files {
                f.uploaded_by = if case.opened_side == "subject" {
                    "申请人".into()
                } else {
                    case.unit.clone()
                };
            }
            as_applicant_sees(&mut case);
        }
        let exit = self.exit_list(&case.class_code).is_some();
        Ok(CaseView {
            kind_label: kind.label_of(exit).into(),
            state_label: state.label_with_outcome(case.outcome.as_deref(), exit),
            record_label: (kind == CaseKind::Objection && state.is_open())
                .then(|| "异议处理中".to_string()),
            events,
            files,
            pre_review,
            actions,
            overdue: case.deadline.is_some_and(|d| d < today),
            case,
        })
    }

    /// Adds evidence to one's own open case (without changing its state).
    pub fn add_files(
        &self,
        actor: &Actor,
        id: i64,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        self.add_files_then(actor, id, files, now, &|| Ok(()))
    }

    /// [`Casework::add_files`], running `before_commit` in its transaction.
    pub fn add_files_then(
        &self,
        actor: &Actor,
        id: i64,
        files: &[Upload],
        now: DateTime<Utc>,
        before_commit: store::BeforeCommit<'_>,
    ) -> Result<(), CaseError> {
        let case = self.case_for(actor, id)?;
        if side_str(actor.side) != case.opened_side {
            return Err(CaseError::Forbidden("证明材料由申请人提交".into()));
        }
        let state: CaseState = case.state.parse().map_err(CaseError::Invalid)?;
        if !state.is_open() {
            return Err(CaseError::Refused("申请已办结，不能再补充材料".into()));
        }
        let files = self.evidence(Some(id), files)?;
        self.store.add_case_files_then(
            id,
            &files,
            &actor.id,
            now,
            self.rules.workflows.evidence.max_files,
            before_commit,
        )?;
        Ok(())
    }

    /// One step of a case by `actor`. `performed` is the deciding unit's confirmation that the
    /// penalty was performed (given with acceptance or approval).
    pub fn act(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        reason: &str,
        performed: Option<bool>,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        self.act_with_files(actor, id, action, reason, performed, &[], now)
    }

    /// [`Casework::act`] with evidence that commits with the step (supplementary material).
    #[allow(clippy::too_many_arguments)]
    pub fn act_with_files(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        reason: &str,
        performed: Option<bool>,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        self.act_then(actor, id, action, reason, performed, files, now, &|| Ok(()))
    }

    /// [`Casework::act_with_files`], running `before_commit` in the step's transaction (the
    /// service writes the step's audit entry there).
    #[allow(clippy::too_many_arguments)]
    pub fn act_then(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        reason: &str,
        performed: Option<bool>,
        files: &[Upload],
        now: DateTime<Utc>,
        before_commit: store::BeforeCommit<'_>,
    ) -> Result<Case, CaseError> {
        let case = self.case_for(actor, id)?;
        if action == Action::Cancel && !may_cancel(actor, &case) {
            return Err(CaseError::Refused(
                "只有提出申请的一方可以撤回该申请".into(),
            ));
        }
        if !files.is_empty() && side_str(actor.side) != case.opened_side {
            return Err(CaseError::Forbidden("证明材料由申请人提交".into()));
        }
        let kind: CaseKind = case.kind.parse().map_err(CaseError::Invalid)?;
        let from: CaseState = case.state.parse().map_err(CaseError::Invalid)?;
        let reason = reason.trim();
        if reason.chars().count() > 2000 {
            return Err(CaseError::Invalid("理由不能超过2000字".into()));
        }
        let to = domain::workflow::transition(kind, from, action, actor.side, reason)
            .map_err(|e| CaseError::Refused(e.to_string()))?;
        let today = day_of(now);
        let wf = &self.rules.workflows;
        let head = self.head(&case.record_id)?;
        let mut t = Transition {
            case_id: id,
            from: from.as_str(),
            to: to.as_str(),
            event: NewEvent {
                action: action.as_str().into(),
                actor: actor.id.clone(),
                side: side_str(actor.side).into(),
                unit: actor.unit.clone(),
                at: now,
                note: Some(reason.to_string()).filter(|s| !s.is_empty()),
            },
            deadline: None,
            // Late when the side that owed the step acted after its deadline.
            late: actor.side != Side::Subject && case.deadline.is_some_and(|d| today > d),
            // Time the case spent with the subject (returned, or awaiting material) is not
            // handling time.
            waited: if matches!(from, CaseState::Returned | CaseState::AwaitingMaterials) {
                self.rules
                    .calendar
                    .workdays_between(day_of(case.updated_at), today)
                    .0 as i64
            } else {
                0
            },
            performed: None,
            decided: None,
            end_record: None,
            require_newer_version: false,
            objection_closes: false,
            share: None,
            effects: SideEffects {
                files: self.evidence(Some(id), files)?,
                ..Default::default()
            },
        };
        let counted = wf.deadline(&self.rules.calendar, kind, to, today);
        if let Some(w) = counted.as_ref().and_then(|d| d.warning.clone()) {
            t.event.note = with_warning(t.event.note.take(), Some(w));
        }
        t.deadline = counted.map(|d| (d.due, d.step));
        // An objection's step never runs past the day the subject must have its answer.
        if let (Some((due, step)), Some(answer)) = (t.deadline, case.answer_due) {
            t.deadline = Some((due.min(answer), step));
        }
        let what = self.record_name(&head);
        let dedupe = format!("case:{id}:{}", case.events + 1);
        let subject_msg = |title: &str, body: String, fx: &mut SideEffects| {
            self.notify_subject(
                &case.subject_key,
                title.to_string(),
                body,
                &case.record_id,
                dedupe.clone(),
                fx,
                &["sms", "email"],
            )
        };
        match (kind, action) {
            (CaseKind::Repair, Action::Accept) => {
                t.performed = performed;
                subject_msg(
                    "信用修复申请已受理",
                    format!(
                        "您就{what}提出的信用修复申请（编号{id}）已由{}受理，将于{}前作出决定。",
                        case.unit,
                        t.deadline.map(|d| d.0.to_string()).unwrap_or_default()
                    ),
                    &mut t.effects,
                );
            }
            (CaseKind::Repair, Action::Return) | (_, Action::RequestMaterials) => {
                let what_case = if kind == CaseKind::Repair {
                    "信用修复"
                } else {
                    "异议"
                };
                subject_msg(
                    &format!("请补充{what_case}材料"),
                    // The officer's words end as they end (no 。。); the material goes into this
                    // application, not a new one — named, as a subject may have several.
                    format!(
                        "您就{what}提出的{what_case}申请（编号{id}），{}要求补充材料：{}。请登录后在原申请中补充材料并提交，无需另行申请。",
                        case.unit,
                        ended(reason)
                    ),
                    &mut t.effects,
                );
            }
            (CaseKind::Repair, Action::Approve) => {
                let performed = performed.or(case.performed);
                let pre = self.pre_review(&head, case.commitment.is_some(), performed, today)?;
                let list = self.exit_list(&head.class_code);
                if !pre.may_approve() {
                    return Err(CaseError::Refused(format!(
                        "不能{}：{}",
                        if list.is_some() {
                            "准予提前移出"
                        } else {
                            "准予修复"
                        },
                        pre.missing().join("；")
                    )));
                }
                t.performed = performed;
                t.decided = Some((today, reason.to_string()));
                t.end_record = Some(EndRecord {
                    // A list entry leaves its list (提前移出), as a deciding unit's exit does.
                    change: match list {
                        Some(_) => Ending::Exited {
                            lists: self.rules.workflows.list_exit.classes.clone(),
                        },
                        None => Ending::Repaired,
                    },
                    unit: case.unit.clone(),
                    actor: actor.id.clone(),
                    reason: format!(
                        "信用修复申请{id}{}{}",
                        if list.is_some() {
                            "准予提前移出"
                        } else {
                            "准予修复"
                        },
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!("：{reason}")
                        }
                    ),
                });
                t.effects.jobs.push(share_job(id, now));
                // Only this entry's measures end: another list (a court's 失信被执行人) may
                // keep the same measure in force, and the subject was told they all ended.
                let body = match list {
                    Some(list) => format!(
                        "{what}已准予信用修复，自{today}起提前移出{list}，停止公示，因该名单采取的惩戒措施同时终止；{OTHER_MEASURES}"
                    ),
                    None => format!(
                        "{what}已准予信用修复，自{today}起停止公示，因该记录采取的惩戒措施同时终止；{OTHER_MEASURES}"
                    ),
                };
                subject_msg("信用修复申请已准予", body, &mut t.effects);
            }
            (CaseKind::Repair, Action::Reject) => {
                t.performed = performed;
                t.decided = Some((today, reason.to_string()));
                t.effects.jobs.push(share_job(id, now));
                t.effects.jobs.push(lapse_job(
                    id,
                    &format!("信用修复申请{id}不予准许，所作承诺随之终止"),
                    now,
                ));
                let reason = ended(reason);
                let body = match self.exit_list(&head.class_code) {
                    Some(list) => {
                        format!("{what}的信用修复申请不予提前移出{list}，理由：{reason}。")
                    }
                    None => format!("{what}的信用修复申请不予修复，理由：{reason}。"),
                } + NEXT_AFTER_REFUSAL;
                subject_msg("信用修复申请未予准许", body, &mut t.effects);
            }
            (CaseKind::Repair, Action::Share) => {
                t.share = Some((
                    "repair_decision",
                    serde_json::json!({
                        "case_id": id,
                        "record_id": case.record_id,
                        "class_code": head.class_code,
                        "subject_key": case.subject_key,
                        "deciding_unit": case.unit,
                        "outcome": case.state,
                        "decided_on": case.decided_on,
                        "reason": case.decision_reason,
                    })
                    .to_string(),
                ));
            }
            (CaseKind::Objection, Action::Forward) => {
                t.effects.messages.push(NewMessage {
                    to_kind: "unit",
                    to_key: case.unit.clone(),
                    title: "请核实异议".into(),
                    body: format!(
                        "主体对{what}提出异议，请于{}前核实并登记处理结果（更正、撤销或维持）。",
                        deadline_text(&self.rules.calendar, t.deadline.map(|d| d.0))
                    ),
                    case_id: Some(id),
                    record_id: Some(case.record_id.clone()),
                    dedupe: dedupe.clone(),
                });
            }
            (CaseKind::Objection, Action::Correct | Action::WithdrawRecord | Action::Maintain) => {
                // The commitment a repair application signed is the subject's own word, and a
                // repair granted on it stands on it: an objection does not take it away (the
                // applicant removed its own commitment so, and kept the repair).
                if action == Action::WithdrawRecord && signed_in_application(&head) {
                    return Err(CaseError::Refused(
                        "该记录是信用主体在信用修复申请中签署的信用修复承诺，不能通过异议撤销；如承诺登记有误，请联系市信用办".into(),
                    ));
                }
                t.decided = Some((today, reason.to_string()));
                t.objection_closes = true;
                t.require_newer_version = action == Action::Correct;
                if action == Action::WithdrawRecord {
                    t.end_record = Some(EndRecord {
                        change: Ending::Withdrawn,
                        unit: head.source_unit.clone(),
                        actor: actor.id.clone(),
                        reason: format!("异议{id}成立，撤销记录：{reason}"),
                    });
                }
                if case.opened_side == "subject" {
                    subject_msg(
                        "异议处理结果",
                        format!(
                            "您对{what}提出的异议已处理：{}。说明：{}。{}",
                            to.label(),
                            reason.trim_end_matches('。'),
                            if action == Action::Maintain {
                                NEXT_AFTER_MAINTAINED
                            } else {
                                ""
                            }
                        ),
                        &mut t.effects,
                    );
                }
            }
            (_, Action::Cancel) => {
                t.objection_closes = kind == CaseKind::Objection;
                if kind == CaseKind::Repair {
                    t.effects.jobs.push(lapse_job(
                        id,
                        &format!("信用修复申请{id}已撤回，所作承诺随之终止"),
                        now,
                    ));
                }
                t.effects.messages.push(NewMessage {
                    to_kind: "unit",
                    to_key: case.unit.clone(),
                    title: format!("{}申请已撤回", kind.label()),
                    body: format!("申请人撤回了就{what}提出的{}申请。", kind.label()),
                    case_id: Some(id),
                    record_id: Some(case.record_id.clone()),
                    dedupe: dedupe.clone(),
                });
            }
            (_, Action::Supplement) => {
                // Back to the unit's clock with nothing new would spend its review days on
                // nothing: a file, or a statement that says something.
                if files.is_empty() && reason.chars().filter(|c| c.is_alphanumeric()).count() < 4 {
                    return Err(CaseError::Invalid(
                        "请上传补充材料，或写明补充说明（至少4个字）后再提交".into(),
                    ));
                }
                t.effects.messages.push(NewMessage {
                    to_kind: "unit",
                    to_key: case.unit.clone(),
                    title: "申请人已补充材料".into(),
                    body: format!(
                        "就{what}的{}申请已补充材料，请于{}前办理。",
                        kind.label(),
                        deadline_text(&self.rules.calendar, t.deadline.map(|d| d.0))
                    ),
                    case_id: Some(id),
                    record_id: Some(case.record_id.clone()),
                    dedupe: dedupe.clone(),
                });
            }
            _ => {}
        }
        self.store.transition_case_then(&t, before_commit)?;
        self.store
            .case(id)?
            .ok_or_else(|| CaseError::NotFound(format!("申请{id}不存在")))
    }
}

/// The commitment's number (一诺一码): one per record and day.
fn commitment_number(record_id: &str, day: NaiveDate) -> String {
    numbered(record_id, day, 1)
}

/// The `n`th commitment number of a record on a day: the first as it always was, the later
/// ones with `n` in the hash (a second application the same day signs a commitment of its own).
fn numbered(record_id: &str, day: NaiveDate, n: u32) -> String {
    let seed = if n <= 1 {
        format!("{record_id}|{day}")
    } else {
        format!("{record_id}|{day}|{n}")
    };
    format!(
        "XYXF{}{}",
        day.format("%Y%m%d"),
        crypto::sm3_hex(seed.as_bytes())
            .chars()
            .take(10)
            .collect::<String>()
            .to_uppercase()
    )
}

/// Whether a record is a commitment the platform registered for a repair application (its
/// number is the platform's: XYXF…).
fn signed_in_application(head: &RecordHead) -> bool {
    head.class_code == COMMITMENT
        && store::payload_items(&head.payload)
            .iter()
            .any(|(code, v)| code.as_ref() == "CN_BH" && v.starts_with("XYXF"))
}

/// The commitment number a case's text names (承诺编号…，), if it names one.
fn number_in(commitment: &str) -> Option<&str> {
    let rest = commitment.split_once("承诺编号")?.1;
    let end = rest.find('，').unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| n.starts_with("XYXF"))
}

/// An officer's words as a message quotes them before its own full stop: their own closing
/// punctuation dropped (no 。。).
fn ended(reason: &str) -> &str {
    reason
        .trim()
        .trim_end_matches(['。', '.', '；', ';', '，', ',', '！', '!'])
}

/// The commitment an application recorded (信用修复型承诺, public on the subject's page) ends
/// when the application does without a repair: the job withdraws it, saying why.
fn lapse_job(id: i64, why: &str, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: scheduler::LAPSE,
        key: id.to_string(),
        payload: why.to_string(),
        run_at: now,
    }
}

/// The records of the commitment a repair case's application signed (its number is the
/// record's and the day's: 一诺一码).
pub(crate) fn commitment_records(
    store: &Store,
    case: &store::Case,
) -> Result<Vec<String>, StoreError> {
    let number = case.commitment.as_deref().and_then(number_in).map_or_else(
        || commitment_number(&case.record_id, case.opened_on),
        str::to_string,
    );
    // The subject's commitments received by the case's unit, the one of this number.
    Ok(store
        .subject_heads(&case.subject_key, &[COMMITMENT])?
        .into_iter()
        .filter(|h| h.source_unit == case.unit)
        .filter(|h| {
            store::payload_items(&h.payload)
                .iter()
                .any(|(code, v)| code.as_ref() == "CN_BH" && v.as_ref() == number)
        })
        .map(|h| h.record_id)
        .collect())
}

fn share_job(id: i64, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: scheduler::SHARE,
        key: id.to_string(),
        payload: String::new(),
        run_at: now,
    }
}

/// Whoever opened a case may withdraw it (the credit office for a unit's own 主动异议 too), and
/// the platform may.
fn may_cancel(actor: &Actor, case: &Case) -> bool {
    actor.side == Side::System
        || side_str(actor.side) == case.opened_side
        || (actor.side == Side::Office && case.opened_side == "unit")
}

/// A case as its applicant reads it: who opened it named as the applicant or as the office (a
/// unit's own objection), not by a staff account.
pub fn as_applicant_sees(case: &mut store::Case) {
    case.opened_by = if case.opened_side == "subject" {
        "申请人".into()
    } else {
        case.unit.clone()
    };
}

pub fn side_str(s: Side) -> &'static str {
    match s {
        Side::Subject => "subject",
        Side::Unit => "unit",
        Side::Office => "office",
        Side::System => "system",
    }
}
