//! Credit repair (信用修复“一件事”) and objections (异议) over the API: the subject's records with
//! their repairable dates and pre-review, applications and objections, evidence upload, each
//! step of a case, the deciding unit's worklist of pre-reviewed items, messages, statistics.
//!
//! The role table admits the parties; the case itself decides who may see and act (the subject's
//! own records; the unit the case is routed to; the credit office). Every write and every read of
//! evidence is audited.

use std::io::Read;

use auth::Role;
use axum::Json;
use axum::body::Body;
use axum::extract::State;

use axum::response::Response;
use chrono::NaiveDate;
use domain::workflow::{Action, Side};
use serde::{Deserialize, Serialize};
use workflows::{Actor, CaseError, CaseView, Casework, Upload};

use crate::body::{ApiJson, ApiPath, ApiQuery, BodyReader, TOO_LARGE};
use crate::context::{Ctx, audit, audit_entry, audited_write, entry_first, record_first};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking, today};

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound(m) => ApiError::NotFound(m),
            CaseError::Concealed(m) => ApiError::Concealed(m),
            CaseError::Forbidden(m) => ApiError::Unprocessable(m),
            CaseError::Refused(m) => ApiError::Conflict(m),
            CaseError::Invalid(m) => ApiError::Unprocessable(m),
            CaseError::Store(s) => s.into(),
        }
    }
}

/// The service over the state's stores.
pub fn casework(state: &Shared) -> Casework<'_> {
    Casework {
        store: &state.store,
        rules: &state.rules,
        keys: &state.keys,
    }
}

/// The caller as a party to cases.
pub fn actor(ctx: &Ctx) -> ApiResult<Actor> {
    let p = &ctx.principal;
    let side = match p.role {
        Role::Subject => Side::Subject,
        Role::Deciding | Role::Reporter | Role::Reviewer => Side::Unit,
        Role::Admin | Role::Auditor => Side::Office,
        _ => return Err(ApiError::Forbidden),
    };
    // An empty key would read as "no filter" in the case lists.
    let subject_key = p.subject_key.clone().filter(|k| !k.is_empty());
    let unit = p.unit.clone().filter(|u| !u.is_empty());
    if side == Side::Subject && subject_key.is_none() {
        return Err(ApiError::Unprocessable(
            "该账号未关联信用主体，请联系市信用办".into(),
        ));
    }
    if side == Side::Unit && unit.is_none() {
        return Err(ApiError::Unprocessable("该账号未关联单位".into()));
    }
    Ok(Actor {
        id: p.actor(),
        side,
        unit,
        subject_key,
        repairs: p.role != Role::Reporter && p.role != Role::Reviewer,
    })
}

/// The caller as a party that may change a case: the auditor reads only.
pub fn writer(ctx: &Ctx) -> ApiResult<Actor> {
    if ctx.principal.role == Role::Auditor {
        return Err(ApiError::Forbidden);
    }
    actor(ctx)
}

/// Repairs are decided by the deciding unit's officers ("谁认定、谁修复"); objections answered by
/// the source unit's reporters and reviewers (or its officers); the credit office may act for any.
fn may_act(role: Role, kind: &str) -> ApiResult<()> {
    let ok = matches!(
        (role, kind),
        (Role::Admin | Role::Subject | Role::Deciding, _)
            | (Role::Reporter | Role::Reviewer, "objection")
    );
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(
            "信用修复由认定单位经办人办理（谁认定、谁修复）".into(),
        ))
    }
}

