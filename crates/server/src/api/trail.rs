//! The audit trail, for the security auditor: search, verify, sign a checkpoint now.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use store::{AuditQuery, Checkpoint, StoredAudit};

use crate::api::files::parse_day;
use crate::body::ApiQuery;
use crate::context::{Ctx, audit};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    pub actor: Option<String>,
    pub action: Option<String>,
    // The object exactly; a subject's key also finds its records' entries.
    /// 操作对象（精确匹配）；填写信用主体的主体键时，同时查出该主体各条记录的操作。
    pub object: Option<String>,
    // From this day (YYYY-MM-DD, Beijing time).
    /// 起始日期（YYYY-MM-DD，北京时间），含当日。
    pub from: Option<String>,
    // To this day inclusive.
    /// 截止日期（YYYY-MM-DD，北京时间），含当日。
    pub to: Option<String>,
    // Entries before this sequence number (paging backwards).
    /// 只返回序号小于该值的日志条目（用于向前翻页）。
    pub before: Option<i64>,
    // Entries per page, 1–1000 (default 100).
    /// 每页条数，1–1000（默认100）。
    pub limit: Option<i64>,
}

/// A day's first (or last) second in Beijing, as UTC.
pub(crate) fn day_start(s: &str, end: bool) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let d = parse_day(s)?;
    let t = if end {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
    .ok_or_else(|| ApiError::Unprocessable("日期不正确".into()))?;
    Ok(t.and_utc() - chrono::Duration::hours(8))
}

#[utoipa::path(get, path = "/api/v1/audit", summary = "检索审计日志", tag = "审计", security(("token" = [])), params(SearchParams),
    responses((status = 200, description = "审计日志（新的在前）", body = Vec<StoredAudit>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn search(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<Vec<StoredAudit>>> {
    let asked = search_asked(&[
        ("actor", &p.actor),
        ("action", &p.action),
        ("object", &p.object),
        ("from", &p.from),
        ("to", &p.to),
    ]);
    let q = AuditQuery {
        actor: p.actor.filter(|s| !s.is_empty()),
        action: p.action.filter(|s| !s.is_empty()),
        object: p.object.filter(|s| !s.is_empty()),
        from: p.from.as_deref().map(|s| day_start(s, false)).transpose()?,
        to: p.to.as_deref().map(|s| day_start(s, true)).transpose()?,
        before: p.before,
        // One page at most a thousand entries: an unbounded read of the whole trail is an
        // export, not a search.
        limit: match p.limit.unwrap_or(100) {
            n @ 1..=1000 => n,
            _ => return Err(ApiError::Unprocessable("limit 应在1–1000之间".into())),
        },
    };
    let s = state.clone();
    let rows = blocking(move || Ok(s.platform.audit_search(&q)?)).await?;
    let found = format!("entries={}", rows.len());
    audit(
        &state,
        &ctx,
        "audit.search",
        None,
        "ok",
        Some(asked.map_or(found.clone(), |a| format!("{a} {found}"))),
    )
    .await;
    Ok(Json(rows))
}

/// What an audit search looked for, as its own entry keeps it (API and console alike): the
/// fields given, ID numbers masked; `None` when none was.
pub(crate) fn search_asked(fields: &[(&str, &Option<String>)]) -> Option<String> {
    let asked: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", domain::ids::mask_ids_in(v)))
        })
        .collect();
    (!asked.is_empty()).then(|| asked.join(" "))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", summary = "核验审计日志哈希链与检查点签名", tag = "审计", security(("token" = [])),
    responses((status = 200, description = "重算哈希链、校验每个签名检查点的结果", body = audit::Verification),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<audit::Verification>> {
    let s = state.clone();
    let v = blocking(move || {
        Ok(audit::verify(
            &s.platform,
            &s.keys,
            &s.config.trusted_audit_keys,
        )?)
    })
    .await?;
    // The background verification's finding follows what the auditor just saw.
    state.metrics.chain_verified(v.ok());
    audit(
        &state,
        &ctx,
        "audit.verify",
        None,
        if v.ok() { "ok" } else { "failed:broken" },
        v.first_break.as_ref().map(|b| b.reason.clone()),
    )
    .await;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/api/v1/audit/checkpoints", summary = "签署审计检查点", tag = "审计", security(("token" = [])),
    responses((status = 200, description = "签署的检查点（无新日志时为空）", body = Option<Checkpoint>),
        (status = 409, description = "上一检查点（或库外锚点）之后的日志不能通过校验，或最近一次核验发现审计日志链断裂，拒绝签署（说明第几条、何故）", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn checkpoint(
    State(state): State<Shared>,
    ctx: Ctx,
) -> ApiResult<Json<Option<Checkpoint>>> {
    // Nothing is signed over a trail the last verification found broken.
    if state.metrics.chain_broken() {
        audit(
            &state,
            &ctx,
            "audit.checkpoint",
            None,
            "refused:broken",
            None,
        )
        .await;
        return Err(ApiError::Conflict(
            "审计日志链已发现断裂（最近一次核验），暂停签署检查点：请先核验（GET /api/v1/audit/verify）并查明原因".into(),
        ));
    }
    audit(&state, &ctx, "audit.checkpoint", None, "ok", None).await;
    // Its own entry not written: the request is refused (503), and nothing is signed.
    if ctx.audit_failed.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(Json(None));
    }
    let s = state.clone();
    blocking(move || {
        Ok(Json(audit::checkpoint(
            &s.platform,
            &s.keys,
            s.clock.now(),
        )?))
    })
    .await
}
