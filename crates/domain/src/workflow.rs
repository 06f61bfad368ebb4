//! Credit repair (信用修复"一件事") and objections (异议) as state machines, their clocks in working
//! days, and the eligibility pre-review of a repair (rules.md "Repair" and "Objections").
//!
//! A transition either returns the next state or fails with a reason in Chinese; the caller writes
//! it as an event with actor and time. Clocks come from `data/workflows.toml`.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::publicity::{PublicityRules, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// 信用修复申请.
    Repair,
    /// 异议申请 (or 主动异议 opened by the source unit).
    Objection,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Repair => "repair",
            CaseKind::Objection => "objection",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CaseKind::Repair => "信用修复",
            CaseKind::Objection => "异议",
        }
    }
    /// The label of a case whose record is a list entry to leave early (`exit`).
    pub fn label_of(self, exit: bool) -> &'static str {
        match (self, exit) {
            (CaseKind::Repair, true) => "信用修复（提前移出名单）",
            _ => self.label(),
        }
    }
}

impl FromStr for CaseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "repair" => Ok(CaseKind::Repair),
            "objection" => Ok(CaseKind::Objection),
            other => Err(format!("unknown case kind {other}")),
        }
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 已提交: waiting for acceptance (repair) or forwarding (objection).
    Submitted,
    /// 已退回补正: the subject must complete the application (repair).
    Returned,
    /// 审查中 (repair, after acceptance).
    UnderReview,
    /// 已转送信息提供单位核实 (objection).
    Forwarded,
    /// 待补充材料: the unit asked for more; its clock stops until the subject answers.
    AwaitingMaterials,
    /// 准予修复 (decided).
    Approved,
    /// 不予修复 (decided).
    Rejected,
    /// 已共享: the decision went to the provincial/national feed (repair, terminal).
    Shared,
    /// 异议成立，已更正 (objection, terminal).
    Corrected,
    /// 异议成立，记录已撤销 (objection, terminal).
    RecordWithdrawn,
    /// 异议不成立，维持原记录 (objection, terminal).
    Maintained,
    /// 申请人已撤回申请 (terminal).
    Cancelled,
    /// 记录已撤回或已移出名单，申请终结: the source unit withdrew the record while the case was
    /// open, so there is nothing left to repair or to object to; or the list entry an application
    /// would have it leave left its list otherwise (terminal; set with that change).
    Ended,
}

pub const ALL_STATES: [CaseState; 13] = [
    CaseState::Submitted,
    CaseState::Returned,
    CaseState::UnderReview,
    CaseState::Forwarded,
    CaseState::AwaitingMaterials,
    CaseState::Approved,
    CaseState::Rejected,
    CaseState::Shared,
    CaseState::Corrected,
    CaseState::RecordWithdrawn,
    CaseState::Maintained,
    CaseState::Cancelled,
    CaseState::Ended,
];

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Submitted => "submitted",
            CaseState::Returned => "returned",
            CaseState::UnderReview => "under_review",
            CaseState::Forwarded => "forwarded",
            CaseState::AwaitingMaterials => "awaiting_materials",
            CaseState::Approved => "approved",
            CaseState::Rejected => "rejected",
            CaseState::Shared => "shared",
            CaseState::Corrected => "corrected",
            CaseState::RecordWithdrawn => "record_withdrawn",
            CaseState::Maintained => "maintained",
            CaseState::Cancelled => "cancelled",
            CaseState::Ended => "ended",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CaseState::Submitted => "已提交",
            CaseState::Returned => "已退回补正",
            CaseState::UnderReview => "审查中",
            CaseState::Forwarded => "已转送核实",
            CaseState::AwaitingMaterials => "待补充材料",
            CaseState::Approved => "准予修复",
            CaseState::Rejected => "不予修复",
            CaseState::Shared => "已办结并共享",
            CaseState::Corrected => "异议成立，已更正",
            CaseState::RecordWithdrawn => "异议成立，记录已撤销",
            CaseState::Maintained => "异议不成立，维持原记录",
            CaseState::Cancelled => "申请人已撤回",
            CaseState::Ended => "记录已撤回或已移出名单，申请终结",
        }
    }
    /// The label of this state for an application to leave a list early (`exit`): its decision
    /// is an exit, not a repair of a penalty.
    pub fn label_of(self, exit: bool) -> &'static str {
        match (self, exit) {
            (CaseState::Approved, true) => "准予提前移出",
            (CaseState::Rejected, true) => "不予提前移出",
            _ => self.label(),
        }
    }
    /// The label of a case in this state with its `outcome` (a state name: approved, rejected,
    /// corrected …): a shared case says what was decided (不予修复（已共享）), not only that it
    /// was shared — a refusal and a repair read alike.
    pub fn label_with_outcome(self, outcome: Option<&str>, exit: bool) -> String {
        match (self, outcome.and_then(|o| o.parse::<CaseState>().ok())) {
            (CaseState::Shared, Some(o)) if o != CaseState::Shared => {
                format!("{}（已办结并共享）", o.label_of(exit))
            }
            _ => self.label_of(exit).to_string(),
        }
    }
    /// Still being handled (a record under an open objection is labelled 异议处理中).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CaseState::Submitted
                | CaseState::Returned
                | CaseState::UnderReview
                | CaseState::Forwarded
                | CaseState::AwaitingMaterials
        )
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL_STATES
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown case state {s}"))
    }
}