// ----- the subject's records -----

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyRecord {
    pub record_id: String,
    /// 行政处罚 / 严重失信主体名单 …
    pub class: String,
    /// 目录类别代码（CF 行政处罚 …）。
    pub class_code: String,
    pub title: String,
    pub source_unit: String,
    pub decided_on: Option<NaiveDate>,
    /// 可申请修复的日期（已修复、已撤回、已移出、已撤销认定的记录为空）.
    pub repairable_from: Option<NaiveDate>,
    /// 公示截止日期（名单记录为有效期至；已修复、已撤回、已移出、已撤销认定的记录为空）.
    pub public_ends: Option<NaiveDate>,
    pub severity: Option<String>,
    /// 公示中 / 不公示 / 公示期满 / 已修复 / 已撤回 / 已移出 / 已撤销认定（与信用门户的用语相同）.
    pub status: String,
    /// 已修复、已撤回、已移出或已撤销认定的日期（其他状态为空）.
    pub ended_on: Option<NaiveDate>,
    /// 受理信用修复申请的认定单位（行政处罚的处罚机关、名单的认定单位；其他记录为报送单位）.
    pub deciding_unit: String,
    pub under_objection: bool,
    // Whether an application may be made today (not while one is being handled).
    /// 今天是否可以申请信用修复（已有办理中的申请时为 false）。
    pub may_apply: bool,
    // What is missing today (empty when nothing).
    /// 今天申请尚不满足的条件（都满足时为空）。
    pub missing: Vec<String>,
    // A list left elsewhere than here (失信被执行人: at the court): how.
    /// 不在本平台申请移出的名单（如失信被执行人）：如何移出。
    pub exit_elsewhere: Option<String>,
    pub open_repair: Option<i64>,
    pub open_objection: Option<i64>,
    // In force (public, not published, or shared on conditions): what an objection is to.
    /// 记录是否现行有效（公示中、不公示或仅依授权共享），现行有效的记录可提出异议。
    pub in_force: bool,
    // The record's items as reported (ID numbers masked), by their catalog names: what the
    // subject may object to, and what an authorised institution reads of it.
    /// 记录内容：各数据项名称及其值（证件号码已脱敏），即信用主体可提出异议的内容。
    pub items: Vec<MyItem>,
}

