//! The push API for source systems: records of a catalog class as JSON (national field codes),
//! or a CSV/XLSX file, streamed through the same validation, idempotency and atomicity as a file
//! import; and what became of each row.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest::{Format, ImportOptions, ImportSummary, Importer};
use serde::{Deserialize, Serialize};
use store::{AcceptedRow, Channel, Problem, Submission};

use crate::api::files::{Withdraw, Withdrawn, reason};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::context::{Ctx, audit, audit_entry, audited_write, entry_first, record_first};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmitParams {
    // The catalog class, by its Chinese name (行政处罚) or code (CF).
    /// 目录类别：中文名称（如 行政处罚）或代码（如 CF）。
    pub class: String,
    // The file's name, kept with the submission.
    /// 文件名，随报送一并保存。
    pub file_name: Option<String>,
    // csv, xlsx or json when the Content-Type does not say.
    /// 文件格式：csv、xlsx 或 json，在请求的 Content-Type 未表明格式时使用。
    pub format: Option<String>,
}

fn format_of(req: &Request, explicit: Option<&str>) -> Result<Format, ApiError> {
    if let Some(f) = explicit {
        return Format::parse(f)
            .ok_or_else(|| ApiError::Unprocessable(format!("格式“{f}”应为 csv、xlsx 或 json")));
    }
    match crate::body::media_type(req.headers()).as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" | "application/jsonl" => Ok(Format::JsonLines),
        "text/csv" | "application/csv" => Ok(Format::Csv),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Ok(Format::Xlsx),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Streams a submission into the importer on a blocking thread. The import, its counters and
/// its audit entry run as a task of their own: a client that hangs up midway does not stop them
/// halfway (the rows committed, the entry not written).
pub async fn import_body(
    state: &Shared,
    ctx: &Ctx,
    channel: Channel,
    class: String,
    file_name: Option<String>,
    format: Format,
    body: Body,
) -> ApiResult<ImportSummary> {
    let (state, ctx) = (state.clone(), ctx.clone());
    let work = async move {
        import_body_here(&state, &ctx, channel, class, file_name, format, body).await
    };
    let task = match crate::error::REQUEST_ID.try_with(Clone::clone) {
        Ok(id) => tokio::spawn(crate::error::REQUEST_ID.scope(id, work)),
        Err(_) => tokio::spawn(work),
    };
    task.await
        .map_err(|_| ApiError::internal("the import task ended abnormally"))?
}

async fn import_body_here(
    state: &Shared,
    ctx: &Ctx,
    channel: Channel,
    class: String,
    file_name: Option<String>,
    format: Format,
    body: Body,
) -> ApiResult<ImportSummary> {
    let unit = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
    let reader = crate::body::spool(
        body,
        state.config.max_submission_bytes,
        state.config.body_idle,
        &unit,
    )
    .await?;
    let (s, actor, c) = (state.clone(), ctx.principal.actor(), ctx.clone());
    state
        .metrics
        .imports_running
        .fetch_add(1, Ordering::Relaxed);
    let result = blocking(move || {
        let importer = Importer {
            store: &s.store,
            rules: &s.rules,
            keys: &s.keys,
            clock: s.clock.as_ref(),
        };
        let opts = ImportOptions {
            unit,
            class,
            actor,
            channel,
        };
        // The entry goes in before the batch commits (the trail lives in the platform store, a
        // file of its own on SQLite): a batch never stands without it, and one that then fails
        // to commit gets a second entry saying so (below).
        let entry_first = |b: &ingest::Committing| {
            let entry = audit_entry(
                &c,
                "submission.create",
                Some(format!("submission:{}", b.submission_id)),
                "ok",
                Some(format!(
                    "class={} rows={} accepted={} rejected={} duplicate_of=None",
                    b.class, b.rows_read, b.accepted, b.rejected
                )),
            );
            record_first(&s, &c, entry).map_err(|e| e.to_string())
        };
        let r = importer
            .import_reader_then(file_name, format, reader, &opts, &|_| {}, &entry_first)
            .map(|mut x| {
                // The service process's memory is the operator's business, not the sender's.
                x.peak_memory_mib = None;
                x
            })
            .map_err(ApiError::from);
        // New subjects are findable on the portal as soon as the submission answers, and a
        // list entry or a registration (who represents whom) counts in the next check.
        if let Some(x) = r.as_ref().ok().filter(|x| x.accepted > 0) {
            let _ = s.search.refresh(&s.store);
            if feeds_checks(&s, &x.class) {
                refresh_checks(&s);
            }
        }
        r
    })
    .await;
    state
        .metrics
        .imports_running
        .fetch_sub(1, Ordering::Relaxed);
    let (outcome, object, detail) = match &result {
        // Its entry was written before it committed.
        Ok(s) if s.submission_id.is_some() => {
            count_import(state, s);
            return result;
        }
        // The same bytes again: nothing stored, entered as a repeat of the earlier batch.
        Ok(s) => {
            count_import(state, s);
            (
                "repeat".to_string(),
                s.submission_id
                    .or(s.duplicate_of)
                    .map(|i| format!("submission:{i}")),
                Some(format!(
                    "class={} rows={} accepted={} rejected={} duplicate_of={}",
                    s.class,
                    s.rows_read,
                    s.accepted,
                    s.rejected,
                    s.duplicate_of.map_or("-".to_string(), |d| d.to_string())
                )),
            )
        }
        // Undone because the trail refused its entry: a second one would be refused too.
        Err(_) if ctx.write_undone.load(Ordering::SeqCst) => return result,
        Err(e) => (format!("failed:{}", e.code()), None, Some(e.to_string())),
    };
    audit(state, ctx, "submission.create", object, &outcome, detail).await;
    result
}

fn count_import(state: &Shared, s: &ImportSummary) {
    let m = &state.metrics;
    m.submissions.fetch_add(1, Ordering::Relaxed);
    m.rows_accepted.fetch_add(s.accepted, Ordering::Relaxed);
    m.rows_rejected.fetch_add(s.rejected, Ordering::Relaxed);
}

#[utoipa::path(post, path = "/api/v1/submissions", summary = "报送数据（推送JSON或上传文件）", tag = "报送", security(("token" = [])),
    params(SubmitParams),
    request_body(description = "JSON数组（或含 records 数组的对象），字段用国家标准代码；或 JSON Lines（每行一条记录）；或 CSV（UTF-8/GB18030）、XLSX 文件",
        content(
            (Vec<Object> = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses(
        (status = 201, description = "已入库（逐行结果见 GET /api/v1/submissions/{id}）", body = ImportSummary),
        (status = 200, description = "与已报送的批次内容完全相同，未作更改", body = ImportSummary),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<SubmitParams>,
    req: Request,
) -> ApiResult<Response> {
    let format = format_of(&req, p.format.as_deref())?;
    // The name is kept with the submission and shown in the console: a name, not a payload.
    if let Some(n) = &p.file_name
        && (n.chars().count() > 255 || n.chars().any(char::is_control))
    {
        return Err(ApiError::Unprocessable(
            "file_name无效：文件名最多255个字符，且不能含换行等控制字符".into(),
        ));
    }
    let summary = import_body(
        &state,
        &ctx,
        Channel::Api,
        p.class,
        p.file_name,
        format,
        req.into_body(),
    )
    .await?;
    let status = if summary.duplicate_of.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(summary)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    // A unit's full name (the credit office only; others see their own unit).
    /// 单位全称（仅信用办可指定；其他角色只能查看本单位的报送）。
    pub unit: Option<String>,
    // 1–500, default 50.
    /// 每页条数，1–500（默认50）。
    pub limit: Option<i64>,
    // The next page: batches numbered below this one (the last submission_id of the page).
    /// 下一页：只返回编号小于此值的批次（取上一页最后一个 submission_id）。
    pub before: Option<i64>,
}

/// The unit a caller may look at: its own, or any for the credit office.
fn unit_scope(ctx: &Ctx, asked: Option<String>) -> Result<Option<String>, ApiError> {
    match ctx.principal.role {
        auth::Role::Admin => Ok(asked.filter(|u| !u.is_empty())),
        _ => {
            let own = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
            match asked {
                Some(u) if !u.is_empty() && u != own => Err(ApiError::NotYours(format!(
                    "只能查看本单位（{own}）的报送批次：请去掉参数 unit，或填写本单位"
                ))),
                _ => Ok(Some(own)),
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/submissions", summary = "列出报送批次", tag = "报送", security(("token" = [])), params(ListParams),
    responses(
        (status = 200, description = "报送批次（新的在前）", body = Vec<Submission>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "limit 超出1–500", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<Submission>>> {
    let unit = unit_scope(&ctx, p.unit)?;
    let (limit, _) = super::page_of(p.limit, None, 50, 500)?;
    blocking(move || {
        Ok(Json(state.store.submissions_before(
            unit.as_deref(),
            p.before,
            limit,
        )?))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    // Numbered as accepted rows are.
    /// 行号：CSV/XLSX为文件中的行号（表头为第1行）；JSON为记录在数组中的序号（从1起）。
    pub row_no: i64,
    /// 该行所写的文书号（如有此项；其中的证件号码已遮蔽），便于按文书号而非行号对应。
    pub decision_no: Option<String>,
    /// 该行所写的主体名称（如有此项；其中的证件号码已遮蔽）。
    pub subject_name: Option<String>,
    pub problems: Vec<Problem>,
}

/// A refused row's 文书号 and party as the unit wrote them (personal numbers masked), read from
/// the row kept sealed: batch and line alone send the clerk to open each file. Empty where the
/// class has no such item or the row had none.
pub fn rejected_identity(
    state: &Shared,
    class_code: &str,
    header_map: &[Option<String>],
    raw_sealed: &[u8],
) -> (Option<String>, Option<String>) {
    let Some(class) = state.rules.catalog.class_by_code(class_code) else {
        return (None, None);
    };
    let cells: Vec<String> = state
        .keys
        .decrypt(raw_sealed)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let cell = |role: domain::catalog::Role| -> Option<String> {
        let item = class.item_by_role(role)?;
        header_map
            .iter()
            .position(|c| c.as_deref() == Some(item.code.as_str()))
            .and_then(|at| cells.get(at))
            .map(|v| domain::ids::mask_personal_in(v.trim()).into_owned())
            .filter(|v| !v.is_empty())
    };
    (
        cell(domain::catalog::Role::DecisionNo),
        cell(domain::catalog::Role::SubjectName),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmissionDetail {
    pub submission: Submission,
    // Rows that wrote a version (rows unchanged against the store are counted, not listed: their
    // record ids are found by document number at GET /api/v1/records?decision_no=).
    /// 写入了记录新版本的行（与库中相同、未发生变化的行只计数，不列出；其记录编号可按文书号查询：GET /api/v1/records?decision_no=）。
    pub accepted_rows: Vec<AcceptedRow>,
    pub rejected_rows: Vec<RejectedRow>,
    pub offset: i64,
    pub limit: i64,
}

/// A submission the caller may see (its unit's, or any for the credit office); 404 otherwise.
pub fn visible_submission(state: &Shared, ctx: &Ctx, id: i64) -> Result<Submission, ApiError> {
    let s = state
        .store
        .submission(id)?
        .ok_or_else(|| ApiError::NotFound(format!("报送批次{id}不存在")))?;
    if ctx.principal.role != auth::Role::Admin
        && ctx.principal.unit.as_deref() != Some(s.source_unit.as_str())
    {
        return Err(ApiError::Concealed(format!("报送批次{id}不存在")));
    }
    Ok(s)
}

#[utoipa::path(get, path = "/api/v1/submissions/{id}", summary = "查询报送批次及退回原因", tag = "报送", security(("token" = [])),
    params(("id" = i64, Path, description = "报送批次号"), PageParams),
    responses(
        (status = 200, description = "批次、入库的行与退回的行及原因", body = SubmissionDetail),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "limit 超出1–1000或 offset 为负数", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn detail(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<SubmissionDetail>> {
    let (limit, offset) = super::page_of(p.limit, p.offset, 100, 1000)?;
    blocking(move || {
        let submission = visible_submission(&state, &ctx, id)?;
        let rejected_rows = state
            .store
            .rejections_page(id, offset, limit)?
            .into_iter()
            .map(|r| {
                let (decision_no, subject_name) = rejected_identity(
                    &state,
                    &submission.class_code,
                    &submission.header_map,
                    &r.raw_sealed,
                );
                RejectedRow {
                    row_no: r.row_no,
                    decision_no,
                    subject_name,
                    problems: r.problems,
                }
            })
            .collect();
        Ok(Json(SubmissionDetail {
            accepted_rows: state.store.submission_rows(id, offset, limit)?,
            rejected_rows,
            submission,
            offset,
            limit,
        }))
    })
    .await
}

/// The rejected rows of a submission as XLSX, in the unit's own layout with reasons.
pub async fn rejections_file(state: &Shared, ctx: &Ctx, id: i64) -> ApiResult<Response> {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        visible_submission(&s, &c, id)?;
        let dir = tempfile::tempdir().map_err(ApiError::internal)?;
        let path = dir.path().join("rejections.xlsx");
        ingest::rejects::write_rejected_xlsx(&s.store, &s.keys, id, &path)?;
        std::fs::read(&path).map_err(ApiError::internal)
    })
    .await;
    audit(
        state,
        ctx,
        "submission.export_rejections",
        Some(format!("submission:{id}")),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    Ok(crate::attachment_as(
        crate::XLSX,
        &format!("rejected-{id}.xlsx"),
        Some(&format!("退回数据-批次{id}.xlsx")),
        r?,
    ))
}

#[utoipa::path(get, path = "/api/v1/submissions/{id}/rejections.xlsx", summary = "下载退回数据（XLSX，附原因）", tag = "报送", security(("token" = [])),
    params(("id" = i64, Path, description = "报送批次号")),
    responses(
        (status = 200, description = "退回数据：原表头、原单元格，附退回原因和原行号", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn rejections_xlsx(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    rejections_file(&state, &ctx, id).await
}

/// Whether a class's records feed the check index: list entries, registrations (whose legal
/// representatives link persons to listed organisations), and penalties when a measure is
/// triggered by them.
fn feeds_checks(s: &Shared, class: &str) -> bool {
    s.rules.catalog.class(class).is_some_and(|c| {
        c.code == "DJ"
            || s.lists.lists().contains(&c.code.as_str())
            || c.code == "CF" && s.lists.watches_penalties()
    })
}

/// Brings the check index up to date now, so that the next check sees what the caller just
/// committed (the background pass would take up to its interval). Blocking.
pub(crate) fn refresh_checks(s: &Shared) {
    if let Err(e) = s.lists.refresh(&s.store, &s.platform, &s.rules) {
        eprintln!("check index refresh failed: {e}");
    }
}

pub async fn withdraw_submission(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    why: &str,
) -> ApiResult<store::BatchWithdrawal> {
    let why = reason(why)?;
    let unit = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
    let entry = audit_entry(
        ctx,
        "submission.withdraw",
        Some(format!("submission:{id}")),
        "ok",
        Some(why.clone()),
    );
    let (s, c, w, e) = (state.clone(), ctx.clone(), why, entry.clone());
    let r = blocking(move || {
        visible_submission(&s, &c, id)?;
        let wd = store::Withdrawal {
            unit: &unit,
            actor: &c.principal.actor(),
            reason: &w,
            at: s.clock.now(),
        };
        // Its entry goes in before it commits (see `entry_first`).
        let n = s
            .store
            .withdraw_submission_then(id, &wd, &entry_first(&s, &c, e))?;
        refresh_checks(&s);
        Ok(n)
    })
    .await;
    audited_write(state, ctx, &r, entry).await;
    r
}

#[utoipa::path(post, path = "/api/v1/submissions/{id}/withdraw", summary = "撤回整个报送批次", tag = "报送", security(("token" = [])),
    params(("id" = i64, Path, description = "报送批次号")), request_body = Withdraw,
    responses(
        (status = 200, description = "本批次写入（新增或更正）的每条记录增加一个撤回版本；原样重报的记录由原批次报送，不随本批次撤回；此后已被其他批次更正的记录不撤回，在 left_corrected_later 和 corrected_by 中列明", body = Withdrawn),
        (status = 409, description = "本批次已撤回，或没有入库的记录（均已退回，无需撤回），或没有可撤回的记录（均为原样重报，或均已被此后的批次更正），说明各有多少条及更正的批次号", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Withdraw>,
) -> ApiResult<Json<Withdrawn>> {
    let n = withdraw_submission(&state, &ctx, id, &body.reason).await?;
    Ok(Json(Withdrawn {
        withdrawn: n.withdrawn,
        left_corrected_later: n.left_corrected_later,
        corrected_by: n.corrected_by,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityParams {
    pub unit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/quality", summary = "数据质量（入库率、关联率、及时率）", tag = "报送", security(("token" = [])), params(QualityParams),
    responses(
        (status = 200, description = "各信源单位的入库、关联、及时数", body = Vec<store::UnitQuality>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn quality(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<QualityParams>,
) -> ApiResult<Json<Vec<store::UnitQuality>>> {
    let unit = unit_scope(&ctx, p.unit)?;
    blocking(move || Ok(Json(state.store.quality_by_unit(unit.as_deref())?))).await
}