/// Who acts on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The subject or whoever acts for it.
    Subject,
    /// The deciding unit (repair) or the source unit (objection).
    Unit,
    /// The credit office (市信用办), which may act for a unit.
    Office,
    /// The platform's own jobs.
    System,
}

/// What someone does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Submit,
    Accept,
    Return,
    RequestMaterials,
    Supplement,
    Approve,
    Reject,
    Share,
    Forward,
    Correct,
    WithdrawRecord,
    Maintain,
    Cancel,
}

pub const ALL_ACTIONS: [Action; 13] = [
    Action::Submit,
    Action::Accept,
    Action::Return,
    Action::RequestMaterials,
    Action::Supplement,
    Action::Approve,
    Action::Reject,
    Action::Share,
    Action::Forward,
    Action::Correct,
    Action::WithdrawRecord,
    Action::Maintain,
    Action::Cancel,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::RequestMaterials => "request_materials",
            Action::Supplement => "supplement",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Share => "share",
            Action::Forward => "forward",
            Action::Correct => "correct",
            Action::WithdrawRecord => "withdraw_record",
            Action::Maintain => "maintain",
            Action::Cancel => "cancel",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Action::Submit => "提交申请",
            Action::Accept => "受理",
            Action::Return => "退回补正",
            Action::RequestMaterials => "要求补充材料",
            Action::Supplement => "补充材料",
            Action::Approve => "准予修复",
            Action::Reject => "不予修复",
            Action::Share => "共享至省级平台",
            Action::Forward => "转送信息提供单位",
            Action::Correct => "更正（已报送新版本）",
            Action::WithdrawRecord => "撤销该记录",
            Action::Maintain => "维持原记录",
            Action::Cancel => "撤回申请",
        }
    }
    /// The label of this step on an application to leave a list early (`exit`).
    pub fn label_of(self, exit: bool) -> &'static str {
        match (self, exit) {
            (Action::Approve, true) => "准予提前移出",
            (Action::Reject, true) => "不予提前移出",
            _ => self.label(),
        }
    }
    /// Whether the actor must give a reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Return
                | Action::RequestMaterials
                | Action::Reject
                | Action::Maintain
                | Action::WithdrawRecord
                | Action::Correct
        )
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL_ACTIONS
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = ALL_ACTIONS.iter().map(|a| a.as_str()).collect();
                format!("操作“{s}”无效，应为：{}", all.join("、"))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{kind}申请当前状态为“{state}”，不能{action}")]
    NotNow {
        kind: &'static str,
        state: &'static str,
        action: &'static str,
    },
    #[error("{action}只能由{who}办理")]
    WrongSide {
        action: &'static str,
        who: &'static str,
    },
    #[error("{0}须说明理由（写明具体理由，不能只填标点或单个字）")]
    ReasonRequired(&'static str),
}

fn side_label(allowed: &[Side]) -> &'static str {
    match allowed {
        [Side::Subject] => "申请人",
        [Side::System] | [Side::System, Side::Office] => "平台（或市信用办）",
        _ => "认定单位（或信息提供单位）",
    }
}

