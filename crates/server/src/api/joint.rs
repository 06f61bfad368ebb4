//! Joint reward and punishment over the API: checks (查询式 and the embedded snippet), feedback,
//! list entry actions (整改, 移出, 撤销), exceptions, batch review, subscriptions, webhooks,
//! alerts, statistics.

use std::io::Read;

use auth::Role;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, Response};
use domain::lists::ListAction;
use domain::measures::{Verdict, Via};
use joint::check::{CheckResult, Checker};
use serde::{Deserialize, Serialize};

use crate::body::{ApiJson, ApiPath, ApiQuery, BodyReader, TOO_LARGE};
use crate::context::{Ctx, audit, audit_entry, audited_write, entry_first, write_carrying};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking, today};

impl From<joint::CheckError> for ApiError {
    fn from(e: joint::CheckError) -> Self {
        ApiError::Unprocessable(e.to_string())
    }
}

impl From<joint::batch::BatchError> for ApiError {
    fn from(e: joint::batch::BatchError) -> Self {
        match e {
            joint::batch::BatchError::Write(w) => ApiError::internal(w),
            other => ApiError::Unprocessable(other.to_string()),
        }
    }
}

/// A checker over the state's index; names of organisations not on a list come from the name
/// index, of natural persons from the store (a batch asks for its persons in one go).
pub fn with_checker<T>(state: &Shared, unit: Option<&str>, f: impl FnOnce(&Checker<'_>) -> T) -> T {
    let names = StateNames(state);
    let checker = Checker {
        index: &state.lists,
        rules: &state.rules,
        keys: &state.keys,
        names: &names,
        unit,
    };
    f(&checker)
}

struct StateNames<'a>(&'a Shared);

impl joint::check::Names for StateNames<'_> {
    fn name_of(&self, key: &str) -> Option<(String, domain::record::SubjectKind)> {
        self.0.search.get(key).map(|e| {
            (
                e.name,
                if e.kind == "individual_business" {
                    domain::record::SubjectKind::IndividualBusiness
                } else {
                    domain::record::SubjectKind::Organisation
                },
            )
        })
    }

    fn persons(&self, keys: &[&str]) -> std::collections::HashMap<String, String> {
        // A store that cannot answer leaves the persons unknown: the note says so, the verdict
        // (from the list index) stands.
        self.0.store.subject_names(keys).unwrap_or_default()
    }
}

/// A natural person on no list is not in the name index, nor is an organisation reported since
/// its last refresh (or on another replica): whether the platform holds records of them (and
/// their name) is asked of the store, off the async threads, before the check says it holds
/// nothing.
async fn known_subject(state: &Shared, r: &mut CheckResult) -> ApiResult<()> {
    if r.subject.known {
        return Ok(());
    }
    // SQLite answers a primary-key lookup in microseconds, less than the blocking pool's two
    // thread hand-offs (a fifth of the checks, the ID numbers, ask it); PostgreSQL's client
    // blocks, and goes to the pool.
    let found = if state.store.backend() == store::Backend::Sqlite {
        state.store.subject(&r.subject.key)?
    } else {
        let (s, key) = (state.clone(), r.subject.key.clone());
        blocking(move || Ok(s.store.subject(&key)?)).await?
    };
    if let Some(subject) = found {
        r.subject.known = true;
        r.subject.name = subject.name;
    }
    Ok(())
}

/// Financial institutions check for credit decisions only.
fn may_check(ctx: &Ctx, matter: &str) -> ApiResult<()> {
    let m = matter.trim();
    if ctx.principal.role == Role::Financial && !m.eq_ignore_ascii_case("JRSX") && m != "授信融资"
    {
        return Err(ApiError::Unprocessable(
            "金融机构只能核查“授信融资”（JRSX）事项".into(),
        ));
    }
    Ok(())
}

/// Whether a financial institution may check the subject `code` names, and whether by a
/// person's authorisation. An institution learns about a person only with that person's
/// authorisation (信易贷授权查询), asked by the subject key its authorisations list gives: by an
/// ID number, trying the hidden digits of a masked number against the verdict or the name
/// would confirm which number is on a list. Organisations' list entries are public.
/// A refusal is audited under the key tried (no check is recorded).
async fn financial_may_check(
    state: &Shared,
    ctx: &Ctx,
    code: &str,
    day: chrono::NaiveDate,
) -> ApiResult<bool> {
    // A code that does not resolve is refused by the check itself, with its reason.
    let Ok((key, shown, kind)) = joint::check::subject_of(code, &state.rules, &state.keys, day)
    else {
        return Ok(false);
    };
    if kind != domain::record::SubjectKind::NaturalPerson {
        return Ok(false);
    }
    // The checker shows a check by key as the key, one by ID number masked.
    let refusal = if shown != key {
        ApiError::Unprocessable(
            "金融机构不能以公民身份号码核查自然人：请在“授权查询”列表中使用本人授权时给出的主体键（P开头）核查"
                .into(),
        )
    } else if crate::api::authorisations::institution_authorised(state, ctx, &key).await {
        return Ok(true);
    } else {
        ApiError::NotYours(
            "该自然人未授权本机构查询（信易贷授权查询）或授权已过期、已撤回，不能核查".into(),
        )
    };
    audit(
        state,
        ctx,
        "check.create",
        Some(key.clone()),
        "denied",
        Some(format!("subject={key} {refusal}")),
    )
    .await;
    Err(refusal)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// 统一社会信用代码或公民身份号码；金融机构核查自然人时填本人授权后“授权查询”列表中的主体键（P开头）.
    pub code: String,
    /// 事项代码或名称（见 GET /api/v1/matters）.
    pub matter: String,
    /// query（查询式，默认）或 embedded（嵌入式，由业务系统调用）.
    #[serde(default)]
    pub channel: Option<String>,
    /// 业务系统的办件编号（可选，至多64个字符）：记入核查记录，便于与办件对应；本单位以同一办件编号对同一主体、同一事项再次核查（如超时重试）时，若结论和适用措施未变，返回此前那次核查的 check_id（repeated 为 true），不另行记录，避免重复的待反馈核查；若此后结论或适用措施已变化（如主体新列入名单），另行记录一次新核查（repeated 为 false），按新结论反馈。
    #[serde(default)]
    pub reference: Option<String>,
}

/// Runs and records one check.
pub async fn run_check(state: &Shared, ctx: &Ctx, req: CheckRequest) -> ApiResult<CheckResult> {
    // A check the caller's role may not make (a bank's for a matter other than credit) is
    // refused in the trail as its unauthorised persons are.
    if let Err(refusal) = may_check(ctx, &req.matter) {
        let detail = Some(format!("matter={} {refusal}", req.matter));
        audit(state, ctx, "check.create", None, "denied", detail).await;
        return Err(refusal);
    }
    let channel = match req.channel.as_deref() {
        None | Some("query") => "query",
        Some("embedded") => "embedded",
        Some(other) => {
            return Err(ApiError::Unprocessable(format!(
                "channel“{other}”无效，应为query或embedded"
            )));
        }
    };
    let reference = match req.reference.as_deref().map(str::trim) {
        Some(r) if r.chars().count() > 64 || r.chars().any(char::is_control) => {
            return Err(ApiError::Unprocessable(
                "办件编号（reference）不能超过64个字符，且不能含控制字符".into(),
            ));
        }
        Some(r) if !r.is_empty() => Some(r.to_string()),
        _ => None,
    };
    let now = state.clock.now();
    let financial = ctx.principal.role == Role::Financial;
    let authorised = financial && financial_may_check(state, ctx, &req.code, today(now)).await?;
    let mut result = with_checker(state, ctx.principal.unit.as_deref(), |c| {
        c.check(&req.code, &req.matter, today(now), now)
    })?;
    known_subject(state, &mut result).await?;
    result.reference = reference.clone();
    let unit = organisation_of(&ctx.principal).ok();
    // A retry under the same number (the first answer lost on the way) is answered with the
    // check recorded then: a second one would wait for feedback no one gives, and lower the
    // unit's 反馈率. Only while that check's verdict and measures are today's: a subject listed
    // since (a check at 受理, again at 办结) is checked anew, or the hit would be answered under a
    // clear check that takes no feedback and counts as clear.
    let mut earlier_changed = None;
    if let (Some(r), Some(u)) = (&reference, &unit) {
        let (s, r, u, key, matter) = (
            state.clone(),
            r.clone(),
            u.clone(),
            result.subject.key.clone(),
            result.matter.code.clone(),
        );
        let earlier = crate::blocking(move || {
            Ok(
                match s.platform.check_by_reference(&u, &r, &key, &matter)? {
                    Some(id) => s.platform.check(id)?,
                    None => None,
                },
            )
        })
        .await?;
        // The same verdict, measures and entries behind them: a listing withdrawn and another
        // made since is another ground, recorded as such.
        let same = |c: &store::CheckRow| {
            fn sorted(mut v: Vec<&str>) -> Vec<&str> {
                v.sort_unstable();
                v
            }
            let now = sorted(result.measures.iter().map(|m| m.id.as_str()).collect());
            let then = sorted(c.measures.iter().map(String::as_str).collect());
            let now_entries = sorted(
                result
                    .entries
                    .iter()
                    .map(|e| e.record_id.as_str())
                    .collect(),
            );
            let then_entries = sorted(c.entries.iter().map(String::as_str).collect());
            c.verdict == result.verdict.as_str() && now == then && now_entries == then_entries
        };
        if let Some(c) = earlier.as_ref().filter(|c| !same(c)) {
            earlier_changed = Some(c.check_id);
        }
        if let Some(id) = earlier.filter(|c| same(c)).map(|c| c.check_id) {
            audit(
                state,
                ctx,
                "check.repeat",
                Some(format!("check:{id}")),
                "ok",
                Some(format!(
                    "subject={} matter={} verdict={}",
                    result.subject.key,
                    result.matter.code,
                    result.verdict.as_str()
                )),
            )
            .await;
            result.check_id = id;
            result.repeated = true;
            return Ok(result);
        }
    }
    let mut row = result.record(&ctx.principal.actor(), unit.as_deref(), channel, None);
    row.reference = reference;
    // The check and its audit entry are committed together (the entry named by the check's
    // number); the detail names the subject's key, so that auditors see whom it was about.
    let entry = crate::context::audit_entry(
        ctx,
        "check.create",
        None,
        "ok",
        Some(format!(
            "subject={} matter={} verdict={}{}{}",
            result.subject.key,
            result.matter.code,
            result.verdict.as_str(),
            if authorised { " 授权查询" } else { "" },
            earlier_changed
                .map(|id| format!(" 同一办件编号的核查{id}结论已变化，另行记录"))
                .unwrap_or_default()
        )),
    );
    // A check is recorded with its audit entry or not at all: not written, it is not answered
    // (503, counted as a lost audit entry; the store's own words go to the log, not the caller).
    result.check_id = match state.checks.record(row, entry).await {
        Ok(id) => {
            state.metrics.audit_written();
            id
        }
        Err(e) => {
            eprintln!(
                "{} ERROR check and its audit entry not written for request {}: {e}",
                chrono::Utc::now().to_rfc3339(),
                ctx.request_id
            );
            state.metrics.audit_lost();
            return Err(ApiError::Unavailable(
                "核查记录及其审计日志未能写入，本次核查未完成，请稍后重试".into(),
            ));
        }
    };
    state
        .metrics
        .checks
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(result)
}