// One item of a record: its catalog name and its value.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "记录的一个数据项：目录中的名称及其值。")]
pub struct MyItem {
    pub name: String,
    pub value: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyRecords {
    pub subject_key: String,
    pub records: Vec<MyRecord>,
    // The commitment text signed with an application.
    /// 申请时须签署的信用承诺书文本。
    pub commitment: String,
    // The measures of 联合奖惩 its lists and records carry today, as a department's check
    // finds them: the subject learns what bars it (or favours it) before it applies.
    /// 本主体现行适用的联合奖惩措施（按事项），即各部门办理该事项时核查所得：措施、效果、实施单位、依据及触发它的名单或记录。
    pub measures: Vec<MyMeasure>,
}

// A measure in force for one matter, and what triggers it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "本主体现行适用的一项联合奖惩措施。")]
pub struct MyMeasure {
    // The matter (事项), e.g. 政府采购.
    /// 事项，如“政府采购”。
    pub matter: String,
    pub measure_id: String,
    pub measure: String,
    // 禁止, 限制, 从严审查, 优先, 简化, 绿色通道.
    /// 措施效果，如“禁止”“从严审查”“优先办理”。
    pub effect: String,
    // Who applies it.
    /// 实施单位。
    pub body: String,
    pub basis: String,
    // The list entries or records behind it: list, document number, deciding unit, and whose
    // (the legal representative's, when through that relation).
    /// 触发该措施的名单记录或行政处罚记录：名单（类别）、文号、认定单位；经法定代表人关系触发的注明。
    pub because: Vec<String>,
}

/// The measures `subject`'s entries carry today, matter by matter, as a department's check
/// would find them (evaluated, not recorded as a check: the subject reads its own standing).
/// Exceptions a department marked hold for that department's checks only and are not applied.
fn measures_in_force(
    state: &Shared,
    subject: &str,
    day: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<MyMeasure> {
    let Ok((key, shown, kind)) = joint::check::subject_of(subject, &state.rules, &state.keys, day)
    else {
        return Vec::new();
    };
    crate::api::joint::with_checker(state, None, |c| {
        let mut out = Vec::new();
        for m in &state.rules.measures.matters {
            if !m.subjects.is_empty() && !m.subjects.iter().any(|s| s == kind.as_str()) {
                continue;
            }
            let r = c.check_key(&key, &shown, kind, &m.code, day, now);
            for h in r.measures {
                let because = h
                    .entries
                    .iter()
                    .filter_map(|id| r.entries.iter().find(|e| &e.record_id == id))
                    .map(|e| {
                        let mut said = if e.list.is_empty() {
                            e.category.clone()
                        } else {
                            e.list.clone()
                        };
                        if !e.decision_no.is_empty() {
                            said = format!("{said} {}", e.decision_no);
                        }
                        if !e.deciding_unit.is_empty() {
                            said = format!("{said}（{}）", e.deciding_unit);
                        }
                        match e.via {
                            domain::measures::Via::Subject => said,
                            via => format!("{}：{said}", via.label()),
                        }
                    })
                    .collect();
                out.push(MyMeasure {
                    matter: m.name.clone(),
                    measure_id: h.id,
                    measure: h.name,
                    effect: h.effect_label,
                    body: h.body,
                    basis: h.basis,
                    because,
                });
            }
        }
        out
    })
}

/// The status of a record in force of a class shared on conditions: not on the portal, read by
/// the institutions the subject authorises — and, being in force, open to its objection.
const SHARED_ONLY: &str = "有效（不公示，仅依授权共享）";

pub fn my_records_for(state: &Shared, actor: &Actor) -> ApiResult<MyRecords> {
    let subject = actor
        .subject_key
        .clone()
        .ok_or_else(|| ApiError::Unprocessable("该账号未关联信用主体".into()))?;
    let w = casework(state);
    let now = state.clock.now();
    let day = today(now);
    // Every class the subject has records of: a subject objects to any record of its own (a
    // tax grade, a licence), and repairs penalties and list entries it may leave early.
    let heads = state
        .store
        .subject_heads(&subject, &state.rules.catalog.codes())?;
    let cases = state.store.cases(&store::CaseFilter {
        subject_key: Some(subject.clone()),
        open: true,
        limit: 500,
        ..Default::default()
    })?;
    let mut out = Vec::new();
    for h in heads {
        let of_class = state
            .rules
            .catalog
            .classes
            .iter()
            .find(|c| c.code == h.class_code);
        let class = of_class.map_or_else(|| h.class_code.clone(), |c| c.name.clone());
        let pre = w.pre_review(&h, true, Some(true), day)?;
        let status = match h.change.as_str() {
            "repaired" => "已修复",
            "withdrawn" => "已撤回",
            "exited" | "expired" => "已移出",
            // A revoked listing was never a valid one: not said to have "left" the list.
            "revoked" => "已撤销认定",
            _ if h.public_ends.is_some_and(|e| e < day) => "公示期满",
            // A class shared on conditions is not on the portal: in force, but said so (the
            // subject read 公示中 of records the public never sees).
            _ if of_class.is_some_and(|c| c.sharing != domain::catalog::SharingScope::Public) => {
                SHARED_ONLY
            }
            // Not published, and not a decision with a window of its own (a tax grade below A
            // of a class public only for A): shared with those the subject authorises, as the
            // file's status says — it read 不公示, as a 轻微 penalty no one outside reads.
            _ if !h.published
                && of_class.is_some_and(|c| {
                    !matches!(
                        c.publicity,
                        domain::catalog::PublicityKind::Penalty
                            | domain::catalog::PublicityKind::Licence
                    )
                }) =>
            {
                SHARED_ONLY
            }
            _ if !h.published => "不公示",
            // As the portal says it.
            _ => "公示中",
        };
        // Judged with the status, not read back from its words by each caller (the console's
        // reading missed the status of classes shared on conditions, and their objection form).
        let in_force = matches!(status, "公示中" | "不公示" | SHARED_ONLY);
        // A record repaired, withdrawn or off its list has no window left: its old dates read
        // as if it were still published until then.
        let ended = !in_force && status != "公示期满";
        // The two or three items the title needs, read without building a JSON tree.
        let items = store::payload_items(&h.payload);
        let text = |k: &str| {
            items
                .iter()
                .find(|(code, _)| code.as_ref() == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let title = match h.class_code.as_str() {
            "CF" => format!("{} {}", text("CF_WSH"), text("CF_CFLB").replace(';', "、")),
            // Other classes by their key items (文书号, 名单文号, 年度…).
            _ => of_class
                .map(|c| {
                    c.key
                        .iter()
                        .map(|k| text(k))
                        .filter(|v| !v.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| class.clone()),
        };
        let open = |k: &str| {
            cases
                .iter()
                .find(|c| {
                    c.kind == k
                        && c.record_id == h.record_id
                        && c.state != "approved"
                        && c.state != "rejected"
                })
                .map(|c| c.case_id)
        };
        out.push(MyRecord {
            class,
            class_code: h.class_code.clone(),
            title: title.trim().to_string(),
            source_unit: h.source_unit.clone(),
            decided_on: h.decided_on,
            repairable_from: h.repairable_from.filter(|_| !ended),
            public_ends: h.public_ends.filter(|_| !ended),
            severity: h.severity.clone(),
            status: status.into(),
            // The day it ended, when it did (已修复 alone left the subject asking since when).
            ended_on: ended.then(|| domain::clock::beijing(h.changed_at).date_naive()),
            deciding_unit: if w.repairable_class(&h.class_code) {
                w.deciding_unit(&h)
            } else {
                h.source_unit.clone()
            },
            under_objection: h.under_objection,
            // Not while an application is being handled (one case per record at a time).
            may_apply: pre.may_apply()
                && w.repairable_class(&h.class_code)
                && open("repair").is_none(),
            missing: pre.missing(),
            exit_elsewhere: state
                .rules
                .workflows
                .list_exit
                .elsewhere(&h.class_code)
                .map(str::to_string),
            open_repair: open("repair"),
            open_objection: open("objection"),
            in_force,
            items: items
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(code, v)| MyItem {
                    // Amounts are kept in 元: labelled so (罚款金额（元）), as on the portal.
                    name: of_class
                        .and_then(|c| c.item(code))
                        .map_or_else(|| code.to_string(), |i| views::item_label(i).into_owned()),
                    value: v.to_string(),
                })
                .collect(),
            record_id: h.record_id,
        });
    }
    let wf = &state.rules.workflows.commitment;
    let measures = measures_in_force(state, &subject, day, now);
    Ok(MyRecords {
        subject_key: subject,
        records: out,
        commitment: format!("【{}】{}", wf.kind, wf.text),
        measures,
    })
}

#[utoipa::path(get, path = "/api/v1/my/records", summary = "本主体的信用记录与可修复日期", tag = "信用修复与异议", security(("token" = [])),
    responses((status = 200, description = "本主体的各类信用记录（可对其中任一条提出异议）；行政处罚的可申请修复日期、公示截止日期，可申请提前移出的名单记录的有效期；今日预审结果；办理中的申请", body = MyRecords),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn my_records(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<MyRecords>> {
    let a = actor(&ctx)?;
    let s = state.clone();
    let r = blocking(move || my_records_for(&s, &a)).await?;
    audit(
        &state,
        &ctx,
        "cases.my_records",
        Some(r.subject_key.clone()),
        "ok",
        None,
    )
    .await;
    Ok(Json(r))
}

// ----- applications -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairRequest {
    pub record_id: String,
    /// 是否签署信用修复承诺（承诺文本见 GET /api/v1/my/records 的 commitment）.
    pub commitment: bool,
    /// 申请说明（已履行处罚、纠正失信行为和整改情况）.
    #[serde(default)]
    pub statement: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseCreated {
    pub case_id: i64,
    pub state: String,
    pub deadline: Option<NaiveDate>,
}

pub fn created(state: &Shared, id: i64) -> ApiResult<CaseCreated> {
    let c = state
        .store
        .case(id)?
        .ok_or_else(|| ApiError::NotFound(format!("申请{id}不存在")))?;
    Ok(CaseCreated {
        case_id: id,
        state: c.state,
        deadline: c.deadline,
    })
}

pub async fn apply(
    state: &Shared,
    ctx: &Ctx,
    record_id: String,
    commitment: bool,
    statement: String,
    files: Vec<Upload>,
) -> ApiResult<CaseCreated> {
    let a = actor(ctx)?;
    let (s, c, rid) = (state.clone(), ctx.clone(), record_id.clone());
    let attached = files_detail(&files);
    let r = blocking(move || {
        // Its entry goes in before the case commits (see `entry_first`).
        let first = |id| {
            let detail = Some(format!("case={id}{attached}"));
            record_first(
                &s,
                &c,
                audit_entry(&c, "repair.apply", Some(rid.clone()), "ok", detail),
            )
        };
        let w = casework(&s);
        let id = w.apply_repair_then(
            &a,
            &rid,
            commitment,
            &statement,
            &files,
            s.clock.now(),
            &first,
        )?;
        created(&s, id)
    })
    .await;
    let entry = audit_entry(ctx, "repair.apply", Some(record_id), "ok", None);
    audited_write(state, ctx, &r, entry).await;
    r
}

#[utoipa::path(post, path = "/api/v1/repairs", summary = "申请信用修复（行政处罚停止公示，或提前移出名单）", tag = "信用修复与异议", security(("token" = [])),
    request_body = RepairRequest,
    responses((status = 200, description = "已提交并经平台预审，转认定单位办理（名单记录准予后移出名单）；证明材料用 POST /api/v1/cases/{id}/files 上传", body = CaseCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "不符合条件（逐项说明缺什么）或已有办理中的申请", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_repair(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<RepairRequest>,
) -> ApiResult<Json<CaseCreated>> {
    apply(
        &state,
        &ctx,
        req.record_id,
        req.commitment,
        req.statement,
        Vec::new(),
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRequest {
    pub record_id: String,
    /// 异议理由.
    pub reason: String,
}

pub async fn object(
    state: &Shared,
    ctx: &Ctx,
    record_id: String,
    reason: String,
    files: Vec<Upload>,
) -> ApiResult<CaseCreated> {
    let a = writer(ctx)?;
    let (s, c, rid) = (state.clone(), ctx.clone(), record_id.clone());
    let attached = files_detail(&files);
    let r = blocking(move || {
        // Its entry goes in before the case commits (see `entry_first`).
        let first = |id| {
            let detail = Some(format!("case={id}{attached}"));
            let entry = audit_entry(&c, "objection.create", Some(rid.clone()), "ok", detail);
            record_first(&s, &c, entry)
        };
        let id = casework(&s).object_then(&a, &rid, &reason, &files, s.clock.now(), &first)?;
        // Checks show 异议处理中 on a list entry at once (the jobs catch up if this fails).
        if let Err(e) = s.lists.refresh(&s.store, &s.platform, &s.rules) {
            eprintln!("list index refresh after objection {id}: {e}");
        }
        created(&s, id)
    })
    .await;
    let entry = audit_entry(ctx, "objection.create", Some(record_id), "ok", None);
    audited_write(state, ctx, &r, entry).await;
    r
}

/// The evidence a case was opened with, for its entry in the trail (as a later upload's own
/// entry names its file): how many, their names and sizes.
fn files_detail(files: &[Upload]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| format!("{}（{}字节）", f.name, f.bytes.len()))
        .collect();
    format!(" 证明材料{}个：{}", files.len(), names.join("、"))
}

#[utoipa::path(post, path = "/api/v1/objections", summary = "提出异议", tag = "信用修复与异议", security(("token" = [])),
    request_body = ObjectionRequest,
    responses((status = 200, description = "异议已登记：该记录即时标注“异议处理中”，平台转送信息提供单位核实（信息提供单位自行提出的为主动异议）", body = CaseCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_objection(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<ObjectionRequest>,
) -> ApiResult<Json<CaseCreated>> {
    object(&state, &ctx, req.record_id, req.reason, Vec::new())
        .await
        .map(Json)
}

// ----- cases -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// repair 或 objection.
    pub kind: Option<String>,
    /// 仅办理中的.
    #[serde(default)]
    pub open: bool,
    /// 仅已超过办理时限的.
    #[serde(default)]
    pub overdue: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseList {
    pub cases: Vec<store::Case>,
}

/// The cases the caller may see, by the caller's side.
pub fn cases_for(state: &Shared, a: &Actor, q: &CasesQuery) -> ApiResult<Vec<store::Case>> {
    if let Some(k) = q.kind.as_deref()
        && k != "repair"
        && k != "objection"
    {
        return Err(ApiError::Unprocessable(format!(
            "kind“{k}”无效，应为repair或objection"
        )));
    }
    let mut f = store::CaseFilter {
        kind: q.kind.clone(),
        open: q.open || q.overdue,
        overdue_on: q.overdue.then(|| today(state.clock.now())),
        limit: 500,
        ..Default::default()
    };
    match a.side {
        Side::Subject => f.subject_key = a.subject_key.clone(),
        Side::Unit => f.unit = a.unit.clone(),
        _ => {}
    }
    if !a.repairs {
        // A unit's reporters and reviewers handle its objections, not repairs.
        if f.kind.as_deref() == Some("repair") {
            return Ok(Vec::new());
        }
        f.kind = Some("objection".into());
    }
    let mut cases = state.store.cases(&f)?;
    if a.side == Side::Subject {
        for c in &mut cases {
            workflows::as_applicant_sees(c);
        }
    }
    Ok(cases)
}

#[utoipa::path(get, path = "/api/v1/cases", summary = "查询信用修复与异议申请", tag = "信用修复与异议", security(("token" = [])),
    params(CasesQuery),
    responses((status = 200, description = "主体：本主体的申请；单位：转本单位办理的；市信用办、审计员：全部", body = CaseList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_cases(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> ApiResult<Json<CaseList>> {
    let a = actor(&ctx)?;
    let s = state.clone();
    let cases = blocking(move || cases_for(&s, &a, &q)).await?;
    audit(
        &state,
        &ctx,
        "cases.list",
        None,
        "ok",
        Some(format!("{} cases", cases.len())),
    )
    .await;
    Ok(Json(CaseList { cases }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", summary = "查询申请详情", tag = "信用修复与异议", security(("token" = [])),
    params(("id" = i64, Path, description = "申请编号")),
    responses((status = 200, description = "申请详情：办理过程、证明材料、预审结果、当前可办理的操作", body = CaseView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CaseView>> {
    let a = actor(&ctx)?;
    let s = state.clone();
    let v = blocking(move || Ok(casework(&s).view(&a, id, s.clock.now())?)).await;
    // A refused read is in the trail too (someone probing another party's cases).
    audit(
        &state,
        &ctx,
        "case.read",
        Some(format!("case:{id}")),
        if v.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    v.map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseActionRequest {
    /// accept、return、request_materials、supplement、approve、reject、correct、withdraw_record、maintain、cancel（forward、share 由平台自动办理，市信用办可催办）.
    pub action: String,
    #[serde(default)]
    pub reason: String,
    /// 认定单位确认已履行行政处罚（名单记录：已纠正失信行为、符合移出规定）（受理或准予时填写）.
    pub performed: Option<bool>,
}

pub async fn act(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    req: CaseActionRequest,
    files: Vec<Upload>,
) -> ApiResult<store::Case> {
    let a = writer(ctx)?;
    let action: Action = req.action.parse().map_err(ApiError::Unprocessable)?;
    let entry = audit_entry(
        ctx,
        "case.action",
        Some(format!("case:{id}")),
        "ok",
        Some(format!("{}: {}", req.action, req.reason)),
    );
    let (s, c2, mut e) = (state.clone(), ctx.clone(), entry.clone());
    let reason = req.reason.clone();
    let r = blocking(move || {
        let w = casework(&s);
        let case = w.case_for(&a, id)?;
        if a.side != Side::Subject {
            may_act(c2.principal.role, &case.kind)?;
        }
        // The trail says which step, on which record: the auditor does not read the case, and
        // finds the record's other entries by it (an early exit from a list is named as such).
        let exit = case.kind == domain::workflow::CaseKind::Repair.as_str()
            && s.rules.workflows.list_exit.offers(&case.class_code);
        e.detail = Some(format!(
            "{}（{}）: {} record={}",
            action.as_str(),
            action.label_of(exit),
            domain::ids::mask_personal_in(&reason),
            case.record_id
        ));
        // Its entry goes in before the step commits (see `entry_first`).
        let done = w.act_then(
            &a,
            id,
            action,
            &reason,
            req.performed,
            &files,
            s.clock.now(),
            &entry_first(&s, &c2, e),
        )?;
        // Checks see an ended list entry at once; if the refresh fails the jobs catch up within
        // seconds, and the step itself is done.
        // (An objection's close lifts 异议处理中 too.)
        if let Err(e) = s.lists.refresh(&s.store, &s.platform, &s.rules) {
            eprintln!("list index refresh after case {id}: {e}");
        }
        Ok(done)
    })
    .await;
    audited_write(state, ctx, &r, entry).await;
    r
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", summary = "办理申请（受理、审核、决定等）", tag = "信用修复与异议", security(("token" = [])),
    params(("id" = i64, Path, description = "申请编号")), request_body = CaseActionRequest,
    responses((status = 200, description = "已办理（记入办理过程）；准予修复时该记录在同一事务中停止公示（名单记录同时提前移出名单，核查即时生效）", body = store::Case),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "当前状态不能办理该操作，或条件不满足（说明原因）", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn case_action(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<CaseActionRequest>,
) -> ApiResult<Json<store::Case>> {
    act(&state, &ctx, id, req, Vec::new()).await.map(Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// 文件名.
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/files", summary = "上传证明材料", tag = "信用修复与异议", security(("token" = [])),
    params(("id" = i64, Path, description = "申请编号"), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "证明材料（PDF、PNG或JPEG，按内容识别，单个不超过10MB）"),
    responses((status = 200, description = "已保存（SM4加密存储，附SM3摘要）", body = Vec<store::CaseFile>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn upload_file(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FileQuery>,
    body: Body,
) -> ApiResult<Json<Vec<store::CaseFile>>> {
    let a = writer(&ctx)?;
    let limit = state.rules.workflows.evidence.max_bytes;
    let mut reader = BodyReader::new(body, limit, state.config.body_idle);
    let entry = audit_entry(
        &ctx,
        "case.file.upload",
        Some(format!("case:{id}")),
        "ok",
        None,
    );
    let (s, first) = (state.clone(), entry_first(&state, &ctx, entry.clone()));
    let name = q.name.unwrap_or_else(|| "证明材料".into());
    let r = blocking(move || {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| {
            if e.to_string() == TOO_LARGE {
                ApiError::too_large(limit, "请压缩或拆分证明材料后分别上传")
            } else {
                ApiError::BadRequest(format!("读取上传内容失败：{e}"))
            }
        })?;
        // Its entry goes in before the file commits (see `entry_first`).
        let files = [Upload { name, bytes }];
        casework(&s).add_files_then(&a, id, &files, s.clock.now(), &first)?;
        Ok(s.store.case_files(id)?)
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    r.map(Json)
}

/// One evidence file, decrypted, to the parties of its case.
pub async fn file_response(state: &Shared, ctx: &Ctx, id: i64, file: i64) -> ApiResult<Response> {
    let a = actor(ctx)?;
    let s = state.clone();
    let r = blocking(move || {
        casework(&s).case_for(&a, id)?;
        let (meta, sealed) = s
            .store
            .case_file(id, file)?
            .ok_or_else(|| ApiError::NotFound(format!("材料{file}不存在")))?;
        let bytes = s.keys.decrypt(&sealed).map_err(ApiError::internal)?;
        Ok((meta, bytes))
    })
    .await;
    audit(
        state,
        ctx,
        "case.file.read",
        Some(format!("case:{id}/file:{file}")),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    let (meta, bytes) = r?;
    let ext = match meta.media_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    // Saved under the name it was uploaded with (缴款凭证.pdf), its type's extension kept; the
    // ASCII name for a browser that takes no other.
    let name = meta.name.trim();
    let shown = if name.is_empty() {
        format!("证明材料-{id}-{file}.{ext}")
    } else if name.to_lowercase().ends_with(&format!(".{ext}")) {
        name.to_string()
    } else {
        format!("{name}.{ext}")
    };
    Ok(crate::attachment_as(
        &meta.media_type,
        &format!("evidence-{id}-{file}.{ext}"),
        Some(&shown),
        bytes,
    ))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/files/{file}", summary = "下载证明材料", tag = "信用修复与异议", security(("token" = [])),
    params(("id" = i64, Path, description = "申请编号"), ("file" = i64, Path, description = "材料编号")),
    responses((status = 200, description = "证明材料原件（读取留痕）", content_type = "application/octet-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get_file(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath((id, file)): ApiPath<(i64, i64)>,
) -> ApiResult<Response> {
    file_response(&state, &ctx, id, file).await
}

// ----- worklist, messages, statistics -----

#[derive(Serialize, utoipa::ToSchema)]
pub struct Worklist {
    /// 已届满最短公示期、平台已预审、主体尚未申请的记录（闹铃式提醒），按可修复日期排序，每次至多500条（从 reminders_from 起）.
    pub reminders: Vec<store::Reminder>,
    /// 这类记录的总数（可能多于 reminders 中的条数）.
    pub reminders_total: i64,
    /// 办理中的申请.
    pub open: Vec<store::Case>,
    /// 其中已超过办理时限的.
    pub overdue: Vec<store::Case>,
}

/// Reminders a worklist lists at a time.
pub const REMINDERS_SHOWN: i64 = 500;

/// The worklist with its reminders from the `from`-th on.
pub fn worklist_from(state: &Shared, a: &Actor, from: i64) -> ApiResult<Worklist> {
    let unit = match a.side {
        Side::Unit => a.unit.clone(),
        _ => None,
    };
    let open = state.store.cases(&store::CaseFilter {
        unit: unit.clone(),
        open: true,
        // A unit's reporters and reviewers work on its objections; repairs are its deciding
        // officers'.
        kind: (!a.repairs).then(|| "objection".to_string()),
        limit: 500,
        ..Default::default()
    })?;
    let day = today(state.clock.now());
    let overdue = open
        .iter()
        .filter(|c| c.deadline.is_some_and(|d| d < day))
        .cloned()
        .collect();
    let (reminders, reminders_total) = if a.repairs {
        state
            .store
            .reminders_page(unit.as_deref(), day, REMINDERS_SHOWN, from)?
    } else {
        (Vec::new(), 0)
    };
    Ok(Worklist {
        reminders,
        reminders_total,
        open,
        overdue,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// 提醒列表从第几条起（0起算，每次至多500条）.
    #[serde(default)]
    pub reminders_from: u32,
}

#[utoipa::path(get, path = "/api/v1/worklist", summary = "信用修复与异议工作台", tag = "信用修复与异议", security(("token" = [])),
    params(WorklistQuery),
    responses((status = 200, description = "本单位的信用修复与异议工作台（市信用办：全市），含逾期事项", body = Worklist),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn worklist(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> ApiResult<Json<Worklist>> {
    let a = actor(&ctx)?;
    let s = state.clone();
    let w = blocking(move || worklist_from(&s, &a, q.reminders_from.into())).await?;
    audit(&state, &ctx, "worklist.read", None, "ok", None).await;
    Ok(Json(w))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Messages {
    pub messages: Vec<store::Message>,
}

/// The caller's messages: a subject's, a unit's, or the credit office's.
pub fn messages_for(state: &Shared, ctx: &Ctx) -> ApiResult<Vec<store::Message>> {
    let p = &ctx.principal;
    let (kind, key) = match p.role {
        Role::Subject => ("subject", p.subject_key.clone()),
        Role::Admin => ("office", Some("office".to_string())),
        _ => ("unit", p.unit.clone()),
    };
    let Some(k) = key else {
        return Ok(Vec::new());
    };
    // Repair reminders and a repair case's messages are the deciding officers'; a unit's
    // reporters and reviewers keep its objections' and the general ones.
    if matches!(p.role, Role::Reporter | Role::Reviewer) {
        Ok(state.store.messages_without_repairs(kind, &k, 100)?)
    } else {
        Ok(state.store.messages(kind, &k, 100)?)
    }
}

#[utoipa::path(get, path = "/api/v1/messages", summary = "站内消息", tag = "信用修复与异议", security(("token" = [])),
    responses((status = 200, description = "站内消息：修复提醒、办理结果、待办、督办", body = Messages),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn messages(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<Messages>> {
    let (s, c) = (state.clone(), ctx.clone());
    Ok(Json(Messages {
        messages: blocking(move || messages_for(&s, &c)).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// 起始日期（含），默认本年1月1日.
    pub from: Option<String>,
    /// 截止日期（含），默认今天.
    pub to: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseStatsReply {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<workflows::stats::CaseStats>,
    /// 外发短信/邮件队列：pending、sent、failed.
    pub outbox: Vec<(String, i64)>,
}

pub fn stats_for(state: &Shared, q: &StatsQuery) -> ApiResult<CaseStatsReply> {
    let day = today(state.clock.now());
    let to = match q.to.as_deref() {
        Some(t) => crate::api::parse_day(t)?,
        None => day,
    };
    let from = match q.from.as_deref() {
        Some(f) => crate::api::parse_day(f)?,
        None => NaiveDate::from_ymd_opt(chrono::Datelike::year(&to), 1, 1).unwrap_or(to),
    };
    if from > to {
        return Err(ApiError::Unprocessable("起始日期晚于截止日期".into()));
    }
    let rows = state.store.case_stat_rows(from, to)?;
    Ok(CaseStatsReply {
        from,
        to,
        rows: workflows::stats::compute(&rows, &state.rules.calendar, day),
        outbox: state.store.outbox_counts()?,
    })
}

#[utoipa::path(get, path = "/api/v1/cases/stats", summary = "信用修复与异议统计", operation_id = "case_stats", tag = "信用修复与异议", security(("token" = [])),
    params(StatsQuery),
    responses((status = 200, description = "按单位、月份：申请数、准予（异议成立）数、不予（维持）数、记录撤回终结数、平均与最长办理工作日（不含记录撤回终结的案件）、超时步骤、当前逾期", body = CaseStatsReply),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn stats(
    State(state): State<Shared>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<CaseStatsReply>> {
    let s = state.clone();
    Ok(Json(blocking(move || stats_for(&s, &q)).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// 上次取到的最大 feed_id（从0开始）.
    #[serde(default)]
    pub after: i64,
    /// 最多条数（1–1000，默认500）.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Feed {
    pub items: Vec<store::FeedItem>,
    /// 下次请求的 after.
    pub next_after: i64,
}

#[utoipa::path(get, path = "/api/v1/sharing/feed", summary = "向省级平台共享的修复决定", tag = "信用修复与异议", security(("token" = [])),
    params(FeedQuery),
    responses((status = 200, description = "共享给省级平台的信用修复决定，按编号递增；省级交换系统凭 next_after 续取", body = Feed),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sharing_feed(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> ApiResult<Json<Feed>> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) || q.after < 0 {
        return Err(ApiError::Unprocessable(
            "limit 应在1–1000之间，after 不能为负".into(),
        ));
    }
    let s = state.clone();
    let items = blocking(move || Ok(s.store.sharing_feed_after(q.after, limit)?)).await?;
    let next_after = items.last().map_or(q.after, |i| i.feed_id);
    audit(
        &state,
        &ctx,
        "sharing.feed.read",
        None,
        "ok",
        Some(format!("after={} items={}", q.after, items.len())),
    )
    .await;
    Ok(Json(Feed { items, next_after }))
}