/// The next state after `action`, or why it may not happen. Deciding and verifying are the
/// units' alone (谁认定、谁修复; the source unit verifies an objection): the credit office routes
/// and chases, and may force the platform's own steps (forwarding, sharing).
pub fn transition(
    kind: CaseKind,
    state: CaseState,
    action: Action,
    side: Side,
    reason: &str,
) -> Result<CaseState, TransitionError> {
    use Action as A;
    use CaseState as S;
    let unit: &[Side] = &[Side::Unit];
    let subject: &[Side] = &[Side::Subject];
    let system: &[Side] = &[Side::System, Side::Office];
    let (next, who): (Option<CaseState>, &[Side]) = match (kind, action) {
        (_, A::Submit) => (None, subject),
        (CaseKind::Repair, A::Accept) => ((state == S::Submitted).then_some(S::UnderReview), unit),
        (CaseKind::Repair, A::Return) => ((state == S::Submitted).then_some(S::Returned), unit),
        (CaseKind::Repair, A::RequestMaterials) => (
            (state == S::UnderReview).then_some(S::AwaitingMaterials),
            unit,
        ),
        (CaseKind::Repair, A::Supplement) => (
            match state {
                S::Returned => Some(S::Submitted),
                S::AwaitingMaterials => Some(S::UnderReview),
                _ => None,
            },
            subject,
        ),
        (CaseKind::Repair, A::Approve) => ((state == S::UnderReview).then_some(S::Approved), unit),
        (CaseKind::Repair, A::Reject) => ((state == S::UnderReview).then_some(S::Rejected), unit),
        (CaseKind::Repair, A::Share) => (
            matches!(state, S::Approved | S::Rejected).then_some(S::Shared),
            system,
        ),
        (CaseKind::Objection, A::Forward) => {
            ((state == S::Submitted).then_some(S::Forwarded), system)
        }
        (CaseKind::Objection, A::RequestMaterials) => (
            (state == S::Forwarded).then_some(S::AwaitingMaterials),
            unit,
        ),
        (CaseKind::Objection, A::Supplement) => (
            (state == S::AwaitingMaterials).then_some(S::Forwarded),
            subject,
        ),
        (CaseKind::Objection, A::Correct) => {
            ((state == S::Forwarded).then_some(S::Corrected), unit)
        }
        (CaseKind::Objection, A::WithdrawRecord) => {
            ((state == S::Forwarded).then_some(S::RecordWithdrawn), unit)
        }
        (CaseKind::Objection, A::Maintain) => {
            ((state == S::Forwarded).then_some(S::Maintained), unit)
        }
        // Whoever opened the case may withdraw it (the caller checks it is the opener); the
        // platform withdraws an application whose commitment could not be recorded.
        (_, A::Cancel) => (
            state.is_open().then_some(S::Cancelled),
            &[Side::Subject, Side::Unit, Side::Office, Side::System],
        ),
        _ => (None, unit),
    };
    let not_now = || TransitionError::NotNow {
        kind: kind.label(),
        state: state.label(),
        action: action.label(),
    };
    let next = next.ok_or_else(not_now)?;
    if !who.contains(&side) {
        return Err(TransitionError::WrongSide {
            action: action.label(),
            who: side_label(who),
        });
    }
    if action.needs_reason() && !says_something(reason) {
        return Err(TransitionError::ReasonRequired(action.label()));
    }
    Ok(next)
}

/// Whether a reason says something the subject can act on: at least two letters, digits or
/// Chinese characters ("." or "-" is no reason; it went to the subject and the province as one).
pub fn says_something(reason: &str) -> bool {
    reason.chars().filter(|c| c.is_alphanumeric()).count() >= 2
}

// ----- clocks -----