#[utoipa::path(post, path = "/api/v1/checks", summary = "单笔核查（逢办必查）", tag = "联合奖惩", security(("token" = [])),
    request_body = CheckRequest,
    responses(
        (status = 200, description = "核查结论、适用措施及依据、所涉名单；核查已留痕，凭 check_id 反馈", body = CheckResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "无权核查；金融机构核查未授权本机构查询的自然人（拒绝已留痕）", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "代码或事项无效；金融机构以公民身份号码核查自然人（须用授权列表中的主体键，拒绝已留痕）", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create_check(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<CheckRequest>,
) -> ApiResult<Json<CheckResult>> {
    run_check(&state, &ctx, req).await.map(Json)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckDetail {
    #[serde(flatten)]
    pub check: store::CheckRow,
    pub feedback: Option<store::Feedback>,
}

/// Whether what `actor` of `unit` made (a check, an exception) is the caller's: its own, or its
/// unit's.
fn made_by(p: &auth::Principal, actor: &str, unit: &Option<String>) -> bool {
    actor == p.actor() || organisation_of(p).is_ok_and(|o| unit.as_deref() == Some(o.as_str()))
}

/// A check the caller may see: its own unit's, or any for the credit office and the auditor.
pub fn visible_check(state: &Shared, ctx: &Ctx, id: i64) -> ApiResult<store::CheckRow> {
    let c = state
        .platform
        .check(id)?
        .ok_or_else(|| ApiError::NotFound(format!("核查{id}不存在")))?;
    let p = &ctx.principal;
    let mine = match p.role {
        Role::Admin | Role::Auditor => true,
        _ => made_by(p, &c.actor, &c.unit),
    };
    if !mine {
        return Err(ApiError::Concealed(format!("核查{id}不存在")));
    }
    Ok(c)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChecksListParams {
    // Only checks still to answer: something found, no feedback yet.
    /// 为 true 时只返回有命中、尚未反馈的核查（待反馈）。
    pub pending: Option<bool>,
    // Checks numbered below this (the next page: the last number of the page before).
    /// 只返回编号小于此值的核查（翻页：填上一页最后一条的编号）。
    pub before: Option<i64>,
    // 1–500, default 100.
    /// 每页条数，1–500（默认100）。
    pub limit: Option<i64>,
}

/// A check in the list: as recorded, with the outcome of its feedback if any.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "核查列表中的一条：核查记录，及其反馈结果（applied 已采取措施 / not_applicable 不适用；未反馈为空）。"
)]
pub struct CheckListItem {
    #[serde(flatten)]
    pub check: store::CheckRow,
    pub feedback: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/checks", summary = "本单位的核查列表", tag = "联合奖惩", security(("token" = [])),
    params(ChecksListParams),
    responses((status = 200, description = "本单位（金融机构：本机构；信用办：全部）的单笔核查，新的在前；可只看待反馈的，按编号翻页", body = Vec<CheckListItem>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "limit 超出1–500", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_checks(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ChecksListParams>,
) -> ApiResult<Json<Vec<CheckListItem>>> {
    let unit = match ctx.principal.role {
        Role::Admin => None,
        _ => Some(organisation_of(&ctx.principal)?),
    };
    let (limit, _) = super::page_of(q.limit, None, 100, 500)?;
    let (s, u) = (state.clone(), unit.clone());
    let r = blocking(move || {
        let rows =
            s.platform
                .checks_page(u.as_deref(), q.pending.unwrap_or(false), q.before, limit)?;
        let fed = match (rows.last(), rows.first()) {
            (Some(low), Some(high)) => s.platform.feedback_outcomes(low.check_id, high.check_id)?,
            _ => Default::default(),
        };
        Ok(rows
            .into_iter()
            .map(|c| CheckListItem {
                feedback: fed.get(&c.check_id).cloned(),
                check: c,
            })
            .collect())
    })
    .await;
    // The list names the subjects a department checked: a sensitive read.
    audit_watch_read(
        &state,
        &ctx,
        "check.list",
        unit.as_deref().unwrap_or("全部"),
        &r,
    )
    .await;
    r.map(Json)
}

#[utoipa::path(get, path = "/api/v1/checks/{id}", summary = "查询核查记录", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "核查编号")),
    responses((status = 200, description = "核查记录及反馈", body = CheckDetail),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get_check(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CheckDetail>> {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let check = visible_check(&s, &c, id)?;
        let feedback = s.platform.feedback(id)?;
        Ok(CheckDetail { check, feedback })
    })
    .await;
    // A check names a subject and what was found on it: reading it again is a sensitive read.
    audit_check_read(&state, &ctx, id, r.is_ok(), "check.read").await;
    r.map(Json)
}

pub(crate) async fn audit_check_read(state: &Shared, ctx: &Ctx, id: i64, ok: bool, action: &str) {
    audit(
        state,
        ctx,
        action,
        Some(format!("check:{id}")),
        if ok { "ok" } else { "failed" },
        None,
    )
    .await;
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// applied（已采取措施）或 not_applicable（不适用，须说明理由）。核查结论为 clear（未发现）的核查无需反馈，反馈会被拒绝。
    pub outcome: String,
    // Measure ids applied (from the check's measures).
    /// 已采取的措施编号（须为该次核查的适用措施）。outcome 为 applied 时，未列入的适用措施须在 reason 中逐一说明未采取的原因，否则返回422。同一反馈重复提交返回已登记的反馈（200），与已登记的不同则返回409。
    #[serde(default)]
    pub measures: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks and files feedback for a check.
/// Records a check's feedback with its audit entry `carried` in the same transaction. (The API
/// and the console call this.)
pub fn file_feedback(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    f: &FeedbackRequest,
    carried: &mut store::NewAuditEntry,
) -> ApiResult<store::Feedback> {
    let check = visible_check(state, ctx, id)?;
    // The department that ran the check says what it did; the credit office reads every check
    // but does not answer for another unit.
    let p = &ctx.principal;
    if !made_by(p, &check.actor, &check.unit) {
        return Err(ApiError::NotYours(
            "只有发起该次核查的部门可以反馈处理结果".into(),
        ));
    }
    let reason = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    // Measure ids as the check gave them, each once: an approval system that typed one in lower
    // case, or ticked it twice, means the same measure.
    let mut measures: Vec<String> = Vec::new();
    for m in &f.measures {
        let m = m.trim().to_ascii_uppercase();
        if !m.is_empty() && !measures.contains(&m) {
            measures.push(m);
        }
    }
    let outcome = f.outcome.trim().to_ascii_lowercase();
    // A check that found nothing takes no feedback, as the interface says: one given counted
    // as 已反馈 beside the checks that owed it.
    if !check.owes_feedback() {
        return Err(ApiError::Unprocessable(
            "该次核查未发现限制或激励措施，无需反馈".into(),
        ));
    }
    match outcome.as_str() {
        "applied" => {
            if measures.is_empty() {
                return Err(ApiError::Unprocessable(
                    "请列出已采取的措施编号（measures）".into(),
                ));
            }
            if let Some(x) = measures.iter().find(|m| !check.measures.contains(m)) {
                return Err(ApiError::Unprocessable(format!(
                    "措施{x}不在该次核查的适用措施中"
                )));
            }
            // A measure the check gave and the department did not take is answered for: a
            // 审慎审核 ticked beside an untaken 限制 read as "applied" with nothing to say why.
            let untaken: Vec<&str> = check
                .measures
                .iter()
                .filter(|m| !measures.contains(m))
                .map(String::as_str)
                .collect();
            if !untaken.is_empty() && reason.is_none() {
                return Err(ApiError::Unprocessable(format!(
                    "该次核查的适用措施{}未列为已采取，须在理由（reason）中说明未采取的原因",
                    untaken.join("、")
                )));
            }
        }
        "not_applicable" => {
            if reason.is_none() {
                return Err(ApiError::Unprocessable("反馈“不适用”须说明理由".into()));
            }
        }
        other => {
            return Err(ApiError::Unprocessable(format!(
                "outcome“{other}”无效，应为applied或not_applicable"
            )));
        }
    }
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::Unprocessable("理由不能超过500字".into()));
    }
    let fb = store::Feedback {
        check_id: id,
        // "Not applicable" applied no measure, whatever boxes a form left ticked.
        measures: if outcome == "applied" {
            measures
        } else {
            Vec::new()
        },
        outcome,
        // Shown to the unit and the office on the check's page: ID, mobile and card numbers
        // typed into it are masked, as in an exception's reason.
        reason: reason.map(|r| domain::ids::mask_personal_in(r).into_owned()),
        actor: ctx.principal.actor(),
        unit: organisation_of(&ctx.principal).ok(),
        at: state.clock.now(),
    };
    // The same feedback again (a retry after a timeout) answers with what was stored.
    let (stored, _) = state.platform.give_feedback(&fb, Some(carried))?;
    Ok(stored)
}

#[utoipa::path(post, path = "/api/v1/checks/{id}/feedback", summary = "反馈核查结果的应用情况", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "核查编号")), request_body = FeedbackRequest,
    responses((status = 200, description = "反馈已记录；同一反馈重复提交（如超时后重试）时返回已记录的反馈。已有不同的反馈时返回409，说明已记录的内容", body = store::Feedback),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn feedback(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(f): ApiJson<FeedbackRequest>,
) -> ApiResult<Json<store::Feedback>> {
    let (s, c) = (state.clone(), ctx.clone());
    let entry = feedback_entry(&ctx, id, &f.outcome);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        file_feedback(&s, &c, id, &f, carried)
    })
    .await;
    r.map(Json)
}

/// The audit entry of a check's feedback.
pub fn feedback_entry(ctx: &Ctx, id: i64, outcome: &str) -> store::NewAuditEntry {
    let detail = Some(format!("outcome={outcome}"));
    audit_entry(
        ctx,
        "check.feedback",
        Some(format!("check:{id}")),
        "ok",
        detail,
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The embeddable verdict: a self-contained HTML fragment (inline styles, no script) that an
/// approval system inserts into its own page after calling the API with its token.
/// The list entries behind a check as they stand now (its own, its legal representative's, an
/// organisation's its person represents); entries that left their lists since are not among them.
pub fn entries_of_check(
    s: &Shared,
    c: &store::CheckRow,
) -> Vec<(std::sync::Arc<joint::index::Entry>, Via)> {
    let all = s.lists.entries_around(&c.subject_key);
    c.entries
        .iter()
        .filter_map(|rid| all.iter().find(|(e, _)| &e.record_id == rid).cloned())
        .collect()
}

/// Whose entry brought a measure in a check: one of the check's entries of a list the measure
/// targets by that relation (the subject's own, its representative's, or an organisation's the
/// person represents).
/// What a measure rested on, said to a caller who does not see how the entries stand now
/// ([`sees_current_state`]): what the check found, with no word of change.
pub const FOUND_AT_CHECK: &str = "核查时命中";

pub fn measure_via(
    c: &store::CheckRow,
    m: &domain::measures::Measure,
    entries: &[(std::sync::Arc<joint::index::Entry>, Via)],
) -> String {
    let by = |targets: &[String], via: Via| {
        entries.iter().any(|(e, v)| {
            *v == via && c.entries.contains(&e.record_id) && targets.contains(&e.class_code)
        })
    };
    let mut whose = Vec::new();
    if by(&m.targets, Via::Subject) {
        whose.push("本主体在列");
    }
    if m.penalty.is_some()
        && entries.iter().any(|(e, v)| {
            *v == Via::Subject && e.penalty.is_some() && c.entries.contains(&e.record_id)
        })
    {
        whose.push("本主体受到行政处罚");
    }
    if by(&m.legal_rep_targets, Via::LegalRep) {
        whose.push("法定代表人在列");
    }
    if by(&m.represented_targets, Via::RepresentedOrg) {
        whose.push("所任法定代表人的组织在列");
    }
    if whose.is_empty() {
        "相关名单已变更".into()
    } else {
        whose.join("；")
    }
}

fn list_name(rules: &rulebook::Rulebook, class: &str) -> String {
    rules
        .catalog
        .class_by_code(class)
        .map_or(class.to_string(), |k| k.name.clone())
}

type Around = [(std::sync::Arc<joint::index::Entry>, Via)];

/// A list entry by its list and 文书号: from the index, or (one that left it since) the store.
fn entry_name(s: &Shared, around: &Around, rid: &str) -> ApiResult<String> {
    if let Some((e, _)) = around.iter().find(|(e, _)| e.record_id == rid) {
        return Ok(format!(
            "{}　{}",
            list_name(&s.rules, &e.class_code),
            e.decision_no
        ));
    }
    Ok(head_name(s, rid, s.store.record_head(rid)?.as_ref()))
}

fn head_name(s: &Shared, rid: &str, head: Option<&store::RecordHead>) -> String {
    let Some(head) = head else {
        return format!("记录{rid}");
    };
    let no = s
        .rules
        .catalog
        .class_by_code(&head.class_code)
        .and_then(|c| c.item_by_role(domain::catalog::Role::DecisionNo))
        .and_then(|item| {
            store::payload_pairs(&head.payload)
                .into_iter()
                .find(|(k, _)| *k == item.code)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_else(|| format!("记录{rid}"));
    format!("{}　{}", list_name(&s.rules, &head.class_code), no)
}

/// An entry the check met that has left its list since, and how: 已移出名单, 已撤销认定 ….
fn left_list(s: &Shared, rid: &str) -> ApiResult<(String, &'static str)> {
    use domain::record::ChangeKind as K;
    let head = s.store.record_head(rid)?;
    let how = match head.as_ref().and_then(|h| h.change.parse::<K>().ok()) {
        Some(K::Exited) => "核查后已移出名单（提前移出）",
        Some(K::Revoked) => "核查后已撤销认定",
        Some(K::Expired) => "核查后已到期移出名单",
        Some(K::Withdrawn) => "核查后已由报送单位撤回",
        Some(K::Repaired) => "核查后已信用修复，不再在列",
        _ => "核查后已变更，不再在列",
    };
    Ok((head_name(s, rid, head.as_ref()), how))
}

/// Whether `p` may see how a check's entries stand now (exits, revocations, repairs since):
/// everyone who may read the check, except a financial institution on a person whose
/// authorisation (授权查询) no longer holds — polling an old check would otherwise tell it of the
/// person's later changes. It then sees what the check found, not what became of it.
pub fn sees_current_state(s: &Shared, p: &auth::Principal, c: &store::CheckRow) -> ApiResult<bool> {
    if p.role != Role::Financial || !c.subject_key.starts_with('P') {
        return Ok(true);
    }
    let Some(institution) = p.subject_key.as_deref() else {
        return Ok(false);
    };
    Ok(s.platform.authorised(
        &c.subject_key,
        institution,
        crate::api::authorisations::PURPOSE,
        crate::today(s.clock.now()),
    )?)
}

/// The snippet of check `c`; `current`: whether the caller sees how its entries stand now
/// ([`sees_current_state`]).
pub fn snippet(s: &Shared, c: &store::CheckRow, current: bool) -> ApiResult<String> {
    let rules = &s.rules;
    let v = Verdict::parse(&c.verdict).unwrap_or(Verdict::Clear);
    let color = match v {
        Verdict::Clear => "#2e7d32",
        Verdict::Incentive => "#1565c0",
        Verdict::Supervise | Verdict::Review => "#ef6c00",
        Verdict::Forbid | Verdict::Restrict => "#c62828",
    };
    let matter = rules
        .measures
        .matter(&c.matter)
        .map_or(c.matter.clone(), |m| m.name.clone());
    let mut h = format!(
        "<div class=\"xinyong-check\" style=\"border:1px solid {color};border-left:6px solid {color};padding:8px 12px;font:14px/1.6 sans-serif;max-width:640px\">\
<div style=\"font-weight:bold;color:{color}\">信用核查：{}</div>\
<div>主体：{}　事项：{}　核查编号：{}{}　时间：{}</div>",
        esc(v.label()),
        esc(&c.subject_label),
        esc(&matter),
        c.check_id,
        // The case it was made for, as the approval system numbers it.
        c.reference
            .as_deref()
            .map(|r| format!("　办件编号：{}", esc(&domain::ids::mask_personal_in(r))))
            .unwrap_or_default(),
        domain::clock::beijing(c.checked_at).format("%Y-%m-%d %H:%M"),
    );
    // The entries behind it, so that the approving officer sees which decision, whose it is
    // and whether the subject has objected to it.
    let entries = if current {
        entries_of_check(s, c)
    } else {
        Vec::new()
    };
    if !c.measures.is_empty() {
        h.push_str("<ul style=\"margin:4px 0 0 18px;padding:0\">");
        for id in &c.measures {
            if let Some(m) = rules.measures.measure(id) {
                h.push_str(&format!(
                    "<li>{}（{}；{}）<br><small>依据：{}；实施：{}</small></li>",
                    esc(&m.name),
                    esc(m.effect.label()),
                    esc(&if current {
                        measure_via(c, m, &entries)
                    } else {
                        FOUND_AT_CHECK.to_string()
                    }),
                    esc(&m.basis_shown()),
                    esc(&m.body)
                ));
            }
        }
        h.push_str("</ul>");
    }
    // Every entry the check met, as it stands now: in force (with its objection), or how it has
    // left its list since; an approving officer must not read an empty block as "nothing".
    let mut lines = Vec::new();
    if !current && !c.entries.is_empty() {
        lines.push(format!(
            "核查时涉及{}条；该自然人的授权已结束，不再显示其现状",
            c.entries.len()
        ));
    }
    for rid in c.entries.iter().filter(|_| current) {
        match entries.iter().find(|(e, _)| &e.record_id == rid) {
            Some((e, _)) => lines.push(format!(
                "{}　{}　{}：{}{}",
                esc(&list_name(rules, &e.class_code)),
                esc(&e.decision_no),
                match &e.penalty {
                    Some(p) => format!("{}；处罚机关", esc(&joint::index::penalty_basis(p))),
                    None => "认定单位".into(),
                },
                esc(&e.deciding_unit),
                if e.under_objection {
                    "　<strong>异议处理中</strong>"
                } else {
                    ""
                }
            )),
            None => {
                let (name, how) = left_list(s, rid)?;
                lines.push(format!("{}　<strong>{}</strong>", esc(&name), esc(how)));
            }
        }
    }
    if !lines.is_empty() {
        h.push_str(if entries.iter().any(|(e, _)| e.penalty.is_some()) {
            "<div style=\"margin-top:4px\">所涉名单及行政处罚：</div>"
        } else {
            "<div style=\"margin-top:4px\">所涉名单：</div>"
        });
        h.push_str("<ul style=\"margin:0 0 0 18px;padding:0\">");
        for l in &lines {
            h.push_str(&format!("<li>{l}</li>"));
        }
        h.push_str("</ul>");
    }
    // Hits an exception set aside: the officer sees that they were there, and on what ground.
    if !c.suppressed.is_empty() {
        let exceptions = s.platform.exceptions(Some(&c.subject_key))?;
        let around = s.lists.entries_around(&c.subject_key);
        h.push_str("<div style=\"margin-top:4px\">已按例外处理（不计为命中）：</div><ul style=\"margin:0 0 0 18px;padding:0\">");
        for rid in &c.suppressed {
            // The exception that holds for the checking unit's checks: its own or the office's.
            let x = exceptions.iter().find(|x| {
                &x.record_id == rid
                    && x.matter == c.matter
                    && (x.unit.is_none() || x.unit == c.unit)
            });
            let why = match x {
                Some(x) => format!(
                    "例外{}：{}",
                    x.exception_id,
                    domain::ids::mask_personal_in(&x.reason)
                ),
                None => "该例外已撤销".into(),
            };
            h.push_str(&format!(
                "<li>{}（{}）</li>",
                esc(&entry_name(s, &around, rid)?),
                esc(&why)
            ));
        }
        h.push_str("</ul>");
    }
    // What the department said it did, once it has (the approval page shows the loop closed).
    let done = match s.platform.feedback(c.check_id)? {
        Some(f) if f.outcome == "applied" => {
            format!("已反馈：已采取措施（{}）", esc(&fmt_day(f.at)))
        }
        Some(f) => format!("已反馈：不适用（{}）", esc(&fmt_day(f.at))),
        // Nothing found: there is nothing to feed back (such a check is never pending).
        None if !c.owes_feedback() => "未发现限制或激励措施，无需反馈".to_string(),
        None => "请在业务办结后反馈措施采取情况".to_string(),
    };
    h.push_str(&format!(
        "<div style=\"color:#666;font-size:12px\">信用中国（江苏盐城）联合奖惩系统 · {done}</div></div>"
    ));
    Ok(h)
}

/// A moment as a day in Beijing (YYYY-MM-DD).
fn fmt_day(t: chrono::DateTime<chrono::Utc>) -> String {
    domain::clock::beijing(t).format("%Y-%m-%d").to_string()
}

#[utoipa::path(get, path = "/api/v1/checks/{id}/snippet", summary = "核查结论的嵌入式HTML片段", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "核查编号")),
    responses((status = 200, description = "可嵌入业务系统页面的HTML片段（无脚本）：结论、适用措施及依据、所涉名单的现状（核查后移出、撤销认定等已注明）、按例外处理的命中及例外编号和理由", content_type = "text/html", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn check_snippet(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Html<String>> {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let check = visible_check(&s, &c, id)?;
        let current = sees_current_state(&s, &c.principal, &check)?;
        Ok(Html(snippet(&s, &check, current)?))
    })
    .await;
    audit_check_read(&state, &ctx, id, r.is_ok(), "check.snippet").await;
    r
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MatterList {
    pub version: String,
    pub matters: Vec<domain::measures::Matter>,
    pub measures: Vec<domain::measures::Measure>,
}

#[utoipa::path(get, path = "/api/v1/matters", summary = "事项与联合奖惩措施清单", tag = "联合奖惩",
    responses((status = 200, description = "事项与联合奖惩措施清单（含依据）", body = MatterList),
        (status = 429, body = ErrorBody)))]
pub async fn matters(State(state): State<Shared>) -> Json<MatterList> {
    let b = &state.rules.measures;
    Json(MatterList {
        version: b.version.clone(),
        matters: b.matters.clone(),
        measures: b.measures.clone(),
    })
}

// ----- list entry actions -----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListActionRequest {
    /// rectify（限期整改）、exit（提前移出）、revoke（撤销认定）.
    pub action: String,
    // For rectify: the deadline, YYYY-MM-DD.
    /// action 为 rectify（限期整改）时的整改期限，YYYY-MM-DD。
    #[serde(default)]
    pub deadline: Option<String>,
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ListActionDone {
    pub record_id: String,
    pub action: String,
    // What the platform said of the deadline: moved off a day off, or counted in a year whose
    // holiday notice is not out.
    /// 对整改期限的说明：遇休息日顺延，或该年度节假日安排尚未发布时的提示（无则为空）。
    pub note: String,
}

/// An early exit a deciding unit (or the credit office) records itself — an application it
/// received on paper, say — is held to the least time on the list that binds the subject's own
/// application (`workflows.toml` `[list_exit]`): no one's action does what the rule forbids the
/// applicant. An entry listed in error is revoked (撤销认定), which no minimum holds.
fn exit_minimum(s: &Shared, head: &store::RecordHead, today: chrono::NaiveDate) -> ApiResult<()> {
    let work = crate::api::cases::casework(s);
    let Some(min) = work.exit_minimum(head) else {
        return Ok(());
    };
    let Some(on) = head.decided_on else {
        return Err(ApiError::Conflict(format!(
            "该名单记录没有列入日期，无法核对须列入满{}个月的规定（{}），不能提前移出",
            min.months, min.basis
        )));
    };
    let from = domain::workflow::earliest_exit(on, min.months);
    if from > today {
        return Err(ApiError::Conflict(format!(
            "该名单记录{on}列入，未满{}个月，自{from}起方可提前移出（{}）；如属认定错误，请使用“撤销认定”",
            min.months, min.basis
        )));
    }
    Ok(())
}

/// The audit detail of a list action: what was done (or asked for, if refused), and why.
pub fn list_action_detail(r: &ApiResult<ListAction>, req: &ListActionRequest) -> String {
    format!(
        "{}: {}",
        r.as_ref().map_or(req.action.as_str(), |a| a.label()),
        req.reason
    )
}

/// A list action asked for and refused, in the trail (one done wrote its entry before it
/// committed: `apply_list_action`).
pub async fn audit_list_action(
    state: &Shared,
    ctx: &Ctx,
    id: &str,
    r: &ApiResult<ListAction>,
    req: &ListActionRequest,
) {
    let entry = audit_entry(
        ctx,
        "list.action",
        Some(id.to_string()),
        "ok",
        Some(list_action_detail(r, req)),
    );
    audited_write(state, ctx, r, entry).await;
}

/// A deciding unit's (or the credit office's) change to a list entry: rectification deadline,
/// early exit, revocation. Checks see it at once. (The API and the console call this.)
pub fn apply_list_action(
    s: &Shared,
    c: &Ctx,
    id: &str,
    req: &ListActionRequest,
) -> ApiResult<(ListAction, Vec<String>)> {
    // A deadline set on a day off is the next working day in law (rules.md; 民法典 第二百零三条):
    // stored so, and said so, so that every page, check and reminder shows the day enforced.
    let mut notes: Vec<String> = Vec::new();
    let action = match req.action.as_str() {
        "rectify" => {
            let set = crate::api::parse_day(
                req.deadline
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .ok_or_else(|| {
                        ApiError::Unprocessable(
                            "限期整改须填写整改期限（日期，格式YYYY-MM-DD）".into(),
                        )
                    })?,
            )?;
            // Judged as typed: a past day is refused under the day the officer wrote, not the
            // working day it would have moved to.
            let now_day = today(s.clock.now());
            if set <= now_day {
                return Err(ApiError::Unprocessable(format!(
                    "整改期限{set}应晚于今天（{now_day}）"
                )));
            }
            let deadline = s.rules.calendar.next_workday_on_or_after(set);
            if deadline != set {
                notes.push(format!("所定期限{set}为休息日，顺延至{deadline}"));
            }
            // A year whose holiday notice is not out: the day is counted without its 调休, and
            // said so (domain.md: a provisional calendar warns).
            use chrono::Datelike;
            let unknown: Vec<i32> = [set.year(), deadline.year()]
                .into_iter()
                .filter(|y| !s.rules.calendar.has_year(*y))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            notes.extend(
                domain::calendar::Counted {
                    date: deadline,
                    years_without_notice: unknown,
                }
                .warning(),
            );
            ListAction::Rectify { deadline }
        }
        "exit" => ListAction::Exit,
        "revoke" => ListAction::Revoke,
        other => {
            return Err(ApiError::Unprocessable(format!(
                "action“{other}”无效，应为rectify、exit或revoke"
            )));
        }
    };
    if req.reason.chars().count() > 500 {
        return Err(ApiError::Unprocessable("理由不能超过500字".into()));
    }
    let now = s.clock.now();
    let unit = match c.principal.role {
        Role::Admin => None,
        _ => Some(c.principal.unit.clone().ok_or(ApiError::Forbidden)?),
    };
    let lists = s.lists.lists();
    let head = s.store.record_head(id)?;
    let named = head
        .as_ref()
        .and_then(|h| crate::api::cases::casework(s).named_unit(h));
    // Judged for the unit that may act on the entry (and the credit office): another unit is
    // refused by the store as if the entry did not exist, and must not learn its listing day.
    if let (ListAction::Exit, Some(h)) = (&action, &head)
        && unit
            .as_deref()
            .is_none_or(|u| u == h.source_unit || Some(u) == named.as_deref())
    {
        exit_minimum(s, h, today(now))?;
    }
    let rewarding: Vec<&str> = s
        .rules
        .catalog
        .classes
        .iter()
        .filter(|c| c.list_type == Some(domain::catalog::ListType::Red))
        .map(|c| c.code.as_str())
        .collect();
    // Its entry goes in before it commits (see `entry_first`).
    let entry = audit_entry(
        c,
        "list.action",
        Some(id.to_string()),
        "ok",
        Some(list_action_detail(&Ok(action.clone()), req)),
    );
    let changed = s.store.list_action_then(
        id,
        &lists,
        &action,
        &store::ListChange {
            unit: unit.as_deref(),
            named_unit: named.as_deref(),
            actor: &c.principal.actor(),
            // A blank reason stays blank (and is refused as such), whatever the note.
            reason: &if req.reason.trim().is_empty() {
                String::new()
            } else {
                let said: String = notes.iter().map(|n| format!("（{n}）")).collect();
                format!("{}{said}", req.reason.trim())
            },
            at: now,
            today: today(now),
            rewarding: &rewarding,
        },
        &entry_first(s, c, entry),
    )?;
    if !changed {
        notes.push("该名单记录已设置相同的整改期限和理由，未重复记录".into());
    }
    // Checks see the change at once.
    s.lists.refresh(&s.store, &s.platform, &s.rules)?;
    Ok((action, notes))
}

#[utoipa::path(post, path = "/api/v1/lists/{id}/actions", summary = "名单变更（整改期限、移出、撤销等）", tag = "联合奖惩", security(("token" = [])),
    params(("id" = String, Path, description = "名单记录编号")), request_body = ListActionRequest,
    responses((status = 200, description = "已记录（名单记录新增一个版本）", body = ListActionDone),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_action(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ListActionRequest>,
) -> ApiResult<Json<ListActionDone>> {
    let (s, c, rid, r2) = (state.clone(), ctx.clone(), id.clone(), req.clone());
    let r = blocking(move || apply_list_action(&s, &c, &rid, &r2)).await;
    let (r, note) = match r {
        Ok((a, note)) => (Ok(a), note),
        Err(e) => (Err(e), Vec::new()),
    };
    audit_list_action(&state, &ctx, &id, &r, &req).await;
    r?;
    Ok(Json(ListActionDone {
        record_id: id,
        action: req.action,
        note: note.join("；"),
    }))
}

// ----- exceptions -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    pub code: String,
    pub matter: String,
    // The list entry whose hit is a false positive.
    /// 被误命中的名单记录编号。
    pub record_id: String,
    pub reason: String,
}

/// Marks a hit as a known false positive for a subject and matter, until the entry changes,
/// with the entry `carried` in the same transaction. (The API and the console call this.)
pub fn mark_exception(
    s: &Shared,
    c: &Ctx,
    key: &str,
    matter: &str,
    record_id: &str,
    reason: &str,
    carried: &mut store::NewAuditEntry,
) -> ApiResult<store::CheckException> {
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::Unprocessable(
            "须说明理由（不超过500字），如“同名不同主体”".into(),
        ));
    }
    let now = s.clock.now();
    // The hit may be the subject's own entry, its legal representative's (a check of an
    // organisation looks at both), or that of an organisation a person represents.
    let (entry, via) = s
        .lists
        .entries_around(key)
        .into_iter()
        .find(|(e, _)| e.record_id == record_id)
        .ok_or_else(|| ApiError::NotFound("该主体没有这条在列的名单记录".into()))?;
    let mut e = store::CheckException {
        exception_id: 0,
        subject_key: key.to_string(),
        matter: matter.to_string(),
        record_id: entry.record_id.clone(),
        record_hash: entry.hash.clone(),
        reason,
        actor: c.principal.actor(),
        // The credit office's exception holds for every department, even when its account
        // carries a unit.
        unit: match c.principal.role {
            Role::Admin => None,
            _ => c.principal.unit.clone(),
        },
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
        in_effect: true,
    };
    let (id, created) = s.platform.create_exception(&e, Some(carried))?;
    if !created {
        // Already marked: the exception in force, as it was marked.
        return s
            .platform
            .exception(id)?
            .ok_or_else(|| ApiError::internal("exception in force not found"));
    }
    e.exception_id = id;
    s.lists.refresh(&s.store, &s.platform, &s.rules)?;
    // The unit that decided the entry is told that a department set it aside, by whom and why:
    // an exception is for a false positive, and the unit is the one who knows whether it is
    // (or opens an objection to correct its entry). Told after the exception stands; a message
    // that cannot be written does not take it back.
    let unit = s
        .rules
        .units
        .find(&entry.deciding_unit)
        .map_or_else(|| entry.source_unit.clone(), |u| u.name.clone());
    let list = s
        .rules
        .catalog
        .class_by_code(&entry.class_code)
        .map_or(entry.class_code.clone(), |k| k.name.clone());
    let by = match &e.unit {
        Some(u) => u.clone(),
        None => "市信用办".into(),
    };
    // A hit through a relation is set aside for the subject checked, not for the entry's own:
    // the unit is told whose checks it holds for (it read as the organisation's own).
    let scope = match via {
        domain::measures::Via::Subject => String::new(),
        relation => {
            let checked = s
                .store
                .subject(key)?
                .map(|x| x.name)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "被核查主体".into());
            let rel = match relation {
                domain::measures::Via::LegalRep => "法定代表人",
                _ => "任法定代表人的组织",
            };
            format!(
                "；该例外仅对{checked}的核查有效（{}是其{rel}），不影响对{}本身的核查",
                entry.subject_name, entry.subject_name
            )
        }
    };
    let told = s.store.remind_unit(
        &store::NewMessage {
            to_kind: "unit",
            to_key: unit,
            title: "名单记录被登记为核查例外".into(),
            body: format!(
                "{by}在办理“{}”核查时，将{}（{}，文书号{}）的命中登记为例外（编号{id}）{scope}，理由：{}。如该名单记录确有误，请更正或撤回；如例外不当，请联系{by}或市信用办撤销。",
                s.rules
                    .measures
                    .matter(matter)
                    .map_or(matter.to_string(), |m| m.name.clone()),
                entry.subject_name,
                list,
                entry.decision_no,
                domain::ids::mask_personal_in(&e.reason)
            ),
            case_id: None,
            record_id: Some(entry.record_id.clone()),
            dedupe: format!("exception:{id}"),
        },
        now,
    );
    if let Err(err) = told {
        eprintln!(
            "{} WARN exception {id}: unit not told: {err}",
            now.to_rfc3339()
        );
    }
    Ok(e)
}

#[utoipa::path(post, path = "/api/v1/exceptions", summary = "登记核查例外（误报）", tag = "联合奖惩", security(("token" = [])),
    request_body = ExceptionRequest,
    responses((status = 200, description = "例外已登记：本单位核查该主体该事项时此条命中不再计入（市信用办登记的对各单位有效），直至该名单记录变更", body = store::CheckException),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_exception(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<ExceptionRequest>,
) -> ApiResult<Json<store::CheckException>> {
    let (s, c) = (state.clone(), ctx.clone());
    let entry = audit_entry(
        &ctx,
        "exception.create",
        Some(req.record_id.clone()),
        "ok",
        None,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        let now = s.clock.now();
        let matter = s
            .rules
            .measures
            .matter(req.matter.trim())
            .ok_or_else(|| ApiError::Unprocessable(format!("事项“{}”不在措施清单中", req.matter)))?
            .code
            .clone();
        let (key, _, _) = joint::check::subject_of(&req.code, &s.rules, &s.keys, today(now))?;
        mark_exception(&s, &c, &key, &matter, &req.record_id, &req.reason, carried)
    })
    .await;
    // Its reason masked as the list and the snippet mask it (an ID or mobile number typed in
    // came back whole).
    r.map(|mut e| {
        e.reason = domain::ids::mask_personal_in(&e.reason).into_owned();
        Json(e)
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeParam {
    /// 统一社会信用代码或公民身份号码.
    pub code: String,
}

/// Whether the caller sees an exception: a unit its own and the credit office's (which hold for
/// its checks too); the credit office and the auditor every one. Another unit's exception names
/// its officer and reason, which are that unit's business.
/// Whether an exception still sets its hit aside: not revoked, and its entry in force as it
/// was when marked (one changed, ended or withdrawn since no longer matches).
pub(crate) fn exception_holds(
    s: &Shared,
    e: &store::CheckException,
    day: chrono::NaiveDate,
) -> bool {
    e.revoked_at.is_none()
        && s.lists.entries_around(&e.subject_key).iter().any(|(x, _)| {
            x.record_id == e.record_id
                && joint::check::same_state(&e.record_hash, &x.hash)
                && (x.penalty.is_some() || x.in_force(day))
        })
}

/// Who may take an exception back: the unit that marked it, or the credit office.
pub(crate) fn may_revoke(p: &auth::Principal, e: &store::CheckException) -> bool {
    p.role == Role::Admin || made_by(p, &e.actor, &e.unit)
}

pub(crate) fn exception_visible(p: &auth::Principal, e: &store::CheckException) -> bool {
    matches!(p.role, Role::Admin | Role::Auditor)
        || e.unit.is_none()
        || made_by(p, &e.actor, &e.unit)
}

#[utoipa::path(get, path = "/api/v1/exceptions", summary = "查询主体的核查例外", tag = "联合奖惩", security(("token" = [])),
    params(CodeParam),
    responses((status = 200, description = "该主体在用的例外：本单位登记的和市信用办登记的（市信用办、安全审计员：全部）；理由中的身份证号码、手机号码已脱敏", body = Vec<store::CheckException>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_exceptions(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<CodeParam>,
) -> ApiResult<Json<Vec<store::CheckException>>> {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let (key, _, _) =
            joint::check::subject_of(&q.code, &s.rules, &s.keys, today(s.clock.now()))?;
        // An exception holds while its entry is in force as it was marked: one whose entry
        // changed, ended or was withdrawn is listed as no longer in effect.
        let day = today(s.clock.now());
        let list = s
            .platform
            .exceptions(Some(&key))?
            .into_iter()
            .filter(|e| exception_visible(&c.principal, e))
            .map(|mut e| {
                // A reason is free text: an ID or mobile number typed in it is not shown whole.
                e.reason = domain::ids::mask_personal_in(&e.reason).into_owned();
                e.in_effect = exception_holds(&s, &e, day);
                e
            })
            .collect();
        Ok((key.clone(), list))
    })
    .await;
    // Which subjects an officer asked about is itself sensitive (a code may be an ID number).
    audit(
        &state,
        &ctx,
        "exception.list",
        r.as_ref().ok().map(|(key, _)| key.clone()),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    r.map(|(_, list)| Json(list))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    // Why the exception no longer holds: kept with who and when, and in the audit trail.
    /// 撤销理由（必填，不超过500字），与撤销人、撤销时间一并留存。
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/exceptions/{id}/revoke", summary = "撤销核查例外", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "例外编号")),
    request_body = RevokeRequest,
    responses((status = 200, description = "已撤销：返回撤销后的例外（含撤销人、时间和理由，理由中的证件号码、手机号码已脱敏）", body = store::CheckException),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "未填写撤销理由或超过500字", body = ErrorBody),
        (status = 403, description = "市信用办登记的例外只有市信用办可以撤销", body = ErrorBody),
        (status = 404, description = "例外不存在、已撤销，或为其他单位登记", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke_exception(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> ApiResult<Json<store::CheckException>> {
    let (s, c) = (state.clone(), ctx.clone());
    let reason = req.reason.trim().to_string();
    let entry = audit_entry(
        &ctx,
        "exception.revoke",
        Some(format!("exception:{id}")),
        "ok",
        Some(format!("reason={reason}")),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ApiError::Unprocessable(
                "须说明撤销理由（不超过500字），如“经核实确为该主体”".into(),
            ));
        }
        // An exception changes every department's verdicts: the unit that marked it, or the
        // credit office, takes it back — not any officer.
        let e = s
            .platform
            .exception(id)?
            .ok_or_else(|| ApiError::NotFound(format!("例外{id}不存在或已撤销")))?;
        let p = &c.principal;
        // Another unit's exception is not this unit's to see, nor to know of.
        if !exception_visible(p, &e) {
            return Err(ApiError::Concealed(format!("例外{id}不存在或已撤销")));
        }
        if !may_revoke(p, &e) {
            return Err(ApiError::NotYours(
                "只有登记该例外的单位或市信用办可以撤销".into(),
            ));
        }
        s.platform.revoke_exception(
            id,
            &c.principal.actor(),
            s.clock.now(),
            &reason,
            Some(carried),
        )?;
        s.lists.refresh(&s.store, &s.platform, &s.rules)?;
        // The exception as it now stands: who took it back, when and why (it answered with a
        // list action's shape, the reason left out).
        s.platform
            .exception_any(id)?
            .ok_or_else(|| ApiError::internal("revoked exception not found"))
    })
    .await;
    let mut e = r?;
    e.reason = domain::ids::mask_personal_in(&e.reason).into_owned();
    e.revoke_reason = e
        .revoke_reason
        .map(|r| domain::ids::mask_personal_in(&r).into_owned());
    Ok(Json(e))
}

// ----- batch review -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchParams {
    /// 事项代码或名称.
    pub matter: String,
    // File name (its extension chooses CSV or XLSX when the content type does not).
    /// 文件名；Content-Type 未表明格式时，按扩展名判断为 CSV 或 XLSX。
    pub file_name: Option<String>,
    // Sign the result with the platform's SM2 key (the credit office keeps signed results).
    /// 是否用平台的 SM2 密钥对结果文件签名（仅信用办管理员可用，默认否）。
    #[serde(default)]
    pub sign: Option<bool>,
}

pub const MAX_BATCH_BYTES: u64 = 64 << 20;

/// A batch review to run.
pub struct BatchJob<'a> {
    pub actor: &'a str,
    pub unit: Option<&'a str>,
    pub matter: &'a str,
    pub file_name: Option<String>,
    pub bytes: &'a [u8],
    pub xlsx: bool,
    pub sign: bool,
}

/// Runs a batch review of a file's codes and stores the sealed results with the audit entry
/// `carried` (its object and figures filled in here) in the same transaction.
pub fn run_batch(
    state: &Shared,
    job: BatchJob<'_>,
    carried: &mut store::NewAuditEntry,
) -> ApiResult<store::BatchRow> {
    let BatchJob {
        actor,
        unit,
        matter,
        file_name,
        bytes,
        xlsx,
        sign,
    } = job;
    let now = state.clock.now();
    let m = state
        .rules
        .measures
        .matter(matter.trim())
        .ok_or_else(|| ApiError::Unprocessable(format!("事项“{matter}”不在措施清单中")))?
        .clone();
    let t0 = std::time::Instant::now();
    let codes = joint::batch::read_codes(bytes, xlsx)?;
    let t_read = t0.elapsed();
    let (review, fig) = with_checker(state, unit, |c| {
        joint::batch::review(c, &codes, &m.code, today(now), now)
    })?;
    let t_review = t0.elapsed();
    let mut b = store::BatchRow {
        created_at: now,
        actor: actor.to_string(),
        unit: unit.map(str::to_string),
        matter: m.code.clone(),
        file_name,
        rule_version: format!("{}/{}", state.rules.measures.version, state.rules.digest),
        ..Default::default()
    };
    let csv = joint::batch::to_csv(&review)?;
    let t_files = t0.elapsed();
    let digest = crypto::sm3_hex(&csv);
    b.rows_read = fig.rows_read;
    b.valid = fig.valid;
    b.invalid = fig.invalid;
    b.duplicates = fig.duplicates;
    b.hits = fig.hits;
    b.checked = fig.checked;
    b.incentives = fig.incentives;
    b.result_digest = Some(digest.clone());
    drop(review);
    let sealed_csv = joint::batch::seal(&state.keys, &csv).map_err(ApiError::internal)?;
    carried.detail = Some(format!(
        "matter={} rows={} invalid={} hits={}",
        b.matter, b.rows_read, b.invalid, b.hits
    ));
    let (matter, created_at) = (b.matter.clone(), b.created_at);
    // Only the CSV is kept (and signed); the XLSX is rendered from it when asked for.
    state.platform.store_batch(
        &mut b,
        &[("csv", sealed_csv)],
        |id| {
            sign.then(|| {
                let message = joint::batch::signed_message(id, &matter, created_at, &digest);
                let signature = state.keys.sign(message.as_bytes());
                (message, signature)
            })
        },
        Some(carried),
    )?;
    // Operators see where a large batch spends its time.
    eprintln!(
        "{} batch {}: {} rows; read {} ms, review {} ms, result file {} ms, seal and store {} ms",
        chrono::Utc::now().to_rfc3339(),
        b.batch_id,
        b.rows_read,
        t_read.as_millis(),
        (t_review - t_read).as_millis(),
        (t_files - t_review).as_millis(),
        (t0.elapsed() - t_files).as_millis()
    );
    Ok(b)
}

fn is_xlsx(headers: &HeaderMap, name: Option<&str>) -> bool {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.contains("spreadsheetml") || name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".xlsx"))
}

#[utoipa::path(post, path = "/api/v1/batches", summary = "提交批量审查", tag = "联合奖惩", security(("token" = [])),
    params(BatchParams),
    request_body(description = "代码清单：CSV或XLSX（工作簿中只能有一个含数据的工作表），至多100万行。代码列为第一列，或表头指明的代码列（如“统一社会信用代码”“证件号码”；表头可在前几行，其上可有标题行）；无可识别表头时每一行都按代码审查",
        content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "审查完成；结果文件逐行对应输入，无效代码与重复代码均列明", body = store::BatchRow),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create_batch(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BatchParams>,
    body: Body,
) -> ApiResult<Json<store::BatchRow>> {
    may_check(&ctx, &q.matter)?;
    let sign = q.sign.unwrap_or(false);
    if sign && ctx.principal.role != Role::Admin {
        return Err(ApiError::NotYours(
            "只有市信用办可以对批量审查结果签名（sign=true）：请去掉参数 sign".into(),
        ));
    }
    // A list of codes is a CSV or a workbook: another type (a JSON array) was read as one code
    // per line and every line reported invalid.
    let ct = crate::body::media_type(&headers);
    if !matches!(
        ct.as_str(),
        "" | "text/csv"
            | "application/csv"
            | "text/plain"
            | "application/octet-stream"
            | crate::XLSX
    ) {
        return Err(ApiError::MediaTypeNot(format!(
            "批量审查上传代码清单文件，Content-Type应为text/csv或{}（XLSX），不接受{ct}",
            crate::XLSX
        )));
    }
    let xlsx = is_xlsx(&headers, q.file_name.as_deref());
    let (s, c) = (state.clone(), ctx.clone());
    let matter = q.matter.clone();
    let mut entry = audit_entry(
        &ctx,
        "batch.create",
        None,
        "ok",
        Some(format!("matter={matter}")),
    );
    let mut carried = entry.clone();
    let r = blocking(move || {
        let mut bytes = Vec::new();
        BodyReader::new(body, MAX_BATCH_BYTES, s.config.body_idle)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                if e.to_string().contains(TOO_LARGE) {
                    ApiError::too_large(MAX_BATCH_BYTES, "请拆分后分批提交")
                } else {
                    ApiError::BadRequest(e.to_string())
                }
            })?;
        run_batch(
            &s,
            BatchJob {
                actor: &c.principal.actor(),
                unit: c.principal.unit.as_deref(),
                matter: &q.matter,
                file_name: q.file_name,
                bytes: &bytes,
                xlsx,
                sign,
            },
            &mut carried,
        )
    })
    .await;
    if let Err(e) = &r {
        entry.detail = Some(format!("matter={matter} {e}"));
    }
    audited_write(&state, &ctx, &r, entry).await;
    r.map(Json)
}

pub fn visible_batch(state: &Shared, ctx: &Ctx, id: i64) -> ApiResult<store::BatchRow> {
    let b = state
        .platform
        .batch(id)?
        .ok_or_else(|| ApiError::NotFound(format!("批次{id}不存在")))?;
    let p = &ctx.principal;
    let mine = matches!(p.role, Role::Admin | Role::Auditor)
        || b.actor == p.actor()
        || (p.unit.is_some() && b.unit == p.unit);
    if !mine {
        return Err(ApiError::Concealed(format!("批次{id}不存在")));
    }
    Ok(b)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchListParams {
    // Batches numbered below this (the next page back).
    /// 只返回编号小于此值的批次（翻页：填上一页最后一条的编号）。
    pub before: Option<i64>,
    // 1–500, default 100.
    /// 每页条数，1–500（默认100）。
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/batches", summary = "批量审查批次列表", tag = "联合奖惩", security(("token" = [])),
    description = "本单位的批量审查批次（信用办、安全审计员：全部），按编号从新到旧。上传大文件超时后，可在此找到已建立的批次（按 file_name 与时间对应），不必重新上传。",
    params(BatchListParams),
    responses((status = 200, description = "批次概况列表", body = Vec<store::BatchRow>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "limit 超出1–500", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_batches(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<BatchListParams>,
) -> ApiResult<Json<Vec<store::BatchRow>>> {
    let (limit, _) = super::page_of(q.limit, None, 100, 500)?;
    let p = ctx.principal.clone();
    let (unit, actor) = match p.role {
        Role::Admin | Role::Auditor => (None, None),
        _ => match p.unit.clone() {
            Some(u) => (Some(u), None),
            None => (None, Some(p.actor())),
        },
    };
    let s = state.clone();
    let r = blocking(move || {
        Ok(s.platform
            .batches_page(unit.as_deref(), actor.as_deref(), q.before, limit)?)
    })
    .await;
    audit(
        &state,
        &ctx,
        "batch.list",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        r.as_ref().ok().map(|l| format!("rows={}", l.len())),
    )
    .await;
    r.map(Json)
}

#[utoipa::path(get, path = "/api/v1/batches/{id}", summary = "查询批量审查批次", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "批次编号")),
    responses((status = 200, description = "批次概况（结果摘要SM3；签名时附SM2签名）", body = store::BatchRow),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get_batch(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<store::BatchRow>> {
    let (s, c) = (state.clone(), ctx.clone());
    blocking(move || {
        let mut b = visible_batch(&s, &c, id)?;
        b.signed_message = signed_text(&s, &b);
        Ok(b)
    })
    .await
    .map(Json)
}

/// The text a kept batch's signature is over: the message naming the batch; for a batch signed
/// before that, the bare digest. None for a batch not signed.
pub fn signed_text(state: &Shared, b: &store::BatchRow) -> Option<String> {
    let (sig, d) = (b.signature.as_ref()?, b.result_digest.as_ref()?);
    let message = joint::batch::signed_message(b.batch_id, &b.matter, b.created_at, d);
    let sig = hex::decode(sig).unwrap_or_default();
    let key = state.keys.verifying_key().to_sec1_bytes();
    if crypto::verify(&key, message.as_bytes(), &sig).is_ok() {
        Some(message)
    } else {
        Some(d.clone())
    }
}

/// A batch's result file as a download.
pub async fn batch_download(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    kind: &'static str,
) -> ApiResult<Response> {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let b = visible_batch(&s, &c, id)?;
        let chunks = s.platform.batch_file(id, "csv")?;
        let csv = joint::batch::unseal(&s.keys, &chunks).map_err(ApiError::internal)?;
        if kind == "csv" {
            return Ok(csv);
        }
        let matter = s
            .rules
            .measures
            .matter(&b.matter)
            .map_or(b.matter.clone(), |m| m.name.clone());
        let title = format!(
            "批量审查结果 · 批次{} · 事项：{} · {}{}",
            b.batch_id,
            matter,
            domain::clock::beijing(b.created_at).format("%Y-%m-%d %H:%M"),
            b.result_digest
                .as_deref()
                .map(|d| format!(" · 结果摘要SM3 {d}"))
                .unwrap_or_default()
        );
        Ok(joint::batch::csv_to_xlsx(&csv, &title)?)
    })
    .await;
    audit(
        state,
        ctx,
        "batch.download",
        Some(format!("batch:{id}")),
        if r.is_ok() { "ok" } else { "failed" },
        Some(kind.into()),
    )
    .await;
    let bytes = r?;
    let ct = if kind == "csv" {
        "text/csv; charset=utf-8"
    } else {
        crate::XLSX
    };
    Ok(crate::attachment(ct, &format!("batch-{id}.{kind}"), bytes))
}

#[utoipa::path(get, path = "/api/v1/batches/{id}/result.csv", summary = "下载批量审查结果（CSV）", tag = "联合奖惩", security(("token" = [])),
    description = "每个输入行一行结果（UTF-8，带BOM），列依次为：行号、代码（自然人身份证号码脱敏）、主体名称、代码校验（有效/无效/重复）、核查结论（中文）、适用措施（名称及效力）、所涉名单、说明、结论代码（clear、forbid、restrict、review、supervise、incentive；未核查的行为空）、措施编号（CJ-…，以分号分隔）。程序请读结论代码和措施编号。XLSX 结果的表头上方另有一行标题。批量审查的命中不另建单笔核查记录，无需逐条反馈。",
    params(("id" = i64, Path, description = "批次编号")),
    responses((status = 200, description = "结果文件（CSV，UTF-8）", content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn batch_csv(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    batch_download(&state, &ctx, id, "csv").await
}

#[utoipa::path(get, path = "/api/v1/batches/{id}/result.xlsx", summary = "下载批量审查结果（XLSX）", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "批次编号")),
    responses((status = 200, description = "结果文件（XLSX）", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn batch_xlsx(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    batch_download(&state, &ctx, id, "xlsx").await
}

// ----- subscriptions, webhooks, alerts -----

/// Codes one subscription call may bring (the documented maximum).
pub const MAX_SUBSCRIBE_CODES: usize = 100_000;
/// The body limit of a subscription call: 100,000 18-character codes in JSON (each quoted, with
/// a comma and perhaps a space or line break) come to about 2.3 MB.
pub const SUBSCRIBE_MAX_BYTES: usize = 3 << 20;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    // Codes to watch (USCC or ID numbers), at most `MAX_SUBSCRIBE_CODES` per call.
    /// 要订阅的统一社会信用代码或公民身份号码，每次最多100000个。
    pub codes: Vec<String>,
    // Kept with each subject subscribed.
    /// 备注（可选），最多200个字符，记入本次订阅的每个主体。
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscribeResult {
    pub added: usize,
    pub already: usize,
    // Codes that name a subject an earlier code of the same call named (listed in `subjects`
    // with its reference all the same): every code sent is accounted for.
    /// 同一请求中与前面的代码为同一主体的代码数（如大小写不同）：只订阅一次，仍列于 subjects 中。added + already + repeated + invalid 的条数 = 报送的代码数。
    pub repeated: usize,
    // Codes that are not valid, with why.
    /// 无效的代码及其原因。
    pub invalid: Vec<String>,
    // Each code subscribed, in the order sent, with the reference alerts will name it by.
    /// 已订阅的每个代码（按报送顺序）及其订阅引用；订阅列表、预警查询和推送中的 subscriber_ref 与此相同。
    pub subjects: Vec<Subscribed>,
}

// A code as the caller sent it and the unit's reference for the subject: masked ID numbers in
// alerts look alike. Never a person's key: keys are public in record ids, so a key given back
// for each of many candidate numbers would tell which one is a listed person's.
/// 报送的代码及其订阅引用。
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Subscribed {
    // As sent.
    /// 报送的代码（原样）。
    pub code: String,
    /// 订阅引用：组织为其统一社会信用代码；自然人为本单位专用的引用（R开头的25位字符，同一单位对同一人始终相同，其他单位看到的不同，与公开的记录编号无关）。
    pub subscriber_ref: String,
}

/// The longest note a subscription call may carry (characters): it is kept on every row the
/// call adds.
pub const MAX_SUBSCRIBE_NOTE: usize = 200;

/// Whose checks, subscriptions and alerts the caller's are: its unit's, or — a financial
/// institution, which is no source unit — its own, under its 统一社会信用代码 (design.md:
/// institutions report loan outcomes as the checks' feedback and receive warnings about their
/// borrowers).
pub(crate) fn organisation_of(p: &auth::Principal) -> ApiResult<String> {
    match (p.role, &p.unit, &p.subject_key) {
        (Role::Financial, _, Some(code)) => Ok(format!("{FINANCIAL_PREFIX}{code}")),
        (Role::Financial, _, None) => Err(ApiError::Forbidden),
        (_, Some(unit), _) => Ok(unit.clone()),
        _ => Err(ApiError::Forbidden),
    }
}

/// The prefix of a financial institution's subscriptions and alerts (no unit is named so).
pub const FINANCIAL_PREFIX: &str = "金融机构:";

#[utoipa::path(post, path = "/api/v1/subscriptions", summary = "订阅主体的信用变动预警", tag = "联合奖惩", security(("token" = [])),
    request_body = SubscribeRequest,
    responses((status = 200, description = "已订阅：这些主体被列入或移出名单、受到严重失信处罚时推送预警", body = SubscribeResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, description = "请求体超过3MB（每次最多100000个代码）", body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn subscribe(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<SubscribeRequest>,
) -> ApiResult<Json<SubscribeResult>> {
    if req.codes.is_empty() || req.codes.len() > MAX_SUBSCRIBE_CODES {
        return Err(ApiError::Unprocessable(format!(
            "codes应有1至{MAX_SUBSCRIBE_CODES}个代码"
        )));
    }
    if req
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_SUBSCRIBE_NOTE)
    {
        return Err(ApiError::Unprocessable(format!(
            "备注（note）不能超过{MAX_SUBSCRIBE_NOTE}个字符"
        )));
    }
    let unit = organisation_of(&ctx.principal)?;
    let financial = ctx.principal.role == Role::Financial;
    let (s, c) = (state.clone(), ctx.clone());
    let entry = audit_entry(&ctx, "subscription.create", None, "ok", None);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        let now = s.clock.now();
        let mut ok = Vec::new();
        let mut invalid = Vec::new();
        let mut subjects = Vec::new();
        let (mut persons, mut organisations, mut repeated) = (0usize, 0usize, 0usize);
        // The subjects taken so far (a call may name up to 100,000).
        let mut seen = std::collections::HashSet::new();
        for code in &req.codes {
            match joint::check::subject_of(code, &s.rules, &s.keys, today(now)) {
                // A person is subscribed by the ID number the department holds, never by the
                // platform's key (public in record ids): the key beside a candidate number in
                // one call would match the two.
                Ok((_, _, domain::record::SubjectKind::NaturalPerson)) if is_person_key(code) => {
                    invalid.push(format!(
                        "{code}：自然人请以身份证号码订阅，不接受平台内部主体键"
                    ))
                }
                // What befalls a person is not the institution's to follow: it reads a person's
                // file only while the person authorises it (信易贷授权查询).
                Ok((_, shown, domain::record::SubjectKind::NaturalPerson)) if financial => invalid
                    .push(format!(
                        "{shown}：金融机构只能订阅企业等组织；自然人的信用信息须经本人授权后查询"
                    )),
                // A subject given twice in one call (the same code, or in other case) is one
                // subject, not "already subscribed" the second time: it was not, before. Said
                // and listed all the same (a code not in the answer was a line lost).
                Ok((key, _, _)) if seen.contains(&key) => {
                    repeated += 1;
                    subjects.push(Subscribed {
                        code: code.clone(),
                        subscriber_ref: s.keys.subscriber_ref(&unit, &key),
                    });
                }
                Ok((key, shown, kind)) => {
                    if kind == domain::record::SubjectKind::NaturalPerson {
                        persons += 1;
                    } else {
                        organisations += 1;
                    }
                    let name = s.search.get(&key).map(|e| e.name).unwrap_or_default();
                    let label = if name.is_empty() {
                        shown
                    } else {
                        format!("{name}（{shown}）")
                    };
                    subjects.push(Subscribed {
                        code: code.clone(),
                        subscriber_ref: s.keys.subscriber_ref(&unit, &key),
                    });
                    seen.insert(key.clone());
                    ok.push((key, label));
                }
                Err(e) => invalid.push(e.to_string()),
            }
        }
        let n = ok.len();
        // Which codes, in a line whatever their number: an auditor holding the list a
        // department says it sent (or a complaint's) recomputes the digest. (The store puts
        // the counts it made before it.)
        carried.detail = Some(format!(
            "invalid={} persons={persons} organisations={organisations} codes_sm3={}",
            invalid.len(),
            codes_digest(&s.keys, &unit, &req.codes)
        ));
        let added = s.platform.subscribe(
            &unit,
            &ok,
            req.note.as_deref(),
            &c.principal.actor(),
            now,
            Some(carried),
        )?;
        Ok(SubscribeResult {
            added,
            already: n - added,
            repeated,
            invalid,
            subjects,
        })
    })
    .await;
    r.map(Json)
}

/// A keyed digest of the codes of a subscription call as sent, sorted, one a line: the
/// platform recomputes it from a list a department says it sent; a plain SM3 of one ID number
/// was found again from its masked form in a fraction of a second.
pub fn codes_digest(keys: &crypto::KeyRing, unit: &str, codes: &[String]) -> String {
    let mut sorted: Vec<&str> = codes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    keys.unit_digest(b"xinyong-subscription-codes|v1", unit, &sorted.join("\n"))
}

/// The platform's key of a natural person (`P` and hex), not an ID number.
fn is_person_key(code: &str) -> bool {
    code.trim().starts_with('P')
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    // 1–1000, default 100.
    /// 每页条数，1–1000（默认100）。
    pub limit: Option<i64>,
    /// 起始位置（从0起）。
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/subscriptions", summary = "查询本单位订阅的主体", tag = "联合奖惩", security(("token" = [])),
    params(PageParams),
    responses((status = 200, description = "本单位订阅的主体", body = Vec<store::Subscription>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "limit 超出1–1000或 offset 为负数", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn subscriptions(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Vec<store::Subscription>>> {
    let unit = organisation_of(&ctx.principal)?;
    let (limit, offset) = super::page_of(q.limit, q.offset, 100, 1000)?;
    let (s, u) = (state.clone(), unit.clone());
    let r = blocking(move || {
        Ok(s.platform
            .subscriptions(&u, limit, offset)?
            .into_iter()
            .map(|x| x.refer(|u, k| s.keys.subscriber_ref(u, k)))
            .collect())
    })
    .await;
    // Which subjects a department watches is a sensitive read, as a check is.
    audit_watch_read(&state, &ctx, "subscription.list", &unit, &r).await;
    r.map(Json)
}

/// The trail of a read of whom a unit watches (its subscriptions, its alerts): whose list it
/// was and how many lines it gave.
async fn audit_watch_read<T>(
    state: &Shared,
    ctx: &Ctx,
    action: &str,
    unit: &str,
    r: &ApiResult<Vec<T>>,
) {
    audit(
        state,
        ctx,
        action,
        Some(unit.to_string()),
        if r.is_ok() { "ok" } else { "failed" },
        r.as_ref().ok().map(|l| format!("rows={}", l.len())),
    )
    .await;
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeRequest {
    /// 统一社会信用代码、公民身份号码，或订阅列表中的订阅引用 subscriber_ref（自然人为R开头的25位字符）。
    pub code: String,
}

/// The subject a unit's own subscriber reference (R…, a person's) names among its
/// subscriptions, if any: a unit that keeps only the reference can still unsubscribe.
fn subscribed_by_ref(s: &Shared, unit: &str, reference: &str) -> ApiResult<Option<String>> {
    const PAGE: i64 = 5_000;
    let mut offset = 0;
    loop {
        let page = s.platform.subscriptions(unit, PAGE, offset)?;
        if let Some(found) = page
            .iter()
            .find(|x| s.keys.subscriber_ref(unit, &x.subject_key) == reference)
        {
            return Ok(Some(found.subject_key.clone()));
        }
        if (page.len() as i64) < PAGE {
            return Ok(None);
        }
        offset += PAGE;
    }
}

#[utoipa::path(post, path = "/api/v1/subscriptions/remove", summary = "取消订阅", tag = "联合奖惩", security(("token" = [])),
    description = "取消本单位对一个主体的订阅。可重复调用：本单位未订阅（或已取消）该主体时同样返回200，action 为 not_subscribed。",
    request_body = UnsubscribeRequest,
    responses((status = 200, description = "已取消订阅（action 为 unsubscribe），或本来就未订阅（action 为 not_subscribed）", body = ListActionDone),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<UnsubscribeRequest>,
) -> ApiResult<Json<ListActionDone>> {
    let unit = organisation_of(&ctx.principal)?;
    let s = state.clone();
    let entry = audit_entry(&ctx, "subscription.remove", None, "ok", None);
    let (s2, ctx2) = (state.clone(), ctx.clone());
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        if is_person_key(&req.code) {
            return Err(ApiError::Unprocessable(
                "自然人请以身份证号码或订阅引用（R开头）退订，不接受平台内部主体键".into(),
            ));
        }
        let code = req.code.trim();
        let a_ref = code.len() == 25 && code.starts_with('R');
        let by_ref = if a_ref {
            subscribed_by_ref(&s, &unit, code)?
        } else {
            None
        };
        let (key, shown) = match by_ref {
            Some(key) => (key, code.to_string()),
            // A reference this unit subscribes under no more: nothing to remove.
            None if a_ref => {
                let mut e = carried.clone();
                e.object = Some(code.to_string());
                e.detail = Some("not_subscribed".into());
                crate::context::record_first(&s2, &ctx2, e)?;
                return Ok((code.to_string(), false));
            }
            None => {
                let (key, shown, _) =
                    joint::check::subject_of(code, &s.rules, &s.keys, today(s.clock.now()))?;
                (key, shown)
            }
        };
        carried.object = Some(shown.clone());
        match s.platform.unsubscribe(&unit, &key, Some(carried)) {
            Ok(()) => Ok((shown, true)),
            // A retry of a removal that went through (or a code never subscribed): the same
            // end state, answered as such, as a repeated subscription is; still in the trail.
            Err(store::StoreError::NotFound(_)) => {
                let mut e = carried.clone();
                e.detail = Some("not_subscribed".into());
                crate::context::record_first(&s2, &ctx2, e)?;
                Ok((shown, false))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let (shown, removed) = r?;
    Ok(Json(ListActionDone {
        record_id: shown,
        action: if removed {
            "unsubscribe"
        } else {
            "not_subscribed"
        }
        .into(),
        note: if removed {
            String::new()
        } else {
            "本单位未订阅该主体（或已取消订阅），无需再取消".into()
        },
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    // A source unit (its name, short name or USCC), or a financial institution's USCC.
    /// 接收预警的单位：信源单位的名称、简称或统一社会信用代码；金融机构填其统一社会信用代码（可带“金融机构:”前缀）。
    pub unit: String,
    // http:// or https:// address of the unit's receiver.
    /// 单位接收预警推送的地址，以 http:// 或 https:// 开头。
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    pub unit: String,
    pub url: String,
    // The shared secret for checking `X-Xinyong-Signature` (shown once).
    /// 用于校验推送请求头 `X-Xinyong-Signature` 的共享密钥（仅显示一次）。
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRemoveRequest {
    /// 单位：信源单位的名称、简称或统一社会信用代码；金融机构填其统一社会信用代码（可带“金融机构:”前缀）。
    pub unit: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookRemoved {
    pub unit: String,
    /// 删除前的接收地址（原本未设置时为空）。
    pub url: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/webhooks/remove", summary = "删除预警推送地址", tag = "联合奖惩", security(("token" = [])),
    description = "删除单位的预警接收地址：此后该单位的预警只在控制台显示（delivery 为 console），待推送和推送失败的预警也改为仅在控制台显示。可重复调用：原本未设置时返回200，url 为空。",
    request_body = WebhookRemoveRequest,
    responses((status = 200, description = "已删除（或原本未设置）", body = WebhookRemoved),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn remove_webhook(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<WebhookRemoveRequest>,
) -> ApiResult<Json<WebhookRemoved>> {
    let unit = webhook_unit(&state, &req.unit)?;
    let s = state.clone();
    let entry = crate::context::audit_entry(&ctx, "webhook.remove", Some(unit.clone()), "ok", None);
    let u = unit.clone();
    let url = crate::context::write_carrying(&state, &ctx, entry, move |carried| {
        let old = s.platform.remove_webhook(&u, Some(carried))?;
        Ok(old)
    })
    .await?;
    Ok(Json(WebhookRemoved { unit, url }))
}

#[utoipa::path(post, path = "/api/v1/webhooks", summary = "设置预警推送地址", tag = "联合奖惩", security(("token" = [])),
    request_body = WebhookRequest,
    responses((status = 200, description = "已设置单位的预警接收地址；密钥仅显示一次", body = WebhookCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn set_webhook(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(mut req): ApiJson<WebhookRequest>,
) -> ApiResult<Json<WebhookCreated>> {
    req.unit = webhook_unit(&state, &req.unit)?;
    let url = req.url.trim().to_string();
    if url.len() > 500 {
        return Err(ApiError::Unprocessable("接收地址不能超过500个字符".into()));
    }
    let (s, c) = (state.clone(), ctx.clone());
    // Where a unit's alerts (whom they name) are sent, and where they went before: on the trail.
    let entry = crate::context::audit_entry(
        &ctx,
        "webhook.set",
        Some(req.unit.clone()),
        "ok",
        Some(format!("url={}", url_for_trail(&url))),
    );
    let r = crate::context::write_carrying(&state, &ctx, entry, move |carried| {
        if let Some(old) = s.platform.webhook(&req.unit)? {
            carried.detail = Some(format!(
                "url={} 原地址={}",
                url_for_trail(&url),
                url_for_trail(&old.url)
            ));
        }
        // An institution's alerts go to an institution the platform knows (an account or a
        // token under its code): not to any company's code typed here.
        if let Some(code) = req.unit.strip_prefix(FINANCIAL_PREFIX)
            && !s
                .platform
                .financial_institution_known(code, s.clock.now())?
        {
            return Err(ApiError::Unprocessable(format!(
                "{code}不是已在本平台开通的金融机构：请先为其开通账号或令牌，或填写信源单位名称"
            )));
        }
        // Not this machine, nor addresses no department's system has (the name resolves here).
        if let Some(why) =
            joint::alerts::webhook_target_refused(&url, s.config.webhooks_to_loopback)
        {
            return Err(ApiError::Unprocessable(why));
        }
        // A name that does not resolve from here would only fail at the first alert, which
        // then waits in retries: said now, while the unit is at the form.
        if let Some(why) = joint::alerts::webhook_host_unresolved(&url) {
            return Err(ApiError::Unprocessable(why));
        }
        let secret = crypto::random_hex(32).map_err(ApiError::internal)?;
        let sealed = s
            .keys
            .encrypt(secret.as_bytes())
            .map_err(ApiError::internal)?;
        s.platform.set_webhook(
            &req.unit,
            &url,
            &sealed,
            &c.principal.actor(),
            s.clock.now(),
            Some(carried),
        )?;
        Ok(WebhookCreated {
            unit: req.unit,
            url,
            secret,
        })
    })
    .await;
    r.map(Json)
}

/// An address as the trail keeps it: a user name and password, or a query (which may carry a
/// token), left out — the trail is kept for ever and read by the auditor.
fn url_for_trail(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return domain::text::echo(url);
    };
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let path = match path.split_once(['?', '#']) {
        Some((p, _)) => format!("{p}?…"),
        None => path.to_string(),
    };
    domain::text::echo(&format!("{scheme}://{authority}{path}"))
}

/// The name a unit's webhook is kept under, however the unit was typed (short name, USCC):
/// alerts look the webhook up by the unit's own name. A financial institution's alerts are filed
/// under its code (see `organisation_of`), and so is its webhook.
fn webhook_unit(state: &Shared, typed: &str) -> ApiResult<String> {
    if let Some(u) = state.rules.units.find(typed) {
        return Ok(u.name.clone());
    }
    let code = typed.trim();
    let code = code.strip_prefix(FINANCIAL_PREFIX).unwrap_or(code);
    match domain::ids::Uscc::parse(&domain::ids::normalize(code), &state.rules.ids) {
        Ok((u, _)) => Ok(format!("{FINANCIAL_PREFIX}{}", u.as_str())),
        Err(e) => Err(ApiError::Unprocessable(format!(
            "“{typed}”不在信源单位名录中，也不是有效的金融机构统一社会信用代码（{e}）"
        ))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookShown {
    /// 接收预警的单位（金融机构为“金融机构:统一社会信用代码”）。
    pub unit: String,
    /// 接收地址。共享密钥不显示：仅在设置时显示一次，遗失须重新设置（旧密钥随之作废）。
    pub url: String,
    /// 设置人。
    pub set_by: String,
    /// 设置时间。
    pub set_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", summary = "查询预警推送地址", tag = "联合奖惩", security(("token" = [])),
    responses((status = 200, description = "各单位登记的预警接收地址（不含密钥）", body = Vec<WebhookShown>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn webhooks(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<Vec<WebhookShown>>> {
    let s = state.clone();
    let r = blocking(move || {
        Ok(s.platform
            .webhooks()?
            .into_iter()
            .map(|w| WebhookShown {
                unit: w.unit,
                url: w.url,
                set_by: w.actor,
                set_at: w.at,
            })
            .collect::<Vec<_>>())
    })
    .await;
    // Where departments' systems listen is the intranet's map: a read on the trail.
    audit(
        &state,
        &ctx,
        "webhook.list",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        r.as_ref().ok().map(|l| format!("rows={}", l.len())),
    )
    .await;
    r.map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTestRequest {
    // A source unit (its name, short name or USCC), or a financial institution's USCC.
    /// 要测试的单位：信源单位的名称、简称或统一社会信用代码；金融机构填其统一社会信用代码。
    pub unit: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookTested {
    pub unit: String,
    pub url: String,
    /// 接收方应答2xx，视为送达。
    pub delivered: bool,
    /// 接收方应答的HTTP状态码；未能连上或超时时为空。
    pub status: Option<u16>,
    /// 未送达的原因（如“无法送达：超时（10秒）”、“接收方返回HTTP 401”）。
    pub error: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/webhooks/test", summary = "测试预警推送地址", tag = "联合奖惩", security(("token" = [])),
    description = "立即向该单位登记的接收地址发送一条签名的测试消息（event 为 ping，alert_id 为 0，签名方法与正式预警相同），返回接收方的HTTP状态码或失败原因。测试消息不是预警，不重试、不计入推送记录。",
    request_body = WebhookTestRequest,
    responses((status = 200, description = "已发送测试消息；delivered 表示接收方是否应答2xx", body = WebhookTested),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn test_webhook(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<WebhookTestRequest>,
) -> ApiResult<Json<WebhookTested>> {
    let unit = webhook_unit(&state, &req.unit)?;
    let (s, u) = (state.clone(), unit.clone());
    let r = blocking(move || {
        let outcome = joint::alerts::ping(
            &s.platform,
            &s.keys,
            &u,
            s.clock.now(),
            &s.config.webhooks(),
        )?
        .ok_or_else(|| ApiError::NotFound(format!("{u}尚未设置预警接收地址")))?;
        Ok(WebhookTested {
            unit: u,
            url: outcome.url,
            delivered: outcome.delivered,
            status: outcome.status,
            error: outcome.error,
        })
    })
    .await;
    // A request the platform sends out on someone's word: on the trail, with what it met.
    audit(
        &state,
        &ctx,
        "webhook.test",
        Some(unit),
        match &r {
            Ok(t) if t.delivered => "ok",
            _ => "failed",
        },
        r.as_ref().ok().map(|t| match (&t.status, &t.error) {
            (_, Some(e)) => e.clone(),
            (Some(st), None) => format!("HTTP {st}"),
            (None, None) => String::new(),
        }),
    )
    .await;
    r.map(Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    // Only alerts without feedback.
    /// 为 true 时只返回尚未反馈的预警。
    pub open: Option<bool>,
    // 1–1000, default 100.
    /// 每页条数，1–1000（默认100）。
    pub limit: Option<i64>,
    // Alerts numbered below this, newest first (the next page back).
    /// 只返回编号小于此值的预警（按编号从新到旧；翻页时填上一页最后一条的编号）。
    pub before: Option<i64>,
    // Alerts numbered above this, oldest first (polling for what came since).
    /// 只返回编号大于此值的预警，按编号从旧到新（轮询新预警：填已处理的最大编号）。不能与 before 同时使用。
    pub after: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/alerts", summary = "查询预警", tag = "联合奖惩", security(("token" = [])),
    params(AlertParams),
    responses((status = 200, description = "本单位的预警（信用办：全部），含推送状态与反馈；默认按编号从新到旧，带 after 时从旧到新", body = Vec<store::Alert>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "limit 超出1–1000", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn alerts(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AlertParams>,
) -> ApiResult<Json<Vec<store::Alert>>> {
    let unit = match ctx.principal.role {
        Role::Admin | Role::Auditor => None,
        _ => Some(organisation_of(&ctx.principal)?),
    };
    let (limit, _) = super::page_of(q.limit, None, 100, 1000)?;
    if q.before.is_some() && q.after.is_some() {
        return Err(ApiError::Unprocessable(
            "before 与 after 不能同时使用：往前翻页用 before，轮询新预警用 after".into(),
        ));
    }
    let (s, u) = (state.clone(), unit.clone());
    let r = blocking(move || {
        Ok(s.platform
            .alerts_page(
                u.as_deref(),
                q.open.unwrap_or(false),
                q.before,
                q.after,
                limit,
            )?
            .into_iter()
            // Each as its unit is told it (the credit office reads them so too).
            .map(|a| a.refer(|u, k| s.keys.subscriber_ref(u, k)))
            .collect())
    })
    .await;
    // Alerts name the subjects a department watches: a sensitive read.
    audit_watch_read(
        &state,
        &ctx,
        "alert.list",
        unit.as_deref().unwrap_or("全部"),
        &r,
    )
    .await;
    r.map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertFeedbackRequest {
    /// applied（已采取措施）、noted（已知悉，无需措施）.
    pub outcome: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Files feedback on an alert of the caller's unit.
/// Records an alert's feedback with its audit entry `carried` in the same transaction. (The API
/// and the console call this.)
pub fn file_alert_feedback(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    f: &AlertFeedbackRequest,
    carried: &mut store::NewAuditEntry,
) -> ApiResult<()> {
    if !matches!(f.outcome.as_str(), "applied" | "noted") {
        return Err(ApiError::Unprocessable(format!(
            "outcome“{}”无效，应为applied或noted",
            f.outcome
        )));
    }
    let a = state
        .platform
        .alert(id)?
        .ok_or_else(|| ApiError::NotFound(format!("预警{id}不存在")))?;
    if organisation_of(&ctx.principal).ok().as_deref() != Some(a.unit.as_str()) {
        return Err(ApiError::Concealed(format!("预警{id}不存在")));
    }
    let reason = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::Unprocessable("说明不能超过500字".into()));
    }
    // Shown to the unit and the office: ID, mobile and card numbers in it masked, as in a
    // check's feedback and an exception's reason.
    let reason = reason.map(domain::ids::mask_personal_in);
    // The same answer again (a retry after a timeout) is taken as given.
    state.platform.alert_feedback(
        a.alert_id,
        &f.outcome,
        reason.as_deref(),
        &ctx.principal.actor(),
        state.clock.now(),
        Some(carried),
    )?;
    Ok(())
}

/// The audit entry of an alert's feedback.
pub fn alert_feedback_entry(ctx: &Ctx, id: i64, outcome: &str) -> store::NewAuditEntry {
    let detail = Some(outcome.to_string());
    audit_entry(
        ctx,
        "alert.feedback",
        Some(format!("alert:{id}")),
        "ok",
        detail,
    )
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/feedback", summary = "反馈预警处理结果", tag = "联合奖惩", security(("token" = [])),
    params(("id" = i64, Path, description = "预警编号")), request_body = AlertFeedbackRequest,
    responses((status = 200, description = "反馈已记录；同一反馈重复提交（如超时后重试）时同样返回成功。已有不同的反馈时返回409，说明已记录的内容", body = ListActionDone),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn alert_feedback(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(f): ApiJson<AlertFeedbackRequest>,
) -> ApiResult<Json<ListActionDone>> {
    let (s, c) = (state.clone(), ctx.clone());
    let outcome = f.outcome.clone();
    let entry = alert_feedback_entry(&ctx, id, &outcome);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        file_alert_feedback(&s, &c, id, &f, carried)
    })
    .await;
    r?;
    Ok(Json(ListActionDone {
        record_id: format!("alert:{id}"),
        action: outcome,
        note: String::new(),
    }))
}

// ----- statistics -----

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accumulated {
    // Name and code (a person's ID masked).
    /// 主体名称和代码（自然人的身份证号码已脱敏）。
    pub subject: String,
    // The subject's key in full (a person's: P and 31 hex digits), to act on it.
    /// 主体键（全文；自然人为P开头的32位键），据此查阅信用档案、核查或订阅。
    pub key: String,
    // Where its credit file is read.
    /// 该主体信用档案的接口地址。
    pub file: String,
    pub records: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JointStats {
    pub since: chrono::NaiveDate,
    pub checks: Vec<store::CheckStats>,
    pub total_checks: i64,
    // Checks that found a punishment measure.
    /// 发现惩戒措施的核查次数。
    pub total_hits: i64,
    // Checks that found only incentive measures.
    /// 仅发现激励措施的核查次数。
    pub total_incentives: i64,
    // Share of the checks that found measures (hits and incentives) with feedback.
    /// 反馈率：发现措施（惩戒或激励）的核查中已反馈的比例，为0到1之间的小数；没有此类核查时为空。
    pub feedback_rate: Option<f64>,
    /// 未反馈的预警数。
    pub alerts_open: usize,
    /// 推送失败（重试已用尽）的预警数。
    pub alerts_failed: usize,
    // Delivery tried and failed, retries still to come: seen before they run out (about two
    // days).
    /// 推送未成功、仍在重试中的预警数。
    pub alerts_retrying: usize,
    // 累计失信预警: the subjects with the most records first, at most 100.
    /// 累计失信预警：记录最多的主体在前，最多列出100个。
    pub accumulated: Vec<Accumulated>,
    // How many subjects pass the threshold in all.
    /// 达到累计失信预警阈值的主体总数。
    pub accumulated_total: i64,
    pub accumulation_rule: String,
    // List entries held by the check index, and their subjects.
    /// 核查所用的名单记录数（涉及的主体数见 listed_subjects）。
    pub entries: usize,
    pub listed_subjects: usize,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    // From this day (YYYY-MM-DD); default 30 days ago.
    /// 统计起始日期（YYYY-MM-DD），默认为30天前。
    pub since: Option<String>,
}

/// Subjects of the 累计失信 warning listed in the statistics (the total is given beside them).
const ACCUMULATED_SHOWN: i64 = 100;

pub fn joint_stats(state: &Shared, since: Option<&str>) -> ApiResult<JointStats> {
    let now = state.clock.now();
    let day = match since {
        Some(s) => crate::api::parse_day(s)?,
        None => today(now) - chrono::Duration::days(30),
    };
    let from = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - chrono::Duration::hours(8))
        .unwrap_or(now);
    let checks = state.platform.check_stats(from)?;
    let total_checks: i64 = checks.iter().map(|c| c.checks).sum();
    let total_hits: i64 = checks.iter().map(|c| c.hits).sum();
    let total_incentives: i64 = checks.iter().map(|c| c.incentives).sum();
    // Feedback is owed by whoever checked through the service (a department, a bank): checks
    // run at the command line have nobody to answer them and stay out of the rate.
    let owed = || checks.iter().filter(|c| !c.command_line);
    let fb: i64 = owed().map(|c| c.feedback_due).sum();
    let due: i64 = owed().map(|c| c.hits + c.incentives).sum();
    let alerts = state.platform.alerts(None, false, 10_000)?;
    let rule = &state.rules.measures.accumulation;
    let classes: Vec<&str> = rule.classes.iter().map(String::as_str).collect();
    let from_day = today(now)
        .checked_sub_months(chrono::Months::new(rule.years * 12))
        .unwrap_or(today(now));
    let (top, accumulated_total) =
        state
            .store
            .accumulated(&classes, from_day, rule.threshold as i64, ACCUMULATED_SHOWN)?;
    let accumulated = top
        .into_iter()
        .map(|(key, n)| {
            // The office acts on whom it is shown: a person by name and masked ID number from
            // the subject master (the name index holds organisations only).
            let label = match state.search.get(&key) {
                Some(e) => format!("{}（{}）", e.name, key),
                None => match state.store.subject(&key)? {
                    Some(x) => {
                        let code = x.id_masked.or(x.uscc).unwrap_or_else(|| key.clone());
                        let name = if x.name.is_empty() {
                            x.kind.label().to_string()
                        } else {
                            x.name
                        };
                        format!("{name}（{code}）")
                    }
                    None => key.clone(),
                },
            };
            Ok(Accumulated {
                subject: label,
                file: format!("/api/v1/subjects/{key}"),
                key,
                records: n,
            })
        })
        .collect::<ApiResult<_>>()?;
    let (entries, listed_subjects) = state.lists.size();
    Ok(JointStats {
        since: day,
        total_checks,
        total_hits,
        total_incentives,
        feedback_rate: (due > 0).then(|| fb as f64 / due as f64),
        checks,
        alerts_open: alerts.iter().filter(|a| a.feedback.is_none()).count(),
        alerts_failed: alerts.iter().filter(|a| a.delivery == "failed").count(),
        alerts_retrying: alerts
            .iter()
            .filter(|a| a.delivery == "pending" && a.attempts > 0)
            .count(),
        accumulated,
        accumulated_total,
        accumulation_rule: format!(
            "{}年内失信记录达{}条（{}）",
            rule.years, rule.threshold, rule.basis
        ),
        entries,
        listed_subjects,
    })
}

#[utoipa::path(get, path = "/api/v1/joint/stats", summary = "联合奖惩统计与累计失信预警", operation_id = "joint_stats", tag = "联合奖惩", security(("token" = [])),
    params(StatsParams),
    responses((status = 200, description = "核查、命中、反馈、预警统计与累计失信预警", body = JointStats),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn stats(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<StatsParams>,
) -> ApiResult<Json<JointStats>> {
    let s = state.clone();
    let r = blocking(move || joint_stats(&s, q.since.as_deref())).await;
    audit_stats_read(&state, &ctx, r.as_ref().ok().map(|st| st.accumulated.len())).await;
    r.map(Json)
}

/// The 累计失信 warning names persons (name, masked ID number, key): reading it is in the trail.
pub(crate) async fn audit_stats_read(state: &Shared, ctx: &Ctx, accumulated: Option<usize>) {
    audit(
        state,
        ctx,
        "joint.stats",
        None,
        if accumulated.is_some() {
            "ok"
        } else {
            "failed"
        },
        accumulated.map(|n| format!("accumulated={n}")),
    )
    .await;
}