#[derive(Debug, Clone, Deserialize)]
pub struct RepairClock {
    pub basis: String,
    pub accept_within: u32,
    pub decide_within: u32,
    pub share_within: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ObjectionClock {
    pub basis: String,
    pub forward_within: u32,
    pub verify_within: u32,
    pub answer_within: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Escalation {
    pub basis: String,
    pub before_deadline: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EvidenceRules {
    pub basis: String,
    pub max_bytes: u64,
    pub max_files: usize,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitmentRules {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

/// Early exit from a list on the subject's application (移出严重失信主体名单, one of the repair's
/// modes): which list classes, what the deciding unit confirms, and the least time on the list
/// that a deciding unit's own rule sets. A rules file without the section offers no early exit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListExitRules {
    pub basis: String,
    /// Catalog class codes (punishing lists only; the rulebook checks).
    pub classes: Vec<String>,
    pub confirm: String,
    #[serde(default)]
    pub minimum: Vec<ListMinimum>,
    /// Lists whose exit is not the platform's to take, each with where the subject goes
    /// instead (a court's 失信被执行人 list: the court deletes the entry).
    #[serde(default)]
    pub elsewhere: Vec<ListElsewhere>,
}

/// A list left elsewhere than on the platform, and how.
#[derive(Debug, Clone, Deserialize)]
pub struct ListElsewhere {
    pub class: String,
    pub how: String,
}

impl ListExitRules {
    /// How a subject leaves a list of `class` that it cannot apply on the platform to leave.
    pub fn elsewhere(&self, class: &str) -> Option<&str> {
        self.elsewhere
            .iter()
            .find(|e| e.class == class)
            .map(|e| e.how.as_str())
    }
}

/// The least time an entry stays on its list before it may leave early, by the kind of unit
/// that decided it (a tag of units.toml: market regulation's rule binds the city's bureau and
/// the counties' alike).
#[derive(Debug, Clone, Deserialize)]
pub struct ListMinimum {
    pub tag: String,
    pub months: u32,
    pub basis: String,
    /// The list by name, as an entry's 名单类型 or 认定依据 writes it: the rule holds for an
    /// entry of that list whoever reported it, not only for a unit with `tag`.
    #[serde(default)]
    pub names: Vec<String>,
}

impl ListExitRules {
    /// Whether an entry of the list class `class` may be left early on application.
    pub fn offers(&self, class: &str) -> bool {
        self.classes.iter().any(|c| c == class)
    }
    /// The minimum that applies to an entry decided by a unit with `tags`, or whose texts (its
    /// 名单类型, 认定依据) name a list a rule names, if a rule sets one.
    pub fn minimum_for(&self, tags: &[String], texts: &[&str]) -> Option<&ListMinimum> {
        self.minimum.iter().find(|m| {
            tags.contains(&m.tag)
                || m.names
                    .iter()
                    .any(|n| texts.iter().any(|t| t.contains(n.as_str())))
        })
    }
}

/// The first day an entry listed on `listed_on` has been on its list `months` full months:
/// the listing day is not counted (民法典 第二百零一条), so the months are complete at the end
/// of their last day, as a penalty's minimum period is.
pub fn earliest_exit(listed_on: NaiveDate, months: u32) -> NaiveDate {
    crate::calendar::add_months(listed_on, months)
        .succ_opt()
        .unwrap_or(NaiveDate::MAX)
}

/// `data/workflows.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRules {
    pub version: String,
    pub repair: RepairClock,
    #[serde(default)]
    pub list_exit: ListExitRules,
    pub objection: ObjectionClock,
    pub escalation: Escalation,
    pub evidence: EvidenceRules,
    pub commitment: CommitmentRules,
}

/// A deadline: the step it is for and the last day to act on time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub step: &'static str,
    pub due: NaiveDate,
    /// Set when the count ran into a year whose holiday notice is not loaded (weekends alone were
    /// counted): a warning to show with the date, never a silent guess.
    pub warning: Option<String>,
}

impl WorkflowRules {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The deadline that runs once a case enters `state` on `day` (None: nobody on the platform's
    /// side owes an act — the subject's turn, or the case is over).
    pub fn deadline(
        &self,
        cal: &WorkCalendar,
        kind: CaseKind,
        state: CaseState,
        day: NaiveDate,
    ) -> Option<Deadline> {
        let (step, n) = match (kind, state) {
            (CaseKind::Repair, CaseState::Submitted) => ("受理", self.repair.accept_within),
            (CaseKind::Repair, CaseState::UnderReview) => ("作出决定", self.repair.decide_within),
            (CaseKind::Repair, CaseState::Approved | CaseState::Rejected) => {
                ("共享结果", self.repair.share_within)
            }
            (CaseKind::Objection, CaseState::Submitted) => ("转送", self.objection.forward_within),
            (CaseKind::Objection, CaseState::Forwarded) => ("核实", self.objection.verify_within),
            _ => return None,
        };
        let counted = cal.add_workdays(day, n);
        Some(Deadline {
            step,
            warning: counted.warning(),
            due: counted.date,
        })
    }

    /// The day by which the subject must have the answer to an objection submitted on `day`.
    pub fn answer_due(&self, cal: &WorkCalendar, day: NaiveDate) -> NaiveDate {
        cal.add_workdays(day, self.objection.answer_within).date
    }

    /// Whether an item due on `due` is escalated to the credit office on `today`: it is within
    /// `before_deadline` working days of its deadline, or past it.
    pub fn escalate(&self, cal: &WorkCalendar, due: NaiveDate, today: NaiveDate) -> bool {
        cal.add_workdays(today, self.escalation.before_deadline)
            .date
            >= due
    }

    /// Recognises an evidence file by its first bytes; None when its type is not accepted.
    pub fn evidence_type(&self, bytes: &[u8]) -> Option<&'static str> {
        let t = if bytes.starts_with(b"%PDF-") {
            "application/pdf"
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
            "image/png"
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            "image/jpeg"
        } else {
            return None;
        };
        self.evidence.types.iter().any(|x| x == t).then_some(t)
    }
}

// ----- eligibility (pre-review) -----

/// What the platform knows about a dishonesty record when a subject applies for its repair.
#[derive(Debug, Clone)]
pub struct RepairFacts<'a> {
    /// Only administrative penalties (行政处罚) are repaired through this procedure.
    pub is_penalty: bool,
    /// The record's current state: `created`/`corrected` are in force; `repaired`, `withdrawn`
    /// have ended it.
    pub change: &'a str,
    /// The publicity regime id stored with the record (`2019`, `order58`, `2026`, `samr45`).
    pub regime: Option<&'a str>,
    pub severity: Option<Severity>,
    pub published: bool,
    pub repairable_from: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    pub categories: &'a [String],
    pub commitment_signed: bool,
    /// The deciding unit's confirmation that the penalty was performed (None: not yet given).
    pub performed: Option<bool>,
    /// The subject is on the serious-dishonesty list now (bars early end under SAMR Order 45).
    pub on_serious_list: bool,
    /// The record is an entry of a list that may be left early on application (`list_exit`
    /// in workflows.toml).
    pub list_exit: Option<ExitFacts<'a>>,
}

/// What the pre-review of leaving a list early looks at beside the entry's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitFacts<'a> {
    /// The list's name.
    pub list: &'a str,
    /// What the deciding unit confirms.
    pub confirm: &'a str,
    /// The day the entry was listed.
    pub listed_on: Option<NaiveDate>,
    /// The least time on the list its deciding unit's rule sets: months and basis.
    pub minimum: Option<(u32, &'a str)>,
    /// Err: the entry was not decided by a unit of the city (the provincial feed's, a court's, a
    /// unit the platform does not know), with where to apply instead.
    pub decided_here: Result<(), String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionStatus {
    Met,
    Missing,
    /// For the deciding unit to confirm during review.
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub name: String,
    pub status: ConditionStatus,
    pub detail: String,
}

/// The result of a pre-review: each condition, met or what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub conditions: Vec<Condition>,
    /// What the deciding unit confirms when it ticks "performed" (for a market-regulation
    /// penalty also that the subject is not on the 经营异常名录, which the platform does not hold).
    #[serde(default)]
    pub confirm: String,
}

impl Eligibility {
    /// The subject may apply: nothing is missing (confirmations may still be pending).
    pub fn may_apply(&self) -> bool {
        !self
            .conditions
            .iter()
            .any(|c| c.status == ConditionStatus::Missing)
    }
    /// The deciding unit may approve: every condition is met.
    pub fn may_approve(&self) -> bool {
        self.conditions
            .iter()
            .all(|c| c.status == ConditionStatus::Met)
    }
    /// What is missing, one line each, in Chinese.
    pub fn missing(&self) -> Vec<String> {
        self.conditions
            .iter()
            .filter(|c| c.status != ConditionStatus::Met)
            .map(|c| format!("{}：{}", c.name, c.detail))
            .collect()
    }
}

/// Pre-reviews a repair (rules.md "Repair"; market regulation per SAMR Order 45 Art. 14).
pub fn eligibility(rules: &PublicityRules, f: &RepairFacts<'_>, today: NaiveDate) -> Eligibility {
    use ConditionStatus::*;
    if let Some(x) = &f.list_exit {
        return exit_eligibility(x, f, today);
    }
    let mut out = Vec::new();
    let mut add = |name: &str, status, detail: String| {
        out.push(Condition {
            name: name.into(),
            status,
            detail,
        })
    };
    // 1. The record must be a penalty still in force and public.
    let state = if !f.is_penalty {
        (
            Missing,
            "只有行政处罚信息和可申请提前移出的名单信息通过本程序修复".to_string(),
        )
    } else if f.change == "repaired" {
        (Missing, "该记录已修复".into())
    } else if f.change == "withdrawn" {
        (Missing, "该记录已撤回，无需修复".into())
    } else if f.public_ends.is_some_and(|e| e < today) {
        (
            Missing,
            format!(
                "该记录已于{}公示期满，不再公示，无需修复",
                f.public_ends.map(|d| d.to_string()).unwrap_or_default()
            ),
        )
    } else if !f.published {
        // A 轻微 record is not published; it is still on file, and repairable once performed.
        (Met, "处罚信息在档（轻微失信，不公示）".into())
    } else {
        (Met, "处罚信息正在公示".into())
    };
    add("记录状态", state.0, state.1);
    // 2. The minimum period by regime and severity.
    let market = f.regime == Some(rules.market.id.as_str());
    let minimum = if market {
        (
            Met,
            format!("{}：市场监管处罚信息无最短公示期", rules.market.name),
        )
    } else if f.severity == Some(Severity::Minor) || !f.published {
        (Met, "轻微失信信息不公示，履行完毕即可修复".into())
    } else {
        match f.repairable_from {
            Some(from) if from <= today => (Met, format!("最短公示期已满（{from}起可申请）")),
            Some(from) => (
                Missing,
                format!("最短公示期未满，自{from}起方可申请信用修复"),
            ),
            None => (Missing, "该记录未计算可修复日期，请联系认定单位".into()),
        }
    };
    add("最短公示期", minimum.0, minimum.1);
    // 3. Market regulation: some categories never end early; nor while on the serious list.
    if market {
        let barred: Vec<&String> = f
            .categories
            .iter()
            .filter(|c| rules.market.no_early_end.contains(c))
            .collect();
        if barred.is_empty() {
            add("处罚种类", Met, "处罚种类允许提前停止公示".into());
        } else {
            let names: Vec<&str> = barred.iter().map(|s| s.as_str()).collect();
            add(
                "处罚种类",
                Missing,
                format!(
                    "处罚种类含{}，依{}第十四条不得提前停止公示",
                    names.join("、"),
                    rules.market.name
                ),
            );
        }
        if f.on_serious_list {
            add(
                "严重失信主体名单",
                Missing,
                "主体仍在严重违法失信名单中，不得提前停止公示".into(),
            );
        } else {
            add("严重失信主体名单", Met, "未列入严重违法失信名单".into());
        }
    }
    // 4. The public repair commitment.
    let (status, detail) = commitment(f.commitment_signed);
    add("信用修复承诺", status, detail);
    // 5. The penalty performed, confirmed by the deciding unit. Order 45 第十四条 also bars an
    // early end while the subject is on the 经营异常名录; the platform does not collect that list
    // (no catalog class holds it), so the deciding unit — the market regulator who keeps it —
    // confirms it with the rest.
    let confirm = if market {
        format!(
            "已履行行政处罚决定、已消除危害后果、未再发生同类违法行为，且未被列入经营异常名录（平台未归集该名录，须认定单位核实）（{}第十四条）",
            rules.market.name
        )
    } else {
        "已履行行政处罚决定（含缴纳罚款）、消除不良影响".to_string()
    };
    match f.performed {
        Some(true) if market => add(
            "履行行政处罚",
            Met,
            "认定单位已确认履行完毕、未列入经营异常名录".into(),
        ),
        Some(true) => add("履行行政处罚", Met, "认定单位已确认履行完毕".into()),
        Some(false) => add(
            "履行行政处罚",
            Missing,
            "认定单位确认行政处罚尚未履行完毕".into(),
        ),
        None => add("履行行政处罚", Pending, format!("待认定单位确认{confirm}")),
    }
    Eligibility {
        conditions: out,
        confirm,
    }
}

/// The public repair commitment's condition, for a penalty and a list entry alike.
fn commitment(signed: bool) -> (ConditionStatus, String) {
    if signed {
        (ConditionStatus::Met, "已签署信用修复型承诺".into())
    } else {
        (
            ConditionStatus::Missing,
            "须签署信用修复型承诺（信用承诺类信息，向社会公开）".into(),
        )
    }
}

/// Pre-reviews an application to leave a list early (信用修复：移出严重失信主体名单): the entry
/// in force and decided by a unit of the city, the least time on the list where the deciding
/// unit's rule sets one (else the unit applies its own rule, domain.md 2.2, and confirms it), the
/// public commitment, and the deciding unit's confirmation that the behaviour is corrected.
fn exit_eligibility(x: &ExitFacts<'_>, f: &RepairFacts<'_>, today: NaiveDate) -> Eligibility {
    use ConditionStatus::*;
    let (list, confirm) = (x.list, x.confirm);
    let mut out = Vec::new();
    let mut add = |name: &str, status, detail: String| {
        out.push(Condition {
            name: name.into(),
            status,
            detail,
        })
    };
    let state = match f.change {
        "exited" => (Missing, format!("已提前移出{list}，无需申请")),
        "revoked" => (Missing, "认定已撤销，无需申请".into()),
        "expired" => (Missing, format!("有效期已届满，已移出{list}")),
        "withdrawn" => (Missing, "该记录已撤回，无需申请".into()),
        "repaired" => (Missing, "该记录已修复".into()),
        _ => match (f.public_ends, x.listed_on) {
            (Some(end), _) if end < today => (
                Missing,
                format!("有效期已于{end}届满，将到期移出，无需申请"),
            ),
            (_, Some(on)) if on > today => (Missing, format!("列入日期{on}尚未到来")),
            _ => (Met, format!("列入{list}，尚在有效期内")),
        },
    };
    add("名单状态", state.0, state.1);
    match &x.decided_here {
        Ok(()) => add("认定单位", Met, "由本市单位认定，向认定单位申请".into()),
        Err(why) => add("认定单位", Missing, why.clone()),
    }
    // The least time on the list, where the deciding unit's rule sets one; else its own rule,
    // which it confirms with the rest.
    let listed = x.listed_on.map(|d| d.to_string()).unwrap_or_default();
    match (x.minimum, x.listed_on) {
        (Some((months, basis)), Some(on)) => {
            let from = earliest_exit(on, months);
            if from <= today {
                add(
                    "列入期限",
                    Met,
                    format!("{listed}列入，已满{months}个月（{basis}）"),
                );
            } else {
                add(
                    "列入期限",
                    Missing,
                    format!(
                        "{listed}列入，未满{months}个月，自{from}起方可申请提前移出（{basis}）"
                    ),
                );
            }
        }
        (Some((months, basis)), None) => add(
            "列入期限",
            Missing,
            format!(
                "名单记录没有列入日期，无法核对须列入满{months}个月的规定（{basis}），请联系认定单位"
            ),
        ),
        (None, _) => add(
            "列入期限",
            Met,
            format!(
                "{}最短列入期限以认定单位的规定为准，由认定单位审核",
                if listed.is_empty() {
                    String::new()
                } else {
                    format!("{listed}列入；")
                }
            ),
        ),
    }
    let (status, detail) = commitment(f.commitment_signed);
    add("信用修复承诺", status, detail);
    match f.performed {
        Some(true) => add(
            "纠正失信行为",
            Met,
            "认定单位已确认纠正到位、符合移出规定".into(),
        ),
        Some(false) => add(
            "纠正失信行为",
            Missing,
            "认定单位确认尚未纠正到位或不符合移出规定".into(),
        ),
        None => add("纠正失信行为", Pending, format!("待认定单位确认{confirm}")),
    }
    Eligibility {
        conditions: out,
        confirm: confirm.to_string(),
    }
}

#[cfg(test)]
mod tests {

    /// Twelve months on a list, the listing day not counted: an entry listed on 2025-12-07 may
    /// leave from 2026-12-08, not on 2026-12-07; month ends clamp (listed 2024-02-29, twelve
    /// months end on 2025-02-28).
    #[test]
    fn the_least_time_on_a_list_is_counted_without_the_listing_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(super::earliest_exit(d("2025-12-07"), 12), d("2026-12-08"));
        assert_eq!(super::earliest_exit(d("2024-02-29"), 12), d("2025-03-01"));
        assert_eq!(super::earliest_exit(d("2026-01-31"), 1), d("2026-03-01"));
    }

    use super::*;

    fn rules() -> WorkflowRules {
        WorkflowRules::parse(include_str!("../../../data/workflows.toml")).unwrap()
    }

    #[test]
    fn repair_walks_its_states() {
        use Action as A;
        use CaseState as S;
        let k = CaseKind::Repair;
        let step = |s, a, side| transition(k, s, a, side, "理由");
        assert_eq!(step(S::Submitted, A::Return, Side::Unit), Ok(S::Returned));
        assert_eq!(
            step(S::Returned, A::Supplement, Side::Subject),
            Ok(S::Submitted)
        );
        assert_eq!(
            step(S::Submitted, A::Accept, Side::Unit),
            Ok(S::UnderReview)
        );
        assert_eq!(
            step(S::UnderReview, A::RequestMaterials, Side::Unit),
            Ok(S::AwaitingMaterials)
        );
        // The credit office routes and chases; it does not decide in the unit's place.
        for a in [
            A::Accept,
            A::Return,
            A::Approve,
            A::Reject,
            A::RequestMaterials,
        ] {
            let from = if matches!(a, A::Accept | A::Return) {
                S::Submitted
            } else {
                S::UnderReview
            };
            assert!(
                matches!(
                    step(from, a, Side::Office),
                    Err(TransitionError::WrongSide { .. })
                ),
                "{a:?}"
            );
        }
        assert_eq!(
            step(S::AwaitingMaterials, A::Supplement, Side::Subject),
            Ok(S::UnderReview)
        );
        assert_eq!(
            step(S::UnderReview, A::Approve, Side::Unit),
            Ok(S::Approved)
        );
        assert_eq!(step(S::Approved, A::Share, Side::System), Ok(S::Shared));
        assert_eq!(step(S::UnderReview, A::Reject, Side::Unit), Ok(S::Rejected));
        assert_eq!(
            step(S::UnderReview, A::Cancel, Side::Subject),
            Ok(S::Cancelled)
        );
        // Refusals say why.
        let e = step(S::Submitted, A::Approve, Side::Unit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "信用修复申请当前状态为“已提交”，不能准予修复"
        );
        assert!(matches!(
            step(S::UnderReview, A::Approve, Side::Subject),
            Err(TransitionError::WrongSide { .. })
        ));
        assert!(step(S::Shared, A::Cancel, Side::Subject).is_err());
        assert!(step(S::Approved, A::Cancel, Side::Unit).is_err());
        assert!(step(S::Approved, A::Share, Side::Unit).is_err());
        for empty in [" ", ".", "—", "无"] {
            assert_eq!(
                transition(k, S::UnderReview, A::Reject, Side::Unit, empty),
                Err(TransitionError::ReasonRequired("不予修复")),
                "{empty}"
            );
        }
        assert!(transition(k, S::UnderReview, A::Reject, Side::Unit, "罚款未缴").is_ok());
        // Objection actions do not apply to repairs.
        assert!(step(S::Submitted, A::Forward, Side::System).is_err());
    }

    #[test]
    fn objection_walks_its_states() {
        use Action as A;
        use CaseState as S;
        let k = CaseKind::Objection;
        let step = |s, a, side| transition(k, s, a, side, "理由");
        assert_eq!(
            step(S::Submitted, A::Forward, Side::System),
            Ok(S::Forwarded)
        );
        assert_eq!(
            step(S::Forwarded, A::RequestMaterials, Side::Unit),
            Ok(S::AwaitingMaterials)
        );
        assert_eq!(
            step(S::AwaitingMaterials, A::Supplement, Side::Subject),
            Ok(S::Forwarded)
        );
        for (a, s) in [
            (A::Correct, S::Corrected),
            (A::WithdrawRecord, S::RecordWithdrawn),
            (A::Maintain, S::Maintained),
        ] {
            assert_eq!(step(S::Forwarded, a, Side::Unit), Ok(s));
            assert!(!s.is_open());
        }
        assert!(step(S::Submitted, A::Maintain, Side::Unit).is_err());
        assert!(step(S::Forwarded, A::Approve, Side::Unit).is_err());
        assert_eq!(
            step(S::Forwarded, A::Cancel, Side::Subject),
            Ok(S::Cancelled)
        );
    }

    #[test]
    fn states_and_actions_round_trip() {
        for s in ALL_STATES {
            assert_eq!(s.as_str().parse::<CaseState>(), Ok(s));
        }
        for a in ALL_ACTIONS {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("approve!".parse::<Action>().unwrap_err().contains("无效"));
    }

    #[test]
    fn evidence_is_recognised_by_content() {
        let r = rules();
        assert_eq!(r.evidence_type(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(
            r.evidence_type(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0]),
            Some("image/png")
        );
        assert_eq!(
            r.evidence_type(&[0xff, 0xd8, 0xff, 0xe0]),
            Some("image/jpeg")
        );
        assert_eq!(r.evidence_type(b"MZ\x90\x00 an executable"), None);
        assert_eq!(r.evidence_type(b"<html>"), None);
    }
}
